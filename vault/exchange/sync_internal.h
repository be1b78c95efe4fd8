/*
 * sync_internal.h - what sync.c (push, sync ID), pull.c, sync_all.c and reconcile.c (the
 * replay of unpublished work on the server's history) share: the three refs of a dossier and
 * the plumbing around them.
 */
#ifndef KLUIS_SYNC_INTERNAL_H
#define KLUIS_SYNC_INTERNAL_H

#include "vault/store/internal.h"
#include "vault/verify/verify.h"

#define MAIN_REF "refs/heads/main"
#define CONTENT_REF "refs/kluis/content"
#define ACCESS_REF "refs/kluis/access"

enum { R_MAIN, R_CONTENT, R_ACCESS, R_COUNT };

typedef struct {
	git_oid oid[R_COUNT];
	bool has[R_COUNT];
} ref_set;

/* The three refs' names, in R_ order; where a pull's fetch puts the server's in the scratch. */
extern const char *const kluis_sync_ref_names[R_COUNT];
extern const char *const kluis_sync_incoming_names[R_COUNT];

/* Only the dossier's medewerker or directie sync it (SPEC): KLUIS_EACCESS otherwise. */
int kluis_sync_check_syncer(const kluis_roles *roles, const char *actor, const char *id, const char *what);
/* The refs `names` of repo into s. */
int kluis_sync_read_refs(git_repository *repo, const char *const names[R_COUNT], ref_set *s);
/* KLUIS_EVERIFY: "<what> '<id>' does not verify (<summary>); <tail>". */
int kluis_sync_refuse(const kluis_verify_report *rep, const char *what, const char *id, const char *tail);
/* The two sets name the same commits. */
bool kluis_sync_same_refs(const ref_set *a, const ref_set *b);
/* Point repo's three refs at `s` (an absent one deleted) and drop the incoming ones. */
int kluis_sync_set_refs(git_repository *repo, const ref_set *s);
/* The object is in repo's object database (alternates included). */
bool kluis_sync_has_object(git_repository *repo, const git_oid *oid);
/* VAULT/sync/ID.R: the refs of server `remote` as this vault last saw them (all absent: never). */
int kluis_sync_seen_read(kluis_vault *v, const char *id, const char *remote, ref_set *s);
int kluis_sync_seen_write(kluis_vault *v, const char *id, const char *remote, const ref_set *s);
/* Make git believe the repository shallow at a parentless commit, so only new objects travel
 * (sync.c says why); unmark before the repository is used for anything else. */
int kluis_sync_shallow_mark(const char *repo_path, const git_oid *parentless);
void kluis_sync_shallow_unmark(const char *repo_path);
/* The scratch repository sees the dossier's objects (objects/info/alternates). */
int kluis_sync_add_alternate(const char *scratch, const char *dossier_path);

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
