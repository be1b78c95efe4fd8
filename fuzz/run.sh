#!/usr/bin/env bash
# fuzz/run.sh - run the fuzz targets (docs/RELIABILITY.md), two at a time, each for SECONDS.
#
#   CC=clang cmake -S . -B build-fuzz -DKLUIS_FUZZ=ON && cmake --build build-fuzz -j2 --target fuzz
#   bash fuzz/run.sh build-fuzz 10                 every target for 10 s (CI's smoke run)
#   bash fuzz/run.sh build-fuzz 3600 bundle        one target for an hour
#
# Each target starts from its seeds in fuzz/corpus/TARGET (read, never written) and writes
# what it finds new to a scratch corpus. A crash, leak, timeout or failed property fails the
# run: the reproducer's path and the command that replays it are printed, and the scratch
# directory is kept. Otherwise one line of figures per target and the scratch is removed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[ $# -ge 2 ] || { echo "usage: bash fuzz/run.sh BUILD_DIR SECONDS [TARGET...]" >&2; exit 2; }
build=$(cd "$1" && pwd)
secs=$2
shift 2
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
	for d in "$here"/corpus/*/; do targets+=("$(basename "$d")"); done
fi
out=$(mktemp -d "${TMPDIR:-/tmp}/kluis-fuzz-run.XXXXXX")

one() { # TARGET: run it; its log in $out/TARGET.log
	local t=$1
	mkdir -p "$out/$t"
	"$build/fuzz_$t" -max_total_time="$secs" -timeout=60 -print_final_stats=1 -artifact_prefix="$out/$t/" \
		"$out/$t" "$here/corpus/$t" >"$out/$t.log" 2>&1
}

failed=0
report() { # TARGET STATUS
	local t=$1 rc=$2 log=$out/$1.log
	if [ "$rc" -ne 0 ]; then
		failed=1
		echo "fuzz_$t: FAILED (exit $rc)"
		grep -E 'ERROR|SUMMARY|property failed|Test unit written' "$log" | head -20 | sed 's/^/  /'
		for a in "$out/$t"/crash-* "$out/$t"/leak-* "$out/$t"/timeout-* "$out/$t"/oom-*; do
			[ -e "$a" ] && echo "  reproduce: $build/fuzz_$t $a"
		done
		echo "  the whole log: $log"
		return
	fi
	# "#N DONE cov: C ft: F corp: K/SIZE ..."
	printf 'fuzz_%s: %s runs in %s s, %s\n' "$t" "$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")" "$secs" \
		"$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | sed -E 's/.*(cov: [0-9]+ ft: [0-9]+ corp: [^ ]+).*/\1/')"
}

i=0
while [ $i -lt ${#targets[@]} ]; do
	a=${targets[$i]} b=${targets[$((i + 1))]:-}
	ra=0 rb=0
	one "$a" & pa=$!
	if [ -n "$b" ]; then one "$b" & pb=$!; fi
	wait "$pa" || ra=$?
	if [ -n "$b" ]; then wait "$pb" || rb=$?; fi
	report "$a" "$ra"
	[ -z "$b" ] || report "$b" "$rb"
	i=$((i + 2))
done
if [ "$failed" -ne 0 ]; then
	echo "fuzz: a target failed; its reproducer and log are kept in $out" >&2
	exit 1
fi
rm -rf "$out"
