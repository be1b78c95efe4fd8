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
 *   verify_par.c      the commits of a run: their object work (gather) on worker threads,
 *                     the order-dependent rules (judge) in order on the calling thread
 *
 * One vctx per run, used by one thread. A worker gathers through its own vctx (vgather_ctx:
 * its own repository handle, keyring, head and content trees), which shares with the run's
 * only the read-only content[] list; gathering emits no finding, it records what it saw in a
 * kluis_vfacts, and judging turns that into the findings, in commit order.
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
	bool content_read;          /* content[] was built (a full run); else look up in content_tree */
	kluis_vkeyids *keyids;
	size_t nkeyids;
	git_oid *main_oids;         /* every main commit, sorted, for the read log */
	size_t nmain;
	git_tree *head_tree;        /* to tell superseded (rewrapped) or erased ciphertext from missing */
	git_oid prev_entries_id;    /* the last checked commit's entries tree, kept for its child */
	git_tree *prev_entries;
	git_commit *last_commit;    /* gather: the last commit read, normally the next one's parent */
	char **restricted;          /* entries withheld from the opdrachtgever (P8), from the trailers */
	size_t nrestricted;
	char **consent_ids;         /* consent entries and whether they reach the opdrachtgever */
	bool *consent_opdr;
	size_t nconsents;
} vctx;

/* What a pointer check saw before the readers of its moment are known (verify_object.c). */
typedef struct {
	char *msg;    /* the finding after "WHAT: ", or NULL */
	char **rcpt;  /* msg NULL, !quiet: the ciphertext's recipient key ids */
	size_t nrcpt;
	bool quiet;   /* nothing to say: its ciphertext is rightly gone (rewrapped or erased since) */
} kluis_vptr;

/* An entry directory a commit adds (or a rewrap replaces). */
typedef struct {
	char *early;  /* "entry ID: <early>" and nothing more, or NULL */
	kluis_vptr meta, body;
} kluis_ventry;

/* An erase's record against the entry it replaces. */
typedef struct {
	char *early;  /* "erase of ID: <early>" and nothing more, or NULL */
	bool other_objects, still_in_content;
	kluis_vptr reason;
} kluis_verase;

typedef struct {
	char **added;
	git_oid *added_oid;
	size_t nadded;
	char **modified;
	git_oid *modified_oid;
	git_oid *modified_old;
	size_t nmodified;
	size_t nremoved;
	char first_removed[32];
} kluis_vdiff;

/* Everything verify_commit.c's rules need of one commit and its parent, read from objects. */
typedef struct {
	git_oid oid;
	bool missing;       /* no commit object: the walk stops here */
	bool has_parent;
	bool tree_missing;  /* its tree or the parent's is unreadable: nothing below is set */
	char *tree_err;     /* tree_missing for another reason than absence: libgit2's words */
	char action_name[32], role_name[32], seqs[32], special[32], consent_ref[32], supersedes[32];
	bool consent_opdr;
	char **named;       /* Kluis-Entry trailers */
	size_t nnamed;
	char **restricted;  /* Kluis-Restricted trailers */
	size_t nrestricted;
	bool sig_ok;
	char *sig_msg;      /* !sig_ok: the finding */
	char signer[41];
	int64_t sigtime;
	char *committer_email;
	int64_t time, parent_time;
	bool roles_same, dossier_same, info_same;  /* the same as the parent's */
	kluis_buf roles_text;  /* its roles file, read when changed or first */
	char *roles_err;       /* ... or why it could not be read */
	char **unexpected;     /* files in the root tree that do not belong there */
	size_t nunexpected;
	char *dossier_id;      /* first commit: the id its dossier file names, NULL if invalid */
	bool diff_failed;
	kluis_vdiff diff;
	kluis_ventry *added;    /* one per diff.added */
	kluis_ventry *modified; /* a rewrap: one per diff.modified */
	bool erase_checked;
	kluis_verase erase;     /* an erase changing one entry */
	bool named_exists, supersedes_exists;  /* in the parent's tree */
	bool info_present;
	bool info_checked;
	kluis_vptr info;
} kluis_vfacts;

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
/* Verify a commit's signature; fills signer. Returns false (with a finding) when it fails. */
bool kluis_vcheck_signature(vctx *v, const git_oid *oid, char signer[41], int64_t *sigtime);
/* The same without the finding: false, and *msg (malloc'd) is its text. */
bool kluis_vsignature(vctx *v, const git_oid *oid, char signer[41], int64_t *sigtime, char **msg);
/* A roles file's bytes (the messages of kluis_vload_roles). */
int kluis_vread_roles(vctx *v, git_tree *tree, kluis_buf *text);
/* Gather: read pointer_blob, check it against refs/kluis/content and its ciphertext (size,
 * sha256; streamed), and read whom that is encrypted to. No finding: they go into *out. */
void kluis_vgather_pointer(vctx *g, const git_oid *pointer_blob, const char *entry_id, const char *name, kluis_vptr *out);
/* Judge: the findings of a gathered pointer against the readers of its moment. */
void kluis_vjudge_pointer(vctx *v, const git_oid *commit, const char *what, const kluis_vptr *p,
			  const char *const *readers, size_t nreaders);
void kluis_vptr_dispose(kluis_vptr *p);

/* verify_commit.c */
/* Gather: read commit `oid` (parent: its parent's id, NULL for the first) through g into f;
 * -1 when memory ran out (f is then not to be judged, only disposed of). */
int kluis_vgather_commit(vctx *g, const git_oid *oid, const git_oid *parent, kluis_vfacts *f);
/* Judge: the rules of one gathered commit against the state v carries; emits the findings. */
void kluis_vjudge_commit(vctx *v, kluis_vfacts *f, unsigned long long *seq);
void kluis_vfacts_dispose(kluis_vfacts *f);

/* verify_par.c */
/*
 * Check chain[0..n) in order (parent: chain[0]'s parent, NULL from the root); stops at a
 * missing commit. The gathering runs on kluis_verify_threads(n) worker threads (none: on
 * this thread); the findings are the same either way. <0: out of memory.
 */
int kluis_vcheck_chain(vctx *v, const git_oid *chain, size_t n, const git_oid *parent, unsigned long long *seq);
/* Worker threads for a run of n commits: KLUIS_THREADS=N (0: none) for any run; unset, the
 * online CPUs, at most 4, for a run of 64 commits or more (an incremental run stays on one). */
unsigned kluis_verify_threads(size_t n);

/* verify_history.c */
int kluis_vmain_chain(vctx *v, const git_oid *head, const git_oid *stop, git_oid **out, size_t *n);
void kluis_vcheck_access(vctx *v, const git_oid *main_head, const git_oid *verified, git_oid *acc_out);
int kluis_void_cmp(const void *a, const void *b);

/* verify_incr.c */
/*
 * Check the object store against the cache `old` (NULL: none) and record it into `out` and
 * the object records beside the cache file `key`, for the next run (see verify_incr.c).
 * *unchanged: `old` is a cache and the store still holds every object it held then, as it
 * was (false: verify everything). An old object that no longer hashes to its id is a finding.
 */
int kluis_vincr_scan(vctx *v, const char *key, const kluis_vcache *old, kluis_vcache *out, bool *unchanged);

#endif
