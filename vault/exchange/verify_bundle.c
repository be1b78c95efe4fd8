/*
 * verify_bundle.c - `kluis verify --bundle FILE`: an auditor verifies a dossier handed over as
 * a file, without importing it, with public keys only.
 *
 * FILE is either a plain git bundle of a dossier (what `git bundle create` or kluis's own
 * writer makes of refs/heads/main, refs/kluis/content and refs/kluis/access) or a kluis
 * transfer archive (SPEC "Transfer archive"), in which case the manifest, its signature, the
 * bundle's sha256 and the exporter are checked too, exactly as `kluis import` checks them.
 * Either way the objects go into a scratch repository under VAULT/tmp (ciphertext and
 * metadata only, never plaintext), the whole history is verified there with the verifier's
 * rules, and the scratch repository is removed on every path. Nothing is cached: a bundle
 * has no identity of its own to cache against.
 */
#include "vault/store/internal.h"
#include "vault/exchange/bundle.h"
#include "vault/exchange/lifecycle.h"
#include "vault/verify/verify.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const dossier_refs[] = { "refs/heads/main", "refs/kluis/content", "refs/kluis/access" };

enum file_kind { FILE_UNKNOWN, FILE_BUNDLE, FILE_ARCHIVE };

static int sniff(const char *path, enum file_kind *kind)
{
	static const char bundle_sig[] = "# v2 git bundle\n";
	unsigned char head[sizeof(bundle_sig) - 1];
	ssize_t n;
	int fd;

	*kind = FILE_UNKNOWN;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return kluis_error_set(errno == ENOENT ? KLUIS_ENOTFOUND : KLUIS_EGENERIC, "cannot open '%s': %s", path, strerror(errno));
	n = read(fd, head, sizeof(head));
	close(fd);
	if (n == (ssize_t)sizeof(head) && memcmp(head, bundle_sig, sizeof(head)) == 0)
		*kind = FILE_BUNDLE;
	else if (n >= 2 && head[0] == 0x1f && head[1] == 0x8b)
		*kind = FILE_ARCHIVE;
	if (*kind == FILE_UNKNOWN)
		return kluis_error_set(KLUIS_EINVAL, "'%s' is neither a git bundle (v2) nor a kluis transfer archive (tar.gz)", path);
	return 0;
}

/* The dossier id as the head commit's own `dossier` file states it. */
static int dossier_id_of(git_repository *repo, const git_oid *head, char id[65])
{
	git_commit *c = NULL;
	git_tree *tree = NULL;
	kluis_buf text = KLUIS_BUF_INIT;
	kluis_dossier_file f;
	int err;

	if (git_commit_lookup(&c, repo, head) < 0 || git_commit_tree(&tree, c) < 0) {
		err = kluis_git_fail(KLUIS_EVERIFY, "the bundle's main commit cannot be read");
		goto cleanup;
	}
	if ((err = kluis_repo_read_path(repo, tree, "dossier", &text)) < 0 ||
	    (err = kluis_dossier_file_parse(&f, (const char *)text.ptr, text.len)) < 0) {
		err = kluis_error_set(KLUIS_EVERIFY, "the bundle's head has no valid dossier file: %s", kluis_error_last());
		goto cleanup;
	}
	snprintf(id, 65, "%s", f.id);
cleanup:
	kluis_buf_dispose(&text);
	git_tree_free(tree);
	git_commit_free(c);
	return err;
}

static int verify_plain_bundle(kluis_vault *v, const char *path, const char *work, const kluis_verify_opts *opts,
			       kluis_verify_report *rep, char id_out[65])
{
	git_repository *repo = NULL;
	kluis_bundle_ref *refs = NULL;
	kluis_keyring *kr;
	kluis_verify_opts o = *opts;
	const char *const *trust = opts->trust;
	char *repo_path = kluis_path_join(work, "dossier.git"), *objects = NULL;
	size_t nrefs = 0, ntrust = opts->ntrust, i, j;
	git_oid head;
	bool have_head = false;
	int err;

	if (!repo_path)
		return kluis_error_set(KLUIS_EGENERIC, "out of memory");
	if (!ntrust && (err = kluis_vault_trust(v, &trust, &ntrust)) < 0)
		goto cleanup;
	if (!ntrust) {
		err = kluis_error_set(KLUIS_EINVAL, "no trust root to verify '%s' from: name the key that created the dossier with --trust FPR", path);
		goto cleanup;
	}
	if ((err = kluis_vault_keyring(v, &kr)) < 0 || (err = kluis_keyring_ready(kr)) < 0 ||
	    (err = kluis_repo_create(&repo, repo_path)) < 0)
		goto cleanup;
	if ((err = kluis_bundle_read(repo, path, &refs, &nrefs, NULL, NULL)) < 0)
		goto cleanup;
	for (i = 0; i < nrefs; i++) {
		bool known = strcmp(refs[i].name, "HEAD") == 0;
		for (j = 0; j < sizeof(dossier_refs) / sizeof(dossier_refs[0]); j++)
			known |= strcmp(refs[i].name, dossier_refs[j]) == 0;
		if (!known) {
			err = kluis_error_set(KLUIS_EVERIFY, "the bundle carries a ref that is no part of a dossier: '%s'", refs[i].name);
			goto cleanup;
		}
		if (strcmp(refs[i].name, "HEAD") == 0)
			continue;
		if ((err = kluis_repo_ref_cas(repo, refs[i].name, &refs[i].oid, NULL, "verify --bundle")) < 0)
			goto cleanup;
		if (strcmp(refs[i].name, "refs/heads/main") == 0) {
			git_oid_cpy(&head, &refs[i].oid);
			have_head = true;
		}
	}
	if (!have_head) {
		err = kluis_error_set(KLUIS_EVERIFY, "the bundle carries no refs/heads/main: it is not a dossier");
		goto cleanup;
	}
	if ((err = dossier_id_of(repo, &head, id_out)) < 0)
		goto cleanup;
	o.trust = trust;
	o.ntrust = ntrust;
	o.no_cache = true;
	if (!(objects = kluis_path_join(repo_path, "objects"))) {
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto cleanup;
	}
	o.incoming = objects;  /* the scratch repository holds exactly what the bundle brought */
	err = kluis_verify_repository(repo, id_out, kr, &o, NULL, rep);
cleanup:
	kluis_bundle_refs_free(refs, nrefs);
	git_repository_free(repo);
	free(repo_path);
	free(objects);
	return err;
}

int kluis_verify_bundle(kluis_vault *v, const char *path, const kluis_verify_opts *opts, kluis_verify_report *rep, char id_out[65])
{
	enum file_kind kind;
	char *work = NULL;
	int err;

	memset(rep, 0, sizeof(*rep));
	id_out[0] = '\0';
	if ((err = sniff(path, &kind)) < 0 || (err = kluis_vault_workdir(v, "verify", &work)) < 0)
		return err;
	if (kind == FILE_BUNDLE)
		err = verify_plain_bundle(v, path, work, opts, rep, id_out);
	else
		err = kluis_archive_verify(v, path, work, opts, rep, id_out);
	kluis_rm_rf(work);
	free(work);
	return err;
}
