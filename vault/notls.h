/*
 * notls.h - kluis loads no TLS root certificates into libgit2 (see notls.c for why).
 */
#ifndef KLUIS_NOTLS_H
#define KLUIS_NOTLS_H

/* How many times libgit2 asked mbedTLS to load certificates and got none (0: the
 * interposition is not in effect, and libgit2 parsed the system bundle itself). */
unsigned kluis_notls_calls(void);

#endif
