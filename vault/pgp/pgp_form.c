/*
 * pgp_form.c - the one byte form of a signature kluis accepts: what gpg writes for a detached
 * signature (docs/FORMATS.md, "Signatures").
 *
 * Why: a signature covers its hashed area and the signed data, not its own encoding. Without
 * a key, anyone holding a signed commit can re-wrap the armor's lines, change its checksum,
 * re-encode the packet header, or add unhashed subpackets with any bytes (a klant's name, a
 * file) and the signature still verifies; the commit's id changes and the stuffed bytes ride
 * along in a dossier that verifies. So every byte the signature does not cover is pinned here
 * to the one value gpg gives it; the hashed area and the signature values are the signer's
 * and librnp judges them (pgp_verify.c). This parses only the packet's framing; it judges no
 * signature.
 *
 * The form: "-----BEGIN PGP SIGNATURE-----", an empty line, the packet in base64 (canonical,
 * 64 characters a line, the last 1-64), "=" and its CRC-24, "-----END PGP SIGNATURE-----".
 * The packet: one old-format signature packet (tag 2) with the shortest length field, version
 * 4, type 0x00 or 0x01 (a document); a hashed area holding the issuer fingerprint (subpacket
 * 33, version 4); an unhashed area of exactly one subpacket, the issuer key id (16) that
 * fingerprint ends in; the 16 bits of the digest; the signature values as MPIs without
 * leading zeros (one for RSA, two for DSA, ECDSA and EdDSA), an EdDSA S below the group
 * order; nothing after.
 */
#include "vault/pgp/pgp.h"

#include <stdbool.h>
#include <string.h>

#include "vault/base/error.h"

#define SIG_PACKET_MAX 4096 /* an RSA-16384 signature is ~2.1 KB */

static const char armor_begin[] = "-----BEGIN PGP SIGNATURE-----\n\n";
static const char armor_end[] = "-----END PGP SIGNATURE-----";
static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int form_error(const char *why)
{
	return kluis_error_set(KLUIS_EVERIFY, "signature: %s (not the form gpg writes)", why);
}

static uint32_t crc24(const unsigned char *p, size_t n)
{
	uint32_t crc = 0xB704CEu;
	size_t i;
	int k;

	for (i = 0; i < n; i++) {
		crc ^= (uint32_t)p[i] << 16;
		for (k = 0; k < 8; k++) {
			crc <<= 1;
			if (crc & 0x1000000u)
				crc ^= 0x1864CFBu;
		}
	}
	return crc & 0xFFFFFFu;
}

/* base64 of p[0..n) without line ends; out holds 4 * ceil(n / 3) + 1 bytes */
static void b64_encode(const unsigned char *p, size_t n, char *out)
{
	size_t i;

	for (i = 0; i + 2 < n; i += 3, out += 4) {
		out[0] = b64[p[i] >> 2];
		out[1] = b64[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
		out[2] = b64[((p[i + 1] & 15) << 2) | (p[i + 2] >> 6)];
		out[3] = b64[p[i + 2] & 63];
	}
	if (n - i == 1) {
		out[0] = b64[p[i] >> 2];
		out[1] = b64[(p[i] & 3) << 4];
		out[2] = out[3] = '=';
		out += 4;
	} else if (n - i == 2) {
		out[0] = b64[p[i] >> 2];
		out[1] = b64[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
		out[2] = b64[(p[i + 1] & 15) << 2];
		out[3] = '=';
		out += 4;
	}
	*out = '\0';
}

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Decode the base64 lines of the armor into pkt; the text is compared with a canonical
 * encoding afterwards, so this only needs to be right for canonical input. */
static bool b64_decode_lines(const char *p, const char *end, unsigned char *pkt, size_t *n)
{
	uint32_t acc = 0;
	int bits = 0, v;

	*n = 0;
	for (; p < end; p++) {
		if (*p == '\n' || *p == '=')
			continue;
		if ((v = b64_value(*p)) < 0)
			return false;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (*n >= SIG_PACKET_MAX)
				return false;
			pkt[(*n)++] = (unsigned char)(acc >> bits);
		}
	}
	return true;
}

/* The armor is exactly the canonical armor of pkt[0..n). After the END line: nothing, its
 * line end, or a line end and one empty line (libgit2 writes a signature that ends in a line
 * end with an empty continuation line after it; stock git does not). */
static bool armor_is(const char *text, size_t len, const unsigned char *pkt, size_t n)
{
	char enc[SIG_PACKET_MAX / 3 * 4 + 8], crc[8];
	unsigned char c[3];
	const char *p = text + sizeof(armor_begin) - 1, *end = text + len;
	size_t elen, off;
	uint32_t k = crc24(pkt, n);

	b64_encode(pkt, n, enc);
	elen = strlen(enc);
	for (off = 0; off < elen; off += 64) {
		size_t w = elen - off < 64 ? elen - off : 64;
		if ((size_t)(end - p) < w + 1 || memcmp(p, enc + off, w) != 0 || p[w] != '\n')
			return false;
		p += w + 1;
	}
	c[0] = (unsigned char)(k >> 16);
	c[1] = (unsigned char)(k >> 8);
	c[2] = (unsigned char)k;
	crc[0] = '=';
	b64_encode(c, 3, crc + 1);
	crc[5] = '\n';
	if ((size_t)(end - p) < 6 + sizeof(armor_end) - 1 || memcmp(p, crc, 6) != 0 || memcmp(p + 6, armor_end, sizeof(armor_end) - 1) != 0)
		return false;
	p += 6 + sizeof(armor_end) - 1;
	return p == end || (p + 1 == end && p[0] == '\n') || (p + 2 == end && p[0] == '\n' && p[1] == '\n');
}

/* One subpacket's length (RFC 4880 5.2.3.1): 1, 2 or 5 bytes */
static bool subpacket_len(const unsigned char **p, const unsigned char *end, size_t *len)
{
	const unsigned char *q = *p;

	if (q >= end)
		return false;
	if (q[0] < 192) {
		*len = q[0];
		q += 1;
	} else if (q[0] < 255) {
		if (end - q < 2)
			return false;
		*len = ((size_t)(q[0] - 192) << 8) + q[1] + 192;
		q += 2;
	} else {
		if (end - q < 5)
			return false;
		*len = ((size_t)q[1] << 24) | ((size_t)q[2] << 16) | ((size_t)q[3] << 8) | q[4];
		q += 5;
	}
	*p = q;
	return *len >= 1 && *len <= (size_t)(end - q);
}

static bool mpi_minimal(const unsigned char **p, const unsigned char *end)
{
	const unsigned char *q = *p;
	size_t bits, bytes, top;

	if (end - q < 2)
		return false;
	bits = ((size_t)q[0] << 8) | q[1];
	bytes = (bits + 7) / 8;
	if (bits == 0 || (size_t)(end - q - 2) < bytes)
		return false;
	/* the bit count is the value's own: its top byte has its highest bit where the count says */
	for (top = 0; q[2] >> top > 1; top++)
		;
	if (q[2] == 0 || (bytes - 1) * 8 + top + 1 != bits)
		return false;
	*p = q + 2 + bytes;
	return true;
}

/*
 * An EdDSA signature's S below the group order L. OpenPGP's (legacy) EdDSA stores S as an MPI
 * of its 32 little-endian bytes; S + L verifies as S does (with gpg and with librnp: measured),
 * so without this rule anyone could re-encode any signature kluis writes. gpg always writes
 * S reduced. mpi: the MPI's value bytes (leading zero bytes of the little-endian form dropped).
 */
static bool eddsa_s_reduced(const unsigned char *mpi, size_t n)
{
	/* L = 2^252 + 27742317777372353535851937790883648493, little-endian */
	static const unsigned char order[32] = { 0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7,
						 0xa2, 0xde, 0xf9, 0xde, 0x14, 0,    0,    0,    0,    0,    0,
						 0,    0,    0,    0,    0,    0,    0,    0,    0,    0x10 };
	unsigned char le[32] = { 0 };
	int i;

	if (n > 32)
		return false;
	memcpy(le + 32 - n, mpi, n);
	for (i = 31; i >= 0; i--)
		if (le[i] != order[i])
			return le[i] < order[i];
	return false;
}

int kluis_pgp_sig_form(const void *sig, size_t len, char issuer[41])
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char pkt[SIG_PACKET_MAX];
	const char *text = sig, *tail, *nl;
	const unsigned char *p, *end, *hashed, *fpr = NULL, *last = NULL;
	size_t n, body, hlen, ulen, sl, i, mpis;
	unsigned char algo;

	if (issuer)
		issuer[0] = '\0';
	if (len < sizeof(armor_begin) - 1 || memcmp(text, armor_begin, sizeof(armor_begin) - 1) != 0)
		return form_error("the armor does not begin with its two lines");
	/* the base64 lines end at the checksum line, the first line that begins with '=' */
	for (tail = text + sizeof(armor_begin) - 1; tail < text + len && *tail != '='; tail = nl + 1)
		if (!(nl = memchr(tail, '\n', (size_t)(text + len - tail))))
			return form_error("the armor has no checksum line");
	if (tail >= text + len)
		return form_error("the armor has no checksum line");
	if (!b64_decode_lines(text + sizeof(armor_begin) - 1, tail, pkt, &n))
		return form_error("the armor is not base64");

	/* the packet header: old format, tag 2, the shortest length field */
	if (n < 2)
		return form_error("no signature packet");
	if (pkt[0] == 0x88) {
		body = pkt[1];
		p = pkt + 2;
	} else if (pkt[0] == 0x89 && n >= 3) {
		body = ((size_t)pkt[1] << 8) | pkt[2];
		p = pkt + 3;
		if (body < 256)
			return form_error("the packet's length field is longer than needed");
	} else {
		return form_error("not one old-format signature packet");
	}
	if (body != n - (size_t)(p - pkt))
		return form_error("the packet's length does not match its bytes (one packet, nothing after)");
	end = pkt + n;
	if (end - p < 6 || p[0] != 4)
		return form_error("not a version 4 signature");
	/* the type is hashed (the signer's); a gpg.conf with `textmode` makes gpg write 0x01 */
	if (p[1] != 0x00 && p[1] != 0x01)
		return form_error("not a signature of a document (type 0x00 or 0x01)");
	algo = p[2];
	switch (algo) {
	case 1: case 3: mpis = 1; break;      /* RSA */
	case 17: case 19: case 22: mpis = 2; break; /* DSA, ECDSA, EdDSA */
	default: return form_error("a public-key algorithm kluis does not take");
	}
	hlen = ((size_t)p[4] << 8) | p[5];
	p += 6;
	if ((size_t)(end - p) < hlen + 2)
		return form_error("the hashed area runs past the packet");
	hashed = p;
	for (p = hashed; p < hashed + hlen; p += sl) {
		if (!subpacket_len(&p, hashed + hlen, &sl))
			return form_error("a hashed subpacket runs past its area");
		if ((p[0] & 0x7F) == 33) {
			if (fpr || sl != 22 || p[1] != 4)
				return form_error("the hashed area does not name one version 4 issuer fingerprint");
			fpr = p + 2;
		}
	}
	if (!fpr)
		return form_error("the hashed area names no issuer fingerprint");
	ulen = ((size_t)p[0] << 8) | p[1];
	p += 2;
	/* the unhashed area: exactly the issuer key id, the last 8 bytes of that fingerprint */
	if (ulen != 10 || (size_t)(end - p) < ulen + 2 || p[0] != 9 || p[1] != 16 || memcmp(p + 2, fpr + 12, 8) != 0)
		return form_error("the unhashed area holds more than the issuer's key id");
	p += ulen + 2; /* and the digest's first 16 bits, which librnp checks */
	for (i = 0; i < mpis; i++) {
		last = p + 2;
		if (!mpi_minimal(&p, end))
			return form_error("a signature value is not a minimal MPI");
	}
	if (algo == 22 && !eddsa_s_reduced(last, (size_t)(p - last)))
		return form_error("the EdDSA value S is not reduced below the group order");
	if (p != end)
		return form_error("bytes after the signature values");
	if (!armor_is(text, len, pkt, n))
		return form_error("the armor is not the canonical encoding of its packet (64-character lines, its checksum)");
	if (issuer) {
		for (i = 0; i < 20; i++) {
			issuer[2 * i] = hex[fpr[i] >> 4];
			issuer[2 * i + 1] = hex[fpr[i] & 15];
		}
		issuer[40] = '\0';
	}
	return 0;
}
