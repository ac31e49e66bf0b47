#!/usr/bin/env bash
# The tile cache's byte budget under random load: the release server on the demo, 2,000,000 requests
# by wrk (bench/tile_cache.lua): 70 % random tiles inside the atlas's bounds (TileJSON "bounds") at
# z10 to the TileJSON maxzoom (≤ 22; z10–z18 alone hold only a few MB of tiles), 30 % any z/x/y of
# the world at z0–max(22, maxzoom + 2) (mostly 204 outside the atlas, 404 beyond maxzoom), random
# layers, gzip accepted. The server's VmRSS is read before the load, every second during it and
# after it; VmHWM, reset through clear_refs just before the load, gives the peak. PASS when the peak
# stays under budget + 100 MB. Then a sample of the in-bounds tiles estimates how many tile bytes the
# load asked for, to tell whether the budget was actually exceeded.
# Usage: bash bench/tile_cache.sh [BUDGET_MB ...]   (default $GRIDMAP_TILE_CACHE_MB or 64; `64 256`
#        runs a small budget then the default one, each on a fresh server; installs wrk if missing;
#        needs `make test`'s setup). Exit status 1 when a run fails.
# Env: REQUESTS=2000000 THREADS=2 CONNECTIONS=64 INSIDE=0.7 IN_ZMIN=10 IN_ZMAX=(maxzoom) WORLD_ZMAX=
#      SEED=1 MAX_SECONDS=1800 PORT=18098 WORKING_SET=1 NO_BUILD= GRIDMAP_BIN=./target/release/gridmap
# Output in target/bench/tile_cache/: wrk-, rss- (second, kB), serve-BUDGET.*, results.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/bench/tile_cache
mkdir -p "$out"
command -v wrk >/dev/null || { SUDO=; [ "$(id -u)" -ne 0 ] && SUDO=sudo; $SUDO apt-get install -y -qq wrk >/dev/null; }
[ -n "${NO_BUILD:-}" ] || cargo build --release -q
bin=${GRIDMAP_BIN:-./target/release/gridmap}
data="$out/var"
port=${PORT:-18098}
requests=${REQUESTS:-2000000}
threads=${THREADS:-2}
connections=${CONNECTIONS:-64}
inside=${INSIDE:-0.7}
in_zmin=${IN_ZMIN:-10}
seed=${SEED:-1}
max_seconds=${MAX_SECONDS:-1800}
budgets=("$@")
[ ${#budgets[@]} -gt 0 ] || budgets=("${GRIDMAP_TILE_CACHE_MB:-64}")
for b in "${budgets[@]}"; do
  [[ "$b" =~ ^[0-9]+$ ]] || { echo "budget must be a whole number of MB, got '$b'"; exit 2; }
done
server=
wrk_pid=

start() {
  env -u GRIDMAP_TILE_CACHE GRIDMAP_TILE_CACHE_MB="$1" "$bin" serve --data-dir "$data" \
    --listen "127.0.0.1:$port" --demo data/demo > "$out/serve-$1.log" 2>&1 &
  server=$!
  for _ in $(seq 300); do
    grep -q listening "$out/serve-$1.log" 2>/dev/null && return
    kill -0 "$server" 2>/dev/null || break
    sleep 0.2
  done
  echo "server did not start (see $out/serve-$1.log)"; exit 1
}
stop() {
  [ -n "$server" ] || return 0
  kill "$server" 2>/dev/null || true
  for _ in $(seq 150); do kill -0 "$server" 2>/dev/null || break; sleep 0.2; done
  kill -KILL "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  server=
}
# shellcheck disable=SC2317  # called by the trap
cleanup() {
  [ -z "$wrk_pid" ] || { kill "$wrk_pid" 2>/dev/null || true; wait "$wrk_pid" 2>/dev/null || true; }
  stop
}
trap cleanup EXIT

# kB of a /proc/PID/status field (VmRSS, VmHWM) of the server, 0 when it is gone.
status_kb() { awk -v f="$1:" '$1 == f { print $2 }' "/proc/$server/status" 2>/dev/null || echo 0; }
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# Tile ranges of the atlas's bounds per zoom ("z,x0,x1,y0,y1;..."), TileJSON maxzoom, the top zoom
# of the ranges (IN_ZMAX, default the maxzoom up to 22), tile count, bounds.
tile_ranges() {
  python3 - "$port" "$in_zmin" "${IN_ZMAX:-}" <<'PY'
import json, math, sys, urllib.request
port, zmin = sys.argv[1], int(sys.argv[2])
tj = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/tiles/cells.json"))
zmax = int(sys.argv[3]) if sys.argv[3] else min(int(tj["maxzoom"]), 22)
w, s, e, n = tj["bounds"]
if e - w > 90:
    sys.exit(f"bounds {tj['bounds']} span the world: is the demo atlas loaded?")
def tile(lon, lat, z):
    lat = max(-85.05112878, min(85.05112878, lat))
    k = 2 ** z
    x = int((lon + 180) / 360 * k)
    y = int((1 - math.log(math.tan(math.radians(lat)) + 1 / math.cos(math.radians(lat))) / math.pi) / 2 * k)
    return min(x, k - 1), min(y, k - 1)
ranges, count = [], 0
for z in range(zmin, zmax + 1):
    x0, y0 = tile(w, n, z)
    x1, y1 = tile(e, s, z)
    ranges.append(f"{z},{x0},{x1},{y0},{y1}")
    count += (x1 - x0 + 1) * (y1 - y0 + 1)
print(";".join(ranges), tj["maxzoom"], zmax, count, ",".join(f"{b:.5f}" for b in tj["bounds"]))
PY
}

# How many bytes the in-bounds tiles the load asked for hold: per zoom, up to 300 tiles of the range
# (all of them when the range is smaller) are fetched in every layer, raw and gzip; their mean times
# the expected number of distinct tiles among that zoom's requests (N·(1 − (1 − 1/N)^m)).
# Prints: distinct tiles, payload bytes (raw + gzip), tiles fetched, seconds.
working_set() {
  python3 - "$port" "$1" "$requests" "$inside" "$seed" <<'PY'
import http.client, random, sys, time
port, ranges, requests, inside, seed = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
conn = http.client.HTTPConnection("127.0.0.1", port)
def size(path, gzip):
    conn.request("GET", path, headers={"Accept-Encoding": "gzip"} if gzip else {})
    r = conn.getresponse()
    body = r.read()
    return len(body) if r.status == 200 else 0
started, rng = time.time(), random.Random(seed)
ranges = [tuple(map(int, r.split(","))) for r in ranges.split(";")]
m = requests * inside / len(ranges) / 3  # requests per zoom and layer
distinct = payload = fetched = 0
for z, x0, x1, y0, y1 in ranges:
    w, h = x1 - x0 + 1, y1 - y0 + 1
    n = w * h
    d = n * (1 - (1 - 1 / n) ** m)
    for layer in ("cells", "boundaries", "labels"):
        sample = rng.sample(range(n), min(n, 300))
        total = 0
        for i in sample:
            path = f"/tiles/{layer}/{z}/{x0 + i % w}/{y0 + i // w}.mvt"
            gz = size(path, True)
            total += gz + (size(path, False) if gz else 0)
        fetched += len(sample)
        distinct += d
        payload += total / len(sample) * d
print(f"{distinct:.0f} {payload:.0f} {fetched} {time.time() - started:.0f}")
PY
}

status=0
ws_done=
for budget in "${budgets[@]}"; do
  echo "== budget GRIDMAP_TILE_CACHE_MB=$budget: $requests random tile requests (wrk -t$threads -c$connections)"
  start "$budget"
  info=$(tile_ranges)
  read -r ranges maxzoom in_zmax in_tiles bounds <<< "$info"
  world_zmax=${WORLD_ZMAX:-$((maxzoom + 2 > 22 ? maxzoom + 2 : 22))}
  echo "bounds $bounds, maxzoom $maxzoom; inside: $in_tiles tiles x 3 layers at z$in_zmin–z$in_zmax ($inside of the requests); world: z0–z$world_zmax"

  before_kb=$(status_kb VmRSS)
  startup_hwm_kb=$(status_kb VmHWM)
  # Reset the peak (VmHWM) to the current RSS so that it measures the load, not the demo's loading.
  if { echo 5 > "/proc/$server/clear_refs"; } 2>/dev/null; then hwm_reset=1; else hwm_reset=; fi

  done_file="$out/done-$budget"
  samples="$out/rss-$budget.txt"
  : > "$done_file"
  : > "$samples"
  quota=$(( (requests + threads - 1) / threads ))
  wrk -t"$threads" -c"$connections" -d"${max_seconds}s" --timeout 10s -s bench/tile_cache.lua \
    "http://127.0.0.1:$port" -- "$ranges" "$world_zmax" "$inside" "$quota" "$PWD/$done_file" "$seed" \
    > "$out/wrk-$budget.txt" 2>&1 &
  wrk_pid=$!
  t0=$SECONDS
  max_kb=0
  interrupted=
  # Sample VmRSS every second; end wrk (SIGINT) once every thread has had its quota of responses.
  while kill -0 "$wrk_pid" 2>/dev/null; do
    el=$((SECONDS - t0))
    rss=$(status_kb VmRSS)
    rss=${rss:-0}
    echo "$el $rss" >> "$samples"
    [ "$rss" -le "$max_kb" ] || max_kb=$rss
    [ $((el % 30)) -ne 0 ] || [ "$el" -eq 0 ] || echo "  ${el}s: RSS $(mb "$rss") MB (max $(mb "$max_kb") MB)"
    if [ -z "$interrupted" ] && [ "$(wc -l < "$done_file")" -ge "$threads" ]; then
      kill -INT "$wrk_pid" 2>/dev/null || true
      interrupted=1
    fi
    kill -0 "$server" 2>/dev/null || { echo "server died during the load"; kill -INT "$wrk_pid" 2>/dev/null || true; break; }
    sleep 1
  done
  wait "$wrk_pid" || true
  wrk_pid=
  alive=1
  kill -0 "$server" 2>/dev/null || alive=
  after_kb=$(status_kb VmRSS)
  hwm_kb=$(status_kb VmHWM)
  after_kb=${after_kb:-0}
  hwm_kb=${hwm_kb:-0}
  grep -E "Latency|requests in|Requests/sec|Socket errors" "$out/wrk-$budget.txt" || true
  lua=$(grep '^LUA ' "$out/wrk-$budget.txt" || true)
  done_n=$(sed -n 's/.*responses=\([0-9]*\).*/\1/p' <<< "$lua")
  statuses=$(sed -n 's/.*statuses=\([^ ]*\).*/\1/p' <<< "$lua")
  errors=$(sed -n 's/.*errors=\([0-9]*\).*/\1/p' <<< "$lua")
  seconds=$(sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' <<< "$lua")
  rate=$(awk -v n="${done_n:-0}" -v s="${seconds:-0}" 'BEGIN { if (s > 0) printf "%.0f", n / s; else print 0 }')

  if [ -n "$hwm_reset" ]; then
    peak_kb=$((hwm_kb > max_kb ? hwm_kb : max_kb))
    peak_note="VmHWM since the load; sampled max $(mb "$max_kb") MB"
  else
    peak_kb=$max_kb
    peak_note="sampled max; VmHWM could not be reset: $(mb "$hwm_kb") MB incl. startup"
  fi
  limit_kb=$(( (budget + 100) * 1024 ))
  verdict=PASS
  [ "$peak_kb" -lt "$limit_kb" ] || verdict=FAIL
  [ -n "$alive" ] || verdict="FAIL (server died)"
  [ "${done_n:-0}" -ge "$requests" ] || verdict="$verdict (only ${done_n:-0} of $requests requests done)"
  [ "$verdict" = PASS ] || status=1

  if [ -z "$ws_done" ] && [ "${WORKING_SET:-1}" != 0 ] && [ -n "$alive" ]; then
    ws=$(working_set "$ranges")
    read -r ws_tiles ws_bytes ws_fetched ws_s <<< "$ws"
    ws_kb=$((ws_bytes / 1024))
    echo "in-bounds tiles asked for: ~$ws_tiles distinct, ~$(mb "$ws_kb") MB of tile bytes (raw + gzip, payload only; estimated from $ws_fetched tiles fetched after the load, ${ws_s}s)"
    ws_done=1
  fi
  exceeded=
  if [ -n "${ws_kb:-}" ]; then
    if [ "$ws_kb" -gt $((budget * 1024)) ]; then
      exceeded=yes
      echo "  the tiles asked for exceed the $budget MB budget: eviction was exercised"
    else
      exceeded=no
      echo "  WARNING: the tiles asked for fit in the $budget MB budget: eviction was not exercised (lower the budget, raise IN_ZMAX or REQUESTS)"
    fi
  fi

  summary="tile_cache budget=${budget}MB requests=${done_n:-0} in ${seconds:-?}s (${rate}/s) statuses=${statuses:-?} errors=${errors:-?} RSS before=$(mb "$before_kb")MB peak=$(mb "$peak_kb")MB ($peak_note) after=$(mb "$after_kb")MB startup_peak=$(mb "$startup_hwm_kb")MB limit=$((budget + 100))MB budget_exceeded=${exceeded:-?} $verdict"
  echo "$summary"
  echo "$(date -u +%FT%TZ) $(git rev-parse --short HEAD 2>/dev/null || echo ?) $summary" >> "$out/results.txt"
  stop
done
exit "$status"
