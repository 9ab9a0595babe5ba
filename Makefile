# pubsub-operator: every target installs what it needs on a fresh machine.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
TOOLS := $(ROOT)/.tools
NODE_DIR := $(TOOLS)/node/node_modules/node/bin
# Use the machine's Node when it is 24 or newer, otherwise a project-local Node 24 from the npm registry.
SYSTEM_NODE_MAJOR := $(shell node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
ifeq ($(shell [ $(SYSTEM_NODE_MAJOR) -ge 24 ] && echo yes),yes)
NODE_BIN_DIR :=
else
NODE_BIN_DIR := $(NODE_DIR)
export PATH := $(NODE_DIR):$(PATH)
endif
BED := $(ROOT)/hack/testbed

.PHONY: help
help: ## Show the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{ printf "  make %-14s %s\n", $$1, $$2 }'

# ---- toolchain ---------------------------------------------------------------------------
$(NODE_DIR)/node:
	@echo "[make] installing Node 24 from the npm registry into .tools/ (machine has Node $(SYSTEM_NODE_MAJOR))"
	npm install --prefix $(TOOLS)/node --no-audit --no-fund --loglevel=error node@24

.PHONY: node
node: $(if $(NODE_BIN_DIR),$(NODE_DIR)/node)

node_modules/.installed: package.json package-lock.json | node
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

.PHONY: deps
deps: node_modules/.installed ## Install Node and the project's npm dependencies

# ---- checks and tests --------------------------------------------------------------------
.PHONY: lint
lint: deps ## Lint and check formatting
	npx eslint .
	npx prettier --check .

.PHONY: typecheck
typecheck: deps ## Type-check the whole project
	npx tsc -p tsconfig.json

.PHONY: test-unit
REPORTS := $(ROOT)/.local/reports
VITEST_REPORT = --reporter=default --reporter=json --outputFile.json=$(REPORTS)/$(1).json

test-unit: deps ## Unit tests
	npx vitest run --project unit $(call VITEST_REPORT,unit)

.PHONY: test-integration
test-integration: deps env-up ## Integration tests against the local test bed
	source .local/env.sh && npx vitest run --project integration $(call VITEST_REPORT,integration)

.PHONY: manifests
manifests: deps ## Regenerate the CRDs and admission policies (config/crd, charts/operator) from src/crds
	npm run manifests

.PHONY: verify-manifests
verify-manifests: deps ## Fail when the committed CRDs or admission policies differ from what src/crds generates
	npm run manifests:check

.PHONY: test
test: lint typecheck verify-manifests test-unit test-integration ## Everything CI runs: lint, typecheck, unit and integration tests
	@node hack/test-summary.ts $(REPORTS)/unit.json $(REPORTS)/integration.json

# ---- the local test bed ------------------------------------------------------------------
.PHONY: env-up
env-up: node ## Start (or reuse) the local test bed; writes .local/env.sh
	$(BED)/up.sh

.PHONY: env-down
env-down: ## Stop the local test bed
	$(BED)/down.sh

.PHONY: env-status
env-status: ## Report the local test bed
	$(BED)/status.sh

# ---- running -----------------------------------------------------------------------------
.PHONY: run
run: deps ## Run the operator against the current kubeconfig, or the local test bed when none is configured
	$(ROOT)/hack/run.sh

# ---- packaging: chart, kustomize config, ArgoCD, e2e ---------------------------------------------
.PHONY: config-from-chart
config-from-chart: deps ## Render config/rbac and config/manager from charts/operator
	source .local/env.sh 2>/dev/null || true; HELM="$${HELM:-helm}" node config/default/render-from-chart.ts

.PHONY: argocd-cm
argocd-cm: deps ## Write deploy/argocd/argocd-cm.yaml from the ArgoCD health checks
	node deploy/argocd/generate.js argocd-cm

.PHONY: test-argocd
test-argocd: deps ## ArgoCD health checks: every health_test.yaml case through its health.lua in Lua 5.1
	@if ! command -v lua5.1 >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "[make] installing lua5.1 (Debian package)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq lua5.1 >/dev/null; \
	  else \
	    echo "[make] SKIPPED test-argocd: lua5.1 is not installed and installing it needs root (apt-get install lua5.1)"; \
	    exit 0; \
	  fi; \
	fi; \
	mkdir -p .local; \
	node deploy/argocd/generate.js cases > .local/argocd-health-cases.lua; \
	lua5.1 deploy/argocd/test/run.lua .local/argocd-health-cases.lua

# `make test` runs the ArgoCD health checks too.
test: test-argocd

.PHONY: argocd-up argocd-down test-argocd-sync
argocd-up: env-up ## Start ArgoCD on the test bed (built once from the Go module proxy; see docs/argocd.md)
	$(BED)/argocd.sh up

argocd-down: ## Stop ArgoCD on the test bed (env-down stops it too)
	$(BED)/argocd.sh down

test-argocd-sync: deps argocd-up ## The operator chart and the samples synced by a real ArgoCD on the test bed
	source .local/env.sh && npx vitest run --project argocd $(call VITEST_REPORT,argocd)

.PHONY: test-rules
test-rules: ## Alert rules: promtool check and `promtool test rules` (promtool built once from the Go module proxy)
	@promtool="$$($(BED)/build-tools.sh promtool)" && \
	"$$promtool" check rules charts/operator/rules/pubsub-operator.rules.yaml && \
	"$$promtool" test rules test/rules/pubsub-operator.test.yaml

# `make test` runs the alert rule tests too.
test: test-rules

.PHONY: test-e2e
test-e2e: deps ## End-to-end on a kind cluster (needs Docker, kind, kubectl, helm and internet); E2E_KEEP=1 keeps it
	test/e2e/run.sh

.PHONY: test-e2e-local
test-e2e-local: deps ## End-to-end on the local bed's real node (root, Linux; no registry, Docker or internet; docs/e2e.md); E2E_KEEP=1 keeps it
	test/e2e/run-local.sh

# `make test` runs it too where the machine can run the bed's real node (Linux, root, the Debian
# packages installable); elsewhere it says why and skips, like test-argocd without Lua.
.PHONY: test-e2e-local-if-possible
test-e2e-local-if-possible: deps
	@if reason="$$($(BED)/node.sh check 2>&1)"; then test/e2e/run-local.sh; \
	else echo "[make] SKIPPED test-e2e-local: $$reason"; fi
test: test-e2e-local-if-possible

# ---- the sample services on this machine -------------------------------------------------
SERVICES_NAMESPACE ?= shop
SERVICES_PORT ?= 18080
.PHONY: run-services
run-services: deps ## Run the samples' services as local processes with their Deployments' environment (beside make run)
	node hack/run-services.ts --namespace $(SERVICES_NAMESPACE) --port $(SERVICES_PORT)

# ---- benchmarks --------------------------------------------------------------------------
.PHONY: bench
bench: deps env-up ## Messages per second of one payment-service process on the bed (BENCH_ARGS="--runs 3 --concurrency 10,20")
	node bench/payment-throughput.ts $(BENCH_ARGS)

# ---- images without a registry -------------------------------------------------------------
# Both Dockerfiles take their Node 24 base as a build argument. Without BASE_IMAGE, the base is
# pubsub-local/node:24, built by hack/local-base-image.sh from Debian's packages and the npm
# registry, so no container registry is needed (docs/install.md). Needs a running Docker engine.
OPERATOR_IMAGE ?= pubsub-operator:dev
SERVICES_IMAGE ?= pubsub-services:dev
.PHONY: images
images: ## Build the operator and services images (BASE_IMAGE=<a Node 24 image>, else a local pubsub-local/node:24)
	base="$(BASE_IMAGE)"; \
	if [ -z "$$base" ]; then $(ROOT)/hack/local-base-image.sh; base=pubsub-local/node:24; fi; \
	docker build --build-arg BASE_IMAGE="$$base" -t $(OPERATOR_IMAGE) $(ROOT); \
	docker build --build-arg NODE_IMAGE="$$base" -t $(SERVICES_IMAGE) $(ROOT)/services; \
	docker image ls --format '{{.Repository}}:{{.Tag}}  {{.Size}}' | grep -F -e "$(OPERATOR_IMAGE) " -e "$(SERVICES_IMAGE) " -e "$$base " || true

.PHONY: bench-consumer
bench-consumer: deps ## The consumer runtime beside sqs-consumer on ElasticMQ (fetched with mvn into ~/.cache/pubsub-operator; BENCH_ARGS="--seconds 4")
	node bench/consumer-throughput.ts $(BENCH_ARGS)

.PHONY: bench-scaling
bench-scaling: deps env-up ## Time from a backlog appearing to the payment service's replicas changing (default 10 s poll)
	node bench/scale-latency.ts $(BENCH_ARGS)

.PHONY: bench-scale
bench-scale: deps env-up ## One operator, N topic-and-queue units and M idle services: time to Ready, AWS and API calls, memory (BENCH_ARGS="--units 100,1000 --services 100")
	node bench/scale.ts $(BENCH_ARGS)

.PHONY: bench-floor
bench-floor: deps env-up ## CPU of a unit's AWS calls and API requests sent alone through the operator's clients (BENCH_ARGS="--units 1000 --only aws")
	node bench/unit-floor.ts $(BENCH_ARGS)
