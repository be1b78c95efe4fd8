#!/usr/bin/env python3
"""basis.py REPO FPR ENTRY BASIS: main's head is the erase of ENTRY (signed by FPR, the directie);
rewrite its Kluis-Basis trailer and the erase record's basis line to BASIS, re-sign, move main."""
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kforge as K
repo_path, fpr, entry, basis = sys.argv[1:]
r = K.Repo(repo_path)
c = K.Commit(r.read(r.rev("refs/heads/main"))[1])
def tree(o): return K.parse_tree(r.read(o)[1])
def sub(ents, name): return next(e for e in ents if e[1] == name)
rt = tree(c.get("tree").decode()); ent = sub(rt, b"entries"); et = tree(ent[2])
sh = sub(et, entry[17:19].encode()); st = tree(sh[2]); dd = sub(st, entry.encode()); dt = tree(dd[2])
er = sub(dt, b"erased")
rec = r.read(er[2])[1].decode().split("\n")
rec = [("basis " + basis) if l.startswith("basis ") else l for l in rec]
er[2] = r.write("blob", "\n".join(rec).encode())
dd[2] = r.write("tree", K.tree_bytes(dt)); sh[2] = r.write("tree", K.tree_bytes(st)); ent[2] = r.write("tree", K.tree_bytes(et))
c.set("tree", r.write("tree", K.tree_bytes(rt)).encode())
c.set_trailer("Kluis-Basis", basis)
nc = K.write_commit(r, K.signed(c, fpr))
r.set_ref("refs/heads/main", nc)
print(nc)
