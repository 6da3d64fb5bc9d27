#!/bin/sh
# make bench: time from start to the init marker for the same kernel and
# initramfs under qtemu and under qemu-system-x86_64 -accel tcg, in the same
# run, reported as a ratio; and the guest's sha256 of 32 MiB beside the
# host's native time. Installs QEMU from Debian if it is missing.
set -e
QTEMU=${1:-build/release/qtemu}
top=$(cd "$(dirname "$0")/.." && pwd)
G="$top/.cache/guest"
"$top/scripts/fetch-guest.sh" --cloud-only
if ! command -v qemu-system-x86_64 >/dev/null; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq qemu-system-x86 >/dev/null
fi
LIMIT=${BENCH_TIMEOUT:-1800}
ARGS="-kernel $G/vmlinuz-cloud -initrd $G/initramfs.cpio.gz -m 512M -nographic -no-reboot"
APPEND="console=ttyS0 qtemu.test=1 panic=-1"

# Print "SECONDS_TO_MARKER GUEST_SHA256_SECONDS" for one boot of the command.
# The console goes to a file polled every 50 ms (a shell reading a pipe line
# by line is slow enough to throttle the emulator writing into it).
time_to_marker() {
    out=$(mktemp)
    start=$(date +%s.%N)
    timeout "$LIMIT" "$@" -append "$APPEND" < /dev/null > "$out" 2>/dev/null &
    pid=$!
    t=""
    while kill -0 "$pid" 2>/dev/null; do
        if [ -z "$t" ] && grep -q QTEMU-INIT-MARKER "$out"; then
            t=$(echo "$(date +%s.%N) $start" | awk '{printf "%.2f", $1 - $2}')
        fi
        sleep 0.05
    done
    wait "$pid"
    sha=$(tr -d '\r' < "$out" | sed -n 's/^QTEMU-SHA256-SECONDS: //p')
    rm -f "$out"
    echo "${t:-DNF} ${sha:-n/a}"
}

median() { sort -n | awk '{a[NR] = $1} END {print (NR ? a[int((NR + 1) / 2)] : "DNF")}'; }

# Three alternating runs each; medians (the machine may be shared).
: > /tmp/qtemu-bench.$$
for i in 1 2 3; do
    echo "q $(time_to_marker "$QTEMU" $ARGS)" >> /tmp/qtemu-bench.$$
    echo "r $(time_to_marker qemu-system-x86_64 -accel tcg -cpu qemu64 $ARGS)" >> /tmp/qtemu-bench.$$
done
q=$(awk '$1 == "q" && $2 != "DNF" {print $2}' /tmp/qtemu-bench.$$ | median)
r=$(awk '$1 == "r" && $2 != "DNF" {print $2}' /tmp/qtemu-bench.$$ | median)
qsha=$(awk '$1 == "q" && $3 != "n/a" {print $3}' /tmp/qtemu-bench.$$ | median)
rsha=$(awk '$1 == "r" && $3 != "n/a" {print $3}' /tmp/qtemu-bench.$$ | median)
rm -f /tmp/qtemu-bench.$$
[ "$q" = DNF ] && q=""
[ "$r" = DNF ] && r=""
t0=$(date +%s.%N)
dd if=/dev/zero bs=1M count=32 2>/dev/null | sha256sum >/dev/null
native=$(echo "$(date +%s.%N) $t0" | awk '{printf "%.3f", $1 - $2}')
echo "time to init marker: qtemu ${q:-DNF} s, qemu-system-x86_64 -accel tcg ${r:-DNF} s"
if [ -n "$q" ] && [ -n "$r" ]; then
    echo "ratio qtemu/qemu-tcg: $(echo "$q $r" | awk '{printf "%.2f", $1 / $2}')"
else
    echo "ratio qtemu/qemu-tcg: n/a (a run did not reach the marker within ${LIMIT} s)"
fi
echo "guest sha256 of 32 MiB zeros: qtemu ${qsha:-n/a} s, qemu-tcg ${rsha:-n/a} s, host native ${native} s"
if [ -n "$qsha" ] && [ "$qsha" != DNF ] && [ -n "$rsha" ] && [ "$rsha" != DNF ]; then
    echo "ratio guest sha256 qtemu/qemu-tcg: $(echo "$qsha $rsha" | awk '{printf "%.2f", $1 / $2}')"
fi
