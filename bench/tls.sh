#!/usr/bin/env bash
# HTTPS benchmark: Outpost's HTTPS listener vs nginx with TLS and
# docker-registry (registry:2) with TLS, on the same registry:2 tree, with
# the same certificate and key (the RSA 2048 pair Outpost makes), same run,
# loopback. Prints a Markdown table for bench/README.md ("## TLS").
#
#   bash bench/tls.sh                 (BIG_MIB=256 MID_MIB=64 DURATION=10)
#
# Measures, each with wrk over TLS (keep-alive, so one handshake per connection):
#   single-stream blob GET (1 connection, BIG_MIB blob), MB/s
#   32-way blob GET (32 connections, MID_MIB blob), MB/s
#   manifest GET by digest (32 connections), req/s — nginx serves the same
#     file through a regex alias onto the blob store, so all three send the
#     same bytes for the same URL
#   manifest GET by tag (32 connections), req/s — Outpost and docker-registry
#   full handshakes/s (openssl s_time -new, 1 client) — what a connection costs
#   server CPU seconds per GiB during the 32-way run (utime+stime from /proc,
#     nginx workers included) — steadier than MB/s on a shared machine
# Access logs are off everywhere. Every server listens on 127.0.0.1 only and
# is stopped by its own PID.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
for t in wrk openssl curl node docker-registry; do command -v "$t" >/dev/null || { echo "bench/tls.sh: missing $t" >&2; exit 2; }; done
[ -x /usr/sbin/nginx ] || { echo "bench/tls.sh: missing /usr/sbin/nginx (apt-get install nginx-light)" >&2; exit 2; }

DURATION=${DURATION:-10}
BIG_MIB=${BIG_MIB:-256}
MID_MIB=${MID_MIB:-64}

work=$(mktemp -d /tmp/outpost-bench-tls-XXXX)
chmod 755 "$work" # nginx workers run as nobody and read the tree
PIDS=()
cleanup() {
  # errexit off: `wait` on a killed server returns non-zero, and the tree (hundreds of MiB) must go.
  set +e
  for pid in "${PIDS[@]:-}"; do
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  done
  rm -rf "$work"
  return 0
}
trap cleanup EXIT INT TERM

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
wait_tls() { # port
  for _ in $(seq 1 400); do
    curl -sk -o /dev/null "https://127.0.0.1:$1/" 2>/dev/null && return 0
    sleep 0.05
  done
  echo "nothing answered TLS on port $1" >&2
  return 1
}

# --- content: a registry:2 tree with a big and a mid blob, each in an image.
node --input-type=module - "$work/registry" "$BIG_MIB" "$MID_MIB" > "$work/tree.json" <<'NODE'
import { createHash, randomBytes } from 'node:crypto'
import { mkdirSync, writeFileSync, openSync, writeSync, closeSync, renameSync } from 'node:fs'
import { join, dirname } from 'node:path'
const [root, bigMiB, midMiB] = process.argv.slice(2)
const base = join(root, 'docker/registry/v2')
const blobPath = (hex) => join(base, 'blobs/sha256', hex.slice(0, 2), hex, 'data')
const put = (path, bytes) => { mkdirSync(dirname(path), { recursive: true }); writeFileSync(path, bytes) }
const putBlob = (bytes) => { const hex = createHash('sha256').update(bytes).digest('hex'); put(blobPath(hex), bytes); return { digest: `sha256:${hex}`, size: bytes.length } }
const putRandom = (mib) => {
  const tmp = join(base, `tmp-${mib}`); mkdirSync(base, { recursive: true })
  const fd = openSync(tmp, 'w'); const hash = createHash('sha256'); const chunk = randomBytes(1 << 20)
  for (let i = 0; i < mib; i++) { chunk.writeUInt32LE(i, 0); hash.update(chunk); writeSync(fd, chunk) }
  closeSync(fd); const hex = hash.digest('hex'); mkdirSync(dirname(blobPath(hex)), { recursive: true }); renameSync(tmp, blobPath(hex))
  return { digest: `sha256:${hex}`, size: mib << 20 }
}
const image = (repo, layer) => {
  const config = putBlob(Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [layer.digest] } })))
  const manifest = putBlob(Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    config: { mediaType: 'application/vnd.docker.container.image.v1+json', ...config },
    layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', ...layer }],
  })))
  const r = join(base, 'repositories', repo)
  for (const b of [config, layer]) put(join(r, '_layers/sha256', b.digest.slice(7), 'link'), b.digest)
  put(join(r, '_manifests/revisions/sha256', manifest.digest.slice(7), 'link'), manifest.digest)
  put(join(r, '_manifests/tags/v1/current/link'), manifest.digest)
  put(join(r, '_manifests/tags/v1/index/sha256', manifest.digest.slice(7), 'link'), manifest.digest)
  return { layer, manifest }
}
console.log(JSON.stringify({ big: image('bench/big', putRandom(Number(bigMiB))), mid: image('bench/mid', putRandom(Number(midMiB))) }))
NODE
tree="$work/registry"
get() { node -e "console.log(require('$work/tree.json').$1)"; }
BIG=$(get big.layer.digest)
MID=$(get mid.layer.digest)
MAN=$(get mid.manifest.digest)

# --- Outpost (built CLI when present, else through tsx); it makes the certificates.
P_OUT=$(free_port)
if [ -f "$repo/dist/cli/index.js" ]; then OUTPOST=(node "$repo/dist/cli/index.js"); else OUTPOST=(node --import tsx "$repo/src/cli/index.ts"); fi
(cd "$repo" && exec "${OUTPOST[@]}" serve --config /dev/null --data-dir "$work/data" --registry-root "$tree" \
  --http off --https "127.0.0.1:$P_OUT" --push off --ntp off --log-level warn >"$work/outpost.log" 2>&1) &
PIDS+=($!)
OUTPOST_PID=$!
wait_tls "$P_OUT"
CRT="$work/data/tls/server.crt"
KEY="$work/data/tls/server.key"

# --- nginx: same blob files, same certificate.
P_NGINX=$(free_port)
mkdir -p "$work/nginx/logs" "$work/nginx/tmp"
v2="$tree/docker/registry/v2"
cat > "$work/nginx/nginx.conf" <<NGINX
worker_processes auto;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log warn;
daemon off;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  client_body_temp_path $work/nginx/tmp;
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:$P_NGINX ssl;
    ssl_certificate $CRT;
    ssl_certificate_key $KEY;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache shared:SSL:10m;
    location ~ "^/v2/.+/blobs/sha256:(([0-9a-f]{2})[0-9a-f]{62})\$" {
      alias $v2/blobs/sha256/\$2/\$1/data;
    }
    location ~ "^/v2/.+/manifests/sha256:(([0-9a-f]{2})[0-9a-f]{62})\$" {
      default_type application/vnd.docker.distribution.manifest.v2+json;
      alias $v2/blobs/sha256/\$2/\$1/data;
    }
    location = / { return 200 "ok\n"; }
  }
}
NGINX
/usr/sbin/nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" &
PIDS+=($!)
NGINX_PID=$!
wait_tls "$P_NGINX"

# --- docker-registry: same tree, same certificate.
P_REG=$(free_port)
cat > "$work/registry.yml" <<YAML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $tree
  cache:
    blobdescriptor: inmemory
http:
  addr: 127.0.0.1:$P_REG
  tls:
    certificate: $CRT
    key: $KEY
YAML
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
PIDS+=($!)
REGISTRY_PID=$!
wait_tls "$P_REG"

# wrk_mbps URL THREADS CONNS → MB/s (10^6 bytes)
wrk_mbps() {
  wrk -t"$2" -c"$3" -d"${DURATION}s" "$1" 2>/dev/null | awk '
    /Transfer\/sec/ { v=$2; u=substr(v, length(v)-1); n=substr(v, 1, length(v)-2);
      if (u=="GB") n*=1024; else if (u=="KB") n/=1024; else if (u!="MB") n=n/1048576;
      printf "%.0f", n * 1.048576 }'
}
# wrk_rps URL [wrk args] → requests/sec with 32 connections
wrk_rps() {
  local url=$1; shift
  wrk -t2 -c32 -d"${DURATION}s" "$@" "$url" 2>/dev/null | awk '/Requests\/sec/ { printf "%.0f", $2 }'
}
# handshakes PORT → full TLS 1.3 handshakes/s from one openssl client
handshakes() {
  openssl s_time -connect "127.0.0.1:$1" -new -time 5 2>/dev/null | awk '/connections in .* real seconds/ { printf "%.0f", $1 / $4; exit }'
}
cpu_ticks() { # pid → utime+stime (clock ticks) of the process and its children (nginx workers)
  local total=0 p
  for p in $1 $(pgrep -P "$1" || true); do
    total=$((total + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo "$total"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
ACCEPT='Accept: application/vnd.docker.distribution.manifest.v2+json'

LOAD0=$(cut -d' ' -f1 /proc/loadavg)
declare -A R
for who in nginx registry outpost; do
  case $who in nginx) port=$P_NGINX pid=$NGINX_PID ;; registry) port=$P_REG pid=$REGISTRY_PID ;; outpost) port=$P_OUT pid=$OUTPOST_PID ;; esac
  base="https://127.0.0.1:$port/v2"
  # Fail loudly rather than time a 404.
  code=$(curl -sk -o /dev/null -w '%{http_code}' "$base/bench/mid/blobs/$MID")
  [ "$code" = 200 ] || { echo "$who: blob GET answered $code" >&2; exit 1; }
  R[$who,single]=$(wrk_mbps "$base/bench/big/blobs/$BIG" 1 1)
  t0=$(cpu_ticks "$pid")
  R[$who,c32]=$(wrk_mbps "$base/bench/mid/blobs/$MID" 2 32)
  t1=$(cpu_ticks "$pid")
  R[$who,cpu]=$(awk -v d="$((t1 - t0))" -v hz="$(getconf CLK_TCK)" -v mbps="${R[$who,c32]}" -v s="$DURATION" \
    'BEGIN { gib = mbps * 1e6 * s / 1073741824; if (gib > 0) printf "%.2f", (d / hz) / gib; else print "n/a" }')
  R[$who,mdig]=$(wrk_rps "$base/bench/mid/manifests/$MAN" -H "$ACCEPT")
  if [ "$who" != nginx ]; then R[$who,mtag]=$(wrk_rps "$base/bench/mid/manifests/v1" -H "$ACCEPT"); fi
  R[$who,hs]=$(handshakes "$port")
done

cat <<TABLE
HTTPS benchmark, $(date -u +%Y-%m-%d) $(date -u +%H:%M)Z, Outpost $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?') ($(git -C "$repo" rev-parse --abbrev-ref HEAD 2>/dev/null || echo '?')), load average before: $LOAD0, $(nproc) cores, loopback, TLS 1.3, RSA 2048 certificate (the same for all three);
blobs ${BIG_MIB} MiB (single stream) / ${MID_MIB} MiB (32-way), wrk ${DURATION}s runs, access logs off.

| measure | nginx | docker-registry | Outpost | Outpost / registry | Outpost / nginx |
| --- | ---: | ---: | ---: | ---: | ---: |
| single-stream blob GET, MB/s | ${R[nginx,single]} | ${R[registry,single]} | ${R[outpost,single]} | $(ratio "${R[outpost,single]}" "${R[registry,single]}") | $(ratio "${R[outpost,single]}" "${R[nginx,single]}") |
| 32-way blob GET, MB/s | ${R[nginx,c32]} | ${R[registry,c32]} | ${R[outpost,c32]} | $(ratio "${R[outpost,c32]}" "${R[registry,c32]}") | $(ratio "${R[outpost,c32]}" "${R[nginx,c32]}") |
| server CPU s per GiB, 32-way (lower is better) | ${R[nginx,cpu]} | ${R[registry,cpu]} | ${R[outpost,cpu]} | | |
| manifest GET by digest (32 conns), req/s | ${R[nginx,mdig]} | ${R[registry,mdig]} | ${R[outpost,mdig]} | $(ratio "${R[outpost,mdig]}" "${R[registry,mdig]}") | $(ratio "${R[outpost,mdig]}" "${R[nginx,mdig]}") |
| manifest GET by tag (32 conns), req/s | | ${R[registry,mtag]} | ${R[outpost,mtag]} | $(ratio "${R[outpost,mtag]}" "${R[registry,mtag]}") | |
| full TLS handshakes/s (1 client) | ${R[nginx,hs]} | ${R[registry,hs]} | ${R[outpost,hs]} | $(ratio "${R[outpost,hs]}" "${R[registry,hs]}") | $(ratio "${R[outpost,hs]}" "${R[nginx,hs]}") |
TABLE
