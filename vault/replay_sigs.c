/*
 * replay_sigs.c - the signatures and ciphertext of a long replay, checked ahead on worker
 * threads.
 *
 * A signature's verdict depends on the commit's bytes and the keyring only, never on the state
 * the replay carries, and librnp's check is the largest single cost of a full replay (about a
 * third, docs/PERFORMANCE.md). So for a run of many commits, worker threads read each commit
 * and make exactly the call the replay would make (kluis_pgp_verify_detached over the object
 * without its gpgsig header), each with its own copy of the keyring (a librnp ffi serves one
 * thread at a time), while the replay judges the commits before it; the replay takes each
 * verdict in turn, waiting for it if need be. The object database is shared: libgit2's
 * git_odb is safe to read from several threads. Nothing here judges: a verdict is what the
 * replay itself would have computed, and the replay still parses every byte of the commit.
 *
 * A worker that could open the repository a second time (a repository handle serves one
 * thread) also checks, for each commit, the ciphertext its new pointers name: the pointer
 * parses, the object is there with the signed size and sha256 (kluis_objstream_check_pointer,
 * the same call), and whom it is encrypted to. Only what checked out is kept, by the pointer
 * blob's id (content-addressed: the same bytes give the same answer in any handle); anything
 * else, and every judgement against the readers of the moment, is the replay's own.
 */
#include "replay.h"
#include "checkpoint.h"
#include "objstream.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A pointer whose ciphertext checked out: its blob, and the recipients' key ids. */
typedef struct {
	git_oid blob;
	char **rcpt;
	size_t nrcpt;
} rptr;

typedef struct {
	char signer[41];
	int64_t time;
	char *msg;          /* NULL: good */
	rptr *ptrs;
	size_t nptrs;
	int done;           /* 1 once set */
} rsig;

#define PREFETCH_MAX 4096  /* pointers a commit's worker checks ahead (a rewrap may name more) */

struct rsigs {
	git_odb *odb;
	const git_oid *chain;
	size_t n;
	rsig *v;
	pthread_mutex_t lock;
	pthread_cond_t ready;
	bool stop;
	size_t nthreads;
	struct rworker {
		struct rsigs *s;
		kluis_keyring *kr;
		git_repository *repo;  /* its own handle, for the ciphertext; NULL: signatures only */
		size_t first;
		pthread_t tid;
		bool started;
	} *w;
};

static void check_one(struct rworker *w, size_t i, rsig *out)
{
	git_odb_object *obj = NULL;
	kluis_buf data = KLUIS_BUF_INIT, sig = KLUIS_BUF_INIT;

	if (git_odb_read(&obj, w->s->odb, &w->s->chain[i]) < 0 || git_odb_object_type(obj) != GIT_OBJECT_COMMIT ||
	    kluis_commit_split_signature(git_odb_object_data(obj), git_odb_object_size(obj), &data, &sig) < 0)
		out->msg = strdup("unreadable");  /* the replay reads it again and says why */
	else if (kluis_pgp_verify_detached(w->kr, data.ptr, data.len, sig.ptr, sig.len, out->signer, &out->time) < 0 &&
		 !(out->msg = strdup(kluis_error_last())))
		out->msg = strdup("out of memory");
	kluis_buf_dispose(&data);
	kluis_buf_dispose(&sig);
	git_odb_object_free(obj);
}

/* Check ahead the ciphertext that pointer blob `blob` names; keep it only if all is well. */
static void prefetch_pointer(struct rworker *w, const git_oid *blob, rsig *out)
{
	git_blob *b = NULL;
	kluis_pointer p;
	kluis_buf head = KLUIS_BUF_INIT;
	git_odb *odb = NULL;
	char **rcpt = NULL;
	size_t nrcpt = 0;
	rptr *g;

	if (out->nptrs >= PREFETCH_MAX || git_blob_lookup(&b, w->repo, blob) < 0 ||
	    kluis_pointer_parse(&p, git_blob_rawcontent(b), (size_t)git_blob_rawsize(b)) < 0 || git_repository_odb(&odb, w->repo) < 0 ||
	    !git_odb_exists(odb, &p.oid) || kluis_objstream_check_pointer(w->repo, &p, &head) < 0 ||
	    kluis_pgp_recipients(w->kr, head.ptr, head.len, &rcpt, &nrcpt) < 0)
		goto cleanup;
	if (!(g = realloc(out->ptrs, (out->nptrs + 1) * sizeof(*g))))
		goto cleanup;
	out->ptrs = g;
	git_oid_cpy(&g[out->nptrs].blob, blob);
	g[out->nptrs].rcpt = rcpt;
	g[out->nptrs].nrcpt = nrcpt;
	out->nptrs++;
	rcpt = NULL;
	nrcpt = 0;
cleanup:
	kluis_pgp_ids_free(rcpt, nrcpt);
	kluis_buf_dispose(&head);
	git_odb_free(odb);
	git_blob_free(b);
}

static bool same(const git_tree_entry *a, const git_tree_entry *b)
{
	return a && b && git_oid_equal(git_tree_entry_id(a), git_tree_entry_id(b));
}

/* Every file of the directories under `t` (to `depth`) that differ from `pt`'s (NULL: all). */
static void prefetch_tree(struct rworker *w, git_tree *t, git_tree *pt, int depth, rsig *out)
{
	size_t i;

	for (i = 0; i < git_tree_entrycount(t); i++) {
		const git_tree_entry *e = git_tree_entry_byindex(t, i), *pe = pt ? git_tree_entry_byname(pt, git_tree_entry_name(e)) : NULL;
		git_tree *sub = NULL, *psub = NULL;
		if (same(e, pe))
			continue;
		if (git_tree_entry_type(e) == GIT_OBJECT_BLOB && depth == 0) {
			prefetch_pointer(w, git_tree_entry_id(e), out);
		} else if (git_tree_entry_type(e) == GIT_OBJECT_TREE && depth > 0 && git_tree_lookup(&sub, w->repo, git_tree_entry_id(e)) == 0) {
			if (pe && git_tree_entry_type(pe) == GIT_OBJECT_TREE)
				git_tree_lookup(&psub, w->repo, git_tree_entry_id(pe));
			prefetch_tree(w, sub, psub, depth - 1, out);
		}
		git_tree_free(sub);
		git_tree_free(psub);
	}
}

/* The pointers commit i adds or changes: the info, and the files of changed entry directories. */
static void prefetch(struct rworker *w, size_t i, rsig *out)
{
	git_commit *c = NULL, *pc = NULL;
	git_tree *t = NULL, *pt = NULL, *e = NULL, *pe = NULL;
	const git_tree_entry *x, *px;

	if (git_commit_lookup(&c, w->repo, &w->s->chain[i]) < 0 || git_commit_parentcount(c) != 1 || git_commit_parent(&pc, c, 0) < 0 ||
	    git_commit_tree(&t, c) < 0 || git_commit_tree(&pt, pc) < 0)
		goto cleanup;
	x = git_tree_entry_byname(t, "info");
	px = git_tree_entry_byname(pt, "info");
	if (x && git_tree_entry_type(x) == GIT_OBJECT_BLOB && !same(x, px))
		prefetch_pointer(w, git_tree_entry_id(x), out);
	x = git_tree_entry_byname(t, "entries");
	px = git_tree_entry_byname(pt, "entries");
	if (x && !same(x, px) && git_tree_entry_type(x) == GIT_OBJECT_TREE && git_tree_lookup(&e, w->repo, git_tree_entry_id(x)) == 0) {
		if (px && git_tree_entry_type(px) == GIT_OBJECT_TREE)
			git_tree_lookup(&pe, w->repo, git_tree_entry_id(px));
		prefetch_tree(w, e, pe, 2, out);  /* shard / entry directory / pointer */
	}
cleanup:
	git_tree_free(e);
	git_tree_free(pe);
	git_tree_free(t);
	git_tree_free(pt);
	git_commit_free(pc);
	git_commit_free(c);
}

static void *work(void *arg)
{
	struct rworker *w = arg;
	struct rsigs *s = w->s;
	size_t i;

	for (i = w->first; i < s->n; i += s->nthreads) {
		rsig one;
		memset(&one, 0, sizeof(one));
		pthread_mutex_lock(&s->lock);
		if (s->stop) {
			pthread_mutex_unlock(&s->lock);
			break;
		}
		pthread_mutex_unlock(&s->lock);
		check_one(w, i, &one);
		if (w->repo && !one.msg)
			prefetch(w, i, &one);
		pthread_mutex_lock(&s->lock);
		s->v[i] = one;
		s->v[i].done = 1;
		pthread_cond_broadcast(&s->ready);
		pthread_mutex_unlock(&s->lock);
	}
	return NULL;
}

/* Workers for a run of n commits: the online CPUs less the replay's own, at most 3; none for a
 * short run (threads cost more than they save there) or on one CPU. */
static size_t workers_for(size_t n)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	const char *force = KLUIS_SEAM("KLUIS_THREADS");  /* N workers for any run, 0 none */

	if (force && *force)
		return (size_t)strtoul(force, NULL, 10) > 8 ? 8 : (size_t)strtoul(force, NULL, 10);
	if (n < 64 || cpus < 2)
		return 0;
	return cpus - 1 > 3 ? 3 : (size_t)(cpus - 1);
}

int kluis_rsigs_start(rsigs **out, git_repository *repo, kluis_keyring *kr, const git_oid *chain, size_t n)
{
	struct rsigs *s;
	size_t k, nt = workers_for(n);

	*out = NULL;
	if (!nt)
		return 0;
	if (!(s = calloc(1, sizeof(*s))) || !(s->v = calloc(n, sizeof(*s->v))) || !(s->w = calloc(nt, sizeof(*s->w))) ||
	    git_repository_odb(&s->odb, repo) < 0) {
		if (s) {
			free(s->v);
			free(s->w);
			git_odb_free(s->odb);
		}
		free(s);
		return 0;  /* no workers: the replay checks every signature itself */
	}
	s->chain = chain;
	s->n = n;
	s->nthreads = nt;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->ready, NULL);
	for (k = 0; k < nt; k++) {
		s->w[k].s = s;
		s->w[k].first = k;
		if (kluis_keyring_clone(kr, &s->w[k].kr) < 0)
			break;
		/* a handle of its own for the ciphertext (none for a repository that is not a plain
		 * directory, e.g. one the server's hook sees in quarantine: then signatures only) */
		if (!getenv("GIT_QUARANTINE_PATH") && !getenv("GIT_OBJECT_DIRECTORY"))
			kluis_repo_open(&s->w[k].repo, git_repository_path(repo));
	}
	/* all or nothing: a verdict a missing worker would owe never comes */
	if (k == nt)
		for (k = 0; k < nt; k++)
			s->w[k].started = pthread_create(&s->w[k].tid, NULL, work, &s->w[k]) == 0;
	for (k = 0; k < nt; k++)
		if (!s->w[k].started) {
			kluis_rsigs_stop(s);
			return 0;
		}
	*out = s;
	return 0;
}

bool kluis_rsigs_take(rsigs *s, const git_oid *oid, size_t i, char signer[41], int64_t *t, int *err)
{
	rsig *v;

	if (!s || i >= s->n || !git_oid_equal(&s->chain[i], oid))
		return false;
	pthread_mutex_lock(&s->lock);
	while (!s->v[i].done)
		pthread_cond_wait(&s->ready, &s->lock);
	pthread_mutex_unlock(&s->lock);
	v = &s->v[i];
	memcpy(signer, v->signer, 41);
	*t = v->time;
	*err = v->msg ? kluis_error_set(KLUIS_EVERIFY, "%s", v->msg) : 0;
	return true;
}

bool kluis_rsigs_pointer(rsigs *s, size_t i, const git_oid *blob, char ***rcpt, size_t *nrcpt)
{
	size_t k;

	if (!s || i >= s->n || !s->v[i].done)
		return false;
	for (k = 0; k < s->v[i].nptrs; k++)
		if (git_oid_equal(&s->v[i].ptrs[k].blob, blob)) {
			*rcpt = s->v[i].ptrs[k].rcpt;
			*nrcpt = s->v[i].ptrs[k].nrcpt;
			return true;
		}
	return false;
}

void kluis_rsigs_stop(rsigs *s)
{
	size_t k;

	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->stop = true;
	pthread_mutex_unlock(&s->lock);
	for (k = 0; k < s->nthreads; k++) {
		if (s->w[k].started)
			pthread_join(s->w[k].tid, NULL);
		kluis_keyring_free(s->w[k].kr);
		git_repository_free(s->w[k].repo);
	}
	for (k = 0; k < s->n; k++) {
		size_t j;
		free(s->v[k].msg);
		for (j = 0; j < s->v[k].nptrs; j++)
			kluis_pgp_ids_free(s->v[k].ptrs[j].rcpt, s->v[k].ptrs[j].nrcpt);
		free(s->v[k].ptrs);
	}
	pthread_cond_destroy(&s->ready);
	pthread_mutex_destroy(&s->lock);
	git_odb_free(s->odb);
	free(s->v);
	free(s->w);
	free(s);
}
