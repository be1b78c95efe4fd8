#!/usr/bin/env python3
"""retree_main.py REPO FPR PAD: as the signer FPR of main's head, re-encode its root tree (and
the entries tree) with every mode prefixed by PAD (e.g. "0000"), the same entries; re-sign;
move main. Prints the new head. The signer's choice: libgit2 reads the same entries."""
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kforge as K
repo_path, fpr, pad = sys.argv[1:]
r = K.Repo(repo_path)
c = K.Commit(r.read(r.rev("refs/heads/main"))[1])
def tree(o): return K.parse_tree(r.read(o)[1])
rt = tree(c.get("tree").decode())
for e in rt:
    if e[1] == b"entries":
        et = tree(e[2])
        for s in et: s[0] = pad + (os.environ.get("DIRMODE") or s[0])
        e[2] = r.write("tree", K.tree_bytes(et))
    e[0] = pad + ((os.environ.get("DIRMODE") if e[0] == "40000" else os.environ.get("FILEMODE")) or e[0])
c.set("tree", r.write("tree", K.tree_bytes(rt)).encode())
nc = K.write_commit(r, K.signed(c, fpr))
r.set_ref("refs/heads/main", nc)
print(nc)
