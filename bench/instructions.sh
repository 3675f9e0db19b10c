#!/usr/bin/env bash
# npm run bench:instructions — machine instructions per tiny request (a 1×8
# batch) in the built server (dist/) and in the echo ceiling of bench:http,
# counted by valgrind's callgrind, with the ratio between them.
#
# Time on this kind of shared host moves 10-40% between runs, so a change of a
# few microseconds a request cannot be seen in bench:http; instructions can:
# the same build counts the same to a fraction of a percent. Each server runs
# under callgrind (node --predictable: one thread, a fixed GC schedule), takes
# INSTR_WARMUP requests from autocannon (8 connections), then its counters are
# zeroed, INSTR_REQUESTS more are sent and counted, and the count is divided.
# The figure covers the main thread only (the batch runs inline) and includes
# the idle event loop between requests (about 70 000 instructions a request
# under valgrind's slowdown, in both servers). Instructions are not time:
# cache misses and the load generator's share of the cores are not in them.
#
#   INSTR_WARMUP=3000 INSTR_REQUESTS=3000   requests before and while counting
#   INSTR_ROUTES="sigmoid/forward gelu/backward"   service routes to count
# Needs valgrind (Debian: apt-get install valgrind). Takes about a minute a route.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "bench:instructions needs valgrind (apt-get install valgrind)" >&2; exit 1; }
WARMUP=${INSTR_WARMUP:-3000}
REQUESTS=${INSTR_REQUESTS:-3000}
ROUTES=${INSTR_ROUTES:-sigmoid/forward sigmoid/backward}
FORWARD='{"inputs":[[-2,-1.5,-0.5,0,0.25,1,2.5,4]]}'
BACKWARD='{"inputs":[[-2,-1.5,-0.5,0,0.25,1,2.5,4]],"grad_outputs":[[1,-1,0.5,2,-0.25,1,3,-2]]}'
AUTOCANNON=node_modules/.bin/autocannon
# vgdb (callgrind_control) finds the server by a file named after these, which must match on both sides.
export USER=${USER:-$(id -un)} LOGNAME=${LOGNAME:-$(id -un)} HOST=127.0.0.1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

free_port() { node -e "const s = require('node:net').createServer().listen(0, '127.0.0.1', () => { console.log(s.address().port); s.close(); })"; }

# count <url path> <body> <server command...>: instructions per request
count() {
  local path=$1 body=$2; shift 2
  local port out pid
  port=$(free_port)
  out="$work/cg.$port"
  PORT=$port LOG_LEVEL=warn MAX_EVENT_LOOP_DELAY_MS=0 REQUEST_TIMEOUT_MS=600000 \
    valgrind --tool=callgrind --callgrind-out-file="$out" \
    node --predictable --random-seed=1 --hash-seed=1 --predictable-gc-schedule "$@" >/dev/null 2>"$out.log" &
  pid=$!
  for _ in $(seq 1 600); do curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && break; sleep 0.5; done
  local load=("$AUTOCANNON" -c 8 -t 120 -m POST -H content-type=application/json -b "$body" "http://127.0.0.1:$port$path")
  "${load[@]}" -a "$WARMUP" >/dev/null 2>&1
  callgrind_control -z "$pid" >/dev/null 2>&1
  "${load[@]}" -a "$REQUESTS" --json >"$work/ac.$port" 2>/dev/null
  callgrind_control -d "$pid" >/dev/null 2>&1
  kill -TERM "$pid"
  wait "$pid" || true
  # Counted requests must all have been answered 2xx, or the figure means something else.
  node -e "const r = JSON.parse(require('node:fs').readFileSync(process.argv[1], 'utf8')); if (r['2xx'] !== $REQUESTS || r.errors || r.timeouts) { console.error('not all requests answered 2xx:', JSON.stringify({ '2xx': r['2xx'], non2xx: r.non2xx, errors: r.errors, timeouts: r.timeouts })); process.exit(1); }" "$work/ac.$port" || exit 1
  local total
  total=$(awk '/^summary:/ { print $2 }' "$out.1")
  echo $((total / REQUESTS))
}

npm run build >/dev/null
echo "instructions per request, 1×8, node $(node --version), $(date -u +%Y-%m-%d)"
echo_forward=$(count /echo "$FORWARD" --import tsx bench/echo-server.ts)
echo_backward=$(count /echo "$BACKWARD" --import tsx bench/echo-server.ts)
printf '%-36s %9s\n' "echo (forward body)" "$echo_forward" "echo (backward body)" "$echo_backward"
for route in $ROUTES; do
  body=$FORWARD
  ceiling=$echo_forward
  if [[ $route == */backward ]]; then body=$BACKWARD; ceiling=$echo_backward; fi
  n=$(WORKERS=1 count "/v1/activations/$route" "$body" --initial-old-space-size=128 dist/server.js)
  printf '%-36s %9s  %.2fx the echo\n' "$route" "$n" "$(echo "$n / $ceiling" | bc -l)"
done
