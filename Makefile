# ocagent build. `make` builds build/ocagent; `make test` runs every suite (plain, then ASan+UBSan);
# `make run` starts the agent on its embedded default config; `make deps` installs what is missing.
# Sources are found by wildcard, so a new component is one new file plus one line in agent/components.c.

CC      ?= cc
SAN     ?= 0
PKGS    := libuv libprotobuf-c yaml-0.1 json-c zlib libzstd libnghttp2 openssl
# libcurl's headers only: net/curl_lazy.c loads the library when the first outbound client is made.
PKGS_CFLAGS_ONLY := libcurl
BUILD   := build$(if $(filter 1,$(SAN)),/san,)
GEN     := build/gen

WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 \
           -Wvla -Wpointer-arith -Wcast-qual -Wno-missing-field-initializers
OPT     := -O2 -g
ifeq ($(SAN),1)
OPT     := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all \
           -DOCA_ARENA_MALLOC_EACH=1
endif
VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) $(PKGS_CFLAGS_ONLY) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CPPFLAGS += -I. -I$(GEN) -D_GNU_SOURCE
CFLAGS   += -std=c11 $(OPT) $(PKG_CFLAGS)
LDLIBS   += $(PKG_LIBS) -lhttp_parser -lm -lpthread -ldl

PROTOS     := $(shell find proto -name '*.proto' | sort)
PROTO_C    := $(patsubst proto/%.proto,$(GEN)/%.pb-c.c,$(PROTOS))
PROTO_OBJ  := $(patsubst $(GEN)/%.c,$(BUILD)/gen/%.o,$(PROTO_C))

LIB_SRC  := $(sort $(wildcard base/*.c config/*.c pipeline/*.c codec/*.c receivers/*.c receivers/*/*.c \
              processors/*.c processors/*/*.c exporters/*.c exporters/*/*.c net/*.c extensions/*.c \
              agent/*.c))
LIB_SRC  := $(filter-out agent/main.c,$(LIB_SRC))
LIB_OBJ  := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_SRC))
LIB      := $(BUILD)/libocagent.a

UNIT_SRC := $(sort $(shell find test/unit -name '*_test.c' 2>/dev/null))
UNIT_BIN := $(patsubst test/unit/%.c,$(BUILD)/test/%,$(UNIT_SRC))

.PHONY: FORCE all deps run test test-unit test-integration test-fuzz-smoke fuzz bench bench-tools test-bench-smoke clean gen readme

all: $(BUILD)/ocagent

deps:
	@sh scripts/deps.sh

gen: $(PROTO_C)

# protoc-c writes every generated file of one invocation; one stamp keeps make from running it per file.
$(GEN)/.stamp: $(PROTOS)
	@mkdir -p $(GEN)
	protoc-c -Iproto --c_out=$(GEN) $(patsubst proto/%,%,$(PROTOS))
	@touch $@
$(PROTO_C): $(GEN)/.stamp

# The version (OCA_VERSION) lives in one generated header, rewritten only when it changes: the files
# that include it are rebuilt then (their .d files name it), so an incremental build never mixes
# two versions in one binary, as a -D flag did.
$(GEN)/version.h: FORCE
	@mkdir -p $(GEN)
	@echo '#define OCA_VERSION "$(VERSION)"' >$@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi
FORCE:

# Generated code is not ours to warn about; it gets the plain flags.
$(BUILD)/gen/%.o: $(GEN)/%.c $(GEN)/.stamp
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -w -c $< -o $@

$(BUILD)/obj/%.o: %.c $(GEN)/.stamp | $(GEN)/version.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -MMD -MP -c $< -o $@

$(LIB): $(LIB_OBJ) $(PROTO_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/ocagent: $(BUILD)/obj/agent/main.o $(LIB)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# Every unit test program is its own file plus the shared harness in testutil.c.
# The shared test harness is one object; each test program is one source plus it, with its own
# dependency file so a change to a test-local header rebuilds that test.
$(BUILD)/testutil.o: test/unit/testutil.c test/unit/testutil.h $(GEN)/.stamp
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Itest/unit $(CFLAGS) $(WARN) -Wno-missing-prototypes -MMD -MP -c $< -o $@

$(BUILD)/test/%: test/unit/%.c $(BUILD)/testutil.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Itest/unit $(CFLAGS) $(WARN) -Wno-missing-prototypes -MMD -MP -MF $@.d -o $@ $< \
	    $(BUILD)/testutil.o $(LIB) $(LDLIBS) -lcmocka

run: deps $(BUILD)/ocagent
	./$(BUILD)/ocagent

# The full suite: plain build first, then the same unit and integration suites under ASan+UBSan.
test: deps
	@rm -f build/results-*.txt
	$(MAKE) --no-print-directory test-unit test-integration test-fuzz-smoke test-bench-smoke SAN=0
	$(MAKE) --no-print-directory test-unit test-integration SAN=1
	@sh scripts/summary.sh

test-unit: $(UNIT_BIN)
	@sh scripts/run-unit.sh $(BUILD) $(UNIT_BIN)

test-integration: $(BUILD)/ocagent
	@sh scripts/run-integration.sh $(abspath $(BUILD)/ocagent) $(BUILD)

# libFuzzer targets: clang with -fsanitize=fuzzer; each harness in test/fuzz/<name>_fuzz.c.
FUZZ_SRC  := $(sort $(wildcard test/fuzz/*_fuzz.c))
FUZZ_BIN  := $(patsubst test/fuzz/%.c,build/fuzz/%,$(FUZZ_SRC))
FUZZ_OBJ  := $(patsubst %.c,build/fuzz/obj/%.o,$(LIB_SRC)) \
             $(patsubst $(GEN)/%.c,build/fuzz/gen/%.o,$(PROTO_C))
FUZZ_CFLAGS := -std=c11 -O1 -g -fsanitize=fuzzer-no-link,address,undefined -DOCA_ARENA_MALLOC_EACH=1 $(PKG_CFLAGS)
build/fuzz/obj/%.o: %.c $(GEN)/.stamp | $(GEN)/version.h
	@mkdir -p $(dir $@)
	clang $(CPPFLAGS) $(FUZZ_CFLAGS) $(WARN) -c $< -o $@
build/fuzz/gen/%.o: $(GEN)/%.c $(GEN)/.stamp
	@mkdir -p $(dir $@)
	clang $(CPPFLAGS) $(FUZZ_CFLAGS) -w -c $< -o $@
build/fuzz/%: test/fuzz/%.c $(FUZZ_OBJ)
	clang $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(WARN) -Wno-missing-prototypes -o $@ $^ $(LDLIBS)
fuzz: $(FUZZ_BIN)
test-fuzz-smoke: $(FUZZ_BIN)
	@sh scripts/fuzz-smoke.sh $(FUZZ_BIN)

# The benchmark (test/bench/): a payload generator and the protobuf-c decode bound, always built
# optimised from the plain library. `make bench` prints the table; the smoke run checks the counts.
BENCH_BIN := build/bench/gen build/bench/decode build/bench/oc_load build/bench/prom_gen build/bench/compress
build/bench/%: test/bench/%.c build/libocagent.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -Wno-missing-prototypes -o $@ $< build/libocagent.a $(LDLIBS)
bench-tools: build/ocagent $(BENCH_BIN)
bench: bench-tools
	@sh test/bench/run.sh
test-bench-smoke: bench-tools
	@BENCH_SMOKE=1 sh test/bench/run.sh

# The README's component reference is the output of `ocagent components`.
readme: $(BUILD)/ocagent
	@sh scripts/update-readme.sh $(BUILD)/ocagent

clean:
	rm -rf build

-include $(LIB_OBJ:.o=.d) $(BUILD)/obj/agent/main.d $(UNIT_BIN:=.d) $(BUILD)/testutil.d
