#!/bin/bash
# The interactive console through a real pty (tests/system/pty_drive.py):
# qtemu -nographic puts the terminal in raw mode, passes keys to the guest's
# ttyS0, keeps Ctrl-C for the guest, quits on Ctrl-A x with status 0 and
# "QEMU: Terminated", and leaves the terminal as it found it. A second boot
# checks that `poweroff -f` typed at the shell ends qtemu with status 0.
# Oracles: the guest's own answers ($((6*7)) = 42 computed by the guest shell,
# `read` echoing what it read), the pty's modes read by the driver during the
# run, `stty -g` and the stdin file flags taken by a shell before and after
# qtemu on the same pty, and the exit statuses.
. "$(dirname "$0")/lib.sh"
KERNEL="$GUEST/vmlinuz-cloud"
INITRD="$GUEST/initramfs.cpio.gz"
DRIVE="python3 $(dirname "$0")/pty_drive.py"
BOOT=${QTEMU_BOOT_TIMEOUT:-180}
PLAN=13
echo "1..$PLAN"
if [ ! -f "$KERNEL" ] || [ ! -f "$INITRD" ]; then
    for i in $(seq $PLAN); do echo "ok $i # SKIP no guest in $GUEST (make fetch)"; done
    exit 0
fi
ARGS=(-kernel "$KERNEL" -initrd "$INITRD" -append "console=ttyS0 quiet" -m 256M -nographic)

# -- Boot 1: a shell on the pty runs qtemu between two snapshots of the tty.
# shellcheck disable=SC2016
WRAP='
flags() { python3 -c "import fcntl, os; print(\"nonblock\" if fcntl.fcntl(0, fcntl.F_GETFL) & os.O_NONBLOCK else \"block\")"; }
d=$1; shift
stty -g > "$d/stty.before"; flags > "$d/flags.before"
"$@"
echo "QTEMU-EXIT-STATUS=$?"
stty -g > "$d/stty.after"; flags > "$d/flags.after"
'
$DRIVE --log "$TMP/console1" -- sh -c "$WRAP" sh "$TMP" "$QTEMU" "${ARGS[@]}" > "$TMP/r1" <<EOF
expect banner $BOOT Welcome to the qtemu test initramfs
expect prompt 30 / #\x20
tty raw
send echo \$((6*7))\r
expect answer 20 \r\n42\r
send read x; echo got:\$x\r
expect readcmd 20 echo got:\\\$x\r*\n
sleep 1
send hello\r
expect got 20 got:hello
since hellos (?<!got:)hello
send sleep 100\r
expect sleepcmd 20 sleep 100\r*\n
sleep 2
send \x03
expect intr 20 \^C\r*\n/ #\x20
alive alive_after_intr
send echo alive\$((2+3))\r
expect shell_after_intr 20 alive5
send \x01x
expect terminated 20 QEMU: Terminated
expect status 20 QTEMU-EXIT-STATUS=[0-9]+
wait wrapper 30
EOF
echo "# driver results (boot 1):"; sed 's/^/#   /' "$TMP/r1"
r() { sed -n "s/^$1 //p" "$TMP/r1" | head -n 1; }
if [[ $(r status) != ok* ]]; then
    echo "# last console lines:"; tail -n 15 "$TMP/console1" | sed 's/^/#   /'
fi

check "boots to the shell prompt on a pty" [ "$(r prompt | cut -c1-2)" = ok ]
check "terminal in raw mode while qtemu runs (no echo, icanon, isig, icrnl)" \
    [ "$(r raw)" = "echo=0 icanon=0 isig=0 icrnl=0" ]
check "typed 'echo \$((6*7))' answers 42" [ "$(r answer | cut -c1-2)" = ok ]
both=$([ "$(r readcmd | cut -c1-2)" = ok ] && [ "$(r got | cut -c1-2)" = ok ] && echo y)
check "'read x' gets the typed line (got:hello)" [ "$both" = y ]
check "typed line echoed once, by the guest only (no local echo)" [ "$(r hellos)" = 1 ]
both=$([ "$(r sleepcmd | cut -c1-2)" = ok ] && [ "$(r intr | cut -c1-2)" = ok ] && echo y)
check "Ctrl-C interrupts the guest's sleep 100 (^C echoed, prompt back)" [ "$both" = y ]
both=$([ "$(r alive_after_intr)" = yes ] && [ "$(r shell_after_intr | cut -c1-2)" = ok ] && echo y)
check "Ctrl-C leaves qtemu running and the shell answering" [ "$both" = y ]
check "Ctrl-A x prints 'QEMU: Terminated'" [ "$(r terminated | cut -c1-2)" = ok ]
status=$(grep -ao 'QTEMU-EXIT-STATUS=[0-9]*' "$TMP/console1" | head -n 1 | cut -d= -f2)
echo "# qtemu exit status after Ctrl-A x: ${status:-none}"
check "Ctrl-A x exits with status 0" [ "$status" = 0 ]
echo "# stty -g before: $(cat "$TMP/stty.before" 2>/dev/null)"
echo "# stty -g after:  $(cat "$TMP/stty.after" 2>/dev/null)"
check "terminal modes restored after exit (stty -g before = after)" \
    sh -c "[ -s '$TMP/stty.before' ] && cmp -s '$TMP/stty.before' '$TMP/stty.after'"
echo "# stdin flags before: $(cat "$TMP/flags.before" 2>/dev/null), after: $(cat "$TMP/flags.after" 2>/dev/null)"
TODO=""
if [ "$(cat "$TMP/flags.before" 2>/dev/null)" = block ] &&
   [ "$(cat "$TMP/flags.after" 2>/dev/null)" = block ]; then
    ok "stdin left blocking after exit (O_NONBLOCK restored)$TODO"
else
    not_ok "stdin left blocking after exit (O_NONBLOCK restored)$TODO"
fi

# -- Boot 2: poweroff -f typed at the shell.
$DRIVE --log "$TMP/console2" -- "$QTEMU" "${ARGS[@]}" > "$TMP/r2" <<EOF
expect banner $BOOT Welcome to the qtemu test initramfs
expect prompt 30 / #\x20
send poweroff -f\r
expect powerdown 30 reboot: Power down
wait qtemu 30
EOF
echo "# driver results (boot 2):"; sed 's/^/#   /' "$TMP/r2"
r() { sed -n "s/^$1 //p" "$TMP/r2" | head -n 1; }
check "second boot reaches the prompt" [ "$(r prompt | cut -c1-2)" = ok ]
both=$([ "$(r powerdown | cut -c1-2)" = ok ] && [ "$(r qtemu)" = "exit 0" ] && echo y)
check "typed 'poweroff -f' ends qtemu with status 0" [ "$both" = y ]
exit 0
