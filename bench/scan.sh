#!/usr/bin/env bash
# Catalog scan benchmark: a tree of 100,000 small files and 200 images.
# Time to complete the first scan, peak RSS, and manifest GET p99 latency
# while the scan runs vs idle. Prints a Markdown table.
#   bash bench/scan.sh        (FILES=100000 IMAGES=200)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
work=${BENCH_DIR:-$(mktemp -d /tmp/outpost-scan-XXXX)}
mkdir -p "$work"
FILES=${FILES:-100000}
IMAGES=${IMAGES:-200}
[ -f "$work/tree.json" ] || node "$here/make-registry-tree.mjs" "$work/registry" 8 8 "$IMAGES" > "$work/tree.json"
[ -f "$work/files.json" ] || node "$here/make-files-tree.mjs" "$work/files" "$FILES" > "$work/files.json"
[ -f "$here/../dist/cli/index.js" ] || (cd "$here/.." && npm run -s build)

port=18111
data=$(mktemp -d)
log="$work/outpost.log"
node --max-semi-space-size=4 "$here/../dist/cli/index.js" serve --http "127.0.0.1:$port" --https off --push off --ntp off \
  --data-dir "$data" --log-level info --registry-root "$work/registry" --files-root "$work/files" > "$log" 2>&1 &
PIDS+=($!); pid=$!
wait_port $port
url="http://127.0.0.1:$port/v2/bench/library/mid/manifests/v1"
ACCEPT='Accept: application/vnd.docker.distribution.manifest.v2+json'
during=$(wrk -t2 -c64 -d"${DURING:-3}s" --latency -H "$ACCEPT" "$url" 2>/dev/null | awk '$1=="99%" { print $2 }')
for _ in $(seq 1 600); do grep -q '"catalog scan complete"' "$log" && break; sleep 0.1; done
scan_ms=$(grep '"catalog scan complete"' "$log" | sed 's/.*"ms":\([0-9]*\).*/\1/')
rss=$(peak_rss_mb $pid)
sleep 1
idle=$(wrk -t2 -c64 -d"${DURING:-3}s" --latency -H "$ACCEPT" "$url" 2>/dev/null | awk '$1=="99%" { print $2 }')
files=$(curl -s -H 'Accept: application/json' "http://127.0.0.1:$port/inventory" | node -e 'let s="";process.stdin.on("data",c=>s+=c).on("end",()=>{const i=JSON.parse(s);console.log(i.totals.files+" files, "+i.totals.tags+" tags")})')
cat <<TABLE
Catalog scan benchmark, $(date -u +%Y-%m-%d), $(nproc) cores: $FILES files of 1–20 KiB and $IMAGES images (catalogued: $files).

| measure | result | target |
| --- | ---: | ---: |
| first scan complete | ${scan_ms} ms | < 10,000 ms |
| peak RSS after scan | ${rss} MiB | |
| manifest GET p99 during scan (wrk, 64 conns, first ${DURING:-3} s) | ${during} | < 3× idle |
| manifest GET p99 idle | ${idle} | |
TABLE
rm -rf "$data"
[ -n "${BENCH_DIR:-}" ] || rm -rf "$work"
