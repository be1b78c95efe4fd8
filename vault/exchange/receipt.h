/*
 * receipt.h - the import receipt: what the opdrachtgever hands back to the sending
 * organisation, for its ledger, to show that a transferred dossier arrived (receipt.c).
 *
 * A receipt is two files: FILE, six lines of text, and FILE.asc, a detached armored OpenPGP
 * signature over FILE's bytes by the importer's key (stock `gpg --verify FILE.asc FILE`).
 * FILE is exactly, each line ended by one LF and nothing after the last:
 *
 *   kluis-receipt 1
 *   dossier <ID>
 *   archive-sha256 <64 lower-case hex: sha256 of the archive file as imported>
 *   head <40 lower-case hex: the transfer commit, main of the imported dossier>
 *   importer <40 upper-case hex: the importer's primary key fingerprint>
 *   received <YYYY-MM-DDTHH:MM:SSZ, UTC>
 *
 * Both files are 0600, written under temporary names beside FILE, fsynced, and given their
 * names only when the import is complete: FILE.asc first, then FILE, so a FILE that exists
 * has its signature beside it. Neither replaces an existing file.
 */
#ifndef KLUIS_RECEIPT_H
#define KLUIS_RECEIPT_H

#include "vault/pgp/crypto.h"
#include "vault/store/vault.h"

typedef struct {
	char dossier[65];
	char archive_sha256[65];
	char head[GIT_OID_HEXSZ + 1];
	char importer[41];
	char received[21];
} kluis_receipt;

/* The receipt's text (the six lines above) into `out`; KLUIS_EINVAL for a field out of shape. */
int kluis_receipt_format(const kluis_receipt *r, kluis_buf *out);

/* A receipt signed and written under temporary names, waiting for the import to finish. */
typedef struct kluis_receipt_files kluis_receipt_files;

/*
 * Sign the receipt `r` with `signer` and write FILE (`path`) and FILE.asc under temporary
 * names beside them (0600, fsynced). KLUIS_EEXISTS when FILE or FILE.asc exists.
 */
int kluis_receipt_prepare(kluis_receipt_files **out, const char *path, const kluis_receipt *r, kluis_signer *signer);
/* Give both files their names: FILE.asc, then FILE; neither replaces an existing file. */
int kluis_receipt_publish(kluis_receipt_files *f);
/* Free; the temporaries of a receipt never published are removed. Accepts NULL. */
void kluis_receipt_files_free(kluis_receipt_files *f);

/*
 * kluis_dossier_import (lifecycle.h), and with `receipt_path` not NULL a receipt at that path
 * for the sending organisation, signed by the importer (the vault's actor). The receipt is
 * signed and written before the dossier is taken in, and appears only once the import is
 * complete; a receipt that cannot be made (FILE exists, its directory is not writable, the
 * key cannot sign) stops the import with nothing taken in.
 */
int kluis_dossier_import_with_receipt(kluis_vault *v, const char *archive, const char *const *trust, size_t ntrust,
				      int retention_years, const char *receipt_path, kluis_progress_fn progress, void *progress_ctx,
				      char id_out[65]);

#endif
