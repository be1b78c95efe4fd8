#!/usr/bin/env bash
# bench/parts.sh - the parts of one `kluis add`, each timed on its own from the shell.
#
# Times (median of KB_PARTS_N runs, interleaved round by round so drift hits all alike):
#   - a do-nothing process (/bin/true): what starting any process costs from bash here
#   - `kluis --version`: loading the kluis binary and its libraries
#   - each gpg process that gpgme starts for one `kluis add` (as seen by bench/trace.sh):
#     gpgconf --list-dirs, gpgconf --list-components, gpg --version, gpgsm --version,
#     gpgconf --version, gpg --list-secret-keys FPR, gpg --list-keys FPR,
#     gpg --detach-sign (the commit signature)
#   - `kluis add` (one 4 KB note) as is, and with KLUIS_NO_FSYNC=1 (kluis's switch that
#     turns off libgit2's fsync of the git directory: not a safe mode, only a measurement
#     of what the fsyncs cost)
# Environment: KB_PARTS_N=30, KLUIS=PATH, KB_KEEP=1.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N=${KB_PARTS_N:-30}
kb_setup
K=$(kb_kluis)
NOTE=$KB_DIR/note
kb_note "$NOTE"
V=$KB_DIR/v
"$K" --vault "$V" --as "$F3" init bench --klant "$F1" --medewerker "$F2" \
	--directie "$F3" --opdrachtgever "$F4" >/dev/null 2>&1
for i in 1 2 3; do "$K" --vault "$V" --as "$F2" add bench --kind note - <"$NOTE" >/dev/null; done
kb_settle
echo "bench: load average at start: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

names=(true kluis-version gpgconf-list-dirs gpgconf-list-components gpg-version gpgsm-version
       gpgconf-version gpg-list-secret-keys gpg-list-keys gpg-detach-sign kluis-add kluis-add-nofsync)
part() {
	case $1 in
	true) /bin/true ;;
	kluis-version) "$K" --version ;;
	gpgconf-list-dirs) gpgconf --list-dirs ;;
	gpgconf-list-components) gpgconf --list-components ;;
	gpg-version) gpg --version ;;
	gpgsm-version) gpgsm --version ;;
	gpgconf-version) gpgconf --version ;;
	gpg-list-secret-keys) gpg --batch --with-colons --list-secret-keys -- "$F2" ;;
	gpg-list-keys) gpg --batch --with-colons --list-keys -- "$F2" ;;
	gpg-detach-sign) printf 'tree 0\n\nadd -\n' | gpg --batch -u "$F2" --detach-sign --armor ;;
	kluis-add) "$K" --vault "$V" --as "$F2" add bench --kind note - <"$NOTE" ;;
	kluis-add-nofsync) KLUIS_NO_FSYNC=1 "$K" --vault "$V" --as "$F2" add bench --kind note - <"$NOTE" ;;
	esac
}
for n in "${names[@]}"; do : >"$KB_DIR/p.$n"; done
for ((i = 1; i <= N; i++)); do
	for n in "${names[@]}"; do
		t0=$(kb_now)
		part "$n" >/dev/null 2>&1
		t1=$(kb_now)
		echo $((t1 - t0)) >>"$KB_DIR/p.$n"
	done
done
echo "bench: load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo
echo "median of $N, wall time from bash, ms"
echo
echo "| part | median ms |"
echo "| --- | --- |"
for n in "${names[@]}"; do
	printf '| %s | %s |\n' "$n" "$(kb_median <"$KB_DIR/p.$n" | awk '{printf "%.2f", $1 / 1000}')"
done
