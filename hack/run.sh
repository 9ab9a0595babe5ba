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
fi
exec node src/main.ts "$@"
