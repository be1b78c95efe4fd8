#!/usr/bin/env bash
# e2e/traject.sh - one whole traject, as it really goes, so that ordinary events stay working
# together: the intake, notes by two advisers, the adviser replaced, the klant's statements
# and approval, a consent granted and withdrawn, a special-category note under it, a
# correction, an erasure after a stock `git gc`, a breach and a request, close, transfer,
# import at the opdrachtgever (its own keyring, with its own revocation of the replaced
# adviser's key), the klant's inzage and export served there, a request answered there, and
# the destruction at the end with its certificate. After every step: `kluis verify` (public
# keys only), stock `git fsck`, and stock `git verify-commit` of every commit.
set -euo pipefail
. "$KLUIS_TEST_DIR/lib.sh"
export XDG_CACHE_HOME=$T_ROOT/cache
mkdir -p "$XDG_CACHE_HOME"

D=k-traject
MEDEW2=$(kt_key medewerker2 2>/dev/null)
[[ $MEDEW2 =~ ^[0-9A-F]{40}$ ]] || fail "no second adviser's key"
pub_home "$KLANT" "$MEDEW" "$MEDEW2" "$DIR" "$OPDR" "$OUTSIDER"
AUD=$REPLY
R=$(repo_of "$D")
CV=$KLUIS_VAULT   # the vault that holds the dossier

# sqv_commit COMMIT: Sequoia's sqv accepts the commit's signature with the keys in $AUD (the
# gpgsig header's text over the commit without it, as git verify-commit checks it)
sqv_commit() {
	commit_split "$R" "$1" "$T_WORK/sig" "$T_WORK/data"
	gpg --homedir "$AUD" --batch --export >"$T_WORK/keys.gpg"
	sqv --keyring "$T_WORK/keys.gpg" "$T_WORK/sig" "$T_WORK/data" >/dev/null 2>"$T_WORK/sqv.err" || { cat "$T_WORK/sqv.err" >&2; return 1; }
}

# check WHAT: the dossier verifies (public keys only), stock git finds nothing wrong, and stock
# git verify-commit accepts every signature (where a key was revoked since, which git refuses
# even when the signature predates a soft revocation, Sequoia's sqv judges it, as kluis does)
check() {
	local what=$1 c
	expect_exit 0 env GNUPGHOME="$AUD" KLUIS_VAULT="$CV" "$KLUIS" verify "$D" --trust "$DIR"
	git -C "$R" fsck --full --no-progress >/dev/null 2>&1 || fail "$what: stock git fsck: $(git -C "$R" fsck --full 2>&1 | head -3)"
	for c in $(git -C "$R" rev-list main) $(git -C "$R" rev-list refs/kluis/access 2>/dev/null || true); do
		GNUPGHOME=$AUD git -C "$R" verify-commit "$c" >/dev/null 2>&1 || sqv_commit "$c" ||
			fail "$what: stock git verify-commit and sqv refuse $c"
	done
	pass "$what: kluis verify, git fsck and git verify-commit (or sqv) agree"
}

# ---- the traject at the organisation ----
init_dossier "$D" --traject "re-integratie"
check "intake"
expect_exit 0 k --as "$MEDEW" add "$D" --kind contact --origin klant -m "intakegesprek"
E_INTAKE=$OUT
expect_exit 0 k --as "$MEDEW" add "$D" --kind plan -m "plan van aanpak"
E_PLAN=$OUT
check "the first adviser's notes"
expect_exit 0 k --as "$KLANT" statement "$D" -m "mijn eigen verklaring over het plan"
expect_exit 0 k --as "$KLANT" approve "$D" "$E_PLAN"
check "the klant's statement and approval"
expect_exit 0 k --as "$KLANT" consent "$D" grant --scope health --purpose "re-integratie met medische beperking"
expect_exit 0 k --as "$MEDEW" add "$D" --special health -m "medische beperking: rugklachten"
E_HEALTH=$OUT
check "a consent and a special-category note under it"
# the adviser is replaced: the commonest event of a traject
expect_exit 0 k --as "$DIR" roles "$D" --remove "$MEDEW" --add medewerker "$MEDEW2"
check "the adviser replaced (roles change and rewrap)"
expect_exit 0 k --as "$MEDEW2" add "$D" -m "kennismaking met de nieuwe adviseur"
expect_exit 0 k --as "$MEDEW2" correct "$D" "$E_INTAKE" -m "intakegesprek, datum gecorrigeerd"
expect_exit 0 k --as "$KLANT" consent "$D" withdraw --scope health --purpose "re-integratie met medische beperking"
check "the second adviser's note, a correction, the consent withdrawn"
# maintenance ran, then the klant asks for an erasure (P11.2)
git -C "$R" gc -q
git -C "$R" commit-graph write --reachable 2>/dev/null || true
expect_exit 0 k --as "$DIR" erase "$D" "$E_HEALTH" --reason "verzoek van de klant"
check "an erasure after git gc"
git -C "$R" bundle create "$T_WORK/after-erase.bundle" --all >/dev/null 2>&1 || fail "stock git bundle create after the erasure"
git clone -q --mirror "$R" "$T_WORK/clone.git" 2>/dev/null || fail "stock git clone after the erasure"
pass "stock git bundle and clone after the erasure"
expect_exit 0 k --as "$DIR" breach add --description "laptop kwijt" --dossier "$D"
expect_exit 0 k --as "$MEDEW2" request "$D" add --type inzage
REQ1=$OUT
expect_exit 0 k --as "$MEDEW2" inzage "$D" --out "$T_WORK/inzage-1.html" --format html
expect_exit 0 k --as "$MEDEW2" request "$D" done "$REQ1" -m "inzage verstrekt"
check "a breach recorded, a request answered with an inzage"
expect_exit 0 k --as "$MEDEW2" close "$D"
check "close"
expect_exit 0 k --as "$DIR" transfer "$D" --out "$T_WORK/$D.tgz"
[ ! -e "$R" ] || fail "the local copy survived the transfer"
pass "transfer: the archive is written and the local copy destroyed"

# ---- at the opdrachtgever: its own keyring, its own revocation of the first adviser's key ----
actor_home "$OPDR" "$KLANT"
OH=$REPLY
# the organisation revoked the first adviser's key the ordinary way ("no longer used", soft),
# after its signatures; the opdrachtgever's keyring holds that revocation
secret_home "$MEDEW"
MH=$REPLY
printf 'revkey\ny\n3\nvervangen door een andere adviseur\n\ny\nsave\n' |
	gpg --homedir "$MH" --no-tty --command-fd 0 --status-fd 2 --pinentry-mode loopback --passphrase '' --edit-key "$MEDEW" >/dev/null 2>&1 ||
	fail "gpg could not revoke the first adviser's key"
gpg --homedir "$MH" --batch --export "$MEDEW" | gpg --homedir "$OH" --batch --quiet --import 2>/dev/null
gpg --homedir "$OH" --batch --with-colons --list-keys "$MEDEW" | grep_q '^pub:r' || fail "the opdrachtgever's keyring does not hold the revocation"
OV=$T_ROOT/ovault
ko() { GNUPGHOME=$OH KLUIS_VAULT=$OV "$KLUIS" "$@"; }
expect_exit 0 ko --as "$OPDR" import "$T_WORK/$D.tgz" --trust "$DIR"
R=$OV/dossiers/$D.git
CV=$OV
# from here an auditor at the opdrachtgever verifies: the archive's keys and the revocation
make_home
AUD=$REPLY
mkdir -p "$T_WORK/x"
tar xzf "$T_WORK/$D.tgz" -C "$T_WORK/x"
cat "$T_WORK/x"/keys/*.asc | gpg --homedir "$AUD" --batch --quiet --import 2>/dev/null
gpg --homedir "$MH" --batch --export "$MEDEW" | gpg --homedir "$AUD" --batch --quiet --import 2>/dev/null
check "import at the opdrachtgever (the replaced adviser's key revoked there, softly)"
expect_exit 0 ko --as "$OPDR" inzage "$D" --out "$T_WORK/inzage-2.html" --format html
expect_exit 0 ko --as "$OPDR" export "$D" --out "$T_WORK/export.zip"
expect_exit 0 ko --as "$OPDR" request "$D" add --type correctie
REQ2=$OUT
expect_exit 0 ko --as "$OPDR" correct "$D" "$E_PLAN" -m "plan van aanpak, op verzoek van de klant aangevuld"
expect_exit 0 ko --as "$OPDR" request "$D" done "$REQ2" -m "gecorrigeerd"
check "the klant's inzage, export and a correction, served by the opdrachtgever"

# ---- the end of retention ----
expect_exit 0 ko --as "$OPDR" destroy "$D" --reason "einde bewaartermijn" --force
[ ! -e "$R" ] || fail "the dossier survived its destruction"
expect_exit 0 ko --as "$OPDR" ledger show "$D"
assert_contains "$OUT" "destroy" "the ledger after the destruction"
pass "destroyed at the opdrachtgever, recorded in its ledger"
