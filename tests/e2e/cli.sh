#!/usr/bin/env bash
# e2e/cli.sh - the command line contract (SPEC "Commands"): global options before and after
# the command, --help and --version, exit codes, one-line errors on stderr, vault selection
# and actor selection (--as, KLUIS_KEY, the only secret key; ambiguity is an error).
set -euo pipefail
. "$KLUIS_TEST_DIR/lib.sh"

init_dossier k-0001
R=$(repo_of k-0001)
V=$KLUIS_VAULT

# ---- --help and --version ----
expect_exit 0 k --help
assert_contains "$OUT" "Usage: kluis" "kluis --help"
[ -z "$ERR" ] || fail "kluis --help wrote on stderr: $ERR"
commands=$(awk '/^Commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ { exit }' <<<"$OUT")
for c in init add statement log show list demo; do
	grep -qx "$c" <<<"$commands" || fail "kluis --help does not list '$c' (listed: $commands)"
done
pass "kluis --help exits 0 and lists the commands"

expect_exit 0 k help
assert_contains "$OUT" "Usage: kluis" "kluis help"
for c in $commands; do
	for form in "$c --help" "$c -h" "--help $c"; do
		# shellcheck disable=SC2086
		expect_exit 0 env -u KLUIS_VAULT GNUPGHOME=/nonexistent "$KLUIS" $form
		assert_contains "$OUT" "Usage: kluis $c" "kluis $form"
		[ -z "$ERR" ] || fail "kluis $form wrote on stderr: $ERR"
	done
done
pass "--help, -h and 'kluis --help CMD' exit 0 and print the usage for every command ($(wc -w <<<"$commands") commands), needing no vault or keys"

expect_exit 0 k --version
assert_match "$OUT" '^kluis [0-9]+\.[0-9]+\.[0-9]+' "kluis --version"
VERSION=$OUT
pass "kluis --version prints 'kluis X.Y.Z'"

# SPEC: the global options (--help, --version among them) work after the command name too
version_after() {
	expect_exit 0 k list --version
	assert_eq "$OUT" "$VERSION" "kluis list --version"
	expect_exit 0 k log k-0001 --version
	assert_eq "$OUT" "$VERSION" "kluis log ID --version"
	pass "--version after the command name prints the version too"
}
soft version_after

# ---- exit codes and one-line errors ----
expect_exit 2 k frobnicate
assert_contains "$ERR" "frobnicate" "unknown command message"
expect_exit 2 k --vault "$V" frobnicate k-0001
pass "an unknown command exits 2 with one line naming it"

expect_exit 2 k --frobnicate list
assert_contains "$ERR" "--frobnicate" "unknown option message"
expect_exit 2 k list --frobnicate
assert_contains "$ERR" "--frobnicate" "unknown option message"
expect_exit 2 k log k-0001 -Z
expect_exit 2 k --as "$MEDEW" add k-0001 -m x --frobnicate
assert_eq "$(git -C "$R" rev-list --count main)" 1 "commits after a refused add"
pass "an unknown option before or after the command exits 2 with one line naming it"

missing_value() { # exit 2, one printable line that names the option
	expect_exit 2 "${@:2}"
	if LC_ALL=C grep -q '[^[:print:]]' <<<"$ERR"; then fail "error message has unprintable bytes: $(od -c <<<"$ERR" | head -3)"; fi
	assert_contains "$ERR" "$1" "error for '${*:3}' (a missing value)"
}
SOFT0=$T_SOFT_FAILS
soft missing_value -m k --as "$MEDEW" add k-0001 -m
soft missing_value --kind k --as "$MEDEW" add k-0001 --kind
soft missing_value --out k show k-0001 20200101T000000Z-0000 --out
soft missing_value --vault k --vault
soft missing_value --vault k log k-0001 --vault
soft missing_value --as k list --as
soft missing_value --as k --as
[ "$T_SOFT_FAILS" -gt "$SOFT0" ] || pass "an option without its value exits 2 with one printable line naming the option"

no_args() {
	expect_exit 0,2 k
	[ -n "$OUT$ERR" ] || fail "kluis with no arguments says nothing"
	pass "kluis with no arguments prints the help (exit 0) or fails with one 'kluis: ' line (exit 2)"
}
soft no_args

expect_exit 2 k log
expect_exit 2 k log k-0001 k-0002
expect_exit 2 k show k-0001
expect_exit 2 k list extra
expect_exit 2 k init
pass "missing or extra arguments exit 2 with one line"

# ---- global options before and after the command; vault selection ----
unset KLUIS_VAULT
expect_exit 0 k --vault "$V" log k-0001
assert_contains "$OUT" "init" "kluis --vault V log ID"
expect_exit 0 k log k-0001 --vault "$V" --json
python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["dossier"]=="k-0001" and d["events"][0]["action"]=="init", d' <<<"$OUT" ||
	fail "kluis log ID --vault V --json: $OUT"
expect_exit 0 k --json --vault "$V" log k-0001
python3 -c 'import json,sys; json.load(sys.stdin)' <<<"$OUT" || fail "kluis --json --vault V log ID is not JSON: $OUT"
expect_exit 0 k --vault="$V" list --json
python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["dossiers"][0]["dossier"]=="k-0001", d' <<<"$OUT" || fail "list --json: $OUT"
expect_exit 0 k log --vault="$V" k-0001
pass "global options work before and after the command name (kluis --vault V log ID, kluis log ID --vault V --json, --opt=value)"

expect_exit 0 env KLUIS_VAULT="$V" "$KLUIS" log k-0001
expect_exit 2 env KLUIS_VAULT="$T_WORK/elsewhere" "$KLUIS" log k-0001
expect_exit 0 env KLUIS_VAULT="$T_WORK/elsewhere" "$KLUIS" --vault "$V" log k-0001
expect_exit 0 env KLUIS_VAULT="$T_WORK/elsewhere" "$KLUIS" log k-0001 --vault "$V"
[ ! -e "$T_WORK/elsewhere" ] || fail "a read-only command created the vault in KLUIS_VAULT"
pass "KLUIS_VAULT selects the vault; --vault (before or after the command) overrides it"

expect_exit 0 k --as "$DIR" init k-home --klant "$KLANT" --medewerker "$MEDEW" --directie "$DIR" --opdrachtgever "$OPDR"
[ -d "$HOME/.local/share/kluis/dossiers/k-home.git" ] || fail "without --vault or KLUIS_VAULT the vault is not ~/.local/share/kluis"
expect_exit 0 k list
assert_contains "$OUT" "k-home" "kluis list in the default vault"
assert_not_contains "$OUT" "k-0001" "kluis list in the default vault"
pass "without --vault or KLUIS_VAULT the vault is ~/.local/share/kluis"
export KLUIS_VAULT=$V

# ---- actor selection ----
actor_home "$KLANT" "$MEDEW"
TWO=$REPLY
actor_home "$MEDEW"
ONE=$REPLY
MAIN0=$(git -C "$R" rev-parse main)

expect_exit 1,2 env GNUPGHOME="$TWO" "$KLUIS" add k-0001 -m "who am I"
if [[ $ERR != *--as* && $ERR != *KLUIS_KEY* ]]; then fail "the ambiguity error should say how to choose (--as FPR or KLUIS_KEY): $ERR"; fi
assert_eq "$(git -C "$R" rev-parse main)" "$MAIN0" "main after an ambiguous actor"
expect_exit 1,2 env GNUPGHOME="$TWO" "$KLUIS" show k-0001 20200101T000000Z-0000
if [[ $ERR != *--as* && $ERR != *KLUIS_KEY* ]] && [[ $ERR != *"no entry"* ]]; then fail "ambiguous show: $ERR"; fi
pass "two secret keys and no --as or KLUIS_KEY: refused with a message on how to choose, nothing written"

expect_exit 0 env GNUPGHOME="$TWO" KLUIS_KEY="$MEDEW" "$KLUIS" add k-0001 -m "via KLUIS_KEY"
assert_match "$OUT" "$ID_RE" "add with KLUIS_KEY"
assert_eq "$(git -C "$R" log -1 --format='%an <%ae>' main)" "medewerker <$MEDEW>" "author with KLUIS_KEY"
assert_eq "$(signer_of "$R" main "$TWO")" "$MEDEW" "signer with KLUIS_KEY"
pass "KLUIS_KEY chooses the actor"

expect_exit 0 env GNUPGHOME="$TWO" KLUIS_KEY="$KLANT" "$KLUIS" --as "$MEDEW" add k-0001 -m "via --as"
assert_eq "$(git -C "$R" log -1 --format='%an <%ae>' main)" "medewerker <$MEDEW>" "author with --as over KLUIS_KEY"
MAIN1=$(git -C "$R" rev-parse main)
expect_exit 1 env GNUPGHOME="$TWO" KLUIS_KEY="$MEDEW" "$KLUIS" add k-0001 -m "klant via --as" --as "$KLANT"
assert_contains "$ERR" "klant" "refusal when --as names the klant"
assert_eq "$(git -C "$R" rev-parse main)" "$MAIN1" "main after a refused add"
pass "--as (before or after the command) overrides KLUIS_KEY"

expect_exit 0 env GNUPGHOME="$ONE" "$KLUIS" add k-0001 -m "the only key"
assert_eq "$(git -C "$R" log -1 --format='%an <%ae>' main)" "medewerker <$MEDEW>" "author with the only secret key"
pass "with one secret key in GNUPGHOME and no --as/KLUIS_KEY, that key acts"

lower=$(tr 'A-F' 'a-f' <<<"$MEDEW")
expect_exit 0 env GNUPGHOME="$TWO" "$KLUIS" --as "$lower" add k-0001 -m "lowercase fingerprint"
assert_eq "$(git -C "$R" log -1 --format='%an <%ae>' main)" "medewerker <$MEDEW>" "author with a lowercase --as"
pass "--as accepts a lowercase fingerprint and records it in canonical form"

MAIN2=$(git -C "$R" rev-parse main)
for bad in "${MEDEW:0:16}" "${MEDEW}00" "${MEDEW:0:39}X" "${MEDEW:33}" nobody; do
	expect_exit 2 env GNUPGHOME="$TWO" "$KLUIS" --as "$bad" add k-0001 -m "x"
	assert_contains "$ERR" "matches no secret key" "--as $bad"
	assert_contains "$ERR" "${MEDEW:24} (medewerker <medewerker@kluis.test>)" "the candidates named, with their user ids"
	expect_exit 2 env GNUPGHOME="$TWO" KLUIS_KEY="$bad" "$KLUIS" add k-0001 -m "x"
	assert_contains "$ERR" "KLUIS_KEY" "KLUIS_KEY $bad"
done
expect_exit 2 env GNUPGHOME="$TWO" "$KLUIS" --as kluis.test add k-0001 -m "x"
assert_contains "$ERR" "matches 2 secret keys" "an ambiguous --as"
assert_contains "$ERR" "${KLANT:24} (klant <klant@kluis.test>)" "the klant named among the candidates"
expect_exit 2 env GNUPGHOME="$TWO" "$KLUIS" --as "" add k-0001 -m "x"
assert_eq "$(git -C "$R" rev-parse main)" "$MAIN2" "main after a malformed or ambiguous --as"
pass "an --as or KLUIS_KEY that picks no secret key or several exits 2 and lists the candidates with their names"

expect_exit 1,2 env GNUPGHOME="$TWO" "$KLUIS" add k-0001 -m "who am I"
assert_contains "$ERR" "${MEDEW:24} (medewerker <medewerker@kluis.test>)" "the choices listed when nothing was chosen"
pass "with several secret keys and no choice, the error lists them"

for sel in "${MEDEW:24}" "0x${MEDEW:32}" "$(tr A-F a-f <<<"${MEDEW:20}")" MedeWerker "medewerker@kluis.test" "${MEDEW:0:4} ${MEDEW:4:4} ${MEDEW:8:32}"; do
	expect_exit 0 env GNUPGHOME="$TWO" "$KLUIS" --as "$sel" add k-0001 -m "by a short selector"
	assert_eq "$(git -C "$R" log -1 --format='%an <%ae>' main)" "medewerker <$MEDEW>" "author with --as '$sel'"
done
expect_exit 0 env GNUPGHOME="$TWO" KLUIS_KEY="${MEDEW:24}" "$KLUIS" add k-0001 -m "KLUIS_KEY by key id"
assert_eq "$(git -C "$R" log -1 --format='%an <%ae>' main)" "medewerker <$MEDEW>" "author with a KLUIS_KEY key id"
pass "--as and KLUIS_KEY take a key id (16 or 8 hex digits, 0x, any case), a fingerprint in gpg's groups, a name or an address"

MAIN2=$(git -C "$R" rev-parse main)
expect_exit 1,2 env GNUPGHOME="$TWO" "$KLUIS" --as "$DIR" add k-0001 -m "no secret key for this one"
assert_eq "$(git -C "$R" rev-parse main)" "$MAIN2" "main after acting as a key whose secret is absent"
pass "--as a role key whose secret key is not in GNUPGHOME fails (one line), nothing written"

pub_home
expect_exit 1,2 env GNUPGHOME="$REPLY" "$KLUIS" add k-0001 -m "no secret key at all"
assert_eq "$(git -C "$R" rev-parse main)" "$MAIN2" "main after an add with no secret key"
pass "no secret key at all: add fails with one line, nothing written"

pub_home
AUD=$REPLY
verify_all_commits "$R" "$AUD" main
pass "every commit made through the actor choices verifies with stock git"

# the program defines no symbol of another library (no interposition of mbedTLS's, libssh2's
# or anyone's loaders): every symbol it defines is kluis's own or the toolchain's
if command -v nm >/dev/null; then
	foreign=$(nm --defined-only "$KLUIS" 2>/dev/null | awk '$2 ~ /^[TW]$/ { print $3 }' | grep -E '^(mbedtls_|libssh2_|git_|gpgme_|rnp_|archive_|json_|gcry_)' || true)
	[ -z "$foreign" ] || fail "the program defines other libraries' symbols: $(head -5 <<<"$foreign" | tr '\n' ' ')"
	pass "nm: the program defines no symbol of mbedTLS, libssh2, libgit2, gpgme, librnp, libarchive, jansson or libgcrypt"
else
	fail "nm is not installed (binutils, from build-essential)"
fi
