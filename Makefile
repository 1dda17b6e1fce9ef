# poolbench build.  `make` builds build/poolbench and build/libpoolbench.a;
# `make run` and `make check` first install missing Debian packages
# (scripts/deps.sh).  ISA flags are given per file, by name suffix, never to
# the whole build: a binary built here runs on any x86-64.

CC      ?= gcc
CXX     ?= g++
ifeq ($(origin CC),default)
CC := gcc
endif
BUILD   ?= build
OPT     ?= -O2
CSTD    := -std=c17
WARN    := -Wall -Wextra -Werror
CPPFLAGS += -D_GNU_SOURCE -Ikernels -Iverify -Iharness
CFLAGS  ?= $(OPT) -g
CXXFLAGS ?= $(OPT) -g
SAN     :=
LDLIBS  += -ljansson -lm -lpthread

# Per-file ISA flags: files named *_avx2.c and *_avx512.c only, never the
# tests (tests/test_avx2.c must run, and report SKIPPED, on any x86-64).
ISA_avx2   := -mavx2 -mfma
ISA_avx512 := -mavx2 -mfma -mavx512f -mavx512bw -mavx512vl
isa_src = $(filter-out tests/%,$<)
isa_flags = $(if $(filter %_avx512.c,$(isa_src)),$(ISA_avx512),$(if $(filter %_avx2.c,$(isa_src)),$(ISA_avx2)))
# OpenMP only where it is used (and at link time).
omp_flags = $(if $(filter %_openmp.c,$<),-fopenmp)

# Optional libraries: their backends build only when present (make run
# installs them; see scripts/deps.sh).
have_pkg = $(shell pkg-config --exists $(1) 2>/dev/null && echo yes)
HAVE_ONEDNN  := $(if $(wildcard /usr/include/oneapi/dnnl/dnnl.h),yes)
HAVE_XNNPACK := $(if $(wildcard /usr/include/xnnpack.h),yes)
HAVE_PAPI    := $(if $(wildcard /usr/include/papi.h),yes)
HAVE_GBENCH  := $(if $(wildcard /usr/include/benchmark/benchmark.h),yes)

# The program: its entry point and subcommands; everything else is library.
PROG_C   := $(wildcard harness/main.c harness/cmd_*.c)
# The C++ shim over Google Benchmark is library code: the tests use it too.
LIB_CXX  := $(wildcard harness/*.cc)
LIB_C    := $(wildcard kernels/*.c verify/*.c) $(filter-out $(PROG_C),$(wildcard harness/*.c))
ifneq ($(HAVE_ONEDNN),yes)
LIB_C := $(filter-out kernels/%onednn%.c,$(LIB_C))
endif
ifneq ($(HAVE_XNNPACK),yes)
LIB_C := $(filter-out kernels/%xnnpack%.c,$(LIB_C))
endif
TEST_C   := $(wildcard tests/*.c)

CPPFLAGS += $(if $(HAVE_ONEDNN),-DPB_HAVE_ONEDNN) $(if $(HAVE_XNNPACK),-DPB_HAVE_XNNPACK) \
            $(if $(HAVE_PAPI),-DPB_HAVE_PAPI) $(if $(HAVE_GBENCH),-DPB_HAVE_GBENCH)
EXT_LIBS := $(if $(HAVE_ONEDNN),-ldnnl) $(if $(HAVE_XNNPACK),-lXNNPACK -lpthreadpool) \
            $(if $(HAVE_PAPI),-lpapi) -fopenmp

# Build facts for the results record, baked into harness/sysinfo.c only (as
# C string literals): the exact flags each kind of file is compiled with.
qstr = '"$(subst ",\",$(strip $(1)))"'
GBENCH_VERSION := $(shell pkg-config --modversion benchmark 2>/dev/null)
BUILDINFO := -DPB_BUILD_CC=$(call qstr,$(CC)) -DPB_BUILD_CXX=$(call qstr,$(CXX)) \
    -DPB_BUILD_CFLAGS=$(call qstr,$(CSTD) $(WARN) $(CFLAGS) $(SAN)) \
    -DPB_BUILD_CPPFLAGS=$(call qstr,$(CPPFLAGS)) \
    -DPB_BUILD_CXXFLAGS=$(call qstr,-std=c++17 $(WARN) $(CXXFLAGS) $(SAN)) \
    -DPB_BUILD_ISA_AVX2=$(call qstr,$(ISA_avx2)) -DPB_BUILD_ISA_AVX512=$(call qstr,$(ISA_avx512)) \
    -DPB_BUILD_OPENMP=$(call qstr,-fopenmp) \
    -DPB_BUILD_LDLIBS=$(call qstr,$(EXT_LIBS) $(LDLIBS)) \
    -DPB_BUILD_GBENCH_VERSION=$(call qstr,$(GBENCH_VERSION)) \
    -DPB_SOURCE_DIR=$(call qstr,$(CURDIR))

LIB      := $(BUILD)/libpoolbench.a
PROG     := $(BUILD)/poolbench
TESTS    := $(BUILD)/run_tests

obj = $(patsubst %,$(BUILD)/obj/%.o,$(1))
LIB_O   := $(call obj,$(LIB_C) $(LIB_CXX))
PROG_O  := $(call obj,$(PROG_C))
TEST_O  := $(call obj,$(TEST_C))

$(BUILD)/obj/harness/sysinfo.c.o: CPPFLAGS += $(BUILDINFO) -include $(BUILD)/buildcommit.h
$(BUILD)/obj/harness/sysinfo.c.o: $(BUILD)/buildcommit.h

# The commit the binary is built from, and whether tracked files differed
# from it then (a record names the code that ran, not the checkout at run
# time).  Rewritten only when it changes, so sysinfo.c recompiles then.
$(BUILD)/buildcommit.h: FORCE
	@mkdir -p $(dir $@)
	@c=$$(git -C $(CURDIR) rev-parse HEAD 2>/dev/null); \
	d=$$(git -C $(CURDIR) status --porcelain --untracked-files=no 2>/dev/null | head -c1 | wc -c); \
	printf '#define PB_BUILD_COMMIT "%s"\n#define PB_BUILD_DIRTY %d\n' "$$c" "$$d" > $@.tmp; \
	if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi

FORCE:

.PHONY: all run check test deps clean asan-check report FORCE
all: $(PROG) $(LIB)

deps:
	@bash scripts/deps.sh

$(BUILD)/obj/%.c.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) $(CPPFLAGS) $(CFLAGS) $(SAN) $(isa_flags) $(omp_flags) -MMD -MP -c $< -o $@

$(BUILD)/obj/%.cc.o: %.cc
	@mkdir -p $(dir $@)
	$(CXX) -std=c++17 $(WARN) $(CPPFLAGS) $(CXXFLAGS) $(SAN) -MMD -MP -c $< -o $@

$(LIB): $(LIB_O)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

# The program and the tests link with g++ when the C++ shim is in the library.
LINKER   = $(if $(LIB_CXX),$(CXX),$(CC))
CXX_LIBS = $(if $(LIB_CXX),-lbenchmark)
$(PROG): $(PROG_O) $(LIB)
	$(LINKER) $(SAN) -o $@ $(PROG_O) $(LIB) $(CXX_LIBS) $(EXT_LIBS) $(LDLIBS)

$(TESTS): $(TEST_O) $(LIB)
	$(LINKER) $(SAN) -o $@ $(TEST_O) $(LIB) -lcheck -lsubunit -lrt $(CXX_LIBS) $(EXT_LIBS) $(LDLIBS)

test: $(TESTS) $(PROG)
	$(TESTS)
	bash tests/cli.sh $(PROG)
	bash tests/cli_report.sh $(PROG)

# make check: the unit tests plain, then again under ASan + UBSan in a
# separate build tree (every sanitizer finding is fatal).
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
check: deps
	$(MAKE) --no-print-directory test
	$(MAKE) --no-print-directory BUILD=$(BUILD)/asan SAN="$(SAN_FLAGS)" OPT=-O1 test

run: deps
	$(MAKE) --no-print-directory all
	$(PROG) run

# Figures and report.md/report.html for the newest record of this host
# (results/<host>/<stamp>-<commit>/report/).
report: all
	$(PROG) report

clean:
	rm -rf $(BUILD)

-include $(LIB_O:.o=.d) $(PROG_O:.o=.d) $(TEST_O:.o=.d)
