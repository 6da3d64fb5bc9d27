#!/usr/bin/env python3
"""Extract the uncompressed ELF vmlinux from an x86 bzImage.

usage: extract-vmlinux.py BZIMAGE OUT
       extract-vmlinux.py --check VMLINUX

Per Documentation/arch/x86/boot.rst, the protected-mode part starts at
(setup_sects + 1) * 512 (setup_sects at 0x1f1, 0 meaning 4), and the
compressed kernel lies payload_offset (0x248) bytes into it, payload_length
(0x24c) bytes long (boot protocol 2.08+). For every format but gzip the
kernel's build appends the uncompressed size as a little-endian u32 to the
payload (scripts/Makefile.lib size_append); it is stripped here, and used to
check the result.

Formats: gzip, xz, lzma, bzip2 (Python's standard library), lz4 legacy
frames (`lz4 -dc`, Debian package lz4) and zstd (`zstd -dc`).

The result is checked to be an ELF64 little-endian EM_X86_64 executable with
a PT_NOTE segment holding the Xen note XEN_ELFNOTE_PHYS32_ENTRY (type 18),
i.e. bootable through the PVH entry; the entry address is printed. OUT is
written atomically (OUT.tmp, then renamed). Exit status 0 on success, 1 with
one line on stderr otherwise.

--check only runs that ELF/PVH check on an existing VMLINUX and prints
"PVH entry 0x...".
"""
import bz2
import gzip
import lzma
import os
import struct
import subprocess
import sys

XEN_ELFNOTE_PHYS32_ENTRY = 18
PT_NOTE = 4
EM_X86_64 = 62


def fail(msg):
    sys.stderr.write("extract-vmlinux: %s\n" % msg)
    sys.exit(1)


def payload(img):
    if len(img) < 0x250 or img[0x202:0x206] != b"HdrS":
        fail("not a bzImage (no 'HdrS' at 0x202)")
    version = struct.unpack_from("<H", img, 0x206)[0]
    if version < 0x208:
        fail("boot protocol %#x has no payload fields (need 2.08+)" % version)
    setup_sects = img[0x1f1] or 4
    off, length = struct.unpack_from("<II", img, 0x248)
    start = (setup_sects + 1) * 512 + off
    if start + length > len(img):
        fail("payload %#x+%#x runs past the end of the file" % (start, length))
    return img[start:start + length]


def run_tool(argv, data):
    try:
        p = subprocess.run(argv, input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except FileNotFoundError:
        fail("'%s' not found (install Debian package %s)"
             % (argv[0], {"lz4": "lz4", "zstd": "zstd"}.get(argv[0], argv[0])))
    if p.returncode != 0:
        fail("%s failed: %s" % (" ".join(argv), p.stderr.decode(errors="replace").strip()))
    return p.stdout


def decompress(p):
    if p[:2] == b"\x1f\x8b":
        return "gzip", gzip.decompress(p), None
    size = struct.unpack_from("<I", p, len(p) - 4)[0]
    body = p[:-4]
    if p[:6] == b"\xfd7zXZ\x00":
        d = lzma.LZMADecompressor(format=lzma.FORMAT_XZ)
        return "xz", d.decompress(body), size
    if p[:3] == b"\x5d\x00\x00":
        d = lzma.LZMADecompressor(format=lzma.FORMAT_ALONE)
        return "lzma", d.decompress(body), size
    if p[:3] == b"BZh":
        return "bzip2", bz2.BZ2Decompressor().decompress(body), size
    if p[:4] == b"\x02\x21\x4c\x18":
        return "lz4", run_tool(["lz4", "-dc"], body), size
    if p[:4] == b"\x28\xb5\x2f\xfd":
        return "zstd", run_tool(["zstd", "-dc"], body), size
    fail("unknown payload compression (magic %s)" % p[:6].hex())


def pvh_entry(elf):
    """Return the PHYS32_ENTRY address, failing unless elf is a PVH-bootable x86-64 ELF64."""
    if elf[:4] != b"\x7fELF":
        fail("payload is not an ELF file")
    if elf[4] != 2 or elf[5] != 1:
        fail("ELF is not ELF64 little-endian")
    e_machine = struct.unpack_from("<H", elf, 18)[0]
    if e_machine != EM_X86_64:
        fail("ELF e_machine is %d, not EM_X86_64" % e_machine)
    phoff = struct.unpack_from("<Q", elf, 32)[0]
    phentsize, phnum = struct.unpack_from("<HH", elf, 54)
    for i in range(phnum):
        ph = phoff + i * phentsize
        p_type = struct.unpack_from("<I", elf, ph)[0]
        if p_type != PT_NOTE:
            continue
        off, filesz = struct.unpack_from("<Q", elf, ph + 8)[0], struct.unpack_from("<Q", elf, ph + 32)[0]
        pos, end = off, off + filesz
        while pos + 12 <= end:
            namesz, descsz, ntype = struct.unpack_from("<III", elf, pos)
            name = elf[pos + 12:pos + 12 + namesz]
            desc = pos + 12 + ((namesz + 3) & ~3)
            if ntype == XEN_ELFNOTE_PHYS32_ENTRY and name == b"Xen\x00":
                if descsz == 4:
                    return struct.unpack_from("<I", elf, desc)[0]
                if descsz == 8:
                    return struct.unpack_from("<Q", elf, desc)[0]
            pos = desc + ((descsz + 3) & ~3)
    fail("no Xen PHYS32_ENTRY note (type 18) in any PT_NOTE: kernel built without CONFIG_PVH?")


def main():
    if len(sys.argv) != 3:
        sys.stderr.write("usage: extract-vmlinux.py BZIMAGE OUT | --check VMLINUX\n")
        sys.exit(2)
    if sys.argv[1] == "--check":
        with open(sys.argv[2], "rb") as f:
            print("PVH entry %#x" % pvh_entry(f.read()))
        return
    src, out = sys.argv[1], sys.argv[2]
    with open(src, "rb") as f:
        img = f.read()
    kind, elf, size = decompress(payload(img))
    if size is not None and size != len(elf):
        fail("%s payload decompressed to %d bytes, the appended size says %d"
             % (kind, len(elf), size))
    entry = pvh_entry(elf)
    tmp = out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(elf)
    os.replace(tmp, out)
    print("extract-vmlinux: %s: %s payload -> %s (%d bytes, PVH entry %#x)"
          % (os.path.basename(src), kind, out, len(elf), entry))


if __name__ == "__main__":
    try:
        main()
    except struct.error:
        fail("truncated or malformed header (a field lies past the end of the data)")
    except (OSError, lzma.LZMAError, EOFError) as e:
        fail(str(e))
