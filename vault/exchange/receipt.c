/*
 * receipt.c - the import receipt (format and contract in receipt.h): its text, signed by
 * the importer through gpgme (crypto.c, like every signature kluis makes), written durably
 * under temporary names and published when the import is complete.
 *
 * Invariants: the text is exactly receipt.h's six lines, every field checked for its shape
 * before it is written (a receipt is read by another organisation's kluis); nothing is ever
 * replaced; a receipt not published leaves no file behind when it is freed.
 */
#include "vault/exchange/receipt.h"
#include "vault/store/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct kluis_receipt_files {
	char *path, *asc;         /* FILE, FILE.asc */
	char *tmp, *tmp_asc;      /* their temporaries until published (NULL once renamed) */
	int fd, fd_asc;           /* held open, so locked, until published (workdir.c) */
};

static bool all_of(const char *s, size_t len, const char *set)
{
	return strlen(s) == len && strspn(s, set) == len;
}

/* YYYY-MM-DDTHH:MM:SSZ */
static bool iso_utc(const char *s)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
	size_t i;

	if (strlen(s) != sizeof(shape) - 1)
		return false;
	for (i = 0; shape[i]; i++)
		if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
			return false;
	return true;
}

int kluis_receipt_format(const kluis_receipt *r, kluis_buf *out)
{
	static const char lower_hex[] = "0123456789abcdef", upper_hex[] = "0123456789ABCDEF";

	if (!kluis_id_valid(r->dossier) || !all_of(r->archive_sha256, 64, lower_hex) || !all_of(r->head, GIT_OID_HEXSZ, lower_hex) ||
	    !all_of(r->importer, 40, upper_hex) || !iso_utc(r->received))
		return kluis_error_set(KLUIS_EINVAL, "a receipt field is out of shape (dossier '%s'): no receipt is written", r->dossier);
	return kluis_buf_printf(out, "kluis-receipt 1\ndossier %s\narchive-sha256 %s\nhead %s\nimporter %s\nreceived %s\n", r->dossier,
				r->archive_sha256, r->head, r->importer, r->received);
}

/* Write `data` to a new locked temporary beside `path`, synced; *tmp_out names it, *fd_out
 * stays open (the lock) until it is published. */
static int write_temp(const char *path, const void *data, size_t len, char **tmp_out, int *fd_out)
{
	int err;

	if ((err = kluis_file_temp_beside_locked(path, tmp_out, fd_out)) < 0)
		return kluis_error_set(err, "%s; give the receipt another place with --receipt FILE", kluis_error_last());
	if (kluis_fd_write_all(*fd_out, data, len) < 0 || fsync(*fd_out) < 0)
		err = kluis_error_set(KLUIS_EGENERIC, "cannot write '%s': %s", *tmp_out, strerror(errno));
	return err; /* on failure the caller's free removes the temporary */
}

int kluis_receipt_prepare(kluis_receipt_files **out, const char *path, const kluis_receipt *r, kluis_signer *signer)
{
	kluis_receipt_files *f = NULL;
	kluis_buf text = KLUIS_BUF_INIT, sig = KLUIS_BUF_INIT;
	int err;

	*out = NULL;
	if ((f = calloc(1, sizeof(*f))) != NULL)
		f->fd = f->fd_asc = -1;
	if (!f || !(f->path = strdup(path)) || asprintf(&f->asc, "%s.asc", path) < 0) {
		if (f)
			f->asc = NULL;
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto cleanup;
	}
	if (kluis_path_exists(f->path) || kluis_path_exists(f->asc)) {
		err = kluis_error_set(KLUIS_EEXISTS, "the receipt '%s' (or its .asc) exists; kluis never overwrites, give another with --receipt FILE", path);
		goto cleanup;
	}
	if ((err = kluis_receipt_format(r, &text)) < 0 || (err = kluis_signer_sign(signer, text.ptr, text.len, &sig)) < 0 ||
	    (err = write_temp(f->path, text.ptr, text.len, &f->tmp, &f->fd)) < 0 ||
	    (err = write_temp(f->asc, sig.ptr, sig.len, &f->tmp_asc, &f->fd_asc)) < 0)
		goto cleanup;
	*out = f;
	f = NULL;
cleanup:
	kluis_receipt_files_free(f);
	kluis_buf_dispose(&text);
	kluis_buf_dispose(&sig);
	return err;
}

int kluis_receipt_publish(kluis_receipt_files *f)
{
	int err;

	/* the signature first: a FILE that exists has its .asc */
	if ((err = kluis_file_publish(f->tmp_asc, f->asc)) < 0)
		return err;
	free(f->tmp_asc);
	f->tmp_asc = NULL;
	if ((err = kluis_file_publish(f->tmp, f->path)) < 0)
		return err;
	free(f->tmp);
	f->tmp = NULL;
	return 0;
}

void kluis_receipt_files_free(kluis_receipt_files *f)
{
	if (!f)
		return;
	if (f->tmp)
		unlink(f->tmp);
	if (f->tmp_asc)
		unlink(f->tmp_asc);
	if (f->fd >= 0)
		close(f->fd);
	if (f->fd_asc >= 0)
		close(f->fd_asc);
	free(f->tmp);
	free(f->tmp_asc);
	free(f->path);
	free(f->asc);
	free(f);
}
