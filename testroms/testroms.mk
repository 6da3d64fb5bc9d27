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

# Multiboot v1 test kernel (testroms/multiboot, tests/system/21-multiboot.t):
# one C + assembly source built three ways: ELF32 (mbtest32.elf), the same
# converted to an ELF64 container (mbtest64.elf: 32-bit code, EM_X86_64),
# and a flat binary booted through the a.out kludge (mbtest-aout.bin).
# Boot sector (testroms/bootsector, tests/system/22-bootsector.t): bootsect.bin.
MBROM_DIR := testroms/multiboot
MBROM_CFLAGS := -m32 -ffreestanding -nostdlib -fno-pic -fno-pie -fno-stack-protector \
	-mgeneral-regs-only -O2 -Wall -Wa,--noexecstack
MBROM_LDFLAGS := -m32 -static -no-pie -nostdlib -Wl,--build-id=none -Wl,-z,noexecstack \
	-Wl,--no-warn-rwx-segments -Wl,-T,$(MBROM_DIR)/mb.ld
MBROMS := $(TESTROM_OUT)/mbtest32.elf $(TESTROM_OUT)/mbtest64.elf $(TESTROM_OUT)/mbtest-aout.bin \
	$(TESTROM_OUT)/bootsect.bin
testroms: $(MBROMS)

$(TESTROM_OUT)/mbtest.o: $(MBROM_DIR)/mbtest.c
	@mkdir -p $(dir $@)
	$(CC) $(MBROM_CFLAGS) -c $< -o $@
$(TESTROM_OUT)/mbentry.o: $(MBROM_DIR)/mbentry.S
	@mkdir -p $(dir $@)
	$(CC) $(MBROM_CFLAGS) -c $< -o $@
$(TESTROM_OUT)/mbentry-aout.o: $(MBROM_DIR)/mbentry.S
	@mkdir -p $(dir $@)
	$(CC) $(MBROM_CFLAGS) -DAOUT_KLUDGE -c $< -o $@
$(TESTROM_OUT)/mbtest32.elf: $(TESTROM_OUT)/mbentry.o $(TESTROM_OUT)/mbtest.o $(MBROM_DIR)/mb.ld
	$(CC) $(MBROM_LDFLAGS) -o $@ $(TESTROM_OUT)/mbentry.o $(TESTROM_OUT)/mbtest.o
$(TESTROM_OUT)/mbtest64.elf: $(TESTROM_OUT)/mbtest32.elf
	objcopy -I elf32-i386 -O elf64-x86-64 $< $@
$(TESTROM_OUT)/mbtest-aout.elf: $(TESTROM_OUT)/mbentry-aout.o $(TESTROM_OUT)/mbtest.o $(MBROM_DIR)/mb.ld
	$(CC) $(MBROM_LDFLAGS) -o $@ $(TESTROM_OUT)/mbentry-aout.o $(TESTROM_OUT)/mbtest.o
$(TESTROM_OUT)/mbtest-aout.bin: $(TESTROM_OUT)/mbtest-aout.elf
	objcopy -O binary $< $@
$(TESTROM_OUT)/bootsect.o: testroms/bootsector/bootsect.S
	@mkdir -p $(dir $@)
	$(CC) -m32 -Wa,--noexecstack -c $< -o $@
$(TESTROM_OUT)/bootsect.bin: $(TESTROM_OUT)/bootsect.o testroms/bootsector/bootsect.ld
	$(CC) -m32 -static -no-pie -nostdlib -Wl,--build-id=none -Wl,-T,testroms/bootsector/bootsect.ld \
		-Wl,-z,noexecstack -o $(TESTROM_OUT)/bootsect.elf $<
	objcopy -O binary $(TESTROM_OUT)/bootsect.elf $@
