/*
 * replay.h - the verifier as a replay of the dossier model (docs/FORMATS.md).
 *
 * `kluis verify` does not run a list of checks. It keeps the state of the dossier that the
 * model defines (dossier file, roles, info, entries with their pointers, consents, closed and
 * transferred, the sequence number and the time) and applies each commit of main to it, oldest
 * first. For every action the model says exactly which paths of the tree may change and how,
 * which trailers the message carries in which order, who may sign it and in which state; the
 * replay derives the expected message, tree shape and object set from the parent state and the
 * commit's own claims, and anything else is a finding. Then the read log is replayed the same
 * way, and refs/kluis/content must hold exactly the ciphertext the final state names.
 *
 * Parts:
 *   replay_commit.c   the commit object: headers, signature, message (byte for byte)
 *   replay_rules.c    the actions: what each may change in the tree, the state transition
 *   replay_objects.c  pointers and the ciphertext they name; refs/kluis/content
 *   replay_readlog.c  refs/kluis/access, and what the transfer commit vouches for it
 *   verify.c          the entry points around a replay
 *
 * One replay per run, on one thread; for a long run, workers read ahead what needs no state
 * (signatures, ciphertext: replay_sigs.c) and the replay makes the findings in order.
 */
#ifndef KLUIS_REPLAY_H
#define KLUIS_REPLAY_H

#include "vault/verify/verify.h"
#include "vault/store/internal.h"

#define KLUIS_MAIN_REF "refs/heads/main"
#define KLUIS_CONTENT_REF "refs/kluis/content"
#define KLUIS_ACCESS_REF "refs/kluis/access"

typedef struct rsigs rsigs;

/*
 * A ciphertext check (replay_objects.c): the pointer's ciphertext read, hashed and its
 * recipients listed, on a worker when the replay has one; the findings are the replay's to
 * make, in the place the check had in the run.
 */
typedef struct rct {
	git_oid commit;
	char what[96];
	char **readers;          /* the readers of its moment (copied) */
	size_t nreaders;
	size_t pos;              /* where its findings go: the findings made before it, less ct_shift then */
	kluis_pointer p;
	/* the verdict (kluis_rct_check) */
	int err;                 /* kluis_objstream_check_pointer's; 0: rcpt, or not_pgp */
	bool not_pgp;
	char *msg;               /* the message of err or not_pgp */
	char **rcpt;
	size_t nrcpt;
	bool done;
} rct;

/* An entry of the state. */
typedef struct {
	char id[KLUIS_ENTRY_ID_LEN + 1];
	bool erased;
	bool restricted;        /* withheld from the opdrachtgever (P8), fixed when added */
	bool consent;           /* a consent record */
	bool grant, consent_opdr, withdrawn;
	git_oid meta, body;     /* ciphertext ids of its pointers (live), else zero */
	git_oid reason;         /* erased: the reason's ciphertext id */
	git_oid added_by;       /* the commit that added it */
} rentry;

typedef struct {
	git_repository *repo;
	kluis_keyring *kr;
	const kluis_verify_opts *opts;
	kluis_verify_report *rep;
	const char *id;

	/* the state after the last applied commit */
	bool started;
	git_oid head;
	git_oid tree;
	int64_t time;
	unsigned long long seq;
	kluis_action last_action;
	kluis_roles roles;
	kluis_dossier_file file;
	git_oid info;           /* the info pointer's ciphertext id */
	rentry *entries;        /* sorted by id */
	size_t nentries, cap;
	bool transferred;
	git_oid xfer_access;    /* what the transfer commit vouches for the read log */
	bool xfer_new;          /* the transfer was replayed in this run (not vouched for by an earlier one) */
	unsigned long long xfer_count;
	git_oid *missing;       /* ciphertext ids absent when introduced (a finding if still named at the end) */
	git_oid *missing_at;
	size_t nmissing;

	/* refs/kluis/content as this run found it, and as a resumed run's checkpoint vouched for it
	 * (its tree and the ciphertext ids it then held, sorted): unchanged shards are not read */
	git_oid content_tree;
	bool have_old_content;
	git_oid old_content_tree;
	git_oid *old_want;
	size_t nold_want;

	/* signatures checked ahead (replay_sigs.c) for main's commits in order, and ciphertext
	 * checks handed over (their findings inserted in place: ct_shift is how many so far) */
	rsigs *sigs;
	size_t sig_next;
	size_t ct_shift;
	/* the caller vouches for the next commit's signature (the ledger's kept verdict,
	 * kluis_replay_vouch_load): taken as its author's, at its own time, not checked again */
	bool sig_vouched;

	/* per-run caches */
	git_odb_object *entries_raw; /* the last entries tree judged, its names in order: the next
				      * commit's parent's (replay_rules.c, diff_entries) */
	struct rkeyids {
		char fpr[41];
		char **ids;
		size_t n;
		bool absent;
	} *keyids;
	size_t nkeyids;
} replay;

void kluis_rfinding(replay *r, const git_oid *commit, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* replay_commit.c */

/* A trailer of a message, in order. */
typedef struct {
	char *key, *value;
} rtrailer;

/* What a commit object says, parsed strictly (every byte accounted for). */
typedef struct {
	git_oid oid;
	git_oid tree;
	git_oid parent;
	bool has_parent;
	char role_name[32];       /* author and committer name */
	char author_fpr[41];      /* author and committer e-mail */
	int64_t time;
	char *subject;            /* the first line */
	rtrailer *tr;
	size_t ntr;
	char signer[41];          /* the signature's primary key; "" when it failed */
	int64_t sigtime;
} rcommit;

/*
 * Read and parse commit `oid`: the headers are exactly tree, parent (at most one), author,
 * committer (identical to author, `<role> <FPR> <time> +0000`), gpgsig (one canonical ASCII
 * armor); the message is a subject, an empty line and `Key: value` trailers, nothing else.
 * The signature is verified over the object without its gpgsig header. Every departure is a
 * finding; returns 0 when the commit can be judged further, <0 when not (its finding made).
 */
int kluis_rcommit_read(replay *r, const git_oid *oid, rcommit *c);
void kluis_rcommit_dispose(rcommit *c);
/* Values of trailer `key`, in order (pointers into c). */
size_t kluis_rcommit_values(const rcommit *c, const char *key, const char **out, size_t max);
const char *kluis_rcommit_value(const rcommit *c, const char *key);
/* The message kluis writes: subject, empty line, trailers as given. */
int kluis_rmessage_format(const char *subject, const rtrailer *tr, size_t n, kluis_buf *out);

/* replay_rules.c */

/* Apply commit `oid` (parent: the state's head) to the state; findings on the way. */
int kluis_replay_commit(replay *r, const git_oid *oid);
rentry *kluis_rentry_find(replay *r, const char *id);

/* replay_objects.c */

/*
 * Read a pointer blob (canonical, version 2) and check the ciphertext it names: in the
 * object store with the signed size and sha256, OpenPGP encrypted to exactly `readers`.
 * `what` names it in findings. Returns 0 with *p filled when the pointer parses (the
 * ciphertext's findings are made here, or when a worker read it, by kluis_rct_drain in the
 * same place among the findings), <0 when it does not (finding made).
 */
int kluis_rpointer_check(replay *r, const git_oid *commit, const char *what, const git_oid *blob, const char *const *readers,
			 size_t nreaders, kluis_pointer *p);
/* Only read a pointer (no ciphertext check): 0, or <0 with a finding. */
int kluis_rpointer_read(replay *r, const git_oid *commit, const char *what, const git_oid *blob, kluis_pointer *p);
/* A blob's bytes; KLUIS_ENOTFOUND when absent, KLUIS_EVERIFY when unreadable or no blob. */
int kluis_rblob(replay *r, const git_oid *oid, kluis_buf *out);
/* Do ciphertext check j (on any thread: it touches no state of the replay). */
void kluis_rct_check(git_repository *repo, rct *j);
/* A tree in git's own encoding of what it holds (replay_objects.c): every tree kluis reads. */
bool kluis_rtree_canonical(const git_tree *t);
void kluis_rct_free(rct *j);
/* Make the findings of the checks handed over that are done (all: wait for each). */
void kluis_rct_drain(replay *r, bool all);
/* refs/kluis/content holds exactly the ciphertext the final state names. */
void kluis_rcontent_check(replay *r);
/* What a resumed run starts from: the ciphertext ids the kept state names (for the check above). */
int kluis_rcontent_resume(replay *r, const git_oid *content_tree);

/* Reload what the state keeps in the tree (roles, dossier file) at r->tree, after a resume. */
int kluis_replay_resume(replay *r);

/* replay_readlog.c */

/*
 * Replay refs/kluis/access against main; what the transfer commit vouched for must hold.
 * `from` (with `from_count` records) is a record already judged (an incremental run), or NULL;
 * `old_head` the main commit the run resumed from (reads of heads up to it are judged by
 * ancestry), or NULL.
 */
void kluis_rreadlog_check(replay *r, const git_oid *main_head, const git_oid *old_head, const git_oid *from, size_t from_count,
			  git_oid *access_head, size_t *count);

/* replay_incoming.c */

/* Every object in the objects directory `incoming` (what arrived) is reached from the three
 * refs, or is in `existing` (NULL: none); each other one is a finding. <0: could not check. */
int kluis_rincoming_check(replay *r, const char *incoming, const char *existing);

/* replay_sigs.c: signatures checked ahead on worker threads (see there) */

/* Start checking the signatures of chain[0..n) ahead (*out NULL: no workers, for a short run). */
int kluis_rsigs_start(rsigs **out, git_repository *repo, kluis_keyring *kr, const git_oid *chain, size_t n);
/* The verdict on chain[i] == oid, waiting for it: true with *err 0 (signer, *t set) or the
 * error (kluis_error_last), as kluis_pgp_verify_detached gave it; false when s has none. */
bool kluis_rsigs_take(rsigs *s, const git_oid *oid, size_t i, char signer[41], int64_t *t, int *err);
/* Hand ciphertext check j over to the worker (false: none, the caller does it); the oldest
 * handed over when done (wait: waiting for it), else NULL. */
bool kluis_rsigs_ct_put(rsigs *s, rct *j);
rct *kluis_rsigs_ct_take(rsigs *s, bool wait);
void kluis_rsigs_stop(rsigs *s);

/* replay_state.c: the verifier's own checkpoint */

/* Where the state of dossier `id` of the vault at `vault_root` is kept (malloc'd), or NULL. */
char *kluis_replay_state_path(const char *vault_root, const char *id);
/* Keep the state r ended in, with the read log's head and length; bound to r's keyring and
 * trust roots. KLUIS_ENOTFOUND when the keyring is not one file's (nothing kept). */
int kluis_replay_state_save(const replay *r, const char *path, const git_oid *access, size_t reads);
/* Load a kept state into the fresh r; KLUIS_ENOTFOUND when there is none that checks out. */
int kluis_replay_state_load(replay *r, const char *path, git_oid *access, size_t *reads);
/* A kept verdict on a chain's signatures alone (the ledger's): its first n commits, up to and
 * including `head`, were all found clean with r's keyring and these trust roots. Save writes it
 * under the same HMAC key; load gives head and n back, KLUIS_ENOTFOUND when nothing checks out. */
int kluis_replay_vouch_save(const replay *r, const char *path, const char *const *trust, size_t ntrust, const git_oid *head, size_t n);
int kluis_replay_vouch_load(const replay *r, const char *path, const char *const *trust, size_t ntrust, git_oid *head, size_t *n);
/* The HMAC-SHA256 of data under the same key, in hex (for other kept verdicts: lifecycle.c). */
int kluis_replay_mac(const void *data, size_t len, char out[65]);

#endif
