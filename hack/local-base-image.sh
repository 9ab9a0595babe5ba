#!/usr/bin/env bash
# Builds a Node 24 base image without any container registry, for machines that reach Debian's
# package mirror and the npm registry but not Docker Hub:
#
#   pubsub-local/debian:bookworm  a minbase Debian root filesystem (debootstrap), imported with `docker import`
#   pubsub-local/node:24          that, plus the node binary of the npm package node@24 and npm from the
#                                 npm registry, in the official node images' layout (/usr/local/bin/node,
#                                 /usr/local/lib/node_modules/npm, npm and npx linked into /usr/local/bin)
#
# Then: docker build --build-arg BASE_IMAGE=pubsub-local/node:24 -t pubsub-operator:dev .
# (or `make images`, which calls this script when BASE_IMAGE is not given).
#
# Idempotent: an image that exists is kept (FORCE=1 rebuilds the node image; `docker rmi` the Debian one
# to rebuild it too). Needs a running Docker engine and
# debootstrap (installed with apt-get when running as root). Settings, all optional:
#   DEBIAN_MIRROR  the Debian mirror (default: the first one apt uses here, else http://deb.debian.org/debian)
#   DEBIAN_SUITE   default bookworm
#   NODE_BIN       a Node 24 binary to copy (default: .tools' Node 24, else `node` if it is 24, else npm install node@24)
#   NPM_VERSION    the npm package version or range to install (default: 11, the major that Node 24 ships)
#   EXTRA_CA_CERTS a PEM file of certificate authorities the image's Node must also trust, e.g. those of
#                  a TLS-inspecting proxy between the builds and the npm registry (default: the file this
#                  machine's NODE_EXTRA_CA_CERTS names, if any; EXTRA_CA_CERTS= to add none). It is copied
#                  into the image and named by NODE_EXTRA_CA_CERTS there, so `npm ci` in a build works.
#   DEBIAN_IMAGE, NODE_IMAGE  the image names (defaults above)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEBIAN_SUITE="${DEBIAN_SUITE:-bookworm}"
DEBIAN_IMAGE="${DEBIAN_IMAGE:-pubsub-local/debian:${DEBIAN_SUITE}}"
NODE_IMAGE="${NODE_IMAGE:-pubsub-local/node:24}"
NODE_MAJOR=24
NPM_VERSION="${NPM_VERSION:-11}"
FORCE="${FORCE:-0}"

log() { echo "[local-base-image] $*" >&2; }
die() { echo "[local-base-image] ERROR: $*" >&2; exit 1; }

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

# ---- preconditions -------------------------------------------------------------------------------
command -v docker >/dev/null || die "docker is not installed (on Debian: apt-get install docker.io)"
docker info >/dev/null 2>&1 || die "the Docker engine does not answer; start it first (e.g. 'dockerd >/tmp/dockerd.log 2>&1 &' as root)"

if [ "$FORCE" != 1 ] && image_exists "$NODE_IMAGE"; then
  log "$NODE_IMAGE exists; nothing to do (FORCE=1 rebuilds it)"
  exit 0
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/pubsub-local-base.XXXXXX")"
cleanup() { rm -rf "$WORK"; }
trap cleanup EXIT

# ---- the Debian base -----------------------------------------------------------------------------
debian_mirror() {
  if [ -n "${DEBIAN_MIRROR:-}" ]; then echo "$DEBIAN_MIRROR"; return; fi
  local m
  # deb822 sources (URIs: …) first, then one-line sources (deb [opts] URI suite …); only Debian's archive.
  m="$(cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
    sed -n -e 's/^URIs:[[:space:]]*//p' -e 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]\+\).*/\2/p' |
    tr ' ' '\n' | grep -E '/debian/?$' | head -n1 || true)"
  echo "${m:-http://deb.debian.org/debian}"
}

if image_exists "$DEBIAN_IMAGE"; then
  log "$DEBIAN_IMAGE exists; reusing it"
else
  if ! command -v debootstrap >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      log "installing debootstrap (Debian package)"
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
    else
      die "debootstrap is not installed and installing it needs root (apt-get install debootstrap)"
    fi
  fi
  [ "$(id -u)" = 0 ] || die "debootstrap needs root to create a root filesystem"
  MIRROR="$(debian_mirror)"
  log "debootstrap --variant=minbase $DEBIAN_SUITE from $MIRROR (a few minutes)"
  debootstrap --variant=minbase "$DEBIAN_SUITE" "$WORK/rootfs" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 ||
    { tail -n 20 "$WORK/debootstrap.log" >&2; die "debootstrap failed"; }
  # Nothing the image needs at run time: package caches and lists, docs, man pages, locales.
  rm -rf "$WORK/rootfs/var/cache/apt/"*.bin "$WORK/rootfs/var/cache/apt/archives/"*.deb \
    "$WORK/rootfs/var/lib/apt/lists/"* "$WORK/rootfs/usr/share/doc/"* "$WORK/rootfs/usr/share/man/"* \
    "$WORK/rootfs/usr/share/locale/"* "$WORK/rootfs/var/log/"*.log
  log "importing $DEBIAN_IMAGE"
  tar --numeric-owner -C "$WORK/rootfs" -c . |
    docker import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'CMD ["bash"]' - "$DEBIAN_IMAGE" >/dev/null
  rm -rf "$WORK/rootfs"
fi

# ---- Node and npm --------------------------------------------------------------------------------
is_node24() { [ -x "$1" ] && [[ "$("$1" --version 2>/dev/null)" == v${NODE_MAJOR}.* ]]; }

mkdir -p "$WORK/ctx"
NODE_SRC=""
for candidate in "${NODE_BIN:-}" "$ROOT/.tools/node/node_modules/node/bin/node" "$(command -v node || true)"; do
  if [ -n "$candidate" ] && is_node24 "$(readlink -f "$candidate")"; then NODE_SRC="$(readlink -f "$candidate")"; break; fi
done
[ -z "${NODE_BIN:-}" ] || [ "$NODE_SRC" = "$(readlink -f "$NODE_BIN")" ] || die "NODE_BIN=$NODE_BIN is not a Node $NODE_MAJOR binary"
command -v npm >/dev/null || die "npm is needed on this machine to fetch node@$NODE_MAJOR and npm from the npm registry"
if [ -z "$NODE_SRC" ]; then
  log "installing node@$NODE_MAJOR from the npm registry"
  npm install --prefix "$WORK/node" --no-save --no-audit --no-fund "node@$NODE_MAJOR" >/dev/null
  NODE_SRC="$(readlink -f "$WORK/node/node_modules/node/bin/node")"
  is_node24 "$NODE_SRC" || die "npm install node@$NODE_MAJOR gave no Node $NODE_MAJOR binary"
fi
cp "$NODE_SRC" "$WORK/ctx/node" && chmod 0755 "$WORK/ctx/node"
log "node $("$WORK/ctx/node" --version) from $NODE_SRC"

log "fetching npm@$NPM_VERSION from the npm registry"
NPM_TGZ="$(cd "$WORK/ctx" && npm pack --silent "npm@$NPM_VERSION" | tail -n1)"
[ -f "$WORK/ctx/$NPM_TGZ" ] || die "npm pack npm@$NPM_VERSION failed"
mv "$WORK/ctx/$NPM_TGZ" "$WORK/ctx/npm.tgz"

EXTRA_CA_CERTS="${EXTRA_CA_CERTS-${NODE_EXTRA_CA_CERTS:-}}"
CA_LINES=""
if [ -n "$EXTRA_CA_CERTS" ]; then
  [ -r "$EXTRA_CA_CERTS" ] || die "EXTRA_CA_CERTS=$EXTRA_CA_CERTS is not a readable file"
  grep -q 'BEGIN CERTIFICATE' "$EXTRA_CA_CERTS" || die "EXTRA_CA_CERTS=$EXTRA_CA_CERTS holds no PEM certificate"
  cp "$EXTRA_CA_CERTS" "$WORK/ctx/extra-ca.pem"
  CA_LINES="COPY extra-ca.pem /usr/local/share/pubsub-local/extra-ca.pem
ENV NODE_EXTRA_CA_CERTS=/usr/local/share/pubsub-local/extra-ca.pem"
  log "the image's Node also trusts the certificate authorities in $EXTRA_CA_CERTS (EXTRA_CA_CERTS= for none)"
fi

cat >"$WORK/ctx/Dockerfile" <<EOF
FROM $DEBIAN_IMAGE
$CA_LINES
COPY node /usr/local/bin/node
# The npm tarball carries its bundled dependencies; unpacked where the official images keep npm.
ADD npm.tgz /usr/local/lib/node_modules/
RUN mv /usr/local/lib/node_modules/package /usr/local/lib/node_modules/npm \\
 && chmod 0755 /usr/local/lib/node_modules/npm/bin/npm-cli.js /usr/local/lib/node_modules/npm/bin/npx-cli.js \\
 && ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \\
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \\
 && node --version && npm --version && npx --version
CMD ["node"]
EOF
log "building $NODE_IMAGE"
DOCKER_BUILDKIT="${DOCKER_BUILDKIT:-0}" docker build -q -t "$NODE_IMAGE" "$WORK/ctx" >/dev/null
log "$NODE_IMAGE: node $(docker run --rm "$NODE_IMAGE" node --version), npm $(docker run --rm "$NODE_IMAGE" npm --version)"
