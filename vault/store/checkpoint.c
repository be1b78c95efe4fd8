/*
 * checkpoint.c - checkpoints (see checkpoint.h).
 */
#include "vault/store/checkpoint.h"
#include "vault/store/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The read log's part: its newest record, raw (nothing when the dossier was never read). */
static int format_access(git_repository *repo, git_odb *odb, kluis_buf *out)
{
	git_reference *ref = NULL;
	git_odb_object *obj = NULL;
	git_commit *c = NULL;
	char hex[GIT_OID_HEXSZ + 1], seq[32] = "0";
	int err = 0;

	if (git_reference_lookup(&ref, repo, "refs/kluis/access") < 0)
		return 0;
	if (git_reference_type(ref) != GIT_REFERENCE_DIRECT || git_odb_read(&obj, odb, git_reference_target(ref)) < 0 ||
	    git_commit_lookup(&c, repo, git_reference_target(ref)) < 0) {
		err = kluis_git_fail(KLUIS_EGENERIC, "cannot read the read log for the checkpoint");
		goto cleanup;
	}
	kluis_trailer_get(git_commit_message(c), "Kluis-Seq", seq, sizeof(seq));
	git_oid_tostr(hex, sizeof(hex), git_reference_target(ref));
	if ((err = kluis_buf_printf(out, "access %s\naccess-seq %s\naccess-commit %zu\n", hex, seq, git_odb_object_size(obj))) == 0)
		err = kluis_buf_put(out, git_odb_object_data(obj), git_odb_object_size(obj));
cleanup:
	git_commit_free(c);
	git_odb_object_free(obj);
	git_reference_free(ref);
	return err;
}

int kluis_dossier_checkpoint(kluis_dossier *d, kluis_buf *out)
{
	return kluis_checkpoint_format(d->id, d->repo, &d->head, out);
}

int kluis_checkpoint_format(const char *id, git_repository *repo, const git_oid *head, kluis_buf *out)
{
	git_odb *odb = NULL;
	git_odb_object *obj = NULL;
	git_commit *c = NULL;
	char hex[GIT_OID_HEXSZ + 1], seq[32] = "0", when[21];
	int err;

	if (git_repository_odb(&odb, repo) < 0 || git_odb_read(&obj, odb, head) < 0 ||
	    git_odb_object_type(obj) != GIT_OBJECT_COMMIT || git_commit_lookup(&c, repo, head) < 0) {
		err = kluis_git_fail(KLUIS_EGENERIC, "cannot read the head commit for the checkpoint");
		goto cleanup;
	}
	kluis_trailer_get(git_commit_message(c), "Kluis-Seq", seq, sizeof(seq));
	git_oid_tostr(hex, sizeof(hex), head);
	kluis_time_iso((int64_t)git_commit_time(c), when);
	if ((err = kluis_buf_printf(out, "kluis-checkpoint 1\ndossier %s\nhead %s\nseq %s\ntime %s\ncommit %zu\n", id, hex,
				    seq, when, git_odb_object_size(obj))) < 0 ||
	    (err = kluis_buf_put(out, git_odb_object_data(obj), git_odb_object_size(obj))) < 0)
		goto cleanup;
	err = format_access(repo, odb, out);
cleanup:
	git_commit_free(c);
	git_odb_object_free(obj);
	git_odb_free(odb);
	return err;
}

static char *checkpoint_path(kluis_vault *v, const char *id)
{
	char *dir = kluis_path_join(v->root, "checkpoints"), *path = NULL;

	if (dir && kluis_mkdir_p(dir) == 0)
		path = kluis_path_join(dir, id);
	free(dir);
	return path;
}

int kluis_checkpoint_write(kluis_vault *v, const char *id, git_repository *repo, const git_oid *head)
{
	kluis_buf text = KLUIS_BUF_INIT;
	char *path = checkpoint_path(v, id);
	int err;

	if (!path)
		return kluis_error_set(KLUIS_EGENERIC, "cannot make the checkpoints directory");
	if ((err = kluis_checkpoint_format(id, repo, head, &text)) == 0)
		err = kluis_file_write_atomic(path, text.ptr, text.len);
	kluis_buf_dispose(&text);
	free(path);
	return err;
}

int kluis_checkpoint_parse(kluis_checkpoint *cp, const char *text, size_t len)
{
	char hexhead[64], when[32], dossier[80];
	unsigned long long seq;
	size_t raw_len, header_len;
	const char *p;
	git_oid computed;
	int n = 0;

	char header[512];

	memset(cp, 0, sizeof(*cp));
	/* sscanf needs a terminated string: parse a bounded copy of the header */
	memcpy(header, text, len < sizeof(header) - 1 ? len : sizeof(header) - 1);
	header[len < sizeof(header) - 1 ? len : sizeof(header) - 1] = '\0';
	if (sscanf(header, "kluis-checkpoint 1\ndossier %79s\nhead %63s\nseq %llu\ntime %31s\ncommit %zu\n%n", dossier, hexhead, &seq,
		   when, &raw_len, &n) != 5 || n <= 0)
		return kluis_error_set(KLUIS_EINVAL, "not a kluis checkpoint");
	header_len = (size_t)n;
	p = text + header_len;
	if (header_len + raw_len > len || !kluis_id_valid(dossier) || git_oid_fromstr(&cp->head, hexhead) < 0 ||
	    kluis_time_parse(when, &cp->time) < 0)
		return kluis_error_set(KLUIS_EINVAL, "checkpoint is malformed or truncated");
	if (git_odb_hash(&computed, p, raw_len, GIT_OBJECT_COMMIT) < 0 || !git_oid_equal(&computed, &cp->head))
		return kluis_error_set(KLUIS_EVERIFY, "checkpoint's commit does not hash to its head %s", hexhead);
	snprintf(cp->dossier, sizeof(cp->dossier), "%s", dossier);
	cp->seq = seq;
	if (kluis_buf_put(&cp->raw, p, raw_len) < 0)
		return kluis_error_set(KLUIS_EGENERIC, "out of memory");
	p += raw_len;
	if (p < text + len) {
		/* the read log's newest record */
		size_t rest = (size_t)(text + len - p), alen;
		memcpy(header, p, rest < sizeof(header) - 1 ? rest : sizeof(header) - 1);
		header[rest < sizeof(header) - 1 ? rest : sizeof(header) - 1] = '\0';
		n = 0;
		if (sscanf(header, "access %63s\naccess-seq %llu\naccess-commit %zu\n%n", hexhead, &cp->access_seq, &alen, &n) != 3 || n <= 0 ||
		    (size_t)n + alen != rest || git_oid_fromstr(&cp->access, hexhead) < 0)
		{
			kluis_checkpoint_dispose(cp);
			return kluis_error_set(KLUIS_EINVAL, "checkpoint is malformed or truncated (its read-log part)");
		}
		p += n;
		if (git_odb_hash(&computed, p, alen, GIT_OBJECT_COMMIT) < 0 || !git_oid_equal(&computed, &cp->access)) {
			kluis_checkpoint_dispose(cp);
			return kluis_error_set(KLUIS_EVERIFY, "checkpoint's read record does not hash to %s", hexhead);
		}
		cp->has_access = true;
		if (kluis_buf_put(&cp->access_raw, p, alen) < 0)
			return kluis_error_set(KLUIS_EGENERIC, "out of memory");
	}
	return 0;
}

int kluis_checkpoint_load(kluis_vault *v, const char *id, kluis_checkpoint *cp)
{
	kluis_buf text = KLUIS_BUF_INIT;
	char *dir = kluis_path_join(v->root, "checkpoints"), *path = dir ? kluis_path_join(dir, id) : NULL;
	int err;

	memset(cp, 0, sizeof(*cp));
	if (!path)
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
	else if ((err = kluis_file_read(&text, path, 1 << 20)) == 0)
		err = kluis_checkpoint_parse(cp, (const char *)text.ptr, text.len);
	kluis_buf_dispose(&text);
	free(path);
	free(dir);
	return err;
}

void kluis_checkpoint_dispose(kluis_checkpoint *cp)
{
	if (cp) {
		kluis_buf_dispose(&cp->raw);
		kluis_buf_dispose(&cp->access_raw);
	}
}

