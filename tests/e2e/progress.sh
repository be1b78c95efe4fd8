#!/usr/bin/env bash
# e2e/progress.sh - progress of long work: on a terminal one line per phase, each ended once at
# 100%; to a pipe or a file nothing at all; short work shows none either. The terminal is a
# pseudo-terminal made by util-linux's `script`.
set -euo pipefail
. "$KLUIS_TEST_DIR/lib.sh"
command -v script >/dev/null || fail "util-linux's script is not installed (bootstrap installs it)"

init_dossier k-1
init_dossier k-2
head -c $((6 << 20)) /dev/urandom >"$T_WORK/big.bin"
k --as "$MEDEW" add k-1 --file "$T_WORK/big.bin" >/dev/null
k --as "$MEDEW" add k-2 -m "klein" >/dev/null
k --as "$MEDEW" close k-1 >/dev/null 2>&1
k --as "$MEDEW" close k-2 >/dev/null 2>&1

# on a terminal: the phases, each on a line of its own that ends at 100%
script -qec "$(printf '%q ' "$KLUIS" --as "$MEDEW" transfer k-1 --out "$T_WORK/k-1.tgz")" /dev/null >"$T_WORK/tty.out"
lines=$(tr -d '\r' <"$T_WORK/tty.out" | grep -c '^transfer: ' || true)
ends=$(tr '\r' '\n' <"$T_WORK/tty.out" | grep -c '^transfer: .*(100%)$' || true)
phases=$(tr '\r' '\n' <"$T_WORK/tty.out" | sed -n 's/^transfer: \([a-z ]*\): .*/\1/p' | uniq | tr '\n' ',')
assert_eq "$phases" "packing the history,writing the archive,reading it back," "the phases, in order, each drawn in one place"
assert_eq "$lines" 3 "lines of progress on the terminal (one per phase)"
assert_eq "$ends" 3 "phases that end at 100%"
pass "on a terminal a transfer shows one line per phase, each ending at 100%"

# to a file: nothing but the result
expect_exit 0 k --as "$MEDEW" transfer k-2 --out "$T_WORK/k-2.tgz"
assert_not_contains "$ERR" "MiB" "stderr to a file"
init_dossier k-3
small=$(script -qec "$(printf '%q ' "$KLUIS" --as "$MEDEW" add k-3 -m x)" /dev/null)
assert_match "$small" "^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{4}" "the short add on a terminal"
assert_not_contains "$small" "MiB" "progress of short work"
pass "no progress to a file or a pipe, nor for work too short to wait for"
