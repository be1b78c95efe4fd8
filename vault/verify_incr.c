/*
 * verify_incr.c - what an incremental `kluis verify` checks of the objects it verified before.
 *
 * Objects are written once and never changed; the history after the cached head is checked in
 * full, so what is left to see is an old object deleted, replaced or altered. The cache holds
 * a stamp of each loose object directory (objects/00 .. objects/ff: inode and ctime) and, per
 * directory, a record of its object files (id, inode, ctime) as a clean run saw them. Then:
 *   - a directory whose stamp is unchanged has lost and gained nothing: deleting, adding or
 *     renaming a file changes its directory's ctime;
 *   - a directory that changed (normally: the new commits' objects) is listed again, names and
 *     inodes only (no stat per file): every recorded object must still be there, the same
 *     inode; the new files join the record. Anything missing or replaced makes the run a full
 *     one, which names the commit the object belonged to;
 *   - objects/pack is stamped by its files' names and inodes: a pack added, removed or
 *     replaced, or a pack file written to since the cached run, makes the run a full one;
 *   - the scrub: each run also looks at the files of the next few directories in turn, about
 *     KLUIS_VERIFY_SCRUB files (512 unless the environment says), one statx each. A file
 *     whose ctime is not the recorded one (overwritten in place, chmod'ed, or "freshened" by
 *     libgit2 writing the same object again) is read and hashed; content that no longer hashes
 *     to its id is a finding. So an object altered in place, which no directory stamp shows,
 *     is found by the incremental runs within one sweep of the store (files / 512 runs), and
 *     at once by --full and by any read (libgit2 hashes what it reads).
 * A directory or file that changed in the last two seconds is recorded as "look again", so a
 * change within the filesystem's timestamp granularity is not missed.
 */
#include "verify_internal.h"

#include <dirent.h>
#include <fcntl.h>
#include <gcrypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define SCRUB_FILES_DEFAULT 512
#define SLACK_NS 2000000000LL

static void dir_name(size_t i, char name[8])
{
	if (i == KLUIS_VCACHE_PACK)
		snprintf(name, 8, "pack");
	else
		snprintf(name, 8, "%02zx", i);
}

static int64_t ns_of(struct timespec t)
{
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static int64_t statx_ctime_ns(const struct statx *sx)
{
	return (int64_t)sx->stx_ctime.tv_sec * 1000000000 + sx->stx_ctime.tv_nsec;
}

/* A stamp that changed within the slack is recorded as 0: look again next time. */
static int64_t settled(int64_t t, int64_t now)
{
	return t >= now - SLACK_NS ? 0 : t;
}

static bool same_stamp(const struct stat *st, bool exists, const kluis_vcache_dir *r)
{
	if (!exists)
		return r->ino == 0;
	return r->ino == (uint64_t)st->st_ino && r->ctime_ns != 0 && r->ctime_ns == ns_of(st->st_ctim);
}

/* The 40 hex digits of a recorded object's id; hex + 2 is its file name in objects/XX. */
static void obj_hex(const kluis_vcache_obj *o, char hex[GIT_OID_HEXSZ + 1])
{
	git_oid oid;

	git_oid_fromraw(&oid, o->id);
	git_oid_tostr(hex, GIT_OID_HEXSZ + 1, &oid);
}

static int obj_cmp(const void *a, const void *b)
{
	return memcmp(((const kluis_vcache_obj *)a)->id, ((const kluis_vcache_obj *)b)->id, GIT_OID_RAWSZ);
}

static size_t scrub_budget(void)
{
	const char *s = getenv("KLUIS_VERIFY_SCRUB");
	char *end;
	unsigned long n;

	if (!s || !*s)
		return SCRUB_FILES_DEFAULT;
	n = strtoul(s, &end, 10);
	return *end || n == 0 ? SCRUB_FILES_DEFAULT : (size_t)n;
}

/*
 * The loose object files of objects/XX (names of 38 hex digits; libgit2's temporary files
 * and anything else are not objects), sorted by id, with their inodes from the listing;
 * ctime 0. *exists: the directory is there.
 */
static int list_dir(int objects_fd, size_t dir, kluis_vcache_obj **out, size_t *n, bool *exists)
{
	char name[8], hex[GIT_OID_HEXSZ + 1];
	int fd;
	DIR *d;
	struct dirent *de;
	kluis_vcache_obj *g;
	size_t cap = 0;
	git_oid oid;

	*out = NULL;
	*n = 0;
	dir_name(dir, name);
	fd = openat(objects_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	*exists = fd >= 0;
	if (fd < 0)
		return 0;
	if (!(d = fdopendir(fd))) {
		close(fd);
		return KLUIS_EGENERIC;
	}
	while ((de = readdir(d)) != NULL) {
		if (strlen(de->d_name) != GIT_OID_HEXSZ - 2)
			continue;
		snprintf(hex, sizeof(hex), "%s%s", name, de->d_name);
		if (git_oid_fromstr(&oid, hex) < 0)
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 256;
			if (!(g = realloc(*out, cap * sizeof(*g)))) {
				closedir(d);
				return KLUIS_EGENERIC;
			}
			*out = g;
		}
		memcpy((*out)[*n].id, oid.id, GIT_OID_RAWSZ);
		(*out)[*n].ino = (uint64_t)de->d_ino;
		(*out)[*n].ctime_ns = 0;
		(*n)++;
	}
	closedir(d);
	if (*n)
		qsort(*out, *n, sizeof(**out), obj_cmp);
	return 0;
}

static int store_dir(const char *key, size_t dir, const kluis_vcache_obj *objs, size_t n, size_t keep, const struct stat *st,
		     int64_t now, kluis_vcache_dir *rec)
{
	rec->ino = (uint64_t)st->st_ino;
	rec->ctime_ns = settled(ns_of(st->st_ctim), now);
	rec->count = n;
	return kluis_vcache_objs_store(key, dir, objs, n, keep, rec->digest);
}

/*
 * The record `was` (*nwas objects, in stored order) against a listing `is` (sorted): 1 when
 * every recorded object is still listed with the same inode, the new ones then appended to
 * `was` (ctime 0: hashed at their first scrub); 0 when one is gone or replaced; < 0 on error.
 */
static int merge_listing(kluis_vcache_obj **was, size_t *nwas, const kluis_vcache_obj *is, size_t nis)
{
	kluis_vcache_obj *sorted = NULL, *grown;
	bool *listed_before = calloc(nis ? nis : 1, sizeof(bool));
	size_t i, j, n = *nwas;
	int rc = 1;

	if (!listed_before || (n && !(sorted = malloc(n * sizeof(*sorted))))) {
		rc = KLUIS_EGENERIC;
		goto cleanup;
	}
	if (n) {
		memcpy(sorted, *was, n * sizeof(*sorted));
		qsort(sorted, n, sizeof(*sorted), obj_cmp);
	}
	for (i = j = 0; i < n && rc == 1; i++) {
		while (j < nis && obj_cmp(&is[j], &sorted[i]) < 0)
			j++;
		if (j == nis || obj_cmp(&is[j], &sorted[i]) != 0 || is[j].ino != sorted[i].ino)
			rc = 0;
		else
			listed_before[j] = true;
	}
	if (rc != 1 || nis == n)
		goto cleanup;
	if (!(grown = realloc(*was, nis * sizeof(*grown)))) {
		rc = KLUIS_EGENERIC;
		goto cleanup;
	}
	*was = grown;
	for (j = 0; j < nis; j++)
		if (!listed_before[j])
			grown[(*nwas)++] = is[j];
cleanup:
	free(sorted);
	free(listed_before);
	return rc;
}

/* Whether the loose object file `name` in `dfd` inflates to content that hashes to `id`. */
static bool loose_hashes_to(int dfd, const char *name, const unsigned char id[GIT_OID_RAWSZ])
{
	unsigned char in[16384], outb[16384];
	z_stream z;
	gcry_md_hd_t md = NULL;
	bool ok = false, end = false;
	ssize_t got;
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), zr = Z_OK;

	memset(&z, 0, sizeof(z));
	if (fd < 0 || inflateInit(&z) != Z_OK) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	if (gcry_md_open(&md, GCRY_MD_SHA1, 0))
		goto cleanup;
	while (!end && (got = read(fd, in, sizeof(in))) > 0) {
		z.next_in = in;
		z.avail_in = (uInt)got;
		do {
			z.next_out = outb;
			z.avail_out = sizeof(outb);
			zr = inflate(&z, Z_NO_FLUSH);
			if (zr != Z_OK && zr != Z_STREAM_END)
				goto cleanup;
			gcry_md_write(md, outb, sizeof(outb) - z.avail_out);
			end = zr == Z_STREAM_END;
		} while (!end && z.avail_out == 0);
	}
	ok = end && memcmp(gcry_md_read(md, GCRY_MD_SHA1), id, GIT_OID_RAWSZ) == 0;
cleanup:
	gcry_md_close(md);
	inflateEnd(&z);
	close(fd);
	return ok;
}

/*
 * The incremental check of the loose directories that changed: 1 when every recorded object
 * is still there (the records in `out` updated), 0 when something is gone or replaced (run in
 * full), < 0 on an error.
 */
static int check_changed_dirs(int ofd, const char *key, const kluis_vcache *old, kluis_vcache *out, int64_t now)
{
	kluis_vcache_obj *was = NULL, *is = NULL;
	size_t nwas = 0, nis = 0, kept, dir;
	struct stat st;
	char name[8];
	bool exists;
	int rc = 1;

	for (dir = 0; dir < KLUIS_VCACHE_PACK && rc == 1; dir++) {
		dir_name(dir, name);
		exists = fstatat(ofd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
		if (same_stamp(&st, exists, &old->dirs[dir])) {
			out->dirs[dir] = old->dirs[dir];
			continue;
		}
		if (old->dirs[dir].count &&
		    kluis_vcache_objs_load(key, dir, old->dirs[dir].digest, &was, &nwas) < 0) {
			rc = 0; /* a record that does not check out */
			break;
		}
		if (list_dir(ofd, dir, &is, &nis, &exists) < 0) {
			rc = KLUIS_EGENERIC;
			break;
		}
		kept = nwas;
		rc = merge_listing(&was, &nwas, is, nis);
		if (rc == 1 && exists)
			rc = store_dir(key, dir, was, nwas, kept, &st, now, &out->dirs[dir]) < 0 ? KLUIS_EGENERIC : 1;
		else if (rc == 1)
			memset(&out->dirs[dir], 0, sizeof(out->dirs[dir]));
		free(was);
		free(is);
		was = is = NULL;
		nwas = nis = 0;
	}
	free(was);
	free(is);
	return rc;
}

/*
 * The scrub: from directory old->scrub on, stat about `budget` recorded files; hash those whose
 * ctime is not the recorded one. A file gone: 0 (run in full); content that does not hash to
 * its id: a finding. Updates the records and out->scrub.
 */
static int scrub(vctx *v, int ofd, const char *key, const kluis_vcache *old, kluis_vcache *out, int64_t now, size_t budget)
{
	kluis_vcache_obj *objs = NULL;
	size_t n = 0, i, seen = 0, visited, dir = old->scrub;
	char name[8], hex[GIT_OID_HEXSZ + 1];
	const char *file;
	struct statx sx;
	bool dirty;
	int dfd, rc = 1;

	for (visited = 0; visited < KLUIS_VCACHE_PACK && seen < budget && rc == 1; visited++, dir = (dir + 1) % KLUIS_VCACHE_PACK) {
		kluis_vcache_dir *rec = &out->dirs[dir];

		if (!rec->count)
			continue;
		if (seen && seen + rec->count > budget)
			break; /* this directory starts the next run's scrub */
		if (kluis_vcache_objs_load(key, dir, rec->digest, &objs, &n) < 0)
			return 0;
		dir_name(dir, name);
		if ((dfd = openat(ofd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
			free(objs);
			return 0;
		}
		dirty = false;
		for (i = 0; i < n && rc == 1; i++) {
			obj_hex(&objs[i], hex);
			file = hex + 2;
			/* gone: a full run says what it belonged to (a file replaced by another shows in
			 * its directory's stamp, and its inode is checked when the directory is listed) */
			if (statx(dfd, file, AT_SYMLINK_NOFOLLOW, STATX_CTIME, &sx) < 0) {
				rc = 0;
				break;
			}
			if (objs[i].ctime_ns != 0 && objs[i].ctime_ns == statx_ctime_ns(&sx))
				continue;
			if (!loose_hashes_to(dfd, file, objs[i].id)) {
				kluis_vfinding(v, NULL, "object %s is corrupted: its file objects/%s/%s no longer hashes to its id (altered in place)",
					       hex, name, file);
				continue;
			}
			objs[i].ctime_ns = settled(statx_ctime_ns(&sx), now);
			dirty = true;
		}
		close(dfd);
		seen += n;
		if (rc == 1 && dirty && kluis_vcache_objs_store(key, dir, objs, n, 0, rec->digest) < 0)
			rc = KLUIS_EGENERIC;
		free(objs);
		objs = NULL;
	}
	v->rep->scrubbed += seen;
	out->scrub = (unsigned)dir;
	return rc;
}

/* No usable cache: list and stat every loose object file, and record them all. */
static int record_all(int ofd, const char *key, kluis_vcache *out, int64_t now)
{
	kluis_vcache_obj *objs = NULL;
	size_t n, i, k, dir;
	struct statx sx;
	struct stat st;
	char name[8], hex[GIT_OID_HEXSZ + 1];
	bool exists;
	int dfd, err = 0;

	for (dir = 0; dir < KLUIS_VCACHE_PACK && err == 0; dir++) {
		memset(&out->dirs[dir], 0, sizeof(out->dirs[dir]));
		dir_name(dir, name);
		if (fstatat(ofd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
			continue;
		if ((err = list_dir(ofd, dir, &objs, &n, &exists)) < 0)
			break;
		if (!exists) /* gone since the stat: recorded as absent */
			continue;
		if ((dfd = openat(ofd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
			err = KLUIS_EGENERIC;
			break;
		}
		for (i = k = 0; i < n; i++) {
			obj_hex(&objs[i], hex);
			if (statx(dfd, hex + 2, AT_SYMLINK_NOFOLLOW, STATX_CTIME, &sx) < 0)
				continue; /* gone since the listing */
			/* the inode as listed (what later listings compare; overlayfs's d_ino can
			 * differ from st_ino) */
			objs[k] = objs[i];
			objs[k++].ctime_ns = settled(statx_ctime_ns(&sx), now);
		}
		close(dfd);
		err = store_dir(key, dir, objs, k, 0, &st, now, &out->dirs[dir]);
		free(objs);
		objs = NULL;
	}
	free(objs);
	return err;
}

static int line_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * objects/pack as a stamp: the sha256 of its sorted "name inode" lines (a pack or index added,
 * removed or replaced changes it) into rec->digest, how many files into rec->count, and
 * whether a file in it was written since `since` (a pack rewritten in place). A repack, or
 * tampering, makes the run a full one.
 */
static int stamp_packs(int objects_fd, kluis_vcache_dir *rec, int64_t since, bool *written)
{
	int fd = openat(objects_fd, "pack", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	kluis_buf text = KLUIS_BUF_INIT;
	struct dirent *de;
	struct stat st;
	char **lines = NULL, **grown;
	size_t n = 0, i;
	int err = 0;

	*written = false;
	rec->digest[0] = 0;
	rec->count = 0;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	while (err == 0 && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		*written = *written || (int64_t)st.st_ctime >= since || (int64_t)st.st_mtime >= since;
		if (!(grown = realloc(lines, (n + 1) * sizeof(*grown))) || asprintf(&grown[n], "%s %llu\n", de->d_name, (unsigned long long)st.st_ino) < 0) {
			lines = grown ? grown : lines;
			err = KLUIS_EGENERIC;
			break;
		}
		lines = grown;
		n++;
	}
	closedir(d);
	if (n)
		qsort(lines, n, sizeof(*lines), line_cmp);
	for (i = 0; i < n && err == 0; i++)
		err = kluis_buf_printf(&text, "%s", lines[i]);
	if (err == 0)
		err = kluis_sha256_buffer_hex(text.ptr ? (const char *)text.ptr : "", text.len, rec->digest);
	rec->count = n;
	kluis_strings_free(lines, n);
	kluis_buf_dispose(&text);
	return err < 0 ? KLUIS_EGENERIC : 0;
}

int kluis_vincr_scan(vctx *v, const char *key, const kluis_vcache *old, kluis_vcache *out, bool *unchanged)
{
	struct timespec ts;
	int64_t now;
	char *objects = kluis_path_join(git_repository_path(v->repo), "objects");
	int ofd = objects ? open(objects, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	kluis_vcache_dir *pack;
	bool packs_written;
	int rc = 0, err = 0;

	clock_gettime(CLOCK_REALTIME, &ts);
	now = ns_of(ts);
	*unchanged = false;
	out->have_dirs = false;
	if (ofd < 0) {
		err = kluis_error_set(KLUIS_EGENERIC, "cannot open the object store");
		goto cleanup;
	}
	pack = &out->dirs[KLUIS_VCACHE_PACK];
	memset(pack, 0, sizeof(*pack));
	if (stamp_packs(ofd, pack, old ? old->time : 0, &packs_written) < 0) {
		err = kluis_error_set(KLUIS_EGENERIC, "cannot read the object store's packs");
		goto cleanup;
	}
	if (old && old->have_dirs && !packs_written && strcmp(pack->digest, old->dirs[KLUIS_VCACHE_PACK].digest) == 0 &&
	    (rc = check_changed_dirs(ofd, key, old, out, now)) == 1)
		rc = scrub(v, ofd, key, old, out, now, scrub_budget());
	if (rc < 0) {
		err = kluis_error_set(KLUIS_EGENERIC, "cannot record the object store for the verified-state cache");
		goto cleanup;
	}
	*unchanged = rc == 1;
	if (!*unchanged) {
		v->rep->scrubbed = 0;
		out->scrub = 0;
		if ((err = record_all(ofd, key, out, now)) < 0) {
			err = kluis_error_set(KLUIS_EGENERIC, "cannot record the object store for the verified-state cache");
			goto cleanup;
		}
	}
	out->have_dirs = true;
cleanup:
	if (ofd >= 0)
		close(ofd);
	free(objects);
	return err;
}
