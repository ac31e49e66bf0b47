#!/usr/bin/env bash
# Property-based API test: schemathesis (from the venv `scripts/setup.sh test` makes) against a live
# `gridmap serve` on a fresh embedded database seeded with the demo, with a token for every role.
# It never builds: it runs ${GRIDMAP_BIN:-target/debug/gridmap}.
# Usage: scripts/schemathesis.sh        (make test runs it; exits non-zero on any failure)
# Tunables: ST_ROLES, the passes ("admin worker"; any of worker planner command admin),
# ST_MAX_EXAMPLES (25), ST_SEED (20240601), ST_PASS_TIMEOUT seconds per pass (120), ST_WORKERS (1:
# Debian's Python 3.11.2 has an ast.parse thread-safety bug that breaks schemathesis' coverage phase
# with more than one worker), ST_REPORT_DIR (a directory to keep a HAR log and a JUnit report of
# each pass in), ST_ARGS (more `st run` options, split on spaces).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

bin=${GRIDMAP_BIN:-target/debug/gridmap}
st=${ST_BIN:-$root/var/venv-schemathesis/bin/st}
max_examples=${ST_MAX_EXAMPLES:-25}
seed=${ST_SEED:-20240601}
pass_timeout=${ST_PASS_TIMEOUT:-120}
checks=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance

[ -x "$bin" ] || { echo "schemathesis: no binary at $bin (build it first)" >&2; exit 1; }
[ -x "$st" ] || { echo "schemathesis: $st missing; run scripts/setup.sh test" >&2; exit 1; }
case "$bin" in /*) ;; *) bin=$root/$bin ;; esac

start=$(date +%s)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gridmap-st-XXXXXX")
server= pass_pid=
cleanup() {
  local rc=$?
  if [ -n "$pass_pid" ]; then kill -TERM "$pass_pid" 2>/dev/null || true; wait "$pass_pid" 2>/dev/null || true; fi
  if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then
    kill -TERM "$server" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$server" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  # A server that was killed may leave its postmaster behind: stop that one process, by its pid.
  local pidfile=$tmp/data/pg/data/postmaster.pid
  if [ -f "$pidfile" ]; then
    local pm
    pm=$(head -n1 "$pidfile" 2>/dev/null || true)
    if [ -n "$pm" ] && kill -0 "$pm" 2>/dev/null; then
      kill -QUIT "$pm" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pm" 2>/dev/null || break; sleep 0.2; done
    fi
  fi
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# PostgreSQL runs as `postgres` when we are root: it must be able to reach the data directory.
chmod 0755 "$tmp"
mkdir -p "$tmp/data" "$tmp/st"
unset DATABASE_URL
GRIDMAP_WEB_DIR="$root/web" "$bin" serve --listen 127.0.0.1:0 --data-dir "$tmp/data" --demo data/demo \
  >"$tmp/server.out" 2>"$tmp/server.err" &
server=$!

origin=
for _ in $(seq 600); do
  origin=$(sed -n 's/.*listening on \(http:\/\/[^[:space:]]*\).*/\1/p' "$tmp/server.out" | head -n1)
  [ -n "$origin" ] && break
  if ! kill -0 "$server" 2>/dev/null; then break; fi
  sleep 0.2
done
if [ -z "$origin" ]; then
  if kill -0 "$server" 2>/dev/null; then
    echo "schemathesis: the server did not start within 120 s; its output:" >&2
  else
    echo "schemathesis: the server exited before it listened; its output:" >&2
  fi
  tail -n 40 "$tmp/server.out" "$tmp/server.err" >&2 || true
  exit 1
fi
echo "schemathesis: server at $origin after $(( $(date +%s) - start )) s"

token() { # NAME ROLE [CELLS]: a new user's bearer token (the last line the CLI prints)
  local args=(user add "$1" --role "$2" --data-dir "$tmp/data")
  [ -n "${3:-}" ] && args+=(--cells "$3")
  "$bin" "${args[@]}" | tail -n1
}
declare -A tok
for role in worker planner command admin; do
  cells=
  [ "$role" = worker ] && cells=520328004016001
  tok[$role]=$(token "st-$role" "$role" "$cells")
  [ -n "${tok[$role]}" ] || { echo "schemathesis: no token for $role" >&2; exit 1; }
done

# Open311 takes its token as the `api_key` query parameter, an ordinary parameter in the document:
# left to schemathesis, random keys would trip the failed-authentication limit and every request
# after them would get 429s. So it is pinned to a real token (GRIDMAP_ST_KEY, set per pass).
cat >"$tmp/st/schemathesis.toml" <<'TOML'
[parameters]
"query.api_key" = "${GRIDMAP_ST_KEY}"
TOML

# One pass with one role's token. The live stream (Server-Sent Events) never ends, so it is left
# out; revoking tokens is left out of the admin pass so the admin token lives to the end.
passed=0 failed=0 failures=()
run_pass() { # ROLE [extra st options]
  local role=$1; shift
  local t0=$SECONDS rc=0 report=()
  if [ -n "${ST_REPORT_DIR:-}" ]; then
    mkdir -p "$ST_REPORT_DIR"
    report=(--report har,junit --report-dir "$(cd "$ST_REPORT_DIR" && pwd)/$role")
  fi
  echo "schemathesis: pass as $role"
  # In the background, so that a signal to this script is handled at once (see cleanup).
  # Admin may not use Open311, so the admin pass gives it the command token.
  local key=${tok[$role]}
  [ "$role" = admin ] && key=${tok[command]}
  (cd "$tmp/st" && GRIDMAP_ST_KEY=$key exec timeout -k 5 "$pass_timeout" \
    "$st" --config-file "$tmp/st/schemathesis.toml" run "$origin/api/v1/openapi.json" \
    --checks "$checks" \
    --phases examples,coverage,fuzzing \
    --max-examples "$max_examples" \
    --seed "$seed" \
    --workers "${ST_WORKERS:-1}" \
    --request-timeout 10 \
    --generation-database none \
    --no-shrink \
    --no-color \
    --header "Authorization: Bearer ${tok[$role]}" \
    --exclude-path /api/v1/live \
    "${report[@]}" ${ST_ARGS:-} "$@") &
  pass_pid=$!
  wait "$pass_pid" || rc=$?
  pass_pid=
  if [ "$rc" -eq 0 ]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    [ "$rc" -eq 124 ] && failures+=("$role (timed out after $pass_timeout s)") || failures+=("$role (exit $rc)")
  fi
  echo "schemathesis: pass as $role took $((SECONDS - t0)) s"
}
roles=${ST_ROLES:-admin worker}
for role in $roles; do
  [ -n "${tok[$role]:-}" ] || { echo "schemathesis: unknown role $role in ST_ROLES" >&2; exit 1; }
  if [ "$role" = admin ]; then run_pass admin --exclude-path '/api/v1/tokens/{id}'; else run_pass "$role"; fi
done

echo "schemathesis: roles ${roles// /, }; $max_examples examples per operation; $(( $(date +%s) - start )) s${failures:+; failed: ${failures[*]}}"
echo "schemathesis: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
