/*
 * bundle.c - git bundle v2 writer and reader over libgit2 (see bundle.h).
 *
 * Invariants: a pack is streamed (through a fixed-size buffer to the file, or in fixed-size
 * chunks from the file into the odb's pack writer), never held whole in memory, and no large
 * object is either (they are streamed through objstream.c into the pack); a bundle file
 * appears under its name only complete and synced, and never replaces another file; the reader
 * accepts exactly the v2 format without prerequisites and trusts nothing it has not checked
 * (header syntax, pack checksum, presence and connectivity of every advertised object).
 */
#include "bundle.h"
#include "error.h"
#include "objstream.h"

#include <errno.h>
#include <gcrypt.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define BUNDLE_SIGNATURE "# v2 git bundle\n"
#define BUNDLE_HEADER_MAX (64 * 1024)
#define BUNDLE_REFNAME_MAX 1024
#define IO_CHUNK (64 * 1024)
/* Objects larger than this are packed whole, without a delta search (see open_packing_repo);
 * blobs larger than this are not given to the packbuilder at all but streamed (see
 * write_big_objects). */
#define DELTA_MAX "65536"
#define STREAM_MIN 65536
/* zlib level of the streamed blobs: they are ciphertext, which does not compress; level 1
 * costs ~9x level 0 for the same size (docs/PERFORMANCE.md, "Transfer and import"). */
#define STREAM_LEVEL 0
#define PACK_HEADER 12
#define PACK_TRAILER 20

/* The file being written: a small buffer in front of the fd, so per-object pack headers do
 * not each cost a system call. */
struct bundle_out {
	int fd;
	const char *path;
	unsigned char *buf;
	size_t len;
	int err; /* the first write error, already recorded with kluis_error_set */
};

static int git_fail(int code, const char *what)
{
	const git_error *e = git_error_last();

	return kluis_error_set(code, "%s: %s", what, e && e->message ? e->message : "libgit2 error");
}

static int write_all(int fd, const void *data, size_t len)
{
	const unsigned char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int out_flush(struct bundle_out *o)
{
	if (o->len > 0 && write_all(o->fd, o->buf, o->len) < 0)
		return kluis_error_set(KLUIS_EGENERIC, "cannot write '%s': %s", o->path, strerror(errno));
	o->len = 0;
	return 0;
}

static int out_put(struct bundle_out *o, const void *data, size_t len)
{
	int err;

	if (o->len + len > IO_CHUNK && (err = out_flush(o)) < 0)
		return err;
	if (len >= IO_CHUNK) {
		if (write_all(o->fd, data, len) < 0)
			return kluis_error_set(KLUIS_EGENERIC, "cannot write '%s': %s", o->path, strerror(errno));
		return 0;
	}
	memcpy(o->buf + o->len, data, len);
	o->len += len;
	return 0;
}

/* Create "<path>.tmp-<16 hex>" exclusively, 0600, never through a symlink. */
static int create_temp_beside(const char *path, char **tmp_out, int *fd_out)
{
	size_t len = strlen(path) + sizeof(".tmp-") + 16;
	char *tmp = malloc(len);
	int attempt, err = 0, fd = -1;

	*tmp_out = NULL;
	*fd_out = -1;
	if (!tmp)
		return kluis_error_set(KLUIS_EGENERIC, "out of memory");
	for (attempt = 0; attempt < 16 && fd < 0; attempt++) {
		unsigned long long r;

		if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
			err = kluis_error_set(KLUIS_EGENERIC, "cannot get random bytes: %s", strerror(errno));
			goto cleanup;
		}
		snprintf(tmp, len, "%s.tmp-%016llx", path, r);
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 && errno != EEXIST) {
			err = kluis_error_set(KLUIS_EGENERIC, "cannot create '%s': %s", tmp, strerror(errno));
			goto cleanup;
		}
	}
	if (fd < 0) {
		err = kluis_error_set(KLUIS_EGENERIC, "cannot create a temporary file beside '%s'", path);
		goto cleanup;
	}
	*tmp_out = tmp;
	*fd_out = fd;
	tmp = NULL;
cleanup:
	free(tmp);
	return err;
}

/* Move the synced temporary file to its name without replacing anything, then sync the
 * directory so the name survives a crash (best effort: some filesystems refuse it). */
static int publish_temp(const char *tmp, const char *path)
{
	char *dir_copy = NULL;
	int dfd = -1, err = 0;

	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) < 0) {
		if (errno != EINVAL || link(tmp, path) < 0) {
			err = kluis_error_set(errno == EEXIST ? KLUIS_EEXISTS : KLUIS_EGENERIC,
					      "cannot create '%s': %s", path, strerror(errno));
			goto cleanup;
		}
		unlink(tmp);
	}
	if ((dir_copy = strdup(path)) != NULL &&
	    (dfd = open(dirname(dir_copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0)
		(void)fsync(dfd);
cleanup:
	if (dfd >= 0)
		close(dfd);
	free(dir_copy);
	return err;
}

/*
 * A private handle on the same repository whose packbuilder skips the delta search for objects
 * over DELTA_MAX bytes. Ciphertext never deltifies, yet libgit2 tries every object up to 512 MiB
 * against a window of ten others held in memory (measured: 200 MB of 5 MB blobs took 34 s and
 * 160 MB resident; 5 s and 19 MB without). libgit2 1.5 offers no API for that limit and reads it
 * from "pack.deltaCacheSize" (a slip for git's "core.bigFileThreshold", set too in case a later
 * libgit2 reads that), so a config file beside the output is added to this handle only; the
 * caller's handle and the repository's own config are untouched. Trees and commits, which
 * deltify well, stay under the limit.
 */
static int open_packing_repo(git_repository **out, char **cfg_out, git_repository *repo, const char *path)
{
	static const char settings[] = "[pack]\n\tdeltaCacheSize = " DELTA_MAX "\n"
				       "[core]\n\tbigFileThreshold = " DELTA_MAX "\n";
	git_repository *own = NULL;
	git_config *cfg = NULL;
	char *cfgpath = NULL;
	int fd = -1, err = 0;

	*out = NULL;
	*cfg_out = NULL;
	if ((err = create_temp_beside(path, &cfgpath, &fd)) < 0)
		goto cleanup;
	if (write_all(fd, settings, strlen(settings)) < 0) {
		err = kluis_error_set(KLUIS_EGENERIC, "cannot write '%s': %s", cfgpath, strerror(errno));
		goto cleanup;
	}
	if (git_repository_open_bare(&own, git_repository_path(repo)) < 0 ||
	    git_repository_config(&cfg, own) < 0 ||
	    git_config_add_file_ondisk(cfg, cfgpath, GIT_CONFIG_LEVEL_APP, own, 0) < 0) {
		err = git_fail(KLUIS_EGENERIC, "cannot open the repository for packing");
		goto cleanup;
	}
	*out = own;
	own = NULL;
	*cfg_out = cfgpath;
	cfgpath = NULL;
cleanup:
	if (fd >= 0)
		close(fd);
	if (cfgpath)
		unlink(cfgpath);
	free(cfgpath);
	git_config_free(cfg);
	git_repository_free(own);
	return err;
}

static bool refname_ok(const char *name)
{
	int valid = 0;

	if (strcmp(name, "HEAD") == 0)
		return true;
	if (strncmp(name, "refs/", 5) != 0 || strlen(name) > BUNDLE_REFNAME_MAX)
		return false;
	return git_reference_name_is_valid(&valid, name) == 0 && valid;
}

/*
 * Make the objects of one advertised tip part of the pack (writer) or prove them present
 * (reader): commits go to the revwalk, so their whole history follows; annotated tags are
 * inserted with what they point at; a tree or blob is inserted recursively.
 */
static int add_tip(git_repository *repo, git_packbuilder *pb, git_revwalk *walk, const git_oid *oid,
		   bool *pushed)
{
	git_object *obj = NULL, *peeled = NULL;
	const git_object *target;
	int err = 0;

	if (git_object_lookup(&obj, repo, oid, GIT_OBJECT_ANY) < 0) {
		err = git_fail(KLUIS_EVERIFY, "cannot read an advertised object");
		goto cleanup;
	}
	target = obj;
	if (git_object_type(obj) == GIT_OBJECT_TAG) {
		if (git_packbuilder_insert_recur(pb, oid, NULL) < 0 ||
		    git_object_peel(&peeled, obj, GIT_OBJECT_ANY) < 0) {
			err = git_fail(KLUIS_EVERIFY, "cannot follow an advertised tag");
			goto cleanup;
		}
		target = peeled;
	}
	if (git_object_type(target) == GIT_OBJECT_COMMIT) {
		if (git_revwalk_push(walk, git_object_id(target)) < 0) {
			err = git_fail(KLUIS_EVERIFY, "cannot walk an advertised commit");
			goto cleanup;
		}
		*pushed = true;
	} else if (git_packbuilder_insert_recur(pb, git_object_id(target), NULL) < 0) {
		err = git_fail(KLUIS_EVERIFY, "cannot read an advertised object");
		goto cleanup;
	}
cleanup:
	git_object_free(peeled);
	git_object_free(obj);
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
		err = git_fail(KLUIS_EGENERIC, "cannot start a pack");
		goto cleanup;
	}
	for (i = 0; i < n; i++)
		if ((err = add_tip(repo, pb, walk, &tips[i], &pushed)) < 0)
			goto cleanup;
	if (pushed && git_packbuilder_insert_walk(pb, walk) < 0) {
		err = git_fail(KLUIS_EVERIFY, "cannot collect the history of the advertised refs");
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

/*
 * ---- the pack of a bundle ----
 *
 * libgit2 1.5's packbuilder reads every object whole and deflates it whole into a second
 * buffer (two 128 MiB documents at a time: 261 MiB resident). So the pack is written here:
 * the packbuilder packs the commits, trees and small blobs (its delta search is worth it for
 * trees), and the large blobs, ciphertext that neither deltifies nor compresses, are streamed
 * after them as whole entries. The packbuilder's own pack header and trailer are cut off its
 * output; its entries are copied as they are (an OFS_DELTA offset is relative to its own
 * entry, so moving them all by the same amount keeps them valid), and the pack gets its own
 * header (the total count) and trailer (SHA-1 of everything before it).
 */
struct pack_plan {
	git_repository *repo;
	git_odb *odb;
	git_packbuilder *pb;
	git_oid *big; /* blobs over STREAM_MIN bytes, sorted and unique once planned */
	uint64_t *big_size;
	size_t nbig, cap;
	uint64_t big_total;
};

static void pack_plan_dispose(struct pack_plan *pl)
{
	git_packbuilder_free(pl->pb);
	git_odb_free(pl->odb);
	free(pl->big);
	free(pl->big_size);
}

static int plan_blob(struct pack_plan *pl, const git_oid *oid)
{
	git_object_t type;
	size_t size;

	if (git_odb_read_header(&size, &type, pl->odb, oid) < 0)
		return git_fail(KLUIS_EVERIFY, "cannot read an object to bundle");
	if (size <= STREAM_MIN)
		return git_packbuilder_insert(pl->pb, oid, NULL) < 0 ? git_fail(KLUIS_EGENERIC, "cannot add an object to the pack") : 0;
	if (pl->nbig == pl->cap) {
		size_t cap = pl->cap ? pl->cap * 2 : 64;
		git_oid *b = realloc(pl->big, cap * sizeof(*b));

		if (!b)
			return kluis_error_set(KLUIS_EGENERIC, "out of memory");
		pl->big = b;
		pl->cap = cap;
	}
	git_oid_cpy(&pl->big[pl->nbig++], oid);
	return 0;
}

/* A tree and everything below it, each tree expanded once (the packbuilder's count tells
 * whether it already had it). */
static int plan_tree(struct pack_plan *pl, const git_oid *oid)
{
	git_tree *tree = NULL;
	size_t before = git_packbuilder_object_count(pl->pb), i;
	int err = 0;

	if (git_packbuilder_insert(pl->pb, oid, NULL) < 0)
		return git_fail(KLUIS_EVERIFY, "cannot add a tree to the pack");
	if (git_packbuilder_object_count(pl->pb) == before)
		return 0;
	if (git_tree_lookup(&tree, pl->repo, oid) < 0)
		return git_fail(KLUIS_EVERIFY, "cannot read a tree to bundle");
	for (i = 0; i < git_tree_entrycount(tree) && err == 0; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(tree, i);

		if (git_tree_entry_type(e) == GIT_OBJECT_TREE)
			err = plan_tree(pl, git_tree_entry_id(e));
		else if (git_tree_entry_type(e) == GIT_OBJECT_BLOB)
			err = plan_blob(pl, git_tree_entry_id(e));
		/* a gitlink (commit) is not part of this repository's objects */
	}
	git_tree_free(tree);
	return err;
}

static int oid_cmp(const void *a, const void *b)
{
	return git_oid_cmp(a, b);
}

/* Every object reachable from the tips: commits and their trees and small blobs into the
 * packbuilder, large blobs into pl->big. Every object is read on the way, so this also
 * proves the tips connected. */
static int plan_pack(struct pack_plan *pl, git_repository *repo, const git_oid *tips, size_t n)
{
	git_revwalk *walk = NULL;
	git_object *obj = NULL, *peeled = NULL;
	git_commit *c = NULL;
	git_oid oid;
	size_t i, j;
	int rc, err = 0;

	pl->repo = repo;
	if (git_repository_odb(&pl->odb, repo) < 0 || git_packbuilder_new(&pl->pb, repo) < 0 ||
	    git_revwalk_new(&walk, repo) < 0) {
		err = git_fail(KLUIS_EGENERIC, "cannot start a pack");
		goto cleanup;
	}
	for (i = 0; i < n; i++) {
		const git_object *target;

		git_object_free(obj);
		git_object_free(peeled);
		obj = peeled = NULL;
		if (git_object_lookup(&obj, repo, &tips[i], GIT_OBJECT_ANY) < 0) {
			err = git_fail(KLUIS_EVERIFY, "cannot read an advertised object");
			goto cleanup;
		}
		target = obj;
		if (git_object_type(obj) == GIT_OBJECT_TAG) {
			if (git_packbuilder_insert(pl->pb, &tips[i], NULL) < 0 || git_object_peel(&peeled, obj, GIT_OBJECT_ANY) < 0) {
				err = git_fail(KLUIS_EVERIFY, "cannot follow an advertised tag");
				goto cleanup;
			}
			target = peeled;
		}
		if (git_object_type(target) == GIT_OBJECT_COMMIT) {
			if (git_revwalk_push(walk, git_object_id(target)) < 0) {
				err = git_fail(KLUIS_EVERIFY, "cannot walk an advertised commit");
				goto cleanup;
			}
		} else if (git_object_type(target) == GIT_OBJECT_TREE) {
			err = plan_tree(pl, git_object_id(target));
		} else {
			err = plan_blob(pl, git_object_id(target));
		}
		if (err < 0)
			goto cleanup;
	}
	while ((rc = git_revwalk_next(&oid, walk)) == 0) {
		if (git_commit_lookup(&c, repo, &oid) < 0 || git_packbuilder_insert(pl->pb, &oid, NULL) < 0) {
			err = git_fail(KLUIS_EVERIFY, "cannot collect the history of the advertised refs");
			goto cleanup;
		}
		err = plan_tree(pl, git_commit_tree_id(c));
		git_commit_free(c);
		c = NULL;
		if (err < 0)
			goto cleanup;
	}
	if (rc != GIT_ITEROVER) {
		err = git_fail(KLUIS_EVERIFY, "cannot collect the history of the advertised refs");
		goto cleanup;
	}
	/* a blob under several trees was listed once for each */
	if (pl->nbig > 1)
		qsort(pl->big, pl->nbig, sizeof(*pl->big), oid_cmp);
	for (i = j = 0; i < pl->nbig; i++)
		if (j == 0 || !git_oid_equal(&pl->big[j - 1], &pl->big[i]))
			git_oid_cpy(&pl->big[j++], &pl->big[i]);
	pl->nbig = j;
	if (pl->nbig && !(pl->big_size = calloc(pl->nbig, sizeof(*pl->big_size)))) {
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto cleanup;
	}
	for (i = 0; i < pl->nbig; i++) {
		git_object_t type;
		size_t size;

		if (git_odb_read_header(&size, &type, pl->odb, &pl->big[i]) < 0) {
			err = git_fail(KLUIS_EVERIFY, "cannot read an object to bundle");
			goto cleanup;
		}
		pl->big_size[i] = size;
		pl->big_total += size;
	}
cleanup:
	git_commit_free(c);
	git_object_free(peeled);
	git_object_free(obj);
	git_revwalk_free(walk);
	return err;
}

/* libgcrypt (for the packs' SHA-1 trailers), set up as util.c does if nothing did yet. */
static void gcrypt_ready(void)
{
	if (!gcry_control(GCRYCTL_INITIALIZATION_FINISHED_P)) {
		gcry_check_version(NULL);
		gcry_control(GCRYCTL_DISABLE_SECMEM, 0);
		gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
	}
}

/* The pack as it goes to the file: hashed for the trailer, and the packbuilder's own header
 * and trailer cut off its output. */
struct pack_out {
	struct bundle_out *o;
	gcry_md_hd_t sha1;
	uint64_t pb_seen;                  /* bytes of packbuilder output so far */
	unsigned char tail[PACK_TRAILER];  /* its last bytes, held back: they may be its trailer */
	size_t tail_len;
	int err;
	kluis_bundle_progress_cb progress;
	void *payload;
	uint64_t done, total;
};

static int pack_put(struct pack_out *po, const void *data, size_t len)
{
	gcry_md_write(po->sha1, data, len);
	return out_put(po->o, data, len);
}

/* git_packbuilder_foreach callback: a negative return stops the pack and is passed back. */
static int pack_chunk_cb(void *buf, size_t size, void *payload)
{
	struct pack_out *po = payload;
	const unsigned char *p = buf;
	unsigned char joined[2 * PACK_TRAILER];
	size_t skip;

	if (po->pb_seen < PACK_HEADER) {
		skip = PACK_HEADER - po->pb_seen < size ? (size_t)(PACK_HEADER - po->pb_seen) : size;
		po->pb_seen += skip;
		p += skip;
		size -= skip;
	}
	po->pb_seen += size;
	if (size >= PACK_TRAILER) {
		if ((po->err = pack_put(po, po->tail, po->tail_len)) < 0 || (po->err = pack_put(po, p, size - PACK_TRAILER)) < 0)
			return -1;
		memcpy(po->tail, p + size - PACK_TRAILER, PACK_TRAILER);
		po->tail_len = PACK_TRAILER;
		return 0;
	}
	memcpy(joined, po->tail, po->tail_len);
	memcpy(joined + po->tail_len, p, size);
	size += po->tail_len;
	po->tail_len = size < PACK_TRAILER ? size : PACK_TRAILER;
	if (size > PACK_TRAILER && (po->err = pack_put(po, joined, size - PACK_TRAILER)) < 0)
		return -1;
	memcpy(po->tail, joined + size - po->tail_len, po->tail_len);
	return 0;
}

/* One blob as a whole pack entry: the type-and-size header, then its content as one zlib
 * stream, deflated chunk by chunk as it is read. */
static int write_big_object(struct pack_out *po, git_repository *repo, const git_oid *oid, uint64_t size,
			    unsigned char *in, unsigned char *zout)
{
	kluis_objstream *s = NULL;
	unsigned char hdr[16];
	uint64_t sz = size, got_size = 0;
	git_object_t type;
	z_stream z;
	bool z_live = false;
	size_t n = 0, h = 0;
	int zr = Z_OK, err = 0;

	if ((err = kluis_objstream_open(&s, repo, oid, &type, &got_size)) < 0)
		goto cleanup;
	if (type != GIT_OBJECT_BLOB || got_size != size) {
		err = kluis_error_set(KLUIS_EVERIFY, "object %s changed while it was bundled", git_oid_tostr_s(oid));
		goto cleanup;
	}
	hdr[h] = (unsigned char)((GIT_OBJECT_BLOB << 4) | (sz & 15));
	for (sz >>= 4; sz; sz >>= 7) {
		hdr[h++] |= 0x80;
		hdr[h] = sz & 0x7f;
	}
	if ((err = pack_put(po, hdr, h + 1)) < 0)
		goto cleanup;
	memset(&z, 0, sizeof(z));
	if (deflateInit(&z, STREAM_LEVEL) != Z_OK) {
		err = kluis_error_set(KLUIS_EGENERIC, "cannot start zlib");
		goto cleanup;
	}
	z_live = true;
	do {
		if (z.avail_in == 0 && zr != Z_STREAM_END) {
			if ((err = kluis_objstream_read(s, in, IO_CHUNK, &n)) < 0)
				goto cleanup;
			z.next_in = in;
			z.avail_in = (uInt)n;
			po->done += n;
			if (po->progress && n && po->progress(po->done, po->total, po->payload) != 0) {
				err = kluis_error_set(KLUIS_EGENERIC, "writing the bundle was cancelled");
				goto cleanup;
			}
		}
		z.next_out = zout;
		z.avail_out = IO_CHUNK;
		zr = deflate(&z, n == 0 ? Z_FINISH : Z_NO_FLUSH);
		if (zr == Z_STREAM_ERROR) {
			err = kluis_error_set(KLUIS_EGENERIC, "zlib failed while bundling");
			goto cleanup;
		}
		if ((err = pack_put(po, zout, IO_CHUNK - z.avail_out)) < 0)
			goto cleanup;
	} while (zr != Z_STREAM_END);
cleanup:
	if (z_live)
		deflateEnd(&z);
	kluis_objstream_free(s);
	return err;
}

static int write_pack(struct bundle_out *o, struct pack_plan *pl, kluis_bundle_progress_cb progress, void *payload)
{
	struct pack_out po;
	unsigned char head[PACK_HEADER] = { 'P', 'A', 'C', 'K', 0, 0, 0, 2 }, *in = NULL, *zout = NULL;
	size_t nsmall = git_packbuilder_object_count(pl->pb), i;
	uint64_t count = (uint64_t)nsmall + pl->nbig;
	int err = 0;

	memset(&po, 0, sizeof(po));
	po.o = o;
	po.progress = progress;
	po.payload = payload;
	po.total = pl->big_total;
	if (count > UINT32_MAX)
		return kluis_error_set(KLUIS_EGENERIC, "too many objects for one pack");
	gcrypt_ready();
	if (gcry_md_open(&po.sha1, GCRY_MD_SHA1, 0))
		return kluis_error_set(KLUIS_EGENERIC, "libgcrypt: cannot open sha1");
	if (!(in = malloc(IO_CHUNK)) || !(zout = malloc(IO_CHUNK))) {
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto cleanup;
	}
	for (i = 0; i < 4; i++)
		head[8 + i] = (unsigned char)(count >> (24 - 8 * i));
	if ((err = pack_put(&po, head, sizeof(head))) < 0)
		goto cleanup;
	git_error_clear();
	if (git_packbuilder_foreach(pl->pb, pack_chunk_cb, &po) < 0) {
		/* a write failure has already recorded its own message */
		err = po.err < 0 ? po.err : git_fail(KLUIS_EGENERIC, "cannot write the bundle's pack");
		goto cleanup;
	}
	if (po.pb_seen < PACK_HEADER + PACK_TRAILER || po.tail_len != PACK_TRAILER || git_packbuilder_written(pl->pb) != nsmall) {
		err = kluis_error_set(KLUIS_EGENERIC, "cannot write the bundle's pack: short packbuilder output");
		goto cleanup;
	}
	for (i = 0; i < pl->nbig; i++)
		if ((err = write_big_object(&po, pl->repo, &pl->big[i], pl->big_size[i], in, zout)) < 0)
			goto cleanup;
	err = out_put(o, gcry_md_read(po.sha1, GCRY_MD_SHA1), PACK_TRAILER);
cleanup:
	gcry_md_close(po.sha1);
	free(in);
	free(zout);
	return err;
}

int kluis_bundle_write(git_repository *repo, const char *path, const char *const *refnames, size_t nrefs,
		       kluis_bundle_progress_cb progress, void *payload)
{
	struct bundle_out o = { -1, path, NULL, 0, 0 };
	struct pack_plan pl;
	git_repository *own = NULL;
	git_oid *oids = NULL;
	char *tmp = NULL, *cfgpath = NULL, hex[GIT_OID_HEXSZ + 1];
	size_t i, j, n = 0;
	bool committed = false;
	int err = 0;

	memset(&pl, 0, sizeof(pl));
	if (nrefs == 0)
		return kluis_error_set(KLUIS_EINVAL, "a bundle needs at least one ref");
	if (access(path, F_OK) == 0)
		return kluis_error_set(KLUIS_EEXISTS, "cannot create '%s': it already exists", path);
	if (errno != ENOENT)
		return kluis_error_set(KLUIS_EGENERIC, "cannot create '%s': %s", path, strerror(errno));
	/* Slot 0 is HEAD when it resolves; the refs follow in the order given. */
	if (!(oids = calloc(nrefs + 1, sizeof(*oids))) || !(o.buf = malloc(IO_CHUNK))) {
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto cleanup;
	}
	if (git_reference_name_to_id(&oids[0], repo, "HEAD") == 0)
		n = 1;
	for (i = 0; i < nrefs; i++) {
		if (!refname_ok(refnames[i]) || strcmp(refnames[i], "HEAD") == 0) {
			err = kluis_error_set(KLUIS_EINVAL, "cannot bundle '%s': not a full refs/ name",
					      refnames[i]);
			goto cleanup;
		}
		for (j = 0; j < i; j++)
			if (strcmp(refnames[i], refnames[j]) == 0) {
				err = kluis_error_set(KLUIS_EINVAL, "ref '%s' given twice", refnames[i]);
				goto cleanup;
			}
		if (git_reference_name_to_id(&oids[n + i], repo, refnames[i]) < 0) {
			err = git_fail(KLUIS_ENOTFOUND, "cannot resolve the ref to bundle");
			goto cleanup;
		}
	}
	if ((err = open_packing_repo(&own, &cfgpath, repo, path)) < 0 ||
	    (err = plan_pack(&pl, own, oids, n + nrefs)) < 0)
		goto cleanup;
	if ((err = create_temp_beside(path, &tmp, &o.fd)) < 0)
		goto cleanup;
	o.path = tmp;
	if ((err = out_put(&o, BUNDLE_SIGNATURE, strlen(BUNDLE_SIGNATURE))) < 0)
		goto cleanup;
	for (i = 0; i < n + nrefs; i++) {
		const char *name = (n == 1 && i == 0) ? "HEAD" : refnames[i - n];

		git_oid_tostr(hex, sizeof(hex), &oids[i]);
		if ((err = out_put(&o, hex, strlen(hex))) < 0 || (err = out_put(&o, " ", 1)) < 0 ||
		    (err = out_put(&o, name, strlen(name))) < 0 || (err = out_put(&o, "\n", 1)) < 0)
			goto cleanup;
	}
	if ((err = out_put(&o, "\n", 1)) < 0 || (err = write_pack(&o, &pl, progress, payload)) < 0 ||
	    (err = out_flush(&o)) < 0)
		goto cleanup;
	if (fsync(o.fd) < 0 || close(o.fd) < 0) {
		o.fd = -1;
		err = kluis_error_set(KLUIS_EGENERIC, "cannot write '%s': %s", tmp, strerror(errno));
		goto cleanup;
	}
	o.fd = -1;
	if ((err = publish_temp(tmp, path)) < 0)
		goto cleanup;
	committed = true;
cleanup:
	if (o.fd >= 0)
		close(o.fd);
	if (tmp && !committed)
		unlink(tmp);
	if (cfgpath)
		unlink(cfgpath);
	free(tmp);
	free(cfgpath);
	free(o.buf);
	free(oids);
	pack_plan_dispose(&pl);
	git_repository_free(own);
	return err;
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
		    line[GIT_OID_HEXSZ] != ' ' || !refname_ok(line + GIT_OID_HEXSZ + 1)) {
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

static ssize_t read_some(int fd, void *buf, size_t len)
{
	ssize_t r;

	do
		r = read(fd, buf, len);
	while (r < 0 && errno == EINTR);
	return r;
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
		if (write_all(lo->fd, lo->zbuf, IO_CHUNK - lo->z.avail_out) < 0)
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
	struct span *spans = NULL;
	unsigned char head[PACK_HEADER], trailer[PACK_TRAILER], *out = NULL, *zbuf = NULL;
	uint64_t last_big = 0, entry, size, dummy;
	uint32_t count, i;
	size_t nspans = 0, nbig = 0, k;
	int c, type, shift, err = 0;

	memset(&r, 0, sizeof(r));
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
	gcrypt_ready();
	if (gcry_md_open(&r.sha1, GCRY_MD_SHA1, 0) || !(r.buf = malloc(IO_CHUNK)) || !(out = malloc(IO_CHUNK)) ||
	    !(zbuf = malloc(IO_CHUNK))) {
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto cleanup;
	}
	for (k = 0; k < PACK_HEADER; k++) {
		if ((c = reader_byte(&r)) < 0) {
			err = kluis_error_set(KLUIS_EVERIFY, "pack truncated");
			goto cleanup;
		}
		head[k] = (unsigned char)c;
	}
	*version = ((uint32_t)head[4] << 24) | ((uint32_t)head[5] << 16) | ((uint32_t)head[6] << 8) | head[7];
	count = ((uint32_t)head[8] << 24) | ((uint32_t)head[9] << 16) | ((uint32_t)head[10] << 8) | head[11];
	if (memcmp(head, "PACK", 4) != 0 || (*version != 2 && *version != 3)) {
		err = kluis_error_set(KLUIS_EVERIFY, "not a version 2 or 3 pack");
		goto cleanup;
	}
	if ((uint64_t)count > (file_size - start) / 4) { /* an entry takes at least 4 bytes */
		err = kluis_error_set(KLUIS_EVERIFY, "pack header claims more objects than it can hold");
		goto cleanup;
	}
	if (!(spans = calloc(count ? count : 1, sizeof(*spans)))) {
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto cleanup;
	}
	for (i = 0; i < count; i++) {
		entry = start + r.consumed;
		if ((c = reader_byte(&r)) < 0)
			goto truncated;
		type = (c >> 4) & 7;
		size = (uint64_t)(c & 15);
		for (shift = 4; c & 0x80; shift += 7) {
			if ((c = reader_byte(&r)) < 0)
				goto truncated;
			if (shift > 57) {
				err = kluis_error_set(KLUIS_EVERIFY, "bad pack entry header");
				goto cleanup;
			}
			size |= (uint64_t)(c & 0x7f) << shift;
		}
		if (type == 6) { /* OFS_DELTA: base at entry - distance */
			uint64_t dist;

			if ((c = reader_byte(&r)) < 0)
				goto truncated;
			dist = (uint64_t)(c & 0x7f);
			while (c & 0x80) {
				if ((c = reader_byte(&r)) < 0)
					goto truncated;
				if (dist >> 56) {
					err = kluis_error_set(KLUIS_EVERIFY, "bad delta offset");
					goto cleanup;
				}
				dist = ((dist + 1) << 7) | (uint64_t)(c & 0x7f);
			}
			if (dist > entry - start || (nbig && entry - dist <= last_big))
				*fits = false; /* out of range (the indexer says so), or across a removed blob */
		} else if (type == 7) {
			for (k = 0; k < GIT_OID_RAWSZ; k++)
				if (reader_byte(&r) < 0)
					goto truncated;
		}
		if (type == GIT_OBJECT_BLOB && size > SPLIT_MIN) {
			if ((err = split_blob(repo, &r, size, out, zbuf)) < 0)
				goto cleanup;
			last_big = entry;
			nbig++;
			continue;
		}
		if ((err = inflate_entry(&r, NULL, out, &dummy)) < 0)
			goto cleanup;
		spans[nspans].off = entry;
		spans[nspans++].len = start + r.consumed - entry;
	}
	if (r.off != r.end || r.pos != r.len) {
		err = kluis_error_set(KLUIS_EVERIFY, "data after the pack's last entry");
		goto cleanup;
	}
	if (pread(fd, trailer, PACK_TRAILER, (off_t)r.end) != PACK_TRAILER ||
	    memcmp(trailer, gcry_md_read(r.sha1, GCRY_MD_SHA1), PACK_TRAILER) != 0) {
		err = kluis_error_set(KLUIS_EVERIFY, "pack checksum mismatch");
		goto cleanup;
	}
	if (progress)
		(void)progress(file_size, file_size, payload);
	*spans_out = spans;
	*nspans_out = nspans;
	*nbig_out = nbig;
	spans = NULL;
	goto cleanup;
truncated:
	err = kluis_error_set(KLUIS_EVERIFY, "pack truncated");
cleanup:
	if (r.cancelled)
		err = kluis_error_set(KLUIS_EGENERIC, "reading the bundle was cancelled");
	gcry_md_close(r.sha1);
	free(r.buf);
	free(out);
	free(zbuf);
	free(spans);
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

	gcrypt_ready();
	if (gcry_md_open(&sha1, GCRY_MD_SHA1, 0))
		return kluis_error_set(KLUIS_EGENERIC, "libgcrypt: cannot open sha1");
	for (k = 0; k < 4; k++) {
		head[4 + k] = (unsigned char)(version >> (24 - 8 * k));
		head[8 + k] = (unsigned char)((uint32_t)n >> (24 - 8 * k));
	}
	gcry_md_write(sha1, head, sizeof(head));
	if (wp->append(wp, head, sizeof(head), stats) < 0) {
		err = git_fail(KLUIS_EVERIFY, "the pack does not index");
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
				err = git_fail(KLUIS_EVERIFY, "the pack does not index");
				goto cleanup;
			}
			off += (uint64_t)r;
			left -= (uint64_t)r;
		}
	}
	if (wp->append(wp, gcry_md_read(sha1, GCRY_MD_SHA1), PACK_TRAILER, stats) < 0)
		err = git_fail(KLUIS_EVERIFY, "the pack does not index");
cleanup:
	gcry_md_close(sha1);
	return err;
}

int kluis_bundle_read(git_repository *repo, const char *path, kluis_bundle_ref **refs_out,
		      size_t *nrefs_out, kluis_bundle_progress_cb progress, void *payload)
{
	kluis_bundle_ref *refs = NULL;
	git_odb *odb = NULL;
	git_odb_writepack *wp = NULL;
	git_indexer_progress stats;
	git_packbuilder *check = NULL;
	git_oid *tips = NULL;
	struct span *spans = NULL;
	size_t nspans = 0, nbig = 0;
	uint32_t version = 2;
	bool fits = true;
	char *buf = NULL, *end = NULL, what[512];
	size_t have = 0, nrefs = 0, i, siglen = strlen(BUNDLE_SIGNATURE);
	struct stat st;
	ssize_t r;
	int fd = -1, err = 0;

	*refs_out = NULL;
	*nrefs_out = 0;
	memset(&stats, 0, sizeof(stats));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) < 0) {
		err = kluis_error_set(KLUIS_EGENERIC, "cannot open bundle '%s': %s", path, strerror(errno));
		goto cleanup;
	}
	if (!S_ISREG(st.st_mode)) {
		err = kluis_error_set(KLUIS_EVERIFY, "bundle '%s' is not a regular file", path);
		goto cleanup;
	}
	if (!(buf = malloc(BUNDLE_HEADER_MAX + 1))) {
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto cleanup;
	}
	/* Read until the empty line that ends the header; the bytes after it start the pack. */
	while (!end && have < BUNDLE_HEADER_MAX) {
		if ((r = read_some(fd, buf + have, BUNDLE_HEADER_MAX - have)) < 0) {
			err = kluis_error_set(KLUIS_EGENERIC, "cannot read bundle '%s': %s", path, strerror(errno));
			goto cleanup;
		}
		if (r == 0)
			break;
		have += (size_t)r;
		buf[have] = '\0';
		if (have >= siglen && memcmp(buf, BUNDLE_SIGNATURE, siglen) != 0)
			break;
		end = memmem(buf, have, "\n\n", 2);
	}
	if (have < siglen || memcmp(buf, BUNDLE_SIGNATURE, siglen) != 0) {
		err = kluis_error_set(KLUIS_EVERIFY, "'%s' is not a git bundle v2 file", path);
		goto cleanup;
	}
	if (!end) {
		err = kluis_error_set(KLUIS_EVERIFY, "bundle '%s' has a truncated or oversized header", path);
		goto cleanup;
	}
	if (memchr(buf, '\0', (size_t)(end - buf)) || memchr(buf, '\r', (size_t)(end - buf))) {
		err = kluis_error_set(KLUIS_EVERIFY, "bundle '%s' has a malformed header", path);
		goto cleanup;
	}
	end[1] = '\0';
	if ((err = parse_refs(buf + siglen, path, &refs, &nrefs)) < 0)
		goto cleanup;

	if (git_repository_odb(&odb, repo) < 0 || git_odb_write_pack(&wp, odb, NULL, NULL) < 0) {
		err = git_fail(KLUIS_EGENERIC, "cannot start reading a bundle's pack");
		goto cleanup;
	}
	i = (size_t)(end + 2 - buf); /* first pack byte in buf */
	snprintf(what, sizeof(what), "bundle '%s' has a truncated or corrupt pack", path);
	if ((err = split_pack(repo, fd, (uint64_t)i, (uint64_t)st.st_size, &version, &spans, &nspans, &nbig, &fits,
				progress, payload)) < 0) {
		err = kluis_error_set(err, "%s: %s", what, kluis_error_last());
		goto cleanup;
	}
	if (nbig > 0 && fits) {
		if ((err = append_spans(wp, &stats, fd, version, spans, nspans, (unsigned char *)buf)) < 0) {
			err = kluis_error_set(err, "%s: %s", what, kluis_error_last());
			goto cleanup;
		}
		goto indexed;
	}
	if (have > i && wp->append(wp, buf + i, have - i, &stats) < 0) {
		err = git_fail(KLUIS_EVERIFY, what);
		goto cleanup;
	}
	while ((r = read_some(fd, buf, IO_CHUNK)) > 0) {
		if (wp->append(wp, buf, (size_t)r, &stats) < 0) {
			err = git_fail(KLUIS_EVERIFY, what);
			goto cleanup;
		}
		have += (size_t)r;
		if (progress && progress(have, (uint64_t)st.st_size, payload) != 0) {
			err = kluis_error_set(KLUIS_EGENERIC, "reading bundle '%s' was cancelled", path);
			goto cleanup;
		}
	}
	if (r < 0) {
		err = kluis_error_set(KLUIS_EGENERIC, "cannot read bundle '%s': %s", path, strerror(errno));
		goto cleanup;
	}
indexed:
	if (wp->commit(wp, &stats) < 0) {
		err = git_fail(KLUIS_EVERIFY, what);
		goto cleanup;
	}

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
		goto cleanup;
	}
	*refs_out = refs;
	*nrefs_out = nrefs;
	refs = NULL;
cleanup:
	if (wp)
		wp->free(wp);
	git_packbuilder_free(check);
	git_odb_free(odb);
	kluis_bundle_refs_free(refs, nrefs);
	free(spans);
	free(tips);
	free(buf);
	if (fd >= 0)
		close(fd);
	return err;
}
