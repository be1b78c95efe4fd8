#!/usr/bin/env bash
# e2e/sync.sh - kluis push / kluis pull with a central git server whose pre-receive hook is
# hooks/pre-receive (kluis hook pre-receive).
#
# The server: a bare repository per dossier with the hook installed, trust root configured
# (git config kluis.trust) and an auditor keyring of public keys only (kluis.gnupghome).
# Vault A: lib.sh's GNUPGHOME (every secret key) and KLUIS_VAULT. Vault B: another keyring,
# the directie's secret key and the public keys. Independent witnesses: stock git (rev-parse
# on the server, verify-commit with public keys only, for-each-ref), and stock git push for
# the forged pushes the hook must refuse.
set -euo pipefail
. "$KLUIS_TEST_DIR/lib.sh"
export XDG_CACHE_HOME=$T_ROOT/cache
mkdir -p "$XDG_CACHE_HOME"

HOOK_SRC=$KLUIS_TEST_DIR/../hooks/pre-receive
[ -x "$HOOK_SRC" ] || fail "hooks/pre-receive is missing or not executable"
pub_home
AUD=$REPLY                      # the server's keyring: public keys only
actor_home "$DIR"
BH=$REPLY                       # vault B's keyring: the directie's secret key, public keys
VB=$T_ROOT/vaultb
kb() { GNUPGHOME=$BH KLUIS_VAULT=$VB "$KLUIS" "$@"; }
SRVROOT=$T_ROOT/srv
SRV=$SRVROOT/d1.git
LA=$(repo_of d1)
LB=$VB/dossiers/d1.git
MARK="sync-marker-$$-$RANDOM"
export GIT_AUTHOR_NAME=forger GIT_AUTHOR_EMAIL=forger@kluis.test GIT_COMMITTER_NAME=forger GIT_COMMITTER_EMAIL=forger@kluis.test

make_server() { kluis_server "$1" "$AUD"; }
refs_of() { git -C "$1" for-each-ref --format='%(objectname) %(refname)' | sort; }
same_refs() { # REPO_A REPO_B WHAT: main, content and access agree
	local r
	for r in refs/heads/main refs/kluis/content refs/kluis/access; do
		assert_eq "$(ref_of "$1" "$r")" "$(ref_of "$2" "$r")" "$3: $r"
	done
}
# stock_push EXPECT(ok|refused) ARGS...: git push from the forge repository, output in $PUSH_OUT
stock_push() {
	local want=$1 rc=0
	shift
	PUSH_OUT=$(git -C "$FORGE" push "$@" 2>&1) || rc=$?
	if [ "$want" = refused ] && [ "$rc" -eq 0 ]; then fail "stock git push $* was accepted: $PUSH_OUT"; fi
	if [ "$want" = ok ] && [ "$rc" -ne 0 ]; then fail "stock git push $* failed: $PUSH_OUT"; fi
	return 0
}

# ---- help that teaches ----
expect_exit 0 k push --help
assert_contains "$OUT" "REMOTE" "push --help"
assert_contains "$OUT" "kluis.conf" "push --help (where the default remote comes from)"
assert_contains "$OUT" "verif" "push --help (what is verified)"
expect_exit 0 k pull --help
assert_contains "$OUT" "--trust" "pull --help"
assert_contains "$OUT" "replayed" "pull --help (both sides moved)"
expect_exit 0 k hook --help
assert_contains "$OUT" "kluis.trust" "hook --help"
pass "push, pull and hook --help explain REMOTE, its default and what is verified"

# ---- vault A: a dossier with an entry and a read ----
init_dossier d1
expect_exit 0 k --as "$MEDEW" add d1 -m "first note $MARK"
ID1=$OUT
expect_exit 0 k --as "$MEDEW" show d1 "$ID1"
assert_ne_access=$(ref_of "$LA" refs/kluis/access)
[ "$assert_ne_access" != none ] || fail "show left no access record"

expect_exit 2 k --as "$MEDEW" push d1
assert_contains "$ERR" "kluis.conf" "push without a remote"
assert_contains "$ERR" "remote URL-PREFIX" "push without a remote"
pass "push without REMOTE or a configured remote says how to set one"

make_server "$SRV"
printf 'remote %s\n' "$SRVROOT" >>"$KLUIS_VAULT/kluis.conf"
expect_exit 1 k --as "$OUTSIDER" push d1
assert_contains "$ERR" "medewerker or the directie" "outsider push"
assert_eq "$(ref_of "$SRV" refs/heads/main)" none "server main after the outsider's push"
pass "an outsider (no role) cannot push with kluis; the server stays empty"

expect_exit 0 k --as "$MEDEW" push d1
same_refs "$LA" "$SRV" "server after the first push"
verify_all_commits "$SRV" "$AUD" main
verify_all_commits "$SRV" "$AUD" refs/kluis/access
git -C "$SRV" fsck --no-progress >/dev/null 2>&1 || fail "stock git fsck refuses the server repository"
pass "push: the server holds main, content and access; stock git verify-commit (public keys) and fsck accept them"

expect_exit 0 k --as "$MEDEW" push d1
assert_contains "$ERR" "up to date" "second push"
pass "a second push is up to date"

expect_exit 0 k --as "$MEDEW" push d1 --json
assert_eq "$(python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["up_to_date"], d["head"])' <"$T_OUT")" "True $(ref_of "$LA" refs/heads/main)" "push --json"
expect_exit 2 k --as "$MEDEW" push d1 "-oProxyCommand=touch $T_WORK/pwned"
[ ! -e "$T_WORK/pwned" ] || fail "a REMOTE starting with '-' reached git as an option"
expect_exit 1 k --as "$MEDEW" pull d1 "$T_ROOT/no-such-server.git"
assert_contains "$ERR" "cannot reach the server" "pull from a missing server"
assert_eq "$(refs_of "$LA" | wc -l)" 3 "vault A's refs after a pull from a missing server"
pass "push --json; a REMOTE that looks like an option is refused; an unreachable server is one clear line"

# a server whose trust root is another key: kluis push shows its hook's reason on one line
SRV_OTHER=$T_ROOT/other/d1.git
make_server "$SRV_OTHER"
git -C "$SRV_OTHER" config --replace-all kluis.trust "$OPDR"
expect_exit 1 k --as "$MEDEW" push d1 "$SRV_OTHER"
assert_contains "$ERR" "the server refused the push of 'd1'" "push refused by the hook"
assert_contains "$ERR" "would not verify" "push refused by the hook: the server's reason"
assert_eq "$(ref_of "$SRV_OTHER" refs/heads/main)" none "main on the server that refused"
pass "a push the server's hook refuses is exit 1 with the server's reason on one line"

# ---- vault B: pull creates the dossier there ----
expect_exit 2 kb pull d1 "$SRV"
assert_contains "$ERR" "--trust" "pull into a vault without a trust root"
[ ! -e "$LB" ] || fail "a refused pull left a dossier in vault B"
expect_exit 0 kb pull d1 "$SRV" --trust "$DIR"
same_refs "$LB" "$SRV" "vault B after its first pull"
expect_exit 0 kb verify d1
expect_exit 0 kb show d1 "$ID1"
assert_contains "$OUT" "first note $MARK" "the entry read in vault B"
[ -z "$(ls -A "$VB/tmp" 2>/dev/null)" ] || fail "pull left scratch files in VAULT/tmp: $(ls "$VB/tmp")"
pass "pull into vault B (another keyring) creates the dossier; kluis verify passes and the entry is readable there"

expect_exit 0 kb add d1 -m "second note from B $MARK"
ID2=$OUT
expect_exit 0 kb push d1
same_refs "$LB" "$SRV" "server after B's push (default remote: the origin the pull recorded)"
expect_exit 0 k --as "$MEDEW" pull d1
same_refs "$LA" "$SRV" "vault A after pulling B's work"
expect_exit 0 k verify d1
expect_exit 0 k --as "$MEDEW" show d1 "$ID2"
assert_contains "$OUT" "second note from B $MARK" "B's entry read in vault A"
assert_eq "$(sed -n 3p "$KLUIS_VAULT/checkpoints/d1")" "head $(ref_of "$LA" refs/heads/main)" "vault A's checkpoint after the pull"
pass "B pushes to its recorded origin, A pulls with the vault's remote prefix: verified, readable, checkpoint moved"

# ---- forged pushes with stock git: the hook refuses, the server does not move ----
FORGE=$T_ROOT/forge.git
git clone -q --mirror "$SRV" "$FORGE"
BEFORE=$(refs_of "$SRV")
HEAD_C=$(git -C "$FORGE" rev-parse refs/heads/main)
SEQ=$(git -C "$FORGE" log -1 --format=%B "$HEAD_C" | awk -F': ' '$1 == "Kluis-Seq" { print $2 }')
MSG=$(printf 'add -\n\nKluis-Action: add\nKluis-Role: medewerker\nKluis-Seq: %s\n' $((SEQ + 1)))

UNSIGNED=$(git -C "$FORGE" commit-tree "$HEAD_C^{tree}" -p "$HEAD_C" -m "$MSG")
stock_push refused "$SRV" "$UNSIGNED:refs/heads/main"
assert_contains "$PUSH_OUT" "remote: kluis:" "the hook's reason for an unsigned commit"
assert_contains "$PUSH_OUT" "unsigned" "the hook's reason for an unsigned commit"
printf '%s\n' "$PUSH_OUT" | sed 's/^/    | /' | head -8
assert_eq "$(refs_of "$SRV")" "$BEFORE" "server refs after an unsigned push"
pass "stock git push of an unsigned commit: refused by the hook, server unchanged"

# committed the way kluis commits (role <FPR>), so only the missing role is wrong
OUTSIDER_C=$(GIT_AUTHOR_NAME=medewerker GIT_AUTHOR_EMAIL=$OUTSIDER GIT_COMMITTER_NAME=medewerker GIT_COMMITTER_EMAIL=$OUTSIDER \
	git -C "$FORGE" commit-tree -S"$OUTSIDER" "$HEAD_C^{tree}" -p "$HEAD_C" -m "$MSG")
git -C "$FORGE" verify-commit "$OUTSIDER_C" >/dev/null 2>&1 || fail "the outsider's forged commit is not even validly signed"
stock_push refused "$SRV" "$OUTSIDER_C:refs/heads/main"
assert_contains "$PUSH_OUT" "remote: kluis:" "the hook's reason for an outsider's commit"
assert_contains "$PUSH_OUT" "$OUTSIDER" "the hook's reason names the signer without a role"
printf '%s\n' "$PUSH_OUT" | grep "remote: kluis:" | head -1 | sed 's/^/    | /'
assert_eq "$(refs_of "$SRV")" "$BEFORE" "server refs after the outsider's push"
pass "stock git push of a well-signed commit by a key with no role: refused, server unchanged"

FORGED=$(git -C "$FORGE" cat-file commit "$HEAD_C" | sed "s/^parent .*/parent $HEAD_C/" | git -C "$FORGE" hash-object -t commit -w --stdin)
if GNUPGHOME=$AUD git -C "$FORGE" verify-commit "$FORGED" >/dev/null 2>&1; then fail "the forged commit's copied signature verifies"; fi
stock_push refused "$SRV" "$FORGED:refs/heads/main"
assert_contains "$PUSH_OUT" "remote: kluis:" "the hook's reason for a forged signature"
assert_eq "$(refs_of "$SRV")" "$BEFORE" "server refs after the forged push"
pass "stock git push of a commit with a signature copied from another commit: refused, server unchanged"

stock_push refused --force "$SRV" "$HEAD_C~1:refs/heads/main"
assert_contains "$PUSH_OUT" "fast-forward" "the hook's reason for a rewrite"
ACC_PARENT=$(git -C "$FORGE" rev-parse --verify 'refs/kluis/access~1')
stock_push refused --force "$SRV" "$ACC_PARENT:refs/kluis/access"
assert_contains "$PUSH_OUT" "fast-forward" "the hook's reason for a rewrite of access"
assert_eq "$(refs_of "$SRV")" "$BEFORE" "server refs after forced rewrites"
pass "stock git push --force rewinding main or access: refused (non-fast-forward), server unchanged"

stock_push refused "$SRV" ":refs/kluis/access"
assert_contains "$PUSH_OUT" "delete" "the hook's reason for a deletion"
stock_push refused "$SRV" "$HEAD_C:refs/heads/other"
assert_contains "$PUSH_OUT" "holds only" "the hook's reason for another ref"
assert_eq "$(refs_of "$SRV")" "$BEFORE" "server refs after a deletion and another ref"
pass "stock git push deleting a ref or adding another ref: refused, server unchanged"

# ---- pull of a tampered server history: refused, the local dossier unchanged ----
EVIL=$T_ROOT/evil/d1.git
mkdir -p "$T_ROOT/evil"
git clone -q --mirror "$SRV" "$EVIL"
git -C "$EVIL" fetch -q "$FORGE" "$OUTSIDER_C"
git -C "$EVIL" update-ref refs/heads/main "$OUTSIDER_C" # behind the hook's back
LOCAL_BEFORE=$(refs_of "$LA")
CP_BEFORE=$(sha256sum <"$KLUIS_VAULT/checkpoints/d1")
expect_exit 1 k --as "$MEDEW" pull d1 "$EVIL"
assert_contains "$ERR" "does not verify" "pull of a tampered history"
assert_contains "$ERR" "nothing was changed" "pull of a tampered history"
assert_eq "$(refs_of "$LA")" "$LOCAL_BEFORE" "vault A's refs after the refused pull"
assert_eq "$(sha256sum <"$KLUIS_VAULT/checkpoints/d1")" "$CP_BEFORE" "vault A's checkpoint after the refused pull"
if git -C "$LA" cat-file -e "$OUTSIDER_C" 2>/dev/null; then fail "the forged commit entered vault A's object store"; fi
[ -z "$(ls -A "$KLUIS_VAULT/tmp" 2>/dev/null)" ] || fail "the refused pull left scratch files in VAULT/tmp"
expect_exit 0 k verify d1
pass "pull of a tampered server history: refused before anything moved; the forged commit never reached the dossier"

# ---- a dossier that does not verify locally is not pushed ----
VC=$T_ROOT/vaultc
cp -a "$KLUIS_VAULT" "$VC"
git -C "$VC/dossiers/d1.git" fetch -q "$FORGE" "$UNSIGNED"
git -C "$VC/dossiers/d1.git" update-ref refs/heads/main "$UNSIGNED"
expect_exit 1 env KLUIS_VAULT="$VC" "$KLUIS" --as "$MEDEW" push d1
assert_contains "$ERR" "does not verify" "push of a dossier that does not verify"
assert_contains "$ERR" "nothing was pushed" "push of a dossier that does not verify"
assert_eq "$(refs_of "$SRV")" "$BEFORE" "server refs after the refused push"
pass "push refuses a dossier that does not verify locally; nothing is sent"

# ---- both vaults add and read, B pushes first: A's push replays A's work on the server's ----
expect_exit 0 k --as "$MEDEW" add d1 -m "A's unpushed note $MARK"
AID=$OUT
expect_exit 0 k --as "$MEDEW" show d1 "$AID"
expect_exit 0 kb add d1 -m "B's note"
BID=$OUT
expect_exit 0 kb show d1 "$BID"
expect_exit 0 kb push d1
SERVER_MAIN=$(ref_of "$SRV" refs/heads/main)
expect_exit 0 k --as "$MEDEW" push d1
assert_contains "$ERR" "replayed" "A's push after B's"
same_refs "$LA" "$SRV" "server after A's reconciled push"
git -C "$SRV" merge-base --is-ancestor "$SERVER_MAIN" refs/heads/main || fail "A's push rewrote the server's main"
expect_exit 0 k verify d1 --full
verify_all_commits "$SRV" "$AUD" main
verify_all_commits "$SRV" "$AUD" refs/kluis/access
expect_exit 0 kb pull d1
same_refs "$LB" "$SRV" "vault B after pulling A's replayed work"
expect_exit 0 kb verify d1 --full
expect_exit 0 kb show d1 "$AID"
assert_contains "$OUT" "A's unpushed note $MARK" "A's replayed entry read in vault B"
# every read on record exactly once: A's show of its own entry, B's show of B's, B's new show
expect_exit 0 kb audit d1 --json
python3 - "$T_OUT" "$AID" "$BID" <<'PY' || fail "the reconciled read log lost or doubled a read"
import json, sys
d = json.load(open(sys.argv[1]))
evs = d["events"] if isinstance(d, dict) else d
reads = [e for e in evs if e.get("action") == "access"]
for want, n in ((sys.argv[2], 1), (sys.argv[3], 1)):
    got = [e for e in reads if e.get("entry") == want and e.get("purpose") != "rewrap"]
    assert len(got) >= n, (want, got)
PY
pass "both vaults added and read: A's push replayed A's commit and read on the server's history; both vaults and the server verify; the entry reads in B"

# ---- the same entry erased on both sides: erased once, the server's erase stands ----
VD=$T_ROOT/vaultd
kd() { GNUPGHOME=$BH KLUIS_VAULT=$VD "$KLUIS" "$@"; }
expect_exit 0 kb add d1 -m "to be erased"
EID=$OUT
expect_exit 0 kb add d1 -m "to be erased here, rewrapped there"
RID=$OUT
expect_exit 0 kb push d1
expect_exit 0 kd pull d1 "$SRV" --trust "$DIR"
expect_exit 0 kb erase d1 "$EID" --reason "op verzoek van de klant"
expect_exit 0 kb push d1
SERVER_ERASE=$(ref_of "$SRV" refs/heads/main)
expect_exit 0 kd erase d1 "$EID" --reason "op verzoek van de klant"
expect_exit 0 kd push d1
assert_eq "$(git -C "$SRV" log --format='%(trailers:key=Kluis-Entry,valueonly,separator=) %(trailers:key=Kluis-Action,valueonly,separator=)' refs/heads/main | grep -c "^$EID erase$")" 1 "erase commits of $EID on the server"
expect_exit 0 kd verify d1 --full
pass "the same entry erased in two vaults: erased once on the server (the first erase stands); both verify"

# ---- an entry erased here while the server rewrapped it: a conflict; nothing moves ----
expect_exit 0 kb roles d1 --add opdrachtgever "$OUTSIDER"
expect_exit 0 kb push d1
SERVER_NOW=$(refs_of "$SRV")
expect_exit 0 kd erase d1 "$RID" --reason "op verzoek van de klant"
LOCAL_BEFORE=$(refs_of "$VD/dossiers/d1.git")
expect_exit 1 kd push d1
assert_contains "$ERR" "both sides changed it" "an entry erased here and rewrapped on the server"
assert_contains "$ERR" "nothing was changed here" "an entry erased here and rewrapped on the server"
assert_eq "$(refs_of "$SRV")" "$SERVER_NOW" "server refs after the conflicting push"
assert_eq "$(refs_of "$VD/dossiers/d1.git")" "$LOCAL_BEFORE" "vault D's refs after the refused replay"
expect_exit 0 kd verify d1
pass "an entry erased in one vault while the server rewrapped it: the replay refuses, naming the path both changed; neither the server nor the vault moved"

# ---- local work the server lacks is kept by a pull ----
expect_exit 0 kb add d1 -m "B's unpushed note"
expect_exit 0 kb pull d1
assert_contains "$ERR" "kluis push d1" "pull with local work ahead"
[ "$(ref_of "$LB" refs/heads/main)" != "$(ref_of "$SRV" refs/heads/main)" ] || fail "B's unpushed commit vanished"
expect_exit 0 kb verify d1
pass "pull keeps local commits the server lacks and says to push them"

# ---- an erasure travels: a vault that pulls it loses the ciphertext too (P11.2) ----
actor_home "$MEDEW"
EH=$REPLY
VE=$T_ROOT/vaulte
ke() { GNUPGHOME=$EH KLUIS_VAULT=$VE "$KLUIS" "$@"; }
expect_exit 0 kb push d1
expect_exit 0 ke pull d1 "$SRV" --trust "$DIR"
LE=$VE/dossiers/d1.git
check_pointer "$LE" "main:entries/${ID1:17:2}/$ID1/body"
GONE=$REPLY
git -C "$LE" cat-file -e "$GONE" || fail "vault E lacks the body of $ID1 before the erasure"
git -C "$LE" repack -q -a -d   # in a pack, too: the purge must reach packs
expect_exit 0 kb erase d1 "$ID1" --reason "op verzoek van de klant"
expect_exit 0 kb push d1
expect_exit 0 ke pull d1
assert_contains "$ERR" "gone from this vault" "pull of an erasure"
if git -C "$LE" cat-file -e "$GONE" 2>/dev/null; then fail "the erased ciphertext $GONE is still in vault E after the pull"; fi
expect_exit 0 ke verify d1 --full
assert_contains "$OUT" "2 erased" "verify after the pulled erasure (this one and the one erased on both sides above)"
git -C "$LE" fsck --no-progress 2>/dev/null || fail "stock git fsck refuses vault E after the pulled erasure"
pass "a pulled erase removes the ciphertext from the puller's loose objects and packs; verify reports the erasure; git fsck passes"
