#!/bin/bash
# Bad input from the user: each case must give exactly one clear error line
# on stderr ("qtemu: ..."), exit status 1, and never a crash (signal).
. "$(dirname "$0")/lib.sh"
echo "1..15"

expect_error() {  # name, stderr-pattern, qtemu args...
    name=$1; pat=$2; shift 2
    timeout 20 "$QTEMU" -serial none "$@" > "$TMP/out" 2> "$TMP/err" < /dev/null
    rc=$?
    lines=$(grep -c . "$TMP/err")
    if [ $rc -eq 1 ] && [ "$lines" -eq 1 ] && grep -qi "^qtemu: .*$pat" "$TMP/err"; then
        ok "$name: $(cat "$TMP/err")"
    else
        not_ok "$name (exit $rc, $lines stderr lines: $(head -c 300 "$TMP/err"))"
    fi
}

KERNEL="$GUEST/vmlinuz-cloud"
expect_error "missing kernel" "No such file" -kernel "$TMP/nonexistent"
: > "$TMP/empty"
expect_error "empty kernel file" "empty" -kernel "$TMP/empty"
head -c 100000 /dev/urandom > "$TMP/random"
expect_error "random bytes" "not a bzImage" -kernel "$TMP/random"
if [ -f "$KERNEL" ]; then
    head -c 20000 "$KERNEL" > "$TMP/trunc1"
    expect_error "truncated bzImage (in setup)" "truncated" -kernel "$TMP/trunc1"
    head -c 3000000 "$KERNEL" > "$TMP/trunc2"
    expect_error "truncated bzImage (in payload)" "truncated" -kernel "$TMP/trunc2"
    expect_error "-m too small for the kernel" "RAM" -m 8M -kernel "$KERNEL"
    expect_error "missing initrd" "initrd" -kernel "$KERNEL" -initrd "$TMP/nonexistent"
else
    for i in 1 2 3 4; do ok "# SKIP no kernel in $GUEST (run make fetch)"; done
fi
# A minimal ELF64 header for EM_AARCH64 (183).
printf '\177ELF\002\001\001\000\000\000\000\000\000\000\000\000\002\000\267\000\001\000\000\000' > "$TMP/arm.elf"
head -c 200 /dev/zero >> "$TMP/arm.elf"
expect_error "ELF for another architecture" "aarch64.*not x86-64" -kernel "$TMP/arm.elf"
expect_error "unknown option" "invalid option" -kernel "$TMP/random" -frobnicate
expect_error "malformed -m" "invalid RAM size" -m 12Q -kernel "$TMP/random"
expect_error "unknown machine" "machine" -M virt2000 -kernel "$TMP/random"
expect_error "unknown cpu" "CPU model" -cpu pentium9 -kernel "$TMP/random"
expect_error "unknown -d item" "log item" -d int,bogus -kernel "$TMP/random"
expect_error "option without its argument" "requires an argument" -kernel

"$QTEMU" --version > "$TMP/ver" 2>&1
check "--version prints the version and exits 0" grep -q "qtemu version" "$TMP/ver"
exit 0
