#!/bin/bash
# A guest idling at the shell prompt costs (almost) no host CPU: HLT with
# nothing pending makes qtemu sleep until the next timer or console input
# (frontend/mainloop.c). Boot to the prompt on a pty, let the guest settle,
# then read qtemu's utime+stime from /proc/PID/stat over 5 s of wall time.
# A control keeps the oracle honest: with a busy loop running in the guest
# the same measurement must show qtemu working (a measurement that always
# read ~0 would fail there).
. "$(dirname "$0")/lib.sh"
KERNEL="$GUEST/vmlinuz-cloud"
INITRD="$GUEST/initramfs.cpio.gz"
DRIVE="python3 $(dirname "$0")/pty_drive.py"
BOOT=${QTEMU_BOOT_TIMEOUT:-180}
IDLE_MAX=30     # percent of one host CPU allowed while the guest idles
BUSY_MIN=40     # percent a busy guest must show (a host with 2 shared cores)
PLAN=4
echo "1..$PLAN"
if [ ! -f "$KERNEL" ] || [ ! -f "$INITRD" ]; then
    for i in $(seq $PLAN); do echo "ok $i # SKIP no guest in $GUEST (make fetch)"; done
    exit 0
fi

$DRIVE --log "$TMP/console" -- "$QTEMU" -kernel "$KERNEL" -initrd "$INITRD" \
    -append "console=ttyS0 quiet" -m 256M -nographic > "$TMP/r" <<EOF
expect banner $BOOT Welcome to the qtemu test initramfs
expect prompt 30 / #\x20
sleep 3
cpu idle 5
alive alive_idle
send while :; do :; done &\r
expect bg 20 done &\r*\n
sleep 1
cpu busy 5
send kill %1; echo killed\$((1+2))\r
expect killed 20 killed3
sleep 3
cpu idle_again 5
send poweroff -f\r
wait qtemu 30
EOF
echo "# driver results:"; sed 's/^/#   /' "$TMP/r"
r() { sed -n "s/^$1 //p" "$TMP/r" | head -n 1; }
num() { [[ $1 =~ ^[0-9]+(\.[0-9]+)?$ ]]; }
below() { num "$1" && awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }
idle=$(r idle); busy=$(r busy); again=$(r idle_again)
echo "# qtemu CPU use: idle ${idle:-?}%, busy guest ${busy:-?}%, idle again ${again:-?}% of one CPU"
if [ "$(r prompt | cut -c1-2)" != ok ]; then
    echo "# last console lines:"; tail -n 15 "$TMP/console" | sed 's/^/#   /'
fi
both=$([ "$(r prompt | cut -c1-2)" = ok ] && [ "$(r alive_idle)" = yes ] && below "$idle" $IDLE_MAX && echo y)
check "guest idle at the prompt: qtemu uses < $IDLE_MAX% of a CPU (${idle:-?}%)" [ "$both" = y ]
both=$([ "$(r bg | cut -c1-2)" = ok ] && num "$busy" && ! below "$busy" $BUSY_MIN && echo y)
check "control: a busy loop in the guest makes qtemu use >= $BUSY_MIN% (${busy:-?}%)" [ "$both" = y ]
both=$([ "$(r killed | cut -c1-2)" = ok ] && below "$again" $IDLE_MAX && echo y)
check "idle again after the loop is killed: < $IDLE_MAX% (${again:-?}%)" [ "$both" = y ]
check "poweroff -f ends qtemu with status 0" [ "$(r qtemu)" = "exit 0" ]
exit 0
