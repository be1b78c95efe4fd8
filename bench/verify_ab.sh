#!/usr/bin/env bash
# bench/verify_ab.sh - two kluis binaries, interleaved, on the dossier bench/verify.sh kept:
# (c) verify after one new commit, (d) nothing new, (e) `kluis --version`.
#
# Interleaving is what makes a small difference readable on a machine whose speed moves by
# 20% from one quarter of an hour to the next (docs/PERFORMANCE.md): each round adds one
# commit (with the NEW binary, untimed), waits past the verifier's 2 s ctime slack, and times
# OLD then NEW (the order alternates each round). Both share the verified-state cache; its
# format must be the same for both.
#
#   AB_DIR=/tmp/kv.XXXXXX   the directory bench/verify.sh printed (VERIFY_REUSE)
#   AB_OLD=PATH AB_NEW=PATH the two binaries (copied into AB_DIR first)
#   AB_ROUNDS=12            rounds
#
# Prints each sample ("c old 45310", microseconds) and then the medians.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DIR=${AB_DIR:?set AB_DIR to the directory bench/verify.sh kept}
ROUNDS=${AB_ROUNDS:-12}
[ -x "${AB_OLD:-}" ] && [ -x "${AB_NEW:-}" ] || { echo "bench: set AB_OLD and AB_NEW to two kluis binaries" >&2; exit 2; }
cp "$AB_OLD" "$DIR/kluis.old"
cp "$AB_NEW" "$DIR/kluis.new"
. "$DIR/keys.env"
export HOME=$DIR/home XDG_CACHE_HOME=$DIR/home/.cache GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
V=$DIR/vault ID=bench
S=$(mktemp)
trap 'rm -f "$S"' EXIT

echo "bench: $(kb_machine)" >&2
echo "bench: old $AB_OLD, new $AB_NEW; load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
sample() { # sample ROW WHICH CMD...
	local row=$1 which=$2 t0 t1
	shift 2
	t0=$(kb_now)
	"$@" >/dev/null 2>&1 || { echo "bench: FAILED: $*" >&2; exit 1; }
	t1=$(kb_now)
	echo "$row $which $((t1 - t0))" | tee -a "$S"
}
for ((r = 0; r < ROUNDS; r++)); do
	order="old new"
	((r % 2 == 0)) || order="new old"
	for b in $order; do
		K=$DIR/kluis.$b
		KLUIS_NO_FSYNC=1 GNUPGHOME=$DIR/g "$DIR/kluis.new" --vault "$V" --as "$F2" add "$ID" - <"$DIR/note" >/dev/null
		sleep 3
		GNUPGHOME=$DIR/p sample c "$b" "$K" --vault "$V" verify "$ID"
		GNUPGHOME=$DIR/p sample d "$b" "$K" --vault "$V" verify "$ID"
		sample e "$b" "$K" --version
	done
done
for row in c d e; do
	for b in old new; do
		awk -v r="$row" -v b="$b" '$1 == r && $2 == b { print $3 }' "$S" | kb_median |
			awk -v r="$row" -v b="$b" '{ printf "(%s) %s: median %.1f ms\n", r, b, $1 / 1000 }'
	done
done
