/*
 * sync_internal.h - what sync.c (push, pull, sync --all) and reconcile.c (the replay of
 * unpublished work on the server's history) share: the three refs of a dossier.
 */
#ifndef KLUIS_SYNC_INTERNAL_H
#define KLUIS_SYNC_INTERNAL_H

#include "vault/store/internal.h"

#define MAIN_REF "refs/heads/main"
#define CONTENT_REF "refs/kluis/content"
#define ACCESS_REF "refs/kluis/access"

enum { R_MAIN, R_CONTENT, R_ACCESS, R_COUNT };

typedef struct {
	git_oid oid[R_COUNT];
	bool has[R_COUNT];
} ref_set;

/* The vault's `remote URL-PREFIX` line of kluis.conf, or NULL (*out malloc'd). */
int kluis_sync_remote_prefix(kluis_vault *v, char **out);
/* Which of the three refs the server has (git ls-remote). */
int kluis_sync_ls_remote(const char *remote, ref_set *s);

/*
 * Both this vault and the server moved: replay the vault's commits and reads that the server
 * lacks (`local`) on top of the server's (`server`) in the scratch repository at
 * `scratch_path`, whose refs are the server's and which sees the dossier's objects. Each is
 * re-signed by the actor (only the actor's own work is replayed); *final is the scratch's
 * refs afterwards. Nothing local changes here; the caller verifies *final as a whole and
 * adopts it. KLUIS_ECONFLICT, with what to do, when a commit cannot be replayed.
 */
int kluis_reconcile(kluis_vault *v, const char *id, const char *scratch_path, const ref_set *local, const ref_set *server,
		    ref_set *final, size_t *commits, size_t *reads);

#endif
