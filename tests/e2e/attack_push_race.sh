#!/usr/bin/env bash
# e2e/attack_push_race.sh - an attacker's test (review of 2026-12-07): the server's three refs
# must verify as a whole after every push that got past the hook, also when two pushes race.
#
# The hook judges each push against the refs as they were when it started; git moves the refs
# only after the hook, each ref on its own (compare-and-swap on the value the hook saw) unless
# the client asked for --atomic. kluis's own push asks; a co-worker with a valid key and stock
# git need not. Here the medewerker pushes (non-atomic) main+content+access, the access naming
# the read of his new entry; while his hook runs, the directie pushes an ordinary kluis add.
# git then refuses the medewerker's main and content (they moved meanwhile) but moves his
# access: the server's read log names a commit that is not on its main. Every vault that pulls
# is refused from then on, and every push too: the dossier is stuck on the server until its
# administrator rewrites a ref by hand. The slow hook only stands for a large push whose
# verification takes seconds; the wrapper does not change what the hook decides.
# Now: the post-receive hook (kluis hook post-receive) finds the refs do not verify and puts
# back what the push moved; the test checks that the server verifies and vaults go on syncing.
set -euo pipefail
. "$KLUIS_TEST_DIR/lib.sh"
sync_vaults "$T_WORK"
SRV=$T_WORK/srv/d1.git

kluis_server "$SRV" "$AUD"
# the real hook, and after it (for the first push only) a wait: a slow verification
mv "$SRV/hooks/pre-receive" "$SRV/hooks/kluis-pre-receive"
cat >"$SRV/hooks/pre-receive" <<HOOK
#!/bin/sh
"\$(dirname "\$0")/kluis-pre-receive" || exit 1
if mkdir "$T_WORK/slow" 2>/dev/null; then
	: >"$T_WORK/verified"
	i=0; while [ ! -e "$T_WORK/go" ] && [ \$i -lt 600 ]; do sleep 0.1; i=\$((i + 1)); done
fi
exit 0
HOOK
chmod 755 "$SRV/hooks/pre-receive"
mkdir "$T_WORK/slow.off" # nothing is slow during the set-up
mv "$T_WORK/slow.off" "$T_WORK/slow"

expect_exit 0 kb init d1 --klant "$KLANT" --medewerker "$MEDEW" --directie "$DIR" --opdrachtgever "$OPDR"
expect_exit 0 kb push d1 "$SRV"
expect_exit 0 ka pull d1 "$SRV" --trust "$DIR"
pass "set-up: the directie's vault made d1 and pushed it; the medewerker's vault pulled it"

# the medewerker: an entry and its read, pushed by stock git without --atomic, slowly
expect_exit 0 ka add d1 -m "medewerker note"
AID=$OUT
expect_exit 0 ka show d1 "$AID"
rmdir "$T_WORK/slow"
git -C "$VA/dossiers/d1.git" push "$SRV" refs/heads/main +refs/kluis/content refs/kluis/access >"$T_WORK/p1.out" 2>&1 &
P1=$!
i=0
while [ ! -e "$T_WORK/verified" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
[ -e "$T_WORK/verified" ] || fail "the medewerker's push never got past the hook: $(cat "$T_WORK/p1.out")"
# meanwhile the directie adds and pushes, the kluis way
expect_exit 0 kb add d1 -m "directie note"
expect_exit 0 kb push d1 "$SRV"
: >"$T_WORK/go"
wait "$P1" || true
pass "two pushes raced: $(tr '\n' ' ' <"$T_WORK/p1.out" | head -c 300)"

# the invariant: what the server holds verifies as a whole (the post-receive hook put back the
# read log that git moved without its main)
assert_contains "$(cat "$T_WORK/p1.out")" "were put back" "what the medewerker's partial push was told"
expect_exit 0 kc pull d1 "$SRV" --trust "$DIR"
expect_exit 0 kb add d1 -m "after the race"
expect_exit 0 kb sync d1 "$SRV"
pass "after the race the server's refs verify as a whole: a new vault pulls them, the directie's vault syncs"
