/*
 * lifecycle_internal.h - what lifecycle.c (close, retention, destroy) and transfer.c
 * (transfer, import, the archive check) share. Not public API; see lifecycle.h.
 */
#ifndef KLUIS_LIFECYCLE_INTERNAL_H
#define KLUIS_LIFECYCLE_INTERNAL_H

#include "vault/base/util.h"
#include "vault/store/vault.h"

#include <git2.h>
#include <stddef.h>
#include <stdint.h>

#define KLUIS_YEAR_SECONDS 31556952 /* 365.2425 days */

/* Take dossier `id` out of the vault (one rename) and remove it and its checkpoint from the
 * disk, synced, so that the destruction certificate that follows is true. */
int kluis_lifecycle_destroy_local(kluis_vault *v, const char *id);

/* The verklaring van vernietiging of dossier `id` into `out`; archive_sha and opdrachtgever
 * are NULL for a destruction without transfer. */
int kluis_lifecycle_certificate(kluis_buf *out, const char *id, int64_t from, int64_t to, size_t commits, size_t entries,
				size_t reads, const char *archive_sha, const char *opdrachtgever, const char *grounds,
				const char *reason, const char *role, const char *fpr);

/* The number of reads on refs/kluis/access (0 when there is none). */
size_t kluis_lifecycle_count_reads(git_repository *repo);

/* The time of the root commit of `head`'s first-parent chain (0 if it cannot be read). */
int64_t kluis_lifecycle_first_commit_time(git_repository *repo, const git_oid *head);

#endif
