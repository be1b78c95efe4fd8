/*
 * commitment.h - the plaintext commitment of every encrypted object (SPEC invariant 8: no
 * role can change an entry's plaintext).
 *
 * Each pointer carries `plain`, fixed when the object is first written and copied unchanged
 * by a rewrap, so a reader checks what it decrypted against the signed history, whoever
 * re-encrypted it since:
 *   - a JSON object (entry metadata, the dossier info, an erasure's reason): SHA-256 of its
 *     exact bytes; each holds a "salt" member (64 hex of 32 random bytes) so the digest of a
 *     short, guessable text cannot be confirmed by someone without a key;
 *   - an entry body (the original bytes, unchanged so stock `gpg --decrypt` gives them):
 *     SHA-256(salt || body), the 32-byte salt's hex being the metadata's "body_salt";
 *     hashed while it streams, never held whole.
 * A mismatch is KLUIS_EVERIFY "WHAT: its plaintext does not match its signed commitment".
 */
#ifndef KLUIS_COMMITMENT_H
#define KLUIS_COMMITMENT_H

#include "vault/git/repo.h"

#include <jansson.h>

#define KLUIS_SALT_LEN 32

/* Set member "salt" of JSON object j to 64 hex of 32 fresh random bytes. */
int kluis_commitment_salt_json(json_t *j);
/* 32 fresh random bytes (a body's salt) and their lowercase hex. */
int kluis_commitment_new_salt(unsigned char salt[KLUIS_SALT_LEN], char hex[2 * KLUIS_SALT_LEN + 1]);
/* The "body_salt" of an entry's decrypted metadata; KLUIS_EVERIFY when absent or malformed. */
int kluis_commitment_body_salt(const void *meta, size_t len, const char *entry, unsigned char salt[KLUIS_SALT_LEN]);

/* KLUIS_EVERIFY unless digest (64 hex) is p->plain; `what` names the object ("entry ID"). */
int kluis_commitment_check(const kluis_pointer *p, const char *digest, const char *what);

/* The pointer at `path` of `tree`. */
int kluis_commitment_pointer_at(git_repository *repo, const git_tree *tree, const char *path, kluis_pointer *p);

/* Load p's ciphertext (checked against p), decrypt it into the secret buffer out and check
 * SHA-256(out) against p->plain. On any failure out is wiped and empty. */
int kluis_commitment_decrypt_json(git_repository *repo, const kluis_pointer *p, const char *what, kluis_buf *out);

/*
 * Where a body's salt comes from: it is asked for once, before the first plaintext byte is
 * hashed (so a caller may still be decrypting the metadata that holds it meanwhile).
 */
typedef int (*kluis_salt_fn)(void *ctx, unsigned char salt[KLUIS_SALT_LEN]);

/*
 * Decrypt the body ciphertext msg (already checked against p: kluis_pointer_load) into fd
 * (fd >= 0) or else the secret buffer out, hashing salt || plaintext on the way, and check
 * it against p->plain at the end. With an fd the bytes are already written when a mismatch
 * is found: the caller must discard them (a temporary file not renamed into place) or
 * report the failure after them (standard output).
 */
int kluis_commitment_decrypt_body(const void *msg, size_t len, const kluis_pointer *p, const char *entry, kluis_salt_fn salt,
				  void *salt_ctx, int fd, kluis_buf *out);
/* The same, p's ciphertext read from repo in chunks (checked against p in a first pass, then
 * decrypted in a second), so neither it nor (with an fd) the plaintext is ever held whole. */
int kluis_commitment_decrypt_body_stream(git_repository *repo, const kluis_pointer *p, const char *entry, kluis_salt_fn salt, void *salt_ctx,
					 int fd, kluis_buf *out);

/* A kluis_salt_fn that copies the 32 bytes at ctx. */
int kluis_commitment_salt_copy(void *ctx, unsigned char salt[KLUIS_SALT_LEN]);

#endif
