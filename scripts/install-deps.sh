#!/bin/sh
# Install qtemu's build and test dependencies from Debian's archive.
# --check: exit 0 if everything is present, 1 otherwise (installs nothing).
set -e
PKGS="build-essential pkg-config libcapstone-dev libcriterion-dev libxxhash-dev libedit-dev libslirp-dev cpio gzip xz-utils zstd perl file e2fsprogs python3 lz4 libjansson-dev gdb clang qemu-system-x86"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ "$1" = "--check" ]; then
    [ -z "$missing" ] && exit 0
    echo "missing packages:$missing"
    exit 1
fi
[ -z "$missing" ] && exit 0
echo "installing:$missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing
