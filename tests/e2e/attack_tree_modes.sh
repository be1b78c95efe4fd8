#!/usr/bin/env bash
# e2e/attack_tree_modes.sh - an attacker's test (review of 2026-12-07): every tree of main is in
# git's own encoding, as kluis (libgit2) writes it.
#
# libgit2 reads a mode `100600` as `100644`, `40777` as `40000`, and a zero-padded mode as the
# mode: a role holder could re-encode the trees of a commit it signs (a few bits an entry), and
# a zero-padded mode that the server's hook accepted is refused by git's own fsck on every
# later fetch, so one such push blocked pulls from that server. The forgery: main's head (an
# add by the medewerker) with its root and entries trees re-encoded, re-signed by the
# medewerker (tests/forge/retree_main.py, stock gpg). The control: the same tool, modes as
# git writes them, which must verify. Entry points: verify --full (checkpoint rewritten),
# verify --bundle of a stock bundle, the hook, a fresh pull.
set -euo pipefail
. "$KLUIS_TEST_DIR/lib.sh"
export XDG_CACHE_HOME=$T_WORK/cache
pub_home; AUD=$REPLY
actor_home "$MEDEW"; PULLHOME=$REPLY
KF() { python3 "$KLUIS_TEST_DIR/forge/kforge.py" "$@"; }

forged() { # ID PAD [FILEMODE DIRMODE] : ID with one add, its trees re-encoded and re-signed
	init_dossier "$1"
	expect_exit 0 k --as "$MEDEW" add "$1" -m "notitie"
	FILEMODE=${3:-} DIRMODE=${4:-} python3 "$KLUIS_TEST_DIR/forge/retree_main.py" "$(repo_of "$1")" "$MEDEW" "$2" >/dev/null
	KF checkpoint "$(repo_of "$1")" "$1" >"$KLUIS_VAULT/checkpoints/$1"
}
forged k-ctl ""
entry_points k-ctl 0
pass "control: main's head re-encoded by the same tool in git's own modes, re-signed by the medewerker, verifies everywhere"

forged k-bits "" 100600 40777
entry_points k-bits 1 "the dossier tree is not in git's own encoding"
pass "modes 100600 and 40777 (libgit2 reads 100644 and 40000), re-signed by the medewerker: verify, verify --bundle, the hook and pull refuse them"

forged k-pad 0000
entry_points k-pad 1 "not in git's own encoding" -
pass "zero-padded modes: verify, verify --bundle and the hook refuse them (so no server takes a push that git's fsck refuses on every later fetch); pull refuses too"
