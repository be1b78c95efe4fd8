#!/usr/bin/env bash
# e2e/demo.sh - kluis demo: runs a whole traject, leaves nothing behind (no directory, no
# agent), never touches the user's own vault or keys; --keep DIR keeps a vault that stock git
# and kluis can inspect.
set -euo pipefail
. "$KLUIS_TEST_DIR/lib.sh"

agent_running_for() { # is a gpg-agent running with this home? (gpg-agent --homedir H ...)
	pgrep -f -- "gpg-agent --homedir $1( |\$)" >/dev/null
}

# the user's own vault and keys, which the demo must leave alone
init_dossier k-0001
V=$KLUIS_VAULT
vault_before=$(cd "$V" && find . -printf '%p %s %T@\n' | sort)
keys_before=$(gpg --batch --with-colons --list-secret-keys 2>/dev/null | grep '^fpr' | sort)

demo_dirs() { find /tmp -maxdepth 1 -name 'kluis-demo.*' 2>/dev/null | sort; }
before=$(demo_dirs)

expect_exit 0 env KLUIS_KEY="$MEDEW" "$KLUIS" demo
DEMO_OUT=$OUT
for step in "1. " "2. " "3. " "4. " "5. " "6. " "7. " "8. " '$ kluis init' '$ kluis add' '$ kluis statement' '$ kluis show' '$ kluis log' Done; do
	assert_contains "$DEMO_OUT" "$step" "demo output"
done
grep -Eq '[0-9]{8}T[0-9]{6}Z-[0-9a-f]{4}' <<<"$DEMO_OUT" || fail "the demo shows no entry id"
pass "kluis demo exits 0 and prints its steps with the commands it runs"

demo_vault=$(grep -o '/tmp/kluis-demo\.[A-Za-z0-9]*/vault' <<<"$DEMO_OUT" | head -1)
[ -n "$demo_vault" ] || fail "the demo does not say where its throwaway vault is"
demo_base=${demo_vault%/vault}
[ ! -e "$demo_base" ] || fail "the demo left $demo_base behind"
if agent_running_for "$demo_base/gnupg"; then fail "the demo left a gpg-agent running for $demo_base/gnupg"; fi
left=$(comm -13 <(printf '%s\n' "$before") <(demo_dirs) | sed '/^$/d')
if [ -n "$left" ]; then # maybe someone else's demo in flight: look again
	sleep 2
	left=$(comm -13 <(printf '%s\n' "$before") <(demo_dirs) | sed '/^$/d')
fi
[ -z "$left" ] || fail "new kluis-demo.* left in /tmp: $left"
pass "the demo leaves nothing in /tmp (no kluis-demo.* directory) and no gpg-agent for its home"

assert_eq "$(cd "$V" && find . -printf '%p %s %T@\n' | sort)" "$vault_before" "the user's vault after the demo"
assert_eq "$(gpg --batch --with-colons --list-secret-keys 2>/dev/null | grep '^fpr' | sort)" "$keys_before" "the user's secret keys after the demo"
pass "the demo does not touch the user's own vault (KLUIS_VAULT) or keys (GNUPGHOME, KLUIS_KEY)"

# ---- --keep DIR ----
KEEP=$T_ROOT/keep
T_HOMES+=("$KEEP/gnupg")
expect_exit 0 k demo --keep "$KEEP"
[ -d "$KEEP/vault" ] && [ -d "$KEEP/gnupg" ] || fail "demo --keep did not keep DIR/vault and DIR/gnupg: $(ls -la "$KEEP")"
assert_contains "$OUT" "$KEEP" "demo --keep output"
expect_exit 0 env GNUPGHOME="$KEEP/gnupg" "$KLUIS" --vault "$KEEP/vault" list
grep -Eq '^demo-0001[[:space:]]+open[[:space:]]+3[[:space:]]' <<<"$OUT" || fail "kluis list of the kept vault: $OUT"
expect_exit 0 env GNUPGHOME="$KEEP/gnupg" "$KLUIS" --vault "$KEEP/vault" log demo-0001 --json
got=$(python3 -c '
import json, sys
for e in json.loads(sys.argv[1])["events"]:
    print(e["action"], e["role"])
' "$OUT")
assert_eq "$got" "$(printf '%s\n' 'init directie' 'add medewerker' 'add medewerker' 'statement klant' 'access klant')" "events of the demo dossier"
pass "demo --keep DIR keeps a vault that kluis --vault DIR/vault list and log show (3 entries, the refused add absent)"

DR=$KEEP/vault/dossiers/demo-0001.git
assert_eq "$(git -C "$DR" rev-parse --is-bare-repository)" true "kept dossier is bare"
for c in $(git -C "$DR" rev-list main) $(git -C "$DR" rev-list refs/kluis/access); do
	GNUPGHOME=$KEEP/gnupg git -C "$DR" verify-commit "$c" >/dev/null 2>&1 || fail "stock git refuses commit $c of the kept demo"
done
git -C "$DR" fsck --strict --no-dangling >/dev/null 2>&1 || fail "stock git fsck fails on the kept demo"
assert_nowhere "Intakegesprek"
KLUIS_VAULT=$KEEP/vault assert_nowhere "Intakegesprek"
KLUIS_VAULT=$KEEP/vault assert_nowhere "Re-integratie tweede spoor"
[ -z "$(find "$KEEP" -name 'plan-van-aanpak*')" ] || fail "the demo left its plaintext plan behind"
pass "the kept demo verifies with stock git, and holds no plaintext of its notes, traject or plan"

gpgconf --homedir "$KEEP/gnupg" --kill all >/dev/null 2>&1 || true
if agent_running_for "$KEEP/gnupg"; then fail "the kept demo's agent survives gpgconf --kill"; fi

expect_exit 2 k demo --keep "$KEEP"
assert_contains "$ERR" "$KEEP" "refusal of an existing --keep"
expect_exit 2 k demo extra-argument
pass "demo --keep of an existing directory, or with an argument, exits 2"
