#!/usr/bin/env bash
# e2e/layers.sh - the code's folders are the module map of docs/ARCHITECTURE.md, and each
# folder's files include headers of their own folder and the folders below it only.
#
# The order is read from the map's table (first column, bottom layer first), so the document
# and the check cannot drift apart: a folder of code missing from the map, a folder in the map
# that does not exist, or an #include "..." of a folder higher up fails.
set -euo pipefail
. "$KLUIS_TEST_DIR/lib.sh"

ROOT=$(cd "$KLUIS_TEST_DIR/.." && pwd)
out=$(python3 - "$ROOT" <<'PY'
import os, re, sys
root = sys.argv[1]
doc = open(os.path.join(root, "docs/ARCHITECTURE.md")).read()
order = [m.group(1).rstrip("/") for m in re.finditer(r"^\| `([a-z/]+/)` \|", doc, re.M)]
problems = []
if len(order) < 5:
    problems.append("docs/ARCHITECTURE.md: no module map table found")
rank = {d: i for i, d in enumerate(order)}
have = set()
for top in ("vault", "keys", "hooks", "cli"):
    for dirpath, dirs, files in os.walk(os.path.join(root, top)):
        if any(f.endswith((".c", ".h")) for f in files):
            have.add(os.path.relpath(dirpath, root))
for d in sorted(have - set(order)):
    problems.append("folder %s holds code but is not in the module map" % d)
for d in sorted(set(order) - have):
    problems.append("the module map names %s, which holds no code" % d)
def folder(path):
    best = None
    for d in order:
        if path.startswith(d + "/") and (best is None or len(d) > len(best)):
            best = d
    return best
checked = 0
for d in sorted(have & set(order)):
    for f in sorted(os.listdir(os.path.join(root, d))):
        if not f.endswith((".c", ".h")):
            continue
        for m in re.finditer(r'#include "([^"]+)"', open(os.path.join(root, d, f)).read()):
            target, checked = m.group(1), checked + 1
            t = folder(target)
            if t is not None and rank[t] > rank[d]:
                problems.append("%s/%s includes %s: %s is above %s" % (d, f, target, t, d))
print("\n".join(problems) if problems else "ok %d includes in %d folders" % (checked, len(have)))
PY
)
case $out in
ok*) pass "every include goes to its own folder or one below ($out)" ;;
*) fail "$(printf 'layering:\n%s' "$out")" ;;
esac
