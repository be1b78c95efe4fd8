/*
 * verify_internal.h - what the parts of `kluis verify` share (not public API; see verify.h).
 *
 *   verify.c          entry points: a repository or a vault's dossier, the checkpoints, the
 *                     verified-state cache around a run
 *   verify_commit.c   the checks of one commit on main against its parent (invariants 3, 4)
 *   verify_object.c   pointers and the ciphertext they name (invariant 1), refs/kluis/content
 *   verify_history.c  the walks: main's first-parent chain, the read log (invariant 6)
 *   verify_incr.c     what an incremental run checks of the old objects (the object store's
 *                     directories against the cache) and what it records for the next run
 *
 * One vctx per run; it is not shared between threads.
 */
#ifndef KLUIS_VERIFY_INTERNAL_H
#define KLUIS_VERIFY_INTERNAL_H

#include "verify.h"
#include "internal.h"
#include "vcache.h"

#define KLUIS_MAIN_REF "refs/heads/main"
#define KLUIS_CONTENT_REF "refs/kluis/content"
#define KLUIS_ACCESS_REF "refs/kluis/access"

typedef struct {
	char fpr[41];
	char **keyids;
	size_t n;
	bool missing;
} kluis_vkeyids;

typedef struct {
	git_repository *repo;
	kluis_keyring *kr;
	const kluis_verify_opts *opts;
	kluis_verify_report *rep;
	const char *id;
	kluis_roles roles;          /* roles at the commit being checked's parent */
	git_tree *content_tree;
	git_oid *content;           /* every ciphertext object refs/kluis/content names, sorted */
	size_t ncontent;
	bool content_read;          /* content[] was built (the tree was readable) */
	kluis_vkeyids *keyids;
	size_t nkeyids;
	git_oid *main_oids;         /* every main commit, sorted, for the read log */
	size_t nmain;
	git_tree *head_tree;        /* to tell superseded (rewrapped) or erased ciphertext from missing */
	git_oid prev_entries_id;    /* the last checked commit's entries tree, kept for its child */
	git_tree *prev_entries;
	char **restricted;          /* entries withheld from the opdrachtgever (P8), from the trailers */
	size_t nrestricted;
	char **consent_ids;         /* consent entries and whether they reach the opdrachtgever */
	bool *consent_opdr;
	size_t nconsents;
} vctx;

void kluis_vfinding(vctx *v, const git_oid *commit, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

bool kluis_vlist_has(char **list, size_t n, const char *s);
void kluis_vlist_add(char ***list, size_t *n, const char *s);

/* verify_object.c */
int kluis_vcontent_load(vctx *v);
bool kluis_vin_content(vctx *v, const git_oid *oid);
/* A blob's bytes; KLUIS_ENOTFOUND when the object is absent, KLUIS_EVERIFY when its bytes do not
 * hash to its id (or it cannot be inflated), KLUIS_EINVAL when it is no blob. */
int kluis_vread_blob(vctx *v, const git_oid *oid, kluis_buf *out);
int kluis_vload_roles(vctx *v, git_tree *tree, kluis_roles *out);
void kluis_vcheck_pointer(vctx *v, const git_oid *commit, const char *what, const git_oid *pointer_blob,
			  const char *const *readers, size_t nreaders, const char *entry_id, const char *name);
/* Verify a commit's signature; fills signer. Returns false (with a finding) when it fails. */
bool kluis_vcheck_signature(vctx *v, const git_oid *oid, char signer[41], int64_t *sigtime);

/* verify_commit.c */
void kluis_vcheck_commit(vctx *v, git_commit *c, git_commit *parent, unsigned long long *seq);

/* verify_history.c */
int kluis_vmain_chain(vctx *v, const git_oid *head, const git_oid *stop, git_oid **out, size_t *n);
void kluis_vcheck_access(vctx *v, const git_oid *main_head, const git_oid *verified, git_oid *acc_out);
int kluis_void_cmp(const void *a, const void *b);

/* verify_incr.c */
/*
 * Stamp the object store's directories into `out` (counting the files older than now),
 * carrying over from `old` what did not change. *unchanged: `old` is a cache and the store
 * still holds every object it held then (false: verify everything).
 */
int kluis_vincr_scan(vctx *v, const kluis_vcache *old, kluis_vcache *out, bool *unchanged);
/* Every ciphertext object refs/kluis/content names is there; re-read those changed since. */
void kluis_vincr_check_content(vctx *v, const git_oid *head, int64_t since);

#endif
