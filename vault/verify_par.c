/*
 * verify_par.c - the commits of a `kluis verify` run: object work on worker threads, rules in
 * order on the calling thread.
 *
 * Per commit, the expensive part is reading objects (trees, pointers, the ciphertext it adds,
 * streamed and hashed), parsing the recipient packets and checking the signature, and it
 * depends on nothing but the commit and its parent: kluis_vgather_commit does it. The rules
 * that depend on the history before (authority against the parent's roles, the sequence,
 * dates, the consent register, the withheld entries) are kluis_vjudge_commit, which reads no
 * object. A large run gathers on worker threads, each with its own repository handle, keyring
 * (librnp ffi) and head tree, sharing only the read-only list of refs/kluis/content; the
 * calling thread judges the gathered commits strictly in chain order, so the findings, their
 * order and the counts are those of a run on one thread (KLUIS_THREADS=0), which gathers and
 * judges each commit in turn with the same two functions.
 *
 * Workers take up to BATCH consecutive commits at a time (the last commit a worker read is
 * the next one's parent) and run at most WINDOW commits ahead of the judge, so memory stays bounded
 * whatever the length of the history; a commit's facts hold no ciphertext, only its
 * recipients' key ids.
 */
#include "verify_internal.h"
#include "crypto.h"
#include "pgp.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WINDOW 128       /* commits gathered ahead of the judge, at most */
#define BATCH 16         /* consecutive commits a worker takes at once */
#define MIN_PARALLEL 64  /* fewer commits (an incremental run): not worth the threads */
#define MAX_THREADS 16

enum { SLOT_EMPTY, SLOT_READY, SLOT_FAILED };

typedef struct {
	kluis_vfacts f;
	int state;
} slot;

typedef struct {
	pthread_mutex_t lock;
	pthread_cond_t ready;  /* a slot was filled */
	pthread_cond_t space;  /* the judge emptied a slot, or the run stops */
	const git_oid *chain, *parent;
	size_t n;
	slot slots[WINDOW];
	size_t batch;   /* consecutive commits a worker takes at once, at most BATCH */
	size_t next;    /* the first commit no worker has taken */
	size_t judged;  /* commits the judge is done with */
	size_t awaited; /* the commit the judge waits for (n: none), so others wake nobody */
	unsigned waiting; /* workers waiting for space */
	bool stop;
} pool;

typedef struct {
	pool *p;
	vctx g;
	pthread_t thread;
	bool started;
} worker;

unsigned kluis_verify_threads(size_t n)
{
	const char *env = getenv("KLUIS_THREADS");
	char *end;
	unsigned long k;
	long cpus;

	if (!kluis_threads_enabled())
		return 0;
	if (env && *env) {
		k = strtoul(env, &end, 10);
		if (!*end)
			return k > MAX_THREADS ? MAX_THREADS : (unsigned)k;
	}
	if (n < MIN_PARALLEL)
		return 0;
	cpus = sysconf(_SC_NPROCESSORS_ONLN);
	return cpus < 1 ? 1 : cpus > 4 ? 4 : (unsigned)cpus;
}

static void worker_close(worker *w)
{
	vctx *g = &w->g;

	git_tree_free(g->head_tree);
	git_tree_free(g->content_tree);
	git_tree_free(g->prev_entries);
	git_commit_free(g->last_commit);
	kluis_keyring_free(g->kr);
	git_repository_free(g->repo);
	memset(g, 0, sizeof(*g));
}

static void *work(void *arg)
{
	worker *w = arg;
	pool *p = w->p;
	size_t b, e, i;
	int rc;

	for (;;) {
		pthread_mutex_lock(&p->lock);
		while (!p->stop && p->next < p->n && p->next + p->batch > p->judged + WINDOW) {
			p->waiting++;
			pthread_cond_wait(&p->space, &p->lock);
			p->waiting--;
		}
		if (p->stop || p->next >= p->n) {
			pthread_mutex_unlock(&p->lock);
			break;
		}
		b = p->next;
		e = b + p->batch < p->n ? b + p->batch : p->n;
		p->next = e;
		pthread_mutex_unlock(&p->lock);
		/* slots b..e-1 are this worker's until it marks them: e <= judged + WINDOW */
		for (i = b; i < e; i++) {
			rc = kluis_vgather_commit(&w->g, &p->chain[i], i ? &p->chain[i - 1] : p->parent, &p->slots[i % WINDOW].f);
			pthread_mutex_lock(&p->lock);
			p->slots[i % WINDOW].state = rc < 0 ? SLOT_FAILED : SLOT_READY;
			if (p->awaited == i)
				pthread_cond_signal(&p->ready);
			pthread_mutex_unlock(&p->lock);
		}
	}
	/* its repository's object cache is freed here, beside the other worker and the judge,
	 * not one after the other at the join (a second worker_close is a no-op) */
	worker_close(w);
	return NULL;
}

/* A worker's own view of the repository: handle, keyring, head and content trees; content[]
 * is shared. */
static int worker_open(worker *w, vctx *v)
{
	vctx *g = &w->g;

	memset(g, 0, sizeof(*g));
	g->opts = v->opts;
	g->id = v->id;
	g->content = v->content;
	g->ncontent = v->ncontent;
	g->content_read = v->content_read;
	if (kluis_repo_open(&g->repo, git_repository_path(v->repo)) < 0)
		return -1;
	if (kluis_keyring_clone(v->kr, &g->kr) < 0)
		return -1;
	if (v->head_tree && git_tree_lookup(&g->head_tree, g->repo, git_tree_id(v->head_tree)) < 0)
		return -1;
	/* without content[] (an incremental run) pointers are looked up in the tree */
	if (!v->content_read && v->content_tree && git_tree_lookup(&g->content_tree, g->repo, git_tree_id(v->content_tree)) < 0)
		return -1;
	return 0;
}

/* One thread: gather and judge each commit in turn. */
static int check_serial(vctx *v, const git_oid *chain, size_t n, const git_oid *parent, unsigned long long *seq)
{
	kluis_vfacts f;
	size_t i;
	int err = 0;

	for (i = 0; i < n && err == 0; i++) {
		if (kluis_vgather_commit(v, &chain[i], i ? &chain[i - 1] : parent, &f) < 0)
			err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
		else if (f.missing) {
			kluis_vfinding(v, &chain[i], "commit object missing");
			i = n;
		} else
			kluis_vjudge_commit(v, &f, seq);
		kluis_vfacts_dispose(&f);
	}
	return err;
}

int kluis_vcheck_chain(vctx *v, const git_oid *chain, size_t n, const git_oid *parent, unsigned long long *seq)
{
	unsigned want = kluis_verify_threads(n), nw = 0, k;
	worker *ws = NULL;
	pool *p = NULL;
	size_t i;
	int err = 0;

	if (want && (ws = calloc(want, sizeof(*ws))) != NULL && (p = calloc(1, sizeof(*p))) != NULL) {
		pthread_mutex_init(&p->lock, NULL);
		pthread_cond_init(&p->ready, NULL);
		pthread_cond_init(&p->space, NULL);
		p->chain = chain;
		p->parent = parent;
		p->n = n;
		p->awaited = n;
		/* a short run (KLUIS_THREADS=N asks for threads whatever the length) still spreads */
		p->batch = n / (4 * (size_t)want);
		p->batch = p->batch < 1 ? 1 : p->batch > BATCH ? BATCH : p->batch;
		for (k = 0; k < want; k++) {
			ws[nw].p = p;
			if (worker_open(&ws[nw], v) < 0) {
				worker_close(&ws[nw]);
				break;
			}
			if (pthread_create(&ws[nw].thread, NULL, work, &ws[nw]) != 0) {
				worker_close(&ws[nw]);
				break;
			}
			ws[nw++].started = true;
		}
	}
	if (!nw) {
		free(ws);
		if (p) {
			pthread_cond_destroy(&p->space);
			pthread_cond_destroy(&p->ready);
			pthread_mutex_destroy(&p->lock);
			free(p);
		}
		return check_serial(v, chain, n, parent, seq);
	}

	/* judge, in chain order; the workers' verifications keep stderr silenced meanwhile (the
	 * judge writes nothing to it: findings are reported after the run) */
	kluis_pgp_quiet_begin(v->kr);
	for (i = 0; i < n; i++) {
		slot *s = &p->slots[i % WINDOW];
		pthread_mutex_lock(&p->lock);
		if (s->state == SLOT_EMPTY) {
			/* wait for the end of the batch that holds commit i (batches start at multiples
			 * of p->batch, and one worker fills a batch in order), so that the worker wakes
			 * the judge once a batch, not once a commit */
			size_t end = (i / p->batch + 1) * p->batch;

			p->awaited = (end < n ? end : n) - 1;
			while (p->slots[p->awaited % WINDOW].state == SLOT_EMPTY)
				pthread_cond_wait(&p->ready, &p->lock);
			p->awaited = n;
		}
		pthread_mutex_unlock(&p->lock);
		if (s->state == SLOT_FAILED) {
			err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
			break;
		}
		if (s->f.missing) {
			kluis_vfinding(v, &chain[i], "commit object missing");
			break;
		}
		kluis_vjudge_commit(v, &s->f, seq);
		kluis_vfacts_dispose(&s->f);
		pthread_mutex_lock(&p->lock);
		s->state = SLOT_EMPTY;
		p->judged = i + 1;
		if (p->waiting && p->next + p->batch <= p->judged + WINDOW)
			pthread_cond_broadcast(&p->space);
		pthread_mutex_unlock(&p->lock);
	}
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_broadcast(&p->space);
	pthread_mutex_unlock(&p->lock);
	for (k = 0; k < nw; k++) {
		pthread_join(ws[k].thread, NULL);
		worker_close(&ws[k]);
	}
	kluis_pgp_quiet_end(v->kr);
	for (i = 0; i < WINDOW; i++)
		if (p->slots[i].state != SLOT_EMPTY)
			kluis_vfacts_dispose(&p->slots[i].f);
	pthread_cond_destroy(&p->space);
	pthread_cond_destroy(&p->ready);
	pthread_mutex_destroy(&p->lock);
	free(p);
	free(ws);
	return err;
}
