#!/bin/bash
# Shared guest RAM (-object memory-backend-file,...,share=on + -machine
# memory-backend=ID): another process reads what the GUEST wrote, while the
# guest runs.
#   - option errors: size different from -m, unknown backend id, share=off;
#   - the guest computes sha256 of a random token from its command line and
#     writes "QTEMU-SHM-<hash>" into a tmpfs file (tmpfs pages are guest RAM);
#     the host computes the same hash itself and finds the string in its own
#     read-only mmap of the backend file (the string exists nowhere else:
#     neither qtemu nor the test writes it into guest memory);
#   - QMP query-memdev reports the backend (id, size, share) and quit ends it.
. "$(dirname "$0")/lib.sh"
KERNEL="$GUEST/vmlinuz-cloud"
BUSYBOX="$GUEST/busybox"
PLAN=7
echo "1..$PLAN"
if [ ! -f "$KERNEL" ] || [ ! -x "$BUSYBOX" ]; then
    for i in $(seq 1 $PLAN); do echo "ok $i # SKIP no guest in $GUEST (make fetch)"; done
    exit 0
fi
export PYTHONPATH="$(dirname "$0")"
MEM="$TMP/guest-ram"
obj="memory-backend-file,id=ram0,size=256M,mem-path=$MEM,share=on"

"$QTEMU" -kernel "$KERNEL" -m 128M -object "$obj" -machine memory-backend=ram0 \
    < /dev/null > /dev/null 2> "$TMP/err1"; rc=$?
check "size != -m is refused (rc $rc: $(head -c 100 "$TMP/err1"))" \
    sh -c "[ $rc -eq 1 ] && grep -q 'memory-backend=ram0' '$TMP/err1'"
"$QTEMU" -kernel "$KERNEL" -object "$obj" -machine memory-backend=nope \
    < /dev/null > /dev/null 2> "$TMP/err2"; rc=$?
check "unknown backend id is refused (rc $rc)" sh -c "[ $rc -eq 1 ] && grep -q nope '$TMP/err2'"
"$QTEMU" -kernel "$KERNEL" -object "memory-backend-file,id=r,size=256M,mem-path=$MEM,share=off" \
    -machine memory-backend=r < /dev/null > /dev/null 2> "$TMP/err3"; rc=$?
check "share=off is refused (rc $rc)" sh -c "[ $rc -eq 1 ] && grep -q share '$TMP/err3'"

root="$TMP/root"
mkdir -p "$root/bin" "$root/proc" "$root/sys" "$root/dev" "$root/mnt"
cp "$BUSYBOX" "$root/bin/busybox"
cat > "$root/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t tmpfs tmpfs /mnt
tok=$(sed -n 's/.*qtemu.shm-token=\([0-9a-f]*\).*/\1/p' /proc/cmdline)
h=$(printf '%s' "$tok" | sha256sum | cut -d' ' -f1)
i=0
while [ $i -lt 64 ]; do echo "QTEMU-SHM-$h" >> /mnt/pattern; i=$((i + 1)); done
sync
echo "QTEMU-SHM-READY"
while :; do sleep 1; done
EOF
chmod 755 "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1 > "$TMP/initrd.gz")

TOKEN=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
HASH=$(printf '%s' "$TOKEN" | sha256sum | cut -d' ' -f1)
SOCK="$TMP/qmp.sock"
timeout 600 "$QTEMU" -kernel "$KERNEL" -initrd "$TMP/initrd.gz" -nographic -no-reboot \
    -object "$obj" -M pc,memory-backend=ram0 -qmp "unix:$SOCK,server,nowait" \
    -append "console=ttyS0 panic=-1 rdinit=/init qtemu.shm-token=$TOKEN" \
    < /dev/null > "$TMP/console" 2> "$TMP/stderr" &
QPID=$!
python3 - "$SOCK" "$TMP/console" "$MEM" "$HASH" > "$TMP/out" 2>&1 <<'EOF'
import mmap, os, sys, time
from qmp_drive import QMP
sock, console, mem, h = sys.argv[1:5]
def res(name, ok, extra=''):
    print(('PASS ' if ok else 'FAIL ') + name + (' :: ' + str(extra) if extra else ''))
q = QMP(sock)
q.cmd('qmp_capabilities')
r = q.cmd('query-memdev')
res('query-memdev', r.get('return') and r['return'][0].get('id') == 'ram0' and
    r['return'][0].get('size') == 256 << 20 and r['return'][0].get('share') is True, r)
deadline = time.time() + 500
while b'QTEMU-SHM-READY' not in open(console, 'rb').read():
    if time.time() > deadline:
        break
    time.sleep(0.5)
# Our own read-only shared mapping of the backend file: zero-copy view of guest RAM.
fd = os.open(mem, os.O_RDONLY)
m = mmap.mmap(fd, 0, mmap.MAP_SHARED, mmap.PROT_READ)
needle = b'QTEMU-SHM-' + h.encode()
count, pos = 0, m.find(needle)
first = pos
while pos >= 0:
    count += 1
    pos = m.find(needle, pos + 1)
res('pattern found', count >= 1, 'size %d, %d hits, first at %#x' % (len(m), count, first))
st = q.cmd('query-status')
res('guest still running while read', st.get('return', {}).get('running') is True, st)
q.cmd('quit')
EOF
wait $QPID
rc=$?
sed 's/^/# /' "$TMP/out"
check "query-memdev reports ram0, 256 MiB, share=on" grep -q "^PASS query-memdev" "$TMP/out"
check "external mmap reader finds the guest-written QTEMU-SHM-<sha256(token)>" \
    grep -q "^PASS pattern found" "$TMP/out"
check "the guest kept running during the read" grep -q "^PASS guest still running" "$TMP/out"
check "quit ends qtemu with status 0 (rc $rc)" [ $rc -eq 0 ]
exit 0
