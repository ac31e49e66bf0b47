#!/usr/bin/env bash
# Side by side, in one run on this machine: gridmap vs GEOS CoverageValidator (shapely) on the
# coverage files, and gridmap's locate vs a PostGIS ST_Contains join on the same cells and points.
# Usage: bash bench/compare.sh     (needs `make test`'s setup: PostGIS, gdal-bin; fetches shapely)
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/bench
mkdir -p "$out"

echo "== gridmap (cargo bench --bench coverage)"
cargo bench --bench coverage 2>/dev/null | grep -v '^$'

echo "== GEOS CoverageValidator (shapely >= 2.1)"
if [ ! -x "$out/venv/bin/python" ]; then
  python3 -m venv "$out/venv"
  "$out/venv/bin/pip" install -q 'shapely>=2.1'
fi
"$out/venv/bin/python" bench/geos_coverage.py "$out" ../shared/data

echo "== PostGIS ST_Contains join: 10,000 cells x 100,000 points"
cargo build --release -q
data="$out/pg"
./target/release/gridmap serve --data-dir "$data" --listen 127.0.0.1:0 > "$out/serve.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q listening "$out/serve.log" && break; sleep 0.2; done
port=$(sed -n 4p "$data/pg/data/postmaster.pid")
sock=$(sed -n 5p "$data/pg/data/postmaster.pid")
pg="host=$sock port=$port user=gridmap dbname=gridmap"
ogr2ogr -f PostgreSQL "PG:$pg" "$out/synthetic_10k_cells.geojson" -nln bench_cells -overwrite -lco GEOMETRY_NAME=geom -a_srs EPSG:4490 >/dev/null
psql "$pg" -qAt <<SQL
DROP TABLE IF EXISTS bench_points;
CREATE TABLE bench_points (x float8, y float8);
\copy bench_points FROM '$out/points_100k.csv' CSV
ALTER TABLE bench_points ADD COLUMN geom geometry(Point, 4490);
UPDATE bench_points SET geom = ST_SetSRID(ST_MakePoint(x, y), 4490);
CREATE INDEX ON bench_points USING gist (geom);
ANALYZE bench_cells; ANALYZE bench_points;
\timing on
SELECT count(*) FROM bench_points p JOIN bench_cells c ON ST_Contains(c.geom, p.geom);
SELECT count(*) FROM bench_points p JOIN bench_cells c ON ST_Contains(c.geom, p.geom);
SQL
