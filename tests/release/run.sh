#!/usr/bin/env bash
# release/run.sh SRC DIR CC - build what users run (Release, KLUIS_TEST_SEAMS off) into DIR with
# warnings as errors, then run tests/release/seams.sh against it (ctest: release/seams).
# KLUIS_SEAMS_BIN (the test build) and KLUIS_TEST_DIR come from ctest.
set -euo pipefail
src=$1 dir=$2 cc=$3
cmake -S "$src" -B "$dir" -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER="$cc" \
	-DKLUIS_TEST_SEAMS=OFF -DKLUIS_WERROR=ON -DKLUIS_SANITIZE=OFF -DBUILD_TESTING=OFF >"$dir.log" 2>&1 ||
	{ cat "$dir.log"; echo "release/run.sh: cmake cannot configure the release build" >&2; exit 1; }
cmake --build "$dir" -j2 --target kluis >"$dir.log" 2>&1 ||
	{ grep -E 'error|warning' "$dir.log" | head -20; echo "release/run.sh: the release build fails (warnings are errors here)" >&2; exit 1; }
echo "release/run.sh: built $dir/kluis (Release, -Werror, no test switches)"
KLUIS=$dir/kluis exec bash "$(dirname "$0")/seams.sh"
