/*
 * error.h - the one error idiom of kluis.
 *
 * Every library function returns an int: 0 on success, a negative KLUIS_E* code on failure.
 * The function that detects a failure records a one-line, human-readable message with
 * kluis_error_set(); callers pass the code up unchanged and never overwrite a deeper message
 * with a vaguer one. The CLI prints kluis_error_last() and maps the code to an exit status.
 * The message is per thread.
 */
#ifndef KLUIS_ERROR_H
#define KLUIS_ERROR_H

enum {
	KLUIS_OK = 0,
	KLUIS_EGENERIC = -1,  /* an operation failed (I/O, library error) */
	KLUIS_EINVAL = -2,    /* bad input from the user: maps to exit code 2 */
	KLUIS_ENOTFOUND = -3, /* no such dossier, entry, key */
	KLUIS_EACCESS = -4,   /* the actor's role does not allow this */
	KLUIS_EVERIFY = -5,   /* a signature, hash or invariant did not verify */
	KLUIS_EEXISTS = -6,   /* already exists */
	KLUIS_ECONFLICT = -7, /* a concurrent writer moved a ref */
	KLUIS_ECRYPTO = -8,   /* gpg/OpenPGP failure */
	KLUIS_EKEY = -9,      /* key missing, expired, ambiguous, no encryption subkey */
	KLUIS_ESTATE = -10,   /* the dossier's state does not allow this (closed, transferred) */
};

/* Record the message for the current failure (printf-style) and return `code`. */
int kluis_error_set(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The last recorded message, or "unknown error" (never NULL). */
const char *kluis_error_last(void);

/* Clear the message. */
void kluis_error_clear(void);

#endif
