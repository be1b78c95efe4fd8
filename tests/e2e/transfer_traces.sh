#!/usr/bin/env bash
# e2e/transfer_traces.sh - handing over leaves no traces, and a receipt (issue 15, item 10).
#
# (a) A transfer, import or pull that dies midway (kill -9) leaves its work directory
#     VAULT/tmp/<what>-<16 hex>; the next command removes it. A live one is never removed: its
#     lock file (kluis-workdir.lock) is flock()ed by its process. Shown with a lock held by
#     another process (live, then its holder gone; stock `flock -n` checks it is held), directories without a lock (recent: kept;
#     abandoned for hours: removed), names kluis does not make and a symlink (untouched), and
#     real transfers and imports of a large dossier killed with SIGKILL while their work
#     directory exists (found by polling, no test seam in kluis): the next command removes the
#     work directory, the next transfer to that --out the killed one's partial archive beside
#     it, and it finishes the killed attempt's `transfer` commit instead of adding a second
#     (the model allows no commit after a transfer).
# (b) `import` writes a receipt for the sending organisation, FILE and FILE.asc (default:
#     ARCHIVE.receipt), exactly six lines, signed by the importer: stock `gpg --verify` with
#     the importer's public key alone accepts it; a changed byte is refused. A receipt that
#     exists already, or cannot be written, stops the import with nothing taken in; a refused
#     import writes none. No temporary file is left beside it.
set -euo pipefail
. "$KLUIS_TEST_DIR/lib.sh"

command -v flock >/dev/null || fail "flock (util-linux) is not installed"
secret_home "$OPDR"
OH=$REPLY        # the opdrachtgever: its own secret key and nothing else
pub_home "$OPDR"
OPUB=$REPLY      # the sending organisation's view of the opdrachtgever: its public key only
OV=$T_ROOT/ovault
ko() { GNUPGHOME=$OH KLUIS_VAULT=$OV "$KLUIS" "$@"; }
TMPD=$KLUIS_VAULT/tmp
sha_of() { sha256sum "$1" | cut -d' ' -f1; }
workdirs() { # VAULT: the work directories under its tmp/, one a line
	find "$1/tmp" -mindepth 1 -maxdepth 1 -name '*-????????????????' 2>/dev/null | sort
}

# ================= (a) stale work directories =================
init_dossier t-0001
mkdir -p "$TMPD"
LIVE=$TMPD/transfer-0123456789abcdef
DEAD_OLD=$TMPD/import-fedcba9876543210
NOLOCK_NEW=$TMPD/pull-00112233445566ff
mkdir -m 700 "$LIVE" "$DEAD_OLD" "$NOLOCK_NEW"
echo ciphertext >"$LIVE/dossier.bundle"
echo ciphertext >"$DEAD_OLD/dossier.bundle"
touch -d '3 hours ago' "$DEAD_OLD"
# a live owner: one process (python3's fcntl.flock, the same flock(2)) holds the lock file of
# LIVE; killing it lets go of the lock, as the death of a kluis does
python3 -c 'import fcntl, sys, time
f = open(sys.argv[1], "a")
fcntl.flock(f, fcntl.LOCK_EX)
time.sleep(300)' "$LIVE/kluis-workdir.lock" >/dev/null 2>&1 &
HOLDER=$!
for _ in $(seq 100); do
	flock -n -x "$LIVE/kluis-workdir.lock" true 2>/dev/null || break
	sleep 0.05
done
flock -n -x "$LIVE/kluis-workdir.lock" true 2>/dev/null && fail "the test's flock holder did not take the lock (test precondition)"
# things that are not kluis's work directories, and a symlink that looks like one
mkdir -m 700 "$TMPD/notes" "$TMPD/transfer-XYZ" "$T_WORK/outside"
echo keep >"$T_WORK/outside/file"
ln -s "$T_WORK/outside" "$TMPD/verify-aaaaaaaaaaaaaaaa"
expect_exit 0 k list
[ -f "$LIVE/dossier.bundle" ] || fail "a live work directory (its lock held) was removed"
[ -d "$NOLOCK_NEW" ] || fail "a work directory without a lock, made just now, was removed"
[ ! -e "$DEAD_OLD" ] || fail "a work directory without a lock, untouched for 3 hours, was not removed"
[ -d "$TMPD/notes" ] && [ -d "$TMPD/transfer-XYZ" ] && [ -L "$TMPD/verify-aaaaaaaaaaaaaaaa" ] && [ -f "$T_WORK/outside/file" ] ||
	fail "the sweep touched what kluis did not make: $(ls -la "$TMPD" "$T_WORK/outside")"
pass "kluis list: a work directory whose lock is held stays; one without a lock stays when recent and goes when abandoned for hours; other names and a symlink are untouched"

kill "$HOLDER"
wait "$HOLDER" 2>/dev/null || true
expect_exit 0 k list
[ ! -e "$LIVE" ] || fail "the work directory whose lock holder is gone is still there: $(ls -la "$LIVE")"
pass "the lock's holder gone, the next command (kluis list) removes its work directory"
rm -rf "$TMPD/notes" "$TMPD/transfer-XYZ" "$TMPD/verify-aaaaaaaaaaaaaaaa" "$NOLOCK_NEW"

# ---- a real transfer killed midway ----
head -c $((48 * 1024 * 1024)) /dev/urandom >"$T_WORK/big.bin"
init_dossier t-big
expect_exit 0 k --as "$MEDEW" add t-big --kind document --file "$T_WORK/big.bin"
expect_exit 0 k --as "$MEDEW" close t-big
RB=$(repo_of t-big)

# run_and_kill VAULT PATTERN CMD...: start CMD, SIGKILL it while VAULT/tmp/PATTERN exists;
# REPLY is that work directory
run_and_kill() {
	local vault=$1 pattern=$2 pid d="" i
	shift 2
	"$@" >/dev/null 2>&1 &
	pid=$!
	for i in $(seq 2000); do
		d=$(find "$vault/tmp" -mindepth 1 -maxdepth 1 -name "$pattern" 2>/dev/null | head -1 || true)
		[ -n "$d" ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.01
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	[ -n "$d" ] || fail "no work directory $pattern appeared while '$*' ran (test precondition)"
	[ -d "$d" ] || fail "'$*' ended before it could be killed in its work directory (test precondition: a larger dossier)"
	REPLY=$d
}

run_and_kill "$KLUIS_VAULT" 'transfer-*' "$KLUIS" --as "$MEDEW" transfer t-big --out "$T_WORK/big1.tgz"
W=$REPLY
[ -f "$W/kluis-workdir.lock" ] || fail "the killed transfer's work directory has no lock file: $(ls -la "$W")"
[ -d "$RB" ] || fail "the killed transfer destroyed the dossier"
expect_exit 0 k list
[ ! -e "$W" ] || fail "the next command left the killed transfer's work directory: $(ls -la "$W")"
[ -z "$(workdirs "$KLUIS_VAULT")" ] || fail "work directories left: $(workdirs "$KLUIS_VAULT")"
pass "a transfer killed (SIGKILL) while its work directory existed: the dossier stays, and the next command (kluis list) removes the work directory"

assert_eq "$(git -C "$RB" log -1 --format=%s main)" "transfer -" "the head of the dossier after the killed transfer (its commit was made)"
partial=$(find "$T_WORK" -maxdepth 1 -name 'big1.tgz.tmp-*')
[ -n "$partial" ] && [ ! -e "$T_WORK/big1.tgz" ] || fail "the killed transfer left no partial archive beside --out, or a whole one (test precondition): $(ls "$T_WORK")"
# the killed attempt's commit names its exporter: another key cannot finish it
expect_exit 1 k --as "$DIR" transfer t-big --out "$T_WORK/bigdir.tgz"
assert_contains "$ERR" "unfinished transfer" "error of a transfer by another key than the unfinished one's"
[ -d "$RB" ] && [ ! -e "$T_WORK/bigdir.tgz" ] || fail "a refused transfer wrote an archive or destroyed the dossier"
expect_exit 0 k --as "$MEDEW" transfer t-big --out "$T_WORK/big1.tgz"
[ ! -e "$RB" ] || fail "the second transfer did not destroy the local copy"
[ -z "$(workdirs "$KLUIS_VAULT")" ] || fail "work directories left after a transfer: $(workdirs "$KLUIS_VAULT")"
[ -z "$(find "$T_WORK" -maxdepth 1 -name 'big1.tgz.tmp-*')" ] || fail "the killed transfer's partial archive is still beside --out: $partial"
mkdir -p "$T_WORK/bigx"
tar xzf "$T_WORK/big1.tgz" -C "$T_WORK/bigx" dossier.bundle
git clone -q --bare "$T_WORK/bigx/dossier.bundle" "$T_WORK/bigx/c.git" 2>/dev/null || fail "stock git clone of the bundle"
assert_eq "$(git -C "$T_WORK/bigx/c.git" log --format=%s main | grep -cx 'transfer -')" 1 "transfer commits in the archive's history"
pass "the transfer again after the kill (to the same --out): exit 0; it finishes the killed attempt's transfer commit (one in the history), removes its partial archive, leaves no work directory"

# ---- an import killed midway ----
run_and_kill "$OV" 'import-*' env GNUPGHOME="$OH" KLUIS_VAULT="$OV" "$KLUIS" import "$T_WORK/big1.tgz" --trust "$DIR"
W=$REPLY
[ ! -e "$OV/dossiers/t-big.git" ] || fail "a killed import took the dossier in"
[ ! -e "$T_WORK/big1.tgz.receipt" ] && [ ! -e "$T_WORK/big1.tgz.receipt.asc" ] || fail "a killed import wrote a receipt"
expect_exit 0 ko list
[ ! -e "$W" ] || fail "the next command left the killed import's work directory"
[ -z "$(workdirs "$OV")" ] || fail "work directories left: $(workdirs "$OV")"
pass "an import killed (SIGKILL) while its work directory existed: nothing taken in, no receipt, and the next command removes the work directory"

expect_exit 0 ko import "$T_WORK/big1.tgz" --trust "$DIR"
assert_eq "$OUT" t-big "stdout of import"
[ -z "$(workdirs "$OV")" ] || fail "work directories left after an import: $(workdirs "$OV")"
[ -f "$T_WORK/big1.tgz.receipt" ] || fail "no receipt after the import"
pass "the import again after the kill: exit 0, a receipt, no work directory left"

# ================= (b) the receipt =================
init_dossier t-0002
expect_exit 0 k --as "$MEDEW" add t-0002 -m "notitie"
expect_exit 0 k --as "$MEDEW" close t-0002
A=$T_WORK/t2.tgz
expect_exit 0 k --as "$MEDEW" transfer t-0002 --out "$A"
ASHA=$(sha_of "$A")
leftovers() { find "$T_WORK" "$T_WORK/rc" -maxdepth 1 -name '*.tmp-*' 2>/dev/null; }

# refusals first: none writes a receipt or takes anything in
expect_exit 1 ko import "$A" --trust "$OUTSIDER"
[ ! -e "$A.receipt" ] && [ ! -e "$A.receipt.asc" ] || fail "a refused import (wrong trust root) wrote a receipt"
mkdir -p "$T_WORK/rc"
echo "mine" >"$T_WORK/rc/taken"
expect_exit 2 ko import "$A" --trust "$DIR" --receipt "$T_WORK/rc/taken"
assert_contains "$ERR" "taken" "error of an import whose receipt exists"
assert_eq "$(cat "$T_WORK/rc/taken")" mine "the existing file named by --receipt"
[ ! -e "$OV/dossiers/t-0002.git" ] || fail "an import whose receipt exists took the dossier in"
echo "mine" >"$T_WORK/rc/sigtaken.asc"
expect_exit 2 ko import "$A" --trust "$DIR" --receipt "$T_WORK/rc/sigtaken"
[ ! -e "$T_WORK/rc/sigtaken" ] && [ ! -e "$OV/dossiers/t-0002.git" ] || fail "an import whose receipt's .asc exists wrote the receipt or took the dossier in"
expect_exit 1,2 ko import "$A" --trust "$DIR" --receipt "$T_WORK/no/such/dir/r"
[ ! -e "$OV/dossiers/t-0002.git" ] || fail "an import whose receipt cannot be written took the dossier in"
[ -z "$(leftovers)" ] || fail "temporary files left beside a receipt: $(leftovers)"
[ -z "$(workdirs "$OV")" ] || fail "work directories left by refused imports: $(workdirs "$OV")"
pass "no receipt from a refused import; a receipt (or its .asc) that exists, or cannot be written, stops the import (exit 2 / 1): nothing taken in, the file untouched, no temporary left"

BEFORE=$(date -u +%s)
expect_exit 0 ko import "$A" --trust "$DIR"
AFTER=$(date -u +%s)
assert_eq "$OUT" t-0002 "stdout of import"
assert_contains "$ERR" "receipt for the organisation: $A.receipt" "stderr of import"
R=$A.receipt
[ -f "$R" ] && [ -f "$R.asc" ] || fail "no receipt $R and $R.asc beside the archive"
assert_eq "$(stat -c %a "$R")" 600 "mode of the receipt"
assert_eq "$(stat -c %a "$R.asc")" 600 "mode of the receipt's signature"
HEAD=$(git -C "$OV/dossiers/t-0002.git" rev-parse main)
assert_eq "$(git -C "$OV/dossiers/t-0002.git" log -1 --format=%s main)" "transfer -" "the imported head (test precondition)"
python3 - "$R" "$ASHA" "$HEAD" "$OPDR" "$BEFORE" "$AFTER" <<'PY' || fail "the receipt is not exactly the six lines: $(cat -A "$R")"
import calendar, re, sys, time
path, sha, head, opdr, before, after = sys.argv[1:]
raw = open(path, "rb").read()
assert raw.endswith(b"\n") and not raw.endswith(b"\n\n"), raw
lines = raw.decode("ascii").split("\n")[:-1]
assert lines[:5] == ["kluis-receipt 1", "dossier t-0002", "archive-sha256 " + sha, "head " + head, "importer " + opdr], lines
assert len(lines) == 6, lines
m = re.fullmatch(r"received (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)", lines[5])
assert m, lines[5]
t = calendar.timegm(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%SZ"))
assert int(before) - 1 <= t <= int(after) + 1, (t, before, after)
PY
pass "the receipt beside the archive: 0600, exactly kluis-receipt 1, dossier, archive-sha256 (= sha256sum), head (= the imported transfer commit), importer (the opdrachtgever), received (now, UTC)"

gpg --homedir "$OPUB" --batch --status-fd 1 --verify "$R.asc" "$R" >"$T_WORK/gv.out" 2>&1 ||
	fail "stock gpg --verify refuses the receipt: $(cat "$T_WORK/gv.out")"
grep_q '^\[GNUPG:\] GOODSIG ' "$T_WORK/gv.out" || fail "gpg --verify of the receipt: no GOODSIG: $(cat "$T_WORK/gv.out")"
assert_eq "$(awk '$2 == "VALIDSIG" { print $NF }' "$T_WORK/gv.out")" "$OPDR" "primary key that signed the receipt"
grep_q -- '-----BEGIN PGP SIGNATURE-----' "$R.asc" || fail "the receipt's signature is not armored"
sed 's/^dossier t-0002$/dossier t-0003/' "$R" >"$T_WORK/forged.receipt"
if gpg --homedir "$OPUB" --batch --verify "$R.asc" "$T_WORK/forged.receipt" >/dev/null 2>&1; then
	fail "stock gpg accepts the receipt's signature over a changed receipt"
fi
pass "stock gpg --verify RECEIPT.asc RECEIPT with the opdrachtgever's public key alone: good signature by the opdrachtgever's primary key; one changed line is refused"

# --receipt elsewhere
init_dossier t-0004
expect_exit 0 k --as "$MEDEW" close t-0004
expect_exit 0 k --as "$MEDEW" transfer t-0004 --out "$T_WORK/t4.tgz"
expect_exit 0 ko import "$T_WORK/t4.tgz" --trust "$DIR" --receipt "$T_WORK/rc/t4-ontvangst.txt" --json
python3 -c 'import json,sys; d = json.load(sys.stdin); assert d["receipt"] == sys.argv[1], d' "$T_WORK/rc/t4-ontvangst.txt" <<<"$OUT" ||
	fail "import --json does not name the receipt: $OUT"
[ ! -e "$T_WORK/t4.tgz.receipt" ] || fail "a receipt beside the archive although --receipt named another place"
gpg --homedir "$OPUB" --batch --verify "$T_WORK/rc/t4-ontvangst.txt.asc" "$T_WORK/rc/t4-ontvangst.txt" >/dev/null 2>&1 ||
	fail "stock gpg refuses the receipt written to --receipt"
grep_q -x "dossier t-0004" "$T_WORK/rc/t4-ontvangst.txt" || fail "the --receipt receipt does not name t-0004"
[ -z "$(leftovers)" ] || fail "temporary files left beside a receipt: $(leftovers)"
pass "import --receipt FILE (--json names it): FILE and FILE.asc there, gpg accepts them, nothing beside the archive, no temporary left"
