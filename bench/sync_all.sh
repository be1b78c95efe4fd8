#!/usr/bin/env bash
# bench/sync_all.sh - `kluis sync --all` over a vault of many dossiers where nothing changed,
# and where one changed, beside stock git doing the same check per repository.
#
#   (a) kluis sync --all, nothing changed       one listing of the server, then a comparison
#   (b) kluis sync --all, one dossier changed   the same, plus one pull (verified) and push
#   (c) git fetch per repository                the peer: what a loop of stock git costs to
#                                               learn that nothing changed (N processes)
#   (d) git ls-remote per repository            the cheapest per-repository round trip
#
# The server is a directory of bare repositories (a path remote: read directly, no network).
# Over ssh, gitolite's kluis-heads command makes the listing (its cost per 1,000 repositories
# is in docs/PERFORMANCE.md); the comparison and the per-dossier work are the same.
#
# Environment: KB_N=1000 dossiers, KB_RUNS=5 runs of each, KLUIS=PATH, KB_KEEP=1.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N=${KB_N:-1000}
RUNS=${KB_RUNS:-5}
kb_setup
kb_kluis
V=$KB_DIR/vault S=$KB_DIR/srv
mkdir -p "$V" "$S"
k() { KLUIS_NO_FSYNC=1 KLUIS_VAULT=$V "$KLUIS" --as "$F2" "$@"; }

echo "bench: making $N dossiers (init as the directie, one add each) and their server copies" >&2
t0=$(kb_now)
for i in $(seq -f %04g 1 "$N"); do
	KLUIS_NO_FSYNC=1 KLUIS_VAULT=$V "$KLUIS" --as "$F3" init "d$i" --klant "$F1" --medewerker "$F2" --directie "$F3" \
		--opdrachtgever "$F4" >/dev/null 2>"$KB_DIR/init.err" || { echo "init d$i failed: $(cat "$KB_DIR/init.err")" >&2; exit 1; }
done
for i in $(seq -f %04g 1 "$N"); do cp -a "$V/dossiers/d$i.git" "$S/d$i.git"; done
printf 'remote %s\n' "$S" >>"$V/kluis.conf"
echo "bench: made in $(( ($(kb_now) - t0) / 1000000 )) s" >&2

time_ms() { local t=$(kb_now); "$@" >/dev/null 2>&1 || { echo "bench: $* failed" >&2; exit 1; }; echo $(( ($(kb_now) - t) / 1000 )); }
peer_fetch() { local r; for r in "$V"/dossiers/*.git; do git -C "$r" fetch -q "$S/$(basename "$r")" refs/heads/main 2>/dev/null; done; }
peer_ls() { local r; for r in "$V"/dossiers/*.git; do git ls-remote "$S/$(basename "$r")" >/dev/null; done; }
changed_one() { KLUIS_NO_FSYNC=1 KLUIS_VAULT=$KB_DIR/other "$KLUIS" --as "$F3" add d0001 -m "x" >/dev/null 2>&1; }

k sync --all >/dev/null 2>&1   # warm the page cache
declare -a A B C D
for r in $(seq 1 "$RUNS"); do
	A+=("$(time_ms k sync --all)")
	# another vault adds to d0001 and pushes: the next sync --all pulls and verifies it
	if [ ! -d "$KB_DIR/other" ]; then
		KLUIS_NO_FSYNC=1 KLUIS_VAULT=$KB_DIR/other "$KLUIS" --as "$F3" pull d0001 "$S/d0001.git" --trust "$F3" >/dev/null 2>&1
	fi
	KLUIS_NO_FSYNC=1 KLUIS_VAULT=$KB_DIR/other "$KLUIS" --as "$F3" sync d0001 >/dev/null 2>&1
	changed_one
	KLUIS_NO_FSYNC=1 KLUIS_VAULT=$KB_DIR/other "$KLUIS" --as "$F3" push d0001 "$S/d0001.git" >/dev/null 2>&1
	B+=("$(time_ms k sync --all)")
	C+=("$(time_ms peer_fetch)")
	D+=("$(time_ms peer_ls)")
done
med() { printf '%s\n' "$@" | kb_median; }
kb_machine
printf '\n| %d dossiers, %d runs, median ms | |\n| --- | ---: |\n' "$N" "$RUNS"
printf '| (a) kluis sync --all, nothing changed | %s |\n' "$(med "${A[@]}")"
printf '| (b) kluis sync --all, one dossier changed (pulled, verified) | %s |\n' "$(med "${B[@]}")"
printf '| (c) git fetch, one process per repository | %s |\n' "$(med "${C[@]}")"
printf '| (d) git ls-remote, one process per repository | %s |\n' "$(med "${D[@]}")"
