#!/usr/bin/env bash
# bench/add.sh - `kluis add` beside `pass insert` with signed git commits, in one run,
# on the same four keys, 4 KB notes, 4 recipients. Process to process: every sample is the
# wall time of one command, started from this shell, as a user would start it.
#
#   (a) pass insert -m NAME < note          one entry per process, signed commit each (N times)
#   (b) kluis add ID --kind note - < note   one entry per process (N times)
#   (c) kluis add ID --file f1 .. --file fB B entries in one process and one commit (R times)
#
# (a) and (b) are interleaved (pass, kluis, kluis, pass, ...) so both see the same machine:
# a background burst slows both, not one. (c) follows, then pass again (N/4 entries) as a
# check that the machine did not change under (c).
#
# Environment:
#   KB_N=100          entries for (a) and (b)
#   KB_BATCH=100      files per command in (c)
#   KB_RUNS=5         commands in (c)
#   KB_WARMUP=3       unmeasured additions before (a), (b) and (c)
#   KB_INPUT=stdin    how (b) hands the note to kluis: stdin (-), file (--file), arg (-m TEXT)
#   KB_PASS=1         0 skips (a) (and the ratios)
#   KB_KLUIS=1        0 skips (b) and (c)
#   KB_SAMPLES=DIR    keep the raw samples (microseconds, one a line) in DIR
#   KLUIS=PATH        the binary (default: build/kluis); it is copied first, so a rebuild
#                     during the run does not change what is measured
#   KB_KEEP=1         keep the temporary directory (/tmp/kb.XXXXXX)
#
# Prints a Markdown table: median (and p10/p90) milliseconds per entry, ratio to pass.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N=${KB_N:-100}
B=${KB_BATCH:-100}
R=${KB_RUNS:-5}
W=${KB_WARMUP:-3}
INPUT=${KB_INPUT:-stdin}
DO_PASS=${KB_PASS:-1}
DO_KLUIS=${KB_KLUIS:-1}

# stats FILE -> "median p10 p90" in ms with 2 decimals, from microsecond samples
stats() {
	sort -n "$1" | awk '{ v[NR] = $1 } END {
		m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		i10 = int(0.1 * (NR - 1)) + 1; i90 = int(0.9 * (NR - 1)) + 1
		printf "%.2f %.2f %.2f\n", m / 1000, v[i10] / 1000, v[i90] / 1000 }'
}
FAILS=0
timed() {   # timed FILE CMD...: run CMD (stdout discarded), append its wall time in us to FILE
	local out=$1 t0 t1 rc=0; shift
	t0=$(kb_now)
	"$@" >/dev/null 2>"$KB_DIR/timed.err" || rc=$?
	t1=$(kb_now)
	if ((rc)); then   # a failure is reported, not timed
		FAILS=$((FAILS + 1))
		echo "bench: FAILED (exit $rc): $*: $(head -c 300 "$KB_DIR/timed.err")" >&2
		((FAILS < 10)) || { echo "bench: 10 failures, giving up" >&2; exit 1; }
		return 0
	fi
	echo $((t1 - t0)) >>"$out"
}

kb_setup
S=$KB_DIR/samples
mkdir -p "$S"
NOTE=$KB_DIR/note
kb_note "$NOTE"
echo "bench: $(kb_machine)" >&2
kb_settle
echo "bench: load average at start: $(cut -d' ' -f1-3 /proc/loadavg); creating a 4.5 KB file in $KB_DIR: $(kb_fsprobe "$KB_DIR") ms (median)" >&2
echo "bench: GNUPGHOME=$GNUPGHOME  keys: klant $F1 medewerker $F2 directie $F3 opdrachtgever $F4" >&2

# ---------------------------------------------------------------- set-up: pass
pass_one() { pass insert -m "bench/e$1" <"$NOTE"; }
if [ "$DO_PASS" = 1 ]; then
	export PASSWORD_STORE_DIR=$KB_DIR/store
	pass init "$F1" "$F2" "$F3" "$F4" >/dev/null
	pass git init >/dev/null 2>"$KB_DIR/pass-git-init.err"
	pass git config user.name "bench medewerker"
	pass git config user.email "medewerker@kluis.test"
	pass git config user.signingkey "$F2"
	pass git config commit.gpgsign true
	for ((i = 1; i <= W; i++)); do pass insert -m "warm/e$i" <"$NOTE" >/dev/null; done
fi

# ---------------------------------------------------------------- set-up: kluis
KLUIS_OK=0
if [ "$DO_KLUIS" = 1 ] && K=$(kb_kluis); then
	V=$KB_DIR/v
	kluis_one() {   # one entry from $NOTE, the way KB_INPUT says
		case $INPUT in
		stdin) "$K" --vault "$V" --as "$F2" add bench --kind note - <"$NOTE" ;;
		file) "$K" --vault "$V" --as "$F2" add bench --kind note --file "$NOTE" ;;
		arg) "$K" --vault "$V" --as "$F2" add bench --kind note -m "$(<"$NOTE")" ;;
		*) echo "bench: KB_INPUT is stdin, file or arg" >&2; return 2 ;;
		esac
	}
	if ! "$K" --vault "$V" --as "$F3" init bench --klant "$F1" --medewerker "$F2" \
		--directie "$F3" --opdrachtgever "$F4" >"$KB_DIR/init.out" 2>"$KB_DIR/init.err"; then
		echo "bench: kluis init failed: $(cat "$KB_DIR/init.err")" >&2
	elif ! id=$(kluis_one 2>"$KB_DIR/add.err"); then
		echo "bench: kluis add failed: $(cat "$KB_DIR/add.err")" >&2
	else
		KLUIS_OK=1
		echo "bench: kluis add works, first entry $id" >&2
		for ((i = 2; i <= W; i++)); do kluis_one >/dev/null; done
	fi
fi

# ---------------------------------------------------------------- (a) + (b), interleaved
: >"$S/pass"
: >"$S/kluis1"
for ((i = 1; i <= N; i++)); do
	if ((i % 2)); then
		[ "$DO_PASS" = 1 ] && timed "$S/pass" pass_one "$i"
		[ "$KLUIS_OK" = 1 ] && timed "$S/kluis1" kluis_one
	else
		[ "$KLUIS_OK" = 1 ] && timed "$S/kluis1" kluis_one
		[ "$DO_PASS" = 1 ] && timed "$S/pass" pass_one "$i"
	fi
	:
done

# ---------------------------------------------------------------- (c) one command, B files
: >"$S/kluisB"
: >"$S/kluisB.total"
if [ "$KLUIS_OK" = 1 ]; then
	files=()
	for ((j = 1; j <= B; j++)); do
		kb_note "$KB_DIR/f$j"
		files+=(--file "$KB_DIR/f$j")
	done
	"$K" --vault "$V" --as "$F2" add bench "${files[@]}" >/dev/null   # warm-up
	for ((r = 1; r <= R; r++)); do
		t0=$(kb_now)
		n=$("$K" --vault "$V" --as "$F2" add bench "${files[@]}" | wc -l) || true
		t1=$(kb_now)
		[ "$n" = "$B" ] || { echo "bench: a batch add printed $n ids, not $B" >&2; continue; }
		echo $(((t1 - t0) / B)) >>"$S/kluisB"
		echo $((t1 - t0)) >>"$S/kluisB.total"
	done
fi

# ---------------------------------------------------------------- checks
: >"$S/pass.after"
if [ "$DO_PASS" = 1 ]; then
	for ((i = N + 1; i <= N + (N + 3) / 4; i++)); do timed "$S/pass.after" pass_one "$i"; done
	# the peer must really be what we claim: every commit signed, recipients as given
	git -C "$PASSWORD_STORE_DIR" verify-commit HEAD 2>/dev/null ||
		{ echo "bench: pass's last commit does not verify" >&2; exit 1; }
	unsigned=$(git -C "$PASSWORD_STORE_DIR" log --format='%G?' | grep -vc '^G$' || true)
	nrcpt=$(gpg --batch --list-packets "$PASSWORD_STORE_DIR/bench/e1.gpg" 2>&1 | grep -c '^:pubkey enc packet' || true)
	echo "bench: pass: $(git -C "$PASSWORD_STORE_DIR" rev-list --count HEAD) commits, $unsigned unsigned (the two that \`pass git init\` makes before commit.gpgsign is set), $nrcpt recipients per entry" >&2
fi
if [ "$KLUIS_OK" = 1 ]; then
	R_=$V/dossiers/bench.git
	echo "bench: kluis: $(git -C "$R_" rev-list --count main) commits on main, $(git -C "$R_" log --format='%G?' main | grep -vc '^G$' || true) not good-signed (git log %G?); $(git -C "$R_" ls-tree -r --name-only main | grep -c '/body$') entries in the tree" >&2
	git -C "$R_" verify-commit main 2>/dev/null &&
		echo "bench: git verify-commit main: ok" >&2 ||
		echo "bench: git verify-commit main FAILED" >&2
	if "$K" --vault "$V" verify bench >"$KB_DIR/verify.out" 2>&1; then
		echo "bench: kluis verify bench: ok" >&2
	else
		echo "bench: kluis verify bench failed: $(head -3 "$KB_DIR/verify.out")" >&2
	fi
fi

# ---------------------------------------------------------------- table
echo "bench: load average at end: $(cut -d' ' -f1-3 /proc/loadavg); creating a file: $(kb_fsprobe "$KB_DIR") ms; $FAILS failed commands" >&2
P=$( [ -s "$S/pass" ] && stats "$S/pass" || echo "nan nan nan")
pm=${P%% *}
row() {   # row LABEL ENTRIES FILE TARGET
	local st m p10 p90 ratio
	if [ -s "$3" ]; then
		st=$(stats "$3"); m=${st%% *}; p10=$(echo "$st" | cut -d' ' -f2); p90=${st##* }
		ratio=$(awk -v a="$m" -v b="$pm" 'BEGIN { if (b == "nan" || b == 0) print "-"; else printf "%.2fx", a / b }')
		printf '| %s | %s | %s | %s .. %s | %s | %s |\n' "$1" "$2" "$m" "$p10" "$p90" "$ratio" "$4"
	else
		printf '| %s | %s | not measured | - | - | %s |\n' "$1" "$2" "$4"
	fi
}
echo
echo "4 KB note, 4 recipients, $(nproc) cores; median of per-entry wall time, process to process"
echo
echo "| command | entries | median ms/entry | p10 .. p90 | ratio to pass | target |"
echo "| --- | --- | --- | --- | --- | --- |"
row "pass insert -m (signed commit)" "$N x 1" "$S/pass" "peer"
row "kluis add, one entry per process ($INPUT)" "$N x 1" "$S/kluis1" "<= 0.60x"
row "kluis add --file x$B, per entry" "$R x $B" "$S/kluisB" "<= 0.20x"
if [ -s "$S/kluisB.total" ]; then
	echo
	echo "kluis add --file x$B: median $(stats "$S/kluisB.total" | awk '{print $1}') ms per command"
fi
if [ -s "$S/pass.after" ]; then
	echo "pass insert again after (c), $(wc -l <"$S/pass.after") entries: median $(stats "$S/pass.after" | awk '{print $1}') ms (drift check)"
fi
[ -n "${KB_SAMPLES:-}" ] && { mkdir -p "$KB_SAMPLES"; cp "$S"/* "$KB_SAMPLES"/; }
exit 0
