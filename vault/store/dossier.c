/*
 * dossier.c - one dossier: create, open, status, and the write transaction every command that
 * changes a dossier goes through.
 *
 * Invariants kept here (SPEC 3, 4, 7): every commit on main is signed by the actor and has the
 * previous head as its only parent; the actor's role is checked against the roles at that
 * parent; ciphertext is reachable only from refs/kluis/content, and the signed tree holds
 * pointers to it; content is updated before main, both by compare-and-swap under the dossier
 * lock, so a crash leaves either the whole new commit or none of it.
 */
#include "vault/store/internal.h"
#include "vault/store/commitment.h"
#include "vault/store/checkpoint.h"
#include "hooks/event.h"
#include "vault/pgp/crypto.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAIN_REF "refs/heads/main"
#define CONTENT_REF "refs/kluis/content"

void kluis_entry_dir(const char *entry_id, char out[64])
{
	/* shard by the first two random hex digits: flat per-commit cost as the dossier grows */
	snprintf(out, 64, "entries/%.2s/%s", entry_id + 17, entry_id);
}

int kluis_dossier_file_parse(kluis_dossier_file *f, const char *text, size_t len)
{
	char buf[1024], *line, *save = NULL, key[32], val[128];
	bool magic = false;

	memset(f, 0, sizeof(*f));
	if (len >= sizeof(buf))
		return kluis_error_set(KLUIS_EVERIFY, "dossier file too large");
	memcpy(buf, text, len);
	buf[len] = '\0';
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!magic) {
			if (strcmp(line, "kluis-dossier 1") != 0)
				return kluis_error_set(KLUIS_EVERIFY, "not a kluis dossier file");
			magic = true;
			continue;
		}
		if (sscanf(line, "%31s %127s", key, val) != 2)
			return kluis_error_set(KLUIS_EVERIFY, "dossier file: bad line");
		if (strcmp(key, "id") == 0) {
			if (!kluis_id_valid(val))
				return kluis_error_set(KLUIS_EVERIFY, "dossier file: '%s' is not a dossier id", val);
			snprintf(f->id, sizeof(f->id), "%s", val);
		} else if (strcmp(key, "state") == 0) {
			if (strcmp(val, "open") && strcmp(val, "closed") && strcmp(val, "transferred"))
				return kluis_error_set(KLUIS_EVERIFY, "dossier file: unknown state '%s'", val);
			snprintf(f->state, sizeof(f->state), "%s", val);
		} else if (strcmp(key, "created") == 0) {
			if (kluis_time_parse(val, &f->created) < 0)
				return kluis_error_set(KLUIS_EVERIFY, "dossier file: bad created time");
		} else if (strcmp(key, "closed") == 0 && strcmp(val, "-") != 0) {
			if (kluis_time_parse(val, &f->closed) < 0)
				return kluis_error_set(KLUIS_EVERIFY, "dossier file: bad closed time");
		} else if (strcmp(key, "retention-years") == 0) {
			char *end;
			long y = strtol(val, &end, 10);
			if (*end || y < 1 || y > 100)
				return kluis_error_set(KLUIS_EVERIFY, "dossier file: bad retention-years");
			f->retention_years = (int)y;
		}
	}
	if (!magic || !f->id[0] || !f->state[0] || !f->created || !f->retention_years)
		return kluis_error_set(KLUIS_EVERIFY, "dossier file incomplete");
	return 0;
}

int kluis_dossier_file_format(const kluis_dossier_file *f, kluis_buf *out)
{
	char created[21], closed[21] = "-";

	kluis_time_iso(f->created, created);
	if (f->closed)
		kluis_time_iso(f->closed, closed);
	return kluis_buf_printf(out, "kluis-dossier 1\nid %s\ncreated %s\nstate %s\nclosed %s\nretention-years %d\n",
				f->id, created, f->state, closed, f->retention_years);
}

int kluis_dossier_reload(kluis_dossier *d)
{
	kluis_buf text = KLUIS_BUF_INIT;
	bool exists;
	int err;

	git_tree_free(d->head_tree);
	git_commit_free(d->head_commit);
	d->head_tree = NULL;
	d->head_commit = NULL;
	if ((err = kluis_repo_ref(d->repo, MAIN_REF, &d->head, &exists)) < 0)
		return err;
	d->has_head = exists;
	if (!exists)
		return 0;
	if (git_commit_lookup(&d->head_commit, d->repo, &d->head) < 0 ||
	    git_commit_tree(&d->head_tree, d->head_commit) < 0)
		return kluis_git_fail(KLUIS_EVERIFY, "cannot read the dossier's head commit");
	if ((err = kluis_repo_read_path(d->repo, d->head_tree, "roles", &text)) < 0)
		goto cleanup;
	kluis_roles_dispose(&d->roles);
	if ((err = kluis_roles_parse(&d->roles, (const char *)text.ptr, text.len)) < 0)
		goto cleanup;
	/* a transferred dossier is the opdrachtgever's to hold (W7): other rules apply */
	{
		kluis_dossier_file f;
		if ((err = kluis_dossier_file_load(d, &f)) < 0)
			goto cleanup;
		d->held = strcmp(f.state, "transferred") == 0;
	}
cleanup:
	kluis_buf_dispose(&text);
	return err;
}

/* Open the dossier `id` held in the repository at `path` (NULL: the vault's own). */
static int dossier_open_at(kluis_dossier **out, kluis_vault *v, const char *id, const char *path)
{
	kluis_dossier *d = NULL;
	char name[80];
	int err;

	*out = NULL;
	if (!kluis_id_valid(id))
		return kluis_error_set(KLUIS_EINVAL, "'%s' is not a dossier id ([a-z0-9-], 1 to 64 characters)", id);
	d = calloc(1, sizeof(*d));
	if (!d)
		return kluis_error_set(KLUIS_EGENERIC, "out of memory");
	d->vault = v;
	d->scratch = path != NULL;
	snprintf(d->id, sizeof(d->id), "%s", id);
	snprintf(name, sizeof(name), "%s.git", id);
	d->path = path ? strdup(path) : kluis_path_join(v->dossiers, name);
	if (!d->path) {
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto fail;
	}
	if (!kluis_path_exists(d->path)) {
		err = kluis_error_set(KLUIS_ENOTFOUND, "no dossier '%s' in vault %s (kluis list shows them)", id, v->root);
		goto fail;
	}
	if ((err = kluis_repo_open(&d->repo, d->path)) < 0 || (err = kluis_dossier_reload(d)) < 0)
		goto fail;
	if (!d->has_head) {
		err = kluis_error_set(KLUIS_EVERIFY, "dossier '%s' has no history", id);
		goto fail;
	}
	*out = d;
	return 0;
fail:
	kluis_dossier_free(d);
	return err;
}

int kluis_dossier_open(kluis_dossier **out, kluis_vault *v, const char *id)
{
	return dossier_open_at(out, v, id, NULL);
}

int kluis_dossier_open_scratch(kluis_dossier **out, kluis_vault *v, const char *id, const char *path)
{
	return dossier_open_at(out, v, id, path);
}

void kluis_dossier_free(kluis_dossier *d)
{
	if (!d)
		return;
	git_tree_free(d->head_tree);
	git_commit_free(d->head_commit);
	git_repository_free(d->repo);
	kluis_roles_dispose(&d->roles);
	free(d->path);
	free(d);
}

const char *kluis_dossier_id(const kluis_dossier *d)
{
	return d->id;
}

git_repository *kluis_dossier_repo(kluis_dossier *d)
{
	return d->repo;
}

const kluis_roles *kluis_dossier_roles(const kluis_dossier *d)
{
	return &d->roles;
}

static int count_entries(kluis_dossier *d, size_t *count)
{
	git_tree_entry *te = NULL;
	git_tree *entries = NULL, *shard = NULL;
	size_t i;
	int rc, err = 0;

	*count = 0;
	rc = git_tree_entry_bypath(&te, d->head_tree, "entries");
	if (rc == GIT_ENOTFOUND)
		return 0;
	if (rc < 0 || git_tree_lookup(&entries, d->repo, git_tree_entry_id(te)) < 0) {
		err = kluis_git_fail(KLUIS_EGENERIC, "cannot read the entries");
		goto cleanup;
	}
	for (i = 0; i < git_tree_entrycount(entries); i++) {
		if (git_tree_lookup(&shard, d->repo, git_tree_entry_id(git_tree_entry_byindex(entries, i))) < 0) {
			err = kluis_git_fail(KLUIS_EGENERIC, "cannot read the entries");
			goto cleanup;
		}
		*count += git_tree_entrycount(shard);
		git_tree_free(shard);
		shard = NULL;
	}
cleanup:
	git_tree_free(entries);
	git_tree_entry_free(te);
	return err;
}

int kluis_dossier_file_load(kluis_dossier *d, kluis_dossier_file *f)
{
	kluis_buf text = KLUIS_BUF_INIT;
	int err;

	if ((err = kluis_repo_read_path(d->repo, d->head_tree, "dossier", &text)) == 0)
		err = kluis_dossier_file_parse(f, (const char *)text.ptr, text.len);
	kluis_buf_dispose(&text);
	return err;
}

int kluis_dossier_status_get(kluis_dossier *d, kluis_dossier_status *st)
{
	kluis_dossier_file f;
	int err;

	memset(st, 0, sizeof(*st));
	if ((err = kluis_dossier_file_load(d, &f)) < 0)
		return err;
	snprintf(st->state, sizeof(st->state), "%s", f.state);
	st->created = f.created;
	st->closed = f.closed;
	st->retention_years = f.retention_years;
	st->last_change = (int64_t)git_commit_time(d->head_commit);
	git_oid_cpy(&st->head, &d->head);
	return count_entries(d, &st->entries);
}

/* ---- transactions ---- */

struct kluis_txn {
	kluis_dossier *d;
	int lock_fd;
	unsigned role;
	const char *actor;
	kluis_signer *signer;
	git_tree_update *main_updates;
	size_t nmain;
	git_tree_update *content_updates;
	size_t ncontent;
};

int kluis_txn_begin(kluis_txn **out, kluis_dossier *d, kluis_action action)
{
	kluis_txn *t = NULL;
	int err;

	*out = NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return kluis_error_set(KLUIS_EGENERIC, "out of memory");
	t->d = d;
	t->lock_fd = -1;
	if ((err = kluis_vault_actor(d->vault, &t->actor)) < 0 ||
	    (err = kluis_repo_lock(d->path, &t->lock_fd)) < 0)
		goto fail;
	/* the head may have moved while we waited for the lock */
	if (d->has_head && (err = kluis_dossier_reload(d)) < 0)
		goto fail;
	/* a transfer that a killed attempt left unfinished is finished under the rules that wrote it
	 * (kluis_dossier_transfer writes no second one) */
	if ((err = (d->held && action != KLUIS_ACT_TRANSFER ? kluis_roles_authorize_held : kluis_roles_authorize)(&d->roles, t->actor, action,
												      &t->role)) < 0)
		goto fail;
	/* a head dated further ahead than kluis_txn_commit waits is refused now, before anything
	 * is encrypted into the object store */
	if (d->has_head && (int64_t)git_commit_time(d->head_commit) - kluis_now() > KLUIS_CLOCK_WAIT) {
		err = kluis_error_set(KLUIS_ESTATE, "the last commit of '%s' is dated %lld s ahead of this machine's clock; set the clock right (NTP) and try again",
				      d->id, (long long)((int64_t)git_commit_time(d->head_commit) - kluis_now()));
		goto fail;
	}
	if ((err = kluis_vault_take_signer(d->vault, &t->signer)) < 0)
		goto fail;
	*out = t;
	return 0;
fail:
	kluis_txn_free(t);
	return err;
}

unsigned kluis_txn_role(const kluis_txn *t)
{
	return t->role;
}

const char *kluis_txn_actor(const kluis_txn *t)
{
	return t->actor;
}

static int add_update(git_tree_update **list, size_t *n, const char *path, const git_oid *id, git_tree_update_t action)
{
	git_tree_update *grown = realloc(*list, (*n + 1) * sizeof(**list));
	char *p = strdup(path);

	if (!grown || !p) {
		if (grown)
			*list = grown;
		free(p);
		return kluis_error_set(KLUIS_EGENERIC, "out of memory");
	}
	*list = grown;
	memset(&grown[*n], 0, sizeof(grown[*n]));
	grown[*n].action = action;
	grown[*n].path = p;
	grown[*n].filemode = GIT_FILEMODE_BLOB;
	if (id)
		git_oid_cpy(&grown[*n].id, id);
	(*n)++;
	return 0;
}

static int content_path_for(const git_oid *oid, char out[64])
{
	char hex[GIT_OID_HEXSZ + 1];

	git_oid_tostr(hex, sizeof(hex), oid);
	snprintf(out, 64, "%.2s/%s", hex, hex + 2);
	return 0;
}

static int put_content(kluis_txn *t, const kluis_pointer *p)
{
	return kluis_txn_keep_content(t, &p->oid);
}

int kluis_txn_encrypt_stream(kluis_txn *t, const char *const *readers, size_t nreaders,
			     kluis_pgp_read_fn in, void *in_ctx, kluis_pointer *p)
{
	kluis_keyring *kr;
	kluis_blob_writer *w = NULL;
	int err;

	p->plain[0] = '\0'; /* the caller knows the stream's commitment (a body's is salted) */
	if ((err = kluis_vault_keyring(t->d->vault, &kr)) < 0 ||
	    (err = kluis_blob_writer_new(&w, t->d->repo)) < 0 ||
	    (err = kluis_pgp_encrypt(kr, readers, nreaders, in, in_ctx, kluis_blob_writer_write, w)) < 0 ||
	    (err = kluis_blob_writer_finish(w, p)) < 0)
		goto cleanup;
	err = put_content(t, p);
cleanup:
	kluis_blob_writer_free(w);
	return err;
}

static int buf_sink(void *ctx, const void *data, size_t len)
{
	return kluis_buf_put(ctx, data, len);
}

int kluis_txn_encrypt_buffer(kluis_txn *t, const char *const *readers, size_t nreaders,
			     const void *data, size_t len, kluis_pointer *p)
{
	kluis_keyring *kr;
	kluis_buf ct = KLUIS_BUF_INIT;
	int err;

	if ((err = kluis_vault_keyring(t->d->vault, &kr)) < 0)
		return err;
	/* small objects: collect the ciphertext and write one blob (cheaper than a stream) */
	if ((err = kluis_pgp_encrypt_buffer(kr, readers, nreaders, data, len,
					    buf_sink, &ct)) < 0)
		goto cleanup;
	/* the commitment of a whole (JSON) plaintext is its digest; a caller re-encrypting a
	 * body (rewrap) puts the body's salted commitment back in afterwards */
	if ((err = kluis_repo_blob(t->d->repo, ct.ptr, ct.len, &p->oid)) < 0 ||
	    (err = kluis_sha256_buffer_hex(ct.ptr, ct.len, p->sha256)) < 0 ||
	    (err = kluis_sha256_buffer_hex(data, len, p->plain)) < 0)
		goto cleanup;
	p->size = ct.len;
	err = put_content(t, p);
cleanup:
	kluis_buf_dispose(&ct);
	return err;
}

int kluis_txn_put(kluis_txn *t, const char *path, const void *data, size_t len)
{
	git_oid oid;
	int err;

	if ((err = kluis_repo_blob(t->d->repo, data, len, &oid)) < 0)
		return err;
	return add_update(&t->main_updates, &t->nmain, path, &oid, GIT_TREE_UPDATE_UPSERT);
}

int kluis_txn_remove(kluis_txn *t, const char *path)
{
	return add_update(&t->main_updates, &t->nmain, path, NULL, GIT_TREE_UPDATE_REMOVE);
}

int kluis_txn_remove_content(kluis_txn *t, const git_oid *oid)
{
	char path[64];

	content_path_for(oid, path);
	return add_update(&t->content_updates, &t->ncontent, path, NULL, GIT_TREE_UPDATE_REMOVE);
}

int kluis_txn_keep_content(kluis_txn *t, const git_oid *oid)
{
	char path[64];

	content_path_for(oid, path);
	return add_update(&t->content_updates, &t->ncontent, path, oid, GIT_TREE_UPDATE_UPSERT);
}

int kluis_txn_put_pointer(kluis_txn *t, const char *path, const kluis_pointer *p)
{
	kluis_buf text = KLUIS_BUF_INIT;
	int err;

	if ((err = kluis_pointer_format(p, &text)) == 0)
		err = kluis_txn_put(t, path, text.ptr, text.len);
	kluis_buf_dispose(&text);
	return err;
}

static int empty_tree(git_repository *repo, git_tree **out)
{
	git_treebuilder *tb = NULL;
	git_oid oid;
	int rc;

	if (git_treebuilder_new(&tb, repo, NULL) < 0)
		return kluis_git_fail(KLUIS_EGENERIC, "cannot build a tree");
	rc = git_treebuilder_write(&oid, tb);
	git_treebuilder_free(tb);
	if (rc < 0 || git_tree_lookup(out, repo, &oid) < 0)
		return kluis_git_fail(KLUIS_EGENERIC, "cannot build a tree");
	return 0;
}

static int updated_tree(git_repository *repo, git_tree *base, const git_tree_update *u, size_t n, git_oid *out)
{
	git_tree *empty = NULL;
	int rc;

	if (!base) {
		if (empty_tree(repo, &empty) < 0)
			return KLUIS_EGENERIC;
		base = empty;
	}
	rc = git_tree_create_updated(out, repo, base, n, u);
	git_tree_free(empty);
	if (rc < 0)
		return kluis_git_fail(KLUIS_EGENERIC, "cannot build the new tree");
	return 0;
}

int kluis_txn_commit(kluis_txn *t, const char *subject, const char *trailers, git_oid *out)
{
	kluis_dossier *d = t->d;
	git_commit *content_commit = NULL;
	git_tree *content_tree = NULL;
	git_oid content_old, content_tree_id, content_new, main_tree_id, main_new;
	bool content_exists = false;
	kluis_buf msg = KLUIS_BUF_INIT;
	int64_t now = kluis_now();
	unsigned long long next_seq = 1;
	char seq[32];
	int err;

	/* the signing gpg starts now and is fed the commit when it is built (crypto.c) */
	if ((err = kluis_signer_begin(t->signer)) < 0)
		goto cleanup;
	if ((err = kluis_repo_ref(d->repo, CONTENT_REF, &content_old, &content_exists)) < 0)
		goto cleanup;
	if (t->ncontent) {
		if (content_exists && (git_commit_lookup(&content_commit, d->repo, &content_old) < 0 ||
				       git_commit_tree(&content_tree, content_commit) < 0)) {
			err = kluis_git_fail(KLUIS_EVERIFY, "cannot read refs/kluis/content");
			goto cleanup;
		}
		if ((err = updated_tree(d->repo, content_tree, t->content_updates, t->ncontent, &content_tree_id)) < 0 ||
		    (err = kluis_repo_commit(d->repo, &content_tree_id, NULL, "kluis", "content", 0,
					     "kluis content\n", NULL, &content_new)) < 0)
			goto cleanup;
	}
	if ((err = updated_tree(d->repo, d->head_tree, t->main_updates, t->nmain, &main_tree_id)) < 0)
		goto cleanup;
	/* Kluis-Seq numbers the commits, so a signed head also vouches for the history's length */
	if (d->has_head && kluis_trailer_get(git_commit_message(d->head_commit), "Kluis-Seq", seq, sizeof(seq)))
		next_seq = strtoull(seq, NULL, 10) + 1;
	/* never dated, nor signed, before the parent (FORMATS, "Commit objects"): another vault's
	 * clock may run a little ahead of ours; wait that out, and refuse a clock that is behind
	 * by more than a short wait, rather than write what verify refuses */
	if (d->has_head && (int64_t)git_commit_time(d->head_commit) >= now) {
		int64_t ahead = (int64_t)git_commit_time(d->head_commit) - now;
		if (ahead > KLUIS_CLOCK_WAIT) {
			err = kluis_error_set(KLUIS_ESTATE, "the last commit of '%s' is dated %lld s ahead of this machine's clock; set the clock right (NTP) and try again",
					      d->id, (long long)ahead);
			goto cleanup;
		}
		if (ahead > 0)
			sleep((unsigned)ahead);
		now = kluis_now();
		if (now < (int64_t)git_commit_time(d->head_commit))
			now = (int64_t)git_commit_time(d->head_commit);
	}
	if ((err = kluis_buf_printf(&msg, "%s\n\n%sKluis-Seq: %llu\n", subject, trailers, next_seq)) < 0 ||
	    (err = kluis_repo_commit(d->repo, &main_tree_id, d->has_head ? &d->head : NULL, kluis_role_name(t->role),
				     t->actor, now, (const char *)msg.ptr, t->signer, &main_new)) < 0)
		goto cleanup;
	/* content first: main must never point at ciphertext that content does not hold */
	if (t->ncontent &&
	    (err = kluis_repo_ref_cas(d->repo, CONTENT_REF, &content_new, content_exists ? &content_old : NULL, subject)) < 0)
		goto cleanup;
	if ((err = kluis_repo_ref_cas(d->repo, MAIN_REF, &main_new, d->has_head ? &d->head : NULL, subject)) < 0)
		goto cleanup;
	if (out)
		git_oid_cpy(out, &main_new);
	if ((err = kluis_dossier_reload(d)) < 0)
		goto cleanup;
	/* a scratch copy's commits (a sync's replay) are not the vault's until they are adopted,
	 * and the klant was told of the work they replay when it was first done */
	if (d->scratch)
		goto cleanup;
	/* the checkpoint lags at most one commit behind after a crash here: still a prefix */
	if ((err = kluis_checkpoint_write(d->vault, d->id, d->repo, &main_new)) < 0)
		goto cleanup;
	/* invariant 5: every commit on main is an event for the vault's hooks (hooks/event.h),
	 * queued here and run when the command ends */
	err = kluis_hook_queue(d->vault->root, d->id, d->head_commit, &d->roles);
cleanup:
	kluis_buf_dispose(&msg);
	git_tree_free(content_tree);
	git_commit_free(content_commit);
	return err;
}

void kluis_txn_free(kluis_txn *t)
{
	size_t i;

	if (!t)
		return;
	kluis_signer_free(t->signer);
	for (i = 0; i < t->nmain; i++)
		free((char *)t->main_updates[i].path);
	for (i = 0; i < t->ncontent; i++)
		free((char *)t->content_updates[i].path);
	free(t->main_updates);
	free(t->content_updates);
	kluis_repo_unlock(t->lock_fd);
	free(t);
}

/* ---- init ---- */

static int init_roles(const kluis_init_opts *o, kluis_roles *r)
{
	int err;

	if (!o->klant || !o->medewerker || !o->directie || !o->opdrachtgever)
		return kluis_error_set(KLUIS_EINVAL, "init needs --klant, --medewerker, --directie and --opdrachtgever fingerprints");
	if ((err = kluis_roles_add(r, KLUIS_ROLE_KLANT, o->klant)) < 0 ||
	    (err = kluis_roles_add(r, KLUIS_ROLE_MEDEWERKER, o->medewerker)) < 0 ||
	    (err = kluis_roles_add(r, KLUIS_ROLE_DIRECTIE, o->directie)) < 0 ||
	    (err = kluis_roles_add(r, KLUIS_ROLE_OPDRACHTGEVER, o->opdrachtgever)) < 0 ||
	    (o->vertegenwoordiger && (err = kluis_roles_add(r, KLUIS_ROLE_VERTEGENWOORDIGER, o->vertegenwoordiger)) < 0))
		return err == KLUIS_EEXISTS ? kluis_error_set(KLUIS_EINVAL, "%s", kluis_error_last()) : err;
	return kluis_roles_validate(r);
}

static int check_readers(kluis_vault *v, const kluis_roles *r, unsigned mask, const char ***readers, size_t *n)
{
	kluis_keyring *kr;
	size_t i;
	int err;

	*readers = NULL;
	if ((err = kluis_vault_keyring(v, &kr)) < 0 || (err = kluis_roles_keys(r, mask, readers, n)) < 0)
		return err;
	for (i = 0; i < *n; i++)
		if ((err = kluis_keyring_check_recipient(kr, (*readers)[i])) < 0) {
			free(*readers);
			*readers = NULL;
			return err;
		}
	return 0;
}

static int resolve_trust(kluis_vault *v, const kluis_init_opts *o, const kluis_roles *roles, char trust[41])
{
	const char *const *fprs;
	size_t n, i;
	int err;

	if (o->trust && !kluis_fpr_normalize(o->trust, trust))
		return kluis_error_set(KLUIS_EINVAL, "--trust '%s' is not a 40-digit key fingerprint", o->trust);
	if (!o->trust)
		kluis_fpr_normalize(o->directie, trust);
	if ((err = kluis_vault_trust(v, &fprs, &n)) < 0)
		return err;
	if (!n)
		return kluis_vault_trust_init(v, trust);
	for (i = 0; i < n; i++)
		if (kluis_roles_of(roles, fprs[i]) & KLUIS_ROLE_DIRECTIE) {
			snprintf(trust, 41, "%s", fprs[i]);
			return 0;
		}
	return kluis_error_set(KLUIS_EACCESS, "the vault's trust root %s is not this dossier's directie; name it with --directie", fprs[0]);
}

int kluis_dossier_init(kluis_vault *v, const kluis_init_opts *o, git_oid *commit_out)
{
	kluis_dossier *d = NULL;
	kluis_txn *t = NULL;
	kluis_roles roles = { NULL, 0 };
	const char **readers = NULL;
	size_t nreaders = 0;
	kluis_buf dfile = KLUIS_BUF_INIT, rfile = KLUIS_BUF_INIT, trailers = KLUIS_BUF_INIT;
	kluis_buf info = KLUIS_SECRET_BUF_INIT;
	kluis_dossier_file f;
	kluis_pointer info_ptr;
	json_t *j = NULL;
	char *final_path = NULL, *info_text = NULL, name[96], rnd[9], trust[41];
	const char *actor;
	unsigned init_role = 0;
	int err;

	if (!o->id || !kluis_id_valid(o->id))
		return kluis_error_set(KLUIS_EINVAL, "'%s' is not a dossier id: use 1 to 64 of [a-z0-9-], pseudonymous (no names)", o->id ? o->id : "");
	if (o->retention_years < 0 || o->retention_years > 100)
		return kluis_error_set(KLUIS_EINVAL, "--retention-years must be between 1 and 100");
	if (o->birth_date && (err = kluis_birth_date_check(o->birth_date)) < 0)
		return err;
	if ((err = init_roles(o, &roles)) < 0 || (err = kluis_vault_actor(v, &actor)) < 0 ||
	    (err = kluis_roles_authorize(&roles, actor, KLUIS_ACT_INIT, NULL)) < 0)
		goto cleanup;
	snprintf(name, sizeof(name), "%s.git", o->id);
	if (!(final_path = kluis_path_join(v->dossiers, name))) {
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto cleanup;
	}
	if (kluis_path_exists(final_path)) {
		err = kluis_error_set(KLUIS_EEXISTS, "dossier '%s' already exists in %s", o->id, v->root);
		goto cleanup;
	}
	if ((err = check_readers(v, &roles, KLUIS_ROLES_READING, &readers, &nreaders)) < 0 ||
	    (err = resolve_trust(v, o, &roles, trust)) < 0 || (err = kluis_mkdir_p(v->dossiers)) < 0 ||
	    (err = kluis_random_hex(rnd, 8)) < 0)
		goto cleanup;

	/* build it under a temporary name; the rename makes it appear whole or not at all */
	d = calloc(1, sizeof(*d));
	if (!d) {
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto cleanup;
	}
	d->vault = v;
	snprintf(d->id, sizeof(d->id), "%s", o->id);
	snprintf(name, sizeof(name), ".%s.tmp-%s", o->id, rnd);
	if (!(d->path = kluis_path_join(v->dossiers, name))) {
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto cleanup;
	}
	if ((err = kluis_repo_create(&d->repo, d->path)) < 0)
		goto cleanup;
	d->roles = roles;
	roles.v = NULL;
	roles.n = 0;
	if ((err = kluis_txn_begin(&t, d, KLUIS_ACT_INIT)) < 0)
		goto cleanup;

	memset(&f, 0, sizeof(f));
	snprintf(f.id, sizeof(f.id), "%s", o->id);
	snprintf(f.state, sizeof(f.state), "open");
	f.created = kluis_now();
	f.retention_years = o->retention_years ? o->retention_years : 2;
	j = json_pack("{s:s, s:i, s:s?, s:i, s:s?, s:b}", "kluis", "dossier-info", "version", 1, "traject", o->traject,
		      "retention_years", f.retention_years, "birth_date", o->birth_date, "represented", o->represented);
	/* salted, so the info's commitment (its pointer's `plain`) reveals nothing guessable */
	if (!j || kluis_commitment_salt_json(j) < 0 || !(info_text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS))) {
		err = kluis_error_set(KLUIS_EGENERIC, "cannot encode the dossier info");
		goto cleanup;
	}
	if ((err = kluis_buf_puts(&info, info_text)) < 0 ||
	    (err = kluis_txn_encrypt_buffer(t, readers, nreaders, info.ptr, info.len, &info_ptr)) < 0 ||
	    (err = kluis_dossier_file_format(&f, &dfile)) < 0 || (err = kluis_roles_format(&d->roles, &rfile)) < 0 ||
	    (err = kluis_txn_put(t, "dossier", dfile.ptr, dfile.len)) < 0 ||
	    (err = kluis_txn_put(t, "roles", rfile.ptr, rfile.len)) < 0 ||
	    (err = kluis_txn_put_pointer(t, "info", &info_ptr)) < 0)
		goto cleanup;
	init_role = kluis_txn_role(t);
	if ((err = kluis_buf_printf(&trailers, "Kluis-Action: init\nKluis-Role: %s\nKluis-Trust: %s\n",
				    kluis_role_name(init_role), trust)) < 0 ||
	    (err = kluis_txn_commit(t, "init -", (const char *)trailers.ptr, commit_out)) < 0)
		goto cleanup;
	kluis_txn_free(t);
	t = NULL;
	/* NOREPLACE: a plain rename would replace an empty directory made meanwhile by another init */
	if (renameat2(AT_FDCWD, d->path, AT_FDCWD, final_path, RENAME_NOREPLACE) < 0) {
		err = errno == EEXIST || errno == ENOTEMPTY
			      ? kluis_error_set(KLUIS_EEXISTS, "dossier '%s' already exists in %s", o->id, v->root)
			      : kluis_error_set(KLUIS_EGENERIC, "cannot move the new dossier into place: %s", strerror(errno));
		goto cleanup;
	}
	free(d->path);
	d->path = NULL;
	err = 0;
cleanup:
	if (info_text) {
		kluis_wipe(info_text, strlen(info_text));
		free(info_text);
	}
	json_decref(j);
	kluis_txn_free(t);
	if (err < 0 && d && d->path)
		kluis_rm_rf(d->path);
	kluis_dossier_free(d);
	kluis_roles_dispose(&roles);
	free(readers);
	free(final_path);
	kluis_buf_dispose(&info);
	kluis_buf_dispose(&dfile);
	kluis_buf_dispose(&rfile);
	kluis_buf_dispose(&trailers);
	return err;
}
