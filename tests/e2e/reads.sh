#!/usr/bin/env bash
# e2e/reads.sh - what the read log (refs/kluis/access, invariant 6) holds: a record means a
# plaintext was produced. A decryption that is refused (an entry withheld from the
# opdrachtgever, P8) leaves no record, in every way `show` delivers (standard output, --out,
# --json, a body too large to hold that streams); the klant's inzage then lists no such read.
# Decryptions kluis makes for its own decisions are on record too, each exactly once with its
# own purpose code: `vertegenwoordiging` (the date of birth, at a consent grant), `toestemming`
# (the consent register, at a special-category add and a withdrawal), `register` (request
# list), `rewrap` (a roles change), `verify-deep` (only what decrypted).
#
# The opdrachtgever runs with its own GNUPGHOME (its secret key and the public keys): the
# test's own home holds every secret key, so gpg there would decrypt with another's key.
# Witnesses: stock git (log, rev-parse, verify-commit) and kluis verify --full.
set -euo pipefail
. "$KLUIS_TEST_DIR/lib.sh"

ID_RE='^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{4}$'
D=k-reads
R=$(repo_of "$D")
MEDEW2=$(kt_key medewerker2 2>/dev/null)
[[ $MEDEW2 =~ ^[0-9A-F]{40}$ ]] || fail "could not make the second adviser's key (got '$MEDEW2')"
actor_home "$OPDR"; OH=$REPLY
pub_home "$KLANT" "$MEDEW" "$DIR" "$OPDR" "$OUTSIDER" "$MEDEW2"; AUD=$REPLY

# nreads [PURPOSE] : records on the read log (with that purpose)
nreads() {
	if [ $# -eq 0 ]; then
		git -C "$R" rev-list --count refs/kluis/access 2>/dev/null || echo 0
	else
		git -C "$R" log refs/kluis/access --format='%(trailers:key=Kluis-Purpose,valueonly)' 2>/dev/null | grep -c -x "$1" || true
	fi
}
# rtrailer KEY [REV] : a trailer of the newest read record (or REV)
rtrailer() { git -C "$R" log -1 --format="%(trailers:key=$1,valueonly)" "${2:-refs/kluis/access}" | sed '/^$/d'; }
# new_records N0 : the purposes of the records after the first N0, oldest first, one a line
new_records() { git -C "$R" log --reverse refs/kluis/access --format='%(trailers:key=Kluis-Purpose,valueonly)' | sed '/^$/d' | tail -n +"$(($1 + 1))"; }
as_opdr() { env GNUPGHOME="$OH" "$KLUIS" --as "$OPDR" "$@"; }

expect_exit 0 k --as "$DIR" init "$D" --klant "$KLANT" --medewerker "$MEDEW" --directie "$DIR" --opdrachtgever "$OPDR" \
	--birth-date 1980-05-01 --traject "re-integratie"
assert_eq "$(nreads)" 0 "read records after init"

# ---- the date of birth, read for a consent grant (P4.1) ----
expect_exit 0 k --as "$KLANT" consent "$D" grant --scope health --purpose "begeleiding bij ziekte"
CONSENT=$OUT
assert_match "$CONSENT" "$ID_RE" "id of the consent"
assert_eq "$(new_records 0)" vertegenwoordiging "records after the klant's consent grant"
assert_eq "$(rtrailer Kluis-Role)" klant "Kluis-Role of the vertegenwoordiging record"
assert_eq "$(rtrailer Kluis-Entry)" - "Kluis-Entry of the vertegenwoordiging record"
assert_eq "$(rtrailer Kluis-Head)" "$(git -C "$R" rev-parse main~1)" "Kluis-Head of the vertegenwoordiging record (the head before the grant)"
pass "a consent grant reads the date of birth for its P4.1 decision: exactly one record, purpose vertegenwoordiging, by the klant"

# ---- the consent register, read for a special-category add (P8) ----
expect_exit 0 k --as "$MEDEW" add "$D" -m "gewone notitie"
N1=$OUT
n0=$(nreads)
expect_exit 0 k --as "$MEDEW" add "$D" --special health -m "medische notitie"
H1=$OUT
assert_match "$H1" "$ID_RE" "id of the health entry"
assert_eq "$(new_records "$n0")" toestemming "records after the special add"
assert_eq "$(rtrailer Kluis-Role)" medewerker "Kluis-Role of the toestemming record"
assert_eq "$(rtrailer Kluis-Entry)" - "Kluis-Entry of the toestemming record"
assert_eq "$(rtrailer Kluis-Head)" "$(git -C "$R" rev-parse main~1)" "Kluis-Head of the toestemming record (the head it decided on)"
n0=$(nreads)
expect_exit 0 k --as "$MEDEW" add "$D" -m "nog een gewone notitie"
N2=$OUT
assert_eq "$(nreads)" "$n0" "records after an ordinary add"
pass "a special-category add reads the consent register: exactly one record, purpose toestemming, by the medewerker; an ordinary add reads nothing"

# ---- the opdrachtgever's show of the withheld entry: refused, and no read ----
n0=$(nreads)
acc0=$(git -C "$R" rev-parse refs/kluis/access)
expect_exit 1 as_opdr show "$D" "$H1"
assert_eq "$OUT" "" "standard output of the refused show"
assert_eq "$(git -C "$R" rev-parse refs/kluis/access)" "$acc0" "read log after the refused show (stdout)"
expect_exit 1 as_opdr show "$D" "$H1" --json
assert_eq "$OUT" "" "standard output of the refused show --json"
expect_exit 1 as_opdr show "$D" "$H1" --out "$T_WORK/h1.out"
[ ! -e "$T_WORK/h1.out" ] || fail "the refused show --out left its file"
[ -z "$(find "$T_WORK" -name '*.tmp*')" ] || fail "the refused show --out left a temporary file: $(ls -a "$T_WORK")"
assert_eq "$(git -C "$R" rev-parse refs/kluis/access)" "$acc0" "read log after the refused shows"
assert_eq "$(nreads)" "$n0" "read records after the refused shows"
pass "the opdrachtgever's show of an entry withheld from it fails (exit 1, one line) to stdout, --json and --out, and writes no read record"

# control: the same key, the same home, an entry it may read
expect_exit 0 as_opdr show "$D" "$N1"
assert_eq "$OUT" "gewone notitie" "the opdrachtgever's show of an ordinary entry"
assert_eq "$(nreads)" $((n0 + 1)) "read records after the opdrachtgever's show"
assert_eq "$(rtrailer Kluis-Entry)" "$N1" "Kluis-Entry of the opdrachtgever's read"
assert_eq "$(rtrailer Kluis-Role)" opdrachtgever "Kluis-Role of the opdrachtgever's read"
assert_eq "$(signer_of "$R" refs/kluis/access "$AUD")" "$OPDR" "signer of the opdrachtgever's read"
pass "control: the opdrachtgever's home reads an ordinary entry, and that read is one signed record"

# ---- a body too large to hold: streamed, recorded before its first byte ----
head -c $((17 << 20)) /dev/urandom >"$T_WORK/big.bin"
expect_exit 0 k --as "$MEDEW" add "$D" --special health --kind document --file "$T_WORK/big.bin"
BIG=$OUT
n0=$(nreads)
expect_exit 1 as_opdr show "$D" "$BIG"
assert_eq "$(stat -c %s "$T_OUT")" 0 "bytes on stdout from the refused show of the large withheld document"
assert_eq "$(nreads)" "$n0" "read records after the refused streamed show"
k --as "$KLANT" show "$D" "$BIG" 2>"$T_ERR" | cat >"$T_WORK/big.out" || fail "the klant's streamed show of the large document failed: $(cat "$T_ERR")"
cmp -s "$T_WORK/big.out" "$T_WORK/big.bin" || fail "the streamed show of the large document differs from the original"
assert_eq "$(new_records "$n0")" begeleiding "records after the klant's streamed show"
assert_eq "$(rtrailer Kluis-Entry)" "$BIG" "Kluis-Entry of the streamed read"
pass "a 17 MiB withheld document: the opdrachtgever's streamed show writes no byte and no record; the klant's streams it whole, one record"

# ---- the klant's inzage lists no read for the refused attempts ----
expect_exit 0 k --as "$KLANT" inzage "$D" --format json
python3 - "$T_OUT" "$H1" "$BIG" "$N1" <<'EOF' || fail "the inzage's consultations are not what they should be"
import json, sys
r = json.load(open(sys.argv[1]))
h1, big, n1 = sys.argv[2:]
c = r["consultations"]
opdr = [x for x in c if x["role"] == "opdrachtgever"]
assert [x["entry"] for x in opdr] == [n1], opdr
assert not any(x["entry"] in (h1, big) and x["role"] != "klant" for x in c), c
assert [x["purpose"] for x in c].count("toestemming") == 2 and [x["purpose"] for x in c].count("vertegenwoordiging") == 1, c
assert c[-1]["purpose"] == "inzage" and c[-1]["role"] == "klant", c[-1]
EOF
pass "the klant's inzage lists the opdrachtgever's one real read and none of its refused attempts; kluis's own reads (two special adds, one grant) are listed with their purpose"

# ---- verify --deep: only what decrypted is on record ----
n0=$(nreads)
expect_exit 0 as_opdr verify "$D" --deep
deep=()
for c in $(git -C "$R" rev-list --reverse refs/kluis/access | tail -n +"$((n0 + 1))"); do
	deep+=("$(rtrailer Kluis-Purpose "$c") $(rtrailer Kluis-Entry "$c")")
done
want=$(printf 'verify-deep %s\n' - "$CONSENT" "$N1" "$N2" | sort)
assert_eq "$(printf '%s\n' "${deep[@]}" | sort)" "$want" "records of the opdrachtgever's verify --deep (the info and the entries it may read)"
pass "verify --deep by the opdrachtgever records the info and each entry it could decrypt, once each, and none of the withheld ones"

# ---- the request register ----
expect_exit 0 k --as "$MEDEW" request "$D" add --type inzage
n0=$(nreads)
expect_exit 0 k --as "$MEDEW" request "$D" list
assert_eq "$(new_records "$n0")" register "records after request list"
pass "listing the request register is one record, purpose register"

# ---- the withdrawal reads the register ----
n0=$(nreads)
expect_exit 0 k --as "$KLANT" consent "$D" withdraw --scope health --purpose "ingetrokken"
assert_eq "$(new_records "$n0")" toestemming "records after the withdrawal"
assert_eq "$(rtrailer Kluis-Role)" klant "Kluis-Role of the withdrawal's record"
pass "a withdrawal reads the consent register to name the grant it ends: one record, purpose toestemming"

# ---- a roles change rewraps: one record, after the rewrap ----
n0=$(nreads)
expect_exit 0 k --as "$DIR" roles "$D" --add medewerker "$MEDEW2" --remove "$MEDEW"
assert_eq "$(git -C "$R" log -1 --format=%s main)" "rewrap -" "subject of main after the roles change"
assert_eq "$(new_records "$n0")" rewrap "records after the roles change"
assert_eq "$(rtrailer Kluis-Role)" directie "Kluis-Role of the rewrap record"
assert_eq "$(rtrailer Kluis-Head)" "$(git -C "$R" rev-parse main)" "Kluis-Head of the rewrap record (the rewrap it made)"
pass "a roles change's rewrap is one record, purpose rewrap, by the directie, made after the rewrap commit"

# ---- all of it verifies ----
expect_exit 0 env GNUPGHOME="$AUD" "$KLUIS" verify "$D" --full
verify_all_commits "$R" "$AUD" refs/kluis/access
pass "kluis verify --full accepts the read log with every internal purpose; stock git verifies each record"
