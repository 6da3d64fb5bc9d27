#!/bin/bash
# Bare-metal x86-64 test ROMs (testroms/x86_64/*.S, built by testroms.mk into
# build/MODE/testroms/). Each ROM checks behaviour stated by the Intel SDM,
# prints one line per check on COM1 and writes its verdict to isa-debug-exit:
# 0 (all checks passed) makes qtemu exit with status 1; failure code N gives
# (N << 1) | 1. On failure the ROM's serial output is shown as TAP comments.
#
# A ROM whose failure is a known emulator bug is a TAP TODO test (it runs and
# reports but does not fail the suite); remove its TODO entry when it passes.
. "$(dirname "$0")/lib.sh"
ROMDIR=${TESTROMS_DIR:-$(dirname "$QTEMU")/testroms}
LIMIT=${QTEMU_ROM_TIMEOUT:-60}

# Every ROM source except the shared start-up and library, in name order.
ROMS=$(cd "$TOP/testroms/x86_64" && ls *.S | sed 's/\.S$//' | grep -v -x -e start -e lib)
declare -A TODO=(
)
# Extra qtemu options for a ROM (e.g. a CPU model that advertises the
# features it tests; such ROMs skip what CPUID does not advertise).
# A ROM can run more than once: NAME+VARIANT runs NAME.elf with its own
# options and TODO entry.
declare -A OPTS=(
    [paging2]="-cpu max"
    [la57]="-cpu max"
    [pcid]="-cpu max"
    [smp]="-smp 2"
)
ROMS="$ROMS paging2+qemu64"

set -- $ROMS
echo "1..$#"
for rom in $ROMS; do
    elf="$ROMDIR/${rom%%+*}.elf"
    todo=""
    [ -n "${TODO[$rom]}" ] && todo=" # TODO ${TODO[$rom]}"
    if [ ! -f "$elf" ]; then
        not_ok "$rom: $elf not built (make testroms)$todo"
        continue
    fi
    timeout "$LIMIT" "$QTEMU" -kernel "$elf" -device isa-debug-exit,iobase=0xf4,iosize=0x04 ${OPTS[$rom]} \
        -serial stdio -nographic -no-reboot -m 64M < /dev/null > "$TMP/$rom.out" 2> "$TMP/$rom.err"
    rc=$?
    summary=$(grep -a '^DONE:' "$TMP/$rom.out" | tr -d '\r' | head -n 1)
    if [ $rc -eq 1 ]; then
        ok "$rom: ${summary:-passed}$todo"
    else
        case $rc in
            124) why="timed out after $LIMIT s" ;;
            0) why="exit status 0 (reset or power-off: triple fault?)" ;;
            126|127) why="cannot run $QTEMU (exit status $rc)" ;;
            *) if [ $((rc & 1)) -eq 1 ]; then why="ROM failure code $((rc >> 1))"; else why="exit status $rc"; fi ;;
        esac
        not_ok "$rom: $why${summary:+; $summary}$todo"
        grep -a -v '^ok ' "$TMP/$rom.out" | tr -d '\r' | tail -n 40 | sed 's/^/#   /'
        [ -s "$TMP/$rom.err" ] && tail -n 5 "$TMP/$rom.err" | sed 's/^/# stderr: /'
    fi
done
exit 0
