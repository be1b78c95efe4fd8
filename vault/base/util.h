/*
 * util.h - small shared helpers: growable buffers that can be wiped, time stamps, ids,
 * fingerprints, SHA-256, and careful file I/O (0600 files, 0700 directories, atomic writes).
 */
#ifndef KLUIS_UTIL_H
#define KLUIS_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

/* A growable byte buffer. `secret` buffers are wiped before every realloc and free. */
typedef struct {
	unsigned char *ptr;
	size_t len;
	size_t cap;
	bool secret;
} kluis_buf;

#define KLUIS_BUF_INIT { NULL, 0, 0, false }
#define KLUIS_SECRET_BUF_INIT { NULL, 0, 0, true }

int kluis_buf_grow(kluis_buf *b, size_t extra);
int kluis_buf_put(kluis_buf *b, const void *data, size_t len);
int kluis_buf_puts(kluis_buf *b, const char *s);
int kluis_buf_printf(kluis_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* NUL-terminate without counting the NUL in len. */
int kluis_buf_cstr(kluis_buf *b);
/* Wipe (if secret) and release; the buffer is reusable afterwards. NULL-safe. */
void kluis_buf_dispose(kluis_buf *b);

/* explicit_bzero; NULL-safe. */
void kluis_wipe(void *p, size_t len);
/* Wipe a NUL-terminated string and free it. NULL-safe. */
void kluis_free_secret_str(char *s);

/*
 * A test seam: the environment switch NAME, read only in a test build (cmake
 * -DKLUIS_TEST_SEAMS=ON). In the build users run it is NULL, a constant, so the switch's code
 * and even its name are compiled out: no environment can move a release's clock or turn off
 * its fsyncs. NAME must be a string literal.
 */
#ifdef KLUIS_TEST_SEAMS
#define KLUIS_SEAM(name) getenv(name)
#else
#define KLUIS_SEAM(name) ((const char *)NULL)
#endif

/* Current time (UTC seconds); in a test build KLUIS_NOW=<epoch> sets it (KLUIS_SEAM). */
int64_t kluis_now(void);
/* "2026-11-22T10:15:00Z" into out (at least 21 bytes). */
void kluis_time_iso(int64_t t, char out[21]);
/* "20261122T101500Z" into out (at least 17 bytes). */
void kluis_time_stamp(int64_t t, char out[17]);
/* Parse "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SSZ" (UTC). */
int kluis_time_parse(const char *s, int64_t *out);
/* A date of birth: exactly YYYY-MM-DD, a real date, not in the future, not before 1900. */
int kluis_birth_date_check(const char *date);
/* Whether someone born on `date` (YYYY-MM-DD, checked) is `years` old or older at time `at`;
 * a 29 February birthday falls on 1 March in a year without one. */
bool kluis_age_at_least(const char *date, int years, int64_t at);

/* n random lowercase hex digits (n < 64) into out (n+1 bytes). */
int kluis_random_hex(char *out, size_t n);

/* Dossier ids: [a-z0-9-]{1,64}. */
bool kluis_id_valid(const char *id);
/* Entry ids: YYYYMMDDTHHMMSSZ-xxxx. */
bool kluis_entry_id_valid(const char *id);
/* Fingerprint: 40 hex digits (v4); normalised to upper case into out[41]. */
bool kluis_fpr_normalize(const char *in, char out[41]);

/* Initialise libgcrypt (no secure memory) unless something already did; kluis's hashing
 * functions call it themselves. */
void kluis_gcrypt_init(void);

/* SHA-256 streaming (libgcrypt). */
typedef struct kluis_sha256 kluis_sha256;
int kluis_sha256_new(kluis_sha256 **out);
void kluis_sha256_update(kluis_sha256 *h, const void *data, size_t len);
/* Final digest as 64 lowercase hex digits + NUL. */
void kluis_sha256_hex(kluis_sha256 *h, char out[65]);
void kluis_sha256_free(kluis_sha256 *h);
int kluis_sha256_buffer_hex(const void *data, size_t len, char out[65]);

/* write(2) all of data, retrying on EINTR; 0, or -1 with errno set. */
int kluis_fd_write_all(int fd, const void *data, size_t len);
/* One read(2), retried on EINTR: the bytes read, 0 at the end, or -1 with errno set. */
ssize_t kluis_fd_read_some(int fd, void *buf, size_t len);
/* Read a whole (small) file; refuses files over max bytes. The buffer is NUL-terminated. */
int kluis_file_read(kluis_buf *out, const char *path, size_t max);
/* Create "<path>.tmp-<16 hex>" exclusively (O_EXCL|O_NOFOLLOW, 0600) beside path; on success
 * *tmp_out is its malloc'd name and *fd_out the open descriptor, on failure NULL and -1. */
int kluis_file_temp_beside(const char *path, char **tmp_out, int *fd_out);
/* Give the finished (synced) temporary file tmp the name path, never replacing an existing
 * file (KLUIS_EEXISTS), and sync the directory so the name survives a crash. */
int kluis_file_publish(const char *tmp, const char *path);
/* Write data to path atomically: temporary name in the same directory, 0600, fsync, rename
 * (this one does replace path), directory synced. */
int kluis_file_write_atomic(const char *path, const void *data, size_t len);
/* The same without the fsyncs: readers see the old file or the new one, never a mix, but a
 * crash may lose the new one (for caches, which a lost or torn file only makes slower). */
int kluis_file_write_replace(const char *path, const void *data, size_t len);
/* Create a new file exclusively (O_EXCL|O_NOFOLLOW, 0600); returns fd or negative error. */
int kluis_file_create_excl(const char *path);
/* mkdir -p with mode 0700 for every directory created. */
int kluis_mkdir_p(const char *path);
/* Remove a directory tree (no symlink following). */
int kluis_rm_rf(const char *path);
/* malloc'd "a/b". */
char *kluis_path_join(const char *a, const char *b);
/* Whether path exists. */
bool kluis_path_exists(const char *path);
/* Free a list of n malloc'd strings and the list itself (NULL is fine). */
void kluis_strings_free(char **list, size_t n);
/* Whether s is one of list[0..n). */
bool kluis_strings_has(const char *const *list, size_t n, const char *s);

#endif
