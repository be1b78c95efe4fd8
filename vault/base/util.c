/*
 * util.c - buffers, time, ids, hashing and file helpers (see util.h).
 *
 * Files kluis creates are 0600 and directories 0700, whatever the umask; writes that replace a
 * file go through a temporary name, fsync and rename so a crash leaves the old or the new file.
 */
#include "vault/base/util.h"
#include "vault/base/error.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <gcrypt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

int kluis_buf_grow(kluis_buf *b, size_t extra)
{
	size_t want, cap;
	unsigned char *p;

	if (extra > SIZE_MAX - b->len - 1)
		return kluis_error_set(KLUIS_EGENERIC, "buffer too large");
	want = b->len + extra + 1;
	if (want <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < want)
		cap = cap > SIZE_MAX / 2 ? want : cap * 2;
	if (b->secret) {
		/* realloc could leave an unwiped copy behind: move by hand */
		p = malloc(cap);
		if (!p)
			return kluis_error_set(KLUIS_EGENERIC, "out of memory");
		if (b->ptr) {
			memcpy(p, b->ptr, b->len);
			kluis_wipe(b->ptr, b->cap);
			free(b->ptr);
		}
	} else {
		p = realloc(b->ptr, cap);
		if (!p)
			return kluis_error_set(KLUIS_EGENERIC, "out of memory");
	}
	b->ptr = p;
	b->cap = cap;
	return 0;
}

int kluis_buf_put(kluis_buf *b, const void *data, size_t len)
{
	int err;

	if ((err = kluis_buf_grow(b, len)) < 0)
		return err;
	if (len)
		memcpy(b->ptr + b->len, data, len);
	b->len += len;
	b->ptr[b->len] = '\0';
	return 0;
}

int kluis_buf_puts(kluis_buf *b, const char *s)
{
	return kluis_buf_put(b, s, strlen(s));
}

int kluis_buf_printf(kluis_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n, err;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return kluis_error_set(KLUIS_EGENERIC, "format error");
	if ((err = kluis_buf_grow(b, (size_t)n)) < 0)
		return err;
	va_start(ap, fmt);
	vsnprintf((char *)b->ptr + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

int kluis_buf_cstr(kluis_buf *b)
{
	int err = kluis_buf_grow(b, 0);

	if (err == 0)
		b->ptr[b->len] = '\0';
	return err;
}

void kluis_buf_dispose(kluis_buf *b)
{
	if (!b)
		return;
	if (b->ptr && b->secret)
		kluis_wipe(b->ptr, b->cap);
	free(b->ptr);
	b->ptr = NULL;
	b->len = b->cap = 0;
}

void kluis_wipe(void *p, size_t len)
{
	if (p && len)
		explicit_bzero(p, len);
}

void kluis_free_secret_str(char *s)
{
	if (!s)
		return;
	kluis_wipe(s, strlen(s));
	free(s);
}

int64_t kluis_now(void)
{
	const char *fixed = KLUIS_SEAM("KLUIS_NOW");

	if (fixed && *fixed)
		return strtoll(fixed, NULL, 10);
	return (int64_t)time(NULL);
}

void kluis_time_iso(int64_t t, char out[21])
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void kluis_time_stamp(int64_t t, char out[17])
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

int kluis_time_parse(const char *s, int64_t *out)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (!end || *end) {
		memset(&tm, 0, sizeof(tm));
		end = strptime(s, "%Y-%m-%d", &tm);
		if (!end || *end)
			return kluis_error_set(KLUIS_EINVAL, "'%s' is not a date (use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ)", s);
	}
	{
		/* refuse dates that do not exist (2026-02-30) rather than roll them over */
		struct tm check = tm;
		time_t t = timegm(&check);
		if (check.tm_mday != tm.tm_mday || check.tm_mon != tm.tm_mon || check.tm_year != tm.tm_year)
			return kluis_error_set(KLUIS_EINVAL, "'%s' is not a date that exists", s);
		*out = (int64_t)t;
	}
	return 0;
}

int kluis_birth_date_check(const char *date)
{
	int64_t t;
	int err;

	if (strlen(date) != 10 || (err = kluis_time_parse(date, &t)) < 0)
		return kluis_error_set(KLUIS_EINVAL, "--birth-date '%s' is not a date: use YYYY-MM-DD", date);
	if (t > (int64_t)time(NULL) || t < -2208988800LL /* 1900-01-01 */)
		return kluis_error_set(KLUIS_EINVAL, "--birth-date '%s' is not a plausible date of birth", date);
	return 0;
}

bool kluis_age_at_least(const char *date, int years, int64_t at)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	end = strptime(date, "%Y-%m-%d", &tm);
	if (!end || *end)
		return false;
	tm.tm_year += years; /* timegm rolls 29 February over to 1 March */
	return (int64_t)timegm(&tm) <= at;
}

int kluis_random_hex(char *out, size_t n)
{
	unsigned char raw[32];
	static const char hex[] = "0123456789abcdef";
	size_t i;

	if (n >= 64)
		return kluis_error_set(KLUIS_EGENERIC, "random_hex: too long");
	if (getrandom(raw, (n + 1) / 2, 0) != (ssize_t)((n + 1) / 2))
		return kluis_error_set(KLUIS_EGENERIC, "getrandom: %s", strerror(errno));
	for (i = 0; i < n; i++)
		out[i] = hex[(raw[i / 2] >> (i % 2 ? 0 : 4)) & 0xf];
	out[n] = '\0';
	return 0;
}

bool kluis_id_valid(const char *id)
{
	size_t n = 0;

	for (; id[n]; n++)
		if (!(islower((unsigned char)id[n]) || isdigit((unsigned char)id[n]) || id[n] == '-'))
			return false;
	return n >= 1 && n <= 64 && (unsigned char)id[0] < 0x80;
}

bool kluis_entry_id_valid(const char *id)
{
	static const char shape[] = "DDDDDDDDTDDDDDDZ-hhhh";
	size_t i;

	if (strlen(id) != sizeof(shape) - 1)
		return false;
	for (i = 0; shape[i]; i++) {
		char c = id[i];
		switch (shape[i]) {
		case 'D': if (!isdigit((unsigned char)c)) return false; break;
		case 'h': if (!isdigit((unsigned char)c) && !(c >= 'a' && c <= 'f')) return false; break;
		default: if (c != shape[i]) return false;
		}
	}
	return true;
}

bool kluis_fpr_normalize(const char *in, char out[41])
{
	size_t i;

	if (!in)
		return false;
	if (in[0] == '0' && (in[1] == 'x' || in[1] == 'X'))
		in += 2;
	for (i = 0; i < 40; i++) {
		if (!isxdigit((unsigned char)in[i]))
			return false;
		out[i] = (char)toupper((unsigned char)in[i]);
	}
	out[40] = '\0';
	return in[40] == '\0';
}

struct kluis_sha256 {
	gcry_md_hd_t md;
};

void kluis_gcrypt_init(void)
{
	if (!gcry_control(GCRYCTL_INITIALIZATION_FINISHED_P)) {
		gcry_check_version(NULL);
		gcry_control(GCRYCTL_DISABLE_SECMEM, 0);
		gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
	}
}

int kluis_sha256_new(kluis_sha256 **out)
{
	kluis_sha256 *h;

	kluis_gcrypt_init();
	h = calloc(1, sizeof(*h));
	if (!h)
		return kluis_error_set(KLUIS_EGENERIC, "out of memory");
	if (gcry_md_open(&h->md, GCRY_MD_SHA256, 0)) {
		free(h);
		return kluis_error_set(KLUIS_EGENERIC, "libgcrypt: cannot open sha256");
	}
	*out = h;
	return 0;
}

void kluis_sha256_update(kluis_sha256 *h, const void *data, size_t len)
{
	gcry_md_write(h->md, data, len);
}

void kluis_sha256_hex(kluis_sha256 *h, char out[65])
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *d = gcry_md_read(h->md, GCRY_MD_SHA256);
	int i;

	for (i = 0; i < 32; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 0xf];
	}
	out[64] = '\0';
}

void kluis_sha256_free(kluis_sha256 *h)
{
	if (!h)
		return;
	gcry_md_close(h->md);
	free(h);
}

int kluis_sha256_buffer_hex(const void *data, size_t len, char out[65])
{
	kluis_sha256 *h = NULL;
	int err;

	if ((err = kluis_sha256_new(&h)) < 0)
		return err;
	kluis_sha256_update(h, data, len);
	kluis_sha256_hex(h, out);
	kluis_sha256_free(h);
	return 0;
}

int kluis_file_read(kluis_buf *out, const char *path, size_t max)
{
	int fd = -1, err = 0;
	char chunk[8192];
	ssize_t n;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		err = kluis_error_set(errno == ENOENT ? KLUIS_ENOTFOUND : KLUIS_EGENERIC,
				      "cannot read '%s': %s", path, strerror(errno));
		goto cleanup;
	}
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = kluis_error_set(KLUIS_EGENERIC, "cannot read '%s': %s", path, strerror(errno));
			goto cleanup;
		}
		if (out->len + (size_t)n > max) {
			err = kluis_error_set(KLUIS_EINVAL, "'%s' is larger than %zu bytes", path, max);
			goto cleanup;
		}
		if ((err = kluis_buf_put(out, chunk, (size_t)n)) < 0)
			goto cleanup;
	}
	err = kluis_buf_cstr(out);
cleanup:
	kluis_wipe(chunk, sizeof(chunk));
	if (fd >= 0)
		close(fd);
	return err;
}

int kluis_fd_write_all(int fd, const void *data, size_t len)
{
	const unsigned char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

ssize_t kluis_fd_read_some(int fd, void *buf, size_t len)
{
	ssize_t r;

	do
		r = read(fd, buf, len);
	while (r < 0 && errno == EINTR);
	return r;
}

int kluis_file_temp_beside(const char *path, char **tmp_out, int *fd_out)
{
	char rnd[17], *tmp = NULL;
	int attempt, err = 0, fd = -1;

	*tmp_out = NULL;
	*fd_out = -1;
	for (attempt = 0; attempt < 16 && fd < 0; attempt++) {
		free(tmp);
		tmp = NULL;
		if ((err = kluis_random_hex(rnd, 16)) < 0)
			goto cleanup;
		if (asprintf(&tmp, "%s.tmp-%s", path, rnd) < 0) {
			tmp = NULL;
			err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
			goto cleanup;
		}
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

/* fsync the directory holding path, so a new name in it survives a crash (best effort: some
 * file systems refuse to sync a directory) */
static void sync_parent_dir(const char *path)
{
	char *copy = strdup(path);
	int dfd;

	if (copy && (dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	free(copy);
}

int kluis_file_publish(const char *tmp, const char *path)
{
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) < 0) {
		/* EINVAL: the file system has no RENAME_NOREPLACE; link() refuses to replace too */
		if (errno != EINVAL || link(tmp, path) < 0)
			return kluis_error_set(errno == EEXIST ? KLUIS_EEXISTS : KLUIS_EGENERIC, "cannot create '%s': %s%s", path,
					       strerror(errno), errno == EEXIST ? " (kluis never overwrites; choose another name)" : "");
		unlink(tmp);
	}
	sync_parent_dir(path);
	return 0;
}

static int write_replace(const char *path, const void *data, size_t len, bool durable)
{
	char *tmp = NULL;
	int fd = -1, err;

	if ((err = kluis_file_temp_beside(path, &tmp, &fd)) < 0)
		return err;
	if (kluis_fd_write_all(fd, data, len) < 0 || (durable && fsync(fd) < 0)) {
		err = kluis_error_set(KLUIS_EGENERIC, "cannot write '%s': %s", tmp, strerror(errno));
		goto cleanup;
	}
	close(fd);
	fd = -1;
	if (rename(tmp, path) < 0) {
		err = kluis_error_set(KLUIS_EGENERIC, "cannot rename to '%s': %s", path, strerror(errno));
		goto cleanup;
	}
	if (durable)
		sync_parent_dir(path);
	err = 0;
cleanup:
	if (fd >= 0)
		close(fd);
	if (err < 0)
		unlink(tmp);
	free(tmp);
	return err;
}

int kluis_file_write_atomic(const char *path, const void *data, size_t len)
{
	return write_replace(path, data, len, true);
}

int kluis_file_write_replace(const char *path, const void *data, size_t len)
{
	return write_replace(path, data, len, false);
}

int kluis_file_create_excl(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd < 0)
		return kluis_error_set(errno == EEXIST ? KLUIS_EEXISTS : KLUIS_EGENERIC,
				       "cannot create '%s': %s%s", path, strerror(errno),
				       errno == EEXIST ? " (kluis never overwrites; choose another name)" : "");
	return fd;
}

int kluis_mkdir_p(const char *path)
{
	char *copy, *p;
	struct stat st;
	int err = 0;

	if (!path || !*path)
		return kluis_error_set(KLUIS_EINVAL, "an empty directory name");
	if (!(copy = strdup(path)))
		return kluis_error_set(KLUIS_EGENERIC, "out of memory");
	for (p = copy + 1;; p++) {
		if (*p == '/' || *p == '\0') {
			char saved = *p;
			*p = '\0';
			if (mkdir(copy, 0700) < 0 && (errno != EEXIST || stat(copy, &st) < 0 || !S_ISDIR(st.st_mode))) {
				err = errno == EEXIST
					? kluis_error_set(KLUIS_EGENERIC, "cannot create directory '%s': '%s' is a file", path, copy)
					: kluis_error_set(KLUIS_EGENERIC, "cannot create directory '%s': %s", copy, strerror(errno));
				break;
			}
			*p = saved;
			if (!saved)
				break;
		}
	}
	free(copy);
	return err;
}

static int rm_entry(const char *fpath, const struct stat *sb, int typeflag, struct FTW *ftwbuf)
{
	(void)sb;
	(void)ftwbuf;
	return (typeflag == FTW_DP ? rmdir(fpath) : unlink(fpath)) < 0 ? -1 : 0;
}

int kluis_rm_rf(const char *path)
{
	if (!kluis_path_exists(path))
		return 0;
	if (nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS) < 0)
		return kluis_error_set(KLUIS_EGENERIC, "cannot remove '%s': %s", path, strerror(errno));
	return 0;
}

char *kluis_path_join(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *p = malloc(la + lb + 2);

	if (!p)
		return NULL;
	memcpy(p, a, la);
	p[la] = '/';
	memcpy(p + la + 1, b, lb + 1);
	return p;
}

bool kluis_path_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

void kluis_strings_free(char **list, size_t n)
{
	size_t i;

	if (!list)
		return;
	for (i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

bool kluis_strings_has(const char *const *list, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}
