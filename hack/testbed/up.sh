#!/usr/bin/env bash
# Starts the local test bed on 127.0.0.1, or reuses it when it is already up and healthy:
# etcd, kube-apiserver (RBAC, service-account tokens), kube-controller-manager, kube-scheduler,
# KWOK with fake nodes, moto as the SQS/SNS/CloudWatch/IAM/STS endpoint, and PostgreSQL for the
# e-commerce services (postgres.sh).
# Writes .local/env.sh with the exports that point any client at it.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/versions.env"
source "$here/lib.sh"

NODE_COUNT="${PUBSUB_BED_NODES:-2}"
started_at=$SECONDS

need curl; need openssl; need python3; need ss

all_healthy() {
  for c in "${COMPONENTS[@]}"; do is_running "$c" || return 1; done
  etcd_ready && apiserver_ready && moto_ready && postgres_ready
}

if all_healthy; then
  log "test bed already up; reusing it"
  write_env=1
else
  # Anything half-started is stopped first so ports and data are clean.
  "$here/down.sh" --quiet
  "$here/build-tools.sh"
  write_env=0
fi

install_moto() {
  [[ -f "$MOTO_VENV/.installed" ]] && return 0
  log "installing moto[server]==$MOTO_VERSION into $MOTO_VENV"
  rm -rf "$MOTO_VENV"
  python3 -m venv "$MOTO_VENV" || die "python3 -m venv failed (on Debian: apt-get install python3-venv)"
  "$MOTO_VENV/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION" \
    || die "pip install moto[server]==$MOTO_VERSION failed"
  touch "$MOTO_VENV/.installed"
}

make_pki() {
  local pki="$BED_DIR/pki"
  [[ -f "$pki/ca.crt" ]] && return 0
  mkdir -p "$pki"
  (
    cd "$pki"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=pubsub-testbed-ca" \
      -keyout ca.key -out ca.crt 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=kube-apiserver" -keyout apiserver.key -out apiserver.csr 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local\n' > san.ext
    openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
      -extfile san.ext -out apiserver.crt 2>/dev/null
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
    # Static bearer tokens for the bed's own components; users and tests get RBAC-checked
    # identities through ServiceAccounts and the TokenRequest API.
    local admin cm sched
    admin="$(openssl rand -hex 24)"; cm="$(openssl rand -hex 24)"; sched="$(openssl rand -hex 24)"
    echo "$admin" > admin.token
    {
      echo "$admin,bed-admin,bed-admin,system:masters"
      echo "$cm,system:kube-controller-manager,system:kube-controller-manager"
      echo "$sched,system:kube-scheduler,system:kube-scheduler"
    } > tokens.csv
    echo "$cm" > controller-manager.token
    echo "$sched" > scheduler.token
  )
}

kubeconfig_for() { # user token-file output (the token is inlined: not every client reads tokenFile)
  cat > "$3" <<KCFG
apiVersion: v1
kind: Config
clusters:
- name: pubsub-testbed
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    certificate-authority: $BED_DIR/pki/ca.crt
users:
- name: $1
  user:
    token: $(cat "$2")
contexts:
- name: pubsub-testbed
  context: { cluster: pubsub-testbed, user: $1, namespace: default }
current-context: pubsub-testbed
KCFG
}

check_ports() {
  local p
  for p in "$ETCD_PORT" "$ETCD_PEER_PORT" "$APISERVER_PORT" "$MOTO_PORT" "$KWOK_PORT" "$POSTGRES_PORT"; do
    if port_taken "$p"; then
      die "port $p on 127.0.0.1 is taken by another program ($(ss -Hltnp "sport = :$p" | awk '{print $NF}' | head -1)); stop it or move the bed with PUBSUB_BED_*_PORT (see hack/testbed/lib.sh)"
    fi
  done
}

write_env_file() {
  mkdir -p "$(dirname "$ENV_FILE")"
  cat > "$ENV_FILE" <<ENV
# Written by 'make env-up': points kubectl, helm, the AWS SDK and the operator at the local test bed.
export KUBECONFIG="$BED_DIR/admin.kubeconfig"
export AWS_ENDPOINT_URL="http://127.0.0.1:$MOTO_PORT"
export AWS_REGION="$AWS_REGION_DEFAULT"
export AWS_DEFAULT_REGION="$AWS_REGION_DEFAULT"
export AWS_ACCESS_KEY_ID="testing"
export AWS_SECRET_ACCESS_KEY="testing"
export DATABASE_URL="postgres://pubsub@127.0.0.1:$POSTGRES_PORT/pubsub"
export PUBSUB_BED_DIR="$BED_DIR"
export KUBECTL="$(bin_dir_of kubectl)/kubectl"
export HELM="$(bin_dir_of helm)/helm"
export PATH="$(bin_dir_of kubectl):$(bin_dir_of helm):\$PATH"
ENV
}

create_nodes() {
  local kubectl i
  kubectl="$(bin_dir_of kubectl)/kubectl"
  for ((i = 0; i < NODE_COUNT; i++)); do
    cat <<NODE
---
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-$i
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    kubernetes.io/hostname: kwok-node-$i
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    kubernetes.io/role: agent
    type: kwok
spec: {}
status:
  allocatable: { cpu: "32", memory: 256Gi, pods: "110" }
  capacity: { cpu: "32", memory: 256Gi, pods: "110" }
NODE
  done | KUBECONFIG="$BED_DIR/admin.kubeconfig" "$kubectl" apply -f - >/dev/null
}

nodes_ready() {
  local ready
  ready="$(KUBECONFIG="$BED_DIR/admin.kubeconfig" "$(bin_dir_of kubectl)/kubectl" get nodes \
    -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' 2>/dev/null | grep -c True || true)"
  (( ready >= NODE_COUNT ))
}
default_sa_exists() {
  KUBECONFIG="$BED_DIR/admin.kubeconfig" "$(bin_dir_of kubectl)/kubectl" -n default get serviceaccount default >/dev/null 2>&1
}

if (( write_env == 0 )); then
  install_moto
  check_ports
  mkdir -p "$BED_DIR"
  make_pki
  kubeconfig_for bed-admin "$BED_DIR/pki/admin.token" "$BED_DIR/admin.kubeconfig"
  kubeconfig_for system:kube-controller-manager "$BED_DIR/pki/controller-manager.token" "$BED_DIR/controller-manager.kubeconfig"
  kubeconfig_for system:kube-scheduler "$BED_DIR/pki/scheduler.token" "$BED_DIR/scheduler.kubeconfig"

  log "starting etcd on :$ETCD_PORT"
  start etcd "$(bin_dir_of etcd)/etcd" --name bed --data-dir "$BED_DIR/etcd-data" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "bed=http://127.0.0.1:$ETCD_PEER_PORT" --unsafe-no-fsync --log-level warn
  log "starting moto on :$MOTO_PORT"
  start moto "$MOTO_VENV/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT"
  "$here/postgres.sh"
  wait_for etcd 30 etcd_ready

  log "starting kube-apiserver on :$APISERVER_PORT"
  # PodNodeSelector and PodTolerationRestriction: a namespace's annotations may send its pods to the
  # real node of node.sh; that kubelet is reached at its InternalIP (its name resolves nowhere).
  start kube-apiserver "$(bin_dir_of kube-apiserver)/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$APISERVER_PORT" \
    --tls-cert-file "$BED_DIR/pki/apiserver.crt" --tls-private-key-file "$BED_DIR/pki/apiserver.key" \
    --client-ca-file "$BED_DIR/pki/ca.crt" \
    --token-auth-file "$BED_DIR/pki/tokens.csv" \
    --authorization-mode RBAC \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$BED_DIR/pki/sa.pub" \
    --service-account-signing-key-file "$BED_DIR/pki/sa.key" \
    --api-audiences https://kubernetes.default.svc.cluster.local \
    --service-cluster-ip-range 10.96.0.0/16 \
    --allow-privileged=true \
    --enable-admission-plugins PodNodeSelector,PodTolerationRestriction \
    --kubelet-preferred-address-types InternalIP,Hostname \
    --cert-dir "$BED_DIR/pki" \
    --profiling=false
  wait_for kube-apiserver 90 apiserver_ready

  log "starting kube-controller-manager and kube-scheduler"
  start kube-controller-manager "$(bin_dir_of kube-controller-manager)/kube-controller-manager" \
    --kubeconfig "$BED_DIR/controller-manager.kubeconfig" \
    --authentication-kubeconfig "$BED_DIR/controller-manager.kubeconfig" \
    --authorization-kubeconfig "$BED_DIR/controller-manager.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port 0 --leader-elect=false \
    --controllers '*' --use-service-account-credentials \
    --service-account-private-key-file "$BED_DIR/pki/sa.key" \
    --root-ca-file "$BED_DIR/pki/ca.crt" \
    --cluster-name pubsub-testbed
  start kube-scheduler "$(bin_dir_of kube-scheduler)/kube-scheduler" \
    --kubeconfig "$BED_DIR/scheduler.kubeconfig" \
    --authentication-kubeconfig "$BED_DIR/scheduler.kubeconfig" \
    --authorization-kubeconfig "$BED_DIR/scheduler.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port 0 --leader-elect=false

  log "starting kwok with $NODE_COUNT fake nodes"
  start kwok "$(bin_dir_of kwok)/kwok" \
    --kubeconfig "$BED_DIR/admin.kubeconfig" --config "$here/kwok-stages.yaml" \
    --manage-all-nodes=false \
    --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
    --node-ip 127.0.0.1 --node-port "$KWOK_PORT" --server-address "127.0.0.1:$KWOK_PORT" \
    --cidr 10.244.0.1/16 --node-lease-duration-seconds 40
  create_nodes
  wait_for kwok 60 nodes_ready
  wait_for kube-controller-manager 60 default_sa_exists
  wait_for moto 60 moto_ready
fi

write_env_file
log "test bed up in $((SECONDS - started_at))s: kube-apiserver https://127.0.0.1:$APISERVER_PORT, moto http://127.0.0.1:$MOTO_PORT, postgres 127.0.0.1:$POSTGRES_PORT"
log "point a shell at it with: source $ENV_FILE"
