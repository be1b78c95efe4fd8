#!/usr/bin/env python3
"""tests/forge/kforge.py - the forger's toolkit: stock git (cat-file, bundle), stock gpg and
python byte surgery over a kluis dossier repository; no kluis code is used or imported.

What an attacker who holds role keys can do with a bare dossier repository:
  - read and write git objects (loose objects written here with zlib, exactly as git writes
    them; reading goes through one `git cat-file --batch`);
  - parse a commit into headers, subject and trailers, a tree into entries, and write them
    back changed (any name, mode or order: trees are written literally, not through mktree);
  - sign a commit's bytes with `gpg --detach-sign --armor -u FPR` (optionally with
    --faked-system-time), or with an authentication-only subkey (which gpg refuses to use:
    the OpenPGP v4 signature packet is then built here with python's Ed25519);
  - rewrite a chain: change one commit, then replay every descendant on top of it as a
    cherry-pick (its own tree change applied to the new parent's tree, Kluis-Seq renumbered,
    its date kept no earlier than the new parent's) re-signed by its own signer (the FPR in
    its committer line), and rewrite the read log's Kluis-Head trailers to the new ids;
  - write the vault checkpoint for a head (kluis-checkpoint 1 ... commit LEN + raw commit).

Invariants: nothing here changes a ref; callers move refs with `git update-ref`. Every
object written is one git itself would accept to read (loose, zlib, `<type> <size>\\0`).

CLI (used by tests/e2e/forge.sh and tests/e2e/mutate.sh):
  kforge.py rechain REPO OLD NEW        replay OLD..main onto NEW; print the new head
  kforge.py pick REPO BASE C...         cherry-pick C... onto BASE; print the new head
                                        (FORGE_AS="ROLE FPR": as that role holder)
  kforge.py write-commit REPO [FPR|- [T]] stdin: an unsigned commit; signed by FPR (at faked
                                        time T); print its id
  kforge.py resign REPO COMMIT [FPR]    the commit re-signed (by FPR, else its committer)
  kforge.py checkpoint REPO ID          print the checkpoint file for main's head
  kforge.py authsign FPR SUBKEYID       sign stdin with an auth-only subkey; armored sig out
  kforge.py retree REPO TREE MODE       the content tree TREE encoded otherwise, same entries:
                                        pad (every mode zero-padded), order (shards reversed) or
                                        empty (an empty shard added);
                                        print its id
  kforge.py malleate MODE               stdin: a signed commit; its signature changed without a
                                        key (rewrap, crc, newformat, unhashed, splusl); the commit out
  kforge.py push-pack SERVER PACK OLD:NEW:REF...
                                        the receive-pack protocol by hand: PACK may carry
                                        objects no ref reaches (stock git push never sends
                                        them); prints the report, exit 1 on any refusal
"""
import base64
import hashlib
import os
import re
import struct
import subprocess
import sys
import time
import zlib

GPG_BASE = ["gpg", "--batch", "--quiet", "--yes", "--pinentry-mode", "loopback", "--passphrase", ""]


class Repo:
    """A bare repository read through one cat-file --batch and written with zlib."""

    def __init__(self, path):
        self.path = path
        self.gitdir = subprocess.run(["git", "-C", path, "rev-parse", "--absolute-git-dir"],
                                     check=True, capture_output=True, text=True).stdout.strip()
        self._cat = None

    def git(self, *args, input=None, check=True):
        r = subprocess.run(["git", "-C", self.path] + list(args), input=input, capture_output=True, check=False)
        if check and r.returncode != 0:
            raise RuntimeError("git %s: %s" % (" ".join(args), r.stderr.decode(errors="replace")))
        return r.stdout

    def rev(self, spec):
        return self.git("rev-parse", "--verify", "-q", spec, check=False).decode().strip() or None

    def read(self, oid):
        if self._cat is None:
            self._cat = subprocess.Popen(["git", "-C", self.path, "cat-file", "--batch"],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self._cat.stdin.write(oid.encode() + b"\n")
        self._cat.stdin.flush()
        head = self._cat.stdout.readline().split()
        if len(head) < 3 or head[1] == b"missing":
            raise KeyError(oid)
        data = self._cat.stdout.read(int(head[2]))
        self._cat.stdout.read(1)
        return head[1].decode(), data

    def write(self, typ, data):
        raw = typ.encode() + b" " + str(len(data)).encode() + b"\0" + data
        oid = hashlib.sha1(raw).hexdigest()
        d = os.path.join(self.gitdir, "objects", oid[:2])
        f = os.path.join(d, oid[2:])
        if not os.path.exists(f):
            os.makedirs(d, exist_ok=True)
            tmp = f + ".tmp%d" % os.getpid()
            with open(tmp, "wb") as fh:
                fh.write(zlib.compress(raw))
            os.chmod(tmp, 0o444)
            os.replace(tmp, f)
        return oid

    def set_ref(self, name, oid):
        """move a ref; where git refuses (the object is no well-formed commit) write the loose
        ref file itself, as an attacker with the files can"""
        r = subprocess.run(["git", "-C", self.path, "update-ref", name, oid], capture_output=True)
        if r.returncode != 0:
            f = os.path.join(self.gitdir, name)
            os.makedirs(os.path.dirname(f), exist_ok=True)
            with open(f, "w") as fh:
                fh.write(oid + "\n")

    def rev_list(self, ref):
        out = self.git("rev-list", "--reverse", "--topo-order", ref, check=False).decode().split()
        return out


# ---------------------------------------------------------------- commits

class Commit:
    """headers: list of [key, value] (value may hold newlines: continuation lines), msg: bytes"""

    def __init__(self, raw):
        hdr, sep, msg = raw.partition(b"\n\n")
        self.headers = []
        for line in hdr.split(b"\n"):
            if line.startswith(b" ") and self.headers:
                self.headers[-1][1] += b"\n" + line[1:]
            else:
                k, _, v = line.partition(b" ")
                self.headers.append([k.decode(), v])
        self.msg = msg

    def get(self, key):
        for k, v in self.headers:
            if k == key:
                return v
        return None

    def getall(self, key):
        return [v for k, v in self.headers if k == key]

    def set(self, key, value):
        for h in self.headers:
            if h[0] == key:
                h[1] = value
                return
        self.headers.append([key, value])

    def drop(self, key):
        self.headers = [h for h in self.headers if h[0] != key]

    def unsigned(self):
        c = Commit(self.raw())
        c.drop("gpgsig")
        return c

    def raw(self):
        out = b""
        for k, v in self.headers:
            out += k.encode() + b" " + v.replace(b"\n", b"\n ") + b"\n"
        return out + b"\n" + self.msg

    # the FPR in "role <FPR> time tz"
    def who(self, key="committer"):
        v = self.get(key) or b""
        m = re.match(rb"^(\S+) <([^>]*)> (\d+) ([+-]\d{4})$", v)
        return (m.group(1).decode(), m.group(2).decode(), int(m.group(3)), m.group(4).decode()) if m else None

    def set_time(self, t):
        for key in ("author", "committer"):
            w = self.who(key)
            if w:
                self.set(key, ("%s <%s> %d %s" % (w[0], w[1], t, w[3])).encode())

    def trailers(self):
        """the trailer block (last paragraph) as a list of (key, value) strings"""
        body = self.msg.decode(errors="surrogateescape").rstrip("\n")
        paras = body.split("\n\n")
        if len(paras) < 2:
            return []
        return [tuple(l.split(": ", 1)) if ": " in l else (l, None) for l in paras[-1].split("\n")]

    def set_trailers(self, tr):
        body = self.msg.decode(errors="surrogateescape").rstrip("\n")
        paras = body.split("\n\n")
        lines = [k if v is None else "%s: %s" % (k, v) for k, v in tr]
        paras[-1] = "\n".join(lines)
        self.msg = ("\n\n".join(paras) + "\n").encode(errors="surrogateescape")

    def trailer(self, key):
        for k, v in self.trailers():
            if k == key:
                return v
        return None

    def set_trailer(self, key, value):
        self.set_trailers([(k, value if k == key else v) for k, v in self.trailers()])


def sign_bytes(data, fpr, faked=None, local_users=None):
    """gpg detached armored signature of data by fpr (several: one armor, several packets)"""
    cmd = list(GPG_BASE)
    if faked is not None:
        cmd += ["--faked-system-time", "%d!" % faked, "--ignore-time-conflict"]
    for u in (local_users or [fpr]):
        cmd += ["-u", u]
    cmd += ["--detach-sign", "--armor"]
    r = subprocess.run(cmd, input=data, capture_output=True)
    if r.returncode != 0:
        raise RuntimeError("gpg sign by %s: %s" % (fpr, r.stderr.decode(errors="replace")))
    return r.stdout.rstrip(b"\n")


def signed(c, fpr, faked=None, sig=None, local_users=None):
    """c (unsigned view) with a gpgsig header as git writes it (after the last header)"""
    u = c.unsigned()
    s = sig if sig is not None else sign_bytes(u.raw(), fpr, faked, local_users)
    u.headers.append(["gpgsig", s])
    return u


def write_commit(repo, c):
    return repo.write("commit", c.raw())


# ---------------------------------------------------------------- trees

def parse_tree(data):
    out, i = [], 0
    while i < len(data):
        sp = data.index(b" ", i)
        nul = data.index(b"\0", sp)
        out.append([data[i:sp].decode(), data[sp + 1:nul], data[nul + 1:nul + 21].hex()])
        i = nul + 21
    return out


def tree_bytes(entries):
    return b"".join(m.encode() + b" " + n + b"\0" + bytes.fromhex(o) for m, n, o in entries)


def git_sorted(entries):
    return sorted(entries, key=lambda e: e[1] + (b"/" if e[0] == "40000" else b""))


def merge_tree(repo, np, op, o):
    """np with the change op -> o applied, name by name: what o did not change stays exactly
    as np has it (order, duplicates, odd modes and names included), so a forged tree shape
    survives the replay of the commits after it"""
    if op == o:
        return np
    ne, oe, me = (parse_tree(repo.read(t)[1]) for t in (np, op, o))

    def by(ents):
        d = {}
        for e in ents:
            d.setdefault(e[1], []).append(e)
        return d
    nb, ob, mb = by(ne), by(oe), by(me)
    out, done, added = [], set(), False
    for e in ne:
        name = e[1]
        if name in done:
            continue
        if ob.get(name) == mb.get(name):
            out.extend(nb[name])            # untouched by the replayed commit
        elif name in mb:
            olds, news, mine = ob.get(name), nb[name], mb[name]
            if (olds and len(olds) == 1 and len(news) == 1 and len(mine) == 1 and
                    olds[0][0] == news[0][0] == mine[0][0] == "40000"):
                out.append(["40000", name, merge_tree(repo, news[0][2], olds[0][2], mine[0][2])])
            else:
                out.extend(mine)
        done.add(name)                      # else: removed by the replayed commit
    for name, ents in mb.items():
        if name not in nb and ob.get(name) != ents:
            out.extend(ents)
            added = True
    return repo.write("tree", tree_bytes(git_sorted(out) if added else out))


# ---------------------------------------------------------------- chains

def rechain(repo, olds, new_base, head_map=None, keep_time=False, as_=None):
    """replay commits olds (oldest first; olds[0]'s parent is replaced by new_base) as
    cherry-picks re-signed by their own committers (or as as_ = (role, FPR)); returns
    (new head, {old: new})"""
    m = dict(head_map or {})
    parent = new_base
    for old in olds:
        oc = Commit(repo.read(old)[1])
        op = oc.get("parent").decode() if oc.get("parent") else None
        c = oc.unsigned()
        if parent is not None and op != parent:
            pc = Commit(repo.read(parent)[1])
            if op is not None:
                c.set("tree", merge_tree(repo, pc.get("tree").decode(),
                                         Commit(repo.read(op)[1]).get("tree").decode(),
                                         oc.get("tree").decode()).encode())
            c.headers = [h for h in c.headers if h[0] != "parent"]
            c.headers.insert(1, ["parent", parent.encode()])
            pseq = pc.trailer("Kluis-Seq")
            if pseq is not None and c.trailer("Kluis-Seq") is not None:
                c.set_trailer("Kluis-Seq", str(int(pseq) + 1))
            pt = pc.who()[2] if pc.who() else 0
            if not keep_time and c.who() and c.who()[2] < pt:
                c.set_time(pt)
        ap = c.trailer("Kluis-Approves")
        if ap is not None and ap in m:      # an approval names the commit that added its entry
            c.set_trailer("Kluis-Approves", m[ap])
        if c.trailer("Kluis-Action") == "transfer" and c.trailer("Kluis-Access-Head") is not None:
            # a handover vouches for the read log as it stands where it is replayed
            acc = repo.rev("refs/kluis/access")
            cnt = repo.git("rev-list", "--count", acc).decode().strip() if acc else "0"
            c.set_trailer("Kluis-Access-Head", acc or "0" * 40)
            c.set_trailer("Kluis-Access-Count", cnt)
        signer = oc.who()[1] if oc.who() else None
        if as_ is not None:                 # replayed as another role holder
            role, signer = as_
            for key in ("author", "committer"):
                w = c.who(key)
                c.set(key, ("%s <%s> %d %s" % (role, signer, w[2], w[3])).encode())
            if c.trailer("Kluis-Role") is not None:
                c.set_trailer("Kluis-Role", role)
        new = write_commit(repo, signed(c, signer) if oc.get("gpgsig") is not None else c)
        m[old] = new
        parent = new
    return parent, m


def remap_access(repo, heads):
    """rewrite refs/kluis/access's chain with Kluis-Head trailers mapped through heads;
    returns the new access head (or None)"""
    acc = repo.rev("refs/kluis/access")
    if not acc:
        return None
    parent = None
    for old in repo.rev_list(acc):
        oc = Commit(repo.read(old)[1])
        c = oc.unsigned()
        h = c.trailer("Kluis-Head")
        changed = False
        if h in heads and heads[h] != h:
            c.set_trailer("Kluis-Head", heads[h])
            changed = True
            # a read is not dated before the head it read (nor before the record before it)
            hw = Commit(repo.read(heads[h])[1]).who()
            floor = hw[2] if hw else 0
            pw = Commit(repo.read(parent)[1]).who() if parent is not None else None
            if pw:
                floor = max(floor, pw[2])
            if c.who() and c.who()[2] < floor:
                c.set_time(floor)
        if parent is not None and (oc.get("parent") or b"").decode() != parent:
            c.headers = [x for x in c.headers if x[0] != "parent"]
            c.headers.insert(1, ["parent", parent.encode()])
            changed = True
        parent = write_commit(repo, signed(c, oc.who()[1])) if changed else old
    return parent


def checkpoint(repo, dossier, head=None):
    head = head or repo.rev("refs/heads/main")
    raw = repo.read(head)[1]
    c = Commit(raw)
    w = c.who() or c.who("author")
    t = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(w[2] if w else 0))
    return (b"kluis-checkpoint 1\ndossier %s\nhead %s\nseq %s\ntime %s\ncommit %d\n" %
            (dossier.encode(), head.encode(), (c.trailer("Kluis-Seq") or "0").encode(), t.encode(), len(raw))) + raw


# ---------------------------------------------------------------- auth-only subkey signing

def _packets(data):
    i = 0
    while i < len(data):
        b = data[i]
        if b & 0x40:
            tag = b & 0x3f
            l1 = data[i + 1]
            if l1 < 192:
                ln, hl = l1, 2
            elif l1 < 224:
                ln, hl = ((l1 - 192) << 8) + data[i + 2] + 192, 3
            else:
                ln, hl = struct.unpack(">I", data[i + 2:i + 6])[0], 6
        else:
            tag = (b >> 2) & 0xf
            lt = b & 3
            hl = 1 + (1, 2, 4)[lt]
            ln = int.from_bytes(data[i + 1:i + hl], "big")
        yield tag, data[i + hl:i + hl + ln]
        i += hl + ln


def _mpi(b, i):
    bits = struct.unpack(">H", b[i:i + 2])[0]
    n = (bits + 7) // 8
    return b[i + 2:i + 2 + n], i + 2 + n


def auth_sign(data, subfpr):
    """a v4 binary signature by the (Ed25519, unprotected) subkey subfpr, whatever its usage"""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    sec = subprocess.run(GPG_BASE + ["--export-secret-subkeys", subfpr + "!"], capture_output=True, check=True).stdout
    seed = None
    for tag, body in _packets(sec):
        if tag != 7:
            continue
        ol = body[6]
        q, j = _mpi(body, 7 + ol)
        fp = hashlib.sha1(b"\x99" + struct.pack(">H", j) + body[:j]).hexdigest().upper()
        if fp != subfpr.upper():
            continue
        if body[j] != 0:
            raise RuntimeError("the subkey's secret is protected")
        s, _ = _mpi(body, j + 1)
        seed = s.rjust(32, b"\0")
    if seed is None:
        raise RuntimeError("no secret subkey %s exported" % subfpr)
    fpb = bytes.fromhex(subfpr)
    hashed = (bytes([5, 2]) + struct.pack(">I", int(time.time())) +
              bytes([22, 33, 4]) + fpb)
    head = bytes([4, 0x00, 22, 8]) + struct.pack(">H", len(hashed)) + hashed
    trailer = bytes([4, 0xff]) + struct.pack(">I", len(head))
    digest = hashlib.sha256(data + head + trailer).digest()
    sig = Ed25519PrivateKey.from_private_bytes(seed).sign(digest)
    unhashed = bytes([9, 16]) + fpb[-8:]

    def mpi(x):
        x = x.lstrip(b"\0")
        return struct.pack(">H", len(x) * 8 - (8 - x[0].bit_length()) if x else 0) + x
    body = head + struct.pack(">H", len(unhashed)) + unhashed + digest[:2] + mpi(sig[:32]) + mpi(sig[32:])
    # the packet header gpg writes (old format, the shortest length): only the key's usage differs
    pkt = bytes([0x88, len(body)]) + body if len(body) < 256 else bytes([0x89]) + struct.pack(">H", len(body)) + body
    r = subprocess.run(["gpg", "--batch", "--enarmor"], input=pkt, capture_output=True, check=True).stdout
    # --enarmor writes an "ARMORED FILE" armor: relabel it as a signature, drop the comment
    lines = [l for l in r.decode().splitlines() if not l.startswith("Comment:")]
    txt = "\n".join(lines).replace("PGP ARMORED FILE", "PGP SIGNATURE")
    return txt.encode()


# ---------------------------------------------------------------- a push by hand

def push_pack(server, packfile, specs):
    """git receive-pack SERVER fed OLD NEW REF commands and PACK as it is (the server's hooks
    run as for any push; their stderr is ours); 0 when every ref was taken"""
    # KF_RECEIVE_PACK: how to start receive-pack elsewhere (e2e/gitolite.sh: "ssh ... git-receive-pack")
    p = subprocess.Popen(os.environ.get("KF_RECEIVE_PACK", "git receive-pack").split() + [server],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def pkt():
        n = p.stdout.read(4)
        if not n or n == b"0000":
            return None
        return p.stdout.read(int(n, 16) - 4)
    while pkt() is not None:            # the advertisement
        pass
    for i, spec in enumerate(specs):
        old, new, ref = spec.split(":")
        line = ("%s %s %s" % (old, new, ref)).encode() + (b"\0report-status" if i == 0 else b"") + b"\n"
        p.stdin.write(b"%04x" % (len(line) + 4) + line)
    p.stdin.write(b"0000")
    with open(packfile, "rb") as f:
        p.stdin.write(f.read())
    p.stdin.close()
    report = []
    while True:
        line = pkt()
        if line is None:
            break
        report.append(line.decode(errors="replace").rstrip("\n"))
    p.wait()
    print("\n".join(report))
    return 0 if report and report[0] == "unpack ok" and all(r.startswith("ok ") for r in report[1:]) else 1


# ---------------------------------------------------------------- malleating a signature

def crc24(data):
    crc = 0xB704CE
    for b in data:
        crc ^= b << 16
        for _ in range(8):
            crc <<= 1
            if crc & 0x1000000:
                crc ^= 0x1864CFB
    return crc & 0xFFFFFF


def malleate(raw, mode):
    """raw (a signed commit) with its signature's uncovered bytes changed; no key is needed:
    rewrap    the armor's base64 in 60-character lines (gpg writes 64)
    crc       the armor's checksum off by one bit (gpg, git and sqv refuse it)
    newformat the packet header in the new format (0xC2 LEN) instead of gpg's old one
    unhashed  a subpacket with text added to the unhashed area (what no signature covers)
    splusl    an EdDSA signature's S replaced by S + L (the group order): it verifies still"""
    c = Commit(raw)
    arm = c.get("gpgsig").split(b"\n")
    b64 = b"".join(l for l in arm[2:] if l and not l.startswith(b"=") and not l.startswith(b"-----"))
    pkt = bytearray(base64.b64decode(b64))
    if pkt[0] != 0x88:
        raise SystemExit("kforge.py malleate: not the packet gpg writes (test bug)")
    if mode == "newformat":
        pkt[0] = 0xC2
    elif mode == "unhashed":
        hl = (pkt[6] << 8) | pkt[7]
        u = 8 + hl
        ul = (pkt[u] << 8) | pkt[u + 1]
        data = "dossier van mevrouw de Vries: verslag van de bedrijfsarts".encode()
        unhashed = bytes(pkt[u + 2:u + 2 + ul]) + bytes([1 + len(data), 101]) + data
        body = bytes(pkt[2:u]) + struct.pack(">H", len(unhashed)) + unhashed + bytes(pkt[u + 2 + ul:])
        pkt = bytearray([0x88, len(body)]) + body
    elif mode == "splusl":
        # EdDSA's S is stored as an MPI of its 32 little-endian bytes: S + L verifies as S does
        hl = (pkt[6] << 8) | pkt[7]
        u = 8 + hl
        ul = (pkt[u] << 8) | pkt[u + 1]
        m1 = u + 2 + ul + 2
        n1 = (((pkt[m1] << 8) | pkt[m1 + 1]) + 7) // 8
        m2 = m1 + 2 + n1
        n2 = (((pkt[m2] << 8) | pkt[m2 + 1]) + 7) // 8
        le = bytes(pkt[m2 + 2:m2 + 2 + n2]).rjust(32, b"\0")
        s = int.from_bytes(le, "little") + 2**252 + 27742317777372353535851937790883648493
        v = int.from_bytes(s.to_bytes(32, "little"), "big")
        mpi = struct.pack(">H", v.bit_length()) + v.to_bytes((v.bit_length() + 7) // 8, "big")
        body = bytes(pkt[2:m2]) + mpi
        pkt = bytearray([0x88, len(body)]) + body
    elif mode not in ("rewrap", "crc"):
        raise SystemExit("kforge.py malleate: unknown mode %s" % mode)
    enc = base64.b64encode(bytes(pkt))
    width = 60 if mode == "rewrap" else 64
    crc = crc24(pkt) ^ (1 if mode == "crc" else 0)
    lines = [b"-----BEGIN PGP SIGNATURE-----", b""] + [enc[i:i + width] for i in range(0, len(enc), width)]
    lines += [b"=" + base64.b64encode(struct.pack(">I", crc)[1:]), b"-----END PGP SIGNATURE-----"]
    c.set("gpgsig", b"\n".join(lines))
    return c.raw()


# ---------------------------------------------------------------- re-encoding a tree

def retree(repo, tree, mode):
    """the two-level content tree `tree` written with the same entries in other bytes"""
    def enc(entries):
        if mode == "pad":
            entries = [["0" + m, n, o] for m, n, o in entries]
        return tree_bytes(entries)
    top = []
    for m, n, o in parse_tree(repo.read(tree)[1]):
        top.append([m, n, repo.write("tree", enc(parse_tree(repo.read(o)[1]))) if m == "40000" else o])
    if mode == "empty":
        names = {n for _, n, _ in top}
        free = next(b"%02x" % i for i in range(256) if b"%02x" % i not in names)
        top = git_sorted(top + [["40000", free, repo.write("tree", b"")]])
    if mode == "order":
        if len(top) < 2:
            raise SystemExit("kforge.py retree: one shard only, no other order (test bug)")
        top.reverse()
    return repo.write("tree", enc(top))


# ---------------------------------------------------------------- CLI

def main(argv):
    cmd = argv[1]
    if cmd == "rechain":
        repo = Repo(argv[2])
        old, new = argv[3], argv[4]
        olds = repo.rev_list("%s..refs/heads/main" % old)
        head, m = rechain(repo, olds, new, head_map={old: new})
        acc = remap_access(repo, m)
        print(head)
        print(acc or "")
    elif cmd == "pick":
        # pick REPO BASE C... : cherry-pick C... (re-signed by their own signers) onto BASE
        repo = Repo(argv[2])
        as_ = tuple(os.environ["FORGE_AS"].split()) if os.environ.get("FORGE_AS") else None
        head, _ = rechain(repo, argv[4:], argv[3], as_=as_)
        print(head)
    elif cmd == "resign":
        repo = Repo(argv[2])
        c = Commit(repo.read(argv[3])[1])
        fpr = argv[4] if len(argv) > 4 else c.who()[1]
        print(write_commit(repo, signed(c, fpr)))
    elif cmd == "checkpoint":
        repo = Repo(argv[2])
        sys.stdout.buffer.write(checkpoint(repo, argv[3], argv[4] if len(argv) > 4 else None))
    elif cmd == "authsign":
        sys.stdout.buffer.write(auth_sign(sys.stdin.buffer.read(), argv[2]) + b"\n")
    elif cmd == "retree":
        print(retree(Repo(argv[2]), argv[3], argv[4]))
    elif cmd == "malleate":
        sys.stdout.buffer.write(malleate(sys.stdin.buffer.read(), argv[2]))
    elif cmd == "write-commit":
        # stdin: an unsigned commit; argv: REPO [FPR [FAKED-TIME]] ; FPR "-" for none
        repo = Repo(argv[2])
        c = Commit(sys.stdin.buffer.read())
        fpr = argv[3] if len(argv) > 3 else "-"
        faked = int(argv[4]) if len(argv) > 4 else None
        print(write_commit(repo, c if fpr == "-" else signed(c, fpr, faked)))
    elif cmd == "push-pack":
        raise SystemExit(push_pack(argv[2], argv[3], argv[4:]))
    else:
        raise SystemExit("kforge.py: unknown command %s" % cmd)


if __name__ == "__main__":
    main(sys.argv)
