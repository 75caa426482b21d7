# civic — make targets. `make run` starts the demo city; `make test` is what CI runs.
GO      ?= go
BIN     ?= bin/civic
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
export CGO_ENABLED ?= 0
# The demo's embedded MQTT broker; 1883 is often taken by a system broker.
MQTT_ADDR ?= 127.0.0.1:1884

.PHONY: all web build run test bench fuzz lint vuln clean

all: build

# Front-end packages from npm, copied into internal/web/static/dist for embedding.
web: internal/web/static/dist/leaflet.js

internal/web/static/dist/leaflet.js: web/package.json web/package-lock.json web/build.mjs
	cd web && npm ci --no-audit --no-fund && node build.mjs

build: web
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/civic

# The demo city on http://127.0.0.1:8080 with its own data folder.
run: build
	$(BIN) serve --demo --data ./civic-data --mqtt-addr $(MQTT_ADDR)

# Everything CI checks: formatting, vet, the race-enabled test suite against
# real SQLite, PostgreSQL and Mosquitto, and short benchmark smoke runs.
test: web
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	CGO_ENABLED=1 $(GO) test -race -count=1 -timeout 25m ./...

bench: build
	$(BIN) bench ingest
	$(BIN) bench mqtt --devices 1000
	$(BIN) bench map --bins 10000
	$(BIN) bench route --time 30s
	$(BIN) bench plan --reference 10m
	$(BIN) bench export
	$(BIN) bench load --duration 5m
	$(BIN) bench open311

# Every fuzz target for FUZZTIME each (the seed corpora already run in `make test`).
FUZZTIME ?= 30s
fuzz:
	@set -e; for f in $$(git grep -l '^func Fuzz' -- '*_test.go'); do \
		pkg=./$$(dirname $$f); \
		for t in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$f); do \
			echo "== $$pkg $$t"; $(GO) test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) $$pkg; \
		done; \
	done

# staticcheck and govulncheck are pinned in go.mod's tool block.
lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) mod tidy -diff
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

vuln:
	$(GO) tool govulncheck ./...

clean:
	rm -rf bin web/node_modules
	find internal/web/static/dist -mindepth 1 ! -name README.md -exec rm -rf {} +
