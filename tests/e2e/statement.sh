#!/usr/bin/env bash
# e2e/statement.sh - kluis statement: the klant's own statement (W6b), signed by the klant's
# key, encrypted to every reader; nobody else may make one.
set -euo pipefail
. "$KLUIS_TEST_DIR/lib.sh"

init_dossier k-0001
R=$(repo_of k-0001)
pub_home
AUD=$REPLY
secret_home "$MEDEW"
MEDEW_ONLY=$REPLY
MARK="statement-marker-$$-$RANDOM$RANDOM"
TEXT="Ik ben het niet eens met de rapportage. $MARK"
mkdir -p "$KLUIS_VAULT/hooks"
printf '#!/bin/sh\necho "HOOK $*"\nprintf "%%s\\n" "$*" >>"%s/hook.log"\n' "$T_WORK" >"$KLUIS_VAULT/hooks/post-add"
chmod 700 "$KLUIS_VAULT/hooks/post-add"

expect_exit 0 k --as "$KLANT" statement k-0001 -m "$TEXT"
assert_match "$OUT" "$ID_RE" "stdout of statement"
printf '%s\n' "$OUT" | cmp -s - "$T_OUT" || fail "stdout of statement is not exactly one id line"
ID=$OUT
pass "the klant's statement succeeds and prints exactly its entry id"

c=$(git -C "$R" rev-parse main)
assert_eq "$(git -C "$R" rev-list --count main)" 2 "commits on main"
GNUPGHOME=$AUD git -C "$R" verify-commit "$c" >/dev/null 2>"$T_ERR" || fail "stock git verify-commit refuses the statement commit: $(cat "$T_ERR")"
assert_eq "$(signer_of "$R" "$c" "$AUD")" "$KLANT" "primary key that signed the statement"
raw=$(GNUPGHOME=$AUD git -C "$R" verify-commit --raw "$c" 2>&1)
validsig=$(awk '$2 == "VALIDSIG" { print $3 " " $NF }' <<<"$raw")
assert_eq "${validsig#* }" "$KLANT" "primary fingerprint in VALIDSIG"
pass "the statement commit is signed by the klant's key (stock git: VALIDSIG names the klant's primary key)"

assert_eq "$(git -C "$R" log -1 --format='%an <%ae>' "$c")" "klant <$KLANT>" "author"
assert_eq "$(git -C "$R" log -1 --format='%cn <%ce>' "$c")" "klant <$KLANT>" "committer"
assert_eq "$(git -C "$R" log -1 --format=%s "$c")" "statement $ID" "subject"
assert_eq "$(git -C "$R" log -1 --format='%(trailers:key=Kluis-Action,valueonly)' "$c" | sed '/^$/d')" statement "Kluis-Action"
assert_eq "$(git -C "$R" log -1 --format='%(trailers:key=Kluis-Entry,valueonly)' "$c" | sed '/^$/d')" "$ID" "Kluis-Entry"
assert_eq "$(git -C "$R" log -1 --format='%(trailers:key=Kluis-Role,valueonly)' "$c" | sed '/^$/d')" klant "Kluis-Role"
pass "author/committer 'klant <FPR>', subject 'statement ID', Kluis-Action: statement, Kluis-Role: klant"

check_pointer "$R" "main:entries/${ID:17:2}/$ID/body"
body=$REPLY
got=$(git -C "$R" cat-file blob "$body" | GNUPGHOME=$MEDEW_ONLY gpg --batch --quiet --decrypt 2>/dev/null) ||
	fail "the medewerker's key alone cannot decrypt the klant's statement"
assert_eq "$got" "$TEXT" "statement decrypted by the medewerker with stock gpg"
want=$(for f in "$KLANT" "$MEDEW" "$DIR" "$OPDR"; do enc_keyid "$f"; done | sort -u)
assert_eq "$(git -C "$R" cat-file blob "$body" | recipients_of)" "$want" "recipients of the statement"
assert_nowhere "$MARK"
pass "the statement is encrypted to the four readers (stock gpg decrypts it), its text nowhere in plaintext"

grep -q "$ID" "$T_WORK/hook.log" || fail "the post-add hook did not run for the statement"
assert_not_contains "$OUT" "HOOK" "stdout of statement"
pass "the post-add hook runs for a statement too, off stdout"

printf 'statement from a file %s\n' "$MARK" >"$T_WORK/s.txt"
expect_exit 0 k --as "$KLANT" statement k-0001 --file "$T_WORK/s.txt"
assert_match "$OUT" "$ID_RE" "statement --file"
echo "statement from stdin $MARK" >"$T_WORK/stdin.txt"
expect_exit 0 k --as "$KLANT" statement k-0001 - <"$T_WORK/stdin.txt"
assert_match "$OUT" "$ID_RE" "statement -"
check_pointer "$R" "main:entries/${OUT:17:2}/$OUT/body"
got=$(git -C "$R" cat-file blob "$REPLY" | GNUPGHOME=$MEDEW_ONLY gpg --batch --quiet --decrypt 2>/dev/null)
assert_eq "$got" "statement from stdin $MARK" "statement read from stdin"
pass "a statement from --file and from standard input"

verify_all_commits "$R" "$AUD" main
pass "every commit passes stock git verify-commit with public keys only"

# ---- refusals ----
MAIN0=$(ref_of "$R" main)
CONTENT0=$(ref_of "$R" refs/kluis/content)
unchanged() {
	assert_eq "$(ref_of "$R" main)" "$MAIN0" "head of main after: $1"
	assert_eq "$(ref_of "$R" refs/kluis/content)" "$CONTENT0" "refs/kluis/content after: $1"
	[ -z "$OUT" ] || fail "$1 printed on stdout: $OUT"
}
for who in MEDEW DIR OPDR OUTSIDER; do
	expect_exit 1 k --as "${!who}" statement k-0001 -m "not the klant $MARK"
	unchanged "statement by $who"
done
pass "statements by the medewerker, directie, opdrachtgever and an outsider are refused (exit 1), nothing written"

expect_exit 2 k --as "$KLANT" statement k-0001 --kind note -m "x"
unchanged "statement --kind"
expect_exit 2 k --as "$KLANT" statement k-0001 --file "$T_WORK/s.txt" --file "$T_WORK/s.txt"
unchanged "statement with two files"
expect_exit 2 k --as "$KLANT" statement k-0001
unchanged "statement without text"
expect_exit 2 k --as "$KLANT" statement k-0404 -m "x"
unchanged "statement to an unknown dossier"
expect_exit 1,2 k --as "$KLANT" add k-0001 --kind statement -m "x"
unchanged "add --kind statement by the klant"
expect_exit 2 k --as "$MEDEW" add k-0001 --kind statement -m "x"
unchanged "add --kind statement by the medewerker"
pass "usage errors (--kind, two files, no text, unknown dossier, add --kind statement) exit 2, nothing written"
assert_nowhere "$MARK"
