#!/usr/bin/env bash
# e2e/mutate.sh - generic field mutation: every field of every commit and read record of an
# honest dossier, changed, deleted or duplicated, re-signed by its own signer with every later
# commit and read replayed and re-signed, must make `kluis verify ID` find something, except
# the fields the model leaves free (tests/forge/mutate.py, table FREE: the commit time by one
# second). The mutations are enumerated in a fixed order and sampled with a fixed seed
# (MUTATE_SEED, default 14) down to MUTATE_MAX (default 300), within MUTATE_BUDGET seconds
# (default 50), so a run takes about a minute on 2 cores and is reproducible.
#
# Free fields (expected: accepted), see FREE in tests/forge/mutate.py:
#   | field                                  | why free                                       |
#   | author+committer time, +1 s together   | the clock of the writer; bounded by the parent |
#   |                                        | and now, and by the signature's creation time  |
# Not mutated (LIMITS in mutate.py): the oid/sha256/size of a pointer a later rewrap replaced;
# its ciphertext left the repository with the rewrap, so only its form can be checked.
# Everything else (every header, the subject, every trailer's key, value, place and count,
# every tree entry's name, mode, object and count, every line of a pointer, roles or dossier
# file, and the same for read records) is determined by the state before the commit and its
# action, so its mutation must be a finding.
#
# Run by hand: KLUIS=build/kluis KLUIS_TEST_DIR=tests bash tests/e2e/mutate.sh
set -euo pipefail
. "$KLUIS_TEST_DIR/lib.sh"
export XDG_CACHE_HOME=$HOME/.cache
export PYTHONDONTWRITEBYTECODE=1   # nothing written into the source tree
D=k-0001

VERT=$(kt_key vertegenwoordiger 2>/dev/null)
pub_home "$KLANT" "$MEDEW" "$DIR" "$OPDR" "$OUTSIDER" "$VERT"
AUD=$REPLY

# ---- the honest dossier: one commit of most actions, and reads ----
init_dossier "$D"
R=$(repo_of "$D")
K() { expect_exit 0 k "$@"; }
K --as "$MEDEW" add "$D" -m "eerste gesprek"; E1=$OUT
K --as "$KLANT" consent "$D" grant --scope health --purpose begeleiding --to-opdrachtgever
K --as "$MEDEW" add "$D" --special health -m "medisch"
K --as "$MEDEW" add "$D" --kind plan -m "plan"; P1=$OUT
K --as "$MEDEW" correct "$D" "$E1" -m "gecorrigeerd"
K --as "$DIR" roles "$D" --add vertegenwoordiger "$VERT"
K --as "$KLANT" approve "$D" "$P1"
K --as "$MEDEW" show "$D" "$E1"
K --as "$KLANT" statement "$D" -m "mijn verklaring"
K --as "$KLANT" show "$D" "$P1" --purpose inzage
K --as "$MEDEW" close "$D"
expect_exit 0 env GNUPGHOME="$AUD" "$KLUIS" verify "$D" --full
pass "control: the honest dossier ($(git -C "$R" rev-list --count main) commits, $(git -C "$R" rev-list --count refs/kluis/access) reads) verifies"

# the replay machinery itself: an honest commit re-signed and every later one replayed (no
# field changed) still verifies
python3 - "$R" <<'PY' || fail "the replay of an unchanged history does not verify (test bug)"
import os, subprocess, sys
sys.path.insert(0, os.environ["KLUIS_TEST_DIR"] + "/forge")
from kforge import Commit, Repo, rechain, remap_access, signed, write_commit, checkpoint
repo = Repo(sys.argv[1])
chain = repo.rev_list("refs/heads/main")
i = 2
oc = Commit(repo.read(chain[i])[1])
c = oc.unsigned()
c.set_time(oc.who()[2])
new = write_commit(repo, signed(c, oc.who()[1]))
assert new != chain[i], "re-signing gave the same commit"
head, m = rechain(repo, chain[i + 1:], new)
m[chain[i]] = new
acc = remap_access(repo, m)
repo.git("update-ref", "refs/heads/main", head)
repo.git("update-ref", "refs/kluis/access", acc)
PY
KF_CP=$(python3 "$KLUIS_TEST_DIR/forge/kforge.py" checkpoint "$R" "$D" | sed -n 3p)
python3 "$KLUIS_TEST_DIR/forge/kforge.py" checkpoint "$R" "$D" >"$KLUIS_VAULT/checkpoints/$D"
expect_exit 0 env GNUPGHOME="$AUD" "$KLUIS" verify "$D" --full
pass "control: a history re-signed from its third commit on, every later commit and read replayed, verifies ($KF_CP)"

rc=0
python3 "$KLUIS_TEST_DIR/forge/mutate.py" --vault "$KLUIS_VAULT" --dossier "$D" --kluis "$KLUIS" --gnupghome "$AUD" \
	--max "${MUTATE_MAX:-300}" --seed "${MUTATE_SEED:-14}" --budget "${MUTATE_BUDGET:-50}" \
	--fprs "$KLANT $MEDEW $DIR $OPDR $OUTSIDER $VERT" | tee "$T_WORK/mutate.out" || rc=$?
grep -q '^mutate: ' "$T_WORK/mutate.out" || fail "mutate.py did not finish"
n=$(grep -c '^ok M' "$T_WORK/mutate.out" || true)
[ "$n" -ge 50 ] || fail "only $n mutations judged (want at least 50)"
[ "$rc" -eq 0 ] || fail "$(grep -c '^FAIL M' "$T_WORK/mutate.out") mutation(s) not refused (or a free field refused), listed above"
pass "every mutation of a determined field refused, every free field accepted ($n mutations)"
