#!/usr/bin/env bash
# Tiles against Martin itself on a county-sized atlas (issue 19): the same 10,000 jittered grids
# (`gridmap synth county`: 100×100 over lon 107.5–107.7, lat 27.7–27.9, in 400 villages and 16
# townships) imported into gridmap and, as a PostGIS table of the same cells with the same
# properties, served by Martin 1.14 (PostGIS ST_AsMVT); the same URL list (every tile of the box
# at z13–z15, where gridmap draws base grids); wrk 2 threads / 64 connections / 10 s per row.
# Prints the table of the issue from one run.
#
# Usage: bash bench/tiles.sh
#   Installs wrk if missing, and Martin once into target/bench/martin (cargo install at low
#   priority, about 13 minutes on 2 cores; reused afterwards). Never run from `make test`.
# Output in target/bench/tiles/: wrk-*.txt, the URL lists, the servers' logs, results.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/bench/tiles
mkdir -p "$out"
command -v wrk >/dev/null || { SUDO=; [ "$(id -u)" -ne 0 ] && SUDO=sudo; $SUDO apt-get install -y -qq wrk >/dev/null; }
martin=target/bench/martin/bin/martin
if [ ! -x "$martin" ]; then
  echo "== installing Martin 1.14.0 into target/bench/martin (once; about 13 minutes)"
  nice -n 19 cargo install martin --version 1.14.0 --locked --no-default-features --features postgres \
    --root target/bench/martin
fi
cargo build --release -q
bin=./target/release/gridmap
data="$out/var"
rm -rf "$data"
"$bin" synth county --out "$out/county.geojson"
"$bin" --data-dir "$data" import cells "$out/county.geojson" > "$out/import.log" 2>&1 || { cat "$out/import.log"; exit 1; }

gridmap_pid=
martin_pid=
start_gridmap() { # $1 = on|off: the tile cache
  env GRIDMAP_TILE_CACHE="$1" RUST_LOG=warn "$bin" --data-dir "$data" serve --listen 127.0.0.1:18099 > "$out/serve-$1.log" 2>&1 &
  gridmap_pid=$!
  for _ in $(seq 300); do grep -q "listening on" "$out/serve-$1.log" 2>/dev/null && return; sleep 0.2; done
  echo "gridmap did not start"; cat "$out/serve-$1.log"; exit 1
}
stop_gridmap() { [ -z "$gridmap_pid" ] || { kill "$gridmap_pid" 2>/dev/null || true; wait "$gridmap_pid" 2>/dev/null || true; gridmap_pid=; }; }
start_martin() { # $1 = the cache size in MB (0: off)
  "$martin" --listen-addresses 127.0.0.1:18098 --cache-size "$1" --workers 2 "$pg_url" > "$out/martin-$1.log" 2>&1 &
  martin_pid=$!
  for _ in $(seq 150); do curl -sf http://127.0.0.1:18098/catalog >/dev/null 2>&1 && return; sleep 0.2; done
  echo "martin did not start"; cat "$out/martin-$1.log"; exit 1
}
stop_martin() { [ -z "$martin_pid" ] || { kill "$martin_pid" 2>/dev/null || true; wait "$martin_pid" 2>/dev/null || true; martin_pid=; }; }
trap 'stop_gridmap; stop_martin' EXIT

# The server keeps the embedded cluster running while it runs; Martin reads the same cluster.
start_gridmap off
port=$(sed -n 4p "$data/pg/data/postmaster.pid")
pg="host=127.0.0.1 port=$port user=gridmap dbname=gridmap"
pg_url="postgresql://gridmap@127.0.0.1:$port/gridmap"
# Martin's table: the base grids with the properties gridmap's `cells` layer carries (code, name,
# level, kind, parent, colour — the snapshot's colour index, read from gridmap's own answer).
curl -sf "http://127.0.0.1:18099/api/v1/cells?level=3" > "$out/grids.json"
python3 - "$out/grids.json" "$out/colours.csv" <<'PY'
import json, sys
fc = json.load(open(sys.argv[1]))
with open(sys.argv[2], "w") as f:
    for feat in fc["features"]:
        p = feat["properties"]
        f.write(f'{p["code"]},{p.get("colour", 0)}\n')
print(f'{len(fc["features"])} grids')
PY
psql "$pg" -qAt <<SQL
DROP TABLE IF EXISTS martin_colours;
CREATE TABLE martin_colours (code text PRIMARY KEY, colour int);
\copy martin_colours FROM '$out/colours.csv' CSV
DROP TABLE IF EXISTS martin_cells;
CREATE TABLE martin_cells AS
  SELECT c.code, c.name, c.level::int AS level, c.kind, c.parent_code AS parent, m.colour, c.geom
  FROM cells c JOIN martin_colours m USING (code) WHERE c.valid_to IS NULL AND c.level = 3;
CREATE INDEX martin_cells_geom ON martin_cells USING gist (geom);
ANALYZE martin_cells;
SQL

# The URL lists: every tile of the atlas's box from z13 to z15, for each server.
python3 - "$out" <<'PY'
import math, sys
out = sys.argv[1]
west, south, east, north = 107.5, 27.7, 107.7, 27.9
def tile(lon, lat, z):
    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.log(math.tan(math.radians(lat)) + 1 / math.cos(math.radians(lat))) / math.pi) / 2 * n)
    return x, y
tiles = []
for z in range(13, 16):
    x0, y0 = tile(west, north, z)
    x1, y1 = tile(east, south, z)
    tiles += [(z, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]
open(f"{out}/urls-gridmap.txt", "w").write("".join(f"/tiles/cells/{z}/{x}/{y}.mvt\n" for z, x, y in tiles))
open(f"{out}/urls-martin.txt", "w").write("".join(f"/martin_cells/{z}/{x}/{y}\n" for z, x, y in tiles))
print(f"{len(tiles)} tiles from z13 to z15")
PY
count=$(wc -l < "$out/urls-gridmap.txt")

run() { # $1 = name, $2 = port, $3 = url list, $4 = gzip|identity
  ENCODING="$4" WRK_THREADS=2 wrk -t2 -c64 -d10s --latency -s bench/tiles.lua "http://127.0.0.1:$2" -- "$PWD/$3" warm \
    > "$out/wrk-$1.txt" 2>&1
  local rps p99
  rps=$(awk '/Requests\/sec/ {print $2}' "$out/wrk-$1.txt")
  p99=$(awk '$1 == "99%" {print $2}' "$out/wrk-$1.txt")
  echo "$rps $p99"
}
prime() { # every tile once, so a cache holds them all
  while read -r u; do curl -s -o /dev/null -H 'Accept-Encoding: gzip' "http://127.0.0.1:$1$u"; curl -s -o /dev/null "http://127.0.0.1:$1$u"; done < "$2"
}
bytes() { # the gzip bytes of every tile of the list
  local n=0 b
  while read -r u; do b=$(curl -s -H 'Accept-Encoding: gzip' "http://127.0.0.1:$1$u" | wc -c); n=$((n + b)); done < "$2"
  echo "$n"
}
features() { # the features GDAL reads in one tile (the sample's z/x/y must be in the path)
  local dir="$out/sample/$3" f
  mkdir -p "$(dirname "$dir")"
  curl -s "http://127.0.0.1:$1$2" > "$dir.mvt"
  ogrinfo -ro -al -so "$dir.mvt" 2>/dev/null | awk -F': ' '/Feature Count/ {s += $2} END {print s + 0}'
}

echo "== uncached, gzip accepted (gridmap cache off; Martin --cache-size 0)"
start_martin 0
# One unmeasured pass over the URLs for each server first: neither caches a tile, but gridmap's
# lazily simplified shapes and PostgreSQL's buffers are then as a running server has them (a
# process that has just started is measured by the province bench, not here).
run gridmap-cold-pass 18099 "$out/urls-gridmap.txt" gzip >/dev/null
run martin-cold-pass 18098 "$out/urls-martin.txt" gzip >/dev/null
read -r g_cold g_cold_p99 < <(run gridmap-cold 18099 "$out/urls-gridmap.txt" gzip)
read -r m_cold m_cold_p99 < <(run martin-cold 18098 "$out/urls-martin.txt" gzip)
sample=$(sed -n "$((count / 2))p" "$out/urls-gridmap.txt" | sed 's|/tiles/cells/||; s|\.mvt||')
g_features=$(features 18099 "/tiles/cells/$sample.mvt" "gridmap/$sample")
m_features=$(features 18098 "/martin_cells/$sample" "martin/$sample")
stop_martin
stop_gridmap

echo "== warm (gridmap cache on; Martin's default cache), every tile requested once first"
start_gridmap on
start_martin 512
prime 18099 "$out/urls-gridmap.txt"
prime 18098 "$out/urls-martin.txt"
read -r g_id g_id_p99 < <(run gridmap-warm-identity 18099 "$out/urls-gridmap.txt" identity)
read -r m_id m_id_p99 < <(run martin-warm-identity 18098 "$out/urls-martin.txt" identity)
read -r g_gz g_gz_p99 < <(run gridmap-warm-gzip 18099 "$out/urls-gridmap.txt" gzip)
read -r m_gz m_gz_p99 < <(run martin-warm-gzip 18098 "$out/urls-martin.txt" gzip)
g_bytes=$(bytes 18099 "$out/urls-gridmap.txt")
m_bytes=$(bytes 18098 "$out/urls-martin.txt")

ratio() { python3 -c "import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); print(f'{a / b:.2f}' if b else '—')" "$1" "$2"; }
{
  echo "Tiles on the 10,000-grid county ($count URLs, z13–z15; sample tile $sample: gridmap $g_features features, Martin $m_features)"
  echo
  echo "| | Martin 1.14 (PostGIS ST_AsMVT) | gridmap | ratio | goal |"
  echo "|---|---|---|---|---|"
  echo "| uncached, gzip accepted | $m_cold tiles/s, p99 $m_cold_p99 | $g_cold/s, p99 $g_cold_p99 | $(ratio "$g_cold" "$m_cold")× | ≥ 3× |"
  echo "| warm, identity | $m_id/s, p99 $m_id_p99 | $g_id/s, p99 $g_id_p99 | $(ratio "$g_id" "$m_id")× | ≥ 1.2× |"
  echo "| warm, gzip | $m_gz/s, p99 $m_gz_p99 | $g_gz/s, p99 $g_gz_p99 | $(ratio "$g_gz" "$m_gz")× | ≥ 3.4× |"
  echo "| bytes of the $count tiles, gzip | $m_bytes | $g_bytes | $(ratio "$g_bytes" "$m_bytes")× | ≤ 1 |"
} | tee "$out/results.txt"
