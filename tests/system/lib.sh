# Shared helpers for the TAP system tests (sourced by tests/system/*.t).
# QTEMU is the binary under test (set by `make check-system`).
: "${QTEMU:=$(cd "$(dirname "$0")/../.." && pwd)/build/release/qtemu}"
TOP=$(cd "$(dirname "$0")/../.." && pwd)
GUEST="$TOP/.cache/guest"
TMP=$(mktemp -d)
trap '[ -n "$KEEP_TMP" ] || rm -rf "$TMP"' EXIT
n=0
fails=0
ok() { n=$((n+1)); echo "ok $n - $1"; }
not_ok() { n=$((n+1)); fails=$((fails+1)); echo "not ok $n - $1"; }
check() {  # check "name" cond...
    name=$1; shift
    if "$@"; then ok "$name"; else not_ok "$name"; fi
}
