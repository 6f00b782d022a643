# ecert — thin driver over CMake. The targets a C user expects:
#   make            build (release, warnings as errors)
#   make run        the main job: a local federation (trust node + 4 provinces)
#                   on loopback, initialised once in var/demo, in the foreground
#   make check      all tests, then all tests again under ASan+UBSan
#   make check-pg   only the PostgreSQL tests (a throwaway server, scripts/pg.sh)
#   make bench      crypto throughput (ecert API vs raw OpenSSL, side by side), the
#                   rate limiter's cost per call (bench_rate), then end-to-end load
#                   on a real local federation, and cert/search with crypto_engine =
#                   openssl against fast on every node (bench/node_bench.sh)
#   make fuzz       every libFuzzer target for FUZZ_SECONDS each (clang)
#   make bench-scale  BENCH_N certificates into SQLite and PostgreSQL: import
#                   rate, size, lookup latency at 10^4 and at BENCH_N
#   make install PREFIX=DIR
# Each target first runs scripts/install-deps.sh, which installs what is
# missing (Debian packages, npm test modules) and does nothing otherwise.

PREFIX       ?= /usr/local
BUILD        ?= build
ASAN_BUILD   ?= build-asan
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_JOBS    ?= 2
JOBS         ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS  ?=

.PHONY: all build run check check-unit check-asan check-pg bench bench-scale fuzz install deps clean

all: build

deps:
	@bash scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=$(PREFIX) $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

DEMO ?= var/demo

run: build
	@test -f $(DEMO)/federation.json || $(BUILD)/ecert federation init $(DEMO)
	@PATH="$(CURDIR)/$(BUILD):$$PATH" $(BUILD)/ecert federation run $(DEMO)

check: check-unit check-asan
	@echo "make check: all suites passed (release and ASan+UBSan)"

check-unit: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

check-asan: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang -DECERT_SANITIZE=ON $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	@cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --output-on-failure -j $(JOBS)

# Only the PostgreSQL part of the suite (CTest label pg: the store suite on a
# throwaway server from scripts/pg.sh, the fault tests, the e2e federation).
check-pg: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -L pg

# Growth to a province's size (not part of check): BENCH_N certificates into
# SQLite and PostgreSQL, import rate, size per certificate, lookup latencies
# at 10^4 and at BENCH_N. The server is a throwaway one (scripts/pg.sh) with
# the settings below; docs/store.md has the figures and the 10^8 estimate.
BENCH_N          ?= 1000000
BENCH_FILE_BYTES ?= 1024
BENCH_PG_OPTS    ?= -c shared_buffers=2GB -c max_wal_size=8GB -c checkpoint_timeout=30min \
                    -c maintenance_work_mem=512MB -c wal_compression=on
bench-scale: build
	@state=$(CURDIR)/$(BUILD)/bench-scale/pg; \
	PG_OPTS="$(BENCH_PG_OPTS)" bash scripts/pg.sh fresh $$state >/dev/null || exit 1; \
	$(BUILD)/bench/bench_scale --n $(BENCH_N) --file-bytes $(BENCH_FILE_BYTES) \
		--ecert $(BUILD)/ecert --dir $(CURDIR)/$(BUILD)/bench-scale --pg "$$(cat $$state/dsn)" \
		--pg-pidfile "$$(cat $$state/cluster)/data/postmaster.pid"; \
	rc=$$?; bash scripts/pg.sh destroy $$state; exit $$rc

bench: build
	@$(BUILD)/bench/bench_crypto
	@$(BUILD)/bench/bench_pdf
	@$(BUILD)/bench/bench_ofd
	@$(BUILD)/bench/bench_rate
	@bash bench/node_bench.sh $(BUILD)

fuzz: deps
	@cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang -DECERT_FUZZ=ON -DECERT_SANITIZE=ON $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS)
	@FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_JOBS=$(FUZZ_JOBS) bash scripts/fuzz.sh $(FUZZ_TARGETS)

install: build
	@cmake --install $(BUILD) --prefix $(PREFIX)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
