/*
 * summary.c - a dossier's status as its head says it, read cheaply, for the commands that show
 * every dossier at once (kluis list, kluis retention; kluis_dossier_summary in vault.h).
 *
 * kluis_dossier_open opens a repository the general way: libgit2 reads the repository's config
 * and the user's and the system's, about 100 stat(2)s and 20 open(2)s a dossier, which over
 * 10,000 dossiers is seconds. Here: main's id from its ref file (or packed-refs), then the head
 * commit, its tree and the dossier file through the lean loose-object reader (objstream.c)
 * alone, no config.
 *
 * Invariants: nothing is kept between runs, so what is shown is what the head holds now (as
 * with kluis_dossier_open, the head is read, not verified: `kluis verify` judges it). Whatever
 * this reader does not expect (no plain main ref, an unreadable object) goes to
 * kluis_dossier_open, which reads it the general way (packs too) or names what is wrong.
 */
#include "vault/store/internal.h"
#include "vault/git/objstream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAIN_REF "refs/heads/main"

/* main's id from ID.git/refs/heads/main, else from packed-refs; false: neither holds it plainly */
static bool main_ref(const char *path, git_oid *out)
{
	kluis_buf b = KLUIS_BUF_INIT;
	char *file = kluis_path_join(path, MAIN_REF), *line, *save = NULL;
	bool ok = false;

	if (file && kluis_file_read(&b, file, 128) == 0) {
		ok = b.len == GIT_OID_HEXSZ + 1 && b.ptr[GIT_OID_HEXSZ] == '\n' && git_oid_fromstrn(out, (const char *)b.ptr, GIT_OID_HEXSZ) == 0;
		goto cleanup;
	}
	free(file);
	b.len = 0;
	if (!(file = kluis_path_join(path, "packed-refs")) || kluis_file_read(&b, file, 64 << 20) < 0 || kluis_buf_cstr(&b) < 0)
		goto cleanup;
	for (line = strtok_r((char *)b.ptr, "\n", &save); line && !ok; line = strtok_r(NULL, "\n", &save))
		ok = strlen(line) == GIT_OID_HEXSZ + 1 + strlen(MAIN_REF) && line[GIT_OID_HEXSZ] == ' ' &&
		     strcmp(line + GIT_OID_HEXSZ + 1, MAIN_REF) == 0 && git_oid_fromstrn(out, line, GIT_OID_HEXSZ) == 0;
cleanup:
	kluis_buf_dispose(&b);
	free(file);
	return ok;
}

/*
 * A repository of the dossier's loose objects alone, read by the lean reader: no config, no
 * refs, no pack index scanned. An object it does not give (packed, say after a pull or a git
 * gc; very large) fails the lookup, and kluis_dossier_open reads that dossier instead.
 */
static int open_objects(const char *path, git_repository **repo)
{
	git_odb *odb = NULL;
	git_odb_backend *lean = NULL;
	char *objects = kluis_path_join(path, "objects");
	int err = KLUIS_EGENERIC;

	*repo = NULL;
	if (!objects || git_odb_new(&odb) < 0 || kluis_odb_lean_backend(&lean, objects) < 0)
		goto cleanup;
	if (git_odb_add_backend(odb, lean, 1) < 0) {
		lean->free(lean);
		goto cleanup;
	}
	if (git_repository_wrap_odb(repo, odb) == 0)
		err = 0;
cleanup:
	git_odb_free(odb);
	free(objects);
	return err;
}

static int count_cmp(const void *a, const void *b)
{
	return git_oid_cmp(&((const kluis_entry_count *)a)->tree, &((const kluis_entry_count *)b)->tree);
}

void kluis_entry_memo_sort(kluis_entry_count *v, size_t n)
{
	if (n)
		qsort(v, n, sizeof(*v), count_cmp);
}

/* The entries under entries/XX/ of the head's tree: from the memo by the entries/ tree's id, or
 * counted, one read of each shard. */
static int count_entries(git_repository *repo, git_tree *head, kluis_entry_memo *memo, size_t *count)
{
	git_tree_entry *te = NULL;
	git_tree *entries = NULL, *shard = NULL;
	kluis_entry_count key, *hit = NULL;
	size_t i;
	int rc, err = 0;

	*count = 0;
	rc = git_tree_entry_bypath(&te, head, "entries");
	if (rc == GIT_ENOTFOUND)
		return 0;
	if (rc < 0)
		return KLUIS_EGENERIC;
	git_oid_cpy(&key.tree, git_tree_entry_id(te));
	if (memo && memo->nknown)
		hit = bsearch(&key, memo->known, memo->nknown, sizeof(key), count_cmp);
	if (hit) {
		*count = hit->n;
	} else if (git_tree_lookup(&entries, repo, &key.tree) < 0) {
		err = KLUIS_EGENERIC;
	} else {
		for (i = 0; i < git_tree_entrycount(entries) && err == 0; i++) {
			if (git_tree_lookup(&shard, repo, git_tree_entry_id(git_tree_entry_byindex(entries, i))) < 0)
				err = KLUIS_EGENERIC;
			else
				*count += git_tree_entrycount(shard);
			git_tree_free(shard);
			shard = NULL;
		}
		if (memo)
			memo->misses++;
	}
	if (err == 0 && memo) {
		if (memo->nseen == memo->capseen) {
			kluis_entry_count *g = realloc(memo->seen, (memo->capseen = memo->capseen ? 2 * memo->capseen : 256) * sizeof(*g));
			if (!g) {
				err = KLUIS_EGENERIC;
				goto cleanup;
			}
			memo->seen = g;
		}
		key.n = *count;
		memo->seen[memo->nseen++] = key;
	}
cleanup:
	git_tree_free(entries);
	git_tree_entry_free(te);
	return err;
}

/* The general way, for what the lean one does not read. */
static int summary_general(kluis_vault *v, const char *id, kluis_dossier_status *st)
{
	kluis_dossier *d = NULL;
	int err;

	memset(st, 0, sizeof(*st));
	if ((err = kluis_dossier_open(&d, v, id)) == 0)
		err = kluis_dossier_status_get(d, st);
	kluis_dossier_free(d);
	return err;
}

int kluis_dossier_summary(kluis_vault *v, const char *id, bool count, kluis_entry_memo *memo, kluis_dossier_status *st)
{
	git_repository *repo = NULL;
	git_commit *head = NULL;
	git_tree *tree = NULL;
	kluis_buf text = KLUIS_BUF_INIT;
	kluis_dossier_file f;
	char name[80], *path = NULL;
	int err = KLUIS_EGENERIC;

	memset(st, 0, sizeof(*st));
	if (!kluis_id_valid(id))
		return kluis_error_set(KLUIS_EINVAL, "'%s' is not a dossier id ([a-z0-9-], 1 to 64 characters)", id);
	snprintf(name, sizeof(name), "%s.git", id);
	if (!(path = kluis_path_join(v->dossiers, name)))
		return kluis_error_set(KLUIS_EGENERIC, "out of memory");
	if (!main_ref(path, &st->head) || open_objects(path, &repo) < 0 || git_commit_lookup(&head, repo, &st->head) < 0 ||
	    git_commit_tree(&tree, head) < 0 || kluis_repo_read_path(repo, tree, "dossier", &text) < 0 ||
	    kluis_dossier_file_parse(&f, (const char *)text.ptr, text.len) < 0 || (count && count_entries(repo, tree, memo, &st->entries) < 0))
		goto cleanup;
	snprintf(st->state, sizeof(st->state), "%s", f.state);
	st->created = f.created;
	st->closed = f.closed;
	st->retention_years = f.retention_years;
	st->last_change = (int64_t)git_commit_time(head);
	err = 0;
cleanup:
	git_error_clear();
	kluis_buf_dispose(&text);
	git_tree_free(tree);
	git_commit_free(head);
	git_repository_free(repo);
	free(path);
	return err == 0 ? 0 : summary_general(v, id, st);
}
