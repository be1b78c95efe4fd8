#!/usr/bin/env bash
# e2e/reconcile.sh - writes and reads that reconcile: two vaults with their own keyrings (the
# medewerker's, the directie's) add and read the same dossier at the same time, in parallel
# processes, round after round, and sync through a central git server whose pre-receive hook
# is kluis's verifier. In the end every entry and every read record is on the server exactly
# once, the history verifies in both vaults, in a third that pulls it, and with stock git
# (verify-commit, public keys only). Also: a roles change made on the server while a vault
# wrote (the entry is re-encrypted to the new readers), a close made on both sides (made
# once), a server that rolls its history back (refused), and `sync --all` touching only what
# changed.
set -euo pipefail
. "$KLUIS_TEST_DIR/lib.sh"
sync_vaults "$T_ROOT"
ROUNDS=${RECONCILE_ROUNDS:-4}
SRVROOT=$T_ROOT/srv
SRV=$SRVROOT/d1.git

make_server() { kluis_server "$1" "$AUD"; }
refs_of() { git -C "$1" for-each-ref --format='%(objectname) %(refname)' refs/heads refs/kluis | sort; }

for d in d1 d2 d3; do make_server "$SRVROOT/$d.git"; done
for d in d1 d2 d3; do
	expect_exit 0 kb init "$d" --klant "$KLANT" --medewerker "$MEDEW" --directie "$DIR" --opdrachtgever "$OPDR"
	expect_exit 0 kb push "$d" "$SRVROOT/$d.git"
	expect_exit 0 ka pull "$d" "$SRVROOT/$d.git" --trust "$DIR"
done
printf 'remote %s\n' "$SRVROOT" >>"$VA/kluis.conf"
printf 'remote %s\n' "$SRVROOT" >>"$VB/kluis.conf"
pass "the directie's vault B made three dossiers and pushed them; the medewerker's vault A pulled them"

# ---- rounds: both vaults add two entries, read one, and sync, at the same time ----
: >"$T_ROOT/A.ids"
: >"$T_ROOT/B.ids"
: >"$T_ROOT/A.reads"
: >"$T_ROOT/B.reads"
round() { # VAULT-FUNCTION TAG ROUND: two adds, one read, a sync (its own log)
	local f=$1 tag=$2 r=$3 id i
	for i in 1 2; do
		id=$($f add d1 -m "$tag round $r note $i" 2>>"$T_ROOT/$tag.log") || return 1
		printf '%s\n' "$id" >>"$T_ROOT/$tag.ids"
	done
	$f show d1 "$id" >/dev/null 2>>"$T_ROOT/$tag.log" || return 1
	printf '%s\n' "$id" >>"$T_ROOT/$tag.reads"
	$f sync d1 >>"$T_ROOT/$tag.log" 2>&1 || { echo "round $r: sync failed" >>"$T_ROOT/$tag.log"; return 1; }
}
for r in $(seq 1 "$ROUNDS"); do
	round ka A "$r" &
	pa=$!
	round kb B "$r" &
	pb=$!
	wait "$pa" || fail "vault A, round $r: $(tail -3 "$T_ROOT/A.log")"
	wait "$pb" || fail "vault B, round $r: $(tail -3 "$T_ROOT/B.log")"
done
grep_q "replayed" "$T_ROOT/A.log" "$T_ROOT/B.log" || fail "no round needed a replay: the test did not make the vaults race"
expect_exit 0 ka sync d1
expect_exit 0 kb sync d1
expect_exit 0 ka sync d1
assert_eq "$(refs_of "$VA/dossiers/d1.git")" "$(refs_of "$SRV")" "vault A and the server after the rounds"
assert_eq "$(refs_of "$VB/dossiers/d1.git")" "$(refs_of "$SRV")" "vault B and the server after the rounds"
pass "$ROUNDS rounds of parallel adds, reads and syncs in two vaults: both end equal to the server ($(cat "$T_ROOT/A.log" "$T_ROOT/B.log" | grep -c replayed) syncs replayed one vault's work on the other's)"

# every entry exactly once on the server's main
for id in $(cat "$T_ROOT/A.ids" "$T_ROOT/B.ids"); do
	n=$(git -C "$SRV" ls-tree -r --name-only refs/heads/main entries | grep -c "/$id/meta$" || true)
	assert_eq "$n" 1 "entry $id on the server's main"
done
assert_eq "$(git -C "$SRV" ls-tree -r --name-only refs/heads/main entries | grep -c '/meta$')" $((4 * ROUNDS)) "entries on the server"
# every read exactly once in the server's read log, by its reader; the log numbered 1..N
reads_by() { git -C "$SRV" log --format='%ae %(trailers:key=Kluis-Entry,valueonly,separator=)' refs/kluis/access | awk -v w="$1" -v e="$2" '$1 == w && $2 == e' | wc -l; }
for id in $(cat "$T_ROOT/A.reads"); do assert_eq "$(reads_by "$MEDEW" "$id")" 1 "A's read of $id in the server's read log"; done
for id in $(cat "$T_ROOT/B.reads"); do assert_eq "$(reads_by "$DIR" "$id")" 1 "B's read of $id in the server's read log"; done
N=$(git -C "$SRV" rev-list --count refs/kluis/access)
assert_eq "$(git -C "$SRV" log --format='%(trailers:key=Kluis-Seq,valueonly,separator=)' refs/kluis/access | sort -n | tr '\n' ' ')" \
	"$(seq 1 "$N" | tr '\n' ' ')" "the read log's Kluis-Seq"
pass "every entry ($((4 * ROUNDS))) and every read of both vaults is on the server exactly once; the read log is one line numbered 1..$N"

expect_exit 0 ka verify d1 --full
expect_exit 0 kb verify d1 --full
expect_exit 0 kc pull d1 "$SRV" --trust "$DIR"
expect_exit 0 kc verify d1 --full
verify_all_commits "$SRV" "$AUD" refs/heads/main
verify_all_commits "$SRV" "$AUD" refs/kluis/access
git -C "$SRV" fsck --no-progress >/dev/null 2>&1 || fail "stock git fsck refuses the server repository"
expect_exit 0 kb show d1 "$(head -1 "$T_ROOT/A.ids")"
assert_contains "$OUT" "A round 1 note 1" "A's first entry read in vault B"
pass "the history verifies in both vaults, in a third vault that pulls it, and with stock git verify-commit and fsck; A's entries read in B"

# ---- a roles change on the server while vault A wrote: A's entry is re-encrypted ----
expect_exit 0 ka add d1 -m "written before the roles change"
AID=$OUT
expect_exit 0 kb roles d1 --add opdrachtgever "$OUTSIDER"
expect_exit 0 kb push d1
expect_exit 0 ka sync d1
assert_contains "$ERR" "replayed" "A's sync after the roles change"
assert_eq "$(refs_of "$VA/dossiers/d1.git")" "$(refs_of "$SRV")" "vault A and the server after the roles change"
check_pointer "$SRV" "refs/heads/main:entries/${AID:17:2}/$AID/body"
git -C "$SRV" cat-file blob "$REPLY" | recipients_of | grep_q -x "$(enc_keyid "$OUTSIDER")" ||
	fail "A's entry written before the roles change is not encrypted to the new opdrachtgever"
expect_exit 0 ka verify d1 --full
expect_exit 0 kb pull d1
expect_exit 0 kb show d1 "$AID"
assert_contains "$OUT" "written before the roles change" "A's re-encrypted entry read in vault B"
pass "a roles change made on the server while A wrote: A's entry was re-encrypted to the new readers (a second opdrachtgever key among them), verified, readable"

# ---- the same roles change made in two vaults: made once ----
expect_exit 0 kc pull d1
expect_exit 0 kb roles d1 --remove "$OUTSIDER"
expect_exit 0 kb push d1
expect_exit 0 kc roles d1 --remove "$OUTSIDER"
expect_exit 0 kc sync d1
assert_eq "$(refs_of "$VC/dossiers/d1.git")" "$(refs_of "$SRV")" "vault C and the server after two equal roles changes"
assert_eq "$(git -C "$SRV" log --format='%(trailers:key=Kluis-Role-Removed,valueonly,separator=)' refs/heads/main | grep -c "$OUTSIDER")" 1 "roles commits removing the key on the server"
expect_exit 0 kc verify d1 --full
expect_exit 0 ka pull d1
pass "the same roles change made in two vaults is made once on the server (with one rewrap); all verify"

# ---- the server rolls its history back: refused, nothing moves here ----
GOOD=$(ref_of "$SRV" refs/heads/main)
git -C "$SRV" update-ref refs/heads/main "$GOOD~1"
BEFORE=$(refs_of "$VA/dossiers/d1.git")
expect_exit 1 ka pull d1
assert_contains "$ERR" "rolled back or rewrote" "pull from a server that rolled back"
assert_eq "$(refs_of "$VA/dossiers/d1.git")" "$BEFORE" "vault A after the refused pull"
git -C "$SRV" update-ref refs/heads/main "$GOOD"
expect_exit 0 ka pull d1
pass "a server whose main no longer holds what it held at the last sync is refused (rolled back or rewritten); nothing moved in the vault"

# ---- closed on both sides: closed once ----
expect_exit 0 kb close d1
expect_exit 0 kb push d1
expect_exit 0 ka close d1
expect_exit 0 ka sync d1
assert_eq "$(refs_of "$VA/dossiers/d1.git")" "$(refs_of "$SRV")" "vault A and the server after two closes"
assert_eq "$(git -C "$SRV" log --format='%(trailers:key=Kluis-Action,valueonly,separator=)' refs/heads/main | grep -c '^close$')" 1 "close commits on the server"
expect_exit 0 ka verify d1 --full
pass "a close made in both vaults is one close on the server"

# ---- sync --all: one listing, only what changed ----
expect_exit 0 kb add d2 -m "only d2 changed"
expect_exit 0 kb push d2
expect_exit 0 ka sync --all
assert_contains "$ERR" "3 dossiers, 1 synced, 2 already in step, 0 failed" "sync --all"
assert_contains "$ERR" "one round trip" "sync --all"
assert_contains "$ERR" "d2: pulled" "sync --all names what it did"
assert_not_contains "$ERR" "d3:" "sync --all with d3 unchanged"
assert_eq "$(refs_of "$VA/dossiers/d2.git")" "$(refs_of "$SRVROOT/d2.git")" "vault A's d2 after sync --all"
expect_exit 0 ka sync --all
assert_contains "$ERR" "0 synced, 3 already in step" "a second sync --all"
expect_exit 2 ka sync
expect_exit 2 ka sync d1 --all
pass "sync --all learns the server's refs in one listing and syncs only the dossier that changed; a second run does nothing"

# ---- a push or pull of one entry sends the new objects, not the dossier's every ciphertext ----
objects_in() { git -C "$1" count-objects -v | awk '$1 == "count:" || $1 == "in-pack:" { n += $2 } END { print n }'; }
for i in $(seq 1 15); do expect_exit 0 kb add d3 -m "note $i of many"; done
expect_exit 0 kb push d3
expect_exit 0 ka pull d3
BEFORE_SRV=$(objects_in "$SRVROOT/d3.git")
BEFORE_A=$(objects_in "$VA/dossiers/d3.git")
expect_exit 0 kb add d3 -m "one more"
expect_exit 0 kb push d3
expect_exit 0 ka pull d3
SENT=$(( $(objects_in "$SRVROOT/d3.git") - BEFORE_SRV ))
GOT=$(( $(objects_in "$VA/dossiers/d3.git") - BEFORE_A ))
CIPHER=$(git -C "$SRVROOT/d3.git" ls-tree -r refs/kluis/content | wc -l)
[ "$SENT" -le 16 ] || fail "a push of one entry sent $SENT objects to the server (the dossier holds $CIPHER ciphertexts)"
[ "$GOT" -le 16 ] || fail "a pull of one entry brought $GOT objects (the dossier holds $CIPHER ciphertexts)"
expect_exit 0 ka verify d3 --full
pass "a push and a pull of one entry move $SENT and $GOT objects, not the dossier's $CIPHER ciphertexts again"
