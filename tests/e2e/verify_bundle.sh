#!/usr/bin/env bash
# e2e/verify_bundle.sh - kluis verify --bundle FILE: an auditor, with public keys only, checks a
# dossier handed over as a stock git bundle or as a transfer archive, without importing it.
set -euo pipefail
. "$KLUIS_TEST_DIR/lib.sh"

init_dossier k-0001
R=$(repo_of k-0001)
expect_exit 0 k --as "$MEDEW" add k-0001 -m "een notitie"
ID=$OUT
expect_exit 0 k --as "$KLANT" show k-0001 "$ID"
B=$T_WORK/k-0001.bundle
git -C "$R" bundle create -q "$B" refs/heads/main refs/kluis/content refs/kluis/access
pub_home
AUD=$REPLY
AV=$T_WORK/auditor-vault   # the auditor has no vault yet
ka() { GNUPGHOME=$AUD KLUIS_VAULT=$AV "$KLUIS" "$@"; }
flip_byte() { # FILE OFFSET: invert one byte in place
	python3 -c 'import sys; f = open(sys.argv[1], "r+b"); f.seek(int(sys.argv[2])); b = f.read(1); f.seek(int(sys.argv[2])); f.write(bytes([b[0] ^ 0xff]))' "$1" "$2"
}
no_leftovers() {
	[ ! -d "$AV/tmp" ] || [ -z "$(ls -A "$AV/tmp")" ] || fail "verify --bundle left work files in $AV/tmp"
	[ ! -d "$AV/dossiers" ] || [ -z "$(ls -A "$AV/dossiers")" ] || fail "verify --bundle imported something"
}

# ---- a stock git bundle ----
expect_exit 0 ka verify --bundle "$B" --trust "$DIR"
assert_contains "$OUT" "k-0001: verified" "summary line"
assert_contains "$OUT" "1 reads," "the read log travels and is checked"
expect_exit 0 ka verify --bundle "$B" --trust "$DIR" --json
assert_eq "$(python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["ok"], d["dossiers"][0]["dossier"], d["dossiers"][0]["commits"])' <"$T_OUT")" "True k-0001 2" "JSON"
no_leftovers
pass "a stock git bundle of a dossier verifies with public keys only and --trust; nothing imported or left behind"

expect_exit 2 ka verify --bundle "$B"
assert_contains "$ERR" "--trust" "no trust root"
expect_exit 1 ka verify --bundle "$B" --trust "$MEDEW"
assert_contains "$OUT" "trust root" "finding with another trust root"
expect_exit 2 ka verify k-0001 --bundle "$B" --trust "$DIR"
expect_exit 2 ka verify --bundle "$T_WORK/missing.bundle" --trust "$DIR"
printf 'not a bundle\n' >"$T_WORK/plain.txt"
expect_exit 2 ka verify --bundle "$T_WORK/plain.txt" --trust "$DIR"
pass "refused: no trust root (2), another trust root (1, a finding), an ID beside --bundle, a missing file, a file that is no bundle (2)"

# ---- tampered bundles ----
head -c $(( $(stat -c %s "$B") - 40 )) "$B" >"$T_WORK/short.bundle"
expect_exit 1 ka verify --bundle "$T_WORK/short.bundle" --trust "$DIR"
cp "$B" "$T_WORK/flip.bundle"
size=$(stat -c %s "$B")
flip_byte "$T_WORK/flip.bundle" $(( size - 100 ))
cmp -s "$B" "$T_WORK/flip.bundle" && fail "the flipped copy equals the original"
expect_exit 1 ka verify --bundle "$T_WORK/flip.bundle" --trust "$DIR"
no_leftovers
pass "a truncated bundle and one with a flipped byte are refused with one line (exit 1); nothing left behind"

export GIT_AUTHOR_NAME=forger GIT_AUTHOR_EMAIL=forger@kluis.test GIT_COMMITTER_NAME=forger GIT_COMMITTER_EMAIL=forger@kluis.test
F=$T_WORK/forge.git
git clone -q --bare "$R" "$F"
git -C "$F" fetch -q "$R" "refs/kluis/*:refs/kluis/*"
forged=$(git -C "$F" commit-tree -p main -m "add - unsigned" "main^{tree}")
git -C "$F" update-ref refs/heads/main "$forged"
git -C "$F" bundle create -q "$T_WORK/forged.bundle" refs/heads/main refs/kluis/content refs/kluis/access
expect_exit 1 ka verify --bundle "$T_WORK/forged.bundle" --trust "$DIR"
assert_contains "$OUT" "${forged:0:12}" "the finding names the forged commit"
git -C "$F" update-ref refs/heads/main "$(git -C "$R" rev-parse main)"
git -C "$F" update-ref refs/kluis/evil "$(git -C "$R" rev-parse main)"
git -C "$F" bundle create -q "$T_WORK/extra.bundle" refs/heads/main refs/kluis/content refs/kluis/evil
expect_exit 1 ka verify --bundle "$T_WORK/extra.bundle" --trust "$DIR"
assert_contains "$ERR" "refs/kluis/evil" "an extra ref"
pass "a bundle with an unsigned commit on main is a finding naming that commit; a bundle with a foreign ref is refused"

# ---- a transfer archive ----
expect_exit 0 k --as "$MEDEW" close k-0001
A=$T_WORK/k-0001.tgz
expect_exit 0 k --as "$MEDEW" transfer k-0001 --out "$A"
expect_exit 0 ka verify --bundle "$A" --trust "$DIR"
assert_contains "$OUT" "k-0001: verified" "archive summary"
cp "$A" "$T_WORK/bad.tgz"
asize=$(stat -c %s "$A")
flip_byte "$T_WORK/bad.tgz" $(( asize / 2 ))
expect_exit 1 ka verify --bundle "$T_WORK/bad.tgz" --trust "$DIR"
no_leftovers
pass "a transfer archive verifies with --bundle (signature, hashes, bundle, history); a damaged one is refused; nothing imported"
