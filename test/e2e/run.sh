#!/usr/bin/env bash
# `make test-e2e`: the whole product on a real cluster, as a user runs it. Needs Docker, kind,
# kubectl, helm, Node 24 and internet access (base images, moto and PostgreSQL images).
#
#   1. a kind cluster (E2E_CLUSTER, default pubsub-e2e), reused when it exists
#   2. the operator image from ./Dockerfile and the services image from services/Dockerfile (skipped,
#      with the samples that need it, when that file does not exist yet), loaded into kind
#   3. moto (AWS) and PostgreSQL in namespace e2e-infra
#   4. the operator from charts/operator with test/e2e/values.yaml
#   5. test/e2e/flow.test.ts: samples applied, orders followed to PAID, a backlog scaling the payment
#      service up and back, samples deleted and every AWS resource gone
#   6. the cluster deleted, unless E2E_KEEP=1
#
# BASE_IMAGE is passed to both image builds (a local mirror of node:24-alpine, for example).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
cluster="${E2E_CLUSTER:-pubsub-e2e}"
context="kind-$cluster"
say() { printf '[e2e] %s\n' "$*"; }

for tool in docker kind kubectl helm node; do
  command -v "$tool" >/dev/null || { say "missing: $tool (the e2e suite needs docker, kind, kubectl, helm and node)"; exit 1; }
done
docker info >/dev/null 2>&1 || { say "no Docker engine answers: start it first"; exit 1; }

cleanup() {
  local status=$?
  if [[ $status -ne 0 ]]; then
    say "failed; operator logs:"
    kubectl --context "$context" -n pubsub-system logs -l app.kubernetes.io/name=pubsub-operator --tail=200 --prefix || true
    kubectl --context "$context" get pubsub -A -o wide || true
  fi
  if [[ "${E2E_KEEP:-}" == 1 ]]; then
    say "keeping cluster $cluster (kind delete cluster --name $cluster)"
  else
    kind delete cluster --name "$cluster" >/dev/null 2>&1 || true
  fi
  exit "$status"
}
trap cleanup EXIT

if kind get clusters 2>/dev/null | grep -qx "$cluster"; then
  say "reusing kind cluster $cluster"
else
  say "creating kind cluster $cluster"
  kind create cluster --name "$cluster" --wait 120s
fi

build_args=()
[[ -n "${BASE_IMAGE:-}" ]] && build_args+=(--build-arg "BASE_IMAGE=$BASE_IMAGE")
say "building pubsub-operator:e2e"
docker build "${build_args[@]}" -t pubsub-operator:e2e .
kind load docker-image pubsub-operator:e2e --name "$cluster"

services=0
if [[ -f services/Dockerfile ]]; then
  say "building pubsub-services:e2e from services/Dockerfile"
  services_args=()
  [[ -n "${BASE_IMAGE:-}" ]] && services_args+=(--build-arg "NODE_IMAGE=$BASE_IMAGE")
  # The services image builds from its own folder, with its own package.json and lockfile.
  docker build "${services_args[@]}" -t pubsub-services:e2e services
  kind load docker-image pubsub-services:e2e --name "$cluster"
  services=1
else
  say "services/Dockerfile does not exist yet: the order flow and scaling checks are skipped"
fi

say "deploying moto and PostgreSQL"
kubectl --context "$context" apply -f test/e2e/manifests/infra.yaml
kubectl --context "$context" -n e2e-infra rollout status deployment/moto --timeout 180s
kubectl --context "$context" -n e2e-infra rollout status deployment/postgres --timeout 180s

say "installing the operator with helm"
helm --kube-context "$context" upgrade --install pubsub-operator charts/operator \
  --namespace pubsub-system --create-namespace -f test/e2e/values.yaml --wait --timeout 180s

say "running the flow"
E2E_KUBE_CONTEXT="$context" E2E_SERVICES="$services" \
  npx vitest run --config test/e2e/vitest.config.ts
