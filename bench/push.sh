#!/usr/bin/env bash
# Push benchmark: Outpost's push listener vs docker-registry (registry:2), each
# writing into a fresh storage folder, same run, loopback. Prints a Markdown table.
#   bash bench/push.sh        (BIG_MIB=1024 MID_MIB=64 ROUNDS=3 IMAGES=50)
# - a BIG_MIB and a MID_MIB blob with curl, monolithic (POST, then PUT ?digest=
#   with the whole body) and in 8 MiB chunks (POST, PATCH with Content-Range
#   per piece, PUT ?digest=); best of ROUNDS, every upload new content;
# - IMAGES small multi-platform images with `skopeo copy --all`, one after the
#   other, from an OCI layout; best of ROUNDS, new images every round;
# - server CPU seconds per GiB received and peak RSS (VmHWM) over the run.
# The servers take turns (the order flips every round), so a change in
# background load hits both. Each server's storage is written through the
# page cache; a `sync` before every upload starts each from the same state.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
for t in curl skopeo docker-registry node dd sync timeout; do command -v "$t" >/dev/null || { echo "missing $t"; exit 2; }; done

BIG_MIB=${BIG_MIB:-1024} MID_MIB=${MID_MIB:-64} ROUNDS=${ROUNDS:-3} IMAGES=${IMAGES:-50}
work=$(mktemp -d /tmp/outpost-push-bench-XXXX)
trap 'cleanup; rm -rf "$work"' EXIT INT TERM
[ -f "$here/../dist/cli/index.js" ] || (cd "$here/.." && npm run -s build)

echo "generating data in $work …" >&2
t0=$EPOCHREALTIME
# Each upload of a blob uses a variant of its own: ROUNDS × 2 servers × 2 ways.
timeout 300 node "$here/make-push-data.mjs" "$work/data" "$BIG_MIB" "$MID_MIB" $((ROUNDS * 4)) $((ROUNDS * 2)) "$IMAGES" >/dev/null
echo "data ready in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s" >&2
declare -A DIGEST SUFFIX NEXT=([big]=0 [mid]=0)
while IFS=$'\t' read -r f k s d; do SUFFIX[$f,$k]=$s DIGEST[$f,$k]=$d; done < "$work/data/variants.tsv"

P_REG=18121 P_OUT=18122
mkdir -p "$work/registry" "$work/outpost/data" "$work/outpost/empty"
start_registry "$work/registry" $P_REG
# The push listener only; the push root is <data-dir>/registry, the pull root an empty folder.
node ${OUTPOST_NODE_FLAGS:---max-semi-space-size=4} "${OUTPOST_CLI:-$here/../dist/cli/index.js}" serve \
  --http off --https off --ntp off --push 127.0.0.1:$P_OUT --data-dir "$work/outpost/data" \
  --registry-root "$work/outpost/empty" --log-level warn >"$work/outpost.log" 2>&1 &
PIDS+=($!)
OUTPOST_PID=$!
wait_port $P_OUT
sleep 1
declare -A R PID=([registry]=$REGISTRY_PID [outpost]=$OUTPOST_PID) PORT=([registry]=$P_REG [outpost]=$P_OUT)
for who in registry outpost; do R[$who,rss0]=$(peak_rss_mb "${PID[$who]}"); done

fail() { echo "push.sh: $*" >&2; [ ! -s "$work/outpost.log" ] || tail -5 "$work/outpost.log" >&2; exit 1; }

# upload_url WHO LOCATION [QUERY] → an absolute URL (docker-registry answers with one, Outpost with a path)
upload_url() {
  local url=$2
  [[ $url == http* ]] || url="http://127.0.0.1:${PORT[$1]}$url"
  [ -z "${3:-}" ] || { [[ $url == *\?* ]] && url="$url&$3" || url="$url?$3"; }
  echo "$url"
}
# open_session WHO REPO → the upload's Location
open_session() {
  local out
  out=$(curl -s --max-time 30 -o /dev/null -X POST -w '%{http_code} %header{location}' "http://127.0.0.1:${PORT[$1]}/v2/$2/blobs/uploads/")
  [ "${out%% *}" = 202 ] || fail "$1: POST answered $out"
  upload_url "$1" "${out#* }"
}
CURL_UP=(-s --max-time 600 -o /dev/null -H 'Expect:' -H 'Content-Type: application/octet-stream')

# push_blob WHO FILE(big|mid) WAY(mono|chunked) → ELAPSED: seconds from the POST to the PUT's 201;
# chunked, COMMIT: seconds of the closing PUT alone (no body: the digest checked, the blob moved in place)
push_blob() {
  local who=$1 f=$2 way=$3 k size pieces=() ranges=() i start=0 n loc out t c
  k=${NEXT[$f]}; NEXT[$f]=$((k + 1))
  size=$(stat -c %s "$work/data/$f/blob")
  pieces=("$work/data/$f/pieces"/*)
  for i in "${pieces[@]}"; do
    n=$(stat -c %s "$i")
    ranges+=("$start-$((start + n - 1))")
    start=$((start + n))
  done
  printf '%s' "${SUFFIX[$f,$k]}" | dd of="$work/data/$f/blob" bs=16 seek=$((size / 16 - 1)) conv=notrunc status=none
  printf '%s' "${SUFFIX[$f,$k]}" | dd of="${pieces[-1]}" bs=16 seek=$((n / 16 - 1)) conv=notrunc status=none
  sync -f "$work"
  t=$EPOCHREALTIME
  loc=$(open_session "$who" "bench/$f")
  if [ "$way" = mono ]; then
    out=$(curl "${CURL_UP[@]}" -T "$work/data/$f/blob" -w '%{http_code}' "$(upload_url "$who" "$loc" "digest=${DIGEST[$f,$k]}")")
    [ "$out" = 201 ] || fail "$who: PUT of $f answered $out"
  else
    for i in "${!pieces[@]}"; do
      out=$(curl "${CURL_UP[@]}" -X PATCH -T "${pieces[$i]}" -H "Content-Range: ${ranges[$i]}" -w '%{http_code} %header{location}' "$loc")
      [ "${out%% *}" = 202 ] || fail "$who: PATCH ${ranges[$i]} of $f answered $out"
      loc=$(upload_url "$who" "${out#* }")
    done
    c=$EPOCHREALTIME
    out=$(curl -s --max-time 600 -o /dev/null -X PUT -H 'Content-Length: 0' -w '%{http_code}' "$(upload_url "$who" "$loc" "digest=${DIGEST[$f,$k]}")")
    [ "$out" = 201 ] || fail "$who: closing PUT of $f answered $out"
    COMMIT=$(awk -v a="$c" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }')
  fi
  ELAPSED=$(awk -v a="$t" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }')
}

# push_images WHO SET → ELAPSED: seconds for IMAGES `skopeo copy --all`, one after the other
push_images() {
  local who=$1 i t tag
  sync -f "$work"
  t=$EPOCHREALTIME
  for i in $(seq 0 $((IMAGES - 1))); do
    tag=$(printf 's%02d-i%03d' "$2" "$i")
    timeout 120 skopeo copy -q --all --dest-tls-verify=false "oci:$work/data/oci:$tag" \
      "docker://127.0.0.1:${PORT[$who]}/bench/img-$(printf %03d "$i"):$tag" >/dev/null 2>"$work/skopeo.err" ||
      fail "$who: skopeo copy of $tag: $(tail -2 "$work/skopeo.err")"
  done
  ELAPSED=$(awk -v a="$t" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }')
}

# measure WHO KEY COMMAND… — runs it, keeps the best time and the server's CPU ticks
measure() {
  local who=$1 key=$2 c0 s; shift 2
  c0=$(cpu_ticks "${PID[$who]}")
  "$@"
  s=$ELAPSED
  R[$who,$key,cpu]=$(( ${R[$who,$key,cpu]:-0} + $(cpu_ticks "${PID[$who]}") - c0 ))
  R[$who,$key,n]=$(( ${R[$who,$key,n]:-0} + 1 ))
  R[$who,$key]=$(awk -v a="${R[$who,$key]:-}" -v b="$s" 'BEGIN { print (a == "" || b < a) ? b : a }')
  if [[ $key == *-chunked ]]; then
    R[$who,$key,commit]=$(awk -v a="${R[$who,$key,commit]:-}" -v b="$COMMIT" 'BEGIN { print (a == "" || b < a) ? b : a }')
    echo "  $who $key: ${s}s (closing PUT ${COMMIT}s)" >&2
  else
    echo "  $who $key: ${s}s" >&2
  fi
}

LOADS=()
set_no=0
for round in $(seq 1 "$ROUNDS"); do
  LOADS+=("$(cut -d' ' -f1 /proc/loadavg)")
  if [ $((round % 2)) = 1 ]; then order=(registry outpost); else order=(outpost registry); fi
  echo "round $round (load ${LOADS[-1]}), ${order[*]}" >&2
  for way in mono chunked; do
    for f in big mid; do
      for who in "${order[@]}"; do measure "$who" "$f-$way" push_blob "$who" "$f" "$way"; done
    done
  done
  for who in "${order[@]}"; do measure "$who" images push_images "$who" "$set_no"; set_no=$((set_no + 1)); done
done
for who in registry outpost; do R[$who,rss]=$(peak_rss_mb "${PID[$who]}"); done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

HZ=$(getconf CLK_TCK)
mbps() { awk -v m="$1" -v s="$2" 'BEGIN { printf "%.0f", m * 1048576 / s / 1e6 }'; }
# cpu_per_gib WHO FILE → CPU seconds per GiB over every upload of FILE (both ways)
cpu_per_gib() {
  awk -v a="${R[$1,$2-mono,cpu]}" -v b="${R[$1,$2-chunked,cpu]}" -v n="$((R[$1,$2-mono,n] + R[$1,$2-chunked,n]))" \
    -v m="$3" -v hz="$HZ" 'BEGIN { printf "%.2f", (a + b) / hz / (n * m / 1024) }'
}
row_blob() { # label file way MiB
  local r o
  r=$(mbps "$4" "${R[registry,$2-$3]}") o=$(mbps "$4" "${R[outpost,$2-$3]}")
  echo "| $1 | $r | $o | $(ratio "$o" "$r") |"
}
ips() { awk -v n="$IMAGES" -v s="$1" 'BEGIN { printf "%.1f", n / s }'; }
ms_per_image() { awk -v t="${R[$1,images,cpu]}" -v n="$((R[$1,images,n] * IMAGES))" -v hz="$HZ" 'BEGIN { printf "%.0f", t / hz / n * 1000 }'; }
ri=$(ips "${R[registry,images]}") oi=$(ips "${R[outpost,images]}")

cat <<TABLE
Push benchmark, $(date -u +%Y-%m-%d), $(nproc) cores, loopback, $(node --version), docker-registry $(docker-registry --version | awk '{ print $3 }'), skopeo $(skopeo --version | awk '{ print $3 }'); best of $ROUNDS rounds.
Load average (1 min) before each round: ${LOADS[*]}; at the end: $load_end.

| measure | docker-registry | Outpost | Outpost / registry |
| --- | ---: | ---: | ---: |
$(row_blob "$BIG_MIB MiB blob, monolithic PUT, MB/s" big mono "$BIG_MIB")
$(row_blob "$BIG_MIB MiB blob, 8 MiB PATCH chunks, MB/s" big chunked "$BIG_MIB")
$(row_blob "$MID_MIB MiB blob, monolithic PUT, MB/s" mid mono "$MID_MIB")
$(row_blob "$MID_MIB MiB blob, 8 MiB PATCH chunks, MB/s" mid chunked "$MID_MIB")
| $IMAGES small images, \`skopeo copy --all\` one by one, images/s | $ri | $oi | $(ratio "$oi" "$ri") |
| closing PUT of the chunked $BIG_MIB MiB upload, s (lower is better) | ${R[registry,big-chunked,commit]} | ${R[outpost,big-chunked,commit]} | |
| server CPU s per GiB, $BIG_MIB MiB uploads (lower is better) | $(cpu_per_gib registry big "$BIG_MIB") | $(cpu_per_gib outpost big "$BIG_MIB") | |
| server CPU s per GiB, $MID_MIB MiB uploads (lower is better) | $(cpu_per_gib registry mid "$MID_MIB") | $(cpu_per_gib outpost mid "$MID_MIB") | |
| server CPU ms per image, skopeo (lower is better) | $(ms_per_image registry) | $(ms_per_image outpost) | |
| RSS after start, MiB | ${R[registry,rss0]} | ${R[outpost,rss0]} | |
| peak RSS (VmHWM) over the run, MiB | ${R[registry,rss]} | ${R[outpost,rss]} | |
TABLE
