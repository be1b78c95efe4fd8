#!/usr/bin/env bash
# e2e/attack_ciphertext_trailer.sh - an attacker's test (review of 2026-12-07): a ciphertext is
# one encrypted message, session keys then one encrypted data packet that ends where the blob
# ends.
#
# The recipients check read the packets up to the first data packet only, and readers decrypt
# that message only: a role holder could append a literal data packet in the clear to the
# ciphertext of an entry it adds (pointer and content made to match, the commit re-signed), and
# verify, verify --bundle, the hook and pull accepted it: clear text about a klant on the
# server and in every vault, readable without any key. Stock gpg --decrypt refuses the blob.
# The forgery: tests/forge/ctpad.py, re-signed by the medewerker with stock gpg. The control:
# an honest entry of 2.5 MB (partial lengths, streamed) verifies.
set -euo pipefail
. "$KLUIS_TEST_DIR/lib.sh"
export XDG_CACHE_HOME=$T_WORK/cache
pub_home; AUD=$REPLY
actor_home "$MEDEW"; PULLHOME=$REPLY
KF() { python3 "$KLUIS_TEST_DIR/forge/kforge.py" "$@"; }
TEXT="BSN 123456782 J. Jansen, in de clear op de server"

head -c 2500000 /dev/urandom >"$T_WORK/groot.bin"
init_dossier k-ctl
expect_exit 0 k --as "$MEDEW" add k-ctl -m "notitie"
expect_exit 0 k --as "$MEDEW" add k-ctl --file "$T_WORK/groot.bin"
expect_exit 0 k verify k-ctl --full
GNUPGHOME=$AUD expect_exit 0 "$KLUIS" verify k-ctl --full
pass "control: honest ciphertexts, small (one definite length) and 2.5 MB (partial lengths, streamed from the object store), verify"

init_dossier k-trail
expect_exit 0 k --as "$MEDEW" add k-trail -m "notitie"
E=$OUT
R=$(repo_of k-trail)
python3 "$KLUIS_TEST_DIR/forge/ctpad.py" "$R" "$MEDEW" "$E" "$TEXT" >/dev/null
KF checkpoint "$R" k-trail >"$KLUIS_VAULT/checkpoints/k-trail"
CT=$(git -C "$R" cat-file -p "main:entries/${E:17:2}/$E/body" | awk '$1 == "oid" { print $2 }')
git -C "$R" cat-file blob "$CT" | grep -aq "BSN 123456782" || fail "the forged ciphertext does not hold the text (test bug)"
GNUPGHOME=$AUD git -C "$R" verify-commit main >/dev/null 2>&1 || fail "stock git refuses the re-signed commit (test bug)"
entry_points k-trail 1 "is not OpenPGP public-key encrypted: it is not one encrypted message"
pass "clear text appended to an entry's ciphertext by the medewerker (re-signed): verify, verify --bundle, the hook and pull refuse it"
