#!/usr/bin/env bash
# bench/flat.sh - is one `kluis add` as fast at entry 10,000 as at entry 1?
#
# Grows one dossier (4 roles, 4 KB notes) to KB_FLAT_SIZE entries, mostly with
# `kluis add --file x100` (one command, one commit per 100 entries), and at four points
# (entry ~1, ~SIZE/10, ~SIZE/2, ~SIZE) times KB_FLAT_K single additions, one process each.
# Prints the median per point and the ratio last/first (target: within 10%, <= 1.10).
# Each point's single adds alternate with single adds to a second, small dossier in the same
# vault, so the ratio big/small at one moment is immune to background load on the machine.
# Also: the per-entry time of the growth commands per stretch, the repository's size, and
# how long `kluis log` and `kluis verify` take on the full dossier.
#
# Environment:
#   KB_FLAT_SIZE=10000   entries to grow to (a quick run: KB_FLAT_SIZE=1000)
#   KB_FLAT_K=30         single additions timed at each point (and as many to the small one)
#   KB_BATCH=100         files per growth command
#   KB_INPUT=stdin       stdin (-), file (--file) or arg (-m TEXT) for the single additions
#   KB_FLAT_TAIL=1       0 skips timing `kluis log` / `kluis verify` at the end
#   KB_FLAT_SETTLE=2     seconds to wait (after `sync`) before timing each point
#   KLUIS=PATH, KB_KEEP=1 as in add.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SIZE=${KB_FLAT_SIZE:-10000}
KN=${KB_FLAT_K:-30}
B=${KB_BATCH:-100}
INPUT=${KB_INPUT:-stdin}
[ -x "$KLUIS" ] || { kb_kluis; exit 1; }

kb_setup
K=$(kb_kluis)
echo "bench: $(kb_machine)" >&2
kb_settle
echo "bench: load average at start: $(cut -d' ' -f1-3 /proc/loadavg); creating a 4.5 KB file in $KB_DIR: $(kb_fsprobe "$KB_DIR") ms (median)" >&2
V=$KB_DIR/v
NOTE=$KB_DIR/note
kb_note "$NOTE"
files=()
for ((j = 1; j <= B; j++)); do
	kb_note "$KB_DIR/f$j"
	files+=(--file "$KB_DIR/f$j")
done

for d in bench ref; do
	"$K" --vault "$V" --as "$F3" init "$d" --klant "$F1" --medewerker "$F2" \
		--directie "$F3" --opdrachtgever "$F4" >/dev/null 2>&1
done

add_one() {   # add_one DOSSIER: one single entry from $NOTE
	case $INPUT in
	stdin) "$K" --vault "$V" --as "$F2" add "$1" --kind note - <"$NOTE" ;;
	file) "$K" --vault "$V" --as "$F2" add "$1" --kind note --file "$NOTE" ;;
	arg) "$K" --vault "$V" --as "$F2" add "$1" --kind note -m "$(<"$NOTE")" ;;
	esac
}
timed() {     # timed FILE DOSSIER: one single add, its wall time in us appended to FILE
	local t0 t1
	t0=$(kb_now)
	add_one "$2" >/dev/null
	t1=$(kb_now)
	echo $((t1 - t0)) >>"$1"
}

count=0            # entries in the dossier
: >"$KB_DIR/grow"  # "count_after us_per_entry" per growth command
grow_to() {        # grow_to N: batch additions until the dossier holds N entries
	local want=$1 n t0 t1 take
	while ((count < want)); do
		take=$((want - count < B ? want - count : B))
		t0=$(kb_now)
		if ((take == B)); then
			n=$("$K" --vault "$V" --as "$F2" add bench "${files[@]}" | wc -l)
		else
			n=$("$K" --vault "$V" --as "$F2" add bench "${files[@]:0:$((2 * take))}" | wc -l)
		fi
		t1=$(kb_now)
		((n == take)) || { echo "bench: growth command printed $n ids, not $take" >&2; exit 1; }
		count=$((count + take))
		echo "$count $(((t1 - t0) / take))" >>"$KB_DIR/grow"
	done
}

points=(0 $((SIZE / 10)) $((SIZE / 2)) $((SIZE - KN)))
add_one bench >/dev/null   # warm-up: page cache, agent; the dossier's entry 1
add_one ref >/dev/null
count=1
results=()
for p in "${points[@]}"; do
	((p > count)) && grow_to "$p"
	# let the growth commands' writes reach the disk first: the point is the cost of one
	# addition to a dossier of this size, not to a disk busy flushing the last 300 MB
	sync
	sleep "${KB_FLAT_SETTLE:-2}"
	first=$((count + 1))
	: >"$KB_DIR/single.$p"
	: >"$KB_DIR/ref.$p"
	# interleaved with single adds to a second, small dossier ("ref", < 4 x K entries):
	# the same machine at the same moment, so a burst of background load shows in both
	for ((i = 1; i <= KN; i++)); do
		if ((i % 2)); then
			timed "$KB_DIR/single.$p" bench; timed "$KB_DIR/ref.$p" ref
		else
			timed "$KB_DIR/ref.$p" ref; timed "$KB_DIR/single.$p" bench
		fi
		count=$((count + 1))
	done
	m=$(kb_median <"$KB_DIR/single.$p" | awk '{printf "%.2f", $1 / 1000}')
	mr=$(kb_median <"$KB_DIR/ref.$p" | awk '{printf "%.2f", $1 / 1000}')
	results+=("$first-$count $m $mr")
	echo "bench: entries $first-$count: median $m ms per single add, small dossier $mr ms (load $(cut -d' ' -f1 /proc/loadavg))" >&2
done

echo
echo "one dossier grown to $count entries (4 KB notes, 4 recipients), $(nproc) cores;"
echo "median wall time of $KN single \`kluis add\` processes at each point, interleaved with"
echo "$KN single adds to a small dossier (under $((4 * KN + 1)) entries) in the same vault"
echo
echo "| entries | median ms per single add | ratio to first | small dossier, same moment | ratio to small |"
echo "| --- | --- | --- | --- | --- |"
set -- ${results[0]}
base=$2
for r in "${results[@]}"; do
	set -- $r
	printf '| %s | %s | %s | %s | %s |\n' "$1" "$2" \
		"$(awk -v a="$2" -v b="$base" 'BEGIN { printf "%.2fx", a / b }')" "$3" \
		"$(awk -v a="$2" -v b="$3" 'BEGIN { printf "%.2fx", a / b }')"
done
set -- ${results[-1]}
echo
echo "ratio last/first: $(awk -v a="$2" -v b="$base" 'BEGIN { printf "%.3f", a / b }') (target <= 1.10);" \
	"at the last point, big/small dossier at the same moment: $(awk -v a="$2" -v b="$3" 'BEGIN { printf "%.3f", a / b }')"

if [ -s "$KB_DIR/grow" ]; then
	echo
	echo "growth commands (\`add --file x$B\`), median ms per entry by stretch:"
	echo
	echo "| dossier size after the command | commands | median ms/entry |"
	echo "| --- | --- | --- |"
	awk -v s="$SIZE" '{ b = int(($1 - 1) * 4 / s); if (b > 3) b = 3; print b, $1, $2 }' "$KB_DIR/grow" |
		sort -k1,1n -k3,3n | awk '
		{ k = $1; v[k, ++n[k]] = $3; if (!(k in lo) || $2 < lo[k]) lo[k] = $2; if ($2 > hi[k]) hi[k] = $2 }
		END { for (k = 0; k <= 3; k++) if (n[k]) {
			c = n[k]; m = (c % 2) ? v[k, (c + 1) / 2] : (v[k, c / 2] + v[k, c / 2 + 1]) / 2
			printf "| %d-%d | %d | %.2f |\n", lo[k], hi[k], c, m / 1000 } }'
fi

echo "bench: load average at end: $(cut -d' ' -f1-3 /proc/loadavg); creating a file: $(kb_fsprobe "$KB_DIR") ms" >&2
R=$V/dossiers/bench.git
echo
echo "repository: $(du -sh "$R" | cut -f1) on disk, $(find "$R/objects" -type f | wc -l) object files, $(git -C "$R" count-objects -v | awk '/^count:/{c=$2} /^in-pack:/{p=$2} END {print c+0 " loose objects, " p+0 " packed"}')"
if [ "${KB_FLAT_TAIL:-1}" = 1 ]; then
	t0=$(kb_now); nlog=$("$K" --vault "$V" log bench | wc -l); t1=$(kb_now)
	echo "kluis log bench: $nlog lines in $(((t1 - t0) / 1000)) ms"
	t0=$(kb_now)
	if "$K" --vault "$V" verify bench >"$KB_DIR/verify.out" 2>&1; then st=ok; else st="FAILED: $(head -3 "$KB_DIR/verify.out" | tr '\n' ' ')"; fi
	t1=$(kb_now)
	echo "kluis verify bench: $st in $(((t1 - t0) / 1000)) ms"
	t0=$(kb_now); git -C "$R" fsck --no-progress >/dev/null 2>&1 && st=ok || st=FAILED; t1=$(kb_now)
	echo "git fsck: $st in $(((t1 - t0) / 1000)) ms"
fi
exit 0
