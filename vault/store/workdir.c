/*
 * workdir.c - the vault's work directories, VAULT/tmp/<what>-<16 hex>, for transfer, import,
 * pull and verify --bundle: made, held while the command runs, and swept when their command
 * died (kill -9, a crash, power loss) before it could remove them itself.
 *
 * Invariants:
 *   - a work directory is live exactly while its lock file, <dir>/kluis-workdir.lock, is
 *     flock()ed: its process holds the lock from the moment the file has that name until the
 *     vault is freed (kluis_vault_free), and the kernel lets go of it when the process dies
 *     however it dies, so a lock that can be taken is a dead owner's;
 *   - the lock file is made under another name (kluis-workdir.lock.new), locked, and only
 *     then renamed into place, so no sweeper ever finds the name unlocked in a live directory;
 *   - a sweep removes only directories named <word>-<16 hex> (what kluis_vault_workdir makes)
 *     whose lock it could take, and, without a lock file (a crash between mkdir and the lock,
 *     or a work directory of a kluis from before this file), only those untouched for
 *     WORKDIR_UNLOCKED_GRACE seconds; it never follows a symlink.
 * The pid in the lock file is for the person who looks; the flock decides.
 *
 * The same holds for the temporary files beside a file kluis writes outside the vault (the
 * transfer archive at --out, an import receipt: <name>.tmp-<16 hex>): each is flock()ed by its
 * writer until it is published, and the next writer of that name removes those whose lock
 * it can take.
 */
#include "vault/store/internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define WORKDIR_LOCK "kluis-workdir.lock"
#define WORKDIR_LOCK_NEW "kluis-workdir.lock.new"
/* A live kluis renames the lock into place microseconds after mkdir: an hour without one is
 * no live work directory. */
#define WORKDIR_UNLOCKED_GRACE 3600

/* Make the lock file of `dir`, locked, under its final name; *fd_out holds the lock. */
static int lock_new_workdir(const char *dir, int *fd_out)
{
	char *tmp = kluis_path_join(dir, WORKDIR_LOCK_NEW), *final = kluis_path_join(dir, WORKDIR_LOCK), pid[32];
	int fd = -1, err = 0, n;

	*fd_out = -1;
	if (!tmp || !final) {
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto cleanup;
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0) {
		err = kluis_error_set(KLUIS_EGENERIC, "cannot lock the work directory '%s': %s", dir, strerror(errno));
		goto cleanup;
	}
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (write(fd, pid, (size_t)n) != n || rename(tmp, final) < 0) {
		err = kluis_error_set(KLUIS_EGENERIC, "cannot lock the work directory '%s': %s", dir, strerror(errno));
		goto cleanup;
	}
	*fd_out = fd;
	fd = -1;
cleanup:
	if (fd >= 0)
		close(fd);
	free(tmp);
	free(final);
	return err;
}

int kluis_vault_workdir(kluis_vault *v, const char *what, char **out)
{
	char *tmp = kluis_path_join(v->root, "tmp"), rnd[17];
	int *grown, fd = -1, err;

	*out = NULL;
	if (!tmp)
		return kluis_error_set(KLUIS_EGENERIC, "out of memory");
	if ((err = kluis_mkdir_p(tmp)) < 0 || (err = kluis_random_hex(rnd, 16)) < 0)
		goto cleanup;
	if (!(grown = realloc(v->work_locks, (v->nwork_locks + 1) * sizeof(*grown)))) {
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto cleanup;
	}
	v->work_locks = grown;
	if (asprintf(out, "%s/%s-%s", tmp, what, rnd) < 0) {
		*out = NULL;
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto cleanup;
	}
	if ((err = kluis_mkdir_p(*out)) < 0 || (err = lock_new_workdir(*out, &fd)) < 0) {
		kluis_rm_rf(*out);
		free(*out);
		*out = NULL;
		goto cleanup;
	}
	/* held until the vault is freed: the caller removes the directory before that */
	v->work_locks[v->nwork_locks++] = fd;
cleanup:
	free(tmp);
	return err;
}

void kluis_vault_release_workdirs(kluis_vault *v)
{
	size_t i;

	for (i = 0; i < v->nwork_locks; i++)
		close(v->work_locks[i]);
	free(v->work_locks);
	v->work_locks = NULL;
	v->nwork_locks = 0;
}

/* Whether `name` is what kluis_vault_workdir makes: [a-z]+-[0-9a-f]{16}. */
static bool workdir_name(const char *name)
{
	const char *dash = strrchr(name, '-');
	size_t i;

	if (!dash || dash == name || strlen(dash + 1) != 16)
		return false;
	for (i = 0; name + i < dash; i++)
		if (name[i] < 'a' || name[i] > 'z')
			return false;
	for (i = 1; i <= 16; i++)
		if (!((dash[i] >= '0' && dash[i] <= '9') || (dash[i] >= 'a' && dash[i] <= 'f')))
			return false;
	return true;
}

/* Remove the work directory `dir` if its owner is gone; 1 when removed, 0 when live. */
static int sweep_one(const char *dir)
{
	char *lock = kluis_path_join(dir, WORKDIR_LOCK);
	struct stat st;
	int fd = -1, err = 0;

	if (!lock)
		return kluis_error_set(KLUIS_EGENERIC, "out of memory");
	fd = open(lock, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		/* no lock: only long abandoned */
		if (lstat(dir, &st) == 0 && st.st_mtime + WORKDIR_UNLOCKED_GRACE < time(NULL))
			err = (err = kluis_rm_rf(dir)) < 0 ? err : 1;
		goto cleanup;
	}
	if (fd < 0) {
		err = kluis_error_set(KLUIS_EGENERIC, "cannot open '%s': %s", lock, strerror(errno));
		goto cleanup;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		goto cleanup; /* its process lives (or another sweep has it) */
	/* removed while this sweep holds the lock: no second sweep takes it meanwhile */
	err = (err = kluis_rm_rf(dir)) < 0 ? err : 1;
cleanup:
	if (fd >= 0)
		close(fd);
	free(lock);
	return err;
}

int kluis_vault_sweep_workdirs(kluis_vault *v, size_t *removed)
{
	char *tmp = kluis_path_join(v->root, "tmp"), *dir;
	DIR *d = NULL;
	struct dirent *de;
	struct stat st;
	int err = 0, r;

	*removed = 0;
	if (!tmp)
		return kluis_error_set(KLUIS_EGENERIC, "out of memory");
	if (!(d = opendir(tmp))) {
		if (errno != ENOENT)
			err = kluis_error_set(KLUIS_EGENERIC, "cannot read '%s': %s", tmp, strerror(errno));
		goto cleanup;
	}
	while ((de = readdir(d)) != NULL) {
		if (!workdir_name(de->d_name))
			continue;
		if (!(dir = kluis_path_join(tmp, de->d_name))) {
			err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
			break;
		}
		if (lstat(dir, &st) == 0 && S_ISDIR(st.st_mode)) {
			/* one that cannot be removed does not keep the others */
			if ((r = sweep_one(dir)) > 0)
				(*removed)++;
			else if (r < 0 && err == 0)
				err = r;
		}
		free(dir);
	}
cleanup:
	if (d)
		closedir(d);
	free(tmp);
	return err;
}

/* ---- temporaries beside a file kluis writes (the archive at --out, a receipt) ---- */

/* Whether `name` is `base`.tmp-<16 hex>, what kluis_file_temp_beside makes for `base`. */
static bool temp_of(const char *name, const char *base)
{
	size_t lb = strlen(base), i;

	if (strncmp(name, base, lb) != 0 || strncmp(name + lb, ".tmp-", 5) != 0 || strlen(name + lb + 5) != 16)
		return false;
	for (i = lb + 5; name[i]; i++)
		if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
			return false;
	return true;
}

/* Remove the temporaries beside `path` that no live kluis holds (best effort). */
static void sweep_temps_beside(const char *path)
{
	char *copy = strdup(path), *slash, *dirname, *base, *p;
	struct dirent *de;
	struct stat st;
	DIR *d = NULL;
	int fd;

	if (!copy)
		return;
	slash = strrchr(copy, '/');
	if (slash) {
		*slash = '\0';
		dirname = slash == copy ? "/" : copy;
		base = slash + 1;
	} else {
		dirname = ".";
		base = copy;
	}
	if (*base && (d = opendir(dirname)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (!temp_of(de->d_name, base) || !(p = kluis_path_join(dirname, de->d_name)))
				continue;
			fd = open(p, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
			/* a regular file whose writer is gone: its lock can be taken */
			if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && flock(fd, LOCK_EX | LOCK_NB) == 0)
				unlink(p);
			if (fd >= 0)
				close(fd);
			free(p);
		}
		closedir(d);
	}
	free(copy);
}

int kluis_file_temp_beside_locked(const char *path, char **tmp_out, int *fd_out)
{
	int err;

	sweep_temps_beside(path);
	if ((err = kluis_file_temp_beside(path, tmp_out, fd_out)) < 0)
		return err;
	if (flock(*fd_out, LOCK_EX | LOCK_NB) < 0) {
		err = kluis_error_set(KLUIS_EGENERIC, "cannot lock '%s': %s", *tmp_out, strerror(errno));
		close(*fd_out);
		unlink(*tmp_out);
		free(*tmp_out);
		*tmp_out = NULL;
		*fd_out = -1;
	}
	return err;
}
