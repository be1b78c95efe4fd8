/*
 * replay_incoming.c - what arrives with a history is exactly what its refs reach.
 *
 * A bundle, a transfer archive's bundle and a push carry a pack (and, from kluis's bundle
 * reader, loose objects), and nothing in git stops a pack from holding objects that no ref
 * reaches: a plaintext could ride along into the opdrachtgever's vault or onto the server,
 * where the replay, which follows refs, would never look. So when the caller names the
 * objects directory that holds exactly what arrived (a scratch repository's own, the push's
 * quarantine), every object there must be reached from the three refs (docs/FORMATS.md, "What
 * arrives"), or already be in `existing` (the server's objects before the push: a thin pack's
 * bases, an object pushed twice).
 *
 * The walk starts at the refs and descends only into arrived objects: what was there before
 * was judged before, so a push costs what it brought, and a whole bundle one read of each of
 * its commits and trees (blobs are never read, their ids come from the trees).
 */
#include "vault/verify/replay.h"

#include <git2/odb_backend.h>
#include <git2/sys/odb_backend.h>
#include <stdlib.h>
#include <string.h>

#define SHOWN_MAX 10  /* unreached objects named one by one; the rest counted */

typedef struct {
	git_oid *v;
	unsigned char *hit;
	size_t n, cap;
} oidset;

static int collect(const git_oid *id, void *payload)
{
	oidset *s = payload;

	if (s->n == s->cap) {
		git_oid *g = realloc(s->v, (s->cap = s->cap ? 2 * s->cap : 1024) * sizeof(*g));
		if (!g)
			return -1;
		s->v = g;
	}
	git_oid_cpy(&s->v[s->n++], id);
	return 0;
}

static int oid_cmp(const void *a, const void *b)
{
	return git_oid_cmp(a, b);
}

/* The index of id in the arrived set, or -1. */
static ssize_t find(const oidset *s, const git_oid *id)
{
	const git_oid *p = bsearch(id, s->v, s->n, sizeof(*s->v), oid_cmp);

	return p ? p - s->v : -1;
}

/* The objects of one objects directory alone: its loose objects and packs, no alternates. */
static int open_dir(git_odb **out, const char *objects_dir)
{
	git_odb_backend *loose = NULL, *packs = NULL;

	*out = NULL;
	if (git_odb_new(out) < 0 || git_odb_backend_loose(&loose, objects_dir, -1, 0, 0, 0) < 0 ||
	    git_odb_add_backend(*out, loose, 2) < 0) {
		if (loose && *out)
			loose->free(loose);
		goto fail;
	}
	if (git_odb_backend_pack(&packs, objects_dir) < 0 || git_odb_add_backend(*out, packs, 1) < 0) {
		if (packs)
			packs->free(packs);
		goto fail;
	}
	return 0;
fail:
	git_odb_free(*out);
	*out = NULL;
	return kluis_git_fail(KLUIS_EGENERIC, "cannot list the objects that arrived");
}

/* What is still to visit, each with the type its referrer says it has (a commit's tree and
 * parents, a tree entry's mode): a blob is marked without being read, and the three tips,
 * whose type nothing states, are asked for their header only. */
typedef struct {
	struct visit {
		git_oid id;
		git_object_t type;
	} *v;
	size_t n, cap;
} oidstack;

static int push(oidstack *st, const git_oid *id, git_object_t type)
{
	if (st->n == st->cap) {
		struct visit *g = realloc(st->v, (st->cap = st->cap ? 2 * st->cap : 256) * sizeof(*g));
		if (!g)
			return -1;
		st->v = g;
	}
	git_oid_cpy(&st->v[st->n].id, id);
	st->v[st->n++].type = type;
	return 0;
}

/* Mark every arrived object the refs reach, descending only into arrived ones. */
static int walk(replay *r, oidset *in, oidstack *st)
{
	git_odb *odb = NULL;
	int err = 0;

	if (git_repository_odb(&odb, r->repo) < 0)
		return kluis_git_fail(KLUIS_EGENERIC, "cannot open the object database");
	while (st->n && err == 0) {
		struct visit at = st->v[--st->n];
		ssize_t k = find(in, &at.id);
		size_t size, i;
		git_object *o = NULL;

		if (k < 0 || in->hit[k])
			continue;
		in->hit[k] = 1;
		/* unreadable objects are the replay's findings; here they reach nothing further */
		if ((at.type == GIT_OBJECT_ANY && git_odb_read_header(&size, &at.type, odb, &at.id) < 0) || at.type == GIT_OBJECT_BLOB ||
		    git_object_lookup(&o, r->repo, &at.id, at.type) < 0) {
			git_error_clear();
			continue;
		}
		if (at.type == GIT_OBJECT_COMMIT) {
			const git_commit *c = (const git_commit *)o;
			if (push(st, git_commit_tree_id(c), GIT_OBJECT_TREE) < 0)
				err = -1;
			for (i = 0; err == 0 && i < git_commit_parentcount(c); i++)
				if (push(st, git_commit_parent_id(c, (unsigned)i), GIT_OBJECT_COMMIT) < 0)
					err = -1;
		} else if (at.type == GIT_OBJECT_TREE) {
			const git_tree *t = (const git_tree *)o;
			for (i = 0; err == 0 && i < git_tree_entrycount(t); i++) {
				const git_tree_entry *te = git_tree_entry_byindex(t, i);
				if (push(st, git_tree_entry_id(te), git_tree_entry_type(te)) < 0)
					err = -1;
			}
		} else if (at.type == GIT_OBJECT_TAG) {
			if (push(st, git_tag_target_id((const git_tag *)o), GIT_OBJECT_ANY) < 0)
				err = -1;
		}
		git_object_free(o);
	}
	git_odb_free(odb);
	return err < 0 ? kluis_error_set(KLUIS_EGENERIC, "out of memory") : 0;
}

int kluis_rincoming_check(replay *r, const char *incoming, const char *existing)
{
	static const char *const refs[] = { KLUIS_MAIN_REF, KLUIS_CONTENT_REF, KLUIS_ACCESS_REF };
	git_odb *in_odb = NULL, *old_odb = NULL;
	oidset in = { 0 };
	oidstack st = { 0 };
	size_t i, unreached = 0;
	int err;

	if ((err = open_dir(&in_odb, incoming)) < 0 || (existing && (err = open_dir(&old_odb, existing)) < 0))
		goto cleanup;
	if (git_odb_foreach(in_odb, collect, &in) < 0) {
		err = kluis_git_fail(KLUIS_EGENERIC, "cannot list the objects that arrived");
		goto cleanup;
	}
	if (in.n) {
		qsort(in.v, in.n, sizeof(*in.v), oid_cmp);
		if (!(in.hit = calloc(in.n, 1))) {
			err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
			goto cleanup;
		}
	}
	for (i = 0; i < sizeof(refs) / sizeof(refs[0]); i++) {
		git_oid tip;
		bool has;
		if ((err = kluis_repo_ref(r->repo, refs[i], &tip, &has)) < 0)
			goto cleanup;
		if (has && push(&st, &tip, GIT_OBJECT_ANY) < 0) {
			err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
			goto cleanup;
		}
	}
	if ((err = walk(r, &in, &st)) < 0)
		goto cleanup;
	for (i = 0; i < in.n; i++) {
		char hex[GIT_OID_HEXSZ + 1];
		/* the same object twice in a pack, or already there before it came, is no rider */
		if (in.hit[i] || (i && git_oid_equal(&in.v[i], &in.v[i - 1])) || (old_odb && git_odb_exists(old_odb, &in.v[i])))
			continue;
		if (unreached++ < SHOWN_MAX)
			kluis_rfinding(r, NULL, "object %s that no ref reaches came with this history (nothing may ride along: it could be plaintext)",
				       git_oid_tostr(hex, sizeof(hex), &in.v[i]));
	}
	if (unreached > SHOWN_MAX)
		kluis_rfinding(r, NULL, "%zu more objects that no ref reaches came with this history", unreached - SHOWN_MAX);
	err = 0;
cleanup:
	free(in.v);
	free(in.hit);
	free(st.v);
	git_odb_free(in_odb);
	git_odb_free(old_odb);
	return err;
}
