#!/bin/bash
# Multiboot v1 (`-kernel` of a kernel with a Multiboot header), fw_cfg and
# pc-testdev, through the test kernel in testroms/multiboot (built as ELF32,
# as an ELF64 container and as a flat a.out-kludge binary).
#
# The script computes on the host what the kernel must see - RAM size, CPU
# count, each module's length and POSIX cksum (cksum(1)), the -fw_cfg file's
# length and cksum - and passes it on the command line; the kernel checks the
# Multiboot info, the memory map, fw_cfg (port and DMA) and pc-testdev
# against those numbers and exits through isa-debug-exit (status 1 = all
# passed, (N << 1) | 1 = check N failed). The kernel also prints its command
# line, boot loader name and module strings, which the script compares with
# what QEMU's multiboot loader is documented to pass ("KERNEL_PATH CMDLINE",
# the whole -initrd entry per module, ",," = literal comma).
# When qemu-system-x86_64 is installed, the same kernels run under QEMU
# (SeaBIOS + multiboot.bin) as an independent oracle for the test kernel.
. "$(dirname "$0")/lib.sh"
ROMDIR=${TESTROMS_DIR:-$(dirname "$QTEMU")/testroms}
QEMU=$(command -v qemu-system-x86_64 || true)
LIMIT=60

echo "1..15"
head -c 7777 /dev/urandom > "$TMP/a.bin"
head -c 4096 /dev/urandom > "$TMP/b,x.bin"
printf 'fw_cfg says hello\n' > "$TMP/fw.txt"
size() { stat -c %s "$1"; }
crc() { cksum < "$1" | cut -d' ' -f1; }
MODS="$TMP/a.bin first arg,$TMP/b,,x.bin"           # second file name has a comma
MOD0="$TMP/a.bin first arg"
MOD1="$TMP/b,x.bin"

# run NAME EMU KERNEL MEM(MiB) -> $TMP/NAME.out, $TMP/NAME.err, rc in $rc
run() {
    local name=$1 emu=$2 kernel=$3 mib=$4; shift 4
    APPEND="ram=$((mib << 20)) cpus=1 mods=2 m0=$(size "$TMP/a.bin"):$(crc "$TMP/a.bin") m1=$(size "$MOD1"):$(crc "$MOD1") fwfile=opt/org.qtemu/hello fwlen=$(size "$TMP/fw.txt") fwcrc=$(crc "$TMP/fw.txt") testdev=1"
    local extra=(-nographic)
    [ "$emu" = "$QEMU" ] && extra=(-accel tcg -display none -serial stdio)
    timeout "$LIMIT" "$emu" "${extra[@]}" -kernel "$kernel" -initrd "$MODS" -append "$APPEND" \
        -m "${mib}M" -device pc-testdev -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
        -fw_cfg "name=opt/org.qtemu/hello,file=$TMP/fw.txt" -no-reboot "$@" \
        < /dev/null > "$TMP/$name.out" 2> "$TMP/$name.err"
    rc=$?
    tr -d '\r' < "$TMP/$name.out" > "$TMP/$name.txt"
}
show() { grep -a -v '^ok ' "$TMP/$1.txt" | tail -n 20 | sed 's/^/#   /'; tail -n 3 "$TMP/$1.err" | sed 's/^/# stderr: /'; }
verdict() {  # verdict NAME DESC
    if [ $rc -eq 1 ]; then ok "$2: all checks passed"
    else not_ok "$2: exit status $rc$( [ $((rc & 1)) -eq 1 ] && [ $rc -gt 1 ] && echo " (check $((rc >> 1)) failed)")"; show "$1"; fi
}
lines_ok() {  # lines_ok NAME KERNEL LOADER
    grep -a -q -x -F "cmdline: $2 $APPEND" "$TMP/$1.txt" &&
    grep -a -q -x -F "loader: $3" "$TMP/$1.txt" &&
    [ "$(grep -a '^module: ' "$TMP/$1.txt")" = "$(printf 'module: %s\nmodule: %s' "$MOD0" "$MOD1")" ]
}

for v in "mbtest32.elf:ELF32" "mbtest64.elf:ELF64 container (EM_X86_64, 32-bit entry)" "mbtest-aout.bin:flat binary, a.out kludge"; do
    k="$ROMDIR/${v%%:*}"; desc="${v#*:}"
    if [ ! -f "$k" ]; then not_ok "$desc: $k not built (make testroms)"; not_ok "$desc: printed lines"; continue; fi
    run "q-${v%%:*}" "$QTEMU" "$k" 64
    verdict "q-${v%%:*}" "$desc"
    if lines_ok "q-${v%%:*}" "$k" qtemu; then ok "$desc: cmdline = kernel path + -append, loader qtemu, module strings"
    else not_ok "$desc: printed lines differ"; show "q-${v%%:*}"; fi
done

# More RAM: mem_upper / mmap / fw_cfg RAM_SIZE follow -m.
run q-big "$QTEMU" "$ROMDIR/mbtest32.elf" 300
verdict q-big "ELF32 with -m 300M"

# The same kernel under QEMU: the test kernel's expectations hold there too.
if [ -n "$QEMU" ] && [ -f "$ROMDIR/mbtest32.elf" ]; then
    run qemu32 "$QEMU" "$ROMDIR/mbtest32.elf" 64
    verdict qemu32 "QEMU oracle: ELF32 under $(basename "$QEMU")"
    if lines_ok qemu32 "$ROMDIR/mbtest32.elf" qemu; then ok "QEMU oracle: same cmdline and module strings (loader qemu)"
    else not_ok "QEMU oracle: printed lines differ"; show qemu32; fi
    run qemuaout "$QEMU" "$ROMDIR/mbtest-aout.bin" 64
    verdict qemuaout "QEMU oracle: a.out kludge binary"
    # QEMU 7.2 refuses ELF64 multiboot kernels; qtemu accepts them (documented).
    run qemu64 "$QEMU" "$ROMDIR/mbtest64.elf" 64
    if [ $rc -ne 0 ] && grep -q "give a 32bit one" "$TMP/qemu64.err"; then
        ok "QEMU oracle: QEMU refuses the ELF64 container (qtemu's documented extension)"
    else ok "QEMU oracle: QEMU accepts the ELF64 container too (status $rc)"; fi
else
    for i in 1 2 3 4; do ok "QEMU oracle # SKIP qemu-system-x86_64 not installed"; done
fi

# Errors: one line naming the problem, exit status 1.
timeout 20 "$QTEMU" -kernel "$ROMDIR/mbtest32.elf" -initrd "$TMP/missing.bin" -nographic \
    < /dev/null > "$TMP/e1.out" 2> "$TMP/e1.err"; rc=$?
check "missing module: exit 1 naming the file" \
    test $rc -eq 1 -a "$(grep -c "missing.bin" "$TMP/e1.err")" -ge 1
# A Multiboot header (flags 0: no a.out kludge) in a file that is not ELF.
printf '\x02\xb0\xad\x1b\x00\x00\x00\x00\xfe\x4f\x52\xe4' > "$TMP/notelf.bin"
head -c 600 /dev/zero >> "$TMP/notelf.bin"
timeout 20 "$QTEMU" -kernel "$TMP/notelf.bin" -nographic < /dev/null > /dev/null 2> "$TMP/e2.err"; rc=$?
check "multiboot header, not ELF, no a.out kludge: exit 1 with one line" \
    test $rc -eq 1 -a "$(wc -l < "$TMP/e2.err")" -eq 1 -a "$(grep -c "a.out kludge" "$TMP/e2.err")" -eq 1
timeout 20 "$QTEMU" -kernel "$ROMDIR/mbtest32.elf" -fw_cfg name=opt/x -nographic < /dev/null > /dev/null 2> "$TMP/e3.err"; rc=$?
check "-fw_cfg without file= or string=: exit 1" test $rc -eq 1 -a -s "$TMP/e3.err"
# fw_cfg string= item, read by the kernel through the directory and DMA.
printf 'a string item' > "$TMP/s.txt"
timeout "$LIMIT" "$QTEMU" -kernel "$ROMDIR/mbtest32.elf" -append "ram=$((64 << 20)) cpus=1 mods=0 fwfile=opt/s fwlen=$(size "$TMP/s.txt") fwcrc=$(crc "$TMP/s.txt")" \
    -m 64M -fw_cfg name=opt/s,string="a string item" -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
    -nographic -no-reboot < /dev/null > "$TMP/s.out" 2> "$TMP/s.err"; rc=$?
tr -d '\r' < "$TMP/s.out" > "$TMP/s.txt2"; mv "$TMP/s.txt2" "$TMP/s.txt"
verdict s "-fw_cfg string= item, no modules, no pc-testdev"
exit 0
