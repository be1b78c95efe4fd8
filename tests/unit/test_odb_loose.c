/*
 * test_odb_loose.c - the lean loose-object reader (vault/git/objstream.c) against libgit2's own.
 *
 * A real repository gets a small and a large blob, an empty one, a tree and a commit. Read
 * through an object database holding only the lean backend, each comes back exactly as
 * libgit2's own backends return it. Then loose files are damaged the ways a disk or a forger
 * can damage them (truncated, a wrong size in the header, a bad checksum, not zlib, empty);
 * the lean backend refuses each with its own error, also in the repository's odb where it sits
 * in front of libgit2's reader (which would loop forever on the truncated one), and so does
 * the streamed reader of verification's ciphertext check. A well-formed
 * object stored under another id it returns, and libgit2's hash check refuses it; a file that
 * is not there is passed on ("not found" in an odb of the lean backend alone).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdbool.h>
#include <git2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "vault/base/error.h"
#include "vault/git/objstream.h"
#include "vault/base/util.h"

static char g_dir[64];
static char g_objects[128];
static git_repository *g_repo;
static git_oid g_small, g_large, g_empty, g_tree, g_commit;

static int setup(void **state)
{
	git_odb *odb;
	git_treebuilder *tb;
	git_signature *sig;
	git_tree *tree;
	unsigned char *big;
	size_t i;

	(void)state;
	git_libgit2_init();
	snprintf(g_dir, sizeof(g_dir), "/tmp/kluis-odb-XXXXXX");
	if (!mkdtemp(g_dir) || git_repository_init(&g_repo, g_dir, 1) < 0)
		return -1;
	snprintf(g_objects, sizeof(g_objects), "%s/objects", g_dir);
	if (git_repository_odb(&odb, g_repo) < 0)
		return -1;
	if (!(big = malloc(300000)))
		return -1;
	for (i = 0; i < 300000; i++)
		big[i] = (unsigned char)(i * 2654435761u >> 13); /* poorly compressible */
	if (git_odb_write(&g_small, odb, "hallo klant\n", 12, GIT_OBJECT_BLOB) < 0 ||
	    git_odb_write(&g_large, odb, big, 300000, GIT_OBJECT_BLOB) < 0 ||
	    git_odb_write(&g_empty, odb, "", 0, GIT_OBJECT_BLOB) < 0)
		return -1;
	free(big);
	git_odb_free(odb);
	if (git_treebuilder_new(&tb, g_repo, NULL) < 0 || git_treebuilder_insert(NULL, tb, "a", &g_small, GIT_FILEMODE_BLOB) < 0 ||
	    git_treebuilder_insert(NULL, tb, "b", &g_large, GIT_FILEMODE_BLOB) < 0 || git_treebuilder_write(&g_tree, tb) < 0)
		return -1;
	git_treebuilder_free(tb);
	if (git_signature_new(&sig, "kluis", "kluis@example.org", 1764633600, 60) < 0 || git_tree_lookup(&tree, g_repo, &g_tree) < 0 ||
	    git_commit_create_v(&g_commit, g_repo, NULL, sig, sig, NULL, "eerste\n", tree, 0) < 0)
		return -1;
	git_tree_free(tree);
	git_signature_free(sig);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	git_repository_free(g_repo);
	git_libgit2_shutdown();
	return kluis_rm_rf(g_dir) < 0 ? -1 : 0;
}

/* An object database of the lean backend alone. */
static git_odb *lean_only(void)
{
	git_odb *odb = NULL;
	git_odb_backend *b = NULL;

	assert_int_equal(git_odb_new(&odb), 0);
	assert_int_equal(kluis_odb_lean_backend(&b, g_objects), 0);
	assert_int_equal(git_odb_add_backend(odb, b, 1), 0);
	return odb;
}

static void loose_path(const git_oid *id, char *out, size_t len)
{
	char hex[GIT_OID_HEXSZ + 1];

	git_oid_tostr(hex, sizeof(hex), id);
	snprintf(out, len, "%s/%.2s/%s", g_objects, hex, hex + 2);
}

static void same_as_libgit2(git_odb *lean, const git_oid *id)
{
	git_odb *own;
	git_odb_object *a = NULL, *b = NULL;

	assert_int_equal(git_repository_odb(&own, g_repo), 0);
	assert_int_equal(git_odb_read(&a, lean, id), 0);
	assert_int_equal(git_odb_read(&b, own, id), 0);
	assert_int_equal(git_odb_object_type(a), git_odb_object_type(b));
	assert_int_equal(git_odb_object_size(a), git_odb_object_size(b));
	assert_memory_equal(git_odb_object_data(a), git_odb_object_data(b), git_odb_object_size(b));
	assert_int_equal(((const char *)git_odb_object_data(a))[git_odb_object_size(a)], '\0');
	git_odb_object_free(a);
	git_odb_object_free(b);
	git_odb_free(own);
}

static void test_reads_what_libgit2_reads(void **state)
{
	git_odb *lean = lean_only();

	(void)state;
	same_as_libgit2(lean, &g_small);
	same_as_libgit2(lean, &g_large);
	same_as_libgit2(lean, &g_empty); /* libgit2 knows the empty blob without reading it */
	same_as_libgit2(lean, &g_tree);
	same_as_libgit2(lean, &g_commit);
	git_odb_free(lean);
}

/* Replace the loose file of `id` with zlib(raw[0..len)) (already_compressed: raw as is). */
static void put_file(const git_oid *id, const void *raw, size_t len, bool already_compressed)
{
	char path[256];
	unsigned char out[1024];
	uLongf outlen = sizeof(out);
	int fd;

	loose_path(id, path, sizeof(path));
	unlink(path);
	if (!already_compressed) {
		assert_int_equal(compress(out, &outlen, raw, (uLong)len), Z_OK);
		raw = out;
		len = outlen;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0444);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, raw, len), (ssize_t)len);
	close(fd);
}

/*
 * The small blob's file replaced as given. `damaged`: the lean odb refuses it with its own
 * "corrupted" error, and so does the repository's odb with the lean reader in front (libgit2
 * 1.5's own reader never sees it: a truncated file would make it loop forever). Not damaged
 * (a header git would not write but libgit2 takes, "blob +12"): refused by the lean reader
 * too, and read back unchanged only if libgit2's own reader is asked directly.
 */
static void refused(const void *raw, size_t len, bool already_compressed)
{
	git_odb *lean = lean_only(), *own;
	git_odb_object *o = NULL;
	git_repository *repo;
	const git_error *e;
	kluis_pointer p = { .size = 12 };
	kluis_buf head = KLUIS_BUF_INIT;

	git_oid_cpy(&p.oid, &g_small);
	assert_int_equal(kluis_sha256_buffer_hex("hallo klant\n", 12, p.sha256), 0);

	put_file(&g_small, raw, len, already_compressed);
	assert_int_equal(git_odb_read(&o, lean, &g_small), GIT_ERROR);
	e = git_error_last();
	assert_non_null(e);
	assert_non_null(strstr(e->message, "is corrupted"));
	assert_ptr_equal(strstr(e->message, "loose object "), e->message); /* as verification's findings say */
	git_odb_free(lean);

	assert_int_equal(git_repository_open_bare(&repo, g_dir), 0);
	assert_int_equal(kluis_odb_lean_loose(repo), 0);
	assert_int_equal(kluis_odb_lean_loose(repo), 0); /* once only */
	assert_int_equal(git_repository_odb(&own, repo), 0);
	assert_int_equal(git_odb_num_backends(own), 3);   /* pack, loose, lean */
	assert_int_equal(git_odb_read(&o, own, &g_small), GIT_ERROR);
	/* the streamed reader (verification's ciphertext check) takes the same files only */
	assert_int_equal(kluis_objstream_check_pointer(repo, &p, &head, NULL, NULL), KLUIS_EVERIFY);
	kluis_buf_dispose(&head);
	git_odb_free(own);
	git_repository_free(repo);
}

static void test_damaged_files_refused(void **state)
{
	static const char longer[] = "blob 5\0hallo klant\n", shorter[] = "blob 99\0hallo klant\n", badtype[] = "blub 12\0hallo klant\n",
			  nosize[] = "blob \0hallo klant\n", signs[] = "blob +12\0hallo klant\n", zeros[] = "blob 012\0hallo klant\n",
			  nonul[] = "blob 12 hallo klant\n";
	unsigned char good[1024], flipped[1024];
	uLongf glen = sizeof(good);
	const char raw[] = "blob 12\0hallo klant\n";

	(void)state;
	assert_int_equal(compress(good, &glen, (const Bytef *)raw, sizeof(raw) - 1), Z_OK);
	refused(longer, sizeof(longer) - 1, false); /* content longer than its header says (#7177) */
	refused(shorter, sizeof(shorter) - 1, false);
	refused(badtype, sizeof(badtype) - 1, false);
	refused(nosize, sizeof(nosize) - 1, false);
	refused(signs, sizeof(signs) - 1, false);
	refused(zeros, sizeof(zeros) - 1, false);
	refused(nonul, sizeof(nonul) - 1, false);
	refused(good, glen - 3, true); /* truncated: libgit2 1.5 alone loops forever (#7342) */
	memcpy(flipped, good, glen);
	flipped[glen - 1] ^= 0x40; /* the adler-32 no longer fits */
	refused(flipped, glen, true);
	refused("not zlib at all", 15, true);
	refused("", 0, true);

	/* put back, then read as before */
	put_file(&g_small, raw, sizeof(raw) - 1, false);
	{
		git_odb *lean = lean_only();
		same_as_libgit2(lean, &g_small);
		git_odb_free(lean);
	}
}

static void test_another_object_under_this_id(void **state)
{
	git_odb *lean = lean_only();
	git_odb_object *o = NULL;
	const char other[] = "blob 5\0ander";
	char path[256];

	(void)state;
	/* well-formed, but not the object this id names: returned, and libgit2's hash check
	 * refuses it */
	put_file(&g_tree, other, sizeof(other) - 1, false);
	assert_int_equal(git_odb_read(&o, lean, &g_tree), GIT_EMISMATCH);
	git_odb_free(lean);
	/* gone altogether */
	loose_path(&g_tree, path, sizeof(path));
	assert_int_equal(unlink(path), 0);
	lean = lean_only();
	assert_int_equal(git_odb_read(&o, lean, &g_tree), GIT_ENOTFOUND);
	git_odb_free(lean);
}

/* Larger than the reader takes (64 MiB inflated), though its file is small: left to libgit2. */
static void test_large_object_left_to_libgit2(void **state)
{
	size_t len = (64u << 20) + 1;
	unsigned char *zeros = calloc(1, len);
	git_odb *odb, *lean;
	git_odb_object *o = NULL;
	git_repository *repo;
	git_oid id;

	(void)state;
	assert_non_null(zeros);
	assert_int_equal(git_repository_odb(&odb, g_repo), 0);
	assert_int_equal(git_odb_write(&id, odb, zeros, len, GIT_OBJECT_BLOB), 0);
	git_odb_free(odb);
	lean = lean_only();
	assert_int_equal(git_odb_read(&o, lean, &id), GIT_ENOTFOUND); /* passed on */
	git_odb_free(lean);
	assert_int_equal(git_repository_open_bare(&repo, g_dir), 0);
	assert_int_equal(kluis_odb_lean_loose(repo), 0);
	assert_int_equal(git_repository_odb(&odb, repo), 0);
	assert_int_equal(git_odb_read(&o, odb, &id), 0);
	assert_int_equal(git_odb_object_size(o), len);
	assert_memory_equal(git_odb_object_data(o), zeros, len);
	git_odb_object_free(o);
	git_odb_free(odb);
	git_repository_free(repo);
	free(zeros);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reads_what_libgit2_reads),
		cmocka_unit_test(test_damaged_files_refused),
		cmocka_unit_test(test_another_object_under_this_id),
		cmocka_unit_test(test_large_object_left_to_libgit2),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
