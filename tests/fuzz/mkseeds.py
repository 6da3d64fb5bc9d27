#!/usr/bin/env python3
"""tests/fuzz/mkseeds.py - write the seed inputs of the virtio fuzz targets
into tests/fuzz/regress/<target>/seed-*: valid descriptor chains and
requests built from the specs (virtio 1.2 2.7 split rings, 4.1 virtio-pci,
4.2 virtio-mmio, 5.x devices; RFC 826 ARP, RFC 792 ICMP, RFC 2131 DHCP,
RFC 793 TCP; 9P2000.L as Linux's net/9p/client.c sends it), so the fuzzer
starts from inputs that reach the device logic. The formats are described
in tests/fuzz/virtio_fuzz.h and at the top of each fuzz_virtio_*.c.

usage: python3 tests/fuzz/mkseeds.py   (from anywhere; rewrites the seed files)
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

# ---------------------------------------------------------------- program format (virtio_fuzz.h)
CHAIN, KICK, POKE, EVENT, RESET, DEVICE = range(6)
F_INDIRECT, F_EVENT_IDX = 1, 2


def chain(q, outs=(), ins=(), flags=0):
    """outs: payload bytes per readable buffer; ins: capacity per writable buffer."""
    b = bytes([CHAIN, q, len(outs), len(ins), flags])
    for p in outs:
        b += struct.pack('<H', len(p)) + p
    for n in ins:
        b += struct.pack('<H', n)
    return b


def kick(q):
    return bytes([KICK, q])


def program(feat, log2size, *ops):
    return bytes([feat, log2size]) + b''.join(ops)


def write(target, name, data):
    d = os.path.join(HERE, 'regress', target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, 'seed-' + name), 'wb') as f:
        f.write(data)


# ---------------------------------------------------------------- virtio-rng (5.4)
write('fuzz_virtio_rng', 'one', program(0, 3, chain(0, ins=[64]), kick(0)))
write('fuzz_virtio_rng', 'indirect-event-idx',
      program(F_INDIRECT | F_EVENT_IDX, 4, chain(0, ins=[16, 4096], flags=1), chain(0, ins=[1]),
              bytes([EVENT, 0, 1, 0]), kick(0)))

# ---------------------------------------------------------------- virtio-console (5.3)
write('fuzz_virtio_console', 'echo',
      program(0, 3, chain(0, ins=[64]), chain(0, ins=[64]), kick(0),
              bytes([DEVICE, 6]) + b'hello\n', chain(1, outs=[b'QTEMU console\n']), kick(1)))
write('fuzz_virtio_console', 'no-buffer-then-buffer',
      program(F_INDIRECT, 2, bytes([DEVICE, 3]) + b'abc', chain(0, ins=[2, 2], flags=1), kick(0),
              bytes([DEVICE, 3]) + b'xyz', chain(1, outs=[b'a', b'bc'], flags=1), kick(1)))

# ---------------------------------------------------------------- virtio-net (5.1) + slirp
GUEST_MAC = bytes.fromhex('525400123456')
SLIRP_MAC = bytes.fromhex('52550a000202')   # libslirp's special_ethaddr + 10.0.2.2
GUEST_IP, HOST_IP = bytes([10, 0, 2, 15]), bytes([10, 0, 2, 2])
NET_HDR = bytes(12)                          # virtio_net_hdr with num_buffers (5.1.6)


def csum(b):
    if len(b) % 2:
        b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return struct.pack('!H', ~s & 0xffff)


def ipv4(proto, src, dst, payload):
    h = struct.pack('!BBHHHBB2s4s4s', 0x45, 0, 20 + len(payload), 1, 0, 64, proto, b'\0\0', src, dst)
    return h[:10] + csum(h) + h[12:] + payload


def eth(dst, ethertype, payload):
    return dst + GUEST_MAC + struct.pack('!H', ethertype) + payload


arp = eth(b'\xff' * 6, 0x0806, struct.pack('!HHBBH6s4s6s4s', 1, 0x0800, 6, 4, 1, GUEST_MAC, GUEST_IP,
                                            bytes(6), HOST_IP))
icmp = struct.pack('!BBHHH', 8, 0, 0, 0x1234, 1) + b'qtemu-ping' * 4
icmp = icmp[:2] + csum(icmp) + icmp[4:]
ping = eth(SLIRP_MAC, 0x0800, ipv4(1, GUEST_IP, HOST_IP, icmp))
bootp = struct.pack('!BBBBIHH4s4s4s4s16s64s128s', 1, 1, 6, 0, 0x5eed, 0, 0x8000, bytes(4), bytes(4),
                    bytes(4), bytes(4), GUEST_MAC + bytes(10), bytes(64), bytes(128))
bootp += bytes([99, 130, 83, 99, 53, 1, 1, 255])
udp = struct.pack('!HHHH', 68, 67, 8 + len(bootp), 0) + bootp
dhcp = eth(b'\xff' * 6, 0x0800, ipv4(17, bytes(4), b'\xff' * 4, udp))
tcp = struct.pack('!HHIIBBHHH', 40000, 80, 1000, 0, 5 << 4, 0x02, 65535, 0, 0)
pseudo = GUEST_IP + HOST_IP + struct.pack('!BBH', 0, 6, len(tcp))
tcp = tcp[:16] + csum(pseudo + tcp) + tcp[18:]
syn = eth(SLIRP_MAC, 0x0800, ipv4(6, GUEST_IP, HOST_IP, tcp))
rx = b''.join(chain(0, ins=[1526]) for _ in range(4)) + kick(0)
for name, frame in (('arp', arp), ('ping', ping), ('dhcp', dhcp), ('tcp-syn', syn)):
    write('fuzz_virtio_net', name,
          program(0, 4, rx, chain(1, outs=[NET_HDR + frame]), kick(1), bytes([DEVICE, 200, 0])))
write('fuzz_virtio_net', 'split-header-indirect',
      program(F_INDIRECT | F_EVENT_IDX, 4, chain(0, ins=[12, 1514], flags=1), kick(0),
              chain(1, outs=[NET_HDR, arp], flags=1), kick(1)))

# ---------------------------------------------------------------- virtio-9p + 9P2000.L
def s9(x):
    return struct.pack('<H', len(x)) + x


def t9(mtype, tag, body):
    return struct.pack('<IBH', 7 + len(body), mtype, tag) + body


NOFID = 0xffffffff
Tversion = t9(100, 0xffff, struct.pack('<I', 8192) + s9(b'9P2000.L'))
Tattach = t9(104, 1, struct.pack('<II', 0, NOFID) + s9(b'') + s9(b'') + struct.pack('<I', 0))
Twalk_clone = t9(110, 2, struct.pack('<IIH', 0, 1, 0))
Tlcreate = t9(14, 3, struct.pack('<I', 1) + s9(b'f') + struct.pack('<III', 0o102, 0o644, 0))
Twrite = t9(118, 4, struct.pack('<IQI', 1, 0, 5) + b'hello')
Tread = t9(116, 5, struct.pack('<IQI', 1, 0, 64))
Tgetattr = t9(24, 6, struct.pack('<IQ', 0, 0x3fff))
Tmkdir = t9(72, 7, struct.pack('<I', 0) + s9(b'd') + struct.pack('<II', 0o755, 0))
Tlopen_root = t9(12, 8, struct.pack('<III', 2, 0, 0))   # fid 2 is walked to "." below
Twalk_root = t9(110, 9, struct.pack('<IIH', 0, 2, 0))
Treaddir = t9(40, 10, struct.pack('<IQI', 2, 0, 512))
Tclunk = t9(120, 11, struct.pack('<I', 1))
Twalk_up = t9(110, 12, struct.pack('<IIH', 0, 3, 2) + s9(b'..') + s9(b'outside'))
Tsymlink = t9(16, 13, struct.pack('<I', 0) + s9(b'l') + s9(b'../outside/sentinel') + struct.pack('<I', 0))
Twalk_link = t9(110, 14, struct.pack('<IIH', 0, 4, 1) + s9(b'l'))
Tlopen_link = t9(12, 15, struct.pack('<III', 4, 2, 0))
Tunlinkat = t9(76, 16, struct.pack('<I', 0) + s9(b'f') + struct.pack('<I', 0))

REPLY = [8192]


def req(*msgs):
    return b''.join(chain(0, outs=[m], ins=REPLY) for m in msgs) + kick(0)


write('fuzz_virtio_9p', 'session',
      program(0, 4, req(Tversion, Tattach, Twalk_clone, Tlcreate, Twrite, Tread, Tgetattr, Tmkdir,
                        Twalk_root, Tlopen_root, Treaddir, Tclunk, Tunlinkat)))
write('fuzz_virtio_9p', 'escape-attempts',
      program(F_INDIRECT, 4, req(Tversion, Tattach, Twalk_up, Tsymlink, Twalk_link, Tlopen_link)))
# A T-message split over two readable buffers, the reply over two writable ones, indirect.
write('fuzz_virtio_9p', 'split-buffers',
      program(F_INDIRECT, 3, chain(0, outs=[Tversion[:5], Tversion[5:]], ins=[7, 100], flags=1),
              chain(0, outs=[Tattach], ins=[4, 8188], flags=1), kick(0)))

# ---------------------------------------------------------------- virtio-pci (4.1) + pci.c
def cfgw(dev, reg, size_code, val):
    return bytes([0, dev, reg, size_code]) + struct.pack('<I', val)


def bar0w(dev, region, off, size_code, val):
    b = bytes([2, dev, region, off, size_code]) + struct.pack('<I', val & 0xffffffff)
    return b + (struct.pack('<I', val >> 32) if size_code == 3 else b'')


def bar1w(dev, off, size_code, val):
    return bytes([2, dev, 0x80]) + struct.pack('<H', off) + bytes([size_code]) + struct.pack('<I', val)


def poke(addr, data):
    out = b''
    for i in range(0, len(data), 255):
        part = data[i:i + 255]
        out += bytes([4]) + struct.pack('<I', addr + i) + bytes([len(part)]) + part
    return out


def pokeop(addr, data, opcode):
    out = b''
    for i in range(0, len(data), 255):
        part = data[i:i + 255]
        out += bytes([opcode]) + struct.pack('<I', addr + i) + bytes([len(part)]) + part
    return out


def desc(addr, length, flags, nxt):
    return struct.pack('<QIHH', addr, length, flags, nxt)


NEXT, WRITE = 1, 2


def pci_bringup(dev, ring, qsize, vec_base):
    """Linux's virtio_pci_modern probe order (4.1.5.1), MSI-X on, queue 0 at ring."""
    ops = bar0w(dev, 0, 0x14, 0, 0)                 # reset
    ops += bar0w(dev, 0, 0x14, 0, 1) + bar0w(dev, 0, 0x14, 0, 3)
    ops += bar0w(dev, 0, 0x00, 2, 1)                # device_feature_select 1
    ops += bytes([3, dev, 0, 0x04, 2])              # read device_feature
    ops += bar0w(dev, 0, 0x08, 2, 1) + bar0w(dev, 0, 0x0C, 2, 1)   # VERSION_1
    ops += bar0w(dev, 0, 0x08, 2, 0) + bar0w(dev, 0, 0x0C, 2, 0)
    ops += bar0w(dev, 0, 0x14, 0, 0xB)              # FEATURES_OK
    ops += cfgw(dev, 0x42, 1, 0x8000)               # MSI-X enable (capability at 0x40)
    ops += bar1w(dev, 16 * 0, 2, 0xFEE00000) + bar1w(dev, 16 * 0 + 8, 2, vec_base)
    ops += bar1w(dev, 16 * 0 + 12, 2, 0)
    ops += bar1w(dev, 16 * 1, 2, 0xFEE00000) + bar1w(dev, 16 * 1 + 8, 2, vec_base + 1)
    ops += bar1w(dev, 16 * 1 + 12, 2, 0)
    ops += bar0w(dev, 0, 0x10, 1, 0)                # config_msix_vector 0
    ops += bar0w(dev, 0, 0x16, 1, 0)                # queue_select 0
    ops += bar0w(dev, 0, 0x18, 1, qsize)
    ops += bar0w(dev, 0, 0x1A, 1, 1)                # queue_msix_vector 1
    ops += bar0w(dev, 0, 0x20, 3, ring) + bar0w(dev, 0, 0x28, 3, ring + 0x1000)
    ops += bar0w(dev, 0, 0x30, 3, ring + 0x2000)
    ops += bar0w(dev, 0, 0x1C, 1, 1)                # queue_enable
    ops += bar0w(dev, 0, 0x14, 0, 0xF)              # DRIVER_OK
    return ops


def avail_one(head):
    return struct.pack('<HHH', 0, 1, head)


blk_req = struct.pack('<IIQ', 0, 0, 0)              # VIRTIO_BLK_T_IN, sector 0 (5.2.6)
pci = pci_bringup(0, 0x10000, 8, 0x41)
pci += pokeop(0x10000, desc(0x20000, 16, NEXT, 1) + desc(0x21000, 512, NEXT | WRITE, 2) +
              desc(0x22000, 1, WRITE, 0), 4)
pci += pokeop(0x11000, avail_one(0), 4) + pokeop(0x20000, blk_req, 4)
pci += bar0w(0, 3, 0x00, 1, 0)                      # notify queue 0
pci += bytes([3, 0, 1, 0, 0])                       # ISR read
pci += pci_bringup(1, 0x30000, 4, 0x51)             # virtio-rng
pci += pokeop(0x30000, desc(0x38000, 64, WRITE, 0), 4) + pokeop(0x31000, avail_one(0), 4)
pci += bar0w(1, 3, 0x00, 1, 0)
write('fuzz_virtio_pci', 'blk-rng-msix', pci)
# INTx instead of MSI-X, a BAR move and the PCI_CFG window (4.1.4.9).
intx = pci_bringup(2, 0x40000, 4, 0x61).replace(cfgw(2, 0x42, 1, 0x8000), b'')
intx += cfgw(2, 0x10, 2, 0xC8000000)                # move BAR0
intx += bytes([1, 2, 0x10, 2])
write('fuzz_virtio_pci', 'console-intx-bar-move', intx)

# ---------------------------------------------------------------- virtio-mmio (4.2)
def mw(dev, reg, val):
    return bytes([0, dev, reg // 4, 0]) + struct.pack('<I', val)


def mr(dev, reg):
    return bytes([1, dev, reg // 4, 0])


def mmio_bringup(dev, ring, qsize):
    """4.2.3.1.1 initialisation, then queue 0 (4.2.3.2)."""
    ops = mr(dev, 0x000) + mr(dev, 0x004) + mr(dev, 0x008)
    ops += mw(dev, 0x070, 0) + mw(dev, 0x070, 1) + mw(dev, 0x070, 3)
    ops += mw(dev, 0x014, 1) + mr(dev, 0x010)
    ops += mw(dev, 0x024, 1) + mw(dev, 0x020, 1) + mw(dev, 0x024, 0) + mw(dev, 0x020, 0)
    ops += mw(dev, 0x070, 0xB) + mr(dev, 0x070)
    ops += mw(dev, 0x030, 0) + mr(dev, 0x034) + mw(dev, 0x038, qsize)
    ops += mw(dev, 0x080, ring) + mw(dev, 0x084, 0)
    ops += mw(dev, 0x090, ring + 0x1000) + mw(dev, 0x094, 0)
    ops += mw(dev, 0x0A0, ring + 0x2000) + mw(dev, 0x0A4, 0)
    ops += mw(dev, 0x044, 1) + mw(dev, 0x070, 0xF)
    return ops


mm = mmio_bringup(0, 0x10000, 8)
mm += pokeop(0x10000, desc(0x20000, 16, NEXT, 1) + desc(0x21000, 512, NEXT | WRITE, 2) +
             desc(0x22000, 1, WRITE, 0), 2)
mm += pokeop(0x11000, avail_one(0), 2) + pokeop(0x20000, blk_req, 2)
mm += mw(0, 0x050, 0) + mr(0, 0x060) + mw(0, 0x064, 1)
mm += bytes([1, 0, 0x80, 3])                        # config: capacity, 2-byte read
mm += mmio_bringup(1, 0x30000, 4)
mm += pokeop(0x30000, desc(0x38000, 64, WRITE, 0), 2) + pokeop(0x31000, avail_one(0), 2)
mm += mw(1, 0x050, 0) + mr(1, 0x060) + mw(1, 0x064, 1)
write('fuzz_virtio_mmio', 'blk-rng', mm)
con = mmio_bringup(2, 0x40000, 4)
con += pokeop(0x40000, desc(0x48000, 6, 0, 0), 2) + pokeop(0x48000, b'hello\n', 2)
con += mw(2, 0x030, 1) + mw(2, 0x038, 4) + mw(2, 0x080, 0x40000) + mw(2, 0x090, 0x41000)
con += mw(2, 0x0A0, 0x42000) + mw(2, 0x044, 1)
con += pokeop(0x41000, avail_one(0), 2) + mw(2, 0x050, 1) + mw(2, 0x070, 0)
write('fuzz_virtio_mmio', 'console-tx-reset', con)

# ---------------------------------------------------------------- fuzz_virtqueue (raw ring image)
ram = bytearray(0x6000 + 0x3000)
ram[0:48] = desc(0x16000, 16, NEXT, 1) + desc(0x17000, 512, NEXT | WRITE, 2) + desc(0x18000, 1, WRITE, 0)
ram[0x4000:0x4006] = avail_one(0)
ram[0x6000:0x6010] = blk_req
write('fuzz_virtqueue', 'blk-read', bytes([0, 3, 1, 0]) + bytes(12) + bytes(ram))
