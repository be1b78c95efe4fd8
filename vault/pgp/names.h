/*
 * names.h - people instead of fingerprints: the display name of a key from the public keyring
 * (GNUPGHOME), for what a person reads (inzage, export, and later log and audit).
 *
 * A name is the key's first valid user id's name part, else its e-mail address, else the
 * 16-digit key id. The keyring is listed lazily, once, by one gpg process at the first
 * kluis_names_get. Nothing is ever written: not to the keyring, not to a dossier repository
 * (a name is a display aid, never part of the signed record).
 */
#ifndef KLUIS_NAMES_H
#define KLUIS_NAMES_H

typedef struct kluis_names kluis_names;

/* A new, empty name list (0, or KLUIS_EGENERIC when out of memory). Lists nothing yet. */
int kluis_names_load(kluis_names **out);

/*
 * The display name of fpr (40 hex digits, any case). Never NULL: a key the keyring does not
 * hold, or a keyring that cannot be listed, gives the 16-digit key id (the tail of fpr).
 * Valid while names and fpr are.
 */
const char *kluis_names_get(kluis_names *names, const char *fpr);

void kluis_names_free(kluis_names *names);

#endif
