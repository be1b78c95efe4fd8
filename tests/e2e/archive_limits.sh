#!/usr/bin/env bash
# e2e/archive_limits.sh - outside input is checked before it costs (issue 17): a transfer
# archive's signed manifest comes first and is checked before a byte of the bundle is
# written, and the extraction holds every member to the size the signed manifest gives.
#
# Each hostile archive is made with stock tar and gzip from a real one: a gzip bomb (a 256 MiB
# member of zeros, sparse on the maker's disk, about 250 KiB compressed) as dossier.bundle
# under a manifest that is forged (re-signed by a key the archive does not carry), unsigned,
# or validly signed but for a smaller bundle; a bomb as manifest.json itself; a bomb of
# padding after the tar's end; and the old member order (the bundle first). Each is refused
# by import and by verify --bundle with one line, while the peak disk use of the importer's
# vault (du, sampled every 20 ms while it runs) stays under 2 MiB and its peak memory
# (/usr/bin/time -v) under 64 MiB. Before the fix the reader extracted every member before
# it looked at the manifest: the peak was the whole bomb (256 MiB here).
set -euo pipefail
. "$KLUIS_TEST_DIR/lib.sh"

BOMB=$((256 << 20))
secret_home "$OPDR"
OH=$REPLY
TV=$T_ROOT/tvault # the opdrachtgever's vault, where nothing may be taken in

init_dossier k-0001
expect_exit 0 k --as "$MEDEW" add k-0001 -m "een notitie"
expect_exit 0 k --as "$MEDEW" close k-0001
A=$T_WORK/k-0001.tgz
expect_exit 0 k --as "$MEDEW" transfer k-0001 --out "$A"
X=$T_WORK/x
mkdir -p "$X"
tar xzf "$A" -C "$X"

# measured CMD...: run CMD with stdout/stderr in $T_OUT/$T_ERR, its exit in $RC, the peak KiB
# under $TV in $PEAK_DISK and its maximum resident set in $PEAK_RSS (KiB)
measured() {
	local pid s
	RC=0
	PEAK_DISK=0
	/usr/bin/time -v -o "$T_WORK/time.txt" "$@" >"$T_OUT" 2>"$T_ERR" &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		s=$(du -sk "$TV" 2>/dev/null | cut -f1) || true
		[ -z "$s" ] || [ "$s" -le "$PEAK_DISK" ] || PEAK_DISK=$s
		sleep 0.02
	done
	wait "$pid" || RC=$?
	PEAK_RSS=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$T_WORK/time.txt")
	ERR=$(cat "$T_ERR")
}
# refused WHAT ARCHIVE WORD: import and verify --bundle both refuse ARCHIVE with one line
# naming WORD, exit 1, cheaply, and nothing is taken in or left behind
refused() {
	local what=$1 a=$2 word=$3 cmd
	for cmd in import verify; do
		if [ "$cmd" = import ]; then
			measured env GNUPGHOME="$OH" KLUIS_VAULT="$TV" "$KLUIS" import "$a" --trust "$DIR"
		else
			measured env GNUPGHOME="$OH" KLUIS_VAULT="$TV" "$KLUIS" verify --bundle "$a" --trust "$DIR"
		fi
		[ "$RC" -eq 1 ] || fail "$what: $cmd exited $RC, want 1: $ERR"
		[ "$(wc -l <"$T_ERR")" -eq 1 ] && [[ $ERR == "kluis: "* ]] || fail "$what: $cmd: stderr is not one 'kluis: ...' line: $ERR"
		grep -qiE -- "$word" "$T_ERR" || fail "$what: $cmd: the error does not say /$word/: $ERR"
		[ "$PEAK_DISK" -lt 2048 ] || fail "$what: $cmd wrote up to $PEAK_DISK KiB under the vault (an archive of $(($(stat -c %s "$a") >> 10)) KiB)"
		[ "$PEAK_RSS" -lt 65536 ] || fail "$what: $cmd peaked at $PEAK_RSS KiB of memory"
		[ ! -d "$TV/dossiers" ] || [ -z "$(ls -A "$TV/dossiers")" ] || fail "$what: $cmd took something in"
		[ ! -d "$TV/tmp" ] || [ -z "$(ls -A "$TV/tmp")" ] || fail "$what: $cmd left work files: $(ls -A "$TV/tmp")"
	done
	pass "$what ($(($(stat -c %s "$a") >> 10)) KiB): import and verify --bundle refuse it (peak disk $PEAK_DISK KiB, memory $((PEAK_RSS >> 10)) MiB): $ERR"
}
copy() { # NAME -> $REPLY: a fresh copy of the real archive's members
	rm -rf "$T_WORK/$1"
	cp -a "$X" "$T_WORK/$1"
	REPLY=$T_WORK/$1
}
pack() { # DIR MEMBER... -> $REPLY: DIR's MEMBERs in this order, stock tar and gzip -9
	local d=$1
	shift
	(cd "$d" && tar cf - "$@") | gzip -9 >"$d.tgz"
	REPLY=$d.tgz
}
bomb() { truncate -s "$BOMB" "$1"; } # a sparse file of zeros: no disk for the maker
resign() { # DIR KEY
	rm -f "$1/manifest.json.asc"
	gpg --batch --quiet --armor --local-user "$2" --detach-sign -o "$1/manifest.json.asc" "$1/manifest.json"
}
keys=$(cd "$X" && ls keys/*.asc)

# control: the real archive, re-packed the same way, imports (then that vault is put aside)
copy control
# shellcheck disable=SC2086
pack "$REPLY" manifest.json manifest.json.asc $keys dossier.bundle
expect_exit 0 env GNUPGHOME="$OH" KLUIS_VAULT="$T_ROOT/cvault" "$KLUIS" import "$REPLY" --trust "$DIR"
pass "control: the archive's members re-packed with stock tar and gzip, in its order, import"

copy forged
bomb "$REPLY/dossier.bundle"
python3 - "$REPLY/manifest.json" "$BOMB" <<'PY'
import json, sys
p, n = sys.argv[1], int(sys.argv[2])
m = json.load(open(p))
m.setdefault("members", {})["dossier.bundle"] = m["bundle_size"] = n
open(p, "w").write(json.dumps(m, indent=2, sort_keys=True) + "\n")
PY
resign "$REPLY" "$OUTSIDER"
# shellcheck disable=SC2086
pack "$REPLY" manifest.json manifest.json.asc $keys dossier.bundle
[ "$(stat -c %s "$REPLY")" -lt $((1 << 20)) ] || fail "the bomb is not small: $(stat -c %s "$REPLY") bytes"
refused "a gzip bomb as dossier.bundle under a forged manifest (naming its size, signed by a key not in keys/)" "$REPLY" "signature"

copy unsigned
bomb "$REPLY/dossier.bundle"
# shellcheck disable=SC2086
pack "$REPLY" manifest.json $keys dossier.bundle
refused "a gzip bomb as dossier.bundle, the manifest unsigned (no manifest.json.asc)" "$REPLY" "signature"

copy signed
bomb "$REPLY/dossier.bundle"
# shellcheck disable=SC2086
pack "$REPLY" manifest.json manifest.json.asc $keys dossier.bundle
refused "a gzip bomb as dossier.bundle under the real, validly signed manifest (which gives the real bundle's size)" "$REPLY" "signed manifest says"

copy big-manifest
bomb "$REPLY/manifest.json"
# shellcheck disable=SC2086
pack "$REPLY" manifest.json manifest.json.asc $keys dossier.bundle
refused "a gzip bomb as manifest.json" "$REPLY" "manifest.json is larger than its limit"

copy big-key
bomb "$REPLY/keys/bomb.asc"
# shellcheck disable=SC2086
pack "$REPLY" manifest.json manifest.json.asc keys/bomb.asc $keys dossier.bundle
refused "a gzip bomb as a key (keys/ comes before the signature is checked)" "$REPLY" "limit"

copy padding
# shellcheck disable=SC2086
(cd "$REPLY" && { tar cf - manifest.json manifest.json.asc $keys dossier.bundle; head -c "$BOMB" /dev/zero; } | gzip -9 >"$REPLY.tgz")
refused "a gzip bomb of zero padding after the tar's end" "$REPLY.tgz" "padding"

copy old-order
bomb "$REPLY/dossier.bundle"
# shellcheck disable=SC2086
pack "$REPLY" dossier.bundle manifest.json manifest.json.asc $keys
refused "the old member order, the bundle (a bomb) first" "$REPLY" "does not begin with manifest.json"
