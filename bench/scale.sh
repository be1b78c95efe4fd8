#!/usr/bin/env bash
# bench/scale.sh - `kluis list` and `kluis retention --due` over a vault of many dossiers.
#
# Builds (or reuses) a vault of N dossiers made the honest way: one `kluis init` each (by the
# directie, so each has its own signed root commit, its checkpoint and its `create` record in
# the ledger), every 10th closed with `kluis close`. No dossier is a copy of another: a copy
# under a new id would carry the wrong id in its signed `dossier` file and have no ledger
# record, and the commands would judge it as they never judge a real vault. Making 10,000 takes
# about 12 minutes here (~60 ms an init, KLUIS_NO_FSYNC); keep the vault and reuse it.
#
# Then times, with the vault warm in the page cache:
#   (a0) kluis list                      once, with nothing kept in the cache (the verifier's
#                                        kept verdicts: the ledger's signatures, entry counts)
#   (a) kluis list                       (SCALE_RUNS times, median)
#   (b) kluis retention --due            today: nothing is due
#   (c) kluis retention --due            KLUIS_NOW two years on: the closed ones are due
#   (d) kluis --version                  process start
# and checks what they print: N rows for list, N/10 due rows for (c).
# Target (issue 18): (a) and (b) under one second for 10,000 dossiers.
#
# Environment:
#   SCALE_N=10000        dossiers to make
#   SCALE_ENTRIES=20     entries in every 100th dossier
#   SCALE_REUSE=DIR      reuse (and top up to N) the vault a previous run kept in DIR
#   SCALE_RUNS=5         timed runs of each
#   SCALE_BUILD_ONLY=1   build (or top up) the vault, time nothing
#   KLUIS=PATH           the binary (default build/kluis; a test build, for KLUIS_NOW)
# The vault and its keys stay in DIR (/tmp/ks.XXXXXX), printed at the end.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N=${SCALE_N:-10000}
RUNS=${SCALE_RUNS:-5}
[ -x "$KLUIS" ] || { echo "bench: no kluis binary at $KLUIS" >&2; exit 1; }

if [ -n "${SCALE_REUSE:-}" ]; then
	SDIR=$SCALE_REUSE
	[ -f "$SDIR/keys.env" ] && [ -d "$SDIR/g" ] || { echo "bench: $SDIR is not a directory this script kept" >&2; exit 2; }
else
	SDIR=$(mktemp -d /tmp/ks.XXXXXX)   # short: the gpg-agent's socket path must fit
	chmod 700 "$SDIR"
fi
G=$SDIR/g
V=$SDIR/vault
cleanup() {
	local rc=$?
	gpgconf --homedir "$G" --kill all 2>/dev/null || true
	echo "bench: vault kept in $SDIR (reuse: SCALE_REUSE=$SDIR $0; remove: rm -rf $SDIR)" >&2
	return $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ ! -f "$SDIR/keys.env" ]; then
	kt_home "$G"
	F1=$(kt_key klant 2>/dev/null)
	F2=$(kt_key medewerker 2>/dev/null)
	F3=$(kt_key directie 2>/dev/null)
	F4=$(kt_key opdrachtgever 2>/dev/null)
	printf 'F1=%s\nF2=%s\nF3=%s\nF4=%s\n' "$F1" "$F2" "$F3" "$F4" >"$SDIR/keys.env"
fi
. "$SDIR/keys.env"
export GNUPGHOME=$G
export HOME=$SDIR/home XDG_CACHE_HOME=$SDIR/home/.cache   # the verifier's kept verdicts, private to this run
mkdir -p "$XDG_CACHE_HOME"
cp "$KLUIS" "$SDIR/kluis"   # a rebuild during the run changes nothing
K=$SDIR/kluis
echo "bench: kluis binary $KLUIS ($(date -u -r "$KLUIS" +%FT%TZ)), sha256 $(sha256sum "$K" | cut -c1-16)" >&2
echo "bench: $(kb_machine)" >&2

# ---- build (or top up) the vault: d-00001 .. d-N ----
have=0
[ ! -d "$V/dossiers" ] || have=$(find "$V/dossiers" -maxdepth 1 -name 'd-*.git' | wc -l)
if [ "$have" -lt "$N" ]; then
	echo "bench: building: $have -> $N dossiers with kluis init (every 10th closed)" >&2
	t0=$(kb_now)
	for ((i = have + 1; i <= N; i++)); do
		id=$(printf 'd-%05d' "$i")
		KLUIS_NO_FSYNC=1 "$K" --vault "$V" --as "$F3" init "$id" --klant "$F1" --medewerker "$F2" --directie "$F3" \
			--opdrachtgever "$F4" --retention-years 1 >/dev/null 2>"$SDIR/init.err" ||
			{ echo "bench: kluis init $id failed: $(cat "$SDIR/init.err")" >&2; exit 1; }
		if ((i % 10 == 0)); then
			KLUIS_NO_FSYNC=1 "$K" --vault "$V" --as "$F3" close "$id" >/dev/null 2>"$SDIR/init.err" ||
				{ echo "bench: kluis close $id failed: $(cat "$SDIR/init.err")" >&2; exit 1; }
		fi
		((i % 500 == 0)) && printf 'bench: %d/%d dossiers, %.0f s\n' "$i" "$N" "$((($(kb_now) - t0) / 1000000))" >&2
	done
fi
# every 100th dossier (d-00001, d-00101, ...: none closed) gets SCALE_ENTRIES entries (single
# kluis add commands, a 4 KB note each)
E=${SCALE_ENTRIES:-20}
kb_note "$SDIR/note"
for ((i = 1; i <= N; i += 100)); do
	id=$(printf 'd-%05d' "$i")
	[ ! -e "$SDIR/entries.$id" ] || continue
	for ((e = 1; e <= E; e++)); do
		KLUIS_NO_FSYNC=1 "$K" --vault "$V" --as "$F2" add "$id" - <"$SDIR/note" >/dev/null 2>"$SDIR/init.err" ||
			{ echo "bench: kluis add to $id failed: $(cat "$SDIR/init.err")" >&2; exit 1; }
	done
	: >"$SDIR/entries.$id"
	((i % 2000 == 1)) && echo "bench: $E entries in every 100th dossier from $id" >&2
done
HAVE=$(find "$V/dossiers" -maxdepth 1 -name 'd-*.git' | wc -l)
CLOSED=$((HAVE / 10))
echo "bench: vault of $HAVE dossiers ($CLOSED closed, every 100th with $E entries), $(du -sh "$V" | cut -f1)" >&2
[ -z "${SCALE_BUILD_ONLY:-}" ] || exit 0

# ---- timing ----
S=$SDIR/samples
rm -rf "$S"
mkdir -p "$S"
timed() {
	local f=$1 t0 t1 rc=0
	shift
	t0=$(kb_now)
	"$@" >"$SDIR/out" 2>"$SDIR/err" || rc=$?
	t1=$(kb_now)
	((rc == 0)) || { echo "bench: FAILED (exit $rc): $*: $(head -c 600 "$SDIR/err")" >&2; exit 1; }
	echo $((t1 - t0)) >>"$f"
}
ms() { kb_median <"$1" | awk '{ printf "%.1f", $1 / 1000 }'; }
rows() { tail -n +2 "$SDIR/out" | grep -c . || true; }
LATER=$(($(date +%s) + 2 * 31556952))
list() { "$K" --vault "$V" list; }
due() { "$K" --vault "$V" retention --due; }
due_later() { KLUIS_NOW=$LATER "$K" --vault "$V" retention --due; }

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
# the first list after the vault was made counts every dossier's entries (no kept counts yet)
rm -rf "$XDG_CACHE_HOME/kluis"
list >/dev/null   # warm the page cache, untimed
rm -rf "$XDG_CACHE_HOME/kluis"
timed "$S/cold" list
for ((r = 1; r <= RUNS; r++)); do
	timed "$S/list" list
	[ "$(rows)" -eq "$HAVE" ] || { echo "bench: list printed $(rows) rows, not $HAVE" >&2; exit 1; }
	timed "$S/due" due
	[ "$(rows)" -eq 0 ] || { echo "bench: retention --due today printed $(rows) rows, not 0" >&2; exit 1; }
	timed "$S/later" due_later
	[ "$(rows)" -eq "$CLOSED" ] || { echo "bench: retention --due two years on printed $(rows) rows, not $CLOSED" >&2; exit 1; }
	timed "$S/ver" "$K" --version
done
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)
verdict() { awk -v t="$1" 'BEGIN { print (t < 1000 ? "met" : "MISSED") }'; }

cat <<EOF

Vault: $HAVE dossiers ($CLOSED closed, every 100th with $E entries), $(du -sh "$V" | cut -f1); $(kb_machine); load $LOAD0 before, $LOAD1 after.

| what | runs | median ms | target |
| --- | --- | --- | --- |
| (a0) \`kluis list\`, nothing kept yet (every entries/ tree read, every ledger signature checked) | 1 | $(ms "$S/cold") | |
| (a) \`kluis list\` | $RUNS | **$(ms "$S/list")** | < 1000: $(verdict "$(ms "$S/list")") |
| (b) \`kluis retention --due\` (none due) | $RUNS | **$(ms "$S/due")** | < 1000: $(verdict "$(ms "$S/due")") |
| (c) \`kluis retention --due\` two years on ($CLOSED due) | $RUNS | $(ms "$S/later") | |
| (d) \`kluis --version\` | $RUNS | $(ms "$S/ver") | |
EOF
