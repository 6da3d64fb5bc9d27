#!/bin/bash
# virtio-net on -netdev user (libslirp), with Debian's cloud kernel and its
# virtio_net module, checked against oracles outside qtemu:
#   - busybox udhcpc gets slirp's first DHCP address 10.0.2.15, gateway
#     10.0.2.2 and DNS 10.0.2.3 (QEMU's documented user-network defaults);
#   - the guest's busybox wget fetches a 1 MiB random file from python3's
#     http.server on the host loopback (reached as 10.0.2.2) and its sha256
#     must equal the host's sha256sum;
#   - hostfwd: the host connects to 127.0.0.1:PORT, which slirp forwards to a
#     guest nc listener on port 2222; the host sends a random line and the
#     guest answers with its sha256, which must equal the host's;
#   - on pc the kernel drives the NIC through MSI-X (virtio0-input.0
#     interrupts); the same checks on -M microvm with virtio-net-device, whose
#     interrupt is IOAPIC GSI 16 as the DSDT says; and on pc with pci=nomsi
#     through INTx;
#   - option mistakes name what is wrong (no boot needed).
. "$(dirname "$0")/lib.sh"
LIMIT=${QTEMU_BOOT_TIMEOUT:-240}
N=21
echo "1..$N"
if [ ! -f "$GUEST/vmlinuz-cloud" ] || [ ! -f "$GUEST/initramfs.cpio.gz" ] || ! command -v python3 >/dev/null; then
    for i in $(seq 1 $N); do echo "ok $i # SKIP no guest in $GUEST (make fetch) or no python3"; done
    exit 0
fi

head -c 1048576 /dev/urandom > "$TMP/blob"
want=$(sha256sum "$TMP/blob" | cut -d' ' -f1)
hport=$((20000 + RANDOM % 20000)); fport=$((hport + 1))
(cd "$TMP" && exec python3 -m http.server "$hport" --bind 127.0.0.1 >/dev/null 2>&1) & http=$!

# boot TAG ARGS...: run the guest; connect to the hostfwd port once it
# listens; leave its console in $TMP/TAG.out and its answer in $TMP/TAG.reply.
boot() {
    local tag=$1; shift
    local start=$(date +%s) nonce="qtemu-$RANDOM-$RANDOM-$(date +%s%N)" reply=
    printf %s "$nonce" | sha256sum | cut -d' ' -f1 > "$TMP/$tag.nonce"
    "$QTEMU" -kernel "$GUEST/vmlinuz-cloud" -initrd "$GUEST/initramfs.cpio.gz" -m 256M \
        -append "console=ttyS0 rdinit=/init quiet panic=-1 qtemu.test=net qtemu.httpport=$hport $EXTRA" \
        -nographic -no-reboot -netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$fport-:2222" "$@" \
        < /dev/null > "$TMP/$tag.out" 2> "$TMP/$tag.err" &
    local q=$!
    while kill -0 $q 2>/dev/null && [ $(( $(date +%s) - start )) -lt "$LIMIT" ]; do
        grep -q "QTEMU-NET-LISTENING" "$TMP/$tag.out" && break
        sleep 0.5
    done
    # The guest prints the marker just before nc listens: a connection that
    # comes too early is reset by the guest, so retry for a while.
    while kill -0 $q 2>/dev/null && [ -z "$reply" ] && [ $(( $(date +%s) - start )) -lt "$LIMIT" ]; do
        reply=$(python3 -c "
import socket, sys
s = socket.create_connection(('127.0.0.1', $fport), timeout=20)
s.sendall(b'$nonce\\n')
data = b''
while True:
    d = s.recv(200)
    if not d:
        break
    data += d
print(data.decode(errors='replace').strip())" 2>/dev/null)
        [ -z "$reply" ] && sleep 1
    done
    echo "$reply" > "$TMP/$tag.reply"
    while kill -0 $q 2>/dev/null && [ $(( $(date +%s) - start )) -lt "$LIMIT" ]; do sleep 0.5; done
    kill -9 $q 2>/dev/null; wait $q 2>/dev/null
    echo "# $tag: $(( $(date +%s) - start )) s; last console lines:"
    tail -n 6 "$TMP/$tag.out" | sed 's/^/#   /'
    [ -s "$TMP/$tag.err" ] && head -n 5 "$TMP/$tag.err" | sed 's/^/# stderr: /'
}

# net_checks TAG: the checks shared by both boards.
net_checks() {
    local tag=$1
    out=$(tr -d '\r' < "$TMP/$tag.out")
    check "$tag: DHCP gave 10.0.2.15" has "^QTEMU-NET-ADDR: 10.0.2.15$"
    check "$tag: DHCP gave gateway 10.0.2.2 and DNS 10.0.2.3" \
        eval 'has "^QTEMU-NET-GW: 10.0.2.2$" && has "^QTEMU-NET-DNS: 10.0.2.3$"'
    check "$tag: wget through slirp: sha256 of 1 MiB equals the host's" has "^QTEMU-NET-SHA256: $want$"
    check "$tag: hostfwd: the guest's reply is the sha256 of the host's line" \
        [ "$(cat "$TMP/$tag.reply")" = "QTEMU-GUEST-REPLY $(cat "$TMP/$tag.nonce")" ]
    check "$tag: guest powers off after the exchange" has "^QTEMU-NET-DONE$"
}
has() { printf '%s\n' "$out" | grep -q "$1"; }

boot pc -device virtio-net-pci,netdev=n0
net_checks pc
check "pc: the NIC interrupts through MSI-X" \
    eval 'printf "%s\n" "$out" | grep "^QTEMU-IRQ: " | grep "PCI-MSI" | grep -Eq " [1-9][0-9]* PCI-MSI.*virtio0-input.0"'
boot microvm -M microvm -device virtio-net-device,netdev=n0
net_checks microvm
check "microvm: virtio-mmio interrupts arrive on IOAPIC GSI 16 (from the DSDT's _CRS)" \
    eval 'printf "%s\n" "$out" | grep -Eq "^QTEMU-IRQ: +16: [1-9][0-9]* IO-APIC.*virtio0"'
# pci=nomsi: the driver falls back to INTx (ISR status register, 4.1.4.5),
# routed by the DSDT's _PRT to an IOAPIC GSI 16-19.
EXTRA=pci=nomsi boot intx -device virtio-net-pci,netdev=n0
net_checks intx
check "intx: the NIC interrupts through an IOAPIC GSI 16..19 (INTx), not MSI-X" \
    eval 'printf "%s\n" "$out" | grep -Eq "^QTEMU-IRQ: +1[6-9]: [1-9][0-9]* IO-APIC.*virtio0" && ! printf "%s\n" "$out" | grep -q "PCI-MSI"'
kill $http 2>/dev/null; wait $http 2>/dev/null

# Option mistakes (no boot): qtemu must refuse them with a message naming the problem.
bad() {  # bad NAME PATTERN ARGS...
    local name=$1 pat=$2; shift 2
    "$QTEMU" -kernel "$GUEST/vmlinuz-cloud" "$@" < /dev/null > "$TMP/bad.out" 2>&1
    local rc=$?
    check "$name (exit $rc)" eval '[ $rc -ne 0 ] && grep -qi -- "$pat" "$TMP/bad.out"'
}
bad "-device virtio-net-pci names an unknown netdev" "nosuch" -device virtio-net-pci,netdev=nosuch
bad "hostfwd with a port out of range" "port" -netdev user,id=n0,hostfwd=tcp::70000-:22 -device virtio-net-pci,netdev=n0
bad "unknown -netdev user property" "frobnicate" -netdev user,id=n0,frobnicate=1 -device virtio-net-pci,netdev=n0
exit 0
