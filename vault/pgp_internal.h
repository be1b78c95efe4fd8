/*
 * pgp_internal.h - what pgp.c and pgp_fast.c share: the keyring's inside and the two
 * signature checkers behind kluis_pgp_verify_detached. Not for other modules.
 */
#ifndef KLUIS_PGP_INTERNAL_H
#define KLUIS_PGP_INTERNAL_H

#include "pgp.h"

#include <rnp/rnp.h>
#include <stdbool.h>

/* What the in-process checker knows of one signing key, learnt from librnp once. */
struct kluis_fast_key {
	unsigned char fpr[20]; /* the signing key's own v4 fingerprint (primary or subkey) */
	unsigned char point[32]; /* its Ed25519 public key */
	char primary[41]; /* the primary key's fingerprint, hex */
	int64_t created; /* the signing key's creation time */
	bool usable; /* false: librnp judges this key's signatures (see pgp_fast.c) */
};

struct kluis_keyring {
	rnp_ffi_t ffi;
	int devnull;
	bool sig_fast; /* pgp_fast.c may check signatures (KLUIS_SIG_FAST is not "0") */
	struct kluis_fast_key *fast; /* keys looked up so far; emptied when keys are imported */
	size_t nfast, capfast;
};

/*
 * The in-process checker (pgp_fast.c): 1 when the signature is one it fully understands and
 * it holds, 0 when it declines (any other form, any doubt, or a signature that fails), and
 * then librnp's verdict is the only one. It never reports an error of its own.
 */
int kluis_pgp_verify_fast(kluis_keyring *kr, const void *data, size_t len, const void *sig, size_t sig_len,
			  char signer[41], int64_t *created);
/* librnp's verification, the authority (pgp.c). */
int kluis_pgp_verify_rnp(kluis_keyring *kr, const void *data, size_t len, const void *sig, size_t sig_len,
			 char signer[41], int64_t *created);
/* One OpenPGP packet header at `pos` (RFC 4880 4.2): tag, body offset and length; a partial
 * body length (legal only for data packets) sets *partial. False when malformed. */
bool kluis_pgp_packet_header(const unsigned char *p, size_t len, size_t pos, int *tag, size_t *body,
			     size_t *blen, bool *partial);
/* Forget what pgp_fast.c learnt of the keys (after keys are imported). */
void kluis_pgp_fast_forget(kluis_keyring *kr);

#endif
