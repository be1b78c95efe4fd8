#!/usr/bin/env bash
# e2e/agent_first_use.sh - reading with a key just imported into a fresh GNUPGHOME.
#
# On a secret key's first use after an import, gpg-agent rewrites its key file in place (from
# the OpenPGP transfer form to its own): it writes the new bytes over the old and truncates
# after. A second decryption that reads the file in between gets it half-written and fails
# with "Unmatched parentheses in S-expression". kluis show once decrypted an entry's metadata
# and body at the same time (two gpg processes), and so failed now and then on the first read
# after an import (seen in CI). Now it decrypts one after the other.
#
# The race is made wide here, not waited for: strace holds the agent's write to the key files
# for 300 ms (the agent lets its other requests run during a write). Under this harness the
# concurrent show failed in 2 of 3 rounds; a sequential one never fails. Witness: the read
# log holds one record per show, and stock gpg decrypts with the rewritten key afterwards.
set -euo pipefail
. "$KLUIS_TEST_DIR/lib.sh"

if ! command -v strace >/dev/null; then
	fail "strace is not installed (scripts/bootstrap.sh installs it)"
elif ! strace -f -qq -o /dev/null -e trace=none true 2>/dev/null; then
	echo "SKIP: this machine forbids ptrace, so the agent's rewrite cannot be slowed down here"
	exit 77
fi

D=k-first
R=$(repo_of "$D")
init_dossier "$D"
expect_exit 0 k --as "$MEDEW" add "$D" -m "eerste gesprek"
EID=$OUT
before=$(git -C "$R" rev-list --count refs/kluis/access 2>/dev/null || echo 0)

rounds=3
for i in $(seq 1 $rounds); do
	actor_home "$MEDEW"
	H=$REPLY
	# the agent, running, with its key files still in the transfer form
	gpg-connect-agent --homedir "$H" /bye >/dev/null 2>&1
	grep -q 'protected-private-key' "$H"/private-keys-v1.d/*.key ||
		fail "round $i: the imported keys are not in the form the agent rewrites on first use"
	agent=$(pgrep -f -n "gpg-agent --homedir $H") || fail "round $i: no gpg-agent for $H"
	paths=()
	for f in "$H"/private-keys-v1.d/*.key; do paths+=(-P "$f"); done
	strace -f -qq -p "$agent" "${paths[@]}" -e trace=write -e inject=write:delay_exit=300000 -o /dev/null &
	tracer=$!
	sleep 0.5 # attached
	GNUPGHOME=$H expect_exit 0 "$KLUIS" show "$D" "$EID"
	assert_contains "$OUT" "eerste gesprek" "round $i: the entry as shown"
	kill "$tracer" 2>/dev/null || true
	wait "$tracer" 2>/dev/null || true
	# the premise: the agent did rewrite the decryption key's file during this show
	grep -q '^Key: (private-key' "$H"/private-keys-v1.d/*.key ||
		fail "round $i: the agent rewrote no key file, so there was no race to lose"
	gpgconf --homedir "$H" --kill all
done
pass "first read after an import, with the agent's key rewrite held open: show decrypts ($rounds rounds)"

after=$(git -C "$R" rev-list --count refs/kluis/access)
[ "$after" -eq $((before + rounds)) ] || fail "read log: $before records before, $after after $rounds shows"
pass "one read record per show"
