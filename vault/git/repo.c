/*
 * repo.c - libgit2 plumbing (see repo.h).
 *
 * Invariants: refs only move by compare-and-swap (a concurrent writer is never overwritten);
 * objects are written before the refs that reach them; repositories are opened exactly where
 * asked, never by searching upward.
 */
#include "vault/git/repo.h"
#include "vault/git/objstream.h"
#include "vault/base/error.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

int kluis_repo_global_init(void)
{
	static bool done;

	if (done)
		return 0;
	if (git_libgit2_init() < 0)
		return kluis_git_fail(KLUIS_EGENERIC, "cannot start libgit2");
	/* every object and ref file is fsynced, so a commit survives a crash once its ref moved
	 * (a test build's KLUIS_NO_FSYNC, for benchmark set-up, skips that) */
	if (!KLUIS_SEAM("KLUIS_NO_FSYNC"))
		git_libgit2_opts(GIT_OPT_ENABLE_FSYNC_GITDIR, 1);
	/* kluis opens exactly the repositories it is told to (its vault's, an archive's scratch
	 * copy, a server's in quarantine), never searching upward; their owner may be another
	 * user (the server's git user runs the hook on repositories it owns, a scratch copy is
	 * ours): git's safe.directory check protects a shell that wanders into a directory, which
	 * kluis never does. Stated here, once, for the whole process. */
	git_libgit2_opts(GIT_OPT_SET_OWNER_VALIDATION, 0);
	/* libgit2 maps packs in windows of 1 GiB up to 8 GiB in all (64-bit defaults), and every
	 * page it reads stays resident in the process: reading a 1 GiB pack took 1 GiB of RSS.
	 * Small windows under a small total keep it bounded (docs/PERFORMANCE.md). */
	git_libgit2_opts(GIT_OPT_SET_MWINDOW_SIZE, (size_t)8 << 20);
	git_libgit2_opts(GIT_OPT_SET_MWINDOW_MAPPED_LIMIT, (size_t)32 << 20);
	done = true;
	return 0;
}

int kluis_git_fail(int code, const char *what)
{
	const git_error *e = git_error_last();

	return kluis_error_set(code, "%s: %s", what, e && e->message ? e->message : "libgit2 error");
}

/* Damaged loose objects are refused before libgit2 1.5's own reader, which hangs on a
 * truncated one (objstream.c): every repository kluis opens or creates reads through it. */
static int with_lean_reader(git_repository **repo, const char *what)
{
	if (kluis_odb_lean_loose(*repo) == 0)
		return 0;
	git_repository_free(*repo);
	*repo = NULL;
	return kluis_error_set(KLUIS_EGENERIC, "%s: %s", what, kluis_error_last());
}

int kluis_repo_create(git_repository **out, const char *path)
{
	git_repository_init_options opts;

	*out = NULL;
	git_repository_init_options_init(&opts, GIT_REPOSITORY_INIT_OPTIONS_VERSION);
	opts.flags = GIT_REPOSITORY_INIT_BARE | GIT_REPOSITORY_INIT_NO_REINIT | GIT_REPOSITORY_INIT_MKPATH;
	opts.mode = GIT_REPOSITORY_INIT_SHARED_UMASK;
	opts.initial_head = "main";
	if (git_repository_init_ext(out, path, &opts) < 0)
		return kluis_git_fail(KLUIS_EGENERIC, "cannot create the dossier repository");
	return with_lean_reader(out, "cannot create the dossier repository");
}

int kluis_repo_open(git_repository **out, const char *path)
{
	*out = NULL;
	if (!kluis_path_exists(path))
		return kluis_error_set(KLUIS_ENOTFOUND, "no repository at '%s'", path);
	if (git_repository_open_ext(out, path, GIT_REPOSITORY_OPEN_NO_SEARCH | GIT_REPOSITORY_OPEN_BARE, NULL) < 0)
		return kluis_git_fail(KLUIS_EGENERIC, "cannot open the repository");
	return with_lean_reader(out, "cannot open the repository");
}

int kluis_repo_ref(git_repository *repo, const char *refname, git_oid *out, bool *exists)
{
	int rc = git_reference_name_to_id(out, repo, refname);

	*exists = rc == 0;
	if (rc == GIT_ENOTFOUND)
		return 0;
	if (rc < 0)
		return kluis_git_fail(KLUIS_EGENERIC, "cannot read a ref");
	return 0;
}

int kluis_repo_ref_cas(git_repository *repo, const char *refname, const git_oid *to, const git_oid *from, const char *why)
{
	git_reference *ref = NULL;
	int rc;

	if (from)
		rc = git_reference_create_matching(&ref, repo, refname, to, 1, from, why);
	else
		rc = git_reference_create(&ref, repo, refname, to, 0, why);
	git_reference_free(ref);
	if (rc == GIT_EMODIFIED || rc == GIT_EEXISTS)
		return kluis_error_set(KLUIS_ECONFLICT, "%s moved while we were writing (a concurrent writer); nothing was lost, run the command again", refname);
	if (rc < 0)
		return kluis_git_fail(KLUIS_EGENERIC, "cannot update a ref");
	return 0;
}

struct kluis_blob_writer {
	git_writestream *stream;
	kluis_sha256 *sha;
	uint64_t size;
};

int kluis_blob_writer_new(kluis_blob_writer **out, git_repository *repo)
{
	kluis_blob_writer *w = calloc(1, sizeof(*w));
	int err;

	*out = NULL;
	if (!w)
		return kluis_error_set(KLUIS_EGENERIC, "out of memory");
	if ((err = kluis_sha256_new(&w->sha)) < 0)
		goto fail;
	if (git_blob_create_from_stream(&w->stream, repo, NULL) < 0) {
		err = kluis_git_fail(KLUIS_EGENERIC, "cannot start writing an object");
		goto fail;
	}
	*out = w;
	return 0;
fail:
	kluis_blob_writer_free(w);
	return err;
}

/*
 * libgit2 1.5 sets no error of its own when the write of an object fails (a full disk: ENOSPC),
 * so its last error is an older one that names the wrong cause; errno names the right one.
 * Call with libgit2's error cleared and errno 0 before the failed call.
 */
static int store_fail(const char *what)
{
	int saved = errno;

	if (git_error_last() || !saved)
		return kluis_git_fail(KLUIS_EGENERIC, what);
	return kluis_error_set(KLUIS_EGENERIC, "%s: %s", what, strerror(saved));
}

int kluis_blob_writer_write(void *writer, const void *data, size_t len)
{
	kluis_blob_writer *w = writer;

	git_error_clear();
	errno = 0;
	if (w->stream->write(w->stream, data, len) < 0)
		return store_fail("cannot write an object");
	kluis_sha256_update(w->sha, data, len);
	w->size += len;
	return 0;
}

int kluis_blob_writer_finish(kluis_blob_writer *w, kluis_pointer *out)
{
	git_writestream *stream = w->stream;

	w->stream = NULL; /* _commit frees the stream whatever happens */
	git_error_clear();
	errno = 0;
	if (git_blob_create_from_stream_commit(&out->oid, stream) < 0)
		return store_fail("cannot store an object");
	kluis_sha256_hex(w->sha, out->sha256);
	out->size = w->size;
	return 0;
}

void kluis_blob_writer_free(kluis_blob_writer *w)
{
	if (!w)
		return;
	if (w->stream)
		w->stream->free(w->stream);
	kluis_sha256_free(w->sha);
	free(w);
}

int kluis_repo_blob(git_repository *repo, const void *data, size_t len, git_oid *out)
{
	git_error_clear();
	errno = 0;
	if (git_blob_create_from_buffer(out, repo, data, len) < 0)
		return store_fail("cannot store an object");
	return 0;
}

static bool lower_hex64(const char *s)
{
	size_t i;

	for (i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[64] == '\0';
}

int kluis_pointer_format(const kluis_pointer *p, kluis_buf *out)
{
	char hex[GIT_OID_HEXSZ + 1];

	if (!lower_hex64(p->plain))
		return kluis_error_set(KLUIS_EGENERIC, "a pointer without its plaintext commitment (a bug in kluis)");
	git_oid_tostr(hex, sizeof(hex), &p->oid);
	return kluis_buf_printf(out, "kluis-pointer 2\noid %s\nsha256 %s\nsize %" PRIu64 "\nplain %s\n", hex, p->sha256, p->size, p->plain);
}

int kluis_pointer_parse(kluis_pointer *p, const char *text, size_t len)
{
	char oid[64], sha[80], plain[80], buf[256];
	unsigned long long size;

	if (len >= sizeof(buf))
		return kluis_error_set(KLUIS_EVERIFY, "pointer too large");
	memcpy(buf, text, len);
	buf[len] = '\0';
	if (strncmp(buf, "kluis-pointer 1\n", 16) == 0)
		return kluis_error_set(KLUIS_EVERIFY, "malformed pointer: version 1 (no plaintext commitment) is no longer accepted");
	if (sscanf(buf, "kluis-pointer 2\noid %63s\nsha256 %79s\nsize %llu\nplain %79s\n", oid, sha, &size, plain) != 4 ||
	    strlen(oid) != GIT_OID_HEXSZ || strlen(sha) != 64 || git_oid_fromstr(&p->oid, oid) < 0)
		return kluis_error_set(KLUIS_EVERIFY, "malformed pointer");
	if (!lower_hex64(sha))
		return kluis_error_set(KLUIS_EVERIFY, "malformed pointer sha256");
	if (!lower_hex64(plain))
		return kluis_error_set(KLUIS_EVERIFY, "malformed pointer plain");
	memcpy(p->sha256, sha, 65);
	memcpy(p->plain, plain, 65);
	p->size = size;
	{
		/* signed content: accept only the canonical form, byte for byte */
		kluis_buf canon = KLUIS_BUF_INIT;
		bool same = kluis_pointer_format(p, &canon) == 0 && canon.len == len && memcmp(canon.ptr, text, len) == 0;
		kluis_buf_dispose(&canon);
		if (!same)
			return kluis_error_set(KLUIS_EVERIFY, "pointer not in canonical form");
	}
	return 0;
}

int kluis_pointer_load(git_repository *repo, const kluis_pointer *p, git_blob **out)
{
	git_blob *blob = NULL;
	char sha[65], hex[GIT_OID_HEXSZ + 1];
	int err;

	*out = NULL;
	git_oid_tostr(hex, sizeof(hex), &p->oid);
	if (git_blob_lookup(&blob, repo, &p->oid) < 0)
		return kluis_error_set(KLUIS_EVERIFY, "ciphertext object %s is missing", hex);
	if ((uint64_t)git_blob_rawsize(blob) != p->size ||
	    (err = kluis_sha256_buffer_hex(git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob), sha)) < 0 ||
	    strcmp(sha, p->sha256) != 0) {
		git_blob_free(blob);
		return kluis_error_set(KLUIS_EVERIFY, "ciphertext object %s does not match its signed pointer (size or sha256)", hex);
	}
	*out = blob;
	return 0;
}

int kluis_repo_read_path(git_repository *repo, const git_tree *tree, const char *path, kluis_buf *out)
{
	git_tree_entry *te = NULL;
	git_blob *blob = NULL;
	int rc, err;

	rc = git_tree_entry_bypath(&te, tree, path);
	if (rc == GIT_ENOTFOUND)
		return kluis_error_set(KLUIS_ENOTFOUND, "'%s' not found", path);
	if (rc < 0)
		return kluis_git_fail(KLUIS_EGENERIC, "cannot read the tree");
	if (git_tree_entry_type(te) != GIT_OBJECT_BLOB) {
		err = kluis_error_set(KLUIS_EVERIFY, "'%s' is not a file", path);
		goto cleanup;
	}
	if (git_blob_lookup(&blob, repo, git_tree_entry_id(te)) < 0) {
		err = kluis_error_set(KLUIS_ENOTFOUND, "object for '%s' is missing", path);
		goto cleanup;
	}
	err = kluis_buf_put(out, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob));
cleanup:
	git_blob_free(blob);
	git_tree_entry_free(te);
	return err;
}

int kluis_repo_commit(git_repository *repo, const git_oid *tree_id, const git_oid *parent_id, const char *name,
		      const char *email, int64_t when, const char *message, kluis_signer *signer, git_oid *out)
{
	git_signature *sig = NULL;
	git_tree *tree = NULL;
	git_commit *parent = NULL;
	git_buf content = { 0 };
	kluis_buf armored = KLUIS_BUF_INIT;
	const git_commit *parents[1];
	int err;

	if (git_signature_new(&sig, name, email, (git_time_t)when, 0) < 0 ||
	    git_tree_lookup(&tree, repo, tree_id) < 0 ||
	    (parent_id && git_commit_lookup(&parent, repo, parent_id) < 0)) {
		err = kluis_git_fail(KLUIS_EGENERIC, "cannot prepare a commit");
		goto cleanup;
	}
	parents[0] = parent;
	if (!signer) {
		if (git_commit_create(out, repo, NULL, sig, sig, NULL, message, tree, parent ? 1 : 0, parents) < 0)
			err = kluis_git_fail(KLUIS_EGENERIC, "cannot write a commit");
		else
			err = 0;
		goto cleanup;
	}
	if (git_commit_create_buffer(&content, repo, sig, sig, NULL, message, tree, parent ? 1 : 0, parents) < 0) {
		err = kluis_git_fail(KLUIS_EGENERIC, "cannot prepare a commit");
		goto cleanup;
	}
	if ((err = kluis_signer_sign(signer, content.ptr, content.size, &armored)) < 0)
		goto cleanup;
	if (git_commit_create_with_signature(out, repo, content.ptr, (const char *)armored.ptr, "gpgsig") < 0) {
		err = kluis_git_fail(KLUIS_EGENERIC, "cannot write a signed commit");
		goto cleanup;
	}
	err = 0;
cleanup:
	kluis_buf_dispose(&armored);
	git_buf_dispose(&content);
	git_commit_free(parent);
	git_tree_free(tree);
	git_signature_free(sig);
	return err;
}

/*
 * kluis moves its refs only while it holds the dossier's flock, so a libgit2 ref lock file
 * found by the holder of the flock was left by a kluis process that was killed while it
 * updated that ref (the flock died with it; the .lock file did not). Left in place it would
 * refuse every later write ("failed to lock file"): invariant 7 wants the next write to work.
 */
static void clear_stale_ref_locks(const char *repo_path)
{
	static const char *const locks[] = { "refs/heads/main.lock", "refs/kluis/content.lock", "refs/kluis/access.lock" };
	char *path;
	size_t i;

	for (i = 0; i < sizeof(locks) / sizeof(locks[0]); i++)
		if ((path = kluis_path_join(repo_path, locks[i])) != NULL) {
			(void)unlink(path);
			free(path);
		}
}

int kluis_repo_lock(const char *repo_path, int *fd_out)
{
	char *path = kluis_path_join(repo_path, "kluis.lock");
	int fd;

	*fd_out = -1;
	if (!path)
		return kluis_error_set(KLUIS_EGENERIC, "out of memory");
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	free(path);
	if (fd < 0)
		return kluis_error_set(KLUIS_EGENERIC, "cannot open the dossier lock: %s", strerror(errno));
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			close(fd);
			return kluis_error_set(KLUIS_EGENERIC, "cannot lock the dossier: %s", strerror(errno));
		}
	}
	clear_stale_ref_locks(repo_path);
	*fd_out = fd;
	return 0;
}

void kluis_repo_unlock(int fd)
{
	if (fd >= 0) {
		flock(fd, LOCK_UN);
		close(fd);
	}
}
