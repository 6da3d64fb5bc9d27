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
time_to_marker() {
    start=$(date +%s.%N)
    timeout "$LIMIT" "$@" -append "$APPEND" < /dev/null 2>/dev/null | tr -d '\r' | while IFS= read -r line; do
        case "$line" in
        *QTEMU-INIT-MARKER*) echo "$(date +%s.%N) $start" | awk '{printf "%.2f ", $1 - $2}' ;;
        QTEMU-SHA256-SECONDS:*) echo "${line#QTEMU-SHA256-SECONDS: }" ;;
        esac
    done | tr -d '\n'
}

qs=$(time_to_marker "$QTEMU" $ARGS); q=${qs% *}; qsha=${qs#* }
rs=$(time_to_marker qemu-system-x86_64 -accel tcg -cpu qemu64 $ARGS); r=${rs% *}; rsha=${rs#* }
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
