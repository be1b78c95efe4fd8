/*
 * objstream.c - the one reader of git objects by hand (see objstream.h): loose object files
 * and undeltified pack entries, streamed; and the lean backend that reads loose objects whole
 * for libgit2's object database.
 *
 * Invariants: memory per open stream is fixed buffers (IN_CHUNK of compressed input,
 * LOOSE_FIRST of a loose object's first bytes, the caller's output) plus zlib's state,
 * whatever the object's size, except on the documented
 * whole-object path; a stream never yields more or fewer bytes than the object's header says
 * without failing with KLUIS_EVERIFY; a loose header is taken only as git writes it; nothing
 * is mapped (mmap pages would count as the process's resident memory), everything is read with
 * pread(2) through the page cache.
 *
 * Formats read here (git's own, stable for 15 years): a loose object file is one zlib stream
 * of "<type> <size>\0<content>"; a pack index v2 is "\377tOc", version 2, a 256-entry fanout
 * of cumulative counts, the sorted object ids, their CRCs, 31-bit offsets (high bit set: an
 * index into a table of 64-bit offsets); a pack entry is a varint header (3 type bits, size in
 * 4 + 7n bits) followed, for a whole object (types 1-4), by one zlib stream of its content.
 *
 * Why a backend of our own in front of libgit2's loose reader (kluis_odb_lean_loose):
 *
 *   - libgit2 1.5 (Debian 12) mishandles damaged loose files, and the files of a vault are
 *     exactly what a forger would damage. A truncated file makes it loop forever (libgit2
 *     issue #7342, fixed upstream in 2026 by #7346), so `kluis verify` would hang instead of
 *     reporting; a header that states a smaller size than the content makes it copy up to
 *     a few dozen bytes past its buffer (#7177). This reader refuses any file that is not one
 *     well-formed zlib stream of "<type> <size>\0<content>", with the size written as git
 *     writes it and the content exactly that long, and libgit2's loose reader never sees it.
 *   - Speed: libgit2 reads an object with access(2), open(2), fstat(2), read(2) and close(2),
 *     each on the full path, after its pack backend has looked first; verification reads ~9
 *     objects a commit. The backend opens "xx/yyyy" relative to the objects directory and
 *     reads it with one pread(2), into one stream whose buffers and zlib state serve every
 *     read (no allocation but the object's own).
 *
 * It cannot let a wrong object through: libgit2 hashes whatever a backend returns and refuses
 * content that does not hash to the id asked for. A file that is not there or cannot be
 * opened, or an object larger than LEAN_MAX, is GIT_PASSTHROUGH: libgit2's backends take it.
 */
#include "vault/git/objstream.h"
#include "vault/base/error.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gcrypt.h>
#include <git2/sys/odb_backend.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define IN_CHUNK (64 * 1024)
#define LOOSE_HEADER_MAX 64
#define LOOSE_FIRST (8 * 1024)
/* Larger objects (inflated) the lean backend leaves to libgit2: it would allocate them whole. */
#define LEAN_MAX (64ULL << 20)
/* In front of libgit2's loose (1) and pack (2) backends. */
#define LEAN_PRIORITY 10
#define IDX_HEADER 8
#define IDX_FANOUT (256 * 4)

struct kluis_objstream {
	/* whole: an object read by libgit2, handed out from memory */
	git_odb_object *whole;
	size_t whole_pos;
	/* streamed: a zlib stream starting at `off` in `fd` */
	int fd;
	uint64_t off;
	z_stream z;
	bool z_live, z_end;
	unsigned char *in;
	size_t pend_len, pend_pos;
	uint64_t size, produced;
	char hex[GIT_OID_HEXSZ + 1];
	/* a loose object's first bytes: its header and the content inflated along with it, handed
	 * out from pend_pos (a small object whole, inflated in one call: zlib's fast loop decodes
	 * only while it has 258 bytes of room, so a 64-byte buffer decoded byte by byte); last, and
	 * not zeroed when a stream is made */
	unsigned char pend[LOOSE_FIRST];
};

static ssize_t pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	size_t got = 0;

	while (got < len) {
		ssize_t r = pread(fd, (unsigned char *)buf + got, len - got, (off_t)(off + got));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/* One read (a short one is fine: the caller reads again while its stream wants more), so that
 * a loose object smaller than the buffer costs one pread, not a second one to see its end. */
static ssize_t pread_some(int fd, void *buf, size_t len, uint64_t off)
{
	ssize_t r;

	while ((r = pread(fd, buf, len, (off_t)off)) < 0 && errno == EINTR)
		;
	return r;
}

static uint32_t be32(const unsigned char *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static const char *git_msg(void)
{
	const git_error *e = git_error_last();

	return e && e->message ? e->message : "unreadable";
}

static int corrupt(kluis_objstream *s, const char *why)
{
	return kluis_error_set(KLUIS_EVERIFY, "object %s is corrupted: %s", s->hex, why);
}

/*
 * Inflate into out[0..len) until at least one byte came out or the zlib stream ended.
 * *got is what came out (0 only at the end of the stream).
 */
static int inflate_some(kluis_objstream *s, unsigned char *out, size_t len, size_t *got)
{
	*got = 0;
	if (s->z_end || len == 0)
		return 0;
	s->z.next_out = out;
	s->z.avail_out = (uInt)len;
	while (s->z.avail_out == len) {
		int zr;

		if (s->z.avail_in == 0) {
			ssize_t r = pread_some(s->fd, s->in, IN_CHUNK, s->off);

			if (r < 0)
				return kluis_error_set(KLUIS_EGENERIC, "cannot read object %s: %s", s->hex, strerror(errno));
			if (r == 0)
				return corrupt(s, "its stored form is truncated");
			s->off += (uint64_t)r;
			s->z.next_in = s->in;
			s->z.avail_in = (uInt)r;
		}
		zr = inflate(&s->z, Z_NO_FLUSH);
		if (zr == Z_STREAM_END) {
			s->z_end = true;
			break;
		}
		if (zr != Z_OK)
			return corrupt(s, s->z.msg ? s->z.msg : "zlib error");
	}
	*got = len - s->z.avail_out;
	return 0;
}

/* A stream that has inflated before is reset, not set up again: its zlib state and window
 * (~40 KB of allocations a read otherwise) serve the next object (the lean backend's). */
static int start_zlib(kluis_objstream *s, int fd, uint64_t off)
{
	s->fd = fd;
	s->off = off;
	if (!s->in && !(s->in = malloc(IN_CHUNK)))
		return kluis_error_set(KLUIS_EGENERIC, "out of memory");
	s->z.next_in = NULL;
	s->z.avail_in = 0;
	if (s->z_live ? inflateReset(&s->z) != Z_OK : inflateInit(&s->z) != Z_OK)
		return kluis_error_set(KLUIS_EGENERIC, "cannot start zlib");
	s->z_live = true;
	return 0;
}

static git_object_t type_named(const char *name, size_t len)
{
	static const struct {
		const char *name;
		git_object_t type;
	} types[] = { { "commit", GIT_OBJECT_COMMIT }, { "tree", GIT_OBJECT_TREE }, { "blob", GIT_OBJECT_BLOB }, { "tag", GIT_OBJECT_TAG } };
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strlen(types[i].name) == len && memcmp(name, types[i].name, len) == 0)
			return types[i].type;
	return GIT_OBJECT_INVALID;
}

/* "<type> <size>\0" at the start of hdr[0..have), as git writes it (decimal digits, no sign,
 * no leading zero): 0 with *hlen its length, or -1. */
static int loose_header(const char *hdr, size_t have, git_object_t *type, uint64_t *size, size_t *hlen)
{
	const char *nul = memchr(hdr, '\0', have), *sp = nul ? memchr(hdr, ' ', (size_t)(nul - hdr)) : NULL, *p;

	if (!sp || (*type = type_named(hdr, (size_t)(sp - hdr))) == GIT_OBJECT_INVALID || sp + 1 == nul ||
	    (sp[1] == '0' && sp + 2 != nul))
		return -1;
	*size = 0;
	for (p = sp + 1; p < nul; p++) {
		if (*p < '0' || *p > '9' || *size > (UINT64_MAX - 9) / 10)
			return -1;
		*size = *size * 10 + (uint64_t)(*p - '0');
	}
	*hlen = (size_t)(nul + 1 - hdr);
	return 0;
}

/* The loose object file open at fd (the stream owns it from here): its header read. */
static int loose_open(kluis_objstream *s, int fd, git_object_t *type)
{
	size_t have = 0, got, hlen;
	int err;

	if ((err = start_zlib(s, fd, 0)) < 0)
		return err;
	/* "<type> <size>\0", then content: inflate until the NUL shows */
	while (have < LOOSE_HEADER_MAX && !memchr(s->pend, '\0', have)) {
		if ((err = inflate_some(s, s->pend + have, sizeof(s->pend) - have, &got)) < 0)
			return err;
		if (got == 0)
			break;
		have += got;
	}
	if (loose_header((const char *)s->pend, have < LOOSE_HEADER_MAX ? have : LOOSE_HEADER_MAX, type, &s->size, &hlen) < 0)
		return corrupt(s, "bad loose object header");
	s->pend_pos = hlen;
	s->pend_len = have;
	return 0;
}

/* A loose object file: 1 streaming, 0 not loose, <0 error. */
static int open_loose(kluis_objstream *s, git_repository *repo, git_object_t *type)
{
	char *path = NULL;
	int fd, err;

	if (asprintf(&path, "%sobjects/%.2s/%s", git_repository_path(repo), s->hex, s->hex + 2) < 0)
		return kluis_error_set(KLUIS_EGENERIC, "out of memory");
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	free(path);
	if (fd < 0)
		return errno == ENOENT ? 0 : kluis_error_set(KLUIS_EGENERIC, "cannot open object %s: %s", s->hex, strerror(errno));
	return (err = loose_open(s, fd, type)) < 0 ? err : 1;
}

/* Look `oid` up in one pack index v2: 1 found (*off set), 0 not in it, <0 unusable index. */
static int idx_find(const char *idx_path, const git_oid *oid, uint64_t *off)
{
	unsigned char head[IDX_HEADER + IDX_FANOUT], rec[GIT_OID_RAWSZ], o8[8];
	uint32_t lo, hi, n, mid, o32;
	int fd, rc = -1;

	if ((fd = open(idx_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return -1;
	if (pread_full(fd, head, sizeof(head), 0) != (ssize_t)sizeof(head) || memcmp(head, "\377tOc", 4) != 0 ||
	    be32(head + 4) != 2)
		goto cleanup;
	n = be32(head + IDX_HEADER + 255 * 4);
	hi = be32(head + IDX_HEADER + oid->id[0] * 4);
	lo = oid->id[0] ? be32(head + IDX_HEADER + (oid->id[0] - 1) * 4) : 0;
	if (lo > hi || hi > n)
		goto cleanup;
	rc = 0;
	while (lo < hi) {
		int c;

		mid = lo + (hi - lo) / 2;
		if (pread_full(fd, rec, sizeof(rec), IDX_HEADER + IDX_FANOUT + (uint64_t)mid * GIT_OID_RAWSZ) != (ssize_t)sizeof(rec)) {
			rc = -1;
			goto cleanup;
		}
		if ((c = memcmp(oid->id, rec, GIT_OID_RAWSZ)) == 0)
			break;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	if (lo >= hi)
		goto cleanup;
	/* offsets follow the ids and the CRCs */
	rc = -1;
	if (pread_full(fd, o8, 4, IDX_HEADER + IDX_FANOUT + (uint64_t)n * (GIT_OID_RAWSZ + 4) + (uint64_t)mid * 4) != 4)
		goto cleanup;
	o32 = be32(o8);
	if (o32 & 0x80000000u) {
		if (pread_full(fd, o8, 8, IDX_HEADER + IDX_FANOUT + (uint64_t)n * (GIT_OID_RAWSZ + 8) + (uint64_t)(o32 & 0x7fffffffu) * 8) != 8)
			goto cleanup;
		*off = ((uint64_t)be32(o8) << 32) | be32(o8 + 4);
	} else {
		*off = o32;
	}
	rc = 1;
cleanup:
	close(fd);
	return rc;
}

/* An undeltified entry of a local pack: 1 streaming, 0 not found there (or a delta, or an
 * index this code does not read: the caller reads it whole), <0 error. */
static int open_packed(kluis_objstream *s, git_repository *repo, const git_oid *oid, git_object_t *type)
{
	char *dir = NULL, *path = NULL;
	DIR *d = NULL;
	struct dirent *de;
	unsigned char h[16];
	uint64_t off = 0, size;
	ssize_t r;
	size_t i, shift;
	int fd = -1, rc = 0, t;

	if (asprintf(&dir, "%sobjects/pack", git_repository_path(repo)) < 0) {
		dir = NULL;
		rc = kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto cleanup;
	}
	if (!(d = opendir(dir)))
		goto cleanup;
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);

		if (len < 5 || strcmp(de->d_name + len - 4, ".idx") != 0)
			continue;
		free(path);
		if (asprintf(&path, "%s/%s", dir, de->d_name) < 0) {
			path = NULL;
			rc = kluis_error_set(KLUIS_EGENERIC, "out of memory");
			goto cleanup;
		}
		if (idx_find(path, oid, &off) == 1)
			break;
	}
	if (!de)
		goto cleanup;
	{
		/* "pack-X.idx" -> "pack-X.pack" */
		char *pack = NULL;

		if (asprintf(&pack, "%.*s.pack", (int)(strlen(path) - 4), path) < 0) {
			rc = kluis_error_set(KLUIS_EGENERIC, "out of memory");
			goto cleanup;
		}
		free(path);
		path = pack;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		goto cleanup;
	if ((r = pread_full(fd, h, sizeof(h), off)) < 1)
		goto cleanup;
	t = (h[0] >> 4) & 7;
	size = h[0] & 15;
	for (i = 1, shift = 4; h[i - 1] & 0x80; i++, shift += 7) {
		if (i >= (size_t)r || shift > 57) {
			rc = corrupt(s, "bad pack entry header");
			goto cleanup;
		}
		size |= (uint64_t)(h[i] & 0x7f) << shift;
	}
	if (t < 1 || t > 4) /* a delta (6, 7) or nonsense: leave it to libgit2 */
		goto cleanup;
	*type = (git_object_t)t;
	s->size = size;
	if ((rc = start_zlib(s, fd, off + i)) < 0)
		goto cleanup;
	fd = -1;
	rc = 1;
cleanup:
	if (fd >= 0)
		close(fd);
	if (d)
		closedir(d);
	free(path);
	free(dir);
	return rc;
}

/*
 * `stream_loose`: a loose object of any size is streamed (not read whole through libgit2,
 * which reads its header first and then the whole file again, and hashes it with SHA-1DC);
 * only for callers that check the id themselves (kluis_objstream_check_pointer).
 */
static int objstream_open(kluis_objstream **out, git_repository *repo, const git_oid *oid, git_object_t *type_out,
			  uint64_t *size_out, bool stream_loose)
{
	kluis_objstream *s = NULL;
	git_odb *odb = NULL;
	git_object_t type = GIT_OBJECT_INVALID, stype = GIT_OBJECT_INVALID;
	size_t hsize = 0;
	int rc, err = 0;

	*out = NULL;
	if (!(s = malloc(sizeof(*s)))) {
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto cleanup;
	}
	memset(s, 0, offsetof(kluis_objstream, pend));
	s->fd = -1;
	git_oid_tostr(s->hex, sizeof(s->hex), oid);
	if (stream_loose) {
		if ((rc = open_loose(s, repo, &type)) < 0) {
			err = rc;
			goto cleanup;
		}
		if (rc == 1)
			goto opened;
		type = GIT_OBJECT_INVALID;
	}
	if (git_repository_odb(&odb, repo) < 0) {
		err = kluis_git_fail(KLUIS_EGENERIC, "cannot open the object database");
		goto cleanup;
	}
	if ((rc = git_odb_read_header(&hsize, &type, odb, oid)) < 0) {
		err = rc == GIT_ENOTFOUND ? kluis_error_set(KLUIS_ENOTFOUND, "object %s is missing", s->hex) : corrupt(s, git_msg());
		goto cleanup;
	}
	if (hsize > KLUIS_OBJSTREAM_WHOLE_MAX) {
		if ((rc = open_loose(s, repo, &stype)) == 0) {
			if (s->z_live) {
				inflateEnd(&s->z);
				s->z_live = false;
			}
			rc = open_packed(s, repo, oid, &stype);
		}
		if (rc < 0) {
			err = rc;
			goto cleanup;
		}
		if (rc == 1 && (stype != type || s->size != (uint64_t)hsize)) {
			err = corrupt(s, "its stored header disagrees with the object database");
			goto cleanup;
		}
	}
	if (!s->z_live) {
		/* small, or stored where only libgit2 reads it (a delta, an alternate) */
		if ((rc = git_odb_read(&s->whole, odb, oid)) < 0) {
			err = rc == GIT_ENOTFOUND ? kluis_error_set(KLUIS_ENOTFOUND, "object %s is missing", s->hex) : corrupt(s, git_msg());
			goto cleanup;
		}
		s->size = git_odb_object_size(s->whole);
		type = git_odb_object_type(s->whole);
	}
opened:
	if (type_out)
		*type_out = type;
	if (size_out)
		*size_out = s->size;
	*out = s;
	s = NULL;
cleanup:
	git_odb_free(odb);
	kluis_objstream_free(s);
	return err;
}

int kluis_objstream_open(kluis_objstream **out, git_repository *repo, const git_oid *oid,
			 git_object_t *type_out, uint64_t *size_out)
{
	return objstream_open(out, repo, oid, type_out, size_out, false);
}

int kluis_objstream_read(kluis_objstream *s, void *buf, size_t len, size_t *n_out)
{
	size_t got = 0;
	int err;

	*n_out = 0;
	if (len > (size_t)1 << 30)
		len = (size_t)1 << 30;
	if (s->whole) {
		got = s->size - s->whole_pos < len ? (size_t)(s->size - s->whole_pos) : len;
		memcpy(buf, (const unsigned char *)git_odb_object_data(s->whole) + s->whole_pos, got);
		s->whole_pos += got;
		*n_out = got;
		return 0;
	}
	if (s->pend_pos < s->pend_len) {
		got = s->pend_len - s->pend_pos < len ? s->pend_len - s->pend_pos : len;
		memcpy(buf, s->pend + s->pend_pos, got);
		s->pend_pos += got;
	} else if ((err = inflate_some(s, buf, len, &got)) < 0) {
		return err;
	}
	s->produced += got;
	if (s->produced > s->size)
		return corrupt(s, "it is longer than its header says");
	if (got == 0 && s->produced != s->size)
		return corrupt(s, "it is shorter than its header says");
	*n_out = got;
	return 0;
}

/* The zlib stream and the file of a stream, not its buffers. */
static void stream_close(kluis_objstream *s)
{
	if (s->z_live)
		inflateEnd(&s->z);
	if (s->fd >= 0)
		close(s->fd);
}

void kluis_objstream_free(kluis_objstream *s)
{
	if (!s)
		return;
	stream_close(s);
	git_odb_object_free(s->whole);
	free(s->in);
	free(s);
}

/*
 * One pass of the check. `stream_loose`: a loose object is streamed whatever its size. A
 * streamed object's id is checked here: SHA-1 over git's header ("blob SIZE\0") and the
 * content, as git computes ids. Plain SHA-1 rather than libgit2's collision-detecting SHA-1DC:
 * the content is bound by the signed sha256 as well, so a colliding content cannot pass.
 */
static int check_pointer(git_repository *repo, const kluis_pointer *p, kluis_buf *head, bool stream_loose, kluis_objstream_tap tap,
			 void *tap_ctx)
{
	kluis_objstream *s = NULL;
	kluis_sha256 *h = NULL;
	gcry_md_hd_t id_md = NULL;
	unsigned char *buf = NULL;
	git_object_t type;
	uint64_t size = 0, seen = 0;
	char sha[65] = "", hex[GIT_OID_HEXSZ + 1], git_header[64];
	size_t n;
	int err = 0, hlen;

	git_oid_tostr(hex, sizeof(hex), &p->oid);
	if ((err = objstream_open(&s, repo, &p->oid, &type, &size, stream_loose)) < 0) {
		err = err == KLUIS_ENOTFOUND ? kluis_error_set(KLUIS_ENOTFOUND, "ciphertext object %s is missing", hex)
					     : kluis_error_set(err, "ciphertext %s", kluis_error_last());
		goto cleanup;
	}
	if (type != GIT_OBJECT_BLOB || size != p->size) {
		err = kluis_error_set(KLUIS_EVERIFY, "ciphertext object %s does not match its signed pointer (size or sha256)", hex);
		goto cleanup;
	}
	if ((err = kluis_sha256_new(&h)) < 0)
		goto cleanup;
	if (s->whole == NULL) { /* streamed: read here, not by libgit2 */
		hlen = snprintf(git_header, sizeof(git_header), "blob %llu", (unsigned long long)size);
		if (gcry_md_open(&id_md, GCRY_MD_SHA1, 0)) {
			err = kluis_error_set(KLUIS_EGENERIC, "libgcrypt: cannot open sha1");
			goto cleanup;
		}
		gcry_md_write(id_md, git_header, (size_t)hlen + 1); /* the NUL too */
	}
	if (!(buf = malloc(IN_CHUNK))) {
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto cleanup;
	}
	if (tap)
		tap(tap_ctx, NULL, 0);
	for (;;) {
		if ((err = kluis_objstream_read(s, buf, IN_CHUNK, &n)) < 0) {
			err = kluis_error_set(err, "ciphertext %s", kluis_error_last());
			goto cleanup;
		}
		if (n == 0)
			break;
		kluis_sha256_update(h, buf, n);
		if (tap)
			tap(tap_ctx, buf, n);
		if (id_md)
			gcry_md_write(id_md, buf, n);
		if (seen < KLUIS_OBJSTREAM_HEAD &&
		    (err = kluis_buf_put(head, buf, KLUIS_OBJSTREAM_HEAD - seen < n ? (size_t)(KLUIS_OBJSTREAM_HEAD - seen) : n)) < 0)
			goto cleanup;
		seen += n;
	}
	if (id_md && memcmp(gcry_md_read(id_md, GCRY_MD_SHA1), p->oid.id, GIT_OID_RAWSZ) != 0) {
		err = corrupt(s, "its content does not hash to its id");
		err = kluis_error_set(err, "ciphertext %s", kluis_error_last());
		goto cleanup;
	}
	kluis_sha256_hex(h, sha);
	if (strcmp(sha, p->sha256) != 0)
		err = kluis_error_set(KLUIS_EVERIFY, "ciphertext object %s does not match its signed pointer (size or sha256)", hex);
cleanup:
	gcry_md_close(id_md);
	kluis_sha256_free(h);
	kluis_objstream_free(s);
	free(buf);
	return err;
}

int kluis_objstream_check_pointer(git_repository *repo, const kluis_pointer *p, kluis_buf *head, kluis_objstream_tap tap, void *tap_ctx)
{
	size_t had = head->len;
	int err = check_pointer(repo, p, head, true, tap, tap_ctx);

	/* An object that fails here is checked again the general way (a small one whole through
	 * libgit2), so that the finding says what libgit2 says of it; failures are rare, and the
	 * second read costs an honest run nothing. */
	if (err < 0 && err != KLUIS_ENOTFOUND) {
		head->len = had;
		err = check_pointer(repo, p, head, false, tap, tap_ctx);
	}
	return err;
}

/* ---- the lean backend: loose objects read whole for libgit2's object database ---- */

typedef struct {
	git_odb_backend parent;
	int objects_fd;
	pthread_mutex_t lock; /* for `s`: libgit2 may read one odb from several threads */
	kluis_objstream s;    /* one stream for every read: its input buffer and zlib state reused */
} lean_backend;

static int lean_read(void **data, size_t *size, git_object_t *type, git_odb_backend *backend, const git_oid *oid)
{
	lean_backend *b = (lean_backend *)backend;
	kluis_objstream *s = &b->s;
	char hex[GIT_OID_HEXSZ + 1], name[GIT_OID_HEXSZ + 2];
	unsigned char *out = NULL, more;
	size_t got = 0, n;
	int fd, err, rc = GIT_PASSTHROUGH;

	git_oid_tostr(hex, sizeof(hex), oid);
	snprintf(name, sizeof(name), "%.2s/%s", hex, hex + 2);
	if ((fd = openat(b->objects_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return GIT_PASSTHROUGH;
	pthread_mutex_lock(&b->lock);
	memcpy(s->hex, hex, sizeof(hex));
	s->z_end = false;
	s->pend_len = s->pend_pos = 0;
	s->size = s->produced = 0;
	if ((err = loose_open(s, fd, type)) < 0)
		goto refused;
	if (s->size > LEAN_MAX)
		goto cleanup; /* large (a well-compressed document): libgit2's to read */
	if (!(out = git_odb_backend_data_alloc(backend, (size_t)s->size + 1))) {
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto refused;
	}
	/* exactly the size its header states: the stream must end there (one byte more is asked) */
	for (; got < s->size; got += n)
		if ((err = kluis_objstream_read(s, out + got, (size_t)s->size - got, &n)) < 0)
			goto refused;
	if ((err = kluis_objstream_read(s, &more, 1, &n)) < 0)
		goto refused;
	out[s->size] = '\0';
	*data = out;
	*size = (size_t)s->size;
	out = NULL;
	rc = 0;
	goto cleanup;
refused:
	{
		char msg[512];

		/* "loose object ID is corrupted: why", as the findings of verification name it */
		snprintf(msg, sizeof(msg), "%s%s", err == KLUIS_EVERIFY ? "loose " : "", kluis_error_last());
		git_error_set_str(GIT_ERROR_ODB, msg);
	}
	rc = -1;
cleanup:
	close(fd);
	s->fd = -1;
	pthread_mutex_unlock(&b->lock);
	if (out)
		git_odb_backend_data_free(backend, out);
	return rc;
}

static void lean_free(git_odb_backend *backend)
{
	lean_backend *b = (lean_backend *)backend;

	close(b->objects_fd);
	pthread_mutex_destroy(&b->lock);
	stream_close(&b->s);
	free(b->s.in);
	free(b);
}

int kluis_odb_lean_backend(git_odb_backend **out, const char *objects_dir)
{
	lean_backend *b;

	*out = NULL;
	if (!(b = calloc(1, sizeof(*b))) || !(b->s.in = malloc(IN_CHUNK)) || git_odb_init_backend(&b->parent, GIT_ODB_BACKEND_VERSION) < 0) {
		if (b)
			free(b->s.in);
		free(b);
		return kluis_error_set(KLUIS_EGENERIC, "out of memory");
	}
	b->s.fd = -1;
	if ((b->objects_fd = open(objects_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		int e = errno;

		free(b->s.in);
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
	if (git_odb_add_backend(odb, b, LEAN_PRIORITY) < 0) {
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
