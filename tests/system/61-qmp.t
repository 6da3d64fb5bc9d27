#!/bin/bash
# QMP against real guests, with a stdlib Python client (qmp_drive.py).
#
# Run 1 (-S, no boot needed): greeting; commands before qmp_capabilities ->
# CommandNotFound; malformed JSON -> GenericError and the session goes on;
# unknown command -> CommandNotFound with our id; query-status "prelaunch"
# (QEMU's RunState under -S); pmemsave of the zero-page command line holds
# the -append string (oracle: what we passed); memsave (virtual, through the
# loader's identity map) of the entry equals the bzImage file bytes;
# query-cpus-fast / query-memdev; system_reset -> RESET (guest false,
# host-qmp-system-reset); quit -> {} then SHUTDOWN (host-qmp-quit), exit 0.
#
# Run 2 (boot): a test initramfs with Debian's busybox, the kernel's own
# button.ko + evdev.ko, and busybox acpid whose PWRF/00000080 handler prints
# the kernel's fixed-event counter (/sys/firmware/acpi/interrupts/ff_pwr_btn)
# and powers off - the same path (ACPI power button -> input KEY_POWER ->
# acpid) a real distribution takes. stop/cont -> STOP then RESUME (in order,
# timestamps not decreasing), status paused/running, human-monitor-command,
# system_powerdown -> POWERDOWN, the guest's handler runs, SHUTDOWN (guest
# true, guest-shutdown) and qtemu exits 0.
. "$(dirname "$0")/lib.sh"
KERNEL="$GUEST/vmlinuz-cloud"
BUSYBOX="$GUEST/busybox"
PLAN=22
echo "1..$PLAN"
deb=$(ls "$GUEST"/debs/linux-image-*-cloud-amd64_*.deb 2>/dev/null | head -n1)
if [ ! -f "$KERNEL" ] || [ ! -x "$BUSYBOX" ] || [ -z "$deb" ]; then
    for i in $(seq 1 $PLAN); do echo "ok $i # SKIP no guest in $GUEST (make fetch)"; done
    exit 0
fi
export PYTHONPATH="$(dirname "$0")"
read -r PREF OFF < <(python3 -c "
import struct; d=open('$KERNEL','rb').read()
print(struct.unpack_from('<Q', d, 0x258)[0], ((d[0x1f1] or 4) + 1) * 512)")

# ---------------------------------------------------------------- run 1: -S
SOCK="$TMP/qmp1.sock"
APPEND="console=ttyS0 panic=-1 qtemu.qmp-token=$RANDOM$RANDOM"
timeout 120 "$QTEMU" -kernel "$KERNEL" -m 256M -nographic -S \
    -qmp "unix:$SOCK,server,nowait" -append "$APPEND" < /dev/null > "$TMP/console1" 2> "$TMP/stderr1" &
QPID=$!
python3 - "$SOCK" "$APPEND" "$KERNEL" "$PREF" "$OFF" "$TMP" > "$TMP/run1" 2>&1 <<'EOF'
import sys, json
from qmp_drive import QMP
sock, append, kernel, pref, off, tmp = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
def res(name, ok, extra=''):
    print(('PASS ' if ok else 'FAIL ') + name + (' :: ' + str(extra) if extra else ''))
q = QMP(sock)
g = q.greeting
res('greeting', 'QMP' in g and 'version' in g['QMP'] and g['QMP'].get('capabilities') == [], g)
r = q.cmd('query-status', id=1)
res('before capabilities', r.get('error', {}).get('class') == 'CommandNotFound', r)
r = q.cmd('qmp_capabilities')
res('capabilities', r == {'return': {}}, r)
q.send_raw('{"execute": "query-status" 42}')
r = q.reply()
res('malformed JSON', r.get('error', {}).get('class') == 'GenericError', r)
r = q.cmd('no-such-command', id='abc')
res('unknown command', r.get('error', {}).get('class') == 'CommandNotFound' and r.get('id') == 'abc', r)
r = q.cmd('query-status', id=7)
res('query-status prelaunch', r.get('return', {}).get('status') == 'prelaunch' and
    r['return'].get('running') is False and r.get('id') == 7, r)
r = q.cmd('pmemsave', {'val': 0x20000, 'size': 4096, 'filename': tmp + '/cmdline.bin'})
data = open(tmp + '/cmdline.bin', 'rb').read() if 'return' in r else b''
res('pmemsave cmdline', data.startswith(append.encode() + b'\0'), (r, data[:80]))
r = q.cmd('memsave', {'val': pref + 0x200, 'size': 256, 'filename': tmp + '/entry.bin', 'cpu-index': 0})
got = open(tmp + '/entry.bin', 'rb').read() if 'return' in r else b''
want = open(kernel, 'rb').read()[off + 0x200: off + 0x200 + 256]
res('memsave entry', got == want and len(got) == 256, r)
# an unmapped canonical kernel-half address: also checks uint64 values >= 2^63 arrive intact
r = q.cmd('memsave', {'val': 0xffff800000000000, 'size': 16, 'filename': tmp + '/bad.bin'})
res('memsave bad address', r.get('error', {}).get('class') == 'GenericError' and
    '0xffff800000000000' in r['error'].get('desc', ''), r)
r = q.cmd('query-cpus-fast')
res('query-cpus-fast', [c.get('cpu-index') for c in r.get('return', [])] == [0], r)
r = q.cmd('query-memdev')
res('query-memdev', [m.get('size') for m in r.get('return', [])] == [256 << 20], r)
r = q.cmd('system_reset')
e = q.wait_event('RESET', 20)
res('system_reset', r == {'return': {}} and e['data'] == {'guest': False, 'reason': 'host-qmp-system-reset'}, e)
r = q.cmd('quit')
e = q.wait_event('SHUTDOWN', 20)
res('quit', r == {'return': {}} and e['data'] == {'guest': False, 'reason': 'host-qmp-quit'}, e)
EOF
wait $QPID
rc1=$?
sed 's/^/# /' "$TMP/run1"
for t in greeting "before capabilities" capabilities "malformed JSON" "unknown command" \
         "query-status prelaunch" "pmemsave cmdline" "memsave entry" "memsave bad address" \
         query-cpus-fast query-memdev system_reset quit; do
    check "run 1: $t" grep -q "^PASS $t" "$TMP/run1"
done
check "run 1: quit ends qtemu with status 0 (rc $rc1)" [ $rc1 -eq 0 ]

# ---------------------------------------------------------------- run 2: boot, power button
root="$TMP/root"
mkdir -p "$root/bin" "$root/proc" "$root/sys" "$root/dev" "$root/etc/acpi/PWRF"
cp "$BUSYBOX" "$root/bin/busybox"
kver=$(basename "$deb" | sed 's/^linux-image-\([^_]*\)_.*/\1/')
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$root" \
    "./lib/modules/$kver/kernel/drivers/acpi/button.ko" "./lib/modules/$kver/kernel/drivers/input/evdev.ko"
cat > "$root/etc/acpi/PWRF/00000080" <<'EOF'
#!/bin/sh
echo "QTEMU-PWRBTN ff_pwr_btn=$(cat /sys/firmware/acpi/interrupts/ff_pwr_btn)" > /dev/console
poweroff -f
EOF
chmod 755 "$root/etc/acpi/PWRF/00000080"
cat > "$root/init" <<EOF
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
insmod /lib/modules/$kver/kernel/drivers/acpi/button.ko
insmod /lib/modules/$kver/kernel/drivers/input/evdev.ko
acpid -c /etc/acpi -l /dev/console
echo "QTEMU-QMP-READY \$(cat /sys/firmware/acpi/interrupts/ff_pwr_btn)"
while :; do sleep 1; done
EOF
chmod 755 "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1 > "$TMP/initrd.gz")

SOCK="$TMP/qmp2.sock"
timeout 600 "$QTEMU" -kernel "$KERNEL" -initrd "$TMP/initrd.gz" -m 256M -nographic -no-reboot \
    -qmp "unix:$SOCK,server,nowait" -append "console=ttyS0 panic=-1 rdinit=/init" \
    < /dev/null > "$TMP/console2" 2> "$TMP/stderr2" &
QPID=$!
python3 - "$SOCK" "$TMP/console2" > "$TMP/run2" 2>&1 <<'EOF'
import sys, time
from qmp_drive import QMP
sock, console = sys.argv[1], sys.argv[2]
def res(name, ok, extra=''):
    print(('PASS ' if ok else 'FAIL ') + name + (' :: ' + str(extra) if extra else ''))
q = QMP(sock)
q.cmd('qmp_capabilities')
deadline = time.time() + 500
while b'QTEMU-QMP-READY' not in open(console, 'rb').read():
    if time.time() > deadline:
        res('guest ready', False); sys.exit(0)
    time.sleep(0.5)
res('guest ready', True)
r1 = q.cmd('stop')
s1 = q.cmd('query-status')
r2 = q.cmd('cont')
s2 = q.cmd('query-status')
stop = q.wait_event('STOP', 10)
resume = q.wait_event('RESUME', 10)
ts = lambda e: e['timestamp']['seconds'] * 10**6 + e['timestamp']['microseconds']
res('stop/cont status', s1['return']['status'] == 'paused' and s1['return']['running'] is False and
    s2['return']['status'] == 'running' and s2['return']['running'] is True, (s1, s2))
res('STOP then RESUME', ts(stop) <= ts(resume), (stop, resume))
r = q.cmd('human-monitor-command', {'command-line': 'info status'})
res('human-monitor-command', 'running' in r.get('return', ''), r)
r = q.cmd('system_powerdown')
e = q.wait_event('POWERDOWN', 10)
res('system_powerdown', r == {'return': {}}, (r, e))
try:
    e = q.wait_event('SHUTDOWN', 120)
except Exception as ex:
    e = {'data': str(ex)}
res('SHUTDOWN by the guest', e['data'] == {'guest': True, 'reason': 'guest-shutdown'}, e)
EOF
wait $QPID
rc2=$?
sed 's/^/# /' "$TMP/run2"
grep -a "QTEMU-PWRBTN\|QTEMU-QMP-READY" "$TMP/console2" | sed 's/^/# console: /'
for t in "guest ready" "stop/cont status" "STOP then RESUME" "human-monitor-command" "system_powerdown" \
         "SHUTDOWN by the guest"; do
    check "run 2: $t" grep -q "^PASS $t" "$TMP/run2"
done
cnt=$(sed -n 's/.*QTEMU-PWRBTN ff_pwr_btn= *\([0-9]*\).*/\1/p' "$TMP/console2" | tr -d '\r' | head -n1)
check "run 2: the guest's acpid handler ran; kernel counted ${cnt:-no} power-button events" \
    sh -c "[ -n '$cnt' ] && [ '$cnt' -ge 1 ]"
check "run 2: qtemu exits 0 after the guest powers off (rc $rc2)" [ $rc2 -eq 0 ]
exit 0
