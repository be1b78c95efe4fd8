#!/usr/bin/env bash
# e2e/log_filters.sh - finding things again without decrypting anything: `log` and `audit`
# narrowed by kind, action, role, entry and time; people shown by the name in the reader's
# keyring beside role and key; a filter value that can never match refused (exit 2, one line).
# Nothing here is a read: the read log is the same before and after.
set -euo pipefail
. "$KLUIS_TEST_DIR/lib.sh"

# a medewerker with a person's name, in the GNUPGHOME every command here uses
MARIE=$(kt_key "Marie Jansen" 2>/dev/null)
k --as "$DIR" init k-1 --klant "$KLANT" --medewerker "$MARIE" --directie "$DIR" --opdrachtgever "$OPDR" >/dev/null 2>&1 || fail "init failed"
C=$(k --as "$MARIE" add k-1 --kind contact --title Intake -m "intakegesprek")
P=$(k --as "$MARIE" add k-1 --kind plan --title "Plan van aanpak" -m "het plan")
S=$(k --as "$KLANT" statement k-1 -m "mijn woorden")
k --as "$KLANT" show k-1 "$C" --purpose inzage >/dev/null
k --as "$DIR" show k-1 "$P" >/dev/null
R=$(repo_of k-1)
reads_before=$(git -C "$R" rev-list --count refs/kluis/access)

rows() { grep -vc '^TIME' <<<"$1" || true; }

expect_exit 0 k --as "$DIR" log k-1
assert_match "$OUT" "add +$C +contact +medewerker +Marie Jansen +${MARIE:24:16}" "the medewerker's name beside role and key"
assert_match "$OUT" "statement +$S +statement +klant +klant +${KLANT:24:16}" "the klant's name"
pass "log shows each person's name (the user id in the keyring) beside role and key"

expect_exit 0 k --as "$DIR" log k-1 --kind contact
assert_eq "$(rows "$OUT")" 1 "rows for --kind contact"
assert_contains "$OUT" "$C" "--kind contact"
expect_exit 0 k --as "$DIR" log k-1 --action access
assert_eq "$(rows "$OUT")" 2 "rows for --action access"
assert_not_contains "$OUT" "  add  " "--action access"
expect_exit 0 k --as "$DIR" log k-1 --role klant
assert_eq "$(rows "$OUT")" 2 "rows for --role klant (the statement and the read)"
expect_exit 0 k --as "$DIR" log k-1 --entry "$C"
assert_eq "$(rows "$OUT")" 2 "rows for --entry (its addition and its read)"
expect_exit 0 k --as "$DIR" log k-1 --role medewerker --kind plan
assert_eq "$(rows "$OUT")" 1 "two filters together"
expect_exit 0 k --as "$DIR" log k-1 --since 2099-01-01
assert_eq "$(rows "$OUT")" 0 "rows since 2099"
expect_exit 0 k --as "$DIR" log k-1 --until "$(date -u +%Y-%m-%d)"
assert_eq "$(rows "$OUT")" 6 "rows until the end of today (init, two additions, the statement, two reads)"
expect_exit 0 k --as "$DIR" log k-1 --kind plan --json
assert_eq "$(jq '.events | length' <<<"$OUT")" 1 "--json events for --kind plan"
assert_eq "$(jq -r '.events[0].name' <<<"$OUT")" "Marie Jansen" "--json name"
pass "log --kind, --action, --role, --entry, --since, --until narrow it down, alone or together, also as JSON"

expect_exit 0 k --as "$DIR" audit k-1 --role directie
assert_eq "$(rows "$OUT")" 2 "audit rows for the directie (init and a read)"
assert_contains "$OUT" "directie" "audit names"
expect_exit 0 k --as "$DIR" audit k-1 --action access --json
assert_eq "$(jq '.events | length' <<<"$OUT")" 2 "audit --action access"
assert_eq "$(jq -r '[.events[].name] | sort | join(",")' <<<"$OUT")" "directie,klant" "audit --json names"
pass "audit takes the same filters and shows names"

for bad in "--kind notes" "--action ad" "--role adviseur" "--entry plan" "--since gisteren" "--until 2026-13-01"; do
	# shellcheck disable=SC2086
	expect_exit 2 k --as "$DIR" log k-1 $bad
	expect_exit 2 k --as "$DIR" audit k-1 $bad
done
pass "a filter value that can never match is refused with one line, exit 2 (not an empty list)"

assert_eq "$(git -C "$R" rev-list --count refs/kluis/access)" "$reads_before" "reads after log and audit"
pass "log and audit with filters record no read"
