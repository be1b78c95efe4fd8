/*
 * repo.h - the only module that talks to libgit2: bare repositories, streamed blobs, the
 * pointer format, signed commits and compare-and-swap ref updates, dossier locks.
 *
 * A pointer is the small plaintext blob by which the signed history commits to a ciphertext
 * object (SPEC invariant 3): its git object id, the sha256 of its bytes and its size, and
 * (invariant 8) `plain`, a commitment to the plaintext that every reader can check and no
 * role can move: SHA-256 of a salted JSON object's exact bytes, or SHA-256(salt || body)
 * for an entry body (the salt in the entry's metadata). Version 2, canonical text only:
 *
 *     kluis-pointer 2\noid HEX40\nsha256 HEX64\nsize N\nplain HEX64\n
 */
#ifndef KLUIS_REPO_H
#define KLUIS_REPO_H

#include "vault/pgp/crypto.h"
#include "vault/base/util.h"

#include <git2.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct {
	git_oid oid;
	char sha256[65];
	uint64_t size;
	char plain[65]; /* 64 lowercase hex: the plaintext commitment (docs/FORMATS.md) */
} kluis_pointer;

/* One-time libgit2 set-up (fsync of the git directory, so a commit survives a crash). */
int kluis_repo_global_init(void);

/* Record libgit2's last error with a prefix, return code. */
int kluis_git_fail(int code, const char *what);

/* A new bare repository at path (0700), HEAD -> refs/heads/main. */
int kluis_repo_create(git_repository **out, const char *path);
/* Open exactly path (never search upward); KLUIS_ENOTFOUND when absent. */
int kluis_repo_open(git_repository **out, const char *path);

/* Resolve a ref to an oid; *exists false when it does not exist (not an error). */
int kluis_repo_ref(git_repository *repo, const char *refname, git_oid *out, bool *exists);

/* Compare-and-swap: move refname to `to` only if it still points at `from` (NULL: must not exist). */
int kluis_repo_ref_cas(git_repository *repo, const char *refname, const git_oid *to, const git_oid *from, const char *why);

/* Streaming blob writer that also hashes (sha256) and counts what passes through. */
typedef struct kluis_blob_writer kluis_blob_writer;
int kluis_blob_writer_new(kluis_blob_writer **out, git_repository *repo);
/* Matches kluis_pgp_write_fn. */
int kluis_blob_writer_write(void *writer, const void *data, size_t len);
int kluis_blob_writer_finish(kluis_blob_writer *w, kluis_pointer *out);
void kluis_blob_writer_free(kluis_blob_writer *w);

int kluis_repo_blob(git_repository *repo, const void *data, size_t len, git_oid *out);

/* The canonical text of p; KLUIS_EGENERIC when p has no valid `plain` (nothing is written
 * without its commitment). */
int kluis_pointer_format(const kluis_pointer *p, kluis_buf *out);
/* Parse a version-2 pointer in canonical form only (KLUIS_EVERIFY otherwise, version 1 too). */
int kluis_pointer_parse(kluis_pointer *p, const char *text, size_t len);
/* Read the ciphertext a pointer names, checking its size and sha256 (KLUIS_EVERIFY on mismatch). */
int kluis_pointer_load(git_repository *repo, const kluis_pointer *p, git_blob **out);

/* Contents of the blob at `path` in `tree`; KLUIS_ENOTFOUND when absent. */
int kluis_repo_read_path(git_repository *repo, const git_tree *tree, const char *path, kluis_buf *out);

/*
 * Create a commit object (not a ref update). With a signer it is OpenPGP-signed (gpgsig header,
 * accepted by stock `git verify-commit`). Author and committer are `name <email>` at `when`.
 */
int kluis_repo_commit(git_repository *repo, const git_oid *tree, const git_oid *parent, const char *name,
		      const char *email, int64_t when, const char *message, kluis_signer *signer, git_oid *out);

/* Exclusive writer lock on the repository (flock; released by the kernel if we die). */
int kluis_repo_lock(const char *repo_path, int *fd_out);
void kluis_repo_unlock(int fd);

#endif
