#!/usr/bin/env bash
# e2e/atomic.sh - crash safety and concurrency (SPEC invariants 3, 6, 7): kluis add killed with
# SIGKILL at several moments leaves main either unchanged or with the whole new entry, stock
# git fsck stays clean, and the next add works; concurrent adds and reads keep a linear history
# and lose nothing.
set -euo pipefail
. "$KLUIS_TEST_DIR/lib.sh"

init_dossier k-0001
init_dossier k-0002
D=k-0001
R=$(repo_of "$D")
pub_home
AUD=$REPLY
secret_home "$KLANT"
KLANT_ONLY=$REPLY

# every entry pointer in main names an object that exists, has its sha256 and size, and hangs
# off refs/kluis/content (not main); every commit verifies; git fsck is clean
consistent() {
	local what=$1 content mainobjs ptr text oid sha size fsck
	content=$(git -C "$R" rev-list --objects refs/kluis/content | cut -d' ' -f1 | sort)
	mainobjs=$(git -C "$R" rev-list --objects main | cut -d' ' -f1 | sort)
	while read -r ptr; do
		text=$(git -C "$R" cat-file blob "main:$ptr")
		[ "$(sed -n 1p <<<"$text")" = "kluis-pointer 2" ] || fail "$what: $ptr is not a pointer"
		oid=$(awk '$1 == "oid" { print $2 }' <<<"$text")
		sha=$(awk '$1 == "sha256" { print $2 }' <<<"$text")
		size=$(awk '$1 == "size" { print $2 }' <<<"$text")
		grep -qx "$oid" <<<"$content" || fail "$what: $ptr names $oid, not reachable from refs/kluis/content"
		if grep -qx "$oid" <<<"$mainobjs"; then fail "$what: $oid is reachable from main"; fi
		[ "$(git -C "$R" cat-file -s "$oid")" = "$size" ] || fail "$what: size of $oid differs from its pointer"
		if [ "$size" -lt 1000000 ] || [ "$ptr" = "$CHECK_SHA_OF" ]; then
			[ "$(git -C "$R" cat-file blob "$oid" | sha256sum | cut -d' ' -f1)" = "$sha" ] || fail "$what: sha256 of $oid differs from its pointer"
		fi
	done < <(git -C "$R" ls-tree -r --name-only main | grep -E '^(entries/.*/(meta|body)|info)$')
	fsck=$(git -C "$R" fsck --strict --no-dangling 2>&1) || fail "$what: stock git fsck fails: $fsck"
	if grep -Eqi 'error|missing|broken|corrupt|bad' <<<"$fsck"; then fail "$what: git fsck reports: $fsck"; fi
	[ -z "$(git -C "$R" rev-list --merges main)" ] || fail "$what: merge commits on main"
}
CHECK_SHA_OF=

entries_in_main() { git -C "$R" ls-tree -r --name-only main | sed -n 's|^entries/../\([^/]*\)/body$|\1|p' | sort; }

# one kill: start an add of FILE, SIGKILL it after DELAY seconds, then check
kill_after() {
	local file=$1 delay=$2 before after pid rc=0 ids id new parent
	before=$(git -C "$R" rev-parse main)
	"$KLUIS" --as "$MEDEW" add "$D" --file "$file" >"$T_WORK/kill.out" 2>"$T_WORK/kill.err" &
	pid=$!
	sleep "$delay"
	kill -KILL "$pid" 2>/dev/null || true
	{ wait "$pid"; } 2>/dev/null || rc=$?
	after=$(git -C "$R" rev-parse main)
	ids=$(cat "$T_WORK/kill.out")
	if [ "$after" = "$before" ]; then
		[ -z "$ids" ] || fail "kill after ${delay}s: kluis printed id $ids but main did not move"
		KILL_UNCHANGED=$((KILL_UNCHANGED + 1))
	else
		parent=$(git -C "$R" rev-parse "$after^")
		[ "$parent" = "$before" ] || fail "kill after ${delay}s: main moved by more than one commit or sideways"
		new=$(git -C "$R" log -1 --format='%(trailers:key=Kluis-Entry,valueonly)' main | sed '/^$/d')
		[ -n "$new" ] || fail "kill after ${delay}s: the new commit names no entry"
		for id in $new; do
			git -C "$R" cat-file -e "main:entries/${id:17:2}/$id/meta" 2>/dev/null || fail "kill after ${delay}s: $id has no meta"
			git -C "$R" cat-file -e "main:entries/${id:17:2}/$id/body" 2>/dev/null || fail "kill after ${delay}s: $id has no body"
			CHECK_SHA_OF=entries/${id:17:2}/$id/body
		done
		GNUPGHOME=$AUD git -C "$R" verify-commit main >/dev/null 2>&1 || fail "kill after ${delay}s: the new head does not verify"
		KILL_COMMITTED=$((KILL_COMMITTED + 1))
		LAST_KILLED_ID=$new
	fi
	consistent "kill after ${delay}s (exit $rc)"
	CHECK_SHA_OF=
	# no stale lock: the next add goes through, promptly
	timeout 30 "$KLUIS" --as "$MEDEW" add "$D" -m "after a kill at ${delay}s" >"$T_WORK/next.out" 2>"$T_WORK/next.err" ||
		fail "kill after ${delay}s: the next add fails: $(cat "$T_WORK/next.err")"
	id=$(cat "$T_WORK/next.out")
	[[ $id =~ $ID_RE ]] || fail "kill after ${delay}s: the next add printed '$id'"
	entries_in_main | grep_q -x "$id" || fail "kill after ${delay}s: the next add's entry $id is not in main"
}
KILL_UNCHANGED=0
KILL_COMMITTED=0
LAST_KILLED_ID=

# ---- a 50 MB document, killed at several moments ----
BIG=$T_WORK/big.bin
head -c $((50 * 1024 * 1024)) /dev/urandom >"$BIG"
t0=${EPOCHREALTIME/[.,]/}
expect_exit 0 k --as "$MEDEW" add k-0001 --file "$BIG"
t1=${EPOCHREALTIME/[.,]/}
FULL_US=$((t1 - t0))
consistent "an uninterrupted add of 50 MB"
pass "an uninterrupted add of 50 MB takes $((FULL_US / 1000)) ms; the dossier is consistent"

fraction() { awk -v us="$FULL_US" -v f="$1" 'BEGIN { printf "%.3f\n", us * f / 1e6 }'; }
for delay in 0.05 0.2 "$(fraction 0.6)" "$(fraction 0.95)" "$(fraction 1.02)"; do
	kill_after "$BIG" "$delay"
done
pass "SIGKILL during a 50 MB add at 0.05 s, 0.2 s and 60/95/102% of its time: main unchanged or whole ($KILL_UNCHANGED unchanged, $KILL_COMMITTED committed), git fsck clean, the next add works"

if [ -n "$LAST_KILLED_ID" ]; then
	CHECK_SHA_OF=
	oid=$(pointer_field "$R" "main:entries/${LAST_KILLED_ID:17:2}/$LAST_KILLED_ID/body" oid)
	git -C "$R" cat-file blob "$oid" | GNUPGHOME=$KLANT_ONLY gpg --batch --quiet --decrypt 2>/dev/null | cmp -s - "$BIG" ||
		fail "the entry committed just before a kill does not decrypt to the original 50 MB"
	pass "an entry committed just before the kill decrypts to the original bytes"
fi

# ---- a smaller document, killed at spread-out moments (in a second dossier, so that each
# git fsck need not hash the 50 MB documents again) ----
verify_all_commits "$R" "$AUD" main
D=k-0002
R=$(repo_of "$D")
MID=$T_WORK/mid.bin
head -c $((4 * 1024 * 1024)) /dev/urandom >"$MID"
t0=${EPOCHREALTIME/[.,]/}
k --as "$MEDEW" add "$D" --file "$MID" >/dev/null 2>&1 || fail "add of 4 MB failed"
t1=${EPOCHREALTIME/[.,]/}
FULL_US=$((t1 - t0))
for f in 0.2 0.5 0.8 0.9 0.95 1.0 1.05 1.15; do
	kill_after "$MID" "$(fraction "$f")"
done
pass "SIGKILL during a 4 MB add at 8 moments from 20% to 115%: always unchanged or whole ($KILL_UNCHANGED unchanged, $KILL_COMMITTED committed in all)"

verify_all_commits "$R" "$AUD" main
pass "after all the kills every commit on main of both dossiers still passes stock git verify-commit"

# ---- concurrent adds ----
PAIRS=10
declare -a REPORTED=()
clean_fail() { # a failed concurrent add: exit 1 or 2, one 'kluis: ' line, no id on stdout
	local rc=$1 out=$2 err=$3
	[ "$rc" -eq 1 ] || [ "$rc" -eq 2 ] || fail "a concurrent add exited $rc: $(cat "$err")"
	[ "$(wc -l <"$err")" -eq 1 ] && [[ $(cat "$err") == "kluis: "* ]] || fail "a failed concurrent add's stderr: $(cat "$err")"
	[ ! -s "$out" ] || fail "a failed concurrent add printed an id: $(cat "$out")"
}
ok_adds=0
failed_adds=0
for ((i = 0; i < PAIRS; i++)); do
	"$KLUIS" --as "$MEDEW" add "$D" -m "concurrent a$i" >"$T_WORK/a.out" 2>"$T_WORK/a.err" &
	pa=$!
	"$KLUIS" --as "$DIR" add "$D" --kind report -m "concurrent b$i" >"$T_WORK/b.out" 2>"$T_WORK/b.err" &
	pb=$!
	ra=0
	rb=0
	wait "$pa" || ra=$?
	wait "$pb" || rb=$?
	for x in a b; do
		r=$([ $x = a ] && echo "$ra" || echo "$rb")
		if [ "$r" -eq 0 ]; then
			id=$(cat "$T_WORK/$x.out")
			[[ $id =~ $ID_RE ]] || fail "concurrent add $x$i printed '$id'"
			REPORTED+=("$id")
			ok_adds=$((ok_adds + 1))
		else
			clean_fail "$r" "$T_WORK/$x.out" "$T_WORK/$x.err"
			failed_adds=$((failed_adds + 1))
		fi
	done
done
[ "$ok_adds" -ge "$PAIRS" ] || fail "only $ok_adds of $((2 * PAIRS)) concurrent adds succeeded"
have=$(entries_in_main)
for id in "${REPORTED[@]}"; do
	grep -qx "$id" <<<"$have" || fail "concurrent add reported $id, but it is not in main"
done
assert_eq "$(printf '%s\n' "${REPORTED[@]}" | sort -u | wc -l)" "${#REPORTED[@]}" "distinct ids among the concurrent adds"
consistent "after concurrent adds"
verify_all_commits "$R" "$AUD" main
pass "$PAIRS pairs of concurrent adds: $ok_adds succeeded, $failed_adds failed cleanly; history linear, every reported id in the tree, all verified"

# every reported entry is in the log too (W6b: the klant sees every addition)
log=$(GNUPGHOME=$AUD "$KLUIS" log "$D" --json) || fail "log after concurrent adds failed"
for id in "${REPORTED[@]}"; do
	assert_contains "$log" "$id" "kluis log after concurrent adds"
done
pass "every reported entry appears in kluis log"

# ---- concurrent reads: no access record may be lost ----
N0=$(git -C "$R" rev-list --count refs/kluis/access 2>/dev/null || echo 0)
ok_reads=0
for ((i = 0; i < PAIRS; i++)); do
	"$KLUIS" --as "$KLANT" show "$D" "${REPORTED[0]}" >"$T_WORK/a.out" 2>"$T_WORK/a.err" &
	pa=$!
	"$KLUIS" --as "$MEDEW" show "$D" "${REPORTED[1]}" --purpose rapportage >"$T_WORK/b.out" 2>"$T_WORK/b.err" &
	pb=$!
	ra=0
	rb=0
	wait "$pa" || ra=$?
	wait "$pb" || rb=$?
	if [ "$ra" -eq 0 ]; then ok_reads=$((ok_reads + 1)); else clean_fail "$ra" /dev/null "$T_WORK/a.err"; fi
	if [ "$rb" -eq 0 ]; then ok_reads=$((ok_reads + 1)); else clean_fail "$rb" /dev/null "$T_WORK/b.err"; fi
done
N1=$(git -C "$R" rev-list --count refs/kluis/access)
assert_eq "$((N1 - N0))" "$ok_reads" "access records added by $ok_reads successful concurrent reads"
[ -z "$(git -C "$R" rev-list --merges refs/kluis/access)" ] || fail "merges on refs/kluis/access"
verify_all_commits "$R" "$AUD" refs/kluis/access
pass "$PAIRS pairs of concurrent reads: one signed access record per successful read ($ok_reads), chain linear"
