#!/usr/bin/env bash
# e2e/attack_shallow_partial_push.sh - an attacker's test (review of 2026-12-07): the server's
# three refs must verify as a whole after every push that got past the hook.
#
# A co-worker with a valid key and role pushes with stock git from a repository that git
# believes shallow at his new refs/kluis/content commit (one line in DOSSIER.git/shallow). The
# hook verifies the whole push and accepts it; then receive-pack refuses the content ref on its
# own ("shallow update not allowed": receive.shallowUpdate is off) while main and access move.
# No race, no timing: the server's main now names an entry whose ciphertext its content lacks,
# every vault's pull is refused and so is every later push. The dossier is stuck on the server
# until its administrator moves a ref by hand.
# Now: the post-receive hook (kluis hook post-receive) finds the refs do not verify and puts
# back what the push moved; the test checks that the server verifies and vaults go on syncing.
set -euo pipefail
. "$KLUIS_TEST_DIR/lib.sh"
sync_vaults "$T_WORK"
SRV=$T_WORK/srv/d1.git

kluis_server "$SRV" "$AUD"

expect_exit 0 kb init d1 --klant "$KLANT" --medewerker "$MEDEW" --directie "$DIR" --opdrachtgever "$OPDR"
expect_exit 0 kb add d1 -m "first"
expect_exit 0 kb push d1 "$SRV"
expect_exit 0 ka pull d1 "$SRV" --trust "$DIR"
pass "set-up: the directie's vault made d1 and pushed it; the medewerker's vault pulled it"

expect_exit 0 ka add d1 -m "medewerker note"
R=$VA/dossiers/d1.git
git -C "$R" rev-parse refs/kluis/content >"$R/shallow"
git -C "$R" push "$SRV" refs/heads/main +refs/kluis/content >"$T_WORK/push.out" 2>&1 || true
rm -f "$R/shallow"

pass "the medewerker pushed from a repository git believes shallow at his content: $(grep -E 'kluis:|->' "$T_WORK/push.out" | tr -s ' \n' ' ' | head -c 400)"

# the invariant: what the server holds verifies as a whole
expect_exit 0,1 kc pull d1 "$SRV" --trust "$DIR"
[ -d "$VC/dossiers/d1.git" ] ||
	fail_soft "HOLE: the server's refs do not verify as a whole after a push its hook accepted (main $(ref_of "$SRV" refs/heads/main | head -c 12) is the medewerker's, content $(ref_of "$SRV" refs/kluis/content | head -c 12) is $([ "$(ref_of "$SRV" refs/kluis/content)" = "$(git -C "$R" rev-parse refs/kluis/content)" ] && echo his || echo not his)); a new vault's pull says: $ERR"
expect_exit 0,1 kb add d1 -m "after the attack"
expect_exit 0,1 kb sync d1 "$SRV"
[[ $ERR != *"does not verify"* ]] || fail_soft "HOLE: the directie's vault cannot sync d1 any more: $ERR"
pass "checked the server's state after the push"
