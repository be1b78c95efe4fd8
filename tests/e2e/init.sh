#!/usr/bin/env bash
# e2e/init.sh - kluis init: the dossier repository it creates, checked with stock git and gpg,
# and every refusal (bad id, missing role, existing dossier, wrong actor, unknown key).
set -euo pipefail
. "$KLUIS_TEST_DIR/lib.sh"

ROLES=(--klant "$KLANT" --medewerker "$MEDEW" --directie "$DIR" --opdrachtgever "$OPDR")
TRAJ="traject-marker-$$-$RANDOM$RANDOM Jansen herintreding"

# ---- refusals first, in a vault that has nothing yet: nothing may appear ----
assert_no_files() {
	local files
	files=$( [ -d "$KLUIS_VAULT" ] && find "$KLUIS_VAULT" -mindepth 1 ! -type d || true)
	[ -z "$files" ] || fail "$1 left files behind: $files"
	if [ -d "$KLUIS_VAULT/dossiers" ] && [ -n "$(ls -A "$KLUIS_VAULT/dossiers")" ]; then
		fail "$1 left something in dossiers/: $(ls -A "$KLUIS_VAULT/dossiers")"
	fi
}

expect_exit 1 k --as "$OUTSIDER" init k-0001 "${ROLES[@]}"
assert_no_files "init by the outsider"
pass "init by a key holding no role is refused (exit 1), nothing created"

expect_exit 1 k --as "$KLANT" init k-0001 "${ROLES[@]}"
assert_contains "$ERR" "klant" "refusal message"
assert_no_files "init by the klant"
pass "init by the klant is refused (exit 1) naming the role, nothing created"

expect_exit 1 k --as "$OPDR" init k-0001 "${ROLES[@]}"
assert_no_files "init by the opdrachtgever"
pass "init by the opdrachtgever is refused (exit 1), nothing created"

for bad in K-0001 'k/0001' "$(printf 'a%.0s' {1..65})" '' 'k_0001' 'k.0001' '../x' 'k 1'; do
	expect_exit 2 k --as "$DIR" init "$bad" "${ROLES[@]}"
	assert_no_files "init '$bad'"
done
pass "invalid dossier ids (uppercase, slash, 65 chars, empty, _ . .. space) exit 2, nothing created"

expect_exit 0 k --as "$DIR" init "$(printf 'a%.0s' {1..64})" "${ROLES[@]}"
pass "a 64-character id is accepted"
rm -rf "$KLUIS_VAULT"

for missing in --klant --medewerker --directie --opdrachtgever; do
	args=()
	for ((i = 0; i < ${#ROLES[@]}; i += 2)); do
		[ "${ROLES[i]}" = "$missing" ] || args+=("${ROLES[i]}" "${ROLES[i + 1]}")
	done
	expect_exit 2 k --as "$DIR" init k-0001 "${args[@]}"
	assert_no_files "init without $missing"
done
pass "init without any one of the four role options exits 2"

expect_exit 2 k --as "$DIR" init k-0001 "${ROLES[@]}" --klant "$KLANT"
pass "a role option given twice exits 2"

expect_exit 2 k --as "$DIR" init k-0001 --klant not-a-fingerprint --medewerker "$MEDEW" --directie "$DIR" --opdrachtgever "$OPDR"
assert_no_files "init with a malformed fingerprint"
pass "a malformed fingerprint exits 2"

# one key, one role (keys/roles.c kluis_roles_validate): the klant's key as the medewerker too
expect_exit 2 k --as "$DIR" init k-0001 --klant "$KLANT" --medewerker "$KLANT" --directie "$DIR" --opdrachtgever "$OPDR"
assert_contains "$ERR" "$KLANT" "refusal of one key in two roles"
assert_contains "$ERR" "two roles" "refusal of one key in two roles"
assert_no_files "init with one key in two roles"
expect_exit 2 k --as "$DIR" init k-0001 --klant "$KLANT" --medewerker "$MEDEW" --directie "$DIR" --opdrachtgever "$DIR"
assert_contains "$ERR" "two roles" "refusal of the directie's key as the opdrachtgever"
assert_no_files "init with the directie's key as the opdrachtgever"
pass "init with one key in two roles (klant and medewerker; directie and opdrachtgever) exits 2, naming the key, nothing created"

UNKNOWN=$(head -c 20 /dev/urandom | od -An -tx1 | tr -d ' \n' | tr a-f A-F)
expect_exit 1,2 k --as "$DIR" init k-0001 --klant "$UNKNOWN" --medewerker "$MEDEW" --directie "$DIR" --opdrachtgever "$OPDR"
if [[ $ERR != *"$UNKNOWN"* && $ERR != *"${UNKNOWN:24:16}"* && $ERR != *"${UNKNOWN:0:16}"* ]]; then
	fail "the refusal of an unknown key should name it ($UNKNOWN): $ERR"
fi
assert_no_files "init with an unknown key"
pass "a fingerprint with no key in the keyring is refused, the message names it"

expect_exit 2 k --as "$DIR" init k-0001 "${ROLES[@]}" --retention-years 0
expect_exit 2 k --as "$DIR" init k-0001 "${ROLES[@]}" --retention-years abc
assert_no_files "init with a bad --retention-years"
pass "bad --retention-years exits 2"

# ---- the real thing ----
expect_exit 0 k --as "$DIR" init k-0001 "${ROLES[@]}" --traject "$TRAJ"
R=$(repo_of k-0001)
[ -d "$R" ] || fail "no repository at $R"
assert_eq "$(git -C "$R" rev-parse --is-bare-repository)" true "is-bare-repository"
assert_eq "$(stat -c %a "$R")" 700 "mode of $R"
assert_eq "$(stat -c %a "$KLUIS_VAULT")" 700 "mode of the vault"
assert_eq "$(git -C "$R" symbolic-ref HEAD)" refs/heads/main "HEAD"
pass "init as directie: $R is a bare repository, mode 0700, HEAD -> main"

bad_modes=$(find "$KLUIS_VAULT" \( -type d ! -perm 700 \) -o \( -type f -perm /077 \))
[ -z "$bad_modes" ] || fail "group/other can reach: $bad_modes"
pass "every directory under the vault is 0700 and no file is readable by group or others"

assert_eq "$(git -C "$R" rev-list --count main)" 1 "commits on main after init"
assert_eq "$(git -C "$R" rev-list --count --merges main)" 0 "merges"

pub_home
AUD=$REPLY
GNUPGHOME=$AUD git -C "$R" verify-commit main >/dev/null 2>"$T_ERR" || fail "stock git verify-commit refuses the init commit: $(cat "$T_ERR")"
assert_contains "$(cat "$T_ERR")" "Good signature" "verify-commit output"
assert_not_contains "$(cat "$T_ERR")" "WARNING" "verify-commit output"
assert_eq "$(signer_of "$R" main "$AUD")" "$DIR" "signer of the init commit"
pass "stock git verify-commit accepts the init commit with public keys only, signed by the directie"

roles=$(git -C "$R" show main:roles)
for pair in "klant $KLANT" "medewerker $MEDEW" "directie $DIR" "opdrachtgever $OPDR"; do
	grep -qxF "$pair" <<<"$roles" || fail "roles file lacks '$pair': $roles"
done
assert_eq "$(grep -c . <<<"$roles")" 4 "lines in the roles file"
assert_not_contains "$roles" "$OUTSIDER" "roles"
pass "the roles file in the tree names the four keys with their roles"

dfile=$(git -C "$R" show main:dossier)
assert_eq "$(head -1 <<<"$dfile")" "kluis-dossier 1" "first line of the dossier file"
grep -qx 'id k-0001' <<<"$dfile" || fail "dossier file lacks 'id k-0001': $dfile"
grep -qx 'state open' <<<"$dfile" || fail "dossier file lacks 'state open': $dfile"
grep -qx 'retention-years 2' <<<"$dfile" || fail "dossier file lacks the default 'retention-years 2': $dfile"
pass "the dossier file: id, state open, default retention 2 years"

msg=$(git -C "$R" log -1 --format=%B main)
assert_match "$(head -1 <<<"$msg")" '^init -$' "subject"
assert_eq "$(git -C "$R" log -1 --format='%(trailers:key=Kluis-Action,valueonly)' main | head -1)" init "Kluis-Action trailer"
assert_eq "$(git -C "$R" log -1 --format='%(trailers:key=Kluis-Role,valueonly)' main | head -1)" directie "Kluis-Role trailer"
assert_eq "$(git -C "$R" log -1 --format='%an <%ae>' main)" "directie <$DIR>" "author"
assert_eq "$(git -C "$R" log -1 --format='%cn <%ce>' main)" "directie <$DIR>" "committer"
pass "init commit: subject 'init -', Kluis-Action: init, author and committer 'directie <FPR>'"

# the traject text is personal data: only ciphertext may hold it
assert_nowhere "$TRAJ"
assert_nowhere "traject-marker-$$"
pass "--traject text is in no git object, ref, message, file name or file of the vault"

# info is a pointer to ciphertext held by refs/kluis/content; every reader decrypts it
info_oid=$(pointer_field "$R" main:info oid)
assert_match "$info_oid" '^[0-9a-f]{40}$' "info pointer oid"
assert_eq "$(git -C "$R" cat-file blob "$info_oid" | sha256sum | cut -d' ' -f1)" "$(pointer_field "$R" main:info sha256)" "info sha256"
git -C "$R" rev-list --objects refs/kluis/content | grep_q "^$info_oid" || fail "info ciphertext not reachable from refs/kluis/content"
if git -C "$R" rev-list --objects main | grep_q "^$info_oid"; then fail "info ciphertext reachable from main"; fi
secret_home "$OPDR"
plain=$(git -C "$R" cat-file blob "$info_oid" | GNUPGHOME=$REPLY gpg --batch --quiet --decrypt 2>/dev/null) ||
	fail "the opdrachtgever's key alone cannot decrypt the dossier info"
assert_contains "$plain" "$TRAJ" "decrypted dossier info"
pass "the traject is in the encrypted info object (pointer in main, ciphertext on refs/kluis/content)"

assert_contains "$(cat "$KLUIS_VAULT/kluis.conf")" "trust $DIR" "kluis.conf"
pass "the first init records the directie as the vault's trust root"

# ---- refusals on an existing vault ----
head_before=$(git -C "$R" rev-parse main)
expect_exit 2 k --as "$DIR" init k-0001 "${ROLES[@]}"
assert_contains "$ERR" "k-0001" "refusal message"
assert_eq "$(git -C "$R" rev-parse main)" "$head_before" "head of main after a second init"
pass "init of an existing dossier exits 2 and leaves it untouched"

expect_exit 1 k --as "$OUTSIDER" init k-0002 "${ROLES[@]}"
[ ! -e "$(repo_of k-0002)" ] || fail "refused init created $(repo_of k-0002)"
[ -z "$(find "$KLUIS_VAULT/dossiers" -mindepth 1 -maxdepth 1 -name '.*')" ] || fail "refused init left a temporary repository"
pass "a refused init in an existing vault creates nothing"

expect_exit 0 k --as "$MEDEW" init k-0003 "${ROLES[@]}" --retention-years 7
grep -qx 'retention-years 7' <<<"$(git -C "$(repo_of k-0003)" show main:dossier)" || fail "--retention-years 7 not recorded"
assert_eq "$(git -C "$(repo_of k-0003)" log -1 --format='%an <%ae>' main)" "medewerker <$MEDEW>" "author of an init by the medewerker"
pass "the medewerker may init too; --retention-years is recorded"

expect_exit 0 k --as "$DIR" --json init k-0004 "${ROLES[@]}"
python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["dossier"]=="k-0004", d' <<<"$OUT" || fail "init --json output: $OUT"
pass "init --json prints a JSON object naming the dossier"
