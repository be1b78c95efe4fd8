/*
 * bundle.c - git bundle v2 writer and reader over libgit2 (see bundle.h).
 *
 * Invariants: a pack is streamed (through a fixed-size buffer to the file, or in fixed-size
 * chunks from the file into the odb's pack writer), never held whole in memory; a bundle file
 * appears under its name only complete and synced, and never replaces another file; the reader
 * accepts exactly the v2 format without prerequisites and trusts nothing it has not checked
 * (header syntax, pack checksum, presence and connectivity of every advertised object).
 */
#include "bundle.h"
#include "error.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define BUNDLE_SIGNATURE "# v2 git bundle\n"
#define BUNDLE_HEADER_MAX (64 * 1024)
#define BUNDLE_REFNAME_MAX 1024
#define IO_CHUNK (64 * 1024)
/* Objects larger than this are packed whole, without a delta search (see open_packing_repo). */
#define DELTA_MAX "65536"

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

/* git_packbuilder_foreach callback: a negative return stops the pack and is passed back. */
static int pack_chunk_cb(void *buf, size_t size, void *payload)
{
	struct bundle_out *o = payload;

	return (o->err = out_put(o, buf, size)) < 0 ? -1 : 0;
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

int kluis_bundle_write(git_repository *repo, const char *path, const char *const *refnames,
		       size_t nrefs)
{
	struct bundle_out o = { -1, path, NULL, 0, 0 };
	git_repository *own = NULL;
	git_packbuilder *pb = NULL;
	git_oid *oids = NULL;
	char *tmp = NULL, *cfgpath = NULL, hex[GIT_OID_HEXSZ + 1];
	size_t i, j, n = 0;
	bool committed = false;
	int err = 0;

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
	    (err = collect_objects(&pb, own, oids, n + nrefs)) < 0)
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
	if ((err = out_put(&o, "\n", 1)) < 0)
		goto cleanup;
	git_error_clear();
	if (git_packbuilder_foreach(pb, pack_chunk_cb, &o) < 0) {
		/* A write failure has already recorded its own message. */
		err = o.err < 0 ? o.err : git_fail(KLUIS_EGENERIC, "cannot write the bundle's pack");
		goto cleanup;
	}
	if ((err = out_flush(&o)) < 0)
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
	git_packbuilder_free(pb);
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

int kluis_bundle_read(git_repository *repo, const char *path, kluis_bundle_ref **refs_out,
		      size_t *nrefs_out)
{
	kluis_bundle_ref *refs = NULL;
	git_odb *odb = NULL;
	git_odb_writepack *wp = NULL;
	git_indexer_progress stats;
	git_packbuilder *check = NULL;
	git_oid *tips = NULL;
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
	if (have > i && wp->append(wp, buf + i, have - i, &stats) < 0) {
		err = git_fail(KLUIS_EVERIFY, what);
		goto cleanup;
	}
	while ((r = read_some(fd, buf, IO_CHUNK)) > 0)
		if (wp->append(wp, buf, (size_t)r, &stats) < 0) {
			err = git_fail(KLUIS_EVERIFY, what);
			goto cleanup;
		}
	if (r < 0) {
		err = kluis_error_set(KLUIS_EGENERIC, "cannot read bundle '%s': %s", path, strerror(errno));
		goto cleanup;
	}
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
	free(tips);
	free(buf);
	if (fd >= 0)
		close(fd);
	return err;
}
