/*
 * history.h - the one walk over a dossier's history (history.c): every commit of a ref,
 * oldest first. `kluis log` (history.c), the keys a transfer carries (transfer_keys.c) and
 * the reads a destruction certificate counts (lifecycle.c) walk it.
 */
#ifndef KLUIS_HISTORY_H
#define KLUIS_HISTORY_H

#include <git2.h>

/*
 * Call each(commit, payload) for every commit reachable from `ref`, parents before children
 * (nothing when the ref is absent). A non-zero return of `each` stops the walk and is
 * returned (a positive one is no error). KLUIS_EVERIFY when a commit cannot be read.
 */
int kluis_history_walk(git_repository *repo, const char *ref, int (*each)(git_commit *c, void *payload), void *payload);

#endif
