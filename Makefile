# Hallmark. `make dev` runs the whole thing on a fresh machine; `make test`
# is what CI runs (.ci/run).
export GOTOOLCHAIN := local
GO    ?= go
BIN   ?= bin

.PHONY: all build dev test unit unit-norace e2e bench generate check-generate lint fuzz fuzz-short sbom-compare vuln-compare api-release cross ui-screenshots

all: build

build:
	$(GO) build -buildvcs=auto -o $(BIN)/ ./cmd/hallmark ./cmd/hallmarkd

## cross: the CLI builds for macOS, Windows and Linux on arm64 (everything but
## `hallmark dev`, which is Linux only), the gateway for Linux on arm64.
cross:
	GOOS=darwin GOARCH=arm64 $(GO) build -o /dev/null ./cmd/hallmark
	GOOS=darwin GOARCH=amd64 $(GO) build -o /dev/null ./cmd/hallmark
	GOOS=windows GOARCH=amd64 $(GO) build -o /dev/null ./cmd/hallmark
	GOOS=linux GOARCH=arm64 $(GO) build -o /dev/null ./cmd/hallmark
	GOOS=linux GOARCH=arm64 $(GO) build -o /dev/null ./cmd/hallmarkd

## dev: build the tools (once), start the dev stack, build the example, serve until Ctrl-C.
dev: build
	$(BIN)/hallmark dev up

## test: lint, generated-code check, unit tests with -race (and those too slow
## under it without), every fuzz target briefly, the SBOM comparison with syft,
## then e2e against the real stack.
## Under make test a test whose component is missing fails instead of
## skipping (tests read CI); prerequisites inherit it.
test: export CI := true
test: deps lint check-generate unit unit-norace fuzz-short sbom-compare vuln-compare e2e

## deps: the Debian packages the stack and tests use (runc, docker-registry, busybox-static, postgresql-15, chromium), installed if missing.
deps: build
	$(BIN)/hallmark dev deps

## unit: every unit test with -race; the syft and osv-scalibr comparisons need
## the pinned tools and run in sbom-compare and vuln-compare.
unit:
	$(GO) test -race -count=1 -skip '^TestCompareWith(Syft|Scalibr)$$' ./...

## unit-norace: the tests that skip themselves under -race (too slow there).
unit-norace:
	$(GO) test -count=1 -run 'TestGolangImageRealGoroot' ./internal/devstack/

e2e: build
	$(GO) test -tags e2e -count=1 -timeout 80m -v ./e2e/...

## ui-screenshots: the web view's browser tests (TestUI*, headless Chromium on
## the real stack), keeping PNGs of its main pages in $(BIN)/ui-screenshots/.
ui-screenshots: export CI := true
ui-screenshots: deps
	rm -rf $(BIN)/ui-screenshots
	HALLMARK_UI_SCREENSHOTS=$(abspath $(BIN))/ui-screenshots $(GO) test -tags e2e -count=1 -timeout 30m -run '^TestUI' -v ./e2e/
	ls -l $(BIN)/ui-screenshots/

## bench: verification and admission in process, the store's queries, records
## and vulnerability re-scans, advisory imports and scans (vuln), the web
## view's image page (ui), then on the
## real stack: gateway overhead against BuildKit driven directly and the
## attest step by phase, the same for large contexts (10 and 200 MiB; 1 GiB
## with HALLMARK_BENCH_1GB=1), verification latency, webhook throughput, and
## hallmark verify against cosign. It ends with issue 14's targets next to
## what this run measured (scripts/benchsummary); BENCH_OUT keeps the output.
BENCH_OUT ?= $(BIN)/bench.txt
bench: SHELL := /bin/bash
bench: .SHELLFLAGS := -o pipefail -ec
bench: build
	: > $(BENCH_OUT)
	$(GO) test -run '^$$' -bench . -benchtime 300x ./verify/ ./verify/admission/ ./server/ | tee -a $(BENCH_OUT)
	$(GO) test -run '^$$' -bench . -skip SyncFindings -benchtime 100x -timeout 30m ./store/ | tee -a $(BENCH_OUT)
	$(GO) test -run '^$$' -bench SyncFindings -benchtime 2x -timeout 30m ./store/ | tee -a $(BENCH_OUT)
	$(GO) test -run '^$$' -bench . -benchtime 5x ./vuln/ | tee -a $(BENCH_OUT)
	$(GO) test -run '^$$' -bench ImagePage -benchtime 100x ./ui/ | tee -a $(BENCH_OUT)
	$(GO) test -run '^$$' -bench Lists -benchtime 100x ./ui/ | tee -a $(BENCH_OUT)
	$(GO) test -run '^$$' -bench 'Put|Extract|ReadFile' -benchtime 10x ./builder/contextstore/ | tee -a $(BENCH_OUT)
	$(GO) test -tags e2e -run '^$$' -bench 'GatewayOverhead' -benchtime 30x -timeout 45m ./e2e/... | tee -a $(BENCH_OUT)
	$(GO) test -tags e2e -run '^$$' -bench 'LargeContext' -benchtime 3x -timeout 45m ./e2e/... | tee -a $(BENCH_OUT)
	HALLMARK_E2E_LOG_LEVEL=info $(GO) test -tags e2e -run '^$$' -bench 'Verify' -benchtime 300x -timeout 45m ./e2e/... | tee -a $(BENCH_OUT)
	HALLMARK_E2E_LOG_LEVEL=info $(GO) test -tags e2e -run '^$$' -bench 'Admission' -benchtime 20000x -timeout 45m ./e2e/... | tee -a $(BENCH_OUT)
	$(GO) run ./scripts/benchsummary $(BENCH_OUT)

generate:
	scripts/gotool buf generate

## api-release: record the API as released; later changes must stay compatible
## with it (make lint runs buf breaking against it). Run when cutting a release.
api-release:
	scripts/gotool buf build --exclude-source-info -o -#format=json | python3 -m json.tool --indent 1 > proto/released.json

check-generate: generate
	@git diff --exit-code -- proto || (echo "generated code is stale: run make generate and commit" >&2; exit 1)
	@test -z "$$(git status --porcelain -- proto)" || (git status --porcelain -- proto; echo "generated code is not committed" >&2; exit 1)

## lint: buf lint, buf breaking against the last released API
## (proto/released.json), golangci-lint (depguard enforces the package layout),
## gofmt, go vet, and the CLI cross-compiled for macOS, Windows and arm64.
lint: cross
	scripts/gotool buf lint
	scripts/gotool buf breaking --against proto/released.json
	scripts/gotool golangci-lint run ./...
	scripts/gotool golangci-lint run --build-tags e2e ./e2e/...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); echo "gofmt needed" >&2; exit 1)
	$(GO) vet ./...
	$(GO) vet -tags e2e ./e2e/...

## fuzz: every fuzz target (found by scripts/fuzz) for FUZZTIME each (default 30s).
FUZZTIME ?= 30s
fuzz:
	scripts/fuzz $(FUZZTIME)

## fuzz-short: every fuzz target for 3 s, as CI runs them.
fuzz-short:
	scripts/fuzz 3s

## sbom-compare: Hallmark's SBOM against syft's on the fixture images (builds
## the pinned syft once); fails if syft finds a package Hallmark misses.
sbom-compare:
	tools/syft/compare.sh

## vuln-compare: Hallmark's vulnerability findings against osv-scalibr's (its
## offline OSV matcher) on the same images and OSV archives (builds the pinned
## osv-scalibr once); fails if scalibr reports a finding Hallmark misses.
vuln-compare:
	tools/osv-scalibr/compare.sh
