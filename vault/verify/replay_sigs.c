/*
 * replay_sigs.c - the signatures of a long replay, checked ahead on worker threads.
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
 * With the workers, one more thread reads the ciphertext the replay's pointers name (open,
 * inflate, SHA-1 and SHA-256, the recipients from the packet headers: kluis_rct_check), in the
 * order the replay hands the checks over; the replay makes their findings when it takes them
 * back (replay_objects.c, kluis_rct_drain), in the place the check had in the run.
 */
#include "vault/verify/replay.h"
#include "vault/store/checkpoint.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
	char signer[41];
	int64_t time;
	char *msg;          /* NULL: good */
	int done;           /* 1 once set */
} rsig;

struct rsigs {
	git_odb *odb;
	git_repository *repo;
	const git_oid *chain;
	size_t n;
	rsig *v;
	pthread_mutex_t lock;
	pthread_cond_t ready, more;
	bool stop;
	/* ciphertext checks handed over, in order: done by one thread of their own, taken from ct_taken */
	rct **ct;
	size_t nct, ct_cap, ct_taken, ct_next;
	pthread_t ct_tid;
	bool ct_started;
	size_t nthreads;
	struct rworker {
		struct rsigs *s;
		kluis_keyring *kr;
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
		pthread_mutex_lock(&s->lock);
		s->v[i] = one;
		s->v[i].done = 1;
		pthread_cond_broadcast(&s->ready);
		pthread_mutex_unlock(&s->lock);
	}
	return NULL;
}

#define CT_BATCH 8

/* The ciphertext checks, oldest first, as the replay hands them over. */
static void *ct_work(void *arg)
{
	struct rsigs *s = arg;
	rct *j;

	for (;;) {
		pthread_mutex_lock(&s->lock);
		while (s->ct_next == s->nct && !s->stop)
			pthread_cond_wait(&s->more, &s->lock);
		if (s->stop) {
			pthread_mutex_unlock(&s->lock);
			break;
		}
		j = s->ct[s->ct_next++];
		pthread_mutex_unlock(&s->lock);
		kluis_rct_check(s->repo, j);
		pthread_mutex_lock(&s->lock);
		j->done = true;
		pthread_cond_broadcast(&s->ready);
		pthread_mutex_unlock(&s->lock);
	}
	return NULL;
}

bool kluis_rsigs_ct_put(rsigs *s, rct *j)
{
	bool ok = false;

	if (!s || !s->ct_started)
		return false;
	pthread_mutex_lock(&s->lock);
	if (s->nct == s->ct_cap) {
		size_t cap = s->ct_cap ? 2 * s->ct_cap : 256;
		rct **g = realloc(s->ct, cap * sizeof(*g));
		if (g) {
			s->ct = g;
			s->ct_cap = cap;
		}
	}
	if (s->nct < s->ct_cap) {
		s->ct[s->nct++] = j;
		/* woken for a few at a time (a wake-up is a system call), or when the replay waits */
		if (s->nct - s->ct_next >= CT_BATCH)
			pthread_cond_signal(&s->more);
		ok = true;
	}
	pthread_mutex_unlock(&s->lock);
	return ok;
}

rct *kluis_rsigs_ct_take(rsigs *s, bool wait)
{
	rct *j = NULL;

	if (!s)
		return NULL;
	pthread_mutex_lock(&s->lock);
	if (s->ct_taken < s->nct) {
		if (wait && !s->ct[s->ct_taken]->done)
			pthread_cond_signal(&s->more);
		while (wait && !s->ct[s->ct_taken]->done)
			pthread_cond_wait(&s->ready, &s->lock);
		if (s->ct[s->ct_taken]->done)
			j = s->ct[s->ct_taken++];
	}
	pthread_mutex_unlock(&s->lock);
	return j;
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
	s->repo = repo;
	s->chain = chain;
	s->n = n;
	s->nthreads = nt;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->ready, NULL);
	pthread_cond_init(&s->more, NULL);
	for (k = 0; k < nt; k++) {
		s->w[k].s = s;
		s->w[k].first = k;
		if (kluis_keyring_clone(kr, &s->w[k].kr) < 0)
			break;
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
	/* libgcrypt set up here, once, not by whichever thread hashes first; no thread: the replay
	 * checks the ciphertext itself */
	kluis_gcrypt_init();
	s->ct_started = pthread_create(&s->ct_tid, NULL, ct_work, s) == 0;
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

void kluis_rsigs_stop(rsigs *s)
{
	size_t k;

	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->stop = true;
	pthread_cond_broadcast(&s->more);
	pthread_mutex_unlock(&s->lock);
	for (k = 0; k < s->nthreads; k++) {
		if (s->w[k].started)
			pthread_join(s->w[k].tid, NULL);
		kluis_keyring_free(s->w[k].kr);
	}
	if (s->ct_started)
		pthread_join(s->ct_tid, NULL);
	for (k = s->ct_taken; k < s->nct; k++)
		kluis_rct_free(s->ct[k]);
	free(s->ct);
	for (k = 0; k < s->n; k++)
		free(s->v[k].msg);
	pthread_cond_destroy(&s->more);
	pthread_cond_destroy(&s->ready);
	pthread_mutex_destroy(&s->lock);
	git_odb_free(s->odb);
	free(s->v);
	free(s->w);
	free(s);
}
