/*
 * fuzz_bundle.c - the git bundle reader (vault/bundle_read.c, kluis_bundle_read): the header
 * of refs and the pack of a transfer archive's dossier.bundle, read into a scratch repository
 * as import does. The repository is made again for each input, so no object one input left
 * changes what the next one does. Property: a bundle that reads advertises valid refs.
 */
#include "fuzz.h"
#include "vault/bundle_internal.h"
#include "vault/repo.h"

#include <string.h>

static char *repo_path;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if (kluis_repo_global_init() < 0)
		abort();
	repo_path = malloc(strlen(fuzz_dir()) + 8);
	if (!repo_path)
		abort();
	sprintf(repo_path, "%s/r.git", fuzz_dir());
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *path = fuzz_write("dossier.bundle", data, size);
	git_repository *repo = NULL;
	kluis_bundle_ref *refs = NULL;
	size_t nrefs = 0, i;

	fuzz_clear(repo_path, 0);
	if (kluis_repo_create(&repo, repo_path) < 0)
		abort();
	if (kluis_bundle_read(repo, path, &refs, &nrefs, NULL, NULL) == 0)
		for (i = 0; i < nrefs; i++)
			FUZZ_CHECK(kluis_bundle_refname_ok(refs[i].name));
	else
		FUZZ_CHECK(refs == NULL && nrefs == 0);
	kluis_bundle_refs_free(refs, nrefs);
	git_repository_free(repo);
	free(path);
	return 0;
}
