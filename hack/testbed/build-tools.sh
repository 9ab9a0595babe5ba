#!/usr/bin/env bash
# Builds the test bed's binaries from the Go module proxy, once per pinned version, into a cache
# outside the repo. A binary is rebuilt only when its pin changes (each version has its own folder).
# Set PUBSUB_BED_BIN_DIR to a folder that already holds etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, kubectl, kwok and helm (for example from setup-envtest) to skip building.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"
source "$here/lib.sh"

need go

export CGO_ENABLED=0 GOFLAGS="-trimpath -buildvcs=false"
ldflags_base="-s -w"

# Kubernetes: a wrapper module that requires k8s.io/kubernetes and points every staging module
# (which the upstream go.mod replaces with ./staging/...) at its published v0.X.Y release.
build_kubernetes() {
  local out="$BED_CACHE/k8s-v$K8S_VERSION"
  if [[ -x "$out/kube-apiserver" && -x "$out/kube-controller-manager" && -x "$out/kube-scheduler" && -x "$out/kubectl" ]]; then
    return 0
  fi
  log "building Kubernetes v$K8S_VERSION (kube-apiserver, kube-controller-manager, kube-scheduler, kubectl); first time only, takes a while"
  local work="$BED_CACHE/src/k8s-v$K8S_VERSION"
  rm -rf "$work" && mkdir -p "$work" "$out"
  local staging_version="v0.${K8S_VERSION#1.}"
  local upstream_gomod
  upstream_gomod="$(cd "$work" && go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')"
  [[ -f "$upstream_gomod" ]] || die "could not download k8s.io/kubernetes@v$K8S_VERSION from the Go module proxy"
  {
    echo "module pubsub-operator/testbed/kubernetes"
    echo
    echo "go 1.25"
    echo
    echo "require k8s.io/kubernetes v$K8S_VERSION"
    echo
    grep -E '^\s*k8s\.io/[a-z0-9-]+ => \./staging/' "$upstream_gomod" \
      | awk -v v="$staging_version" '{ print "replace " $1 " => " $1 " " v }'
  } > "$work/go.mod"
  cat > "$work/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
  local minor="${K8S_VERSION#1.}"; minor="${minor%%.*}"
  local date; date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  local ld="$ldflags_base"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $pkg.gitVersion=v$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    ld+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$date"
  done
  (
    cd "$work"
    go mod tidy -e >/dev/null 2>&1 || true
    go get "k8s.io/kubernetes@v$K8S_VERSION" >/dev/null
    for cmd in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
      log "  go build $cmd"
      go build -tags tools -ldflags "$ld" -o "$out/$cmd.tmp" "k8s.io/kubernetes/cmd/$cmd"
      mv "$out/$cmd.tmp" "$out/$cmd"
    done
  ) || die "building Kubernetes v$K8S_VERSION failed (see the output above)"
}

# The node tier (kubelet, kube-proxy), built only for `hack/testbed/node.sh`: the same wrapper module
# as build_kubernetes, into a folder of its own that appears whole (built in a temporary folder, then
# renamed), so a stopped build never leaves half a node behind.
build_kubernetes_node() {
  local out="$BED_CACHE/k8s-node-v$K8S_VERSION"
  [[ -x "$out/kubelet" && -x "$out/kube-proxy" ]] && return 0
  log "building Kubernetes v$K8S_VERSION node binaries (kubelet, kube-proxy); first time only, takes a while"
  local work="$BED_CACHE/src/k8s-node-v$K8S_VERSION"
  local tmp="$out.partial.$$"
  rm -rf "$work" "$tmp" && mkdir -p "$work" "$tmp"
  local staging_version="v0.${K8S_VERSION#1.}"
  local upstream_gomod
  upstream_gomod="$(cd "$work" && go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')"
  [[ -f "$upstream_gomod" ]] || die "could not download k8s.io/kubernetes@v$K8S_VERSION from the Go module proxy"
  {
    printf 'module pubsub-operator/testbed/kubernetes-node\n\ngo 1.25\n\nrequire k8s.io/kubernetes v%s\n\n' "$K8S_VERSION"
    grep -E '^\s*k8s\.io/[a-z0-9-]+ => \./staging/' "$upstream_gomod" \
      | awk -v v="$staging_version" '{ print "replace " $1 " => " $1 " " v }'
  } > "$work/go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport (\n\t_ "k8s.io/kubernetes/cmd/kubelet"\n\t_ "k8s.io/kubernetes/cmd/kube-proxy"\n)\n' > "$work/tools.go"
  local minor="${K8S_VERSION#1.}"; minor="${minor%%.*}"
  local date; date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  local ld="$ldflags_base"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $pkg.gitVersion=v$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    ld+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$date"
  done
  (
    cd "$work"
    go mod tidy -e >/dev/null 2>&1 || true
    go get "k8s.io/kubernetes@v$K8S_VERSION" >/dev/null
    for cmd in kubelet kube-proxy; do
      log "  go build $cmd"
      go build -tags tools -ldflags "$ld" -o "$tmp/$cmd" "k8s.io/kubernetes/cmd/$cmd"
    done
  ) || { rm -rf "$tmp"; die "building Kubernetes v$K8S_VERSION node binaries failed (see the output above)"; }
  rm -rf "$out" && mv "$tmp" "$out"
}

# etcd: its root module replaces its own submodules with local paths, so a tiny main package
# that calls the server's entry point is built instead.
build_etcd() {
  local out="$BED_CACHE/etcd-v$ETCD_VERSION"
  [[ -x "$out/etcd" ]] && return 0
  log "building etcd v$ETCD_VERSION"
  local work="$BED_CACHE/src/etcd-v$ETCD_VERSION"
  rm -rf "$work" && mkdir -p "$work" "$out"
  cat > "$work/go.mod" <<GOMOD
module pubsub-operator/testbed/etcd

go 1.25
GOMOD
  cat > "$work/main.go" <<'GO'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
  (
    cd "$work"
    go get "go.etcd.io/etcd/server/v3@v$ETCD_VERSION" >/dev/null
    go mod tidy >/dev/null
    go build -ldflags "$ldflags_base" -o "$out/etcd.tmp" . && mv "$out/etcd.tmp" "$out/etcd"
  ) || die "building etcd v$ETCD_VERSION failed (see the output above)"
}

# A main package of a published module, built at a pinned version through a throwaway module.
build_go_command() { # name version module-path package-path [ldflags] [module-version]
  local name="$1" version="$2" module="$3" pkg="$4" module_version="${6:-$2}"
  local out="$BED_CACHE/$name-v$version"
  [[ -x "$out/$name" ]] && return 0
  log "building $name v$version"
  local work="$BED_CACHE/src/$name-v$version"
  rm -rf "$work" && mkdir -p "$work" "$out"
  printf 'module pubsub-operator/testbed/%s\n\ngo 1.25\n' "$name" > "$work/go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport _ "%s"\n' "$pkg" > "$work/tools.go"
  (
    cd "$work"
    go get "$module@v$module_version" >/dev/null
    go mod tidy -e >/dev/null 2>&1 || true
    go build -tags tools -ldflags "$ldflags_base ${5:-}" -o "$out/$name.tmp" "$pkg" && mv "$out/$name.tmp" "$out/$name"
  ) || die "building $name v$version failed (see the output above)"
}

# promtool, for the unit tests of the chart's alert rules; not part of the bed, built on first use.
# Prometheus 3.X.Y is published on the Go module proxy as v0.3XX.Y (3.16.0 is v0.316.0).
build_promtool() {
  local major minor patch
  IFS=. read -r major minor patch <<<"$PROMETHEUS_VERSION"
  local module_version; module_version="$(printf '0.%d%02d.%d' "$major" "$minor" "$patch")"
  build_go_command promtool "$PROMETHEUS_VERSION" github.com/prometheus/prometheus \
    github.com/prometheus/prometheus/cmd/promtool \
    "-X github.com/prometheus/common/version.Version=$PROMETHEUS_VERSION" "$module_version"
}

main() {
  if [[ "${1:-}" == promtool ]]; then
    mkdir -p "$BED_CACHE" && build_promtool && echo "$BED_CACHE/promtool-v$PROMETHEUS_VERSION/promtool"
    return
  fi
  if [[ -n "${PUBSUB_BED_BIN_DIR:-}" ]]; then
    for b in etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok helm; do
      [[ -x "$PUBSUB_BED_BIN_DIR/$b" ]] || die "PUBSUB_BED_BIN_DIR=$PUBSUB_BED_BIN_DIR has no executable $b"
    done
    return 0
  fi
  mkdir -p "$BED_CACHE"
  local what="${1:-all}"
  case "$what" in
    all)
      build_etcd
      build_go_command kwok "$KWOK_VERSION" sigs.k8s.io/kwok sigs.k8s.io/kwok/cmd/kwok \
        "-X sigs.k8s.io/kwok/pkg/consts.Version=v$KWOK_VERSION"
      build_go_command helm "$HELM_VERSION" helm.sh/helm/v3 helm.sh/helm/v3/cmd/helm \
        "-X helm.sh/helm/v3/internal/version.version=v$HELM_VERSION"
      build_kubernetes
      ;;
    kubernetes) build_kubernetes ;;
    node) build_kubernetes_node; echo "$BED_CACHE/k8s-node-v$K8S_VERSION" ;;
    etcd) build_etcd ;;
    *) die "unknown part $what" ;;
  esac
}
main "$@"
