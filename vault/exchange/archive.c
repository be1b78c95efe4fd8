/*
 * archive.c - reading the transfer archive container (see archive.h), and the member name
 * rules shared with archive_write.c.
 *
 * Invariants: the gzip layer is ours (zlib): the whole stream is inflated, so its CRC and
 * length are always checked, nothing may follow it, and the tar padding after the
 * end-of-archive mark must be zeros; libarchive sees the tar alone and only the tar format is
 * enabled. Every member is checked (name, type, size, limits) before anything is created; every
 * file is created O_EXCL|O_NOFOLLOW, 0600, relative to directories we created 0700 or opened
 * O_NOFOLLOW; archive modes and owners are ignored; a failed extraction removes exactly what it
 * created. Data is streamed in fixed-size chunks, never held whole.
 */
#include "vault/exchange/archive.h"
#include "vault/base/error.h"
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
#include <unistd.h>
#include <zlib.h>

#define IO_CHUNK (64 * 1024)
#define NAME_MAX_LEN 1024
#define DEFAULT_MAX_MEMBER (8ULL << 30)
#define DEFAULT_MAX_TOTAL (16ULL << 30)
#define DEFAULT_MAX_MEMBERS 10000
/* Zero padding after the tar's end-of-archive mark: tar writers pad to a 10240-byte record;
 * more only costs the reader inflating it (a gzip of zeros shrinks a thousandfold). */
#define MAX_TAIL (1u << 20)

/* A member name fit for an error message: printable, bounded. */
static const char *shown(const char *name, char out[128])
{
	size_t i;

	for (i = 0; name[i] && i < 127; i++)
		out[i] = (name[i] >= 0x20 && name[i] < 0x7f) ? name[i] : '?';
	out[i] = '\0';
	return out;
}

/* The one rule for member names, used by the writer and the reader alike (see archive.h). */
const char *kluis_archive_name_problem(const char *name)
{
	const char *p, *comp;
	size_t len;

	if (!name || !*name)
		return "has an empty name";
	if (strlen(name) > NAME_MAX_LEN)
		return "has a name that is too long";
	if (name[0] == '/')
		return "is an absolute path";
	for (p = name; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return "has a control character in its name";
		if (*p == '\\')
			return "has a backslash in its name";
	}
	for (comp = name;; comp = p + 1) {
		p = strchr(comp, '/');
		len = p ? (size_t)(p - comp) : strlen(comp);
		if (len == 0)
			return "has an empty path component";
		if (len == 2 && comp[0] == '.' && comp[1] == '.')
			return "has a '..' component";
		if (len == 1 && comp[0] == '.')
			return "has a '.' component";
		if (len > 255)
			return "has a path component that is too long";
		if (!p)
			return NULL;
	}
}

void kluis_archive_members_free(kluis_archive_member *members, size_t n)
{
	size_t i;

	if (!members)
		return;
	for (i = 0; i < n; i++)
		free(members[i].path);
	free(members);
}

/* The gzip layer of an archive being read: inflates the file in chunks for libarchive. */
struct gz_source {
	int fd;
	z_stream zs;
	bool ready;
	bool end;
	unsigned char *in;
	unsigned char *out[2]; /* alternate, so the chunk before the current one stays intact */
	size_t out_len[2];
	int cur;
	uint64_t produced;     /* bytes of tar handed out so far */
	uint64_t consumed, size;
	kluis_archive_progress_cb progress;
	void *payload;
	int err;       /* the KLUIS_E* code of the failure described in msg */
	char msg[256];
};

static int gz_fail(struct gz_source *s, int code, const char *msg)
{
	s->err = code;
	snprintf(s->msg, sizeof(s->msg), "%s", msg);
	return -1;
}

/* Inflate the next chunk into the other output buffer, which becomes current; *produced is 0
 * only once the stream has ended, whole, with a correct CRC and length and nothing after it. */
static int gz_fill(struct gz_source *s, size_t *produced)
{
	ssize_t r;
	int zr;

	*produced = 0;
	/* a failure is sticky: libarchive may have read ahead into it after the tar's end and
	 * not passed it on, and the tail check must not then find a quiet end instead */
	if (s->err)
		return -1;
	if (s->end)
		return 0;
	s->cur ^= 1;
	s->out_len[s->cur] = 0;
	s->zs.next_out = s->out[s->cur];
	s->zs.avail_out = IO_CHUNK;
	while (s->zs.avail_out == IO_CHUNK && !s->end) {
		if (s->zs.avail_in == 0) {
			if ((r = kluis_fd_read_some(s->fd, s->in, IO_CHUNK)) < 0)
				return gz_fail(s, KLUIS_EGENERIC, strerror(errno));
			if (r == 0)
				return gz_fail(s, KLUIS_EVERIFY, "the gzip stream is truncated");
			s->consumed += (uint64_t)r;
			s->zs.next_in = s->in;
			s->zs.avail_in = (uInt)r;
			if (s->progress && s->progress(s->consumed, s->size, s->payload) != 0)
				return gz_fail(s, KLUIS_EGENERIC, "cancelled");
		}
		zr = inflate(&s->zs, Z_NO_FLUSH);
		if (zr == Z_STREAM_END) {
			s->end = true;
			if (s->zs.avail_in > 0 || kluis_fd_read_some(s->fd, s->in, 1) != 0)
				return gz_fail(s, KLUIS_EVERIFY, "data follows the gzip stream");
		} else if (zr != Z_OK && zr != Z_BUF_ERROR) {
			return gz_fail(s, KLUIS_EVERIFY, s->zs.msg ? s->zs.msg : "corrupt gzip data");
		}
	}
	*produced = s->out_len[s->cur] = IO_CHUNK - s->zs.avail_out;
	s->produced += *produced;
	return 0;
}

static bool all_zero(const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/*
 * After the tar's end-of-archive mark, all that may follow is zero padding up to the end of
 * the gzip stream. The bytes libarchive fetched but did not consume are the last ones handed
 * out: at most one header's read-ahead plus a chunk, so within the two intact buffers.
 */
static int check_tail(struct archive *a, struct gz_source *s)
{
	uint64_t left = s->produced - (uint64_t)archive_filter_bytes(a, 0);
	size_t n, in_cur = left < s->out_len[s->cur] ? (size_t)left : s->out_len[s->cur];
	const unsigned char *cur = s->out[s->cur], *prev = s->out[s->cur ^ 1];

	if (archive_filter_bytes(a, 0) < 0 || left > s->out_len[0] + s->out_len[1])
		return gz_fail(s, KLUIS_EGENERIC, "cannot locate the end of the tar");
	if (!all_zero(cur + s->out_len[s->cur] - in_cur, in_cur) ||
	    !all_zero(prev + s->out_len[s->cur ^ 1] - (left - in_cur), (size_t)(left - in_cur)))
		return gz_fail(s, KLUIS_EVERIFY, "data follows the end of the tar");
	do {
		if (gz_fill(s, &n) < 0)
			return -1;
		if (!all_zero(s->out[s->cur], n))
			return gz_fail(s, KLUIS_EVERIFY, "data follows the end of the tar");
		if ((left += n) > MAX_TAIL)
			return gz_fail(s, KLUIS_EVERIFY, "more than 1 MiB of padding follows the end of the tar");
	} while (n > 0);
	return 0;
}

static la_ssize_t tar_read_cb(struct archive *a, void *client, const void **buf)
{
	struct gz_source *s = client;
	size_t n;

	if (gz_fill(s, &n) < 0) {
		archive_set_error(a, EIO, "%s", s->msg);
		return -1;
	}
	*buf = s->out[s->cur];
	return (la_ssize_t)n;
}

/* Where an extraction has got to: what it created, to be removed on failure. */
struct extraction {
	const char *archive_path;
	int root;
	struct { char *rel; bool dir; } *made;
	size_t nmade;
	kluis_archive_member *members;
	size_t nmembers;
};

static int remember(struct extraction *x, const char *rel, size_t len, bool dir)
{
	void *grown = realloc(x->made, (x->nmade + 1) * sizeof(*x->made));

	if (!grown)
		return kluis_error_set(KLUIS_EGENERIC, "out of memory");
	x->made = grown;
	if (!(x->made[x->nmade].rel = strndup(rel, len)))
		return kluis_error_set(KLUIS_EGENERIC, "out of memory");
	x->made[x->nmade++].dir = dir;
	return 0;
}

static void undo(struct extraction *x)
{
	size_t i;

	for (i = x->nmade; i-- > 0;)
		unlinkat(x->root, x->made[i].rel, x->made[i].dir ? AT_REMOVEDIR : 0);
}

/* Open (creating 0700 where missing) the directories above `name`; *leaf is its last part. */
static int open_parent(struct extraction *x, const char *name, int *dfd_out, const char **leaf)
{
	const char *comp = name, *slash;
	char part[256], buf[128];
	int cur = x->root, next, err = 0;

	*dfd_out = -1;
	while ((slash = strchr(comp, '/')) != NULL) {
		memcpy(part, comp, (size_t)(slash - comp));
		part[slash - comp] = '\0';
		if (mkdirat(cur, part, 0700) == 0) {
			if ((err = remember(x, name, (size_t)(slash - name), true)) < 0) {
				unlinkat(cur, part, AT_REMOVEDIR);
				goto cleanup;
			}
		} else if (errno != EEXIST) {
			err = kluis_error_set(KLUIS_EGENERIC, "cannot create a directory for '%s': %s",
					      shown(name, buf), strerror(errno));
			goto cleanup;
		}
		if ((next = openat(cur, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
			err = kluis_error_set(errno == ENOTDIR || errno == ELOOP ? KLUIS_EVERIFY : KLUIS_EGENERIC,
					      "archive member '%s' clashes with another file: %s",
					      shown(name, buf), strerror(errno));
			goto cleanup;
		}
		if (cur != x->root)
			close(cur);
		cur = next;
		comp = slash + 1;
	}
	*dfd_out = cur;
	*leaf = comp;
	cur = x->root;
cleanup:
	if (cur != x->root)
		close(cur);
	return err;
}

/* A failure of libarchive, or of our gzip layer below it (whose message is the more precise). */
static int read_failed(struct archive *a, const struct gz_source *s, const char *archive_path)
{
	const char *why = s->err ? s->msg : archive_error_string(a);

	return kluis_error_set(s->err ? s->err : KLUIS_EVERIFY, "archive '%s' is corrupt or truncated: %s",
			       archive_path, why ? why : "read error");
}

static int extract_file(struct archive *a, const struct gz_source *s, struct extraction *x,
			const char *name, uint64_t size, unsigned char *buf)
{
	const char *leaf = NULL;
	uint64_t done = 0;
	la_ssize_t r;
	char shownbuf[128];
	int dfd = -1, fd = -1, err = 0;

	if ((err = open_parent(x, name, &dfd, &leaf)) < 0)
		goto cleanup;
	if ((fd = openat(dfd, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0) {
		err = kluis_error_set(errno == EEXIST || errno == ELOOP || errno == EISDIR ? KLUIS_EVERIFY
				      : KLUIS_EGENERIC, "archive member '%s' clashes with another file: %s",
				      shown(name, shownbuf), strerror(errno));
		goto cleanup;
	}
	if ((err = remember(x, name, strlen(name), false)) < 0)
		goto cleanup;
	while ((r = archive_read_data(a, buf, IO_CHUNK)) > 0) {
		done += (uint64_t)r;
		if (done > size) {
			err = kluis_error_set(KLUIS_EVERIFY, "archive member '%s' holds more than its size",
					      shown(name, shownbuf));
			goto cleanup;
		}
		if (kluis_fd_write_all(fd, buf, (size_t)r) < 0) {
			err = kluis_error_set(KLUIS_EGENERIC, "cannot write '%s': %s", shown(name, shownbuf),
					      strerror(errno));
			goto cleanup;
		}
	}
	if (r < 0) {
		err = read_failed(a, s, x->archive_path);
		goto cleanup;
	}
	if (done != size) {
		err = kluis_error_set(KLUIS_EVERIFY, "archive member '%s' is truncated", shown(name, shownbuf));
		goto cleanup;
	}
	if (close(fd) < 0) {
		fd = -1;
		err = kluis_error_set(KLUIS_EGENERIC, "cannot write '%s': %s", shown(name, shownbuf), strerror(errno));
		goto cleanup;
	}
	fd = -1;
cleanup:
	if (fd >= 0)
		close(fd);
	if (dfd >= 0 && dfd != x->root)
		close(dfd);
	return err;
}

static bool allowed(const char *const *list, const char *name)
{
	size_t len;

	if (!list)
		return true;
	for (; *list; list++) {
		len = strlen(*list);
		if (len > 0 && (*list)[len - 1] == '/' ? strncmp(name, *list, len) == 0 && name[len]
						       : strcmp(name, *list) == 0)
			return true;
	}
	return false;
}

/* NULL if the entry is a plain file kluis may extract, else why not. */
static const char *type_problem(struct archive_entry *e)
{
	if (archive_entry_hardlink(e))
		return "is a hard link";
	if (archive_entry_symlink(e))
		return "is a symbolic link";
	switch (archive_entry_filetype(e)) {
	case AE_IFREG:
		break;
	case AE_IFLNK:
		return "is a symbolic link";
	case AE_IFDIR:
		return "is a directory entry (directories are implied by member names)";
	case AE_IFCHR:
	case AE_IFBLK:
		return "is a device";
	case AE_IFIFO:
		return "is a fifo";
	default:
		return "is not a regular file";
	}
	if (archive_entry_sparse_count(e) > 0)
		return "is a sparse file";
	if (!archive_entry_size_is_set(e) || archive_entry_size(e) < 0)
		return "has no valid size";
	return NULL;
}

/* Check one entry against the rules and limits, extract it and list it. */
static int take_entry(struct archive *a, const struct gz_source *s, struct extraction *x,
		      struct archive_entry *e, const kluis_archive_limits *lim, uint64_t *total,
		      unsigned char *buf)
{
	const char *name = archive_entry_pathname(e), *why;
	char shownbuf[128];
	uint64_t size;
	size_t i;
	void *grown;
	int err;

	if ((why = type_problem(e)) == NULL && (why = kluis_archive_name_problem(name)) == NULL) {
		size = (uint64_t)archive_entry_size(e);
		for (i = 0; i < x->nmembers && !why; i++)
			if (strcmp(x->members[i].path, name) == 0)
				why = "appears twice";
		if (!why && !allowed(lim->allowed, name))
			why = "is not a member a transfer archive may hold";
		if (!why && x->nmembers >= lim->max_members)
			why = "is one member too many";
		if (!why && size > lim->max_member_size)
			why = "is larger than the limit";
		if (!why && size > lim->max_total - *total)
			why = "takes the archive over its total size limit";
	}
	if (why)
		return kluis_error_set(KLUIS_EVERIFY, "archive '%s' refused: member '%s' %s", x->archive_path,
				       name ? shown(name, shownbuf) : "", why);
	if (lim->admit && (err = lim->admit(name, size, lim->admit_payload)) < 0)
		return err;
	if (!(grown = realloc(x->members, (x->nmembers + 1) * sizeof(*x->members))))
		return kluis_error_set(KLUIS_EGENERIC, "out of memory");
	x->members = grown;
	if (!(x->members[x->nmembers].path = strdup(name)))
		return kluis_error_set(KLUIS_EGENERIC, "out of memory");
	x->members[x->nmembers++].size = size;
	*total += size;
	if ((err = extract_file(a, s, x, name, size, buf)) < 0)
		return err;
	return 0;
}

int kluis_archive_extract(const char *archive_path, const char *dest_dir,
			  const kluis_archive_limits *limits, kluis_archive_member **members_out,
			  size_t *n_out)
{
	kluis_archive_limits lim = { 0 };
	struct gz_source src;
	struct extraction x = { archive_path, -1, NULL, 0, NULL, 0 };
	struct archive *a = NULL;
	struct archive_entry *e;
	unsigned char *buf = NULL;
	uint64_t total = 0;
	struct stat st;
	size_t i;
	int r, err = 0;

	*members_out = NULL;
	*n_out = 0;
	memset(&src, 0, sizeof(src));
	src.fd = -1;
	if (limits)
		lim = *limits;
	lim.max_member_size = lim.max_member_size ? lim.max_member_size : DEFAULT_MAX_MEMBER;
	lim.max_total = lim.max_total ? lim.max_total : DEFAULT_MAX_TOTAL;
	lim.max_members = lim.max_members ? lim.max_members : DEFAULT_MAX_MEMBERS;
	src.progress = lim.progress;
	src.payload = lim.progress_payload;
	if ((src.fd = open(archive_path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(src.fd, &st) < 0) {
		err = kluis_error_set(KLUIS_EGENERIC, "cannot open archive '%s': %s", archive_path, strerror(errno));
		goto cleanup;
	}
	if (!S_ISREG(st.st_mode)) {
		err = kluis_error_set(KLUIS_EVERIFY, "archive '%s' is not a regular file", archive_path);
		goto cleanup;
	}
	src.size = (uint64_t)st.st_size;
	if ((x.root = open(dest_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		err = kluis_error_set(KLUIS_EGENERIC, "cannot open directory '%s': %s", dest_dir, strerror(errno));
		goto cleanup;
	}
	if (!(src.in = malloc(IO_CHUNK)) || !(src.out[0] = malloc(IO_CHUNK)) ||
	    !(src.out[1] = malloc(IO_CHUNK)) || !(buf = malloc(IO_CHUNK))) {
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto cleanup;
	}
	if (inflateInit2(&src.zs, 16 + MAX_WBITS) != Z_OK) {
		err = kluis_error_set(KLUIS_EGENERIC, "cannot start zlib");
		goto cleanup;
	}
	src.ready = true;
	/* Tar only: the one gzip layer is ours, and no other compression is looked for inside. */
	if (!(a = archive_read_new()) || archive_read_support_format_tar(a) != ARCHIVE_OK ||
	    archive_read_open(a, &src, NULL, tar_read_cb, NULL) != ARCHIVE_OK) {
		err = a ? read_failed(a, &src, archive_path) : kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto cleanup;
	}
	while ((r = archive_read_next_header(a, &e)) != ARCHIVE_EOF) {
		if (r != ARCHIVE_OK) {
			err = read_failed(a, &src, archive_path);
			goto cleanup;
		}
		if ((err = take_entry(a, &src, &x, e, &lim, &total, buf)) < 0)
			goto cleanup;
	}
	if (check_tail(a, &src) < 0) {
		err = kluis_error_set(src.err, "archive '%s' is corrupt or truncated: %s", archive_path, src.msg);
		goto cleanup;
	}
	*members_out = x.members;
	*n_out = x.nmembers;
	x.members = NULL;
cleanup:
	if (err < 0)
		undo(&x);
	if (a)
		archive_read_free(a);
	if (src.ready)
		inflateEnd(&src.zs);
	for (i = 0; i < x.nmade; i++)
		free(x.made[i].rel);
	free(x.made);
	kluis_archive_members_free(x.members, x.nmembers);
	if (x.root >= 0)
		close(x.root);
	if (src.fd >= 0)
		close(src.fd);
	free(src.in);
	free(src.out[0]);
	free(src.out[1]);
	free(buf);
	return err;
}
