#!/usr/bin/env bash
# e2e/clock.sh - no commit is signed before the one it follows, on the history (main) and on
# the read log (refs/kluis/access): a writer whose clock is behind the last commit by up to
# KLUIS_CLOCK_WAIT (60 s) waits it out and then writes what verify accepts; one behind by
# more refuses with one line and writes nothing (vault/store/dossier.c kluis_txn_commit,
# vault/store/history.c kluis_access_record).
#
# The commit "from a clock ahead" is made with stock git: the last commit re-made with its own
# message and tree, dated ahead, signed with its own key (git commit-tree -S); the vault's
# checkpoint is then re-written for it (kluis checkpoint ID --out VAULT/checkpoints/ID), as the
# vault that wrote it would have. The two 30 s waits run side by side, on two dossiers.
set -euo pipefail
. "$KLUIS_TEST_DIR/lib.sh"

pub_home; AUD=$REPLY

# redate REPO REF SIGNER SECONDS : REF's commit re-made with stock git, dated SECONDS after now
# and signed by SIGNER (its own signer); REF moved to it; its time in $REPLY
redate() {
	local repo=$1 ref=$2 signer=$3 c t p pargs=() new
	c=$(git -C "$repo" rev-parse "$ref")
	t=$(($(date +%s) + $4))
	for p in $(git -C "$repo" rev-parse "$c^@"); do pargs+=(-p "$p"); done
	git -C "$repo" cat-file commit "$c" | sed '1,/^$/d' >"$T_WORK/msg"
	new=$(GIT_AUTHOR_NAME=$(git -C "$repo" log -1 --format=%an "$c") GIT_AUTHOR_EMAIL=$(git -C "$repo" log -1 --format=%ae "$c") \
		GIT_COMMITTER_NAME=$(git -C "$repo" log -1 --format=%cn "$c") GIT_COMMITTER_EMAIL=$(git -C "$repo" log -1 --format=%ce "$c") \
		GIT_AUTHOR_DATE="@$t +0000" GIT_COMMITTER_DATE="@$t +0000" \
		git -C "$repo" commit-tree -S"$signer" "${pargs[@]}" -F "$T_WORK/msg" "$(git -C "$repo" rev-parse "$c^{tree}")") ||
		fail "stock git commit-tree -S$signer failed"
	GNUPGHOME=$AUD git -C "$repo" verify-commit "$new" >/dev/null 2>&1 || fail "stock git verify-commit refuses the re-dated commit"
	cmp -s <(git -C "$repo" cat-file commit "$new" | sed '1,/^$/d') "$T_WORK/msg" || fail "the re-dated commit's message differs"
	git -C "$repo" update-ref "$ref" "$new" "$c"
	assert_eq "$(git -C "$repo" log -1 --format=%ct "$ref")" "$t" "time of the re-dated $ref"
	REPLY=$t
}
# recheckpoint ID : the vault's checkpoint re-written for the dossier as it is now
recheckpoint() {
	rm -f "$KLUIS_VAULT/checkpoints/$1"
	expect_exit 0 k checkpoint "$1" --out "$KLUIS_VAULT/checkpoints/$1"
}
state_of() { # refs, checkpoint: what a refused write must leave as it was
	local R
	R=$(repo_of "$1")
	printf '%s %s %s %s\n' "$(ref_of "$R" refs/heads/main)" "$(ref_of "$R" refs/kluis/content)" "$(ref_of "$R" refs/kluis/access)" \
		"$(sha256sum <"$KLUIS_VAULT/checkpoints/$1")"
}

# ---- two dossiers: one whose last commit, one whose last read, comes from a clock 30 s ahead ----
init_dossier c-main
RM=$(repo_of c-main)
expect_exit 0 k --as "$MEDEW" add c-main -m "eerste notitie"
redate "$RM" refs/heads/main "$MEDEW" 30
MAIN_T=$REPLY
recheckpoint c-main

init_dossier c-read
RR=$(repo_of c-read)
expect_exit 0 k --as "$MEDEW" add c-read -m "te lezen notitie"
E=$OUT
expect_exit 0 k --as "$KLANT" show c-read "$E"
redate "$RR" refs/kluis/access "$KLANT" 30
READ_T=$REPLY
recheckpoint c-read
pass "a commit and a read record re-made with stock git, dated 30 s ahead and signed by their own keys; the checkpoints re-written for them"

t0=$(date +%s)
{ k --as "$MEDEW" add c-main -m "na de klokafwijking" >"$T_WORK/add.out" 2>"$T_WORK/add.err" && date +%s >"$T_WORK/add.t"; } &
ADD=$!
{ k --as "$MEDEW" show c-read "$E" >"$T_WORK/show.out" 2>"$T_WORK/show.err" && date +%s >"$T_WORK/show.t"; } &
SHOW=$!
wait "$ADD" || fail "kluis add after a commit dated 30 s ahead failed: $(cat "$T_WORK/add.err")"
wait "$SHOW" || fail "kluis show after a read dated 30 s ahead failed: $(cat "$T_WORK/show.err")"
[ "$(cat "$T_WORK/add.t")" -ge $((MAIN_T - 1)) ] || fail "kluis add returned at $(cat "$T_WORK/add.t"), before its parent's time $MAIN_T: it did not wait"
[ "$(cat "$T_WORK/show.t")" -ge $((READ_T - 1)) ] || fail "kluis show returned at $(cat "$T_WORK/show.t"), before the last read's time $READ_T: it did not wait"
[ "$(git -C "$RM" log -1 --format=%ct main)" -ge "$MAIN_T" ] || fail "the new commit is dated before its parent"
assert_eq "$(git -C "$RM" rev-list --count main)" 3 "commits on c-main"
assert_eq "$(cat "$T_WORK/show.out")" "te lezen notitie" "the show after the read dated ahead"
assert_eq "$(git -C "$RR" rev-list --count refs/kluis/access)" 2 "records on c-read's read log"
[ "$(git -C "$RR" log -1 --format=%ct refs/kluis/access)" -ge "$READ_T" ] || fail "the new read record is dated before the one it follows"
pass "kluis add waits out a parent dated 30 s ahead, kluis show a read record dated 30 s ahead (neither returns before that time); each new commit is dated at or after the one it follows"

for id in c-main c-read; do
	expect_exit 0 env GNUPGHOME="$AUD" "$KLUIS" verify "$id" --full
done
verify_all_commits "$RM" "$AUD"
verify_all_commits "$RR" "$AUD" refs/kluis/access
pass "kluis verify --full accepts both dossiers; stock git verifies every commit"

# ---- two hours ahead: refused, nothing written ----
redate "$RM" refs/heads/main "$MEDEW" 7200
recheckpoint c-main
before=$(state_of c-main)
objs0=$(git -C "$RM" count-objects -v | sed -n 's/^count: //p;s/^in-pack: //p' | tr '\n' ' ')
t0=$(date +%s)
expect_exit 1 k --as "$MEDEW" add c-main -m "klok twee uur achter"
[ $(($(date +%s) - t0)) -lt 60 ] || fail "kluis add waited before refusing a parent 2 h ahead"
assert_contains "$ERR" "clock" "refusal of a parent 2 h ahead"
assert_eq "$(state_of c-main)" "$before" "refs and checkpoint after the refused add"
assert_eq "$(git -C "$RM" count-objects -v | sed -n 's/^count: //p;s/^in-pack: //p' | tr '\n' ' ')" "$objs0" "loose and packed objects after the refused add"
pass "kluis add after a commit dated 2 h ahead refuses at once (exit 1, one line naming the clock); no object, ref or checkpoint is written"

redate "$RR" refs/kluis/access "$KLANT" 7200
recheckpoint c-read
before=$(state_of c-read)
expect_exit 1 k --as "$MEDEW" show c-read "$E"
assert_contains "$ERR" "clock" "refusal of a read record 2 h ahead"
assert_eq "$OUT" "" "standard output of the refused show"
assert_eq "$(state_of c-read)" "$before" "refs and checkpoint after the refused show"
pass "kluis show after a read record dated 2 h ahead refuses (exit 1, one line naming the clock), delivers nothing and writes no record"
