#!/usr/bin/env bash
# `make run`: runs the operator against the cluster of the current kubeconfig, or, when none is
# configured, against the local test bed (real kube-apiserver + KWOK + moto), starting it first.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

has_kubeconfig() {
  if [[ -n "${KUBECONFIG:-}" ]]; then
    local f; IFS=: read -ra files <<< "$KUBECONFIG"
    for f in "${files[@]}"; do [[ -s "$f" ]] && return 0; done
    return 1
  fi
  [[ -s "$HOME/.kube/config" ]]
}

if has_kubeconfig && [[ "${PUBSUB_USE_BED:-}" != "1" ]]; then
  echo "[run] using the cluster of the current kubeconfig (${KUBECONFIG:-$HOME/.kube/config}); PUBSUB_USE_BED=1 uses the local test bed instead"
else
  echo "[run] no kubeconfig configured: starting the local test bed (make env-up)"
  hack/testbed/up.sh
  # shellcheck disable=SC1091
  source .local/env.sh
  hack/testbed/status.sh
  echo "[run] installing the CRDs and their admission policies into the bed"
  kubectl apply --server-side --force-conflicts --field-manager=pubsub-make-run -f config/crd/bases >/dev/null
  kubectl wait --for=condition=Established --timeout=60s -f config/crd/bases >/dev/null
  kubectl apply --server-side --force-conflicts --field-manager=pubsub-make-run -f config/crd/admission >/dev/null
  kubectl create namespace shop --dry-run=client -o yaml | kubectl apply -f - >/dev/null
  export PUBSUB_LEADER_ELECT="${PUBSUB_LEADER_ELECT:-false}"
  cat <<HINT
[run] in another shell:
        source .local/env.sh
        kubectl apply -n shop -k samples      # the e-commerce flow's topics, queues and services
        kubectl get pubsub -n shop            # Ready once the operator has made them in moto
HINT
fi
echo "[run] starting the operator (Ctrl-C stops it gracefully)"
exec node src/main.ts "$@"
