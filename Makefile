# OpsCentre — an AI Operations Center for Prometheus, Alertmanager and Grafana.
# `make help` lists the targets; heavy logic lives in scripts/.

GO        ?= go
GOFLAGS   ?=
BIN       ?= bin
PKGS      ?= ./...
BENCHTIME ?= 1s

.DEFAULT_GOAL := help

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: binaries plugin ## Build every binary into ./bin and the Grafana plugin into grafana-plugin/dist.

.PHONY: binaries
binaries: ## Build the Go binaries (and the demo) into ./bin in one go build, stamped with version and revision.
	@BIN=$(BIN) GO=$(GO) scripts/build.sh

.PHONY: plugin
plugin: ## Build the Grafana plugin (backend and frontend) into grafana-plugin/dist.
	grafana-plugin/build.sh

.PHONY: test
test: tools lint build ## Install missing test tools, lint, build, then run every test (unit, fuzz seeds, integration, e2e).
	scripts/test.sh

.PHONY: unit
unit: ## Run the Go tests only, without lint.
	$(GO) test -count=1 $(PKGS)

.PHONY: lint
lint: ## go vet, staticcheck, gofmt, a go mod tidy check and mypy --strict on the Python client.
	scripts/lint.sh

.PHONY: bench
bench: build ## Run Go benchmarks and the loopback load tests.
	scripts/bench.sh

.PHONY: e2e
e2e: build ## Run the end-to-end tests against the real Prometheus and Alertmanager.
	$(GO) test -count=1 -v ./test/e2e/...

.PHONY: demo
demo: binaries ## Run the whole loop on loopback with scripted faults and a live view; DURATION=4m runs unattended and checks the incidents.
	DURATION=$(DURATION) scripts/demo.sh

.PHONY: run
run: demo ## Same as demo: the whole stack on embedded defaults.

.PHONY: snapshot
snapshot: binaries ## Render every dashboard panel to PNG: from a loop fed by aiops-sim (DURATION, default 4m), or from PROMETHEUS_URL when set.
	go run ./dashboards/cmd/dashgen snapshot $(if $(PROMETHEUS_URL),-prometheus $(PROMETHEUS_URL),-simulate $(or $(DURATION),4m))

.PHONY: generate
generate: ## Regenerate committed artifacts (rules, Alertmanager config, dashboards).
	scripts/generate.sh

.PHONY: fuzz
fuzz: ## Run each fuzz target for FUZZTIME (default 30s).
	scripts/fuzz.sh

.PHONY: clean
clean: ## Remove built binaries.
	rm -rf $(BIN)

.PHONY: tools
tools: ## Install Prometheus 2/3, promtool, Alertmanager and PostgreSQL when missing.
	scripts/tools.sh
