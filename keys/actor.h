/*
 * actor.h - who runs the command (SPEC "Words", actor): the secret key chosen by --as FPR,
 * else $KLUIS_KEY, else the only secret key in GNUPGHOME. Ambiguity is an error, never a guess.
 */
#ifndef KLUIS_ACTOR_H
#define KLUIS_ACTOR_H

/* Resolve the actor's primary fingerprint into out. `as` may be NULL. */
int kluis_actor_resolve(const char *as, char out[41]);

#endif
