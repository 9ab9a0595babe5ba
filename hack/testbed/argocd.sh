#!/usr/bin/env bash
# ArgoCD on the local test bed, on demand: `argocd.sh up` builds it once (argocd-build.sh), installs
# its CRDs, creates argocd-cm and argocd-secret, loads deploy/argocd/argocd-cm.yaml into argocd-cm the
# way docs/argocd.md tells users to, and starts Redis, a git daemon serving $ARGOCD_GIT_ROOT, the repo
# server and the application controller as local processes. `argocd.sh down` stops them (down.sh does
# too). Needs the bed (make env-up). Writes .local/argocd-env.sh for the tests.
#
# The controller runs outside the cluster with the bed's admin kubeconfig; ARGOCD_FAKE_IN_CLUSTER
# makes it use that kubeconfig for the in-cluster destination https://kubernetes.default.svc.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/versions.env"
source "$here/lib.sh"

ARGOCD_NAMESPACE=argocd
ARGOCD_BIN="$BED_CACHE/argocd-v$ARGOCD_VERSION"
KUSTOMIZE_BIN="$BED_CACHE/kustomize-v$KUSTOMIZE_VERSION"
ARGOCD_DIR="$BED_DIR/argocd"
ARGOCD_ENV_FILE="$REPO_ROOT/.local/argocd-env.sh"
# Five ports from PUBSUB_BED_ARGOCD_PORT, by default 1000 above the bed's apiserver port.
ARGOCD_PORT="${PUBSUB_BED_ARGOCD_PORT:-$((APISERVER_PORT + 1000))}"
REDIS_PORT=$ARGOCD_PORT
REPO_SERVER_PORT=$((ARGOCD_PORT + 1))
GIT_PORT=$((ARGOCD_PORT + 2))
REPO_SERVER_METRICS_PORT=$((ARGOCD_PORT + 3))
CONTROLLER_METRICS_PORT=$((ARGOCD_PORT + 4))
ARGOCD_COMPONENTS=(argocd-redis argocd-git argocd-repo-server argocd-application-controller)

kubectl_bed() { KUBECONFIG="$BED_DIR/admin.kubeconfig" "$(bin_dir_of kubectl)/kubectl" "$@"; }
redis_ready() { redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; }
git_ready() { port_taken "$GIT_PORT"; }
repo_server_ready() { curl -fsS --max-time 3 "http://127.0.0.1:$REPO_SERVER_METRICS_PORT/metrics" >/dev/null 2>&1; }
controller_ready() { curl -fsS --max-time 3 "http://127.0.0.1:$CONTROLLER_METRICS_PORT/metrics" >/dev/null 2>&1; }
all_ready() {
  for c in "${ARGOCD_COMPONENTS[@]}"; do is_running "$c" || return 1; done
  redis_ready && git_ready && repo_server_ready && controller_ready
}

install_redis() {
  command -v redis-server >/dev/null 2>&1 && return 0
  (( EUID == 0 )) && command -v apt-get >/dev/null 2>&1 \
    || die "Redis is required (on Debian: apt-get install redis-server)"
  log "installing Debian's redis-server package"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq redis-server >/dev/null 2>&1 \
    || { apt-get update -qq && apt-get install -y -qq redis-server >/dev/null; } \
    || die "apt-get install redis-server failed"
}

# ArgoCD's own objects in the cluster: the CRDs of the release, its namespace, and the two settings
# objects every ArgoCD installation has, empty, as its install manifests create them.
install_into_cluster() {
  kubectl_bed apply --server-side --force-conflicts -f "$ARGOCD_BIN/crds/" >/dev/null
  # Polled rather than `kubectl wait`, which fails on a CRD whose status has no conditions yet.
  local crd deadline=$((SECONDS + 60))
  for crd in applications.argoproj.io appprojects.argoproj.io; do
    until [[ "$(kubectl_bed get crd "$crd" -o jsonpath='{.status.conditions[?(@.type=="Established")].status}' 2>/dev/null)" == True ]]; do
      (( SECONDS < deadline )) || die "CRD $crd not established after 60s"
      sleep 0.5
    done
  done
  kubectl_bed apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Namespace
metadata: { name: $ARGOCD_NAMESPACE }
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: argocd-cm
  namespace: $ARGOCD_NAMESPACE
  labels: { app.kubernetes.io/name: argocd-cm, app.kubernetes.io/part-of: argocd }
---
apiVersion: v1
kind: Secret
metadata:
  name: argocd-secret
  namespace: $ARGOCD_NAMESPACE
  labels: { app.kubernetes.io/name: argocd-secret, app.kubernetes.io/part-of: argocd }
type: Opaque
---
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata: { name: default, namespace: $ARGOCD_NAMESPACE }
spec:
  sourceRepos: ['*']
  destinations: [{ namespace: '*', server: '*' }]
  clusterResourceWhitelist: [{ group: '*', kind: '*' }]
YAML
  # The key argocd-server writes on its first start; the controller reads clusters with it.
  if [[ -z "$(kubectl_bed -n "$ARGOCD_NAMESPACE" get secret argocd-secret -o jsonpath='{.data.server\.secretkey}')" ]]; then
    kubectl_bed -n "$ARGOCD_NAMESPACE" patch secret argocd-secret --type merge \
      -p "{\"stringData\":{\"server.secretkey\":\"$(openssl rand -base64 32)\"}}" >/dev/null
  fi
  # The project's health checks, loaded exactly as docs/argocd.md tells users to.
  kubectl_bed -n "$ARGOCD_NAMESPACE" patch configmap argocd-cm --patch-file "$REPO_ROOT/deploy/argocd/argocd-cm.yaml" >/dev/null
}

up() {
  [[ -f "$ENV_FILE" ]] && apiserver_ready || die "the test bed is not up; run make env-up first"
  local started_at=$SECONDS
  if all_ready; then
    log "ArgoCD already up; reloading argocd-cm"
    install_into_cluster
    write_env
    return 0
  fi
  down --quiet
  need git; need curl
  install_redis
  "$here/argocd-build.sh"
  local p
  for p in "$REDIS_PORT" "$REPO_SERVER_PORT" "$GIT_PORT" "$REPO_SERVER_METRICS_PORT" "$CONTROLLER_METRICS_PORT"; do
    port_taken "$p" && die "port $p on 127.0.0.1 is taken; move ArgoCD's ports with PUBSUB_BED_ARGOCD_PORT (five ports from it)"
  done
  local build_done=$SECONDS
  mkdir -p "$ARGOCD_DIR/git" "$ARGOCD_DIR/tmp" "$ARGOCD_DIR/helm"
  install_into_cluster

  log "starting ArgoCD v$ARGOCD_VERSION: redis :$REDIS_PORT, git :$GIT_PORT, repo server :$REPO_SERVER_PORT"
  start argocd-redis redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no \
    --dir "$ARGOCD_DIR"
  start argocd-git git daemon --reuseaddr --listen=127.0.0.1 --port="$GIT_PORT" \
    --base-path="$ARGOCD_DIR/git" --export-all
  # The repo server renders Helm charts and kustomizations with the bed's helm and kustomize.
  start argocd-repo-server env \
    PATH="$ARGOCD_BIN:$(bin_dir_of helm):$KUSTOMIZE_BIN:$PATH" \
    TMPDIR="$ARGOCD_DIR/tmp" HOME="$ARGOCD_DIR" ARGOCD_GPG_ENABLED=false \
    HELM_CACHE_HOME="$ARGOCD_DIR/helm/cache" HELM_CONFIG_HOME="$ARGOCD_DIR/helm/config" \
    HELM_DATA_HOME="$ARGOCD_DIR/helm/data" \
    "$ARGOCD_BIN/argocd-repo-server" --address 127.0.0.1 --port "$REPO_SERVER_PORT" \
    --metrics-address 127.0.0.1 --metrics-port "$REPO_SERVER_METRICS_PORT" --disable-tls \
    --redis "127.0.0.1:$REDIS_PORT" --parallelismlimit 2
  # Resync every 20 s instead of 3 min, so a commit is seen without a webhook.
  start argocd-application-controller env \
    ARGOCD_FAKE_IN_CLUSTER=true KUBECONFIG="$BED_DIR/admin.kubeconfig" HOME="$ARGOCD_DIR" \
    TMPDIR="$ARGOCD_DIR/tmp" \
    "$ARGOCD_BIN/argocd-application-controller" --namespace "$ARGOCD_NAMESPACE" \
    --repo-server "127.0.0.1:$REPO_SERVER_PORT" --repo-server-plaintext \
    --redis "127.0.0.1:$REDIS_PORT" --metrics-port "$CONTROLLER_METRICS_PORT" \
    --app-resync 20 --self-heal-timeout-seconds 2 --status-processors 4 --operation-processors 4
  wait_for argocd-redis 30 redis_ready
  wait_for argocd-git 30 git_ready
  wait_for argocd-repo-server 60 repo_server_ready
  wait_for argocd-application-controller 90 controller_ready
  write_env
  log "ArgoCD up in $((SECONDS - build_done))s (plus $((build_done - started_at))s to install and build)"
}

write_env() {
  cat > "$ARGOCD_ENV_FILE" <<ENV
# Written by hack/testbed/argocd.sh up: where the bed's ArgoCD is.
export ARGOCD_NAMESPACE="$ARGOCD_NAMESPACE"
export ARGOCD_VERSION="$ARGOCD_VERSION"
export ARGOCD_GIT_ROOT="$ARGOCD_DIR/git"
export ARGOCD_GIT_URL="git://127.0.0.1:$GIT_PORT"
export ARGOCD_LOG_DIR="$BED_DIR"
ENV
}

down() {
  local quiet=0 stopped=() c pid
  [[ "${1:-}" == --quiet ]] && quiet=1
  for c in "${ARGOCD_COMPONENTS[@]}"; do
    pid="$(pid_of "$c")"
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
      kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
      stopped+=("$c")
    fi
  done
  for c in "${stopped[@]}"; do
    pid="$(pid_of "$c")"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && { kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true; }
  done
  for c in "${ARGOCD_COMPONENTS[@]}"; do rm -f "$BED_DIR/$c.pid"; done
  rm -rf "$ARGOCD_DIR" "$ARGOCD_ENV_FILE"
  (( quiet )) || log "ArgoCD stopped${stopped[*]:+ (${stopped[*]})}"
}

status() {
  local c state
  for c in "${ARGOCD_COMPONENTS[@]}"; do
    if is_running "$c"; then state="running (pid $(pid_of "$c"))"; else state="stopped"; fi
    printf '  %-24s %s\n' "$c" "$state"
  done
  all_ready && echo "argocd: up (v$ARGOCD_VERSION, git $ARGOCD_GIT_URL_SHOWN)" || { echo "argocd: down (make argocd-up starts it)"; return 1; }
}
ARGOCD_GIT_URL_SHOWN="git://127.0.0.1:$GIT_PORT"

case "${1:-}" in
  up) up ;;
  down) shift; down "$@" ;;
  status) status ;;
  *) die "usage: argocd.sh up|down|status" ;;
esac
