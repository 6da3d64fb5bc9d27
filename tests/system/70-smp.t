#!/bin/bash
# -smp: boot Debian's cloud kernel with 4 vCPUs and the test initramfs in
# its qtemu.test=smp mode (scripts/initramfs-init), and check against
# independent oracles:
#   - the kernel's own log: MADT used for SMP, 4 CPUs allowed, and
#     "smpboot: Total of 4 processors activated" (every AP came up through
#     INIT-SIPI-SIPI and reached the scheduler);
#   - busybox nproc prints 4 and /sys/devices/system/cpu/online is 0-3;
#   - one sha256 pinned to each CPU (taskset) ran on that CPU (the kernel's
#     /proc/self/stat field 39) and equals the host's sha256 of the same data;
#   - with acpi=off, Debian's generic amd64 kernel (CONFIG_X86_MPPARSE; the
#     cloud kernel has no MP-table parser) finds our MP spec 1.4 table, lists
#     every processor from it and brings them all up (-smp 2);
#   - -smp spellings: for each one, qtemu accepts it exactly when QEMU 7.2's
#     qemu-system-x86_64 does (if installed), and the ones qtemu refuses on
#     purpose (over 8 CPUs, maxcpus > cpus: no hotplug) fail with one line.
. "$(dirname "$0")/lib.sh"
LIMIT=${QTEMU_BOOT_TIMEOUT:-600}
KERNEL="$GUEST/vmlinuz-cloud"
INITRD="$GUEST/initramfs.cpio.gz"
NCPU=4
echo "1..13"

# ---- option parsing (no guest needed)
bad_line() {  # qtemu -smp SPEC must exit 1 with one line naming -smp
    "$QTEMU" -smp "$1" -kernel /nonexistent > "$TMP/out" 2> "$TMP/err"
    [ $? -eq 1 ] && [ "$(wc -l < "$TMP/err")" -eq 1 ] && grep -q -- "-smp $1" "$TMP/err"
}
check "-smp 9 refused (at most 8 vCPUs) with one line" bad_line 9
check "-smp 4,maxcpus=8 refused (no CPU hotplug) with one line" bad_line 4,maxcpus=8
# qtemu "accepts" a spelling when it gets past option parsing to the missing kernel.
qtemu_accepts() { "$QTEMU" -smp "$1" -kernel /nonexistent 2>&1 | grep -q "could not open kernel"; }
qemu_accepts() { timeout 10 qemu-system-x86_64 -smp "$1" -display none -kernel /nonexistent 2>&1 |
                 grep -q "could not open kernel"; }
specs="4 cpus=4 4,sockets=2 sockets=2,cores=2 2,threads=2 sockets=2,cores=2,threads=2 cpus=8,dies=2
       4,sockets=3 8,cores=3 4,clusters=2 4,cores=2,threads=3 4,bogus=1"
if command -v qemu-system-x86_64 > /dev/null; then
    diff=""
    for s in $specs; do
        a=no; qtemu_accepts "$s" && a=yes
        b=no; qemu_accepts "$s" && b=yes
        [ "$a" = "$b" ] || diff="$diff $s(qtemu=$a,qemu=$b)"
    done
    name="-smp spellings accepted/refused as qemu-system-x86_64 does"
    if [ -z "$diff" ]; then ok "$name"; else not_ok "$name:$diff"; fi
else
    echo "ok $((++n)) # SKIP qemu-system-x86_64 not installed (oracle for -smp spellings)"
fi

# ---- the SMP boot
if [ ! -f "$KERNEL" ] || [ ! -f "$INITRD" ]; then
    for i in 4 5 6 7 8 9 10 11 12 13; do echo "ok $i # SKIP no guest in $GUEST (make fetch)"; done
    exit 0
fi
start=$(date +%s)
"$QTEMU" -kernel "$KERNEL" -initrd "$INITRD" -m 512M -nographic -no-reboot -smp $NCPU \
    -append "console=ttyS0 qtemu.test=smp panic=-1" < /dev/null > "$TMP/console" 2> "$TMP/stderr" &
pid=$!
# Wait for init to finish, then give poweroff a bounded grace period.
while kill -0 $pid 2>/dev/null && [ $(( $(date +%s) - start )) -lt "$LIMIT" ] &&
      ! grep -q "QTEMU-SMP-DONE" "$TMP/console"; do sleep 1; done
done_at=$(date +%s)
while kill -0 $pid 2>/dev/null && [ $(( $(date +%s) - done_at )) -lt 30 ]; do sleep 1; done
if kill -0 $pid 2>/dev/null; then
    kill $pid; wait $pid; rc=timeout
else
    wait $pid; rc=$?
fi
end=$(date +%s)
echo "# qtemu exit status $rc after $((end - start)) s; init done after $((done_at - start)) s; last lines:"
tail -n 12 "$TMP/console" | sed 's/^/#   /'
[ -s "$TMP/stderr" ] && head -n 5 "$TMP/stderr" | sed 's/^/# stderr: /'

check "kernel uses the MADT for SMP configuration" \
    grep -q "ACPI: Using ACPI (MADT) for SMP configuration information" "$TMP/console"
check "kernel allows $NCPU CPUs, 0 hotplug" grep -q "smpboot: Allowing $NCPU CPUs, 0 hotplug CPUs" "$TMP/console"
check "smpboot: Total of $NCPU processors activated" \
    grep -q "smpboot: Total of $NCPU processors activated" "$TMP/console"
check "busybox nproc prints $NCPU" grep -q "^QTEMU-NPROC: $NCPU" "$TMP/console"
check "/sys/devices/system/cpu/online is 0-$((NCPU - 1))" \
    grep -q "^QTEMU-CPUS-ONLINE: 0-$((NCPU - 1))" "$TMP/console"
host_sum=$(dd if=/dev/zero bs=64k count=16 2>/dev/null | sha256sum | cut -d' ' -f1)
pinned_ok() {
    for c in $(seq 0 $((NCPU - 1))); do
        grep -q "^QTEMU-ON-CPU: $c $host_sum" "$TMP/console" || return 1
    done
}
check "a sha256 pinned to each CPU 0-$((NCPU - 1)) ran there and equals the host's" pinned_ok
# poweroff -f waits for device probes (device_shutdown -> wait_for_device_probe);
# that hung when the i8042 kept IRQ1 high from one queued byte to the next
# (no new edge for the IOAPIC, so atkbd's probe on another CPU timed out).
check "poweroff -f ends qtemu with status 0 within 30 s (got $rc)" [ "$rc" = 0 ]

# ---- the MP table path: acpi=off on the generic kernel, -smp 2
AMD64="$GUEST/vmlinuz-amd64"
if [ ! -f "$AMD64" ]; then
    for i in 11 12 13; do echo "ok $i # SKIP no $AMD64 (make fetch)"; done
    exit 0
fi
start=$(date +%s)
"$QTEMU" -kernel "$AMD64" -initrd "$INITRD" -m 512M -nographic -no-reboot -smp 2 \
    -append "console=ttyS0 qtemu.test=smp panic=-1 acpi=off" < /dev/null > "$TMP/mp" 2>&1 &
pid=$!
while kill -0 $pid 2>/dev/null && [ $(( $(date +%s) - start )) -lt "$LIMIT" ] &&
      ! grep -q "QTEMU-SMP-DONE\|Kernel panic" "$TMP/mp"; do sleep 1; done
kill $pid 2>/dev/null; wait $pid 2>/dev/null
echo "# acpi=off boot: $(( $(date +%s) - start )) s; MP lines:"
grep -E "MP-table|MultiProcessor|Processor #|smpboot: Total|QTEMU-NPROC" "$TMP/mp" | sed 's/^/#   /'
check "acpi=off: the kernel finds the MP spec 1.4 table in 0xF0000-0xFFFFF" \
    sh -c "grep -q 'found SMP MP-table at \[mem 0x000f' '$TMP/mp' &&
           grep -q 'Intel MultiProcessor Specification v1.4' '$TMP/mp'"
check "acpi=off: processors #0 (boot CPU) and #1 listed, IOAPIC at 0xfec00000" \
    sh -c "grep -q 'Processor #0 (Bootup-CPU)' '$TMP/mp' && grep -q 'Processor #1' '$TMP/mp' &&
           grep -q 'IOAPIC\[0\]: apic_id 0, version 17, address 0xfec00000' '$TMP/mp'"
check "acpi=off: Total of 2 processors activated and nproc prints 2" \
    sh -c "grep -q 'smpboot: Total of 2 processors activated' '$TMP/mp' &&
           grep -q '^QTEMU-NPROC: 2' '$TMP/mp'"
exit 0
