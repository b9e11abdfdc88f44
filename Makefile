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

.PHONY: all build run check-run-interrupt test test-integration test-secure vet fmt-check bench bench-micro fuzz fuzz-short soak clean \
        kafka-local-up kafka-local-down kafka-up kafka-down docker-local-up docker-local-down \
        kafka-image image compose-up compose-down compose-logs

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/hookpipe

# run: the pipeline on the embedded broker, with a development receiver that
# verifies every signature and prints each event it gets. RECEIVE_FLAGS go
# to the receiver (RECEIVE_FLAGS="--failure-rate 0.5 --latency 200ms"),
# RUN_FLAGS to hookpipe run. On a terminal, hookpipe run gets a process
# group of its own (set -m), so Ctrl-C reaches only it, not make: it drains
# and exits 0, then the receiver is stopped and make exits with run's
# status. The receiver stays in make's group, so signals sent to that group
# (no terminal, or the terminal closing) still reach it.
RECEIVE_FLAGS ?=
run: build
	@$(BIN) validate --connectors ./connectors.d
	@$(BIN) receive --listen $(RECEIVE_ADDR) --secret "$$HOOKPIPE_DEV_SECRET" $(RECEIVE_FLAGS) & rpid=$$!; \
	trap 'kill $$rpid 2>/dev/null' EXIT; \
	if [ -t 0 ]; then set -m; fi; \
	$(BIN) run --connectors ./connectors.d $(RUN_FLAGS); rc=$$?; \
	set +m; kill $$rpid 2>/dev/null; wait $$rpid 2>/dev/null; exit $$rc

# check-run-interrupt: `make run` under a pseudo-terminal, as a user runs
# it: an event reaches the receiver, then Ctrl-C stops everything and make
# exits 0. Uses make run's ports (8080, 9092, 9999); not part of make test.
check-run-interrupt:
	HOOKPIPE_CHECK_RUN_INTERRUPT=1 $(GO) test -count=1 -v -run '^TestMakeRunInterrupt$$' ./cmd/hookpipe

# test: formatting, vet, the unit tests with the race detector, the
# integration suite on BROKER, and a short fuzz of each target.
test: fmt-check vet
	$(GO) test -race -count=1 -timeout 20m $$($(GO) list ./... | grep -v /integration$$)
	@$(MAKE) --no-print-directory test-integration
	@$(MAKE) --no-print-directory fuzz-short

# test-integration: the integration suite alone, on the broker BROKER names
# (HOOKPIPE_TEST_BROKER in the suite):
#   BROKER=kfake           the embedded broker
#   BROKER=kafka           the real Kafka at KAFKA_BROKERS (make kafka-local-up prints it)
#   BROKER=testcontainers  a Kafka container from KAFKA_IMAGE (needs a Docker engine:
#                          make docker-local-up; without a registry: make kafka-image)
#   unset                  KAFKA_BROKERS if set, else testcontainers when Docker answers
#                          and the image is there, else kfake
# A kind asked for and not available fails; the first line of the output
# names the broker and why the others were not used.
BROKER ?= $(HOOKPIPE_TEST_BROKER)
export HOOKPIPE_TEST_BROKER := $(BROKER)
# Containers publish on 127.0.0.1 only (inside a container testcontainers would
# take the default gateway). The suite turns Ryuk off (TESTCONTAINERS_RYUK_DISABLED)
# only when its image cannot be had, and removes its containers itself either way.
export TESTCONTAINERS_HOST_OVERRIDE ?= 127.0.0.1
test-integration:
	@mkdir -p bin; set -o pipefail; \
	if [ "$(BROKER)" = testcontainers ] && [ -z "$$KAFKA_IMAGE" ]; then \
	  out=$$(integration/kafka-image.sh resolve) || exit 1; export $$(echo "$$out" | tail -n 1); \
	fi; \
	echo "$(GO) test -race -count=1 -timeout 20m -v ./integration   (BROKER=$(BROKER); full log: bin/integration.log)"; \
	$(GO) test -race -count=1 -timeout 20m -v ./integration 2>&1 | tee bin/integration.log \
	  | grep --line-buffered -E '^(integration|--- |ok |FAIL|PASS$$)|RESULT|skipped:' \
	  || { echo "integration tests failed; the end of bin/integration.log:"; tail -n 150 bin/integration.log; exit 1; }

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
	rm -rf bin data .kafka-local .kafka-local-secure

# A real Apache Kafka without Docker (Java 17+ and Maven): one broker on
# 127.0.0.1:19092, or BROKERS=3 for a three-node cluster on 19092-19094.
# SECURE=1 adds a SASL_SSL listener (SCRAM-SHA-512) on 19102 and prints the
# HOOKPIPE_KAFKA_* settings to reach it.
SECURE ?=
kafka-local-up:
	integration/kafka-local.sh up --brokers $(BROKERS) $(if $(filter 1 yes true,$(SECURE)),--secure)

kafka-local-down:
	integration/kafka-local.sh down

# test-secure: the delivery, restart, replay, secrets and security tests on
# a broker of their own with TLS and SASL/SCRAM-SHA-512 (integration/secure-suite.sh).
test-secure:
	integration/secure-suite.sh

# A Docker engine when there is none: installs Debian's docker.io if needed
# and starts dockerd; down stops only a daemon that up started.
docker-local-up:
	integration/docker-local.sh up

docker-local-down:
	integration/docker-local.sh down

# hookpipe/kafka:4.1.1 without a registry: a Debian rootfs with a JRE plus the
# Maven jars, cached in ~/.cache/hookpipe. It takes the official apache/kafka
# image's KAFKA_* environment.
kafka-image:
	integration/kafka-image.sh build

# hookpipe/hookpipe:dev from the Dockerfile (FROM scratch, static binary).
image:
	VERSION=$(VERSION) integration/compose.sh image

# Apache Kafka in Docker on 127.0.0.1:9092 (KAFKA_IMAGE, default the official
# image, else hookpipe/kafka:4.1.1), with `docker compose` or `docker-compose`.
kafka-up:
	integration/compose.sh kafka-up

kafka-down:
	integration/compose.sh kafka-down

# The whole stack in Docker: Kafka, hookpipe on 127.0.0.1:8080 and the
# development receiver; `make compose-logs` shows the deliveries.
compose-up: image
	integration/compose.sh up

compose-logs:
	integration/compose.sh logs receiver

compose-down:
	integration/compose.sh down
