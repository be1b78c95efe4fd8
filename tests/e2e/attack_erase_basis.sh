#!/usr/bin/env bash
# e2e/attack_erase_basis.sh - an attacker's test (review of 2026-12-07): an erase's legal basis
# is one of the codes kluis writes (P11.2, P13.4, W7), nothing else.
#
# The verifier took any [A-Za-z0-9.] text of any length as Kluis-Basis (trailer and erase
# record): a directie could write a klant's name, BSN and diagnosis into the signed log, where
# no later erase can remove it. The forgery: the honest erase's basis rewritten in both places
# and the commit re-signed by the directie (tests/forge/basis.py, stock gpg); the control is
# the same rewrite to W7, which must verify. Entry points: verify --full (the vault's
# checkpoint rewritten too), verify --bundle of a stock bundle, the server's hook, a fresh pull.
set -euo pipefail
. "$KLUIS_TEST_DIR/lib.sh"
export XDG_CACHE_HOME=$T_WORK/cache
pub_home; AUD=$REPLY
actor_home "$MEDEW"; PULLHOME=$REPLY
KF() { python3 "$KLUIS_TEST_DIR/forge/kforge.py" "$@"; }

forged() { # ID BASIS : dossier ID with one add and its erase, the erase's basis rewritten to BASIS
	init_dossier "$1"
	local e
	expect_exit 0 k --as "$MEDEW" add "$1" -m "te wissen notitie"
	e=$OUT
	expect_exit 0 k --as "$DIR" erase "$1" "$e" --reason "verzoek van de klant"
	python3 "$KLUIS_TEST_DIR/forge/basis.py" "$(repo_of "$1")" "$DIR" "$e" "$2" >/dev/null
	KF checkpoint "$(repo_of "$1")" "$1" >"$KLUIS_VAULT/checkpoints/$1"
}
forged k-ctl W7
entry_points k-ctl 0
pass "control: the erase's basis rewritten to W7 and re-signed by the directie verifies everywhere"

forged k-long "BSN123456782.J.Jansen.Dorpsstraat.1.diagnose.burn-out"
assert_contains "$(git -C "$(repo_of k-long)" log -1 --format=%B main)" "Kluis-Basis: BSN123456782.J.Jansen" "the forged trailer"
entry_points k-long 1 "Kluis-Basis is not P11.2, P13.4 or W7"
pass "an erase whose basis carries a klant's name and BSN, signed by the directie: verify, verify --bundle, the hook and pull refuse it"
