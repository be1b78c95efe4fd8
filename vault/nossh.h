/*
 * nossh.h - libgit2's start does not initialise libssh2 (see nossh.c for why).
 */
#ifndef KLUIS_NOSSH_H
#define KLUIS_NOSSH_H

/* How many times libgit2 asked libssh2 to initialise and kluis skipped it (0: the
 * interposition is not in effect, and libssh2 initialised OpenSSL itself). */
unsigned kluis_nossh_calls(void);

#endif
