/*
 * internal.h - structures shared inside the library (vault.c, dossier.c, entry.c, history.c).
 * Not part of the public API.
 */
#ifndef KLUIS_INTERNAL_H
#define KLUIS_INTERNAL_H

#include "vault/store/vault.h"
#include "vault/git/commitmsg.h"

struct kluis_vault {
	char *root;
	char *dossiers;
	char *as;              /* --as as given, or NULL */
	char actor[41];
	bool actor_resolved;
	kluis_keyring *keyring;
	char **trust;
	size_t ntrust;
	bool trust_loaded;
	kluis_signer *signer;  /* resolved early (kluis_vault_prepare_signing), taken by a txn */
	int *work_locks;       /* flock()ed lock files of this process's work dirs (workdir.c) */
	size_t nwork_locks;
};

/*
 * Remove the work directories under VAULT/tmp whose process is gone (workdir.c): what a
 * transfer, import or pull killed midway left. A live one (its lock held) is never touched.
 * *removed counts them; an error names the first that could not be removed.
 */
int kluis_vault_sweep_workdirs(kluis_vault *v, size_t *removed);
/* Let go of this process's work directory locks (kluis_vault_free). */
void kluis_vault_release_workdirs(kluis_vault *v);
/*
 * kluis_file_temp_beside, the temporary flock()ed while *fd_out is open (keep it open until
 * the file is published), after removing the temporaries beside `path` whose kluis died
 * (workdir.c): a transfer or import killed midway leaves none for good beside --out.
 */
int kluis_file_temp_beside_locked(const char *path, char **tmp_out, int *fd_out);

struct kluis_dossier {
	kluis_vault *vault;
	char id[65];
	char *path;
	git_repository *repo;
	bool has_head;
	git_oid head;
	git_commit *head_commit;
	git_tree *head_tree;
	kluis_roles roles;
	bool held;      /* transferred: held by the opdrachtgever (dossier file state `transferred`) */
	bool scratch;   /* a scratch copy (a sync's replay): its writes move no checkpoint */
};

/* A scratch copy of dossier `id` at `path` (a sync replays this vault's unpublished work on
 * the server's history there): writes go through the same transactions, but the vault's
 * checkpoint is left alone until the copy is adopted. */
int kluis_dossier_open_scratch(kluis_dossier **out, kluis_vault *v, const char *id, const char *path);

/* The actor's signer: the one prepared early if any, else a new one. Caller frees it. */
int kluis_vault_take_signer(kluis_vault *v, kluis_signer **out);

/* Reload head, head tree and roles from refs/heads/main. */
int kluis_dossier_reload(kluis_dossier *d);

/*
 * A write transaction: one signed commit on main (plus the content commit it needs).
 * begin takes the dossier lock, reloads the head, authorizes the actor for `action` and starts
 * resolving the signing key in the background.
 */
typedef struct kluis_txn kluis_txn;
int kluis_txn_begin(kluis_txn **out, kluis_dossier *d, kluis_action action);
/* The role the actor acts in. */
unsigned kluis_txn_role(const kluis_txn *t);
const char *kluis_txn_actor(const kluis_txn *t);
/* Encrypt a stream / buffer to `readers` and store it in content; *p names it. A buffer's
 * p->plain is SHA-256 of its bytes (the commitment of a salted JSON object); a stream's is
 * left empty for the caller to set (an entry body's, salted; see commitment.h). */
int kluis_txn_encrypt_stream(kluis_txn *t, const char *const *readers, size_t nreaders,
			     kluis_pgp_read_fn in, void *in_ctx, kluis_pointer *p);
int kluis_txn_encrypt_buffer(kluis_txn *t, const char *const *readers, size_t nreaders,
			     const void *data, size_t len, kluis_pointer *p);
/* Put a small plaintext file (pointer, roles, dossier) at `path` in the main tree. */
int kluis_txn_put(kluis_txn *t, const char *path, const void *data, size_t len);
/* Remove `path` from the main tree / a ciphertext object from refs/kluis/content. */
int kluis_txn_remove(kluis_txn *t, const char *path);
int kluis_txn_remove_content(kluis_txn *t, const git_oid *oid);
/* Keep a ciphertext object that is already in the object store in content (a replay). */
int kluis_txn_keep_content(kluis_txn *t, const git_oid *oid);
/* Put a pointer file at path. */
int kluis_txn_put_pointer(kluis_txn *t, const char *path, const kluis_pointer *p);
/* Commit: message = subject line, blank line, trailers (already formatted). */
int kluis_txn_commit(kluis_txn *t, const char *subject, const char *trailers, git_oid *out);
void kluis_txn_free(kluis_txn *t);

/* The keys an entry written now is encrypted to: every reader of the head (of a held dossier:
 * the klant and the opdrachtgever), less the opdrachtgever when `restricted` (P8); each
 * checked as a recipient. *readers is malloc'd (the strings are the roles'). */
int kluis_entry_readers(kluis_dossier *d, bool restricted, const char ***readers, size_t *n);

/* Entry tree paths: entries/XX/ID. */
void kluis_entry_dir(const char *entry_id, char out[64]);

/* The dossier file ("kluis-dossier 1" + key value lines). */
typedef struct {
	char id[65];
	int64_t created;
	char state[16];
	int64_t closed;
	int retention_years;
} kluis_dossier_file;
int kluis_dossier_file_parse(kluis_dossier_file *f, const char *text, size_t len);
int kluis_dossier_file_format(const kluis_dossier_file *f, kluis_buf *out);
/* Read the dossier file of the head. */
int kluis_dossier_file_load(kluis_dossier *d, kluis_dossier_file *f);

/*
 * How far apart two clocks may be (seconds): a signature's time and its commit's, a commit and
 * the verifier's clock, a read and the head it read.
 */
#define KLUIS_CLOCK_TOLERANCE (3600)
/*
 * How long before its commit an entry may have been written (its id carries the time): a
 * vault that was offline replays its entries when it syncs, in commits dated then.
 */
#define KLUIS_ENTRY_AGE_MAX (30 * 24 * 3600)
/*
 * How long a writer waits for its clock to pass its parent's time (a commit is never signed
 * before its parent): a vault whose clock is behind by more is told to set it right.
 */
#define KLUIS_CLOCK_WAIT (60)

/* kluis_access_record for a caller that holds the dossier lock already (a write transaction
 * that decrypts for its own decision, e.g. the consent register). */
int kluis_access_record_locked(kluis_dossier *d, const char *entry_id, const char *purpose);
/* A read record naming `head` (a commit of main, not necessarily the head), in the role the
 * actor held there: a sync replays this vault's unpublished reads on the server's log. */
int kluis_access_replay(kluis_dossier *d, const char *entry_id, const char *purpose, const git_oid *head);

/* The event one commit of main (or of the read log, `access`) records: its trailers as `kluis
 * log` reads them, nothing checked (history.c; the commit's own parser for fuzz/fuzz_trailers.c). */
int kluis_event_from_commit(git_commit *c, bool access, kluis_event *ev);

#endif
