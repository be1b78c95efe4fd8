#!/usr/bin/env bash
# e2e/breach.sh - kluis breach: the vault's data-breach register (P15). Anyone on the staff
# records a breach the moment it is found; the record (description, dossiers) is encrypted
# to the directie (the vault's trust root) and signed; `list` shows the 72-hour deadline for
# reporting to the Autoriteit Persoonsgegevens and warns about breaches past it; only the
# directie records that a breach was reported, once, and only a breach the register holds.
set -euo pipefail
. "$KLUIS_TEST_DIR/lib.sh"

init_dossier k-0001          # by the directie: the vault's trust root is the directie's key
B=$KLUIS_VAULT/breaches.git
pub_home
AUD=$REPLY
secret_home "$DIR"
DIR_ONLY=$REPLY
actor_home "$MEDEW"
MEDEW_HOME=$REPLY
MARK="breach-marker-$$-$RANDOM$RANDOM"

commits() { git -C "$B" rev-list --count main 2>/dev/null || echo 0; }

# ---- add ----
FOUND=$(date -u -d '5 days ago' +%F)              # 72 hours have passed: late
DUE=$(date -u -d "$FOUND + 3 days" +%F)
expect_exit 0 k --as "$MEDEW" breach add --description "laptop kwijt $MARK" --found "$FOUND" --dossier k-0001
assert_match "$OUT" "$ID_RE" "stdout of breach add"
OLD=$OUT
expect_exit 0 k --as "$DIR" breach add --description "mail aan de verkeerde ontvanger"
NEW=$OUT
assert_eq "$(commits)" 2 "commits in the register"
assert_eq "$(git -C "$B" log -1 --format='%an <%ae>' main~1)" "medewerker <$MEDEW>" "author of the medewerker's record"
assert_eq "$(git -C "$B" log -1 --format='%an <%ae>' main)" "directie <$DIR>" "author of the directie's record"
verify_all_commits "$B" "$AUD" main
pass "breach add: the medewerker and the directie each record a breach (signed, stock git verify-commit; the author names the role)"

if git -C "$B" cat-file --batch-all-objects --batch | grep -qaF "$MARK"; then fail "the description is in plaintext in the register"; fi
if git -C "$B" log --format='%B' main | grep -qaF -e laptop -e k-0001; then fail "the description or a dossier id is in a commit message"; fi
blob=$(git -C "$B" rev-parse "main:breaches/$OLD.pgp")
git -C "$B" cat-file blob "$blob" >"$T_WORK/record.pgp"
plain=$(GNUPGHOME=$DIR_ONLY gpg --batch --quiet --decrypt "$T_WORK/record.pgp" 2>/dev/null) || fail "stock gpg with the directie's key alone cannot decrypt the record"
assert_contains "$plain" "$MARK" "the record, decrypted by the directie"
if GNUPGHOME=$MEDEW_HOME gpg --batch --quiet --decrypt "$T_WORK/record.pgp" >/dev/null 2>&1; then
	fail "the medewerker's key decrypts the breach record; it is for the directie only"
fi
assert_nowhere "$MARK"
pass "the record is encrypted to the directie alone (stock gpg), in no commit message or object in plaintext"

# ---- list ----
expect_exit 0 env GNUPGHOME="$DIR_ONLY" "$KLUIS" --as "$DIR" breach list
line=$(grep "^$OLD " <<<"$OUT") || fail "list has no line for $OLD: $OUT"
read -r _ found deadline reported _ <<<"$line"
assert_eq "$found $deadline $reported" "${FOUND}T00:00:00Z ${DUE}T00:00:00Z no" "the breach found on $FOUND"
grep_q "^$NEW " <<<"$OUT" || fail "list has no line for $NEW: $OUT"
assert_eq "$ERR" "kluis: warning: 1 breach is past the 72-hour deadline and not reported to the Autoriteit Persoonsgegevens (P15)" "stderr of list"
expect_exit 0 env GNUPGHOME="$DIR_ONLY" "$KLUIS" --as "$DIR" breach list --json
assert_eq "$(jq -r --arg id "$OLD" '.breaches[] | select(.id == $id) | .dossiers | join(",")' <<<"$OUT")" k-0001 "dossiers of $OLD"
assert_eq "$(jq -r --arg id "$OLD" '.breaches[] | select(.id == $id) | .description' <<<"$OUT")" "laptop kwijt $MARK" "description of $OLD"
pass "list (the directie): found, the deadline 72 hours later, not reported; a warning for the one past it; --json with the dossiers"

expect_exit 1 env GNUPGHOME="$MEDEW_HOME" "$KLUIS" --as "$MEDEW" breach list
pass "list by the medewerker, who cannot decrypt the register, fails with one line"

# ---- reported ----
n=$(commits)
expect_exit 1 k --as "$MEDEW" breach reported "$OLD"
assert_contains "$ERR" "only the directie" "the medewerker reporting"
expect_exit 2 k --as "$DIR" breach reported 20260101T000000Z-abcd
assert_contains "$ERR" "no breach 20260101T000000Z-abcd in the register" "an unknown breach"
expect_exit 2 k --as "$DIR" breach reported not-an-id
assert_eq "$(commits)" "$n" "commits after the refused reports"
expect_exit 0 k --as "$DIR" breach reported "$OLD"
expect_exit 1 k --as "$DIR" breach reported "$OLD"
assert_contains "$ERR" "already recorded as reported" "a second report"
assert_eq "$(commits)" "$((n + 1))" "commits after one report"
expect_exit 0 env GNUPGHOME="$DIR_ONLY" "$KLUIS" --as "$DIR" breach list
read -r _ _ _ reported _ <<<"$(grep "^$OLD " <<<"$OUT")"
assert_eq "$reported" yes "reported column of $OLD"
assert_eq "$ERR" "" "stderr of list once the late breach is reported"
pass "reported: only by the directie, only a breach in the register, only once; the list then shows it and the warning is gone"

# ---- usage ----
n=$(commits)
expect_exit 2 k --as "$DIR" breach add
expect_exit 2 k --as "$DIR" breach add --description x --dossier 'BAD!'
expect_exit 2 k --as "$DIR" breach add --description x --found not-a-date
expect_exit 2 k --as "$DIR" breach frobnicate
expect_exit 2 k --as "$DIR" breach
assert_eq "$(commits)" "$n" "commits after the usage errors"
pass "usage errors (no description, a bad dossier id, a bad date, an unknown or no verb) exit 2, nothing written"
