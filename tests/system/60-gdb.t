#!/bin/bash
# gdbstub: Debian's gdb against the cloud kernel started with -S -gdb.
# Oracles are independent of qtemu:
#   - the entry PC is the bzImage's pref_address + 0x200 (boot.rst 64-bit
#     entry), read from the file's setup header;
#   - x/64xb $pc equals the bytes of the bzImage file at that entry;
#   - ten stepi land on the addresses objdump computes from the same bytes;
#   - EFER/CR0 in long mode as the boot protocol requires (LME|LMA, PG|PE);
#   - a write watchpoint on the decompressor's "addq %rax, 2(%rax)" (found in
#     objdump's disassembly) stops after that instruction with new = old + rax;
#   - continue runs to the init marker, Ctrl-C interrupts, detach lets the
#     guest power off and qtemu exits 0.
# A raw RSP session (python, unix socket) checks the protocol edges: acks,
# bad checksums, garbage, overlong packets, qXfer target.xml (well-formed
# XML naming i386:x86-64), physical memory mode vs the file, Ctrl-C -> T02,
# and k -> qtemu exits 0.
. "$(dirname "$0")/lib.sh"
KERNEL="$GUEST/vmlinuz-cloud"
echo "1..21"
if [ ! -f "$KERNEL" ] || ! command -v gdb > /dev/null || ! command -v objdump > /dev/null; then
    for i in $(seq 1 19); do echo "ok $i # SKIP no guest kernel, gdb or objdump"; done
    exit 0
fi
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Oracle data from the file: pref_address (setup header 0x258), setup_sects (0x1f1).
read -r PREF OFF < <(python3 -c "
import struct; d=open('$KERNEL','rb').read()
print(struct.unpack_from('<Q', d, 0x258)[0], ((d[0x1f1] or 4) + 1) * 512)")
ENTRY=$((PREF + 0x200))
FOFF=$((OFF + 0x200))
dd if="$KERNEL" of="$TMP/entry.bin" bs=1 skip=$FOFF count=512 2>/dev/null
objdump -D -b binary -m i386:x86-64 --adjust-vma=$ENTRY "$TMP/entry.bin" |
    sed -n 's/^ *\([0-9a-f]*\):\t\([0-9a-f ]*\)\t\(.*\)$/\1\t\3/p' > "$TMP/disas"
# Expected PCs after each of 10 stepi: the next instruction's address while
# the code is straight-line (stop comparing at the first branch).
python3 - "$TMP/disas" > "$TMP/expect_pcs" <<'EOF'
import sys
rows = [l.rstrip('\n').split('\t') for l in open(sys.argv[1])]
for i in range(10):
    addr, text = rows[i]
    print(hex(int(rows[i + 1][0], 16)))
    if text.split()[0].startswith(('j', 'call', 'ret', 'lret')):
        break
EOF
# The watchpoint target: "lea X(%rip),%rax  # ADDR" followed by "add %rax,0x2(%rax)".
read -r WADDR WPC NEXTPC < <(python3 - "$TMP/disas" <<'EOF'
import sys, re
rows = [l.rstrip('\n').split('\t') for l in open(sys.argv[1])]
for i in range(1, len(rows) - 1):
    if re.match(r'add\s+%rax,0x2\(%rax\)', rows[i][1]) and '%rip),%rax' in rows[i - 1][1]:
        target = int(rows[i - 1][1].split('#')[1].strip(), 16)
        print(hex(target + 2), hex(int(rows[i][0], 16)), hex(int(rows[i + 1][0], 16)))
        break
EOF
)
WRAX=$(python3 - "$TMP/disas" <<'EOF'
import sys, re
rows = [l.rstrip('\n').split('\t') for l in open(sys.argv[1])]
for i in range(1, len(rows)):
    if re.match(r'add\s+%rax,0x2\(%rax\)', rows[i][1]):
        print(int(rows[i - 1][1].split('#')[1].strip(), 16)); break
EOF
)

# ---------------------------------------------------------------- gdb session
PORT=$(free_port)
timeout 300 "$QTEMU" -kernel "$KERNEL" -initrd "$GUEST/initramfs.cpio.gz" -m 256M -nographic \
    -no-reboot -S -gdb tcp::$PORT -append "console=ttyS0 panic=-1 qtemu.test=gdb" \
    < /dev/null > "$TMP/console" 2> "$TMP/stderr" &
QPID=$!
# Wait until qtemu listens (LISTEN = state 0A in /proc/net/tcp); connecting
# to probe would count as a gdb session that ends (and resumes the guest).
for _ in $(seq 100); do
    grep -qi ":$(printf %04X $PORT) 00000000:0000 0A" /proc/net/tcp && break; sleep 0.1
done
cat > "$TMP/cmds" <<EOF
set pagination off
set confirm off
target remote 127.0.0.1:$PORT
printf "PC0 0x%lx\n", \$pc
x/64xb \$pc
hbreak *$ENTRY
EOF
for i in $(seq 10); do printf 'stepi\nprintf "STEP 0x%%lx\\n", $pc\n' >> "$TMP/cmds"; done
cat >> "$TMP/cmds" <<EOF
info registers
printf "EFER 0x%lx CR0 0x%lx\n", \$efer, \$cr0
delete
printf "OLD 0x%lx\n", *(unsigned long long *)$WADDR
watch *(unsigned long long *)$WADDR
continue
printf "WPC 0x%lx NEW 0x%lx\n", \$pc, *(unsigned long long *)$WADDR
delete
continue
printf "INTERRUPTED 0x%lx\n", \$pc
detach
EOF
# The last 'continue' runs the guest to its init marker: the test then sends
# gdb SIGINT (gdb interrupts the target with Ctrl-C = 0x03) and gdb detaches.
timeout 200 gdb -batch -nx -x "$TMP/cmds" > "$TMP/gdb.out" 2>&1 &
GPID=$!
for _ in $(seq 1500); do
    grep -q "QTEMU-INIT-MARKER" "$TMP/console" && break
    kill -0 $GPID 2>/dev/null || break
    sleep 0.1
done
marker_seen=no
grep -q "QTEMU-INIT-MARKER" "$TMP/console" && marker_seen=yes
# gdb may not be ready for the interrupt at the very instant the marker
# shows up: if it has not finished (stop, printf, detach) 5 s after a
# SIGINT, interrupt again (at most 3 times).
for _try in 1 2 3; do
    kill -INT $GPID 2>/dev/null
    for _ in $(seq 50); do kill -0 $GPID 2>/dev/null || break 2; sleep 0.1; done
done
wait $GPID
echo "# gdb output (head):"; head -n 8 "$TMP/gdb.out" | sed 's/^/#   /'

name="gdb sees PC = pref_address + 0x200 = $(printf 0x%x $ENTRY) at -S"
check "$name" grep -q "^PC0 $(printf 0x%x $ENTRY)\$" "$TMP/gdb.out"

# x/64xb -> bytes; compare with the file
python3 - "$TMP/gdb.out" "$TMP/entry.bin" > "$TMP/xcmp" <<'EOF'
import sys, re
got = []
for l in open(sys.argv[1]):
    m = re.match(r'^0x[0-9a-f]+:\s+((?:0x[0-9a-f]{2}\s*)+)$', l.strip())
    if m and len(got) < 64:
        got += [int(x, 16) for x in m.group(1).split()]
want = list(open(sys.argv[2], 'rb').read()[:64])
print('same' if got == want else 'differ %s vs %s' % (got[:8], want[:8]))
EOF
check "x/64xb \$pc equals the bzImage bytes at file offset $FOFF" grep -q same "$TMP/xcmp"

grep '^STEP ' "$TMP/gdb.out" | awk '{print $2}' | head -n "$(wc -l < "$TMP/expect_pcs")" > "$TMP/got_pcs"
name="stepi PCs follow objdump's instruction lengths ($(wc -l < "$TMP/expect_pcs") steps)"
check "$name" cmp -s "$TMP/got_pcs" "$TMP/expect_pcs"
check "ten stepi reported" [ "$(grep -c '^STEP ' "$TMP/gdb.out")" -eq 10 ]
check "info registers shows rip at the last step" \
    grep -q "^rip  *$(grep '^STEP ' "$TMP/gdb.out" | tail -n1 | awk '{print $2}') " "$TMP/gdb.out"
check "info registers lists cr3/efer/fs_base (target.xml features)" \
    sh -c "grep -q '^cr3 ' '$TMP/gdb.out' && grep -q '^efer ' '$TMP/gdb.out' && grep -q '^fs_base ' '$TMP/gdb.out'"
efer=$(sed -n 's/^EFER \(0x[0-9a-f]*\) CR0 \(0x[0-9a-f]*\)$/\1/p' "$TMP/gdb.out")
cr0=$(sed -n 's/^EFER \(0x[0-9a-f]*\) CR0 \(0x[0-9a-f]*\)$/\2/p' "$TMP/gdb.out")
check "long mode per boot.rst: EFER.LME|LMA ($efer), CR0.PG|PE ($cr0)" \
    sh -c "[ -n '$efer' ] && [ \$(( $efer & 0x500 )) -eq $((0x500)) ] && [ \$(( $cr0 & 0x80000001 )) -eq $((0x80000001)) ]"
old=$(sed -n 's/^OLD \(0x[0-9a-f]*\)$/\1/p' "$TMP/gdb.out")
read -r wpc new < <(sed -n 's/^WPC \(0x[0-9a-f]*\) NEW \(0x[0-9a-f]*\)$/\1 \2/p' "$TMP/gdb.out")
name="watchpoint on $WADDR stops after 'add %rax,0x2(%rax)' (pc $wpc, want $NEXTPC)"
check "$name" sh -c "[ -n '$wpc' ] && [ '$wpc' = '$NEXTPC' ]"
name="watched value: new = old + rax ($old + $WRAX = $new)"
check "$name" sh -c "[ -n '$new' ] && [ \$(( $old + ${WRAX:-0} )) -eq \$(( $new ))  ]"
check "gdb reported the watchpoint hit" grep -q "Hardware watchpoint .*: \*(unsigned long long \*)" "$TMP/gdb.out"
wait $QPID
rc=$?
check "continue ran the guest to its init marker under gdb ($marker_seen)" [ "$marker_seen" = yes ]
check "Ctrl-C from gdb stopped the guest after the marker (SIGINT reported)" \
    sh -c "grep -q 'SIGINT' '$TMP/gdb.out' && grep -q '^INTERRUPTED 0x' '$TMP/gdb.out'"
check "after detach the guest runs on, powers off, and qtemu exits 0 (rc $rc)" \
    sh -c "[ $rc -eq 0 ] && grep -q 'reboot: Power down' '$TMP/console'"

# ---------------------------------------------------------------- raw RSP edges
SOCK="$TMP/gdb.sock"
timeout 120 "$QTEMU" -kernel "$KERNEL" -m 256M -nographic -no-reboot -S -gdb "unix:$SOCK,server" \
    -append "console=ttyS0 panic=-1" < /dev/null > "$TMP/console2" 2> "$TMP/stderr2" &
QPID=$!
for _ in $(seq 50); do [ -S "$SOCK" ] && break; sleep 0.1; done
python3 - "$SOCK" "$TMP/entry.bin" $ENTRY > "$TMP/rsp.out" 2>&1 <<'EOF'
import socket, sys, time, xml.dom.minidom
sock = socket.socket(socket.AF_UNIX); sock.connect(sys.argv[1]); sock.settimeout(10)
entry_bytes = open(sys.argv[2], 'rb').read()[:64]
entry = int(sys.argv[3])
buf = b''
def recv_until(pred):
    global buf
    while not pred():
        d = sock.recv(65536)
        if not d: raise EOFError
        buf += d
def packet():
    """Next $..#cs packet (skipping acks)."""
    global buf
    recv_until(lambda: b'#' in buf[buf.find(b'$'):] and len(buf) >= buf.find(b'#', buf.find(b'$')) + 3 and b'$' in buf)
    s = buf.find(b'$'); e = buf.find(b'#', s)
    data = buf[s + 1:e]; buf = buf[e + 3:]
    return data.decode('latin1')
def send(d):
    sock.sendall(b'$' + d.encode('latin1') + b'#%02x' % (sum(d.encode('latin1')) & 0xff))
def cmd(d):
    send(d); return packet()
def res(name, ok): print(('PASS ' if ok else 'FAIL ') + name)
# bad checksum -> '-'
global_buf = None
sock.sendall(b'$qC#00')
recv_until(lambda: len(buf) > 0)
res('bad checksum answered with -', buf[:1] == b'-'); buf = buf[1:]
# garbage before a packet is ignored; the session goes on
sock.sendall(b'xyz\x01junk')
r = cmd('qSupported:xmlRegisters=i386')
res('qSupported after garbage: ' + r, all(k in r for k in ('PacketSize=', 'qXfer:features:read+', 'swbreak+', 'hwbreak+', 'vContSupported+')))
r = cmd('m' + 'f' * 20000)  # overlong
res('overlong packet gets an error', r.startswith('E'))
res('malformed m gets an error', cmd('mzz,4').startswith('E'))
xml_text = ''
while True:
    r = cmd('qXfer:features:read:target.xml:%x,400' % len(xml_text))
    xml_text += r[1:]
    if r[0] == 'l': break
    if r[0] != 'm' or len(xml_text) > 100000: break
try:
    doc = xml.dom.minidom.parseString(xml_text)
    arch = doc.getElementsByTagName('architecture')[0].firstChild.data
    feats = [f.getAttribute('name') for f in doc.getElementsByTagName('feature')]
    res('target.xml parses, %s, %s' % (arch, feats), arch == 'i386:x86-64' and 'org.gnu.gdb.i386.core' in feats)
except Exception as e:
    res('target.xml parses (%s)' % e, False)
cmd('QStartNoAckMode'); buf = buf.lstrip(b'+')
res('PhyMemMode on', cmd('Qqemu.PhyMemMode:1') == 'OK' and cmd('qqemu.PhyMemMode') == '1')
r = cmd('m%x,40' % entry)
res('physical read of the entry equals the file', bytes.fromhex(r) == entry_bytes)
cmd('Qqemu.PhyMemMode:0')
send('c'); time.sleep(1.0)
sock.sendall(b'\x03')
r = packet()
res('Ctrl-C stops the running guest with T02: ' + r, r.startswith('T02'))
send('k')
EOF
cat "$TMP/rsp.out" | sed 's/^/# /'
for t in "bad checksum" "qSupported after garbage" "overlong packet" "malformed m" "target.xml parses" \
         "physical read of the entry" "Ctrl-C stops"; do
    check "RSP: $t" grep -q "^PASS $t" "$TMP/rsp.out"
done
wait $QPID
rc=$?
check "k (kill) ends qtemu with status 0 (rc $rc)" [ $rc -eq 0 ]
exit 0
