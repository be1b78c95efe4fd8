#!/usr/bin/env bash
# e2e/scale.sh - `kluis list` and `kluis retention` over many dossiers read each dossier's head
# once, cheaply (vault/store/summary.c), entry counts kept by entries/ tree id (lifecycle.c),
# and the ledger once, its signatures up to the last clean run taken from that run's kept
# verdict (ledger_verify.c, replay_state.c). What this holds them to: the same rows as the
# dossiers' heads say (a packed dossier, read the general way, too; a new entry shows at once),
# no repository config opened per dossier (strace), no edited or forged kept count shown, and no
# edit of the kept verdict or of the ledger behind it gets a forged record accepted.
set -euo pipefail
. "$KLUIS_TEST_DIR/lib.sh"
command -v strace >/dev/null || fail "strace is missing (scripts/bootstrap.sh test installs it)"
L=$KLUIS_VAULT/ledger.git
CACHE=$HOME/.cache/kluis/verified

init_dossier k-0001
init_dossier k-0002 --retention-years 3
init_dossier k-0003
expect_exit 0 k --as "$MEDEW" add k-0001 -m "een"
expect_exit 0 k --as "$MEDEW" add k-0001 -m "twee"
expect_exit 0 k --as "$DIR" close k-0002
rows() { python3 -c 'import json,sys; [print(d["dossier"], d["state"], d["entries"], d["last_change"] is not None, d["retention_deadline"] is not None, d["retention_years"]) for d in json.load(sys.stdin)["dossiers"]]' <"$T_OUT"; }
expect_exit 0 k list --json
assert_eq "$(rows)" $'k-0001 open 2 True False 2\nk-0002 closed 0 True True 3\nk-0003 open 0 True False 2' "list --json"
assert_eq "$(python3 -c 'import json,sys; print(json.load(sys.stdin)["dossiers"][0]["last_change"])' <"$T_OUT")" \
	"$(TZ=UTC git -C "$(repo_of k-0001)" log -1 --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ main)" "k-0001's last change: its head's commit time"
pass "list: state, entries, last change (the head commit's time) and retention of each dossier"

# ---- no per-dossier config, the ledger not per dossier (this failed before: each dossier opened twice, the ledger once per dossier) ----
# (LeakSanitizer cannot run under ptrace: the ASan build's leak check is off for this one run)
ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" strace -f -e trace=openat,open -o "$T_WORK/st" "$KLUIS" list >/dev/null 2>&1 ||
	fail "kluis list under strace failed"
assert_eq "$(grep -c 'dossiers/k-000[0-9].git/config"' "$T_WORK/st" || true)" 0 "dossier configs opened by list"
# the ledger: its head looked up, then read (twice in all, whatever the number of dossiers)
assert_eq "$(grep -c 'ledger.git/config"' "$T_WORK/st" || true)" 2 "ledger configs opened by list"
ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" strace -f -e trace=openat,open -o "$T_WORK/st" "$KLUIS" retention --due >/dev/null 2>&1 || fail "kluis retention under strace failed"
assert_eq "$(grep -c 'dossiers/k-000[0-9].git/config"' "$T_WORK/st" || true)" 0 "dossier configs opened by retention"
pass "list and retention open no dossier's git config, and the ledger twice in all"

# ---- what list shows is what the head says, now ----
expect_exit 0 k --as "$MEDEW" add k-0001 -m "drie"
expect_exit 0 k list --json
assert_eq "$(rows | sed -n 1p)" "k-0001 open 3 True False 2" "list after a new entry"
R=$(repo_of k-0001)
git -C "$R" repack -q -a -d
git -C "$R" pack-refs --all
git -C "$R" prune-packed
H=$(git -C "$R" rev-parse main)
[ ! -e "$R/refs/heads/main" ] && [ ! -e "$R/objects/${H:0:2}/${H:2}" ] || fail "k-0001's main and head commit are not packed"
expect_exit 0 k list --json
assert_eq "$(rows | sed -n 1p)" "k-0001 open 3 True False 2" "list of a packed dossier"
expect_exit 0 k verify k-0001
pass "list shows a new entry at once, and a packed dossier (packed-refs, one pack) the same"

# ---- the entry counts kept by list: keyed by the entries/ tree, under the HMAC key ----
expect_exit 0 k --as "$MEDEW" add k-0003 -m "vier"
expect_exit 0 k list --json
assert_eq "$(rows | sed -n 3p)" "k-0003 open 1 True False 2" "list after k-0003's first entry"
MEMO=$(grep -l '^kluis-entries 1$' "$CACHE"/* 2>/dev/null || true)
[ -n "$MEMO" ] || fail "no kept entry counts in $CACHE after list"
assert_eq "$(stat -c %a "$MEMO")" 600 "the kept counts' mode"
T3=$(git -C "$(repo_of k-0003)" rev-parse main:entries)
grep -qx "$T3 1" "$MEMO" || fail "the kept counts lack k-0003's entries tree $T3 with 1: $(cat "$MEMO")"
sed -i "s/^$T3 1$/$T3 99/" "$MEMO"
expect_exit 0 k list --json
assert_eq "$(rows | sed -n 3p)" "k-0003 open 1 True False 2" "list after the kept count was edited"
grep -qx "$T3 1" "$MEMO" || fail "the edited counts were not rewritten"
python3 - "$MEMO" "$T3" <<'PY'
import hmac, hashlib, os, sys
path, tree = sys.argv[1:]
body = open(path).read()
body = body[:body.index("mac ")].replace(tree + " 1\n", tree + " 99\n")
open(path, "w").write(body + "mac " + hmac.new(os.urandom(32), body.encode(), hashlib.sha256).hexdigest() + "\n")
PY
grep -qx "$T3 99" "$MEMO" || fail "the forged counts were not written"
expect_exit 0 k list --json
assert_eq "$(rows | sed -n 3p)" "k-0003 open 1 True False 2" "list after the kept counts were forged under another key"
pass "list keeps entry counts by entries/ tree (0600, HMAC); an edited count, or counts forged under another key, are not shown: counted again"

# ---- the ledger's kept verdict ----
VOUCH=$(grep -l '^kluis-vouched 1$' "$CACHE"/* 2>/dev/null || true)
[ -n "$VOUCH" ] || fail "no kept verdict on the ledger in $CACHE after list"
assert_eq "$(stat -c %a "$VOUCH")" 600 "the kept verdict's mode"
N=$(git -C "$L" rev-list --count main)
grep -qx "head $(git -C "$L" rev-parse main)" "$VOUCH" && grep -qx "count $N" "$VOUCH" || fail "the kept verdict is not at the ledger's head: $(cat "$VOUCH")"
GOOD=$(git -C "$L" rev-parse main)
GOOD_VOUCH=$(cat "$VOUCH")
forge() { # PARENT SEQ: an unsigned create record on top of PARENT, as kluis would write one otherwise; its id
	printf 'create k-0009\n\nKluis-Action: create\nKluis-Dossier: k-0009\nKluis-Role: directie\nKluis-Seq: %s\n' "$2" |
		GIT_AUTHOR_NAME=directie GIT_AUTHOR_EMAIL=$DIR GIT_COMMITTER_NAME=directie GIT_COMMITTER_EMAIL=$DIR \
			git -C "$L" commit-tree -p "$1" "$1^{tree}"
}
refused() { # WHAT: list and retention refuse the ledger, ledger show marks the forged record
	expect_exit 1 k list
	assert_contains "$ERR" "ledger does not verify" "$1: list"
	expect_exit 1 k retention --due
	expect_exit 1 k ledger show
	assert_contains "$OUT" "INVALID" "$1: ledger show"
}
restore() { git -C "$L" update-ref refs/heads/main "$GOOD"; printf '%s\n' "$GOOD_VOUCH" >"$VOUCH"; }

# (1) the last record replaced by an unsigned one (same place, same seq): the chain no longer
# holds the kept record there, so every signature is checked again
F=$(forge "$GOOD~1" "$N")
git -C "$L" update-ref refs/heads/main "$F"
refused "the last record replaced"
restore

# (2) a forged record appended, and the kept verdict edited to vouch for it under its old MAC
F=$(forge "$GOOD" $((N + 1)))
git -C "$L" update-ref refs/heads/main "$F"
sed -i "s/^head .*/head $F/; s/^count .*/count $((N + 1))/" "$VOUCH"
refused "a forged record the edited verdict vouches for"
restore

# (3) the same, the verdict written whole with a MAC under another key
git -C "$L" update-ref refs/heads/main "$F"
python3 - "$VOUCH" "$F" $((N + 1)) <<'PY'
import hmac, hashlib, os, re, sys
path, head, count = sys.argv[1:]
body = open(path).read()
body = body[:body.index("mac ")]
body = re.sub(r"(?m)^head .*$", "head " + head, body)
body = re.sub(r"(?m)^count .*$", "count " + count, body)
open(path, "w").write(body + "mac " + hmac.new(os.urandom(32), body.encode(), hashlib.sha256).hexdigest() + "\n")
PY
grep -qx "head $F" "$VOUCH" || fail "the forged verdict was not written"
refused "a forged record vouched for under another key"
restore

expect_exit 0 k list
assert_contains "$OUT" "k-0003" "list after the ledger was restored"
expect_exit 0 k verify --all
pass "the ledger's kept verdict (0600) vouches only for the records it saw: a replaced last record, or a forged one it is edited or forged to vouch for, is refused"
