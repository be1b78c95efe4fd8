#!/usr/bin/env bash
# e2e/add.sh - kluis add: output, encryption at rest, pointers and the content ref, signed
# history, stock-gpg round trips, the post-add hook, and every refusal leaving the dossier as
# it was. Witnesses: stock git and gpg.
set -euo pipefail
. "$KLUIS_TEST_DIR/lib.sh"

init_dossier k-0001
R=$(repo_of k-0001)
pub_home
AUD=$REPLY
secret_home "$KLANT"
KLANT_ONLY=$REPLY
secret_home "$OUTSIDER"
OUTSIDER_ONLY=$REPLY

STAMP=$T_WORK/stamp
: >"$STAMP"
MARK="note-marker-$$-$RANDOM$RANDOM"
TITLE_MARK="title-marker-$$-$RANDOM"
WHO_MARK="derde-marker-$$-$RANDOM"
NAME_MARK="filename-marker-$$-$RANDOM"
NOTE="Gesprek met $MARK over re-integratie; é ü ∑ 😀 and a tab	here"

# the hook records its arguments and writes to its stdout, which must not reach ours
mkdir -p "$KLUIS_VAULT/hooks"
cat >"$KLUIS_VAULT/hooks/post-add" <<EOF
#!/bin/sh
echo "HOOK-STDOUT-POLLUTION \$*"
printf '%s\n' "\$*" >>"$T_WORK/hook.log"
EOF
chmod 700 "$KLUIS_VAULT/hooks/post-add"

# ---- a note ----
expect_exit 0 k --as "$MEDEW" add k-0001 --kind contact --origin "derde:$WHO_MARK" --basis contract --title "$TITLE_MARK" -m "$NOTE"
assert_match "$OUT" "$ID_RE" "stdout of add"
printf '%s\n' "$OUT" | cmp -s - "$T_OUT" || fail "stdout of add is not exactly one id line: $(od -c "$T_OUT" | head)"
NOTE_ID=$OUT
assert_not_contains "$OUT" "HOOK-STDOUT" "stdout of add"
pass "add -m prints exactly the new entry id on one line, nothing else (hook output stays off stdout)"

[ -s "$T_WORK/hook.log" ] || fail "the post-add hook did not run"
hook_args=$(tail -1 "$T_WORK/hook.log")
assert_eq "${hook_args%% *}" k-0001 "first argument of the post-add hook"
assert_contains "$hook_args" "$NOTE_ID" "post-add hook arguments"
pass "the post-add hook ran with the dossier id and the entry id"

assert_eq "$(git -C "$R" rev-list --count main)" 2 "commits on main"
msg=$(git -C "$R" log -1 --format=%B main)
assert_eq "$(head -1 <<<"$msg")" "add $NOTE_ID" "subject"
assert_eq "$(git -C "$R" log -1 --format='%(trailers:key=Kluis-Action,valueonly)' main | sed '/^$/d')" add "Kluis-Action"
assert_eq "$(git -C "$R" log -1 --format='%(trailers:key=Kluis-Entry,valueonly)' main | sed '/^$/d')" "$NOTE_ID" "Kluis-Entry"
assert_eq "$(git -C "$R" log -1 --format='%(trailers:key=Kluis-Kind,valueonly)' main | sed '/^$/d')" contact "Kluis-Kind"
assert_eq "$(git -C "$R" log -1 --format='%(trailers:key=Kluis-Role,valueonly)' main | sed '/^$/d')" medewerker "Kluis-Role"
assert_eq "$(git -C "$R" log -1 --format='%an <%ae>' main)" "medewerker <$MEDEW>" "author"
pass "commit: subject 'add ID', trailers Action/Entry/Kind/Role, author 'medewerker <FPR>'"

shard=${NOTE_ID:17:2}
tree=$(git -C "$R" ls-tree -r --name-only main)
grep -qx "entries/$shard/$NOTE_ID/meta" <<<"$tree" || fail "no entries/$shard/$NOTE_ID/meta in: $tree"
grep -qx "entries/$shard/$NOTE_ID/body" <<<"$tree" || fail "no entries/$shard/$NOTE_ID/body in: $tree"
check_pointer "$R" "main:entries/$shard/$NOTE_ID/body"
NOTE_BODY=$REPLY
check_pointer "$R" "main:entries/$shard/$NOTE_ID/meta"
NOTE_META=$REPLY
[ "$NOTE_BODY" != "$NOTE_META" ] || fail "meta and body point at the same object"
pass "tree holds entries/XX/ID/{meta,body} pointers; ciphertext hangs off refs/kluis/content only, sha256 and size match"

assert_nowhere "$MARK"
assert_nowhere "$TITLE_MARK"
assert_nowhere "$WHO_MARK"
pass "the note text, its title and its origin are in no git object, ref, message, file name or vault file"

got=$(git -C "$R" cat-file blob "$NOTE_BODY" | GNUPGHOME=$KLANT_ONLY gpg --batch --quiet --decrypt 2>/dev/null) ||
	fail "stock gpg with the klant's key alone cannot decrypt the body"
assert_eq "$got" "$NOTE" "body decrypted by stock gpg"
meta=$(git -C "$R" cat-file blob "$NOTE_META" | GNUPGHOME=$KLANT_ONLY gpg --batch --quiet --decrypt 2>/dev/null) ||
	fail "stock gpg with the klant's key alone cannot decrypt the metadata"
META=$meta python3 -c '
import json, os, sys
m = json.loads(os.environ["META"])
assert m["title"] == sys.argv[1], m
assert m["origin"] == "derde:" + sys.argv[2], m
assert m["kind"] == "contact" and m["basis"] == "contract", m
' "$TITLE_MARK" "$WHO_MARK" || fail "metadata JSON is not as expected: $meta"
pass "stock gpg with only the klant's secret key decrypts body (original bytes) and metadata (JSON with title, origin)"

want=$(for f in "$KLANT" "$MEDEW" "$DIR" "$OPDR"; do enc_keyid "$f"; done | sort -u)
assert_eq "$(git -C "$R" cat-file blob "$NOTE_BODY" | recipients_of)" "$want" "recipients of the body"
assert_eq "$(git -C "$R" cat-file blob "$NOTE_META" | recipients_of)" "$want" "recipients of the metadata"
pass "body and metadata are encrypted to exactly the four readers' keys"

if out=$(git -C "$R" cat-file blob "$NOTE_BODY" | GNUPGHOME=$OUTSIDER_ONLY gpg --batch --quiet --decrypt 2>/dev/null); then
	fail "the outsider's secret key decrypts the body"
fi
assert_not_contains "$out" "$MARK" "outsider's decryption"
pass "the outsider's secret key cannot decrypt the body with gpg"

# ---- a binary document, round trip through stock gpg and kluis show --out ----
BIN="$T_WORK/scan-$NAME_MARK.bin"
head -c 102400 /dev/urandom >"$BIN"
expect_exit 0 k --as "$DIR" add k-0001 --file "$BIN"
assert_match "$OUT" "$ID_RE" "stdout of add --file"
BIN_ID=$OUT
check_pointer "$R" "main:entries/${BIN_ID:17:2}/$BIN_ID/body"
git -C "$R" cat-file blob "$REPLY" | GNUPGHOME=$KLANT_ONLY gpg --batch --quiet --decrypt >"$T_WORK/bin.gpg-out" 2>/dev/null ||
	fail "stock gpg cannot decrypt the binary document"
cmp -s "$BIN" "$T_WORK/bin.gpg-out" || fail "stock gpg's decryption differs from the original file"
expect_exit 0 k --as "$KLANT" show k-0001 "$BIN_ID" --out "$T_WORK/bin.show-out"
cmp -s "$BIN" "$T_WORK/bin.show-out" || fail "kluis show --out differs from the original file"
assert_eq "$(git -C "$R" log -1 --format='%an <%ae>' main)" "directie <$DIR>" "author of the directie's add"
assert_eq "$(git -C "$R" log -1 --format='%(trailers:key=Kluis-Kind,valueonly)' main | sed '/^$/d')" document "Kluis-Kind of a file"
assert_nowhere "$NAME_MARK"
pass "a 100 KB binary file round-trips byte for byte via stock gpg and via kluis show --out; its name is not in plaintext"

# ---- several files, one commit ----
for i in 1 2 3; do printf 'file %s %s\n' "$i" "$MARK" >"$T_WORK/f$i.txt"; done
before=$(git -C "$R" rev-list --count main)
expect_exit 0 k --as "$MEDEW" add k-0001 --kind report --file "$T_WORK/f1.txt" --file "$T_WORK/f2.txt" --file "$T_WORK/f3.txt"
mapfile -t MULTI <"$T_OUT"
assert_eq "${#MULTI[@]}" 3 "number of id lines for three --file"
for id in "${MULTI[@]}"; do assert_match "$id" "$ID_RE" "id line"; done
assert_eq "$(printf '%s\n' "${MULTI[@]}" | sort -u | wc -l)" 3 "distinct ids"
assert_eq "$(git -C "$R" rev-list --count main)" $((before + 1)) "commits added by one add of three files"
trailer_ids=$(git -C "$R" log -1 --format='%(trailers:key=Kluis-Entry,valueonly)' main | sed '/^$/d')
for i in 0 1 2; do
	id=${MULTI[i]}
	grep -qx "$id" <<<"$trailer_ids" || fail "Kluis-Entry trailers lack $id: $trailer_ids"
	check_pointer "$R" "main:entries/${id:17:2}/$id/body"
	got=$(git -C "$R" cat-file blob "$REPLY" | GNUPGHOME=$KLANT_ONLY gpg --batch --quiet --decrypt 2>/dev/null)
	assert_eq "$got" "$(cat "$T_WORK/f$((i + 1)).txt")" "decrypted body of $id (order of ids = order of --file)"
done
hook_args=$(tail -1 "$T_WORK/hook.log")
for id in "${MULTI[@]}"; do assert_contains "$hook_args" "$id" "post-add hook arguments"; done
pass "three --file make one commit, three ids on stdout in order, each with its own pointers; the hook gets them all"

# ---- standard input ----
printf 'from stdin %s\n\000binary\n' "$MARK" >"$T_WORK/stdin.dat"
expect_exit 0 k --as "$MEDEW" add k-0001 - <"$T_WORK/stdin.dat"
assert_match "$OUT" "$ID_RE" "stdout of add -"
STDIN_ID=$OUT
check_pointer "$R" "main:entries/${STDIN_ID:17:2}/$STDIN_ID/body"
git -C "$R" cat-file blob "$REPLY" | GNUPGHOME=$KLANT_ONLY gpg --batch --quiet --decrypt >"$T_WORK/stdin.out" 2>/dev/null
cmp -s "$T_WORK/stdin.dat" "$T_WORK/stdin.out" || fail "the entry read from stdin differs from its input"
pass "'-' reads the entry from standard input, byte for byte"

assert_nowhere "$MARK"
verify_all_commits "$R" "$AUD" main
GNUPGHOME=$AUD git -C "$R" verify-commit "$(git -C "$R" rev-list -1 main)" 2>&1 | grep_q "Good signature" || fail "no 'Good signature'"
assert_eq "$(git -C "$R" rev-list --count --merges main)" 0 "merge commits on main"
git -C "$R" fsck --strict --no-dangling >/dev/null 2>"$T_ERR" || fail "stock git fsck reports errors"
pass "every commit on main passes stock git verify-commit with public keys only; history linear; git fsck clean"

# ---- refusals: exit code, one-line message, and nothing written ----
MAIN0=$(ref_of "$R" main)
CONTENT0=$(ref_of "$R" refs/kluis/content)
NOBJ0=$(git -C "$R" rev-list --objects refs/kluis/content | wc -l)
HOOKS0=$(wc -l <"$T_WORK/hook.log")
unchanged() {
	assert_eq "$(ref_of "$R" main)" "$MAIN0" "head of main after: $1"
	assert_eq "$(ref_of "$R" refs/kluis/content)" "$CONTENT0" "refs/kluis/content after: $1"
	assert_eq "$(git -C "$R" rev-list --objects refs/kluis/content | wc -l)" "$NOBJ0" "objects on refs/kluis/content after: $1"
	assert_eq "$(wc -l <"$T_WORK/hook.log")" "$HOOKS0" "post-add hook runs after: $1"
	[ -z "$OUT" ] || fail "$1 printed on stdout: $OUT"
}

expect_exit 1 k --as "$KLANT" add k-0001 -m "klant note $MARK"
assert_contains "$ERR" "klant" "refusal of the klant"
unchanged "add by the klant"
pass "the klant may not add (exit 1, the message names the role), nothing written"

expect_exit 1 k --as "$OUTSIDER" add k-0001 -m "outsider $MARK"
unchanged "add by the outsider"
pass "a key with no role may not add (exit 1), nothing written"

expect_exit 1 k --as "$OPDR" add k-0001 -m "opdrachtgever $MARK"
assert_contains "$ERR" "opdrachtgever" "refusal of the opdrachtgever"
unchanged "add by the opdrachtgever"
pass "the opdrachtgever may not add (exit 1), nothing written"

expect_exit 2 k --as "$MEDEW" add k-0099 -m "x"
[ ! -e "$(repo_of k-0099)" ] || fail "add to an unknown dossier created it"
unchanged "add to an unknown dossier"
pass "add to an unknown dossier exits 2"

expect_exit 2 k --as "$MEDEW" add k-0001 --file "$T_WORK/does-not-exist"
unchanged "add of a missing file"
expect_exit 2 k --as "$MEDEW" add k-0001 --file "$T_WORK/f1.txt" --file "$T_WORK/does-not-exist"
unchanged "add of one good and one missing file"
pass "a missing file exits 2 (also after a good one), nothing written"

: >"$T_WORK/empty"
expect_exit 2 k --as "$MEDEW" add k-0001 --file "$T_WORK/empty"
unchanged "add of an empty file"
expect_exit 2 k --as "$MEDEW" add k-0001 --file "$T_WORK"
unchanged "add of a directory"
expect_exit 2 k --as "$MEDEW" add k-0001 -m ''
unchanged "add of an empty text"
pass "an empty file, a directory or an empty text exits 2, nothing written"

expect_exit 2 k --as "$MEDEW" add k-0001 -m "x" --file "$T_WORK/f1.txt"
unchanged "-m and --file"
expect_exit 2 k --as "$MEDEW" add k-0001 -m "x" - </dev/null
unchanged "-m and -"
expect_exit 2 k --as "$MEDEW" add k-0001
unchanged "no content"
expect_exit 2 k --as "$MEDEW" add -m x
unchanged "no dossier"
pass "both -m and --file (or -), or neither, or no dossier: exit 2, nothing written"

expect_exit 2 k --as "$MEDEW" add k-0001 --kind gossip -m "x"
unchanged "bad --kind"
expect_exit 2 k --as "$MEDEW" add k-0001 --origin buurman -m "x"
unchanged "bad --origin"
expect_exit 2 k --as "$MEDEW" add k-0001 --origin derde: -m "x"
unchanged "empty derde:"
expect_exit 2 k --as "$MEDEW" add k-0001 --basis gut-feeling -m "x"
unchanged "bad --basis"
expect_exit 2 k --as "$MEDEW" add k-0001 --special astrology -m "x"
unchanged "bad --special"
expect_exit 2 k --as "$MEDEW" add k-0001 --kind note --kind plan -m "x"
unchanged "--kind twice"
pass "bad --kind, --origin, --basis, --special or a repeated option: exit 2, nothing written"

expect_exit 1 k --as "$MEDEW" add k-0001 --special health -m "medical $MARK"
assert_contains "$ERR" "consent" "refusal of a special category"
unchanged "--special health without consent"
pass "--special health without a recorded consent is refused (exit 1), nothing written"

assert_nowhere "$MARK"
assert_no_plaintext_since "$STAMP" "$MARK"
pass "no add, refused or not, left the note text in the vault, /tmp or /dev/shm"
