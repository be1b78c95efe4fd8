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

# ---- the exporter's own extras (a valid key, re-signing the manifest) ----
# resign DIR : manifest.json of DIR signed again by the exporter (stock gpg)
resign() {
	rm -f "$1/manifest.json.asc"
	gpg --batch --quiet --yes --pinentry-mode loopback --passphrase '' -u "$MEDEW" --detach-sign --armor -o "$1/manifest.json.asc" "$1/manifest.json"
}
# a key whose user id is text about the klant, in keys/, named in members and keys_sha256
make_home; NH=$REPLY
GNUPGHOME=$NH gpg --batch --quiet --pinentry-mode loopback --passphrase '' --quick-gen-key "BSN 123456782 diagnose burn-out" ed25519 sign never 2>/dev/null
for what in field duplicate key; do
	E=$T_WORK/e-$what
	cp -a "$X" "$E"
	cp "$T_WORK/order" "$T_WORK/order-$what"
	if [ "$what" = key ]; then
		GNUPGHOME=$NH gpg --batch --export --armor >"$E/keys/note.asc"
		awk '/^dossier.bundle$/ { print "keys/note.asc" } { print }' "$T_WORK/order" >"$T_WORK/order-$what"
	fi
	python3 - "$E" "$what" <<'PY'
import hashlib, json, os, sys
d, what = sys.argv[1:]
p = os.path.join(d, "manifest.json")
m = json.load(open(p))
if what == "key":
    k = os.path.join(d, "keys", "note.asc")
    m["members"]["keys/note.asc"] = os.path.getsize(k)
    m["keys_sha256"]["keys/note.asc"] = hashlib.sha256(open(k, "rb").read()).hexdigest()
if what == "field":
    m["note"] = "BSN 123456782 diagnose burn-out"
s = json.dumps(m, indent=2, sort_keys=True) + "\n"
if what == "duplicate":   # jansson took the last of two equal keys
    s = s[:-2] + ',\n  "time": "1999-01-01T00:00:00Z"\n}\n'
open(p, "w").write(s)
PY
	resign "$E"
	python3 "$F/wrap.py" "$E" "$T_WORK/order-$what" "$T_WORK/e-$what.tgz" none "."
	GNUPGHOME=$OH KLUIS_VAULT=$T_WORK/iv-e-$what expect_exit 1 "$KLUIS" import "$T_WORK/e-$what.tgz" --trust "$DIR"
	case $what in
	field) assert_contains "$ERR" "the manifest has a field kluis does not write: 'note'" "import with an extra manifest field" ;;
	duplicate) assert_contains "$ERR" "the manifest is not JSON as kluis writes it: duplicate object key" "import with a duplicate manifest key" ;;
	key) assert_contains "$ERR" "archive member 'keys/note.asc' is no key this dossier's history needs" "import with an extra key" ;;
	esac
	[ ! -e "$T_WORK/iv-e-$what/dossiers/d1.git" ] || fail "the refused import ($what) left a dossier behind"
done
pass "the exporter's own extras, manifest re-signed: a field kluis does not write, a duplicate key, a key the history does not need (its user id text about the klant): import refuses each"
