#!/bin/bash
# Reset paths and the other -serial backends.
#  (a) `reboot -f` typed at the shell with -no-reboot: qtemu exits with
#      status 0 (QEMU's convention) after the kernel's "Restarting system";
#  (b) `reboot -f` without -no-reboot: the machine resets and the kernel boots
#      a second time ("Linux version" twice on the console), the second boot's
#      shell answers, and `poweroff -f` there ends qtemu with status 0;
#  (c) -serial file:PATH writes the console log to PATH and nothing to stdout;
#      -serial none prints nothing on stdout (both boots use the init's test
#      mode, qtemu.test=1, which powers off by itself).
# Commands reach the guest shell through a pty (tests/system/pty_drive.py).
. "$(dirname "$0")/lib.sh"
KERNEL="$GUEST/vmlinuz-cloud"
INITRD="$GUEST/initramfs.cpio.gz"
DRIVE="python3 $(dirname "$0")/pty_drive.py"
BOOT=${QTEMU_BOOT_TIMEOUT:-180}
PLAN=11
echo "1..$PLAN"
if [ ! -f "$KERNEL" ] || [ ! -f "$INITRD" ]; then
    for i in $(seq $PLAN); do echo "ok $i # SKIP no guest in $GUEST (make fetch)"; done
    exit 0
fi
okp() { [ "$(cut -c1-2 <<< "$1")" = ok ]; }

# (c) runs in the background while the interactive boots run.
TEST_APPEND="console=ttyS0 qtemu.test=1 panic=-1"
( timeout "$BOOT" "$QTEMU" -kernel "$KERNEL" -initrd "$INITRD" -m 256M -nographic -no-reboot \
      -append "$TEST_APPEND" -serial "file:$TMP/serial.log" < /dev/null > "$TMP/file.stdout" 2> "$TMP/file.stderr"
  echo $? > "$TMP/file.rc"
  timeout "$BOOT" "$QTEMU" -kernel "$KERNEL" -initrd "$INITRD" -m 256M -nographic -no-reboot \
      -append "$TEST_APPEND" -serial none < /dev/null > "$TMP/none.stdout" 2> "$TMP/none.stderr"
  echo $? > "$TMP/none.rc" ) &
bg=$!

ARGS=(-kernel "$KERNEL" -initrd "$INITRD" -append "console=ttyS0" -m 256M -nographic)

# -- (a) reboot -f with -no-reboot
$DRIVE --log "$TMP/console-a" -- "$QTEMU" "${ARGS[@]}" -no-reboot > "$TMP/ra" <<EOF
expect banner $BOOT Welcome to the qtemu test initramfs
expect prompt 30 / #\x20
send reboot -f\r
expect restarting 30 reboot: Restarting system
wait qtemu 30
EOF
echo "# driver results (a):"; sed 's/^/#   /' "$TMP/ra"
r() { sed -n "s/^$1 //p" "$TMP/ra" | head -n 1; }
check "(a) boots to the prompt" okp "$(r prompt)"
check "(a) reboot -f: kernel restarts the system" okp "$(r restarting)"
check "(a) reboot with -no-reboot ends qtemu with status 0 ($(r qtemu))" [ "$(r qtemu)" = "exit 0" ]

# -- (b) reboot -f without -no-reboot: a second boot
$DRIVE --log "$TMP/console-b" -- "$QTEMU" "${ARGS[@]}" > "$TMP/rb" <<EOF
expect banner $BOOT Welcome to the qtemu test initramfs
expect prompt 30 / #\x20
send reboot -f\r
expect restarting 30 reboot: Restarting system
expect linux2 $BOOT Linux version
expect banner2 $BOOT Welcome to the qtemu test initramfs
expect prompt2 30 / #\x20
send echo second\$((4+4))\r
expect shell2 20 second8
alive alive2
send poweroff -f\r
expect powerdown 30 reboot: Power down
wait qtemu 30
EOF
echo "# driver results (b):"; sed 's/^/#   /' "$TMP/rb"
r() { sed -n "s/^$1 //p" "$TMP/rb" | head -n 1; }
nlinux=$(grep -ac 'Linux version' "$TMP/console-b")
echo "# 'Linux version' lines on the console: $nlinux"
if ! okp "$(r shell2)"; then
    echo "# last console lines:"; tail -n 15 "$TMP/console-b" | sed 's/^/#   /'
fi
both=$(okp "$(r restarting)" && okp "$(r linux2)" && [ "$nlinux" -eq 2 ] && echo y)
check "(b) reboot -f without -no-reboot boots the kernel again (Linux version twice)" [ "$both" = y ]
both=$(okp "$(r banner2)" && okp "$(r shell2)" && [ "$(r alive2)" = yes ] && echo y)
check "(b) the second boot reaches a working shell" [ "$both" = y ]
both=$(okp "$(r powerdown)" && [ "$(r qtemu)" = "exit 0" ] && echo y)
check "(b) poweroff -f after the reset ends qtemu with status 0 ($(r qtemu))" [ "$both" = y ]

# -- (c) -serial file:PATH and -serial none
wait $bg
frc=$(cat "$TMP/file.rc" 2>/dev/null); nrc=$(cat "$TMP/none.rc" 2>/dev/null)
echo "# -serial file: status ${frc:-none}, $(wc -c < "$TMP/serial.log" 2>/dev/null || echo 0) bytes in the file, $(wc -c < "$TMP/file.stdout") on stdout"
echo "# -serial none: status ${nrc:-none}, $(wc -c < "$TMP/none.stdout") bytes on stdout"
for f in file none; do
    [ -s "$TMP/$f.stderr" ] && head -n 3 "$TMP/$f.stderr" | sed "s/^/# $f stderr: /"
done
check "-serial file:PATH: the console log (kernel banner) is in the file" \
    grep -q "Linux version" "$TMP/serial.log"
check "-serial file:PATH: init ran to its end (QTEMU-DONE in the file) and status 0" \
    sh -c "grep -q QTEMU-DONE '$TMP/serial.log' && [ '$frc' = 0 ]"
check "-serial file:PATH: nothing on stdout" [ ! -s "$TMP/file.stdout" ]
check "-serial none: guest powers off by itself with status 0" [ "$nrc" = 0 ]
check "-serial none: nothing on stdout" [ ! -s "$TMP/none.stdout" ]
exit 0
