#!/usr/bin/env bash
# fuzz/make_corpus.sh - make the seed corpus of the fuzz targets from a real dossier.
#
#   KLUIS=build/kluis bash fuzz/make_corpus.sh
#
# A test vault (tests/lib.sh: five fresh keys, a fresh vault) gets one dossier with the whole
# traject: notes, a document, the klant's statement, consent granted and withdrawn, requests,
# a correction, reads, close, transfer; the opdrachtgever imports it and records a request; the
# receipt is made, and pushes of it. The seeds are the real files: the archive, its manifest and bundle, pointers, roles, the
# dossier file, raw commit objects of main and of the read log, the receipt. They replace
# fuzz/corpus/*/seed-* (the inputs libFuzzer added and the regression inputs stay), and the
# keys and trust root the targets check signatures with go to fuzz/keys.asc and fuzz/trust.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
KLUIS=$(cd "$(dirname "$KLUIS")" && pwd)/$(basename "$KLUIS")
export KLUIS KLUIS_TEST_DIR=$here/../tests T_RELEASE=1
. "$KLUIS_TEST_DIR/lib.sh"

init_dossier k-seed --traject "een traject"
k --as "$MEDEW" add k-seed -m "gespreksverslag" >/dev/null
printf 'een brief\n' >"$T_WORK/brief.txt"
DOC=$(k --as "$MEDEW" add k-seed --kind document --file "$T_WORK/brief.txt")
k --as "$KLANT" statement k-seed -m "mijn verklaring" >/dev/null
k --as "$KLANT" consent k-seed grant --scope health --purpose "begeleiding" >/dev/null
k --as "$KLANT" consent k-seed withdraw --scope health --purpose "ingetrokken" >/dev/null
k --as "$MEDEW" request k-seed add --type correctie >/dev/null
k --as "$MEDEW" correct k-seed "$DOC" -m "verbeterd" >/dev/null
k --as "$MEDEW" show k-seed "$DOC" >/dev/null
k --as "$MEDEW" close k-seed >/dev/null
k --as "$DIR" transfer k-seed --out "$T_WORK/k-seed.tgz" >/dev/null
actor_home "$OPDR"
OH=$REPLY
GNUPGHOME=$OH KLUIS_VAULT=$T_ROOT/ovault "$KLUIS" --as "$OPDR" import "$T_WORK/k-seed.tgz" --trust "$DIR" >/dev/null
GNUPGHOME=$OH KLUIS_VAULT=$T_ROOT/ovault "$KLUIS" --as "$OPDR" request k-seed add --type verwijdering >/dev/null
# the transfer destroyed the local copy: the opdrachtgever's holds the history and its request
R=$(KLUIS_VAULT=$T_ROOT/ovault repo_of k-seed)

C=$here/corpus
for t in archive manifest bundle receive pointer roles dossier_file commit trailers receipt sig_form; do
	mkdir -p "$C/$t"
	rm -f "$C/$t"/seed-*
done
cp "$T_WORK/k-seed.tgz" "$C/archive/seed-transfer.tgz"
mkdir "$T_WORK/x"
tar -xzf "$T_WORK/k-seed.tgz" -C "$T_WORK/x"
cp "$T_WORK/x/dossier.bundle" "$C/bundle/seed-transfer.bundle"
cp "$T_WORK/x/manifest.json" "$C/manifest/seed-0"
git -C "$R" bundle create "$T_WORK/main.bundle" main 2>/dev/null
cp "$T_WORK/main.bundle" "$C/bundle/seed-main.bundle"
# the other small members of the archive, each alone in an archive of its own: the tar and
# gzip reader's seeds that get past extraction quickly
(cd "$T_WORK/x" && tar -czf "$C/archive/seed-manifest-only.tgz" manifest.json manifest.json.asc keys/*)
i=0
for path in $(git -C "$R" ls-tree -r --name-only main | grep -E '/(meta|body|reason)$|^info$' | head -6); do
	git -C "$R" show "main:$path" >"$C/pointer/seed-$i"
	i=$((i + 1))
done
git -C "$R" show main:roles >"$C/roles/seed-0"
git -C "$R" show main:dossier >"$C/dossier_file/seed-0"
git -C "$R" show main~1:dossier >"$C/dossier_file/seed-1"
i=0
for c in $(git -C "$R" rev-list main) $(git -C "$R" rev-list refs/kluis/access | head -3); do
	git -C "$R" cat-file commit "$c" >"$C/commit/seed-$i"
	cp "$C/commit/seed-$i" "$C/trailers/seed-$i"
	i=$((i + 1))
done
# the signatures alone (fuzz_sig_form.c): three commits' gpgsig headers, continuation spaces removed
for i in 0 5 12; do
	awk '/^gpgsig /{s=1; print substr($0, 8); next} s && /^ /{print substr($0, 2); next} {s=0}' \
		"$C/commit/seed-$i" >"$C/sig_form/seed-$i"
done
cp "$T_WORK/k-seed.tgz.receipt" "$C/receipt/seed-0"
# pushes as git hands them to the server's pre-receive hook (fuzz_receive.c's server is a
# mirror of the transfer bundle): a fast-forward, the whole dossier anew, a deletion, a rewind
Z=0000000000000000000000000000000000000000
M=$(git -C "$R" rev-parse refs/heads/main) M1=$(git -C "$R" rev-parse refs/heads/main~1)
CT=$(git -C "$R" rev-parse refs/kluis/content) AC=$(git -C "$R" rev-parse refs/kluis/access)
printf '%s %s refs/heads/main\n' "$M1" "$M" >"$C/receive/seed-0"
printf '%s %s refs/heads/main\n%s %s refs/kluis/content\n%s %s refs/kluis/access\n' "$Z" "$M" "$Z" "$CT" "$Z" "$AC" >"$C/receive/seed-1"
printf '%s %s refs/kluis/access\n' "$AC" "$Z" >"$C/receive/seed-2"
printf '%s %s refs/heads/main\n' "$M" "$M1" >"$C/receive/seed-3"
gpg --batch --armor --export "$KLANT" "$MEDEW" "$DIR" "$OPDR" >"$here/keys.asc"
printf '%s\n' "$DIR" >"$here/trust"
du -sh "$C"/*
