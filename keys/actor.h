/*
 * actor.h - who runs the command (SPEC "Words", actor): the secret key chosen by --as KEY,
 * else $KLUIS_KEY, else the only secret key in GNUPGHOME. KEY is a fingerprint, its last 8 to
 * 39 hex digits (a key id), or part of the key's user id (a name, an e-mail address), and must
 * pick exactly one secret key: ambiguity is an error that lists the candidates, never a guess
 * (KLUIS_EINVAL for a KEY that picks none or several, KLUIS_EKEY when nothing was chosen).
 */
#ifndef KLUIS_ACTOR_H
#define KLUIS_ACTOR_H

/* Resolve the actor's primary fingerprint into out. `as` may be NULL. */
int kluis_actor_resolve(const char *as, char out[41]);

#endif
