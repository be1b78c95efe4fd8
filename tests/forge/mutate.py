#!/usr/bin/env python3
"""tests/forge/mutate.py - generic field mutation of a kluis dossier (driven by e2e/mutate.sh).

Given a vault copy, a dossier id in it, the kluis binary and an auditor keyring (public keys
only), it parses every commit on refs/heads/main (headers, subject, trailers, its tree down
to entries/XX/ID/{meta,body}, the pointer blobs, the roles and dossier files) and every read
record on refs/kluis/access, and builds mutations: each header, trailer, tree entry (name,
mode, object) and line of a pointer, roles or dossier file is changed (to a plausible value of
the same kind: another role, fingerprint, entry id, object id, number), deleted or duplicated.
Each mutated commit is re-signed with its original signer's key; every later commit and read
record is replayed on top and re-signed by its own signer (kforge.rechain / remap_access);
refs and the vault checkpoint are moved (the attacker rewrites it too), `kluis verify ID
--full` runs, and the refs are put back. A mutation of a field the model leaves free must be
accepted; any other must be refused (exit 1 and at least one finding).

The fields the model calls free (FREE below): only the commit time, moved by one second,
author and committer together, still after the parent and not in the future. Everything else
in a commit or read record is determined by the state before it and the action: the
signature is free only in that any good signature by the same key will do (it is re-made for
every mutation, so it is not a mutation target).

LIMITS (not mutated, because public keys alone cannot tell): the values (oid, sha256, size)
of a pointer that a later rewrap replaced. The rewrap removes the old ciphertext from the
repository (as an erase does), so nothing is left to hash; only the pointer's form can be
checked, and its form mutations (a line deleted or duplicated, the header changed) still run.
Also not changed, being what a signer says of plaintext only readers see: a pointer's `plain`
commitment (every reader checks it: show, export, inzage, verify --deep), the Kluis-Kind of an
add (one of the kinds; the kind inside the encrypted metadata is the reader's to see) and a
read record's Kluis-Purpose (the reader's own code, any [a-z0-9-]). A read record's time moved
one second later is free only for the newest record (the next may be of the same second).

The mutations are enumerated in a fixed order, then sampled with a fixed seed down to --max,
so a run is reproducible; --budget (seconds) stops early and says so.

Usage: mutate.py --vault V --dossier ID --kluis BIN --gnupghome AUD --max N --seed S
Output: one line per mutation, "ok Mnnn WHERE WHAT" or "FAIL Mnnn WHERE WHAT: why", then
"mutate: N passed, M failed"; exit 1 if any failed.
"""
import argparse
import os
import random
import re
import subprocess
import sys
import time

sys.dont_write_bytecode = True   # nothing written into the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kforge import (Commit, Repo, checkpoint, git_sorted, parse_tree, remap_access, rechain,  # noqa: E402
                    signed, tree_bytes, write_commit)

# Fields the model leaves free, and the mutation that exercises each (expected: accepted).
FREE = {
    "time+1": "author and committer time, together, one second later (after the parent, not in the future)",
}

ROLE_WORDS = ["klant", "medewerker", "directie", "opdrachtgever", "vertegenwoordiger"]
ACTIONS = ["init", "add", "statement", "approve", "correct", "erase", "consent", "roles", "rewrap", "close", "transfer", "access"]
KINDS = ["note", "contact", "circumstance", "document", "correspondence", "plan", "report", "consent", "statement", "correction"]
HEX40 = re.compile(r"^[0-9a-fA-F]{40}$")
ENTRY = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{4}$")


class Ctx:
    def __init__(self, repo, fprs, oids, entries):
        self.repo, self.fprs, self.oids, self.entries = repo, fprs, oids, entries
        self.mains = set()

    def other_object(self, value):
        """an object id of the repository that is not `value` and no commit of main"""
        alts = [x for x in self.oids if x.lower() != value.lower() and x not in self.mains]
        return alts[len(value) % len(alts)] if alts else value[:-1] + ("0" if value[-1] != "0" else "1")

    def other(self, value):
        """a plausible other value of the same kind"""
        v = value
        if HEX40.match(v):
            pool = self.fprs if v.upper() == v and v.upper() in self.fprs else self.oids
            alts = [x for x in pool if x.lower() != v.lower()]
            return alts[len(v) % len(alts)] if alts else v[:-1] + ("0" if v[-1] != "0" else "1")
        if re.match(r"^[0-9a-f]{64}$", v):
            return v[:-1] + ("0" if v[-1] != "0" else "1")
        if ENTRY.match(v):
            alts = [e for e in self.entries if e != v]
            return alts[0] if alts else v[:-1] + "0"
        if re.match(r"^\d+$", v):
            return str(int(v) + 1)
        for words in (ROLE_WORDS, ACTIONS, KINDS, ["open", "closed"], ["grant", "withdraw"], ["yes", "no"]):
            if v in words:
                return words[(words.index(v) + 1) % len(words)]
        return v + "x"


def other_words(ctx, text):
    """change the last word of a 'key value' line (or the value of a whole word)"""
    parts = text.split(" ")
    parts[-1] = ctx.other(parts[-1])
    return " ".join(parts)


# ------------------------------------------------------------- mutation enumeration
# A mutation is (label, fn) where fn(commit: Commit) -> Commit (unsigned), or None if it does
# not apply; "free" labels are listed in FREE.

def header_mutations(ctx, c):
    out = []
    for i, (k, v) in enumerate(c.headers):
        if k == "gpgsig":
            continue
        txt = v.decode(errors="replace")

        def change(cc, i=i, k=k, txt=txt):
            if k in ("author", "committer"):
                m = re.match(r"^(\S+) <([^>]*)> (\d+) (\S+)$", txt)
                if not m:
                    return None
                cc.headers[i][1] = ("%s <%s> %s %s" % (ctx.other(m.group(1)), m.group(2), m.group(3), m.group(4))).encode()
            else:
                cc.headers[i][1] = ctx.other(txt).encode()
            return cc
        out.append(("header %s #%d change" % (k, i), change))
        if k in ("author", "committer"):
            def fpr(cc, i=i, txt=txt):
                m = re.match(r"^(\S+) <([^>]*)> (.*)$", txt)
                cc.headers[i][1] = ("%s <%s> %s" % (m.group(1), ctx.other(m.group(2)), m.group(3))).encode()
                return cc
            out.append(("header %s #%d fingerprint" % (k, i), fpr))

            def tz(cc, i=i, txt=txt):
                cc.headers[i][1] = re.sub(r" [+-]\d{4}$", " +0100", txt).encode()
                return cc
            out.append(("header %s #%d timezone" % (k, i), tz))

            def one_time(cc, i=i, txt=txt):
                m = re.match(r"^(.* )(\d+)( \S+)$", txt)
                cc.headers[i][1] = ("%s%d%s" % (m.group(1), int(m.group(2)) - 86400, m.group(3))).encode()
                return cc
            out.append(("header %s #%d a day earlier" % (k, i), one_time))

        def delete(cc, i=i):
            del cc.headers[i]
            return cc
        out.append(("header %s #%d delete" % (k, i), delete))

        def dup(cc, i=i):
            cc.headers.insert(i + 1, list(cc.headers[i]))
            return cc
        out.append(("header %s #%d duplicate" % (k, i), dup))

    def time1(cc):
        w = cc.who()
        if not w:
            return None
        cc.set_time(w[2] + 1)
        return cc
    out.append(("time+1", time1))

    def extra(cc):
        cc.headers.append(["encoding", b"ISO-8859-1"])
        return cc
    out.append(("header encoding added", extra))
    return out


def message_mutations(ctx, c):
    out = []
    subj = c.msg.split(b"\n", 1)[0].decode(errors="replace")

    def s_change(cc):
        rest = cc.msg.split(b"\n", 1)[1] if b"\n" in cc.msg else b""
        cc.msg = other_words(ctx, subj).encode() + b"\n" + rest
        return cc
    out.append(("subject change", s_change))
    tr = c.trailers()
    for i, (k, v) in enumerate(tr):
        skip_change = k in ("Kluis-Kind", "Kluis-Purpose")   # see LIMITS
        def t_change(cc, i=i):
            t = cc.trailers()
            if t[i][0] == "Kluis-Head":
                # another commit of main may be a head the read was as valid at (the model
                # allows any): the mutation names an object that is no commit of main
                t[i] = (t[i][0], ctx.other_object(t[i][1]))
            else:
                t[i] = (t[i][0], other_words(ctx, t[i][1]) if t[i][1] is not None else "x")
            cc.set_trailers(t)
            return cc

        def t_key(cc, i=i):
            t = cc.trailers()
            t[i] = (t[i][0] + "s", t[i][1])
            cc.set_trailers(t)
            return cc

        def t_del(cc, i=i):
            t = cc.trailers()
            del t[i]
            cc.set_trailers(t)
            return cc

        def t_dup(cc, i=i):
            t = cc.trailers()
            t.insert(i + 1, t[i])
            cc.set_trailers(t)
            return cc

        def t_move(cc, i=i):
            t = cc.trailers()
            if len(t) < 2:
                return None
            x = t.pop(i)
            t.insert(0 if i else len(t), x)
            cc.set_trailers(t)
            return cc
        for name, fn in (("change", t_change), ("key", t_key), ("delete", t_del), ("duplicate", t_dup), ("move", t_move)):
            if name == "change" and skip_change:
                continue
            out.append(("trailer %s #%d %s" % (k, i, name), fn))
    return out


def blob_lines_mutations(ctx, path, oid, live=True):
    """line mutations of a small text blob (pointer, roles, dossier) at path; of a pointer no
    longer live (superseded by a later rewrap, whose commit carried its ciphertext out of the
    repository) only the form can be checked, so its value lines are not changed (see LIMITS)"""
    repo = ctx.repo
    data = repo.read(oid)[1].decode(errors="surrogateescape")
    lines = data.split("\n")
    if lines and lines[-1] == "":
        lines = lines[:-1]
    out = []
    for i, line in enumerate(lines):
        for name in ("change", "delete", "duplicate"):
            if name == "change" and lines[0].startswith("kluis-pointer ") and ((not live and i > 0) or line.startswith("plain ")):
                continue
            def mk(name=name, i=i):
                ls = list(lines)
                if name == "change":
                    ls[i] = other_words(ctx, ls[i])
                elif name == "delete":
                    del ls[i]
                else:
                    ls.insert(i + 1, ls[i])
                return repo.write("blob", ("\n".join(ls) + "\n").encode(errors="surrogateescape"))
            out.append(("%s line %d %s" % (path.decode(), i + 1, name), mk))
    return out


def tree_paths(repo, tree, prefix=b""):
    """(path, mode, oid) of every entry, trees included"""
    for m, n, o in parse_tree(repo.read(tree)[1]):
        p = prefix + n
        yield p, m, o
        if m == "40000":
            yield from tree_paths(repo, o, p + b"/")


def edit_tree(repo, tree, path, fn):
    """tree with the entry list of path's directory passed through fn(entries, name)"""
    parts = path.split(b"/")
    ents = parse_tree(repo.read(tree)[1])
    if len(parts) == 1:
        ents = fn(ents, parts[0])
        return None if ents is None else repo.write("tree", tree_bytes(ents))
    for e in ents:
        if e[1] == parts[0] and e[0] == "40000":
            sub = edit_tree(repo, e[2], b"/".join(parts[1:]), fn)
            if sub is None:
                return None
            e[2] = sub
            return repo.write("tree", tree_bytes(ents))
    return None


def tree_mutations(ctx, c, parent, head_tree):
    """entries the commit changed (or all root files of the first commit), and their blobs"""
    repo = ctx.repo
    at_head = {p: o for p, m, o in tree_paths(repo, head_tree)}
    tree = c.get("tree").decode()
    mine = {p: (m, o) for p, m, o in tree_paths(repo, tree)}
    theirs = {p: (m, o) for p, m, o in tree_paths(repo, parent.get("tree").decode())} if parent else {}
    changed = [p for p in mine if theirs.get(p) != mine[p]]
    out = []
    for p in changed:
        m, o = mine[p]

        def set_field(field, value_fn, p=p):
            def fn(cc):
                def ed(ents, name):
                    for e in ents:
                        if e[1] == name:
                            v = value_fn(e)
                            if v is None:
                                return None
                            e[field] = v
                            return git_sorted(ents)
                    return None
                t = edit_tree(repo, cc.get("tree").decode(), p, ed)
                if t is None:
                    return None
                cc.set("tree", t.encode())
                return cc
            return fn
        out.append(("tree %s name" % p.decode(), set_field(1, lambda e: e[1] + b"x")))
        out.append(("tree %s mode" % p.decode(),
                    set_field(0, lambda e: {"100644": "100755", "40000": "100644", "100755": "100644", "120000": "100644"}.get(e[0], "100644"))))
        if m != "40000":
            out.append(("tree %s symlink" % p.decode(), set_field(0, lambda e: "120000")))
        out.append(("tree %s object" % p.decode(), set_field(2, lambda e: ctx.other(e[2]) if e[0] != "40000" else None)))

        def delete(cc, p=p):
            t = edit_tree(repo, cc.get("tree").decode(), p, lambda ents, name: [e for e in ents if e[1] != name])
            if t is None:
                return None
            cc.set("tree", t.encode())
            return cc
        out.append(("tree %s delete" % p.decode(), delete))

        def dup(cc, p=p):
            def ed(ents, name):
                for k, e in enumerate(ents):
                    if e[1] == name:
                        ents.insert(k + 1, list(e))
                        return ents
                return None
            t = edit_tree(repo, cc.get("tree").decode(), p, ed)
            if t is None:
                return None
            cc.set("tree", t.encode())
            return cc
        out.append(("tree %s duplicate" % p.decode(), dup))

        if m == "100644" and repo.read(o)[0] == "blob" and len(repo.read(o)[1]) < 4096:
            for label, mk in blob_lines_mutations(ctx, p, o, live=at_head.get(p) == o):
                def fn(cc, mk=mk, p=p):
                    new = mk()

                    def ed(ents, name):
                        for e in ents:
                            if e[1] == name:
                                e[2] = new
                                return ents
                        return None
                    t = edit_tree(repo, cc.get("tree").decode(), p, ed)
                    if t is None:
                        return None
                    cc.set("tree", t.encode())
                    return cc
                out.append((label, fn))
    return out


# ------------------------------------------------------------- running one mutation

def run_verify(args):
    env = dict(os.environ, GNUPGHOME=args.gnupghome)
    r = subprocess.run([args.kluis, "--vault", args.vault, "verify", args.dossier, "--full"],
                       capture_output=True, env=env, text=True)
    return r.returncode, r.stdout + r.stderr


def main():
    ap = argparse.ArgumentParser()
    for a in ("vault", "dossier", "kluis", "gnupghome"):
        ap.add_argument("--" + a, required=True)
    ap.add_argument("--max", type=int, default=300)
    ap.add_argument("--seed", type=int, default=14)
    ap.add_argument("--budget", type=float, default=50.0)
    ap.add_argument("--fprs", default="")
    args = ap.parse_args()
    t0 = time.time()
    path = os.path.join(args.vault, "dossiers", args.dossier + ".git")
    cpfile = os.path.join(args.vault, "checkpoints", args.dossier)
    repo = Repo(path)
    main0, acc0 = repo.rev("refs/heads/main"), repo.rev("refs/kluis/access")
    cp0 = open(cpfile, "rb").read()
    chain = repo.rev_list(main0)
    oids = sorted(set(l.split()[0] for l in repo.git("rev-list", "--objects", "--all").decode().splitlines()))
    entries = sorted(set(re.findall(r"\d{8}T\d{6}Z-[0-9a-f]{4}", repo.git("log", "--format=%B", "main").decode())))
    ctx = Ctx(repo, [f for f in args.fprs.split() if f], oids, entries)
    ctx.mains = set(chain)

    # enumerate (where, label, target, fn); target: ("main", index) or ("access", index)
    muts = []
    head_tree = Commit(repo.read(main0)[1]).get("tree").decode()
    for i, oid in enumerate(chain):
        c = Commit(repo.read(oid)[1])
        parent = Commit(repo.read(chain[i - 1])[1]) if i else None
        where = "main#%d(%s)" % (i + 1, (c.trailer("Kluis-Action") or "?"))
        for label, fn in header_mutations(ctx, c) + message_mutations(ctx, c) + tree_mutations(ctx, c, parent, head_tree):
            muts.append((where, label, ("main", i), fn))
    achain = repo.rev_list(acc0) if acc0 else []
    for i, oid in enumerate(achain):
        c = Commit(repo.read(oid)[1])
        for label, fn in header_mutations(ctx, c) + message_mutations(ctx, c):
            if label == "time+1" and i != len(achain) - 1:
                continue   # see LIMITS
            muts.append(("access#%d" % (i + 1), label, ("access", i), fn))
    total = len(muts)
    rnd = random.Random(args.seed)
    free = [m for m in muts if m[1] in FREE]
    rest = [m for m in muts if m[1] not in FREE]
    pick = rnd.sample(free, min(len(free), 6)) + rnd.sample(rest, min(len(rest), max(0, args.max - 6)))
    pick.sort(key=lambda m: muts.index(m))
    print("# %d mutations enumerated (%d commits, %d read records); %d run (seed %d)" % (total, len(chain), len(achain), len(pick), args.seed))

    nok = nfail = nskip = 0
    for k, (where, label, (ref, i), fn) in enumerate(pick, 1):
        if time.time() - t0 > args.budget:
            print("# budget of %.0f s spent after %d mutations" % (args.budget, k - 1))
            break
        mid = "M%03d" % k
        try:
            if ref == "main":
                oc = Commit(repo.read(chain[i])[1])
                nc = fn(oc.unsigned())
                if nc is None or nc.raw() == oc.unsigned().raw():
                    nskip += 1
                    continue
                new = write_commit(repo, signed(nc, oc.who()[1]))
                head, m = rechain(repo, chain[i + 1:], new, head_map={chain[i]: new})
                acc = remap_access(repo, m)
                repo.set_ref("refs/heads/main", head)
                if acc:
                    repo.set_ref("refs/kluis/access", acc)
            else:
                oc = Commit(repo.read(achain[i])[1])
                nc = fn(oc.unsigned())
                if nc is None or nc.raw() == oc.unsigned().raw():
                    nskip += 1
                    continue
                parent = write_commit(repo, signed(nc, oc.who()[1]))
                for old in achain[i + 1:]:
                    c = Commit(repo.read(old)[1]).unsigned()
                    c.headers = [h for h in c.headers if h[0] != "parent"]
                    c.headers.insert(1, ["parent", parent.encode()])
                    parent = write_commit(repo, signed(c, Commit(repo.read(old)[1]).who()[1]))
                repo.set_ref("refs/kluis/access", parent)
            with open(cpfile, "wb") as fh:
                fh.write(checkpoint(repo, args.dossier))
            rc, out = run_verify(args)
            want_ok = label in FREE
            finding = next((l for l in out.splitlines() if l.startswith(args.dossier + " ")), "")
            if want_ok and rc == 0:
                nok += 1
                print("ok %s %s %s: accepted (free field)" % (mid, where, label))
            elif not want_ok and rc == 1 and finding:
                nok += 1
                print("ok %s %s %s: %s" % (mid, where, label, finding[:160]))
            else:
                nfail += 1
                why = ("refused a free field: " if want_ok else "accepted: " if rc == 0 else "exit %d: " % rc) + out.strip().replace("\n", " | ")[:200]
                print("FAIL %s %s %s: %s" % (mid, where, label, why))
        except Exception as e:  # a mutation the replay cannot carry (e.g. a tree that is no tree)
            nskip += 1
            print("# %s %s %s: not applied (%s)" % (mid, where, label, str(e).splitlines()[0][:120] if str(e) else type(e).__name__))
        finally:
            repo.set_ref("refs/heads/main", main0)
            if acc0:
                repo.set_ref("refs/kluis/access", acc0)
            with open(cpfile, "wb") as fh:
                fh.write(cp0)
        sys.stdout.flush()
    print("# %d not applicable, %.1f s" % (nskip, time.time() - t0))
    print("mutate: %d passed, %d failed" % (nok, nfail))
    return 1 if nfail else 0


if __name__ == "__main__":
    sys.exit(main())
