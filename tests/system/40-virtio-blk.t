#!/bin/bash
# virtio-blk and virtio-rng with Debian's cloud kernel, checked against
# independent oracles:
#   - an ext4 image made on the host by e2fsprogs (mke2fs -d) with files of
#     known sha256: the guest mounts it over virtio-blk-pci (-M pc) and its
#     sha256sum of each file must equal the host's;
#   - the guest writes /newfile (busybox `seq 1 50000`) and runs sync; right
#     after its post-sync marker qtemu is killed with SIGKILL; then the
#     host's e2fsck -fn must find the file system clean and debugfs must read
#     /newfile back equal to the host's `seq 1 50000` (FLUSH reached the disk);
#   - on pc the kernel drives virtio-blk-pci through MSI-X; on microvm the
#     interrupt is the GSI the DSDT names;
#   - virtio-rng-pci: the kernel picks virtio_rng as the current hwrng and
#     two 64-byte reads of /dev/hwrng are not all zero and differ;
#   - the same mount/read/write/fsck on -M microvm with virtio-blk-device
#     (virtio-mmio found through the DSDT's LNRO0005 devices);
#   - option mistakes name what is wrong (no boot needed).
. "$(dirname "$0")/lib.sh"
LIMIT=${QTEMU_BOOT_TIMEOUT:-600}
KERNEL="$GUEST/vmlinuz-cloud"
INITRD="$GUEST/initramfs.cpio.gz"
N=18
echo "1..$N"
if [ ! -f "$KERNEL" ] || [ ! -f "$INITRD" ] || ! command -v mke2fs >/dev/null || ! command -v debugfs >/dev/null; then
    for i in $(seq 1 $N); do echo "ok $i # SKIP no guest in $GUEST (make fetch) or no e2fsprogs"; done
    exit 0
fi
PATH=$PATH:/sbin:/usr/sbin

# The image: three files with host-computed checksums.
mkdir -p "$TMP/root/files"
head -c 1048576 /dev/urandom > "$TMP/root/files/random.bin"
seq 1 1000 > "$TMP/root/files/numbers.txt"
printf 'qtemu virtio-blk test\n' > "$TMP/root/files/hello.txt"
mke2fs -q -F -t ext4 -d "$TMP/root" "$TMP/pc.img" 32M
cp "$TMP/pc.img" "$TMP/microvm.img"
(cd "$TMP/root/files" && sha256sum *) | awk '{print $1 "  /mnt/files/" $2}' | sort > "$TMP/host.sums"
new_sum=$(seq 1 50000 | sha256sum | cut -d' ' -f1)

# boot NAME ARGS...: run qtemu until the guest prints QTEMU-BLK-DONE, then SIGKILL it.
boot() {
    local tag=$1; shift
    local start=$(date +%s)
    "$QTEMU" -kernel "$KERNEL" -initrd "$INITRD" -m 256M -nographic -no-reboot "$@" \
        -append "console=ttyS0 qtemu.test=blk panic=-1" < /dev/null > "$TMP/$tag.console" 2> "$TMP/$tag.stderr" &
    local pid=$!
    while kill -0 $pid 2>/dev/null; do
        grep -q "QTEMU-BLK-DONE" "$TMP/$tag.console" && break
        [ $(( $(date +%s) - start )) -ge "$LIMIT" ] && break
        sleep 0.5
    done
    kill -9 $pid 2>/dev/null
    wait $pid 2>/dev/null
    echo "# $tag: $(( $(date +%s) - start )) s; last console lines:"
    tail -n 8 "$TMP/$tag.console" | sed 's/^/#   /'
    [ -s "$TMP/$tag.stderr" ] && head -n 5 "$TMP/$tag.stderr" | sed 's/^/# stderr: /'
}

# disk_checks NAME IMAGE: the four checks shared by both boards.
disk_checks() {
    local tag=$1 img=$2
    check "$tag: guest mounted /dev/vda as ext4" grep -q "QTEMU-MOUNTED: /dev/vda /mnt ext4" "$TMP/$tag.console"
    tr -d '\r' < "$TMP/$tag.console" | sed -n 's/^QTEMU-FILE: //p' | sort > "$TMP/$tag.sums"
    check "$tag: guest sha256 of the 3 files equals the host's" cmp -s "$TMP/host.sums" "$TMP/$tag.sums"
    check "$tag: guest synced /newfile ($new_sum)" grep -q "QTEMU-SYNCED: $new_sum" "$TMP/$tag.console"
    e2fsck -fn "$img" > "$TMP/$tag.fsck" 2>&1
    local rc=$?
    [ $rc -ne 0 ] && sed 's/^/# fsck: /' "$TMP/$tag.fsck" | head -n 10
    check "$tag: e2fsck -fn after SIGKILL finds the file system clean (status $rc)" [ $rc -eq 0 ]
    local got=$(debugfs -R 'cat /newfile' "$img" 2>/dev/null | sha256sum | cut -d' ' -f1)
    check "$tag: debugfs reads /newfile back as written" [ "$got" = "$new_sum" ]
}

boot pc -drive file="$TMP/pc.img",format=raw,if=none,id=disk0 -device virtio-blk-pci,drive=disk0 \
    -device virtio-rng-pci
disk_checks pc "$TMP/pc.img"
r1=$(tr -d '\r' < "$TMP/pc.console" | sed -n 's/^QTEMU-RNG1: //p')
r2=$(tr -d '\r' < "$TMP/pc.console" | sed -n 's/^QTEMU-RNG2: //p')
check "pc: kernel uses virtio_rng as /dev/hwrng" grep -q "QTEMU-RNG-CURRENT: virtio_rng" "$TMP/pc.console"
check "pc: two 64-byte reads of /dev/hwrng: 128 hex digits, not all zero, different" \
    sh -c "[ \${#1} -eq 128 ] && [ \${#2} -eq 128 ] && [ \"\$1\" != \"\$2\" ] && echo \"\$1\" | grep -q '[1-9a-f]'" _ "$r1" "$r2"

check "pc: virtio-blk requests complete through MSI-X (PCI-MSI virtio0-req.0 count > 0)" \
    grep -Eq "QTEMU-IRQ: +[0-9]+: [1-9][0-9]* PCI-MSI .*virtio0-req.0" "$TMP/pc.console"

boot microvm -M microvm -drive file="$TMP/microvm.img",format=raw,if=none,id=d1 \
    -device virtio-blk-device,drive=d1
disk_checks microvm "$TMP/microvm.img"
check "microvm: virtio-mmio interrupts arrive on IOAPIC GSI 16 (from the DSDT's _CRS)" \
    grep -Eq "QTEMU-IRQ: +16: [1-9][0-9]* IO-APIC.*virtio0" "$TMP/microvm.console"

# Option mistakes: one line on stderr naming the problem, status 1.
bad() {  # bad "name" "expected text" args...
    local what=$1 want=$2; shift 2
    "$QTEMU" -kernel "$KERNEL" "$@" > /dev/null 2> "$TMP/bad.err" < /dev/null
    local rc=$?
    check "$what" sh -c "[ $rc -eq 1 ] && grep -q \"\$1\" '$TMP/bad.err'" _ "$want"
}
bad "-device virtio-blk-pci with an unknown drive id is refused" "drive 'nope' not found" \
    -device virtio-blk-pci,drive=nope
bad "virtio-blk-device on -M pc is refused" "virtio-blk-device needs -M microvm" \
    -drive file="$TMP/pc.img",if=none,id=x -device virtio-blk-device,drive=x
bad "format=qcow2 is refused" "format=qcow2 is not supported" -drive file="$TMP/pc.img",format=qcow2
bad "a missing image file is named" "could not open disk image" -drive file="$TMP/absent.img",format=raw
exit 0
