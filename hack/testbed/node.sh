#!/usr/bin/env bash
# A real node for the local test bed, beside its KWOK nodes: containerd (runc, CNI bridge + host-local
# + portmap + loopback from Debian's containernetworking-plugins), a kubelet registered with the bed's
# kube-apiserver, and kube-proxy in iptables mode. Pods on it run for real: they get IPs, Services
# route, probes are called, `kubectl logs`/`port-forward` go through the kubelet.
#
#   node.sh up       start it (the bed must be up: make env-up); imports the images of images.sh
#   node.sh down     stop it, with every container, mount, bridge and iptables rule it made
#   node.sh status   report it; exits 1 when it is not running
#   node.sh check    say whether this machine can run it (exits 1 with the reason when not)
#   node.sh env      print NODE_NAME, NODE_IP, POD_CIDR and TAINT_KEY as shell assignments
#   node.sh images   rebuild and import the operator and services images into its containerd
#
# The node is tainted pubsub.dev/real-node=true:NoSchedule and labelled pubsub.dev/real-node=true,
# so the integration tests' pods keep landing on the KWOK nodes; a namespace annotated with
# real_node_namespace (below) gets both a toleration and a node selector by admission
# (PodTolerationRestriction, PodNodeSelector), so its pods land on this node only.
#
# Needs root, Linux with overlayfs, bridge and br_netfilter, iptables, and the Debian packages
# containerd, runc and containernetworking-plugins (installed with apt-get when missing). Only one
# bed per machine can run a node (kube-proxy's iptables chains are the host's).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/versions.env"
source "$here/lib.sh"

NODE_NAME="${PUBSUB_BED_NODE_NAME:-pubsub-bed-node}"
# Ports next to the bed's KWOK port, each movable; none is a Kubernetes default (10248-10256).
KUBELET_PORT="${PUBSUB_BED_KUBELET_PORT:-$((KWOK_PORT + 1))}"
KUBELET_HEALTHZ_PORT="${PUBSUB_BED_KUBELET_HEALTHZ_PORT:-$((KWOK_PORT + 2))}"
KUBE_PROXY_HEALTHZ_PORT="${PUBSUB_BED_KUBE_PROXY_HEALTHZ_PORT:-$((KWOK_PORT + 3))}"
KUBE_PROXY_METRICS_PORT="${PUBSUB_BED_KUBE_PROXY_METRICS_PORT:-$((KWOK_PORT + 4))}"
# The pods' network: apart from KWOK's fake 10.244.0.0/16 and the Services' 10.96.0.0/16. The
# bridge's own address (.1) is the node's IP and the pods' gateway to the host.
POD_SUBNET_PREFIX="${PUBSUB_BED_POD_SUBNET_PREFIX:-10.210.0}"
POD_CIDR="$POD_SUBNET_PREFIX.0/24"
NODE_IP="$POD_SUBNET_PREFIX.1"
KUBERNETES_SERVICE_IP=10.96.0.1

# Everything outside the clone is named after the bed folder, like the bed's PostgreSQL data.
BED_ID="$(printf '%s' "$BED_DIR" | sha256sum | cut -c1-6)"
BRIDGE="pbed-$BED_ID"
NAT_CHAIN="PUBSUB-BED-$BED_ID"
CONTAINERD_ROOT="${PUBSUB_BED_CONTAINERD_ROOT:-/var/lib/pubsub-bed-containerd-$BED_ID}"
CONTAINERD_STATE="/run/pubsub-bed-containerd-$BED_ID"
CONTAINERD_SOCK="$CONTAINERD_STATE/containerd.sock"
KUBELET_ROOT="/var/lib/pubsub-bed-kubelet-$BED_ID"
NODE_DIR="$BED_DIR/node"
NODE_BIN="$BED_CACHE/k8s-node-v$K8S_VERSION"
NODE_COMPONENTS=(containerd kubelet kube-proxy)
TAINT_KEY=pubsub.dev/real-node
CNI_BIN_DIR="${PUBSUB_BED_CNI_BIN_DIR:-/usr/lib/cni}"

kubectl_() { KUBECONFIG="$BED_DIR/admin.kubeconfig" "$(bin_dir_of kubectl)/kubectl" "$@"; }
ctr_() { ctr --address "$CONTAINERD_SOCK" --namespace k8s.io "$@"; }

# ---- what the machine must have --------------------------------------------------------------
cannot() { die "the real node cannot run on this machine: $*"; }
check_machine() {
  [[ "$(uname -s)" == Linux ]] || cannot "it needs Linux (this is $(uname -s))"
  (( EUID == 0 )) || cannot "it needs root (containerd, runc, network namespaces, iptables)"
  grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null || cannot "no overlay filesystem (containerd's snapshotter)"
  [[ -d /proc/sys/net/bridge ]] || modprobe br_netfilter 2>/dev/null || cannot "no br_netfilter (Services between pods on the bridge)"
  local missing=()
  command -v containerd >/dev/null || missing+=(containerd)
  command -v runc >/dev/null || missing+=(runc)
  [[ -x "$CNI_BIN_DIR/bridge" ]] || missing+=(containernetworking-plugins)
  command -v iptables >/dev/null || missing+=(iptables)
  command -v conntrack >/dev/null || missing+=(conntrack)
  command -v debootstrap >/dev/null || missing+=(debootstrap) # the images' base (images.sh)
  if (( ${#missing[@]} )); then
    command -v apt-get >/dev/null || cannot "missing ${missing[*]} and no apt-get to install them"
    log "installing ${missing[*]} (Debian packages)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 \
      || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; } \
      || cannot "apt-get install ${missing[*]} failed"
  fi
  for p in bridge host-local portmap loopback; do
    [[ -x "$CNI_BIN_DIR/$p" ]] || cannot "no CNI plugin $CNI_BIN_DIR/$p (PUBSUB_BED_CNI_BIN_DIR names another folder)"
  done
  [[ -d /sys/fs/cgroup/memory || -f /sys/fs/cgroup/cgroup.controllers ]] || cannot "no cgroup memory controller"
  local p
  for p in "$KUBELET_PORT" "$KUBELET_HEALTHZ_PORT" "$KUBE_PROXY_HEALTHZ_PORT" "$KUBE_PROXY_METRICS_PORT"; do
    port_taken "$p" && die "port $p is taken; move the node with PUBSUB_BED_KUBELET_PORT and friends (hack/testbed/node.sh)"
  done
  if iptables -t nat -S KUBE-SERVICES >/dev/null 2>&1; then
    cannot "another kube-proxy's chains are in this machine's iptables (KUBE-SERVICES): only one bed per machine runs a real node; stop it (its node.sh down), or remove them with: kube-proxy --cleanup"
  fi
  return 0
}

# ---- configuration files -------------------------------------------------------------------
write_configs() {
  mkdir -p "$NODE_DIR/cni" "$NODE_DIR/pki" "$CONTAINERD_ROOT" "$CONTAINERD_STATE" "$KUBELET_ROOT"
  cat > "$NODE_DIR/containerd.toml" <<TOML
version = 2
root = "$CONTAINERD_ROOT"
state = "$CONTAINERD_STATE"
# Snapshotters this node never uses stay off (they probe the disk at start).
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "$CONTAINERD_SOCK"
[ttrpc]
  address = "$CONTAINERD_SOCK.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$CONTAINERD_ROOT/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "docker.io/pubsub-bed/pause:1"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  # No CAP_SYS_RESOURCE in some VMs and containers: lowering a process's oom_score_adj (the
  # sandbox asks for -998) then fails in runc; kept no lower than containerd's own instead.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$CNI_BIN_DIR"
    conf_dir = "$NODE_DIR/cni"
    max_conf_num = 1
TOML
  cat > "$NODE_DIR/cni/10-pubsub-bed.conflist" <<JSON
{
  "cniVersion": "1.0.0",
  "name": "pubsub-bed-$BED_ID",
  "plugins": [
    {
      "type": "bridge", "bridge": "$BRIDGE", "isGateway": true, "ipMasq": true, "hairpinMode": true,
      "ipam": {
        "type": "host-local", "dataDir": "$NODE_DIR/ipam",
        "ranges": [[{ "subnet": "$POD_CIDR", "gateway": "$NODE_IP" }]],
        "routes": [{ "dst": "0.0.0.0/0" }]
      }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
JSON
  # The kube-apiserver calls the kubelet (logs, exec, port-forward) without a client certificate and
  # without checking the kubelet's self-signed serving certificate (the bed passes no --kubelet-*
  # flags), so the kubelet lets anonymous callers in; it listens on the node's bridge address only,
  # which nothing outside this machine routes to.
  cat > "$NODE_DIR/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
port: $KUBELET_PORT
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $KUBELET_HEALTHZ_PORT
authentication:
  anonymous: { enabled: true }
  webhook: { enabled: false }
authorization: { mode: AlwaysAllow }
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
cgroupDriver: cgroupfs
# cgroup v1 (or hybrid) machines: the 1.35 kubelet refuses them unless told otherwise.
failCgroupV1: false
failSwapOn: false
registerWithTaints:
  - { key: $TAINT_KEY, value: "true", effect: NoSchedule }
podLogsDir: $KUBELET_ROOT/pod-logs
resolvConf: /etc/resolv.conf
serializeImagePulls: false
# A shared build machine's disk is often fuller than the defaults allow; this node never evicts.
evictionHard: { memory.available: 50Mi, nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%" }
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
maxPods: 50
YAML
  cat > "$NODE_DIR/kube-proxy.yaml" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: { kubeconfig: $NODE_DIR/kube-proxy.kubeconfig }
hostnameOverride: $NODE_NAME
mode: iptables
clusterCIDR: $POD_CIDR
healthzBindAddress: 127.0.0.1:$KUBE_PROXY_HEALTHZ_PORT
metricsBindAddress: 127.0.0.1:$KUBE_PROXY_METRICS_PORT
nodePortAddresses: ["$NODE_IP/32"]
# Leave the machine's conntrack sysctls alone.
conntrack: { maxPerCore: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s }
iptables: { localhostNodePorts: false }
YAML
}

# The kubelet and kube-proxy talk to the bed as ServiceAccounts bound to the roles Kubernetes ships
# for them (system:node, system:node-proxier), with long-lived tokens from the TokenRequest API.
write_kubeconfigs() {
  kubectl_ apply -f - >/dev/null <<YAML
apiVersion: v1
kind: ServiceAccount
metadata: { name: pubsub-bed-kubelet, namespace: kube-system }
---
apiVersion: v1
kind: ServiceAccount
metadata: { name: pubsub-bed-kube-proxy, namespace: kube-system }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: pubsub-bed-kubelet }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: system:node }
subjects: [{ kind: ServiceAccount, name: pubsub-bed-kubelet, namespace: kube-system }]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: pubsub-bed-kube-proxy }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: system:node-proxier }
subjects: [{ kind: ServiceAccount, name: pubsub-bed-kube-proxy, namespace: kube-system }]
YAML
  local who
  for who in kubelet kube-proxy; do
    kubectl_ -n kube-system create token "pubsub-bed-$who" --duration 8760h > "$NODE_DIR/pki/$who.token"
    cat > "$NODE_DIR/$who.kubeconfig" <<KCFG
apiVersion: v1
kind: Config
clusters:
- name: pubsub-testbed
  cluster: { server: "https://127.0.0.1:$APISERVER_PORT", certificate-authority: "$BED_DIR/pki/ca.crt" }
users:
- name: $who
  user: { token: "$(cat "$NODE_DIR/pki/$who.token")" }
contexts:
- name: pubsub-testbed
  context: { cluster: pubsub-testbed, user: $who }
current-context: pubsub-testbed
KCFG
  done
}

# ---- the host side of the pods' network ------------------------------------------------------
# The bridge exists before the kubelet starts, because its address is the node's IP. Pods reach the
# bed's host processes through it: the gateway's moto and PostgreSQL ports, and 10.96.0.1:443, are
# forwarded to those on 127.0.0.1 (route_localnet lets the kernel deliver them). The kubernetes
# Service has no endpoints in this bed (its apiserver advertises 127.0.0.1, which Endpoints refuse),
# so kube-proxy has nothing to route for it; this rule is what gives pods the in-cluster API.
setup_network() {
  sysctl_save net.ipv4.ip_forward 1
  sysctl_save net.bridge.bridge-nf-call-iptables 1
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link add name "$BRIDGE" type bridge
  fi
  ip addr replace "$NODE_IP/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  sysctl -qw "net.ipv4.conf.$BRIDGE.route_localnet=1"
  iptables -t nat -N "$NAT_CHAIN" 2>/dev/null || iptables -t nat -F "$NAT_CHAIN"
  iptables -t nat -C PREROUTING -i "$BRIDGE" -j "$NAT_CHAIN" 2>/dev/null \
    || iptables -t nat -I PREROUTING 1 -i "$BRIDGE" -j "$NAT_CHAIN"
  iptables -t nat -A "$NAT_CHAIN" -d "$KUBERNETES_SERVICE_IP" -p tcp --dport 443 -j DNAT --to-destination "127.0.0.1:$APISERVER_PORT"
  local port
  for port in "$MOTO_PORT" "$POSTGRES_PORT" "$APISERVER_PORT"; do
    iptables -t nat -A "$NAT_CHAIN" -d "$NODE_IP" -p tcp --dport "$port" -j DNAT --to-destination "127.0.0.1:$port"
  done
  # The bed's PostgreSQL trusts loopback clients only; forwarded pods keep their own addresses.
  open_postgres_to_pods
}

sysctl_save() { # key value: remembers the machine's value once, to put it back on down
  local file="$NODE_DIR/sysctl-saved"
  grep -q "^$1=" "$file" 2>/dev/null || echo "$1=$(sysctl -n "$1")" >> "$file"
  sysctl -qw "$1=$2"
}

open_postgres_to_pods() {
  local hba="$POSTGRES_DATA/pg_hba.conf" line="host all all $POD_CIDR trust # pubsub-bed real node"
  [[ -f "$hba" ]] || die "no $hba: is the bed's PostgreSQL up (make env-up)?"
  grep -qF "$line" "$hba" || echo "$line" >> "$hba"
  kill -HUP "$(pid_of postgres)"
}

teardown_network() {
  if iptables -t nat -S "$NAT_CHAIN" >/dev/null 2>&1; then
    iptables -t nat -D PREROUTING -i "$BRIDGE" -j "$NAT_CHAIN" 2>/dev/null || true
    iptables -t nat -F "$NAT_CHAIN" && iptables -t nat -X "$NAT_CHAIN"
  fi
  ip link del "$BRIDGE" 2>/dev/null || true
  # The bridge plugin's masquerade chains (CNI-*) go with their containers; remove what is left.
  local c
  for c in $({ iptables -t nat -S POSTROUTING 2>/dev/null || true; } | { grep -o "CNI-[0-9a-f]*" || true; } | sort -u); do
    if iptables -t nat -S "$c" 2>/dev/null | grep -q "pubsub-bed-$BED_ID"; then
      { iptables -t nat -S POSTROUTING | grep -- "-j $c" || true; } | sed 's/^-A/-D/' | while read -r rule; do
        eval "iptables -t nat $rule" || true
      done
      iptables -t nat -F "$c" && iptables -t nat -X "$c"
    fi
  done
  # The kubelet's own chains (kube-proxy --cleanup removed kube-proxy's), in both address families.
  local ipt table chain
  for ipt in iptables ip6tables; do
    for table in filter nat mangle; do
      for chain in KUBE-FIREWALL KUBE-KUBELET-CANARY KUBE-IPTABLES-HINT; do
        "$ipt" -t "$table" -S "$chain" >/dev/null 2>&1 || continue
        { "$ipt" -t "$table" -S | grep -E -- "^-A [A-Z]+ .*-j $chain( |$)" || true; } | sed 's/^-A/-D/' | while read -r rule; do
          eval "$ipt -t $table $rule" || true
        done
        "$ipt" -t "$table" -F "$chain" 2>/dev/null || true
        "$ipt" -t "$table" -X "$chain" 2>/dev/null || true
      done
    done
  done
  if [[ -f "$NODE_DIR/sysctl-saved" ]]; then
    while IFS='=' read -r key value; do sysctl -qw "$key=$value" || true; done < "$NODE_DIR/sysctl-saved"
    rm -f "$NODE_DIR/sysctl-saved"
  fi
}

# ---- images ----------------------------------------------------------------------------------
import_images() { # which...
  local archive
  for archive in $("$here/images.sh" "$@"); do
    log "importing $(basename "$archive") into the node's containerd"
    ctr_ images import --no-unpack "$archive" >/dev/null || die "ctr images import $archive failed"
  done
}

containerd_ready() { ctr --address "$CONTAINERD_SOCK" version >/dev/null 2>&1; }
node_ready() {
  [[ "$(kubectl_ get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" == True ]]
}
kube_proxy_ready() { curl -fsS --max-time 2 "http://127.0.0.1:$KUBE_PROXY_HEALTHZ_PORT/healthz" >/dev/null 2>&1; }

up() {
  local started=$SECONDS
  apiserver_ready || die "the bed is not up: run make env-up first"
  if is_running kubelet && is_running containerd && is_running kube-proxy && node_ready; then
    log "real node $NODE_NAME already up"; return 0
  fi
  down --quiet
  check_machine
  "$here/build-tools.sh" node >/dev/null
  write_configs
  write_kubeconfigs
  setup_network
  log "starting containerd ($CONTAINERD_SOCK, root $CONTAINERD_ROOT)"
  start containerd containerd --config "$NODE_DIR/containerd.toml"
  wait_for containerd 60 containerd_ready
  import_images all
  log "starting kubelet ($NODE_NAME on $NODE_IP:$KUBELET_PORT) and kube-proxy (iptables)"
  start kubelet "$NODE_BIN/kubelet" --config "$NODE_DIR/kubelet.yaml" \
    --kubeconfig "$NODE_DIR/kubelet.kubeconfig" --hostname-override "$NODE_NAME" --node-ip "$NODE_IP" \
    --root-dir "$KUBELET_ROOT" --cert-dir "$NODE_DIR/pki" \
    --node-labels "$TAINT_KEY=true" --v 1
  start kube-proxy "$NODE_BIN/kube-proxy" --config "$NODE_DIR/kube-proxy.yaml" --v 1
  wait_for kubelet 120 node_ready
  wait_for kube-proxy 60 kube_proxy_ready
  log "real node $NODE_NAME Ready in $((SECONDS - started))s (pods on $POD_CIDR; logs in $BED_DIR/{containerd,kubelet,kube-proxy}.log)"
}

# Stops what runs on the node first, then the node itself, then removes what it left on the host.
down() {
  local quiet=0; [[ "${1:-}" == --quiet ]] && quiet=1
  local any=0 c pid
  for c in "${NODE_COMPONENTS[@]}"; do is_running "$c" && any=1; done
  # Through the kubelet while it runs, so each sandbox is stopped over CRI and its network released.
  if is_running kubelet && apiserver_ready; then
    kubectl_ cordon "$NODE_NAME" >/dev/null 2>&1 || true
    kubectl_ delete pods --all-namespaces --field-selector "spec.nodeName=$NODE_NAME" \
      --grace-period=0 --force --wait=false >/dev/null 2>&1 || true
    for _ in $(seq 1 60); do [[ -z "$(ctr_ tasks ls -q 2>/dev/null)" ]] && break; sleep 0.5; done
  fi
  if is_running containerd; then
    local ids
    ids="$(ctr_ tasks ls -q 2>/dev/null || true)"
    for c in $ids; do ctr_ tasks kill -s SIGKILL "$c" >/dev/null 2>&1 || true; done
    for _ in $(seq 1 25); do [[ -z "$(ctr_ tasks ls -q 2>/dev/null)" ]] && break; sleep 0.2; done
    for c in $ids; do ctr_ tasks rm -f "$c" >/dev/null 2>&1 || true; done
  fi
  for c in kubelet kube-proxy containerd; do
    pid="$(pid_of "$c")"
    [[ -n "$pid" ]] || continue
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$BED_DIR/$c.pid"
  done
  # Shims outlive containerd by design; those of this node are killed by their socket folder.
  for pid in $(pgrep -f "containerd-shim-runc-v2 .*-address $CONTAINERD_SOCK" || true); do kill -KILL "$pid" 2>/dev/null || true; done
  "$NODE_BIN/kube-proxy" --cleanup >/dev/null 2>&1 || true
  # Mounts left by pods (volumes, sandboxes' shm, container root filesystems), deepest first.
  local m
  for m in $(awk '{print $2}' /proc/self/mounts | grep -E "^($KUBELET_ROOT|$CONTAINERD_STATE|$CONTAINERD_ROOT)(/|$)" | sort -r); do
    umount -l "$m" 2>/dev/null || true
  done
  teardown_network
  rm -rf "$KUBELET_ROOT" "$CONTAINERD_STATE" "$NODE_DIR/ipam"
  if apiserver_ready; then kubectl_ delete node "$NODE_NAME" --ignore-not-found --wait=false >/dev/null 2>&1 || true; fi
  (( quiet || ! any )) || log "real node stopped (containerd's images stay in $CONTAINERD_ROOT; PUBSUB_BED_NODE_PURGE=1 removes them)"
  if [[ "${PUBSUB_BED_NODE_PURGE:-0}" == 1 ]]; then rm -rf "$CONTAINERD_ROOT"; fi
  return 0
}

status() {
  local down=0 c state
  for c in "${NODE_COMPONENTS[@]}"; do
    if is_running "$c"; then state="running (pid $(pid_of "$c"))"; else state="stopped"; down=1; fi
    printf '  %-24s %s\n' "$c" "$state"
  done
  if (( down == 0 )) && node_ready; then
    echo "  real node               $NODE_NAME Ready, pods on $POD_CIDR, kubelet $NODE_IP:$KUBELET_PORT"
  else
    return 1
  fi
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  check) if status >/dev/null 2>&1; then log "the real node is up"; else check_machine && log "this machine can run the real node"; fi ;;
  # What clients of the node need (test/e2e/run-local.sh): sourceable assignments.
  env) printf 'NODE_NAME=%s\nNODE_IP=%s\nPOD_CIDR=%s\nTAINT_KEY=%s\n' "$NODE_NAME" "$NODE_IP" "$POD_CIDR" "$TAINT_KEY" ;;
  images) containerd_ready || die "the real node is not up (node.sh up)"; import_images "${@:2}" ;;
  *) die "usage: node.sh up|down|status|check|env|images [operator|services]" ;;
esac
