#!/usr/bin/env bash
# Memory check: the main commands of kluis under valgrind (memcheck). Any invalid access, use
# of uninitialised memory or definite leak in kluis's own process fails the test. gpg child
# processes are not traced (they are not ours).
set -euo pipefail
. "$KLUIS_TEST_DIR/keys.sh"
VG=(valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
    --show-leak-kinds=definite --track-fds=no)
work=$(mktemp -d /tmp/kv.XXXXXX)
kt_home "$work/g"
trap 'kt_cleanup; rm -rf "$work"' EXIT
export KLUIS_VAULT=$work/v HOME=$work XDG_CACHE_HOME=$work/cache
# valgrind's fork of a multi-threaded process breaks gpgme's double fork now and then, so
# the gpg work runs on one thread here (the threaded path runs under ASan in CI)
export KLUIS_THREADS=0
K=$(kt_key klant); M=$(kt_key medewerker); D=$(kt_key directie); O=$(kt_key opdrachtgever); A=$(kt_key auditor)
run() { "${VG[@]}" "$KLUIS" "$@"; }
run --as "$D" init vg-1 --klant "$K" --medewerker "$M" --directie "$D" --opdrachtgever "$O" --traject "valgrind"
head -c 20000 /dev/urandom >"$work/doc.bin"
id=$(run --as "$M" add vg-1 -m "a note for valgrind")
run --as "$M" add vg-1 --file "$work/doc.bin" --file "$work/doc.bin" >/dev/null
run --as "$K" statement vg-1 -m "mijn verklaring" >/dev/null
run --as "$K" show vg-1 "$id" >/dev/null 2>&1
run --as "$K" show vg-1 "$id" --json >/dev/null
run --as "$K" show vg-1 "$id" --out "$work/show.out" 2>/dev/null
run log vg-1 >/dev/null
run log vg-1 --json >/dev/null
run list --json >/dev/null
run verify vg-1 --full 2>/dev/null
run verify vg-1 2>/dev/null
run --as "$D" audit vg-1 --json >/dev/null
run --as "$K" inzage vg-1 --format html --out "$work/inzage.html" 2>/dev/null
run --as "$K" inzage vg-1 --format json >/dev/null
run --as "$K" export vg-1 --out "$work/export.zip" 2>/dev/null
run --as "$K" consent vg-1 grant --scope health --purpose "valgrind" >/dev/null
run --as "$M" add vg-1 --special health -m "health note" >/dev/null
run --as "$K" approve vg-1 "$id" 2>/dev/null
run --as "$M" correct vg-1 "$id" -m "corrected" >/dev/null
run --as "$D" erase vg-1 "$id" --reason "valgrind" 2>/dev/null
run --as "$D" roles vg-1 --add auditor "$A" >/dev/null 2>&1  # a key of its own: one key, one role
run verify vg-1 --full 2>/dev/null
run --as "$M" verify vg-1 --deep 2>/dev/null
# refusals take the error paths
rc=0; run --as "$K" add vg-1 -m "no" 2>/dev/null || rc=$?
[ "$rc" = 1 ] || { echo "refusal under valgrind gave $rc"; exit 1; }
rc=0; run --as "$M" show vg-1 20000101T000000Z-0000 2>/dev/null || rc=$?
[ "$rc" = 2 ] || { echo "unknown entry under valgrind gave $rc"; exit 1; }
run --as "$M" close vg-1 2>/dev/null
run --as "$M" transfer vg-1 --out "$work/t.tgz" >/dev/null 2>&1
run --as "$O" import "$work/t.tgz" --trust "$D" --vault "$work/w" >/dev/null 2>&1
run --vault "$work/w" ledger show >/dev/null
echo "1 passed, 0 failed"
