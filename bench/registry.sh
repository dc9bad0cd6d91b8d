#!/usr/bin/env bash
# Registry benchmark: Outpost vs docker-registry (registry:2) on the same
# registry:2 tree, and nginx serving the same blob files raw (sendfile on),
# same run, loopback. Prints a Markdown table.
#   bash bench/registry.sh            (BIG_MIB=1024 MID_MIB=64 DURATION=8)
#   OUTPOST_SERVER_SENDFILE=off bash bench/registry.sh   Outpost without sendfile (server.sendfile: off)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
for t in wrk ab curl nginx docker-registry node; do command -v "$t" >/dev/null || [ -x "/usr/sbin/$t" ] || { echo "missing $t"; exit 2; }; done

work=${BENCH_DIR:-$(mktemp -d /tmp/outpost-bench-XXXX)}
mkdir -p "$work"
# nginx workers run unprivileged: the tree must be readable by them.
chmod 755 "$work"
tree="$work/registry"
if [ ! -f "$work/tree.json" ]; then
  node "$here/make-registry-tree.mjs" "$tree" "${BIG_MIB:-1024}" "${MID_MIB:-64}" 50 > "$work/tree.json"
fi
big=$(node -e "console.log(require('$work/tree.json').big.layer.digest)")
mid=$(node -e "console.log(require('$work/tree.json').mid.layer.digest)")
midman=$(node -e "console.log(require('$work/tree.json').mid.manifest.digest)")
[ -f "$here/../dist/cli/index.js" ] || (cd "$here/.." && npm run -s build)

P_NGINX=18101 P_REG=18102 P_OUT=18103
start_nginx "$tree/docker/registry/v2/blobs" $P_NGINX
start_registry "$tree" $P_REG
start_outpost $P_OUT --registry-root "$tree"

nginx_blob() { local h=${1#sha256:}; echo "http://127.0.0.1:$P_NGINX/sha256/${h:0:2}/$h/data"; }
reg_url() { echo "http://127.0.0.1:$1/v2/$2"; }
ACCEPT='Accept: application/vnd.docker.distribution.manifest.v2+json'

declare -A R
# cpu_per_gib TICKS MIB → server CPU seconds per GiB sent
cpu_per_gib() { awk -v d="$1" -v hz="$(getconf CLK_TCK)" -v mib="$2" 'BEGIN { if (mib > 0) printf "%.2f", (d / hz) / (mib / 1024); else print "n/a" }'; }
# wrk_mib MB/S → MiB sent in a wrk run of DURATION seconds
wrk_mib() { awk -v mbps="$1" -v s="${DURATION:-8}" 'BEGIN { print mbps * 1e6 * s / 1048576 }'; }
measure() { # key port-or-nginx
  local who=$1 port=$2 pid=$3 t0 single c32 c128
  if [ "$who" = nginx ]; then
    single=$(nginx_blob "$big") c32=$(nginx_blob "$mid") c128=$(nginx_blob "$mid")
  else
    single=$(reg_url "$port" "bench/library/big/blobs/$big")
    c32=$(reg_url "$port" "bench/library/mid/blobs/$mid") c128=$c32
  fi
  # Server CPU seconds per GiB sent during each run (curl: 3 × BIG_MIB; wrk: MB/s × seconds).
  t0=$(cpu_ticks "$pid"); R[$who,single]=$(curl_speed "$single")
  R[$who,cpu1]=$(cpu_per_gib $(($(cpu_ticks "$pid") - t0)) $((3 * ${BIG_MIB:-1024})))
  t0=$(cpu_ticks "$pid"); R[$who,c32]=$(wrk_mbps "$c32" 32)
  R[$who,cpu32]=$(cpu_per_gib $(($(cpu_ticks "$pid") - t0)) "$(wrk_mib "${R[$who,c32]}")")
  t0=$(cpu_ticks "$pid"); R[$who,c128]=$(wrk_mbps "$c128" 128)
  R[$who,cpu]=$(cpu_per_gib $(($(cpu_ticks "$pid") - t0)) "$(wrk_mib "${R[$who,c128]}")")
  R[$who,rss]=$(peak_rss_mb "$pid")
  if [ "$who" != nginx ]; then
    R[$who,mtag]=$(wrk_rps "$(reg_url "$port" bench/library/mid/manifests/v1)" -H "$ACCEPT")
    R[$who,mdig]=$(wrk_rps "$(reg_url "$port" "bench/library/mid/manifests/$midman")" -H "$ACCEPT")
    R[$who,mhead]=$(ab_head_rps "$(reg_url "$port" bench/library/mid/manifests/v1)" "$ACCEPT")
    R[$who,tags]=$(wrk_rps "$(reg_url "$port" bench/repo-007/tags/list)")
    R[$who,cat]=$(wrk_rps "$(reg_url "$port" _catalog)")
    R[$who,p99]=$(wrk_line "$(reg_url "$port" bench/library/mid/manifests/v1)" -H "$ACCEPT" | awk '$1=="99%" { print $2 }')
  fi
}
measure nginx $P_NGINX "$NGINX_PID"
measure registry $P_REG "$REGISTRY_PID"
measure outpost $P_OUT "$OUTPOST_PID"

cat <<TABLE
Registry benchmark, $(date -u +%Y-%m-%d), $(nproc) cores, loopback; blobs ${BIG_MIB:-1024} MiB / ${MID_MIB:-64} MiB, wrk ${DURATION:-8}s runs; Outpost server.sendfile: ${OUTPOST_SERVER_SENDFILE:-auto}.

| measure | nginx | docker-registry | Outpost | Outpost / registry | Outpost / nginx |
| --- | ---: | ---: | ---: | ---: | ---: |
| single-stream blob GET, MB/s | ${R[nginx,single]} | ${R[registry,single]} | ${R[outpost,single]} | $(ratio ${R[outpost,single]} ${R[registry,single]}) | $(ratio ${R[outpost,single]} ${R[nginx,single]}) |
| 32 concurrent blob GETs, MB/s | ${R[nginx,c32]} | ${R[registry,c32]} | ${R[outpost,c32]} | $(ratio ${R[outpost,c32]} ${R[registry,c32]}) | $(ratio ${R[outpost,c32]} ${R[nginx,c32]}) |
| 128 concurrent blob GETs, MB/s | ${R[nginx,c128]} | ${R[registry,c128]} | ${R[outpost,c128]} | $(ratio ${R[outpost,c128]} ${R[registry,c128]}) | $(ratio ${R[outpost,c128]} ${R[nginx,c128]}) |
| server CPU s per GiB, 1 stream | ${R[nginx,cpu1]} | ${R[registry,cpu1]} | ${R[outpost,cpu1]} | | |
| server CPU s per GiB, 32-way | ${R[nginx,cpu32]} | ${R[registry,cpu32]} | ${R[outpost,cpu32]} | | |
| server CPU s per GiB (128-way) | ${R[nginx,cpu]} | ${R[registry,cpu]} | ${R[outpost,cpu]} | | |
| peak RSS after 128-way, MiB | ${R[nginx,rss]} | ${R[registry,rss]} | ${R[outpost,rss]} | | |
| manifest GET by tag, req/s | | ${R[registry,mtag]} | ${R[outpost,mtag]} | $(ratio ${R[outpost,mtag]} ${R[registry,mtag]}) | |
| manifest GET by digest, req/s | | ${R[registry,mdig]} | ${R[outpost,mdig]} | $(ratio ${R[outpost,mdig]} ${R[registry,mdig]}) | |
| manifest HEAD by tag, req/s (ab) | | ${R[registry,mhead]} | ${R[outpost,mhead]} | $(ratio ${R[outpost,mhead]} ${R[registry,mhead]}) | |
| manifest GET p99 latency (64 conns) | | ${R[registry,p99]} | ${R[outpost,p99]} | | |
| tags/list, req/s | | ${R[registry,tags]} | ${R[outpost,tags]} | $(ratio ${R[outpost,tags]} ${R[registry,tags]}) | |
| _catalog, req/s | | ${R[registry,cat]} | ${R[outpost,cat]} | $(ratio ${R[outpost,cat]} ${R[registry,cat]}) | |
TABLE
[ -n "${BENCH_DIR:-}" ] || rm -rf "$work"
