/*
 * lifecycle.h - a dossier's life as the vault's ledger records it: its creation, and the end
 * of a traject (Werklokaal Art. 7, WerkPro 13): close, transfer to the
 * opdrachtgever as a signed archive, import there, retention deadlines, destruction with a
 * verklaring van vernietiging in the ledger.
 *
 * Invariant 7: a transfer destroys the local copy only after the written archive has been
 * read back and verified in full; any failure before that leaves the dossier as it was.
 *
 * Implemented in lifecycle.c (close, retention, destroy) and transfer.c (transfer, import,
 * the archive check).
 */
#ifndef KLUIS_LIFECYCLE_H
#define KLUIS_LIFECYCLE_H

#include "vault/store/vault.h"
#include "vault/verify/verify.h"

/* Create a dossier (kluis_dossier_init) and record its creation in the vault's ledger (ids
 * and keys only). */
int kluis_dossier_create(kluis_vault *v, const kluis_init_opts *opts, git_oid *commit_out);

/* End the traject: a signed `close` commit; afterwards only statements and reads. */
int kluis_dossier_close(kluis_dossier *d);

typedef struct {
	char archive_sha256[65];
	uint64_t archive_size;
	size_t commits, entries, reads;
	char head[GIT_OID_HEXSZ + 1];
} kluis_transfer_result;

/* Transfer dossier `id` to FILE `out` (new), verify it back, then destroy the local copy. */
int kluis_dossier_transfer(kluis_vault *v, const char *id, const char *out, kluis_progress_fn progress,
			   void *progress_ctx, kluis_transfer_result *res);

/*
 * Import a transfer archive as the opdrachtgever: verify the signature, every hash, the bundle
 * and the whole history (trust: `trust`, else the vault's trust roots) before taking anything
 * in. The retention deadline starts now (`retention_years`, default 10, W7). No receipt:
 * kluis_dossier_import_with_receipt (receipt.h) also writes the signed receipt the sending
 * organisation records in its ledger.
 */
int kluis_dossier_import(kluis_vault *v, const char *archive, const char *const *trust, size_t ntrust,
			 int retention_years, kluis_progress_fn progress, void *progress_ctx, char id_out[65]);

/*
 * `kluis verify --bundle` of a transfer archive: every check `import` makes (member paths,
 * the manifest's signature, the bundle's sha256, the bundle, the exporter's role), in the
 * scratch directory `work`, without taking anything in; the history's findings go to `rep`
 * (all of them), other failures are returned. Trust: opts->trust, else the vault's.
 */
int kluis_archive_verify(kluis_vault *v, const char *archive, const char *work, const kluis_verify_opts *opts,
			 kluis_verify_report *rep, char id_out[65]);

typedef struct {
	char dossier[65];
	char state[16];        /* open, closed, imported */
	int64_t deadline;      /* 0: none yet (the term starts at the end of the traject) */
	int years;             /* the retention term in years */
	bool imported;         /* W7: the term runs at the opdrachtgever from the import */
	char rule[64];         /* "P13.2: 2 years after the end of service", "W7: 10 years at the opdrachtgever" */
	kluis_dossier_status status; /* what the head says (entries counted only when asked); all
				      * zero, and state "unreadable" unless imported, when it cannot be read */
} kluis_retention;

/* Every dossier of the vault, the ledger read once; `entries`: count each one's entries too. */
int kluis_retention_list(kluis_vault *v, bool entries, kluis_retention **out, size_t *n);
/* The retention of one dossier (the same rules). */
int kluis_retention_get(kluis_vault *v, const char *id, kluis_retention *r);

/*
 * Destroy dossier `id` at the end of its retention (earlier only with force), recorded in the
 * ledger with a signed verklaring van vernietiging; `reason` (free text) is kept there only
 * encrypted to the directie and the destroyer. The verklaring and its detached signature are
 * also written to `certificate` and `certificate`.asc (NULL: VAULT/certificates/ID-STAMP.txt),
 * 0600; *written (malloc'd, may be NULL) is the path used.
 */
int kluis_dossier_destroy(kluis_vault *v, const char *id, const char *reason, bool force, const char *certificate, char **written);

#endif
