#!/usr/bin/env bash
# e2e/rights.sh - the klant's rights and who may read: roles changes with rewrap, the consent
# register and special categories (P8), approval and correction (P11.1), provable erasure
# (P11.2) with forged and hand-made counter-examples.
#
# Who can decrypt is checked with stock gpg in one GNUPGHOME per person, each holding that
# person's secret key and nothing else (gpg decrypts with ANY secret key in its home, so the
# test's own home, which holds them all, proves nothing). Signatures are checked with stock
# `git verify-commit` in a home with public keys only.
#
# Witnesses: stock git (log, cat-file, verify-commit, verify-pack, fsck, gc, bundle, clone,
# commit-tree -S, mktree, update-ref) and stock gpg.
set -euo pipefail
. "$KLUIS_TEST_DIR/lib.sh"
export XDG_CACHE_HOME=$T_ROOT/cache XDG_CONFIG_HOME=$T_ROOT/config XDG_DATA_HOME=$T_ROOT/data
mkdir -p "$XDG_CACHE_HOME" "$XDG_CONFIG_HOME" "$XDG_DATA_HOME"

# A spec violation that leaves the rest of the flow meaningful is recorded and the test goes
# on; it still fails at the end if there was any.
T_BUGS=()
soft_fail() { T_BUGS+=("$*"); printf 'FAIL (going on) - %s\n' "$*" >&2; }

# a second adviser, who takes over from the first
MEDEW2=$(kt_key medewerker2 2>/dev/null)
[[ $MEDEW2 =~ ^[0-9A-F]{40}$ ]] || fail "could not make the second adviser's key (got '$MEDEW2')"
MEDEW3=$(kt_key medewerker3 2>/dev/null)
[[ $MEDEW3 =~ ^[0-9A-F]{40}$ ]] || fail "could not make the third adviser's key (got '$MEDEW3')"

# one home per person: that person's secret key and nothing else
secret_home "$KLANT";  KH=$REPLY
secret_home "$MEDEW";  MH=$REPLY
secret_home "$MEDEW2"; M2H=$REPLY
secret_home "$DIR";    DH=$REPLY
secret_home "$OPDR";   OH=$REPLY
# public keys only, for stock git verify-commit (an auditor's keyring)
pub_home "$KLANT" "$MEDEW" "$MEDEW2" "$MEDEW3" "$DIR" "$OPDR" "$OUTSIDER"
AUD=$REPLY

# ---- helpers ----
shard_of() { printf '%s\n' "${1:17:2}"; }
# the ciphertext oid of entry ENTRY's PART (meta|body) at REV of REPO
cipher_oid() { pointer_field "$1" "${4:-main}:entries/$(shard_of "$2")/$2/$3" oid; }
# decrypt_as HOME REPO OID OUTFILE : stock gpg in HOME; returns gpg's status
decrypt_as() { git -C "$2" cat-file blob "$3" | GNUPGHOME=$1 gpg --batch --quiet --decrypt >"$4" 2>/dev/null; }
trailer() { git -C "$1" log -1 --format="%(trailers:key=$3,valueonly)" "$2" | sed '/^$/d'; }
head_of() { git -C "$1" rev-parse main; }
verify_full() { # verify_full ID [VAULT] : kluis verify ID --full --json; exit code in $VRC, output in $OUT/$ERR
	VRC=0
	env KLUIS_VAULT="${2:-$KLUIS_VAULT}" "$KLUIS" verify "$1" --full --json >"$T_OUT" 2>"$T_ERR" || VRC=$?
	OUT=$(cat "$T_OUT")
	ERR=$(cat "$T_ERR")
	[ "$VRC" -eq 0 ] || [ "$VRC" -eq 1 ] || fail "kluis verify $1 --full --json exited $VRC (want 0 or 1): $ERR"
	local ok
	ok=$(json_get ok) || fail "kluis verify --json printed no JSON: $OUT $ERR"
	if [ "$VRC" -eq 0 ] && [ "$ok" != True ]; then fail "kluis verify exited 0 but its JSON says ok=$ok"; fi
	if [ "$VRC" -eq 1 ] && [ "$ok" != False ]; then fail "kluis verify exited 1 but its JSON says ok=$ok"; fi
	return 0
}
json_get() { # json_get KEY : a top-level key of the JSON in $OUT
	OUTJ=$OUT python3 -c 'import json, os, sys; print(json.loads(os.environ["OUTJ"])[sys.argv[1]])' "$1"
}
findings_of() { # the findings of the first dossier in a verify --json $OUT, one a line
	OUTJ=$OUT python3 -c '
import json, os
d = json.loads(os.environ["OUTJ"])["dossiers"][0]
for f in d["findings"]: print(f["commit"], f["finding"])'
}
assert_verifies() { # assert_verifies ID WHAT [VAULT]
	verify_full "$1" "${3:-}"
	[ "$VRC" -eq 0 ] || fail "kluis verify $1 --full finds problems $2: $(findings_of)"
	[ -z "$(findings_of)" ] || fail "kluis verify $1 --full reports findings $2: $(findings_of)"
}

# =====================================================================================
# roles: show, who may change them, an adviser takes over, rewrap
# =====================================================================================
init_dossier k-roles
R=$(repo_of k-roles)

expect_exit 0 k roles k-roles
assert_eq "$(wc -l <"$T_OUT")" 4 "number of lines of 'kluis roles'"
for pair in "klant $KLANT" "medewerker $MEDEW" "directie $DIR" "opdrachtgever $OPDR"; do
	grep -Eq "^${pair% *}[[:space:]]+${pair#* }\$" "$T_OUT" || fail "'kluis roles' does not list '$pair': $OUT"
done
expect_exit 0 k --json roles k-roles
got=$(OUTJ=$OUT python3 -c '
import json, os
print(" ".join(sorted(r["role"] + "=" + r["key"] for r in json.loads(os.environ["OUTJ"])["roles"])))')
assert_eq "$got" "$(printf '%s\n' "directie=$DIR" "klant=$KLANT" "medewerker=$MEDEW" "opdrachtgever=$OPDR" | sort | tr '\n' ' ' | sed 's/ $//')" "roles --json"
pass "kluis roles lists the 4 roles with their fingerprints (text and --json)"

# an entry from before the change: a binary document
OLD_FILE=$T_WORK/old-doc.bin
head -c 40000 /dev/urandom >"$OLD_FILE"
expect_exit 0 k --as "$MEDEW" add k-roles --kind document --file "$OLD_FILE"
OLD=$OUT
assert_match "$OLD" "$ID_RE" "id of the old entry"
old_body=$(cipher_oid "$R" "$OLD" body)
decrypt_as "$MH" "$R" "$old_body" "$T_WORK/old.by-medew" || fail "control: the adviser's own home cannot decrypt the old entry before the change"
cmp -s "$OLD_FILE" "$T_WORK/old.by-medew" || fail "control: the adviser's decryption of the old entry differs from the file"
if decrypt_as "$M2H" "$R" "$old_body" "$T_WORK/old.by-medew2-before"; then
	fail "control: the new adviser's key decrypts the old entry before being given a role"
fi
pass "control: before the change the adviser's home decrypts the old entry, the new adviser's does not"

head0=$(head_of "$R")
roles0=$(git -C "$R" cat-file blob main:roles)
expect_exit 1 k --as "$MEDEW" roles k-roles --add medewerker "$MEDEW2" --remove "$MEDEW"
assert_eq "$(head_of "$R")" "$head0" "main after the medewerker's refused roles change"
expect_exit 1 k --as "$KLANT" roles k-roles --add medewerker "$MEDEW2"
expect_exit 1 k --as "$OUTSIDER" roles k-roles --add medewerker "$OUTSIDER"
assert_eq "$(head_of "$R")" "$head0" "main after refused roles changes"
assert_eq "$(git -C "$R" cat-file blob main:roles)" "$roles0" "roles file after refused changes"
pass "a medewerker, the klant or an outsider changing roles is refused (exit 1); nothing is committed"

expect_exit 0 k --as "$DIR" roles k-roles --add medewerker "$MEDEW2" --remove "$MEDEW"
assert_eq "$(git -C "$R" log -2 --format=%s main | tr '\n' '|')" "rewrap -|roles -|" "the last two subjects on main"
assert_eq "$(trailer "$R" main~1 Kluis-Action)" roles "Kluis-Action of main~1"
assert_eq "$(trailer "$R" main Kluis-Action)" rewrap "Kluis-Action of main"
assert_eq "$(git -C "$R" rev-parse main~2)" "$head0" "the roles commit's parent"
for c in main~1 main; do
	GNUPGHOME=$AUD git -C "$R" verify-commit "$c" >/dev/null 2>&1 ||
		fail "stock git verify-commit refuses $c: $(GNUPGHOME=$AUD git -C "$R" verify-commit "$c" 2>&1 | head -3)"
	assert_eq "$(signer_of "$R" "$c" "$AUD")" "$DIR" "signer of $c"
done
roles1=$(git -C "$R" cat-file blob main:roles)
assert_contains "$roles1" "$MEDEW2" "roles file after the change"
assert_not_contains "$roles1" "$MEDEW" "roles file after the change"
pass "the directie's change: exit 0, a 'roles' commit then a 'rewrap' commit, both signed by the directie and accepted by stock git verify-commit"

# a new entry after the removal: the removed adviser cannot read it
expect_exit 1 k --as "$MEDEW" add k-roles -m "the removed adviser tries to write"
NEW_TEXT="after the change $RANDOM$RANDOM"
expect_exit 0 k --as "$MEDEW2" add k-roles -m "$NEW_TEXT"
NEW=$OUT
new_body=$(cipher_oid "$R" "$NEW" body)
new_meta=$(cipher_oid "$R" "$NEW" meta)
if decrypt_as "$MH" "$R" "$new_body" "$T_WORK/new.by-medew"; then
	fail "the REMOVED adviser's key decrypts the body of an entry added after the removal"
fi
if decrypt_as "$MH" "$R" "$new_meta" "$T_WORK/new.meta.by-medew"; then
	fail "the REMOVED adviser's key decrypts the metadata of an entry added after the removal"
fi
decrypt_as "$KH" "$R" "$new_body" "$T_WORK/new.by-klant" || fail "control: the klant cannot decrypt the new entry"
assert_eq "$(cat "$T_WORK/new.by-klant")" "$NEW_TEXT" "the new entry decrypted by the klant"
pass "the removed adviser can no longer write, and his key (own home, stock gpg) cannot decrypt an entry added after the removal"

# the old entry, rewrapped: the new adviser reads it, byte for byte
old_body2=$(cipher_oid "$R" "$OLD" body)
[ "$old_body2" != "$old_body" ] || fail "the rewrap left the old entry's body pointer unchanged"
decrypt_as "$M2H" "$R" "$old_body2" "$T_WORK/old.by-medew2" ||
	fail "the NEW adviser's key (own home, stock gpg) cannot decrypt the old entry after the rewrap"
cmp -s "$OLD_FILE" "$T_WORK/old.by-medew2" || fail "the new adviser's decryption of the rewrapped old entry differs from the original bytes"
decrypt_as "$M2H" "$R" "$(cipher_oid "$R" "$OLD" meta)" "$T_WORK/old.meta.by-medew2" ||
	fail "the new adviser cannot decrypt the old entry's metadata after the rewrap"
want=$(for f in "$KLANT" "$MEDEW2" "$DIR" "$OPDR"; do enc_keyid "$f"; done | sort -u)
assert_eq "$(git -C "$R" cat-file blob "$old_body2" | recipients_of)" "$want" "recipients of the rewrapped old body"
if decrypt_as "$MH" "$R" "$old_body2" "$T_WORK/old2.by-medew"; then
	fail "the removed adviser's key decrypts the rewrapped ciphertext of the old entry"
fi
check_pointer "$R" "main:entries/$(shard_of "$OLD")/$OLD/body"
pass "after the rewrap the new adviser's key decrypts the OLD entry to the original bytes; it is encrypted to exactly the new readers"

assert_verifies k-roles "after the roles change and rewrap"
verify_all_commits "$R" "$AUD"
pass "kluis verify --full exits 0 after the change; every main commit passes stock git verify-commit"

head1=$(head_of "$R")
expect_exit "1,2" k --as "$DIR" roles k-roles --remove "$KLANT"
assert_eq "$(head_of "$R")" "$head1" "main after trying to remove the only klant"
expect_exit "1,2" k --as "$DIR" roles k-roles --remove "$DIR"
assert_eq "$(head_of "$R")" "$head1" "main after trying to remove the only directie"
assert_eq "$(git -C "$R" cat-file blob main:roles)" "$roles1" "roles file after the refused removals"
pass "removing the last klant or the last directie is refused; nothing is committed"

# one key, one role (keys/roles.c kluis_roles_validate; the verifier checks it too)
head1=$(head_of "$R")
roles1=$(git -C "$R" cat-file blob main:roles)
expect_exit "1,2" k --as "$DIR" roles k-roles --add opdrachtgever "$MEDEW2"
assert_contains "$ERR" "two roles" "refusal of a second role for the adviser's key"
expect_exit "1,2" k --as "$DIR" roles k-roles --add medewerker "$MEDEW2"
assert_contains "$ERR" "already holds" "refusal of the same role again"
expect_exit "1,2" k --as "$DIR" roles k-roles --add auditor "$KLANT"
assert_contains "$ERR" "two roles" "refusal of the klant's key as auditor"
assert_eq "$(head_of "$R")" "$head1" "main after the refused second roles"
assert_eq "$(git -C "$R" cat-file blob main:roles)" "$roles1" "roles file after the refused second roles"
pass "roles --add of a key that already holds a role (another or the same) is refused with a clear error; nothing is committed"

# the same made with stock git: a roles commit whose roles file names one key twice, signed by
# the directie; the control (a key new to the dossier, made the same way) verifies
forge_roles() { # forge_roles VAULT LINE : a copy of k-roles whose main gains a roles commit adding LINE
	local FR=$1/dossiers/k-roles.git parent tree seq c
	parent=$(git -C "$FR" rev-parse main)
	seq=$(git -C "$FR" log -1 --format='%(trailers:key=Kluis-Seq,valueonly)' main | sed '/^$/d')
	tree=$( { git -C "$FR" ls-tree main | grep -v '	roles$'
		printf '100644 blob %s\troles\n' "$( { git -C "$FR" cat-file blob main:roles; printf '%s\n' "$2"; } | git -C "$FR" hash-object -w --stdin)"; } |
		git -C "$FR" mktree)
	c=$(GIT_AUTHOR_NAME=directie GIT_AUTHOR_EMAIL=$DIR GIT_COMMITTER_NAME=directie GIT_COMMITTER_EMAIL=$DIR \
		git -C "$FR" commit-tree -S"$DIR" -p "$parent" -m "roles -" \
		-m "$(printf 'Kluis-Action: roles\nKluis-Role: directie\nKluis-Role-Added: %s\nKluis-Seq: %s' "$2" $((seq + 1)))" "$tree") ||
		fail "stock git commit-tree -S$DIR failed"
	GNUPGHOME=$AUD git -C "$FR" verify-commit "$c" >/dev/null 2>&1 || fail "stock git verify-commit refuses the crafted roles commit"
	git -C "$FR" update-ref refs/heads/main "$c" "$parent"
}
cp -a "$KLUIS_VAULT" "$T_ROOT/vault-roles-ctl"
forge_roles "$T_ROOT/vault-roles-ctl" "auditor $MEDEW3"
assert_verifies k-roles "in the control copy (an auditor added with stock git, signed by the directie)" "$T_ROOT/vault-roles-ctl"
cp -a "$KLUIS_VAULT" "$T_ROOT/vault-roles-dup"
forge_roles "$T_ROOT/vault-roles-dup" "auditor $KLANT"
verify_full k-roles "$T_ROOT/vault-roles-dup"
[ "$VRC" -eq 1 ] || fail "kluis verify accepts a roles file that gives the klant's key a second role: $OUT"
f=$(findings_of)
[[ $f == *"$KLANT"* || ${f,,} == *"two roles"* || ${f,,} == *twice* ]] || fail "the finding does not name the key held twice: $f"
pass "a roles commit made with stock git that gives one key two roles, signed by the directie, is a verify finding; the same crafting with a new key verifies"

# =====================================================================================
# consent and special categories (P8, P4, P7.2, W5b)
# =====================================================================================
init_dossier k-cons
R=$(repo_of k-cons)
PURPOSE_MARK="doel-marker-$$-$RANDOM$RANDOM"

h0=$(head_of "$R")
expect_exit 1 k --as "$MEDEW" add k-cons --special health -m "medische info zonder toestemming"
assert_eq "$(head_of "$R")" "$h0" "main after the refused special add"
pass "add --special health without a recorded consent is refused (exit 1), nothing committed"

expect_exit 1 k --as "$OPDR" consent k-cons grant --scope health --purpose "$PURPOSE_MARK"
expect_exit 1 k --as "$OUTSIDER" consent k-cons grant --scope health --purpose "$PURPOSE_MARK"
assert_eq "$(head_of "$R")" "$h0" "main after the opdrachtgever's refused consent"
pass "the opdrachtgever (and an outsider) may not record consent (exit 1)"

expect_exit 0 k --as "$KLANT" consent k-cons grant --scope health --purpose "$PURPOSE_MARK"
assert_match "$OUT" "$ID_RE" "stdout of consent grant"
CONSENT1=$OUT
assert_eq "$(trailer "$R" main Kluis-Action)" consent "Kluis-Action of the consent commit"
assert_eq "$(trailer "$R" main Kluis-Entry)" "$CONSENT1" "Kluis-Entry of the consent commit"
assert_eq "$(trailer "$R" main Kluis-Role)" klant "Kluis-Role of the consent commit"
pass "the klant's consent grant (scope health) prints the new entry id and is a signed consent commit"

H1_TEXT="diagnose-marker-$$-$RANDOM"
expect_exit 0 k --as "$MEDEW" add k-cons --special health -m "$H1_TEXT"
H1=$OUT
assert_match "$H1" "$ID_RE" "id of the health entry"
h1_body=$(cipher_oid "$R" "$H1" body)
if decrypt_as "$OH" "$R" "$h1_body" "$T_WORK/h1.by-opdr"; then
	fail "the opdrachtgever's key alone decrypts a health entry whose consent does not name the opdrachtgever"
fi
if decrypt_as "$OH" "$R" "$(cipher_oid "$R" "$H1" meta)" "$T_WORK/h1.meta.by-opdr"; then
	fail "the opdrachtgever's key alone decrypts the metadata of a withheld health entry"
fi
decrypt_as "$KH" "$R" "$h1_body" "$T_WORK/h1.by-klant" || fail "the klant's key cannot decrypt the health entry"
assert_eq "$(cat "$T_WORK/h1.by-klant")" "$H1_TEXT" "health entry decrypted by the klant"
decrypt_as "$MH" "$R" "$h1_body" "$T_WORK/h1.by-medew" || fail "the medewerker's key cannot decrypt the health entry"
decrypt_as "$DH" "$R" "$h1_body" "$T_WORK/h1.by-dir" || fail "the directie's key cannot decrypt the health entry"
want=$(for f in "$KLANT" "$MEDEW" "$DIR"; do enc_keyid "$f"; done | sort -u)
assert_eq "$(git -C "$R" cat-file blob "$h1_body" | recipients_of)" "$want" "recipients of the withheld health entry"
assert_nowhere "$H1_TEXT"
pass "with consent, add --special health works; the body is withheld from the opdrachtgever (stock gpg, own home) and readable by the klant"

expect_exit 0 k --as "$KLANT" consent k-cons grant --scope health --to-opdrachtgever --purpose "ook naar de opdrachtgever"
assert_match "$OUT" "$ID_RE" "stdout of consent grant --to-opdrachtgever"
H2_TEXT="health-for-opdr-$$-$RANDOM"
expect_exit 0 k --as "$MEDEW" add k-cons --special health -m "$H2_TEXT"
H2=$OUT
decrypt_as "$OH" "$R" "$(cipher_oid "$R" "$H2" body)" "$T_WORK/h2.by-opdr" ||
	fail "with a --to-opdrachtgever consent the opdrachtgever's key cannot decrypt a new health entry"
assert_eq "$(cat "$T_WORK/h2.by-opdr")" "$H2_TEXT" "health entry decrypted by the opdrachtgever"
if decrypt_as "$OH" "$R" "$h1_body" "$T_WORK/h1.by-opdr-later"; then
	fail "the later --to-opdrachtgever consent made the earlier withheld entry readable for the opdrachtgever"
fi
pass "with a --to-opdrachtgever consent a new health entry IS decryptable by the opdrachtgever; the earlier one stays withheld"

expect_exit 0 k --as "$KLANT" consent k-cons withdraw --scope health --purpose "ingetrokken"
assert_match "$OUT" "$ID_RE" "stdout of consent withdraw"
assert_eq "$(trailer "$R" main Kluis-Consent)" withdraw "Kluis-Consent trailer of the withdrawal"
h2=$(head_of "$R")
expect_exit 1 k --as "$MEDEW" add k-cons --special health -m "na intrekking"
assert_eq "$(head_of "$R")" "$h2" "main after the refused add"
pass "after 'consent withdraw --scope health' a new --special health add is refused again (exit 1)"

expect_exit 0 k --as "$KLANT" consent k-cons grant --purpose "algemene begeleiding"
expect_exit 1 k --as "$MEDEW" add k-cons --special health -m "met alleen algemene toestemming"
expect_exit 1 k --as "$MEDEW" add k-cons --special religion -m "andere categorie"
pass "a general (algemeen) consent does not let a --special health or religion entry in"

expect_exit 0 k --as "$MEDEW" consent k-cons grant --scope religion --purpose "vastgelegd door de adviseur"
expect_exit 0 k --as "$MEDEW" add k-cons --special religion -m "religion entry"
pass "the medewerker may record a consent on the klant's behalf; the matching category is then accepted"

assert_nowhere "$PURPOSE_MARK"
pass "the consent's purpose is in no git object, message or file name in plaintext"

# the klant's legal representative (P4) may record consent; he is not a reader (W6a)
VERT=$(kt_key vertegenwoordiger 2>/dev/null)
[[ $VERT =~ ^[0-9A-F]{40}$ ]] || fail "could not make the representative's key (got '$VERT')"
gpg --batch --export "$VERT" | gpg --homedir "$AUD" --batch --quiet --import 2>/dev/null
printf '%s:6:\n' "$VERT" | gpg --homedir "$AUD" --batch --quiet --import-ownertrust 2>/dev/null
expect_exit 1 k --as "$VERT" consent k-cons grant --scope health --purpose "nog geen rol"
expect_exit 0 k --as "$DIR" roles k-cons --add vertegenwoordiger "$VERT"
grep -Eq "^vertegenwoordiger[[:space:]]+$VERT\$" <<<"$OUT" || fail "kluis roles does not list the vertegenwoordiger after adding him: $OUT"
expect_exit 0 k --as "$VERT" consent k-cons grant --scope health --purpose "toestemming van de wettelijk vertegenwoordiger"
assert_match "$OUT" "$ID_RE" "stdout of the representative's consent"
VGRANT=$OUT
assert_eq "$(trailer "$R" main Kluis-Role)" vertegenwoordiger "Kluis-Role of the representative's consent"
assert_eq "$(signer_of "$R" main "$AUD")" "$VERT" "signer of the representative's consent"
expect_exit 0 k --as "$MEDEW" add k-cons --special health -m "na toestemming van de vertegenwoordiger"
want=$(for f in "$KLANT" "$MEDEW" "$DIR"; do enc_keyid "$f"; done | sort -u)
assert_eq "$(git -C "$R" cat-file blob "$(cipher_oid "$R" "$OUT" body)" | recipients_of)" "$want" "recipients of a health entry after the representative's consent"
# a withdrawal names the grant in force, found in the (encrypted) consent register: the
# vertegenwoordiger holds no key to it (no reader), so his withdrawal is refused before anything
# is decrypted, even with a GNUPGHOME that holds every reader's key, as this test's does (a
# decryption by a non-reader could not be on record, invariant 6); the klant withdraws
acc0=$(ref_of "$R" refs/kluis/access)
h3=$(head_of "$R")
expect_exit 1 k --as "$VERT" consent k-cons withdraw --scope health --purpose "ingetrokken door de vertegenwoordiger"
assert_contains "$ERR" "consent register" "the vertegenwoordiger's refused withdrawal"
assert_eq "$(head_of "$R")" "$h3" "main after the vertegenwoordiger's refused withdrawal"
assert_eq "$(ref_of "$R" refs/kluis/access)" "$acc0" "read log after the vertegenwoordiger's refused withdrawal"
# he withdraws by the grant's id (P4.2: a withdrawal may come from either), reading nothing
expect_exit 0 k --as "$VERT" consent k-cons withdraw --grant "$VGRANT" --purpose "ingetrokken door de vertegenwoordiger"
assert_eq "$(trailer "$R" main Kluis-Withdraws)" "$VGRANT" "Kluis-Withdraws of the representative's withdrawal"
assert_eq "$(ref_of "$R" refs/kluis/access)" "$acc0" "read log after the withdrawal by grant id"
expect_exit 1 k --as "$VERT" consent k-cons withdraw --grant "$VGRANT" --purpose "nog eens"
expect_exit 1 k --as "$MEDEW" add k-cons --special health -m "na intrekking door de vertegenwoordiger"
expect_exit 1 k --as "$VERT" add k-cons -m "de vertegenwoordiger voegt toe"
pass "P4: the directie adds a vertegenwoordiger; he grants consent (signed, Kluis-Role: vertegenwoordiger) with effect; he may not add; he is no recipient, so he cannot read the register to withdraw by scope (refused, nothing written), and withdraws by the grant's id (nothing read), once"

# a roles change rewraps: the withheld entry stays withheld, the released one stays released
expect_exit 0 k --as "$DIR" roles k-cons --add medewerker "$MEDEW3" --remove "$MEDEW"
if decrypt_as "$OH" "$R" "$(cipher_oid "$R" "$H1" body)" "$T_WORK/h1.by-opdr-rewrap"; then
	fail "after a rewrap the opdrachtgever's key decrypts the health entry that was withheld from it"
fi
decrypt_as "$KH" "$R" "$(cipher_oid "$R" "$H1" body)" "$T_WORK/h1.by-klant-rewrap" || fail "after a rewrap the klant cannot decrypt the withheld health entry"
assert_eq "$(cat "$T_WORK/h1.by-klant-rewrap")" "$H1_TEXT" "withheld entry after the rewrap"
decrypt_as "$OH" "$R" "$(cipher_oid "$R" "$H2" body)" "$T_WORK/h2.by-opdr-rewrap" ||
	fail "after a rewrap the opdrachtgever cannot decrypt the health entry released to it"
pass "a rewrap keeps a withheld special entry withheld from the opdrachtgever and a released one released"

assert_verifies k-cons "over consent grants, withdrawals, special entries and a rewrap"
verify_all_commits "$R" "$AUD"
pass "kluis verify --full exits 0 over all of this; every commit passes stock git verify-commit"

# =====================================================================================
# approve and correct (P11.1)
# =====================================================================================
init_dossier k-appr
R=$(repo_of k-appr)
expect_exit 0 k --as "$MEDEW" add k-appr --kind plan -m "plan van aanpak, versie 1"
PLAN=$OUT
plan_commit=$(head_of "$R")

expect_exit 1 k --as "$MEDEW" approve k-appr "$PLAN"
expect_exit 1 k --as "$DIR" approve k-appr "$PLAN"
expect_exit 1 k --as "$OPDR" approve k-appr "$PLAN"
assert_eq "$(head_of "$R")" "$plan_commit" "main after refused approvals"
pass "the medewerker, directie and opdrachtgever may not approve (exit 1)"

expect_exit 0 k --as "$KLANT" approve k-appr "$PLAN"
assert_eq "$(git -C "$R" log -1 --format=%s main)" "approve $PLAN" "subject of the approval"
assert_eq "$(trailer "$R" main Kluis-Action)" approve "Kluis-Action of the approval"
assert_eq "$(trailer "$R" main Kluis-Approves)" "$plan_commit" "Kluis-Approves (the commit that added the plan)"
assert_eq "$(signer_of "$R" main "$AUD")" "$KLANT" "signer of the approval"
GNUPGHOME=$AUD git -C "$R" verify-commit main >/dev/null 2>&1 || fail "stock git verify-commit refuses the approval"
pass "the klant approves the plan (exit 0): a commit signed by the klant naming the plan's commit"

expect_exit 0 k log k-appr
grep -Eq "approve[[:space:]]+$PLAN" <<<"$OUT" || fail "kluis log shows no approve line with $PLAN: $OUT"
expect_exit 0 k --json log k-appr
OUTJ=$OUT python3 -c '
import json, os, sys
ev = json.loads(os.environ["OUTJ"])
ev = ev["events"] if isinstance(ev, dict) else ev
assert any(e["action"] == "approve" and sys.argv[1] in e["entries"] for e in ev), ev
' "$PLAN" || fail "kluis log --json has no approve event for $PLAN: $OUT"
pass "kluis log (text and --json) shows the approval with the entry id"

expect_exit 1 k --as "$KLANT" correct k-appr "$PLAN" -m "de klant corrigeert zelf"
CORR_TEXT="plan van aanpak, versie 2 $RANDOM"
expect_exit 0 k --as "$MEDEW" correct k-appr "$PLAN" -m "$CORR_TEXT"
CORR=$OUT
assert_match "$CORR" "$ID_RE" "stdout of correct"
[ "$CORR" != "$PLAN" ] || fail "the correction has the same id as the plan"
assert_eq "$(git -C "$R" log -1 --format=%s main)" "correct $CORR" "subject of the correction"
assert_eq "$(trailer "$R" main Kluis-Supersedes)" "$PLAN" "Kluis-Supersedes of the correction"
assert_eq "$(trailer "$R" main Kluis-Action)" correct "Kluis-Action of the correction"
git -C "$R" cat-file -e "main:entries/$(shard_of "$PLAN")/$PLAN/body" || fail "the corrected plan is gone from the tree: a correction must only add"
expect_exit 0 k log k-appr
grep -Eq "correct[[:space:]]+$CORR" <<<"$OUT" || fail "kluis log shows no correct line with $CORR: $OUT"
expect_exit 0 k --as "$KLANT" show k-appr "$CORR"
assert_eq "$OUT" "$CORR_TEXT" "kluis show of the correction"
pass "correct: a new entry whose commit has Kluis-Supersedes: PLAN; the plan stays; kluis log shows the correction"

expect_exit 2 k --as "$MEDEW" correct k-appr 20200101T000000Z-0000 -m "bestaat niet"
expect_exit 2 k --as "$KLANT" approve k-appr 20200101T000000Z-0000
pass "correcting or approving an entry that does not exist exits 2"

assert_verifies k-appr "after approval and correction"
pass "kluis verify --full exits 0 after approval and correction"

# =====================================================================================
# erase (P11.2): provable, with stock git still working; forged and hand-made erasures fail
# =====================================================================================
init_dossier k-erase
R=$(repo_of k-erase)
KEEP_TEXT="keep-$RANDOM"
expect_exit 0 k --as "$MEDEW" add k-erase -m "$KEEP_TEXT"
KEEP=$OUT
expect_exit 0 k --as "$MEDEW" add k-erase --kind circumstance -m "te wissen, los $RANDOM"
LOOSE=$OUT
expect_exit 0 k --as "$MEDEW" add k-erase --kind circumstance -m "te wissen, gepakt $RANDOM"
GONE=$OUT
expect_exit 0 k --as "$MEDEW" add k-erase -m "nog een notitie"
loose_meta=$(cipher_oid "$R" "$LOOSE" meta)
loose_body=$(cipher_oid "$R" "$LOOSE" body)
gone_meta=$(cipher_oid "$R" "$GONE" meta)
gone_body=$(cipher_oid "$R" "$GONE" body)
keep_body=$(cipher_oid "$R" "$KEEP" body)

in_packs() { # in_packs REPO OID : is OID listed in any pack index of REPO (git verify-pack -v)
	local idx
	for idx in "$1"/objects/pack/*.idx; do
		[ -e "$idx" ] || continue
		git verify-pack -v "$idx" | awk -v o="$2" '$1 == o { f = 1 } END { exit !f }' && return 0
	done
	return 1
}
gone_check() { # gone_check WHEN OID... : every OID is gone from REPO R, loose and packed
	local when=$1 oid
	shift
	for oid in "$@"; do
		if git -C "$R" cat-file -e "$oid" 2>/dev/null; then fail "$when: git cat-file -e still finds erased ciphertext $oid"; fi
		if in_packs "$R" "$oid"; then fail "$when: erased ciphertext $oid is still listed in a pack (git verify-pack -v)"; fi
		if [ -e "$R/objects/${oid:0:2}/${oid:2}" ]; then fail "$when: erased ciphertext $oid is still a loose object file"; fi
	done
	git -C "$R" cat-file -e "$keep_body" || fail "$when: the erasure also removed the ciphertext of another entry"
}
erase_record_check() { # erase_record_check ENTRY META_OID BODY_OID : main is a proper erase commit
	local e=$1
	assert_eq "$(git -C "$R" log -1 --format=%s main)" "erase $e" "subject of the erase commit"
	assert_eq "$(trailer "$R" main Kluis-Action)" erase "Kluis-Action of the erase commit"
	assert_eq "$(trailer "$R" main Kluis-Entry)" "$e" "Kluis-Entry of the erase commit"
	assert_eq "$(trailer "$R" main Kluis-Erased-Object | sort | tr '\n' ' ')" "$(printf '%s\n' "$2" "$3" | sort | tr '\n' ' ')" "Kluis-Erased-Object trailers"
	GNUPGHOME=$AUD git -C "$R" verify-commit main >/dev/null 2>&1 || fail "stock git verify-commit refuses the erase commit of $e"
	assert_eq "$(signer_of "$R" main "$AUD")" "$DIR" "signer of the erase commit"
	assert_eq "$(git -C "$R" ls-tree --name-only "main:entries/$(shard_of "$e")/$e" | sort | tr '\n' ' ')" "erased reason " "the erased entry's directory on main"
	assert_eq "$(git -C "$R" cat-file blob "main:entries/$(shard_of "$e")/$e/erased" | sed -n 1p)" "kluis-erased 1" "first line of the erase record"
}

h0=$(head_of "$R")
REASON_MARK="reden-marker-$$-$RANDOM$RANDOM"
expect_exit 1 k --as "$MEDEW" erase k-erase "$LOOSE" --reason "$REASON_MARK"
expect_exit 1 k --as "$KLANT" erase k-erase "$LOOSE" --reason "$REASON_MARK"
expect_exit 1 k --as "$OPDR" erase k-erase "$LOOSE" --reason "$REASON_MARK"
assert_eq "$(head_of "$R")" "$h0" "main after refused erasures"
git -C "$R" cat-file -e "$loose_body" || fail "a refused erase removed the body ciphertext"
git -C "$R" cat-file -e "$loose_meta" || fail "a refused erase removed the meta ciphertext"
pass "a medewerker's (or the klant's, or the opdrachtgever's) erase is refused (exit 1); the ciphertext stays"

expect_exit 2 k --as "$DIR" erase k-erase "$LOOSE"
expect_exit 2 k --as "$DIR" erase k-erase 20200101T000000Z-0000 --reason "bestaat niet"
assert_eq "$(head_of "$R")" "$h0" "main after erase usage errors"
pass "erase without --reason, or of an entry that does not exist, is a usage error (exit 2)"

# ---- 1. an entry whose ciphertext is loose ----
expect_exit 0 k --as "$DIR" erase k-erase "$LOOSE" --reason "$REASON_MARK"
erase_record_check "$LOOSE" "$loose_meta" "$loose_body"
gone_check "right after erasing loose ciphertext" "$loose_meta" "$loose_body"
git -C "$R" fsck --full --strict >"$T_WORK/fsck.out" 2>&1 || fail "stock git fsck --full fails after the erase: $(head -5 "$T_WORK/fsck.out")"
assert_nowhere "$REASON_MARK"
pass "the directie's erase (exit 0): one signed erase commit naming both removed objects, the entry becomes an erase record, the reason is not in plaintext; cat-file -e fails for both; fsck --full passes"

# ---- 2. an entry whose ciphertext is in a pack (as after any git gc) ----
git -C "$R" repack -a -d -q
in_packs "$R" "$gone_body" || fail "control: after repack the body ciphertext $gone_body is in no pack"
in_packs "$R" "$gone_meta" || fail "control: after repack the meta ciphertext $gone_meta is in no pack"
[ ! -e "$R/objects/${gone_body:0:2}/${gone_body:2}" ] || fail "control: after repack the body ciphertext is still loose"
pass "control: the second entry's ciphertext objects are packed (and not loose) before its erasure"

# a copy of the vault from just before the erasure, for the forgeries below
cp -a "$KLUIS_VAULT" "$T_ROOT/vault-pre-erase"
h0=$(head_of "$R")

rc=0
k --as "$DIR" erase k-erase "$GONE" --reason "$REASON_MARK" >"$T_OUT" 2>"$T_ERR" || rc=$?
if [ "$rc" -ne 0 ]; then
	soft_fail "kluis erase of an entry whose ciphertext is packed exited $rc, want 0: $(cat "$T_ERR")"
fi
[ "$(git -C "$R" rev-parse main^)" = "$h0" ] || fail "the erase of $GONE (packed) made no commit on main"
ERASE_COMMIT=$(head_of "$R")
erase_record_check "$GONE" "$gone_meta" "$gone_body"
gone_check "right after erasing packed ciphertext" "$gone_meta" "$gone_body"
git -C "$R" fsck --full --strict >"$T_WORK/fsck.out" 2>&1 || fail "stock git fsck --full fails after the erase: $(head -5 "$T_WORK/fsck.out")"
pass "erasing packed ciphertext: a signed erase commit; git cat-file -e fails for meta and body, git verify-pack -v lists them in no pack; fsck --full passes"

git -C "$R" gc --prune=now -q 2>"$T_WORK/gc.err" || fail "stock git gc --prune=now fails after the erase: $(head -3 "$T_WORK/gc.err")"
gone_check "after git gc --prune=now" "$loose_meta" "$loose_body" "$gone_meta" "$gone_body"
git -C "$R" fsck --full --strict >"$T_WORK/fsck.out" 2>&1 || fail "stock git fsck --full fails after gc: $(head -5 "$T_WORK/fsck.out")"
pass "after git gc --prune=now: all erased ciphertext still gone from the objects and every pack, fsck --full passes"

assert_verifies k-erase "after two erasures (an erase with a signed record is not tampering)"
expect_exit 0 k log k-erase
for e in "$LOOSE" "$GONE"; do
	grep -Eq "erase[[:space:]]+${e}[[:space:]].*directie" <<<"$OUT" || fail "kluis log shows no erase line by the directie for $e: $OUT"
done
expect_exit 0 k --json audit k-erase
assert_contains "$OUT" "erase" "kluis audit --json"
pass "kluis verify --full --json: ok, no findings (the erasures are recognized as such); kluis log shows both erasures by the directie"

# stock git still works with the dossier
git -C "$R" bundle create "$T_WORK/erase.bundle" --all >/dev/null 2>"$T_WORK/bundle.err" ||
	fail "stock git bundle create --all fails after the erase: $(head -3 "$T_WORK/bundle.err")"
git -C "$R" bundle verify "$T_WORK/erase.bundle" >/dev/null 2>&1 || fail "stock git bundle verify refuses the bundle"
git clone -q --mirror "$T_WORK/erase.bundle" "$T_WORK/from-bundle.git" 2>"$T_WORK/clone.err" ||
	fail "stock git clone of the bundle fails: $(head -3 "$T_WORK/clone.err")"
git clone -q --no-local --mirror "$R" "$T_WORK/clone.git" 2>"$T_WORK/clone.err" ||
	fail "stock git clone --no-local of the dossier fails after the erase: $(head -3 "$T_WORK/clone.err")"
for c in "$T_WORK/from-bundle.git" "$T_WORK/clone.git"; do
	git -C "$c" fsck --full >/dev/null 2>&1 || fail "git fsck fails in $c"
	assert_eq "$(git -C "$c" rev-parse main)" "$ERASE_COMMIT" "main of $c"
	for o in "$loose_body" "$gone_body" "$gone_meta"; do
		if git -C "$c" cat-file -e "$o" 2>/dev/null; then fail "the erased ciphertext $o is in $c"; fi
	done
	git -C "$c" cat-file -e "$keep_body" || fail "the kept entry's ciphertext is missing from $c"
done
pass "stock git bundle create --all, bundle verify, clone (of the bundle and --no-local of the repository) all work; the copies hold no erased ciphertext"

expect_exit "1,2" k --as "$KLANT" show k-erase "$GONE"
if [[ ${ERR,,} != *erase* ]]; then
	soft_fail "kluis show of an erased entry does not say it was erased: got '$ERR' (want one line such as 'kluis: entry $GONE was erased (P11.2) ...')"
else
	pass "kluis show of the erased entry fails and says it was erased"
fi
expect_exit 0 k --as "$KLANT" show k-erase "$KEEP"
assert_eq "$OUT" "$KEEP_TEXT" "kluis show of a kept entry after the erase"
expect_exit 1 k --as "$DIR" erase k-erase "$GONE" --reason "nog eens"
pass "the other entries still decrypt; erasing an erased entry again is refused"

# ---- forged erase: the same tree change, made with stock git, signed by the medewerker ----
# forge VAULT SIGNER ROLE : in VAULT (a copy from before the erase), make the erase the
# directie made in the real vault - same parent, same tree, same content ref, the ciphertext
# gone from the object store - but as a commit made by stock git and signed by SIGNER.
forge() {
	local V=$1 signer=$2 role=$3 FR parent tree msg c
	FR=$V/dossiers/k-erase.git
	assert_eq "$(git -C "$FR" rev-parse main)" "$h0" "main of the copy from before the erase"
	git -C "$FR" fetch -q "$R" main refs/kluis/content 2>/dev/null || fail "cannot fetch the real erase into $V"
	parent=$(git -C "$FR" rev-parse "$ERASE_COMMIT^")
	assert_eq "$parent" "$h0" "parent of the real erase"
	tree=$(git -C "$FR" rev-parse "$ERASE_COMMIT^{tree}")
	git -C "$FR" update-ref refs/kluis/content "$(git -C "$R" rev-parse refs/kluis/content)"
	msg=$(git -C "$R" log -1 --format=%B "$ERASE_COMMIT" | sed "s/^Kluis-Role: directie\$/Kluis-Role: $role/")
	c=$(GIT_AUTHOR_NAME=$role GIT_AUTHOR_EMAIL=$signer GIT_COMMITTER_NAME=$role GIT_COMMITTER_EMAIL=$signer \
		git -C "$FR" commit-tree -S"$signer" -p "$parent" -m "$msg" "$tree") || fail "stock git commit-tree -S$signer failed"
	GNUPGHOME=$AUD git -C "$FR" verify-commit "$c" >/dev/null 2>&1 || fail "stock git verify-commit refuses the crafted commit"
	git -C "$FR" update-ref refs/heads/main "$c" "$parent"
	# the erased ciphertext leaves the copy's object store too
	rm -f "$FR/FETCH_HEAD"
	git -C "$FR" gc -q --prune=now
	if git -C "$FR" cat-file -e "$gone_body" 2>/dev/null; then fail "the forged copy still holds the erased body"; fi
	git -C "$FR" fsck --full >/dev/null 2>&1 || fail "git fsck fails in the forged copy $V"
	REPLY=$c
}
# control: the same crafting signed by the directie verifies, so the crafting is faithful
cp -a "$T_ROOT/vault-pre-erase" "$T_ROOT/vault-ctl"
forge "$T_ROOT/vault-ctl" "$DIR" directie
assert_verifies k-erase "in the control copy (the erase re-made with stock git, signed by the directie)" "$T_ROOT/vault-ctl"
pass "control: the erase re-made with stock git commit-tree and signed by the directie verifies (exit 0)"

cp -a "$T_ROOT/vault-pre-erase" "$T_ROOT/vault-forged"
forge "$T_ROOT/vault-forged" "$MEDEW" medewerker
FORGED=$REPLY
verify_full k-erase "$T_ROOT/vault-forged"
[ "$VRC" -ne 0 ] || fail "kluis verify accepts an erase signed by the medewerker: $OUT"
f=$(findings_of)
grep -q "^$FORGED " <<<"$f" || fail "no verify finding names the forged commit $FORGED: $f"
echo "# verify's finding: $(grep "^$FORGED " <<<"$f" | head -1)"
expect_exit 1 env KLUIS_VAULT="$T_ROOT/vault-forged" "$KLUIS" verify k-erase --full
grep -q "$FORGED" "$T_OUT" || fail "kluis verify's text output does not name the forged commit: $OUT"
pass "an erase forged with stock git and signed by the medewerker makes kluis verify fail (exit 1), naming that commit"

# ---- a ciphertext object deleted by hand, with no erase record ----
cp -a "$KLUIS_VAULT" "$T_ROOT/vault-hand"
HR=$T_ROOT/vault-hand/dossiers/k-erase.git
sh=${keep_body:0:2}
shard_tree=$(git -C "$HR" ls-tree refs/kluis/content "$sh" | awk '{print $3}')
[ -n "$shard_tree" ] || fail "control: no shard $sh in refs/kluis/content"
new_shard=$(git -C "$HR" ls-tree "$shard_tree" | { grep -v "	${keep_body:2}\$" || true; } | git -C "$HR" mktree)
new_root=$(git -C "$HR" ls-tree "refs/kluis/content^{tree}" |
	if [ -z "$(git -C "$HR" ls-tree "$new_shard")" ]; then grep -v "	$sh\$" || true; else sed "s/ $shard_tree	$sh\$/ $new_shard	$sh/"; fi |
	git -C "$HR" mktree)
new_content=$(GIT_AUTHOR_NAME=kluis GIT_AUTHOR_EMAIL=kluis GIT_COMMITTER_NAME=kluis GIT_COMMITTER_EMAIL=kluis git -C "$HR" commit-tree -m "content" "$new_root")
git -C "$HR" update-ref refs/kluis/content "$new_content"
git -C "$HR" gc -q --prune=now
if git -C "$HR" cat-file -e "$keep_body" 2>/dev/null; then fail "control: the hand-deleted ciphertext is still there"; fi
verify_full k-erase "$T_ROOT/vault-hand"
[ "$VRC" -ne 0 ] || fail "kluis verify accepts a ciphertext object deleted by hand (no erase record)"
f=$(findings_of)
grep -Eqi "missing|not in refs/kluis/content" <<<"$f" || fail "verify's findings do not say the ciphertext is missing: $f"
grep -q "$KEEP" <<<"$f" || fail "verify's findings do not name the entry whose ciphertext is gone ($KEEP): $f"
pass "a ciphertext object deleted by hand (out of refs/kluis/content, pruned; no erase record) makes kluis verify fail"

# the same, only the loose/pack file gone while refs/kluis/content still names it
cp -a "$KLUIS_VAULT" "$T_ROOT/vault-hand2"
HR2=$T_ROOT/vault-hand2/dossiers/k-erase.git
git -C "$HR2" repack -a -d -q
git -C "$HR2" cat-file blob "$keep_body" >/dev/null
# rewrite the packs without that one object
keepers=$(git -C "$HR2" cat-file --batch-all-objects --batch-check='%(objectname)' | grep -v "^$keep_body\$")
mkdir "$T_WORK/newpack"
printf '%s\n' "$keepers" | git -C "$HR2" pack-objects -q "$T_WORK/newpack/pack" >/dev/null
rm -f "$HR2"/objects/pack/pack-*
cp "$T_WORK"/newpack/pack-* "$HR2/objects/pack/"
if git -C "$HR2" cat-file -e "$keep_body" 2>/dev/null; then fail "control: the object is still there after rewriting the pack"; fi
verify_full k-erase "$T_ROOT/vault-hand2"
[ "$VRC" -ne 0 ] || fail "kluis verify accepts a ciphertext object removed from the pack by hand"
f=$(findings_of)
grep -q "$KEEP" <<<"$f" || fail "verify's findings do not name the entry whose ciphertext is gone ($KEEP): $f"
echo "# verify's finding: $(head -1 <<<"$f")"
pass "a ciphertext object removed from the object store by hand (still named by the content ref) makes kluis verify fail"

if [ ${#T_BUGS[@]} -gt 0 ]; then
	printf 'FAIL - %s\n' "${T_BUGS[@]}" >&2
	fail "${#T_BUGS[@]} spec violation(s), listed above"
fi
