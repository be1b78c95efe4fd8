/*
 * bundle.h - git bundle v2 files, written and read with libgit2 (libgit2 1.5 has no bundle API).
 *
 * A bundle is the line "# v2 git bundle", one "<oid> <refname>" line per ref, an empty line,
 * then a pack. The transfer archive ships a dossier as one; stock `git bundle verify` and
 * `git clone` accept what kluis_bundle_write produces. Bundles here are always complete: no
 * prerequisite ("-<oid>") lines are written or accepted.
 */
#ifndef KLUIS_BUNDLE_H
#define KLUIS_BUNDLE_H

#include <stddef.h>
#include <stdint.h>
#include <git2.h>

/* One ref advertised by a bundle. */
typedef struct {
	char *name; /* "HEAD" or a valid "refs/..." name */
	git_oid oid;
} kluis_bundle_ref;

/* Progress: `done` of `total` bytes (writing: of the large objects; reading: of the file).
 * A nonzero return cancels. */
typedef int (*kluis_bundle_progress_cb)(uint64_t done, uint64_t total, void *payload);

/*
 * Write a complete bundle of `refnames` (each "refs/..."; "HEAD" is added by itself when the
 * repository's HEAD resolves) to `path`. The pack holds every object reachable from those refs
 * and is streamed to disk, never held whole in memory: objects over 64 KiB are streamed from
 * the object store into whole (undeltified) pack entries, so memory stays bounded whatever the
 * size of a document. The file appears atomically (temporary name in the same directory, 0600,
 * fsync, rename) and never replaces an existing file (KLUIS_EEXISTS). KLUIS_ENOTFOUND if a ref
 * does not exist, KLUIS_EINVAL for a bad refname. `progress` may be NULL.
 */
int kluis_bundle_write(git_repository *repo, const char *path, const char *const *refnames,
		       size_t nrefs, kluis_bundle_progress_cb progress, void *payload);

/*
 * Read the bundle at `path` into `repo`'s object database: parse the header strictly, check
 * the pack whole (every entry inflated once, its SHA-1 trailer over the raw bytes), then check
 * that every advertised object, and everything reachable from it, is now present. Memory
 * stays bounded whatever the size of an object: blobs over 1 MiB stored whole in the pack are
 * written as loose objects as they are inflated, and the other entries go through the odb's
 * pack writer (libgit2's indexer) as a pack of their own; only when a delta reaches across
 * such a blob (kluis never writes that) does the whole pack go to the indexer. Refs are not
 * touched; the caller decides. On success *refs_out (free with kluis_bundle_refs_free) holds
 * the advertised refs in file order. A malformed, truncated or corrupt bundle is KLUIS_EVERIFY;
 * then *refs_out is NULL, *nrefs_out 0, and objects already stored (each under the hash of its
 * own content) may remain unreferenced in the odb (read into a scratch repository when that
 * matters). `progress` (may be NULL) is told the bytes of the file read so far, of its size.
 */
int kluis_bundle_read(git_repository *repo, const char *path, kluis_bundle_ref **refs_out,
		      size_t *nrefs_out, kluis_bundle_progress_cb progress, void *payload);

/* Free what kluis_bundle_read returned. NULL-safe. */
void kluis_bundle_refs_free(kluis_bundle_ref *refs, size_t nrefs);

#endif
