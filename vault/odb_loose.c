/*
 * odb_loose.c - a lean and strict reader of loose objects for libgit2 (see odb_loose.h).
 *
 * Two reasons to read loose objects here, in front of libgit2's own loose backend:
 *
 *   - libgit2 1.5 (Debian 12) mishandles damaged loose files, and the files of a vault are
 *     exactly what a forger would damage. A truncated file makes it loop forever (libgit2
 *     issue #7342, fixed upstream in 2026 by #7346), so `kluis verify` would hang instead of
 *     reporting; a header that states a smaller size than the content makes it copy up to
 *     a few dozen bytes past its buffer (#7177). This reader refuses any file that is not one
 *     well-formed zlib stream of "<type> <size>\0<content>", with the size written as git
 *     writes it and the content exactly that long, and libgit2's loose reader never sees it.
 *   - Speed: libgit2 reads an object with access(2), open(2), fstat(2), read(2) and close(2),
 *     each on the full path (eight components for the kernel to walk), after its pack backend
 *     has looked first. Verification reads ~9 objects a commit, and that was a quarter of its
 *     CPU time. This reader opens "xx/yyyy" relative to the objects directory: three calls.
 *
 * It cannot let a wrong object through: libgit2 hashes whatever a backend returns
 * (GIT_OPT_ENABLE_STRICT_HASH_VERIFICATION, on by default) and refuses content that does not
 * hash to the id asked for. A file that is not there, or cannot be opened, or is larger than
 * LOOSE_MAX, is GIT_PASSTHROUGH: the next backends (packs; libgit2's loose reader) take it.
 */
#include "odb_loose.h"
#include "error.h"
#include "repo.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <git2/sys/odb_backend.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

/* Larger files are left to libgit2 (verification streams large ciphertexts itself). */
#define LOOSE_MAX (1024 * 1024)
/* Objects larger than this (inflated) are left to libgit2 too. */
#define SIZE_MAX_HERE (64ULL << 20)
#define HEADER_MAX 32 /* "commit 18446744073709551615\0" fits */
/* In front of libgit2's loose (1) and pack (2) backends. */
#define PRIORITY 10

typedef struct {
	git_odb_backend parent;
	int objects_fd;
	pthread_mutex_t lock; /* for `file`: libgit2 may read one odb from several threads */
	unsigned char *file;  /* the compressed file, reused from one read to the next */
	size_t cap;
} lean_backend;

static git_object_t type_named(const char *name, size_t len)
{
	if (len == 6 && memcmp(name, "commit", 6) == 0)
		return GIT_OBJECT_COMMIT;
	if (len == 4 && memcmp(name, "tree", 4) == 0)
		return GIT_OBJECT_TREE;
	if (len == 4 && memcmp(name, "blob", 4) == 0)
		return GIT_OBJECT_BLOB;
	if (len == 3 && memcmp(name, "tag", 3) == 0)
		return GIT_OBJECT_TAG;
	return GIT_OBJECT_INVALID;
}

/* The whole file behind fd into b->file; its length, or -1 (too large, or a read error). */
static ssize_t slurp(lean_backend *b, int fd)
{
	size_t have = 0;
	unsigned char *grown;
	ssize_t r;

	for (;;) {
		if (have == b->cap) {
			size_t cap = b->cap ? b->cap * 2 : 16384;

			if (cap > LOOSE_MAX || !(grown = realloc(b->file, cap)))
				return -1;
			b->file = grown;
			b->cap = cap;
		}
		r = read(fd, b->file + have, b->cap - have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			return (ssize_t)have;
		have += (size_t)r;
	}
}

/*
 * Inflate "<type> <size>\0<content>" from in[0..len): the content into a buffer of libgit2's
 * (NUL-terminated, as libgit2's own reader leaves it). 0; GIT_PASSTHROUGH for an object too
 * large to read here; -1 (*why set) for anything that is not a well-formed object of exactly
 * its stated size.
 */
static int inflate_object(git_odb_backend *backend, const unsigned char *in, size_t len, void **data_out, size_t *size_out,
			  git_object_t *type_out, const char **why)
{
	unsigned char head[HEADER_MAX];
	unsigned char *data = NULL, *nul, *sp;
	unsigned long long size = 0;
	size_t hlen, extra;
	z_stream zs, *z = &zs;
	int zr, rc = -1;
	git_object_t type;

	*why = "it is not a zlib stream of a git object";
	memset(&zs, 0, sizeof(zs));
	if (len > UINT_MAX || inflateInit(&zs) != Z_OK) {
		*why = "out of memory";
		return -1;
	}
	z->next_in = (Bytef *)in;
	z->avail_in = (uInt)len;
	z->next_out = head;
	z->avail_out = sizeof(head);
	zr = inflate(z, Z_NO_FLUSH);
	if (zr != Z_OK && zr != Z_STREAM_END)
		goto cleanup;
	hlen = sizeof(head) - z->avail_out;
	if (!(nul = memchr(head, '\0', hlen)) || !(sp = memchr(head, ' ', (size_t)(nul - head))))
		goto cleanup;
	if ((type = type_named((const char *)head, (size_t)(sp - head))) == GIT_OBJECT_INVALID || sp + 1 == nul)
		goto cleanup;
	if (sp[1] == '0' && sp + 2 != nul)
		goto cleanup; /* git writes no leading zeros, and reads none */
	for (unsigned char *p = sp + 1; p < nul; p++) {
		if (*p < '0' || *p > '9')
			goto cleanup;
		if ((size = size * 10 + (unsigned)(*p - '0')) > SIZE_MAX_HERE) {
			rc = GIT_PASSTHROUGH; /* large (a well-compressed document): libgit2's to read */
			goto cleanup;
		}
	}
	*why = "its content does not have the size its header states";
	extra = hlen - (size_t)(nul + 1 - head); /* content inflated along with the header */
	if (extra > size)
		goto cleanup;
	if (!(data = git_odb_backend_data_alloc(backend, (size_t)size + 1))) {
		*why = "out of memory";
		goto cleanup;
	}
	memcpy(data, nul + 1, extra);
	if (zr != Z_STREAM_END) {
		/* all the input is there: the stream must end exactly when the content is full */
		z->next_out = data + extra;
		z->avail_out = (uInt)(size - extra);
		zr = inflate(z, Z_FINISH);
		if (zr != Z_STREAM_END || z->avail_out != 0)
			goto cleanup;
	} else if (extra != size) {
		goto cleanup;
	}
	data[size] = '\0';
	*data_out = data;
	*size_out = (size_t)size;
	*type_out = type;
	data = NULL;
	rc = 0;
cleanup:
	if (data)
		git_odb_backend_data_free(backend, data);
	inflateEnd(&zs);
	return rc;
}

static int lean_read(void **data, size_t *size, git_object_t *type, git_odb_backend *backend, const git_oid *oid)
{
	lean_backend *b = (lean_backend *)backend;
	char hex[GIT_OID_HEXSZ + 1], name[GIT_OID_HEXSZ + 2], msg[160];
	const char *why;
	ssize_t len;
	int fd, rc;

	git_oid_tostr(hex, sizeof(hex), oid);
	snprintf(name, sizeof(name), "%.2s/%s", hex, hex + 2);
	if ((fd = openat(b->objects_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return GIT_PASSTHROUGH;
	pthread_mutex_lock(&b->lock);
	len = slurp(b, fd);
	close(fd);
	rc = len < 0 ? GIT_PASSTHROUGH : inflate_object(backend, b->file, (size_t)len, data, size, type, &why);
	pthread_mutex_unlock(&b->lock);
	if (rc == -1) {
		snprintf(msg, sizeof(msg), "loose object %s is corrupted: %s", hex, why);
		git_error_set_str(GIT_ERROR_ODB, msg);
	}
	return rc;
}

static void lean_free(git_odb_backend *backend)
{
	lean_backend *b = (lean_backend *)backend;

	close(b->objects_fd);
	pthread_mutex_destroy(&b->lock);
	free(b->file);
	free(b);
}

int kluis_odb_lean_backend(git_odb_backend **out, const char *objects_dir)
{
	lean_backend *b;

	*out = NULL;
	if (!(b = calloc(1, sizeof(*b))) || git_odb_init_backend(&b->parent, GIT_ODB_BACKEND_VERSION) < 0) {
		free(b);
		return kluis_error_set(KLUIS_EGENERIC, "out of memory");
	}
	if ((b->objects_fd = open(objects_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		int e = errno;

		free(b);
		return kluis_error_set(KLUIS_EGENERIC, "cannot open %s: %s", objects_dir, strerror(e));
	}
	pthread_mutex_init(&b->lock, NULL);
	b->parent.read = lean_read;
	b->parent.free = lean_free;
	*out = &b->parent;
	return 0;
}

int kluis_odb_lean_loose(git_repository *repo)
{
	git_odb *odb = NULL;
	git_odb_backend *b = NULL;
	char *objects = NULL;
	int err = 0;

	if (asprintf(&objects, "%sobjects", git_repository_path(repo)) < 0)
		return kluis_error_set(KLUIS_EGENERIC, "out of memory");
	if (git_repository_odb(&odb, repo) < 0) {
		err = kluis_git_fail(KLUIS_EGENERIC, "cannot open the object database");
		goto cleanup;
	}
	for (size_t i = 0; i < git_odb_num_backends(odb); i++) {
		git_odb_backend *have;

		if (git_odb_get_backend(&have, odb, i) == 0 && have->read == lean_read)
			goto cleanup; /* there already */
	}
	if ((err = kluis_odb_lean_backend(&b, objects)) < 0)
		goto cleanup;
	if (git_odb_add_backend(odb, b, PRIORITY) < 0) {
		err = kluis_error_set(KLUIS_EGENERIC, "cannot add the loose-object reader: %s",
				      git_error_last() ? git_error_last()->message : "libgit2");
		b->free(b);
		goto cleanup;
	}
cleanup:
	git_odb_free(odb);
	free(objects);
	return err;
}
