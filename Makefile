# shelterlink - top-level build.
#
# `make` builds the programs, `make test` runs every unit and integration
# test, `make demo` runs the main job on the embedded default (a private
# mosquitto on loopback and SQLite files).  Everything is built out of
# tree in $(BUILD) so a sanitizer build can sit beside the normal one.

BUILD    ?= build
CC       ?= cc
VERSION  := 0.1.0

WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
            -Wmissing-prototypes -Wformat=2 -Wpointer-arith -Wundef -Wvla \
            -Wwrite-strings -Wimplicit-fallthrough
CPPFLAGS += -D_POSIX_C_SOURCE=200809L -Icommon \
            -DSL_VERSION='"$(VERSION)"' \
            -DSL_SCHEMA_DIR='"$(abspath schemas)"' \
            -DSL_DATA_DIR='"$(abspath data)"'
CFLAGS   ?= -O2 -g
override CFLAGS += -std=c11 $(WARN) -MMD -MP
# libgps is opened at run time (shelter-agent/position.c), by the soname
# of the libgps-dev found here.
LIBGPS   := $(shell objdump -p "$$($(CC) -print-file-name=libgps.so)" 2>/dev/null | \
              awk '/SONAME/ { print $$2 }')
CPPFLAGS += $(if $(LIBGPS),-DSL_LIBGPS='"$(LIBGPS)"')
LDLIBS   := -lpaho-mqtt3as -lmosquitto -ljansson -lsqlite3 -lcsv -ldl -lpthread -lm

COMMON_SRC := $(wildcard common/*.c)
COMMON_OBJ := $(COMMON_SRC:%.c=$(BUILD)/obj/%.o)
LIBCOMMON  := $(BUILD)/libcommon.a

AGENT_SRC  := $(wildcard shelter-agent/*.c)
HQ_SRC     := $(wildcard hq/*.c)
AGENT_OBJ  := $(AGENT_SRC:%.c=$(BUILD)/obj/%.o)
HQ_OBJ     := $(HQ_SRC:%.c=$(BUILD)/obj/%.o)
# Program modules minus main.c, so unit tests can link the real code.
AGENT_LIB  := $(filter-out %/main.o,$(AGENT_OBJ))
HQ_LIB     := $(filter-out %/main.o,$(HQ_OBJ))

PROGRAMS   := $(BUILD)/shelter-agent $(BUILD)/hq

UNIT_SRC   := $(wildcard tests/unit/test_*.c)
UNIT_BIN   := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
# Defined before the rules that need it: make expands prerequisites
# when it reads them.  The HQ load generator: used by `make bench` and the hq kill test.
LOADGEN    := $(BUILD)/bench/hq_load
TOOLS_BIN  := $(if $(wildcard tests/schema/sl-validate.c),$(BUILD)/tests/sl-validate)

.PHONY: all test sanitize valgrind demo deps bench fuzz fuzz-smoke clean format format-check

all: $(PROGRAMS)

# Tests see the programs' internal headers; objects are kept for -MMD.
$(BUILD)/obj/tests/%.o: CPPFLAGS += -Ihq -Ishelter-agent
.SECONDARY:

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(LIBCOMMON): $(COMMON_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/shelter-agent: $(AGENT_OBJ) $(LIBCOMMON)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/hq: $(HQ_OBJ) $(LIBCOMMON)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

# Unit tests link the module under test from the programs too: test_hq_*
# gets hq's modules, test_agent_* gets shelter-agent's.
$(BUILD)/tests/test_hq_%: $(BUILD)/obj/tests/unit/test_hq_%.o $(HQ_LIB) $(LIBCOMMON)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ -lcmocka $(LDLIBS) -o $@
# The allocation test and benchmark compare against GLPK (libglpk-dev):
# only they link it, hq itself does not depend on it.
$(BUILD)/tests/test_hq_alloc $(BUILD)/bench/bench_alloc: LDLIBS += -lglpk
$(BUILD)/tests/test_agent_%: $(BUILD)/obj/tests/unit/test_agent_%.o $(AGENT_LIB) $(LIBCOMMON)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ -lcmocka $(LDLIBS) -o $@
$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(LIBCOMMON)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ -lcmocka $(LDLIBS) -o $@
$(BUILD)/tests/sl-validate: $(BUILD)/obj/tests/schema/sl-validate.o $(LIBCOMMON)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

# The one test command: every unit test, the JSON Schema suite, the ajv
# differential and the integration tests, closed by "N passed, N failed".
test: $(PROGRAMS) $(UNIT_BIN) $(TOOLS_BIN) $(LOADGEN)
	@BUILD=$(BUILD) tests/run

# SL_SANITIZE tells the scale tests (hq kill, replay) to run a smaller
# instance: the sanitizers slow C code several times, and CI has 30 min.
sanitize:
	SL_SANITIZE=1 $(MAKE) BUILD=build-san CC=clang \
	  CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined" \
	  LDFLAGS="-fsanitize=address,undefined" test

# Integration tests with every program under valgrind.  The durability,
# GPS and form tests repeat the same code paths hundreds of times with
# real timing; under valgrind they would take most of CI's budget.
VALGRIND_TESTS ?= e2e agent_dispatch agent_import tls
valgrind: $(PROGRAMS)
	@for t in $(VALGRIND_TESTS:%=tests/integration/test_%.sh); do \
	  echo "# ---- $$t under valgrind"; \
	  SL_VALGRIND=1 BUILD=$(BUILD) $$t || exit 1; \
	done

demo: $(PROGRAMS)
	@BUILD=$(BUILD) tools/demo

deps:
	@tools/deps

BENCH_SRC  := $(wildcard tests/bench/bench_*.c)
BENCH_BIN  := $(BENCH_SRC:tests/bench/%.c=$(BUILD)/bench/%)
$(LOADGEN): $(BUILD)/obj/tests/bench/hq_load.o
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@
$(BUILD)/bench/%: $(BUILD)/obj/tests/bench/%.o $(AGENT_LIB) $(HQ_LIB) $(LIBCOMMON)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

bench: $(PROGRAMS) $(BENCH_BIN) $(LOADGEN)
	@BUILD=$(BUILD) tests/bench/run

FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=build-fuzz/%)
fuzz: $(FUZZ_BIN)
# Harnesses link common/ and shelter-agent's modules (not its main.c);
# the shelter-list one links hq's importer and store instead.
FUZZ_LIB_SRC := $(COMMON_SRC) $(filter-out %/main.c,$(AGENT_SRC))
build-fuzz/fuzz_shelters: FUZZ_LIB_SRC := $(COMMON_SRC) hq/shelterimport.c hq/store.c
build-fuzz/fuzz_shelters: hq/shelterimport.c hq/store.c hq/hq.h
# The survey's readers (WKT, GeoJSON, xBD) link hq's geometry, readers and
# store (route.c for distances).
FUZZ_SURVEY_SRC := $(COMMON_SRC) hq/geo.c hq/building.c hq/drone.c hq/route.c hq/store.c
FUZZ_SURVEY_BIN := build-fuzz/fuzz_wkt build-fuzz/fuzz_geojson build-fuzz/fuzz_xbd
$(FUZZ_SURVEY_BIN): FUZZ_LIB_SRC := $(FUZZ_SURVEY_SRC)
$(FUZZ_SURVEY_BIN): $(FUZZ_SURVEY_SRC) hq/hq.h
build-fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIB_SRC)
	@mkdir -p $(@D)
	clang $(CPPFLAGS) -Ishelter-agent -Ihq -std=c11 -g -O1 \
	  -fsanitize=fuzzer,address,undefined $< $(FUZZ_LIB_SRC) $(LDLIBS) -o $@

# Each harness for FUZZ_SECONDS on its committed corpus; new inputs go to
# a scratch directory so the committed corpus stays small.
FUZZ_SECONDS ?= 20
fuzz-smoke: $(FUZZ_BIN)
	@for f in $(FUZZ_BIN); do \
	  name=$$(basename $$f); name=$${name#fuzz_}; \
	  scratch=$$(mktemp -d); \
	  echo "# fuzz $$name for $(FUZZ_SECONDS)s"; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -max_len=20000 $$scratch \
	     tests/fuzz/corpus/$$name >$$scratch.log 2>&1 \
	     || { tail -40 $$scratch.log; rm -rf $$scratch $$scratch.log; exit 1; }; \
	  grep -E '^Done' $$scratch.log; rm -rf $$scratch $$scratch.log; \
	done

format:
	clang-format -i $(COMMON_SRC) $(wildcard common/*.h) $(AGENT_SRC) $(HQ_SRC) \
	  $(wildcard shelter-agent/*.h hq/*.h)
format-check:
	clang-format --dry-run --Werror $(COMMON_SRC) $(wildcard common/*.h) \
	  $(AGENT_SRC) $(HQ_SRC) $(wildcard shelter-agent/*.h hq/*.h)

clean:
	rm -rf build build-san build-fuzz

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
