#!/usr/bin/env bash
# e2e/gpg_conf.sh - a user's gpg.conf that changes what gpg signs still makes commits that
# kluis, stock git and Sequoia's sqv all verify.
#
# kluis signs through gpg, which reads the user's gpg.conf: `textmode` makes a text signature
# (type 0x01), `personal-digest-preferences` another digest, `sig-notation` a notation in the
# hashed area. All of that is signed, the signer's to choose; what is not signed (the armor,
# the packet's framing, the unhashed area) stays in the one form kluis accepts
# (docs/FORMATS.md, "Signatures"). A rule there that pinned a signed byte to gpg's default
# would make kluis refuse its own commits for such a user; this test shows it does not.
set -euo pipefail
. "$KLUIS_TEST_DIR/lib.sh"
command -v sqv >/dev/null || fail "sqv is not installed (Debian package sqv; scripts/bootstrap.sh installs it)"

D=k-conf
R=$(repo_of "$D")
init_dossier "$D"
actor_home "$MEDEW"
H=$REPLY
printf 'textmode\npersonal-digest-preferences SHA512\nsig-notation werkplek@kluis.test=kantoor-2\n' >"$H/gpg.conf"
GNUPGHOME=$H expect_exit 0 "$KLUIS" add "$D" -m "notitie met een eigen gpg.conf"
E=$OUT
GNUPGHOME=$H expect_exit 0 "$KLUIS" show "$D" "$E"
packets=$(git -C "$R" cat-file commit main | awk '/^gpgsig /{s=1; print substr($0, 8); next} s && /^ /{print substr($0, 2); next} {s=0}' |
	gpg --list-packets 2>/dev/null)
assert_contains "$packets" "sigclass 0x01" "the signature gpg.conf's textmode made"
assert_contains "$packets" "digest algo 10" "the digest gpg.conf preferred (SHA512)"
assert_contains "$packets" "notation: werkplek@kluis.test=kantoor-2" "the notation gpg.conf added"
pass "with textmode, SHA512 and a notation in gpg.conf: kluis adds and shows (a text signature in SHA512 with a notation)"

pub_home
AUD=$REPLY
expect_exit 0 env GNUPGHOME="$AUD" "$KLUIS" verify "$D" --full
verify_all_commits "$R" "$AUD"
verify_all_commits "$R" "$AUD" refs/kluis/access
gpg --homedir "$AUD" --batch --export >"$T_WORK/keys.pgp"
commit_split "$R" main "$T_WORK/sig" "$T_WORK/data"
sqv --keyring "$T_WORK/keys.pgp" "$T_WORK/sig" "$T_WORK/data" >/dev/null 2>"$T_WORK/sqv.err" ||
	fail "sqv refuses the text signature: $(head -c 400 "$T_WORK/sqv.err")"
pass "an auditor's kluis verify --full, stock git verify-commit (main and the read log) and sqv accept it"
