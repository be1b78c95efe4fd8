#!/usr/bin/env bash
# e2e/find.sh - kluis find: entries found by their (encrypted) title or kind, by decrypting the
# metadata only, with exactly one read on record (the whole dossier, with its purpose), which
# the klant sees in the log.
set -euo pipefail
. "$KLUIS_TEST_DIR/lib.sh"

init_dossier k-1
I=$(k --as "$MEDEW" add k-1 --kind contact --title "Intakegesprek" -m "eerste gesprek")
P=$(k --as "$MEDEW" add k-1 --kind plan --title "Plan van aanpak" -m "het plan")
k --as "$MEDEW" add k-1 --kind note --title "Telefoontje werkgever" -m "gebeld" >/dev/null
R=$(repo_of k-1)
reads=$(git -C "$R" rev-list --count refs/kluis/access 2>/dev/null || echo 0)

expect_exit 0 k --as "$MEDEW" find k-1 PLAN --purpose rapportage
assert_match "$OUT" "^$P  [0-9-]{10}  plan +Plan van aanpak$" "find PLAN (any case)"
assert_eq "$(wc -l <<<"$OUT")" 1 "entries found"
assert_eq "$(git -C "$R" rev-list --count refs/kluis/access)" $((reads + 1)) "reads after one find"
assert_eq "$(git -C "$R" log -1 --format=%B refs/kluis/access | sed -n 's/^Kluis-\(Entry\|Purpose\): //p' | tr '\n' ' ')" "- rapportage " "the read find records"
pass "find by a part of the title, any case: one line per entry, one read of the dossier with its purpose"

expect_exit 0 k --as "$KLANT" find k-1 --kind contact --json
assert_eq "$(jq -r '.entries[0].entry + " " + .entries[0].title' <<<"$OUT")" "$I Intakegesprek" "the klant finds by kind, as JSON"
expect_exit 0 k --as "$KLANT" log k-1 --action access
assert_match "$OUT" "access +- +- +klant" "the klant sees the finding reads in the log"
expect_exit 0 k --as "$DIR" find k-1 nergens
assert_eq "$OUT" "" "no match"
pass "the klant finds too (and sees every find as a read); no match prints nothing"

expect_exit 2 k --as "$MEDEW" find k-1 --kind notes
expect_exit 2 k --as "$MEDEW" find k-1 a b
expect_exit 1 k --as "$OUTSIDER" find k-1 plan
n=$(git -C "$R" rev-list --count refs/kluis/access)
assert_eq "$n" $((reads + 3)) "reads after the refused finds"
pass "an unknown kind or too many words exit 2, an outsider 1; none of them is a read"

# what others wrote reaches no terminal's escapes: kluis refuses a title with one, but a file
# name comes from the file system as it is
expect_exit 2 k --as "$MEDEW" add k-1 --kind note --title $'Rood\e[31m' -m "x"
printf 'inhoud\n' >"$T_WORK/"$'bad\e[2Jname.txt'
ESCF=$(k --as "$MEDEW" add k-1 --kind document --title "Brief" --file "$T_WORK/"$'bad\e[2Jname.txt')
shown=$(script -qec "$(printf '%q ' "$KLUIS" --as "$MEDEW" show k-1 "$ESCF" --out "$T_WORK/f.out")" /dev/null)
assert_not_contains "$shown" $'\e[2J' "show's summary of a file name with an escape"
assert_contains "$shown" "filename: bad?[2Jname.txt" "the file name, its escape shown as ?"
expect_exit 0 k --as "$MEDEW" log k-1
assert_not_contains "$OUT$ERR" $'\e' "log"
pass "a title with a control character is refused; a file name's is printed as '?'"
