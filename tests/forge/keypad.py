#!/usr/bin/env python3
"""keypad.py IN OUT TEXT: IN an (armored or binary) public key file; OUT the same key, binary,
with TEXT in an unhashed subpacket (type 101) of its first signature, padded so OUT has exactly
IN's size. No key needed: unhashed subpackets are outside every signature."""
import base64, os, sys

def dearmor(b):
    if not b.lstrip().startswith(b"-----BEGIN"):
        return b
    lines = b.decode().splitlines()
    i = 1
    while lines[i].strip():
        i += 1
    body = []
    for l in lines[i + 1:]:
        if l.startswith("=") or l.startswith("-----END"):
            break
        body.append(l.strip())
    return base64.b64decode("".join(body))

def packets(d):
    i, out = 0, []
    while i < len(d):
        b = d[i]; assert b & 0x80
        if b & 0x40:
            tag = b & 0x3f; o = d[i + 1]
            if o < 192: ln, h = o, 2
            elif o < 224: ln, h = ((o - 192) << 8) + d[i + 2] + 192, 3
            elif o == 255: ln, h = int.from_bytes(d[i + 2:i + 6], "big"), 6
            else: raise SystemExit("partial length")
        else:
            tag = (b >> 2) & 0xf; lt = b & 3
            h = 1 + [1, 2, 4][lt]; ln = int.from_bytes(d[i + 1:i + h], "big")
        out.append((tag, d[i + h:i + h + ln])); i += h + ln
    return out

def newlen(n):
    if n < 192: return bytes([n])
    if n < 8384: n -= 192; return bytes([(n >> 8) + 192, n & 0xff])
    return b"\xff" + n.to_bytes(4, "big")

def enc(tag, body):
    return bytes([0xc0 | tag]) + newlen(len(body)) + body

def with_unhashed(sig, extra):
    assert sig[0] == 4
    hl = int.from_bytes(sig[4:6], "big"); p = 6 + hl
    ul = int.from_bytes(sig[p:p + 2], "big")
    un = sig[p + 2:p + 2 + ul] + extra
    return sig[:p] + len(un).to_bytes(2, "big") + un + sig[p + 2 + ul:]

src, dst, text = sys.argv[1], sys.argv[2], sys.argv[3].encode()
raw = open(src, "rb").read(); want = len(raw)
pk = packets(dearmor(raw))
if os.environ.get("STRIP"):  # drop key revocations (signature type 0x20): no key needed
    n = len(pk); pk = [(t, b) for t, b in pk if not (t == 2 and b[0] == 4 and b[1] == 0x20)]
    print("dropped %d revocation(s)" % (n - len(pk)))
first = next(k for k, (t, _) in enumerate(pk) if t == 2)
for fill in range(0, want):
    data = text + b" " * fill
    sub = newlen(len(data) + 1) + bytes([101]) + data
    out = b"".join(enc(t, with_unhashed(b, sub) if k == first else b) for k, (t, b) in enumerate(pk))
    if len(out) == want:
        open(dst, "wb").write(out); print("ok %d bytes, %d of text+fill" % (want, len(data))); sys.exit(0)
    if len(out) > want:
        break
sys.exit("no exact fit")
