/*
 * fuzz.c - the scratch directory and file helpers of fuzz.h.
 */
#include "fuzz.h"
#include "vault/pgp/pgp.h"
#include "vault/git/repo.h"
#include "vault/base/util.h"
#include "vault/base/error.h"

#include <git2.h>
#include <git2/sys/mempack.h>
#include <git2/sys/odb_backend.h>
#include <git2/sys/repository.h>

#include <fcntl.h>
#include <ftw.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void fuzz_clear(const char *path, int keep_dir)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	if (keep_dir)
		mkdir(path, 0700);
}

static void remove_dir(void)
{
	char cmd[160];
	struct stat st;

	/* the gpg-agent a target's GNUPGHOME (DIR/g: fuzz_manifest, fuzz_receive) started */
	snprintf(cmd, sizeof(cmd), "%s/g", dir);
	if (stat(cmd, &st) == 0) {
		snprintf(cmd, sizeof(cmd), "gpgconf --homedir %s/g --kill all 2>/dev/null", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "fuzz: could not stop the gpg-agent of %s/g\n", dir);
	}
	fuzz_clear(dir, 0);
}

const char *fuzz_dir(void)
{
	if (!dir[0]) {
		/* tmpfs when there is one: the library fsyncs every object and file it writes, which
		 * on a disk costs the file-reading targets most of their time */
		const char *tmp = getenv("TMPDIR");
		if (!tmp || strlen(tmp) >= 32)
			tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
		snprintf(dir, sizeof(dir), "%s/kluis-fuzz.XXXXXX", tmp);
		if (!mkdtemp(dir)) {
			perror("fuzz: mkdtemp");
			abort();
		}
		atexit(remove_dir);
	}
	return dir;
}

char *fuzz_write(const char *name, const uint8_t *data, size_t size)
{
	char *path = malloc(strlen(fuzz_dir()) + strlen(name) + 2);
	int fd;

	if (!path)
		abort();
	sprintf(path, "%s/%s", fuzz_dir(), name);
	unlink(path);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600)) < 0 || (size && write(fd, data, size) != (ssize_t)size) || close(fd) < 0) {
		perror("fuzz: writing the input");
		abort();
	}
	return path;
}

const char *fuzz_guarded(const uint8_t *data, size_t size)
{
	static unsigned char *area;
	static size_t page;

	if (!area) {
		page = (size_t)sysconf(_SC_PAGESIZE);
		area = mmap(NULL, 65536 + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (area == MAP_FAILED || mprotect(area + 65536, page, PROT_NONE) < 0) {
			perror("fuzz: guard page");
			abort();
		}
	}
	if (size > 65536)
		return NULL;
	memcpy(area + 65536 - size, data, size);
	return (const char *)area + 65536 - size;
}

void fuzz_mempack(git_repository **repo, git_odb_backend **mempack)
{
	git_odb *odb = NULL;

	/* libgit2 caches every object read (up to 256 MiB): with a new object each input the
	 * process would only grow */
	if (kluis_repo_global_init() < 0 || git_libgit2_opts(GIT_OPT_ENABLE_CACHING, 0) < 0 || git_odb_new(&odb) < 0 || git_mempack_new(mempack) < 0 ||
	    git_odb_add_backend(odb, *mempack, 1) < 0 || git_repository_wrap_odb(repo, odb) < 0) {
		fprintf(stderr, "fuzz: cannot make an object database in memory\n");
		abort();
	}
	git_odb_free(odb);
}

kluis_keyring *fuzz_keyring(void)
{
	kluis_buf keys = KLUIS_BUF_INIT;
	kluis_keyring *kr = NULL;

	if (kluis_file_read(&keys, KLUIS_FUZZ_DIR "/keys.asc", 1 << 20) < 0 || kluis_keyring_open_data(&kr, keys.ptr, keys.len) < 0) {
		fprintf(stderr, "fuzz: cannot read %s: %s\n", KLUIS_FUZZ_DIR "/keys.asc", kluis_error_last());
		abort();
	}
	kluis_buf_dispose(&keys);
	return kr;
}
