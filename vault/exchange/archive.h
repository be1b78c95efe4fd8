/*
 * archive.h - the transfer archive container: a gzip-compressed tar of plain files
 * (archive_write.c writes, archive.c reads). kluis writes gzip level 0 (stored deflate blocks:
 * the content is ciphertext) and reads any level.
 *
 * Writing streams members into a temporary file that takes its name only when closed. Reading
 * extracts into a directory and refuses the whole archive (removing what it had extracted) at
 * the first member that is not a plain file with a safe relative name within the limits (or
 * that the caller's admit refuses), and at any truncation or corruption of the gzip stream or
 * the tar inside it, or more than 1 MiB of padding after the tar's end. Member names kluis
 * writes and accepts: relative, '/'-separated, no empty, "." or ".." component, no backslash or
 * control character, at most 1024 bytes. Directories are implied by names, never stored.
 */
#ifndef KLUIS_ARCHIVE_H
#define KLUIS_ARCHIVE_H

#include <stddef.h>
#include <stdint.h>

/* Progress: `done` of `total` bytes. A nonzero return cancels the operation. */
typedef int (*kluis_archive_progress_cb)(uint64_t done, uint64_t total, void *payload);

typedef struct kluis_archive_writer kluis_archive_writer;

/* NULL if `member` is a name kluis writes and accepts, else why not ("has a '..' component"). */
const char *kluis_archive_name_problem(const char *member);

/*
 * Start an archive that will appear at `path` when closed. KLUIS_EEXISTS if `path` exists:
 * an archive never replaces a file.
 */
int kluis_archive_writer_open(kluis_archive_writer **out, const char *path);

/* Report progress of kluis_archive_add_file: bytes of the current member, its size. */
void kluis_archive_writer_set_progress(kluis_archive_writer *w, kluis_archive_progress_cb cb,
				       void *payload);

/*
 * Add the regular file `src_path` (not followed if a symlink) as `member`, streamed in chunks;
 * it must not change meanwhile. KLUIS_EINVAL, with nothing written, for a name kluis would
 * refuse on reading or one that clashes with a member already added (the same name, or a file
 * where another member needs a directory). Any other failure leaves the writer unusable except
 * for _free.
 */
int kluis_archive_add_file(kluis_archive_writer *w, const char *member, const char *src_path);

/* Add `len` bytes at `buf` as `member`; as kluis_archive_add_file. */
int kluis_archive_add_buffer(kluis_archive_writer *w, const char *member, const void *buf, size_t len);

/* Finish the archive, fsync it and give it its name (0600). After an error nothing appears. */
int kluis_archive_writer_close(kluis_archive_writer *w);

/* Release the writer; if it was not closed successfully, its temporary file is removed.
 * NULL-safe. */
void kluis_archive_writer_free(kluis_archive_writer *w);

/*
 * Limits for extraction. A zero field takes the default (8 GiB per member, 16 GiB in total,
 * 10000 members); NULL limits take all defaults.
 */
typedef struct {
	uint64_t max_member_size;
	uint64_t max_total;
	size_t max_members;
	/* NULL, or a NULL-terminated list of allowed names: exact names, or prefixes ending in
	 * '/' that allow any valid name below them. */
	const char *const *allowed;
	/* Optional: compressed bytes read of the archive's size. */
	kluis_archive_progress_cb progress;
	void *progress_payload;
	/* Optional: asked before each member is created, after the checks above, with its name and
	 * the size its header claims (which the extraction then holds it to). A negative return
	 * (with the error set) refuses the archive there. It may read the members before it, which
	 * lie complete under dest_dir: so a caller checks a signed manifest that comes first before
	 * anything it does not vouch for is written. */
	int (*admit)(const char *name, uint64_t size, void *payload);
	void *admit_payload;
} kluis_archive_limits;

typedef struct {
	char *path; /* the member's name, relative to the destination */
	uint64_t size;
} kluis_archive_member;

/*
 * Extract every member of the archive at `archive_path` into the existing directory `dest_dir`
 * (which should be an empty 0700 directory of the caller's): files 0600, directories 0700,
 * whatever the archive says about modes and owners; nothing is followed through a symlink and
 * nothing existing is overwritten. On success *members_out (free with
 * kluis_archive_members_free) lists the files in archive order. A refused member or a corrupt,
 * truncated or non-gzip archive is KLUIS_EVERIFY; on any failure every file and directory this
 * call created is removed, *members_out is NULL and *n_out 0.
 */
int kluis_archive_extract(const char *archive_path, const char *dest_dir,
			  const kluis_archive_limits *limits, kluis_archive_member **members_out,
			  size_t *n_out);

/* Free what kluis_archive_extract returned. NULL-safe. */
void kluis_archive_members_free(kluis_archive_member *members, size_t n);

#endif
