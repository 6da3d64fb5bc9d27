#!/bin/bash
# Boot Debian's generic kernel with -cpu max and the test initramfs, and
# check what the kernel and init report about the extended CPU features:
#   - the kernel enabled XSAVE with the AVX state component (its own
#     x86/fpu boot lines, printed from CPUID leaf 0DH and XCR0) and, as
#     XSAVEC is offered without XSAVES, the compacted format;
#   - AVX registers sit at the standard offset 576 with 256 bytes (the
#     kernel's xstate_offset/xstate_sizes line, SDM Vol. 1 13.4.3);
#   - /proc/cpuinfo lists xsave, avx, avx2, fma, bmi1, bmi2 and la57;
#   - init ran to its end (the busybox-static userland uses glibc's
#     AVX2/BMI2 string functions once CPUID offers them);
#   - /proc/cpuinfo also lists sse4_2 aes pclmulqdq f16c pcid invpcid, and no "alg:"
#     line of the kernel's crypto manager reports a failed self-test.
# Then the cloud kernel with -cpu max, whose initramfs modules include
# aesni-intel, ghash-clmulni-intel, crc32c-intel and crc32-pclmul: the
# crypto manager runs its test vectors (crypto/testmgr.c) against those
# drivers when they register, so /proc/crypto must list them with
# "selftest: passed" and the boot log must hold no "alg: ... failed".
. "$(dirname "$0")/lib.sh"
LIMIT=${QTEMU_BOOT_TIMEOUT:-1200}
KERNEL="$GUEST/vmlinuz-amd64"
INITRD="$GUEST/initramfs.cpio.gz"
N=14
echo "1..$N"
if [ ! -f "$KERNEL" ] || [ ! -f "$INITRD" ]; then
    for i in $(seq 1 $N); do echo "ok $i # SKIP no guest in $GUEST (make fetch)"; done
    exit 0
fi
start=$(date +%s)
timeout "$LIMIT" "$QTEMU" -cpu max -kernel "$KERNEL" -initrd "$INITRD" -m 512M -nographic -no-reboot \
    -append "console=ttyS0 qtemu.test=1 panic=-1" < /dev/null > "$TMP/console" 2> "$TMP/stderr"
rc=$?
end=$(date +%s)
echo "# qtemu exit status $rc after $((end - start)) s; x86/fpu lines and the last console lines:"
grep -a "x86/fpu" "$TMP/console" | sed 's/^/#   /'
tail -n 8 "$TMP/console" | sed 's/^/#   /'

t() { if "$@"; then echo "ok $((++n)) - $name"; else echo "not ok $((++n)) - $name"; fi; }
n=0
name="kernel supports XSAVE feature 0x004 'AVX registers'"
t grep -aq "x86/fpu: Supporting XSAVE feature 0x004: 'AVX registers'" "$TMP/console"
# Without XSAVES, Linux >= 5.19 uses XSAVEC + compacted XRSTOR for its own buffers
# ("x86/fpu/xsave: Support XSAVEC in the kernel"): 576 + 256 = 832 bytes.
name="kernel enabled xstate features 0x7, 832 bytes, compacted format (XSAVEC)"
t grep -aq "x86/fpu: Enabled xstate features 0x7, context size is 832 bytes, using 'compacted' format" "$TMP/console"
name="AVX state at offset 576, 256 bytes"
t grep -aqE "x86/fpu: xstate_offset\[2\]: +576, xstate_sizes\[2\]: +256" "$TMP/console"
sed -n '/QTEMU-CPUINFO-BEGIN/,/QTEMU-CPUINFO-END/p' "$TMP/console" | grep -a '^flags' | head -n 1 > "$TMP/flags"
name="/proc/cpuinfo flags: xsave xsaveopt xsavec avx avx2 fma bmi1 bmi2 la57, no xsaves"
t sh -c "grep -qw xsaves '$TMP/flags' && exit 1; for f in xsave xsaveopt xsavec avx avx2 fma bmi1 bmi2 la57; do grep -qw \$f '$TMP/flags' || exit 1; done"
name="init finished (QTEMU-DONE)"; t grep -aq "QTEMU-DONE" "$TMP/console"
name="poweroff -f ends qtemu with status 0"; t [ $rc -eq 0 ]
name="/proc/cpuinfo flags: sse4_2 aes pclmulqdq f16c pcid invpcid"
t sh -c "for f in sse4_2 aes pclmulqdq f16c pcid invpcid; do grep -qw \$f '$TMP/flags' || exit 1; done"
name="generic kernel: no failed crypto self-test (alg: ... failed)"
t sh -c "! grep -a 'alg: ' '$TMP/console' | grep -aqi fail"

# The cloud kernel loads the x86 crypto modules (see above).
KERNEL="$GUEST/vmlinuz-cloud"
if [ ! -f "$KERNEL" ]; then
    for i in $(seq $((n + 1)) $N); do echo "ok $i # SKIP no $KERNEL (make fetch)"; done
    exit 0
fi
start=$(date +%s)
timeout "$LIMIT" "$QTEMU" -cpu max -kernel "$KERNEL" -initrd "$INITRD" -m 512M -nographic -no-reboot \
    -append "console=ttyS0 qtemu.test=1 panic=-1" < /dev/null > "$TMP/console2" 2> "$TMP/stderr2"
rc=$?
end=$(date +%s)
echo "# cloud kernel: qtemu exit status $rc after $((end - start)) s; alg: lines and x86 crypto drivers:"
grep -a "alg: " "$TMP/console2" | sed 's/^/#   /'
grep -a "^QTEMU-CRYPTO: .*\(aesni\|clmul\|intel\|pclmul\)" "$TMP/console2" | sed 's/^/#   /'
grep -a "^QTEMU-CRYPTO: " "$TMP/console2" | tr -d '\r' > "$TMP/crypto"   # the console has CRLF
name="cloud kernel -cpu max: init finished, status 0"
t sh -c "grep -aq QTEMU-DONE '$TMP/console2' && [ $rc -eq 0 ]"
name="aesni-intel registered and passed its self-tests (aes, ecb/cbc/ctr/xts, gcm)"
t sh -c "for d in aes-aesni ecb-aes-aesni cbc-aes-aesni ctr-aes-aesni xts-aes-aesni generic-gcm-aesni rfc4106-gcm-aesni; do grep -qx \"QTEMU-CRYPTO: \$d passed\" '$TMP/crypto' || exit 1; done"
name="ghash-clmulni, crc32c-intel, crc32-pclmul registered and passed"
t sh -c "for d in ghash-clmulni crc32c-intel crc32-pclmul; do grep -qx \"QTEMU-CRYPTO: \$d passed\" '$TMP/crypto' || exit 1; done"
name="no x86 crypto driver with a self-test state other than passed"
t sh -c "! grep -a 'aesni\|clmul\|-intel\|pclmul' '$TMP/crypto' | grep -avq ' passed\$'"
name="cloud kernel: no failed crypto self-test (alg: ... failed)"
t sh -c "! grep -a 'alg: ' '$TMP/console2' | grep -aqi fail"
name="cloud kernel: no oops or invalid opcode"
t sh -c "! grep -aqE 'invalid opcode|Oops|Call Trace' '$TMP/console2'"
exit 0
