#!/usr/bin/env bash
# bench/lib.sh - shared set-up for the kluis benchmarks (sourced, not run).
#
#   kb_setup            short-path GNUPGHOME (mktemp -d /tmp/kb.XXXXXX, 0700) with four
#                       passphrase-less keys (ed25519 sign/cert primary, cv25519 encryption
#                       subkey), ownertrust imported; exports GNUPGHOME, KB_DIR, F1..F4
#                       (klant, medewerker, directie, opdrachtgever) and removes it all at exit
#   kb_warm             wake the gpg-agent: one signature and one decryption per key
#   kb_note FILE        write a 4 KB (4096-byte) text note, different each call
#   kb_now              wall clock in microseconds, no fork ($EPOCHREALTIME)
#   kb_median           median of the numbers on stdin (one a line)
#   kb_kluis            the kluis binary ($KLUIS, else build/kluis beside this directory),
#                       copied into KB_DIR once so a rebuild mid-run changes nothing; says so
#                       when it is not a test build (KLUIS_NO_FSYNC, which the set-up of
#                       verify.sh and parts.sh use, exists only in a test build)
#   kb_machine          one paragraph describing the machine and tool versions
#   kb_fsprobe DIR      median ms to create and write one 4.5 KB file in DIR (200 files): on
#                       this machine's journal-less ext4, mass deletions in the last minutes
#                       make file creation up to 20x slower, and git writes a file per object
#   kb_settle           wait (up to KB_SETTLE_MAX=300 s; 0: don't) until kb_fsprobe in KB_DIR
#                       is under 0.2 ms, e.g. after the previous run deleted 70,000 files
set -euo pipefail

KB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KLUIS=${KLUIS:-$KB_ROOT/build/kluis}
# shellcheck source=../tests/keys.sh
. "$KB_ROOT/tests/keys.sh"

kb_cleanup() {
	local rc=$?
	if [ -n "${KB_DIR:-}" ] && [ -d "$KB_DIR" ]; then
		gpgconf --homedir "$KB_DIR/g" --kill all 2>/dev/null || true
		[ -n "${KB_KEEP:-}" ] && echo "bench: kept $KB_DIR" >&2 || rm -rf "$KB_DIR"
	fi
	return $rc
}

kb_setup() {
	KB_DIR=$(mktemp -d "${KB_TMP:-/tmp}/kb.XXXXXX")   # KB_TMP: another base (short path!)
	chmod 700 "$KB_DIR"
	export KB_DIR
	trap kb_cleanup EXIT
	trap 'exit 130' INT TERM
	kt_home "$KB_DIR/g"           # GNUPGHOME=/tmp/kb.XXXXXX/g: short, so the agent's sockets fit
	F1=$(kt_key klant 2>/dev/null)
	F2=$(kt_key medewerker 2>/dev/null)
	F3=$(kt_key directie 2>/dev/null)
	F4=$(kt_key opdrachtgever 2>/dev/null)
	export F1 F2 F3 F4
	# stock git and pass print no trust warnings once the keys are ultimately trusted
	gpg --batch --quiet --check-trustdb 2>/dev/null || true
	kb_warm
}

kb_warm() {
	local f out
	out=$KB_DIR/warm.gpg
	for f in "$F1" "$F2" "$F3" "$F4"; do
		echo warm | gpg --batch --quiet --yes -u "$f" --detach-sign >/dev/null
		echo warm | gpg --batch --quiet --yes -e -r "$f" -o "$out"
		gpg --batch --quiet --yes -d "$out" >/dev/null
	done
	rm -f "$out"
}

kb_note() {
	# 4096 bytes of printable text: 3072 random bytes in base64 is 4096 characters, newlines
	# every 64 included in place of characters so the size stays exactly 4096.
	# (no `| head -c`: with pipefail, base64 dying of SIGPIPE would abort the run)
	local s
	s=$(head -c 3072 /dev/urandom | base64 -w 63)
	printf '%s\n' "${s:0:4095}" >"$1"
}

kb_now() {
	local t=${EPOCHREALTIME/[.,]/}
	printf '%s\n' "$t"
}

kb_median() {
	sort -n | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "nan"; exit }
		if (NR % 2) printf "%.2f\n", v[(NR + 1) / 2]
		else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

kb_kluis() {
	# a private copy in KB_DIR (after kb_setup), so a rebuild during the run cannot change
	# the binary under measurement; prints its path
	if [ ! -x "$KLUIS" ]; then
		echo "bench: no kluis binary at $KLUIS (build it: bash scripts/bootstrap.sh bench)" >&2
		return 1
	fi
	# a test build (cmake -DKLUIS_TEST_SEAMS=ON) holds the switch's name; a release has none
	if ! strings "$KLUIS" | grep -x KLUIS_NO_FSYNC >/dev/null; then
		echo "bench: $KLUIS is not a test build: KLUIS_NO_FSYNC does nothing there, so set-ups that use it fsync (slower) and parts.sh's no-fsync line measures fsyncs; build with -DKLUIS_TEST_SEAMS=ON (bootstrap.sh bench does)" >&2
	fi
	if [ -n "${KB_DIR:-}" ] && [ -d "$KB_DIR" ]; then
		if [ ! -x "$KB_DIR/kluis" ]; then
			cp "$KLUIS" "$KB_DIR/kluis"
			echo "bench: kluis binary $KLUIS, $(date -u -r "$KLUIS" +%FT%TZ), sha256 $(sha256sum "$KB_DIR/kluis" | cut -c1-16)" >&2
		fi
		printf '%s\n' "$KB_DIR/kluis"
	else
		printf '%s\n' "$KLUIS"
	fi
}

kb_machine() {
	local cpu gpgv gitv g2 gpgmev rnpv
	cpu=$(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo)
	gpgv=$(gpg --version | awk 'NR==1{print $3}')
	gitv=$(git --version | awk '{print $3}')
	g2=$(dpkg-query -W -f '${Version}' 'libgit2-1.5' 2>/dev/null || pkg-config --modversion libgit2 2>/dev/null || echo '?')
	gpgmev=$(dpkg-query -W -f '${Version}' libgpgme11 2>/dev/null || echo '?')
	rnpv=$(dpkg-query -W -f '${Version}' librnp0 2>/dev/null || echo '?')
	printf 'nproc %s, CPU "%s", %s; gpg %s, git %s, libgit2 %s, gpgme %s, librnp %s, pass %s\n' \
		"$(nproc)" "$cpu" "$(uname -sr)" "$gpgv" "$gitv" "$g2" "$gpgmev" "$rnpv" \
		"$(pass version 2>/dev/null | awk '/v[0-9]/{for(i=1;i<=NF;i++) if($i ~ /^v[0-9]/) print $i}' | head -1)"
}

kb_fsprobe() {
	command -v python3 >/dev/null || { echo "?"; return 0; }
	python3 - "$1" <<'PY'
import os, sys, time, tempfile, shutil
d = tempfile.mkdtemp(dir=sys.argv[1], prefix="fsprobe.")
ts = []
for i in range(200):
    t = time.perf_counter()
    fd = os.open(os.path.join(d, "f%d" % i), os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, b"x" * 4500)
    os.close(fd)
    ts.append((time.perf_counter() - t) * 1e3)
shutil.rmtree(d)
ts.sort()
print("%.3f" % ts[100])
PY
}

kb_settle() {
	local max=${KB_SETTLE_MAX:-300} waited=0 p
	while :; do
		p=$(kb_fsprobe "$KB_DIR")
		awk -v p="$p" 'BEGIN { exit !(p == "?" || p < 0.2) }' && break
		((waited < max)) || { echo "bench: file creation still slow ($p ms) after ${max} s; measuring anyway" >&2; break; }
		((waited == 0)) && echo "bench: file creation is slow here ($p ms per file: recent mass deletions); waiting for it to settle (KB_SETTLE_MAX=$max)" >&2
		sleep 10
		waited=$((waited + 10))
	done
	((waited == 0)) || echo "bench: waited ${waited} s for the file system" >&2
}
