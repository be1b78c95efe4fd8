/*
 * pgp_internal.h - what pgp.c (keyrings, encryption, recipients) and pgp_verify.c (signature
 * verification and its key policy) share: the keyring's inside. Not for other modules.
 */
#ifndef KLUIS_PGP_INTERNAL_H
#define KLUIS_PGP_INTERNAL_H

#include "vault/pgp/pgp.h"

#include <rnp/rnp.h>
#include <rnp/rnp_err.h>
#include <stdbool.h>
#include <stdint.h>

struct kluis_keyring {
	rnp_ffi_t ffi; /* NULL until librnp is first needed: kluis_keyring_rnp() */
	int devnull;
	int rnp_code; /* why librnp could not be started, kept: asked again, it fails again */
	char rnp_error[512];
	/* the public keyring file as read, given to librnp when it starts; NULL once other keys
	 * were imported (the keys are then no longer one file's) */
	unsigned char *ring;
	size_t ring_len;
	const char *ring_format; /* "KBX" or "GPG" */
	char *ring_path;
};

/* Start librnp for this keyring (give it the keyring file) unless done. */
int kluis_keyring_rnp(kluis_keyring *kr);
/* Redirect stderr to /dev/null (on) and back (off), nested and thread-safe: librnp writes
 * there whatever its log fd says. */
void kluis_pgp_stderr_quiet(kluis_keyring *kr, bool on);
/* The error for a failed librnp call: "what: librnp's reason". */
int kluis_pgp_rnp_fail(int code, rnp_result_t r, const char *what);

#endif
