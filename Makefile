# eventwire: every entry point of the project. See README.md.
SHELL := /bin/bash
GO    ?= go
BIN   := bin

export CDK_DISABLE_VERSION_CHECK := true
export CDK_DISABLE_CLI_TELEMETRY := true
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

.PHONY: all build test lint demo deps bench fuzz

all: build

deps:
	$(GO) mod download

build: deps
	$(GO) build -o $(BIN)/eventwire ./cmd/eventwire

test: deps
	$(GO) test -count=1 ./...

lint: deps
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

bench: deps
	$(GO) test -run '^$$' -bench . -benchmem ./...

demo: build
	@echo "demo: to be filled in"
