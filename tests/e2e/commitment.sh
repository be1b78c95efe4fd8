#!/usr/bin/env bash
# e2e/commitment.sh - no role can rewrite an entry (SPEC invariant 8): every pointer commits
# to its plaintext (`plain`, kluis-pointer 2), every reader checks it, and a rewrap keeps it.
#
# Honest flow: init (with dossier info), add (text and file), erase (a reason), show, export,
# inzage, a roles change with its rewrap, verify and verify --deep. Each commitment is
# recomputed with stock gpg (decrypting) and sha256sum/python (hashing), not with kluis:
# a JSON object's `plain` is SHA-256 of its bytes and it holds a random "salt"; a body's is
# SHA-256(body_salt || body). Then the attack the commitment exists for: with stock git and
# gpg only, the directie re-encrypts OTHER plaintext to the same readers and commits it as a
# rewrap, signed with its own key, keeping the old `plain` line. kluis show, export and a
# later rewrap refuse the entry; verify --deep reports it; --out leaves no file behind.
#
# Run by hand: KLUIS=build/kluis KLUIS_TEST_DIR=tests bash tests/e2e/commitment.sh
set -euo pipefail
. "$KLUIS_TEST_DIR/lib.sh"
export XDG_CACHE_HOME=$T_ROOT/cache
mkdir -p "$XDG_CACHE_HOME"

D=k-commit
MEDEW2=$(kt_key medewerker2 2>/dev/null)
[[ $MEDEW2 =~ ^[0-9A-F]{40}$ ]] || fail "could not make the second adviser's key (got '$MEDEW2')"
pub_home "$KLANT" "$MEDEW" "$MEDEW2" "$DIR" "$OPDR"
AUD=$REPLY

G() { git -C "$R" "$@"; }
entry_dir() { printf 'entries/%s/%s\n' "${1:17:2}" "$1"; }
# the decrypted object a pointer names, with stock gpg (this home holds every secret key)
plain_of() { G cat-file blob "$(pointer_field "$R" "$1" oid)" | gpg --batch --quiet --decrypt 2>/dev/null; }
sha_of() { sha256sum "$1" | cut -d' ' -f1; }
json_field() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
# salted_sha SALT-HEX FILE: SHA-256(salt bytes || file bytes)
salted_sha() {
	python3 -c 'import hashlib, sys; print(hashlib.sha256(bytes.fromhex(sys.argv[1]) + open(sys.argv[2], "rb").read()).hexdigest())' "$1" "$2"
}
access_count() { G log refs/kluis/access --format='%(trailers:key=Kluis-Purpose,valueonly)' | grep -c -x "$1" || true; }

# check_json_commitment REV:PATH WHAT: the object is JSON with a 64-hex "salt", and the
# pointer's plain is SHA-256 of its exact bytes
check_json_commitment() {
	local spec=$1 what=$2 f=$T_WORK/obj.json
	check_pointer "$R" "$spec"
	plain_of "$spec" >"$f" || fail "stock gpg cannot decrypt $what"
	assert_match "$(json_field "$f" salt)" '^[0-9a-f]{64}$' "salt of $what"
	assert_eq "$(sha_of "$f")" "$(pointer_field "$R" "$spec" plain)" "plain of $what (sha256 of its plaintext)"
}
# check_body_commitment ENTRY ORIGINAL-FILE [REV]: the body decrypts (stock gpg) to the
# original bytes and its plain is SHA-256(body_salt || body)
check_body_commitment() {
	local e=$1 orig=$2 rev=${3:-main} m=$T_WORK/meta.json b=$T_WORK/body.bin salt
	check_json_commitment "$rev:$(entry_dir "$e")/meta" "the metadata of $e"
	plain_of "$rev:$(entry_dir "$e")/meta" >"$m"
	salt=$(json_field "$m" body_salt)
	assert_match "$salt" '^[0-9a-f]{64}$' "body_salt of $e"
	check_pointer "$R" "$rev:$(entry_dir "$e")/body"
	plain_of "$rev:$(entry_dir "$e")/body" >"$b" || fail "stock gpg cannot decrypt the body of $e"
	cmp -s "$b" "$orig" || fail "stock gpg --decrypt of the body of $e is not the original bytes"
	assert_eq "$(salted_sha "$salt" "$b")" "$(pointer_field "$R" "$rev:$(entry_dir "$e")/body" plain)" "plain of the body of $e"
}

# =====================================================================================
# honest writers: every object commits to its plaintext
# =====================================================================================
init_dossier "$D" --traject 'Traject naar werk bij de gemeente'
R=$(repo_of "$D")
check_json_commitment "main:info" "the dossier info"
assert_eq "$(json_field "$T_WORK/obj.json" traject)" 'Traject naar werk bij de gemeente' "the info's traject"
pass "init: the dossier info is salted JSON and its pointer (kluis-pointer 2) commits to its bytes"

printf 'Intakegesprek: wil graag in de zorg werken.' >"$T_WORK/note.txt"
expect_exit 0 k --as "$MEDEW" add "$D" -m "$(cat "$T_WORK/note.txt")"
E1=$OUT
head -c 300000 /dev/urandom >"$T_WORK/scan.pdf"
expect_exit 0 k --as "$MEDEW" add "$D" --kind document --file "$T_WORK/scan.pdf"
E2=$OUT
printf 'dubbel ingevoerd' >"$T_WORK/dup.txt"
expect_exit 0 k --as "$MEDEW" add "$D" -m "$(cat "$T_WORK/dup.txt")"
E3=$OUT
expect_exit 0 k --as "$KLANT" statement "$D" -m 'Mijn verklaring'
E4=$OUT
printf 'Mijn verklaring' >"$T_WORK/stmt.txt"
check_body_commitment "$E1" "$T_WORK/note.txt"
check_body_commitment "$E2" "$T_WORK/scan.pdf"
check_body_commitment "$E4" "$T_WORK/stmt.txt"
pass "add and statement: metadata salted with a body_salt; body byte-identical for stock gpg, plain = SHA-256(body_salt || body)"

# two entries with the same text have different commitments (the salt)
expect_exit 0 k --as "$MEDEW" add "$D" -m "$(cat "$T_WORK/note.txt")"
E5=$OUT
[ "$(pointer_field "$R" "main:$(entry_dir "$E1")/body" plain)" != "$(pointer_field "$R" "main:$(entry_dir "$E5")/body" plain)" ] ||
	fail "two bodies with the same text have the same commitment: the salt is missing"
[ "$(pointer_field "$R" "main:$(entry_dir "$E5")/body" plain)" != "$(sha_of "$T_WORK/note.txt")" ] ||
	fail "a body's commitment is the unsalted sha256 of its text"
pass "the same text twice: two different commitments, neither the plain sha256"

expect_exit 0 k --as "$DIR" erase "$D" "$E3" --reason 'Dubbel ingevoerd door de medewerker'
check_json_commitment "main:$(entry_dir "$E3")/reason" "the erasure reason of $E3"
assert_eq "$(json_field "$T_WORK/obj.json" reason)" 'Dubbel ingevoerd door de medewerker' "the reason in its JSON"
pass "erase: the reason is salted JSON and its pointer commits to it"

# =====================================================================================
# honest readers accept it
# =====================================================================================
expect_exit 0 k --as "$MEDEW" show "$D" "$E1"
assert_eq "$OUT" "$(cat "$T_WORK/note.txt")" "show of $E1"
expect_exit 0 k --as "$KLANT" show "$D" "$E2" --out "$T_WORK/scan.out"
cmp -s "$T_WORK/scan.out" "$T_WORK/scan.pdf" || fail "show --out of $E2 is not the original"
expect_exit 0 k --as "$KLANT" export "$D" --out "$T_WORK/export.zip"
expect_exit 0 k --as "$KLANT" inzage "$D" --format json
expect_exit 0 env GNUPGHOME="$AUD" "$KLUIS" verify "$D" --full
pass "show, show --out, export, inzage and verify accept the honest dossier"

records=$(access_count verify-deep)
expect_exit 0 k --as "$MEDEW" verify "$D" --deep
assert_match "$OUT" "^k-commit: verified \(.*, 0 did not\)$" "verify --deep on the honest dossier: the result line alone"
assert_contains "$OUT" "plaintexts: 5 entries, 10 objects matched their commitment, 0 did not" "verify --deep summary"
# one access record per entry (five, the erased one included) and one for the info
assert_eq "$(($(access_count verify-deep) - records))" 6 "access records with purpose verify-deep"
expect_exit 0 k --as "$MEDEW" --json verify "$D" --deep
assert_eq "$(python3 -c 'import json, sys; d = json.loads(sys.argv[1])["dossiers"][0]["deep"]; print(d["ok"], d["entries"], d["checked"])' "$OUT")" \
	"True 5 10" "verify --deep --json: ok, entries, objects checked (info, 4 x meta+body, 1 reason)"
expect_exit 1 k --as "$OUTSIDER" verify "$D" --deep
expect_exit 0 k verify --help
assert_contains "$OUT" "--deep" "verify --help"
pass "verify --deep: clean on the honest dossier, each read logged (purpose verify-deep), refused to an outsider, documented"

# =====================================================================================
# a roles change: the rewrap re-encrypts, every plain stays
# =====================================================================================
before=$T_WORK/plain.before
for p in info "$(entry_dir "$E1")/meta" "$(entry_dir "$E1")/body" "$(entry_dir "$E2")/body" "$(entry_dir "$E4")/body"; do
	printf '%s %s %s\n' "$p" "$(pointer_field "$R" "main:$p" plain)" "$(pointer_field "$R" "main:$p" oid)"
done >"$before"
expect_exit 0 k --as "$DIR" roles "$D" --add medewerker "$MEDEW2" --remove "$MEDEW"
assert_eq "$(G log -1 --format=%s main)" "rewrap -" "last commit after the roles change"
while read -r p plain oid; do
	assert_eq "$(pointer_field "$R" "main:$p" plain)" "$plain" "plain of $p after the rewrap"
	[ "$(pointer_field "$R" "main:$p" oid)" != "$oid" ] || fail "$p was not re-encrypted by the rewrap"
done <"$before"
check_body_commitment "$E2" "$T_WORK/scan.pdf"
expect_exit 0 k --as "$MEDEW2" show "$D" "$E1"
assert_eq "$OUT" "$(cat "$T_WORK/note.txt")" "show of $E1 by the new adviser"
expect_exit 0 env GNUPGHOME="$AUD" "$KLUIS" verify "$D" --full
expect_exit 0 k --as "$MEDEW2" verify "$D" --deep
assert_eq "$(grep -vc "^k-commit: verified (" <<<"$OUT")" 0 "findings of verify --deep after the rewrap (only the result line)"
pass "rewrap: every object re-encrypted, every pointer's plain unchanged; show and verify --deep accept it"

# =====================================================================================
# the forgery: a rewrap-like commit that changes what an entry says
# =====================================================================================
H=$(G rev-parse main)
SEQ=$(G log -1 --format='%(trailers:key=Kluis-Seq,valueonly)' "$H" | sed '/^$/d')
OLD_PTR=$(G rev-parse "$H:$(entry_dir "$E1")/body")
OLD_CT=$(pointer_field "$R" "$H:$(entry_dir "$E1")/body" oid)
OLD_PLAIN=$(pointer_field "$R" "$H:$(entry_dir "$E1")/body" plain)
# the same readers as now: every reading role of the roles file
mapfile -t READERS < <(G cat-file blob "$H:roles" | awk '$1 != "vertegenwoordiger" { print $2 }')
[ "${#READERS[@]}" -eq 4 ] || fail "expected four readers in the roles file, got ${#READERS[@]}"
rargs=()
for f in "${READERS[@]}"; do rargs+=(-r "$f"); done
printf 'Intakegesprek: wil niet werken en weigert elke afspraak.' >"$T_WORK/other.txt"
gpg --batch --quiet --yes --trust-model always "${rargs[@]}" -e -o "$T_WORK/other.gpg" "$T_WORK/other.txt"
NEW_CT=$(G hash-object -w "$T_WORK/other.gpg")
NEW_PTR=$(printf 'kluis-pointer 2\noid %s\nsha256 %s\nsize %s\nplain %s\n' "$NEW_CT" "$(sha_of "$T_WORK/other.gpg")" \
	"$(stat -c %s "$T_WORK/other.gpg")" "$OLD_PLAIN" | G hash-object -w --stdin)
# content: the new ciphertext in, the old one out (a new parentless commit, as kluis writes it)
idx=$T_WORK/idx
rm -f "$idx"
GIT_INDEX_FILE=$idx G read-tree refs/kluis/content
GIT_INDEX_FILE=$idx G update-index --add --cacheinfo "100644,$NEW_CT,${NEW_CT:0:2}/${NEW_CT:2}"
printf '0 0000000000000000000000000000000000000000\t%s\n' "${OLD_CT:0:2}/${OLD_CT:2}" | GIT_INDEX_FILE=$idx G update-index --index-info
CT_TREE=$(GIT_INDEX_FILE=$idx G write-tree)
CONTENT=$(env GIT_AUTHOR_NAME=kluis GIT_AUTHOR_EMAIL=content GIT_COMMITTER_NAME=kluis GIT_COMMITTER_EMAIL=content \
	git -C "$R" commit-tree -m 'kluis content' "$CT_TREE")
# main: the entry's body pointer replaced, in a rewrap signed by the directie with stock git
rm -f "$idx"
GIT_INDEX_FILE=$idx G read-tree "$H"
printf '100644 %s\t%s\n' "$NEW_PTR" "$(entry_dir "$E1")/body" | GIT_INDEX_FILE=$idx G update-index --index-info
MAIN_TREE=$(GIT_INDEX_FILE=$idx G write-tree)
rm -f "$idx"
FC=$(env GIT_AUTHOR_NAME=directie GIT_AUTHOR_EMAIL="$DIR" GIT_COMMITTER_NAME=directie GIT_COMMITTER_EMAIL="$DIR" \
	git -C "$R" commit-tree "-S$DIR" -p "$H" \
	-m "$(printf 'rewrap -\n\nKluis-Action: rewrap\nKluis-Role: directie\nKluis-Entry: %s\nKluis-Seq: %s\n' "$E1" $((SEQ + 1)))" \
	"$MAIN_TREE")
G update-ref refs/kluis/content "$CONTENT"
G update-ref refs/heads/main "$FC" "$H"
GNUPGHOME=$AUD G verify-commit "$FC" 2>/dev/null || fail "stock git verify-commit does not accept the forged rewrap"
assert_eq "$(pointer_field "$R" "main:$(entry_dir "$E1")/body" plain)" "$OLD_PLAIN" "the forged pointer's plain"
G cat-file blob "$NEW_CT" | gpg --batch --quiet --decrypt 2>/dev/null | cmp -s - "$T_WORK/other.txt" ||
	fail "the forged ciphertext does not decrypt to the other text"
[ "$(G rev-parse "main:$(entry_dir "$E1")/body")" != "$OLD_PTR" ] || fail "the forged commit did not change the pointer"
pass "forged with stock git and gpg: other text for $E1, encrypted to the same readers, the old plain kept, signed by the directie"

MSG="entry $E1: its plaintext does not match its signed commitment"
expect_exit 1 k --as "$MEDEW2" show "$D" "$E1"
assert_eq "$ERR" "kluis: $MSG" "show of the forged entry"
expect_exit 1 k --as "$KLANT" show "$D" "$E1" --out "$T_WORK/forged.txt"
assert_eq "$ERR" "kluis: $MSG" "show --out of the forged entry"
[ ! -e "$T_WORK/forged.txt" ] || fail "show --out left the forged plaintext at its name"
[ -z "$(find "$T_WORK" -name 'forged.txt.tmp-*')" ] || fail "show --out left its temporary file"
expect_exit 1 k --as "$KLANT" export "$D" --out "$T_WORK/forged.zip"
assert_contains "$ERR" "$MSG" "export of the dossier with the forged entry"
[ ! -e "$T_WORK/forged.zip" ] || fail "export wrote a zip with the forged entry"
# the same on one thread (KLUIS_THREADS=0: the metadata before the body, the export's
# bodies through a buffer instead of a pipe)
expect_exit 1 env KLUIS_THREADS=0 "$KLUIS" --as "$MEDEW2" show "$D" "$E1"
assert_eq "$ERR" "kluis: $MSG" "show of the forged entry on one thread"
expect_exit 1 env KLUIS_THREADS=0 "$KLUIS" --as "$KLANT" export "$D" --out "$T_WORK/forged1.zip"
assert_contains "$ERR" "$MSG" "export on one thread"
[ ! -e "$T_WORK/forged1.zip" ] || fail "export on one thread wrote a zip with the forged entry"
expect_exit 0 k --as "$MEDEW2" show "$D" "$E2" --out "$T_WORK/scan.again"
cmp -s "$T_WORK/scan.again" "$T_WORK/scan.pdf" || fail "show of an untouched entry after the forgery"
pass "show (stdout and --out) and export refuse the forged entry with exit 1; the untouched entries still read"

expect_exit 1 k --as "$MEDEW2" verify "$D" --deep
assert_contains "$OUT" "$D $FC $MSG" "verify --deep findings"
# the public replay refuses the forgery too (a rewrap of one entry is not what kluis writes);
# of the plaintext findings there is exactly one
assert_eq "$(grep -c "plaintext does not match" <<<"$OUT")" 1 "verify --deep plaintext finding lines (one mismatch)"
# --json: the findings in the JSON, exit 1 (verify --json prints no summary line)
rc=0
k --as "$KLANT" --json verify "$D" --deep >"$T_OUT" 2>"$T_ERR" || rc=$?
OUT=$(cat "$T_OUT")
assert_eq "$rc" 1 "exit code of verify --deep --json on the forgery"
assert_eq "$(python3 -c 'import json, sys; d = json.loads(sys.argv[1]); print(d["ok"], [f["finding"] for f in d["dossiers"][0]["deep"]["findings"]])' "$OUT")" \
	"False ['$MSG']" "verify --deep --json on the forgery"
pass "verify --deep reports the forged entry: one finding, naming the head and the entry"

# a forged metadata too: other JSON (its own salt) re-encrypted, the old plain kept
OLDM_PLAIN=$(pointer_field "$R" "main:$(entry_dir "$E4")/meta" plain)
plain_of "main:$(entry_dir "$E4")/meta" | sed 's/"statement"/"note"/g' >"$T_WORK/meta.forged"
gpg --batch --quiet --yes --trust-model always "${rargs[@]}" -e -o "$T_WORK/meta.gpg" "$T_WORK/meta.forged"
MCT=$(G hash-object -w "$T_WORK/meta.gpg")
MPTR=$(printf 'kluis-pointer 2\noid %s\nsha256 %s\nsize %s\nplain %s\n' "$MCT" "$(sha_of "$T_WORK/meta.gpg")" \
	"$(stat -c %s "$T_WORK/meta.gpg")" "$OLDM_PLAIN" | G hash-object -w --stdin)
H2=$(G rev-parse main)
rm -f "$idx"
GIT_INDEX_FILE=$idx G read-tree refs/kluis/content
GIT_INDEX_FILE=$idx G update-index --add --cacheinfo "100644,$MCT,${MCT:0:2}/${MCT:2}"
CONTENT=$(env GIT_AUTHOR_NAME=kluis GIT_AUTHOR_EMAIL=content GIT_COMMITTER_NAME=kluis GIT_COMMITTER_EMAIL=content \
	git -C "$R" commit-tree -m 'kluis content' "$(GIT_INDEX_FILE=$idx G write-tree)")
rm -f "$idx"
GIT_INDEX_FILE=$idx G read-tree "$H2"
printf '100644 %s\t%s\n' "$MPTR" "$(entry_dir "$E4")/meta" | GIT_INDEX_FILE=$idx G update-index --index-info
FC2=$(env GIT_AUTHOR_NAME=directie GIT_AUTHOR_EMAIL="$DIR" GIT_COMMITTER_NAME=directie GIT_COMMITTER_EMAIL="$DIR" \
	git -C "$R" commit-tree "-S$DIR" -p "$H2" \
	-m "$(printf 'rewrap -\n\nKluis-Action: rewrap\nKluis-Role: directie\nKluis-Entry: %s\nKluis-Seq: %s\n' "$E4" $((SEQ + 2)))" \
	"$(GIT_INDEX_FILE=$idx G write-tree)")
rm -f "$idx"
G update-ref refs/kluis/content "$CONTENT"
G update-ref refs/heads/main "$FC2" "$H2"
expect_exit 1 k --as "$KLANT" show "$D" "$E4"
assert_eq "$ERR" "kluis: entry $E4: its plaintext does not match its signed commitment" "show of the entry with forged metadata"
expect_exit 1 k --as "$KLANT" inzage "$D" --format json
assert_contains "$ERR" "entry $E4: its plaintext does not match its signed commitment" "inzage with a forged metadata"
expect_exit 1 k --as "$MEDEW2" verify "$D" --deep
assert_contains "$OUT" "$D $FC2 entry $E1: its plaintext does not match" "verify --deep: the forged body"
assert_contains "$OUT" "$D $FC2 entry $E4: its plaintext does not match" "verify --deep: the forged metadata"
assert_eq "$(grep -c "plaintext does not match" <<<"$OUT")" 2 "verify --deep plaintext finding lines (two mismatches)"
pass "a forged metadata: show and inzage refuse it; verify --deep reports both forged entries, one line each"

# a later honest rewrap must not launder the forgery under a fresh signature
main_before=$(G rev-parse main)
expect_exit 1 k --as "$DIR" roles "$D" --add medewerker "$MEDEW" --remove "$MEDEW2"
assert_contains "$ERR" "its plaintext does not match its signed commitment" "the rewrap of a forged dossier"
[ "$(G log -1 --format=%s main)" != "rewrap -" ] || fail "kluis committed a rewrap of the forged entries"
[ "$(G cat-file -p "$(G rev-parse "main:$(entry_dir "$E1")/body")" | awk '$1 == "oid" { print $2 }')" = "$NEW_CT" ] ||
	fail "the rewrap re-encrypted the forged body"
[ "$(G rev-parse main~1)" = "$main_before" ] || fail "more than the roles commit was added before the refused rewrap"
pass "kluis refuses to rewrap an entry whose plaintext does not match its commitment"
