# Hallmark. `make dev` runs the whole thing on a fresh machine; `make test`
# is what CI runs (.ci/run).
export GOTOOLCHAIN := local
GO    ?= go
BIN   ?= bin

.PHONY: all build cross dev test unit e2e bench generate check-generate lint fuzz

all: build

build:
	$(GO) build -o $(BIN)/ ./cmd/hallmark ./cmd/hallmarkd

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

## test: lint, generated-code check, unit tests with -race, then e2e against the real stack.
test: deps lint check-generate unit e2e

## deps: the Debian packages the stack and tests use (runc, docker-registry, busybox-static), installed if missing.
deps: build
	$(BIN)/hallmark dev deps

unit:
	$(GO) test -race -count=1 ./...

e2e: build
	$(GO) test -tags e2e -count=1 -timeout 80m -v ./e2e/...

## bench: verification and admission in process, then on the real stack: gateway
## overhead against BuildKit driven directly, verification latency, webhook
## throughput, and hallmark verify against cosign.
bench: build
	$(GO) test -run '^$$' -bench . -benchtime 300x ./verify/ ./verify/admission/ ./server/
	$(GO) test -tags e2e -run '^$$' -bench 'GatewayOverhead' -benchtime 5x -timeout 45m ./e2e/...
	HALLMARK_E2E_LOG_LEVEL=info $(GO) test -tags e2e -run '^$$' -bench 'Verify|Admission' -benchtime 300x -timeout 45m ./e2e/...

generate:
	scripts/gotool buf generate

check-generate: generate
	@git diff --exit-code -- proto || (echo "generated code is stale: run make generate and commit" >&2; exit 1)
	@test -z "$$(git status --porcelain -- proto)" || (git status --porcelain -- proto; echo "generated code is not committed" >&2; exit 1)

## lint: buf lint, golangci-lint, gofmt, go vet (also with -tags e2e), and the cross builds.
lint: cross
	scripts/gotool buf lint
	scripts/gotool golangci-lint run ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); echo "gofmt needed" >&2; exit 1)
	$(GO) vet ./...
	$(GO) vet -tags e2e ./e2e/...

## fuzz: every fuzz target for FUZZTIME each (default 30s).
FUZZTIME ?= 30s
FUZZ_TARGETS = builder:FuzzExtractTar builder:FuzzInspectDockerfile builder/debian:FuzzReadDeb internal/intoto:FuzzParse \
	attest/sbom:FuzzDpkgStatus attest/sbom:FuzzApkInstalled attest/sbom:FuzzRPMHeader attest/sbom:FuzzRPMDB \
	attest/sbom:FuzzGoBuildInfo attest/sbom:FuzzLayer verify:FuzzVerifyBundle verify:FuzzParseReferrer \
	verify/policy:FuzzLoad verify/admission:FuzzReview
fuzz:
	@for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; fn=$${t##*:}; echo "fuzz $$pkg $$fn"; \
	  $(GO) test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 1x ./$$pkg/ || exit 1; \
	done
