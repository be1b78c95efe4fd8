#!/usr/bin/env bash
# stock_witness.sh - kluis's signatures are ordinary OpenPGP signatures over ordinary git
# commits: two verifiers that share no code with kluis (stock `git verify-commit` through gpg,
# and Sequoia's `sqv`) accept every commit of a dossier kluis wrote, and all three refuse a
# commit re-signed with an authentication-only subkey (librnp alone would accept that one;
# vault/pgp/pgp_verify.c's usage rule refuses it).
#
# The dossier: init, adds, a statement, a roles change, a consent, a correction, an erasure, a
# read and a close. Every commit on refs/heads/main and refs/kluis/access is checked, with
# public keys only: `git verify-commit` in a GNUPGHOME that holds the public keys, `sqv
# --keyring KEYS.asc SIG DATA` where SIG is the commit's gpgsig header and DATA the commit
# without it (commit_split, below: what git hands gpg).
# shellcheck source=../lib.sh
. "$KLUIS_TEST_DIR/lib.sh"
# shellcheck source=../keys_time.sh
. "$KLUIS_TEST_DIR/keys_time.sh"

command -v sqv >/dev/null || fail "sqv is not installed (Debian package sqv; scripts/bootstrap.sh installs it)"
command -v python3 >/dev/null || fail "python3 is not installed"

# commit_join DATA SIG: a raw commit on stdout, SIG's armored text put in as the gpgsig header
# at the end of DATA's header section (where git and libgit2 put it)
commit_join() {
	python3 -c '
import sys
data, sig = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read()
head, sep, body = data.partition(b"\n\n")
lines = (sig[:-1] if sig.endswith(b"\n") else sig).split(b"\n")  # an empty last line stays: git writes it as " "
header = b"gpgsig " + lines[0] + b"".join(b"\n " + l for l in lines[1:])
sys.stdout.buffer.write(head + b"\n" + header + sep + body)
' "$1" "$2"
}

# ---- a second medewerker whose key has an authentication-only subkey (an ssh key, say) ----
MEDEW2=$(kt_key medewerker2 2>/dev/null)
AUTH_SUB=$(kt_addsub "$MEDEW2" "$(date +%s)" auth)
[[ $AUTH_SUB =~ ^[0-9A-F]{40}$ ]] || fail "could not add an auth subkey to the medewerker2 key (got '$AUTH_SUB')"
pub_home "$KLANT" "$MEDEW" "$DIR" "$OPDR" "$OUTSIDER" "$MEDEW2"
AUD=$REPLY
KEYS=$T_WORK/keys.asc
gpg --homedir "$AUD" --batch --armor --export >"$KEYS"
gpg --homedir "$AUD" --batch --with-colons --list-keys "$MEDEW2" | grep_q "^sub:[^:]*:[^:]*:[^:]*:${AUTH_SUB:24}:.*:a:" ||
	fail "the auditor's copy of the medewerker2 key lacks its auth-only subkey (test precondition)"
pass "the second medewerker's key has an authentication-only subkey ${AUTH_SUB:24}; the auditor holds public keys only"

# ---- a small dossier, every kind of commit ----
D=k-witness
init_dossier "$D"
expect_exit 0 k --as "$MEDEW" add "$D" -m "intakegesprek"
E1=$OUT
expect_exit 0 k --as "$MEDEW" add "$D" -m "te wissen: onjuist"
E2=$OUT
expect_exit 0 k --as "$KLANT" statement "$D" -m "mijn eigen verklaring"
expect_exit 0 k --as "$KLANT" consent "$D" grant --purpose "begeleiding naar werk"
expect_exit 0 k --as "$MEDEW" correct "$D" "$E1" -m "intakegesprek, gecorrigeerd"
expect_exit 0 k --as "$DIR" erase "$D" "$E2" --reason "verzoek van de klant"
expect_exit 0 k --as "$DIR" roles "$D" --add medewerker "$MEDEW2" --remove "$MEDEW"
expect_exit 0 k --as "$MEDEW2" add "$D" -m "overdracht naar de nieuwe adviseur"
expect_exit 0 k --as "$KLANT" show "$D" "$E1"
expect_exit 0 k --as "$MEDEW2" close "$D"
for e in "$E1" "$E2"; do assert_match "$e" "$ID_RE" "entry id"; done
R=$(repo_of "$D")
expect_exit 0 env GNUPGHOME="$AUD" "$KLUIS" verify "$D" --full
pass "a dossier with adds, a statement, a consent, a correction, an erasure, a roles change, a read and a close; kluis verify --full accepts it"

# ---- every commit, both witnesses ----
n=0
for ref in refs/heads/main refs/kluis/access; do
	commits=$(git -C "$R" rev-list "$ref")
	[ -n "$commits" ] || fail "$ref has no commits"
	for c in $commits; do
		GNUPGHOME=$AUD git -C "$R" verify-commit "$c" >/dev/null 2>"$T_WORK/git.err" ||
			fail "git verify-commit refuses $ref commit $c: $(head -c 600 "$T_WORK/git.err")"
		commit_split "$R" "$c" "$T_WORK/sig" "$T_WORK/data"
		[ -s "$T_WORK/sig" ] || fail "$ref commit $c has no gpgsig header"
		grep_q -x -- "-----BEGIN PGP SIGNATURE-----" "$T_WORK/sig" || fail "$ref commit $c: the gpgsig header is not an armored signature"
		if grep_q '^gpgsig' "$T_WORK/data"; then fail "commit_split left the gpgsig header in the data of $c"; fi
		sqv --keyring "$KEYS" "$T_WORK/sig" "$T_WORK/data" >"$T_WORK/sqv.out" 2>"$T_WORK/sqv.err" ||
			fail "sqv refuses $ref commit $c: $(head -c 600 "$T_WORK/sqv.err")"
		# sqv names the signing key; it is the one stock git names (the subkey's primary for
		# a subkey, here always a primary: kluis's test keys sign with their primary)
		assert_eq "$(cat "$T_WORK/sqv.out")" "$(GNUPGHOME=$AUD git -C "$R" log -1 --format=%GF "$c")" "signer of $c by sqv and by git"
		n=$((n + 1))
	done
done
[ "$n" -ge 12 ] || fail "only $n commits checked; the dossier should have more (test precondition)"
pass "all $n commits on main and refs/kluis/access: git verify-commit and sqv accept each, naming the same signer"

# the control for commit_split: one byte of the data changed, sqv refuses
c=$(git -C "$R" rev-parse main)
commit_split "$R" "$c" "$T_WORK/sig" "$T_WORK/data"
sed -i '1s/^tree ./tree X/' "$T_WORK/data"
if sqv --keyring "$KEYS" "$T_WORK/sig" "$T_WORK/data" >/dev/null 2>&1; then fail "sqv accepted a commit whose tree line was changed"; fi
pass "control: sqv refuses the head commit with one byte of its data changed"

# ---- the attack: a commit re-signed with the authentication-only subkey ----
# The head of main (the close, signed by the second medewerker) re-signed, its signed bytes
# unchanged, by the material of that medewerker's auth-only subkey. gpg refuses -u SUB! for an
# auth-only key, so the signature is made through a twin (tests/keys_time.sh), then patched
# into the commit with stock tools (git hash-object, git update-ref).
head_before=$(git -C "$R" rev-parse main)
assert_eq "$(GNUPGHOME=$AUD git -C "$R" log -1 --format=%GF "$head_before")" "$MEDEW2" "signer of the head (test precondition)"
commit_split "$R" "$head_before" "$T_WORK/sig" "$T_WORK/data"
kt_twin_sign "$AUTH_SUB" "$(date +%s)" "$T_WORK/data" "$T_WORK/authsig.asc" || fail "could not sign with the auth subkey's twin"
gpg --batch --list-packets "$T_WORK/authsig.asc" 2>/dev/null | grep_q "issuer fpr v4 $AUTH_SUB" ||
	fail "the forged signature does not name the auth subkey as its issuer (test precondition)"
commit_join "$T_WORK/data" "$T_WORK/authsig.asc" >"$T_WORK/forged"
FC=$(git -C "$R" hash-object -t commit -w "$T_WORK/forged")
commit_split "$R" "$FC" "$T_WORK/fsig" "$T_WORK/fdata"
cmp -s "$T_WORK/fdata" "$T_WORK/data" || fail "commit_split of the re-signed commit does not give back the data signed"
cmp -s "$T_WORK/fsig" "$T_WORK/authsig.asc" || fail "commit_split of the re-signed commit does not give back its signature"
# the control for commit_join: the honest signature joined the same way gives the honest commit
commit_join "$T_WORK/data" "$T_WORK/sig" | cmp -s - <(git -C "$R" cat-file commit "$head_before") ||
	fail "commit_join of the head's own data and signature is not the head commit: $(diff <(commit_join "$T_WORK/data" "$T_WORK/sig") <(git -C "$R" cat-file commit "$head_before") | head -20)"

# sqv
if sqv --keyring "$KEYS" "$T_WORK/fsig" "$T_WORK/fdata" >"$T_WORK/sqv.out" 2>"$T_WORK/sqv.err"; then
	fail "sqv accepted a signature by an authentication-only subkey"
fi
pass "sqv refuses it: $(tr '\n' ' ' <"$T_WORK/sqv.err" | head -c 300)"

# stock git (gpg)
if GNUPGHOME=$AUD git -C "$R" verify-commit "$FC" >/dev/null 2>"$T_WORK/git.err"; then
	fail "git verify-commit accepted a commit signed by an authentication-only subkey"
fi
if GNUPGHOME=$AUD git -C "$R" verify-commit --raw "$FC" 2>&1 | grep_q '^\[GNUPG:\] GOODSIG'; then
	fail "gpg called the auth-only subkey's signature good"
fi
pass "git verify-commit refuses it: $(tr '\n' ' ' <"$T_WORK/git.err" | head -c 300)"

# kluis verify, with the re-signed commit as the head
git -C "$R" update-ref refs/heads/main "$FC" "$head_before"
RC=0
env GNUPGHOME="$AUD" "$KLUIS" verify "$D" --full >"$T_OUT" 2>"$T_ERR" || RC=$?
assert_eq "$RC" 1 "exit code of kluis verify with the re-signed head (stdout: $(head -c 400 "$T_OUT"))"
assert_contains "$(cat "$T_OUT" "$T_ERR")" "which may not sign (key flags)" "kluis verify's finding"
assert_contains "$(cat "$T_OUT" "$T_ERR")" "$AUTH_SUB" "kluis verify's finding names the subkey"
pass "kluis verify refuses it: $(grep -h 'may not sign' "$T_OUT" "$T_ERR" | head -1 | head -c 300)"
git -C "$R" update-ref refs/heads/main "$head_before" "$FC"
expect_exit 0 env GNUPGHOME="$AUD" "$KLUIS" verify "$D" --full
pass "control: with the honest head back, kluis verify --full accepts the dossier again"
