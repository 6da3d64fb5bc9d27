#!/bin/bash
# virtio-console (single port, /dev/hvc0) with Debian's cloud kernel and its
# virtio_console module. The init script writes a greeting with its
# `uname -r` to /dev/hvc0 and starts a shell on it. Oracles outside qtemu:
#   - the greeting names the kernel release of the Debian package booted
#     (linux-image-RELEASE, recorded by fetch-guest.sh);
#   - over a pipe chardev the host sends commands: the guest shell's
#     arithmetic, the sha256 of a random 600-character line typed by the
#     host (must equal the host's sha256sum), and `seq 1 20000` coming back
#     (must equal the host's seq: guest-to-host bulk output, ~190 KB);
#   - a file chardev receives the greeting too (output-only backend);
#   - option mistakes name what is wrong (no boot needed).
. "$(dirname "$0")/lib.sh"
LIMIT=${QTEMU_BOOT_TIMEOUT:-240}
N=9
echo "1..$N"
if [ ! -f "$GUEST/vmlinuz-cloud" ] || [ ! -f "$GUEST/initramfs.cpio.gz" ]; then
    for i in $(seq 1 $N); do echo "ok $i # SKIP no guest in $GUEST (make fetch)"; done
    exit 0
fi
release=$(sed -n 's/^linux-image-//p' "$GUEST/vmlinuz-cloud.pkg")
KARGS="-kernel $GUEST/vmlinuz-cloud -initrd $GUEST/initramfs.cpio.gz -m 256M -nographic -no-reboot"
APPEND="console=ttyS0 rdinit=/init quiet panic=-1 qtemu.test=console"

# wait_for FILE PATTERN PID: until PATTERN is in FILE, PID died or LIMIT passed.
wait_for() {
    while kill -0 "$3" 2>/dev/null && [ $(( $(date +%s) - start )) -lt "$LIMIT" ]; do
        tr -d '\r' < "$1" | grep -q -- "$2" && return 0
        sleep 0.5
    done
    tr -d '\r' < "$1" | grep -q -- "$2"
}

# 1. pipe chardev: PATH.in is the guest's input, PATH.out its output.
mkfifo "$TMP/c.in" "$TMP/c.out"
cat "$TMP/c.out" > "$TMP/hvc" & reader=$!
start=$(date +%s)
# shellcheck disable=SC2086
"$QTEMU" $KARGS -append "$APPEND" -chardev "pipe,id=c0,path=$TMP/c" \
    -device virtio-serial-pci -device virtconsole,chardev=c0 < /dev/null > "$TMP/out" 2> "$TMP/err" & q=$!
exec 3<>"$TMP/c.in"
if wait_for "$TMP/out" "QTEMU-CONSOLE-READY" $q; then
    line=$(head -c 450 /dev/urandom | base64 -w0 | head -c 600)   # busybox line editing keeps 1024 bytes
    line_sum=$(printf %s "$line" | sha256sum | cut -d' ' -f1)
    echo 'echo "HVC-ANSWER-$((6*7))"' >&3
    wait_for "$TMP/hvc" "HVC-ANSWER-42" $q
    echo "printf %s '$line' | sha256sum | sed 's/^/HVC-SUM /'" >&3
    wait_for "$TMP/hvc" "^HVC-SUM " $q
    echo "seq 1 20000 | sed 's/^/HVC-SEQ /'; echo HVC-SEQ-END" >&3
    wait_for "$TMP/hvc" "^HVC-SEQ-END" $q
fi
echo 'poweroff -f' >&3
while kill -0 $q 2>/dev/null && [ $(( $(date +%s) - start )) -lt "$LIMIT" ]; do sleep 0.5; done
kill -9 $q 2>/dev/null; wait $q 2>/dev/null
exec 3>&-; kill $reader 2>/dev/null; wait $reader 2>/dev/null
echo "# pipe: $(( $(date +%s) - start )) s; last console lines:"
tail -n 4 "$TMP/out" | sed 's/^/#   /'
[ -s "$TMP/err" ] && head -n 5 "$TMP/err" | sed 's/^/# stderr: /'
hvc=$(tr -d '\r' < "$TMP/hvc")
check "/dev/hvc0 exists" grep -q "QTEMU-HVC: /dev/hvc0" "$TMP/out"
check "greeting on hvc0 names the booted release ($release)" \
    eval 'printf "%s\n" "$hvc" | grep -qx "QTEMU-HVC-HELLO $release"'
check "a shell on hvc0 answers through the pipe chardev" eval 'printf "%s\n" "$hvc" | grep -qx "HVC-ANSWER-42"'
check "sha256 of a 600-character line typed by the host equals the host's" \
    eval 'printf "%s\n" "$hvc" | grep -q "^HVC-SUM $line_sum "'
check "seq 1 20000 from the guest equals the host's" \
    eval '[ "$(printf "%s\n" "$hvc" | sed -n "s/^HVC-SEQ \([0-9]*\)$/\1/p" | sha256sum)" = "$(seq 1 20000 | sha256sum)" ]'

# 2. file chardev: output only.
start=$(date +%s)
# shellcheck disable=SC2086
"$QTEMU" $KARGS -append "$APPEND" -chardev "file,id=c0,path=$TMP/hvc.log" \
    -device virtio-serial-pci -device virtconsole,chardev=c0 < /dev/null > "$TMP/out2" 2>&1 & q=$!
touch "$TMP/hvc.log"; wait_for "$TMP/hvc.log" "QTEMU-HVC-HELLO" $q
kill -9 $q 2>/dev/null; wait $q 2>/dev/null
echo "# file: $(( $(date +%s) - start )) s"
check "file chardev receives the greeting" eval 'tr -d "\r" < "$TMP/hvc.log" | grep -qx "QTEMU-HVC-HELLO $release"'

# Option mistakes (no boot).
bad() {  # bad NAME PATTERN ARGS...
    local name=$1 pat=$2; shift 2
    "$QTEMU" -kernel "$GUEST/vmlinuz-cloud" "$@" < /dev/null > "$TMP/bad.out" 2>&1
    local rc=$?
    check "$name (exit $rc)" eval '[ $rc -ne 0 ] && grep -qi -- "$pat" "$TMP/bad.out"'
}
bad "virtconsole names an unknown chardev" "nosuch" -device virtio-serial-pci -device virtconsole,chardev=nosuch
bad "pipe chardev whose FIFOs do not exist" "cannot open" -chardev "pipe,id=c0,path=$TMP/none" \
    -device virtio-serial-pci -device virtconsole,chardev=c0
bad "unknown chardev backend" "not supported" -chardev socket,id=c0,path=/x
exit 0
