# testroms/testroms.mk - bare-metal x86-64 test ROMs (included by GNUmakefile).
#
# Each testroms/x86_64/<name>.S except the shared start.S and lib.S is one
# ROM: assembled with the host GNU toolchain and linked with start.S, lib.S
# and rom.ld into build/$(MODE)/testroms/<name>.elf, an ELF64 with a PVH
# entry note that `qtemu -kernel` boots. tests/system/20-testroms.t runs them.

TESTROM_DIR := testroms/x86_64
TESTROM_OUT := $(BUILD)/testroms
TESTROM_COMMON := start lib
TESTROM_NAMES := $(filter-out $(TESTROM_COMMON),$(basename $(notdir $(wildcard $(TESTROM_DIR)/*.S))))
TESTROMS := $(TESTROM_NAMES:%=$(TESTROM_OUT)/%.elf)
TESTROM_CFLAGS := -m64 -ffreestanding -nostdlib -fno-pic -mno-red-zone -Wa,--noexecstack -I$(TESTROM_DIR)
TESTROM_HDRS := $(TESTROM_DIR)/rom.h

.PHONY: testroms
testroms: $(TESTROMS)

$(TESTROM_OUT)/%.o: $(TESTROM_DIR)/%.S $(TESTROM_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(TESTROM_CFLAGS) -c $< -o $@

$(TESTROM_OUT)/%.elf: $(TESTROM_OUT)/%.o $(TESTROM_COMMON:%=$(TESTROM_OUT)/%.o) $(TESTROM_DIR)/rom.ld
	$(CC) $(TESTROM_CFLAGS) -static -no-pie -Wl,--build-id=none -Wl,-T,$(TESTROM_DIR)/rom.ld \
		-Wl,-z,noexecstack -Wl,--no-warn-rwx-segments -o $@ $< $(TESTROM_COMMON:%=$(TESTROM_OUT)/%.o)

# Keep the objects of the shared start-up: make would delete them as intermediates.
.SECONDARY: $(TESTROM_COMMON:%=$(TESTROM_OUT)/%.o) $(TESTROM_NAMES:%=$(TESTROM_OUT)/%.o)
