/*
 * transfer_internal.h - what transfer.c (transfer, import) and transfer_check.c (reading a
 * transfer archive: the read-back at transfer, import, `kluis verify --bundle`) share. Not
 * public API; see lifecycle.h.
 */
#ifndef KLUIS_TRANSFER_INTERNAL_H
#define KLUIS_TRANSFER_INTERNAL_H

#include "vault/exchange/archive.h"
#include "vault/store/internal.h"
#include "vault/verify/verify.h"

#include <git2.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The refs a transfer bundle carries: main, kluis/content and (when there were reads) kluis/access. */
extern const char *const kluis_transfer_bundle_refs[3];

/* Progress of the archive and bundle code, handed on to the caller's kluis_progress_fn. */
typedef struct {
	kluis_progress_fn fn;
	void *ctx;
	const char *phase;  /* set by the caller before each phase */
} kluis_transfer_progress_adapter;
int kluis_transfer_progress(uint64_t done, uint64_t total, void *payload);

/* The sha256 (hex) and size of the file at `path`, streamed. */
int kluis_transfer_sha256_file(const char *path, char out[65], uint64_t *size);

/*
 * The read log of `repo` (refs/kluis/access): its tip in hex (40 zeros and *exists false when
 * there is none) and the number of records on its chain. KLUIS_EVERIFY for a record with more
 * than one parent or one that cannot be read.
 */
int kluis_transfer_access_log(git_repository *repo, char tip_hex[GIT_OID_HEXSZ + 1], bool *exists, size_t *count);

/*
 * The members keys/<FPR>.asc of the archive (transfer_keys.c): the key of every commit on main
 * and record on refs/kluis/access, and every key of every roles file on main, exported from
 * `kr` with the revocations and expiry it knows. KLUIS_EKEY when a key that signed is not in
 * `kr`. Free with kluis_transfer_keys_free.
 */
typedef struct {
	char member[80]; /* keys/<FPR>.asc */
	char *armored;
	size_t len;
} kluis_transfer_key;
int kluis_transfer_keys(git_repository *repo, kluis_keyring *kr, kluis_transfer_key **out, size_t *n);
void kluis_transfer_keys_free(kluis_transfer_key *keys, size_t n);

/* A transfer archive that passed every check (kluis_check_archive). */
typedef struct {
	git_repository *repo;     /* scratch bare repository with the bundle's refs */
	char *repo_path;
	kluis_keyring *keys;      /* the archive's keys/ (with the reader's own keyring for import) */
	char dossier[65];
	char exporter[41];        /* the manifest's signer */
	char bundle_sha256[65];
	git_oid head;             /* the transfer commit */
	kluis_roles roles;        /* at the head */
	char **named;             /* the transfer commit's Kluis-Opdrachtgever values */
	size_t nnamed;
} kluis_checked_archive;

void kluis_checked_archive_dispose(kluis_checked_archive *a);

/*
 * Check the transfer archive at `archive` completely, as import must before taking anything
 * in, extracting it under `work`; see transfer_check.c for the checks. With findings_out NULL,
 * any finding in the history fails the check; otherwise the findings go there and the other
 * checks go on. With own_keys, the reader's keyring (GNUPGHOME) joins the archive's keys for
 * its revocations. On failure *out is empty.
 */
int kluis_check_archive(kluis_vault *v, const char *archive, const char *work, const char *const *trust, size_t ntrust,
			bool own_keys, kluis_transfer_progress_adapter *pa, kluis_checked_archive *out, kluis_verify_report *findings_out);

#endif
