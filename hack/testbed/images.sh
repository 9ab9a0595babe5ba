#!/usr/bin/env bash
# Builds the images the bed's real node runs (hack/testbed/node.sh), as OCI archives that
# `ctr images import` reads, without a registry and without a Docker engine:
#
#   pubsub-bed/pause:1          the pod sandbox: one static binary (hack/testbed/pause), nothing else
#   pubsub-operator:e2e         a Debian minbase root filesystem (debootstrap) with Node 24, plus the
#   pubsub-services:e2e         operator (dist/main.mjs, the bundle of hack/build.ts) or the services
#                               (sources, production node_modules) in /app, as the Dockerfiles lay
#                               them out: same entrypoints, same non-root user, same environment
#
# The base layer (Debian + node) and the pause image are cached in the bed's cache, once per Debian
# suite and Node version; the application layers are rebuilt on each call into .local/node-images.
# Usage: images.sh [pause|operator|services|all]...; prints the archives it wrote, one a line.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/versions.env"
source "$here/lib.sh"

DEBIAN_SUITE="${DEBIAN_SUITE:-bookworm}"
OUT="$REPO_ROOT/.local/node-images"
OPERATOR_IMAGE="${E2E_OPERATOR_IMAGE:-pubsub-operator:e2e}"
SERVICES_IMAGE="${E2E_SERVICES_IMAGE:-pubsub-services:e2e}"
PAUSE_IMAGE="pubsub-bed/pause:1"

# A reference as containerd's CRI names it: docker.io/library/name:tag for a bare name:tag.
full_ref() {
  local ref="$1" first="${1%%/*}"
  if [[ "$ref" != */* ]]; then echo "docker.io/library/$ref"
  elif [[ "$first" != *.* && "$first" != *:* && "$first" != localhost ]]; then echo "docker.io/$ref"
  else echo "$ref"; fi
}

# Writes an OCI image layout holding one image (uncompressed layers) and packs it as one tar.
oci_archive() { # ref out.tar config-json(the "config" object) layer.tar...
  local ref="$1" out="$2" config="$3"; shift 3
  local dir; dir="$(mktemp -d "$OUT/.layout.XXXXXX")"
  mkdir -p "$dir/blobs/sha256"
  local layers="" diff_ids="" layer digest size
  for layer in "$@"; do
    digest="$(sha256sum "$layer" | cut -d' ' -f1)"; size="$(stat -c %s "$layer")"
    ln "$layer" "$dir/blobs/sha256/$digest" 2>/dev/null || cp "$layer" "$dir/blobs/sha256/$digest"
    layers+="${layers:+,}{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"sha256:$digest\",\"size\":$size}"
    diff_ids+="${diff_ids:+,}\"sha256:$digest\""
  done
  blob() { # content → prints digest size, writes the blob
    local d; d="$(printf '%s' "$1" | sha256sum | cut -d' ' -f1)"
    printf '%s' "$1" > "$dir/blobs/sha256/$d"; echo "$d ${#1}"
  }
  local cfg_d cfg_s man_d man_s
  read -r cfg_d cfg_s < <(blob "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":$config,\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[$diff_ids]}}")
  read -r man_d man_s < <(blob "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:$cfg_d\",\"size\":$cfg_s},\"layers\":[$layers]}")
  printf '{"imageLayoutVersion":"1.0.0"}' > "$dir/oci-layout"
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"platform":{"architecture":"amd64","os":"linux"},"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' \
    "$man_d" "$man_s" "$(full_ref "$ref")" "${ref##*:}" > "$dir/index.json"
  tar -C "$dir" -cf "$out.tmp" oci-layout index.json blobs && mv "$out.tmp" "$out"
  rm -rf "$dir"
}

layer_of() { # folder out.tar: a layer of the folder's contents, owned by root
  tar -C "$1" --owner=0 --group=0 --numeric-owner --sort=name -cf "$2.tmp" . && mv "$2.tmp" "$2"
}

node_binary() {
  local n; n="$(readlink -f "$(command -v node)")"
  [[ "$("$n" --version)" == v${NODE_VERSION}.* ]] || die "node on the PATH is $("$n" --version), the images need Node $NODE_VERSION"
  echo "$n"
}

# Debian minbase + /usr/local/bin/node, cached per suite and Node version.
base_layer() {
  local node version; node="$(node_binary)"; version="$("$node" --version)"
  local out="$BED_CACHE/node-base-$DEBIAN_SUITE-node$version.tar"
  if [[ -f "$out" ]]; then echo "$out"; return; fi
  need debootstrap "apt-get install debootstrap"
  (( EUID == 0 )) || die "debootstrap needs root to build the image base"
  local work; work="$(mktemp -d "$BED_CACHE/src/node-base.XXXXXX")"
  local mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
  log "debootstrap --variant=minbase $DEBIAN_SUITE from $mirror (once; about two minutes)"
  debootstrap --variant=minbase "$DEBIAN_SUITE" "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -n 20 "$work/debootstrap.log" >&2; rm -rf "$work"; die "debootstrap failed"; }
  # Nothing the images need at run time; the runtime mounts its own /dev, /proc and /sys.
  rm -rf "$work/rootfs/var/cache/apt/"*.bin "$work/rootfs/var/cache/apt/archives/"*.deb \
    "$work/rootfs/var/lib/apt/lists/"* "$work/rootfs/usr/share/doc/"* "$work/rootfs/usr/share/man/"* \
    "$work/rootfs/usr/share/locale/"* "$work/rootfs/var/log/"*.log "$work/rootfs/dev/"*
  install -m 0755 "$node" "$work/rootfs/usr/local/bin/node"
  layer_of "$work/rootfs" "$out"
  rm -rf "$work"
  echo "$out"
}

pause_archive() {
  local out="$BED_CACHE/pause-image-v1.tar"
  if [[ ! -f "$out" ]]; then
    need go
    local work; work="$(mktemp -d "$BED_CACHE/src/pause.XXXXXX")"
    mkdir -p "$work/root"
    (cd "$here/pause" && CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags "-s -w" -o "$work/root/pause" .) \
      || die "building the pause binary failed"
    layer_of "$work/root" "$work/layer.tar"
    oci_archive "$PAUSE_IMAGE" "$out" '{"Entrypoint":["/pause"],"User":"65535:65535"}' "$work/layer.tar"
    rm -rf "$work"
  fi
  echo "$out"
}

# Production dependencies of a package folder, installed once per lockfile into the bed's cache.
prod_modules() { # package-folder name
  local key; key="$(cat "$1/package.json" "$1/package-lock.json" | sha256sum | cut -c1-16)"
  local dir="$BED_CACHE/node-modules-$2-$key"
  if [[ ! -d "$dir/node_modules" ]]; then
    log "npm ci --omit=dev for $2 (once per lockfile)"
    local tmp="$dir.partial.$$"
    rm -rf "$tmp" && mkdir -p "$tmp"
    cp "$1/package.json" "$1/package-lock.json" "$tmp/"
    (cd "$tmp" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null) \
      || { rm -rf "$tmp"; die "npm ci --omit=dev for $2 failed"; }
    rm -rf "$dir" && mv "$tmp" "$dir"
  fi
  echo "$dir/node_modules"
}

app_archive() { # operator|services
  local what="$1" base; base="$(base_layer)"
  local work; work="$(mktemp -d "$OUT/.app.XXXXXX")"
  mkdir -p "$work/root/app"
  local env='"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","NODE_ENV=production"'
  local config ref
  if [[ "$what" == operator ]]; then
    ref="$OPERATOR_IMAGE"
    (cd "$REPO_ROOT" && node hack/build.ts "$work/root/app/dist/main.mjs") || die "the operator's build failed"
    config="{\"User\":\"65532:65532\",\"WorkingDir\":\"/app\",\"Env\":[$env],\"Entrypoint\":[\"node\",\"dist/main.mjs\"],\"ExposedPorts\":{\"8080/tcp\":{}}}"
  else
    ref="$SERVICES_IMAGE"
    # What services/.dockerignore lets into the services image.
    tar -C "$REPO_ROOT/services" --exclude=./node_modules --exclude='*.test.ts' --exclude=testing.ts \
      --exclude=./tsconfig.json --exclude=./Dockerfile --exclude=./.dockerignore --exclude=./local \
      -cf - . | tar -C "$work/root/app" -xf -
    cp -a "$(prod_modules "$REPO_ROOT/services" services)" "$work/root/app/node_modules"
    config="{\"User\":\"65532:65532\",\"WorkingDir\":\"/app\",\"Env\":[$env],\"Entrypoint\":[\"node\",\"/app/main.ts\"],\"Cmd\":[\"--help\"],\"ExposedPorts\":{\"8080/tcp\":{}}}"
  fi
  layer_of "$work/root" "$work/app.tar"
  oci_archive "$ref" "$OUT/$what.tar" "$config" "$base" "$work/app.tar"
  rm -rf "$work"
  echo "$OUT/$what.tar"
}

mkdir -p "$BED_CACHE/src" "$OUT"
(( $# )) || set -- all
for what in "$@"; do
  case "$what" in
    pause) pause_archive ;;
    operator) app_archive operator ;;
    services) app_archive services ;;
    all) pause_archive; app_archive operator; app_archive services ;;
    *) die "unknown image $what; one of pause, operator, services, all" ;;
  esac
done
