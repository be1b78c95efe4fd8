#!/usr/bin/env bash
# release/seams.sh - the binary users build obeys none of the tests' switches (issue 15, item 6).
#
# KLUIS: a release build (cmake -DCMAKE_BUILD_TYPE=Release, KLUIS_TEST_SEAMS off). KLUIS_SEAMS_BIN
# (optional): the test build, the control that the same commands do obey the switches there.
# tests/release/run.cmake builds the release binary and runs this; ctest runs that as
# release/seams.
#
# Checks: no seam's name is in the release binary (strings); with KLUIS_NOW eleven years ahead
# a destroy without --force is refused by the release (its clock is the real one) and done by
# the test build; kluis demo runs (the release's smoke test).
set -euo pipefail
T_RELEASE=1 # KLUIS is a release on purpose
. "$KLUIS_TEST_DIR/lib.sh"
export XDG_CACHE_HOME=$T_ROOT/cache
mkdir -p "$XDG_CACHE_HOME"

SEAMS=(KLUIS_NOW KLUIS_NO_FSYNC KLUIS_THREADS KLUIS_GPG KLUIS_RNP_LOG)
strings "$KLUIS" >"$T_WORK/strings"
grep_q -x 'KLUIS_VAULT' "$T_WORK/strings" || fail "control: strings finds no KLUIS_VAULT in $KLUIS (the user's switch)"
for s in "${SEAMS[@]}"; do
	if grep_q -x "$s" "$T_WORK/strings"; then fail "the release binary $KLUIS holds the test switch $s"; fi
done
if [ -n "${KLUIS_SEAMS_BIN:-}" ]; then
	strings "$KLUIS_SEAMS_BIN" | grep_q -x KLUIS_NOW || fail "control: the test build $KLUIS_SEAMS_BIN holds no KLUIS_NOW"
fi
pass "the release binary holds none of ${SEAMS[*]} (KLUIS_VAULT, the user's own switch, is there)"

# a closed dossier, two years' retention: eleven years on it is due, today it is not
init_dossier k-rel
expect_exit 0 k --as "$MEDEW" add k-rel -m "een notitie"
expect_exit 0 k --as "$MEDEW" close k-rel
cp -a "$KLUIS_VAULT" "$T_ROOT/vault-copy"
LATER=$(($(date +%s) + 11 * 31556952))
expect_exit 1 env KLUIS_NOW="$LATER" "$KLUIS" --as "$DIR" destroy k-rel --reason "bewaartermijn verstreken"
assert_contains "$ERR" "needs --force" "a release's destroy with KLUIS_NOW eleven years ahead"
[ -d "$(repo_of k-rel)" ] || fail "the refused destroy removed the dossier"
expect_exit 0 env KLUIS_NOW="$LATER" "$KLUIS" retention --due
assert_not_contains "$OUT" "k-rel" "a release's retention --due with KLUIS_NOW eleven years ahead"
pass "release: KLUIS_NOW eleven years ahead moves no clock: retention --due lists nothing, destroy without --force is refused"

if [ -n "${KLUIS_SEAMS_BIN:-}" ]; then
	expect_exit 0 env KLUIS_NOW="$LATER" KLUIS_VAULT="$T_ROOT/vault-copy" "$KLUIS_SEAMS_BIN" --as "$DIR" destroy k-rel --reason "bewaartermijn verstreken"
	[ ! -e "$T_ROOT/vault-copy/dossiers/k-rel.git" ] || fail "control: the test build's destroy eleven years on left the dossier"
	pass "control: the test build, same vault and command, obeys KLUIS_NOW and destroys without --force"
fi

expect_exit 0 k demo
assert_contains "$OUT" "Done." "kluis demo's last line"
pass "release: kluis demo runs the whole traject"
