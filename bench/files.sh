#!/usr/bin/env bash
# File serving: Outpost against nginx (sendfile on) on the same tree, same run, loopback.
#
#   bash bench/files.sh            build, generate data, run, print a markdown table
#
# Measures (both servers up, tests alternating between them):
#   1. single-stream GET of a 1 GiB file (curl, best of 3), MB/s
#   2. 32 and 128 concurrent GETs of a 64 MiB file (wrk, 10 s each), MB/s
#   3. small files: 10,000 files of 1-20 KiB, wrk, 64 connections, rotating paths, req/s
#   4. peak RSS (VmHWM; nginx: master + workers)
# Both servers log every request to a file, as deployed. Everything it starts it stops
# by PID; every step has a time limit. Environment:
#   BENCH_DATA=DIR      reuse a data tree made by an earlier run (kept when set)
#   BENCH_DURATION=S    wrk duration per test (default 10)
#   NGINX_WORKERS=N     nginx worker_processes (default auto)
#   OUTPOST_LOG=LEVEL   Outpost --log-level (default info: an access log line per request,
#                       as nginx's access_log; warn turns it off)
#   OUTPOST_NODE_FLAGS="--max-semi-space-size=2 --max-old-space-size=96"
#                       V8 flags for Outpost's node (default none)
#   OUTPOST_CLI=FILE    the built CLI to run (default dist/cli/index.js), e.g. an older build
#   OUTPOST_SERVER_SENDFILE=off
#                       Outpost copies large bodies through JavaScript (default auto: sendfile)
#   BENCH_WRITE=1       also append the table to bench/README.md
#   BENCH_ONLY=small    only the small-file test (the large-file rows show -)
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${BENCH_DURATION:-10}"
NGINX_WORKERS="${NGINX_WORKERS:-auto}"
OUTPOST_LOG="${OUTPOST_LOG:-info}"
OUTPOST_NODE_FLAGS="${OUTPOST_NODE_FLAGS:-}"
NGINX_PORT="${BENCH_NGINX_PORT:-18481}"
OUTPOST_PORT="${BENCH_OUTPOST_PORT:-18482}"
NGINX_BIN="${NGINX_BIN:-/usr/sbin/nginx}"

for tool in "$NGINX_BIN" wrk curl node; do
  command -v "$tool" >/dev/null || { echo "bench: $tool not found (apt-get install -y nginx-light wrk curl)" >&2; exit 2; }
done

WORK="$(mktemp -d /tmp/outpost-bench-files-XXXXXX)"
DATA="${BENCH_DATA:-$WORK/data}"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

# --- data ----------------------------------------------------------------------------
SMALL_ONLY=0
[ "${BENCH_ONLY:-}" = small ] && SMALL_ONLY=1
# A tree made for the small-file test alone has no large files, and its own mark.
MARK="$DATA/.complete"
[ "$SMALL_ONLY" = 1 ] && [ ! -f "$MARK" ] && MARK="$DATA/.complete-small"
if [ ! -f "$MARK" ]; then
  echo "bench: generating data in $DATA" >&2
  mkdir -p "$DATA/large"
  if [ "$SMALL_ONLY" = 0 ]; then
    head -c $((1024 * 1024 * 1024)) /dev/urandom > "$DATA/large/1g.bin"
    head -c $((64 * 1024 * 1024)) /dev/urandom > "$DATA/large/64m.bin"
  fi
  node -e '
    const { mkdirSync, writeFileSync } = require("node:fs")
    const { randomBytes } = require("node:crypto")
    const base = process.argv[1]
    let seed = 42
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648)
    for (let i = 0; i < 10000; i++) {
      const dir = `${base}/small/${String(i % 100).padStart(2, "0")}`
      if (i < 100) mkdirSync(dir, { recursive: true })
      writeFileSync(`${dir}/f${String(i).padStart(5, "0")}.bin`, randomBytes(1024 + Math.floor(rnd() * 19 * 1024)))
    }' "$DATA"
  touch "$MARK"
fi
# Warm the page cache so both servers read from memory.
[ "$SMALL_ONLY" = 1 ] || cat "$DATA/large/1g.bin" "$DATA/large/64m.bin" > /dev/null
find "$DATA/small" -type f -exec cat {} + > /dev/null

cat > "$WORK/rotate.lua" <<'LUA'
-- Rotates through the 10,000 small files; each wrk thread starts at its own offset.
local paths = {}
for i = 0, 9999 do
  paths[#paths + 1] = string.format("/small/%02d/f%05d.bin", i % 100, i)
end
local threads = 0
function setup(thread)
  thread:set("offset", threads * 5003)
  threads = threads + 1
end
local n = 0
function request()
  n = n + 1
  return wrk.format("GET", paths[((offset or 0) + n) % #paths + 1])
end
LUA

# --- servers -------------------------------------------------------------------------
wait_http() { # URL
  for _ in $(seq 1 100); do
    curl -s -o /dev/null --max-time 1 "$1" && return 0
    sleep 0.1
  done
  echo "bench: $1 did not come up" >&2
  return 1
}

start_nginx() {
  local prefix="$WORK/nginx"
  mkdir -p "$prefix/logs" "$prefix/tmp"
  cat > "$prefix/nginx.conf" <<EOF
worker_processes $NGINX_WORKERS;
pid $prefix/nginx.pid;
error_log $prefix/logs/error.log warn;
events { worker_connections 1024; }
http {
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  sendfile on;
  tcp_nopush on;
  keepalive_timeout 65;
  keepalive_requests 100000;
  access_log $prefix/logs/access.log;
  client_body_temp_path $prefix/tmp/body;
  proxy_temp_path $prefix/tmp/proxy;
  fastcgi_temp_path $prefix/tmp/fastcgi;
  uwsgi_temp_path $prefix/tmp/uwsgi;
  scgi_temp_path $prefix/tmp/scgi;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    root $DATA;
    autoindex on;
  }
}
EOF
  "$NGINX_BIN" -p "$prefix" -c "$prefix/nginx.conf" -g 'daemon off;' 2>>"$prefix/logs/stderr.log" &
  NGINX_PID=$!
  PIDS+=("$NGINX_PID")
  wait_http "http://127.0.0.1:$NGINX_PORT/large/"
}

start_outpost() {
  # shellcheck disable=SC2086 # flags are words
  node $OUTPOST_NODE_FLAGS "${OUTPOST_CLI:-dist/cli/index.js}" serve --files-root "$DATA" --http "127.0.0.1:$OUTPOST_PORT" --https off --push off --ntp off \
    --data-dir "$WORK/outpost-data" --log-level "$OUTPOST_LOG" >"$WORK/outpost.log" 2>&1 &
  OUTPOST_PID=$!
  PIDS+=("$OUTPOST_PID")
  wait_http "http://127.0.0.1:$OUTPOST_PORT/large/"
}

# Peak resident set of a process and its children, in MB.
peak_rss() { # PID
  local total=0 kb pid
  for pid in "$1" $(cat /proc/"$1"/task/*/children 2>/dev/null); do
    kb=$(awk '/^VmHWM:/ {print $2}' /proc/"$pid"/status 2>/dev/null || echo 0)
    total=$((total + ${kb:-0}))
  done
  echo $((total / 1024))
}

# wrk "Transfer/sec" or "Requests/sec" → a plain number (MB/s or req/s).
wrk_mbps() {
  awk '/^Transfer\/sec:/ { v = $2; if (v ~ /GB$/) { sub(/GB/, "", v); v *= 1024 } else if (v ~ /MB$/) { sub(/MB/, "", v) } else if (v ~ /KB$/) { sub(/KB/, "", v); v /= 1024 } printf "%.0f", v }'
}
wrk_rps() { awk '/^Requests\/sec:/ { printf "%.0f", $2 }'; }
wrk_errors() { awk '/Non-2xx|Socket errors/ { print "  " $0 }'; }

single() { # BASE_URL → MB/s
  curl -s -o /dev/null --max-time 120 -w '%{speed_download}' "$1/large/1g.bin" | awk '{ printf "%.0f", $1 / 1048576 }'
}
concurrent() { # BASE_URL CONNECTIONS → MB/s
  local out
  out=$(wrk -t2 -c"$2" -d"${DURATION}s" --timeout 30s "$1/large/64m.bin")
  wrk_errors <<<"$out" >&2
  wrk_mbps <<<"$out"
}
small() { # BASE_URL → "req/s p99"
  local out
  out=$(wrk -t2 -c64 -d"${DURATION}s" --latency -s "$WORK/rotate.lua" "$1/")
  wrk_errors <<<"$out" >&2
  echo "$(wrk_rps <<<"$out") $(awk '$1 == "99%" { print $2 }' <<<"$out")"
}
max() { [ "$1" -gt "$2" ] && echo "$1" || echo "$2"; }

# CPU time (user + system, clock ticks) of a process and its children: a
# measure that background load does not skew the way throughput is skewed.
cpu_ticks() { # PID
  local total=0 pid
  for pid in "$1" $(cat /proc/"$1"/task/*/children 2>/dev/null); do
    total=$((total + $(awk '{ print $14 + $15 }' /proc/"$pid"/stat 2>/dev/null || echo 0)))
  done
  echo "$total"
}
HZ=$(getconf CLK_TCK)

echo "bench: building Outpost" >&2
npm run -s build >&2

# Both servers run for the whole benchmark (an idle one costs nothing), and
# the tests alternate between them, so a change in background load hits both.
start_nginx
start_outpost
N="http://127.0.0.1:$NGINX_PORT"
O="http://127.0.0.1:$OUTPOST_PORT"
R_nginx_single=- R_outpost_single=- R_nginx_c32=- R_outpost_c32=- R_nginx_c128=- R_outpost_c128=-
if [ "$SMALL_ONLY" = 0 ]; then
single "$N" >/dev/null; single "$O" >/dev/null # warm-up

echo "bench: 1 GiB, one stream (best of 3 each, alternating)" >&2
R_nginx_single=0 R_outpost_single=0 C_nginx_single=0 C_outpost_single=0
for _ in 1 2 3; do
  t=$(cpu_ticks "$NGINX_PID"); R_nginx_single=$(max "$R_nginx_single" "$(single "$N")"); C_nginx_single=$((C_nginx_single + $(cpu_ticks "$NGINX_PID") - t))
  t=$(cpu_ticks "$OUTPOST_PID"); R_outpost_single=$(max "$R_outpost_single" "$(single "$O")"); C_outpost_single=$((C_outpost_single + $(cpu_ticks "$OUTPOST_PID") - t))
done
for c in 32 128; do
  echo "bench: 64 MiB, $c concurrent" >&2
  t=$(cpu_ticks "$NGINX_PID"); printf -v "R_nginx_c$c" '%s' "$(concurrent "$N" "$c")"; printf -v "C_nginx_c$c" '%s' $(($(cpu_ticks "$NGINX_PID") - t))
  t=$(cpu_ticks "$OUTPOST_PID"); printf -v "R_outpost_c$c" '%s' "$(concurrent "$O" "$c")"; printf -v "C_outpost_c$c" '%s' $(($(cpu_ticks "$OUTPOST_PID") - t))
done
fi
echo "bench: small files" >&2
# A short pass on each first: Outpost's stat cache fills as nginx's
# open_file_cache would (off here) — steady state is what is measured.
wrk -t2 -c64 -d3s -s "$WORK/rotate.lua" "$N/" >/dev/null
wrk -t2 -c64 -d3s -s "$WORK/rotate.lua" "$O/" >/dev/null
# The load generator shares the cores: its CPU (this shell's children, i.e. wrk) is measured too.
# `times` runs in this shell (not in a $(…) subshell, which has no children of its own yet).
child_cpu() { # → seconds of CPU used by this shell's children so far
  times >"$WORK/times"
  awk 'NR == 2 { split($1, u, /[ms]/); split($2, s, /[ms]/); printf "%.3f", u[1] * 60 + u[2] + s[1] * 60 + s[2] }' "$WORK/times"
}
child_cpu >"$WORK/w0"; t=$(cpu_ticks "$NGINX_PID"); read -r R_nginx_small P_nginx_small <<<"$(small "$N")"; C_nginx_small=$(($(cpu_ticks "$NGINX_PID") - t))
child_cpu >"$WORK/w1"; t=$(cpu_ticks "$OUTPOST_PID"); read -r R_outpost_small P_outpost_small <<<"$(small "$O")"; C_outpost_small=$(($(cpu_ticks "$OUTPOST_PID") - t))
child_cpu >"$WORK/w2"
W_nginx_small=$(awk '{ print $1 }' "$WORK/w0" "$WORK/w1" | awk 'NR == 1 { a = $1 } NR == 2 { print $1 - a }')
W_outpost_small=$(awk '{ print $1 }' "$WORK/w1" "$WORK/w2" | awk 'NR == 1 { a = $1 } NR == 2 { print $1 - a }')
R_nginx_rss=$(peak_rss "$NGINX_PID")
R_outpost_rss=$(peak_rss "$OUTPOST_PID")

# CPU seconds per GiB sent (3 GiB per server), CPU µs per small request.
per_gib() { awk -v t="$1" -v hz="$HZ" 'BEGIN { printf "%.2f", t / hz / 3 }'; }
per_req() { awk -v t="$1" -v hz="$HZ" -v r="$2" -v d="$DURATION" 'BEGIN { if (r > 0) printf "%.0f", t / hz * 1e6 / (r * d); else print "-" }'; }
U_nginx_single=-; U_outpost_single=-
[ "$SMALL_ONLY" = 0 ] && { U_nginx_single=$(per_gib "$C_nginx_single"); U_outpost_single=$(per_gib "$C_outpost_single"); }
# wrk's own CPU µs per request, in each server's run.
wrk_per_req() { awk -v c="$1" -v r="$2" -v d="$DURATION" 'BEGIN { if (r > 0) printf "%.0f", c * 1e6 / (r * d); else print "-" }'; }
V_nginx_small=$(wrk_per_req "$W_nginx_small" "$R_nginx_small"); V_outpost_small=$(wrk_per_req "$W_outpost_small" "$R_outpost_small")
U_nginx_small=$(per_req "$C_nginx_small" "$R_nginx_small"); U_outpost_small=$(per_req "$C_outpost_small" "$R_outpost_small")
# … and per GiB sent by a wrk run (MiB/s × seconds).
per_gib_wrk() { awk -v t="$1" -v hz="$HZ" -v m="$2" -v d="$DURATION" 'BEGIN { if (m > 0) printf "%.2f", t / hz / (m * d / 1024); else print "-" }'; }
U_nginx_c32=-; U_outpost_c32=-; U_nginx_c128=-; U_outpost_c128=-
if [ "$SMALL_ONLY" = 0 ]; then
  U_nginx_c32=$(per_gib_wrk "$C_nginx_c32" "$R_nginx_c32"); U_outpost_c32=$(per_gib_wrk "$C_outpost_c32" "$R_outpost_c32")
  U_nginx_c128=$(per_gib_wrk "$C_nginx_c128" "$R_nginx_c128"); U_outpost_c128=$(per_gib_wrk "$C_outpost_c128" "$R_outpost_c128")
fi

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f×", a / b; else print "-" }'; }

LOAD="$(cut -d' ' -f1-3 /proc/loadavg)"
TABLE="$(cat <<EOF

### $(date -u +%Y-%m-%d) — $(nproc) cores, $(node --version), $("$NGINX_BIN" -v 2>&1 | sed 's/.*nginx\//nginx /') ($NGINX_WORKERS workers), wrk ${DURATION}s

| test | nginx | Outpost | Outpost / nginx | target |
| --- | ---: | ---: | ---: | --- |
| 1 GiB, one stream (MB/s) | $R_nginx_single | $R_outpost_single | $(ratio "$R_outpost_single" "$R_nginx_single") | ≥ 0.8× |
| 64 MiB, 32 concurrent (MB/s) | $R_nginx_c32 | $R_outpost_c32 | $(ratio "$R_outpost_c32" "$R_nginx_c32") | ≥ 0.8× |
| 64 MiB, 128 concurrent (MB/s) | $R_nginx_c128 | $R_outpost_c128 | $(ratio "$R_outpost_c128" "$R_nginx_c128") | ≥ 0.8× |
| 10,000 files of 1–20 KiB, 64 connections (req/s) | $R_nginx_small | $R_outpost_small | $(ratio "$R_outpost_small" "$R_nginx_small") | ≥ 0.35× |
| peak RSS (MB) | $R_nginx_rss | $R_outpost_rss | | Outpost < 150 |

CPU cost, which background load does not skew: CPU seconds per GiB sent, one stream / 32 / 128
concurrent: nginx $U_nginx_single / $U_nginx_c32 / $U_nginx_c128, Outpost $U_outpost_single / $U_outpost_c32 / $U_outpost_c128;
small files, CPU µs per request: nginx $U_nginx_small, Outpost $U_outpost_small (wrk itself: $V_nginx_small and $V_outpost_small); small files p99: nginx
$P_nginx_small, Outpost $P_outpost_small. Outpost access log: \`--log-level $OUTPOST_LOG\`;
node flags: \`${OUTPOST_NODE_FLAGS:-none}\`; server.sendfile: \`${OUTPOST_SERVER_SENDFILE:-auto}\`.
Load average at the end: $LOAD.
EOF
)"
echo "$TABLE"
if [ "${BENCH_WRITE:-}" = 1 ]; then
  printf '%s\n' "$TABLE" >> bench/README.md
  echo "bench: appended to bench/README.md" >&2
fi
