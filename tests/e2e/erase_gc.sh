#!/usr/bin/env bash
# e2e/erase_gc.sh - an erasure, a rewrap and a pull that purges leave stock git valid whatever
# maintenance ran on the dossier before (P11.2, SPEC invariant 3).
#
# git's maintenance writes files that name objects: the commit-graph (objects/info/commit-graph,
# objects/info/commit-graphs/), the multi-pack index and its bitmap and reverse index, pack
# bitmaps and reverse indexes (*.bitmap, *.rev) and objects/info/packs. A purge that drops a
# pack must not leave any of them naming what it removed (git fsck exits 16 on a commit-graph
# that lists a commit no longer there).
#
# For each maintenance: build a dossier, run the maintenance, erase one entry; then stock git
# fsck --full, gc, bundle create, clone --mirror, a second fsck in the clone; the erased
# ciphertext is in no pack index and no loose file; kluis verify --full passes. The same for a
# rewrap (roles change) and for a pull that brings an erasure into a maintained vault.
# Witnesses: stock git (fsck, gc, bundle, clone, verify-pack, cat-file, maintenance).
set -euo pipefail
. "$KLUIS_TEST_DIR/lib.sh"
export XDG_CACHE_HOME=$T_ROOT/cache
mkdir -p "$XDG_CACHE_HOME"
export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@kluis.test GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@kluis.test

shard_of() { printf '%s\n' "${1:17:2}"; }
cipher_oid() { pointer_field "$1" "main:entries/$(shard_of "$2")/$2/$3" oid; }

in_packs() { # in_packs REPO OID : is OID listed in any pack index of REPO (git verify-pack -v)
	local idx
	for idx in "$1"/objects/pack/*.idx; do
		[ -e "$idx" ] || continue
		git verify-pack -v "$idx" | awk -v o="$2" '$1 == o { f = 1 } END { exit !f }' && return 0
	done
	return 1
}
gone_check() { # gone_check REPO WHEN OID... : no OID in REPO, loose or packed
	local repo=$1 when=$2 oid
	shift 2
	for oid in "$@"; do
		if git -C "$repo" cat-file -e "$oid" 2>/dev/null; then fail "$when: git cat-file -e still finds removed ciphertext $oid"; fi
		if in_packs "$repo" "$oid"; then fail "$when: removed ciphertext $oid is still listed in a pack"; fi
		if [ -e "$repo/objects/${oid:0:2}/${oid:2}" ]; then fail "$when: removed ciphertext $oid is still a loose object file"; fi
	done
}
# stock_ok REPO WHEN OID... : fsck --full, gc, fsck again, bundle, clone --mirror (of the bundle
# and --no-local of the repository), fsck in each copy, and no OID anywhere
stock_ok() {
	local repo=$1 when=$2 c
	shift 2
	git -C "$repo" fsck --full --strict >"$T_WORK/fsck.out" 2>&1 ||
		fail "$when: stock git fsck --full exits $? : $(head -5 "$T_WORK/fsck.out")"
	gone_check "$repo" "$when" "$@"
	if [ -e "$repo/objects/info/packs" ]; then # what dumb HTTP clients fetch lists packs that are there
		awk '$1 == "P" { print $2 }' "$repo/objects/info/packs" | while read -r p; do
			[ -e "$repo/objects/pack/$p" ] || fail "$when: objects/info/packs lists $p, which is gone"
		done
	fi
	git -C "$repo" gc -q >"$T_WORK/gc.out" 2>&1 || fail "$when: stock git gc fails: $(head -5 "$T_WORK/gc.out")"
	git -C "$repo" fsck --full --strict >"$T_WORK/fsck.out" 2>&1 ||
		fail "$when, then git gc: stock git fsck --full fails: $(head -5 "$T_WORK/fsck.out")"
	gone_check "$repo" "$when, then git gc" "$@"
	rm -rf "$T_WORK/b.bundle" "$T_WORK/from-bundle.git" "$T_WORK/clone.git"
	git -C "$repo" bundle create "$T_WORK/b.bundle" --all >/dev/null 2>"$T_WORK/bundle.err" ||
		fail "$when: stock git bundle create --all fails: $(head -3 "$T_WORK/bundle.err")"
	git clone -q --mirror "$T_WORK/b.bundle" "$T_WORK/from-bundle.git" 2>"$T_WORK/clone.err" ||
		fail "$when: stock git clone --mirror of the bundle fails: $(head -3 "$T_WORK/clone.err")"
	git clone -q --mirror --no-local "$repo" "$T_WORK/clone.git" 2>"$T_WORK/clone.err" ||
		fail "$when: stock git clone --mirror --no-local fails: $(head -3 "$T_WORK/clone.err")"
	for c in "$T_WORK/from-bundle.git" "$T_WORK/clone.git"; do
		git -C "$c" fsck --full >"$T_WORK/fsck.out" 2>&1 || fail "$when: git fsck fails in the copy $c: $(head -3 "$T_WORK/fsck.out")"
		gone_check "$c" "$when (copy $c)" "$@"
	done
}
verifies() { # verifies ID WHEN [VAULT]
	VRC=0
	env KLUIS_VAULT="${3:-$KLUIS_VAULT}" "$KLUIS" verify "$1" --full >"$T_OUT" 2>"$T_ERR" || VRC=$?
	[ "$VRC" -eq 0 ] || fail "$2: kluis verify $1 --full exits $VRC: $(head -c 800 "$T_ERR") $(head -c 800 "$T_OUT")"
}

# the maintenance a user or a server's cron may have run on a dossier, one per case
maint() { # maint NAME REPO
	local r=$2
	case $1 in
	gc) git -C "$r" gc -q ;;
	graph-split) # packs, and a split commit-graph (objects/info/commit-graphs/) with Bloom filters
		git -C "$r" -c gc.writeCommitGraph=false gc -q &&
		git -C "$r" commit-graph write --reachable --split --changed-paths ;;
	midx) # two packs, a multi-pack index over them with its bitmap and reverse index
		git -C "$r" repack -d -q && git -C "$r" multi-pack-index write --bitmap ;;
	bitmap) git -C "$r" -c pack.writeReverseIndex=true repack -adb --write-bitmap-index -q &&
		git -C "$r" commit-graph write --reachable && git -C "$r" update-server-info ;;
	maintenance) # what `git maintenance start` schedules, twice: loose objects into a pack (the
		# second run removes the loose copies the first packed), a split commit-graph
		git -C "$r" maintenance run --task=loose-objects --task=commit-graph --quiet &&
		git -C "$r" maintenance run --task=loose-objects --task=commit-graph --quiet ;;
	*) fail "no maintenance $1" ;;
	esac
}
# the files the maintenance left that name objects (the control that it did something)
derived_files() { # derived_files REPO
	(cd "$1/objects" && find info pack -type f \( -name 'commit-graph' -o -name '*.graph' -o -name 'multi-pack-index*' \
		-o -name '*.bitmap' -o -name '*.rev' -o -name packs \) | sed 's/-[0-9a-f]\{40\}/-H/' | sort | tr '\n' ' ')
}
declare -A WANT=([gc]=info/commit-graph [graph-split]=info/commit-graphs/graph-H.graph [midx]=pack/multi-pack-index-H.bitmap
	[bitmap]=pack/pack-H.rev [maintenance]=info/commit-graphs/graph-H.graph)

# ---- erasure after each maintenance ----
n=0
for m in gc graph-split midx bitmap maintenance; do
	n=$((n + 1))
	id=e-$m
	init_dossier "$id"
	R=$(repo_of "$id")
	expect_exit 0 k --as "$MEDEW" add "$id" -m "blijft $m $RANDOM"
	KEEP=$OUT
	expect_exit 0 k --as "$MEDEW" add "$id" --kind circumstance -m "te wissen $m $RANDOM"
	GONE=$OUT
	expect_exit 0 k --as "$MEDEW" show "$id" "$GONE"
	[ "$m" != midx ] || git -C "$R" repack -a -d -q   # the first pack; the next adds go loose
	expect_exit 0 k --as "$MEDEW" add "$id" -m "nog een $m"
	gm=$(cipher_oid "$R" "$GONE" meta)
	gb=$(cipher_oid "$R" "$GONE" body)
	kb=$(cipher_oid "$R" "$KEEP" body)
	maint "$m" "$R" >"$T_WORK/maint.out" 2>&1 || fail "control: maintenance $m fails: $(head -3 "$T_WORK/maint.out")"
	derived=$(derived_files "$R")
	assert_contains "$derived" "${WANT[$m]}" "control: what maintenance $m left"
	in_packs "$R" "$gb" || fail "control: after $m the ciphertext to erase is in no pack"
	git -C "$R" fsck --full --strict >/dev/null 2>&1 || fail "control: git fsck fails after $m, before any erasure"
	expect_exit 0 k --as "$DIR" erase "$id" "$GONE" --reason "op verzoek $m"
	stock_ok "$R" "erase after $m" "$gm" "$gb"
	git -C "$R" cat-file -e "$kb" || fail "erase after $m removed another entry's ciphertext"
	verifies "$id" "erase after $m"
	pass "after maintenance '$m' ($derived): erase, then stock fsck --full, gc, bundle, clone --mirror pass; the erased ciphertext is gone everywhere; kluis verify passes"
done

# ---- a rewrap after gc: the replaced ciphertext leaves, stock git stays valid ----
MEDEW2=$(kt_key medewerker2 2>/dev/null)
[[ $MEDEW2 =~ ^[0-9A-F]{40}$ ]] || fail "could not make the second adviser's key (got '$MEDEW2')"
init_dossier r-gc
R=$(repo_of r-gc)
expect_exit 0 k --as "$MEDEW" add r-gc -m "voor de wissel $RANDOM"
E1=$OUT
ob=$(cipher_oid "$R" "$E1" body)
om=$(cipher_oid "$R" "$E1" meta)
maint graph-split "$R" >/dev/null 2>&1 || fail "control: gc with a split commit-graph fails"
in_packs "$R" "$ob" || fail "control: after gc the body is in no pack"
expect_exit 0 k --as "$DIR" roles r-gc --add medewerker "$MEDEW2" --remove "$MEDEW"
[ "$(cipher_oid "$R" "$E1" body)" != "$ob" ] || fail "control: the rewrap left the body's ciphertext as it was"
stock_ok "$R" "rewrap after gc" "$ob" "$om"
verifies r-gc "rewrap after gc"
pass "a rewrap after git gc and a split commit-graph: the replaced ciphertext is gone; stock fsck, gc, bundle, clone pass; kluis verify passes"

# ---- a pull that purges, into a vault whose dossier was maintained ----
pub_home
AUD=$REPLY
SRV=$T_ROOT/srv/p1.git
git init -q --bare "$SRV"
cp "$KLUIS_TEST_DIR/../hooks/pre-receive" "$SRV/hooks/pre-receive"
chmod 755 "$SRV/hooks/pre-receive"
git -C "$SRV" config kluis.program "$(readlink -f "$KLUIS")"
git -C "$SRV" config kluis.trust "$DIR"
git -C "$SRV" config kluis.gnupghome "$AUD"
init_dossier p1
expect_exit 0 k --as "$MEDEW" add p1 -m "blijft $RANDOM"
expect_exit 0 k --as "$MEDEW" add p1 -m "te wissen $RANDOM"
P_GONE=$OUT
expect_exit 0 k --as "$MEDEW" push p1 "$SRV"
VE=$T_ROOT/vaulte
ke() { KLUIS_VAULT=$VE "$KLUIS" "$@"; }
expect_exit 0 ke --as "$MEDEW" pull p1 "$SRV" --trust "$DIR"
LE=$VE/dossiers/p1.git
pm=$(cipher_oid "$LE" "$P_GONE" meta)
pb=$(cipher_oid "$LE" "$P_GONE" body)
maint bitmap "$LE" >/dev/null 2>&1 && maint graph-split "$LE" >/dev/null 2>&1 || fail "control: maintenance in the pulling vault fails"
in_packs "$LE" "$pb" || fail "control: the puller's copy of the ciphertext is in no pack"
expect_exit 0 k --as "$DIR" erase p1 "$P_GONE" --reason "op verzoek"
expect_exit 0 k --as "$DIR" push p1 "$SRV"
expect_exit 0 ke --as "$MEDEW" pull p1
assert_contains "$ERR" "gone from this vault" "pull of an erasure"
stock_ok "$LE" "a pull that purges, after gc, bitmaps and a commit-graph" "$pm" "$pb"
verifies p1 "a pull that purges" "$VE"
pass "a pulled erasure into a vault whose dossier had bitmaps and a commit-graph: stock fsck, gc, bundle, clone pass; the ciphertext is gone; kluis verify passes"
