#!/usr/bin/env bash
# tests/lib.sh - shared set-up for the end-to-end tests (sourced by every tests/e2e/*.sh).
#
# Environment (set by CTest, see tests/CMakeLists.txt): KLUIS (the binary), KLUIS_TEST_DIR
# (this directory). Run by hand:  KLUIS=build/kluis KLUIS_TEST_DIR=tests bash tests/e2e/add.sh
#
# Sourcing gives each test file:
#   GNUPGHOME         a fresh short-path home (mktemp -d /tmp/kt.XXXXXX, 0700) holding five
#                     passphrase-less keys; their primary fingerprints in
#                     KLANT MEDEW DIR OPDR OUTSIDER (ownertrust imported)
#   KLUIS_VAULT       a fresh, empty vault directory (not yet created: init creates it)
#   T_WORK            a scratch directory for the test's own files
#   HOME              a scratch home, so nothing reads or writes the real ~/.local/share/kluis
#   no KLUIS_NOW, KLUIS_NO_FSYNC, KLUIS_THREADS, KLUIS_GPG or KLUIS_KEY from the caller; and a
#   check that KLUIS is a test build (the only one that obeys them; T_RELEASE=1 skips it)
#   an EXIT trap that kills the gpg-agent of every home made here and removes every temp dir
#
# Helpers:
#   k ARGS...                   run "$KLUIS" ARGS...
#   expect_exit CODE CMD...     run CMD; stdout in $OUT (file $T_OUT), stderr in $ERR (file
#                               $T_ERR); assert the exit code (CODE may be "1,2" for either);
#                               for a failure also assert that stderr is exactly one line
#                               starting with "kluis: "
#   assert_contains HAYSTACK NEEDLE [WHAT] / assert_not_contains HAYSTACK NEEDLE [WHAT]
#   assert_eq GOT WANT [WHAT] / assert_match STRING ERE [WHAT]
#   pass MSG / fail MSG         report one check (fail exits the test with status 1)
#   fail_soft MSG               report a failed check but go on; the test still fails at exit
#   soft CMD...                 run CMD (assertions) in a subshell; a failure there becomes a
#                               fail_soft, so one known bug does not hide the checks after it
#   make_home                   new empty GNUPGHOME-style dir (registered for cleanup) in $REPLY
#   pub_home [FPR...]           a home with public keys only (default: all five) and their
#                               ownertrust, for auditor checks; its path in $REPLY
#   secret_home FPR...          a home with the secret keys of FPR... only (no other key); $REPLY
#   actor_home FPR...           secret keys of FPR... plus all five public keys; $REPLY
#   repo_of ID                  the bare repository of dossier ID
#   kluis_server REPO KEYRING   a bare repository with the kluis hooks, as a server holds it
#   sync_vaults BASE            vaults A (medewerker), B and C (directie) with their own
#                               keyrings: ka, kb, kc; AUD the public keys
#   entry_points ID WANT [WHY [PULL_WHY]]
#                               verify, verify --bundle, the hook and a fresh pull of ID exit
#                               WANT, a refusal naming WHY
#   init_dossier ID             init ID as the directie with the four role keys
#   git_witness REPO            every object of REPO in raw form (git cat-file --batch)
#   assert_nowhere MARKER       MARKER is in no git object, ref, commit message, file name or
#                               file under the vault
#   assert_no_plaintext_since STAMP MARKER
#                               no file in /tmp or /dev/shm newer than STAMP (outside $T_WORK)
#                               holds MARKER: kluis leaves no plaintext copy behind
set -euo pipefail

: "${KLUIS:?set KLUIS to the kluis binary}"
: "${KLUIS_TEST_DIR:?set KLUIS_TEST_DIR to the tests/ directory}"
# shellcheck source=keys.sh
. "$KLUIS_TEST_DIR/keys.sh"

T_NAME=$(basename "${BASH_SOURCE[1]:-$0}" .sh)
T_HOMES=()   # gnupg homes whose agents must die
T_DIRS=()    # directories to remove
T_CHECKS=0
T_SOFT_FAILS=0

t_cleanup() {
	local rc=$? h d
	trap - EXIT
	[ "$rc" -ne 0 ] || [ "$T_SOFT_FAILS" -eq 0 ] || rc=1
	for h in "${T_HOMES[@]}"; do
		[ -d "$h" ] && gpgconf --homedir "$h" --kill all >/dev/null 2>&1 || true
	done
	for d in "${T_DIRS[@]}"; do
		[ -n "$d" ] && rm -rf -- "$d"
	done
	if [ "$rc" -eq 0 ]; then
		echo "== $T_NAME: all $T_CHECKS checks passed"
	else
		echo "== $T_NAME: FAILED (exit $rc) after $T_CHECKS passed checks, $T_SOFT_FAILS failed checks before" >&2
	fi
	exit "$rc"
}
trap t_cleanup EXIT
trap 'exit 130' INT TERM

pass() { T_CHECKS=$((T_CHECKS + 1)); printf 'ok %d - %s\n' "$T_CHECKS" "$*"; }
fail() {
	printf 'FAIL - %s\n' "$*" >&2
	if [ -n "${T_ERR:-}" ] && [ -s "$T_ERR" ]; then
		printf '  last stderr: %s\n' "$(head -c 2000 "$T_ERR")" >&2
	fi
	exit 1
}

fail_soft() {
	T_SOFT_FAILS=$((T_SOFT_FAILS + 1))
	printf 'FAIL (going on) - %s\n' "$*" >&2
}

soft() {
	local rc=0
	set +e
	(
		set -e
		"$@"
	)
	rc=$?
	set -e
	[ "$rc" -eq 0 ] || fail_soft "(the check above, in: $*)"
	return 0
}

make_home() {
	REPLY=$(mktemp -d /tmp/kt.XXXXXX)
	chmod 700 "$REPLY"
	T_HOMES+=("$REPLY")
	T_DIRS+=("$REPLY")
}

# ---- the test's own homes and vault ----
make_home
kt_home "$REPLY"                     # exports GNUPGHOME (short path, 0700, loopback allowed)
T_ROOT=$(mktemp -d /tmp/kt.XXXXXX)   # vault, work files, scratch HOME
T_DIRS+=("$T_ROOT")
export KLUIS_VAULT=$T_ROOT/vault
T_WORK=$T_ROOT/w
mkdir -p "$T_WORK" "$T_ROOT/home"
export HOME=$T_ROOT/home
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
# the test build's switches (vault/base/util.h, KLUIS_SEAM) are set per command by the test that
# needs one (env KLUIS_NOW=... "$KLUIS" ...), never left over from the caller's shell
unset KLUIS_KEY KLUIS_NO_FSYNC KLUIS_NOW KLUIS_THREADS KLUIS_GPG 2>/dev/null || true
# they exist only in a test build (cmake -DKLUIS_TEST_SEAMS=ON): a release binary would fail
# the tests that set the clock for a reason that is not theirs. tests/release/seams.sh, which
# checks a release, sets T_RELEASE=1.
if [ -z "${T_RELEASE:-}" ] && ! strings "$KLUIS" | grep -x KLUIS_NOW >/dev/null; then
	fail "$KLUIS is not a test build (it obeys no KLUIS_NOW): configure with -DKLUIS_TEST_SEAMS=ON"
fi
T_OUT=$T_ROOT/stdout
T_ERR=$T_ROOT/stderr

KLANT=$(kt_key klant 2>/dev/null)
MEDEW=$(kt_key medewerker 2>/dev/null)
DIR=$(kt_key directie 2>/dev/null)
OPDR=$(kt_key opdrachtgever 2>/dev/null)
OUTSIDER=$(kt_key outsider 2>/dev/null)
export KLANT MEDEW DIR OPDR OUTSIDER
gpg --batch --quiet --check-trustdb >/dev/null 2>&1 || true
for f in "$KLANT" "$MEDEW" "$DIR" "$OPDR" "$OUTSIDER"; do
	[[ $f =~ ^[0-9A-F]{40}$ ]] || fail "test key generation failed (got '$f')"
done

# grep -q in a pipeline under pipefail can fail when it matches early (the writer gets SIGPIPE):
# read the whole input instead
grep_q() { grep "$@" >/dev/null; }

# ---- running kluis ----
k() { "$KLUIS" "$@"; }

# expect_exit CODE CMD... : see the header.
expect_exit() {
	local want=$1 rc=0 lines
	shift
	"$@" >"$T_OUT" 2>"$T_ERR" || rc=$?
	OUT=$(cat "$T_OUT")
	ERR=$(cat "$T_ERR")
	if [[ ",$want," != *",$rc,"* ]]; then
		fail "'$*' exited $rc, want $want; stdout: $(head -c 500 "$T_OUT")"
	fi
	if [ "$rc" -ne 0 ]; then
		lines=$(wc -l <"$T_ERR")
		if [ "$lines" -ne 1 ] || [[ $ERR != "kluis: "* ]]; then
			fail "'$*' failed (exit $rc) but stderr is not one 'kluis: ...' line ($lines lines): $ERR"
		fi
	fi
	return 0
}

assert_contains() {
	[[ $1 == *"$2"* ]] || fail "${3:-text} should contain '$2'; got: $(printf '%s' "$1" | head -c 800)"
}
assert_not_contains() {
	[[ $1 != *"$2"* ]] || fail "${3:-text} should not contain '$2'; got: $(printf '%s' "$1" | head -c 800)"
}
assert_eq() {
	[ "$1" = "$2" ] || fail "${3:-value}: got '$1', want '$2'"
}
assert_match() {
	[[ $1 =~ $2 ]] || fail "${3:-value} '$1' does not match /$2/"
}

# ---- homes for witnesses ----
pub_home() {
	local src=$GNUPGHOME fprs=("$@")
	[ ${#fprs[@]} -gt 0 ] || fprs=("$KLANT" "$MEDEW" "$DIR" "$OPDR" "$OUTSIDER")
	make_home
	gpg --homedir "$src" --batch --export "${fprs[@]}" | gpg --homedir "$REPLY" --batch --quiet --import 2>/dev/null
	gpg --homedir "$src" --batch --export-ownertrust | gpg --homedir "$REPLY" --batch --quiet --import-ownertrust 2>/dev/null
	gpg --homedir "$REPLY" --batch --quiet --check-trustdb >/dev/null 2>&1 || true
	if gpg --homedir "$REPLY" --batch --list-secret-keys --with-colons 2>/dev/null | grep_q '^sec'; then
		fail "pub_home: $REPLY holds a secret key"
	fi
}
secret_home() {
	local src=$GNUPGHOME fpr
	make_home
	printf 'allow-loopback-pinentry\n' >"$REPLY/gpg-agent.conf"
	gpg --homedir "$src" --batch --pinentry-mode loopback --passphrase '' --export-secret-keys "$@" |
		gpg --homedir "$REPLY" --batch --quiet --pinentry-mode loopback --passphrase '' --import 2>/dev/null
	for fpr in "$@"; do printf '%s:6:\n' "$fpr"; done | gpg --homedir "$REPLY" --batch --quiet --import-ownertrust 2>/dev/null
	[ "$(gpg --homedir "$REPLY" --batch --list-secret-keys --with-colons 2>/dev/null | grep -c '^sec')" -eq $# ] ||
		fail "secret_home: could not make a home with only the secret keys $*"
}
# actor_home FPR... : the secret keys of FPR... plus every test key's public key and ownertrust
# (what a user's own GNUPGHOME looks like); its path in $REPLY
actor_home() {
	local src=$GNUPGHOME
	secret_home "$@"
	gpg --homedir "$src" --batch --export "$KLANT" "$MEDEW" "$DIR" "$OPDR" "$OUTSIDER" |
		gpg --homedir "$REPLY" --batch --quiet --import 2>/dev/null
	gpg --homedir "$src" --batch --export-ownertrust | gpg --homedir "$REPLY" --batch --quiet --import-ownertrust 2>/dev/null
	gpg --homedir "$REPLY" --batch --quiet --check-trustdb >/dev/null 2>&1 || true
}

# ---- a central server ----
# kluis_server REPO KEYRING: a bare dossier repository as a kluis server holds it: the project's
# hook script as pre-receive and post-receive, this build's kluis, the directie as trust root,
# KEYRING (public keys) to verify with
kluis_server() {
	local hook=$KLUIS_TEST_DIR/../hooks/pre-receive
	git init -q --bare "$1"
	cp "$hook" "$1/hooks/pre-receive"
	cp "$hook" "$1/hooks/post-receive"
	chmod 755 "$1/hooks/pre-receive" "$1/hooks/post-receive"
	git -C "$1" config kluis.program "$(readlink -f "$KLUIS")"
	git -C "$1" config --add kluis.trust "$DIR"
	git -C "$1" config kluis.gnupghome "$2"
}

# sync_vaults BASE : three vaults that sync through one server, each with its own keyring:
# A the medewerker's (ka), B and C the directie's (kb, kc), in BASE/va, vb, vc; AUD a home
# with the public keys only (the server's keyring); the verifier's cache under BASE
sync_vaults() {
	export XDG_CACHE_HOME=$1/cache
	mkdir -p "$XDG_CACHE_HOME"
	pub_home
	AUD=$REPLY
	actor_home "$MEDEW"
	AH=$REPLY
	actor_home "$DIR"
	BH=$REPLY
	actor_home "$DIR"
	CH=$REPLY
	VA=$1/va VB=$1/vb VC=$1/vc
	ka() { GNUPGHOME=$AH KLUIS_VAULT=$VA "$KLUIS" "$@"; }
	kb() { GNUPGHOME=$BH KLUIS_VAULT=$VB "$KLUIS" "$@"; }
	kc() { GNUPGHOME=$CH KLUIS_VAULT=$VC "$KLUIS" "$@"; }
}

# entry_points ID WANT [WHY [PULL_WHY]] : dossier ID of this vault (its checkpoint made to
# match) as each entry point sees it: kluis verify --full, verify --bundle of a stock bundle
# (an auditor with the public keys of $AUD), the server's hook (kluis_server) and a fresh pull
# as $PULLHOME's key from a server without the hook; each exits WANT. A refusal names WHY
# (the pull PULL_WHY, default WHY; "-" for none: git's own fsck may refuse first).
entry_points() {
	local id=$1 want=$2 why=${3:-} pull_why=${4:-${3:-}} r srv
	r=$(repo_of "$id")
	expect_exit "$want" k verify "$id" --full
	[ "$want" = 0 ] || assert_contains "$OUT" "$why" "verify --full of $id"
	git -C "$r" bundle create -q "$T_WORK/$id.bundle" main refs/kluis/content 2>/dev/null
	GNUPGHOME=$AUD expect_exit "$want" "$KLUIS" --vault "$T_WORK/bv-$id" verify --bundle "$T_WORK/$id.bundle" --trust "$DIR"
	[ "$want" = 0 ] || assert_contains "$OUT" "$why" "verify --bundle of $id"
	srv=$T_WORK/srv/$id.git
	kluis_server "$srv" "$AUD"
	if git -C "$r" push -q "$srv" main refs/kluis/content 2>"$T_WORK/push.err"; then
		[ "$want" = 0 ] || fail "the hook accepted $id"
	else
		[ "$want" != 0 ] || fail "the hook refused $id: $(cat "$T_WORK/push.err")"
		assert_contains "$(cat "$T_WORK/push.err")" "$why" "the hook's reason for $id"
	fi
	srv=$T_WORK/plain/$id.git
	git init -q --bare "$srv"
	git -C "$r" push -q "$srv" main refs/kluis/content
	GNUPGHOME=$PULLHOME KLUIS_VAULT=$T_WORK/pv-$id expect_exit "$want" "$KLUIS" pull "$id" "$srv" --trust "$DIR"
	[ "$want" = 0 ] || [ "$pull_why" = - ] || assert_contains "$ERR" "$pull_why" "pull of $id"
}

# ---- dossiers and stock-git witnesses ----
repo_of() { printf '%s/dossiers/%s.git\n' "$KLUIS_VAULT" "$1"; }

init_dossier() {
	local id=$1
	shift
	k --as "$DIR" init "$id" --klant "$KLANT" --medewerker "$MEDEW" --directie "$DIR" --opdrachtgever "$OPDR" "$@" \
		>"$T_OUT" 2>"$T_ERR" || fail "init $id failed"
}

git_witness() { git -C "$1" cat-file --batch-all-objects --batch; }

# the ref value or "none"
ref_of() { git -C "$1" rev-parse -q --verify "$2" 2>/dev/null || echo none; }

assert_nowhere() {
	local marker=$1 repo
	[ -d "$KLUIS_VAULT" ] || return 0
	if find "$KLUIS_VAULT" | grep_q -F -- "$marker"; then fail "'$marker' appears in a file name under the vault"; fi
	if grep -rqaF -- "$marker" "$KLUIS_VAULT"; then fail "'$marker' appears in a file under the vault"; fi
	for repo in "$KLUIS_VAULT"/dossiers/*.git "$KLUIS_VAULT"/ledger.git; do
		[ -d "$repo" ] || continue
		if git_witness "$repo" | grep_q -aF -- "$marker"; then fail "'$marker' appears in a git object of $repo"; fi
		if git -C "$repo" for-each-ref --format='%(refname)' | grep_q -F -- "$marker"; then fail "'$marker' appears in a ref name of $repo"; fi
		if git -C "$repo" log --all --format='%an %ae %cn %ce %B' | grep_q -aF -- "$marker"; then
			fail "'$marker' appears in a commit message or author of $repo"
		fi
	done
	return 0
}

assert_no_plaintext_since() {
	local stamp=$1 marker=$2 leaks
	leaks=$(find /tmp /dev/shm -xdev -newer "$stamp" -type f -size -8M 2>/dev/null | grep -v "^$T_WORK/" |
		xargs -r grep -lF -- "$marker" 2>/dev/null || true)
	[ -z "$leaks" ] || fail "plaintext ('$marker') left in a file kluis was not asked to write: $leaks"
}

# verify every commit of REF in REPO with stock git against GNUPGHOME=$2 (public keys only)
verify_all_commits() {
	local repo=$1 home=$2 ref=${3:-main} c n=0
	for c in $(git -C "$repo" rev-list "$ref"); do
		GNUPGHOME=$home git -C "$repo" verify-commit "$c" >/dev/null 2>&1 ||
			fail "stock git verify-commit refuses $ref commit $c: $(GNUPGHOME=$home git -C "$repo" verify-commit "$c" 2>&1 | head -5)"
		n=$((n + 1))
	done
	[ "$n" -gt 0 ] || fail "$ref has no commits in $repo"
}

# the primary fingerprint that signed COMMIT (maps a subkey to its primary), via stock git
signer_of() {
	local repo=$1 c=$2 home=${3:-$GNUPGHOME}
	GNUPGHOME=$home git -C "$repo" log -1 --format=%GP "$c"
}

# pointer_field REPO REV:PATH FIELD
pointer_field() { git -C "$1" cat-file blob "$2" | awk -v f="$3" '$1 == f { print $2 }'; }

# check_pointer REPO REV:PATH : the blob at REV:PATH is a kluis pointer (kluis-pointer 2, oid,
# sha256, size, plain) whose object exists, has that sha256 and size, is reachable from
# refs/kluis/content and not from main. The ciphertext oid is left in $REPLY.
check_pointer() {
	local repo=$1 spec=$2 text oid sha size
	text=$(git -C "$repo" cat-file blob "$spec" 2>/dev/null) || fail "no pointer at $spec"
	assert_eq "$(sed -n 1p <<<"$text")" "kluis-pointer 2" "first line of pointer $spec"
	assert_match "$(awk '$1 == "plain" { print $2 }' <<<"$text")" '^[0-9a-f]{64}$' "plain in pointer $spec"
	oid=$(awk '$1 == "oid" { print $2 }' <<<"$text")
	sha=$(awk '$1 == "sha256" { print $2 }' <<<"$text")
	size=$(awk '$1 == "size" { print $2 }' <<<"$text")
	assert_match "$oid" '^[0-9a-f]{40}$' "oid in pointer $spec"
	assert_match "$sha" '^[0-9a-f]{64}$' "sha256 in pointer $spec"
	assert_match "$size" '^[0-9]+$' "size in pointer $spec"
	assert_eq "$(git -C "$repo" cat-file -t "$oid" 2>/dev/null || echo missing)" blob "type of the object pointer $spec names"
	assert_eq "$(git -C "$repo" cat-file blob "$oid" | sha256sum | cut -d' ' -f1)" "$sha" "sha256 of the object pointer $spec names"
	assert_eq "$(git -C "$repo" cat-file -s "$oid")" "$size" "size of the object pointer $spec names"
	git -C "$repo" rev-list --objects refs/kluis/content | cut -d' ' -f1 | grep_q -x "$oid" ||
		fail "ciphertext $oid ($spec) is not reachable from refs/kluis/content"
	if git -C "$repo" rev-list --objects main | cut -d' ' -f1 | grep_q -x "$oid"; then
		fail "ciphertext $oid ($spec) is reachable from main: the signed history must link it by hash only"
	fi
	REPLY=$oid
}

# the key ids an OpenPGP message on stdin is encrypted to, sorted, one a line (no secret key used)
recipients_of() {
	local home
	home=$(mktemp -d /tmp/kt.XXXXXX)
	gpg --homedir "$home" --batch --list-packets 2>/dev/null | awk '/^:pubkey enc packet:/ { for (i = 1; i <= NF; i++) if ($i == "keyid") print toupper($(i + 1)) }' | sort -u || true
	gpgconf --homedir "$home" --kill all >/dev/null 2>&1 || true
	rm -rf "$home"
}
# the key id of FPR's encryption subkey
enc_keyid() { gpg --batch --with-colons --list-keys "$1" 2>/dev/null | awk -F: '$1 == "sub" && $12 ~ /e/ { print $5; exit }'; }

ID_RE='^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{4}$'

# ---- signatures as stock tools see them ----
# commit_split REPO COMMIT SIG DATA: the gpgsig header's armored text (continuation spaces
# removed) into SIG; the commit without that header, byte for byte, into DATA. Only the header
# section is searched: a "gpgsig " line in the message is text, not a signature.
commit_split() {
	git -C "$1" cat-file commit "$2" | python3 -c '
import sys
raw = sys.stdin.buffer.read()
head, sep, body = raw.partition(b"\n\n")
lines, sig, keep, i = head.split(b"\n"), [], [], 0
while i < len(lines):
    if lines[i].startswith(b"gpgsig "):
        sig.append(lines[i][len(b"gpgsig "):])
        i += 1
        while i < len(lines) and lines[i].startswith(b" "):
            sig.append(lines[i][1:])
            i += 1
    else:
        keep.append(lines[i])
        i += 1
open(sys.argv[1], "wb").write(b"\n".join(sig) + b"\n" if sig else b"")
open(sys.argv[2], "wb").write(b"\n".join(keep) + sep + body)
' "$3" "$4"
}
