#!/usr/bin/env bash
# e2e/representation.sh - P4.1: a klant under 16, under curatele or with a mentor cannot give
# consent alone; the wettelijk vertegenwoordiger does. The date of birth is recorded at init,
# encrypted; the vertegenwoordiger holds a role of its own and signs the consent.
set -euo pipefail
. "$KLUIS_TEST_DIR/lib.sh"

VERT=$(kt_key vertegenwoordiger 2>/dev/null)
# ages relative to today, so the test means the same on every day it runs
BORN_15=$(date -u -d '15 years ago' +%F)
BORN_16=$(date -u -d '16 years ago' +%F)     # the 16th birthday is today: old enough
BORN_TOMORROW_16=$(date -u -d '16 years ago + 1 day' +%F)
ROLES4=(--klant "$KLANT" --medewerker "$MEDEW" --directie "$DIR" --opdrachtgever "$OPDR")

head_of() { git -C "$(repo_of "$1")" rev-parse main; }

# ---- init: the date of birth is checked, stored encrypted, and shows in the inzage ----
expect_exit 2 k --as "$DIR" init bad-1 "${ROLES4[@]}" --birth-date 04-03-2012
assert_contains "$ERR" "--birth-date" "error for a date in the wrong format"
expect_exit 2 k --as "$DIR" init bad-2 "${ROLES4[@]}" --birth-date "$(date -u -d tomorrow +%F)"
expect_exit 2 k --as "$DIR" init bad-3 "${ROLES4[@]}" --birth-date 2011-02-30
expect_exit 2 k --as "$DIR" init bad-4 "${ROLES4[@]}" --vertegenwoordiger "$KLANT"
assert_contains "$ERR" "vertegenwoordiger" "error for the klant as own representative"
[ ! -e "$KLUIS_VAULT/dossiers/bad-1.git" ] && [ ! -e "$KLUIS_VAULT/dossiers/bad-4.git" ] || fail "a refused init left a dossier behind"
pass "init refuses a malformed, future or impossible date of birth and the klant as own vertegenwoordiger"

expect_exit 0 k --as "$DIR" init minor "${ROLES4[@]}" --birth-date "$BORN_15"
assert_nowhere "$BORN_15"
expect_exit 0 k --as "$KLANT" inzage minor --format json
assert_eq "$(python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["birth_date"], d["represented"])' <"$T_OUT")" "$BORN_15 False" "inzage birth_date, represented"
expect_exit 0 k --as "$KLANT" inzage minor
assert_contains "$OUT" "geboortedatum" "Dutch inzage mentions the date of birth"
assert_contains "$OUT" "$BORN_15" "Dutch inzage shows the date of birth"
pass "the date of birth is in no git object, file name or message in plaintext, and the inzage shows it"

# ---- under 16: neither the klant nor the medewerker may grant consent ----
h=$(head_of minor)
expect_exit 1 k --as "$KLANT" consent minor grant --scope health --purpose "gezondheid voor het traject"
assert_contains "$ERR" "vertegenwoordiger" "refusal names the vertegenwoordiger"
assert_contains "$ERR" "under 16" "refusal says why"
expect_exit 1 k --as "$MEDEW" consent minor grant --scope health --purpose "gezondheid voor het traject"
assert_eq "$(head_of minor)" "$h" "main after refused consents"
expect_exit 1 k --as "$MEDEW" add minor --special health -m "astma"
pass "a klant under 16: consent by the klant or recorded by the medewerker is refused, nothing committed"

# ---- the vertegenwoordiger gets a role and gives the consent ----
expect_exit 2 k --as "$DIR" roles minor --add vertegenwoordiger "$KLANT"
assert_contains "$ERR" "vertegenwoordiger" "roles refuses the klant as vertegenwoordiger"
expect_exit 1 k --as "$VERT" consent minor grant --scope health --purpose "gezondheid voor het traject"
expect_exit 0 k --as "$DIR" roles minor --add vertegenwoordiger "$VERT"
expect_exit 0 k --as "$VERT" consent minor grant --scope health --purpose "gezondheid voor het traject"
assert_match "$OUT" "$ID_RE" "consent id"
c=$(head_of minor)
assert_eq "$(git -C "$(repo_of minor)" log -1 --format='%(trailers:key=Kluis-Role,valueonly)' "$c" | sed '/^$/d')" vertegenwoordiger "Kluis-Role of the consent"
pub_home "$KLANT" "$MEDEW" "$DIR" "$OPDR" "$VERT"
GNUPGHOME=$REPLY git -C "$(repo_of minor)" verify-commit "$c" 2>/dev/null || fail "stock git refuses the vertegenwoordiger's consent commit"
expect_exit 0 k --as "$MEDEW" add minor --special health -m "astma, met toestemming van de vertegenwoordiger"
pass "with a vertegenwoordiger role, its signed consent is in force and a health entry can be added"

# ---- a withdrawal may come from the klant too (P4.2), and takes effect at once ----
expect_exit 0 k --as "$KLANT" consent minor withdraw --scope health --purpose "gezondheid voor het traject"
expect_exit 1 k --as "$MEDEW" add minor --special health -m "na intrekking"
expect_exit 0 k --as "$MEDEW" verify minor
pass "the klant may withdraw the vertegenwoordiger's consent; afterwards --special health is refused; verify passes"

# ---- the 16th birthday is the boundary ----
expect_exit 0 k --as "$DIR" init sixteen "${ROLES4[@]}" --birth-date "$BORN_16"
expect_exit 0 k --as "$KLANT" consent sixteen grant --purpose "begeleiding"
expect_exit 0 k --as "$DIR" init almost "${ROLES4[@]}" --birth-date "$BORN_TOMORROW_16"
expect_exit 1 k --as "$KLANT" consent almost grant --purpose "begeleiding"
pass "a klant who is 16 today consents alone; one who turns 16 tomorrow cannot"

# ---- curatele or mentorschap: representation whatever the age ----
expect_exit 0 k --as "$DIR" init curatele "${ROLES4[@]}" --represented --vertegenwoordiger "$VERT"
expect_exit 1 k --as "$KLANT" consent curatele grant --purpose "begeleiding"
assert_contains "$ERR" "represented" "refusal for a represented klant"
expect_exit 0 k --as "$VERT" consent curatele grant --purpose "begeleiding"
expect_exit 0 k --as "$KLANT" roles curatele
assert_contains "$OUT" "vertegenwoordiger" "roles lists the vertegenwoordiger given at init"
pass "--represented (curatele, mentor): only the vertegenwoordiger named at init may consent"

# ---- without a date of birth nothing changes ----
expect_exit 0 k --as "$DIR" init adult "${ROLES4[@]}"
expect_exit 0 k --as "$KLANT" consent adult grant --purpose "begeleiding"
pass "a dossier without a date of birth: the klant consents as before"
