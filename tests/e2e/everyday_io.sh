#!/usr/bin/env bash
# e2e/everyday_io.sh - reading and writing as a CLI user expects (issue 17):
#   - a large body leaves as it came in, streamed: `show --out` and `export` of a 64 MiB entry
#     peak under 40 MiB of memory (/usr/bin/time -v; before, the ciphertext was read whole
#     twice over: 2x the body);
#   - a reader that goes away (`show ... | head -c 10`) ends the show quietly with exit 0, its
#     read on record, for a body held before it is written (text) and a streamed one (large);
#   - `add --file FIFO` (or a device, a directory) is refused at once with one line, nothing
#     committed; `-` still reads standard input;
#   - a full disk during add (a 1 MiB tmpfs vault; mounting needs root, else that part is
#     skipped and says so) says "No space left on device" in one line and leaves the vault as
#     it was: the same files, verify clean, the next add works.
set -euo pipefail
. "$KLUIS_TEST_DIR/lib.sh"

init_dossier k-0001
R=$(repo_of k-0001)
reads() { git -C "$R" rev-list --count refs/kluis/access 2>/dev/null || echo 0; }
commits() { git -C "$R" rev-list --count main; }
peak_kib() { awk -F': ' '/Maximum resident set size/ { print $2 }' "$T_WORK/time.txt"; }

# ---- a large body streams out ----
head -c $((64 << 20)) /dev/urandom >"$T_WORK/big.bin"
expect_exit 0 k --as "$MEDEW" add k-0001 --file "$T_WORK/big.bin" --title groot
BIG=$OUT
expect_exit 0 /usr/bin/time -v -o "$T_WORK/time.txt" "$KLUIS" --as "$KLANT" show k-0001 "$BIG" --out "$T_WORK/big.out"
cmp -s "$T_WORK/big.bin" "$T_WORK/big.out" || fail "show --out of the 64 MiB entry did not give its bytes"
peak=$(peak_kib)
[ "$peak" -lt $((40 << 10)) ] || fail "show --out of a 64 MiB entry peaked at $((peak >> 10)) MiB (bound 40 MiB)"
pass "show --out of a 64 MiB entry: its bytes, peak memory $((peak >> 10)) MiB (under 40)"
expect_exit 0 /usr/bin/time -v -o "$T_WORK/time.txt" "$KLUIS" --as "$KLANT" export k-0001 --out "$T_WORK/k.zip"
peak=$(peak_kib)
[ "$peak" -lt $((40 << 10)) ] || fail "export of a dossier with a 64 MiB entry peaked at $((peak >> 10)) MiB (bound 40 MiB)"
pass "export of the dossier with the 64 MiB entry: peak memory $((peak >> 10)) MiB (under 40)"

# ---- a reader that goes away ----
head -c 300000 /dev/urandom | base64 >"$T_WORK/lang.txt"
expect_exit 0 k --as "$MEDEW" add k-0001 --file "$T_WORK/lang.txt" --title lang
TEXT=$OUT
for id in "$TEXT" "$BIG"; do
	n0=$(reads)
	set +e
	{ "$KLUIS" --as "$KLANT" show k-0001 "$id" 2>"$T_ERR"; echo $? >"$T_WORK/rc"; } | head -c 10 >"$T_OUT"
	set -e
	assert_eq "$(cat "$T_WORK/rc")" 0 "exit of show $id | head -c 10"
	assert_eq "$(cat "$T_ERR")" "" "stderr of show $id | head -c 10"
	assert_eq "$(wc -c <"$T_OUT")" 10 "bytes head took"
	assert_eq "$(reads)" $((n0 + 1)) "reads on record after show $id | head -c 10"
done
pass "show ... | head -c 10 (a held text body and a streamed 64 MiB one): exit 0, nothing on stderr, the read on record"

# ---- add --file of what is no document ----
mkfifo "$T_WORK/fifo"
n0=$(commits)
expect_exit 2 timeout 20 "$KLUIS" --as "$MEDEW" add k-0001 --file "$T_WORK/fifo"
assert_contains "$ERR" "not a regular file" "add --file FIFO"
expect_exit 2 k --as "$MEDEW" add k-0001 --file /dev/null
expect_exit 2 k --as "$MEDEW" add k-0001 --file "$T_WORK"
assert_eq "$(commits)" "$n0" "commits after the refused adds"
printf 'van standaardinvoer\n' >"$T_WORK/in.txt"
expect_exit 0 k --as "$MEDEW" add k-0001 - <"$T_WORK/in.txt"
pass "add --file of a fifo (at once, not waiting for a writer), a device, a directory: one line, exit 2, nothing committed; - reads standard input"

# ---- a full disk ----
if [ "$(id -u)" -ne 0 ]; then
	echo "# skip: a full disk needs a tmpfs of 1 MiB, and mounting one needs root (this runs as uid $(id -u))"
	exit 0
fi
M=$T_ROOT/small
mkdir -p "$M"
mount -t tmpfs -o size=1m,mode=700 tmpfs "$M" || fail "cannot mount a tmpfs as root"
trap 'umount "$M" 2>/dev/null || true; t_cleanup' EXIT
V=$M/vault
kv() { KLUIS_VAULT=$V "$KLUIS" "$@"; }
expect_exit 0 kv --as "$DIR" init k-0002 --klant "$KLANT" --medewerker "$MEDEW" --directie "$DIR" --opdrachtgever "$OPDR"
list() { (cd "$V" && find . -printf '%p %s\n' | sort); }
before=$(list)
head -c 2000000 /dev/urandom >"$T_WORK/two.bin"
expect_exit 1 kv --as "$MEDEW" add k-0002 --file "$T_WORK/two.bin"
assert_contains "$ERR" "No space left on device" "add on a full disk"
full_err=$ERR
assert_eq "$(list)" "$before" "the vault's files after the failed add"
expect_exit 0 kv verify k-0002
expect_exit 0 kv --as "$MEDEW" add k-0002 -m "past nog"
pass "add of 2 MB into a 1 MiB vault: '$full_err'; the vault's files as before, verify clean, a small add works after"
