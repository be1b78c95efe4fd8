#!/usr/bin/env bash
# e2e/request.sh - kluis request: the register of the klant's requests (inzage P10.2,
# correction and erasure P11.3), each with its four-week deadline from receipt; `list` marks
# the overdue ones and warns on stderr; `done` records the answer. The register is made of
# ordinary signed, encrypted entries (kind `request`): the klant sees them in the log, the
# note and the request's type are in no commit message or object in plaintext, and listing
# it is a read on record.
set -euo pipefail
. "$KLUIS_TEST_DIR/lib.sh"

D=k-0001
init_dossier "$D"
R=$(repo_of "$D")
pub_home
AUD=$REPLY
NOTE="antwoord-marker-$$-$RANDOM$RANDOM"

# ---- add ----
RECEIVED=$(date -u -d '40 days ago' +%F)          # four weeks have passed: overdue
DUE=$(date -u -d "$RECEIVED + 28 days" +%F)
expect_exit 0 k --as "$MEDEW" request "$D" add --type verwijdering --received "$RECEIVED"
assert_match "$OUT" "$ID_RE" "stdout of request add"
OLD=$OUT
before=$(date -u +%s)
expect_exit 0 k --as "$MEDEW" request "$D" add --type correctie --json
after=$(date -u +%s)
NEW=$(jq -r .request <<<"$OUT")
assert_match "$NEW" "$ID_RE" "request id in the JSON"
want=$(jq -r .deadline <<<"$OUT" | cut -c1-10)
# received now (between before and after, which may straddle midnight), due 28 days later
[ "$want" = "$(date -u -d "@$((before + 28 * 86400))" +%F)" ] || [ "$want" = "$(date -u -d "@$((after + 28 * 86400))" +%F)" ] ||
	fail "deadline of a request received today: $want"
pass "request add prints the new request's id (--json: id and the deadline, four weeks after receipt)"

c=$(git -C "$R" rev-parse main)
assert_eq "$(git -C "$R" log -1 --format='%(trailers:key=Kluis-Kind,valueonly)' "$c" | sed '/^$/d')" request "Kluis-Kind"
assert_eq "$(git -C "$R" log -1 --format='%(trailers:key=Kluis-Role,valueonly)' "$c" | sed '/^$/d')" medewerker "Kluis-Role"
if git -C "$R" log --format='%B' main | grep -q -i -e verwijdering -e correctie; then fail "a request's type is in a commit message"; fi
expect_exit 0 k --as "$KLANT" log "$D"
assert_contains "$OUT" "$OLD" "the klant's log"
assert_contains "$OUT" "$NEW" "the klant's log"
pass "each request is a signed entry of kind 'request' by the medewerker, in the klant's log; its type is not in the commit"

# ---- list: deadlines, overdue, the warning ----
expect_exit 0 k --as "$MEDEW" request "$D" list
line_old=$(grep "^$OLD " <<<"$OUT") || fail "list has no line for $OLD: $OUT"
line_new=$(grep "^$NEW " <<<"$OUT") || fail "list has no line for $NEW: $OUT"
read -r _ type rec dl status <<<"$line_old"
assert_eq "$type $rec $dl $status" "verwijdering $RECEIVED $DUE overdue" "the request received on $RECEIVED"
read -r _ type _ dl status <<<"$line_new"
assert_eq "$type $dl $status" "correctie $want open" "the request received today"
assert_eq "$ERR" "kluis: warning: 1 request is past the four-week deadline (P10.2, P11.3)" "stderr of list"
pass "list: type, receipt, deadline (receipt + 28 days) and status per request; one overdue, and a warning that says so"

expect_exit 0 k --as "$MEDEW" request "$D" list --json
assert_eq "$(jq -r --arg id "$OLD" '.requests[] | select(.id == $id) | .status' <<<"$OUT")" overdue "JSON status of $OLD"
assert_eq "$(jq -r --arg id "$NEW" '.requests[] | select(.id == $id) | .status' <<<"$OUT")" open "JSON status of $NEW"
assert_eq "$(jq -r '.requests | length' <<<"$OUT")" 2 "requests in the JSON"
pass "list --json: the same requests and statuses"

# ---- done ----
expect_exit 0 k --as "$MEDEW" request "$D" done "$OLD" -m "$NOTE"
assert_match "$OUT" "$ID_RE" "stdout of request done"
expect_exit 0 k --as "$KLANT" request "$D" list
read -r _ _ _ _ status <<<"$(grep "^$OLD " <<<"$OUT")"
assert_eq "$status" done "status of $OLD after done"
assert_eq "$ERR" "" "stderr of list once the overdue request is answered"
pass "request done: the answered request is listed as done (the klant lists the register too), and the warning is gone"

# ---- reads on record, refusals, usage ----
expect_exit 0 env GNUPGHOME="$AUD" "$KLUIS" audit "$D" --json
reads=$(jq '[.. | objects | select(.action? == "access" and .purpose? == "register")] | length' <<<"$OUT")
[ "$reads" -ge 3 ] || fail "audit shows $reads reads with purpose 'register', want 3 (two lists by the medewerker, one by the klant): $OUT"
pass "every listing of the register is a read on record (audit: purpose 'register')"

# the klant files his own requests, any of the five kinds, and sees them in the log
for t in inzage correctie verwijdering bezwaar beperking; do
	expect_exit 0 k --as "$KLANT" request "$D" add --type "$t"
	assert_match "$OUT" "$ID_RE" "the klant's own request ($t)"
	OWN=$OUT
done
expect_exit 0 k --as "$KLANT" log "$D" --entry "$OWN"
assert_match "$OUT" "add +$OWN +request +klant" "the klant's request in the log, by the klant"
expect_exit 0 k --as "$MEDEW" request "$D" list
assert_contains "$OUT" "beperking" "the medewerker sees the klant's request in the register"
expect_exit 0 env GNUPGHOME="$AUD" "$KLUIS" verify "$D" --full
pass "the klant files requests himself (inzage, correctie, verwijdering, bezwaar, beperking); the register and the log show them; the history verifies"

n=$(git -C "$R" rev-list --count main)
expect_exit 1 k --as "$KLANT" add "$D" -m "een notitie van de klant"
assert_contains "$ERR" "kluis statement" "the klant's plain add points to statement"
expect_exit 1 k --as "$KLANT" add "$D" --kind plan -m "een plan"
expect_exit 2 k --as "$MEDEW" request "$D" add
expect_exit 2 k --as "$MEDEW" request "$D" add --type klacht
expect_exit 2 k --as "$MEDEW" request "$D" add --type inzage --received 2026-13-45
expect_exit 2 k --as "$MEDEW" request "$D" done not-an-id
expect_exit 2 k --as "$MEDEW" request "$D" frobnicate
assert_eq "$(git -C "$R" rev-list --count main)" "$n" "commits after the refused requests"
pass "refused: the klant adding anything but a request (exit 1); no or an unknown --type, a bad date, a bad id, an unknown verb (exit 2); nothing written"

expect_exit 0 env GNUPGHOME="$AUD" "$KLUIS" verify "$D"
assert_nowhere "$NOTE"
pass "the dossier verifies with public keys only, and the answer's note is nowhere in plaintext"
