/*
 * bundle_read.c - reading a git bundle v2 file into a repository's object database
 * (kluis_bundle_read, see bundle.h).
 *
 * Invariants: the reader accepts exactly the v2 format without prerequisites and trusts
 * nothing it has not checked (header syntax, pack checksum, presence and connectivity of every
 * advertised object); the pack is streamed in fixed-size chunks from the file into the odb's
 * pack writer (or as loose objects), never held whole in memory, and no large object is
 * either. Refs are never touched here.
 */
#include "vault/exchange/bundle_internal.h"
#include "vault/base/error.h"
#include "vault/git/repo.h"
#include "vault/base/util.h"

#include <errno.h>
#include <gcrypt.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define BUNDLE_HEADER_MAX (64 * 1024)

/* Prove the objects of one advertised tip present: a commit's whole history follows from the
 * walk, annotated tags are inserted with what they point at, a tree or blob recursively. */
static int add_tip(git_repository *repo, git_packbuilder *pb, git_revwalk *walk, const git_oid *oid,
		   bool *pushed)
{
	git_object *target = NULL;
	int err;

	if ((err = kluis_bundle_tip(&target, repo, pb, true, walk, oid, pushed)) < 0)
		return err;
	if (git_object_type(target) != GIT_OBJECT_COMMIT && git_packbuilder_insert_recur(pb, git_object_id(target), NULL) < 0)
		err = kluis_git_fail(KLUIS_EVERIFY, "cannot read an advertised object");
	git_object_free(target);
	return err;
}

/* Insert every object reachable from the tips into a new packbuilder. Every object is looked
 * up on the way, so this also proves the tips are connected in `repo`. */
static int collect_objects(git_packbuilder **out, git_repository *repo, const git_oid *tips, size_t n)
{
	git_packbuilder *pb = NULL;
	git_revwalk *walk = NULL;
	bool pushed = false;
	size_t i;
	int err = 0;

	*out = NULL;
	if (git_packbuilder_new(&pb, repo) < 0 || git_revwalk_new(&walk, repo) < 0) {
		err = kluis_git_fail(KLUIS_EGENERIC, "cannot start a pack");
		goto cleanup;
	}
	for (i = 0; i < n; i++)
		if ((err = add_tip(repo, pb, walk, &tips[i], &pushed)) < 0)
			goto cleanup;
	if (pushed && git_packbuilder_insert_walk(pb, walk) < 0) {
		err = kluis_git_fail(KLUIS_EVERIFY, "cannot collect the history of the advertised refs");
		goto cleanup;
	}
	*out = pb;
	pb = NULL;
cleanup:
	git_revwalk_free(walk);
	git_packbuilder_free(pb);
	return err;
}

void kluis_bundle_refs_free(kluis_bundle_ref *refs, size_t nrefs)
{
	size_t i;

	if (!refs)
		return;
	for (i = 0; i < nrefs; i++)
		free(refs[i].name);
	free(refs);
}

static bool is_lower_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* Parse the NUL-terminated ref lines of a header (signature and final empty line removed). */
static int parse_refs(char *lines, const char *path, kluis_bundle_ref **refs_out, size_t *n_out)
{
	kluis_bundle_ref *refs = NULL;
	size_t n = 0, cap = 0, i;
	char *line, *next;
	int err = 0;

	*refs_out = NULL;
	*n_out = 0;
	for (line = lines; *line; line = next) {
		char *nl = strchr(line, '\n');

		*nl = '\0';
		next = nl + 1;
		if (line[0] == '-') {
			err = kluis_error_set(KLUIS_EVERIFY, "bundle '%s' has prerequisites; only complete "
					      "bundles are accepted", path);
			goto cleanup;
		}
		if (strlen(line) < GIT_OID_HEXSZ + 2 || !is_lower_hex(line, GIT_OID_HEXSZ) ||
		    line[GIT_OID_HEXSZ] != ' ' || !kluis_bundle_refname_ok(line + GIT_OID_HEXSZ + 1)) {
			err = kluis_error_set(KLUIS_EVERIFY, "bundle '%s' has a malformed ref line", path);
			goto cleanup;
		}
		for (i = 0; i < n; i++)
			if (strcmp(refs[i].name, line + GIT_OID_HEXSZ + 1) == 0) {
				err = kluis_error_set(KLUIS_EVERIFY, "bundle '%s' names ref '%s' twice", path,
						      refs[i].name);
				goto cleanup;
			}
		if (n == cap) {
			kluis_bundle_ref *grown = realloc(refs, (cap = cap ? cap * 2 : 8) * sizeof(*refs));

			if (!grown) {
				err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
				goto cleanup;
			}
			refs = grown;
		}
		if (git_oid_fromstrn(&refs[n].oid, line, GIT_OID_HEXSZ) < 0 ||
		    !(refs[n].name = strdup(line + GIT_OID_HEXSZ + 1))) {
			err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
			goto cleanup;
		}
		n++;
	}
	if (n == 0) {
		err = kluis_error_set(KLUIS_EVERIFY, "bundle '%s' advertises no refs", path);
		goto cleanup;
	}
	*refs_out = refs;
	*n_out = n;
	refs = NULL;
cleanup:
	kluis_bundle_refs_free(refs, n);
	return err;
}

/*
 * ---- reading a bundle's pack in bounded memory ----
 *
 * libgit2 1.5's indexer checksums each entry through pack windows it keeps mapped until the
 * next chunk arrives, so a 128 MiB document made 128 MiB of the process resident. So the pack
 * is read here first: every entry is parsed and inflated once (the pack's SHA-1 trailer is
 * checked over the raw bytes), each large whole blob is written as a loose object as it is
 * inflated (its id computed on the way), and the indexer gets a pack of the other entries
 * only. That needs no OFS_DELTA to reach across a removed entry (kluis's writer puts the large
 * blobs last); otherwise the whole pack goes to the indexer as it came.
 */
#define SPLIT_MIN (1024 * 1024) /* blobs over this leave the pack as loose objects */

struct pack_reader {
	int fd;
	uint64_t off, end;  /* next file offset to read; end of the pack's data (before trailer) */
	unsigned char *buf;
	size_t len, pos;
	gcry_md_hd_t sha1;  /* of every byte consumed */
	uint64_t consumed;  /* pack bytes consumed */
	kluis_bundle_progress_cb progress;
	void *payload;
	uint64_t file_size;
	bool cancelled;
};

/* Make at least one byte available (up to `end`); 0 at the end, <0 I/O error. */
static int reader_fill(struct pack_reader *r)
{
	ssize_t n;
	size_t want;

	if (r->pos < r->len)
		return 1;
	if (r->off >= r->end)
		return 0;
	want = r->end - r->off < IO_CHUNK ? (size_t)(r->end - r->off) : IO_CHUNK;
	do
		n = pread(r->fd, r->buf, want, (off_t)r->off);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	if (n == 0)
		return 0;
	r->off += (uint64_t)n;
	r->len = (size_t)n;
	r->pos = 0;
	if (r->progress && r->progress(r->off, r->file_size, r->payload) != 0) {
		r->cancelled = true;
		return -1;
	}
	return 1;
}

static void reader_consume(struct pack_reader *r, size_t n)
{
	gcry_md_write(r->sha1, r->buf + r->pos, n);
	r->pos += n;
	r->consumed += n;
}

/* One byte; <0 at the end or on error. */
static int reader_byte(struct pack_reader *r)
{
	int c;

	if (reader_fill(r) <= 0)
		return -1;
	c = r->buf[r->pos];
	reader_consume(r, 1);
	return c;
}

/* A new loose object being written: "blob <size>\0" + content, deflated, SHA-1 on the way. */
struct loose_out {
	int fd;
	char *tmp;
	z_stream z;
	bool z_live;
	gcry_md_hd_t sha1;
	unsigned char *zbuf;
};

static int loose_put(struct loose_out *lo, const void *data, size_t len, int flush)
{
	int zr;

	gcry_md_write(lo->sha1, data, len);
	lo->z.next_in = (unsigned char *)data;
	lo->z.avail_in = (uInt)len;
	do {
		lo->z.next_out = lo->zbuf;
		lo->z.avail_out = IO_CHUNK;
		if ((zr = deflate(&lo->z, flush)) == Z_STREAM_ERROR)
			return kluis_error_set(KLUIS_EGENERIC, "zlib failed while reading a bundle");
		if (kluis_fd_write_all(lo->fd, lo->zbuf, IO_CHUNK - lo->z.avail_out) < 0)
			return kluis_error_set(KLUIS_EGENERIC, "cannot write an object: %s", strerror(errno));
	} while (lo->z.avail_out == 0 || (flush == Z_FINISH && zr != Z_STREAM_END));
	return 0;
}

/*
 * Inflate one entry's zlib stream from the reader; each chunk of output goes to `lo` when it
 * is not NULL. *out_len is how many bytes came out. KLUIS_EVERIFY when corrupt or truncated.
 */
static int inflate_entry(struct pack_reader *r, struct loose_out *lo, unsigned char *out, uint64_t *out_len)
{
	z_stream z;
	int zr = Z_OK, rc, err = 0;

	memset(&z, 0, sizeof(z));
	*out_len = 0;
	if (inflateInit(&z) != Z_OK)
		return kluis_error_set(KLUIS_EGENERIC, "cannot start zlib");
	while (zr != Z_STREAM_END) {
		size_t before;

		if ((rc = reader_fill(r)) <= 0) {
			err = rc < 0 ? kluis_error_set(KLUIS_EGENERIC, "cannot read a bundle: %s", strerror(errno))
				     : kluis_error_set(KLUIS_EVERIFY, "pack entry truncated");
			break;
		}
		z.next_in = r->buf + r->pos;
		z.avail_in = (uInt)(r->len - r->pos);
		before = z.avail_in;
		z.next_out = out;
		z.avail_out = IO_CHUNK;
		zr = inflate(&z, Z_NO_FLUSH);
		if (zr != Z_OK && zr != Z_STREAM_END && !(zr == Z_BUF_ERROR && z.avail_in == 0)) {
			err = kluis_error_set(KLUIS_EVERIFY, "pack entry corrupt: %s", z.msg ? z.msg : "zlib error");
			break;
		}
		reader_consume(r, before - z.avail_in);
		*out_len += IO_CHUNK - z.avail_out;
		if (lo && IO_CHUNK > z.avail_out && (err = loose_put(lo, out, IO_CHUNK - z.avail_out, Z_NO_FLUSH)) < 0)
			break;
	}
	inflateEnd(&z);
	return err;
}

/* Write one large blob of `size` bytes from the reader as a loose object of `repo`. */
static int split_blob(git_repository *repo, struct pack_reader *r, uint64_t size, unsigned char *out, unsigned char *zbuf)
{
	struct loose_out lo;
	char hdr[40], hex[GIT_OID_HEXSZ + 1], *dir = NULL, *final = NULL;
	const char *objects = git_repository_path(repo);
	uint64_t got = 0;
	git_oid oid;
	int dfd = -1, err = 0;

	memset(&lo, 0, sizeof(lo));
	lo.fd = -1;
	lo.zbuf = zbuf;
	if (gcry_md_open(&lo.sha1, GCRY_MD_SHA1, 0) || asprintf(&lo.tmp, "%sobjects/kluis_tmp_XXXXXX", objects) < 0) {
		lo.tmp = NULL;
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto cleanup;
	}
	if ((lo.fd = mkostemp(lo.tmp, O_CLOEXEC)) < 0) {
		err = kluis_error_set(KLUIS_EGENERIC, "cannot create an object in '%s': %s", objects, strerror(errno));
		free(lo.tmp);
		lo.tmp = NULL;
		goto cleanup;
	}
	if (deflateInit(&lo.z, STREAM_LEVEL) != Z_OK) {
		err = kluis_error_set(KLUIS_EGENERIC, "cannot start zlib");
		goto cleanup;
	}
	lo.z_live = true;
	snprintf(hdr, sizeof(hdr), "blob %llu", (unsigned long long)size);
	if ((err = loose_put(&lo, hdr, strlen(hdr) + 1, Z_NO_FLUSH)) < 0 || (err = inflate_entry(r, &lo, out, &got)) < 0)
		goto cleanup;
	if (got != size) {
		err = kluis_error_set(KLUIS_EVERIFY, "pack entry is not the size its header says");
		goto cleanup;
	}
	if ((err = loose_put(&lo, "", 0, Z_FINISH)) < 0)
		goto cleanup;
	if (fsync(lo.fd) < 0 || close(lo.fd) < 0) {
		lo.fd = -1;
		err = kluis_error_set(KLUIS_EGENERIC, "cannot write an object: %s", strerror(errno));
		goto cleanup;
	}
	lo.fd = -1;
	git_oid_fromraw(&oid, gcry_md_read(lo.sha1, GCRY_MD_SHA1));
	git_oid_tostr(hex, sizeof(hex), &oid);
	if (asprintf(&dir, "%sobjects/%.2s", objects, hex) < 0 || asprintf(&final, "%s/%s", dir, hex + 2) < 0) {
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto cleanup;
	}
	(void)chmod(lo.tmp, 0444);
	if ((mkdir(dir, 0700) < 0 && errno != EEXIST) || (link(lo.tmp, final) < 0 && errno != EEXIST)) {
		err = kluis_error_set(KLUIS_EGENERIC, "cannot store object %s: %s", hex, strerror(errno));
		goto cleanup;
	}
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0)
		(void)fsync(dfd);
cleanup:
	if (dfd >= 0)
		close(dfd);
	if (lo.fd >= 0)
		close(lo.fd);
	if (lo.tmp)
		unlink(lo.tmp);
	if (lo.z_live)
		deflateEnd(&lo.z);
	gcry_md_close(lo.sha1);
	free(lo.tmp);
	free(dir);
	free(final);
	return err;
}

struct span {
	uint64_t off, len;
};

/* What a pass over a pack has found so far, and its two work buffers. */
struct split_state {
	struct span *spans;    /* the entries that stay in the pack */
	size_t nspans, nbig;   /* nbig: large blobs written loose */
	uint64_t last_big;     /* file offset of the last of them */
	bool fits;             /* no OFS_DELTA reaches across a loose blob or out of range */
	unsigned char *out, *zbuf; /* IO_CHUNK each: inflated output, deflated loose object */
};

/* One byte into *c, or "pack truncated" at the end or on error. */
static int reader_next(struct pack_reader *r, int *c)
{
	if ((*c = reader_byte(r)) < 0)
		return kluis_error_set(KLUIS_EVERIFY, "pack truncated");
	return 0;
}

/* The pack header read: "PACK", version 2 or 3, and a count the file can hold. */
static int read_pack_header(struct pack_reader *r, uint64_t start, uint32_t *version, uint32_t *count)
{
	unsigned char head[PACK_HEADER];
	size_t k;
	int c, err;

	for (k = 0; k < PACK_HEADER; k++) {
		if ((err = reader_next(r, &c)) < 0)
			return err;
		head[k] = (unsigned char)c;
	}
	*version = ((uint32_t)head[4] << 24) | ((uint32_t)head[5] << 16) | ((uint32_t)head[6] << 8) | head[7];
	*count = ((uint32_t)head[8] << 24) | ((uint32_t)head[9] << 16) | ((uint32_t)head[10] << 8) | head[11];
	if (memcmp(head, "PACK", 4) != 0 || (*version != 2 && *version != 3))
		return kluis_error_set(KLUIS_EVERIFY, "not a version 2 or 3 pack");
	if ((uint64_t)*count > (r->file_size - start) / 4) /* an entry takes at least 4 bytes */
		return kluis_error_set(KLUIS_EVERIFY, "pack header claims more objects than it can hold");
	return 0;
}

/* An entry's header consumed up to its zlib data: type, size, and a delta's base (an OFS_DELTA
 * out of range or across a loose blob clears s->fits). */
static int read_entry_header(struct pack_reader *r, uint64_t start, uint64_t entry, struct split_state *s,
			     int *type, uint64_t *size)
{
	size_t k;
	int c, shift, err;

	if ((err = reader_next(r, &c)) < 0)
		return err;
	*type = (c >> 4) & 7;
	*size = (uint64_t)(c & 15);
	for (shift = 4; c & 0x80; shift += 7) {
		if ((err = reader_next(r, &c)) < 0)
			return err;
		if (shift > 57)
			return kluis_error_set(KLUIS_EVERIFY, "bad pack entry header");
		*size |= (uint64_t)(c & 0x7f) << shift;
	}
	if (*type == 6) { /* OFS_DELTA: base at entry - distance */
		uint64_t dist;

		if ((err = reader_next(r, &c)) < 0)
			return err;
		dist = (uint64_t)(c & 0x7f);
		while (c & 0x80) {
			if ((err = reader_next(r, &c)) < 0)
				return err;
			if (dist >> 56)
				return kluis_error_set(KLUIS_EVERIFY, "bad delta offset");
			dist = ((dist + 1) << 7) | (uint64_t)(c & 0x7f);
		}
		if (dist > entry - start || (s->nbig && entry - dist <= s->last_big))
			s->fits = false; /* out of range (the indexer says so), or across a removed blob */
	} else if (*type == 7) {
		for (k = 0; k < GIT_OID_RAWSZ; k++)
			if ((err = reader_next(r, &c)) < 0)
				return err;
	}
	return 0;
}

/* One entry consumed and checked: a large whole blob is in `repo` as a loose object, any other
 * entry's span is listed. */
static int split_entry(git_repository *repo, struct pack_reader *r, uint64_t start, struct split_state *s)
{
	uint64_t entry = start + r->consumed, size, dummy;
	int type, err;

	if ((err = read_entry_header(r, start, entry, s, &type, &size)) < 0)
		return err;
	if (type == GIT_OBJECT_BLOB && size > SPLIT_MIN) {
		if ((err = split_blob(repo, r, size, s->out, s->zbuf)) < 0)
			return err;
		s->last_big = entry;
		s->nbig++;
		return 0;
	}
	if ((err = inflate_entry(r, NULL, s->out, &dummy)) < 0)
		return err;
	s->spans[s->nspans].off = entry;
	s->spans[s->nspans++].len = start + r->consumed - entry;
	return 0;
}

/* The last entry ends where the trailer starts, and the trailer is the SHA-1 of all before it. */
static int check_trailer(struct pack_reader *r)
{
	unsigned char trailer[PACK_TRAILER];

	if (r->off != r->end || r->pos != r->len)
		return kluis_error_set(KLUIS_EVERIFY, "data after the pack's last entry");
	if (pread(r->fd, trailer, PACK_TRAILER, (off_t)r->end) != PACK_TRAILER ||
	    memcmp(trailer, gcry_md_read(r->sha1, GCRY_MD_SHA1), PACK_TRAILER) != 0)
		return kluis_error_set(KLUIS_EVERIFY, "pack checksum mismatch");
	return 0;
}

/*
 * Pass over the pack at [start, file_size) of `fd`: check it whole (entries, trailer SHA-1,
 * nothing after), write its large whole blobs into `repo` as loose objects, and list the other
 * entries' spans. *fits is false when an OFS_DELTA reaches across a large blob (then the
 * caller gives the indexer the original pack). KLUIS_EVERIFY for any corruption.
 */
static int split_pack(git_repository *repo, int fd, uint64_t start, uint64_t file_size, uint32_t *version,
		      struct span **spans_out, size_t *nspans_out, size_t *nbig_out, bool *fits,
		      kluis_bundle_progress_cb progress, void *payload)
{
	struct pack_reader r;
	struct split_state s;
	uint32_t count, i;
	int err = 0;

	memset(&r, 0, sizeof(r));
	memset(&s, 0, sizeof(s));
	s.fits = true;
	*spans_out = NULL;
	*nspans_out = *nbig_out = 0;
	*fits = true;
	if (file_size < start + PACK_HEADER + PACK_TRAILER)
		return kluis_error_set(KLUIS_EVERIFY, "pack truncated");
	r.fd = fd;
	r.off = start;
	r.end = file_size - PACK_TRAILER;
	r.progress = progress;
	r.payload = payload;
	r.file_size = file_size;
	kluis_gcrypt_init();
	if (gcry_md_open(&r.sha1, GCRY_MD_SHA1, 0) || !(r.buf = malloc(IO_CHUNK)) || !(s.out = malloc(IO_CHUNK)) ||
	    !(s.zbuf = malloc(IO_CHUNK))) {
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto cleanup;
	}
	if ((err = read_pack_header(&r, start, version, &count)) < 0)
		goto cleanup;
	if (!(s.spans = calloc(count ? count : 1, sizeof(*s.spans)))) {
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto cleanup;
	}
	for (i = 0; i < count; i++)
		if ((err = split_entry(repo, &r, start, &s)) < 0)
			goto cleanup;
	if ((err = check_trailer(&r)) < 0)
		goto cleanup;
	if (progress)
		(void)progress(file_size, file_size, payload);
	*spans_out = s.spans;
	*nspans_out = s.nspans;
	*nbig_out = s.nbig;
	*fits = s.fits;
	s.spans = NULL;
cleanup:
	if (r.cancelled)
		err = kluis_error_set(KLUIS_EGENERIC, "reading the bundle was cancelled");
	gcry_md_close(r.sha1);
	free(r.buf);
	free(s.out);
	free(s.zbuf);
	free(s.spans);
	return err;
}

/* Give the indexer a pack of the listed entries of the file: new header, the spans, new trailer. */
static int append_spans(git_odb_writepack *wp, git_indexer_progress *stats, int fd, uint32_t version,
			const struct span *spans, size_t n, unsigned char *buf)
{
	gcry_md_hd_t sha1;
	unsigned char head[PACK_HEADER] = { 'P', 'A', 'C', 'K' };
	size_t i, k;
	int err = 0;

	kluis_gcrypt_init();
	if (gcry_md_open(&sha1, GCRY_MD_SHA1, 0))
		return kluis_error_set(KLUIS_EGENERIC, "libgcrypt: cannot open sha1");
	for (k = 0; k < 4; k++) {
		head[4 + k] = (unsigned char)(version >> (24 - 8 * k));
		head[8 + k] = (unsigned char)((uint32_t)n >> (24 - 8 * k));
	}
	gcry_md_write(sha1, head, sizeof(head));
	if (wp->append(wp, head, sizeof(head), stats) < 0) {
		err = kluis_git_fail(KLUIS_EVERIFY, "the pack does not index");
		goto cleanup;
	}
	for (i = 0; i < n; i++) {
		uint64_t off = spans[i].off, left = spans[i].len;

		while (left > 0) {
			size_t want = left < IO_CHUNK ? (size_t)left : IO_CHUNK;
			ssize_t r = pread(fd, buf, want, (off_t)off);

			if (r <= 0) {
				err = kluis_error_set(KLUIS_EGENERIC, "cannot read a bundle: %s", r < 0 ? strerror(errno) : "short read");
				goto cleanup;
			}
			gcry_md_write(sha1, buf, (size_t)r);
			if (wp->append(wp, buf, (size_t)r, stats) < 0) {
				err = kluis_git_fail(KLUIS_EVERIFY, "the pack does not index");
				goto cleanup;
			}
			off += (uint64_t)r;
			left -= (uint64_t)r;
		}
	}
	if (wp->append(wp, gcry_md_read(sha1, GCRY_MD_SHA1), PACK_TRAILER, stats) < 0)
		err = kluis_git_fail(KLUIS_EVERIFY, "the pack does not index");
cleanup:
	gcry_md_close(sha1);
	return err;
}

/* A bundle file being read: its descriptor and the one buffer for its header and its pack. */
struct bundle_in {
	const char *path;
	int fd;
	uint64_t size;
	char *buf;         /* BUNDLE_HEADER_MAX + 1 bytes */
	size_t have;       /* bytes read from fd so far */
	size_t pack_start; /* offset of the pack's first byte, in the file and in buf */
};

/* The bundle is open, a regular file, and the buffer is allocated. */
static int open_bundle(struct bundle_in *b)
{
	struct stat st;

	if ((b->fd = open(b->path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(b->fd, &st) < 0)
		return kluis_error_set(KLUIS_EGENERIC, "cannot open bundle '%s': %s", b->path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return kluis_error_set(KLUIS_EVERIFY, "bundle '%s' is not a regular file", b->path);
	b->size = (uint64_t)st.st_size;
	if (!(b->buf = malloc(BUNDLE_HEADER_MAX + 1)))
		return kluis_error_set(KLUIS_EGENERIC, "out of memory");
	return 0;
}

/* The header is the v2 signature, complete ref lines and an empty line; pack_start is after it. */
static int read_header(struct bundle_in *b, kluis_bundle_ref **refs, size_t *nrefs)
{
	size_t siglen = strlen(BUNDLE_SIGNATURE);
	char *buf = b->buf, *end = NULL;
	ssize_t r;

	/* Read until the empty line that ends the header; the bytes after it start the pack. */
	while (!end && b->have < BUNDLE_HEADER_MAX) {
		if ((r = kluis_fd_read_some(b->fd, buf + b->have, BUNDLE_HEADER_MAX - b->have)) < 0)
			return kluis_error_set(KLUIS_EGENERIC, "cannot read bundle '%s': %s", b->path, strerror(errno));
		if (r == 0)
			break;
		b->have += (size_t)r;
		buf[b->have] = '\0';
		if (b->have >= siglen && memcmp(buf, BUNDLE_SIGNATURE, siglen) != 0)
			break;
		end = memmem(buf, b->have, "\n\n", 2);
	}
	if (b->have < siglen || memcmp(buf, BUNDLE_SIGNATURE, siglen) != 0)
		return kluis_error_set(KLUIS_EVERIFY, "'%s' is not a git bundle v2 file", b->path);
	if (!end)
		return kluis_error_set(KLUIS_EVERIFY, "bundle '%s' has a truncated or oversized header", b->path);
	if (memchr(buf, '\0', (size_t)(end - buf)) || memchr(buf, '\r', (size_t)(end - buf)))
		return kluis_error_set(KLUIS_EVERIFY, "bundle '%s' has a malformed header", b->path);
	end[1] = '\0';
	b->pack_start = (size_t)(end + 2 - buf);
	return parse_refs(buf + siglen, b->path, refs, nrefs);
}

/* The indexer has had the pack as it came: the header buffer's tail, then the rest of the file. */
static int stream_pack(struct bundle_in *b, git_odb_writepack *wp, git_indexer_progress *stats, const char *what,
		       kluis_bundle_progress_cb progress, void *payload)
{
	ssize_t r;

	if (b->have > b->pack_start && wp->append(wp, b->buf + b->pack_start, b->have - b->pack_start, stats) < 0)
		return kluis_git_fail(KLUIS_EVERIFY, what);
	while ((r = kluis_fd_read_some(b->fd, b->buf, IO_CHUNK)) > 0) {
		if (wp->append(wp, b->buf, (size_t)r, stats) < 0)
			return kluis_git_fail(KLUIS_EVERIFY, what);
		b->have += (size_t)r;
		if (progress && progress(b->have, b->size, payload) != 0)
			return kluis_error_set(KLUIS_EGENERIC, "reading bundle '%s' was cancelled", b->path);
	}
	if (r < 0)
		return kluis_error_set(KLUIS_EGENERIC, "cannot read bundle '%s': %s", b->path, strerror(errno));
	return 0;
}

/* The pack is checked whole, its large blobs are loose objects and the rest is indexed and committed. */
static int index_pack(struct bundle_in *b, git_repository *repo, git_odb_writepack *wp,
		      kluis_bundle_progress_cb progress, void *payload)
{
	git_indexer_progress stats;
	struct span *spans = NULL;
	size_t nspans = 0, nbig = 0;
	uint32_t version = 2;
	bool fits = true;
	char what[512];
	int err = 0;

	memset(&stats, 0, sizeof(stats));
	snprintf(what, sizeof(what), "bundle '%s' has a truncated or corrupt pack", b->path);
	if ((err = split_pack(repo, b->fd, (uint64_t)b->pack_start, b->size, &version, &spans, &nspans, &nbig, &fits,
			      progress, payload)) < 0) {
		err = kluis_error_set(err, "%s: %s", what, kluis_error_last());
		goto cleanup;
	}
	if (nbig > 0 && fits) {
		if ((err = append_spans(wp, &stats, b->fd, version, spans, nspans, (unsigned char *)b->buf)) < 0) {
			err = kluis_error_set(err, "%s: %s", what, kluis_error_last());
			goto cleanup;
		}
	} else if ((err = stream_pack(b, wp, &stats, what, progress, payload)) < 0) {
		goto cleanup;
	}
	if (wp->commit(wp, &stats) < 0)
		err = kluis_git_fail(KLUIS_EVERIFY, what);
cleanup:
	free(spans);
	return err;
}

/* Every advertised tip is in the object database, with all it reaches. */
static int check_tips(const char *path, git_repository *repo, git_odb *odb, const kluis_bundle_ref *refs, size_t nrefs)
{
	git_packbuilder *check = NULL;
	git_oid *tips = NULL;
	char what[512];
	size_t i;
	int err = 0;

	if (!(tips = calloc(nrefs, sizeof(*tips)))) {
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto cleanup;
	}
	for (i = 0; i < nrefs; i++) {
		if (!git_odb_exists(odb, &refs[i].oid)) {
			err = kluis_error_set(KLUIS_EVERIFY, "bundle '%s' advertises %s for '%s' but does "
					      "not contain it", path, git_oid_tostr_s(&refs[i].oid), refs[i].name);
			goto cleanup;
		}
		git_oid_cpy(&tips[i], &refs[i].oid);
	}
	if ((err = collect_objects(&check, repo, tips, nrefs)) < 0) {
		snprintf(what, sizeof(what), "%s", kluis_error_last());
		err = kluis_error_set(KLUIS_EVERIFY, "bundle '%s' is incomplete: %s", path, what);
	}
cleanup:
	git_packbuilder_free(check);
	free(tips);
	return err;
}

int kluis_bundle_read(git_repository *repo, const char *path, kluis_bundle_ref **refs_out,
		      size_t *nrefs_out, kluis_bundle_progress_cb progress, void *payload)
{
	struct bundle_in b = { .path = path, .fd = -1 };
	kluis_bundle_ref *refs = NULL;
	git_odb *odb = NULL;
	git_odb_writepack *wp = NULL;
	size_t nrefs = 0;
	int err = 0;

	*refs_out = NULL;
	*nrefs_out = 0;
	if ((err = open_bundle(&b)) < 0 || (err = read_header(&b, &refs, &nrefs)) < 0)
		goto cleanup;
	if (git_repository_odb(&odb, repo) < 0 || git_odb_write_pack(&wp, odb, NULL, NULL) < 0) {
		err = kluis_git_fail(KLUIS_EGENERIC, "cannot start reading a bundle's pack");
		goto cleanup;
	}
	if ((err = index_pack(&b, repo, wp, progress, payload)) < 0 ||
	    (err = check_tips(path, repo, odb, refs, nrefs)) < 0)
		goto cleanup;
	*refs_out = refs;
	*nrefs_out = nrefs;
	refs = NULL;
cleanup:
	if (wp)
		wp->free(wp);
	git_odb_free(odb);
	kluis_bundle_refs_free(refs, nrefs);
	free(b.buf);
	if (b.fd >= 0)
		close(b.fd);
	return err;
}
