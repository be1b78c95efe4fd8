#!/usr/bin/env bash
# e2e/demo.sh - kluis demo runs the whole traject, two organisations and an auditor: the
# organisation's dossier with consent, a health note, a correction, an erasure, the klant's
# statement, close and transfer (the local copy destroyed, on record in the ledger); the
# import at the opdrachtgever; an auditor with public keys only verifying; the stock-tools
# check (git verify-commit, git's %G?, Sequoia's sqv); destruction at the end with its
# verklaring, checked with stock gpg. It leaves nothing behind (no directory, no agent), never
# touches the user's own vault, keys or ~/.cache; --keep DIR keeps both organisations' vaults
# and keyrings, the auditor's keyring and the archive, and says how to use them.
set -euo pipefail
. "$KLUIS_TEST_DIR/lib.sh"

command -v sqv >/dev/null || fail "sqv (Sequoia) is not installed; scripts/bootstrap.sh installs it"

agent_running_for() { # is a gpg-agent running with this home? (gpg-agent --homedir H ...)
	pgrep -f -- "gpg-agent --homedir $1( |\$)" >/dev/null
}
PLACES=(organisatie opdrachtgever auditor)

# the user's own vault, keys and home (~/.cache: verify's replay state), which the demo must leave alone
init_dossier k-0001
V=$KLUIS_VAULT
snapshot() { (cd "$1" && find . -printf '%p %s %T@\n' | sort); }
vault_before=$(snapshot "$V")
home_before=$(snapshot "$HOME")
keys_before=$(gpg --batch --with-colons --list-secret-keys 2>/dev/null | grep '^fpr' | sort)

demo_dirs() { find /tmp -maxdepth 1 -name 'kluis-demo.*' 2>/dev/null | sort; }
before=$(demo_dirs)

t0=$(date +%s%N)
expect_exit 0 env KLUIS_KEY="$MEDEW" "$KLUIS" demo
ms=$((($(date +%s%N) - t0) / 1000000))
DEMO_OUT=$OUT
DEMO_ERR=$ERR
[ "$ms" -lt 20000 ] || fail "the demo took $ms ms (want under 20 s)"
for phase in "== At the reintegration organisation" "== At the opdrachtgever" "== Back at the organisation" \
	"== The auditor (auditor/: public keys only)" "== The stock-tools check" "== The end of retention" Done; do
	assert_contains "$DEMO_OUT" "$phase" "demo output"
done
for cmd in '$ kluis init demo-0001' '$ kluis consent demo-0001 grant --scope health' '--special health' \
	'$ kluis correct demo-0001' '$ kluis statement' '$ kluis show' '$ kluis erase demo-0001' '$ kluis log' \
	'$ kluis close' '$ kluis transfer demo-0001 --out demo-0001.tgz' '$ kluis ledger show demo-0001' \
	'$ kluis import demo-0001.tgz --trust' '$ kluis retention' '$ kluis ledger receipt' '$ kluis verify demo-0001 --trust' \
	'$ git -C $R verify-commit main' '$ git -C $R log' '$ sqv --keyring' '$ kluis destroy demo-0001' '$ gpg --verify' \
	'$ export GNUPGHOME=$PWD/opdrachtgever/gnupg KLUIS_VAULT=$PWD/opdrachtgever/vault' \
	'$ export GNUPGHOME=$PWD/auditor/gnupg KLUIS_VAULT=$PWD/opdrachtgever/vault'; do
	assert_contains "$DEMO_OUT" "$cmd" "the commands the demo shows"
done
for n in $(seq 1 26); do grep -q "^$n\. " <<<"$DEMO_OUT" || fail "the demo has no step $n"; done
pass "kluis demo exits 0 in $ms ms, with every part of the traject and the commands it runs, steps 1-26"

for refusal in "the klant adds his own words with kluis statement" "was transferred"; do
	assert_contains "$DEMO_ERR" "$refusal" "the demo's refusals (klant adds a note; opdrachtgever adds to a held dossier)"
done
assert_contains "$DEMO_ERR" "erased; its ciphertext is gone" "the erasure"
assert_contains "$DEMO_ERR" "transferred to demo-0001.tgz (verified" "the transfer"
assert_contains "$DEMO_ERR" "the local copy is destroyed" "the transfer"
assert_contains "$DEMO_ERR" "imported and verified" "the import at the opdrachtgever"
assert_contains "$DEMO_ERR" "receipt of 'demo-0001' is verified and recorded" "the receipt back at the organisation"
assert_match "$DEMO_OUT" $'\n''demo-0001 +imported +[0-9]{4}-[0-9]{2}-[0-9]{2} +no ' "the retention deadline at the opdrachtgever"
assert_contains "$DEMO_OUT" "secret keys: 0" "the auditor's keyring"
assert_match "$DEMO_OUT" "demo-0001: verified \([0-9]+ commits, [0-9]+ entries, 1 erased by a signed record" "the auditor's verify"
pass "the consent, correction, erasure, refusals, transfer, import, receipt and retention ran; the auditor (0 secret keys) verified"

# the stock tools: git verify-commit and gpg --verify say Good signature, every commit's %G? is good, sqv names the head's signer
DIR_FPR=$(awk '$1 == "directie" && length($2) == 40 && $2 ~ /^[0-9A-F]+$/ { print $2; exit }' <<<"$DEMO_OUT")
OPDR_FPR=$(awk '$1 == "opdrachtgever" && length($2) == 40 && $2 ~ /^[0-9A-F]+$/ { print $2; exit }' <<<"$DEMO_OUT")
[ -n "$DIR_FPR" ] && [ -n "$OPDR_FPR" ] || fail "the demo does not list the directie's and opdrachtgever's keys"
assert_contains "$DEMO_ERR" "Good signature from \"directie (kluis demo)" "stock git verify-commit of the head (the transfer, by the directie)"
assert_contains "$DEMO_ERR" "Good signature from \"opdrachtgever (kluis demo)" "stock gpg --verify of the verklaring"
assert_not_contains "$DEMO_ERR" "BAD signature" "the stock tools' output"
sigs=$(sed -n '/^  \$ git -C \$R log/,/^$/p' <<<"$DEMO_OUT" | grep -E '^[0-9a-f]{7,} ' || true)
[ "$(wc -l <<<"$sigs")" -ge 12 ] || fail "git log shows fewer than 12 commits: $sigs"
bad=$(awk '$2 != "G" && $2 != "U"' <<<"$sigs")
[ -z "$bad" ] || fail "git's %G? is not good for: $bad"
grep -qE 'directie: transfer' <<<"$sigs" && grep -qE 'directie: erase' <<<"$sigs" && grep -qE 'klant: access' <<<"$sigs" ||
	fail "git log lacks the transfer, the erasure or a read: $sigs"
assert_eq "$(sed -n '/^  \$ sqv /{n;p;}' <<<"$DEMO_OUT")" "$DIR_FPR" "sqv's verdict on the head (its signer)"
pass "stock tools: git verify-commit and gpg --verify say Good signature, %G? good for $(wc -l <<<"$sigs") commits and reads, sqv names the directie"

n_cert=$(grep -c '^VERKLARING VAN VERNIETIGING' <<<"$DEMO_OUT")
assert_eq "$n_cert" 2 "verklaringen shown (the local copy at the transfer; the opdrachtgever's at the end)"
assert_contains "$DEMO_OUT" "Grounds: W7" "the ledger's destroy record of the transfer"
assert_contains "$DEMO_OUT" "vervroegd (--force)" "the end-of-retention verklaring says it was forced"
assert_contains "$DEMO_OUT" "Door:            opdrachtgever $OPDR_FPR" "the end-of-retention verklaring"
pass "two verklaringen van vernietiging: the local copy at the transfer (W7) and the opdrachtgever's (forced, said so)"

demo_base=$(grep -o '/tmp/kluis-demo\.[A-Za-z0-9]*' <<<"$DEMO_OUT" | head -1)
[ -n "$demo_base" ] || fail "the demo does not say where its throwaway directory is"
[ ! -e "$demo_base" ] || fail "the demo left $demo_base behind"
for p in "${PLACES[@]}"; do
	if agent_running_for "$demo_base/$p/gnupg"; then fail "the demo left a gpg-agent running for $demo_base/$p/gnupg"; fi
done
left=$(comm -13 <(printf '%s\n' "$before") <(demo_dirs) | sed '/^$/d')
if [ -n "$left" ]; then # maybe someone else's demo in flight: look again
	sleep 2
	left=$(comm -13 <(printf '%s\n' "$before") <(demo_dirs) | sed '/^$/d')
fi
[ -z "$left" ] || fail "new kluis-demo.* left in /tmp: $left"
pass "the demo leaves nothing in /tmp (no kluis-demo.* directory) and no gpg-agent for any of its three homes"

assert_eq "$(snapshot "$V")" "$vault_before" "the user's vault after the demo"
assert_eq "$(snapshot "$HOME")" "$home_before" "the user's home (~/.cache) after the demo"
assert_eq "$(gpg --batch --with-colons --list-secret-keys 2>/dev/null | grep '^fpr' | sort)" "$keys_before" "the user's secret keys after the demo"
pass "the demo does not touch the user's own vault (KLUIS_VAULT), keys (GNUPGHOME, KLUIS_KEY) or home (~/.cache)"

# ---- --keep DIR ----
KEEP=$T_ROOT/keep
for p in "${PLACES[@]}"; do T_HOMES+=("$KEEP/$p/gnupg"); done
expect_exit 0 k demo --keep "$KEEP"
KEEP_OUT=$OUT
for d in organisatie/gnupg organisatie/vault opdrachtgever/gnupg opdrachtgever/vault auditor/gnupg demo-0001.tgz verklaring-demo-0001.txt; do
	[ -e "$KEEP/$d" ] || fail "demo --keep did not keep $d: $(ls -la "$KEEP")"
done
for want in "Everything is kept in $KEEP" "export GNUPGHOME=\$PWD/organisatie/gnupg KLUIS_VAULT=\$PWD/organisatie/vault" \
	"export GNUPGHOME=\$PWD/opdrachtgever/gnupg KLUIS_VAULT=\$PWD/opdrachtgever/vault" \
	"export GNUPGHOME=\$PWD/auditor/gnupg KLUIS_VAULT=\$PWD/opdrachtgever/vault"; do
	assert_contains "$KEEP_OUT" "$want" "demo --keep's closing lines"
done
[ -z "$(gpg --homedir "$KEEP/auditor/gnupg" --batch --with-colons --list-secret-keys 2>/dev/null)" ] || fail "the auditor's keyring holds a secret key"
secret_keys() { gpg --homedir "$KEEP/$1/gnupg" --batch --with-colons --list-secret-keys 2>/dev/null | awk -F: '$1 == "sec" { getline; print $10 }' | sort; }
keep_fpr() { awk -v who="$1" '$1 == who && length($2) == 40 && $2 ~ /^[0-9A-F]+$/ { print $2; exit }' <<<"$KEEP_OUT"; }
assert_eq "$(secret_keys opdrachtgever)" "$(keep_fpr opdrachtgever)" "the opdrachtgever's secret keys"
assert_eq "$(secret_keys organisatie)" "$(printf '%s\n' "$(keep_fpr klant)" "$(keep_fpr medewerker)" "$(keep_fpr directie)" | sort)" "the organisation's secret keys"
pass "demo --keep DIR keeps both organisations' keyrings and vaults, the auditor's (public keys only), the archive and the verklaring, and says how to use them"

KOUT_DIR=$(keep_fpr directie)
ledger_actions() { # PLACE: the actions in that vault's ledger
	(cd "$KEEP" && GNUPGHOME=$PWD/$1/gnupg KLUIS_VAULT=$PWD/$1/vault "$KLUIS" --as "$2" ledger show --json) |
		python3 -c 'import json,sys; j = json.load(sys.stdin); assert j["ok"], j; print(" ".join(e["action"] for e in j["events"]))'
}
assert_eq "$(ledger_actions organisatie directie)" "create transfer destroy receipt" "the organisation's ledger"
assert_eq "$(ledger_actions opdrachtgever opdrachtgever)" "import destroy" "the opdrachtgever's ledger"
[ ! -e "$KEEP/organisatie/vault/dossiers/demo-0001.git" ] && [ ! -e "$KEEP/opdrachtgever/vault/dossiers/demo-0001.git" ] ||
	fail "a destroyed dossier is still in a kept vault"
pass "the kept ledgers verify: create, transfer, destroy, receipt at the organisation; import, destroy at the opdrachtgever"

# the closing lines' way into the dossier: import the archive again into a new vault
reimport=$(sed -n '/kluis --vault \$PWD\/verken import/{N;p;}' <<<"$KEEP_OUT" | sed 's/^ *\$ //; s/\\$//' | tr '\n' ' ')
[ -n "$reimport" ] || fail "demo --keep does not say how to look into the dossier: $KEEP_OUT"
kluis() { "$KLUIS" "$@"; }
(cd "$KEEP" && eval "$reimport") >"$T_OUT" 2>"$T_ERR" || fail "the re-import demo --keep suggests fails: $reimport: $(cat "$T_ERR")"
R=$KEEP/verken/dossiers/demo-0001.git
expect_exit 0 env GNUPGHOME="$KEEP/auditor/gnupg" XDG_CACHE_HOME="$T_ROOT/cache" "$KLUIS" --vault "$KEEP/verken" verify demo-0001 --trust "$KOUT_DIR"
expect_exit 0 env GNUPGHOME="$KEEP/opdrachtgever/gnupg" "$KLUIS" --vault "$KEEP/verken" log demo-0001 --json
got=$(python3 -c '
import json, sys
print(" ".join(e["action"] for e in json.loads(sys.argv[1])["events"] if e["action"] != "access"))
' "$OUT")
assert_eq "$got" "init add add consent add correct statement erase close transfer" "the re-imported dossier's events"
verify_all_commits "$R" "$KEEP/auditor/gnupg" main
git -C "$R" fsck --strict --no-dangling >/dev/null 2>&1 || fail "stock git fsck fails on the re-imported demo"
pass "the re-import demo --keep suggests works: the whole traject's history, verified by kluis (public keys only) and stock git"

for marker in Intakegesprek Rugklachten "Re-integratie tweede spoor" "Verzoek van de klant"; do
	if grep -rqaF -- "$marker" "$KEEP"; then fail "'$marker' is in plaintext somewhere under the kept demo"; fi
done
[ -z "$(find "$KEEP" -name 'plan-van-aanpak*')" ] || fail "the demo left its plaintext plan behind"
pass "the kept demo holds no plaintext of its notes, traject, reason or plan"

for p in "${PLACES[@]}"; do
	gpgconf --homedir "$KEEP/$p/gnupg" --kill all >/dev/null 2>&1 || true
done

expect_exit 2 k demo --keep "$KEEP"
assert_contains "$ERR" "$KEEP" "refusal of an existing --keep"
expect_exit 2 k demo extra-argument
pass "demo --keep of an existing directory, or with an argument, exits 2"
