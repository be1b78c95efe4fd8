/*
 * bundle_write.c - writing a git bundle v2 file with libgit2 (kluis_bundle_write, see bundle.h).
 *
 * Invariants: the pack is streamed through a fixed-size buffer to the file, never held whole
 * in memory, and no large object is either (they are streamed through objstream.c into the
 * pack); every object reachable from the refs is read on the way, so a bundle is only written
 * of a connected history; the file appears under its name only complete and synced (temporary
 * name beside it, 0600, fsync, rename without replacing), and never replaces another file.
 */
#include "vault/exchange/bundle_internal.h"
#include "vault/base/error.h"
#include "vault/git/objstream.h"
#include "vault/base/util.h"

#include <errno.h>
#include <gcrypt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

/* Objects larger than this are packed whole, without a delta search (see open_packing_repo);
 * blobs larger than this are not given to the packbuilder at all but streamed (see
 * write_big_object). */
#define DELTA_MAX "65536"
#define STREAM_MIN 65536

/* The file being written: a small buffer in front of the fd, so per-object pack headers do
 * not each cost a system call. */
struct bundle_out {
	int fd;
	const char *path;
	unsigned char *buf;
	size_t len;
	int err; /* the first write error, already recorded with kluis_error_set */
};

static int out_flush(struct bundle_out *o)
{
	if (o->len > 0 && kluis_fd_write_all(o->fd, o->buf, o->len) < 0)
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
		if (kluis_fd_write_all(o->fd, data, len) < 0)
			return kluis_error_set(KLUIS_EGENERIC, "cannot write '%s': %s", o->path, strerror(errno));
		return 0;
	}
	memcpy(o->buf + o->len, data, len);
	o->len += len;
	return 0;
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
	if ((err = kluis_file_temp_beside(path, &cfgpath, &fd)) < 0)
		goto cleanup;
	if (kluis_fd_write_all(fd, settings, strlen(settings)) < 0) {
		err = kluis_error_set(KLUIS_EGENERIC, "cannot write '%s': %s", cfgpath, strerror(errno));
		goto cleanup;
	}
	if ((err = kluis_repo_open(&own, git_repository_path(repo))) < 0)
		goto cleanup;
	if (git_repository_config(&cfg, own) < 0 ||
	    git_config_add_file_ondisk(cfg, cfgpath, GIT_CONFIG_LEVEL_APP, own, 0) < 0) {
		err = kluis_git_fail(KLUIS_EGENERIC, "cannot open the repository for packing");
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
		return kluis_git_fail(KLUIS_EVERIFY, "cannot read an object to bundle");
	if (size <= STREAM_MIN)
		return git_packbuilder_insert(pl->pb, oid, NULL) < 0 ? kluis_git_fail(KLUIS_EGENERIC, "cannot add an object to the pack") : 0;
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
		return kluis_git_fail(KLUIS_EVERIFY, "cannot add a tree to the pack");
	if (git_packbuilder_object_count(pl->pb) == before)
		return 0;
	if (git_tree_lookup(&tree, pl->repo, oid) < 0)
		return kluis_git_fail(KLUIS_EVERIFY, "cannot read a tree to bundle");
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

int kluis_bundle_tip(git_object **target_out, git_repository *repo, git_packbuilder *pb, bool recur,
		     git_revwalk *walk, const git_oid *oid, bool *pushed)
{
	git_object *obj = NULL, *peeled = NULL;
	int err = 0;

	*target_out = NULL;
	if (git_object_lookup(&obj, repo, oid, GIT_OBJECT_ANY) < 0) {
		err = kluis_git_fail(KLUIS_EVERIFY, "cannot read an advertised object");
		goto cleanup;
	}
	if (git_object_type(obj) == GIT_OBJECT_TAG) {
		if ((recur ? git_packbuilder_insert_recur(pb, oid, NULL) : git_packbuilder_insert(pb, oid, NULL)) < 0 ||
		    git_object_peel(&peeled, obj, GIT_OBJECT_ANY) < 0) {
			err = kluis_git_fail(KLUIS_EVERIFY, "cannot follow an advertised tag");
			goto cleanup;
		}
		git_object_free(obj);
		obj = peeled;
		peeled = NULL;
	}
	if (git_object_type(obj) == GIT_OBJECT_COMMIT) {
		if (git_revwalk_push(walk, git_object_id(obj)) < 0) {
			err = kluis_git_fail(KLUIS_EVERIFY, "cannot walk an advertised commit");
			goto cleanup;
		}
		*pushed = true;
	}
	*target_out = obj;
	obj = NULL;
cleanup:
	git_object_free(peeled);
	git_object_free(obj);
	return err;
}

/* Every object reachable from the tips: commits and their trees and small blobs into the
 * packbuilder, large blobs into pl->big. Every object is read on the way, so this also
 * proves the tips connected. */
static int plan_pack(struct pack_plan *pl, git_repository *repo, const git_oid *tips, size_t n)
{
	git_revwalk *walk = NULL;
	git_object *target = NULL;
	git_commit *c = NULL;
	git_oid oid;
	size_t i, j;
	bool pushed = false;
	int rc, err = 0;

	pl->repo = repo;
	if (git_repository_odb(&pl->odb, repo) < 0 || git_packbuilder_new(&pl->pb, repo) < 0 ||
	    git_revwalk_new(&walk, repo) < 0) {
		err = kluis_git_fail(KLUIS_EGENERIC, "cannot start a pack");
		goto cleanup;
	}
	for (i = 0; i < n; i++) {
		git_object_free(target);
		if ((err = kluis_bundle_tip(&target, repo, pl->pb, false, walk, &tips[i], &pushed)) < 0)
			goto cleanup;
		if (git_object_type(target) == GIT_OBJECT_TREE)
			err = plan_tree(pl, git_object_id(target));
		else if (git_object_type(target) != GIT_OBJECT_COMMIT)
			err = plan_blob(pl, git_object_id(target));
		if (err < 0)
			goto cleanup;
	}
	while ((rc = git_revwalk_next(&oid, walk)) == 0) {
		if (git_commit_lookup(&c, repo, &oid) < 0 || git_packbuilder_insert(pl->pb, &oid, NULL) < 0) {
			err = kluis_git_fail(KLUIS_EVERIFY, "cannot collect the history of the advertised refs");
			goto cleanup;
		}
		err = plan_tree(pl, git_commit_tree_id(c));
		git_commit_free(c);
		c = NULL;
		if (err < 0)
			goto cleanup;
	}
	if (rc != GIT_ITEROVER) {
		err = kluis_git_fail(KLUIS_EVERIFY, "cannot collect the history of the advertised refs");
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
			err = kluis_git_fail(KLUIS_EVERIFY, "cannot read an object to bundle");
			goto cleanup;
		}
		pl->big_size[i] = size;
		pl->big_total += size;
	}
cleanup:
	git_commit_free(c);
	git_object_free(target);
	git_revwalk_free(walk);
	return err;
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
	kluis_gcrypt_init();
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
		err = po.err < 0 ? po.err : kluis_git_fail(KLUIS_EGENERIC, "cannot write the bundle's pack");
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
		if (!kluis_bundle_refname_ok(refnames[i]) || strcmp(refnames[i], "HEAD") == 0) {
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
			err = kluis_git_fail(KLUIS_ENOTFOUND, "cannot resolve the ref to bundle");
			goto cleanup;
		}
	}
	if ((err = open_packing_repo(&own, &cfgpath, repo, path)) < 0 ||
	    (err = plan_pack(&pl, own, oids, n + nrefs)) < 0)
		goto cleanup;
	if ((err = kluis_file_temp_beside(path, &tmp, &o.fd)) < 0)
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
	if ((err = kluis_file_publish(tmp, path)) < 0)
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
