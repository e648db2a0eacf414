# Development tasks; scripts/ does the work. `make` lists the targets.
GO ?= go
# golangci-lint is pinned and built from the Go module proxy by `go run` (no binary to install).
GOLANGCI_LINT ?= $(GO) run github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.15.0
# The packages that hold concurrency (journal, group committer, statements) run under -race.
RACE_PKGS := ./ledger/... ./claims/...

.DEFAULT_GOAL := help
.PHONY: help run stop test test-import-job lint build fmt clean

help: ## list the targets
	@awk 'BEGIN { FS = ":.*## " } /^[a-zA-Z_-]+:.*## / { printf "  make %-8s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

run: ## start the local PostgreSQL, migrate, seed demo data and serve
	scripts/run.sh

stop: ## stop the local PostgreSQL
	scripts/pg-down.sh

test: ## vet, then run every test against throwaway PostgreSQL clusters (RACE_PKGS under -race)
	$(GO) vet ./...
	CGO_ENABLED=1 $(GO) test -count=1 -timeout 20m -race $(RACE_PKGS)
	$(GO) test -count=1 -timeout 20m $$($(GO) list ./... | grep -Ev '/(ledger|claims)(/|$$)')

test-import-job: ## the import job test with the issue's 200,000 lines: SIGKILL mid-job, restart, resume (about 100 s)
	TRCLEDGER_IMPORT_JOB_LINES=200000 $(GO) test -count=1 -timeout 10m -run TestImportJobSurvivesKill -v ./cmd/trcledger

lint: ## run golangci-lint (.golangci.yml; first run builds the pinned version)
	$(GOLANGCI_LINT) run ./...

build: ## build var/bin/trcledger
	$(GO) build -o var/bin/trcledger ./cmd/trcledger

.PHONY: bench
bench: ## measure the targets of DESIGN.md section 9 (BENCH=short, or BENCH=full)
	scripts/bench.sh

.PHONY: abuse
abuse: ## send the requests that once exhausted the server and show its memory (scripts/abuse.sh)
	scripts/abuse.sh

fmt: ## gofmt every Go file
	$(GO) fmt ./...

clean: ## stop the local PostgreSQL, delete its cluster and var/ (key, tokens, binaries)
	scripts/pg-down.sh --remove
	rm -rf var
