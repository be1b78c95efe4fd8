/*
 * objstream.h - the one reader of git objects by hand: a git object's content in fixed-size
 * chunks, never whole, and a lean, strict reader of loose objects put in front of libgit2's
 * own (libgit2 1.5 hangs on a truncated loose object; see objstream.c).
 *
 * libgit2 1.5 reads an object whole into the heap (git_odb_read, git_blob_lookup), streams
 * only loose objects (git_odb_open_rstream, which maps the whole compressed file), and maps
 * packs in windows that become the process's resident memory as they are read. A dossier's
 * documents are ciphertext objects of any size (128 MiB is normal), so the paths that read
 * every ciphertext (verification, the transfer bundle) read the large ones here instead:
 * a loose object file or an undeltified pack entry is inflated chunk by chunk with read(2) /
 * pread(2), so memory stays at a few fixed buffers whatever the object's size.
 *
 * Contract: objects up to KLUIS_OBJSTREAM_WHOLE_MAX bytes, and the rare large object that is
 * neither loose nor an undeltified entry of a local pack with a v2 index (a delta, an
 * alternate), are read whole through libgit2, so its own checks (the object id's hash) apply;
 * the streamed path checks the zlib stream and the exact size but not the object id's SHA-1:
 * callers check the content against what they trust (kluis_objstream_check_pointer checks
 * both the signed pointer's sha256 and, for what it streamed, the id).
 */
#ifndef KLUIS_OBJSTREAM_H
#define KLUIS_OBJSTREAM_H

#include "vault/git/repo.h"
#include "vault/base/util.h"

#include <git2.h>
#include <git2/sys/odb_backend.h>
#include <stddef.h>
#include <stdint.h>

/* Objects up to this size are read whole through libgit2; larger ones are streamed. */
#define KLUIS_OBJSTREAM_WHOLE_MAX (1024 * 1024)
/* How much of a ciphertext kluis_objstream_check_pointer keeps: the OpenPGP session key
 * packets (one per recipient, ~100 bytes each) come first. */
#define KLUIS_OBJSTREAM_HEAD (64 * 1024)

typedef struct kluis_objstream kluis_objstream;

/*
 * Open object `oid` of `repo` for reading its content (without the "type size" header).
 * *type_out and *size_out (either may be NULL) receive its type and exact size.
 * KLUIS_ENOTFOUND if the object is not in the repository; KLUIS_EVERIFY if its stored form is
 * unreadable (a corrupt header).
 */
int kluis_objstream_open(kluis_objstream **out, git_repository *repo, const git_oid *oid,
			 git_object_t *type_out, uint64_t *size_out);

/*
 * Read up to `len` bytes into `buf`; *n_out is the count, 0 only at the end of the object.
 * KLUIS_EVERIFY if the stored object is corrupt or truncated (zlib error, more or fewer bytes
 * than its header said), KLUIS_EGENERIC on an I/O error. After an error only _free is valid.
 */
int kluis_objstream_read(kluis_objstream *s, void *buf, size_t len, size_t *n_out);

/* Close and release. NULL-safe. */
void kluis_objstream_free(kluis_objstream *s);

/*
 * The ciphertext check of verification, in bounded memory: the blob `p` names exists, hashes
 * to its id, has the signed size and sha256 (read through once, streamed when loose or large;
 * a failure is read again through libgit2 for its finding), and its first
 * KLUIS_OBJSTREAM_HEAD bytes (all of it when smaller) are appended to `head`, for the OpenPGP
 * recipient packets. Errors are KLUIS_ENOTFOUND "ciphertext object <oid> is missing" (the
 * replay decides whether that is right), else KLUIS_EVERIFY (KLUIS_EGENERIC for an I/O error)
 * with one of the messages "ciphertext object <oid> is corrupted:
 * <why>" (unreadable, or libgit2's hash check failed) or "ciphertext object <oid> does not
 * match its signed pointer (size or sha256)" (also when it is not a blob). `head` may hold a
 * partial prefix after an error (the caller disposes of it either way).
 */
/* Sees every byte of the object in order (called with NULL, 0 first: start over; a failed
 * read is tried again from the start). */
typedef void (*kluis_objstream_tap)(void *ctx, const unsigned char *data, size_t n);
int kluis_objstream_check_pointer(git_repository *repo, const kluis_pointer *p, kluis_buf *head, kluis_objstream_tap tap, void *tap_ctx);

/*
 * Add to repo's object database (once) a read-only backend, tried before libgit2's, that reads
 * loose objects with fewer system calls and refuses damaged ones with "loose object ID is
 * corrupted: ..." (GIT_ERROR_ODB). What it returns is hashed and checked by libgit2 like any
 * object read; objects that are not loose, or larger than 64 MiB, are left to libgit2's
 * backends.
 */
int kluis_odb_lean_loose(git_repository *repo);

/* The backend alone, reading from objects_dir (for an odb of one's own, and for tests). */
int kluis_odb_lean_backend(git_odb_backend **out, const char *objects_dir);

#endif
