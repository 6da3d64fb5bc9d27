#!/bin/bash
# A 512-byte PC boot sector given with -kernel (qtemu's stand-in for QEMU's
# "-drive file=boot.img,format=raw" + SeaBIOS; see boot/realmode.c): the
# test boot sector (testroms/bootsector/bootsect.S) checks the entry state
# (0000:7C00, DL = 80h), INT 10h teletype, INT 12h, INT 15h E820 and the
# 18.2 Hz PIT tick arriving at IVT vector 08h and chained to INT 1Ch,
# measured against the RTC's seconds; it exits through isa-debug-exit
# (status 1 = all passed, (N << 1) | 1 = check N failed).
# When qemu-system-x86_64 is installed, the same sector boots from a raw
# disk under QEMU + SeaBIOS as an oracle for the test itself.
. "$(dirname "$0")/lib.sh"
ROMDIR=${TESTROMS_DIR:-$(dirname "$QTEMU")/testroms}
BS="$ROMDIR/bootsect.bin"
QEMU=$(command -v qemu-system-x86_64 || true)

echo "1..6"
if [ ! -f "$BS" ]; then
    for i in 1 2 3 4 5 6; do not_ok "$BS not built (make testroms)"; done
    exit 0
fi
# -icount: the PIT, the 8259 and the RTC all run on virtual time that
# advances 128 ns per instruction, so the ticks counted in one RTC second do
# not depend on how loaded the host is (without it a busy CI host merges
# late timer callbacks and check 5 fails spuriously).
timeout 60 "$QTEMU" -kernel "$BS" -device isa-debug-exit,iobase=0xf4,iosize=0x04 -nographic \
    -no-reboot -icount shift=7 < /dev/null > "$TMP/bs.out" 2> "$TMP/bs.err"
rc=$?
tr -d '\r' < "$TMP/bs.out" > "$TMP/bs.txt"
if [ $rc -eq 1 ]; then ok "boot sector: all checks passed"
else
    not_ok "boot sector: exit status $rc$( [ $((rc & 1)) -eq 1 ] && [ $rc -gt 1 ] && echo " (check $((rc >> 1)) failed)")"
    sed 's/^/#   /' "$TMP/bs.txt" | tail -n 10; tail -n 3 "$TMP/bs.err" | sed 's/^/# stderr: /'
fi
check "INT 10h AH=0Eh teletype reaches COM1" grep -a -q -x "BS hello from 0000:7C00" "$TMP/bs.txt"
check "verdict line on COM1" grep -a -q -x "BS ok" "$TMP/bs.txt"

if [ -n "$QEMU" ]; then
    cp "$BS" "$TMP/disk.img"
    timeout 60 "$QEMU" -accel tcg -drive "file=$TMP/disk.img,format=raw" -display none -serial none \
        -device isa-debug-exit,iobase=0xf4,iosize=0x04 -no-reboot < /dev/null > /dev/null 2> "$TMP/q.err"
    qrc=$?
    check "QEMU oracle: the same sector passes under QEMU + SeaBIOS (status $qrc)" test $qrc -eq 1
else
    ok "QEMU oracle # SKIP qemu-system-x86_64 not installed"
fi

timeout 20 "$QTEMU" -kernel "$BS" -initrd "$BS" -nographic < /dev/null > /dev/null 2> "$TMP/e1.err"; rc=$?
check "-initrd with a boot sector: exit 1 with one line" test $rc -eq 1 -a "$(wc -l < "$TMP/e1.err")" -eq 1
{ cat "$BS"; printf 'x'; } > "$TMP/513.bin"
timeout 20 "$QTEMU" -kernel "$TMP/513.bin" -nographic < /dev/null > /dev/null 2> "$TMP/e2.err"; rc=$?
check "513 bytes ending elsewhere is not a boot sector: exit 1" test $rc -eq 1 -a -s "$TMP/e2.err"
exit 0
