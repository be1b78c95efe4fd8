/*
 * pgp_fast.c - Ed25519 signatures checked in process with libsodium; librnp judges all else.
 *
 * Why: a full `kluis verify` checks one signature per commit, and librnp (with Debian's
 * Botan 2) spends about 1.7 M instructions on each Ed25519 check, over half of the whole run
 * (docs/PERFORMANCE.md). libsodium's crypto_sign_verify_detached costs 0.64 M.
 *
 * The invariant: this checker may only *accept* what librnp accepts. So it takes one narrow,
 * fully understood form and declines everything else, leaving the verdict and the reason to
 * librnp (pgp.c):
 *   - one v4 signature packet, armored or binary, nothing before or after it;
 *   - type 0x00 (a binary document), public-key algorithm 22 (EdDSA), hash SHA-256 or SHA-512;
 *   - hashed subpackets only: one creation time, the issuer fingerprint, the issuer key id;
 *     unhashed ones only the issuer key id or fingerprint;
 *   - by an Ed25519 key that librnp calls valid, not revoked, not expired, with no expiry
 *     at all, allowed to sign (and, for a subkey, a primary key of which the same holds),
 *     created no later than the signature, and a signature not dated in the future;
 *   - and the signature holds under libsodium, the stricter verifier (canonical S, no
 *     small-order points). A signature that fails is declined too, and librnp names why.
 * With no expiry and no revocation a key's validity does not depend on time, which is what
 * lets the key be judged once (by librnp) and the signatures by the rules above.
 * tests/unit/test_formats.c mutates a real signature byte by byte and checks, for each
 * variant, that nothing is accepted here that librnp refuses.
 *
 * What is learnt of a key may come from an earlier run (pgp_facts.c, kept MACed by the
 * verifier): facts of the same keyring file's bytes, of the same librnp, less than a day old.
 * Then a run whose signatures are all of this form never starts librnp.
 *
 * A keyring serves one thread at a time (pgp.h), so its key cache needs no lock.
 */
#include "pgp_internal.h"
#include "util.h"

#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SIG_MAX 1024 /* a v4 EdDSA signature packet is about 120 bytes */

static const char armor_begin[] = "-----BEGIN PGP SIGNATURE-----\n";
static const char armor_end[] = "\n-----END PGP SIGNATURE-----";

/* The parts of a signature packet the check needs. */
struct sig_parts {
	const unsigned char *hashed; /* from the version byte to the end of the hashed subpackets */
	size_t hashed_len;
	int hash_algo;
	uint32_t created;
	unsigned char issuer_fpr[20], keyid[8];
	bool has_fpr, has_keyid;
	unsigned char left16[2];
	unsigned char rs[64]; /* R || S, each 32 bytes, as Ed25519 wants them */
};

/* RFC 4880 6.1 */
static uint32_t crc24(const unsigned char *p, size_t len)
{
	uint32_t crc = 0xB704CEu;
	size_t i;
	int b;

	for (i = 0; i < len; i++) {
		crc ^= (uint32_t)p[i] << 16;
		for (b = 0; b < 8; b++) {
			crc <<= 1;
			if (crc & 0x1000000u)
				crc ^= 0x1864CFBu;
		}
	}
	return crc & 0xFFFFFFu;
}

/*
 * The binary packet of an armored signature as git stores it: the begin line, optional
 * "Key: value" header lines, an empty line, base64 lines, "=" and the CRC-24, the end line.
 * Anything else is declined; librnp reads what this does not.
 */
static bool dearmor(const char *in, size_t len, unsigned char *out, size_t cap, size_t *outlen)
{
	const char *p = in, *end = in + len, *body, *crcline, *nl;
	unsigned char crc[3];
	size_t n = 0, got = 0;

	if (len < sizeof(armor_begin) - 1 || memcmp(in, armor_begin, sizeof(armor_begin) - 1) != 0)
		return false;
	p += sizeof(armor_begin) - 1;
	/* header lines, up to the empty line */
	while (p < end && *p != '\n') {
		if (!(nl = memchr(p, '\n', (size_t)(end - p))) || !memchr(p, ':', (size_t)(nl - p)))
			return false;
		p = nl + 1;
	}
	if (p >= end)
		return false;
	body = ++p;
	/* the CRC line: "\n=XXXX" straight before the end line, which ends the input */
	if (!(crcline = memmem(body, (size_t)(end - body), armor_end, sizeof(armor_end) - 1)))
		return false;
	/* after the end line only line ends (git's gpgsig header keeps an empty last line) */
	for (nl = crcline + sizeof(armor_end) - 1; nl < end; nl++)
		if (*nl != '\n')
			return false;
	if (crcline - body < 6 || crcline[-5] != '=' || crcline[-6] != '\n')
		return false;
	if (sodium_base642bin(crc, sizeof(crc), crcline - 4, 4, NULL, &n, NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    n != 3)
		return false;
	if (sodium_base642bin(out, cap, body, (size_t)(crcline - 5 - body), "\n", &got, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0)
		return false;
	if (crc24(out, got) != ((uint32_t)crc[0] << 16 | (uint32_t)crc[1] << 8 | crc[2]))
		return false;
	*outlen = got;
	return true;
}

/* One subpacket's header (RFC 4880 5.2.3.1): its type and body; false when malformed. */
static bool subpacket(const unsigned char *p, size_t len, size_t *pos, int *type, bool *critical,
		      const unsigned char **body, size_t *blen)
{
	size_t at = *pos, l;

	if (at >= len)
		return false;
	if (p[at] < 192) {
		l = p[at];
		at += 1;
	} else if (p[at] < 255) {
		if (at + 1 >= len)
			return false;
		l = ((size_t)(p[at] - 192) << 8) + p[at + 1] + 192;
		at += 2;
	} else {
		if (at + 4 >= len)
			return false;
		l = (size_t)p[at + 1] << 24 | (size_t)p[at + 2] << 16 | (size_t)p[at + 3] << 8 | p[at + 4];
		at += 5;
	}
	if (l < 1 || l > len - at)
		return false;
	*type = p[at] & 0x7f;
	*critical = (p[at] & 0x80) != 0;
	*body = p + at + 1;
	*blen = l - 1;
	*pos = at + l;
	return true;
}

/* The subpackets of one area; `hashed` allows the creation time. */
static bool subpackets(const unsigned char *p, size_t len, bool hashed, struct sig_parts *s, int *ncreated)
{
	const unsigned char *b;
	size_t pos = 0, blen;
	int type;
	bool critical;

	while (pos < len) {
		if (!subpacket(p, len, &pos, &type, &critical, &b, &blen))
			return false;
		if (type == 2 && hashed && blen == 4) {
			s->created = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
			(*ncreated)++;
		} else if (type == 33 && blen == 21 && b[0] == 4) {
			if (s->has_fpr && memcmp(s->issuer_fpr, b + 1, 20) != 0)
				return false;
			memcpy(s->issuer_fpr, b + 1, 20);
			s->has_fpr = true;
		} else if (type == 16 && blen == 8) {
			if (s->has_keyid && memcmp(s->keyid, b, 8) != 0)
				return false;
			memcpy(s->keyid, b, 8);
			s->has_keyid = true;
		} else {
			return false;
		}
	}
	return true;
}

/* An MPI of at most 32 bytes, with its exact bit count, left-padded into out[32]. */
static bool mpi32(const unsigned char *p, size_t len, size_t *pos, unsigned char out[32])
{
	size_t bits, n;

	if (*pos + 2 > len)
		return false;
	bits = (size_t)p[*pos] << 8 | p[*pos + 1];
	n = (bits + 7) / 8;
	if (bits == 0 || n > 32 || *pos + 2 + n > len)
		return false;
	/* the top byte's highest bit is bit (bits - 1) */
	if ((p[*pos + 2] >> ((bits - 1) % 8)) != 1)
		return false;
	memset(out, 0, 32 - n);
	memcpy(out + 32 - n, p + *pos + 2, n);
	*pos += 2 + n;
	return true;
}

static bool parse_signature(const unsigned char *p, size_t len, struct sig_parts *s)
{
	size_t body, blen, pos, hlen, ulen;
	int tag, ncreated = 0;
	bool partial;
	const unsigned char *b;

	memset(s, 0, sizeof(*s));
	if (!kluis_pgp_packet_header(p, len, 0, &tag, &body, &blen, &partial) || partial || tag != 2 ||
	    body + blen != len || blen < 10)
		return false;
	b = p + body;
	/* version 4, type 0x00, EdDSA, SHA-256 or SHA-512 */
	if (b[0] != 4 || b[1] != 0x00 || b[2] != 22 || (b[3] != 8 && b[3] != 10))
		return false;
	s->hash_algo = b[3];
	hlen = (size_t)b[4] << 8 | b[5];
	if (6 + hlen + 2 > blen || !subpackets(b + 6, hlen, true, s, &ncreated))
		return false;
	s->hashed = b;
	s->hashed_len = 6 + hlen;
	pos = 6 + hlen;
	ulen = (size_t)b[pos] << 8 | b[pos + 1];
	pos += 2;
	if (pos + ulen + 2 > blen || !subpackets(b + pos, ulen, false, s, &ncreated))
		return false;
	pos += ulen;
	memcpy(s->left16, b + pos, 2);
	pos += 2;
	if (!mpi32(b, blen, &pos, s->rs) || !mpi32(b, blen, &pos, s->rs + 32) || pos != blen)
		return false;
	if (ncreated != 1 || !(s->has_fpr || s->has_keyid))
		return false;
	if (s->has_fpr && s->has_keyid && memcmp(s->issuer_fpr + 12, s->keyid, 8) != 0)
		return false;
	return true;
}

bool kluis_pgp_unhex(const char *hex, unsigned char *out, size_t n)
{
	size_t got = 0;

	return hex && strlen(hex) == 2 * n &&
	       sodium_hex2bin(out, n, hex, 2 * n, NULL, &got, NULL) == 0 && got == n;
}

/* Valid now, not revoked, not expired and never expiring: validity that time cannot change. */
static bool key_timeless(rnp_key_handle_t key)
{
	bool valid = false, revoked = true, expired = true;
	uint32_t expiry = 1;

	return rnp_key_is_valid(key, &valid) == RNP_SUCCESS && valid &&
	       rnp_key_is_revoked(key, &revoked) == RNP_SUCCESS && !revoked &&
	       rnp_key_is_expired(key, &expired) == RNP_SUCCESS && !expired &&
	       rnp_key_get_expiration(key, &expiry) == RNP_SUCCESS && expiry == 0;
}

/* Its Ed25519 public key: librnp gives it as the MPI "point", 0x40 then 32 bytes. */
static bool key_point(rnp_key_handle_t key, unsigned char point[32])
{
	char *text = NULL;
	json_t *root = NULL;
	const char *type, *curve, *hex;
	bool ok = false;

	if (rnp_key_to_json(key, RNP_JSON_PUBLIC_MPIS, &text) != RNP_SUCCESS || !text)
		return false;
	if (!(root = json_loads(text, 0, NULL)))
		goto cleanup;
	type = json_string_value(json_object_get(root, "type"));
	curve = json_string_value(json_object_get(root, "curve"));
	hex = json_string_value(json_object_get(json_object_get(json_object_get(root, "public key"), "mpis"), "point"));
	ok = type && curve && hex && strcmp(type, "EDDSA") == 0 && strcmp(curve, "Ed25519") == 0 &&
	     strncmp(hex, "40", 2) == 0 && kluis_pgp_unhex(hex + 2, point, 32);
cleanup:
	json_decref(root);
	rnp_buffer_destroy(text);
	return ok;
}

/* What the checker may rely on for `key`; usable is false unless every condition holds. */
static void learn_key(kluis_keyring *kr, rnp_key_handle_t key, struct kluis_fast_key *k)
{
	rnp_key_handle_t primary_key = NULL;
	char *fpr = NULL, *pfpr = NULL;
	bool primary = false, can_sign = false;
	uint32_t created = 0;

	k->usable = false;
	if (rnp_key_get_fprint(key, &fpr) != RNP_SUCCESS || !kluis_pgp_unhex(fpr, k->fpr, 20))
		goto cleanup;
	if (rnp_key_is_primary(key, &primary) != RNP_SUCCESS)
		goto cleanup;
	if (!primary) {
		if (rnp_key_get_primary_fprint(key, &pfpr) != RNP_SUCCESS || !pfpr || strlen(pfpr) != 40 ||
		    rnp_locate_key(kr->ffi, "fingerprint", pfpr, &primary_key) != RNP_SUCCESS || !primary_key ||
		    !key_timeless(primary_key))
			goto cleanup;
	}
	snprintf(k->primary, sizeof(k->primary), "%s", primary ? fpr : pfpr);
	if (!key_timeless(key) || rnp_key_allows_usage(key, "sign", &can_sign) != RNP_SUCCESS || !can_sign ||
	    rnp_key_get_creation(key, &created) != RNP_SUCCESS || !key_point(key, k->point))
		goto cleanup;
	k->created = created;
	k->usable = true;
cleanup:
	rnp_key_handle_destroy(primary_key);
	rnp_buffer_destroy(fpr);
	rnp_buffer_destroy(pfpr);
}

/* The known key the signature names, looked up in librnp on first use; NULL: unknown. */
static const struct kluis_fast_key *find_key(kluis_keyring *kr, const struct sig_parts *s)
{
	rnp_key_handle_t key = NULL;
	struct kluis_fast_key *k;
	char hex[41];
	size_t i;

	for (i = 0; i < kr->nfast; i++) {
		k = &kr->fast[i];
		if (s->has_fpr ? memcmp(k->fpr, s->issuer_fpr, 20) == 0 : memcmp(k->fpr + 12, s->keyid, 8) == 0)
			return k;
	}
	if (s->has_fpr)
		sodium_bin2hex(hex, sizeof(hex), s->issuer_fpr, 20);
	else
		sodium_bin2hex(hex, sizeof(hex), s->keyid, 8);
	for (i = 0; hex[i]; i++)
		hex[i] = (char)(hex[i] >= 'a' ? hex[i] - 'a' + 'A' : hex[i]);
	if (kluis_keyring_rnp(kr) < 0 ||
	    rnp_locate_key(kr->ffi, s->has_fpr ? "fingerprint" : "keyid", hex, &key) != RNP_SUCCESS || !key)
		return NULL;
	if (!(k = kluis_pgp_fast_slot(kr))) {
		rnp_key_handle_destroy(key);
		return NULL;
	}
	memset(k, 0, sizeof(*k));
	learn_key(kr, key, k);
	rnp_key_handle_destroy(key);
	/* the key found must be the one named: a key id names a fingerprint's last 8 bytes */
	if (s->has_fpr ? memcmp(k->fpr, s->issuer_fpr, 20) != 0 : memcmp(k->fpr + 12, s->keyid, 8) != 0)
		return NULL;
	kr->nfast++;
	kluis_pgp_facts_learnt(kr);
	return k;
}

/* The digest the signature is over (RFC 4880 5.2.4): data, hashed part, 0x04 0xFF, length. */
static size_t signed_digest(const struct sig_parts *s, const void *data, size_t len, unsigned char out[64])
{
	unsigned char trailer[6] = { 4, 0xff, (unsigned char)(s->hashed_len >> 24), (unsigned char)(s->hashed_len >> 16),
				     (unsigned char)(s->hashed_len >> 8), (unsigned char)s->hashed_len };

	if (s->hash_algo == 8) {
		crypto_hash_sha256_state h;

		crypto_hash_sha256_init(&h);
		crypto_hash_sha256_update(&h, data, len);
		crypto_hash_sha256_update(&h, s->hashed, s->hashed_len);
		crypto_hash_sha256_update(&h, trailer, sizeof(trailer));
		crypto_hash_sha256_final(&h, out);
		return 32;
	} else {
		crypto_hash_sha512_state h;

		crypto_hash_sha512_init(&h);
		crypto_hash_sha512_update(&h, data, len);
		crypto_hash_sha512_update(&h, s->hashed, s->hashed_len);
		crypto_hash_sha512_update(&h, trailer, sizeof(trailer));
		crypto_hash_sha512_final(&h, out);
		return 64;
	}
}

static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;
static bool sodium_ready;

static void sodium_start(void)
{
	sodium_ready = sodium_init() >= 0;
}

int kluis_pgp_verify_fast(kluis_keyring *kr, const void *data, size_t len, const void *sig, size_t sig_len,
			  char signer[41], int64_t *created)
{
	unsigned char packet[SIG_MAX], digest[64];
	const struct kluis_fast_key *k;
	struct sig_parts s;
	size_t plen, dlen;

	if (pthread_once(&sodium_once, sodium_start) != 0 || !sodium_ready)
		return 0;
	if (sig_len > 0 && (((const unsigned char *)sig)[0] & 0x80)) {
		if (sig_len > sizeof(packet))
			return 0;
		memcpy(packet, sig, sig_len);
		plen = sig_len;
	} else if (!dearmor(sig, sig_len, packet, sizeof(packet), &plen)) {
		return 0;
	}
	if (!parse_signature(packet, plen, &s) || !(k = find_key(kr, &s)) || !k->usable)
		return 0;
	if ((int64_t)s.created < k->created || (time_t)s.created > time(NULL))
		return 0;
	dlen = signed_digest(&s, data, len, digest);
	if (memcmp(digest, s.left16, 2) != 0 || crypto_sign_verify_detached(s.rs, digest, dlen, k->point) != 0)
		return 0;
	snprintf(signer, 41, "%s", k->primary);
	if (created)
		*created = (int64_t)s.created;
	return 1;
}
