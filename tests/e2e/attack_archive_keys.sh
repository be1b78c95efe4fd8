#!/usr/bin/env bash
# e2e/attack_archive_keys.sh - an attacker's test (review of 2026-12-07): the public keys in a
# transfer archive are the exporter's, byte for byte, or the archive is refused.
#
# The signed manifest gave every keys/ member's size, not its hash. Anyone who carries the
# archive (no key needed) could then rewrite a key file to the same size: text about the klant
# in an unhashed subpacket of the key's self-signature (import kept it in
# ID.git/kluis-keys), or the klant's revocation dropped (import kept the key unrevoked, the
# keyring that verifies the held dossier for its ten years). Both were accepted by
# verify --bundle and import. Now the manifest (version 3) gives each key's sha256.
# Tools: tests/forge/keypad.py (a key re-encoded to the same size, no key needed),
# tests/forge/wrap.py (the members packed again in their order); stock gpg.
set -euo pipefail
. "$KLUIS_TEST_DIR/lib.sh"
F=$KLUIS_TEST_DIR/forge

pub_home; AUD=$REPLY
secret_home "$OPDR"; OH=$REPLY
init_dossier d1
expect_exit 0 k --as "$MEDEW" add d1 -m "notitie"
expect_exit 0 k --as "$KLANT" statement d1 -m "mijn verklaring"
# the klant's key is revoked (no longer used) in the exporter's keyring: the revocation travels
sleep 1
printf 'revkey\ny\n3\n\ny\nsave\n' | gpg --no-tty --command-fd 0 --status-fd 2 --pinentry-mode loopback --passphrase '' --edit-key "$KLANT" >/dev/null 2>&1
gpg --batch --with-colons --list-keys "$KLANT" | grep -q '^pub:r:' || fail "could not revoke the klant's key (test bug)"
sleep 1
expect_exit 0 k --as "$MEDEW" close d1
A=$T_WORK/a.tgz
expect_exit 0 k --as "$MEDEW" transfer d1 --out "$A"
X=$T_WORK/ax
mkdir -p "$X"
tar -xzf "$A" -C "$X"
tar -tzf "$A" >"$T_WORK/order"
revoked() { gpg --show-keys --with-colons "$1" 2>/dev/null | awk -F: '$1 == "pub" { print ($2 == "r" ? "revoked" : "not revoked") }'; }
assert_eq "$(revoked "$X/keys/$KLANT.asc")" revoked "the klant's key in the archive"

# the control: the same members packed again by the same tool, unchanged, import
python3 "$F/wrap.py" "$X" "$T_WORK/order" "$T_WORK/same.tgz" none "."
GNUPGHOME=$OH KLUIS_VAULT=$T_WORK/iv0 expect_exit 0 "$KLUIS" import "$T_WORK/same.tgz" --trust "$DIR"
assert_eq "$(revoked "$T_WORK/iv0/dossiers/d1.git/kluis-keys/$KLANT.asc")" revoked "the klant's key the import kept"
pass "control: the archive's members packed again unchanged import; the klant's key is kept revoked"

for what in text strip; do
	K=$T_WORK/k-$what
	cp -a "$X" "$K"
	if [ "$what" = text ]; then
		python3 "$F/keypad.py" "$X/keys/$MEDEW.asc" "$K/keys/$MEDEW.asc" "BSN 123456782, diagnose van de bedrijfsarts" >/dev/null
		cmp -s "$X/keys/$MEDEW.asc" "$K/keys/$MEDEW.asc" && fail "keypad.py changed nothing (test bug)"
		member=keys/$MEDEW.asc
	else
		STRIP=1 python3 "$F/keypad.py" "$X/keys/$KLANT.asc" "$K/keys/$KLANT.asc" "." >/dev/null
		assert_eq "$(revoked "$K/keys/$KLANT.asc")" "not revoked" "the klant's key after the revocation was dropped"
		member=keys/$KLANT.asc
	fi
	assert_eq "$(stat -c %s "$K/$member")" "$(stat -c %s "$X/$member")" "size of the rewritten $member"
	python3 "$F/wrap.py" "$K" "$T_WORK/order" "$T_WORK/$what.tgz" none "."
	GNUPGHOME=$AUD expect_exit 1 "$KLUIS" --vault "$T_WORK/av-$what" verify --bundle "$T_WORK/$what.tgz" --trust "$DIR"
	assert_contains "$ERR" "archive member '$member' is not the key the signed manifest names" "verify --bundle of the $what archive"
	GNUPGHOME=$OH KLUIS_VAULT=$T_WORK/iv-$what expect_exit 1 "$KLUIS" import "$T_WORK/$what.tgz" --trust "$DIR"
	assert_contains "$ERR" "archive member '$member' is not the key the signed manifest names" "import of the $what archive"
	[ ! -e "$T_WORK/iv-$what/dossiers/d1.git" ] || fail "the refused import left a dossier behind"
done
pass "a key rewritten to its size in transit (text in an unhashed subpacket; the klant's revocation dropped): verify --bundle and import refuse, naming the member; nothing imported"
