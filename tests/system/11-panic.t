#!/bin/bash
# Without an initramfs the kernel cannot mount a root fs and panics; with
# panic=-1 it reboots at once and -no-reboot makes qtemu exit by itself (0),
# after printing the whole boot log up to the panic line. Run for Debian's
# cloud kernel (LZ4) and the generic amd64 kernel (XZ), both with KASLR on
# (CONFIG_RANDOMIZE_BASE=y): the kernel reports a non-zero "Kernel Offset".
. "$(dirname "$0")/lib.sh"
LIMIT=${QTEMU_BOOT_TIMEOUT:-1200}
echo "1..8"
for k in cloud amd64; do
    kernel="$GUEST/vmlinuz-$k"
    if [ ! -f "$kernel" ]; then
        for i in 1 2 3 4; do echo "ok $((++n)) # SKIP no $kernel (make fetch)"; done
        continue
    fi
    timeout "$LIMIT" "$QTEMU" -kernel "$kernel" -m 256M -nographic -no-reboot \
        -append "console=ttyS0 panic=-1" < /dev/null > "$TMP/console" 2> "$TMP/stderr"
    rc=$?
    echo "# $k: exit status $rc; last console lines:"
    tail -n 4 "$TMP/console" | sed 's/^/#   /'
    check "$k: boot log starts with the Linux banner" grep -q "Linux version 6" "$TMP/console"
    check "$k: panics at 'VFS: Unable to mount root fs'" \
        grep -q "Kernel panic - not syncing: VFS: Unable to mount root fs" "$TMP/console"
    check "$k: KASLR moved the kernel (non-zero Kernel Offset)" \
        grep -q "Kernel Offset: 0x[1-9a-f][0-9a-f]* from" "$TMP/console"
    check "$k: qtemu exits by itself with status 0 (panic=-1 -no-reboot)" [ $rc -eq 0 ]
done
exit 0
