#!/usr/bin/env bash
# e2e/attack_seen_other_remote.sh - a review test (2026-12-07): VAULT/sync/ID is what ONE server
# held; a push to another remote (a backup, a second office) must not make the dossier's own
# server look rolled back. pull.c/sync.c key VAULT/sync/ID by the dossier id only: after
# `kluis push ID OTHER`, `kluis sync ID` against the dossier's own server is refused as a
# rollback although that server rewrote nothing.
# Now: what a vault last saw is kept per remote (VAULT/sync/ID.R).
set -euo pipefail
. "$KLUIS_TEST_DIR/lib.sh"
export XDG_CACHE_HOME=$T_WORK/cache
mkdir -p "$XDG_CACHE_HOME"

pub_home
AUD=$REPLY
actor_home "$DIR"
BH=$REPLY
VB=$T_WORK/vb
kb() { GNUPGHOME=$BH KLUIS_VAULT=$VB "$KLUIS" "$@"; }
for s in srv bak; do
	kluis_server "$T_WORK/$s/d1.git" "$AUD"
done
expect_exit 0 kb init d1 --klant "$KLANT" --medewerker "$MEDEW" --directie "$DIR" --opdrachtgever "$OPDR"
printf 'remote %s\n' "$T_WORK/srv" >>"$VB/kluis.conf"
expect_exit 0 kb push d1
expect_exit 0 kb add d1 -m "pushed to the backup first"
expect_exit 0 kb push d1 "$T_WORK/bak/d1.git"
pass "d1 pushed to its server, then (one commit further) to a backup remote"
expect_exit 0,1 kb sync d1
[[ $ERR != *"rolled back"* ]] || fail_soft "HOLE: the dossier's own server is taken for rolled back after a push elsewhere: $ERR"
pass "checked sync against the dossier's own server"
