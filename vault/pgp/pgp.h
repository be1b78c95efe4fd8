/*
 * pgp.h - public-key-only OpenPGP work in process (librnp): encrypting to a dossier's readers
 * and verifying detached signatures.
 *
 * Why not gpgme here: gpgme starts one gpg process per operation (about 9 ms each, see
 * NOTES.md), which dominates the cost of adding an entry and makes bulk verification slow.
 * Nothing here touches a secret key; everything that does goes through gpgme (crypto.h).
 * The keyring is read once per command from GNUPGHOME's public keyring, read-only, and
 * given to librnp only when an operation first needs it.
 * librnp is the only OpenPGP implementation in process that judges a signature; pgp_form.c
 * pins the bytes a signature does not cover (its armor and packet framing) to gpg's form.
 */
#ifndef KLUIS_PGP_H
#define KLUIS_PGP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct kluis_keyring kluis_keyring;

/* Write callback for encryption output: return 0 or a negative KLUIS_E* code. */
typedef int (*kluis_pgp_write_fn)(void *ctx, const void *data, size_t len);
/* Read callback for encryption input: set *got (0 at end); return 0 or negative. */
typedef int (*kluis_pgp_read_fn)(void *ctx, void *buf, size_t len, size_t *got);

/* Load the public keys of `gnupghome` (NULL: $GNUPGHOME, else ~/.gnupg). */
int kluis_keyring_open_gnupg(kluis_keyring **out, const char *gnupghome);
/* A keyring from OpenPGP key data (armored or binary), e.g. an archive's keys/. */
int kluis_keyring_open_data(kluis_keyring **out, const void *data, size_t len);
/* Add more OpenPGP key data to a keyring. */
int kluis_keyring_import(kluis_keyring *kr, const void *data, size_t len);
/* A second keyring with the same public keys: a librnp ffi serves one thread at a time, so
 * each thread that verifies gets its own. */
int kluis_keyring_clone(kluis_keyring *kr, kluis_keyring **out);
void kluis_keyring_free(kluis_keyring *kr);

/*
 * Check that `fpr` is a primary key in the keyring that can receive encrypted data now: not
 * revoked, not expired, with a valid encryption subkey. The error names the key and the cause.
 */
int kluis_keyring_check_recipient(kluis_keyring *kr, const char *fpr);

/*
 * Whether the keyring can serve, checked before a verification so that an unreadable
 * keyring is one error, not a finding on every commit: librnp is started and reads it.
 */
int kluis_keyring_ready(kluis_keyring *kr);

/*
 * The sha256 of the keyring file's bytes, naming exactly the keys a verification used;
 * KLUIS_ENOTFOUND when other keys were imported (then no one file names them).
 */
int kluis_keyring_digest(kluis_keyring *kr, char out[65]);

/* Whether the primary key `fpr` is present. */
int kluis_keyring_has_key(kluis_keyring *kr, const char *fpr);

/* Export the public key `fpr` (armored) into a malloc'd buffer. */
int kluis_keyring_export(kluis_keyring *kr, const char *fpr, char **out, size_t *out_len);

/*
 * Encrypt the stream `in` to the primary keys `fprs` (binary OpenPGP, AES-256, no compression,
 * so the size leaks no more than the plaintext's length) and write the ciphertext to `out`.
 */
int kluis_pgp_encrypt(kluis_keyring *kr, const char *const *fprs, size_t nfprs,
		      kluis_pgp_read_fn in, void *in_ctx, kluis_pgp_write_fn out, void *out_ctx);

/* Encrypt a buffer (same contract). */
int kluis_pgp_encrypt_buffer(kluis_keyring *kr, const char *const *fprs, size_t nfprs,
			     const void *data, size_t len, kluis_pgp_write_fn out, void *out_ctx);

/*
 * The signature text `sig` is in the one form gpg writes (pgp_form.c): a canonical ASCII
 * armor (64-character base64 lines, its CRC-24) of one old-format v4 signature packet of a
 * document whose hashed area names the issuer fingerprint and whose unhashed area
 * holds only the issuer key id; minimal MPIs; nothing after. Without a key no one can change
 * a byte of such a signature and keep it valid. `issuer` (may be NULL) gets the hashed issuer
 * fingerprint. KLUIS_EVERIFY naming the first difference.
 */
int kluis_pgp_sig_form(const void *sig, size_t len, char issuer[41]);

/*
 * Verify a detached signature over `data` (pgp_verify.c). librnp alone checks the
 * cryptography; kluis adds its written key policy, which a signature must also pass:
 *
 *   - usage: the key that made it (the subkey or primary named by the signature's issuer)
 *     allows signing (its key flags; librnp 0.16 alone would accept an authentication-only
 *     subkey, gpg and sqv refuse it);
 *   - existence: that key and its primary were created at or before the signature's time;
 *   - expiry: neither had expired at the signature's time (creation + validity period);
 *   - revocation of either: "superseded" or "no longer used" (soft) refuses the signatures
 *     made at or after the revocation's time and keeps those made before; "compromised",
 *     "no reason given" (gpg's own openpgp-revocs.d certificate) or any other reason (hard)
 *     refuses every signature of that key, whenever made.
 *
 * On success (0) `signer` holds the signing key's *primary* fingerprint and `*created` (if
 * not NULL) the signature's creation time; both are also set when the signature is refused
 * but its key is known (signer "" otherwise). Refusals are KLUIS_EVERIFY with one message
 * saying what is wrong: the policy's reason when it is broken, else librnp's.
 */
int kluis_pgp_verify_detached(kluis_keyring *kr, const void *data, size_t len,
			      const void *sig, size_t sig_len, char signer[41], int64_t *created);

/*
 * Keep stderr silenced (librnp's messages of bad signatures) from _begin to _end, nested
 * with the silencing around each verification, so that a run of many verifications does not
 * move file descriptor 2 four times a signature. Nothing else may write to stderr meanwhile.
 */
void kluis_pgp_quiet_begin(kluis_keyring *kr);
void kluis_pgp_quiet_end(kluis_keyring *kr);

/*
 * The key ids (16 hex, upper case) of the public-key recipients of an encrypted message,
 * read from its packets without decrypting. `*ids` is malloc'd; free with kluis_pgp_ids_free.
 */
int kluis_pgp_recipients(kluis_keyring *kr, const void *msg, size_t len, char ***ids, size_t *n);
void kluis_pgp_ids_free(char **ids, size_t n);

/*
 * The packet framing of an encrypted message as kluis writes it, checked as the message
 * streams (feed it every byte in order): public-key session key packets (tag 1) of definite
 * length, then one encrypted data packet (tag 18, 20 or 9: definite, partial or to the end)
 * that ends where the message ends. Anything after it (a literal packet in the clear, say)
 * would be bytes no reader decrypts and no rule looks at. Framing only: nothing is decrypted.
 */
typedef struct {
	int state;                 /* what the next byte is: a header, a length, a body, or past the end */
	uint64_t left;             /* bytes left of the current body or chunk */
	unsigned char hdr[6];      /* a header (or a partial chunk's length) being read */
	size_t hlen;
	bool data_seen, data_final, bad;
} kluis_pgp_frame;
void kluis_pgp_frame_init(kluis_pgp_frame *f);
void kluis_pgp_frame_feed(kluis_pgp_frame *f, const unsigned char *data, size_t n);
/* The message ended exactly at the end of its one encrypted data packet. */
bool kluis_pgp_frame_whole(const kluis_pgp_frame *f);

/* The key ids (16 hex) of every encryption-capable subkey of primary key `fpr`. */
int kluis_keyring_encryption_keyids(kluis_keyring *kr, const char *fpr, char ***ids, size_t *n);

#endif
