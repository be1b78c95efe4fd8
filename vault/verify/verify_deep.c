/*
 * verify_deep.c - `kluis verify ID --deep` (see verify_deep.h).
 *
 * Invariants: every read is on record (signed, purpose `verify-deep`): an entry's once its
 * metadata (or erasure reason) decrypted and matched and its body was checked, the info's once
 * it matched, so an object not encrypted to this key, or one whose decryption failed, is no
 * read; nothing decrypted here leaves kluis (a body goes to /dev/null); a body streams from gpg to /dev/null through the hash, never held
 * whole; plaintext metadata lives only in wiped buffers. A problem with one object is a
 * finding and the walk goes on, so one run shows every mismatch.
 */
#include "vault/verify/verify_deep.h"
#include "vault/store/commitment.h"
#include "vault/store/internal.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PURPOSE "verify-deep"

struct deep {
	kluis_dossier *d;
	kluis_deep_report *r;
	int devnull;
};

static int add_finding(struct deep *x, const char *what, const char *msg)
{
	kluis_deep_report *r = x->r;
	kluis_finding *grown = realloc(r->findings, (r->nfindings + 1) * sizeof(*grown));
	char *text = NULL;
	size_t n = strlen(what);

	if (!grown)
		return kluis_error_set(KLUIS_EGENERIC, "out of memory");
	r->findings = grown;
	/* the commitment's own messages already name the object */
	if (strncmp(msg, what, n) == 0 && msg[n] == ':')
		text = strdup(msg);
	else if (asprintf(&text, "%s: %s", what, msg) < 0)
		text = NULL;
	if (!text)
		return kluis_error_set(KLUIS_EGENERIC, "out of memory");
	git_oid_cpy(&grown[r->nfindings].commit, &r->head);
	grown[r->nfindings++].message = text;
	return 0;
}

/*
 * One object's failure: not encrypted to the actor's key is counted, not judged (the
 * public-key verifier checks each object's recipients); anything else is a finding.
 * Returns 0, or a negative error when even the finding cannot be recorded.
 */
static int object_failed(struct deep *x, int err, const char *what)
{
	if (err == KLUIS_EACCESS) {
		x->r->unreadable++;
		return 0;
	}
	return add_finding(x, what, kluis_error_last());
}

/* Check the JSON object at path; *ok says whether out holds its matching plaintext. */
static int check_json(struct deep *x, const git_tree *tree, const char *path, const char *what, kluis_buf *out, bool *ok)
{
	kluis_pointer p;
	int err;

	*ok = false;
	kluis_buf_dispose(out);
	if ((err = kluis_commitment_pointer_at(x->d->repo, tree, path, &p)) < 0 ||
	    (err = kluis_commitment_decrypt_json(x->d->repo, &p, what, out)) < 0)
		return object_failed(x, err, what);
	x->r->objects++;
	*ok = true;
	return 0;
}

static int check_body(struct deep *x, const git_tree *tree, const char *path, const char *entry, const char *what,
		      const kluis_buf *meta)
{
	unsigned char salt[KLUIS_SALT_LEN];
	git_blob *blob = NULL;
	kluis_pointer p;
	int err;

	if ((err = kluis_commitment_body_salt(meta->ptr, meta->len, entry, salt)) < 0 ||
	    (err = kluis_commitment_pointer_at(x->d->repo, tree, path, &p)) < 0 || (err = kluis_pointer_load(x->d->repo, &p, &blob)) < 0 ||
	    (err = kluis_commitment_decrypt_body(git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob), &p, entry,
						 kluis_commitment_salt_copy, salt, x->devnull, NULL)) < 0)
		err = object_failed(x, err, what);
	else
		x->r->objects++;
	explicit_bzero(salt, sizeof(salt));
	git_blob_free(blob);
	return err;
}

static int check_entry(struct deep *x, const char *id)
{
	kluis_buf meta = KLUIS_SECRET_BUF_INIT;
	git_tree_entry *te = NULL;
	char dir[64], path[96], what[64];
	bool ok;
	int err;

	x->r->entries++;
	kluis_entry_dir(id, dir);
	snprintf(what, sizeof(what), "entry %s", id);
	snprintf(path, sizeof(path), "%s/erased", dir);
	if (git_tree_entry_bypath(&te, x->d->head_tree, path) == 0) {
		git_tree_entry_free(te);
		snprintf(path, sizeof(path), "%s/reason", dir);
		err = check_json(x, x->d->head_tree, path, what, &meta, &ok);
	} else {
		snprintf(path, sizeof(path), "%s/meta", dir);
		if ((err = check_json(x, x->d->head_tree, path, what, &meta, &ok)) == 0 && ok) {
			snprintf(path, sizeof(path), "%s/body", dir);
			err = check_body(x, x->d->head_tree, path, id, what, &meta);
		}
	}
	/* invariant 6: the entry was read (its metadata or reason matched) */
	if (err == 0 && ok)
		err = kluis_access_record(x->d, id, PURPOSE);
	kluis_buf_dispose(&meta);
	return err;
}

int kluis_verify_deep(kluis_vault *v, const char *id, kluis_deep_report *report)
{
	struct deep x = { NULL, report, -1 };
	kluis_buf info = KLUIS_SECRET_BUF_INIT;
	git_tree *entries = NULL, *shard = NULL;
	git_tree_entry *te = NULL;
	size_t i, j;
	bool ok;
	int err;

	memset(report, 0, sizeof(*report));
	if ((err = kluis_dossier_open(&x.d, v, id)) < 0)
		return err;
	if (!x.d->has_head) {
		err = kluis_error_set(KLUIS_EVERIFY, "dossier '%s' has no history to check", id);
		goto cleanup;
	}
	git_oid_cpy(&report->head, &x.d->head);
	if ((x.devnull = open("/dev/null", O_WRONLY | O_CLOEXEC)) < 0) {
		err = kluis_error_set(KLUIS_EGENERIC, "cannot open /dev/null");
		goto cleanup;
	}
	if (git_tree_entry_byname(x.d->head_tree, "info") &&
	    ((err = check_json(&x, x.d->head_tree, "info", "the dossier info", &info, &ok)) < 0 ||
	     (ok && (err = kluis_access_record(x.d, NULL, PURPOSE)) < 0)))
		goto cleanup;
	err = 0;
	if (git_tree_entry_bypath(&te, x.d->head_tree, "entries") < 0)
		goto cleanup; /* no entries yet */
	if (git_tree_lookup(&entries, x.d->repo, git_tree_entry_id(te)) < 0) {
		err = kluis_git_fail(KLUIS_EVERIFY, "cannot read the entries");
		goto cleanup;
	}
	for (i = 0; i < git_tree_entrycount(entries); i++) {
		if (git_tree_lookup(&shard, x.d->repo, git_tree_entry_id(git_tree_entry_byindex(entries, i))) < 0) {
			err = kluis_git_fail(KLUIS_EVERIFY, "cannot read the entries");
			goto cleanup;
		}
		for (j = 0; j < git_tree_entrycount(shard); j++) {
			const char *eid = git_tree_entry_name(git_tree_entry_byindex(shard, j));
			if (!kluis_entry_id_valid(eid)) {
				if ((err = add_finding(&x, "the head tree", "an entry directory that is not an entry id")) < 0)
					goto cleanup;
				continue;
			}
			if ((err = check_entry(&x, eid)) < 0)
				goto cleanup;
		}
		git_tree_free(shard);
		shard = NULL;
	}
cleanup:
	if (x.devnull >= 0)
		close(x.devnull);
	kluis_buf_dispose(&info);
	git_tree_free(shard);
	git_tree_free(entries);
	git_tree_entry_free(te);
	kluis_dossier_free(x.d);
	if (err < 0)
		kluis_deep_report_dispose(report);
	return err;
}

void kluis_deep_report_dispose(kluis_deep_report *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->nfindings; i++)
		free(r->findings[i].message);
	free(r->findings);
	memset(r, 0, sizeof(*r));
}
