#!/usr/bin/env python3
"""ctpad.py REPO FPR ENTRY TEXT: as the signer FPR of main's head (an add of ENTRY), rewrite that
commit so ENTRY's body ciphertext carries TEXT in clear after its encrypted data packet (an
OpenPGP literal data packet, tag 11); pointer (oid, sha256, size) follows, plain unchanged;
refs/kluis/content rebuilt as kluis writes it; main moved. Prints the new head."""
import hashlib, os, subprocess, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kforge as K
repo_path, fpr, entry, text = sys.argv[1:]
r = K.Repo(repo_path)
head = r.rev("refs/heads/main")
c = K.Commit(r.read(head)[1])
root = c.get("tree").decode()
def tree(o): return K.parse_tree(r.read(o)[1])
def put_tree(e): return r.write("tree", K.tree_bytes(e))
def sub(ents, name): return next(e for e in ents if e[1] == name)
rt = tree(root); ent = sub(rt, b"entries"); et = tree(ent[2])
sh = sub(et, entry[17:19].encode()); st = tree(sh[2]); dd = sub(st, entry.encode()); dt = tree(dd[2])
body = sub(dt, b"body")
ptr = r.read(body[2])[1].decode()
f = dict(l.split(" ", 1) for l in ptr.strip().split("\n")[1:])
old_ct = f["oid"]; ct = r.read(old_ct)[1]
lit = b"b" + b"\x00" + b"\x00\x00\x00\x00" + text.encode()
assert len(lit) < 192
new_ct = ct + bytes([0xc0 | 11, len(lit)]) + lit
noid = r.write("blob", new_ct)
nptr = "kluis-pointer 2\noid %s\nsha256 %s\nsize %d\nplain %s\n" % (noid, hashlib.sha256(new_ct).hexdigest(), len(new_ct), f["plain"])
assert ptr.startswith("kluis-pointer 2\n") and ptr == "kluis-pointer 2\noid %s\nsha256 %s\nsize %s\nplain %s\n" % (old_ct, f["sha256"], f["size"], f["plain"])
body[2] = r.write("blob", nptr.encode())
dd[2] = put_tree(dt); sh[2] = put_tree(st); ent[2] = put_tree(et)
c.set("tree", put_tree(rt).encode())
nc = K.write_commit(r, K.signed(c, fpr))
r.set_ref("refs/heads/main", nc)
# content: the same set with the old ciphertext replaced by the new one, in git's own encoding
blobs = set()
for s in tree(r.rev("refs/kluis/content^{tree}")):
    for b in tree(s[2]): blobs.add(s[1].decode() + b[1].decode())
blobs.discard(old_ct); blobs.add(noid)
shards = {}
for b in sorted(blobs): shards.setdefault(b[:2], []).append(["100644", b[2:].encode(), b])
top = [["40000", k.encode(), put_tree(v)] for k, v in sorted(shards.items())]
t = put_tree(top)
cc = r.write("commit", ("tree %s\nauthor kluis <content> 0 +0000\ncommitter kluis <content> 0 +0000\n\nkluis content\n" % t).encode())
r.set_ref("refs/kluis/content", cc)
print(nc)
