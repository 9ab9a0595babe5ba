#!/usr/bin/env bash
# Reports each component of the local test bed; exits non-zero when any is down.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/versions.env"
source "$here/lib.sh"
down=0
for c in "${COMPONENTS[@]}"; do
  if is_running "$c"; then state="running (pid $(pid_of "$c"))"; else state="stopped"; down=1; fi
  printf '  %-24s %s\n' "$c" "$state"
done
# ArgoCD is started on demand (make argocd-up): listed when it runs, never a reason to fail.
"$here/argocd.sh" status 2>/dev/null | grep -v "^argocd: down" | grep running || true
# The real node (node.sh) is optional: reported when it was started, never making the bed "down".
[[ -f "$BED_DIR/kubelet.pid" ]] && { "$here/node.sh" status || echo "  real node               not Ready (hack/testbed/node.sh up)"; }
if (( down == 0 )) && apiserver_ready && moto_ready && postgres_ready; then
  echo "  kube-apiserver          https://127.0.0.1:$APISERVER_PORT (Kubernetes v$K8S_VERSION)"
  echo "  moto                    http://127.0.0.1:$MOTO_PORT (moto $MOTO_VERSION)"
  echo "  postgres                postgres://pubsub@127.0.0.1:$POSTGRES_PORT/pubsub ($("$(postgres_bin_dir)/postgres" --version))"
  echo "  logs                    $BED_DIR/<component>.log"
  echo "  shell                   source $ENV_FILE"
  echo "test bed: up"
else
  echo "test bed: down (make env-up starts it)"
  exit 1
fi
