/*
 * test_bundle.c - git bundle v2 writer and reader (vault/exchange/bundle_read.c and bundle_write.c).
 *
 * Builds a small dossier-like repository with libgit2 (a linear main, a parentless content
 * commit whose tree holds sharded blobs, an annotated tag), bundles it, has stock git verify
 * and clone the bundle, reads it back into fresh repositories, and checks that truncated,
 * corrupted, malformed or incomplete bundles are refused. Also the streamed object reader
 * (vault/git/objstream.c) the bundle writer uses for large blobs: from a loose object and from a
 * pack, byte for byte what libgit2 reads, and a corrupted pack entry refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vault/exchange/bundle.h"
#include "vault/base/error.h"
#include "vault/git/objstream.h"

static char g_dir[64];
static git_oid g_main, g_content, g_tag, g_blob_big, g_blob_huge;
static unsigned char *g_huge;
#define HUGE_SIZE (3 * 1024 * 1024 + 12345)
static unsigned char *g_bundle;
static size_t g_bundle_len, g_header_len;
static int g_seq;

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

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static git_repository *new_bare(const char *name)
{
	git_repository_init_options opts;
	git_repository *repo = NULL;

	git_repository_init_options_init(&opts, GIT_REPOSITORY_INIT_OPTIONS_VERSION);
	opts.flags = GIT_REPOSITORY_INIT_BARE | GIT_REPOSITORY_INIT_MKPATH | GIT_REPOSITORY_INIT_NO_REINIT;
	opts.initial_head = "main";
	assert_int_equal(git_repository_init_ext(&repo, path_in(name), &opts), 0);
	return repo;
}

/* A fresh bare repository with a unique name, for one read. */
static git_repository *scratch_repo(void)
{
	char name[32];

	snprintf(name, sizeof(name), "r%d.git", g_seq++);
	return new_bare(name);
}

static void add_blob(git_repository *repo, git_index *idx, const char *path, const void *data, size_t len,
		     git_oid *out)
{
	git_index_entry e;
	git_oid id;

	assert_int_equal(git_blob_create_from_buffer(&id, repo, data, len), 0);
	memset(&e, 0, sizeof(e));
	e.mode = GIT_FILEMODE_BLOB;
	e.path = path;
	git_oid_cpy(&e.id, &id);
	assert_int_equal(git_index_add(idx, &e), 0);
	if (out)
		git_oid_cpy(out, &id);
}

static void commit(git_repository *repo, const char *ref, git_index *idx, const git_commit *parent,
		   const char *msg, git_oid *out)
{
	git_signature *sig = NULL;
	git_tree *tree = NULL;
	git_oid tree_id;
	const git_commit *parents[1] = { parent };

	assert_int_equal(git_index_write_tree_to(&tree_id, idx, repo), 0);
	assert_int_equal(git_tree_lookup(&tree, repo, &tree_id), 0);
	assert_int_equal(git_signature_new(&sig, "medewerker", "ABCD@kluis", 1800000000, 0), 0);
	assert_int_equal(git_commit_create(out, repo, ref, sig, sig, NULL, msg, tree, parent ? 1 : 0,
					   parent ? parents : NULL), 0);
	git_signature_free(sig);
	git_tree_free(tree);
}

/* Source repository: main (3 commits), refs/kluis/content (parentless), refs/tags/v1. */
static void make_source(void)
{
	git_repository *repo = new_bare("src.git");
	git_index *idx = NULL, *content = NULL;
	git_commit *parent = NULL;
	git_signature *sig = NULL;
	git_object *target = NULL;
	unsigned char *big = malloc(300000);
	char text[64];
	int i;

	assert_non_null(big);
	for (i = 0; i < 300000; i++)
		big[i] = (unsigned char)(rand() >> 7);
	assert_int_equal(git_index_new(&idx), 0);
	for (i = 0; i < 3; i++) {
		snprintf(text, sizeof(text), "kluis-dossier 1\nid demo\nstep %d\n", i);
		add_blob(repo, idx, "dossier", text, strlen(text), NULL);
		snprintf(text, sizeof(text), "entries/%02x/e%d/meta", i * 17, i);
		add_blob(repo, idx, text, "pointer\n", 8, NULL);
		commit(repo, "refs/heads/main", idx, parent, "add -\n", &g_main);
		git_commit_free(parent);
		assert_int_equal(git_commit_lookup(&parent, repo, &g_main), 0);
	}
	assert_int_equal(git_index_new(&content), 0);
	add_blob(repo, content, "3f/9a000000000000000000000000000000000000", "cipher one", 10, NULL);
	add_blob(repo, content, "a1/0000000000000000000000000000000000000b", big, 300000, &g_blob_big);
	/* A near copy: deltified it would cost a few bytes; kluis packs large objects whole. */
	big[150000] ^= 0xff;
	add_blob(repo, content, "a1/0000000000000000000000000000000000000c", big, 300000, NULL);
	/* Over KLUIS_OBJSTREAM_WHOLE_MAX: streamed by the bundle writer, straight from the file. */
	g_huge = malloc(HUGE_SIZE);
	assert_non_null(g_huge);
	for (i = 0; i < HUGE_SIZE; i++)
		g_huge[i] = (unsigned char)(rand() >> 7);
	add_blob(repo, content, "b2/000000000000000000000000000000000000000d", g_huge, HUGE_SIZE, &g_blob_huge);
	commit(repo, "refs/kluis/content", content, NULL, "content\n", &g_content);
	assert_int_equal(git_object_lookup(&target, repo, &g_main, GIT_OBJECT_COMMIT), 0);
	assert_int_equal(git_signature_new(&sig, "directie", "EF01@kluis", 1800000000, 0), 0);
	assert_int_equal(git_tag_create(&g_tag, repo, "v1", target, sig, "tag\n", 0), 0);
	git_signature_free(sig);
	git_object_free(target);
	git_commit_free(parent);
	git_index_free(idx);
	git_index_free(content);
	git_repository_free(repo);
	free(big);
}

static const char *const g_refs[] = { "refs/heads/main", "refs/kluis/content", "refs/tags/v1" };

static int group_setup(void **state)
{
	git_repository *repo = NULL;
	unsigned char *nl;

	(void)state;
	git_libgit2_init();
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	setenv("GIT_CONFIG_GLOBAL", "/dev/null", 1);
	strcpy(g_dir, "/tmp/kb.XXXXXX");
	if (!mkdtemp(g_dir))
		return -1;
	make_source();
	if (git_repository_open_bare(&repo, path_in("src.git")) < 0)
		return -1;
	if (kluis_bundle_write(repo, path_in("b.bundle"), g_refs, 3, NULL, NULL) < 0) {
		fprintf(stderr, "bundle write: %s\n", kluis_error_last());
		return -1;
	}
	git_repository_free(repo);
	g_bundle = read_file(path_in("b.bundle"), &g_bundle_len);
	nl = memmem(g_bundle, g_bundle_len, "\n\n", 2);
	if (!nl)
		return -1;
	g_header_len = (size_t)(nl + 2 - g_bundle);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	free(g_bundle);
	free(g_huge);
	if (getenv("KLUIS_KEEP_TMP") == NULL)
		run("rm -rf '%s'", g_dir);
	git_libgit2_shutdown();
	return 0;
}

static int dir_has_temp(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int found = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (strstr(e->d_name, ".tmp-") || strncmp(e->d_name, "pack_git", 8) == 0)
			found = 1;
	closedir(d);
	return found;
}

static void test_header_and_mode(void **state)
{
	char expect[512], hex[4][GIT_OID_HEXSZ + 1];
	struct stat st;

	(void)state;
	git_oid_tostr(hex[0], sizeof(hex[0]), &g_main);
	git_oid_tostr(hex[1], sizeof(hex[1]), &g_content);
	git_oid_tostr(hex[2], sizeof(hex[2]), &g_tag);
	snprintf(expect, sizeof(expect), "# v2 git bundle\n%s HEAD\n%s refs/heads/main\n%s refs/kluis/content\n"
		 "%s refs/tags/v1\n\nPACK", hex[0], hex[0], hex[1], hex[2]);
	assert_true(g_bundle_len > strlen(expect));
	assert_memory_equal(g_bundle, expect, strlen(expect));
	assert_int_equal(stat(path_in("b.bundle"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	/* Two 300 kB random blobs, neither deltified against the other. */
	assert_true(g_bundle_len > 600000);
	assert_false(dir_has_temp(g_dir));
}

static void test_stock_git_accepts(void **state)
{
	char hex[GIT_OID_HEXSZ + 1], out[128] = "", cmd[300];
	FILE *p;

	(void)state;
	assert_int_equal(run("git init -q --bare '%s'", path_in("empty.git")), 0);
	assert_int_equal(run("cd '%s' && git bundle verify -q ../b.bundle >/dev/null 2>&1", path_in("empty.git")), 0);
	assert_int_equal(run("git clone -q '%s' '%s' 2>/dev/null", path_in("b.bundle"), path_in("clone")), 0);
	assert_int_equal(run("grep -q 'step 2' '%s'", path_in("clone/dossier")), 0);
	assert_int_equal(run("git clone -q --mirror '%s' '%s' 2>/dev/null", path_in("b.bundle"), path_in("m.git")), 0);
	assert_int_equal(run("git -C '%s' fsck --strict --no-progress >/dev/null 2>&1", path_in("m.git")), 0);
	snprintf(cmd, sizeof(cmd), "git -C '%s' rev-parse refs/kluis/content", path_in("m.git"));
	p = popen(cmd, "r");
	assert_non_null(p);
	assert_non_null(fgets(out, sizeof(out), p));
	pclose(p);
	git_oid_tostr(hex, sizeof(hex), &g_content);
	assert_memory_equal(out, hex, GIT_OID_HEXSZ);
}

static void test_read_roundtrip(void **state)
{
	git_repository *repo = scratch_repo();
	kluis_bundle_ref *refs = NULL;
	git_revwalk *walk = NULL;
	git_blob *blob = NULL;
	git_reference *head = NULL;
	size_t n = 0, count = 0;
	git_oid id;

	(void)state;
	assert_int_equal(kluis_bundle_read(repo, path_in("b.bundle"), &refs, &n, NULL, NULL), 0);
	assert_int_equal(n, 4);
	assert_string_equal(refs[0].name, "HEAD");
	assert_string_equal(refs[1].name, "refs/heads/main");
	assert_string_equal(refs[2].name, "refs/kluis/content");
	assert_string_equal(refs[3].name, "refs/tags/v1");
	assert_true(git_oid_equal(&refs[0].oid, &g_main) && git_oid_equal(&refs[1].oid, &g_main));
	assert_true(git_oid_equal(&refs[2].oid, &g_content) && git_oid_equal(&refs[3].oid, &g_tag));
	/* Refs are the caller's business: none were created. */
	assert_int_equal(git_reference_lookup(&head, repo, "refs/heads/main"), GIT_ENOTFOUND);
	assert_int_equal(git_blob_lookup(&blob, repo, &g_blob_big), 0);
	assert_int_equal(git_blob_rawsize(blob), 300000);
	assert_int_equal(git_revwalk_new(&walk, repo), 0);
	assert_int_equal(git_revwalk_push(walk, &g_main), 0);
	while (git_revwalk_next(&id, walk) == 0)
		count++;
	assert_int_equal(count, 3);
	git_revwalk_free(walk);
	git_blob_free(blob);
	kluis_bundle_refs_free(refs, n);
	kluis_bundle_refs_free(NULL, 0);
	/* Reading the same bundle again into the same repository is harmless. */
	assert_int_equal(kluis_bundle_read(repo, path_in("b.bundle"), &refs, &n, NULL, NULL), 0);
	assert_int_equal(n, 4);
	kluis_bundle_refs_free(refs, n);
	git_repository_free(repo);
}

static void test_write_refuses(void **state)
{
	git_repository *repo = NULL;
	const char *missing[] = { "refs/heads/main", "refs/heads/nope" };
	const char *bad[] = { "main" };
	const char *twice[] = { "refs/heads/main", "refs/heads/main" };

	(void)state;
	assert_int_equal(git_repository_open_bare(&repo, path_in("src.git")), 0);
	assert_int_equal(kluis_bundle_write(repo, path_in("w1.bundle"), missing, 2, NULL, NULL), KLUIS_ENOTFOUND);
	assert_int_equal(kluis_bundle_write(repo, path_in("w1.bundle"), bad, 1, NULL, NULL), KLUIS_EINVAL);
	assert_int_equal(kluis_bundle_write(repo, path_in("w1.bundle"), twice, 2, NULL, NULL), KLUIS_EINVAL);
	assert_int_equal(kluis_bundle_write(repo, path_in("w1.bundle"), g_refs, 0, NULL, NULL), KLUIS_EINVAL);
	assert_int_equal(kluis_bundle_write(repo, path_in("b.bundle"), g_refs, 1, NULL, NULL), KLUIS_EEXISTS);
	assert_int_equal(kluis_bundle_write(repo, "/nonexistent-dir/x.bundle", g_refs, 1, NULL, NULL), KLUIS_EGENERIC);
	assert_int_equal(access(path_in("w1.bundle"), F_OK), -1);
	assert_false(dir_has_temp(g_dir));
	git_repository_free(repo);
}

/* Reading `len` bytes of `data` as a bundle into a fresh repository must fail cleanly. */
static void expect_refused(const void *data, size_t len, const char *what)
{
	git_repository *repo = scratch_repo();
	kluis_bundle_ref *refs = (kluis_bundle_ref *)1;
	size_t n = 99;
	char packdir[300];
	int err;

	write_file(path_in("bad.bundle"), data, len);
	err = kluis_bundle_read(repo, path_in("bad.bundle"), &refs, &n, NULL, NULL);
	if (err >= 0)
		fail_msg("accepted %s", what);
	assert_true(err == KLUIS_EVERIFY);
	assert_null(refs);
	assert_int_equal(n, 0);
	assert_true(strlen(kluis_error_last()) > 10);
	snprintf(packdir, sizeof(packdir), "%s/objects/pack", git_repository_path(repo));
	assert_false(dir_has_temp(packdir));
	git_repository_free(repo);
	unlink(path_in("bad.bundle"));
}

static void test_read_truncated(void **state)
{
	size_t cuts[] = { 0, 5, 16, g_header_len - 1, g_header_len, g_header_len + 11, g_header_len + 200,
			  g_bundle_len / 2, g_bundle_len - 21, g_bundle_len - 20, g_bundle_len - 1 };
	size_t i;
	char what[64];

	(void)state;
	for (i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		snprintf(what, sizeof(what), "a bundle cut at %zu of %zu", cuts[i], g_bundle_len);
		expect_refused(g_bundle, cuts[i], what);
	}
}

static void test_read_flipped(void **state)
{
	unsigned char *copy = malloc(g_bundle_len);
	size_t pos, step = (g_bundle_len - g_header_len) / 40;
	char what[64];

	(void)state;
	assert_non_null(copy);
	for (pos = g_header_len; pos < g_bundle_len; pos += (pos + step < g_bundle_len ? step : 1)) {
		memcpy(copy, g_bundle, g_bundle_len);
		copy[pos] ^= 0x01;
		snprintf(what, sizeof(what), "a bundle with byte %zu flipped", pos);
		expect_refused(copy, g_bundle_len, what);
		if (pos + 1 == g_bundle_len)
			break;
	}
	/* A flipped oid digit in the header names an object the pack does not hold. */
	memcpy(copy, g_bundle, g_bundle_len);
	copy[strlen("# v2 git bundle\n") + 3] ^= 0x01;
	expect_refused(copy, g_bundle_len, "a bundle with a flipped header oid");
	free(copy);
}

static void test_read_trailing_data(void **state)
{
	unsigned char *longer = malloc(g_bundle_len * 2);

	(void)state;
	assert_non_null(longer);
	memcpy(longer, g_bundle, g_bundle_len);
	memcpy(longer + g_bundle_len, "junk", 4);
	expect_refused(longer, g_bundle_len + 4, "a bundle with bytes after its pack");
	memcpy(longer + g_bundle_len, g_bundle + g_header_len, g_bundle_len - g_header_len);
	expect_refused(longer, g_bundle_len * 2 - g_header_len, "a bundle with two packs");
	free(longer);
}

/* The valid pack behind a crafted header. */
static void expect_header_refused(const char *header, const char *what)
{
	size_t hl = strlen(header), pl = g_bundle_len - g_header_len;
	unsigned char *buf = malloc(hl + pl);

	assert_non_null(buf);
	memcpy(buf, header, hl);
	memcpy(buf + hl, g_bundle + g_header_len, pl);
	expect_refused(buf, hl + pl, what);
	free(buf);
}

static void test_read_bad_header(void **state)
{
	char h[512], m[GIT_OID_HEXSZ + 1], *big;
	size_t i;

	(void)state;
	git_oid_tostr(m, sizeof(m), &g_main);
	snprintf(h, sizeof(h), "# v3 git bundle\n@object-format=sha1\n%s refs/heads/main\n\n", m);
	expect_header_refused(h, "a v3 header");
	snprintf(h, sizeof(h), "# v2 git bundle\n-%s prerequisite\n%s refs/heads/main\n\n", m, m);
	expect_header_refused(h, "a prerequisite");
	snprintf(h, sizeof(h), "# v2 git bundle\n%.39s refs/heads/main\n\n", m);
	expect_header_refused(h, "a short oid");
	snprintf(h, sizeof(h), "# v2 git bundle\n%s0 refs/heads/main\n\n", m);
	expect_header_refused(h, "a long oid");
	snprintf(h, sizeof(h), "# v2 git bundle\nABCDEF%s refs/heads/main\n\n", m + 6);
	expect_header_refused(h, "an upper-case oid");
	snprintf(h, sizeof(h), "# v2 git bundle\nxyz%s refs/heads/main\n\n", m + 3);
	expect_header_refused(h, "a non-hex oid");
	snprintf(h, sizeof(h), "# v2 git bundle\n%s main\n\n", m);
	expect_header_refused(h, "a short refname");
	snprintf(h, sizeof(h), "# v2 git bundle\n%s refs/heads/../x\n\n", m);
	expect_header_refused(h, "a refname with ..");
	snprintf(h, sizeof(h), "# v2 git bundle\n%s refs/heads/a b\n\n", m);
	expect_header_refused(h, "a refname with a space");
	snprintf(h, sizeof(h), "# v2 git bundle\n%s  refs/heads/main\n\n", m);
	expect_header_refused(h, "two spaces");
	snprintf(h, sizeof(h), "# v2 git bundle\r\n%s refs/heads/main\r\n\r\n", m);
	expect_header_refused(h, "CRLF lines");
	snprintf(h, sizeof(h), "# v2 git bundle\n%s refs/heads/main\r\n\n", m);
	expect_header_refused(h, "a CR in a refname");
	snprintf(h, sizeof(h), "# v2 git bundle\n%s refs/heads/main\n%s refs/heads/main\n\n", m, m);
	expect_header_refused(h, "a duplicate ref");
	expect_header_refused("# v2 git bundle\n\n", "no refs");
	expect_header_refused("# v2 git bundle\n", "no end of header");
	expect_header_refused("", "no header");
	snprintf(h, sizeof(h), "# v2 git bundle\n%s refs/heads/main\n\n", "0123456789012345678901234567890123456789");
	expect_header_refused(h, "an oid missing from the pack");
	/* A header larger than the limit, even if well formed. */
	big = malloc(100 * 1000 + 64);
	assert_non_null(big);
	strcpy(big, "# v2 git bundle\n");
	for (i = 0; i < 1600; i++)
		snprintf(big + strlen(big), 64, "%s refs/heads/b%04zu\n", m, i);
	strcat(big, "\n");
	expect_header_refused(big, "a header over the limit");
	free(big);
}

/* A pack holding only the tip commit and its tree: the history it advertises is not there. */
static void test_read_incomplete(void **state)
{
	git_repository *repo = NULL;
	git_packbuilder *pb = NULL;
	git_buf pack = GIT_BUF_INIT;
	char h[128], m[GIT_OID_HEXSZ + 1];
	unsigned char *buf;
	size_t hl;

	(void)state;
	assert_int_equal(git_repository_open_bare(&repo, path_in("src.git")), 0);
	assert_int_equal(git_packbuilder_new(&pb, repo), 0);
	assert_int_equal(git_packbuilder_insert_commit(pb, &g_main), 0);
	assert_int_equal(git_packbuilder_write_buf(&pack, pb), 0);
	git_oid_tostr(m, sizeof(m), &g_main);
	snprintf(h, sizeof(h), "# v2 git bundle\n%s refs/heads/main\n\n", m);
	hl = strlen(h);
	buf = malloc(hl + pack.size);
	assert_non_null(buf);
	memcpy(buf, h, hl);
	memcpy(buf + hl, pack.ptr, pack.size);
	expect_refused(buf, hl + pack.size, "a bundle without the tip's parents");
	assert_non_null(strstr(kluis_error_last(), "incomplete"));
	free(buf);
	git_buf_dispose(&pack);
	git_packbuilder_free(pb);
	git_repository_free(repo);
}

static void test_read_not_regular(void **state)
{
	git_repository *repo = scratch_repo();
	kluis_bundle_ref *refs = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(kluis_bundle_read(repo, g_dir, &refs, &n, NULL, NULL), KLUIS_EVERIFY);
	assert_int_equal(kluis_bundle_read(repo, path_in("missing.bundle"), &refs, &n, NULL, NULL), KLUIS_EGENERIC);
	assert_null(refs);
	git_repository_free(repo);
}

/* Read all of `oid` through kluis_objstream in odd-sized chunks; the caller frees. */
static unsigned char *stream_all(git_repository *repo, const git_oid *oid, size_t *len, int *err)
{
	kluis_objstream *s = NULL;
	git_object_t type;
	uint64_t size = 0;
	unsigned char *buf;
	size_t n, have = 0;

	*len = 0;
	if ((*err = kluis_objstream_open(&s, repo, oid, &type, &size)) < 0)
		return NULL;
	assert_int_equal(type, GIT_OBJECT_BLOB);
	buf = malloc((size_t)size + 1);
	assert_non_null(buf);
	for (;;) {
		size_t want = (size_t)size + 1 - have < 7777 ? (size_t)size + 1 - have : 7777;

		if ((*err = kluis_objstream_read(s, buf + have, want, &n)) < 0 || n == 0)
			break;
		have += n;
	}
	kluis_objstream_free(s);
	*len = have;
	return buf;
}

/* The one .pack file of a repository. */
static void pack_path(char *out, size_t len, const char *gitdir)
{
	char dir[300];
	DIR *d;
	struct dirent *e;
	int found = 0;

	snprintf(dir, sizeof(dir), "%sobjects/pack", gitdir);
	d = opendir(dir);
	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (strlen(e->d_name) > 5 && strcmp(e->d_name + strlen(e->d_name) - 5, ".pack") == 0) {
			snprintf(out, len, "%s/%s", dir, e->d_name);
			found++;
		}
	closedir(d);
	assert_int_equal(found, 1);
}

static void test_objstream(void **state)
{
	git_repository *repo = NULL;
	kluis_bundle_ref *refs = NULL;
	unsigned char *got, *pack, *at;
	char pp[400], loose[400], gitdir[300];
	size_t n = 0, len = 0, plen;
	git_oid none;
	int err;

	(void)state;
	/* loose, in the source; and a missing object */
	assert_int_equal(git_repository_open_bare(&repo, path_in("src.git")), 0);
	snprintf(loose, sizeof(loose), "%sobjects/%.2s/%s", git_repository_path(repo), git_oid_tostr_s(&g_blob_huge),
		 git_oid_tostr_s(&g_blob_huge) + 2);
	assert_int_equal(access(loose, F_OK), 0);
	got = stream_all(repo, &g_blob_huge, &len, &err);
	assert_int_equal(err, 0);
	assert_int_equal(len, HUGE_SIZE);
	assert_memory_equal(got, g_huge, HUGE_SIZE);
	free(got);
	memset(&none, 0x42, sizeof(none));
	assert_null(stream_all(repo, &none, &len, &err));
	assert_int_equal(err, KLUIS_ENOTFOUND);
	git_repository_free(repo);
	/* after reading the bundle, a large blob is a loose object (see kluis_bundle_read) */
	repo = scratch_repo();
	snprintf(gitdir, sizeof(gitdir), "%s", git_repository_path(repo));
	assert_int_equal(kluis_bundle_read(repo, path_in("b.bundle"), &refs, &n, NULL, NULL), 0);
	kluis_bundle_refs_free(refs, n);
	snprintf(loose, sizeof(loose), "%sobjects/%.2s/%s", gitdir, git_oid_tostr_s(&g_blob_huge), git_oid_tostr_s(&g_blob_huge) + 2);
	assert_int_equal(access(loose, F_OK), 0);
	got = stream_all(repo, &g_blob_huge, &len, &err);
	assert_int_equal(err, 0);
	assert_int_equal(len, HUGE_SIZE);
	assert_memory_equal(got, g_huge, HUGE_SIZE);
	free(got);
	git_repository_free(repo);
	/* packed: stock git's pack of the source (level 0, so the bytes can be found below) */
	assert_int_equal(run("git -c pack.compression=0 clone -q --no-local --mirror 'file://%s' '%s' 2>/dev/null",
			     path_in("src.git"), path_in("packed.git")), 0);
	snprintf(gitdir, sizeof(gitdir), "%s/", path_in("packed.git"));
	pack_path(pp, sizeof(pp), gitdir);
	assert_int_equal(git_repository_open_bare(&repo, gitdir), 0);
	got = stream_all(repo, &g_blob_huge, &len, &err);
	assert_int_equal(err, 0);
	assert_int_equal(len, HUGE_SIZE);
	assert_memory_equal(got, g_huge, HUGE_SIZE);
	free(got);
	git_repository_free(repo);
	/* one flipped byte in the blob's stored data (zlib level 0 keeps it verbatim): refused */
	pack = read_file(pp, &plen);
	at = memmem(pack, plen, g_huge + 2000000, 64);
	assert_non_null(at);
	at[10] ^= 0x01;
	assert_int_equal(chmod(pp, 0600), 0);
	write_file(pp, pack, plen);
	free(pack);
	assert_int_equal(git_repository_open_bare(&repo, gitdir), 0);
	got = stream_all(repo, &g_blob_huge, &len, &err);
	assert_int_equal(err, KLUIS_EVERIFY);
	assert_non_null(strstr(kluis_error_last(), "corrupted"));
	free(got);
	git_repository_free(repo);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_and_mode),
		cmocka_unit_test(test_stock_git_accepts),
		cmocka_unit_test(test_read_roundtrip),
		cmocka_unit_test(test_objstream),
		cmocka_unit_test(test_write_refuses),
		cmocka_unit_test(test_read_truncated),
		cmocka_unit_test(test_read_flipped),
		cmocka_unit_test(test_read_trailing_data),
		cmocka_unit_test(test_read_bad_header),
		cmocka_unit_test(test_read_incomplete),
		cmocka_unit_test(test_read_not_regular),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
