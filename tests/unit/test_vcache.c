/*
 * test_vcache.c - the object records of the verified-state cache (vault/vcache.c): what an
 * incremental `kluis verify` trusts about the old objects comes back exactly as stored, an
 * appended record equals one written whole, and a record that was changed, truncated or
 * swapped for another is refused (its digest, held in the MAC'd cache file, no longer fits).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vault/error.h"
#include "vault/util.h"
#include "vault/vcache.h"

static char cache_home[64];

static int setup(void **state)
{
	(void)state;
	snprintf(cache_home, sizeof(cache_home), "/tmp/kluis-vcache-XXXXXX");
	if (!mkdtemp(cache_home))
		return -1;
	setenv("XDG_CACHE_HOME", cache_home, 1);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return kluis_rm_rf(cache_home) < 0 ? -1 : 0;
}

static void make_objs(kluis_vcache_obj *o, size_t n, unsigned seed)
{
	memset(o, 0, n * sizeof(*o)); /* the padding too: the tests compare whole structs */
	for (size_t i = 0; i < n; i++) {
		for (size_t b = 0; b < sizeof(o[i].id); b++)
			o[i].id[b] = (unsigned char)(seed * 31 + i * 7 + b);
		o[i].ino = 1000000007ULL * (i + 1) + seed;
		o[i].ctime_ns = (int64_t)(1764633600000000000LL + (int64_t)i * 1000 + seed);
	}
	if (n > 1)
		o[n - 1].ctime_ns = 0; /* "hash it at its next scrub" survives too */
}

static char *record_path(const char *key, size_t dir)
{
	char *p = malloc(strlen(key) + 8);

	assert_non_null(p);
	sprintf(p, "%s.d/%02zx", key, dir);
	return p;
}

static void test_round_trip(void **state)
{
	kluis_vcache_obj objs[5], *back = NULL;
	char *key = kluis_vcache_key("/nonexistent/vault", "k-0001"), digest[65], *path;
	size_t n = 0;
	struct stat st;

	(void)state;
	assert_non_null(key);
	make_objs(objs, 5, 1);
	assert_int_equal(kluis_vcache_objs_store(key, 0x3c, objs, 5, 0, digest), 0);
	assert_int_equal(strlen(digest), 64);
	assert_int_equal(kluis_vcache_objs_load(key, 0x3c, digest, &back, &n), 0);
	assert_int_equal(n, 5);
	assert_memory_equal(back, objs, sizeof(objs));
	free(back);

	path = record_path(key, 0x3c);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	*strrchr(path, '/') = 0;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	free(path);

	/* another directory's record is another file */
	assert_int_equal(kluis_vcache_objs_load(key, 0x3d, digest, &back, &n), KLUIS_ENOTFOUND);
	assert_null(back);
	free(key);
}

static void test_append_equals_whole(void **state)
{
	kluis_vcache_obj objs[8], *back = NULL;
	char *key = kluis_vcache_key("/nonexistent/vault", "k-0002"), d3[65], d8[65], whole[65];
	size_t n = 0;

	(void)state;
	make_objs(objs, 8, 2);
	assert_int_equal(kluis_vcache_objs_store(key, 7, objs, 3, 0, d3), 0);
	/* three already there: only the five new ones are written */
	assert_int_equal(kluis_vcache_objs_store(key, 7, objs, 8, 3, d8), 0);
	assert_string_not_equal(d3, d8);
	assert_int_equal(kluis_vcache_objs_load(key, 7, d8, &back, &n), 0);
	assert_int_equal(n, 8);
	assert_memory_equal(back, objs, sizeof(objs));
	free(back);
	/* the record of three is gone: its digest no longer fits */
	assert_int_equal(kluis_vcache_objs_load(key, 7, d3, &back, &n), KLUIS_ENOTFOUND);
	/* written whole, the same bytes */
	assert_int_equal(kluis_vcache_objs_store(key, 8, objs, 8, 0, whole), 0);
	assert_string_equal(whole, d8);
	/* a shorter record written whole over a longer one leaves no tail behind */
	assert_int_equal(kluis_vcache_objs_store(key, 8, objs, 2, 0, whole), 0);
	assert_int_equal(kluis_vcache_objs_load(key, 8, whole, &back, &n), 0);
	assert_int_equal(n, 2);
	free(back);
	free(key);
}

static void test_tampered_record_refused(void **state)
{
	kluis_vcache_obj objs[4], *back = NULL;
	char *key = kluis_vcache_key("/nonexistent/vault", "k-0003"), digest[65], other[65], *path;
	size_t n = 0;
	unsigned char byte;
	int fd;

	(void)state;
	make_objs(objs, 4, 3);
	assert_int_equal(kluis_vcache_objs_store(key, 0xff, objs, 4, 0, digest), 0);
	path = record_path(key, 0xff);

	/* one flipped bit in an inode number */
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &byte, 1, 40), 1);
	byte ^= 1;
	assert_int_equal(pwrite(fd, &byte, 1, 40), 1);
	close(fd);
	assert_int_equal(kluis_vcache_objs_load(key, 0xff, digest, &back, &n), KLUIS_ENOTFOUND);
	assert_null(back);
	assert_int_equal(n, 0);

	/* truncated by a crash */
	assert_int_equal(kluis_vcache_objs_store(key, 0xff, objs, 4, 0, digest), 0);
	assert_int_equal(truncate(path, 60), 0);
	assert_int_equal(kluis_vcache_objs_load(key, 0xff, digest, &back, &n), KLUIS_ENOTFOUND);

	/* swapped for a record of fewer objects (an object deleted and its record made to fit) */
	assert_int_equal(kluis_vcache_objs_store(key, 0xff, objs, 4, 0, digest), 0);
	assert_int_equal(kluis_vcache_objs_store(key, 0xff, objs, 3, 0, other), 0);
	assert_int_equal(kluis_vcache_objs_load(key, 0xff, digest, &back, &n), KLUIS_ENOTFOUND);
	assert_int_equal(kluis_vcache_objs_load(key, 0xff, other, &back, &n), 0);
	assert_int_equal(n, 3);
	free(back);
	free(path);
	free(key);
}

/* A MACed text (the verifier's key facts): back exactly as stored; any change, a missing or
 * torn file, another cache's MAC key: not found; a name that could leave the directory:
 * refused. */
static void test_text_round_trip_and_refusals(void **state)
{
	const char *text = "kluis-keyfacts 1\nkeyring abc\nsign 00ff\n";
	kluis_buf got = KLUIS_BUF_INIT;
	char path[128], key[128];
	unsigned char *raw;
	struct stat st;
	int fd;

	(void)state;
	assert_int_equal(kluis_vcache_text_store("keys-abc", text, strlen(text)), 0);
	assert_int_equal(kluis_vcache_text_load("keys-abc", &got), 0);
	assert_int_equal(got.len, strlen(text));
	assert_memory_equal(got.ptr, text, got.len);
	snprintf(path, sizeof(path), "%s/kluis/verify/keys-abc", cache_home);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	/* every byte changed in turn: refused */
	raw = malloc((size_t)st.st_size);
	assert_non_null(raw);
	fd = open(path, O_RDONLY);
	assert_int_equal(read(fd, raw, (size_t)st.st_size), st.st_size);
	close(fd);
	for (off_t b = 0; b < st.st_size; b++) {
		raw[b] ^= 0x01;
		assert_int_equal(kluis_file_write_replace(path, raw, (size_t)st.st_size), 0);
		assert_int_equal(kluis_vcache_text_load("keys-abc", &got), KLUIS_ENOTFOUND);
		raw[b] ^= 0x01;
	}
	/* torn, and missing */
	assert_int_equal(kluis_file_write_replace(path, raw, (size_t)st.st_size - 1), 0);
	assert_int_equal(kluis_vcache_text_load("keys-abc", &got), KLUIS_ENOTFOUND);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(kluis_vcache_text_load("keys-abc", &got), KLUIS_ENOTFOUND);
	/* whole, but MACed under another cache's key */
	assert_int_equal(kluis_file_write_replace(path, raw, (size_t)st.st_size), 0);
	assert_int_equal(kluis_vcache_text_load("keys-abc", &got), 0);
	snprintf(key, sizeof(key), "%s/kluis/verify/.key", cache_home);
	assert_int_equal(unlink(key), 0);
	assert_int_equal(kluis_vcache_text_load("keys-abc", &got), KLUIS_ENOTFOUND);
	free(raw);

	assert_true(kluis_vcache_text_store("../keys-abc", text, strlen(text)) < 0);
	assert_true(kluis_vcache_text_store("", text, strlen(text)) < 0);
	assert_int_equal(kluis_vcache_text_load("../verify/keys-abc", &got), KLUIS_ENOTFOUND);
	kluis_buf_dispose(&got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_append_equals_whole),
		cmocka_unit_test(test_tampered_record_refused),
		cmocka_unit_test(test_text_round_trip_and_refusals),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
