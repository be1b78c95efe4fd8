#!/usr/bin/env python3
"""wrap.py SRCDIR ORDERFILE OUT MODE TEXT: the archive's members (names in ORDERFILE, one a
line, bytes from SRCDIR) re-packed with TEXT where no rule looks: MODE gz (gzip FNAME, FCOMMENT,
FEXTRA, mtime), pax (a pax 'comment' record on every member), pad (a member's tar padding),
hdr (uname/gname/mtime/mode of the tar headers), or all."""
import io, os, sys, tarfile, zlib, struct
src, order, out, mode, text = sys.argv[1:]
names = [l.strip() for l in open(order) if l.strip()]
modes = {"gz", "pax", "pad", "hdr"} if mode == "all" else {mode}
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT if "pax" in modes else tarfile.GNU_FORMAT) as t:
    for n in names:
        data = open(os.path.join(src, n), "rb").read()
        ti = tarfile.TarInfo(n); ti.size = len(data); ti.mode = 0o600
        if "hdr" in modes:
            ti.uname = text[:31]; ti.gname = "klant"; ti.mtime = 123456789; ti.mode = 0o4777; ti.uid = 4242
        if "pax" in modes:
            ti.pax_headers = {"comment": text, "KLUIS.note": text}
        t.addfile(ti, io.BytesIO(data))
tar = bytearray(buf.getvalue())
if "pad" in modes:
    t = tarfile.open(fileobj=io.BytesIO(bytes(tar)))
    for m in t.getmembers():
        start = m.offset_data + m.size; end = (start + 511) // 512 * 512
        room = end - start
        if room >= 16:
            tar[start:end] = (text.encode() * 100)[:room]
            print("padding of %s: %d bytes" % (m.name, room)); break
if "gz" in modes:
    flags = 0x04 | 0x08 | 0x10
    extra = b"KL" + struct.pack("<H", len(text)) + text.encode()
    hdr = b"\x1f\x8b\x08" + bytes([flags]) + struct.pack("<I", 987654321) + b"\x02\x03" + struct.pack("<H", len(extra)) + extra + text.encode() + b"\0" + text.encode() + b"\0"
else:
    hdr = b"\x1f\x8b\x08\x00" + b"\0\0\0\0" + b"\x00\xff"
co = zlib.compressobj(9, zlib.DEFLATED, -15)
body = co.compress(bytes(tar)) + co.flush()
open(out, "wb").write(hdr + body + struct.pack("<II", zlib.crc32(bytes(tar)) & 0xffffffff, len(tar) & 0xffffffff))
