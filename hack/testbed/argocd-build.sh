#!/usr/bin/env bash
# Builds the parts of ArgoCD the bed runs (application controller, repo server, git credential helper)
# from the Go module proxy, once per pinned version, into the shared cache. The whole cache folder is
# built under a temporary name and renamed when complete, so an interrupted or concurrent build never
# leaves a half folder behind.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"
source "$here/lib.sh"
need go

export CGO_ENABLED=0 GOFLAGS="-trimpath -buildvcs=false"

argocd_dir() { echo "$BED_CACHE/argocd-v$ARGOCD_VERSION"; }

# ArgoCD's go.mod pins the Kubernetes libraries and a few others with replace directives, which only
# apply to the main module; the throwaway module that builds it repeats them.
build_argocd() {
  local out; out="$(argocd_dir)"
  [[ -x "$out/argocd" ]] && return 0
  log "building ArgoCD v$ARGOCD_VERSION (application controller, repo server); first time only, takes a while"
  local module=github.com/argoproj/argo-cd/v2
  local work; work="$(mktemp -d "$BED_CACHE/src/argocd-v$ARGOCD_VERSION.XXXXXX")"
  local upstream_gomod
  upstream_gomod="$(cd "$work" && go mod download -json "$module@v$ARGOCD_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')"
  [[ -f "$upstream_gomod" ]] || die "could not download $module@v$ARGOCD_VERSION from the Go module proxy"
  {
    printf 'module pubsub-operator/testbed/argocd\n\ngo 1.25\n\nrequire %s v%s\n\n' "$module" "$ARGOCD_VERSION"
    # the replace block of the upstream go.mod: lines "old => new version"
    sed -n '/^replace (/,/^)/p' "$upstream_gomod" | grep -E '=>' | sed 's/^\s*/replace /'
  } > "$work/go.mod"
  # One multi-call binary dispatching on its name, like ArgoCD's own, limited to what the bed runs.
  cat > "$work/main.go" <<'GO'
package main

import (
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	appcontroller "github.com/argoproj/argo-cd/v2/cmd/argocd-application-controller/commands"
	gitaskpass "github.com/argoproj/argo-cd/v2/cmd/argocd-git-ask-pass/commands"
	reposerver "github.com/argoproj/argo-cd/v2/cmd/argocd-repo-server/commands"
)

func main() {
	name := filepath.Base(os.Args[0])
	if v := os.Getenv("ARGOCD_BINARY_NAME"); v != "" {
		name = v
	}
	var command *cobra.Command
	switch name {
	case "argocd-application-controller":
		command = appcontroller.NewCommand()
	case "argocd-repo-server":
		command = reposerver.NewCommand()
	case "argocd-git-ask-pass":
		command = gitaskpass.NewCommand()
	default:
		os.Stderr.WriteString("call as argocd-application-controller, argocd-repo-server or argocd-git-ask-pass\n")
		os.Exit(2)
	}
	if err := command.Execute(); err != nil {
		os.Exit(1)
	}
}
GO
  local staging="$out.partial.$$"
  rm -rf "$staging" && mkdir -p "$staging"
  (
    cd "$work"
    go mod tidy >/dev/null
    go build -ldflags "-s -w -X $module/common.version=$ARGOCD_VERSION" -o "$staging/argocd" .
    for name in argocd-application-controller argocd-repo-server argocd-git-ask-pass; do
      ln -s argocd "$staging/$name"
    done
    # The CRDs of the same release, read from the module just built.
    local moddir; moddir="$(go list -m -f '{{.Dir}}' "$module")"
    mkdir -p "$staging/crds"
    cp "$moddir"/manifests/crds/application-crd.yaml "$moddir"/manifests/crds/appproject-crd.yaml "$staging/crds/"
    chmod -R u+w "$staging/crds"
  ) || { rm -rf "$staging" "$work"; die "building ArgoCD v$ARGOCD_VERSION failed (see the output above)"; }
  # First complete build wins; a concurrent one finding the folder in place discards its own.
  mv -T "$staging" "$out" 2>/dev/null || rm -rf "$staging"
  rm -rf "$work"
}

build_kustomize() {
  local out="$BED_CACHE/kustomize-v$KUSTOMIZE_VERSION"
  [[ -x "$out/kustomize" ]] && return 0
  log "building kustomize v$KUSTOMIZE_VERSION"
  local work; work="$(mktemp -d "$BED_CACHE/src/kustomize-v$KUSTOMIZE_VERSION.XXXXXX")"
  local staging="$out.partial.$$"
  rm -rf "$staging" && mkdir -p "$staging"
  printf 'module pubsub-operator/testbed/kustomize\n\ngo 1.25\n' > "$work/go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport _ "sigs.k8s.io/kustomize/kustomize/v5"\n' > "$work/tools.go"
  (
    cd "$work"
    go get "sigs.k8s.io/kustomize/kustomize/v5@v$KUSTOMIZE_VERSION" >/dev/null
    go mod tidy -e >/dev/null 2>&1 || true
    go build -tags tools -ldflags "-s -w" -o "$staging/kustomize" sigs.k8s.io/kustomize/kustomize/v5
  ) || { rm -rf "$staging" "$work"; die "building kustomize v$KUSTOMIZE_VERSION failed (see the output above)"; }
  mv -T "$staging" "$out" 2>/dev/null || rm -rf "$staging"
  rm -rf "$work"
}

mkdir -p "$BED_CACHE/src"
case "${1:-all}" in
  argocd) build_argocd ;;
  kustomize) build_kustomize ;;
  all) build_argocd; build_kustomize ;;
  *) die "unknown part $1" ;;
esac
