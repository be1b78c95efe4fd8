#!/usr/bin/env bash
# bench/trace.sh - where the time of one `kluis add` (and one `pass insert`) goes.
#
# Runs one warm single addition of a 4 KB note under `strace -f --seccomp-bpf`, tracing only
# process starts and ends, lock, fsync and rename (so the traced run is only a little slower
# than an untraced one), and prints every process it starts (relative start, lifetime, argv)
# and the main process's milestones (lock taken, fsync count, ref renames, exit); then the
# `strace -f -c` syscall summary (top lines; that run traces every syscall and is slower).
#
# Environment: KB_TRACE_PASS=1 (0 skips pass), KB_TRACE_BATCH=0 (1 also traces one
# `add --file x100`), KLUIS=PATH, KB_KEEP=1.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

kb_setup
NOTE=$KB_DIR/note
kb_note "$NOTE"

timeline() {   # timeline STRACE_OUT: one line per process
	awk '
	function ms(t) { return sprintf("%8.1f", (t - t0) * 1000) }
	{ pid = $1; t = $2 + 0; if (!t0) t0 = t }
	/ execve\(/ && (/ = 0$/ || /<unfinished \.\.\.>$/) {
		line = $0; sub(/^[^[]*\[/, "", line); sub(/\], .*$/, "", line); gsub(/"/, "", line)
		if (length(line) > 110) line = substr(line, 1, 107) "..."
		if (!(pid in start)) { start[pid] = t; order[++n] = pid }
		argv[pid] = line
	}
	/\+\+\+ exited with/ { stop[pid] = t; last = t }
	/ fsync\(/ { nf++; if (!f0) f0 = t; f1 = t }
	/ flock\(.*LOCK_EX/ { ev[++ne] = ms(t) "  lock taken (flock LOCK_EX)" }
	/ flock\(.*LOCK_UN/ { ev[++ne] = ms(t) "  lock released" }
	/ rename\(.*refs\// { r = $0; sub(/^.*rename\("/, "", r); sub(/\.lock".*$/, "", r); sub(/^.*\.git\//, "", r)
		ev[++ne] = ms(t) "  ref " r " updated" }
	END {
		printf "%8s %8s  %s\n", "start ms", "life ms", "argv"
		for (i = 1; i <= n; i++) { p = order[i]
			printf "%s %s  %s\n", ms(start[p]), sprintf("%8.1f", (stop[p] - start[p]) * 1000), argv[p] }
		for (i = 1; i <= ne; i++) print ev[i]
		if (nf) printf "%s  %d fsync calls, the first at %.1f, the last at %.1f ms\n", "        ", nf, (f0 - t0) * 1000, (f1 - t0) * 1000
		printf "%d processes (execs), %.1f ms from first to last event under strace\n", n, (last - t0) * 1000
	}' "$1"
}

run_traced() {   # run_traced LABEL CMD...: timeline and summary
	local label=$1; shift
	echo
	echo "## $label"
	echo
	echo '```'
	strace -f --seccomp-bpf -ttt -e trace=execve,exit_group,flock,fsync,rename -e signal=none \
		-o "$KB_DIR/trace" "$@" >/dev/null
	timeline "$KB_DIR/trace"
	echo
	strace -f -c -o "$KB_DIR/count" "$@" >/dev/null
	head -n 18 "$KB_DIR/count"
	echo '```'
}

if [ "${KB_TRACE_PASS:-1}" = 1 ]; then
	export PASSWORD_STORE_DIR=$KB_DIR/store
	pass init "$F1" "$F2" "$F3" "$F4" >/dev/null
	pass git init >/dev/null 2>&1
	pass git config user.name "bench medewerker"
	pass git config user.email "medewerker@kluis.test"
	pass git config user.signingkey "$F2"
	pass git config commit.gpgsign true
	for i in 1 2 3; do pass insert -m "warm/e$i" <"$NOTE" >/dev/null; done
	run_traced "pass insert -m (signed commit), warm" sh -c "pass insert -m bench/t1 <'$NOTE'"
fi

if K=$(kb_kluis); then
	V=$KB_DIR/v
	"$K" --vault "$V" --as "$F3" init bench --klant "$F1" --medewerker "$F2" \
		--directie "$F3" --opdrachtgever "$F4" >/dev/null
	for i in 1 2 3; do "$K" --vault "$V" --as "$F2" add bench --kind note - <"$NOTE" >/dev/null; done
	run_traced "kluis add --kind note - (one entry), warm" \
		sh -c "'$K' --vault '$V' --as '$F2' add bench --kind note - <'$NOTE'"
	if [ "${KB_TRACE_BATCH:-0}" = 1 ]; then
		files=()
		for ((j = 1; j <= 100; j++)); do kb_note "$KB_DIR/f$j"; files+=(--file "$KB_DIR/f$j"); done
		run_traced "kluis add --file x100, warm" "$K" --vault "$V" --as "$F2" add bench "${files[@]}"
	fi
fi
