# eventwire: every entry point of the project. See DEVELOPMENT.md.
SHELL := /bin/bash
GO    ?= go
BIN   := bin

# The Go release that builds, tests, lints and scans everything here, the CLI
# and the deployer Lambda included: go1.27.3 fixes the standard-library
# vulnerabilities govulncheck finds reachable under go1.26.8 (DEVELOPMENT.md,
# "Which Go"). The go command fetches it once, as a module, and switches to it.
# Exported, so every go command a target or a test starts uses it too,
# whatever the machine's `go env GOTOOLCHAIN` says. Override it on the command
# line, e.g. make lint-vuln GOTOOLCHAIN=go1.26.8
export GOTOOLCHAIN := go1.27.3

export CDK_DISABLE_VERSION_CHECK := true
export CDK_DISABLE_CLI_TELEMETRY := true
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

.PHONY: all build test lint demo deps bench bench-micro fuzz dist

all: build

deps:
	$(GO) mod download

build: deps
	$(GO) build -o $(BIN)/eventwire ./cmd/eventwire

test: deps
	$(GO) test -count=1 ./...
	$(GO) test -race -count=1 -run Interleav ./internal/deployer/

lint: deps lint-go lint-cfn lint-vuln

# The Go lint, which .ci/run runs before the tests: gofmt (listing the files
# it would change), go vet, and staticcheck with the checks staticcheck.conf
# names. staticcheck is pinned; go run builds it once into the build cache
# (about a minute) and starts it from there after that.
.PHONY: lint-go
STATICCHECK_VERSION := v0.8.2

lint-go: deps
	@out=$$("$$($(GO) env GOROOT)/bin/gofmt" -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

# The bulk apply against AWS's quotas, parse throughput and the deployer's
# start-up, into BENCHMARKS.md: see internal/tools/bench.
bench: deps
	$(GO) run ./cmd/eventwire-bench -o BENCHMARKS.md

# The Go micro-benchmarks (plan cost per function against moto, parser).
bench-micro: deps
	$(GO) test -run '^$$' -bench . -benchmem ./...

# Release archives in dist/: see scripts/dist.sh (VERSION defaults to git
# describe; the release workflow passes the tag).
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

dist: deps
	rm -rf dist
	GO=$(GO) VERSION=$(VERSION) scripts/dist.sh

# The main job against moto on loopback: see internal/tools/demo.
demo: deps
	$(GO) run ./cmd/eventwire-demo -examples examples

# --- The deployer Lambda and the CDK stack (infra/) ---------------------------
.PHONY: lambda cdk-cli synth lint-cfn

CDK := node_modules/.bin/cdk

# The deployer for provided.al2023 on arm64. -trimpath and a fixed timestamp
# make the bootstrap and the zip byte-identical between builds, so the CDK
# asset hash (and the deployed code) only changes when the code does.
lambda:
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build -trimpath -buildvcs=false -tags lambda.norpc -ldflags='-s -w' -o build/deployer/bootstrap ./functions/deployer
	cd build/deployer && TZ=UTC touch -t 198001010000 bootstrap && rm -f ../deployer.zip && TZ=UTC zip -X -q ../deployer.zip bootstrap
	@echo "lambda: build/deployer/bootstrap, build/deployer.zip"

# The CDK CLI pinned in package-lock.json; npm ci reinstalls it when
# node_modules is missing or older than package.json / package-lock.json.
cdk-cli: node_modules/.package-lock.json

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

# Synthesizes the stack into cdk.out, offline (see the exports at the top).
# functionNamePrefix is required; a deployment passes its own (docs/deploy.md).
CDK_SYNTH_CONTEXT ?= -c functionNamePrefix=example-

synth: lambda cdk-cli
	$(CDK) synth --quiet --no-notices --output cdk.out $(CDK_SYNTH_CONTEXT)
	@ls cdk.out/*.template.json

# cfn-lint over the synthesized template, and over one synthesized with
# every optional part turned on (sample context values, into build/). W3005
# (a redundant DependsOn) is emitted by CDK itself.
CDK_ALL_OPTIONS := -c functionNamePrefix=orders- -c notificationEmail=ops@example.com \
	-c codeCommitRepository=definitions -c codeCommitBranches=main \
	-c pipelineRoleArn=arn:aws:iam::111122223333:role/pipeline \
	-c 'targetGroupArns=arn:aws:elasticloadbalancing:*:111122223333:targetgroup/orders-*/*' \
	-c apiIds=a1b2c3d4e5 -c allowTakeover=true \
	-c definitionWriters=arn:aws:iam::111122223333:role/ci-definitions \
	-c 'keyPrefixFunctions={"orders/":"orders-"}' \
	-c 'driftSchedule=cron(0 3 ? * MON-FRI *)' -c driftHeal=true -c sweepShare=0.25 -c sweepConcurrency=5

lint-cfn: synth
	@command -v cfn-lint >/dev/null || { echo "cfn-lint not found: pip install cfn-lint"; exit 1; }
	cfn-lint --ignore-checks W3005 -- cdk.out/*.template.json
	$(CDK) synth --quiet --no-notices --output build/cdk.out.all-options $(CDK_ALL_OPTIONS)
	cfn-lint --ignore-checks W3005 -- build/cdk.out.all-options/*.template.json

# --- Known vulnerabilities: govulncheck, offline -------------------------------
.PHONY: lint-vuln vulndb

# Both pinned. The vulnerability database is built from the OSV files that
# golang.org/x/vulndb carries in data/osv, at this commit, with that module's
# own cmd/indexdb, into the v1 layout govulncheck reads (index/db.json,
# index/modules.json, index/vulns.json, ID/GO-....json); govulncheck then reads
# it through -db file://, so the scan itself asks no server anything.
GOVULNCHECK_VERSION := v1.9.0
VULNDB_VERSION      := v0.0.0-20261105234957-e22db6528018

# Under build/, cached: the tools are built once per version (govulncheck
# also per Go release, as it type-checks that release's standard library),
# the database once per vulndb version (written beside its place and moved
# there when complete, so an interrupted build is not taken for a finished
# one). About 2 minutes the first time, mostly compiling indexdb; seconds
# after that.
GOVULNCHECK := build/tools/$(GOTOOLCHAIN)/govulncheck@$(GOVULNCHECK_VERSION)/govulncheck
INDEXDB     := build/tools/indexdb@$(VULNDB_VERSION)/indexdb
VULNDB      := build/vulndb/$(VULNDB_VERSION)

$(GOVULNCHECK):
	@mkdir -p $(@D)
	GOBIN=$(CURDIR)/$(@D) $(GO) install golang.org/x/vuln/cmd/govulncheck@$(GOVULNCHECK_VERSION)

$(INDEXDB):
	@mkdir -p $(@D)
	GOBIN=$(CURDIR)/$(@D) $(GO) install golang.org/x/vulndb/cmd/indexdb@$(VULNDB_VERSION)

vulndb: $(VULNDB)/index/db.json

$(VULNDB)/index/db.json: | $(INDEXDB)
	$(GO) mod download golang.org/x/vulndb@$(VULNDB_VERSION)
	rm -rf $(VULNDB).tmp
	$(INDEXDB) -vulns "$$($(GO) list -m -f '{{.Dir}}' golang.org/x/vulndb@$(VULNDB_VERSION))/data/osv" -out $(VULNDB).tmp
	rm -rf $(VULNDB) && mv $(VULNDB).tmp $(VULNDB)

# Fails (exit 3) on any vulnerability the code reaches, in the standard
# library or a module. GOPROXY=off: the scan runs on the modules and the Go
# release already fetched. Twice: every package for this machine, then the
# deployer as make lambda builds it (linux/arm64, its build tag).
GOVULNCHECK_RUN := GOPROXY=off $(GOVULNCHECK) -db file://$(CURDIR)/$(VULNDB)

lint-vuln: deps $(GOVULNCHECK) vulndb
	$(GOVULNCHECK_RUN) ./...
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GOVULNCHECK_RUN) -tags lambda.norpc ./functions/deployer
