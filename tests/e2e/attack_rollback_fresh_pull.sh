#!/usr/bin/env bash
# e2e/attack_rollback_fresh_pull.sh - an attacker's test (review of 2026-12-07): a server that
# rolled a dossier back is refused by a vault that saw it further along, also when that vault's
# copy is gone (moved aside, as docs/DESIGN.md advises after a transfer conflict, or lost).
#
# VAULT/sync/ID records what the server held at this vault's last sync, but pull.c consults it
# only when the dossier is present: a fresh pull of the same id takes the rolled-back history
# (here: an erasure undone, the erased entry's ciphertext back in the vault, and the record of
# a read gone) and then overwrites VAULT/sync/ID with it.
# Now: pull checks what the vault last saw on that server also when the dossier is not here.
set -euo pipefail
. "$KLUIS_TEST_DIR/lib.sh"
sync_vaults "$T_WORK"
SRV=$T_WORK/srv/d1.git

kluis_server "$SRV" "$AUD"

expect_exit 0 kb init d1 --klant "$KLANT" --medewerker "$MEDEW" --directie "$DIR" --opdrachtgever "$OPDR"
expect_exit 0 kb add d1 -m "to be erased"
EID=$OUT
expect_exit 0 kb push d1 "$SRV"
BEFORE_MAIN=$(ref_of "$SRV" refs/heads/main)
BEFORE_CONTENT=$(ref_of "$SRV" refs/kluis/content)
BEFORE_ACCESS=$(ref_of "$SRV" refs/kluis/access)
expect_exit 0 kb show d1 "$EID"
expect_exit 0 kb erase d1 "$EID" --reason "recht op vergetelheid"
expect_exit 0 kb push d1 "$SRV"
expect_exit 0 ka pull d1 "$SRV" --trust "$DIR"
SEEN=$(cat "$VA"/sync/d1.*)
pass "vault A pulled d1 after the erasure; VAULT/sync/d1.R holds what it saw"

# the hostile server rolls all three refs back to before the erase (and before the read)
git -C "$SRV" update-ref refs/heads/main "$BEFORE_MAIN"
git -C "$SRV" update-ref refs/kluis/content "$BEFORE_CONTENT"
if [ "$BEFORE_ACCESS" = none ]; then git -C "$SRV" update-ref -d refs/kluis/access; else git -C "$SRV" update-ref refs/kluis/access "$BEFORE_ACCESS"; fi
expect_exit 1 ka pull d1 "$SRV"
pass "with its copy present, vault A refuses the rolled-back server: $ERR"

# the copy moved aside: the pull is a fresh one
mv "$VA/dossiers/d1.git" "$T_WORK/d1.aside"
expect_exit 0,1 ka pull d1 "$SRV" --trust "$DIR"
if [ -d "$VA/dossiers/d1.git" ]; then
	fail_soft "HOLE: a fresh pull took the rolled-back server although VAULT/sync/d1 said it had held more (seen: $(echo "$SEEN" | tr '\n' ' '); now: $(cat "$VA"/sync/d1.* | tr '\n' ' ')); entry $EID is back: $(ka show d1 "$EID" >/dev/null 2>&1 && echo readable || echo not-readable)"
fi
pass "checked the fresh pull of a rolled-back server: ${ERR:-taken}"
