#!/bin/sh
# Fetch the real guest inputs into .cache/guest (git-ignored):
#   vmlinuz-cloud   Debian's current linux-image-cloud-amd64 kernel
#   vmlinuz-amd64   Debian's current linux-image-amd64 kernel (XZ-compressed bzImage)
#   initramfs.cpio.gz  busybox-static + an init script (see scripts/initramfs-init)
#   initramfs-amd64.cpio.gz  the same with vmlinuz-amd64's modules (+ 9p)
# Versions are resolved from the meta-packages with apt-cache, and the .debs
# are fetched with `apt-get download`. Re-running is cheap: existing files are kept
# unless the resolved version changed.
#   --cloud-only   skip the (larger) generic kernel
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
cache="$top/.cache/guest"
mkdir -p "$cache/debs"
cd "$cache/debs"

want_generic=1
[ "$1" = "--cloud-only" ] && want_generic=0

resolve() {  # meta-package -> versioned linux-image package
    apt-cache depends "$1" 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}'
}

if ! apt-cache show linux-image-cloud-amd64 >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
    $SUDO apt-get update -qq
fi

fetch_kernel() {  # meta-package, output name
    pkg=$(resolve "$1")
    if [ -z "$pkg" ]; then
        echo "fetch-guest: cannot resolve $1 with apt-cache" >&2
        exit 1
    fi
    if [ -f "$cache/$2" ] && [ "$(cat "$cache/$2.pkg" 2>/dev/null)" = "$pkg" ]; then
        return 0
    fi
    echo "fetch-guest: downloading $pkg"
    rm -f "$pkg"_*.deb
    apt-get download "$pkg" >/dev/null 2>&1 || apt-get download "$pkg"
    rm -rf x && mkdir x && dpkg-deb -x "$pkg"_*.deb x
    cp x/boot/vmlinuz-* "$cache/$2"
    cp x/boot/config-* "$cache/$2.config"
    echo "$pkg" > "$cache/$2.pkg"
    rm -rf x
}

fetch_kernel linux-image-cloud-amd64 vmlinuz-cloud
# The cloud kernel's uncompressed ELF vmlinux, for the PVH boot test (12-pvh.t).
if [ ! -f "$cache/vmlinux-cloud" ] || [ "$cache/vmlinuz-cloud" -nt "$cache/vmlinux-cloud" ]; then
    python3 "$top/scripts/extract-vmlinux.py" "$cache/vmlinuz-cloud" "$cache/vmlinux-cloud"
fi
[ $want_generic = 1 ] && fetch_kernel linux-image-amd64 vmlinuz-amd64

if [ ! -f "$cache/busybox" ]; then
    echo "fetch-guest: downloading busybox-static"
    rm -f busybox-static_*.deb
    apt-get download busybox-static >/dev/null 2>&1 || apt-get download busybox-static
    rm -rf bb && mkdir bb && dpkg-deb -x busybox-static_*.deb bb
    cp bb/bin/busybox "$cache/busybox"
    rm -rf bb
fi

# Kernel modules for the initramfs (Debian's kernels have virtio as modules):
# the modules named in MODULES and everything their .modinfo "depends=" names,
# from the cloud kernel's own package, listed in load order (dependencies
# first) in modules/load-order. The package ships no modules.dep (depmod runs
# at install), so the dependencies are read from each .ko with objcopy.
MODULES="virtio_pci virtio_mmio virtio_blk virtio-rng virtio_net virtio_console"
# x86 crypto drivers (load only where CPUID offers AES/PCLMULQDQ/SSE4.2, i.e.
# -cpu max; their registration runs the kernel's crypto self-tests)
MODULES="$MODULES aesni_intel ghash_clmulni_intel crc32c_intel crc32_pclmul"
# modules_for KERNEL DIR MODULES: fill DIR from .cache/guest/vmlinuz-KERNEL's package.
modules_for() {
mods="$2"
mods_key="$(cat "$cache/vmlinuz-$1.pkg") $3"
if [ ! -f "$mods/load-order" ] || [ "$(cat "$mods/key" 2>/dev/null)" != "$mods_key" ]; then
    pkg=$(cat "$cache/vmlinuz-$1.pkg")
    [ -f "$pkg"_*.deb ] 2>/dev/null || apt-get download "$pkg" >/dev/null 2>&1 || apt-get download "$pkg"
    rm -rf "$mods" x && mkdir -p "$mods" x && dpkg-deb -x "$pkg"_*.deb x
    ko() { find x/lib/modules -name "$1.ko" | head -n 1; }
    deps() { objcopy -O binary --only-section=.modinfo "$1" /dev/stdout | tr '\0' '\n' \
             | sed -n 's/^depends=//p' | tr ',' ' '; }
    add() {  # depth-first: dependencies before the module itself
        local f d name
        grep -qx "$1" "$mods/load-order" 2>/dev/null && return 0
        f=$(ko "$1")
        if [ -z "$f" ]; then
            f=$(ko "$(echo "$1" | tr '_-' '-_')")     # virtio_rng is virtio-rng.ko
            [ -z "$f" ] && { echo "fetch-guest: module $1 not in $pkg" >&2; exit 1; }
        fi
        for d in $(deps "$f"); do add "$d"; done
        name=$(basename "$f" .ko)
        grep -qx "$name" "$mods/load-order" 2>/dev/null && return 0
        cp "$f" "$mods/$name.ko"
        echo "$name" >> "$mods/load-order"
    }
    for m in $3; do add "$m"; done
    rm -rf x
    echo "$mods_key" > "$mods/key"
    echo "fetch-guest: modules $(tr '\n' ' ' < "$mods/load-order")"
fi
}

# The initramfs: rebuilt whenever the init script, busybox or the modules change.
# initramfs_for MODULES-DIR OUTPUT
initramfs_for() {
init="$top/scripts/initramfs-init"
mods="$1"
if [ ! -f "$2" ] || [ "$init" -nt "$2" ] \
   || [ "$cache/busybox" -nt "$2" ] \
   || [ "$mods/load-order" -nt "$2" ]; then
    root="$cache/initramfs-root"
    rm -rf "$root"
    mkdir -p "$root/bin" "$root/sbin" "$root/proc" "$root/sys" "$root/dev" "$root/tmp" "$root/root" "$root/etc"
    cp "$cache/busybox" "$root/bin/busybox"
    ln -s busybox "$root/bin/sh"
    cp "$init" "$root/init"
    mkdir -p "$root/lib/modules"
    cp "$mods"/*.ko "$mods/load-order" "$root/lib/modules/"
    chmod 755 "$root/init"
    (cd "$root" && find . | cpio -o -H newc --quiet | gzip -9 > "$2")
    rm -rf "$root"
    echo "fetch-guest: built $2"
fi
}

modules_for cloud "$cache/modules" "$MODULES"
initramfs_for "$cache/modules" "$cache/initramfs.cpio.gz"
# The generic kernel's own modules in a second initramfs, plus 9P (the cloud
# kernel has no CONFIG_NET_9P): tests/system/42-virtio-9p.t.
if [ $want_generic = 1 ]; then
    modules_for amd64 "$cache/modules-amd64" "$MODULES 9pnet_virtio 9p"
    initramfs_for "$cache/modules-amd64" "$cache/initramfs-amd64.cpio.gz"
fi
