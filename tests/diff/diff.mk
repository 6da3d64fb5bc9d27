# tests/diff/diff.mk - the x86 differential harness (tests/diff/*.c), included
# by the GNUmakefile. `make check` runs a quick set (DIFF_QUICK_CASES per
# form, fixed seed so it repeats); `make check-long` (seed from the clock)
# runs >= DIFF_LONG_TOTAL cases plus the decoder vs Capstone cross-check on >= 1,000,000 random byte strings. The coverage table
# goes to stdout and $(BUILD)/diff-coverage.txt.

DIFF_SRCS := $(wildcard tests/diff/*.c)
DIFF_BIN := $(BUILD)/tests/diff/x86_diff
DIFF_QUICK_CASES ?= 24
DIFF_QUICK_SEED ?= 1
DIFF_LONG_CASES ?= 256
DIFF_LONG_TOTAL ?= 1000000
DIFF_DECODE_CASES ?= 400000

$(DIFF_BIN): $(DIFF_SRCS) tests/diff/diff.h tests/diff/policy.inc tests/diff/known.inc $(LIBQTEMU) | $(BUILD)/.deps-ok
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $(DIFF_SRCS) $(LIBQTEMU) $(LDFLAGS) $(LIBS)

.PHONY: check-diff check-long
check-diff: $(DIFF_BIN)
	@echo "== $(DIFF_BIN) (quick: $(DIFF_QUICK_CASES) cases per form)"
	@$(DIFF_BIN) -n $(DIFF_QUICK_CASES) -s $(DIFF_QUICK_SEED) -o $(BUILD)/diff-coverage.txt > $(BUILD)/diff-quick.log; rc=$$?; \
	  tail -n 1 $(BUILD)/diff-quick.log; echo "coverage table: $(BUILD)/diff-coverage.txt"; \
	  if [ $$rc -eq 77 ]; then echo "x86 diff: skipped (host cannot run the native side)"; rc=0; fi; \
	  if [ $$rc -ne 0 ]; then sed -n '/^Mismatches/,/^Undefined/p' $(BUILD)/diff-quick.log | head -60; fi; \
	  exit $$rc

check-long: $(DIFF_BIN) $(BUILD)/tests/test_decode_capstone
	$(DIFF_BIN) -n $(DIFF_LONG_CASES) -t $(DIFF_LONG_TOTAL) -o $(BUILD)/diff-coverage.txt
	QTEMU_DECODE_CASES=$(DIFF_DECODE_CASES) $(BUILD)/tests/test_decode_capstone --jobs=1
