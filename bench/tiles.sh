#!/usr/bin/env bash
# Tiles side by side on the demo's cells, same URL list (z10–z16 over the deployment), same machine:
# gridmap (cold: each tile once after a restart; warm: cached) with wrk on loopback, gzip accepted,
# against PostGIS ST_AsMVT with the SQL Martin generates (same properties, a colour index included),
# run by pgbench on the same tiles.
# Usage: bash bench/tiles.sh        (installs wrk if missing; needs `make test`'s setup)
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/bench/tiles
mkdir -p "$out"
command -v wrk >/dev/null || { SUDO=; [ "$(id -u)" -ne 0 ] && SUDO=sudo; $SUDO apt-get install -y -qq wrk >/dev/null; }
cargo build --release -q
data="$out/var"

start() {
  env GRIDMAP_TILE_CACHE="${1:-on}" ./target/release/gridmap serve --data-dir "$data" --listen 127.0.0.1:18099 --demo data/demo > "$out/serve.log" 2>&1 &
  server=$!
  for _ in $(seq 150); do grep -q listening "$out/serve.log" 2>/dev/null && return; sleep 0.2; done
  echo "server did not start"; exit 1
}
stop() { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; }
trap stop EXIT

# The URL list: every tile of the deployment's bounding box from z10 to z16.
python3 - "$out/urls.txt" "$out/tiles.csv" <<'PY'
import json, math, sys
fc = json.load(open("data/demo/cells.geojson"))
xs = [c[0] for f in fc["features"] for p in f["geometry"]["coordinates"] for r in p for c in r]
ys = [c[1] for f in fc["features"] for p in f["geometry"]["coordinates"] for r in p for c in r]
def tile(lon, lat, z):
    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.log(math.tan(math.radians(lat)) + 1 / math.cos(math.radians(lat))) / math.pi) / 2 * n)
    return x, y
urls, rows = [], []
for z in range(10, 17):
    x0, y0 = tile(min(xs), max(ys), z)
    x1, y1 = tile(max(xs), min(ys), z)
    for x in range(x0, x1 + 1):
        for y in range(y0, y1 + 1):
            urls.append(f"/tiles/cells/{z}/{x}/{y}.mvt")
            rows.append(f"{z},{x},{y}")
open(sys.argv[1], "w").write("\n".join(urls) + "\n")
open(sys.argv[2], "w").write("\n".join(rows) + "\n")
print(f"{len(urls)} tiles from z10 to z16")
PY

start off
echo "== gridmap uncached (every request encodes and compresses its tile)"
WRK_THREADS=2 wrk -t2 -c8 -d10s -s bench/tiles.lua http://127.0.0.1:18099 -- "$PWD/$out/urls.txt" warm | grep -E "Requests/sec|Latency"
stop
start on
echo "== gridmap cached (gzip)"
WRK_THREADS=2 wrk -t2 -c32 -d10s -s bench/tiles.lua http://127.0.0.1:18099 -- "$PWD/$out/urls.txt" warm | grep -E "Requests/sec|Latency"

port=$(sed -n 4p "$data/pg/data/postmaster.pid")
sock=$(sed -n 5p "$data/pg/data/postmaster.pid")
pg="host=$sock port=$port user=gridmap dbname=gridmap"
psql "$pg" -qAt <<SQL
DROP TABLE IF EXISTS bench_tiles;
CREATE TABLE bench_tiles (i serial, z int, x int, y int);
\copy bench_tiles (z, x, y) FROM '$out/tiles.csv' CSV
SQL
count=$(wc -l < "$out/tiles.csv")
cat > "$out/st_asmvt.sql" <<SQL
\set i random(1, $count)
SELECT length(ST_AsMVT(tile, 'cells', 4096, 'geom')) FROM (
  SELECT ST_AsMVTGeom(ST_Transform(c.geom, 3857), ST_TileEnvelope(t.z, t.x, t.y), 4096, 64, true) AS geom,
         c.code, c.name, c.level, c.kind, c.parent_code, (c.id % 5)::int AS colour
  FROM bench_tiles t JOIN cells c
    ON c.valid_to IS NULL
   AND c.level = CASE WHEN t.z >= 13 THEN 3 WHEN t.z >= 11 THEN 2 ELSE 1 END
   AND ST_Transform(c.geom, 3857) && ST_TileEnvelope(t.z, t.x, t.y, margin => 64.0 / 4096)
  WHERE t.i = :i) AS tile WHERE geom IS NOT NULL;
SQL
echo "== PostGIS ST_AsMVT (Martin's SQL), pgbench 4 clients"
pgbench "$pg" -n -c4 -j2 -T30 -f "$out/st_asmvt.sql" 2>/dev/null | grep -E "tps|latency average"

echo "== tile sizes, same tiles (uncompressed bytes)"
ours=0
while read -r url; do
  n=$(curl -s "http://127.0.0.1:18099$url" | wc -c)
  ours=$((ours + n))
done < "$out/urls.txt"
theirs=$(psql "$pg" -qAt -c "SELECT sum(coalesce((SELECT length(ST_AsMVT(tile, 'cells', 4096, 'geom')) FROM (
  SELECT ST_AsMVTGeom(ST_Transform(c.geom, 3857), ST_TileEnvelope(t.z, t.x, t.y), 4096, 64, true) AS geom,
         c.code, c.name, c.level, c.kind, c.parent_code, (c.id % 5)::int AS colour
  FROM cells c WHERE c.valid_to IS NULL
   AND c.level = CASE WHEN t.z >= 13 THEN 3 WHEN t.z >= 11 THEN 2 ELSE 1 END
   AND ST_Transform(c.geom, 3857) && ST_TileEnvelope(t.z, t.x, t.y, margin => 64.0 / 4096)) tile WHERE geom IS NOT NULL), 0)) FROM bench_tiles t")
echo "gridmap: $ours bytes; ST_AsMVT: $theirs bytes"
