#!/bin/sh
# Installs Outpost from this unpacked offline release: no network, no Node needed.
#   ./install.sh                  install or upgrade: /opt/outpost, the link
#                                 /usr/local/bin/outpost, /etc/outpost/config.yaml
#                                 (only when absent) and, where systemd runs, the unit
#   ./install.sh --prefix DIR     the same under DIR (DIR/opt/outpost, DIR/etc/…);
#                                 writes nothing outside DIR and runs no systemctl
#   ./install.sh --uninstall      removes what the install wrote; keeps
#                                 /etc/outpost and the data (data_dir)
# Running it again does the same again: an upgrade is this script from the new
# release, then `systemctl restart outpost`.
set -eu
umask 022

usage() {
  cat <<'USAGE'
usage: install.sh [--prefix DIR] [--uninstall]
  (none)          install or upgrade Outpost in /opt/outpost, link /usr/local/bin/outpost,
                  write /etc/outpost/config.yaml when absent, install and enable the
                  systemd unit when systemd runs here
  --prefix DIR    install under DIR instead (for tests and image builds); no systemctl
  --uninstall     remove Outpost; /etc/outpost and the data are kept
USAGE
}

die() {
  printf 'install.sh: %s\n' "$*" >&2
  exit 1
}

say() {
  printf '  %-9s %s\n' "$1" "$2"
}

prefix=''
action=install
while [ $# -gt 0 ]; do
  case $1 in
    --prefix)
      if [ $# -lt 2 ] || [ -z "$2" ]; then die '--prefix needs a folder'; fi
      prefix=$2
      shift 2
      ;;
    --prefix=?*)
      prefix=${1#--prefix=}
      shift
      ;;
    --uninstall)
      action=uninstall
      shift
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    *)
      usage >&2
      printf 'install.sh: unknown argument %s\n' "$1" >&2
      exit 2
      ;;
  esac
done

if [ -n "$prefix" ]; then
  mkdir -p "$prefix"
  prefix=$(cd "$prefix" && pwd -P)
  [ "$prefix" != / ] || prefix=''
elif [ "$(id -u)" -ne 0 ]; then
  die 'writing /opt, /usr/local/bin and /etc needs root: run it as root, or give --prefix DIR'
fi

opt=$prefix/opt/outpost
link=$prefix/usr/local/bin/outpost
etc=$prefix/etc/outpost
config=$etc/config.yaml
unitdir=$prefix/etc/systemd/system
unit=$unitdir/outpost.service
staging=$prefix/opt/.outpost.new
previous=$prefix/opt/.outpost.old

# systemd runs here (and this is no --prefix install): the unit is installed and enabled.
systemd=no
if [ -z "$prefix" ] && command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemd=yes
fi

remove_outpost() {
  echo "Removing Outpost${prefix:+ from under $prefix}"
  removed=no
  if [ -f "$unit" ]; then
    if [ "$systemd" = yes ]; then
      systemctl disable --now outpost.service >/dev/null 2>&1 || true
      rm -f "$unit"
      systemctl daemon-reload
      say stopped 'outpost.service, and disabled it'
    else
      rm -f "$unit"
    fi
    say removed "$unit"
    removed=yes
  fi
  if [ -L "$link" ]; then
    target=$(readlink "$link")
    case $target in
      */opt/outpost/bin/outpost)
        rm -f "$link"
        say removed "$link"
        removed=yes
        ;;
      *) say left "$link: it points at $target, not at Outpost" ;;
    esac
  fi
  if [ -d "$opt" ]; then
    if [ ! -f "$opt/VERSION" ] || [ ! -f "$opt/bin/outpost" ]; then
      die "$opt does not hold an Outpost release: not removing it"
    fi
    version=$(cat "$opt/VERSION")
    rm -rf "$opt"
    say removed "$opt (outpost $version)"
    removed=yes
  fi
  rm -rf "$staging" "$previous"
  if [ -n "$prefix" ]; then
    # Folders the install made under the prefix, when nothing else is in them.
    for d in "$prefix/opt" "$unitdir" "$prefix/etc/systemd" "$prefix/usr/local/bin" "$prefix/usr/local" "$prefix/usr"; do
      rmdir "$d" 2>/dev/null || true
    done
  fi
  [ "$removed" = yes ] || say nothing "Outpost is not installed${prefix:+ under $prefix}"
  [ ! -e "$config" ] || say kept "$config"
  say kept 'the data: data_dir (default /var/lib/outpost; under the unit /var/lib/private/outpost)'
  echo 'Remove those by hand to forget everything.'
}

install_outpost() {
  src=$(cd "$(dirname "$0")" && pwd -P)
  if [ ! -f "$src/VERSION" ] || [ ! -x "$src/bin/outpost" ] || [ ! -x "$src/node/bin/node" ]; then
    die "$src is not an unpacked Outpost release (VERSION, bin/outpost, node/bin/node)"
  fi
  version=$(cat "$src/VERSION")
  echo "Installing Outpost $version from $src${prefix:+ under $prefix}"

  if [ -f "$src/SHA256SUMS" ] && command -v sha256sum >/dev/null 2>&1; then
    if ! sums=$(cd "$src" && sha256sum -c SHA256SUMS 2>&1); then
      printf '%s\n' "$sums" | grep -v ': OK$' >&2 || true
      die "files in $src do not match its SHA256SUMS: unpack the release again"
    fi
    say checked 'every file against SHA256SUMS'
  else
    say skipped 'the SHA256SUMS check (no SHA256SUMS, or no sha256sum here)'
  fi
  # The bundled Node must run on this machine (architecture, C library) before anything changes.
  ran=$("$src/bin/outpost" --version 2>&1) || die "the bundled Node does not run here: $ran"
  say checked "$src/bin/outpost --version: $ran"

  here=''
  if [ -d "$opt" ]; then here=$(cd "$opt" && pwd -P); fi
  if [ "$here" = "$src" ]; then
    say kept "$opt: this is the release being installed"
  else
    if [ -e "$opt" ] && [ ! -f "$opt/VERSION" ]; then
      die "$opt exists and does not hold an Outpost release: move it away first"
    fi
    old=''
    [ ! -f "$opt/VERSION" ] || old=$(cat "$opt/VERSION")
    # Copy beside, then swap: a running Outpost keeps the files it has open.
    mkdir -p "$prefix/opt"
    rm -rf "$staging" "$previous"
    cp -R "$src" "$staging"
    if [ -e "$opt" ]; then
      mv "$opt" "$previous"
      mv "$staging" "$opt"
      rm -rf "$previous"
      say replaced "$opt (outpost $old, now $version)"
    else
      mv "$staging" "$opt"
      say installed "$opt"
    fi
  fi

  mkdir -p "$(dirname "$link")"
  if [ -e "$link" ] && [ ! -L "$link" ]; then
    die "$link exists and is not a link: move it away, then run install.sh again"
  fi
  rm -f "$link"
  ln -s "$opt/bin/outpost" "$link"
  say linked "$link -> $opt/bin/outpost"

  fresh=no
  if [ -e "$config" ]; then
    say kept "$config (not changed)"
  else
    mkdir -p "$etc"
    cp "$opt/config/config.yaml" "$config"
    chmod 0644 "$config"
    say wrote "$config (HTTP :80, HTTPS :443, SNTP :123; nothing to serve yet)"
    fresh=yes
  fi

  active=no
  if [ -n "$prefix" ] || [ "$systemd" = yes ]; then
    mkdir -p "$unitdir"
    cp "$opt/config/outpost.service" "$unit"
    chmod 0644 "$unit"
    say wrote "$unit"
    if [ "$systemd" = yes ]; then
      systemctl daemon-reload
      if ! enabled=$(systemctl enable outpost.service 2>&1); then
        die "systemctl enable outpost.service failed: $enabled"
      fi
      say enabled 'outpost.service (starts at boot)'
      ! systemctl is-active --quiet outpost.service || active=yes
    fi
  else
    say skipped 'the systemd unit: systemd does not run here'
  fi

  echo
  echo 'Next:'
  if [ "$fresh" = yes ]; then
    echo "  set what to serve in $config (bundle:, or registry.roots and files.roots),"
    echo "  then check it:  $link check-config $config"
  fi
  if [ "$systemd" = yes ] && [ "$active" = yes ]; then
    echo '  systemctl restart outpost        # the running Outpost is the old version until then'
  elif [ "$systemd" = yes ]; then
    echo '  systemctl start outpost && journalctl -u outpost -f'
  else
    echo "  $link serve --config $config     # as root, for ports below 1024"
  fi
  echo '  curl -s http://127.0.0.1/readyz  # "ok" once everything is served'
  echo "  $opt/install.sh --uninstall${prefix:+ --prefix $prefix}   # to remove it (keeps $config and the data)"
}

if [ "$action" = uninstall ]; then
  remove_outpost
else
  install_outpost
fi
