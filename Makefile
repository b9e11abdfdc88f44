# hookpipe — the two commands a user needs are `make run` and `make test`.
SHELL   := /bin/bash
GO      ?= go
BIN     := bin/hookpipe
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
BROKERS ?= 1

# The development receiver's address and the secret the example connectors
# in connectors.d sign with (they read it with env("HOOKPIPE_DEV_SECRET")).
RECEIVE_ADDR        ?= 127.0.0.1:9999
export HOOKPIPE_DEV_SECRET ?= dev-secret

# Fuzz targets: package:target. `make test` runs each briefly; `make fuzz`
# runs each for FUZZTIME.
FUZZ_TARGETS := ./stages/ingest/envelope:FuzzDecode ./pipeline/config:FuzzLoadConnectors ./pipeline/signature:FuzzVerify
FUZZTIME     ?= 5m
SHORT_FUZZTIME ?= 10s

.PHONY: all build run test vet fmt-check bench bench-micro fuzz fuzz-short soak clean \
        kafka-local-up kafka-local-down kafka-up kafka-down

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/hookpipe

# run: the pipeline on the embedded broker, with a development receiver that
# verifies every signature and prints each event it gets.
run: build
	@$(BIN) validate --connectors ./connectors.d
	@set -e; \
	$(BIN) receive --listen $(RECEIVE_ADDR) --secret "$$HOOKPIPE_DEV_SECRET" & rpid=$$!; \
	trap 'kill $$rpid 2>/dev/null; wait $$rpid 2>/dev/null' EXIT INT TERM; \
	$(BIN) run --connectors ./connectors.d $(RUN_FLAGS)

# test: formatting, vet, and every test with the race detector. The
# integration suite runs on $$KAFKA_BROKERS when set (CI sets it to a real
# Apache Kafka), else on a testcontainers Kafka when Docker answers, else on
# the embedded broker.
test: fmt-check vet
	$(GO) test -race -count=1 -timeout 20m $$($(GO) list ./... | grep -v /integration$$)
	@mkdir -p bin; set -o pipefail; \
	echo "$(GO) test -race -count=1 -timeout 20m -v ./integration   (full log: bin/integration.log)"; \
	$(GO) test -race -count=1 -timeout 20m -v ./integration 2>&1 | tee bin/integration.log \
	  | grep --line-buffered -E '^(integration|--- |ok |FAIL|PASS$$)|RESULT' \
	  || { echo "integration tests failed; the end of bin/integration.log:"; tail -n 150 bin/integration.log; exit 1; }
	@$(MAKE) --no-print-directory fuzz-short

fuzz-short:
	@$(MAKE) --no-print-directory fuzz FUZZTIME=$(SHORT_FUZZTIME)

fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; name=$${t##*:}; \
	  echo "fuzz $$name in $$pkg for $(FUZZTIME)"; \
	  $(GO) test $$pkg -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME); \
	done

# soak: the fault tests at a larger size (>= 20k events, >= 5 kills).
soak:
	HOOKPIPE_SOAK=1 $(GO) test -count=1 -timeout 60m -v -run 'Fault|Crash|Rebalance|Outage|Stuck|Broker' ./integration

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

# bench: hookpipe bench, every scenario at its default size (a few minutes);
# BENCH_FLAGS=--quick for a run under a minute, --brokers LIST for a real
# Kafka, --json FILE to keep the results.
BENCH_FLAGS ?=
bench: build
	$(BIN) bench $(BENCH_FLAGS)

# bench-micro: go test benchmarks of the hot pieces, with allocations.
bench-micro:
	$(GO) test -run '^$$' -bench . -benchmem ./pipeline/... ./stages/...

clean:
	rm -rf bin data .kafka-local

# A real Apache Kafka without Docker (Java 17+ and Maven): one broker on
# 127.0.0.1:19092, or BROKERS=3 for a three-node cluster on 19092-19094.
kafka-local-up:
	integration/kafka-local.sh up --brokers $(BROKERS)

kafka-local-down:
	integration/kafka-local.sh down

# Apache Kafka in Docker on localhost:9092.
kafka-up:
	docker compose -f docker-compose.kafka.yml up -d --wait

kafka-down:
	docker compose -f docker-compose.kafka.yml down -v
