#!/bin/bash
# make bench (part): read 64 MiB of a running guest's RAM through a
# memory-backend-file mapping from another process (tests/tools/shm_bench),
# beside a host memcpy of 64 MiB in the same run; prints the medians and the
# ratio. usage: bench-shm.sh QTEMU SHM_BENCH
set -e
QTEMU=$1
TOOL=$2
top=$(cd "$(dirname "$0")/.." && pwd)
KERNEL="$top/.cache/guest/vmlinuz-cloud"
[ -x "$QTEMU" ] && [ -x "$TOOL" ] || { echo "usage: $0 QTEMU SHM_BENCH" >&2; exit 1; }
[ -f "$KERNEL" ] || { echo "bench-shm: no guest kernel (make fetch)"; exit 0; }
dir=$(mktemp -d /dev/shm/qtemu-bench.XXXXXX 2>/dev/null || mktemp -d)
trap 'kill $pid 2>/dev/null; rm -rf "$dir"' EXIT
# The guest boots to its VFS panic and waits there (panic=0): its RAM is populated.
"$QTEMU" -kernel "$KERNEL" -m 256M -nographic -append "console=ttyS0 panic=0" \
    -object memory-backend-file,id=ram,size=256M,mem-path="$dir/ram",share=on \
    -machine memory-backend=ram < /dev/null > "$dir/console" 2>&1 &
pid=$!
for _ in $(seq 120); do grep -q "Kernel panic" "$dir/console" 2>/dev/null && break; sleep 0.5; done
echo "== guest RAM through the shared mapping (guest running, $(grep -c . "$dir/console") console lines)"
"$TOOL" "$dir/ram" 64 9
