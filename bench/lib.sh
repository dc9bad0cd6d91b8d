# Shared helpers for the benchmarks: start/stop servers by PID, measure.
# Every server listens on 127.0.0.1 only and is stopped by its own PID.

PIDS=()
cleanup() {
  for pid in "${PIDS[@]:-}"; do
    # `|| true`: under `set -e`, a killed child's non-zero status would end the loop early.
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  done
  return 0
}
trap cleanup EXIT INT TERM

wait_port() { # port
  for _ in $(seq 1 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "port $1 did not open" >&2
  return 1
}

peak_rss_mb() { # pid → VmHWM in MiB (the largest of the process and its children)
  local best=0 p v
  for p in $1 $(pgrep -P "$1" || true); do
    v=$(awk '/VmHWM/ { printf "%.0f", $2/1024 }' "/proc/$p/status" 2>/dev/null || echo 0)
    [ "$v" -gt "$best" ] && best=$v
  done
  echo "$best"
}

# ab_head_rps URL [header] → HEAD requests/sec (wrk waits for a body after a HEAD)
ab_head_rps() {
  ab -q -k -i -c 64 -n "${AB_REQUESTS:-20000}" ${2:+-H "$2"} "$1" 2>/dev/null | awk '/Requests per second/ { printf "%.0f", $4 }'
}

cpu_ticks() { # pid → utime+stime (clock ticks) of the process and its live children (nginx workers)
  local total=0 p
  for p in $1 $(pgrep -P "$1" || true); do
    total=$((total + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo "$total"
}

# start_nginx ROOT PORT [TLS_CERT TLS_KEY] — serves ROOT raw with sendfile.
start_nginx() {
  local root=$1 port=$2 dir
  dir=$(mktemp -d)
  mkdir -p "$dir/logs"
  cat > "$dir/nginx.conf" <<NGINX
worker_processes auto;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
daemon off;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:$port;
    root $root;
    location / { }
  }
}
NGINX
  /usr/sbin/nginx -p "$dir" -c "$dir/nginx.conf" &
  PIDS+=($!)
  NGINX_PID=$!
  wait_port "$port"
}

# start_registry ROOTDIR PORT — Debian's docker-registry (registry:2) on the tree.
start_registry() {
  local root=$1 port=$2 dir
  dir=$(mktemp -d)
  cat > "$dir/config.yml" <<YAML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $root
  cache:
    blobdescriptor: inmemory
http:
  addr: 127.0.0.1:$port
YAML
  docker-registry serve "$dir/config.yml" >/dev/null 2>&1 &
  PIDS+=($!)
  REGISTRY_PID=$!
  wait_port "$port"
}

# start_outpost PORT ARGS… — the built CLI (OUTPOST_CLI=path/to/cli.js for another build), logs off (as the others).
start_outpost() {
  local port=$1; shift
  node --max-semi-space-size=4 "${OUTPOST_CLI:-$(dirname "${BASH_SOURCE[0]}")/../dist/cli/index.js}" serve --http "127.0.0.1:$port" --https off --push off --ntp off \
    --data-dir "$(mktemp -d)" --log-level warn "$@" >/dev/null 2>&1 &
  PIDS+=($!)
  OUTPOST_PID=$!
  wait_port "$port"
}

# wrk_rps URL [extra wrk args] → requests/sec
wrk_rps() {
  local url=$1; shift
  wrk -t2 -c64 -d"${DURATION:-8}s" --latency "$@" "$url" 2>/dev/null | awk '/Requests\/sec/ { printf "%.0f", $2 }'
}
# wrk_p99 URL → p99 latency as printed
wrk_line() {
  local url=$1; shift
  wrk -t2 -c64 -d"${DURATION:-8}s" --latency "$@" "$url" 2>/dev/null
}

# curl_speed URL → MB/s (best of 3)
curl_speed() {
  local best=0 s
  for _ in 1 2 3; do
    s=$(curl -s -o /dev/null -w '%{speed_download}' "$1")
    best=$(awk -v a="$best" -v b="$s" 'BEGIN { print (b > a) ? b : a }')
  done
  awk -v b="$best" 'BEGIN { printf "%.0f", b / 1e6 }'
}

# wrk_mbps URL CONNS → MB/s across CONNS connections
wrk_mbps() {
  wrk -t2 -c"$2" -d"${DURATION:-8}s" "$1" 2>/dev/null | awk '
    /Transfer\/sec/ { v=$2; u=substr(v, length(v)-1); n=substr(v, 1, length(v)-2);
      if (u=="GB") n*=1024; else if (u=="KB") n/=1024; else if (u!="MB") n=n/1048576;
      printf "%.0f", n * 1.048576 }'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
