/*
 * test_archive.c - the transfer archive container (vault/exchange/archive.c, vault/exchange/archive_write.c).
 *
 * A round trip that stock tar can list, then archives crafted with libarchive (and by hand
 * where libarchive will not go) that extraction must refuse, leaving nothing behind: unsafe
 * names, links, devices, duplicates, limits, truncation, any flipped byte, trailing data.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "vault/exchange/archive.h"
#include "vault/base/error.h"

static char g_dir[64];
static int g_seq;
static unsigned char *g_big;
#define BIG_LEN (1500 * 1000)

static const char *const g_allowed[] = { "dossier.bundle", "manifest.json", "manifest.json.asc", "keys/", NULL };

static char *path_in(const char *name)
{
	static char buf[8][256];
	static int slot;
	char *p = buf[slot++ % 8];

	snprintf(p, 256, "%s/%s", g_dir, name);
	return p;
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static unsigned char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *p;
	long n;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	p = malloc((size_t)n + 1);
	assert_non_null(p);
	assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return p;
}

/* A fresh, empty 0700 destination directory. */
static char *new_dest(void)
{
	char name[32], *p;

	snprintf(name, sizeof(name), "d%d", g_seq++);
	p = strdup(path_in(name));
	assert_int_equal(mkdir(p, 0700), 0);
	return p;
}

static int entries_in(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static int progress_calls;
static uint64_t progress_last_done, progress_last_total;

static int on_progress(uint64_t done, uint64_t total, void *payload)
{
	(void)payload;
	assert_true(done <= total);
	progress_calls++;
	progress_last_done = done;
	progress_last_total = total;
	return 0;
}

/* The archive every good-path test starts from: path_in("good.tgz"). */
static void make_good(void)
{
	kluis_archive_writer *w = NULL;

	write_file(path_in("src.bundle"), g_big, BIG_LEN);
	assert_int_equal(kluis_archive_writer_open(&w, path_in("good.tgz")), 0);
	kluis_archive_writer_set_progress(w, on_progress, NULL);
	assert_int_equal(kluis_archive_add_buffer(w, "manifest.json", "{\"id\":\"demo\"}\n", 14), 0);
	assert_int_equal(kluis_archive_add_file(w, "dossier.bundle", path_in("src.bundle")), 0);
	assert_int_equal(kluis_archive_add_buffer(w, "manifest.json.asc", "sig", 3), 0);
	assert_int_equal(kluis_archive_add_buffer(w, "keys/AAAA.asc", "key a", 5), 0);
	assert_int_equal(kluis_archive_add_buffer(w, "keys/BBBB.asc", "", 0), 0);
	assert_int_equal(kluis_archive_writer_close(w), 0);
	kluis_archive_writer_free(w);
}

static int group_setup(void **state)
{
	size_t i;

	(void)state;
	strcpy(g_dir, "/tmp/ka.XXXXXX");
	if (!mkdtemp(g_dir) || !(g_big = malloc(BIG_LEN)))
		return -1;
	for (i = 0; i < BIG_LEN; i++)
		g_big[i] = (unsigned char)(rand() >> 9);
	make_good();
	return 0;
}

static int group_teardown(void **state)
{
	char cmd[128];

	(void)state;
	free(g_big);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
	if (!getenv("KLUIS_KEEP_TMP") && system(cmd) != 0)
		return -1;
	return 0;
}

static void check_file(const char *dest, const char *name, const void *data, size_t len)
{
	char p[300];
	unsigned char *got;
	size_t got_len;
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", dest, name);
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	got = read_file(p, &got_len);
	assert_int_equal(got_len, len);
	assert_memory_equal(got, data, len);
	free(got);
}

static void test_roundtrip(void **state)
{
	kluis_archive_limits lim = { .allowed = g_allowed, .progress = on_progress };
	kluis_archive_member *m = NULL;
	char cmd[300], listing[512] = "", keys[300];
	size_t n = 0, got;
	struct stat st;
	FILE *p;

	(void)state;
	assert_true(progress_calls > 0 && progress_last_done == BIG_LEN && progress_last_total == BIG_LEN);
	assert_int_equal(stat(path_in("good.tgz"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	snprintf(cmd, sizeof(cmd), "gzip -t '%s' && tar tzf '%s'", path_in("good.tgz"), path_in("good.tgz"));
	p = popen(cmd, "r");
	assert_non_null(p);
	got = fread(listing, 1, sizeof(listing) - 1, p);
	listing[got] = '\0';
	assert_int_equal(pclose(p), 0);
	assert_string_equal(listing, "manifest.json\ndossier.bundle\nmanifest.json.asc\nkeys/AAAA.asc\nkeys/BBBB.asc\n");

	progress_calls = 0;
	char *dest = new_dest();
	assert_int_equal(kluis_archive_extract(path_in("good.tgz"), dest, &lim, &m, &n), 0);
	assert_int_equal(n, 5);
	assert_string_equal(m[0].path, "manifest.json");
	assert_int_equal(m[0].size, 14);
	assert_string_equal(m[1].path, "dossier.bundle");
	assert_int_equal(m[1].size, BIG_LEN);
	assert_string_equal(m[4].path, "keys/BBBB.asc");
	assert_int_equal(m[4].size, 0);
	check_file(dest, "manifest.json", "{\"id\":\"demo\"}\n", 14);
	check_file(dest, "dossier.bundle", g_big, BIG_LEN);
	check_file(dest, "manifest.json.asc", "sig", 3);
	check_file(dest, "keys/AAAA.asc", "key a", 5);
	check_file(dest, "keys/BBBB.asc", "", 0);
	snprintf(keys, sizeof(keys), "%s/keys", dest);
	assert_int_equal(lstat(keys, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(entries_in(dest), 4);
	assert_true(progress_calls > 0);
	assert_int_equal(progress_last_done, progress_last_total);
	kluis_archive_members_free(m, n);
	kluis_archive_members_free(NULL, 0);
	free(dest);
}

static void test_stock_tar_archive(void **state)
{
	kluis_archive_member *m = NULL;
	char cmd[400], *dest = new_dest();
	size_t n = 0;

	(void)state;
	/* What stock tar writes for plain files (no directory entries) is accepted too. */
	snprintf(cmd, sizeof(cmd), "cd '%s' && printf x > manifest.json && tar czf stock.tgz manifest.json src.bundle",
		 g_dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(kluis_archive_extract(path_in("stock.tgz"), dest, NULL, &m, &n), 0);
	assert_int_equal(n, 2);
	check_file(dest, "src.bundle", g_big, BIG_LEN);
	kluis_archive_members_free(m, n);
	free(dest);
}

static int temp_files(void)
{
	DIR *d = opendir(g_dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (strstr(e->d_name, ".tmp-"))
			n++;
	closedir(d);
	return n;
}

static void test_writer_refuses(void **state)
{
	const char *bad[] = { "../x", "/etc/x", "", "a//b", "a/", "a\\b", ".", "./a", "a/../b", "x\ny", "a\x01" };
	kluis_archive_writer *w = NULL;
	size_t i;

	(void)state;
	assert_int_equal(kluis_archive_writer_open(&w, path_in("good.tgz")), KLUIS_EEXISTS);
	assert_null(w);
	assert_int_equal(kluis_archive_writer_open(&w, path_in("w.tgz")), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(kluis_archive_add_buffer(w, bad[i], "x", 1), KLUIS_EINVAL);
	assert_int_equal(kluis_archive_add_buffer(w, NULL, "x", 1), KLUIS_EINVAL);
	assert_int_equal(kluis_archive_add_buffer(w, "keys/a", "x", 1), 0);
	assert_int_equal(kluis_archive_add_buffer(w, "keys/a", "x", 1), KLUIS_EINVAL);
	assert_int_equal(kluis_archive_add_buffer(w, "keys", "x", 1), KLUIS_EINVAL);
	assert_int_equal(kluis_archive_add_buffer(w, "keys/a/b", "x", 1), KLUIS_EINVAL);
	assert_int_equal(kluis_archive_add_file(w, "dir", g_dir), KLUIS_EINVAL);
	assert_int_equal(kluis_archive_add_file(w, "missing", path_in("missing")), KLUIS_EGENERIC);
	/* Refused names wrote nothing: the writer still works. */
	assert_int_equal(kluis_archive_add_buffer(w, "keys/b", "y", 1), 0);
	assert_int_equal(temp_files(), 1);
	/* Never closed: the temporary file goes, nothing appears. */
	kluis_archive_writer_free(w);
	kluis_archive_writer_free(NULL);
	assert_int_equal(temp_files(), 0);
	assert_int_equal(access(path_in("w.tgz"), F_OK), -1);
	/* Closed twice. */
	assert_int_equal(kluis_archive_writer_open(&w, path_in("w2.tgz")), 0);
	assert_int_equal(kluis_archive_writer_close(w), 0);
	assert_int_equal(kluis_archive_writer_close(w), KLUIS_EINVAL);
	assert_int_equal(kluis_archive_add_buffer(w, "late", "x", 1), KLUIS_EINVAL);
	kluis_archive_writer_free(w);
	assert_int_equal(access(path_in("w2.tgz"), F_OK), 0);
	assert_int_equal(temp_files(), 0);
}

/* Extraction of `archive` must fail with KLUIS_EVERIFY and leave `dest` as it found it. */
static void expect_refused_in(const char *archive, const char *dest, int before, const kluis_archive_limits *lim,
			      const char *what)
{
	kluis_archive_member *m = (kluis_archive_member *)1;
	size_t n = 99;
	int err = kluis_archive_extract(archive, dest, lim ? lim : &(kluis_archive_limits){ .allowed = NULL },
					&m, &n);

	if (err != KLUIS_EVERIFY)
		fail_msg("%s: expected KLUIS_EVERIFY, got %d (%s)", what, err, kluis_error_last());
	assert_null(m);
	assert_int_equal(n, 0);
	assert_int_equal(entries_in(dest), before);
	if (getenv("KLUIS_TEST_VERBOSE"))
		fprintf(stderr, "  %s: %s\n", what, kluis_error_last());
}

static void expect_refused(const char *archive, const kluis_archive_limits *lim, const char *what)
{
	char *dest = new_dest();

	expect_refused_in(archive, dest, 0, lim, what);
	rmdir(dest);
	free(dest);
}

/* One crafted entry: type 'f' file, 'l' symlink, 'h' hardlink, 'c'/'b' device, 'p' fifo, 'd' dir. */
struct spec {
	const char *name;
	char type;
	const char *data;
	const char *link;
};

static void craft(const char *path, const struct spec *s, size_t n, bool gzip)
{
	struct archive *a = archive_write_new();
	struct archive_entry *e;
	size_t i, len;

	assert_non_null(a);
	assert_int_equal(archive_write_set_format_pax(a), ARCHIVE_OK);
	if (gzip)
		assert_int_equal(archive_write_add_filter_gzip(a), ARCHIVE_OK);
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	for (i = 0; i < n; i++) {
		e = archive_entry_new();
		len = s[i].data ? strlen(s[i].data) : 0;
		archive_entry_set_pathname(e, s[i].name);
		archive_entry_set_perm(e, 0644);
		archive_entry_set_filetype(e, s[i].type == 'l' ? AE_IFLNK : s[i].type == 'c' ? AE_IFCHR
					   : s[i].type == 'b' ? AE_IFBLK : s[i].type == 'p' ? AE_IFIFO
					   : s[i].type == 'd' ? AE_IFDIR : AE_IFREG);
		if (s[i].type == 'l')
			archive_entry_set_symlink(e, s[i].link);
		if (s[i].type == 'h')
			archive_entry_set_hardlink(e, s[i].link);
		if (s[i].type == 'c' || s[i].type == 'b')
			archive_entry_set_rdev(e, makedev(1, 3));
		archive_entry_set_size(e, (la_int64_t)len);
		assert_true(archive_write_header(a, e) >= ARCHIVE_WARN);
		if (len)
			assert_int_equal(archive_write_data(a, s[i].data, len), (la_ssize_t)len);
		archive_entry_free(e);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
}

static void refuse_one(const struct spec *bad, const char *what)
{
	/* A good member first, so the refusal must also remove what was already extracted. */
	struct spec s[3] = { { "keys/ok.asc", 'f', "fine", NULL }, *bad, { "manifest.json", 'f', "{}", NULL } };

	craft(path_in("bad.tgz"), s, 3, true);
	expect_refused(path_in("bad.tgz"), NULL, what);
}

static void test_refuses_names(void **state)
{
	const char *names[] = { "../x", "/etc/x", "a/../../x", "keys/../../x", "a/./b", "a\\b", "a//b", "x\ny", "a\x7f",
				"./x" };
	struct spec s = { NULL, 'f', "evil", NULL };
	char big[1100];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		s.name = names[i];
		refuse_one(&s, names[i]);
	}
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	s.name = big;
	refuse_one(&s, "a long name");
}

static void test_refuses_types(void **state)
{
	const struct spec bad[] = {
		{ "s", 'l', NULL, "/etc/passwd" },
		{ "keys/s", 'l', NULL, "../.." },
		{ "h", 'h', NULL, "keys/ok.asc" },
		{ "h2", 'h', NULL, "/etc/passwd" },
		{ "null", 'c', NULL, NULL },
		{ "disk", 'b', NULL, NULL },
		{ "fifo", 'p', NULL, NULL },
		{ "keys/", 'd', NULL, NULL },
		{ "dir", 'd', NULL, NULL },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		refuse_one(&bad[i], bad[i].name);
}

static void test_refuses_duplicates(void **state)
{
	const struct spec twice[] = { { "a", 'f', "1", NULL }, { "a", 'f', "2", NULL } };
	const struct spec twice_deep[] = { { "keys/a", 'f', "1", NULL }, { "keys/a", 'f', "2", NULL } };
	const struct spec file_then_dir[] = { { "a", 'f', "1", NULL }, { "a/b", 'f', "2", NULL } };
	const struct spec dir_then_file[] = { { "a/b", 'f', "1", NULL }, { "a", 'f', "2", NULL } };

	(void)state;
	craft(path_in("bad.tgz"), twice, 2, true);
	expect_refused(path_in("bad.tgz"), NULL, "a duplicate");
	craft(path_in("bad.tgz"), twice_deep, 2, true);
	expect_refused(path_in("bad.tgz"), NULL, "a duplicate in a directory");
	craft(path_in("bad.tgz"), file_then_dir, 2, true);
	expect_refused(path_in("bad.tgz"), NULL, "a file then a directory of the same name");
	craft(path_in("bad.tgz"), dir_then_file, 2, true);
	expect_refused(path_in("bad.tgz"), NULL, "a directory then a file of the same name");
}

static void test_refuses_limits(void **state)
{
	kluis_archive_limits lim = { 0 };

	(void)state;
	lim.max_member_size = BIG_LEN - 1;
	expect_refused(path_in("good.tgz"), &lim, "a member over the size limit");
	lim.max_member_size = 0;
	lim.max_total = BIG_LEN + 14 + 3 + 4;
	expect_refused(path_in("good.tgz"), &lim, "members over the total limit");
	lim.max_total = 0;
	lim.max_members = 4;
	expect_refused(path_in("good.tgz"), &lim, "too many members");
	lim.max_members = 0;
	lim.allowed = (const char *const[]){ "manifest.json", "dossier.bundle", "keys/", NULL };
	expect_refused(path_in("good.tgz"), &lim, "a member not allowed");
	lim.allowed = (const char *const[]){ "manifest.json", "dossier.bundle", "manifest.json.asc", "keys", NULL };
	expect_refused(path_in("good.tgz"), &lim, "a directory allowed only as an exact name");
}

static void test_refuses_truncated(void **state)
{
	unsigned char *data;
	size_t len, cut;
	char what[64];

	(void)state;
	data = read_file(path_in("good.tgz"), &len);
	for (cut = 0; cut < len; cut += (cut < 64 || len - cut < 64) ? 1 : 4099) {
		write_file(path_in("cut.tgz"), data, cut);
		snprintf(what, sizeof(what), "cut at %zu of %zu", cut, len);
		expect_refused(path_in("cut.tgz"), NULL, what);
	}
	free(data);
}

static void test_refuses_flipped(void **state)
{
	struct spec s[2] = { { "manifest.json", 'f', "{\"id\":\"demo\",\"entries\":12}\n", NULL },
			     { "keys/AAAA.asc", 'f', "-----BEGIN PGP PUBLIC KEY BLOCK-----\n", NULL } };
	unsigned char *data;
	size_t len, pos;
	char what[64];

	(void)state;
	/* Every byte after gzip's fixed header (whose time and OS bytes nothing checks). */
	craft(path_in("small.tgz"), s, 2, true);
	data = read_file(path_in("small.tgz"), &len);
	for (pos = 10; pos < len; pos++) {
		data[pos] ^= 0xff;
		write_file(path_in("flip.tgz"), data, len);
		data[pos] ^= 0xff;
		snprintf(what, sizeof(what), "byte %zu of %zu flipped", pos, len);
		expect_refused(path_in("flip.tgz"), NULL, what);
	}
	free(data);
	/* And a sample across the big archive (kluis's writer: gzip level 0, stored deflate blocks).
	 * All eight bits are flipped: the five padding bits after a stored block's 3-bit header
	 * (byte 10 here) are covered by no check of the gzip format, at any level; flipping only
	 * those leaves the content, and so every signature and hash kluis checks, the same. */
	data = read_file(path_in("good.tgz"), &len);
	for (pos = 10; pos < len; pos += len / 37) {
		data[pos] ^= 0xff;
		write_file(path_in("flip.tgz"), data, len);
		data[pos] ^= 0xff;
		snprintf(what, sizeof(what), "byte %zu of %zu flipped", pos, len);
		expect_refused(path_in("flip.tgz"), NULL, what);
	}
	free(data);
}

static void test_refuses_other_containers(void **state)
{
	struct spec s[1] = { { "manifest.json", 'f', "{}", NULL } };
	unsigned char *data;
	size_t len;
	char cmd[400];

	(void)state;
	write_file(path_in("empty.tgz"), "", 0);
	expect_refused(path_in("empty.tgz"), NULL, "an empty file");
	craft(path_in("plain.tar"), s, 1, false);
	expect_refused(path_in("plain.tar"), NULL, "a tar without gzip");
	data = read_file(path_in("good.tgz"), &len);
	data = realloc(data, len * 2);
	assert_non_null(data);
	memcpy(data + len, "junk", 4);
	write_file(path_in("junk.tgz"), data, len + 4);
	expect_refused(path_in("junk.tgz"), NULL, "bytes after the gzip stream");
	memcpy(data + len, data, len);
	write_file(path_in("two.tgz"), data, len * 2);
	expect_refused(path_in("two.tgz"), NULL, "two gzip members");
	free(data);
	/* A tar with a member hidden after its end-of-archive blocks. */
	snprintf(cmd, sizeof(cmd), "cd '%s' && cat plain.tar plain.tar | gzip -c > hidden.tgz", g_dir);
	assert_int_equal(system(cmd), 0);
	expect_refused(path_in("hidden.tgz"), NULL, "data after the end of the tar");
	/* A gzip inside the gzip. */
	snprintf(cmd, sizeof(cmd), "cd '%s' && gzip -c good.tgz > double.tgz", g_dir);
	assert_int_equal(system(cmd), 0);
	expect_refused(path_in("double.tgz"), NULL, "a gzip inside the gzip");
	expect_refused(g_dir, NULL, "a directory as the archive");
}

static void test_never_overwrites_or_follows(void **state)
{
	char *dest = new_dest(), p[300], outside[300];
	unsigned char *got;
	size_t len;
	struct stat st;

	(void)state;
	snprintf(p, sizeof(p), "%s/manifest.json", dest);
	write_file(p, "mine", 4);
	expect_refused_in(path_in("good.tgz"), dest, 1, NULL, "a member over an existing file");
	got = read_file(p, &len);
	assert_int_equal(len, 4);
	assert_memory_equal(got, "mine", 4);
	free(got);
	unlink(p);
	/* keys -> a directory outside: nothing may be written through it. */
	snprintf(outside, sizeof(outside), "%s/outside", g_dir);
	assert_int_equal(mkdir(outside, 0700), 0);
	snprintf(p, sizeof(p), "%s/keys", dest);
	assert_int_equal(symlink(outside, p), 0);
	expect_refused_in(path_in("good.tgz"), dest, 1, NULL, "a member below a symlinked directory");
	assert_int_equal(entries_in(outside), 0);
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	free(dest);
}

static int cancel_progress(uint64_t done, uint64_t total, void *payload)
{
	(void)done;
	(void)total;
	(void)payload;
	return 1;
}

static void test_cancel(void **state)
{
	kluis_archive_limits lim = { .progress = cancel_progress };
	kluis_archive_member *m = NULL;
	char *dest = new_dest();
	size_t n = 0;

	(void)state;
	assert_int_equal(kluis_archive_extract(path_in("good.tgz"), dest, &lim, &m, &n), KLUIS_EGENERIC);
	assert_int_equal(entries_in(dest), 0);
	assert_int_equal(kluis_archive_extract(path_in("good.tgz"), path_in("nodir"), NULL, &m, &n), KLUIS_EGENERIC);
	assert_int_equal(kluis_archive_extract(path_in("nofile"), dest, NULL, &m, &n), KLUIS_EGENERIC);
	assert_null(m);
	free(dest);
}

/* admit: asked for each member in order, with the members before it complete under dest */
struct admit_log {
	const char *dest;
	char names[8][32];
	size_t n;
};

static int admit_until_bundle(const char *name, uint64_t size, void *payload)
{
	struct admit_log *l = payload;
	char path[512];
	struct stat st;

	snprintf(l->names[l->n++ % 8], sizeof(l->names[0]), "%s", name);
	if (strcmp(name, "dossier.bundle") != 0)
		return 0;
	snprintf(path, sizeof(path), "%s/manifest.json", l->dest);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 14);
	assert_true(size > 0);
	return kluis_error_set(KLUIS_EVERIFY, "refused by admit");
}

static void test_admit(void **state)
{
	struct admit_log log = { NULL, { { 0 } }, 0 };
	kluis_archive_limits lim = { .admit = admit_until_bundle, .admit_payload = &log };
	char *dest = new_dest();

	(void)state;
	log.dest = dest;
	expect_refused_in(path_in("good.tgz"), dest, 0, &lim, "admit refuses the second member");
	assert_int_equal(log.n, 2);
	assert_string_equal(log.names[0], "manifest.json");
	assert_string_equal(log.names[1], "dossier.bundle");
	assert_string_equal(kluis_error_last(), "refused by admit");
	rmdir(dest);
	free(dest);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_stock_tar_archive),
		cmocka_unit_test(test_writer_refuses),
		cmocka_unit_test(test_refuses_names),
		cmocka_unit_test(test_refuses_types),
		cmocka_unit_test(test_refuses_duplicates),
		cmocka_unit_test(test_refuses_limits),
		cmocka_unit_test(test_refuses_truncated),
		cmocka_unit_test(test_refuses_flipped),
		cmocka_unit_test(test_refuses_other_containers),
		cmocka_unit_test(test_never_overwrites_or_follows),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_admit),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
