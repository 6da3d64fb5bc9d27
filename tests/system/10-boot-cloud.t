#!/bin/bash
# Boot Debian's cloud kernel with the test initramfs (scripts/initramfs-init)
# and check what init prints against independent oracles:
#   - the init marker;
#   - uname -a names the kernel version of the Debian package we fetched;
#   - /proc/cpuinfo lists one processor with the fpu/sse2/lm flags;
#   - the guest RTC reads the host's time (within 5 minutes);
#   - sha256 of 32 MiB of zeros computed in the guest equals the host's;
#   - poweroff -f ends qtemu with status 0.
. "$(dirname "$0")/lib.sh"
TODO=""
LIMIT=${QTEMU_BOOT_TIMEOUT:-1200}
KERNEL="$GUEST/vmlinuz-cloud"
INITRD="$GUEST/initramfs.cpio.gz"
echo "1..7"
if [ ! -f "$KERNEL" ] || [ ! -f "$INITRD" ]; then
    for i in 1 2 3 4 5 6 7; do echo "ok $i # SKIP no guest in $GUEST (make fetch)"; done
    exit 0
fi
start=$(date +%s)
timeout "$LIMIT" "$QTEMU" -kernel "$KERNEL" -initrd "$INITRD" -m 512M -nographic -no-reboot \
    -append "console=ttyS0 qtemu.test=1 panic=-1" < /dev/null > "$TMP/console" 2> "$TMP/stderr"
rc=$?
end=$(date +%s)
echo "# qtemu exit status $rc after $((end - start)) s; last console lines:"
tail -n 15 "$TMP/console" | sed 's/^/#   /'
[ -s "$TMP/stderr" ] && head -n 5 "$TMP/stderr" | sed 's/^/# stderr: /'

t() { if "$@"; then echo "ok $((++n)) - $name$TODO"; else echo "not ok $((++n)) - $name$TODO"; fi; }
n=0
name="init marker printed"; t grep -q "QTEMU-INIT-MARKER" "$TMP/console"
version=$(sed -n 's/^linux-image-//p' "$GUEST/vmlinuz-cloud.pkg")
name="uname -a names kernel $version"; t grep -q "QTEMU-UNAME: Linux .* $version " "$TMP/console"
name="/proc/cpuinfo: one processor with fpu sse2 lm"
t sh -c "sed -n '/QTEMU-CPUINFO-BEGIN/,/QTEMU-CPUINFO-END/p' '$TMP/console' > '$TMP/cpuinfo' &&
         [ \$(grep -c '^processor' '$TMP/cpuinfo') -eq 1 ] &&
         grep '^flags' '$TMP/cpuinfo' | grep -qw fpu &&
         grep '^flags' '$TMP/cpuinfo' | grep -qw sse2 &&
         grep '^flags' '$TMP/cpuinfo' | grep -qw lm"
guest_epoch=$(sed -n 's/^QTEMU-RTC-EPOCH: \([0-9]*\).*/\1/p' "$TMP/console" | tr -d '\r')
name="guest RTC within 300 s of host time (guest ${guest_epoch:-none})"
t sh -c "[ -n '$guest_epoch' ] && d=\$(( $start - ${guest_epoch:-0} )) && [ \${d#-} -le 300 ]"
host_sum=$(dd if=/dev/zero bs=1M count=32 2>/dev/null | sha256sum | cut -d' ' -f1)
name="guest sha256 of 32 MiB zeros equals the host's ($host_sum)"
t grep -q "QTEMU-SHA256: $host_sum" "$TMP/console"
name="init finished (QTEMU-DONE)"; t grep -q "QTEMU-DONE" "$TMP/console"
name="poweroff -f ends qtemu with status 0"; t [ $rc -eq 0 ]
exit 0
