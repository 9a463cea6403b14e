#!/usr/bin/env bash
# Builds a LOCAL stand-in for the official `node:24-bookworm-slim` image and tags it exactly that, for
# machines that cannot pull from an image registry (the Dockerfile starts FROM that tag). Does nothing
# when the tag already exists (a pulled official image or an earlier run); `--force` rebuilds it.
#
#   bash docker/base-image.sh [--force]
#
# Recipe: a minbase Debian bookworm from the Debian mirror (debootstrap), the Node 24 binary from the
# npm package `node-linux-<arch>@24`, npm from the npm package `npm@11` (the major Node 24 ships), a
# `node` user with uid/gid 1000 as in the official image, then `docker import`.
#
# The build host's CA bundle is copied into this stand-in (and only here; the Dockerfile, which squashes
# the base into a layer of its own, only deletes it there) so that npm and pip in containers trust a
# TLS-intercepting proxy the host trusts. It lives outside /usr/local/share/ca-certificates on purpose, so
# that installing ca-certificates in a derived image does not fold it into that image's system bundle;
# NODE_EXTRA_CA_CERTS, PIP_CERT and REQUESTS_CA_BUNDLE point at it.
#
# Needs root, docker, debootstrap, npm and tar (a fresh Debian: apt-get install docker.io debootstrap npm).
# Environment overrides: DEBIAN_MIRROR, DEBIAN_SECURITY_MIRROR, NODE_MAJOR, NPM_SPEC, CA_BUNDLE, TMPDIR.
set -euo pipefail

TAG="node:24-bookworm-slim"
SUITE="bookworm"
NODE_MAJOR="${NODE_MAJOR:-24}"
NPM_SPEC="${NPM_SPEC:-npm@11}"
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
DEBIAN_SECURITY_MIRROR="${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
CA_BUNDLE="${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
CA_IN_IMAGE="/usr/local/share/build-host-ca/ca-certificates.crt"

say() { printf '[base-image %s] %s\n' "$(date +%T)" "$*"; }
die() { printf '[base-image] error: %s\n' "$*" >&2; exit 1; }

force=0
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    -h | --help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument \"$arg\": expected --force or --help" ;;
  esac
done

command -v docker >/dev/null || die "docker not found: apt-get install docker.io"
docker info >/dev/null 2>&1 || die "the Docker engine does not answer (docker info failed): start dockerd"

if [ "$force" -eq 0 ] && docker image inspect "$TAG" >/dev/null 2>&1; then
  say "$TAG already exists ($(docker image inspect --format '{{.Id}}' "$TAG")); nothing to do (--force rebuilds it)"
  exit 0
fi

[ "$(id -u)" -eq 0 ] || die "debootstrap needs root: run as root or with sudo"
for tool in debootstrap npm tar chroot; do
  command -v "$tool" >/dev/null || die "$tool not found: apt-get install debootstrap npm"
done
[ -r "$CA_BUNDLE" ] || die "CA bundle $CA_BUNDLE not readable: set CA_BUNDLE"

case "$(uname -m)" in
  x86_64) deb_arch=amd64 node_arch=x64 ;;
  aarch64) deb_arch=arm64 node_arch=arm64 ;;
  *) die "unsupported machine $(uname -m): expected x86_64 or aarch64" ;;
esac

started=$(date +%s)
work="$(mktemp -d "${TMPDIR:-/tmp}/node-base-image.XXXXXX")"
root="$work/rootfs"
cleanup() {
  # debootstrap may leave /proc or /sys mounted in the target if it failed half-way.
  if command -v findmnt >/dev/null; then
    findmnt -rn -o TARGET | grep -F "$root/" | sort -r | while read -r mnt; do umount -l "$mnt" || true; done || true
  fi
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT
say "building $TAG in $work (Debian $SUITE $deb_arch from $DEBIAN_MIRROR, node-linux-$node_arch@$NODE_MAJOR, $NPM_SPEC)"

say "debootstrap --variant=minbase $SUITE (about a minute)"
debootstrap --variant=minbase --arch="$deb_arch" "$SUITE" "$root" "$DEBIAN_MIRROR" >"$work/debootstrap.log" 2>&1 \
  || { tail -n 30 "$work/debootstrap.log" >&2; die "debootstrap failed (log above)"; }

say "configuring apt and dpkg as the official slim image does"
rm -f "$root/etc/apt/sources.list"
cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $DEBIAN_MIRROR
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $DEBIAN_SECURITY_MIRROR
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
# The slim variant leaves documentation, man pages and translations out of every package installed later.
cat >"$root/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
echo 'Acquire::Languages "none";' >"$root/etc/apt/apt.conf.d/docker-no-languages"
echo 'Apt::AutoRemove::SuggestsImportant "false";' >"$root/etc/apt/apt.conf.d/docker-autoremove-suggests"
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin \
  "$root"/var/log/*.log "$root"/var/log/apt/*
: >"$root/etc/resolv.conf"
: >"$root/etc/hostname"

say "fetching Node $NODE_MAJOR and npm from the npm registry (npm pack)"
mkdir -p "$work/pack"
node_tgz="$(cd "$work/pack" && npm pack --silent "node-linux-$node_arch@$NODE_MAJOR" | tail -n 1)"
npm_tgz="$(cd "$work/pack" && npm pack --silent "$NPM_SPEC" | tail -n 1)"
tar -xzf "$work/pack/$node_tgz" -C "$work/pack" package/bin/node
install -D -m 0755 "$work/pack/package/bin/node" "$root/usr/local/bin/node"
mkdir -p "$root/usr/local/lib/node_modules/npm"
tar -xzf "$work/pack/$npm_tgz" -C "$root/usr/local/lib/node_modules/npm" --strip-components=1 --no-same-owner
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
node_version="$(chroot "$root" /usr/local/bin/node --version)"
npm_version="$(chroot "$root" /usr/local/bin/node /usr/local/lib/node_modules/npm/bin/npm-cli.js --version)"
say "node $node_version, npm $npm_version"

say "adding the node user (uid/gid 1000) and the build host's CA bundle ($CA_BUNDLE)"
chroot "$root" groupadd --gid 1000 node
chroot "$root" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
install -D -m 0644 "$CA_BUNDLE" "$root$CA_IN_IMAGE"

say "docker import as $TAG"
tar -C "$root" --numeric-owner --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' -c . \
  | docker import \
    -c "ENV NODE_VERSION=${node_version#v}" \
    -c "ENV NODE_EXTRA_CA_CERTS=$CA_IN_IMAGE" \
    -c "ENV PIP_CERT=$CA_IN_IMAGE" \
    -c "ENV REQUESTS_CA_BUNDLE=$CA_IN_IMAGE" \
    -c 'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin' \
    -c 'CMD ["node"]' \
    -m "local stand-in for node:24-bookworm-slim built by docker/base-image.sh" \
    - "$TAG" >/dev/null
say "done in $(($(date +%s) - started)) s: $TAG $(docker image inspect --format '{{.Id}} {{.Size}}' "$TAG") bytes"
