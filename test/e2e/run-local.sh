#!/usr/bin/env bash
# `make test-e2e-local`: the e2e flow of test/e2e/flow.test.ts on this machine's test bed, with no
# registry, no Docker and no internet: the bed (make env-up) and its real node (hack/testbed/node.sh:
# containerd, kubelet, kube-proxy) run the operator and the services as pods, from images built by
# hack/testbed/images.sh; moto and PostgreSQL are the bed's, on the host, which pods reach at the
# node's address.
#
#   1. the bed and its real node, reused when up; the operator and services images rebuilt and imported
#   2. namespaces pubsub-system and shop placed on the real node (node selector + toleration by
#      admission), fresh databases e2e_orders, e2e_payments, e2e_notifications in the bed's PostgreSQL
#   3. the operator from charts/operator with test/e2e/values.yaml (+ the bed's moto as AWS)
#   4. test/e2e/flow.test.ts with the overlay .local/e2e/shop (the kind overlay + the bed's databases)
#   5. the operator uninstalled and its namespace deleted, unless E2E_KEEP=1; the bed stays up
#      (make env-down stops it, with the node)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
say() { printf '[e2e-local] %s\n' "$*"; }
t0=$SECONDS
mark() { say "$1 after $((SECONDS - t0))s"; }

node_was_up=0
hack/testbed/node.sh status >/dev/null 2>&1 && node_was_up=1
hack/testbed/up.sh
# shellcheck source=/dev/null
source .local/env.sh
hack/testbed/node.sh up
if (( node_was_up )); then hack/testbed/node.sh images operator services; fi
eval "$(hack/testbed/node.sh env)"
mark "bed, node and images ready"
source hack/testbed/versions.env
source hack/testbed/lib.sh

report_dir="$root/.local/e2e"
mkdir -p "$report_dir/shop"
# A namespace's annotations that put its pods on the real node (PodNodeSelector and
# PodTolerationRestriction, enabled by the bed's apiserver), indented for the YAML they go into.
placement() { # indent
  printf '%sscheduler.alpha.kubernetes.io/node-selector: %s=true\n' "$1" "$TAINT_KEY"
  printf '%sscheduler.alpha.kubernetes.io/defaultTolerations: '"'"'[{"key":"%s","operator":"Equal","value":"true","effect":"NoSchedule"}]'"'"'\n' "$1" "$TAINT_KEY"
}

cleanup() {
  local status=$?
  if [[ $status -ne 0 ]]; then
    say "failed; operator logs, pods and events:"
    kubectl -n pubsub-system logs -l app.kubernetes.io/name=pubsub-operator --tail=100 --prefix || true
    kubectl get pubsub -A -o wide || true
    kubectl get pods -A -o wide | grep -v kwok-node || true
    kubectl -n shop get events --sort-by=.lastTimestamp 2>/dev/null | tail -n 30 || true
  fi
  if [[ "${E2E_KEEP:-}" == 1 ]]; then
    say "keeping the operator and the samples (helm -n pubsub-system uninstall pubsub-operator)"
  else
    kubectl delete -k "$report_dir/shop" --ignore-not-found --wait=false >/dev/null 2>&1 || true
    helm -n pubsub-system uninstall pubsub-operator --wait --timeout 120s >/dev/null 2>&1 || true
    kubectl delete namespace pubsub-system --ignore-not-found --wait=false >/dev/null 2>&1 || true
  fi
  say "finished with status $status in $((SECONDS - t0))s"
  exit "$status"
}
trap cleanup EXIT

# A previous run's namespaces may still be terminating; a namespace cannot be reused until gone.
for ns in pubsub-system shop; do
  kubectl wait --for=delete "namespace/$ns" --timeout=180s >/dev/null 2>&1 || true
done
kubectl apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Namespace
metadata:
  name: pubsub-system
  annotations:
$(placement "    ")
YAML

pg="$(postgres_bin_dir)"
for db in e2e_orders e2e_payments e2e_notifications; do
  "$pg/psql" -q -h 127.0.0.1 -p "$POSTGRES_PORT" -U pubsub -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
done
db_url() { echo "postgres://pubsub@$NODE_IP:$POSTGRES_PORT/e2e_$1"; }

cat > "$report_dir/shop/kustomization.yaml" <<YAML
# Written by test/e2e/run-local.sh: the kind overlay, with the bed's PostgreSQL and a namespace
# whose pods go to the bed's real node.
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../../../test/e2e/shop
generatorOptions:
  disableNameSuffixHash: true
secretGenerator:
  - { name: order-service-db, behavior: replace, literals: ["url=$(db_url orders)"] }
  - { name: payment-service-db, behavior: replace, literals: ["url=$(db_url payments)"] }
  - { name: notification-service-db, behavior: replace, literals: ["url=$(db_url notifications)"] }
patches:
  - target: { kind: Namespace, name: shop }
    patch: |-
      apiVersion: v1
      kind: Namespace
      metadata:
        name: shop
        annotations:
$(placement "          ")
YAML

say "installing the operator with helm"
# The integration tests apply the chart's cluster-wide objects (admission policies) to the same bed
# without Helm; the release adopts them rather than refusing to install.
helm upgrade --install pubsub-operator charts/operator --namespace pubsub-system --take-ownership \
  -f test/e2e/values.yaml --set "aws.endpointUrl=http://$NODE_IP:$MOTO_PORT" --wait --timeout 300s
mark "operator installed"

say "running the flow"
E2E_KUBE_CONTEXT=pubsub-testbed E2E_SERVICES=1 E2E_OVERLAY=.local/e2e/shop \
  E2E_AWS_ENDPOINT="http://127.0.0.1:$MOTO_PORT" E2E_REPORT="$report_dir/report.json" \
  npx vitest run --config test/e2e/vitest.config.ts
mark "flow passed"
