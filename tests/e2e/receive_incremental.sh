#!/usr/bin/env bash
# e2e/receive_incremental.sh - the server hook's own checkpoint (vault/exchange/receive.c): a
# push replays only the commits it brings, and no edit of the checkpoint file gets a forged
# history accepted.
#
# The server: a bare repository with hooks/pre-receive, the trust root and an auditor keyring
# (public keys only), its hook's user cache in SRVCACHE. Pushes are stock `git push` from
# vault A's dossier repository, so the hook's own line ("N commits, M replayed ...") is what
# the pusher sees; the figure M is the independent count of what the hook judged.
set -euo pipefail
. "$KLUIS_TEST_DIR/lib.sh"
SRVCACHE=$T_ROOT/srvcache          # the server user's cache: the hook's checkpoint lives here
mkdir -p "$SRVCACHE"
export XDG_CACHE_HOME=$T_ROOT/cache # vault A's own verifier cache, apart from the server's

HOOK_SRC=$KLUIS_TEST_DIR/../hooks/pre-receive
KLUIS_ABS=$(readlink -f "$KLUIS")
pub_home
AUD=$REPLY
SRV=$T_ROOT/srv/d1.git
LA=$(repo_of d1)
export GIT_AUTHOR_NAME=forger GIT_AUTHOR_EMAIL=forger@kluis.test GIT_COMMITTER_NAME=forger GIT_COMMITTER_EMAIL=forger@kluis.test

git init -q --bare "$SRV"
cp "$HOOK_SRC" "$SRV/hooks/pre-receive"
chmod 755 "$SRV/hooks/pre-receive"
git -C "$SRV" config kluis.program "$KLUIS_ABS"
git -C "$SRV" config --add kluis.trust "$DIR"
git -C "$SRV" config kluis.gnupghome "$AUD"
refs_of() { git -C "$1" for-each-ref --format='%(objectname) %(refname)' | sort; }

# spush EXPECT(ok|refused) SRC_REPO REFSPEC...: stock git push to the server, the hook run as
# the server's user would (its own cache); output in $PUSH_OUT, the hook's verdict in $VERDICT
spush() {
	local want=$1 src=$2 rc=0
	shift 2
	PUSH_OUT=$(XDG_CACHE_HOME=$SRVCACHE git -C "$src" push "$SRV" "$@" 2>&1) || rc=$?
	if [ "$want" = refused ] && [ "$rc" -eq 0 ]; then fail "git push $* was accepted: $PUSH_OUT"; fi
	if [ "$want" = ok ] && [ "$rc" -ne 0 ]; then fail "git push $* failed: $PUSH_OUT"; fi
	VERDICT=$(grep -o "verifies with this push (.*)" <<<"$PUSH_OUT" || true)
}
push_all() { spush "$1" "$LA" refs/heads/main +refs/kluis/content:refs/kluis/content refs/kluis/access; } # content is no chain: rewritten as it is
state_file() { # the one state file in the server's cache
	local f
	f=$(find "$SRVCACHE/kluis/verified" -type f ! -name key)
	[ "$(wc -l <<<"$f")" -eq 1 ] && [ -n "$f" ] || fail "expected one checkpoint file in the server's cache, found: $f"
	printf '%s\n' "$f"
}

# ---- the first push replays everything and leaves a checkpoint only the server user reads ----
init_dossier d1
for i in 1 2 3; do expect_exit 0 k --as "$MEDEW" add d1 -m "note $i"; done
expect_exit 0 k --as "$MEDEW" show d1 "$OUT"
N=$(git -C "$LA" rev-list --count main)
push_all ok
assert_eq "$VERDICT" "verifies with this push ($N commits, $N replayed: all)" "the first push"
ST=$(state_file)
assert_eq "$(stat -c %a "$ST")" 600 "the checkpoint's mode"
assert_eq "$(stat -c %a "$SRVCACHE/kluis/verified/key")" 600 "the checkpoint key's mode"
assert_eq "$(stat -c %a "$SRVCACHE/kluis/verified")" 700 "the checkpoint directory's mode"
grep -qx "head $(ref_of "$LA" refs/heads/main)" "$ST" || fail "the checkpoint is not at the pushed head"
[ -z "$(find "$SRV" -maxdepth 1 -name 'kluis-receive.*')" ] || fail "the hook left its scratch directory"
pass "first push: all $N commits replayed; the server's checkpoint (0600, key 0600, dir 0700) is at the pushed head"

# ---- the next push replays only what it brings ----
expect_exit 0 k --as "$MEDEW" add d1 -m "note 4"
ID4=$OUT
push_all ok
assert_eq "$VERDICT" "verifies with this push ($((N + 1)) commits, 1 replayed from the server's checkpoint)" "a push of one commit"
expect_exit 0 k --as "$MEDEW" add d1 -m "note 5"
expect_exit 0 k --as "$MEDEW" add d1 -m "note 6"
push_all ok
assert_eq "$VERDICT" "verifies with this push ($((N + 3)) commits, 2 replayed from the server's checkpoint)" "a push of two commits"
N=$((N + 3))
# a push of the read log alone: main unchanged, nothing of main to replay
expect_exit 0 k --as "$MEDEW" show d1 "$ID4"
spush ok "$LA" refs/kluis/access
assert_match "$VERDICT" "^verifies with this push \($N commits, 0 replayed from the server's checkpoint\)$" "a push of the read log"
pass "later pushes replay only the commits they bring (1, 2, 0 of $N), from the server's checkpoint"

# ---- a forged commit on top of a checkpointed history is still judged, and refused ----
HEAD_C=$(ref_of "$SRV" refs/heads/main)
SEQ=$(git -C "$SRV" log -1 --format=%B "$HEAD_C" | awk -F': ' '$1 == "Kluis-Seq" { print $2 }')
MSG=$(printf 'add -\n\nKluis-Action: add\nKluis-Role: medewerker\nKluis-Seq: %s\n' $((SEQ + 1)))
UNSIGNED=$(git -C "$LA" commit-tree "$HEAD_C^{tree}" -p "$HEAD_C" -m "$MSG")
BEFORE=$(refs_of "$SRV")
STATE_BEFORE=$(sha256sum <"$ST")
spush refused "$LA" "$UNSIGNED:refs/heads/main"
assert_contains "$PUSH_OUT" "unsigned" "the hook's reason for an unsigned commit after a checkpoint"
assert_eq "$(refs_of "$SRV")" "$BEFORE" "server refs after the refused push"
assert_eq "$(sha256sum <"$ST")" "$STATE_BEFORE" "the checkpoint after a refused push"
pass "an unsigned commit pushed on top of the checkpoint: refused; server and checkpoint unchanged"

# ---- a checkpoint file that was edited means a full replay, never trust ----
# (1) an edited line under the old MAC: the MAC fails, the push replays in full and is accepted
sed -i 's/^seq \([0-9]*\)$/seq 1\1/' "$ST"
expect_exit 0 k --as "$MEDEW" add d1 -m "note 7"
N=$((N + 1))
push_all ok
assert_eq "$VERDICT" "verifies with this push ($N commits, $N replayed: all)" "a push after the checkpoint was edited"
grep -qx "head $(ref_of "$LA" refs/heads/main)" "$ST" || fail "the full replay did not write a new checkpoint"

# (2) a forged state that vouches for an unsigned commit, with a MAC made under another key (all
# an attacker who can write the file but not read the server user's key can make): the push
# that builds on the unsigned commit replays in full and is refused
HEAD_C=$(ref_of "$SRV" refs/heads/main)
SEQ=$(git -C "$SRV" log -1 --format=%B "$HEAD_C" | awk -F': ' '$1 == "Kluis-Seq" { print $2 }')
MSG=$(printf 'add -\n\nKluis-Action: add\nKluis-Role: medewerker\nKluis-Seq: %s\n' $((SEQ + 1)))
UNSIGNED=$(git -C "$LA" commit-tree "$HEAD_C^{tree}" -p "$HEAD_C" -m "$MSG")
MSG2=$(printf 'add -\n\nKluis-Action: add\nKluis-Role: medewerker\nKluis-Seq: %s\n' $((SEQ + 2)))
ON_TOP=$(git -C "$LA" commit-tree "$HEAD_C^{tree}" -p "$UNSIGNED" -m "$MSG2")
python3 - "$ST" "$UNSIGNED" "$((SEQ + 1))" <<'PY'
import hmac, hashlib, os, re, sys
path, forged, seq = sys.argv[1], sys.argv[2], sys.argv[3]
body = open(path).read()
body = body[:body.index("\nmac ") + 1]
body = re.sub(r"(?m)^head [0-9a-f]{40}$", "head " + forged, body)
body = re.sub(r"(?m)^seq [0-9]+$", "seq " + seq, body)
mac = hmac.new(os.urandom(32), body.encode(), hashlib.sha256).hexdigest()
open(path, "w").write(body + "mac " + mac + "\n")
PY
grep -qx "head $UNSIGNED" "$ST" || fail "the forged checkpoint was not written"
BEFORE=$(refs_of "$SRV")
spush refused "$LA" "$ON_TOP:refs/heads/main"
assert_contains "$PUSH_OUT" "unsigned" "the hook's reason when the checkpoint vouches for a forged commit"
assert_eq "$(refs_of "$SRV")" "$BEFORE" "server refs after the push on a forged checkpoint"
pass "an edited checkpoint means a full replay ($N of $N); one forged under another key that vouches for an unsigned commit does not get it accepted"

# (3) the key itself replaced by one others may read: no checkpoint is trusted, full replay
chmod 644 "$SRVCACHE/kluis/verified/key"
expect_exit 0 k --as "$MEDEW" add d1 -m "note 8"
N=$((N + 1))
push_all ok
assert_eq "$VERDICT" "verifies with this push ($N commits, $N replayed: all)" "a push while the key is readable by others"
pass "a checkpoint key others could read is no key: the push replays in full"

# ---- the server's history verifies on its own, with stock git and kluis ----
verify_all_commits "$SRV" "$AUD" main
git -C "$SRV" fsck --no-progress >/dev/null 2>&1 || fail "stock git fsck refuses the server repository"
pass "the server's history: every commit verifies with stock git (public keys only); fsck passes"
