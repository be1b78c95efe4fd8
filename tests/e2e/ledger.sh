#!/usr/bin/env bash
# e2e/ledger.sh - the vault's ledger (VAULT/ledger.git) is verified like a dossier's history:
# `ledger show` marks an unsigned record, or one signed by a key without the authority, as
# INVALID and exits 1; `verify --all` verifies the ledger and notices a dossier that vanished
# without a destroy record (or appeared without a create record); `destroy --reason` keeps the
# free text only encrypted to the directie; the verklaring van vernietiging is a standalone
# document that stock gpg verifies; an opdrachtgever's signed receipt of a transfer is
# checked and recorded, a forged one refused.
set -euo pipefail
. "$KLUIS_TEST_DIR/lib.sh"

L=$KLUIS_VAULT/ledger.git
pub_home
AUD=$REPLY
secret_home "$DIR"
DIR_ONLY=$REPLY
PERSON="Jan Jansen $$"

init_dossier k-0001
init_dossier k-0002
expect_exit 0 k ledger show
assert_not_contains "$OUT" "INVALID" "ledger show of a clean ledger"
expect_exit 0 k verify --all
assert_contains "$OUT" "ledger: verified (2 records" "verify --all's ledger line"
pass "a clean ledger (two create records): ledger show exit 0, verify --all verifies it"

# ---- forged records ----
GOOD=$(git -C "$L" rev-parse main)
restore() { git -C "$L" update-ref refs/heads/main "$GOOD"; }
forge() { # KEY|- ROLE SUBJECT TRAILERS... : a record on top of main, signed by KEY (- unsigned)
	local key=$1 role=$2 subject=$3 t
	shift 3
	{
		printf '%s\n\n' "$subject"
		for t in "$@"; do printf '%s\n' "$t"; done
	} >"$T_WORK/msg"
	local now email=${key#-}
	now=$(date +%s)
	[ "$key" != - ] || email=$DIR
	t=$(env GIT_AUTHOR_NAME="$role" GIT_AUTHOR_EMAIL="$email" GIT_AUTHOR_DATE="$now +0000" \
		GIT_COMMITTER_NAME="$role" GIT_COMMITTER_EMAIL="$email" GIT_COMMITTER_DATE="$now +0000" \
		git -C "$L" -c gpg.program=gpg commit-tree $([ "$key" = - ] || echo "-S$key") -p main "main^{tree}" <"$T_WORK/msg")
	git -C "$L" update-ref refs/heads/main "$t"
}
verify_all_fails() { # WHAT : verify --all exits 1 (a summary line per dossier on stderr); stdout in $OUT
	local rc=0
	k verify --all >"$T_WORK/va.out" 2>"$T_WORK/va.err" || rc=$?
	OUT=$(cat "$T_WORK/va.out")
	[ "$rc" -eq 1 ] || fail "$1: verify --all exited $rc, want 1: $OUT $(cat "$T_WORK/va.err")"
}
show_refused() { # WHAT : ledger show exits 1, marks the last record INVALID, says why on one line
	expect_exit 1 k retention
	verify_all_fails "$1"
	assert_contains "$OUT" "ledger " "$1: verify --all"
	k ledger show --json >"$T_WORK/l.json" 2>/dev/null || true
	python3 - "$T_WORK/l.json" <<'PY' || fail "$1: ledger show --json: $(cat "$T_WORK/l.json")"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["ok"] is False and j["findings"], j
assert j["events"][-1]["valid"] is False and j["events"][-1]["finding"], j["events"][-1]
assert all(e["valid"] for e in j["events"][:-1]), j["events"]
PY
	expect_exit 1 k ledger show
	assert_contains "$OUT" "INVALID" "$1: ledger show"
	assert_contains "$ERR" "does not verify" "$1: ledger show's error"
}

forge - directie "destroy k-0002" "Kluis-Action: destroy" "Kluis-Dossier: k-0002" "Kluis-Role: directie" "Kluis-Grounds: P13.2" "Kluis-Seq: 3"
show_refused "an unsigned destroy record"
assert_contains "$OUT" "unsigned" "an unsigned record's finding"
restore
pass "an unsigned record appended with stock git: ledger show marks it INVALID and exits 1 (--json: valid false), verify --all and retention refuse: $ERR"

forge "$OUTSIDER" directie "create k-0009" "Kluis-Action: create" "Kluis-Dossier: k-0009" "Kluis-Role: directie" "Kluis-Seq: 3"
show_refused "a create record signed by an outsider"
assert_contains "$OUT" "trust root" "an outsider's create record's finding"
restore
forge "$OUTSIDER" medewerker "pull k-0001" "Kluis-Action: pull" "Kluis-Dossier: k-0001" "Kluis-Role: medewerker" "Kluis-Seq: 3"
show_refused "a pull record of k-0001 signed by an outsider"
assert_contains "$OUT" "never held this role" "an outsider's pull record's finding"
restore
pass "records re-signed by an outsider (a create; a pull of a dossier it holds no role in): INVALID, exit 1"

forge "$DIR" directie "create k-0009" "Kluis-Action: create" "Kluis-Dossier: k-0009" "Kluis-Role: directie" "Kluis-Seq: 5"
show_refused "a record with seq 5 after 2"
assert_contains "$OUT" "Kluis-Seq" "a seq gap's finding"
restore
forge "$DIR" directie "create k-0009" "Kluis-Action: create" "Kluis-Dossier: k-0009" "Kluis-Role: directie" "Kluis-Note: Piet Pieters" "Kluis-Seq: 3"
show_refused "a record with a trailer kluis never writes"
restore
forge "$DIR" directie "create k-0009" "Kluis-Action: create" "Kluis-Dossier: k-0009" "Kluis-Role: medewerker" "Kluis-Seq: 3"
show_refused "a record whose Kluis-Role is not its author's role"
restore
pass "records by the trust root itself but not as kluis writes them (a seq gap, an unknown trailer with a name, a role mismatch): INVALID, exit 1"

expect_exit 0 k ledger show
expect_exit 0 k verify --all
pass "the ledger restored: clean again"

# ---- dossiers held against the ledger ----
cp -a "$(repo_of k-0002)" "$T_WORK/k-0002.git"
rm -rf "$(repo_of k-0002)"
verify_all_fails "a vanished dossier"
assert_match "$OUT" $'(^|\n)'"ledger [0-9a-f]{40} dossier 'k-0002' is gone from the vault, yet the ledger has no destroy or transfer record" "verify --all of a vanished dossier"
mv "$T_WORK/k-0002.git" "$(repo_of k-0002)"
expect_exit 0 k verify --all
pass "a dossier removed behind kluis's back (no destroy record): verify --all finds it: $OUT"

mkdir -p "$T_WORK/other"
KLUIS_VAULT=$T_WORK/other k --as "$DIR" init k-0005 --klant "$KLANT" --medewerker "$MEDEW" --directie "$DIR" --opdrachtgever "$OPDR" >/dev/null 2>&1 ||
	fail "init in a second vault failed"
cp -a "$T_WORK/other/dossiers/k-0005.git" "$(repo_of k-0005)"
verify_all_fails "a dossier slipped in"
assert_contains "$OUT" "ledger - dossier 'k-0005' is in the vault, but the ledger has no valid create, import or pull record of it" "verify --all of a dossier slipped in"
rm -rf "$(repo_of k-0005)"
pass "a dossier slipped into dossiers/ without a ledger record: verify --all finds it"

# ---- destroy: the reason encrypted, the verklaring standalone and signed ----
CERT=$T_WORK/verklaring.txt
touch "$CERT"
expect_exit 1,2 k --as "$DIR" destroy k-0002 --force --reason "verzoek van $PERSON" --certificate "$CERT"
[ -d "$(repo_of k-0002)" ] || fail "destroy with an existing --certificate file destroyed the dossier"
rm -f "$CERT"
expect_exit 1,2 k --as "$DIR" destroy k-0002 --force --reason "verzoek van $PERSON" --certificate "$T_WORK/no/such/dir/v.txt"
[ -d "$(repo_of k-0002)" ] || fail "destroy with an unwritable --certificate destroyed the dossier"
pass "destroy --certificate onto an existing file or into a missing directory: refused before anything is destroyed"

HEAD2=$(git -C "$(repo_of k-0002)" rev-parse main)
expect_exit 0 k --as "$DIR" destroy k-0002 --force --reason "verzoek van $PERSON" --certificate "$CERT"
[ ! -e "$(repo_of k-0002)" ] || fail "k-0002 is still there"
[ "$(stat -c %a "$CERT")" = 600 ] && [ "$(stat -c %a "$CERT.asc")" = 600 ] || fail "the verklaring or its signature is not 0600"
if git -C "$L" log -p main | grep -qF "$PERSON"; then fail "the reason is in plaintext in git log -p of the ledger"; fi
if git -C "$L" cat-file --batch-all-objects --batch | grep -qaF "$PERSON"; then fail "the reason is in plaintext in an object of the ledger"; fi
grep -qF "$PERSON" "$CERT" && fail "the reason is in the verklaring"
assert_nowhere "$PERSON"
pass "destroy --reason naming a person: not in git log -p of the ledger, in no ledger object, not in the verklaring, nowhere in the vault"

blob=$(git -C "$L" ls-tree -r --name-only main | grep '^reasons/k-0002-.*\.pgp$') || fail "no encrypted reason in the ledger's tree"
git -C "$L" cat-file blob "main:$blob" >"$T_WORK/reason.pgp"
plain=$(GNUPGHOME=$DIR_ONLY gpg --batch --quiet --decrypt "$T_WORK/reason.pgp" 2>/dev/null) || fail "stock gpg with the directie's key cannot decrypt the reason"
assert_eq "$plain" "verzoek van $PERSON" "the decrypted reason"
expect_exit 0 k --as "$DIR" ledger show k-0002 --reasons
assert_contains "$OUT" "Reason (decrypted): verzoek van $PERSON" "ledger show --reasons"
pass "the reason is a message to the directie: stock gpg with the directie's key alone decrypts it; ledger show --reasons shows it"

gpg --homedir "$AUD" --batch --status-fd 1 --verify "$CERT.asc" "$CERT" >"$T_WORK/gv" 2>/dev/null || fail "stock gpg does not verify the verklaring: $(cat "$T_WORK/gv")"
grep -q "^\[GNUPG:\] VALIDSIG .* $DIR\$" "$T_WORK/gv" || fail "the verklaring is not signed by the directie's key: $(cat "$T_WORK/gv")"
for want in "VERKLARING VAN VERNIETIGING" "dossier k-0002" "Grondslag:" "--force" "Door:            directie $DIR" "Laatste vastlegging: $HEAD2"; do
	grep -qF -- "$want" "$CERT" || fail "the verklaring lacks '$want': $(cat "$CERT")"
done
sed 's/k-0002/k-0003/' "$CERT" >"$T_WORK/tampered.txt"
if gpg --homedir "$AUD" --batch --verify "$CERT.asc" "$T_WORK/tampered.txt" 2>/dev/null; then fail "stock gpg accepts a tampered verklaring"; fi
expect_exit 0 k ledger show k-0002
assert_contains "$OUT" "Certificate: certificates/k-0002-" "ledger show lists the verklaring"
assert_contains "$OUT" "Laatste vastlegging: $HEAD2" "ledger show prints the verklaring"
cpath=$(git -C "$L" ls-tree -r --name-only main | grep '^certificates/k-0002-.*\.txt$')
git -C "$L" cat-file blob "main:$cpath" | cmp - "$CERT" || fail "the verklaring in the ledger differs from the file written"
expect_exit 0 k verify --all
pass "the verklaring: stock gpg --verify FILE.asc FILE accepts it (by the directie), rejects it changed; it names the dossier, grounds, --force, by whom, the head; the same in the ledger; verify --all clean"

# the default place
expect_exit 0 k --as "$DIR" destroy k-0001 --force --reason "einde"
DEF=$(ls "$KLUIS_VAULT"/certificates/k-0001-*.txt)
gpg --homedir "$AUD" --batch --verify "$DEF.asc" "$DEF" 2>/dev/null || fail "stock gpg does not verify the verklaring at its default place"
[ "$(stat -c %a "$KLUIS_VAULT/certificates")" = 700 ] || fail "VAULT/certificates is not 0700"
pass "without --certificate the verklaring goes to VAULT/certificates/ID-TIME.txt (+ .asc), which stock gpg verifies"

# ---- receipts ----
init_dossier k-0003
expect_exit 0 k --as "$MEDEW" close k-0003
expect_exit 0 k --as "$MEDEW" transfer k-0003 --out "$T_WORK/k-0003.tgz"
ASHA=$(sha256sum "$T_WORK/k-0003.tgz" | cut -d' ' -f1)
XHEAD=$(k ledger show k-0003 --json | python3 -c 'import json,sys; print([e for e in json.load(sys.stdin)["events"] if e["action"] == "transfer"][0]["fields"]["Kluis-Head"])')
expect_exit 0 k ledger show k-0003
assert_contains "$OUT" "no receipt yet" "ledger show of a transfer without receipt"
receipt() { # FILE SIGNER [DOSSIER SHA HEAD IMPORTER]
	printf 'kluis-receipt 1\ndossier %s\narchive-sha256 %s\nhead %s\nimporter %s\nreceived %s\n' "${3:-k-0003}" "${4:-$ASHA}" "${5:-$XHEAD}" \
		"${6:-$OPDR}" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$1"
	rm -f "$1.asc"
	gpg --batch --quiet --local-user "$2" --detach-sign -a -o "$1.asc" "$1"
}
n0=$(git -C "$L" rev-list --count main)
receipt "$T_WORK/r-out" "$OUTSIDER"
expect_exit 1 k --as "$DIR" ledger receipt "$T_WORK/r-out"
assert_contains "$ERR" "signed" "a receipt signed by another key than its importer"
receipt "$T_WORK/r-out2" "$OUTSIDER" k-0003 "$ASHA" "$XHEAD" "$OUTSIDER"
expect_exit 1 k --as "$DIR" ledger receipt "$T_WORK/r-out2"
receipt "$T_WORK/r-sha" "$OPDR" k-0003 "$(printf '%064d' 0)"
expect_exit 1 k --as "$DIR" ledger receipt "$T_WORK/r-sha"
receipt "$T_WORK/r-ok" "$OPDR"
cp "$T_WORK/r-ok" "$T_WORK/r-edit"
cp "$T_WORK/r-ok.asc" "$T_WORK/r-edit.asc"
sed -i 's/^received .*/received 2020-01-01T00:00:00Z/' "$T_WORK/r-edit"
expect_exit 1 k --as "$DIR" ledger receipt "$T_WORK/r-edit"
expect_exit 1 k --as "$KLANT" ledger receipt "$T_WORK/r-ok"
assert_eq "$(git -C "$L" rev-list --count main)" "$n0" "ledger records after the refused receipts"
pass "forged receipts refused, nothing recorded: signed by an outsider (naming the opdrachtgever, or itself), another archive sha256, a signed receipt edited afterwards, recorded by the klant"

expect_exit 0 k --as "$DIR" ledger receipt "$T_WORK/r-ok"
expect_exit 0 k ledger show k-0003
assert_contains "$OUT" "Receipt: recorded" "ledger show of a transfer with its receipt"
assert_contains "$OUT" "importer $OPDR" "ledger show prints the receipt"
k ledger show k-0003 --json >"$T_WORK/r.json"
python3 - "$T_WORK/r.json" "$ASHA" "$OPDR" <<'PY' || fail "ledger show --json with a receipt: $(cat "$T_WORK/r.json")"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["ok"], j
ev = j["events"]
assert [e["action"] for e in ev] == ["create", "transfer", "destroy", "receipt"], ev
assert ev[1]["receipted"] is True, ev[1]
r = ev[3]
assert r["valid"] and r["fields"]["Kluis-Archive-Sha256"] == sys.argv[2] and r["fields"]["Kluis-Importer"] == sys.argv[3], r
PY
expect_exit 2 k --as "$DIR" ledger receipt "$T_WORK/r-ok"
expect_exit 0 k verify --all
verify_all_commits "$L" "$AUD" main
pass "a receipt signed by the opdrachtgever: recorded (signed record, receipt and its signature in the tree), ledger show says so; a second time refused; verify --all clean; stock git verify-commit accepts every record"

# a receipt record whose stored receipt was swapped for one by an outsider is INVALID
GOOD=$(git -C "$L" rev-parse main)
rpath=$(git -C "$L" ls-tree -r --name-only main | grep '^receipts/k-0003-.*\.txt\.asc$')
gpg --batch --quiet --local-user "$OUTSIDER" --detach-sign -a -o "$T_WORK/bad.asc" "$T_WORK/r-ok"
export GIT_INDEX_FILE=$T_WORK/idx
git -C "$L" read-tree main
blob=$(git -C "$L" hash-object -w "$T_WORK/bad.asc")
git -C "$L" update-index --cacheinfo "100644,$blob,$rpath"
tree=$(git -C "$L" write-tree)
unset GIT_INDEX_FILE
now=$(date +%s)
msg=$(git -C "$L" log -1 --format=%B main)
t=$(env GIT_AUTHOR_NAME=directie GIT_AUTHOR_EMAIL="$DIR" GIT_AUTHOR_DATE="$now +0000" GIT_COMMITTER_NAME=directie GIT_COMMITTER_EMAIL="$DIR" \
	GIT_COMMITTER_DATE="$now +0000" git -C "$L" -c gpg.program=gpg commit-tree "-S$DIR" -p main~1 "$tree" <<<"$msg")
git -C "$L" update-ref refs/heads/main "$t"
expect_exit 1 k ledger show k-0003
assert_contains "$OUT" "not signed by the importer" "a receipt record with an outsider's receipt signature"
assert_contains "$OUT" "no receipt yet" "ledger show when the receipt record is invalid"
restore
pass "the receipt record re-made by the trust root with the receipt's signature swapped for an outsider's: INVALID, the transfer shows no receipt"
