/*
 * pgp_internal.h - what pgp.c, pgp_fast.c and pgp_facts.c share: the keyring's inside and
 * the two signature checkers behind kluis_pgp_verify_detached. Not for other modules.
 */
#ifndef KLUIS_PGP_INTERNAL_H
#define KLUIS_PGP_INTERNAL_H

#include "pgp.h"

#include "librnp.h"

#include <stdbool.h>
#include <stdint.h>

/* What the in-process checker knows of one signing key, learnt from librnp once. */
struct kluis_fast_key {
	unsigned char fpr[20]; /* the signing key's own v4 fingerprint (primary or subkey) */
	unsigned char point[32]; /* its Ed25519 public key */
	char primary[41]; /* the primary key's fingerprint, hex */
	int64_t created; /* the signing key's creation time */
	bool usable; /* false: librnp judges this key's signatures (see pgp_fast.c) */
};

/* The encryption key ids of one primary key, as kluis_keyring_encryption_keyids gives them. */
struct kluis_enc_keys {
	char primary[41];
	char **ids;
	size_t n;
};

struct kluis_keyring {
	rnp_ffi_t ffi; /* NULL until librnp is first needed: kluis_keyring_rnp() */
	int devnull;
	bool sig_fast; /* pgp_fast.c may check signatures (KLUIS_SIG_FAST is not "0") */
	int rnp_code; /* why librnp could not be started, kept: asked again, it fails again */
	char rnp_error[512];
	/* the public keyring file as read, given to librnp when it starts; NULL once other keys
	 * were imported, and then digest is "" (the keys are no longer one file's) */
	unsigned char *ring;
	size_t ring_len;
	const char *ring_format; /* "KBX" or "GPG" */
	char *ring_path;
	char digest[65]; /* sha256 of ring, what the facts below are facts of */
	/* what was learnt of the keys (pgp_fast.c, pgp_facts.c); emptied when keys are imported */
	struct kluis_fast_key *fast;
	size_t nfast, capfast;
	struct kluis_enc_keys *enc;
	size_t nenc, capenc;
	int64_t facts_time; /* when the oldest of them was learnt; 0: none yet */
	bool facts_new; /* learnt since made, imported or cloned: worth keeping */
};

/* Start librnp for this keyring (load the library, give it the keyring file) unless done. */
int kluis_keyring_rnp(kluis_keyring *kr);
/* Record that something was learnt of the keys just now. */
void kluis_pgp_facts_learnt(kluis_keyring *kr);
/* The encryption key ids of `fpr` if known (copies, as kluis_keyring_encryption_keyids);
 * 1 found, 0 not known, <0 error. */
int kluis_pgp_enc_known(kluis_keyring *kr, const char *fpr, char ***ids, size_t *n);
/* Remember them. */
void kluis_pgp_enc_remember(kluis_keyring *kr, const char *fpr, char *const *ids, size_t n);
/* hex (2n digits, either case) into n bytes */
bool kluis_pgp_unhex(const char *hex, unsigned char *out, size_t n);
/* a slot for one more learnt signing key, NULL when out of memory */
struct kluis_fast_key *kluis_pgp_fast_slot(kluis_keyring *kr);

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
/* Forget what was learnt of the keys (after keys are imported, and when freed). */
void kluis_pgp_facts_forget(kluis_keyring *kr);

#endif
