/*
 * archive_write.c - writing the transfer archive container (see archive.h) with libarchive:
 * pax-restricted tar (plain ustar where names allow), gzip (level 0: see GZIP_LEVEL).
 *
 * Invariants: members are streamed in fixed-size chunks, never held whole; every member name
 * passes kluis_archive_name_problem and no two names clash, so kluis never writes an archive
 * it would refuse to read; the archive appears under its name only complete and synced
 * (temporary name beside it, 0600, fsync, rename without replacing), else not at all; the
 * temporary is flock()ed until then, and one whose writer was killed is removed by the next
 * writer of that name (workdir.c).
 */
#include "vault/exchange/archive.h"
#include "vault/base/error.h"
#include "vault/store/internal.h"
#include "vault/base/util.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define IO_CHUNK (64 * 1024)
/* Still gzip (SPEC: "A tar archive (gzip)"), of stored deflate blocks: nearly every byte is
 * ciphertext, which does not compress. Measured on 128 MiB of random bytes: level 0 0.7 s,
 * level 1 5.9 s, level 6 7.0 s, the same size (docs/PERFORMANCE.md, "Transfer and import"). */
#define GZIP_LEVEL "0"

struct kluis_archive_writer {
	struct archive *a;
	int fd;
	char *path;
	char *tmp;
	char **names;
	size_t nnames;
	bool failed;
	bool closed;
	kluis_archive_progress_cb progress;
	void *payload;
};

int kluis_archive_writer_open(kluis_archive_writer **out, const char *path)
{
	kluis_archive_writer *w = NULL;
	int err = 0;

	*out = NULL;
	if (access(path, F_OK) == 0)
		return kluis_error_set(KLUIS_EEXISTS, "cannot create '%s': it already exists", path);
	if (errno != ENOENT)
		return kluis_error_set(KLUIS_EGENERIC, "cannot create '%s': %s", path, strerror(errno));
	if (!(w = calloc(1, sizeof(*w))) || !(w->path = strdup(path))) {
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto cleanup;
	}
	w->fd = -1;
	/* locked while it is written; a killed transfer's one is removed by the next to this name */
	if ((err = kluis_file_temp_beside_locked(path, &w->tmp, &w->fd)) < 0)
		goto cleanup;
	if (!(w->a = archive_write_new())) {
		err = kluis_error_set(KLUIS_EGENERIC, "cannot start archive '%s': out of memory", path);
		goto cleanup;
	}
	if (archive_write_set_format_pax_restricted(w->a) != ARCHIVE_OK ||
	    archive_write_add_filter_gzip(w->a) != ARCHIVE_OK ||
	    archive_write_set_filter_option(w->a, "gzip", "compression-level", GZIP_LEVEL) != ARCHIVE_OK ||
	    archive_write_open_fd(w->a, w->fd) != ARCHIVE_OK) {
		err = kluis_error_set(KLUIS_EGENERIC, "cannot start archive '%s': %s", path,
				      archive_error_string(w->a));
		goto cleanup;
	}
	*out = w;
	w = NULL;
cleanup:
	kluis_archive_writer_free(w);
	return err;
}

void kluis_archive_writer_set_progress(kluis_archive_writer *w, kluis_archive_progress_cb cb,
				       void *payload)
{
	w->progress = cb;
	w->payload = payload;
}

/* Check `member` against the rules and the names so far, write its header, remember it. */
static int begin_member(kluis_archive_writer *w, const char *member, uint64_t size)
{
	struct archive_entry *e = NULL;
	const char *why = kluis_archive_name_problem(member);
	char **grown;
	size_t i, len = member ? strlen(member) : 0;
	int err = 0;

	if (w->closed || w->failed)
		return kluis_error_set(KLUIS_EINVAL, "archive '%s' is %s", w->path,
				       w->closed ? "already closed" : "unusable after an earlier error");
	if (why)
		return kluis_error_set(KLUIS_EINVAL, "archive member '%s' %s", member ? member : "", why);
	for (i = 0; i < w->nnames; i++) {
		size_t l = strlen(w->names[i]);

		if (strcmp(w->names[i], member) == 0 ||
		    (l < len && strncmp(member, w->names[i], l) == 0 && member[l] == '/') ||
		    (len < l && strncmp(w->names[i], member, len) == 0 && w->names[i][len] == '/'))
			return kluis_error_set(KLUIS_EINVAL, "archive member '%s' clashes with '%s'",
					       member, w->names[i]);
	}
	if (!(grown = realloc(w->names, (w->nnames + 1) * sizeof(*grown))) ||
	    !(grown[w->nnames] = strdup(member))) {
		if (grown)
			w->names = grown;
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto cleanup;
	}
	w->names = grown;
	w->nnames++;
	if (!(e = archive_entry_new())) {
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto cleanup;
	}
	archive_entry_set_pathname(e, member);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0600);
	archive_entry_set_size(e, (la_int64_t)size);
	archive_entry_set_mtime(e, time(NULL), 0);
	if (archive_write_header(w->a, e) != ARCHIVE_OK) {
		err = kluis_error_set(KLUIS_EGENERIC, "cannot write '%s' into archive '%s': %s",
				      member, w->path, archive_error_string(w->a));
		goto cleanup;
	}
cleanup:
	if (err < 0)
		w->failed = true;
	archive_entry_free(e);
	return err;
}

static int put_data(kluis_archive_writer *w, const char *member, const void *data, size_t len)
{
	if (len > 0 && archive_write_data(w->a, data, len) != (la_ssize_t)len) {
		w->failed = true;
		return kluis_error_set(KLUIS_EGENERIC, "cannot write '%s' into archive '%s': %s", member,
				       w->path, archive_error_string(w->a));
	}
	return 0;
}

static int end_member(kluis_archive_writer *w, const char *member)
{
	if (archive_write_finish_entry(w->a) != ARCHIVE_OK) {
		w->failed = true;
		return kluis_error_set(KLUIS_EGENERIC, "cannot write '%s' into archive '%s': %s", member,
				       w->path, archive_error_string(w->a));
	}
	return 0;
}

int kluis_archive_add_buffer(kluis_archive_writer *w, const char *member, const void *buf, size_t len)
{
	int err;

	if ((err = begin_member(w, member, len)) < 0 || (err = put_data(w, member, buf, len)) < 0)
		return err;
	return end_member(w, member);
}

int kluis_archive_add_file(kluis_archive_writer *w, const char *member, const char *src_path)
{
	unsigned char *buf = NULL;
	struct stat st;
	uint64_t done = 0, size;
	ssize_t r = 0;
	int fd = -1, err = 0;

	if ((fd = open(src_path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0 || fstat(fd, &st) < 0) {
		err = kluis_error_set(KLUIS_EGENERIC, "cannot open '%s': %s", src_path, strerror(errno));
		goto cleanup;
	}
	if (!S_ISREG(st.st_mode)) {
		err = kluis_error_set(KLUIS_EINVAL, "cannot archive '%s': not a regular file", src_path);
		goto cleanup;
	}
	size = (uint64_t)st.st_size;
	if (!(buf = malloc(IO_CHUNK))) {
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto cleanup;
	}
	if ((err = begin_member(w, member, size)) < 0)
		goto cleanup;
	/* Exactly `size` bytes, then end of file: a file that changes under us is an error. */
	while (done < size) {
		size_t want = size - done < IO_CHUNK ? (size_t)(size - done) : IO_CHUNK;

		if ((r = kluis_fd_read_some(fd, buf, want)) <= 0)
			break;
		if ((err = put_data(w, member, buf, (size_t)r)) < 0)
			goto cleanup;
		done += (uint64_t)r;
		if (w->progress && w->progress(done, size, w->payload) != 0) {
			w->failed = true;
			err = kluis_error_set(KLUIS_EGENERIC, "writing archive '%s' was cancelled", w->path);
			goto cleanup;
		}
	}
	if (r < 0 || done != size || (r = kluis_fd_read_some(fd, buf, 1)) != 0) {
		w->failed = true;
		err = kluis_error_set(KLUIS_EGENERIC, "cannot archive '%s': %s", src_path,
				      r < 0 ? strerror(errno) : "it changed while being read");
		goto cleanup;
	}
	err = end_member(w, member);
cleanup:
	free(buf);
	if (fd >= 0)
		close(fd);
	return err;
}

int kluis_archive_writer_close(kluis_archive_writer *w)
{
	int err = 0;

	if (w->closed || w->failed)
		return kluis_error_set(KLUIS_EINVAL, "archive '%s' is %s", w->path,
				       w->closed ? "already closed" : "unusable after an earlier error");
	w->failed = true; /* until it has its name */
	if (archive_write_close(w->a) != ARCHIVE_OK) {
		err = kluis_error_set(KLUIS_EGENERIC, "cannot finish archive '%s': %s", w->path,
				      archive_error_string(w->a));
		goto cleanup;
	}
	if (fsync(w->fd) < 0) {
		err = kluis_error_set(KLUIS_EGENERIC, "cannot write '%s': %s", w->tmp, strerror(errno));
		goto cleanup;
	}
	/* published while still open, so its lock holds until it has its name */
	if ((err = kluis_file_publish(w->tmp, w->path)) < 0)
		goto cleanup;
	close(w->fd); /* synced and named: nothing left to fail on */
	w->fd = -1;
	w->failed = false;
	w->closed = true;
cleanup:
	return err;
}

void kluis_archive_writer_free(kluis_archive_writer *w)
{
	size_t i;

	if (!w)
		return;
	if (w->tmp && !w->closed)
		unlink(w->tmp);
	if (w->a)
		archive_write_free(w->a);
	if (w->fd >= 0)
		close(w->fd);
	for (i = 0; i < w->nnames; i++)
		free(w->names[i]);
	free(w->names);
	free(w->tmp);
	free(w->path);
	free(w);
}
