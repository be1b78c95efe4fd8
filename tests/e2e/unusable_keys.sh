#!/usr/bin/env bash
# e2e/unusable_keys.sh - a reader's key that cannot be encrypted to (missing from the keyring,
# expired, revoked, or without an encryption subkey) is a clear one-line error, never a silent
# skip: nothing is written, and no entry is encrypted to fewer readers than the roles say.
set -euo pipefail
. "$KLUIS_TEST_DIR/lib.sh"

gen() { # gen NAME USAGE EXPIRE [FAKED-TIME] -> primary fingerprint in REPLY
	local faked=()
	[ -z "${4:-}" ] || faked=(--faked-system-time "$4")
	gpg --batch --quiet --pinentry-mode loopback --passphrase '' "${faked[@]}" \
		--quick-gen-key "$1 <$1@kluis.test>" ed25519 "$2" "$3" 2>/dev/null
	REPLY=$(gpg --batch --with-colons --list-keys "<$1@kluis.test>" | awk -F: '/^fpr/ { print $10; exit }')
}
others=(--medewerker "$MEDEW" --directie "$DIR" --opdrachtgever "$OPDR")

gen signonly sign,cert never
SIGNONLY=$REPLY
gen expired sign,cert 1d 20200101T000000
EXPIRED=$REPLY
gpg --batch --quiet --pinentry-mode loopback --passphrase '' --faked-system-time 20200101T000000 \
	--quick-add-key "$EXPIRED" cv25519 encr 1d 2>/dev/null
NOKEY=0123456789ABCDEF0123456789ABCDEF01234567

expect_exit 1 k --as "$DIR" init k-a --klant "$SIGNONLY" "${others[@]}"
assert_contains "$ERR" "$SIGNONLY" "error names the key"
assert_contains "$ERR" "encryption" "error says what the key lacks"
expect_exit 1 k --as "$DIR" init k-b --klant "$EXPIRED" "${others[@]}"
assert_contains "$ERR" "expired" "error for an expired key"
expect_exit 1 k --as "$DIR" init k-c --klant "$NOKEY" "${others[@]}"
assert_contains "$ERR" "$NOKEY" "error names the missing key"
assert_contains "$ERR" "gpg --import" "error says what to do"
for id in k-a k-b k-c; do
	[ ! -e "$(repo_of "$id")" ] || fail "a refused init left dossier $id behind"
done
pass "init refuses a key without an encryption subkey, an expired key and a key not in the keyring; no dossier is left"

# a reader's key that expires after init: the next addition is refused, nothing committed
init_dossier k-0001
R=$(repo_of k-0001)
h=$(git -C "$R" rev-parse main)
gpg --batch --quiet --pinentry-mode loopback --passphrase '' --quick-set-expire "$OPDR" seconds=1 '*' 2>/dev/null
sleep 2
expect_exit 1 k --as "$MEDEW" add k-0001 -m "after the opdrachtgever's subkey expired"
assert_contains "$ERR" "$OPDR" "error names the expired reader"
assert_contains "$ERR" "kluis roles" "error says how to replace the key"
assert_eq "$(git -C "$R" rev-parse main)" "$h" "main after the refused add"
pass "a reader's subkey that expired after init: add is refused with the key named; nothing committed"

# '*' takes only the subkeys still valid: name the expired one
sub=$(gpg --batch --with-colons --with-subkey-fingerprint --list-keys "$OPDR" | awk -F: '/^fpr/ { n++; if (n == 2) { print $10; exit } }')
gpg --batch --quiet --pinentry-mode loopback --passphrase '' --quick-set-expire "$OPDR" never "$sub" 2>/dev/null
expect_exit 0 k --as "$MEDEW" add k-0001 -m "after the subkey was extended"
pass "once the key is extended, adding works again"

# a revoked key
# gpg made a revocation certificate with the key; its armour line is masked with a ':'
rev=$GNUPGHOME/openpgp-revocs.d/$KLANT.rev
[ -f "$rev" ] || fail "gpg made no revocation certificate for the klant's key"
sed 's/^:-----BEGIN/-----BEGIN/' "$rev" | gpg --batch --quiet --import 2>/dev/null
gpg --batch --with-colons --list-keys "$KLANT" | grep -q '^pub:r:' || fail "the klant's key is not revoked after the import"
h=$(git -C "$R" rev-parse main)
expect_exit 1 k --as "$MEDEW" add k-0001 -m "after the klant's key was revoked"
assert_contains "$ERR" "$KLANT" "error names the revoked key"
assert_eq "$(git -C "$R" rev-parse main)" "$h" "main after the refused add"
pass "a revoked reader key: add is refused with the key named; nothing committed"
