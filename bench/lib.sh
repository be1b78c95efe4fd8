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
#   kb_kluis            the kluis binary: $KLUIS, else build/kluis beside this directory
#   kb_machine          one paragraph describing the machine and tool versions
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
	KB_DIR=$(mktemp -d /tmp/kb.XXXXXX)
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
	head -c 3072 /dev/urandom | base64 -w 63 | head -c 4095 >"$1"
	printf '\n' >>"$1"
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
	if [ ! -x "$KLUIS" ]; then
		echo "bench: no kluis binary at $KLUIS (build it: cmake -S $KB_ROOT -B $KB_ROOT/build && cmake --build $KB_ROOT/build)" >&2
		return 1
	fi
	printf '%s\n' "$KLUIS"
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
