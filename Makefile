# exechunt — run `make` (or `make help`) for the list of targets.
SHELL        := /bin/bash
GO           ?= go
BIN          := bin
VERSION      ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT       ?= $(shell git rev-parse HEAD 2>/dev/null)$(shell git diff --quiet HEAD 2>/dev/null || echo +dirty)
LDFLAGS      := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
export CGO_ENABLED := 0
# Real public logs used by the corpus tests (never copied into this repository).
EXECHUNT_CORPUS ?= $(abspath ../shared/corpus)
export EXECHUNT_CORPUS
FUZZTIME     ?= 10s
CROSS        := windows/amd64 darwin/arm64 linux/amd64

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {gsub(/\$$\$$/, "$$", $$2); printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## build bin/exechunt, bin/exechunt.ext and the example plugins in bin/plugins/ (+ SHA256SUMS) (CGO off)
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/exechunt ./cmd/exechunt
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/exechunt.ext ./cmd/exechunt-ext
	@set -e; mkdir -p $(BIN)/plugins; for d in plugins/*/; do \
	  n=$$(basename $$d); echo "plugin $$n"; \
	  $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/plugins/$$n ./$$d; \
	done; cd $(BIN)/plugins && sha256sum $$(ls | grep -v '^SHA256SUMS$$') > SHA256SUMS

.PHONY: proto
proto: ## regenerate the plugin protocol's Go code (needs protoc, protoc-gen-go, protoc-gen-go-grpc; see docs/plugins.md)
	cd extension/pluginsdk/pluginproto && protoc --go_out=. --go_opt=paths=source_relative \
	  --go-grpc_out=. --go-grpc_opt=paths=source_relative tables.proto

.PHONY: run
run: build ## build, then run the orchestrator (exechunt serve: embedded store in ./exechunt-data, built-in packs)
	$(BIN)/exechunt serve

.PHONY: test
test: ## unit, corpus and short fuzz tests (corpus from ../shared/corpus or $$EXECHUNT_CORPUS)
	$(GO) test -count=1 ./...
	$(MAKE) --no-print-directory fuzz FUZZTIME=$(FUZZTIME)

# Go 1.26's fuzz coordinator can fail a target with a bare "context deadline
# exceeded" when -fuzztime ends while a worker is mid-call (golang/go#75804, fixed
# in Go 1.27). A real finding always writes a failing input, so a failure without
# one that reports that deadline is shown and ignored.
.PHONY: fuzz
fuzz: ## run every fuzz target for FUZZTIME each (default 10s)
	@set -e; for pkg in $$($(GO) list ./...); do \
	  dir=$$($(GO) list -f '{{.Dir}}' $$pkg); \
	  for t in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$dir/*_test.go 2>/dev/null | sed 's/^func //'); do \
	    echo "fuzz $$pkg $$t ($(FUZZTIME))"; \
	    if ! $(GO) test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) $$pkg > /tmp/exechunt-fuzz.log 2>&1; then \
	      if grep -q 'context deadline exceeded' /tmp/exechunt-fuzz.log && ! grep -q 'Failing input written' /tmp/exechunt-fuzz.log; then \
	        echo "  $$t: the fuzz coordinator's deadline race (golang/go#75804), no failing input: ignored"; \
	      else cat /tmp/exechunt-fuzz.log; exit 1; fi; \
	    fi; \
	  done; \
	done

.PHONY: check
check: ## gofmt, go vet for windows/amd64, darwin/arm64, linux/amd64 (tests included, so a test file without its build tag shows)
	@out=$$(gofmt -l $$(git ls-files '*.go'; git ls-files --others --exclude-standard '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@set -e; for p in $(CROSS); do echo "vet $$p"; GOOS=$${p%/*} GOARCH=$${p#*/} $(GO) vet ./...; done

.PHONY: bench
bench: build ## benchmarks: reader vs raw BinXML decode, analysis throughput, Sigma engine vs sigma-go, scan --sigma vs reading, peak RSS
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 3x ./tables/... ./offline/... ./sigma/engine/ ./cmd/exechunt/ ./cmd/exechunt-ext/ ./orchestrator/...
	@echo "peak RSS of exechunt events: whole corpus, then its largest file, then its largest EVTX"
	@$(GO) run ./internal/tools/peakrss -- $(BIN)/exechunt events -q "$(EXECHUNT_CORPUS)"
	@$(GO) run ./internal/tools/peakrss -- $(BIN)/exechunt events -q "$$(find "$(EXECHUNT_CORPUS)" -type f \( -name '*.evtx' -o -name '*.json' \) -printf '%s %p\n' | sort -n | tail -1 | cut -d' ' -f2-)"
	@$(GO) run ./internal/tools/peakrss -- $(BIN)/exechunt events -q "$$(find "$(EXECHUNT_CORPUS)" -type f -name '*.evtx' -printf '%s %p\n' | sort -n | tail -1 | cut -d' ' -f2-)"
	@echo "peak RSS of exechunt scan --pack all over the whole corpus (exit 2: one corpus file holds an event cut short by its source)"
	@$(GO) run ./internal/tools/peakrss -- $(BIN)/exechunt scan -q --pack all "$(EXECHUNT_CORPUS)"

.PHONY: eval
eval: ## detection quality over the corpus: confusion table per technique
	$(GO) test -count=1 -run 'TestEvaluate' -v ./internal/eval/

.PHONY: eval-packs
eval-packs: ## run every hunt pack over the corpus: recall per technique, benign findings per 1,000
	$(GO) test -count=1 -run 'TestEvaluatePacks' -v ./internal/packeval/

.PHONY: eval-catalog
eval-catalog: ## every LOLBAS execution command and GTFOBins shell/command/reverse-shell/download example as a process creation: row score and packs, every miss; benign Linux administration below 50
	$(GO) test -count=1 -run 'TestEvaluateCatalog' -v ./internal/catalogeval/

.PHONY: clean
clean: ## remove build output
	rm -rf $(BIN)
