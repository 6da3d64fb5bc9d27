#!/bin/bash
# make bench (part): guest dd sequential write and read throughput on
# virtio-blk under qtemu beside qemu-system-x86_64 -accel tcg, with the same
# kernel (Debian's cloud kernel), initramfs (qtemu.test=blkbench in
# scripts/initramfs-init: 128 MiB of 1 MiB blocks, write O_DIRECT + fsync,
# read after drop_caches, timed by the guest's /proc/uptime) and a fresh
# 256 MiB raw image of the same size for each emulator, in the same run.
# Prints both throughputs (medians of BENCH_BLK_RUNS alternating runs, 3 by
# default) and the ratios qtemu/qemu-tcg (higher is better for qtemu).
# usage: bench-blk.sh QTEMU
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
dir=$(mktemp -d "${TMPDIR:-/tmp}/qtemu-bench-blk.XXXXXX")
trap 'rm -rf "$dir"' EXIT
ARGS=(-kernel "$G/vmlinuz-cloud" -initrd "$G/initramfs.cpio.gz" -m 512M -nographic -no-reboot
      -append "console=ttyS0 qtemu.test=blkbench panic=-1")

# run NAME CMD...: boot with a new 256 MiB raw image as virtio-blk; the console goes to $dir/NAME.log.
run() {
    name=$1; shift
    truncate -s 256M "$dir/$name.img"
    timeout "$LIMIT" "$@" "${ARGS[@]}" -drive file="$dir/$name.img",format=raw,if=virtio \
        < /dev/null 2>&1 | tr -d '\r' > "$dir/$name.log" || true
    rm -f "$dir/$name.img"
}
# field NAME WRITE|READ: "MiB/s" figure from the guest's line, or empty.
field() {
    sed -n "s/^QTEMU-BLKBENCH-$2: .* s \([0-9.]*\) MiB\/s.*/\1/p" "$dir/$1.log" | head -1
}

# Alternate the two emulators RUNS times (default 3) and take the medians,
# so a busy host skews both sides alike.
RUNS=${BENCH_BLK_RUNS:-3}
for i in $(seq "$RUNS"); do
    run qtemu "$QTEMU"
    run qemu qemu-system-x86_64 -accel tcg -cpu qemu64
    for n in qtemu qemu; do
        grep -q QTEMU-BLKBENCH-DONE "$dir/$n.log" ||
            { echo "bench-blk: $n did not finish; last console lines:"; tail -5 "$dir/$n.log"; }
        for m in WRITE READ; do
            v=$(field $n $m)
            if [ -n "$v" ]; then echo "$v" >> "$dir/$n.$m"; fi
        done
    done
    echo "run $i: write qtemu $(field qtemu WRITE) qemu-tcg $(field qemu WRITE) MiB/s;" \
         "read qtemu $(field qtemu READ) qemu-tcg $(field qemu READ) MiB/s"
done
median() { [ -s "$1" ] && sort -n "$1" | awk '{ v[NR] = $1 } END { printf "%.1f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
qw=$(median "$dir/qtemu.WRITE"); qr=$(median "$dir/qtemu.READ")
rw=$(median "$dir/qemu.WRITE"); rr=$(median "$dir/qemu.READ")
ratio() { [ -n "$1" ] && [ -n "$2" ] && echo "$1 $2" | awk '{ printf "%.2f", $1 / $2 }' || echo n/a; }
echo "virtio-blk dd 128 MiB sequential write (O_DIRECT+fsync), median of $RUNS: qtemu ${qw:-n/a} MiB/s, qemu-system-x86_64 -accel tcg ${rw:-n/a} MiB/s, ratio qtemu/qemu-tcg $(ratio "$qw" "$rw")"
echo "virtio-blk dd 128 MiB sequential read (cold cache), median of $RUNS:      qtemu ${qr:-n/a} MiB/s, qemu-system-x86_64 -accel tcg ${rr:-n/a} MiB/s, ratio qtemu/qemu-tcg $(ratio "$qr" "$rr")"
