/*
 * bundle_internal.h - what the bundle writer (bundle_write.c) and reader (bundle_read.c)
 * share: the format's constants and the refname rule. Not public API; see bundle.h.
 */
#ifndef KLUIS_BUNDLE_INTERNAL_H
#define KLUIS_BUNDLE_INTERNAL_H

#include "vault/exchange/bundle.h"

#include <git2.h>
#include <stdbool.h>
#include <string.h>

#define BUNDLE_SIGNATURE "# v2 git bundle\n"
#define BUNDLE_REFNAME_MAX 1024
/* the size of every I/O and zlib buffer: memory stays at a few of these per bundle */
#define IO_CHUNK (64 * 1024)
/* zlib level of the streamed blobs (written into the bundle's pack, or as loose objects when
 * one is read): they are ciphertext, which does not compress; level 1 costs ~9x level 0 for
 * the same size (docs/PERFORMANCE.md, "Transfer and import"). */
#define STREAM_LEVEL 0
#define PACK_HEADER 12  /* "PACK", version, object count */
#define PACK_TRAILER 20 /* SHA-1 of everything before it */

/* A ref a bundle may carry: "HEAD", or a valid "refs/..." name of at most BUNDLE_REFNAME_MAX. */
static inline bool kluis_bundle_refname_ok(const char *name)
{
	int valid = 0;

	if (strcmp(name, "HEAD") == 0)
		return true;
	if (strncmp(name, "refs/", 5) != 0 || strlen(name) > BUNDLE_REFNAME_MAX)
		return false;
	return git_reference_name_is_valid(&valid, name) == 0 && valid;
}

/*
 * Take one advertised tip into a pack (the writer's, or the reader's proof that everything is
 * there): an annotated tag goes into `pb` (with all it points at when `recur`, else alone) and
 * is peeled; a commit is pushed onto `walk` and *pushed set, so its whole history follows.
 * *target_out (git_object_free) is the peeled object, for the caller to add when it is a
 * tree or a blob. KLUIS_EVERIFY when an object cannot be read. In bundle_write.c.
 */
int kluis_bundle_tip(git_object **target_out, git_repository *repo, git_packbuilder *pb, bool recur,
		     git_revwalk *walk, const git_oid *oid, bool *pushed);

#endif
