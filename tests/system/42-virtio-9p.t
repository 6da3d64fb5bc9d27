#!/bin/bash
# virtio-9p: Debian's cloud kernel is built without 9P (CONFIG_NET_9P is not
# set), so this boots the generic kernel (linux-image-amd64) with an
# initramfs carrying its own modules (9p, 9pnet_virtio, netfs, fscache;
# scripts/fetch-guest.sh builds initramfs-amd64.cpio.gz). The init script
# (qtemu.test=9p) mounts the share with
#   mount -t 9p -o trans=virtio,version=9p2000.L TAG /mnt
# Oracles are the host's own tools and file system:
#   - the guest's sha256 of the host's files (1 MiB random + a small one)
#     equal the host's sha256sum; stat of a host file shows its host size/mode;
#   - what the guest creates, copies, renames, deletes, chmods and mkdirs is
#     what the host then finds on disk (content by sha256sum, mode by stat);
#   - a file the host creates while the guest runs is listed and read by it;
#   - security_model=mapped-xattr: the guest's chmod lands in the
#     user.virtfs.mode xattr (QEMU's layout, le32 st_mode) while the host file
#     stays 0600 (skipped where the host fs has no user xattrs);
#   - option mistakes name what is wrong (no boot needed).
# The 9P2000.L server itself is also tested against the host fs in
# tests/unit/test_p9.c.
. "$(dirname "$0")/lib.sh"
LIMIT=${QTEMU_BOOT_TIMEOUT:-240}
KERNEL="$GUEST/vmlinuz-amd64"
INITRD="$GUEST/initramfs-amd64.cpio.gz"
N=15
echo "1..$N"
if [ ! -f "$KERNEL" ] || [ ! -f "$INITRD" ]; then
    for i in $(seq 1 $N); do echo "ok $i # SKIP no generic guest in $GUEST (make fetch)"; done
    exit 0
fi

# share DIR: the host folder the guest sees.
share() {
    mkdir -p "$1/files"
    head -c 1048576 /dev/urandom > "$1/files/random.bin"
    printf 'qtemu virtio-9p test\n' > "$1/files/hello.txt"
    printf 'mode\n' > "$1/host-mode.txt"; chmod 754 "$1/host-mode.txt"
    printf 'rename me\n' > "$1/g-to-rename"
    printf 'delete me\n' > "$1/g-delete-me"
}

# boot TAG DIR FSDEV-OPTS: run the guest until it powers off (creating
# host-late.txt when it says it waits for it).
boot() {
    local tag=$1 dir=$2 start=$(date +%s)
    "$QTEMU" -kernel "$KERNEL" -initrd "$INITRD" -m 256M -nographic -no-reboot \
        -append "console=ttyS0 rdinit=/init quiet panic=-1 qtemu.test=9p qtemu.9ptag=share$tag" \
        -fsdev "local,id=f0,path=$dir,$3" -device "virtio-9p-pci,fsdev=f0,mount_tag=share$tag" \
        < /dev/null > "$TMP/$tag.out" 2> "$TMP/$tag.err" &
    local q=$! late=0
    while kill -0 $q 2>/dev/null && [ $(( $(date +%s) - start )) -lt "$LIMIT" ]; do
        if [ $late = 0 ] && grep -q "QTEMU-9P-WAITING" "$TMP/$tag.out"; then
            seq 100 -1 1 > "$dir/host-late.txt"; late=1
        fi
        sleep 0.3
    done
    kill -9 $q 2>/dev/null; wait $q 2>/dev/null
    echo "# $tag: $(( $(date +%s) - start )) s; last console lines:"
    tail -n 6 "$TMP/$tag.out" | sed 's/^/#   /'
    [ -s "$TMP/$tag.err" ] && head -n 5 "$TMP/$tag.err" | sed 's/^/# stderr: /'
}

# --- security_model=none: the guest's view is the host's, both ways.
D="$TMP/none"; share "$D"
(cd "$D/files" && sha256sum *) | awk '{print $1 "  /mnt/files/" $2}' | sort > "$TMP/host.sums"
boot none "$D" security_model=none
out=$(tr -d '\r' < "$TMP/none.out")
has() { printf '%s\n' "$out" | grep -q -- "$1"; }
check "guest mounts the share (9p, trans=virtio)" has "^QTEMU-9P-MOUNTED: sharenone /mnt 9p .*trans=virtio"
printf '%s\n' "$out" | sed -n 's/^QTEMU-9P-FILE: //p' | sort > "$TMP/guest.sums"
check "guest sha256 of the host's files equals the host's" cmp -s "$TMP/host.sums" "$TMP/guest.sums"
check "guest stat of a host file: size and mode as on the host" \
    has "^QTEMU-9P-STAT: $(stat -c '%s %a' "$D/host-mode.txt") regular file$"
check "file created by the guest has the content it wrote (seq 1 3000)" \
    [ "$(sha256sum < "$D/g-created" 2>/dev/null)" = "$(seq 1 3000 | sha256sum)" ]
check "guest chmod 640: the host file is 640; guest stat agrees" \
    eval '[ "$(stat -c %a "$D/g-created" 2>/dev/null)" = 640 ] && has "^QTEMU-9P-GSTAT: $(stat -c %s "$D/g-created") 640$"'
check "1 MiB copied by the guest equals the original on the host" cmp -s "$D/files/random.bin" "$D/g-copy.bin"
check "guest rename: the host sees the new name only" eval '[ -f "$D/g-renamed" ] && [ ! -e "$D/g-to-rename" ]'
check "guest delete: the file is gone on the host" [ ! -e "$D/g-delete-me" ]
check "guest mkdir + file inside: on the host" eval '[ "$(cat "$D/g-dir/file" 2>/dev/null)" = inside ]'
check "host-created file: listed and read by the guest (sha256 vs host)" \
    eval 'has "^QTEMU-9P-LS: .*host-late.txt" && has "^QTEMU-9P-LATE: $(seq 100 -1 1 | sha256sum | cut -d" " -f1)  /mnt/host-late.txt$"'
check "guest unmounts and powers off" eval 'has "^QTEMU-9P-UNMOUNTED$" && has "^QTEMU-9P-DONE$"'

# --- security_model=mapped-xattr: guest metadata in user.virtfs.* xattrs.
D="$TMP/mapped"; share "$D"
if python3 -c "import os,sys; os.setxattr(sys.argv[1], 'user.qtemu', b'1')" "$D/host-mode.txt" 2>/dev/null; then
    boot mapped "$D" security_model=mapped-xattr
    mode=$(python3 -c "import os,sys,struct; print('%o' % struct.unpack('<I', os.getxattr(sys.argv[1], 'user.virtfs.mode'))[0])" \
           "$D/g-created" 2>/dev/null)
    check "mapped-xattr: guest chmod 640 stored as user.virtfs.mode 100640, host file 600" \
        eval '[ "$mode" = 100640 ] && [ "$(stat -c %a "$D/g-created")" = 600 ] && grep -q "^QTEMU-9P-GSTAT: [0-9]* 640" "$TMP/mapped.out"'
else
    echo "ok $((++n)) # SKIP no user xattrs on the host fs of $TMP"
fi

# Option mistakes (no boot).
bad() {  # bad NAME PATTERN ARGS...
    local name=$1 pat=$2; shift 2
    "$QTEMU" -kernel "$KERNEL" "$@" < /dev/null > "$TMP/bad.out" 2>&1
    local rc=$?
    check "$name (exit $rc)" eval '[ $rc -ne 0 ] && grep -qi -- "$pat" "$TMP/bad.out"'
}
bad "virtio-9p-pci names an unknown fsdev" "nosuch" -device virtio-9p-pci,fsdev=nosuch,mount_tag=t
bad "-fsdev path that does not exist" "$TMP/absent" -fsdev "local,id=f0,path=$TMP/absent,security_model=none" \
    -device virtio-9p-pci,fsdev=f0,mount_tag=t
bad "-virtfs with an unknown security_model" "security_model" \
    -virtfs "local,path=$TMP,mount_tag=t,security_model=bogus"
exit 0
