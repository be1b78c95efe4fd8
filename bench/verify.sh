#!/usr/bin/env bash
# bench/verify.sh - how fast `kluis verify` checks a long history, beside stock
# `git log --show-signature` on the same repository, and what re-verifying after one new
# commit costs (a run resumed from the verifier's own checkpoint).
#
# Builds (or reuses) one dossier of N commits on main: `kluis init` by the directie, then N-1
# single `kluis add` commands by the medewerker (one 4 KB note each, so N commits, one entry
# each). Then, in one run, with an auditor's keyring (public keys only, ownertrust imported so
# stock git prints "Good signature" with no warnings):
#
#   (a) kluis verify ID --full         the whole replay, from the root         (VERIFY_RUNS times)
#   (b) git log --show-signature main   stock git, one gpg process per commit (VERIFY_GIT_RUNS)
#   (c) kluis verify ID                 after one new `kluis add`, resumed      (VERIFY_INC_RUNS)
#   (d) kluis verify ID                 nothing new since the last run (the floor of (c))
#   (e) kluis --version                 process start-up alone
#   (f) kluis verify ID                 as (c), but the page cache dropped first (the worst
#                                       case: libraries, records, inodes all from disk)
#   (g) kluis --version                 as (e), the page cache dropped first
#
# Prints the medians, per commit for (a) and (b), the ratio (b)/(a), and a Markdown summary.
# Targets (the issue): (a) at least 20x faster than (b); (c) under 50 ms.
#
# Environment:
#   VERIFY_N=10000        commits on main to build (init included)
#   VERIFY_REUSE=DIR      reuse (and top up to N) the dossier a previous run kept in DIR
#   VERIFY_RUNS=3         timed runs of (a) (median)
#   VERIFY_GIT_RUNS=1     timed runs of (b) (median); 0 skips (b) and the ratio
#   VERIFY_INC_RUNS=7     timed runs of (c) and (d) (median)
#   VERIFY_COLD_RUNS=5    timed runs of (f) and (g); 0 skips them (and they are skipped when
#                         /proc/sys/vm/drop_caches is not writable: root only)
#   VERIFY_BUILD_ONLY=1   build (or top up) the dossier, time nothing
#   KLUIS=PATH            the binary (default build/kluis); copied into DIR first
#
# The dossier, its keys and the binary stay in DIR (/tmp/kv.XXXXXX), printed at the end, so
# that the next run can start from it: VERIFY_REUSE=/tmp/kv.XXXXXX bench/verify.sh.
# Building runs the adds with KLUIS_NO_FSYNC=1 (set-up only; nothing timed depends on it).
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N=${VERIFY_N:-10000}
RUNS=${VERIFY_RUNS:-3}
GIT_RUNS=${VERIFY_GIT_RUNS:-1}
INC_RUNS=${VERIFY_INC_RUNS:-7}
COLD_RUNS=${VERIFY_COLD_RUNS:-5}
[ -w /proc/sys/vm/drop_caches ] || COLD_RUNS=0
ID=bench

[ -x "$KLUIS" ] || { echo "bench: no kluis binary at $KLUIS" >&2; exit 1; }

if [ -n "${VERIFY_REUSE:-}" ]; then
	VDIR=$VERIFY_REUSE
	[ -f "$VDIR/keys.env" ] && [ -d "$VDIR/g" ] || { echo "bench: $VDIR is not a directory this script kept" >&2; exit 2; }
else
	VDIR=$(mktemp -d /tmp/kv.XXXXXX)   # short: the gpg-agent's socket path must fit
	chmod 700 "$VDIR"
fi
G=$VDIR/g        # the writers' keys (secret)
P=$VDIR/p        # the auditor's keyring: public keys only
V=$VDIR/vault
REPO=$V/dossiers/$ID.git
mkdir -p "$VDIR/home"

cleanup() {
	local rc=$?
	gpgconf --homedir "$G" --kill all 2>/dev/null || true
	gpgconf --homedir "$P" --kill all 2>/dev/null || true
	echo "bench: dossier kept in $VDIR (reuse: VERIFY_REUSE=$VDIR $0; remove: rm -rf $VDIR)" >&2
	return $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ ! -f "$VDIR/keys.env" ]; then
	kt_home "$G"
	F1=$(kt_key klant 2>/dev/null)
	F2=$(kt_key medewerker 2>/dev/null)
	F3=$(kt_key directie 2>/dev/null)
	F4=$(kt_key opdrachtgever 2>/dev/null)
	gpg --batch --quiet --check-trustdb 2>/dev/null || true
	mkdir -p "$P"
	chmod 700 "$P"
	gpg --homedir "$G" --batch --export "$F1" "$F2" "$F3" "$F4" | gpg --homedir "$P" --batch --quiet --import 2>/dev/null
	gpg --homedir "$G" --batch --export-ownertrust | gpg --homedir "$P" --batch --quiet --import-ownertrust 2>/dev/null
	gpg --homedir "$P" --batch --quiet --check-trustdb 2>/dev/null || true
	printf 'F1=%s\nF2=%s\nF3=%s\nF4=%s\n' "$F1" "$F2" "$F3" "$F4" >"$VDIR/keys.env"
fi
. "$VDIR/keys.env"
export GNUPGHOME=$G
export HOME=$VDIR/home XDG_CACHE_HOME=$VDIR/home/.cache   # the verifier's own checkpoint, private to this run
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
cp "$KLUIS" "$VDIR/kluis"   # a rebuild during the run changes nothing
K=$VDIR/kluis
echo "bench: kluis binary $KLUIS ($(date -u -r "$KLUIS" +%FT%TZ)), sha256 $(sha256sum "$K" | cut -c1-16)" >&2
echo "bench: $(kb_machine)" >&2

# ---- build (or top up) the dossier ----
kb_note "$VDIR/note"
if [ ! -d "$REPO" ]; then
	"$K" --vault "$V" --as "$F3" init "$ID" --klant "$F1" --medewerker "$F2" --directie "$F3" --opdrachtgever "$F4" 2>/dev/null
fi
have=$(git -C "$REPO" rev-list --count main)
if [ "$have" -lt "$N" ]; then
	echo "bench: building: $have -> $N commits with single kluis add commands" >&2
	t0=$(kb_now)
	for ((i = have + 1; i <= N; i++)); do
		KLUIS_NO_FSYNC=1 "$K" --vault "$V" --as "$F2" add "$ID" - <"$VDIR/note" >/dev/null 2>"$VDIR/add.err" ||
			{ echo "bench: kluis add failed at commit $i: $(cat "$VDIR/add.err")" >&2; exit 1; }
		if ((i % 500 == 0)); then
			t1=$(kb_now)
			printf 'bench: %d/%d commits, %.0f s, %.1f ms per add\n' "$i" "$N" "$(((t1 - t0) / 1000000))" \
				"$(awk -v d=$((t1 - t0)) -v n=$((i - have)) 'BEGIN { print d / n / 1000 }')" >&2
		fi
	done
fi
COMMITS=$(git -C "$REPO" rev-list --count main)
OBJS=$(find "$REPO/objects" -type f | wc -l)
SIZE=$(du -sh "$REPO" | cut -f1)
echo "bench: dossier $ID: $COMMITS commits on main, $OBJS object files, $SIZE" >&2
[ -z "${VERIFY_BUILD_ONLY:-}" ] || exit 0

# ---- timing helpers ----
# timed OUTFILE CMD...: run CMD (stdout to $VDIR/out, stderr to $VDIR/err); must exit 0;
# appends its wall time in microseconds to OUTFILE
timed() {
	local f=$1 t0 t1 rc=0
	shift
	t0=$(kb_now)
	"$@" >"$VDIR/out" 2>"$VDIR/err" || rc=$?
	t1=$(kb_now)
	if ((rc)); then
		echo "bench: FAILED (exit $rc): $*: $(head -c 600 "$VDIR/err") $(head -c 600 "$VDIR/out")" >&2
		exit 1
	fi
	echo $((t1 - t0)) >>"$f"
}
ms() { kb_median <"$1" | awk '{ printf "%.1f", $1 / 1000 }'; }
# the commands timed are exec'd by bash itself (an assignment before the command, not
# `env`, which would add a process start, ~3 ms here, to every figure)
kv() { GNUPGHOME="$P" "$K" --vault "$V" verify "$ID" "$@"; }
gitlog() { GNUPGHOME="$P" git -C "$REPO" log --show-signature main; }
S=$VDIR/samples
rm -rf "$S"
mkdir -p "$S"

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
echo "bench: load average before timing: $LOAD0" >&2
# warm the page cache once, untimed
kv --full >/dev/null 2>&1 || { echo "bench: kluis verify --full refuses the dossier: $(kv --full 2>&1 | head -5)" >&2; exit 1; }

# (a) full verification
for ((r = 1; r <= RUNS; r++)); do
	timed "$S/full" kv --full
	echo "bench: (a) kluis verify --full: $(tail -1 "$S/full" | awk '{ printf "%.0f", $1 / 1000 }') ms ($(cat "$VDIR/err"))" >&2
done

# (b) stock git
for ((r = 1; r <= GIT_RUNS; r++)); do
	timed "$S/git" gitlog
	good=$(grep -c '^gpg: Good signature' "$VDIR/out" || true)
	warn=$(grep -c '^gpg: WARNING' "$VDIR/out" || true)
	echo "bench: (b) git log --show-signature: $(tail -1 "$S/git" | awk '{ printf "%.0f", $1 / 1000 }') ms, $good good signatures, $warn warnings" >&2
	[ "$good" -eq "$COMMITS" ] || { echo "bench: git log verified $good of $COMMITS commits" >&2; exit 1; }
done

# (c) incremental after one new commit, (d) nothing new
kv >/dev/null 2>&1 || { echo "bench: kluis verify refuses the dossier" >&2; exit 1; }
for ((r = 1; r <= INC_RUNS; r++)); do
	"$K" --vault "$V" --as "$F2" add "$ID" - <"$VDIR/note" >/dev/null 2>"$VDIR/add.err" ||
		{ echo "bench: kluis add failed: $(cat "$VDIR/add.err")" >&2; exit 1; }
	timed "$S/inc" kv --json
	inc=$(jq -r '.dossiers[0].incremental' "$VDIR/out")
	checked=$(jq -r '.dossiers[0].checked' "$VDIR/out")
	[ "$inc" = true ] && [ "$checked" = 1 ] ||
		{ echo "bench: (c) was not incremental (incremental $inc, $checked commits checked)" >&2; exit 1; }
	timed "$S/none" kv --json
done
echo "bench: (c) incremental after one add: $(tr '\n' ' ' <"$S/inc") us" >&2
for ((r = 1; r <= INC_RUNS; r++)); do timed "$S/ver" "$K" --version; done

# (f) and (g): the same from a cold page cache, dropped just before the timed command
drop_caches() { sync && echo 3 >/proc/sys/vm/drop_caches; }
for ((r = 1; r <= COLD_RUNS; r++)); do
	"$K" --vault "$V" --as "$F2" add "$ID" - <"$VDIR/note" >/dev/null 2>"$VDIR/add.err" ||
		{ echo "bench: kluis add failed: $(cat "$VDIR/add.err")" >&2; exit 1; }
	drop_caches
	timed "$S/cold" kv --json
	[ "$(jq -r '.dossiers[0].incremental' "$VDIR/out")" = true ] ||
		{ echo "bench: (f) was not incremental" >&2; exit 1; }
	drop_caches
	timed "$S/vercold" "$K" --version
done
((COLD_RUNS == 0)) || echo "bench: (f) incremental after one add, cold: $(tr '\n' ' ' <"$S/cold") us" >&2

LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)
FULL=$(ms "$S/full")
touch "$S/git"   # empty when VERIFY_GIT_RUNS=0
GIT=$(ms "$S/git")
INC=$(ms "$S/inc")
INC_RANGE=$(sort -n "$S/inc" | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.1f-%.1f", lo / 1000, hi / 1000 }')
INC_UNDER=$(awk '$1 < 50000 { n++ } END { print n + 0 }' "$S/inc")
NONE=$(ms "$S/none")
VER=$(ms "$S/ver")
touch "$S/cold" "$S/vercold"   # empty when VERIFY_COLD_RUNS=0
COLD=$(ms "$S/cold")
COLD_RANGE=$(sort -n "$S/cold" | awk 'NR == 1 { lo = $1 } { hi = $1 } END { if (NR) printf " (%.1f-%.1f)", lo / 1000, hi / 1000 }')
VERCOLD=$(ms "$S/vercold")
if ((COLD_RUNS == 0)); then COLD=- COLD_RANGE= VERCOLD=-; fi
FULLPC=$(awk -v t="$FULL" -v n="$COMMITS" 'BEGIN { printf "%.3f", t / n }')
GITPC=$(awk -v t="$GIT" -v n="$COMMITS" 'BEGIN { printf "%.3f", t / n }')
RATIO=$(awk -v g="$GIT" -v f="$FULL" 'BEGIN { printf "%.1f", g / f }')
FINAL=$(git -C "$REPO" rev-list --count main)
verdict() { awk -v ok="$1" 'BEGIN { print (ok ? "met" : "MISSED") }'; }
RATIO_VERDICT=$(verdict "$(awk -v r="$RATIO" 'BEGIN { print (r >= 20) }')")
RATIO_CELL="**${RATIO}x**"
if ((GIT_RUNS == 0)); then GIT=- GITPC=- RATIO_CELL=- RATIO_VERDICT="not measured"; fi

cat <<EOF

Dossier: $COMMITS commits on main ($OBJS object files, $SIZE), $FINAL after the incremental runs.
$(kb_machine); load average $LOAD0 before, $LOAD1 after the timing.

| what | runs | median ms | ms per commit | target |
| --- | --- | --- | --- | --- |
| (a) \`kluis verify $ID --full\` | $RUNS | $FULL | $FULLPC | |
| (b) \`git log --show-signature main\` | $GIT_RUNS | $GIT | $GITPC | |
| ratio (b)/(a) | | $RATIO_CELL | | >= 20x: $RATIO_VERDICT |
| (c) \`kluis verify $ID\` after one new commit | $INC_RUNS | **$INC** ($INC_RANGE; $INC_UNDER under 50) | | < 50 ms: $(verdict "$(awk -v t="$INC" 'BEGIN { print (t < 50) }')") |
| (d) \`kluis verify $ID\`, nothing new | $INC_RUNS | $NONE | | |
| (e) \`kluis --version\` (process start) | $INC_RUNS | $VER | | |
| (f) as (c), page cache dropped first | $COLD_RUNS | $COLD$COLD_RANGE | | worst case |
| (g) as (e), page cache dropped first | $COLD_RUNS | $VERCOLD | | |
EOF
