/*
 * crypto.h - everything that touches a secret key, through gpgme: signing commits and records,
 * decrypting entries, finding the actor's secret keys.
 *
 * gpg-agent owns passphrases; kluis never sees one. Decrypted bytes go either straight to a
 * file descriptor the user asked for, or into a secret kluis_buf that is wiped on dispose.
 * Each call makes its own gpgme context, so calls may run on different threads at once.
 */
#ifndef KLUIS_CRYPTO_H
#define KLUIS_CRYPTO_H

#include "vault/base/util.h"

#include <stdbool.h>
#include <stddef.h>

/*
 * Whether kluis may overlap gpg processes with its own work on background threads (default
 * yes; in a test build KLUIS_THREADS=0 runs everything on one thread, e.g. under valgrind,
 * whose fork of a threaded process can fail gpgme's double fork).
 */
bool kluis_threads_enabled(void);

/*
 * Initialise gpgme once, before any thread starts. public_only: the process will handle no
 * secret (kluis verify), so librnp's Botan needs no locked memory at all.
 */
int kluis_crypto_init(bool public_only);

/*
 * A signer for one key. _start starts the gpg that lists the key and returns at once; the
 * caller opens, encrypts and writes meanwhile. _begin starts the signing gpg before the
 * bytes to sign exist, so its start-up overlaps the caller's last work; _sign (which begins
 * if _begin was not called) feeds it the bytes and returns an armored detached signature.
 * Errors of _start show at _begin or _sign. One signature per _begin.
 */
typedef struct kluis_signer kluis_signer;
int kluis_signer_start(kluis_signer **out, const char *fpr);
int kluis_signer_begin(kluis_signer *s);
int kluis_signer_sign(kluis_signer *s, const void *data, size_t len, kluis_buf *sig);
void kluis_signer_free(kluis_signer *s);

/* Decrypt an OpenPGP message into `fd` (the caller opened it; nothing else is written). */
int kluis_crypto_decrypt_to_fd(const void *msg, size_t len, int fd);
/* Decrypt into a secret buffer (wiped by kluis_buf_dispose). */
int kluis_crypto_decrypt_to_buf(const void *msg, size_t len, kluis_buf *out);
/*
 * Decrypt into fd (fd >= 0) or else into the secret buffer out, showing every piece of
 * plaintext to `tap` on its way (to hash it while it streams: a body is never held whole
 * for its check). A negative return from tap stops the decryption with that error.
 */
typedef int (*kluis_crypto_tap_fn)(void *ctx, const void *data, size_t len);
int kluis_crypto_decrypt_tapped(const void *msg, size_t len, int fd, kluis_buf *out, kluis_crypto_tap_fn tap, void *tap_ctx);
/* The same, the message read in pieces from rd (kluis_objstream_read fits), never whole: *n_out
 * 0 at its end; a negative return stops the decryption with that error. */
typedef int (*kluis_crypto_read_fn)(void *ctx, void *buf, size_t len, size_t *n_out);
int kluis_crypto_decrypt_tapped_from(kluis_crypto_read_fn rd, void *rd_ctx, int fd, kluis_buf *out, kluis_crypto_tap_fn tap, void *tap_ctx);

/* The usable secret keys in GNUPGHOME: primary fingerprints and first user ids ("" for none),
 * two malloc'd arrays of n strings (kluis_strings_free each). */
int kluis_crypto_secret_keys(char ***fprs, char ***uids, size_t *n);

/* Make a throwaway passphrase-less key (ed25519 signing primary, cv25519 encryption subkey) in
 * the current GNUPGHOME, for `kluis demo` and tests. */
int kluis_crypto_make_key(const char *uid, char fpr_out[41]);

#endif
