#!/usr/bin/env bash
# e2e/held.sh - after the transfer the opdrachtgever holds the dossier ten years and answers the
# klant (W7, P10-P13): inzage, export, the request register, corrections and erasures are done
# at the opdrachtgever, signed and logged; the klant may still add a statement; nothing else
# happens to a held dossier. Each step verifies (kluis verify, public keys only; stock git
# verify-commit), and what a held dossier may not take is refused by kluis and, forged with
# stock git, by the verifier.
set -euo pipefail
. "$KLUIS_TEST_DIR/lib.sh"
export XDG_CACHE_HOME=$T_ROOT/cache
mkdir -p "$XDG_CACHE_HOME"

D=k-held
pub_home
AUD=$REPLY
actor_home "$OPDR" "$KLANT"
OH=$REPLY                       # the opdrachtgever's keyring (the klant's key too, to act as her)
OV=$T_ROOT/ovault
ko() { GNUPGHOME=$OH KLUIS_VAULT=$OV "$KLUIS" "$@"; }
kaud() { GNUPGHOME=$AUD KLUIS_VAULT=$OV "$KLUIS" "$@"; }

# ---- at the organisation: a traject, closed and transferred ----
init_dossier "$D"
expect_exit 0 k --as "$MEDEW" add "$D" --kind plan -m "plan van aanpak"
E1=$OUT
expect_exit 0 k --as "$MEDEW" add "$D" -m "gesprek met werkgever"
E2=$OUT
expect_exit 0 k --as "$KLANT" statement "$D" -m "mijn verklaring"
expect_exit 0 k --as "$MEDEW" close "$D"
expect_exit 0 k --as "$DIR" transfer "$D" --out "$T_WORK/$D.tgz"
pass "the organisation closed and transferred the dossier"

# ---- at the opdrachtgever ----
expect_exit 0 ko --as "$OPDR" import "$T_WORK/$D.tgz" --trust "$DIR"
R=$OV/dossiers/$D.git
state=$(git -C "$R" cat-file blob main:dossier | awk '$1 == "state" { print $2 }')
assert_eq "$state" transferred "the dossier file's state after the transfer"
expect_exit 0 kaud verify "$D" --trust "$DIR"
pass "imported: the dossier file says transferred, and it verifies with public keys only"

# the klant's inzage and export, served by the opdrachtgever (P10, P12)
expect_exit 0 ko --as "$OPDR" inzage "$D" --out "$T_WORK/inzage.html" --format html
[ -s "$T_WORK/inzage.html" ] || fail "no inzage written"
expect_exit 0 ko --as "$OPDR" export "$D" --out "$T_WORK/export.zip"
[ -s "$T_WORK/export.zip" ] || fail "no export written"
pass "the opdrachtgever serves the klant's inzage and export"

# the request register: a request, then its answer (P10.2, P11.3)
expect_exit 0 ko --as "$OPDR" request "$D" add --type verwijdering
REQ=$OUT
assert_match "$REQ" '^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{4}$' "request id"
expect_exit 0 ko --as "$OPDR" request "$D" done "$REQ" -m "afgehandeld"
# a correction and an erasure by the opdrachtgever (P11)
expect_exit 0 ko --as "$OPDR" correct "$D" "$E1" -m "plan van aanpak, gecorrigeerd"
expect_exit 0 ko --as "$OPDR" erase "$D" "$E2" --reason "verzoek van de klant"
# the klant's own statement (W6b)
expect_exit 0 ko --as "$KLANT" statement "$D" -m "nog een verklaring"
expect_exit 0 kaud verify "$D" --trust "$DIR"
expect_exit 0 kaud verify "$D" --trust "$DIR" --full
for c in $(git -C "$R" rev-list main); do
	GNUPGHOME=$AUD git -C "$R" verify-commit "$c" >/dev/null 2>&1 || fail "stock git refuses commit $c"
done
pass "requests, a correction, an erasure and a statement at the opdrachtgever verify (kluis and stock git)"

# ---- what a held dossier does not take ----
expect_exit 1 ko --as "$OPDR" add "$D" -m "een eigen notitie"
assert_contains "$ERR" "transferred" "refusal of a note in a held dossier"
expect_exit 1 ko --as "$OPDR" roles "$D" --add medewerker "$OUTSIDER"
assert_contains "$ERR" "transferred" "refusal of a roles change in a held dossier"
expect_exit 1 ko --as "$KLANT" approve "$D" "$E1"
pass "a note, a roles change and an approval are refused in a held dossier"

# forged with stock git: the klant's approval, which a held dossier does not take
H=$(git -C "$R" rev-parse main)
SEQ=$(git -C "$R" log -1 --format='%(trailers:key=Kluis-Seq,valueonly)' main | sed '/^$/d')
APPROVE_MSG=$(printf 'approve %s\n\nKluis-Action: approve\nKluis-Entry: %s\nKluis-Approves: %s\nKluis-Role: klant\nKluis-Seq: %s\n' \
	"$E1" "$E1" "$(git -C "$R" log --format=%H --grep "Kluis-Entry: $E1" main | tail -1)" $((SEQ + 1)))
F=$(GNUPGHOME=$OH GIT_AUTHOR_NAME=klant GIT_AUTHOR_EMAIL=$KLANT GIT_COMMITTER_NAME=klant GIT_COMMITTER_EMAIL=$KLANT \
	git -C "$R" commit-tree -S"$KLANT" -p "$H" -m "$APPROVE_MSG" "main^{tree}")
git -C "$R" update-ref refs/heads/main "$F"
rm -f "$OV/checkpoints/$D"; GNUPGHOME=$OH KLUIS_VAULT=$OV "$KLUIS" checkpoint "$D" --out "$OV/checkpoints/$D" >/dev/null
expect_exit 1 kaud verify "$D" --trust "$DIR" --full
assert_contains "$OUT" "transferred" "the verifier's finding on an approval in a held dossier"
git -C "$R" update-ref refs/heads/main "$H"
rm -f "$OV/checkpoints/$D"; GNUPGHOME=$OH KLUIS_VAULT=$OV "$KLUIS" checkpoint "$D" --out "$OV/checkpoints/$D" >/dev/null
expect_exit 0 kaud verify "$D" --trust "$DIR" --full
pass "an approval forged with stock git onto a held dossier is a finding"
