#!/bin/bash
# Boot the uncompressed ELF vmlinux of Debian's cloud kernel through its PVH
# entry note (boot/pvh.c: Xen note XEN_ELFNOTE_PHYS32_ENTRY, struct
# hvm_start_info in EBX). The ELF is .cache/guest/vmlinux-cloud, made by
# scripts/fetch-guest.sh with scripts/extract-vmlinux.py (or extracted here
# into $TMP from vmlinuz-cloud if only that exists).
#
# The oracle for what the start_info carried is the kernel's own log:
#   - "Command line: ..." is the string at cmdline_paddr;
#   - the "BIOS-e820:" lines are the memmap table, expected as boot/e820.c
#     documents it for -m 256M / 512M. On the PVH path Linux's
#     init_pvh_bootparams() adds 0xA0000-0xFFFFF as reserved, so its
#     sanitizer merges our 0x9FC00 and 0xE0000 reserved entries into one
#     0x9FC00-0xFFFFF line (a bzImage boot prints them separately);
#   - no decompressor runs, so there is no KASLR: "Kernel Offset: disabled";
#   - "ACPI: RSDP 0x00000000000E0000" (rsdp_paddr);
#   - "RAMDISK: [mem A-B]" is the modlist entry: B+1-A is the initrd size
#     rounded up to a page.
. "$(dirname "$0")/lib.sh"
LIMIT=${QTEMU_BOOT_TIMEOUT:-1200}
NTESTS=15
echo "1..$NTESTS"

skip_all() {
    while [ $n -lt $NTESTS ]; do echo "ok $((++n)) # SKIP $1"; done
    exit 0
}

VMLINUX="$GUEST/vmlinux-cloud"
INITRD="$GUEST/initramfs.cpio.gz"
EXTRACT="$TOP/scripts/extract-vmlinux.py"
if [ ! -f "$VMLINUX" ]; then
    [ -f "$GUEST/vmlinuz-cloud" ] || skip_all "no $VMLINUX or vmlinuz-cloud (make fetch)"
    if ! python3 "$EXTRACT" "$GUEST/vmlinuz-cloud" "$TMP/vmlinux-cloud" > "$TMP/extract" 2>&1; then
        sed 's/^/# /' "$TMP/extract"
        skip_all "could not extract vmlinux from vmlinuz-cloud (needs python3, lz4)"
    fi
    VMLINUX="$TMP/vmlinux-cloud"
fi

python3 "$EXTRACT" --check "$VMLINUX" > "$TMP/check" 2>&1
rc=$?
sed 's/^/# /' "$TMP/check"
check "vmlinux-cloud is an x86-64 ELF64 with a Xen PHYS32_ENTRY note" [ $rc -eq 0 ]

# e820 line as Linux prints it: BIOS-e820: [mem 0x%016llx-0x%016llx] type
e820() { grep -q "BIOS-e820: \[mem $(printf '0x%016x-0x%016x' "$1" "$2")\] $3" "$TMP/console"; }

# --- 1: no initrd, -m 256M: panics at VFS, exits 0 (panic=-1 -no-reboot)
CMDLINE="console=ttyS0 panic=-1"
timeout "$LIMIT" "$QTEMU" -kernel "$VMLINUX" -append "$CMDLINE" -m 256M -nographic -no-reboot \
    < /dev/null > "$TMP/raw" 2> "$TMP/stderr"
rc=$?
tr -d '\r' < "$TMP/raw" > "$TMP/console"
echo "# panic run: exit status $rc; stderr and last console lines:"
sed 's/^/#   /' "$TMP/stderr"
tail -n 4 "$TMP/console" | sed 's/^/#   /'
check "boot log starts with the Linux banner" grep -q "Linux version 6" "$TMP/console"
check "kernel reports the command line we passed" \
    grep -qx "\[ *[0-9.]*\] Command line: $CMDLINE" "$TMP/console"
check "e820 from start_info: RAM 0-0x9FBFF and 1 MiB-256 MiB" \
    eval 'e820 0 0x9fbff usable && e820 0x100000 0xfffffff usable'
check "e820 from start_info: reserved 0xFEFFC000-0xFEFFFFFF, no other RAM" \
    eval 'e820 0xfeffc000 0xfeffffff reserved &&
          [ $(grep -c "BIOS-e820: .* usable" "$TMP/console") -eq 2 ]'
check "entered through PVH: ISA hole merged into reserved 0x9FC00-0xFFFFF" \
    e820 0x9fc00 0xfffff reserved
check "entered through PVH: no decompressor, so 'Kernel Offset: disabled'" \
    grep -q "Kernel Offset: disabled" "$TMP/console"
check "ACPI RSDP found at 0xE0000" grep -q "ACPI: RSDP 0x00000000000E0000 " "$TMP/console"
check "panics at 'VFS: Unable to mount root fs'" \
    grep -q "Kernel panic - not syncing: VFS: Unable to mount root fs" "$TMP/console"
check "qtemu exits by itself with status 0" [ $rc -eq 0 ]

# --- 2: test initramfs as the PVH module, -m 512M: init runs and powers off
if [ ! -f "$INITRD" ]; then
    while [ $n -lt $NTESTS ]; do echo "ok $((++n)) # SKIP no $INITRD (make fetch)"; done
    exit 0
fi
CMDLINE="console=ttyS0 qtemu.test=1 panic=-1"
timeout "$LIMIT" "$QTEMU" -kernel "$VMLINUX" -initrd "$INITRD" -append "$CMDLINE" -m 512M \
    -nographic -no-reboot < /dev/null > "$TMP/raw" 2> "$TMP/stderr"
rc=$?
tr -d '\r' < "$TMP/raw" > "$TMP/console"
echo "# initramfs run: exit status $rc; stderr and last console lines:"
sed 's/^/#   /' "$TMP/stderr"
tail -n 4 "$TMP/console" | sed 's/^/#   /'
check "initramfs run: kernel reports the command line we passed" \
    grep -qx "\[ *[0-9.]*\] Command line: $CMDLINE" "$TMP/console"
check "initramfs run: e820 RAM 1 MiB-512 MiB" e820 0x100000 0x1fffffff usable
size=$(stat -c %s "$INITRD")
span=$(sed -n 's/.*RAMDISK: \[mem \(0x[0-9a-f]*\)-\(0x[0-9a-f]*\)\].*/\1 \2/p' "$TMP/console")
echo "# RAMDISK span: ${span:-none}; initrd $size bytes"
check "initramfs run: RAMDISK from the modlist is the initrd, page-rounded, in RAM" \
    eval '[ -n "$span" ] && set -- $span &&
          [ $(( $2 + 1 - $1 )) -eq $(( (size + 4095) / 4096 * 4096 )) ] &&
          [ $(( $2 )) -lt $((512 << 20)) ] && [ $(( $1 )) -ge $((1 << 20)) ]'
check "initramfs run: init marker printed" grep -q "QTEMU-INIT-MARKER" "$TMP/console"
check "initramfs run: init powers off, qtemu exits with status 0" [ $rc -eq 0 ]
exit 0
