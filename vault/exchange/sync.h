/*
 * sync.h - `kluis push` / `kluis pull`: keeping a dossier in step with a central git server,
 * and the server's side of it (the check its pre-receive hook runs).
 *
 * What is synced: refs/heads/main, refs/kluis/content and refs/kluis/access of VAULT/dossiers/
 * ID.git, nothing else. main and access only move forward (fast-forward); content is one
 * parentless commit that every write replaces, so it follows main.
 *
 * The transport is stock git run as a child process (fixed argv, no shell, a minimal
 * environment): only git's receive-pack runs a server's hooks, and libgit2's local transport
 * writes objects straight into a local-path remote without running any, so a libgit2 push
 * would bypass the server's check exactly where tests and small offices use it (a path on a
 * shared disk). Fetching uses the same child for the same REMOTE semantics (ssh config,
 * credentials, every URL form git knows). All verification is kluis's own, in process.
 *
 * Invariants:
 *   - push sends only a dossier that verifies here (kluis_verify_dossier), exact object ids
 *     read under the dossier lock, atomically (all three refs or none);
 *   - pull fetches into a scratch repository under VAULT/tmp, verifies the exact state the
 *     dossier would have afterwards (kluis_verify_repository, the vault's trust root) and only
 *     then copies the new objects in and moves the local refs by compare-and-swap, under the
 *     dossier lock, content before main; a divergent server changes nothing here;
 *   - the server check refuses anything `kluis verify` would, plus deletions, refs other than
 *     the three, and rewrites of main or access.
 */
#ifndef KLUIS_SYNC_H
#define KLUIS_SYNC_H

#include "vault/verify/verify.h"

typedef struct {
	const char *remote;         /* URL or path as given, or NULL: the default (see below) */
	const char *const *trust;   /* pull: trust roots (--trust), else the vault's */
	size_t ntrust;
} kluis_sync_opts;

typedef struct {
	char *remote;               /* the URL or path used (malloc'd) */
	bool created;               /* pull: the dossier did not exist here and was cloned */
	bool main_moved, access_moved;
	bool up_to_date;            /* nothing had to move */
	bool local_ahead;           /* pull: this vault holds changes the server lacks (push them) */
	git_oid head;               /* main after the operation */
	size_t refs_updated;        /* push: refs the server moved */
	size_t purged;              /* pull: ciphertext objects an incoming erase or rewrap removed */
	bool reconciled;            /* pull: both sides had moved; this vault's work was replayed */
	size_t replayed_commits;    /* then: commits of main and records of the read log replayed */
	size_t replayed_reads;
	bool pushed;                /* sync: something was pushed */
} kluis_sync_result;

/*
 * The remote for dossier `id`: `given` if not NULL; else the dossier repository's
 * remote.origin.url; else the vault's `remote URL-PREFIX` line in kluis.conf with `ID.git`
 * appended (after a `/` unless the prefix ends in `/` or `:`). KLUIS_EINVAL, with a message
 * saying how to set one, when there is none. *out is malloc'd.
 */
int kluis_sync_remote(kluis_vault *v, const char *id, const char *given, char **out);

/*
 * Push dossier `id` to the server. The actor must be the dossier's medewerker or directie
 * (KLUIS_EACCESS); the dossier must verify here (KLUIS_EVERIFY, nothing sent). A push the
 * server refuses (its hook, or not a fast-forward) is KLUIS_EVERIFY or KLUIS_ECONFLICT with
 * the server's reason on one line.
 */
int kluis_sync_push(kluis_vault *v, const char *id, const kluis_sync_opts *o, kluis_sync_result *res);

/*
 * Pull dossier `id` from the server (clone it when the vault does not have it yet).
 * KLUIS_EVERIFY when the server's history does not verify, KLUIS_ECONFLICT when it has
 * diverged from the local one; in both cases nothing local has changed.
 */
int kluis_sync_pull(kluis_vault *v, const char *id, const kluis_sync_opts *o, kluis_sync_result *res);

void kluis_sync_result_dispose(kluis_sync_result *r);

/*
 * Sync dossier `id` both ways: pull (replaying this vault's unpublished work on the server's
 * when both moved), then push what the server lacks. A conflict the replay cannot resolve is
 * KLUIS_ECONFLICT with what to do; nothing local has changed then.
 */
int kluis_sync_dossier(kluis_vault *v, const char *id, const kluis_sync_opts *o, kluis_sync_result *res);

typedef struct {
	size_t dossiers;            /* held by the vault */
	size_t unchanged;           /* the same on the server: nothing was done */
	size_t synced;              /* pulled, pushed or both */
	size_t failed;
	bool one_listing;           /* the server's refs of every dossier came in one round trip */
} kluis_sync_all_result;

/* Called once per dossier that was synced or failed (err: its error, kluis_error_last()). */
typedef void (*kluis_sync_each_fn)(void *ctx, const char *id, int err, const kluis_sync_result *r);

/*
 * Sync every dossier the vault holds with the vault's `remote URL-PREFIX`. The server's refs
 * of all of them are learned first, in one round trip where the server can list them (a
 * local path: read directly; ssh: the server's `kluis-heads` command, see docs/OPERATIONS.md;
 * else one `git ls-remote` per dossier), and only a dossier whose refs differ on either side
 * is pulled and pushed. A failing dossier does not stop the others; returns KLUIS_ECONFLICT
 * when any failed (sum->failed says how many), KLUIS_EINVAL when the vault has no remote.
 */
int kluis_sync_all(kluis_vault *v, const kluis_sync_opts *o, kluis_sync_each_fn each, void *ctx, kluis_sync_all_result *sum);

/* ---- the server side (hooks/pre-receive runs `kluis hook pre-receive`) ---- */

typedef struct {
	char dossier[65];           /* kluis.dossier, else the repository's name without .git */
	size_t updates;             /* ref updates in the push */
	kluis_verify_report report; /* findings when verification refused the push */
} kluis_receive_result;

/*
 * Judge a push in git's pre-receive hook. `input` is the hook's standard input: one
 * `OLD NEW REFNAME` line per ref. The repository and its quarantined new objects are found
 * from the environment git sets (GIT_DIR, GIT_OBJECT_DIRECTORY, GIT_ALTERNATE_OBJECT_
 * DIRECTORIES). Server configuration (git config in that repository):
 *   kluis.trust FPR       trust root(s) of the dossier's first commit (required; several allowed)
 *   kluis.gnupghome DIR   public keyring to verify with (else $GNUPGHOME, else ~/.gnupg)
 *   kluis.dossier ID      the dossier id (else the repository directory's name without .git)
 * The verifier resumes from the hook's own checkpoint (the hook user's cache, receive.c) when
 * the pushed main descends from it; res->report says how many commits it replayed.
 * Returns 0 when the push may go in; KLUIS_EVERIFY (findings in res->report), KLUIS_EACCESS
 * or KLUIS_EINVAL with the reason otherwise.
 */
int kluis_receive_check(const char *input, size_t len, kluis_receive_result *res);

/*
 * Settle a push in git's post-receive hook (`input`: the refs git moved, `OLD NEW REFNAME`).
 * A push without --atomic is applied ref by ref after pre-receive approved it as a whole, and
 * git may refuse some of its refs then: when the refs as they now are do not verify, every
 * ref this push moved is put back (compare-and-swap), and KLUIS_EVERIFY says so.
 */
int kluis_receive_settle(const char *input, size_t len, kluis_receive_result *res);

void kluis_receive_result_dispose(kluis_receive_result *r);

#endif
