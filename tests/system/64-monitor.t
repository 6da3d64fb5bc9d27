#!/bin/bash
# The human monitor (-monitor stdio, QEMU's HMP "(qemu) " prompt) on Debian's
# cloud kernel (bzImage, Linux boot protocol). Oracles: the kernel file's
# setup header (boot.rst: the loader copies it to boot_params at 0x7000 +
# 0x1f1; pref_address at 0x258; 64-bit entry = load address + 0x200 with
# RSI = boot_params), QEMU's HMP wording ("VM status: running/paused"), and
# the guest's own console output.
# system_reset is asynchronous as in QEMU (the main loop acts on the request),
# hence the pause before looking at the registers.
#
# Part 1 drives the monitor through a pipe with the serial console in a
# file; part 2 runs -nographic on a pty (tests/system/pty_drive.py), where
# monitor and console share stdio and Ctrl-A c switches between them.
. "$(dirname "$0")/lib.sh"
KERNEL="$GUEST/vmlinuz-cloud"
echo "1..12"
if [ ! -f "$KERNEL" ]; then
    for i in $(seq 1 12); do ok "# SKIP $KERNEL not fetched (make fetch)"; done
    exit 0
fi

# Part 1: pipe.
{
    echo "info status"
    # Let the guest get somewhere first: its banner on the serial file (at most 30 s).
    for i in $(seq 60); do grep -aq 'Linux version' "$TMP/serial" 2>/dev/null && break; sleep 0.5; done
    echo "stop"; echo "info status"; echo "info registers"; sleep 1; echo "info registers"
    echo "xp /16xb 0x71f1"; echo "xp /8xb 0x7202"
    echo "system_reset"; sleep 1; echo "info registers"
    echo "cont"; echo "info status"
    echo "frobnicate"; echo "help"
    echo "quit"
} | timeout 90 "$QTEMU" -monitor stdio -serial file:"$TMP/serial" -kernel "$KERNEL" \
    -append "console=ttyS0 earlyprintk=ttyS0" -m 256M > "$TMP/out" 2> "$TMP/err"
rc=$?
awk -v d="$TMP" 'BEGIN { RS = "\\(qemu\\) "; k = 0 } { f = d "/seg." k; printf "%s", $0 > f; close(f); k++ }' "$TMP/out"
seg() { cat "$TMP/seg.$1" 2>/dev/null; }
reg() { seg "$1" | grep -o "$2=[0-9a-f]*" | head -n 1 | cut -d= -f2; }
filebytes() {  # offset count -> "0x.. 0x.." from the kernel file
    od -A n -t x1 -v -j $(($1)) -N "$2" "$KERNEL" | tr -s ' \n' ' ' | sed 's/^ //; s/ $//; s/[0-9a-f][0-9a-f]/0x&/g'
}
xpbytes() { seg "$1" | sed 's/^[0-9a-f]*: //' | tr -d '\n'; }

check "banner and first prompt" grep -q "^QEMU .* monitor - type 'help'" "$TMP/seg.0"
check "info status: running at start" grep -q "^VM status: running" "$TMP/seg.1"
check "stop; info status: paused" grep -q "^VM status: paused" "$TMP/seg.3"
rip1=$(reg 4 RIP); rip2=$(reg 5 RIP); cr0=$(reg 4 CR0); efer=$(reg 4 EFER)
check "info registers: RIP=$rip1, long mode (CR0.PG, EFER.LMA: 64-bit boot protocol), same RIP 1 s later while paused" \
    [ -n "$rip1" -a "$rip1" = "$rip2" -a $((16#${cr0:-0} & 0x80000000)) -ne 0 -a $((16#${efer:-0} & 0x400)) -ne 0 ]
want=$(filebytes 0x1f1 16)
check "xp /16xb 0x71f1 = the kernel's setup header bytes 0x1f1.. ($want)" [ "$(xpbytes 6)" = "$want" ]
want=$(filebytes 0x202 8)
check "xp /8xb 0x7202 = \"HdrS\" + protocol version from the file ($want)" [ "$(xpbytes 7)" = "$want" ]
pref=$(od -A n -t x8 -j $((0x258)) -N 8 "$KERNEL" | tr -d ' ')
entry=$(printf '%016x' $((16#$pref + 0x200)))
check "system_reset while paused: RIP = pref_address + 0x200 = $entry, RSI = 0x7000 (boot_params)" \
    [ "$(reg 9 RIP)" = "$entry" -a "$(reg 9 RSI)" = "0000000000007000" ]
check "cont; info status: running" grep -q "^VM status: running" "$TMP/seg.11"
check "unknown command: an error, the monitor carries on (help lists x/xp/info)" \
    bash -c "grep -q 'unknown command' '$TMP/seg.12' && grep -q 'xp/FMT' '$TMP/seg.13'"
check "quit: exit status 0 (got $rc); the guest ran (Linux version on the serial file)" \
    bash -c "[ $rc -eq 0 ] && grep -aq 'Linux version' '$TMP/serial'"

# Part 2: -nographic on a pty: console and monitor multiplexed on stdio.
DRIVE="python3 $(dirname "$0")/pty_drive.py"
$DRIVE --log "$TMP/pty.log" -- "$QTEMU" -nographic -monitor stdio -kernel "$KERNEL" \
    -append "console=ttyS0" -m 256M > "$TMP/drive" <<'EOF'
expect boot 30 Linux version
send \x01c
expect prompt 10 \(qemu\) 
send info status\r
expect echo 10 info status
expect status 10 VM status: running
send stop\r
send info status\r
expect paused 10 VM status: paused
send cont\r
send \x01c
sleep 1
send \x01x
wait exit 10
EOF
check "mux: Ctrl-A c opens the (qemu) prompt over the console; typed text is echoed; commands run" \
    bash -c "grep -q '^boot ok' '$TMP/drive' && grep -q '^prompt ok' '$TMP/drive' && grep -q '^echo ok' '$TMP/drive' && grep -q '^status ok' '$TMP/drive' && grep -q '^paused ok' '$TMP/drive'"
check "mux: Ctrl-A x quits with status 0 from either side" grep -q '^exit exit 0' "$TMP/drive"
[ -s "$TMP/drive" ] && sed 's/^/# /' "$TMP/drive"
exit 0
