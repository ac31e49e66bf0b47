#!/usr/bin/env bash
# Side by side, in one run on this machine: gridmap vs GEOS CoverageValidator (shapely) and vs the
# same checks as PostGIS queries on the coverage files, and gridmap's locate vs a PostGIS
# ST_Contains join on the same cells and points.
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

# The same coverage checks in PostGIS, as a planner would write them: invalid polygons
# (ST_IsValid); invalid ones made valid (ST_MakeValid), since GEOS's relate and union refuse them
# (TopologyException on the US counties); overlapping siblings (ST_Relate interior/interior, boxes
# first); what of each parent no child covers (ST_Difference with ST_Union). Timed per statement;
# compare their sum with gridmap's "all checks" line above.
coverage_sql() { # table parents
  cat <<SQL
\\echo -- $1: invalid polygons; repair; overlapping sibling pairs; parents with a gap > 1 m²
SELECT count(*) FROM $1 WHERE NOT ST_IsValid(geom);
CREATE TEMP TABLE fixed_$1 AS SELECT code, parent, CASE WHEN ST_IsValid(geom) THEN geom
  ELSE ST_CollectionExtract(ST_MakeValid(geom, 'method=structure'), 3) END AS geom FROM $1;
CREATE INDEX ON fixed_$1 USING gist (geom);
SELECT count(*) FROM fixed_$1 a JOIN fixed_$1 b ON a.parent = b.parent AND a.code < b.code
  AND a.geom && b.geom AND ST_Relate(a.geom, b.geom, '2********');
SELECT count(*) FROM (
  SELECT ST_Difference(p.geom, ST_Union(c.geom)) AS g
  FROM $2 p JOIN fixed_$1 c ON c.parent = p.code GROUP BY p.code, p.geom) d
WHERE ST_Area(g::geography) > 1;
SQL
}
echo "== PostGIS coverage queries (100k synthetic; US counties in states)"
for f in synthetic_100k_cells synthetic_100k_faulted synthetic_100k_parents; do
  ogr2ogr -f PostgreSQL "PG:$pg" "$out/$f.geojson" -nln "bench_$f" -overwrite \
    -lco GEOMETRY_NAME=geom -a_srs EPSG:4490 -nlt PROMOTE_TO_MULTI >/dev/null
done
for f in counties states; do
  ogr2ogr -f PostgreSQL "PG:$pg" "../shared/data/us/us_${f}_2017_10m.geojson" -nln "bench_us_$f" \
    -overwrite -lco GEOMETRY_NAME=geom -a_srs EPSG:4326 -nlt PROMOTE_TO_MULTI -skipfailures >/dev/null 2>&1
done
psql "$pg" -qAt <<SQL 2>&1 | grep -v '^NOTICE'
SET client_min_messages = warning;
ALTER TABLE bench_us_counties ADD COLUMN IF NOT EXISTS code text, ADD COLUMN IF NOT EXISTS parent text;
UPDATE bench_us_counties SET code = id, parent = left(id, 2);
ALTER TABLE bench_us_states ADD COLUMN IF NOT EXISTS code text;
UPDATE bench_us_states SET code = id;
ANALYZE;
\\timing on
$(coverage_sql bench_synthetic_100k_cells bench_synthetic_100k_parents)
$(coverage_sql bench_synthetic_100k_faulted bench_synthetic_100k_parents)
$(coverage_sql bench_us_counties bench_us_states)
SQL
