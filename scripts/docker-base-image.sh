#!/usr/bin/env bash
# Builds a local stand-in for node:20-bookworm-slim with buildah, for machines that cannot pull
# from Docker Hub but can reach a Debian mirror: debootstrap a minimal bookworm, put this host's
# Node 20 (binary, headers, npm, corepack) in it, add the `node` user (uid/gid 1000) the official
# image has, and commit it under a local name. Then:
#
#   buildah bud --build-arg NODE_IMAGE=localhost/node:20-bookworm-slim -t tilestamp .
#
# Usage: scripts/docker-base-image.sh [IMAGE_NAME]        (run as root)
# Environment:
#   MIRROR       Debian mirror                (default http://deb.debian.org/debian)
#   NODE_PREFIX  where Node goes in the image (default /usr/local, as in the official image;
#                /usr gives Debian's layout: /usr/bin/node, /usr/include/node)
#   NODE_MAJOR   the Node major the host's node must have (default 20)
#   BUILDAH      buildah command              (default "buildah --storage-driver vfs")
set -euo pipefail

name=${1:-localhost/node:20-bookworm-slim}
mirror=${MIRROR:-http://deb.debian.org/debian}
prefix=${NODE_PREFIX:-/usr/local}
major=${NODE_MAJOR:-20}
read -r -a buildah <<<"${BUILDAH:-buildah --storage-driver vfs}"

die() { echo "docker-base-image: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root (debootstrap, chroot)"
command -v debootstrap >/dev/null || die "needs debootstrap (apt-get install -y debootstrap)"
command -v "${buildah[0]}" >/dev/null || die "needs buildah (apt-get install -y buildah)"

# The host's Node: its prefix holds bin/node, include/node and lib/node_modules/{npm,corepack}.
node_bin=$(command -v node) || die "no node on this host"
version=$(node -p process.version)
[[ $version == "v$major."* ]] || die "host node is $version, not $major.x"
host_prefix=$(node -p 'require("node:path").resolve(process.execPath, "../..")')
[ -f "$host_prefix/include/node/node.h" ] || die "no Node headers in $host_prefix/include/node"
[ -f "$host_prefix/lib/node_modules/npm/bin/npm-cli.js" ] || die "no npm in $host_prefix/lib/node_modules"

work=$(mktemp -d /var/tmp/node-base.XXXXXX)
ctr=
trap 'rm -rf "$work"; [ -z "$ctr" ] || "${buildah[@]}" rm "$ctr" >/dev/null 2>&1' EXIT
rootfs=$work/rootfs
# Commands in the new root get a clean environment, not this host's (NODE_EXTRA_CA_CERTS, npm_config_*).
inroot() {
  chroot "$rootfs" /usr/bin/env -i HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
}

echo "==> debootstrap bookworm from $mirror"
debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 ||
  { tail -20 "$work/debootstrap.log" >&2; die "debootstrap failed"; }

# Same apt sources as the official Debian images, then the current point release + security fixes.
rm -f "$rootfs/etc/apt/sources.list"
cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${MIRROR_SECURITY:-http://deb.debian.org/debian-security}
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
{ inroot apt-get update -qq && inroot apt-get -y -qq upgrade; } >"$work/upgrade.log" 2>&1 ||
  { tail -20 "$work/upgrade.log" >&2; die "apt-get update/upgrade in the new root failed"; }

echo "==> node $version from $host_prefix into $prefix"
install -D -m 0755 "$(readlink -f "$node_bin")" "$rootfs$prefix/bin/node"
mkdir -p "$rootfs$prefix/include" "$rootfs$prefix/lib/node_modules"
cp -a "$host_prefix/include/node" "$rootfs$prefix/include/"
cp -a "$host_prefix/lib/node_modules/npm" "$rootfs$prefix/lib/node_modules/"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$rootfs$prefix/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$rootfs$prefix/bin/npx"
if [ -d "$host_prefix/lib/node_modules/corepack" ]; then
  cp -a "$host_prefix/lib/node_modules/corepack" "$rootfs$prefix/lib/node_modules/"
  ln -sf ../lib/node_modules/corepack/dist/corepack.js "$rootfs$prefix/bin/corepack"
fi
# Libraries node links against must be in the image already (libc, libstdc++, libgcc_s).
missing=$(inroot ldd "$prefix/bin/node" | grep 'not found' || true)
[ -z "$missing" ] || die "node misses libraries in the image: $missing"

echo "==> user node (1000:1000)"
inroot groupadd --gid 1000 node
inroot useradd --uid 1000 --gid node --shell /bin/bash --create-home node
inroot node --version >/dev/null
inroot npm --version >/dev/null

# What an image should not carry: apt lists and caches, device nodes, the host's resolver.
inroot apt-get clean
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/debconf/*-old "$rootfs"/var/log/*.log \
  "$rootfs"/dev/* "$rootfs"/tmp/* "$rootfs"/root/.npm
: >"$rootfs/etc/resolv.conf"

echo "==> commit $name"
ctr=$("${buildah[@]}" from scratch)
mnt=$("${buildah[@]}" mount "$ctr")
cp -a "$rootfs/." "$mnt/"
"${buildah[@]}" umount "$ctr" >/dev/null
"${buildah[@]}" config \
  --env "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
  --env "NODE_VERSION=${version#v}" \
  --cmd node \
  --label "org.opencontainers.image.description=local stand-in for node:$major-bookworm-slim (debootstrap + host node $version in $prefix)" \
  "$ctr"
"${buildah[@]}" commit --rm -q "$ctr" "$name" >/dev/null
ctr=
"${buildah[@]}" images "$name"
