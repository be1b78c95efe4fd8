#!/usr/bin/env bash
# e2e/transfer_roles.sh - the transfer of a dossier whose roles changed (issue 15, item 1):
# the archive's keys/ carries every key the history needs, not only the roles at the end.
#
# Two dossiers whose medewerker was replaced (kluis roles --remove OLD --add medewerker NEW),
# with reads and additions by both advisers; in the second the old adviser's key is then
# revoked as "no longer used" (soft) in the sending organisation's keyring. Each transfers,
# and imports at the opdrachtgever (a keyring with only its own secret key). Witnesses, with a
# fresh GNUPGHOME that imported keys/*.asc and nothing else: stock `gpg --verify` of the
# manifest, stock `git verify-commit` of every commit on main and refs/kluis/access, and
# Sequoia's `sqv` with keys/ as its keyring. A signature by a revoked key is refused by git
# whatever the reason (gpg says REVKEYSIG), so there the witnesses are gpg's VALIDSIG, the
# revocation carried in keys/, and sqv, which keeps a signature made before a soft revocation.
set -euo pipefail
. "$KLUIS_TEST_DIR/lib.sh"

command -v sqv >/dev/null || fail "sqv is not installed (Debian package sqv; scripts/bootstrap.sh installs it)"
MEDEW2=$(kt_key medewerker2 2>/dev/null)
[[ $MEDEW2 =~ ^[0-9A-F]{40}$ ]] || fail "could not make the second medewerker's key (got '$MEDEW2')"
secret_home "$OPDR"
OH=$REPLY

# a traject in which the adviser is replaced halfway
replaced_traject() { # ID
	init_dossier "$1"
	expect_exit 0 k --as "$MEDEW" add "$1" -m "intake door de eerste adviseur"
	local e1=$OUT
	expect_exit 0 k --as "$MEDEW" show "$1" "$e1"
	expect_exit 0 k --as "$DIR" roles "$1" --remove "$MEDEW" --add medewerker "$MEDEW2"
	expect_exit 0 k --as "$MEDEW2" show "$1" "$e1"
	expect_exit 0 k --as "$MEDEW2" add "$1" -m "vervolg door de nieuwe adviseur"
}

# check_archive ID ARCHIVE REVOKED: keys/ alone verifies the manifest and every commit; REVOKED
# is the key revoked softly before the transfer (or "")
check_archive() {
	local id=$1 a=$2 revoked=$3 x kh mir keys c signer n=0 nrev=0
	x=$T_WORK/$id.x
	mkdir -p "$x"
	tar xzf "$a" -C "$x"
	for f in "$KLANT" "$MEDEW" "$MEDEW2" "$DIR" "$OPDR"; do
		[ -f "$x/keys/$f.asc" ] || fail "$id: keys/ lacks $f (members: $(tar tzf "$a" | tr '\n' ' '))"
	done
	make_home
	kh=$REPLY
	gpg --homedir "$kh" --batch --quiet --import "$x"/keys/*.asc 2>/dev/null
	[ "$(gpg --homedir "$kh" --batch --with-colons --list-secret-keys 2>/dev/null | grep -c '^sec' || true)" = 0 ] ||
		fail "$id: keys/ holds a secret key"
	if [ -n "$revoked" ]; then
		gpg --homedir "$kh" --batch --with-colons --list-keys "$revoked" 2>/dev/null | grep_q '^pub:r:' ||
			fail "$id: keys/$revoked.asc does not carry the revocation the sending keyring holds"
	fi
	gpg --homedir "$kh" --batch --status-fd 1 --verify "$x/manifest.json.asc" "$x/manifest.json" >"$T_WORK/gv.out" 2>&1 ||
		fail "$id: stock gpg --verify of the manifest with keys/ alone: $(cat "$T_WORK/gv.out")"
	assert_eq "$(awk '$2 == "VALIDSIG" { print $NF }' "$T_WORK/gv.out")" "$MEDEW2" "$id: signer of the manifest"
	keys=$T_WORK/$id.keys.pgp
	cat "$x"/keys/*.asc >"$keys"
	mir=$T_WORK/$id.mirror.git
	git clone -q --mirror "$x/dossier.bundle" "$mir" 2>/dev/null || fail "$id: stock git clone --mirror of the bundle"
	for c in $(git -C "$mir" rev-list refs/heads/main refs/kluis/access); do
		signer=$(GNUPGHOME=$kh git -C "$mir" log -1 --format=%GP "$c")
		commit_split "$mir" "$c" "$T_WORK/sig" "$T_WORK/data"
		sqv --keyring "$keys" "$T_WORK/sig" "$T_WORK/data" >"$T_WORK/sqv.out" 2>"$T_WORK/sqv.err" ||
			fail "$id: sqv with keys/ alone refuses commit $c (signer $signer): $(head -c 600 "$T_WORK/sqv.err")"
		if [ -n "$revoked" ] && [ "$signer" = "$revoked" ]; then
			GNUPGHOME=$kh git -C "$mir" verify-commit --raw "$c" >"$T_WORK/vc.out" 2>&1 || true
			grep_q "^\[GNUPG:\] VALIDSIG .* $revoked\$" "$T_WORK/vc.out" && grep_q '^\[GNUPG:\] REVKEYSIG ' "$T_WORK/vc.out" ||
				fail "$id: gpg does not see a good signature by the revoked key on $c: $(tr '\n' '|' <"$T_WORK/vc.out")"
			nrev=$((nrev + 1))
		else
			GNUPGHOME=$kh git -C "$mir" verify-commit "$c" >/dev/null 2>"$T_WORK/vc.err" ||
				fail "$id: stock git verify-commit with keys/ alone refuses commit $c: $(head -c 600 "$T_WORK/vc.err")"
		fi
		n=$((n + 1))
	done
	[ "$n" -ge 9 ] || fail "$id: only $n commits checked (test precondition)"
	if [ -n "$revoked" ]; then
		[ "$nrev" -ge 2 ] || fail "$id: only $nrev commits by the revoked key (test precondition: its add and its read)"
		pass "$id: keys/ carries the old and new adviser (the old one revoked); with it alone gpg --verify accepts the manifest, git verify-commit every commit not by the revoked key, gpg sees a good signature (REVKEYSIG) on the $nrev by it, and sqv accepts all $n"
	else
		pass "$id: keys/ carries the old and new adviser; with it alone gpg --verify accepts the manifest, and git verify-commit and sqv accept all $n commits on main and refs/kluis/access"
	fi
}

import_at_opdrachtgever() { # ID ARCHIVE
	expect_exit 0 env GNUPGHOME="$OH" KLUIS_VAULT="$T_ROOT/ov-$1" "$KLUIS" import "$2" --trust "$DIR"
	assert_eq "$OUT" "$1" "stdout of import"
	expect_exit 0 env GNUPGHOME="$OH" KLUIS_VAULT="$T_ROOT/ov-$1" "$KLUIS" verify "$1" --full
	pass "$1: imported by the opdrachtgever (its own secret key, nothing else) and kluis verify --full accepts it there"
}

# ---- the adviser replaced ----
replaced_traject r-0001
expect_exit 0 k --as "$MEDEW2" close r-0001
expect_exit 0 k --as "$MEDEW2" transfer r-0001 --out "$T_WORK/r1.tgz"
pass "r-0001 (medewerker replaced): transfer exit 0"
check_archive r-0001 "$T_WORK/r1.tgz" ""
import_at_opdrachtgever r-0001 "$T_WORK/r1.tgz"

# ---- the adviser replaced, and the old key then revoked as no longer used ----
replaced_traject r-0002
sleep 1 # the revocation is after every signature of the old key, to the second
printf 'revkey\ny\n3\n\ny\nsave\n' | gpg --no-tty --command-fd 0 --status-fd 2 --pinentry-mode loopback --passphrase '' \
	--edit-key "$MEDEW" >/dev/null 2>&1 || fail "gpg --edit-key revkey failed"
gpg --batch --with-colons --list-keys "$MEDEW" 2>/dev/null | grep_q '^pub:r:' || fail "the old adviser's key is not revoked (test precondition)"
expect_exit 0 k --as "$MEDEW2" add r-0002 -m "na de intrekking"
expect_exit 0 k --as "$MEDEW2" close r-0002
expect_exit 0 k --as "$MEDEW2" transfer r-0002 --out "$T_WORK/r2.tgz"
pass "r-0002 (medewerker replaced, old key revoked softly): transfer exit 0"
check_archive r-0002 "$T_WORK/r2.tgz" "$MEDEW"
import_at_opdrachtgever r-0002 "$T_WORK/r2.tgz"
