#!/usr/bin/env bash
# Makes the stand-in for the official Node 20 image that CI builds Containerfile on (registries are not
# reachable here): a minimal Debian bookworm from debootstrap plus this machine's Node 20 and npm, imported into
# podman as $EARSHOT_CI_BASE (default localhost/earshot-ci-node20:bookworm). Cached: an existing image is reused,
# and so is the debootstrap tree in $EARSHOT_CI_CACHE. Prints the image name.
set -euo pipefail
image=${EARSHOT_CI_BASE:-localhost/earshot-ci-node20:bookworm-headers}
cache=${EARSHOT_CI_CACHE:-/tmp/earshot-ci-cache}
: "${CONTAINERS_CONF:?set CONTAINERS_CONF (see .ci/containers.conf)}"
if podman image exists "$image"; then echo "$image"; exit 0; fi
mkdir -p "$cache"
rootfs="$cache/bookworm-minbase"
if [ ! -f "$rootfs/.complete" ]; then
  rm -rf "$rootfs"
  debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian >"$cache/debootstrap.log" 2>&1 \
    || { tail -20 "$cache/debootstrap.log" >&2; exit 1; }
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  touch "$rootfs/.complete"
fi
node_bin=$(command -v node)
npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")   # …/node_modules/npm
[ "$(node -p 'process.versions.node.split(".")[0]')" = 20 ] || { echo "need Node 20 on this machine" >&2; exit 1; }
stage=$(mktemp -d "$cache/stage-XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/usr/local/bin" "$stage/usr/local/lib/node_modules" "$stage/usr/local/include"
cp "$node_bin" "$stage/usr/local/bin/node"
# Node's headers, where official node images keep them: native addons (better-sqlite3) build against them offline.
node_headers=$(node -p 'require("path").join(process.execPath, "../../include/node")')
[ -f "$node_headers/node.h" ] || { echo "no Node headers at $node_headers (needed to build better-sqlite3 in the image)" >&2; exit 1; }
cp -a "$node_headers" "$stage/usr/local/include/node"
cp -a "$npm_dir" "$stage/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$stage/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$stage/usr/local/bin/npx"
tar -C "$rootfs" --exclude=./.complete -c . | tar -C "$stage" -x
tar -C "$stage" -c . | podman import --change 'CMD ["node"]' --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' - "$image" >/dev/null
echo "$image"
