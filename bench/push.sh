#!/usr/bin/env bash
# bench/push.sh - one push of one commit to a server dossier of N commits: `kluis push` to a
# server with the pre-receive hook (hooks/pre-receive, which resumes from the server's own
# checkpoint, vault/exchange/receive.c) against stock `git push` of the same commit to a copy
# without the hook, and stock `git fetch` of it from there as the peer of a pull.
#
# The dossier comes from bench/verify.sh's maker (N single `kluis add` commits): give a
# directory it kept (PUSH_FROM=/tmp/kv.XXXXXX) or let this script make one (VERIFY_N commits,
# ~7 min for 10,000; kept, printed at the end). The directory is only read: the vault, the
# keys and the servers are copied into PDIR=/tmp/kp.XXXXXX and removed at the end.
#
#   servers: S1 = git clone --mirror --no-local (packed) of the dossier + the hook, kluis.trust (directie),
#            kluis.gnupghome (public keys only); S2 = the same clone, no hook; C = a packed clone of S2
#   (0) the first push to S1: one new commit, kluis push; the hook has no checkpoint yet, so it
#       replays the whole history (the cost of every push before the server's checkpoint)
#   then PUSH_RUNS times: one `kluis add` (untimed), and timed
#   (a) kluis push ID S1        the local verify (incremental), git push, the hook (incremental)
#   (b) git push S2 ...          the same commit, stock git, no hook
#   (c) git -C C fetch           the same commit, stock git, from S2
#   (d) kluis --version          process start
#   (h0), (h) the hook's own wall time on (0) and (a) (a wrapper around hooks/pre-receive notes it)
# The hook's own line ("N commits, 1 replayed from the server's checkpoint") is checked for
# every (a), so a run that was not incremental is a failure, not a figure.
#
# Environment: PUSH_FROM=DIR, PUSH_RUNS=7, VERIFY_N=10000 (when making the dossier), KLUIS=PATH.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RUNS=${PUSH_RUNS:-7}
ID=bench
[ -x "$KLUIS" ] || { echo "bench: no kluis binary at $KLUIS" >&2; exit 1; }
if [ -z "${PUSH_FROM:-}" ]; then
	echo "bench: no PUSH_FROM: making the dossier with bench/verify.sh (VERIFY_N=${VERIFY_N:-10000})" >&2
	VERIFY_BUILD_ONLY=1 "$KB_ROOT/bench/verify.sh" 2>&1 | tee /dev/stderr | grep -o 'dossier kept in /tmp/kv\.[A-Za-z0-9]*' >"${TMPDIR:-/tmp}/push.from.$$" || true
	PUSH_FROM=$(sed 's/.* //' "${TMPDIR:-/tmp}/push.from.$$")
	rm -f "${TMPDIR:-/tmp}/push.from.$$"
fi
[ -f "$PUSH_FROM/keys.env" ] && [ -d "$PUSH_FROM/vault/dossiers/$ID.git" ] || { echo "bench: $PUSH_FROM is not a directory bench/verify.sh kept" >&2; exit 2; }

PDIR=$(mktemp -d /tmp/kp.XXXXXX)
chmod 700 "$PDIR"
cleanup() {
	local rc=$?
	gpgconf --homedir "$PDIR/g" --kill all 2>/dev/null || true
	gpgconf --homedir "$PDIR/p" --kill all 2>/dev/null || true
	[ -n "${KB_KEEP:-}" ] && echo "bench: kept $PDIR" >&2 || rm -rf "$PDIR"
	return $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM
. "$PUSH_FROM/keys.env"
for d in g p vault; do cp -a "$PUSH_FROM/$d" "$PDIR/$d"; done
rm -f "$PDIR"/g/S.* "$PDIR"/p/S.*   # the source's agent sockets
export GNUPGHOME=$PDIR/g HOME=$PDIR/home XDG_CACHE_HOME=$PDIR/home/.cache
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
mkdir -p "$HOME"
cp "$KLUIS" "$PDIR/kluis"
K=$PDIR/kluis
V=$PDIR/vault
REPO=$V/dossiers/$ID.git
S1=$PDIR/s1/$ID.git
S2=$PDIR/s2/$ID.git
C=$PDIR/c.git
echo "bench: kluis binary $KLUIS ($(date -u -r "$KLUIS" +%FT%TZ)), sha256 $(sha256sum "$K" | cut -c1-16)" >&2
echo "bench: $(kb_machine)" >&2
kb_note "$PDIR/note"

# packed, as a server is after its gc: a local clone would hardlink the vault's loose objects
# (130,000 for 10,000 commits), and then every push starts git's background `gc --auto`,
# which repacks them all while the next runs are timed
git clone -q --mirror --no-local "$REPO" "$S1"
git clone -q --mirror --no-local "$REPO" "$S2"
# the hook as shipped, run with a cache of its own (the server user's, apart from the vault's)
cp "$KB_ROOT/hooks/pre-receive" "$S1/hooks/kluis-pre-receive"
# (the wrapper also notes the hook's own wall time, in microseconds, in $PDIR/hook.us)
cat >"$S1/hooks/pre-receive" <<EOF
#!/bin/sh
t0=\$(date +%s%N)
XDG_CACHE_HOME=$PDIR/srvcache "\$(dirname "\$0")/kluis-pre-receive"
rc=\$?
echo \$(( (\$(date +%s%N) - t0) / 1000 )) >>$PDIR/hook.us
exit \$rc
EOF
chmod 755 "$S1/hooks/pre-receive" "$S1/hooks/kluis-pre-receive"
git -C "$S1" config kluis.program "$K"
git -C "$S1" config --add kluis.trust "$F3"
git -C "$S1" config kluis.gnupghome "$PDIR/p"
git clone -q --mirror --no-local "$S2" "$C"
COMMITS=$(git -C "$REPO" rev-list --count main)
echo "bench: dossier $ID: $COMMITS commits, $(du -sh "$REPO" | cut -f1)" >&2

add() {
	"$K" --vault "$V" --as "$F2" add "$ID" - <"$PDIR/note" >/dev/null 2>"$PDIR/add.err" ||
		{ echo "bench: kluis add failed: $(cat "$PDIR/add.err")" >&2; exit 1; }
}
timed() { # FILE CMD...: must exit 0; wall time in microseconds appended to FILE, stderr in $PDIR/err
	local f=$1 t0 t1 rc=0
	shift
	t0=$(kb_now)
	"$@" >"$PDIR/out" 2>"$PDIR/err" || rc=$?
	t1=$(kb_now)
	((rc == 0)) || { echo "bench: FAILED (exit $rc): $*: $(head -c 800 "$PDIR/err")" >&2; exit 1; }
	echo $((t1 - t0)) >>"$f"
}
ms() { kb_median <"$1" | awk '{ printf "%.1f", $1 / 1000 }'; }
kpush() { "$K" --vault "$V" --as "$F2" push "$ID" "$S1"; }
# main, content (no chain: pushed as it is) and access when the dossier has been read
refspecs() { echo refs/heads/main +refs/kluis/content:refs/kluis/content; git -C "$REPO" rev-parse -q --verify refs/kluis/access >/dev/null && echo refs/kluis/access || true; }
gpush() { git -C "$REPO" push -q "$S2" $(refspecs); }
gfetch() { git -C "$C" fetch -q origin; }   # a mirror of S2: +refs/*:refs/*
# the head of the hook's kept checkpoint (kluis push shows the hook's line only on a refusal)
hook_head() { grep -h '^head ' "$PDIR"/srvcache/kluis/verified/* 2>/dev/null | sort -u; }

S=$PDIR/samples
mkdir -p "$S"
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
"$K" --vault "$V" verify "$ID" >/dev/null 2>&1 || { echo "bench: the dossier does not verify" >&2; exit 1; }
add
timed "$S/first" kpush
tail -1 "$PDIR/hook.us" >"$S/hookfirst"
grep -qx "head $(git -C "$S1" rev-parse main)" <<<"$(hook_head)" || { echo "bench: the hook kept no checkpoint at S1's head" >&2; exit 1; }
gpush
gfetch
echo "bench: (0) first kluis push (the hook replays all $((COMMITS + 1)) commits): $(ms "$S/first") ms" >&2
for ((r = 1; r <= RUNS; r++)); do
	add
	timed "$S/kpush" kpush
	tail -1 "$PDIR/hook.us" >>"$S/hook"
	grep -qx "head $(git -C "$S1" rev-parse main)" <<<"$(hook_head)" || { echo "bench: the hook's checkpoint did not move to S1's head" >&2; exit 1; }
	timed "$S/gpush" gpush
	timed "$S/gfetch" gfetch
	timed "$S/ver" "$K" --version
	[ "$(git -C "$S1" rev-parse main)" = "$(git -C "$C" rev-parse main)" ] || { echo "bench: S1 and C differ after run $r" >&2; exit 1; }
done
# one stock push to S1 (hook) of one more commit, to show the hook's own line; first the size
# of the pack git sends for it (main and content against the server's), and for main alone
add
packsize() { printf '%s\n' "$@" | git -C "$REPO" pack-objects --revs --stdout --thin -q | wc -c; }
PACK_ALL=$(packsize "$(git -C "$REPO" rev-parse main)" "$(git -C "$REPO" rev-parse refs/kluis/content)" \
	"^$(git -C "$S1" rev-parse main)" "^$(git -C "$S1" rev-parse refs/kluis/content)")
PACK_MAIN=$(packsize "$(git -C "$REPO" rev-parse main)" "^$(git -C "$S1" rev-parse main)")
HOOKLINE=$(git -C "$REPO" push "$S1" $(refspecs) 2>&1 | grep -o "verifies with this push (.*)" || true)
echo "bench: the hook on the last push: $HOOKLINE" >&2
grep -q "1 replayed from the server's checkpoint" <<<"$HOOKLINE" || { echo "bench: the last push was not incremental" >&2; exit 1; }
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)

cat <<EOF

Server dossier: $COMMITS commits before the runs; $(kb_machine); load $LOAD0 before, $LOAD1 after.
The hook on a stock push of one more commit: "$HOOKLINE".
The pack git sends for that commit: $PACK_ALL bytes (main and refs/kluis/content), $PACK_MAIN bytes
for main alone.

| what | runs | median ms |
| --- | --- | --- |
| (0) first \`kluis push\` of one commit (hook without a checkpoint: full replay) | 1 | $(ms "$S/first") |
| (h0) the hook alone, on (0) | 1 | $(ms "$S/hookfirst") |
| (a) \`kluis push\` of one commit (hook resumed from its checkpoint) | $RUNS | **$(ms "$S/kpush")** |
| (h) the hook alone, on (a) | $RUNS | **$(ms "$S/hook")** |
| (b) \`git push\` of the same commit, no hook | $RUNS | $(ms "$S/gpush") |
| (c) \`git fetch\` of the same commit | $RUNS | $(ms "$S/gfetch") |
| (d) \`kluis --version\` | $RUNS | $(ms "$S/ver") |
EOF
