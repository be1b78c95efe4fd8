#!/usr/bin/env bash
# e2e/show_log.sh - kluis show (decrypt, every read logged as a signed access record), kluis
# log (every entry and read, newest last, no decryption, works for an auditor with public keys
# only) and kluis list. Witnesses: stock git and gpg.
set -euo pipefail
. "$KLUIS_TEST_DIR/lib.sh"

init_dossier k-0001
init_dossier k-0002
R=$(repo_of k-0001)
pub_home
AUD=$REPLY
MARK="show-marker-$$-$RANDOM$RANDOM"
NOTE="Voortgang: $MARK"
stamp=$T_WORK/stamp
: >"$stamp"

A=$(k --as "$MEDEW" add k-0001 --kind note -m "$NOTE")
assert_match "$A" "$ID_RE" "id of the note"
assert_eq "$(ref_of "$R" refs/kluis/access)" none "refs/kluis/access before any read"
MAIN_AT_READ=$(git -C "$R" rev-parse main)

# ---- show ----
expect_exit 0 k --as "$KLANT" show k-0001 "$A"
printf '%s' "$NOTE" | cmp -s - "$T_OUT" || fail "show's stdout is not exactly the body: $(od -c "$T_OUT" | head -5)"
assert_not_contains "$(cat "$T_ERR")" "$MARK" "stderr of show"
pass "show as the klant prints exactly the body on stdout (summary on stderr)"

assert_eq "$(git -C "$R" rev-parse main)" "$MAIN_AT_READ" "main after a read"
acc=$(ref_of "$R" refs/kluis/access)
[ "$acc" != none ] || fail "no refs/kluis/access after a read"
assert_eq "$(git -C "$R" rev-list --count refs/kluis/access)" 1 "access records after one read"
amsg=$(git -C "$R" log -1 --format=%B refs/kluis/access)
trailer() { git -C "$R" log -1 --format="%(trailers:key=$1,valueonly)" "${2:-refs/kluis/access}" | sed '/^$/d'; }
assert_eq "$(trailer Kluis-Action)" access "Kluis-Action of the access record"
assert_eq "$(trailer Kluis-Entry)" "$A" "Kluis-Entry of the access record"
assert_eq "$(trailer Kluis-Purpose)" begeleiding "default Kluis-Purpose"
assert_eq "$(trailer Kluis-Role)" klant "Kluis-Role of the access record"
assert_eq "$(trailer Kluis-Head)" "$MAIN_AT_READ" "Kluis-Head of the access record"
assert_eq "$(git -C "$R" log -1 --format='%an <%ae>' refs/kluis/access)" "klant <$KLANT>" "author of the access record"
assert_not_contains "$amsg" "$MARK" "access record"
GNUPGHOME=$AUD git -C "$R" verify-commit refs/kluis/access >/dev/null 2>"$T_ERR" ||
	fail "stock git verify-commit refuses the access record: $(cat "$T_ERR")"
assert_eq "$(signer_of "$R" refs/kluis/access "$AUD")" "$KLANT" "signer of the access record"
pass "the read is a signed record on refs/kluis/access (Action access, Entry, Purpose, Role, Head), verified by stock git"

expect_exit 0 k --as "$DIR" show k-0001 "$A" --purpose rapportage
assert_eq "$OUT" "$NOTE" "body shown to the directie"
assert_eq "$(trailer Kluis-Purpose)" rapportage "Kluis-Purpose"
assert_eq "$(git -C "$R" rev-list --count refs/kluis/access)" 2 "access records"
assert_eq "$(git -C "$R" rev-list --count --merges refs/kluis/access)" 0 "merges on the access chain"
assert_eq "$(git -C "$R" rev-parse refs/kluis/access~1)" "$acc" "parent of the second access record"
expect_exit 0 k --as "$OPDR" show k-0001 "$A" --purpose inzage
assert_eq "$OUT" "$NOTE" "body shown to the opdrachtgever"
verify_all_commits "$R" "$AUD" refs/kluis/access
pass "--purpose is recorded; the access chain is linear, every record verified by stock git"

ACC0=$(ref_of "$R" refs/kluis/access)
for bad in 'Bad Purpose' 'omdat ik het wil weten' "$(printf 'x%.0s' {1..300})" ''; do
	expect_exit 2 k --as "$KLANT" show k-0001 "$A" --purpose "$bad"
	[ -z "$OUT" ] || fail "a refused show printed the body"
done
assert_eq "$(ref_of "$R" refs/kluis/access)" "$ACC0" "access ref after bad --purpose"
pass "--purpose that is not a short code exits 2, nothing shown, nothing recorded"

# ---- --out ----
expect_exit 0 bash -c 'umask 000; exec "$@"' _ "$KLUIS" --as "$KLANT" show k-0001 "$A" --out "$T_WORK/out.txt"
[ -z "$OUT" ] || fail "show --out printed on stdout: $OUT"
assert_eq "$(stat -c %a "$T_WORK/out.txt")" 600 "mode of the --out file (under umask 000)"
assert_eq "$(cat "$T_WORK/out.txt")" "$NOTE" "--out content"
pass "--out FILE creates a 0600 file (even under umask 000) holding the body"

ACC0=$(ref_of "$R" refs/kluis/access)
printf 'precious original\n' >"$T_WORK/existing"
expect_exit 2 k --as "$KLANT" show k-0001 "$A" --out "$T_WORK/existing"
assert_eq "$(cat "$T_WORK/existing")" "precious original" "existing file after a refused --out"
printf 'symlink target\n' >"$T_WORK/target"
ln -s "$T_WORK/target" "$T_WORK/link"
expect_exit 2 k --as "$KLANT" show k-0001 "$A" --out "$T_WORK/link"
assert_eq "$(cat "$T_WORK/target")" "symlink target" "symlink target after a refused --out"
ln -s "$T_WORK/dangling-target" "$T_WORK/dangling"
expect_exit 2 k --as "$KLANT" show k-0001 "$A" --out "$T_WORK/dangling"
[ ! -e "$T_WORK/dangling-target" ] || fail "show --out followed a dangling symlink"
assert_eq "$(ref_of "$R" refs/kluis/access)" "$ACC0" "access ref after refused --out"
pass "--out never overwrites an existing file or follows a symlink (exit 2, original untouched, no read recorded)"

# ---- refusals ----
ACC0=$(ref_of "$R" refs/kluis/access)
NACC0=$(git -C "$R" rev-list --count refs/kluis/access)
expect_exit 1 k --as "$OUTSIDER" show k-0001 "$A"
[ -z "$OUT" ] || fail "the outsider's show printed something"
assert_not_contains "$ERR" "$MARK" "outsider's stderr"
assert_eq "$(ref_of "$R" refs/kluis/access)" "$ACC0" "access ref after the outsider's show"
assert_eq "$(git -C "$R" rev-list --count refs/kluis/access)" "$NACC0" "access records after the outsider's show"
pass "the outsider's show is refused (exit 1) and no access record is added"

expect_exit 2 k --as "$KLANT" show k-0001 20200101T000000Z-0000
expect_exit 2 k --as "$KLANT" show k-0001 not-an-entry
expect_exit 2 k --as "$KLANT" show k-0404 "$A"
expect_exit 2 k --as "$KLANT" show k-0001
expect_exit 2 k --as "$KLANT" show k-0002 "$A"
assert_eq "$(ref_of "$R" refs/kluis/access)" "$ACC0" "access ref after refused shows"
pass "unknown or malformed entry id, unknown dossier, entry of another dossier: exit 2, nothing recorded"

assert_no_plaintext_since "$stamp" "$MARK"
pass "no plaintext copy in /tmp or /dev/shm besides the --out file"

expect_exit 0 k --as "$MEDEW" --json show k-0001 "$A"
python3 -c '
import json, sys
d = json.loads(sys.argv[1])
assert d["body"] == sys.argv[2], d
assert d["meta"]["kind"] == "note", d
' "$OUT" "$NOTE" || fail "show --json: $OUT"
pass "show --json gives the metadata and the body"

# ---- log: every event, in order, newest last; reads included ----
# start at the top of a second so all of this falls within one: order must not hang on the clock
ns=$(date +%N)
sleep "0.$(printf '%09d' $((1000000000 - 10#$ns)))"
B=$(k --as "$MEDEW" add k-0001 --kind plan -m "plan $MARK")
k --as "$KLANT" show k-0001 "$B" --purpose inzage >/dev/null 2>&1 || fail "show of B failed"
C=$(k --as "$DIR" add k-0001 --kind report -m "report $MARK")
S=$(k --as "$KLANT" statement k-0001 -m "statement $MARK")
k --as "$MEDEW" show k-0001 "$S" >/dev/null 2>&1 || fail "show of the statement failed"

WANT=$(printf '%s\n' "init -" "add $A" "access $A" "access $A" "access $A" "access $A" "access $A" \
	"add $B" "access $B" "add $C" "statement $S" "access $S")
NACC=$(git -C "$R" rev-list --count refs/kluis/access)
MAIN=$(git -C "$R" rev-parse main)

expect_exit 0 env GNUPGHOME="$AUD" "$KLUIS" log k-0001
TEXT_LOG=$OUT
expect_exit 0 env GNUPGHOME="$AUD" "$KLUIS" log k-0001 --json
JSON_LOG=$OUT
got=$(python3 -c '
import json, sys
d = json.loads(sys.argv[1])
assert d["dossier"] == "k-0001", d
for e in d["events"]:
    print(e["action"], " ".join(e["entries"]) or "-")
' "$JSON_LOG") || fail "log --json does not parse: $JSON_LOG"
for id in "$A" "$B" "$C" "$S"; do
	assert_contains "$TEXT_LOG" "$id" "kluis log"
	grep -Eqx "(add|statement) $id" <<<"$got" || fail "log --json lacks the addition of $id: $got"
done
pass "log and log --json (valid JSON) run for an auditor with public keys only and list every entry"

python3 -c '
import json, sys
d = json.loads(sys.argv[1])
acc = [e for e in d["events"] if e["action"] == "access"]
assert all(e.get("purpose") for e in acc), acc
assert [e["purpose"] for e in acc][-2:] == ["inzage", "begeleiding"], acc
adds = {e["entries"][0]: e for e in d["events"] if e["action"] in ("add", "statement")}
assert adds[sys.argv[2]]["kind"] == "plan" and adds[sys.argv[3]]["kind"] == "report", adds
assert adds[sys.argv[4]]["role"] == "klant" and adds[sys.argv[4]]["key"] == sys.argv[5], adds
' "$JSON_LOG" "$B" "$C" "$S" "$KLANT" || fail "log --json lacks kinds, roles, keys or purposes: $JSON_LOG"
pass "log --json gives kind, role, key of each entry and the purpose of each read"

if [ "$got" = "$WANT" ]; then
	pass "log lists every event in the order it happened, newest last, reads included"
else
	fail_soft "kluis log --json does not list the events in the order they happened (oldest first, newest last,
each read where it happened; Kluis-Head says which main commit it followed).
want:
$WANT
got:
$got"
fi
tl=$(awk 'NR > 1 { print $2, $3 }' <<<"$TEXT_LOG" | sed 's/ -$/ -/')
if [ "$tl" = "$WANT" ]; then
	pass "kluis log (text) lists the events in the order they happened"
else
	fail_soft "kluis log (text) does not list the events in the order they happened; got:
$tl"
fi

assert_eq "$(git -C "$R" rev-list --count refs/kluis/access)" "$NACC" "access records after log"
assert_eq "$(git -C "$R" rev-parse main)" "$MAIN" "main after log"
[ -z "$(gpg --homedir "$AUD" --batch --list-secret-keys --with-colons 2>/dev/null)" ] || fail "the auditor home has a secret key"
pass "log decrypts nothing and records nothing (it ran with no secret key at all)"

expect_exit 2 env GNUPGHOME="$AUD" "$KLUIS" log k-0404
expect_exit 2 env GNUPGHOME="$AUD" "$KLUIS" log
pass "log of an unknown dossier or without a dossier exits 2"

# ---- list ----
expect_exit 0 env GNUPGHOME="$AUD" "$KLUIS" list
grep -Eq '^k-0001[[:space:]]+open[[:space:]]+4[[:space:]]' <<<"$OUT" || fail "list does not show k-0001 open with 4 entries: $OUT"
grep -Eq '^k-0002[[:space:]]+open[[:space:]]+0[[:space:]]' <<<"$OUT" || fail "list does not show k-0002 open with 0 entries: $OUT"
assert_not_contains "$OUT" "$MARK" "list"
expect_exit 0 env GNUPGHOME="$AUD" "$KLUIS" list --json
python3 -c '
import json, sys
d = {x["dossier"]: x for x in json.loads(sys.argv[1])["dossiers"]}
assert sorted(d) == ["k-0001", "k-0002"], d
assert d["k-0001"]["entries"] == 4 and d["k-0001"]["state"] == "open", d
assert d["k-0002"]["entries"] == 0, d
assert d["k-0001"]["last_change"], d
' "$OUT" || fail "list --json: $OUT"
pass "list and list --json show each dossier with its state and entry count"

rm -rf "$T_WORK/nowhere"
expect_exit 2 env KLUIS_VAULT="$T_WORK/nowhere" "$KLUIS" list
[ ! -e "$T_WORK/nowhere" ] || fail "list created a vault"
pass "list of a vault that does not exist exits 2 and creates nothing"

# ---- a correction's link, in log and show ----
C=$(k --as "$MEDEW" correct k-0001 "$A" -m "de verbeterde notitie")
expect_exit 0 k --as "$DIR" log k-0001 --entry "$C"
assert_match "$OUT" "correct +$C .* corrects=$A" "log shows what a correction corrects"
expect_exit 0 k --as "$DIR" log k-0001 --entry "$C" --json
assert_eq "$(jq -r '.events[0].supersedes' <<<"$OUT")" "$A" "log --json supersedes"
shown=$(script -qec "$(printf '%q ' "$KLUIS" --as "$KLANT" show k-0001 "$C")" /dev/null | tr -d '\r')
assert_contains "$shown" "supersedes: $A" "show on a terminal names the entry it corrects"
pass "a correction's link shows in log (corrects=ENTRY, supersedes in --json) and in show, as correct --help says"
