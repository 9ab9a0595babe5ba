# Shared helpers of the test bed scripts.
BED_CACHE="${PUBSUB_BED_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pubsub-operator}"
log() { printf '[testbed] %s\n' "$*" >&2; }
die() { printf '[testbed] error: %s\n' "$*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "$1 is required but not installed${2:+ ($2)}"; }

# Where the bed keeps its state: certificates, etcd data, pid files and one log per component.
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BED_DIR="${PUBSUB_BED_DIR:-$REPO_ROOT/.local/bed}"
ENV_FILE="$REPO_ROOT/.local/env.sh"

# Ports on 127.0.0.1; each can be moved with an environment variable when it is taken.
ETCD_PORT="${PUBSUB_BED_ETCD_PORT:-12379}"
ETCD_PEER_PORT="${PUBSUB_BED_ETCD_PEER_PORT:-12380}"
APISERVER_PORT="${PUBSUB_BED_APISERVER_PORT:-16443}"
MOTO_PORT="${PUBSUB_BED_MOTO_PORT:-15566}"
KWOK_PORT="${PUBSUB_BED_KWOK_PORT:-10247}"
POSTGRES_PORT="${PUBSUB_BED_POSTGRES_PORT:-15432}"
AWS_REGION_DEFAULT="${AWS_REGION:-us-east-1}"

COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok moto postgres)

# Binary folders: a user-supplied folder, or the cache folders of the pinned versions.
bin_dir_of() { # component
  if [[ -n "${PUBSUB_BED_BIN_DIR:-}" ]]; then echo "$PUBSUB_BED_BIN_DIR"; return; fi
  case "$1" in
    etcd) echo "$BED_CACHE/etcd-v$ETCD_VERSION" ;;
    kwok) echo "$BED_CACHE/kwok-v$KWOK_VERSION" ;;
    helm) echo "$BED_CACHE/helm-v$HELM_VERSION" ;;
    *) echo "$BED_CACHE/k8s-v$K8S_VERSION" ;;
  esac
}
MOTO_VENV="$BED_CACHE/moto-v$MOTO_VERSION"
# PostgreSQL comes from the machine (Debian's postgresql package), not from the cache.
# As root the server runs as the postgres OS user, which may not be able to enter the clone's folder
# (a clone under /root, say), so its data then lives under /var/tmp, one folder per bed.
if (( EUID == 0 )); then
  POSTGRES_DATA="${PUBSUB_BED_POSTGRES_DATA:-/var/tmp/pubsub-bed-postgres-$(printf '%s' "$BED_DIR" | sha256sum | cut -c1-12)}"
else
  POSTGRES_DATA="${PUBSUB_BED_POSTGRES_DATA:-$BED_DIR/postgres-data}"
fi
postgres_bin_dir() {
  if [[ -n "${PUBSUB_BED_POSTGRES_BIN_DIR:-}" ]]; then echo "$PUBSUB_BED_POSTGRES_BIN_DIR"; return; fi
  local dir
  dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  if [[ -z "$dir" ]] && command -v initdb >/dev/null 2>&1; then dir="$(dirname "$(readlink -f "$(command -v initdb)")")"; fi
  echo "$dir"
}

pid_of() { cat "$BED_DIR/$1.pid" 2>/dev/null || true; }
is_running() { local pid; pid="$(pid_of "$1")"; [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; }
port_taken() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }
admin_token() { cat "$BED_DIR/pki/admin.token"; }
apiserver_ready() {
  curl -fsS --max-time 3 --cacert "$BED_DIR/pki/ca.crt" -H "Authorization: Bearer $(admin_token)" \
    "https://127.0.0.1:$APISERVER_PORT/readyz" >/dev/null 2>&1
}
moto_ready() { curl -fsS --max-time 3 "http://127.0.0.1:$MOTO_PORT/moto-api/" >/dev/null 2>&1; }
postgres_ready() {
  local bin; bin="$(postgres_bin_dir)"
  [[ -n "$bin" ]] && "$bin/pg_isready" -q -h 127.0.0.1 -p "$POSTGRES_PORT" -U pubsub -d pubsub -t 3
}
etcd_ready() { curl -fsS --max-time 3 "http://127.0.0.1:$ETCD_PORT/health" 2>/dev/null | grep -q '"health":"true"'; }

start() { # component command...: runs in its own session, pid and log in the bed folder
  local name="$1"; shift
  setsid nohup "$@" >"$BED_DIR/$name.log" 2>&1 < /dev/null &
  echo $! > "$BED_DIR/$name.pid"
}

# Wait until a check passes, or fail naming the component and its log.
wait_for() { # component seconds check...
  local name="$1" seconds="$2"; shift 2
  local deadline=$((SECONDS + seconds))
  until "$@"; do
    if ! is_running "$name"; then
      tail -n 20 "$BED_DIR/$name.log" >&2 || true
      die "$name exited during start-up; its log is $BED_DIR/$name.log"
    fi
    (( SECONDS < deadline )) || die "$name not healthy after ${seconds}s; its log is $BED_DIR/$name.log"
    sleep 0.5
  done
}
