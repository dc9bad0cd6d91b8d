#!/bin/sh
# Outpost node set-up, served by @@OUTPOST_SERVED_URL@@/setup/bootstrap.sh
#
# Trusts Outpost's CA, writes containerd's certs.d (and CRI-O/podman and Docker
# registry settings where they are installed), the apt or yum sources for
# Outpost's package trees (and disables the distribution's repositories, which
# an air-gapped node cannot reach), points chrony (or systemd-timesyncd) at
# Outpost, and adds the registry domain to /etc/hosts; restarts only what
# changed; then checks in at Outpost. Everything it fetches comes from Outpost:
# nothing reaches the internet. Running it again changes nothing unless
# Outpost's set-up changed.
#
# Every file it changes is first kept as it was under /var/lib/outpost-node/,
# and every file it adds is recorded there: --undo puts each original back byte
# for byte and removes the rest (CA files included), and the record with it.
#
#   curl -fsSL @@OUTPOST_SERVED_URL@@/setup/bootstrap.sh | sh
#   curl -fsSL @@OUTPOST_SERVED_URL@@/setup/bootstrap.sh | sh -s -- --dry-run
#   curl -fsSL @@OUTPOST_SERVED_URL@@/setup/bootstrap.sh | sh -s -- --undo
#
# Options:
#   --dry-run            print what would change (each file once); write, restart and send nothing
#   --root DIR           write everything under DIR (image builds, tests); restart nothing and
#                        do not check in (unless --checkin)
#   --undo               put back every file it changed, remove every file it added and the
#                        node token, and update or restart what that touches
#   --keep-repos         leave the distribution's package repositories enabled
#   --role GROUPS        kubespray groups for this node, e.g. kube_control_plane,etcd
#   --label KEY=VALUE    a label sent with the check-in (repeatable)
#   --hostname NAME      the name to check in with (default: this host's name)
#   --join-token TOKEN   the join token Outpost asks new nodes for (nodes.enrollment: token)
#   --checkin            check in, even with --root
#   --no-checkin         do not check in
# Environment:
#   OUTPOST_URL          the Outpost to use (default: the one that served this script)
#   OUTPOST_JOIN_TOKEN   as --join-token
# Exit status: 0 done; 1 an error; 2 set up, but the check-in failed; 3 set up, but
# this host name is enrolled at Outpost by another machine (not checked in).
#
# The first check-in returns this node's token, kept in /etc/outpost/node-token
# (0600) and sent with every later check-in: Outpost changes an enrolled node
# only for the machine that holds it.
#
# In Outpost's source (src/nodes/setup/bootstrap.sh) the values below are
# @@…@@ placeholders, filled in when Outpost serves the script.

OUTPOST_SERVED_URL='@@OUTPOST_SERVED_URL@@'
REGISTRY_DOMAINS='@@REGISTRY_DOMAINS@@'
NTP_PORT='@@NTP_PORT@@'
# SHA-256 fingerprints of the CAs Outpost used before (outpost certs rotate-ca).
OLD_CA_FINGERPRINTS='@@OLD_CA_FINGERPRINTS@@'
# kind url destination os version arch ("-": chosen by OS family; "*": any)
MANIFEST='
@@MANIFEST@@
'

# What this script changed: ledger lines "ACTION KIND PATH" (add: a file it
# added; orig: a file it changed, kept under orig/; dir: a folder it made;
# ca: the fingerprint of a CA it installed), and the originals.
STATE_DIR=/var/lib/outpost-node
TOKEN_FILE=/etc/outpost/node-token
MARK=' # added by Outpost'
TRUST_DIRS='/usr/local/share/ca-certificates /etc/pki/ca-trust/source /etc/pki/trust/anchors /etc/containerd/certs.d /etc/docker/certs.d'

say() { printf '%s\n' "$*"; }
note() { printf '  %s\n' "$*"; }
warn() { printf 'outpost: warning: %s\n' "$*" >&2; WARNINGS=$((WARNINGS + 1)); }
die() { printf 'outpost: %s\n' "$*" >&2; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }

usage() {
  say 'usage: sh bootstrap.sh [--dry-run] [--root DIR] [--undo] [--keep-repos] [--role GROUPS]'
  say '                       [--label KEY=VALUE]... [--hostname NAME] [--join-token TOKEN]'
  say '                       [--checkin | --no-checkin]'
  say "Applies Outpost's node set-up from \$OUTPOST_URL (default $OUTPOST_SERVED_URL) and checks in;"
  say "--undo puts back every file it changed."
}

parse_args() {
  while [ $# -gt 0 ]; do
    case $1 in
      --dry-run) DRY_RUN=1 ;;
      --root) [ $# -ge 2 ] || die '--root needs a directory'; ROOT=$2; ROOT_SET=1; shift ;;
      --root=*) ROOT=${1#*=}; ROOT_SET=1 ;;
      --undo) UNDO=1 ;;
      --keep-repos) KEEP_REPOS=1 ;;
      --hostname) [ $# -ge 2 ] || die '--hostname needs a name'; NODE_NAME=$2; shift ;;
      --hostname=*) NODE_NAME=${1#*=} ;;
      --role) [ $# -ge 2 ] || die '--role needs groups'; add_label "role=$2"; shift ;;
      --role=*) add_label "role=${1#*=}" ;;
      --label) [ $# -ge 2 ] || die '--label needs KEY=VALUE'; add_label "$2"; shift ;;
      --label=*) add_label "${1#*=}" ;;
      --join-token) [ $# -ge 2 ] || die '--join-token needs a token'; JOIN_TOKEN=$2; shift ;;
      --join-token=*) JOIN_TOKEN=${1#*=} ;;
      --checkin) CHECKIN=1 ;;
      --no-checkin) CHECKIN=0 ;;
      -h|--help) usage; exit 0 ;;
      *) usage >&2; die "unknown option: $1" ;;
    esac
    shift
  done
  if [ -n "$ROOT_SET" ]; then
    [ -n "$ROOT" ] || die '--root needs a directory'
    case $ROOT in /*) ;; *) ROOT=$PWD/$ROOT ;; esac
    if [ "$DRY_RUN" = 0 ]; then mkdir -p "$ROOT" || die "--root $ROOT: cannot create it"; fi
    if [ -d "$ROOT" ]; then ROOT=$(cd "$ROOT" && pwd); fi
    ROOT=${ROOT%/}
    # A tree for another machine: this one does not check in for it unless asked to.
    [ -n "$CHECKIN" ] || CHECKIN=0
  fi
  [ -n "$CHECKIN" ] || CHECKIN=1
  if [ -n "$JOIN_TOKEN" ] && ! token_ok "$JOIN_TOKEN"; then die 'the join token may hold only letters, digits and . _ ~ + / = -'; fi
}

token_ok() {
  case $1 in
    ''|*[!A-Za-z0-9._~+/=-]*) return 1 ;;
  esac
  [ ${#1} -le 512 ]
}

add_label() {
  case $1 in
    *=*) ;;
    *) die "label $1: expected KEY=VALUE" ;;
  esac
  LABELS="$LABELS${LABELS:+,}$(js "${1%%=*}"):$(js "${1#*=}")"
}

# A JSON string: control characters dropped, backslash and quote escaped.
js() { printf '"%s"' "$(printf '%s' "$1" | tr -d '\000-\037' | sed 's/[\\"]/\\&/g')"; }

# ,"name":"value" when value is not empty.
field() { if [ -n "$2" ]; then printf ',"%s":%s' "$1" "$(js "$2")"; fi; }

# The value of a string field in a one-object JSON reply (no escaped quotes in it).
json_string() { sed -n "s/.*\"$1\" *: *\"\\([^\"]*\\)\".*/\\1/p" "$2" 2>/dev/null | head -n 1; }

osr() { sed -n "s/^$1=//p" "$OS_RELEASE" 2>/dev/null | head -n 1 | tr -d "\"'"; }

detect_os() {
  OS_RELEASE=$ROOT/etc/os-release
  [ -r "$OS_RELEASE" ] || OS_RELEASE=$ROOT/usr/lib/os-release
  [ -r "$OS_RELEASE" ] || OS_RELEASE=/etc/os-release
  OS_ID=$(osr ID); OS_ID_LIKE=$(osr ID_LIKE); OS_VERSION=$(osr VERSION_ID); OS_PRETTY=$(osr PRETTY_NAME)
  OS_CODENAME=$(osr VERSION_CODENAME)
  [ -n "$OS_CODENAME" ] || OS_CODENAME=$(osr UBUNTU_CODENAME)
  FAMILY=unknown
  for fam_id in $OS_ID $OS_ID_LIKE; do
    case $fam_id in
      debian|ubuntu) FAMILY=debian ;;
      rhel|centos|fedora|rocky|almalinux|ol|amzn|anolis|openeuler|kylin) FAMILY=rhel ;;
      suse|opensuse|opensuse-*|sles|sled) FAMILY=suse ;;
      alpine) FAMILY=alpine ;;
      *) continue ;;
    esac
    break
  done
  case $FAMILY in
    debian|alpine) CA_STORE=/usr/local/share/ca-certificates/outpost-ca.crt; CA_UPDATE=update-ca-certificates ;;
    rhel) CA_STORE=/etc/pki/ca-trust/source/anchors/outpost-ca.crt; CA_UPDATE='update-ca-trust extract' ;;
    suse) CA_STORE=/etc/pki/trust/anchors/outpost-ca.crt; CA_UPDATE=update-ca-certificates ;;
    *) CA_STORE=''; CA_UPDATE='' ;;
  esac
  CHRONY_CONF=/etc/chrony.conf
  [ "$FAMILY" != debian ] || CHRONY_CONF=/etc/chrony/chrony.conf
  MACHINE=$(uname -m)
  case $MACHINE in
    amd64) MACHINE=x86_64 ;;
    arm64) MACHINE=aarch64 ;;
  esac
  case $MACHINE in
    x86_64) NODE_ARCH=amd64 ;;
    aarch64) NODE_ARCH=arm64 ;;
    *) NODE_ARCH=$MACHINE ;;
  esac
}

locate_outpost() {
  OUTPOST_URL=${OUTPOST_URL:-$OUTPOST_SERVED_URL}
  OUTPOST_URL=${OUTPOST_URL%/}
  case $OUTPOST_URL in
    http://*|https://*) ;;
    *) die "OUTPOST_URL=$OUTPOST_URL: expected http://HOST[:PORT]" ;;
  esac
  op_hp=${OUTPOST_URL#*://}
  op_hp=${op_hp%%/*}
  case $op_hp in
    \[*) OUTPOST_HOST=${op_hp#\[}; OUTPOST_HOST=${OUTPOST_HOST%%]*} ;;
    *) OUTPOST_HOST=${op_hp%%:*} ;;
  esac
  case $OUTPOST_HOST in
    *:*) OUTPOST_IP=$OUTPOST_HOST ;;
    *[!0-9.]*) OUTPOST_IP=$( (getent ahostsv4 "$OUTPOST_HOST" || getent hosts "$OUTPOST_HOST") 2>/dev/null | awk 'NR == 1 { print $1 }') ;;
    *) OUTPOST_IP=$OUTPOST_HOST ;;
  esac
}

fetch() {
  if have curl; then
    curl -fsS --noproxy '*' --max-time 60 -o "$2" "$OUTPOST_URL$1" </dev/null
  elif have wget; then
    wget -q --no-proxy -T 60 -O "$2" "$OUTPOST_URL$1" </dev/null
  else
    die 'neither curl nor wget is installed'
  fi
}

# Which kinds of file this node takes.
wanted() {
  case $1 in
    ca-trust) [ -n "$CA_STORE" ] ;;
    containerd|containerd-ca) return 0 ;;
    containers) [ -d "$ROOT/etc/containers" ] ;;
    docker|docker-ca) [ -d "$ROOT/etc/docker" ] || { [ -z "$ROOT_SET" ] && have dockerd; } ;;
    yum) [ "$FAMILY" = rhel ] ;;
    apt|apt-key) [ "$FAMILY" = debian ] ;;
    chrony) [ -n "$ROOT_SET" ] || have chronyd ;;
    timesyncd)
      [ -n "$ROOT_SET" ] && return 0
      ! have chronyd && { [ -x /lib/systemd/systemd-timesyncd ] || [ -x /usr/lib/systemd/systemd-timesyncd ]; } ;;
    *) return 1 ;;
  esac
}

EL_IDS=' rhel centos rocky almalinux ol anolis circle navy eurolinux cloudlinux '

os_matches() {
  [ "$1" = '*' ] && return 0
  [ "$1" = "$OS_ID" ] && return 0
  [ "$1" = fedora ] && return 1
  for om_id in $OS_ID_LIKE; do [ "$om_id" = "$1" ] && return 0; done
  case $EL_IDS in *" $1 "*) case $EL_IDS in *" $OS_ID "*) return 0 ;; esac ;; esac
  return 1
}

version_matches() {
  [ "$2" = '*' ] && return 0
  case $1 in
    apt|apt-key) [ "$2" = "$OS_CODENAME" ] ;;
    *) [ "$2" = "${OS_VERSION%%.*}" ] ;;
  esac
}

arch_matches() { [ "$1" = '*' ] || [ "$1" = "$MACHINE" ]; }

changed() { case " $CHANGED " in *" $1 "*) return 0 ;; esac; return 1; }
mark_changed() { changed "$1" || CHANGED="$CHANGED $1"; }

# --- The record of what was changed ------------------------------------------

# The paths recorded with ACTION.
ledger_paths() {
  if [ -f "$LEDGER" ]; then sed -n "s/^$1 [^ ]* //p" "$LEDGER"; fi
}
recorded() { ledger_paths "$1" | grep -Fxq -- "$2"; }
known() { recorded add "$1" || recorded orig "$1"; }
ledger() { printf '%s %s %s\n' "$1" "$2" "$3" >>"$LEDGER"; }

# The state folder, made once (0700), its own new parent folders recorded too.
ensure_state() {
  [ -d "$ROOT$STATE_DIR" ] && return 0
  es_new=''
  es_p=$STATE_DIR
  while [ "$es_p" != / ] && [ ! -d "$ROOT$es_p" ]; do
    es_new="$es_p $es_new"
    es_p=$(dirname "$es_p")
  done
  mkdir -p "$ROOT$STATE_DIR/orig"
  chmod 0700 "$ROOT$STATE_DIR" "$ROOT$STATE_DIR/orig"
  for es_d in $es_new; do ledger dir - "$es_d"; done
}

# make_dir DIR: makes a folder on the node and its missing parents, recording each.
make_dir() {
  md_new=''
  md_p=$1
  while [ -n "$md_p" ] && [ "$md_p" != / ] && [ "$md_p" != . ] && [ ! -d "$ROOT$md_p" ]; do
    md_new="$md_p
$md_new"
    md_p=$(dirname "$md_p")
  done
  [ -n "$md_new" ] || return 0
  ensure_state
  printf '%s' "$md_new" >"$STAGE/new-dirs"
  while IFS= read -r md_d; do
    [ -n "$md_d" ] || continue
    mkdir "$ROOT$md_d"
    ledger dir - "$md_d"
  done <"$STAGE/new-dirs"
}

# remember KIND PATH: before Outpost first changes a file, keeps it as it is
# (or records that there was none).
remember() {
  known "$2" && return 0
  ensure_state
  if [ -e "$ROOT$2" ] || [ -L "$ROOT$2" ]; then
    mkdir -p "$ROOT$STATE_DIR/orig$(dirname "$2")"
    cp -Pp "$ROOT$2" "$ROOT$STATE_DIR/orig$2"
    ledger orig "$1" "$2"
    note "kept       the original of $2 (--undo puts it back)"
  else
    ledger add "$1" "$2"
  fi
}

# An earlier bootstrap.sh kept originals as FILE.outpost-orig beside them, where
# a trust store or apt would still read them: such a file becomes the record's
# original. (One that is an earlier Outpost CA is left to retire_old_cas.)
adopt_legacy() {
  ao_old=$ROOT$2.outpost-orig
  if [ ! -f "$ao_old" ] || known "$2" || is_outpost_ca "$ao_old"; then return 0; fi
  ensure_state
  mkdir -p "$ROOT$STATE_DIR/orig$(dirname "$2")"
  mv -f "$ao_old" "$ROOT$STATE_DIR/orig$2"
  ledger orig "$1" "$2"
  note "moved      $2.outpost-orig into $STATE_DIR: --undo puts it back as $2"
}

# The file to derive PATH from: what is there now, or the original an earlier
# run kept beside it; nothing when the file is Outpost's own.
base_of() {
  if recorded add "$1"; then return 0; fi
  if ! known "$1" && [ -f "$ROOT$1.outpost-orig" ]; then printf '%s' "$ROOT$1.outpost-orig"; return 0; fi
  if [ -f "$ROOT$1" ]; then printf '%s' "$ROOT$1"; fi
  return 0
}

# Each path is handled once per run (an apt key serves several suites).
first_time() {
  if grep -Fxq -- "$1" "$STAGE/done" 2>/dev/null; then return 1; fi
  printf '%s\n' "$1" >>"$STAGE/done"
}

# --- Writing and removing files ----------------------------------------------

# install_file SRC DEST: replaces DEST whole (its mode and owner kept), or makes it 0644.
install_file() {
  if [ -f "$2" ]; then
    cp -p "$2" "$2.outpost-new"
    cat "$1" >"$2.outpost-new"
  else
    cp "$1" "$2.outpost-new"
    chmod 0644 "$2.outpost-new"
  fi
  # A bind-mounted file (/etc/hosts in a container) cannot be renamed over: write through it.
  if ! mv -f "$2.outpost-new" "$2" 2>/dev/null; then
    cat "$2.outpost-new" >"$2"
    rm -f "$2.outpost-new"
  fi
}

# In a dry run each content is printed once; a file with the same content again names the first.
show_new() {
  sn_sum=$(cksum <"$1" | awk '{ print $1 "-" $2 }')
  sn_first=$(sed -n "s|^$sn_sum ||p" "$STAGE/shown" 2>/dev/null | head -n 1)
  if [ -n "$sn_first" ]; then
    note "would write $2 (the same as $sn_first)"
    return 0
  fi
  printf '%s %s\n' "$sn_sum" "$2" >>"$STAGE/shown"
  note "would write $2"
  sed 's/^/      + /' "$1"
}

# put SRC DEST KIND: installs SRC as $ROOT$DEST when the content differs.
put() {
  put_dest=$ROOT$2
  first_time "$2" || return 0
  if [ -f "$put_dest" ] && cmp -s "$1" "$put_dest"; then
    note "unchanged  $2"
    UNCHANGED=$((UNCHANGED + 1))
    return 0
  fi
  WRITTEN=$((WRITTEN + 1))
  mark_changed "$3"
  if [ "$DRY_RUN" = 1 ]; then
    if [ -f "$put_dest" ] && have diff; then
      note "would write $2"
      diff -u "$put_dest" "$1" | sed 's/^/      /' || true
    else
      show_new "$1" "$2"
    fi
    return 0
  fi
  adopt_legacy "$3" "$2"
  remember "$3" "$2"
  make_dir "$(dirname "$2")"
  install_file "$1" "$put_dest"
  note "wrote      $2"
}

# drop PATH KIND WHY: removes a file, kept first unless Outpost added it.
drop() {
  first_time "$1" || return 0
  [ -e "$ROOT$1" ] || [ -L "$ROOT$1" ] || return 0
  mark_changed "$2"
  REMOVED=$((REMOVED + 1))
  if [ "$DRY_RUN" = 1 ]; then note "would remove $1 ($3)"; return 0; fi
  remember "$2" "$1"
  rm -f "$ROOT$1"
  note "removed    $1 ($3)"
}

# --- Package sources, chrony, CAs, /etc/hosts ---------------------------------

apply_manifest() {
  # Another Outpost than the one that served this script: its own list of files.
  if [ "$OUTPOST_URL" != "$OUTPOST_SERVED_URL" ]; then
    fetch /setup/manifest.txt "$STAGE/manifest" || die "cannot fetch $OUTPOST_URL/setup/manifest.txt"
    MANIFEST=$(grep -v '^#' "$STAGE/manifest" || true)
    REGISTRY_DOMAINS=$(sed -n 's/^# domains: //p' "$STAGE/manifest")
    OLD_CA_FINGERPRINTS=$(sed -n 's/^# old-ca-sha256: //p' "$STAGE/manifest")
  fi
  printf '%s\n' "$MANIFEST" >"$STAGE/manifest"
  while read -r m_kind m_url m_dest m_os m_version m_arch <&3; do
    [ -n "$m_kind" ] || continue
    wanted "$m_kind" || continue
    if ! os_matches "$m_os" || ! version_matches "$m_kind" "$m_version" || ! arch_matches "$m_arch"; then continue; fi
    if [ "$m_dest" = - ]; then
      case $m_kind in
        ca-trust) m_dest=$CA_STORE ;;
        chrony) m_dest=$CHRONY_CONF ;;
        *) continue ;;
      esac
    fi
    case $m_kind in yum|apt) SOURCES=$((SOURCES + 1)) ;; esac
    if grep -Fxq -- "$m_dest" "$STAGE/done" 2>/dev/null; then continue; fi
    fetch "$m_url" "$STAGE/file" || die "cannot fetch $OUTPOST_URL$m_url"
    case $m_kind in
      docker)
        if [ -f "$ROOT$m_dest" ] && ! cmp -s "$STAGE/file" "$ROOT$m_dest"; then
          note "kept       $m_dest (yours): merge in $(tr -d '\n' <"$STAGE/file" | tr -s ' ')"
          first_time "$m_dest" || true
          continue
        fi ;;
      chrony) setup_chrony "$STAGE/file"; continue ;;
      ca-trust|containerd-ca|docker-ca) [ -n "$CA_SHA256" ] || CA_SHA256=$(cert_sha256 "$STAGE/file") ;;
    esac
    put "$STAGE/file" "$m_dest" "$m_kind"
    case $m_kind in ca-trust|containerd-ca|docker-ca) record_ca ;; esac
  done 3<"$STAGE/manifest"
}

# chrony: the distribution's chrony.conf stays, its pool/server/peer lines
# commented out; Outpost's server line goes into its confdir when it has one,
# else at the end between markers. A node without chrony.conf gets Outpost's.
setup_chrony() {
  sc_base=$(base_of "$CHRONY_CONF")
  if [ -z "$sc_base" ]; then put "$1" "$CHRONY_CONF" chrony; return 0; fi
  awk '
    /^# >>> Outpost/ { skip = 1; next }
    /^# <<< Outpost/ { skip = 0; next }
    skip { next }
    $1 == "pool" || $1 == "server" || $1 == "peer" { print "#(off: Outpost) " $0; next }
    { print }
  ' "$sc_base" >"$STAGE/chrony.main"
  grep -E '^(server|pool) ' "$1" >"$STAGE/chrony.sources" || true
  if ! grep -Eq '^[[:space:]]*makestep[[:space:]]' "$STAGE/chrony.main"; then
    grep -E '^makestep ' "$1" >>"$STAGE/chrony.sources" || true
  fi
  sc_confdir=$(awk '$1 == "confdir" { print $2; exit }' "$STAGE/chrony.main")
  case $sc_confdir in /*) ;; *) sc_confdir='' ;; esac
  if [ -n "$sc_confdir" ]; then
    {
      printf '# %s/outpost.conf, from Outpost (%s/setup/): keep time from the bootstrap node.\n' "$sc_confdir" "$OUTPOST_URL"
      printf '# bootstrap.sh commented out the pool and server lines of %s; --undo restores both.\n' "$CHRONY_CONF"
      cat "$STAGE/chrony.sources"
    } >"$STAGE/chrony.dropin"
    put "$STAGE/chrony.main" "$CHRONY_CONF" chrony
    put "$STAGE/chrony.dropin" "$sc_confdir/outpost.conf" chrony
  else
    {
      cat "$STAGE/chrony.main"
      printf '# >>> Outpost (%s/setup/): keep time from the bootstrap node; bootstrap.sh --undo restores this file.\n' "$OUTPOST_URL"
      cat "$STAGE/chrony.sources"
      printf '# <<< Outpost\n'
    } >"$STAGE/chrony.merged"
    put "$STAGE/chrony.merged" "$CHRONY_CONF" chrony
  fi
}

# An awk function: true when a line names a URL on a host other than Outpost's
# (file: and cdrom: sources, which name no host, are local).
REMOTE_AWK='
function remote(line,   url, host) {
  while (match(line, /[A-Za-z][A-Za-z0-9+.-]*:\/\/[^ \t,]*/)) {
    url = substr(line, RSTART, RLENGTH)
    line = substr(line, RSTART + RLENGTH)
    if (url ~ /^file:/) continue
    host = url
    sub(/^[^:]*:\/\//, "", host)
    sub(/[\/?#].*$/, "", host)
    sub(/^.*@/, "", host)
    if (host ~ /^\[/) { sub(/\].*$/, "", host); sub(/^\[/, "", host) } else sub(/:.*$/, "", host)
    if (index(hosts, " " tolower(host) " ") == 0) return 1
  }
  return 0
}'

# yum: every section with a baseurl, mirrorlist or metalink on another host gets enabled=0.
# shellcheck disable=SC2016 # an awk program: its $ are awk's
YUM_AWK='
function flush(   i, off, done) {
  off = sect && rem && !already
  for (i = 1; i <= n; i++) {
    if (off && buf[i] ~ /^[ \t]*enabled[ \t]*=/) { if (!done) print "enabled=0"; done = 1; continue }
    print buf[i]
    if (off && i == 1 && !hasenabled) { print "enabled=0"; done = 1 }
  }
  n = 0; rem = 0; already = 0; hasenabled = 0; inurl = 0
}
/^[ \t]*\[/ { flush(); sect = 1 }
{ buf[++n] = $0 }
/^[ \t]*[#;]/ { next }
/^[ \t]*(baseurl|mirrorlist|metalink)[ \t]*=/ { inurl = 1; if (remote($0)) rem = 1; next }
/^[ \t]+[^ \t]/ { if (inurl && remote($0)) rem = 1; next }
{ inurl = 0 }
/^[ \t]*enabled[ \t]*=/ {
  hasenabled = 1
  v = $0; sub(/^[^=]*=[ \t]*/, "", v); sub(/[ \t\r]*$/, "", v)
  if (tolower(v) ~ /^(0|false|no|off)$/) already = 1
}
END { flush() }'

# apt one-line sources: deb lines on another host are commented out.
# shellcheck disable=SC2016 # an awk program: its $ are awk's
APT_LIST_AWK='
/^[ \t]*deb(-src)?[ \t]/ { if (remote($0)) { print "# (off: Outpost) " $0; next } }
{ print }'

# apt deb822 sources: each stanza whose URIs are on another host gets "Enabled: no".
# shellcheck disable=SC2016 # an awk program: its $ are awk's
APT_SOURCES_AWK='
function flush(   i, off, done) {
  off = rem && !already
  for (i = 1; i <= n; i++) {
    if (off && buf[i] ~ /^Enabled:/) { if (!done) print "Enabled: no"; done = 1; continue }
    print buf[i]
  }
  if (off && !done) print "Enabled: no"
  n = 0; rem = 0; already = 0; inurl = 0
}
/^[ \t]*$/ { flush(); print; next }
{ buf[++n] = $0 }
/^#/ { next }
/^URIs:/ { inurl = 1; if (remote($0)) rem = 1; next }
/^[ \t]/ { if (inurl && remote($0)) rem = 1; next }
{ inurl = 0 }
/^Enabled:/ { v = tolower($2); if (v == "no" || v == "false") already = 1 }
END { flush() }'

# disable_file AWK PATH: rewrites one repository file of the node with AWK.
disable_file() {
  df_base=$(base_of "$2")
  [ -n "$df_base" ] || return 0
  awk -v hosts=" $REPO_HOSTS " "$REMOTE_AWK$1" "$df_base" >"$STAGE/repo"
  put "$STAGE/repo" "$2" repos
}

# The distribution's repositories (and any other not on Outpost or local)
# cannot be reached from an air-gapped node, and the package manager fails on
# them: they are disabled, their files kept for --undo.
disable_repos() {
  case $FAMILY in rhel|debian) ;; *) return 0 ;; esac
  if [ "$KEEP_REPOS" = 1 ]; then note "kept the distribution's repositories enabled (--keep-repos)"; return 0; fi
  if [ "$SOURCES" = 0 ]; then
    note "kept the distribution's repositories enabled: Outpost serves no package tree for this node"
    return 0
  fi
  REPO_HOSTS=$(printf '%s %s' "$OUTPOST_HOST" "$REGISTRY_DOMAINS" | tr '[:upper:]' '[:lower:]')
  if [ "$FAMILY" = rhel ]; then
    for dr_f in "$ROOT"/etc/yum.repos.d/*.repo; do
      case ${dr_f##*/} in outpost-*|'*.repo') continue ;; esac
      disable_file "$YUM_AWK" "/etc/yum.repos.d/${dr_f##*/}"
    done
    return 0
  fi
  disable_file "$APT_LIST_AWK" /etc/apt/sources.list
  for dr_f in "$ROOT"/etc/apt/sources.list.d/*.list "$ROOT"/etc/apt/sources.list.d/*.sources; do
    case ${dr_f##*/} in outpost-*|'*.list'|'*.sources') continue ;; esac
    case $dr_f in
      *.list) disable_file "$APT_LIST_AWK" "/etc/apt/sources.list.d/${dr_f##*/}" ;;
      *) disable_file "$APT_SOURCES_AWK" "/etc/apt/sources.list.d/${dr_f##*/}" ;;
    esac
  done
}

# The SHA-256 fingerprint of the one certificate in a PEM file (of its DER);
# nothing when the file holds no certificate or several.
cert_sha256() {
  [ -f "$1" ] || return 0
  [ "$(grep -c -e '-----BEGIN CERTIFICATE-----' "$1" 2>/dev/null || true)" = 1 ] || return 0
  if ! have base64 || ! have sha256sum; then return 0; fi
  sed -n '/-----BEGIN CERTIFICATE-----/,/-----END CERTIFICATE-----/p' "$1" | sed '1d;$d' | tr -d ' \t\r\n' |
    base64 -d 2>/dev/null | sha256sum | awk '{ print $1 }'
}

# Outpost's CAs before this one: those Outpost names, and those this node was given.
old_ca_list() {
  for ocl_fp in $OLD_CA_FINGERPRINTS $(ledger_paths ca); do
    [ "$ocl_fp" = "$CA_SHA256" ] || printf ' %s' "$ocl_fp"
  done
  printf ' '
}

is_outpost_ca() {
  ioc_fp=$(cert_sha256 "$1")
  if [ -z "$ioc_fp" ] || [ "$ioc_fp" = "$CA_SHA256" ]; then return 1; fi
  case $(old_ca_list) in *" $ioc_fp "*) return 0 ;; esac
  return 1
}

record_ca() {
  if [ "$DRY_RUN" = 1 ] || [ -z "$CA_SHA256" ]; then return 0; fi
  recorded ca "$CA_SHA256" || ledger ca sha256 "$CA_SHA256"
}

# Copies of Outpost's earlier CAs, whatever they are called, leave every trust store.
retire_old_cas() {
  case $(old_ca_list) in *[0-9a-f]*) ;; *) return 0 ;; esac
  for rc_dir in $TRUST_DIRS; do
    [ -d "$ROOT$rc_dir" ] || continue
    # Only files holding a PEM certificate are looked at closer.
    find "$ROOT$rc_dir" -type f -exec grep -l -e '-----BEGIN CERTIFICATE-----' {} + 2>/dev/null >"$STAGE/ca-files" || true
    while IFS= read -r rc_f; do
      is_outpost_ca "$rc_f" || continue
      case $rc_dir in
        /etc/containerd/*) rc_kind=containerd-ca ;;
        /etc/docker/*) rc_kind=docker-ca ;;
        *) rc_kind=ca-trust ;;
      esac
      drop "${rc_f#"$ROOT"}" "$rc_kind" 'an earlier Outpost CA'
    done <"$STAGE/ca-files"
  done
}

# Files an earlier run added that Outpost no longer hands out (a tree or registry gone).
# Package sources go only while Outpost lists some tree for this node: a server
# whose trees are not checked yet (just started) lists none, and must not empty the node's.
prune() {
  ledger_paths add >"$STAGE/added"
  while IFS= read -r pr_path; do
    case $pr_path in
      /etc/containerd/certs.d/*|/etc/docker/certs.d/*) ;;
      /etc/yum.repos.d/outpost-*|/etc/apt/sources.list.d/outpost-*|/etc/apt/keyrings/outpost-*) [ "$SOURCES" -gt 0 ] || continue ;;
      *) continue ;;
    esac
    grep -Fxq -- "$pr_path" "$STAGE/done" 2>/dev/null && continue
    drop "$pr_path" setup 'Outpost no longer hands it out'
  done <"$STAGE/added"
}

write_hosts() {
  if [ -z "$OUTPOST_IP" ]; then
    warn "cannot resolve $OUTPOST_HOST: /etc/hosts left as it is"
    return 0
  fi
  : >"$STAGE/hosts.base"
  wh_base=$(base_of /etc/hosts)
  if [ -n "$wh_base" ]; then grep -v "$MARK\$" "$wh_base" >"$STAGE/hosts.base" || true; fi
  {
    # Many programs need localhost: a file without it gets it back.
    if ! awk '$1 !~ /^#/ { for (i = 2; i <= NF && $i !~ /^#/; i++) if ($i == "localhost") found = 1 } END { exit !found }' "$STAGE/hosts.base"; then
      printf '127.0.0.1 localhost%s\n::1 localhost%s\n' "$MARK" "$MARK"
    fi
    cat "$STAGE/hosts.base"
    printf '%s %s%s\n' "$OUTPOST_IP" "$REGISTRY_DOMAINS" "$MARK"
  } >"$STAGE/hosts"
  put "$STAGE/hosts" /etc/hosts hosts
}

# --- Applying the changes -----------------------------------------------------

# run_step DESCRIPTION COMMAND...: runs a command that applies a change, unless this is a dry run or --root.
run_step() {
  rs_what=$1
  shift
  if [ "$DRY_RUN" = 1 ]; then note "would run  $*"; return 0; fi
  if [ -n "$ROOT_SET" ]; then note "not run    $* (--root)"; return 0; fi
  if "$@" </dev/null >/dev/null 2>&1; then
    note "ran        $*"
    DONE_STEPS="$DONE_STEPS${DONE_STEPS:+, }$rs_what"
  else
    warn "$* failed"
  fi
}

# restart UNIT...: restarts the first of the units that exists.
restart() {
  if [ "$DRY_RUN" = 1 ] || [ -n "$ROOT_SET" ]; then run_step "restarted $1" systemctl restart "$1"; return 0; fi
  for r_unit in "$@"; do
    if have systemctl && systemctl cat "$r_unit.service" >/dev/null 2>&1; then
      run_step "restarted $r_unit" systemctl restart "$r_unit"
      return 0
    fi
    if have service && [ -e "/etc/init.d/$r_unit" ]; then
      run_step "restarted $r_unit" service "$r_unit" restart
      return 0
    fi
  done
  warn "restart $1 yourself: no systemctl or init script found"
}

apply_changes() {
  if changed ca-trust && [ -n "$CA_UPDATE" ]; then
    # shellcheck disable=SC2086 # CA_UPDATE may be a command with arguments
    run_step 'updated the CA trust store' $CA_UPDATE
  fi
  if changed chrony; then restart chronyd chrony; CHRONY_RESTARTED=1; fi
  if changed timesyncd; then restart systemd-timesyncd; fi
  if changed docker || changed docker-ca; then restart docker; fi
  if changed containers && [ -z "$ROOT_SET" ] && have crio; then run_step 'reloaded crio' systemctl reload crio; fi
  # containerd reads certs.d at every pull, apt and yum their sources at every run: nothing to restart.
}

check_containerd() {
  cc=$ROOT/etc/containerd/config.toml
  if [ -f "$cc" ]; then
    if ! grep -q 'config_path *= *"[^"]*/etc/containerd/certs.d' "$cc"; then
      warn "containerd reads certs.d only with config_path = \"/etc/containerd/certs.d\" under [plugins.\"io.containerd.grpc.v1.cri\".registry] in $cc (kubespray sets it)"
    fi
  elif [ -z "$ROOT_SET" ] && have containerd; then
    case $(containerd --version 2>/dev/null | awk '{ print $3 }') in
      v1.*|1.*) warn "containerd 1.x reads certs.d only with config_path set in /etc/containerd/config.toml (kubespray sets it)" ;;
    esac
  fi
}

# --- Undo ---------------------------------------------------------------------

# restore PATH: the kept original goes back, byte for byte, with its mode and owner.
restore() {
  rs_orig=$ROOT$STATE_DIR/orig$1
  rs_dest=$ROOT$1
  if [ ! -e "$rs_orig" ] && [ ! -L "$rs_orig" ]; then
    warn "the original of $1 is missing from $STATE_DIR/orig: left as it is"
    return 0
  fi
  if [ "$DRY_RUN" = 1 ]; then note "would put back $1"; return 0; fi
  mkdir -p "$(dirname "$rs_dest")"
  if [ -f "$rs_dest" ] && [ ! -L "$rs_dest" ] && [ ! -L "$rs_orig" ]; then
    # Written through the file in place: a bind-mounted /etc/hosts stays mounted.
    cp -p "$rs_orig" "$rs_dest"
  else
    rm -f "$rs_dest"
    cp -Pp "$rs_orig" "$rs_dest"
  fi
  note "put back   $1"
}

undo() {
  if [ ! -f "$LEDGER" ]; then
    say "outpost: nothing to undo: bootstrap.sh has changed nothing here (no $ROOT$STATE_DIR/ledger)"
    return 0
  fi
  if [ "$DRY_RUN" = 1 ]; then dry=' (dry run: nothing is changed)'; else dry=''; fi
  say "outpost: undoing Outpost's set-up${ROOT_SET:+ under $ROOT}$dry"
  cp "$LEDGER" "$STAGE/ledger"
  LEDGER=$STAGE/ledger
  un_removed=0 un_restored=0
  while read -r un_act un_kind un_path; do
    case $un_act in
      add)
        recorded orig "$un_path" && continue
        [ -e "$ROOT$un_path" ] || [ -L "$ROOT$un_path" ] || continue
        mark_changed "$un_kind"
        un_removed=$((un_removed + 1))
        if [ "$DRY_RUN" = 1 ]; then note "would remove $un_path"; continue; fi
        rm -f "$ROOT$un_path"
        note "removed    $un_path" ;;
      orig)
        mark_changed "$un_kind"
        un_restored=$((un_restored + 1))
        restore "$un_path" ;;
    esac
  done <"$STAGE/ledger"
  if [ "$DRY_RUN" = 1 ]; then
    note "would remove $STATE_DIR"
  else
    rm -rf "$ROOT${STATE_DIR:?}"
    # Folders it made, deepest first, where they are empty now.
    ledger_paths dir | sort -r >"$STAGE/dirs"
    while IFS= read -r un_dir; do
      if rmdir "$ROOT$un_dir" 2>/dev/null; then note "removed    $un_dir/"; fi
    done <"$STAGE/dirs"
  fi
  apply_changes
  if [ "$DRY_RUN" = 1 ]; then
    say "outpost: dry run: $un_restored file(s) would be put back, $un_removed removed"
  else
    say "outpost: undone: $un_restored file(s) put back, $un_removed removed; ${DONE_STEPS:-nothing restarted}"
  fi
}

# --- Check-in -----------------------------------------------------------------

node_facts() {
  if [ -z "$NODE_NAME" ]; then
    NODE_NAME=$(hostname 2>/dev/null || cat /proc/sys/kernel/hostname 2>/dev/null || true)
  fi
  NODE_NAME=$(printf '%s' "$NODE_NAME" | tr '[:upper:]' '[:lower:]')
  MACHINE_ID=$(cat "$ROOT/etc/machine-id" 2>/dev/null || cat /etc/machine-id 2>/dev/null || true)
  KERNEL=$(uname -r)
  RT_NAME=''
  RT_VERSION=''
  if have containerd; then
    RT_NAME=containerd; RT_VERSION=$(containerd --version 2>/dev/null | awk '{ print $3 }' | sed 's/^v//; s/~.*//')
  elif have crio; then
    RT_NAME=cri-o; RT_VERSION=$(crio --version 2>/dev/null | awk '/^[Vv]ersion/ { print $NF; exit }')
  elif have dockerd; then
    RT_NAME=docker; RT_VERSION=$(docker --version 2>/dev/null | sed -n 's/^Docker version \([^,]*\).*/\1/p')
  fi
  src_addr=''
  if have ip && [ -n "$OUTPOST_IP" ]; then
    src_addr=$(ip route get "$OUTPOST_IP" 2>/dev/null | sed -n 's/.* src \([^ ]*\).*/\1/p' | head -n 1)
  fi
  if have ip; then
    all_addrs=$(ip -o addr show scope global 2>/dev/null | awk '{ print $4 }' | sed 's#/.*##')
  else
    all_addrs=$(hostname -I 2>/dev/null || true)
  fi
  ADDRS=''
  for a in $src_addr $all_addrs; do
    case ",$ADDRS," in *",\"$a\","*) ;; *) ADDRS="$ADDRS${ADDRS:+,}\"$a\"" ;; esac
  done
}

ntp_offset() {
  NTP_OFFSET=''
  [ -z "$ROOT_SET" ] && have chronyc || return 0
  if [ "$CHRONY_RESTARTED" = 1 ]; then chronyc waitsync 10 0 0 1 </dev/null >/dev/null 2>&1 || true; fi
  # "System time : 0.000012 seconds fast of NTP time" is node − source: our sign.
  NTP_OFFSET=$(chronyc -n tracking </dev/null 2>/dev/null | awk '
    /^Reference ID/ { if ($4 == "00000000" || $4 == "7F7F0101") unsynced = 1 }
    /^System time/ { v = $4 * 1000; if ($6 == "slow") v = -v; seen = 1 }
    END { if (seen && !unsynced) printf "%.3f", v }')
}

# Keeps the token Outpost issued at enrolment: only this machine holds it.
store_token() {
  [ "$1" != "$NODE_TOKEN" ] || return 0
  ensure_state
  known "$TOKEN_FILE" || remember token "$TOKEN_FILE"
  if [ ! -d "$ROOT${TOKEN_FILE%/*}" ]; then
    make_dir "${TOKEN_FILE%/*}"
    chmod 0700 "$ROOT${TOKEN_FILE%/*}"
  fi
  (umask 077 && printf '%s\n' "$1" >"$ROOT$TOKEN_FILE.outpost-new")
  chmod 0600 "$ROOT$TOKEN_FILE.outpost-new"
  mv -f "$ROOT$TOKEN_FILE.outpost-new" "$ROOT$TOKEN_FILE"
  note "kept       this node's token in $TOKEN_FILE"
}

checkin() {
  if [ "$CHECKIN" = 0 ]; then
    if [ -n "$ROOT_SET" ]; then note "no check-in for a tree under --root (--checkin to check in all the same)"; fi
    return 0
  fi
  if [ "$DRY_RUN" = 1 ]; then note "would check in as $NODE_NAME"; return 0; fi
  ntp_offset
  NODE_TOKEN=$(head -n 1 "$ROOT$TOKEN_FILE" 2>/dev/null | tr -d ' \r' || true)
  if [ -n "$NODE_TOKEN" ] && ! token_ok "$NODE_TOKEN"; then
    warn "$TOKEN_FILE does not hold a token: not sent"
    NODE_TOKEN=''
  fi
  {
    printf '{"hostname":%s' "$(js "$NODE_NAME")"
    field machine_id "$MACHINE_ID"
    field machineId "$MACHINE_ID"
    printf ',"addresses":[%s]' "$ADDRS"
    printf ',"os":{"id":%s' "$(js "${OS_ID:-unknown}")"
    field version "$OS_VERSION"
    field name "$OS_PRETTY"
    printf '}'
    field arch "$NODE_ARCH"
    field kernel "$KERNEL"
    if [ -n "$RT_NAME" ]; then printf ',"runtime":{"name":%s' "$(js "$RT_NAME")"; field version "$RT_VERSION"; printf '}'; fi
    if [ -n "$NTP_OFFSET" ]; then printf ',"ntpOffsetMs":%s' "$NTP_OFFSET"; fi
    # No labels at all keeps the ones sent before: run again without --role, stay in the same groups.
    if [ -n "$LABELS" ]; then printf ',"labels":{%s}' "$LABELS"; fi
    # The clock last, just before sending: GNU date gives milliseconds, others seconds.
    clock_ms=$(date +%s%3N 2>/dev/null || true)
    case $clock_ms in
      ''|*[!0-9]*) printf ',"clockMs":%s,"clockPrecisionMs":1000}\n' "$(($(date +%s) * 1000))" ;;
      *) printf ',"clockMs":%s,"clockPrecisionMs":1}\n' "$clock_ms" ;;
    esac
  } >"$STAGE/checkin.json"
  # Tokens go in a file that only this script reads, never on a command line.
  {
    printf 'Content-Type: application/json\nAccept: application/json\n'
    if [ -n "$NODE_TOKEN" ]; then printf 'Outpost-Node-Token: %s\n' "$NODE_TOKEN"; fi
    if [ -n "$JOIN_TOKEN" ]; then printf 'Outpost-Join-Token: %s\n' "$JOIN_TOKEN"; fi
  } >"$STAGE/headers"
  ci_code=000
  if have curl; then
    sed 's/.*/header = "&"/' "$STAGE/headers" >"$STAGE/curl.conf"
    ci_code=$(curl -sS --noproxy '*' --max-time 30 -K "$STAGE/curl.conf" -o "$STAGE/checkin.out" -w '%{http_code}' \
      --data-binary "@$STAGE/checkin.json" "$OUTPOST_URL/nodes/checkin" </dev/null) || ci_code=000
  else
    sed 's/.*/header = &/' "$STAGE/headers" >"$STAGE/wgetrc"
    WGETRC=$STAGE/wgetrc wget -q -S --no-proxy -T 30 --content-on-error -O "$STAGE/checkin.out" \
      --post-file="$STAGE/checkin.json" "$OUTPOST_URL/nodes/checkin" </dev/null 2>"$STAGE/wget.err" || true
    ci_code=$(sed -n 's/^ *HTTP\/[0-9.]* \([0-9][0-9][0-9]\).*/\1/p' "$STAGE/wget.err" | tail -n 1)
    [ -n "$ci_code" ] || ci_code=000
  fi
  case $ci_code in
    200|201)
      note "checked in: $(json_string message "$STAGE/checkin.out")"
      CHECKED_IN=1
      ci_token=$(json_string token "$STAGE/checkin.out")
      if [ -n "$ci_token" ]; then
        if token_ok "$ci_token"; then store_token "$ci_token"; else warn "Outpost sent a token this script cannot keep"; fi
      fi ;;
    409)
      CONFLICT=1
      printf 'outpost: %s is enrolled at Outpost by another machine: not checked in (on Outpost, "outpost nodes forget %s" if this machine replaces it; else run again with --hostname)\n' \
        "$NODE_NAME" "$NODE_NAME" >&2 ;;
    *)
      ci_error=$(json_string error "$STAGE/checkin.out")
      [ -n "$ci_error" ] || ci_error=$(head -n 3 "$STAGE/checkin.out" 2>/dev/null || true)
      warn "check-in failed (HTTP $ci_code): $ci_error" ;;
  esac
}

main() {
  set -eu
  umask 022
  DRY_RUN=0 ROOT='' ROOT_SET='' UNDO=0 KEEP_REPOS=0 NODE_NAME='' LABELS='' CHECKIN='' CHECKED_IN=0 CONFLICT=0
  JOIN_TOKEN=${OUTPOST_JOIN_TOKEN:-} NODE_TOKEN='' CA_SHA256='' SOURCES=0 REPO_HOSTS=''
  WRITTEN=0 UNCHANGED=0 REMOVED=0 WARNINGS=0 CHANGED='' DONE_STEPS='' CHRONY_RESTARTED=0
  parse_args "$@"
  detect_os
  LEDGER=$ROOT$STATE_DIR/ledger
  if [ "$DRY_RUN" = 0 ] && [ -z "$ROOT_SET" ] && [ "$(id -u)" != 0 ]; then die 'run as root (or with --root DIR or --dry-run)'; fi
  STAGE=$(mktemp -d 2>/dev/null) || { STAGE=/tmp/outpost-setup.$$; mkdir -m 700 "$STAGE"; }
  trap 'rm -rf "$STAGE"' EXIT
  trap 'exit 130' INT TERM
  : >"$STAGE/done"
  if [ "$UNDO" = 1 ]; then undo; return 0; fi
  locate_outpost

  if [ "$DRY_RUN" = 1 ]; then dry=' (dry run: nothing is written, restarted or sent)'; else dry=''; fi
  say "outpost: setting up ${OS_PRETTY:-this node} ($FAMILY, $MACHINE) from $OUTPOST_URL${ROOT_SET:+ under $ROOT}$dry"
  apply_manifest
  disable_repos
  retire_old_cas
  prune
  write_hosts
  apply_changes
  check_containerd
  if [ -z "$NTP_PORT" ]; then note "time: Outpost serves no time (listen.ntp is off or could not bind)"; fi
  node_facts
  checkin
  if [ "$REMOVED" = 0 ]; then removed=''; else removed=" $REMOVED removed,"; fi
  if [ "$DRY_RUN" = 1 ]; then
    say "outpost: dry run: $WRITTEN file(s) would change,$removed $UNCHANGED unchanged"
  else
    say "outpost: done: $WRITTEN file(s) written,$removed $UNCHANGED unchanged; ${DONE_STEPS:-nothing restarted}"
  fi
  if [ "$CONFLICT" = 1 ]; then exit 3; fi
  if [ "$CHECKIN" = 1 ] && [ "$DRY_RUN" = 0 ] && [ "$CHECKED_IN" = 0 ]; then exit 2; fi
  return 0
}

main "$@"
