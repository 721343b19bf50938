#!/usr/bin/env bash
# Installs Earshot releases side by side and switches between them, keeping the previous one to roll back to:
#
#   <root>/releases/<version>/   one unpacked `npm run release` tarball each, with its production node_modules
#   <root>/current  -> releases/<version>    what the systemd unit runs (deploy/earshot.service)
#   <root>/previous -> releases/<version>    what `rollback` goes back to
#
# usage: earshot-release.sh install <earshot-X.Y.Z.tgz> [--root /opt/earshot]   unpack, npm ci --omit=dev (or reuse
#                                      the current release's node_modules when its lockfile and Node ABI match), switch
#        earshot-release.sh rollback [--root /opt/earshot]                       current <-> previous
#        earshot-release.sh switch <version> [--root /opt/earshot]
#        earshot-release.sh list [--root /opt/earshot]
# Switching is one atomic rename of a symlink; restart the service afterwards (systemctl restart earshot).
# Data is never touched: a release that cannot read the data dir refuses to start and says so.
set -euo pipefail

root=/opt/earshot
cmd=${1:-}; shift || true
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --root) root=$2; shift 2 ;;
    --root=*) root=${1#--root=}; shift ;;
    -h|--help) cmd=help; shift ;;
    *) args+=("$1"); shift ;;
  esac
done

die() { echo "earshot-release: $*" >&2; exit 1; }
target_of() { [ -L "$root/$1" ] && basename "$(readlink "$root/$1")" || true; }
point() { # point <link name> <version>: atomic (a new symlink renamed over the old one)
  ln -sfn "releases/$2" "$root/.$1.new"
  mv -T "$root/.$1.new" "$root/$1"
}
switch_to() {
  local version=$1 old
  [ -d "$root/releases/$version" ] || die "no release $version in $root/releases"
  old=$(target_of current)
  [ "$old" = "$version" ] && { echo "current is already $version"; return; }
  point current "$version"
  [ -n "$old" ] && point previous "$old"
  echo "current -> $version${old:+ (previous -> $old)}; now: systemctl restart earshot"
}

case "$cmd" in
  install)
    tarball=${args[0]:-}; [ -f "$tarball" ] || die "usage: install <earshot-X.Y.Z.tgz> [--root DIR]"
    mkdir -p "$root/releases"
    staging=$(mktemp -d "$root/releases/.install-XXXXXX")
    trap 'rm -rf "$staging"' EXIT
    tar -xzf "$tarball" -C "$staging" --strip-components=1 --no-same-owner
    version=$(node -p 'require(process.argv[1]).version' "$staging/package.json")
    [ -e "$root/releases/$version" ] && die "release $version is already installed (earshot-release.sh switch $version)"
    [ -f "$staging/npm-shrinkwrap.json" ] || die "$tarball has no npm-shrinkwrap.json: make it with npm run release"
    # The same dependency tree for the same Node ABI as the current release: copy its node_modules instead of
    # running npm ci again (an upgrade then needs no registry and no compiler, and takes seconds, not minutes of
    # building better-sqlite3). The key is the lockfile's packages minus the release's own entry, plus the ABI.
    key=$(node -e '
      const lock = require(process.argv[1]); const packages = { ...lock.packages }; delete packages[""];
      const abi = `${process.platform}-${process.arch}-${process.versions.modules}`;
      process.stdout.write(require("node:crypto").createHash("sha256").update(JSON.stringify({ abi, packages })).digest("hex"));
    ' "$staging/npm-shrinkwrap.json")
    cur=$(target_of current)
    if [ -n "$cur" ] && [ -f "$root/releases/$cur/.dependencies-key" ] && [ "$(cat "$root/releases/$cur/.dependencies-key")" = "$key" ] && [ -d "$root/releases/$cur/node_modules" ]; then
      cp -a "$root/releases/$cur/node_modules" "$staging/node_modules" || die "copying $cur's node_modules failed; nothing was switched"
      echo "dependencies unchanged from $cur: reused its node_modules"
    else
      (cd "$staging" && npm ci --omit=dev --no-audit --no-fund --loglevel=error) || die "npm ci failed; nothing was switched"
    fi
    printf '%s\n' "$key" > "$staging/.dependencies-key"
    # uWebSockets.js ships its native binding for every platform and Node ABI (~90 MB); keep this machine's.
    # (After changing the Node major version, install the release again: the relay refuses a missing binding.)
    keep=$(node -p '`uws_${process.platform}_${process.arch}_${process.versions.modules}.node`')
    bins="$staging/node_modules/uWebSockets.js/binaries"
    [ -f "$bins/$keep" ] && find "$bins" -name 'uws_*.node' ! -name "$keep" -delete
    chmod 0755 "$staging" "$staging/dist/relay/earshot.js"
    mv -T "$staging" "$root/releases/$version"
    trap - EXIT
    switch_to "$version"
    ;;
  rollback)
    prev=$(target_of previous); [ -n "$prev" ] || die "no previous release to roll back to"
    switch_to "$prev"
    ;;
  switch) switch_to "${args[0]:-$(die 'usage: switch <version>')}" ;;
  list)
    cur=$(target_of current); prev=$(target_of previous)
    for d in "$root"/releases/*/; do
      [ -d "$d" ] || continue
      v=$(basename "$d"); mark=""
      [ "$v" = "$cur" ] && mark=" (current)"; [ "$v" = "$prev" ] && mark=" (previous)"
      echo "$v$mark"
    done
    ;;
  help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' ;;
  *) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 1 ;;
esac
