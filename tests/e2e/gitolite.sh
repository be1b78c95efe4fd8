#!/usr/bin/env bash
# e2e/gitolite.sh - the central server as organisations run it: gitolite over ssh on 127.0.0.1,
# set up by scripts/server-setup.sh, with kluis push and pull, the kluis-heads command, and
# forged pushes with stock git that the hook must refuse.
#
# The test makes a dedicated system user for gitolite (home in /tmp, so the hook runs this
# build's kluis as that user, ASan builds included), runs server-setup.sh for it twice (the
# second run must change nothing but the adviser it adds), starts its own sshd on a free port
# with its own host key (known_hosts pinned, no password, no PAM) and stops it on exit.
# Two advisers: alice (vault A, lib.sh's keyring) and bob (vault B, its own keyring and ssh
# key); the gitolite admin may not touch dossiers. Each side's ssh key reaches git through
# core.sshCommand in its HOME's .gitconfig (kluis gives git only HOME, not GIT_SSH_COMMAND).
# Independent witnesses: stock git on the server's repositories (read as root), stock git
# verify-commit with public keys only, git fsck.
set -euo pipefail

# skips only for a reason the reader can act on (CI runs as root with scripts/bootstrap.sh's
# packages and must never skip: ctest counts exit 77 as a skip, and CI counts a skip as a failure)
why=
[ "$(id -u)" -eq 0 ] || why="not root: the test creates a system user for gitolite and starts sshd"
for c in gitolite /usr/sbin/sshd ssh ssh-keygen runuser useradd userdel python3; do
	[ -n "$why" ] || command -v "$c" >/dev/null || why="'$c' is missing: install gitolite3 and openssh-server (scripts/bootstrap.sh installs them)"
done
if [ -n "$why" ]; then
	echo "SKIP: e2e/gitolite: $why"
	exit 77
fi

. "$KLUIS_TEST_DIR/lib.sh"
export XDG_CACHE_HOME=$T_ROOT/cache
mkdir -p "$XDG_CACHE_HOME"
SETUP=$KLUIS_TEST_DIR/../scripts/server-setup.sh
KLUIS_ABS=$(readlink -f "$KLUIS")
GUSER=kgt$$
GDIR=$(mktemp -d /tmp/kg.XXXXXX)   # the gitolite user's home is GDIR/g; sshd's files in GDIR/s
T_DIRS+=("$GDIR")
chmod 755 "$GDIR"
GHOME=$GDIR/g
REPOS=$GHOME/repositories
# the server's repositories belong to the gitolite user: root's stock git reads them as a witness
export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=safe.directory GIT_CONFIG_VALUE_0='*'
SD=$GDIR/s
mkdir -m 700 "$SD"
SSHD_PID=

gt_cleanup() {
	local rc=$?
	[ -z "$SSHD_PID" ] || { kill "$SSHD_PID" 2>/dev/null; wait "$SSHD_PID" 2>/dev/null || true; }
	if getent passwd "$GUSER" >/dev/null; then
		runuser -u "$GUSER" -- env -i HOME="$GHOME" gpgconf --homedir "$GHOME/keyring" --kill all >/dev/null 2>&1 || true
		userdel "$GUSER" 2>/dev/null || true
	fi
	set +e          # lib.sh's t_cleanup takes the test's status from $?, which set_rc gives back
	set_rc "$rc"
	t_cleanup
}
set_rc() { return "$1"; }
trap gt_cleanup EXIT

# ---- keys: ssh keys for the admin and two advisers, the public OpenPGP keys for the server ----
for who in admin alice bob; do
	ssh-keygen -q -t ed25519 -N '' -C "$who" -f "$SD/$who"
done
gpg --batch --export --armor "$KLANT" "$MEDEW" "$DIR" "$OPDR" "$OUTSIDER" >"$SD/team.asc"
chmod 644 "$SD"/*.pub "$SD/team.asc"

# ---- server-setup.sh: help, then a first and a second run ----
expect_exit 0 bash "$SETUP" --help
assert_contains "$OUT" "--trust" "server-setup --help"
assert_contains "$OUT" "kluis-heads" "server-setup --help"
assert_contains "$OUT" "remote ssh://" "server-setup --help (what a vault's kluis.conf says)"
rc=0
out=$(bash "$SETUP" --no-install --user "$GUSER" --home "$GHOME" --trust 1234 --kluis "$KLUIS_ABS" 2>&1) || rc=$?
assert_eq "$rc" 1 "exit of server-setup with a bad --trust"
assert_eq "$out" "server-setup: --trust '1234' is not a 40-digit fingerprint" "server-setup with a bad --trust"
getent passwd "$GUSER" >/dev/null && fail "server-setup created the user although its arguments were wrong"
pass "server-setup.sh --help teaches; wrong arguments change nothing"

SETUP_ARGS=(--no-install --user "$GUSER" --home "$GHOME" --kluis "$KLUIS_ABS")
bash "$SETUP" "${SETUP_ARGS[@]}" --admin-key "$SD/admin.pub" --trust "$DIR" --import "$SD/team.asc" \
	--adviser "alice=$SD/alice.pub" --port 2222 --host kluis.test >"$T_OUT" 2>"$T_ERR" || fail "server-setup.sh failed: $(cat "$T_OUT" "$T_ERR")"
OUT=$(cat "$T_OUT")
assert_contains "$OUT" "remote ssh://$GUSER@kluis.test:2222/dossiers" "server-setup's closing line"
assert_contains "$OUT" "5 public keys" "server-setup's keyring"
G() { runuser -u "$GUSER" -- env -i HOME="$GHOME" PATH=/usr/bin:/bin git "$@"; }
assert_eq "$(G config --global --get-all kluis.trust)" "$DIR" "the server's trust root"
assert_eq "$(G config --global kluis.program)" "$KLUIS_ABS" "the server's kluis"
for key in receive.fsckObjects receive.denyDeletes; do
	assert_eq "$(G config --global --bool "$key")" true "the server's $key"
done
# content is replaced by every change (one parentless commit): a blanket denyNonFastForwards
# would refuse the second push of every dossier (seen: B's push below, before it was off)
assert_eq "$(G config --global --bool receive.denyNonFastForwards)" false "the server's receive.denyNonFastForwards"
if grep -q '^repo testing' "$GHOME/.gitolite/conf/gitolite.conf"; then fail "gitolite's sample repo testing (RW+ = @all) is still there"; fi
assert_eq "$(sed -n '/^# kluis begin/,/^# kluis end/p' "$GHOME/.gitolite/conf/gitolite.conf" | grep '+' | awk '{ print $1, $2 }')" \
	"RW+ refs/kluis/content$" "the only rule of the kluis block that may rewind"
pass "server-setup.sh: gitolite for $GUSER, one trust root, keyring and kluis for every repository, fsck, no deletes, a rewind only of content"

bash "$SETUP" "${SETUP_ARGS[@]}" --adviser "bob=$SD/bob.pub" >"$T_OUT" 2>"$T_ERR" || fail "server-setup.sh (second run) failed: $(cat "$T_OUT" "$T_ERR")"
OUT=$(cat "$T_OUT")
assert_not_contains "$OUT" "installed" "second run of server-setup.sh"
assert_not_contains "$OUT" "git config --global" "second run of server-setup.sh"
assert_contains "$OUT" "@kluis-advisers:alice bob" "second run of server-setup.sh"
assert_eq "$(G config --global --get-all kluis.trust)" "$DIR" "the trust root after the second run"
pass "a second run changes nothing but the adviser it adds (through gitolite-admin, which the kluis hook leaves alone)"

# ---- our own sshd ----
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
ssh-keygen -q -t ed25519 -N '' -f "$SD/host"
mkdir -p /run/sshd   # sshd's privilege separation directory (the openssh-server package makes it at boot)
cat >"$SD/sshd_config" <<EOF
Port $PORT
ListenAddress 127.0.0.1
HostKey $SD/host
PidFile none
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
AuthorizedKeysFile .ssh/authorized_keys
AllowUsers $GUSER
EOF
/usr/sbin/sshd -D -e -f "$SD/sshd_config" 2>"$SD/sshd.log" &
SSHD_PID=$!
printf '[127.0.0.1]:%s %s\n' "$PORT" "$(cut -d' ' -f1,2 "$SD/host.pub")" >"$SD/known_hosts"
sshc() { # KEY: the ssh command line for that key
	printf 'ssh -p %s -i %s -o IdentitiesOnly=yes -o BatchMode=yes -o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes' "$PORT" "$SD/$1" "$SD/known_hosts"
}
for i in $(seq 50); do
	$(sshc alice) "$GUSER@127.0.0.1" info >/dev/null 2>&1 && break
	[ "$i" -lt 50 ] || fail "sshd on 127.0.0.1:$PORT did not let alice in: $(tail -5 "$SD/sshd.log")"
	sleep 0.1
done
REMOTE=ssh://$GUSER@127.0.0.1:$PORT/dossiers
heads() { $(sshc "$1") "$GUSER@127.0.0.1" kluis-heads; }
pass "sshd on 127.0.0.1:$PORT with its own host key; alice reaches gitolite"

# ---- vault A (alice) pushes a new dossier: gitolite creates its repository ----
git config --file "$HOME/.gitconfig" core.sshCommand "$(sshc alice)"
init_dossier d1
MARK="gitolite-marker-$$-$RANDOM"
expect_exit 0 k --as "$MEDEW" add d1 -m "first note $MARK"
ID1=$OUT
expect_exit 0 k --as "$MEDEW" show d1 "$ID1"
printf 'remote %s\n' "$REMOTE" >>"$KLUIS_VAULT/kluis.conf"
LA=$(repo_of d1)
SRV=$REPOS/dossiers/d1.git
expect_exit 0 k --as "$MEDEW" push d1
[ -d "$SRV" ] || fail "gitolite did not create dossiers/d1.git for the push"
assert_eq "$(readlink "$SRV/hooks/pre-receive")" "$GHOME/local/hooks/common/pre-receive" "the new repository's pre-receive hook"
assert_eq "$(readlink "$SRV/hooks/post-receive")" "$GHOME/local/hooks/common/post-receive" "the new repository's post-receive hook"
for r in refs/heads/main refs/kluis/content refs/kluis/access; do
	assert_eq "$(ref_of "$SRV" "$r")" "$(ref_of "$LA" "$r")" "server $r after the push"
done
pub_home
AUD=$REPLY
verify_all_commits "$SRV" "$AUD" main
git -C "$SRV" fsck --no-progress >/dev/null 2>&1 || fail "stock git fsck refuses the server's dossiers/d1.git"
pass "kluis push over ssh creates dossiers/d1 (wild repository) with the kluis hook; refs, signatures and fsck as pushed"

# ---- kluis-heads: one line per dossier the caller may read ----
line() { printf 'dossiers/%s %s %s %s' "$1" "$(ref_of "$2" refs/heads/main)" "$(ref_of "$2" refs/kluis/content)" "$(ref_of "$2" refs/kluis/access)"; }
assert_eq "$(heads alice)" "$(line d1 "$SRV")" "kluis-heads for alice"
assert_eq "$(heads admin)" "" "kluis-heads for the admin, who may not read dossiers"
if GIT_SSH_COMMAND="$(sshc admin)" git ls-remote "$REMOTE/d1.git" >/dev/null 2>&1; then fail "the gitolite admin (no adviser) could read dossiers/d1"; fi
# a dossier repository with main only, its refs packed: '-' for the missing ones, packed-refs read
mkdir -p "$REPOS/dossiers/c0.git"
git init -q --bare "$REPOS/dossiers/c0.git"
git -C "$REPOS/dossiers/c0.git" fetch -q "$LA" refs/heads/main:refs/heads/main
git -C "$REPOS/dossiers/c0.git" pack-refs --all
# what gitolite makes for a wild repository: gl-creator (no newline) and its update hook, without
# which gitolite grants nothing
printf alice >"$REPOS/dossiers/c0.git/gl-creator"
ln -s "$GHOME/.gitolite/hooks/common/update" "$REPOS/dossiers/c0.git/hooks/update"
chown -R "$GUSER:" "$REPOS/dossiers/c0.git"
assert_eq "$(heads alice)" "$(printf 'dossiers/c0 %s - -\n%s' "$(ref_of "$LA" refs/heads/main)" "$(line d1 "$SRV")")" "kluis-heads with a packed, partial repository"
rm -rf "$REPOS/dossiers/c0.git"
rc=0
out=$($(sshc alice) "$GUSER@127.0.0.1" kluis-heads extra 2>&1) || rc=$?
assert_eq "$rc" 1 "exit of kluis-heads with an argument"
assert_contains "$out" "no arguments" "kluis-heads with an argument"
pass "kluis-heads: 'REPO MAIN CONTENT ACCESS' sorted, '-' for a missing ref, packed refs read, nothing for a user who may not read"

# ---- vault B (bob, its own keyring and ssh key) pulls the dossier ----
actor_home "$DIR"
BH=$REPLY
VB=$T_ROOT/vaultb
mkdir -m 700 "$T_ROOT/homeb"
git config --file "$T_ROOT/homeb/.gitconfig" core.sshCommand "$(sshc bob)"
kb() { HOME=$T_ROOT/homeb GNUPGHOME=$BH KLUIS_VAULT=$VB "$KLUIS" "$@"; }
expect_exit 0 kb pull d1 "$REMOTE/d1.git" --trust "$DIR"
expect_exit 0 kb verify d1
expect_exit 0 kb show d1 "$ID1"
assert_contains "$OUT" "first note $MARK" "the entry read in vault B"
expect_exit 0 kb add d1 -m "second note from B $MARK"
ID2=$OUT
expect_exit 0 kb push d1
expect_exit 0 k --as "$MEDEW" pull d1
expect_exit 0 k --as "$MEDEW" show d1 "$ID2"
assert_contains "$OUT" "second note from B $MARK" "B's entry read in vault A"
assert_eq "$(heads bob)" "$(line d1 "$SRV")" "kluis-heads for bob after his push"
assert_eq "$(ref_of "$SRV" refs/heads/main)" "$(ref_of "$LA" refs/heads/main)" "server main after B's push and A's pull"
pass "vault B (bob, own keyring) pulls over ssh, verifies, reads, adds and pushes; vault A pulls it; kluis-heads follows"

# ---- forged pushes with stock git over ssh: the hook refuses, the server does not move ----
export GIT_AUTHOR_NAME=forger GIT_AUTHOR_EMAIL=forger@kluis.test GIT_COMMITTER_NAME=forger GIT_COMMITTER_EMAIL=forger@kluis.test
export GIT_SSH_COMMAND
GIT_SSH_COMMAND=$(sshc alice)
FORGE=$T_ROOT/forge.git
git clone -q --mirror "$REMOTE/d1.git" "$FORGE"
refs_of() { git -C "$SRV" for-each-ref --format='%(objectname) %(refname)' | sort; }
BEFORE=$(refs_of)
HEAD_C=$(git -C "$FORGE" rev-parse refs/heads/main)
SEQ=$(git -C "$FORGE" log -1 --format=%B "$HEAD_C" | awk -F': ' '$1 == "Kluis-Seq" { print $2 }')
MSG=$(printf 'add -\n\nKluis-Action: add\nKluis-Role: medewerker\nKluis-Seq: %s\n' $((SEQ + 1)))
# refused WHAT NEEDLE ARGS...: stock git push ARGS from the forge is refused, the pusher sees
# the hook's "remote: kluis:" reason with NEEDLE, and the server's refs do not move
refused() {
	local what=$1 needle=$2 rc=0 out
	shift 2
	out=$(git -C "$FORGE" push "$REMOTE/d1.git" "$@" 2>&1) || rc=$?
	[ "$rc" -ne 0 ] || fail "stock git push of $what was accepted: $out"
	assert_contains "$out" "remote: kluis: refusing" "the reason the pusher sees for $what"
	assert_contains "$out" "$needle" "the reason the pusher sees for $what"
	assert_eq "$(refs_of)" "$BEFORE" "the server's refs after $what"
	printf '%s\n' "$out" | grep -m1 'remote: kluis:' | sed 's/^/    | /'
}
UNSIGNED=$(git -C "$FORGE" commit-tree "$HEAD_C^{tree}" -p "$HEAD_C" -m "$MSG")
refused "an unsigned commit" "unsigned" "$UNSIGNED:refs/heads/main"
OUTSIDER_C=$(GIT_AUTHOR_NAME=medewerker GIT_AUTHOR_EMAIL=$OUTSIDER GIT_COMMITTER_NAME=medewerker GIT_COMMITTER_EMAIL=$OUTSIDER \
	git -C "$FORGE" commit-tree -S"$OUTSIDER" "$HEAD_C^{tree}" -p "$HEAD_C" -m "$MSG")
refused "a commit signed by a key without a role" "$OUTSIDER" "$OUTSIDER_C:refs/heads/main"
# a rewritten main: the last commit made again (validly signed by its role) on another parent
REWRITE=$(GIT_AUTHOR_NAME=medewerker GIT_AUTHOR_EMAIL=$MEDEW GIT_COMMITTER_NAME=medewerker GIT_COMMITTER_EMAIL=$MEDEW \
	git -C "$FORGE" commit-tree -S"$MEDEW" "$HEAD_C^{tree}" -p "$HEAD_C~2" -m "$MSG")
refused "a rewritten main (force push)" "fast-forward" --force "$REWRITE:refs/heads/main"
refused "a rolled-back main" "fast-forward" --force "$HEAD_C~1:refs/heads/main"
refused "a deleted ref" "delete" ":refs/kluis/access"
pass "stock git over ssh: unsigned, no role, rewritten main, rolled-back main, deleted ref: refused by the hook with its reason; server unchanged"

# a plaintext blob riding in the pack of an honest push (stock git push never sends an object no
# ref reaches: the receive-pack protocol by hand, over the same ssh)
expect_exit 0 k --as "$MEDEW" add d1 -m "third note $MARK"
printf 'klare tekst, BSN 123456782 %s\n' "$MARK" >"$T_WORK/plain.txt"
PLAIN=$(git -C "$LA" hash-object -w "$T_WORK/plain.txt")
specs=() news=() olds=()
for r in refs/heads/main refs/kluis/content refs/kluis/access; do
	o=$(ref_of "$SRV" "$r") n=$(ref_of "$LA" "$r")
	olds+=("$o")
	[ "$o" = "$n" ] || { specs+=("$o:$n:$r"); news+=("$n"); }
done
{ git -C "$LA" rev-list --objects "${news[@]}" --not "${olds[@]}" | cut -d' ' -f1; printf '%s\n' "$PLAIN"; } |
	git -C "$LA" pack-objects -q --stdout >"$T_WORK/push.pack"
rc=0
out=$(KF_RECEIVE_PACK="$(sshc alice) $GUSER@127.0.0.1 git-receive-pack" \
	python3 "$KLUIS_TEST_DIR/forge/kforge.py" push-pack "'dossiers/d1.git'" "$T_WORK/push.pack" "${specs[@]}" 2>&1) || rc=$?
[ "$rc" -ne 0 ] || fail "a pack carrying a plaintext object was accepted: $out"
assert_contains "$out" "kluis: refusing" "the reason the pusher sees for the plaintext object"
assert_contains "$out" "$PLAIN" "the reason names the plaintext object"
printf '%s\n' "$out" | grep -m1 'kluis: refusing' | sed 's/^/    | /'
assert_eq "$(refs_of)" "$BEFORE" "the server's refs after the plaintext push"
if git -C "$SRV" cat-file -e "$PLAIN" 2>/dev/null; then fail "the server kept the plaintext object"; fi
expect_exit 0 k --as "$MEDEW" push d1
assert_eq "$(ref_of "$SRV" refs/heads/main)" "$(ref_of "$LA" refs/heads/main)" "server main after the honest push"
pass "a plaintext object in an honest push's pack: refused, not kept; the same push without it goes through"

git -C "$SRV" fsck --no-progress >/dev/null 2>&1 || fail "stock git fsck refuses the server's dossiers/d1.git at the end"
expect_exit 0 k verify d1
expect_exit 0 kb pull d1
expect_exit 0 kb verify d1
pass "at the end: the server's repository is whole (fsck), both vaults verify"

# ---- both vaults add and read at the same time over ssh, round after round, and sync ----
: >"$T_ROOT/A.ids"
: >"$T_ROOT/B.ids"
: >"$T_ROOT/A.reads"
: >"$T_ROOT/B.reads"
round() { # TAG ROUND KLUIS-COMMAND...: two adds, one read, a sync
	local tag=$1 r=$2 id i
	shift 2
	for i in 1 2; do
		id=$("$@" add d1 -m "$tag over ssh, round $r, note $i" 2>>"$T_ROOT/$tag.log") || return 1
		printf '%s\n' "$id" >>"$T_ROOT/$tag.ids"
	done
	"$@" show d1 "$id" >/dev/null 2>>"$T_ROOT/$tag.log" || return 1
	printf '%s\n' "$id" >>"$T_ROOT/$tag.reads"
	"$@" sync d1 >>"$T_ROOT/$tag.log" 2>&1 || { echo "round $r: sync failed" >>"$T_ROOT/$tag.log"; return 1; }
}
for r in 1 2 3; do
	round A "$r" k --as "$MEDEW" &
	pa=$!
	round B "$r" kb &
	pb=$!
	wait "$pa" || fail "vault A, round $r: $(tail -3 "$T_ROOT/A.log")"
	wait "$pb" || fail "vault B, round $r: $(tail -3 "$T_ROOT/B.log")"
done
grep_q replayed "$T_ROOT/A.log" "$T_ROOT/B.log" || fail "no round over ssh needed a replay: the vaults did not race"
expect_exit 0 k --as "$MEDEW" sync d1
expect_exit 0 kb sync d1
expect_exit 0 k --as "$MEDEW" sync d1
for r in refs/heads/main refs/kluis/content refs/kluis/access; do
	assert_eq "$(ref_of "$LA" "$r")" "$(ref_of "$SRV" "$r")" "vault A's $r after the rounds"
	assert_eq "$(ref_of "$VB/dossiers/d1.git" "$r")" "$(ref_of "$SRV" "$r")" "vault B's $r after the rounds"
done
for id in $(cat "$T_ROOT/A.ids" "$T_ROOT/B.ids"); do
	assert_eq "$(git -C "$SRV" ls-tree -r --name-only refs/heads/main entries | grep -c "/$id/meta$" || true)" 1 "entry $id on the server"
done
reads_by() { git -C "$SRV" log --format='%ae %(trailers:key=Kluis-Entry,valueonly,separator=)' refs/kluis/access | awk -v w="$1" -v e="$2" '$1 == w && $2 == e' | wc -l; }
for id in $(cat "$T_ROOT/A.reads"); do assert_eq "$(reads_by "$MEDEW" "$id")" 1 "A's read of $id on the server"; done
for id in $(cat "$T_ROOT/B.reads"); do assert_eq "$(reads_by "$DIR" "$id")" 1 "B's read of $id on the server"; done
expect_exit 0 k verify d1 --full
expect_exit 0 kb verify d1 --full
verify_all_commits "$SRV" "$AUD" refs/heads/main
verify_all_commits "$SRV" "$AUD" refs/kluis/access
pass "3 rounds of parallel adds, reads and syncs over ssh in two vaults: every entry and every read on the server exactly once; both vaults verify; stock git verify-commit accepts the server's history"

# ---- sync --all over ssh: one kluis-heads listing, only what changed ----
expect_exit 0 kb add d1 -m "only this changed"
expect_exit 0 kb push d1
expect_exit 0 k --as "$MEDEW" sync --all
assert_contains "$ERR" "1 dossiers, 1 synced, 0 already in step, 0 failed (the server listed them in one round trip)" "sync --all over ssh"
expect_exit 0 k --as "$MEDEW" sync --all
assert_contains "$ERR" "0 synced, 1 already in step" "a second sync --all over ssh"
pass "sync --all over ssh asks gitolite's kluis-heads once and syncs only what changed"
