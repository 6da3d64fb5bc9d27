#!/bin/bash
# The built-in debugger (-debug), driven through a pipe on the alu test ROM
# (testroms/x86_64/alu.S, an ELF with a .symtab). Oracles that could
# disagree with qtemu: binutils on the same ELF (nm addresses, objdump -s
# bytes, objdump -d -M intel addresses and mnemonics), the Intel SDM for the
# flags of ADD (Vol. 2A "ADD": OF SF ZF AF CF PF set by the result), the
# page tables the ROM's start.S documents (rom.h: 2 MiB identity pages,
# 0x200000..0x3FFFFF through 4 KiB pt_low), re-read level by level with xp,
# and the ROM's own verdict through isa-debug-exit.
#
# The prompt "(qtemu) " is printed before each command is read, so the
# output splits into one segment per command (seg K = output of command K).
. "$(dirname "$0")/lib.sh"
ROM="$(dirname "$QTEMU")/testroms/alu.elf"
echo "1..18"
if [ ! -f "$ROM" ] || ! command -v objdump > /dev/null; then
    for i in $(seq 1 18); do ok "# SKIP $ROM not built or no binutils"; done
    exit 0
fi

nm_addr() { nm "$ROM" | awk -v s="$1" '$3 == s { print $1; exit }' | sed 's/^0*//'; }
TEST_MAIN=$(nm_addr test_main)
CHECK_EQ=$(nm_addr check_eq)
CX_BUF=$(nm_addr cx_buf)
# objdump listing: "ADDR MNEMONIC rest..." per instruction, 64-bit code.
objdump -d -M intel --no-show-raw-insn "$ROM" |
    awk -F'\t' '/^ *[0-9a-f]+:\t/ { a = $1; sub(/:$/, "", a); gsub(/ /, "", a); print a "\t" $2 }' > "$TMP/objdump"
insn_after() { awk -F'\t' -v a="$1" 'f { print $1; exit } $1 == a { f = 1 }' "$TMP/objdump"; }
insn_before() { awk -F'\t' -v a="$1" '$1 == a { print p; exit } { p = $0 }' "$TMP/objdump"; }
# The first two calls to check_eq after test_main (a CHECK macro each).
CALL1=$(awk -F'\t' -v t="$TEST_MAIN" '$1 == t { f = 1 } f && /call.*<check_eq>/ { print $1; exit }' "$TMP/objdump")
CALL2=$(awk -F'\t' -v c="$CALL1" '$1 == c { f = 1; next } f && /call.*<check_eq>/ { print $1; exit }' "$TMP/objdump")

cat > "$TMP/cmds" <<EOF
break test_main
continue
info registers
x/8xb test_main
disas test_main 40
step 4
info registers
step
info registers
pagewalk test_main
pagewalk 0x203000
break check_eq
continue
finish
delete 2
until 0x$CALL2
next
watch cx_buf 8 w
continue
x/1xg cx_buf
info breakpoints
delete
continue
EOF
timeout 60 "$QTEMU" -debug -kernel "$ROM" -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
    -serial file:"$TMP/serial" -m 64M -no-reboot < "$TMP/cmds" > "$TMP/out" 2> "$TMP/err"
rc=$?
awk -v d="$TMP" 'BEGIN { RS = "\\(qtemu\\) "; k = 0 } { f = d "/seg." k; printf "%s", $0 > f; close(f); k++ }' "$TMP/out"
seg() { cat "$TMP/seg.$1" 2>/dev/null; }
reg() { seg "$1" | grep -o "$2=[0-9a-f]*" | head -n 1 | cut -d= -f2; }
hex() { printf '%x' "$((16#${1:-0}))"; }

# 1-2: breakpoint on a symbol; continue stops there.
check "break test_main at nm's address 0x$TEST_MAIN" grep -q "Breakpoint 1 at 0x0*$TEST_MAIN <test_main>" "$TMP/seg.1"
check "continue stops at Breakpoint 1, RIP = test_main" \
    bash -c "grep -q 'Breakpoint 1, 0x0*$TEST_MAIN in test_main' '$TMP/seg.2' && [ \"\$((16#$(reg 3 RIP)))\" = \"\$((16#$TEST_MAIN))\" ]"

# 3: x/8xb equals the file's bytes at test_main.
want=$(objdump -s --start-address=0x$TEST_MAIN --stop-address=$(printf '0x%x' $((16#$TEST_MAIN + 8))) "$ROM" |
       awk '/^ [0-9a-f]+ / { print $2 $3 }' | head -c 16 | sed 's/../0x& /g; s/ $//')
got=$(seg 4 | sed 's/^[0-9a-f]*: //' | tr -d '\n')
check "x/8xb test_main = ELF bytes ($want)" [ -n "$want" -a "$got" = "$want" ]

# 4: disas addresses and mnemonics = objdump -d -M intel (Capstone spells pushf/popf
#    in 64-bit mode pushfq/popfq: normalised).
seg 5 | sed -nE 's/^.{3}0x0*([0-9a-f]+) .*:  ([a-z0-9]+).*/\1\t\2/p' | sed 's/\tpushfq$/\tpushf/; s/\tpopfq$/\tpopf/' > "$TMP/cap"
awk -F'\t' -v t="$TEST_MAIN" '$1 == t { f = 1 } f && n < 40 { split($2, m, " "); print $1 "\t" m[1]; n++ }' "$TMP/objdump" > "$TMP/ref"
check "disas test_main 40 = objdump -d (addresses + mnemonics, $(wc -l < "$TMP/cap") insns)" \
    bash -c "[ \$(wc -l < '$TMP/cap') -eq 40 ] && diff -q '$TMP/cap' '$TMP/ref' > /dev/null"

# 5-6: step 4 lands on the 5th instruction (objdump); RSP dropped by two pushes; AL = 0x7f.
fifth=$(awk -F'\t' -v t="$TEST_MAIN" '$1 == t { f = 1 } f { n++ } n == 5 { print $1; exit }' "$TMP/objdump")
rsp0=$(reg 3 RSP); rsp1=$(reg 7 RSP)
check "step 4: RIP = 0x$fifth (5th insn), RSP - 16 (push rbx; push rbp), AL = 0x7f" \
    [ "$(hex "$(reg 7 RIP)")" = "$fifth" -a $((16#$rsp0 - 16#$rsp1)) -eq 16 -a $((16#$(reg 7 RAX) & 0xff)) -eq $((0x7f)) ]
# add al, 1 on 0x7f: result 0x80; SDM: OF=1 SF=1 AF=1 ZF=0 CF=0 PF=0 (0x80 has one bit set).
fl=$((16#$(reg 9 RFL) & 0x8d5))
check "step over add al,1: AL = 0x80, OF SF AF set, CF ZF PF clear (flags & 0x8d5 = $(printf %#x $fl))" \
    [ $((16#$(reg 9 RAX) & 0xff)) -eq $((0x80)) -a $fl -eq $((0x890)) ]

# 7-8: pagewalk vs the tables in memory (xp re-reads each entry below) and rom.h's layout.
walk_ok() {  # segment, expected levels, expected leaf name, gva
    s="$TMP/seg.$1"; levels=$(grep -c ' table 0x' "$s")
    cr3=$(reg 3 CR3); table=$((16#$cr3 & ~0xfff)); okk=1
    while read -r lvl _ t _ idx entry _ val rest; do
        [ $((t)) -eq $table ] || okk=0
        [ $(( ${entry#entry@} )) -eq $((table + idx * 8)) ] || okk=0
        echo "${entry#entry@} $val" >> "$TMP/entries.$1"
        table=$(( val & 0xffffffffff000 ))
    done < <(grep ' table 0x' "$s")
    [ "$levels" -eq "$2" ] && [ $okk -eq 1 ] && grep ' table 0x' "$s" | tail -n 1 | grep -q "^$3 .*leaf" &&
        grep -q "^gpa 0x0*$(printf %x $(($4)))\$" "$s"
}
check "pagewalk test_main: PML4 -> PDPT -> PD 2 MiB leaf (PS), table chain from CR3, gpa = gva" \
    walk_ok 10 3 PD 0x$TEST_MAIN
check "pagewalk 0x203000: 4 KiB leaf in pt_low (PT index 3), gpa 0x203000" \
    bash -c "$(declare -f walk_ok reg seg); TMP='$TMP'; walk_ok 11 4 PT 0x203000 && grep -q '^PT .*index   3 ' '$TMP/seg.11'"

# 9: each entry value printed by pagewalk equals xp/1xg of its address (a second run,
#    stopped at the same place, so the A/D bits are comparable).
{ echo "break test_main"; echo "continue"
  cut -d' ' -f1 "$TMP/entries.10" "$TMP/entries.11" | sed 's|^|xp/1xg |'; } > "$TMP/cmds2"
timeout 60 "$QTEMU" -debug -kernel "$ROM" -serial none -m 64M -no-reboot < "$TMP/cmds2" > "$TMP/out2" 2>&1
# Compare as numbers in bash (mawk has no strtonum); every entry must match.
mapfile -t want_vals < <(cat "$TMP/entries.10" "$TMP/entries.11" | cut -d' ' -f2)
mapfile -t got_vals < <(sed 's/(qtemu) //g' "$TMP/out2" | grep -o '^[0-9a-f]*: 0x[0-9a-f]*' | cut -d' ' -f2)
vals_ok=0
if [ ${#want_vals[@]} -gt 0 ] && [ ${#want_vals[@]} -eq ${#got_vals[@]} ]; then
    vals_ok=1
    for i in "${!want_vals[@]}"; do
        [ $((want_vals[i])) -eq $((got_vals[i])) ] || vals_ok=0
    done
fi
check "pagewalk entry values = xp/1xg of the entry addresses (${#want_vals[@]} entries)" [ $vals_ok -eq 1 ]

# 10-11: break at a function, finish returns right after the first call to it.
after1=$(insn_after "$CALL1")
check "break check_eq + continue stops at 0x$CHECK_EQ" grep -q "Breakpoint 2, 0x0*$CHECK_EQ in check_eq" "$TMP/seg.13"
check "finish returns to 0x$after1, right after 'call check_eq' at 0x$CALL1 (objdump)" \
    grep -q "^=> 0x0*$after1 <test_main+" "$TMP/seg.14"

# 12: until a call, then next steps over it (no stop inside check_eq).
after2=$(insn_after "$CALL2")
check "until 0x$CALL2; next -> 0x$after2 (stepped over the call)" \
    bash -c "grep -q '^=> 0x0*$CALL2 ' '$TMP/seg.16' && grep -q '^=> 0x0*$after2 ' '$TMP/seg.17' && ! grep -q check_eq '$TMP/seg.17'"

# 13: a write watchpoint on cx_buf stops after the first store to it: objdump says the
#     instruction before the stop writes <cx_buf>; the value is the source's movq \$5.
stop=$(seg 19 | sed -n 's/^=> 0x0*\([0-9a-f]*\) .*/\1/p' | head -n 1)
prev=$(insn_before "$stop" | cut -f2 | tr -s ' ')
wp_ok=0
grep -q "Watchpoint 3: write of 0x0*$CX_BUF" "$TMP/seg.19" && echo "$prev" | grep -q 'mov .*<cx_buf>' &&
    grep -q ': 0x0*5$' "$TMP/seg.20" && wp_ok=1
check "watch cx_buf 8 w: stops after '$prev'; cx_buf = 5" [ $wp_ok -eq 1 ]
# 14: continue to the end: the ROM's verdict (all checks passed -> exit status 1).
check "ROM runs to completion after the session: exit status 1 (pass), DONE on COM1 (got $rc)" \
    bash -c "[ $rc -eq 1 ] && grep -aq '^DONE' '$TMP/serial'"

# 15: symbols from a System.map (nm -n output), end of input quits with status 0.
nm -n "$ROM" > "$TMP/System.map"
printf 'break check_eq\ninfo breakpoints\n' | timeout 30 "$QTEMU" -debug -debug-symbols "$TMP/System.map" \
    -kernel "$ROM" -serial none -m 64M > "$TMP/out3" 2>&1
rc3=$?
check "System.map symbols: break check_eq at 0x$CHECK_EQ; EOF quits with 0 (got $rc3)" \
    bash -c "[ $rc3 -eq 0 ] && grep -q 'Breakpoint 1 at 0x0*$CHECK_EQ <check_eq>' '$TMP/out3'"
# 16: Debian's stub System.map has no symbols: one clear error, status 1.
echo "ffffffffffffffff B The real System.map is in the linux-image-6.1.0-dbg package" > "$TMP/stub.map"
timeout 30 "$QTEMU" -debug -debug-symbols "$TMP/stub.map" -kernel "$ROM" -serial none < /dev/null > /dev/null 2> "$TMP/err4"
rc4=$?
check "stub System.map rejected: exit 1, one error line" bash -c "[ $rc4 -eq 1 ] && [ \$(wc -l < '$TMP/err4') -eq 1 ] && grep -q 'no symbols' '$TMP/err4'"

# 17-18: on a real terminal (tests/system/pty_drive.py) with Debian's kernel on the
# console: libedit line editing at the prompt (a typo erased with DEL), Ctrl-A d
# stops the running guest into the prompt, and the console is back in raw mode
# (no echo, no ICANON/ISIG/ICRNL) after each "continue".
KERNEL="$GUEST/vmlinuz-cloud"
if [ ! -f "$KERNEL" ]; then
    ok "# SKIP $KERNEL not fetched"; ok "# SKIP $KERNEL not fetched"; exit 0
fi
python3 "$(dirname "$0")/pty_drive.py" --log "$TMP/pty.log" -- "$QTEMU" -debug -nographic \
    -kernel "$KERNEL" -append "console=ttyS0 earlyprintk=ttyS0" -m 256M > "$TMP/drive" <<'EOF2'
expect start 10 \(qtemu\) 
send info statux\x7fs\r
expect edit 10 VM status: paused
expect p2 10 \(qtemu\) 
send continue\r
expect boot 30 Linux version
sleep 0.5
tty raw
send \x01d
expect stopped 10 \(qtemu\) 
send info status\r
expect paused 10 VM status: paused
expect p3 10 \(qtemu\) 
send c\r
sleep 0.5
tty raw2
send \x01x
wait exit 10
EOF2
check "tty: prompt at start, libedit erases a typo (info statux<DEL>s -> paused), continue boots the kernel" \
    bash -c "grep -q '^start ok' '$TMP/drive' && grep -q '^edit ok' '$TMP/drive' && grep -q '^boot ok' '$TMP/drive'"
check "tty: Ctrl-A d stops the guest at the prompt; console raw after each continue; Ctrl-A x exits 0" \
    bash -c "grep -q '^stopped ok' '$TMP/drive' && grep -q '^paused ok' '$TMP/drive' && grep -q '^raw echo=0 icanon=0 isig=0 icrnl=0' '$TMP/drive' && grep -q '^raw2 echo=0 icanon=0 isig=0 icrnl=0' '$TMP/drive' && grep -q '^exit exit 0' '$TMP/drive'"
[ -s "$TMP/drive" ] && sed 's/^/# /' "$TMP/drive"
exit 0
