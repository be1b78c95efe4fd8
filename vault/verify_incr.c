/*
 * verify_incr.c - what an incremental `kluis verify` checks of the objects it verified before.
 *
 * Objects are written once and never changed; the history after the cached head is checked in
 * full, so what is left to see is an old object deleted, replaced or altered. For that the
 * cache records a stamp of each object directory (objects/00 .. objects/ff: inode and ctime;
 * objects/pack likewise) and, per directory, how many loose files it held that were made
 * (birth time, else ctime) before a threshold and the sum of their ids' first 8 bytes.
 * Deleting, adding or renaming a file changes its directory's ctime, so:
 *   - a directory whose stamp is unchanged has lost nothing;
 *   - a directory that changed (normally: new objects of the new commits) is read again: the
 *     files made before its threshold must still be exactly those counted (a file deleted, or
 *     replaced by another inode, or renamed, no longer counts); if not, the run
 *     falls back to full verification, which names the commit an object belonged to;
 *   - objects/pack is treated alike (a pack deleted or replaced: full verification), and a
 *     pack file written to since the cached run means full verification too;
 *   - every ciphertext object in refs/kluis/content is looked at (one fstatat each): gone, or
 *     its file changed since the cached run, it is re-read (libgit2 re-hashes what it reads).
 * What this cannot see: an old loose tree, commit or pointer overwritten in place (the same
 * inode, written through) in a directory that did not change otherwise; --full sees that.
 * A directory modified in the two seconds before the run is marked to be read again next
 * time, so a change within the filesystem's timestamp granularity is not missed.
 */
#include "verify_internal.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void dir_name(size_t i, char name[8])
{
	if (i == KLUIS_VCACHE_PACK)
		snprintf(name, 8, "pack");
	else
		snprintf(name, 8, "%02zx", i);
}

/* ctime, not mtime: no system call sets it back */
static int64_t ctime_ns(const struct stat *st)
{
	return (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec;
}

static bool same_stamp(const struct stat *st, bool exists, const kluis_vcache_dir *r)
{
	if (!exists)
		return r->ino == 0;
	return r->ino == (uint64_t)st->st_ino && r->ctime_ns != 0 && r->ctime_ns == ctime_ns(st);
}

/* FNV-1a of a file name: the names are object ids (or pack names), a sum of these tells a
 * changed set of names from the same one */
static uint64_t name_hash(const char *name)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * 1099511628211ULL;
	return h;
}

/*
 * When a file's inode was made: its birth time where the filesystem keeps one (no system call
 * sets it, and libgit2 "freshening" an object that is written again leaves it alone), else
 * its ctime (then a freshened object makes the next run a full one).
 */
static int64_t born_ns(int dfd, const char *name, bool *ok)
{
	struct statx sx;

	*ok = statx(dfd, name, AT_SYMLINK_NOFOLLOW, STATX_BTIME | STATX_CTIME, &sx) == 0;
	if (!*ok)
		return 0;
	if (sx.stx_mask & STATX_BTIME)
		return (int64_t)sx.stx_btime.tv_sec * 1000000000 + sx.stx_btime.tv_nsec;
	return (int64_t)sx.stx_ctime.tv_sec * 1000000000 + sx.stx_ctime.tv_nsec;
}

/*
 * Count the loose object files of directory `name` made before `since_a` and before `since_b`
 * (a may be NULL: not wanted).
 */
static void count_dir(int objects_fd, const char *name, int64_t since_a, kluis_vcache_dir *a, int64_t since_b, kluis_vcache_dir *b)
{
	int fd = openat(objects_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	int64_t born;
	uint64_t x;
	bool ok;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || (strcmp(name, "pack") != 0 && strlen(de->d_name) != GIT_OID_HEXSZ - 2))
			continue;
		born = born_ns(dirfd(d), de->d_name, &ok);
		if (!ok)
			continue;
		x = name_hash(de->d_name);
		if (a && born < since_a) {
			a->count++;
			a->sum += x;
		}
		if (born < since_b) {
			b->count++;
			b->sum += x;
		}
	}
	closedir(d);
}

/* Pack files written since `since` (a repack, or tampering). */
static bool packs_changed_since(int objects_fd, int64_t since)
{
	int fd = openat(objects_fd, "pack", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	struct stat st;
	bool changed = false;

	if (!d && fd >= 0)
		close(fd);
	while (d && (de = readdir(d)) != NULL && !changed)
		if (de->d_name[0] != '.' && fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
			changed = (int64_t)st.st_ctime >= since || (int64_t)st.st_mtime >= since;
	if (d)
		closedir(d);
	return changed;
}

int kluis_vincr_scan(vctx *v, const kluis_vcache *old, kluis_vcache *out, bool *unchanged)
{
	struct timespec ts;
	int64_t since;
	char *objects = kluis_path_join(git_repository_path(v->repo), "objects"), name[8];
	int ofd = objects ? open(objects, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	struct stat st;
	size_t i;
	int err = 0;

	clock_gettime(CLOCK_REALTIME, &ts);
	since = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	*unchanged = old && old->have_dirs;
	out->have_dirs = false;
	if (ofd < 0) {
		err = kluis_error_set(KLUIS_EGENERIC, "cannot open the object store");
		*unchanged = false;
		goto cleanup;
	}
	if (*unchanged && packs_changed_since(ofd, old->time))
		*unchanged = false;
	for (i = 0; i < KLUIS_VCACHE_NDIRS; i++) {
		kluis_vcache_dir *now = &out->dirs[i], was;
		bool exists;

		dir_name(i, name);
		exists = fstatat(ofd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
		memset(now, 0, sizeof(*now));
		if (exists) {
			now->ino = (uint64_t)st.st_ino;
			/* changed in the last seconds: it may change again within one timestamp */
			now->ctime_ns = ctime_ns(&st) >= since - 1000000000 ? 0 : ctime_ns(&st);
		}
		if (old && old->have_dirs && same_stamp(&st, exists, &old->dirs[i])) {
			*now = old->dirs[i];
			continue;
		}
		if (!exists)
			continue;
		now->since_ns = since;
		memset(&was, 0, sizeof(was));
		count_dir(ofd, name, *unchanged ? old->dirs[i].since_ns : 0, *unchanged ? &was : NULL, since, now);
		if (*unchanged && (was.count != old->dirs[i].count || was.sum != old->dirs[i].sum))
			*unchanged = false; /* an old object was deleted, replaced or touched */
	}
	out->have_dirs = true;
cleanup:
	if (ofd >= 0)
		close(ofd);
	free(objects);
	return err;
}

void kluis_vincr_check_content(vctx *v, const git_oid *head, int64_t since)
{
	char *objects = kluis_path_join(git_repository_path(v->repo), "objects"), hex[GIT_OID_HEXSZ + 1], path[GIT_OID_HEXSZ + 2];
	int ofd = objects ? open(objects, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	git_odb *odb = NULL;
	git_odb_object *obj = NULL;
	struct stat st;
	size_t i;

	if (ofd < 0 || git_repository_odb(&odb, v->repo) < 0)
		goto cleanup;
	for (i = 0; i < v->ncontent; i++) {
		git_oid_tostr(hex, sizeof(hex), &v->content[i]);
		snprintf(path, sizeof(path), "%.2s/%s", hex, hex + 2);
		if (fstatat(ofd, path, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			/* not loose: packed (the packs are checked as a whole), or gone */
			if (!git_odb_exists(odb, &v->content[i]))
				kluis_vfinding(v, head, "ciphertext object %s is missing (and no erase record says why)", hex);
			continue;
		}
		if ((int64_t)st.st_ctime < since && (int64_t)st.st_mtime < since)
			continue;
		if (git_odb_read(&obj, odb, &v->content[i]) < 0)
			kluis_vfinding(v, head, "ciphertext object %s is corrupted: %s", hex,
				       git_error_last() ? git_error_last()->message : "unreadable");
		git_odb_object_free(obj);
		obj = NULL;
	}
cleanup:
	git_odb_free(odb);
	if (ofd >= 0)
		close(ofd);
	free(objects);
}
