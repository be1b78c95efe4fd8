/*
 * entries.c - reading a whole dossier for inzage and export (see entries.h).
 *
 * Everything decrypted here is checked against its pointer's commitment (commitment.h)
 * before it is used: the info and each entry's metadata by digest, a body while it streams.
 * The read is recorded after the decryptions it covers, never before a failed one.
 */
#include "vault/store/entries.h"
#include "vault/store/commitment.h"
#include "vault/pgp/crypto.h"
#include "vault/store/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int load_pointer(kluis_dossier *d, git_tree *dir, const char *name, kluis_pointer *p)
{
	const git_tree_entry *te = git_tree_entry_byname(dir, name);
	git_blob *pb = NULL;
	int err;

	if (!te)
		return kluis_error_set(KLUIS_ENOTFOUND, "no %s pointer", name);
	if (git_blob_lookup(&pb, d->repo, git_tree_entry_id(te)) < 0)
		return kluis_git_fail(KLUIS_EVERIFY, "pointer object missing");
	err = kluis_pointer_parse(p, git_blob_rawcontent(pb), (size_t)git_blob_rawsize(pb));
	git_blob_free(pb);
	return err;
}

static int entry_dir(kluis_dossier *d, const char *entry_id, git_tree **dir)
{
	git_tree_entry *te = NULL;
	char path[64];
	int rc;

	*dir = NULL;
	kluis_entry_dir(entry_id, path);
	rc = git_tree_entry_bypath(&te, d->head_tree, path);
	if (rc < 0)
		return kluis_error_set(KLUIS_ENOTFOUND, "no entry %s in dossier '%s'", entry_id, d->id);
	rc = git_tree_lookup(dir, d->repo, git_tree_entry_id(te));
	git_tree_entry_free(te);
	return rc < 0 ? kluis_git_fail(KLUIS_EVERIFY, "entry directory missing") : 0;
}

int kluis_entry_body_read(kluis_dossier *d, const char *entry_id, const kluis_buf *meta, int fd, kluis_buf *out)
{
	unsigned char salt[KLUIS_SALT_LEN];
	git_tree *dir = NULL;
	kluis_pointer p;
	int err;

	if ((err = entry_dir(d, entry_id, &dir)) < 0)
		return err;
	if (git_tree_entry_byname(dir, "erased"))
		err = kluis_error_set(KLUIS_ENOTFOUND, "entry %s was erased", entry_id);
	else if ((err = kluis_commitment_body_salt(meta->ptr, meta->len, entry_id, salt)) == 0 &&
		 (err = load_pointer(d, dir, "body", &p)) == 0)
		err = kluis_commitment_decrypt_body_stream(d->repo, &p, entry_id, kluis_commitment_salt_copy, salt, fd, out);
	explicit_bzero(salt, sizeof(salt));
	git_tree_free(dir);
	return err;
}

void kluis_dossier_contents_dispose(kluis_dossier_contents *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->n; i++)
		kluis_buf_dispose(&c->entries[i].meta);
	free(c->entries);
	free(c->approvals);
	kluis_events_free(c->events, c->nevents);
	kluis_buf_dispose(&c->info);
	memset(c, 0, sizeof(*c));
}

static kluis_entry_info *find_entry(kluis_dossier_contents *c, const char *id)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (strcmp(c->entries[i].id, id) == 0)
			return &c->entries[i];
	return NULL;
}

int kluis_dossier_read_all(kluis_dossier *d, const char *purpose, kluis_dossier_contents *out)
{
	git_tree *dir = NULL;
	git_commit *c = NULL;
	kluis_entry_info *e, *grown;
	kluis_approval_info *ag;
	const git_tree_entry *info;
	kluis_pointer p;
	char hex[GIT_OID_HEXSZ + 1], sup[64];
	size_t i, j;
	int err;

	memset(out, 0, sizeof(*out));
	if (purpose && !kluis_purpose_valid(purpose))
		return kluis_error_set(KLUIS_EINVAL, "'%s' is not a purpose code", purpose);
	if ((err = kluis_history(d, &out->events, &out->nevents)) < 0)
		goto cleanup;
	info = git_tree_entry_byname(d->head_tree, "info");
	if (info && ((err = kluis_commitment_pointer_at(d->repo, d->head_tree, "info", &p)) < 0 ||
		     (err = kluis_commitment_decrypt_json(d->repo, &p, "the dossier info", &out->info)) < 0))
		goto cleanup;
	for (i = 0; i < out->nevents; i++) {
		kluis_event *ev = &out->events[i];
		if (ev->access)
			continue;
		git_oid_tostr(hex, sizeof(hex), &ev->commit);
		if (strcmp(ev->action, "approve") == 0) {
			for (j = 0; j < ev->nentries; j++) {
				ag = realloc(out->approvals, (out->napprovals + 1) * sizeof(*ag));
				if (!ag) {
					err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
					goto cleanup;
				}
				out->approvals = ag;
				memset(&ag[out->napprovals], 0, sizeof(*ag));
				snprintf(ag[out->napprovals].entry, sizeof(ag->entry), "%s", ev->entries[j]);
				ag[out->napprovals].time = ev->time;
				ag[out->napprovals].current = true;
				snprintf(ag[out->napprovals].fpr, sizeof(ag->fpr), "%s", ev->fpr);
				snprintf(ag[out->napprovals].commit, sizeof(ag->commit), "%s", hex);
				out->napprovals++;
			}
			continue;
		}
		if (strcmp(ev->action, "add") && strcmp(ev->action, "statement") && strcmp(ev->action, "correct") && strcmp(ev->action, "consent"))
			continue;
		if (git_commit_lookup(&c, d->repo, &ev->commit) < 0) {
			err = kluis_git_fail(KLUIS_EVERIFY, "commit missing");
			goto cleanup;
		}
		sup[0] = '\0';
		kluis_trailer_get(git_commit_message(c), "Kluis-Supersedes", sup, sizeof(sup));
		git_commit_free(c);
		c = NULL;
		for (j = 0; j < ev->nentries; j++) {
			grown = realloc(out->entries, (out->n + 1) * sizeof(*grown));
			if (!grown) {
				err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
				goto cleanup;
			}
			out->entries = grown;
			e = &grown[out->n++];
			memset(e, 0, sizeof(*e));
			e->meta.secret = true;
			snprintf(e->id, sizeof(e->id), "%s", ev->entries[j]);
			snprintf(e->action, sizeof(e->action), "%s", ev->action);
			snprintf(e->kind, sizeof(e->kind), "%s", ev->kind);
			snprintf(e->role, sizeof(e->role), "%s", ev->role);
			snprintf(e->fpr, sizeof(e->fpr), "%s", ev->fpr);
			snprintf(e->commit, sizeof(e->commit), "%s", hex);
			e->time = ev->time;
			if (sup[0] && kluis_entry_id_valid(sup)) {
				kluis_entry_info *old = find_entry(out, sup);
				snprintf(e->supersedes, sizeof(e->supersedes), "%s", sup);
				if (old)
					snprintf(old->superseded_by, sizeof(old->superseded_by), "%s", e->id);
				for (size_t k = 0; k < out->napprovals; k++)
					if (strcmp(out->approvals[k].entry, sup) == 0)
						out->approvals[k].current = false;
			}
		}
	}
	/* the metadata of every entry still there */
	for (i = 0; i < out->n; i++) {
		e = &out->entries[i];
		if ((err = entry_dir(d, e->id, &dir)) < 0)
			goto cleanup;
		if (git_tree_entry_byname(dir, "erased")) {
			e->erased = true;
		} else {
			char what[64];
			snprintf(what, sizeof(what), "entry %s", e->id);
			if ((err = load_pointer(d, dir, "meta", &p)) < 0 || (err = kluis_commitment_decrypt_json(d->repo, &p, what, &e->meta)) < 0)
				goto cleanup;
		}
		git_tree_free(dir);
		dir = NULL;
	}
	/* invariant 6: on record once everything decrypted and matched, before the caller shows
	 * any of it; the history is read again so the report lists this read too */
	if (purpose) {
		if ((err = kluis_access_record(d, NULL, purpose)) < 0)
			goto cleanup;
		kluis_events_free(out->events, out->nevents);
		out->events = NULL;
		out->nevents = 0;
		if ((err = kluis_history(d, &out->events, &out->nevents)) < 0)
			goto cleanup;
	}
	err = 0;
cleanup:
	git_tree_free(dir);
	git_commit_free(c);
	if (err < 0)
		kluis_dossier_contents_dispose(out);
	return err;
}
