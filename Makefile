# netburi: `make demo` runs the demo, `make test` runs every test. Both set
# up the machine first (scripts/setup.sh installs missing Debian packages).

GO        ?= go
# A count, not a duration: Go 1.26's fuzz coordinator can fail a target with
# "context deadline exceeded" when a duration runs out on a loaded machine
# (golang/go#75804, fixed in 1.27); a count has no deadline to race.
FUZZTIME  ?= 20000x
# Every fuzz target as package:Target, run briefly by `make test`.
FUZZ_TARGETS := $(shell grep -rl --include='*_test.go' '^func Fuzz' . 2>/dev/null | \
	xargs -r grep -H -o '^func Fuzz[A-Za-z0-9_]*' | sed 's|^\./||; s|/[^/]*_test.go:func |:|')

# The pure-Go packages: they must build without cgo and for the browser
# (wire/imports_test.go checks the same list's import graph).
PURE := ./wire ./transport/... ./components ./replication/... ./internal/fixedcodec ./systems/...

.PHONY: all setup demo test vet pure unit fuzz bench

all: test

setup:
	@bash scripts/setup.sh

demo: setup
	$(GO) run ./demo

test: setup vet pure unit fuzz

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) vet ./...

pure:
	CGO_ENABLED=0 $(GO) build $(PURE)
	GOOS=js GOARCH=wasm $(GO) build $(PURE)

# NETBURI_REQUIRE_GODOT makes the Godot interop tests fail, not skip, when
# godot3-server is missing. The Godot DTLS tests run whenever the DTLS-speaking
# ../shared/godot3-dtls/godot3-server (or $$NETBURI_GODOT_DTLS) exists, and
# skip only when it does not.
unit:
	NETBURI_REQUIRE_GODOT=1 NETBURI_REQUIRE_XVFB=1 $(GO) test -race -count=1 -timeout 30m ./...

fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=./$${t%%:*}; name=$${t##*:}; \
		echo "fuzz $$pkg $$name ($(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$$name$$" -fuzztime $(FUZZTIME) $$pkg; \
	done

BENCHSTAT := $(GO) run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da

# Benchmarks behind BENCHMARKS.md (figures are medians over 10 runs).
bench: setup
	$(GO) test -run '^$$' -bench . -benchmem -count 10 ./... | tee bench.txt
	$(BENCHSTAT) bench.txt
