/*
 * fuzz_bundle.c - the git bundle reader (vault/exchange/bundle_read.c, kluis_bundle_read): the header
 * of refs and the pack of a transfer archive's dossier.bundle, read into a scratch repository
 * as import does. The repository is made again for each input, so no object one input left
 * changes what the next one does. Property: a bundle that reads advertises valid refs.
 *
 * The pack ends in the SHA-1 of its bytes, which a mutation breaks, so the reader would refuse
 * nearly every input at the end of the pack: the mutator writes that trailer again after
 * libFuzzer's mutation (the pack being what follows the header's empty line).
 */
#include "fuzz.h"
#include "vault/exchange/bundle_internal.h"
#include "vault/git/repo.h"

#include <gcrypt.h>
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

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
	const uint8_t *sep;
	size_t start;

	size = LLVMFuzzerMutate(data, size, max_size);
	if (seed % 4 == 0 || !(sep = memmem(data, size, "\n\n", 2)))
		return size;
	start = (size_t)(sep - data) + 2;
	if (size - start >= PACK_HEADER + PACK_TRAILER)
		gcry_md_hash_buffer(GCRY_MD_SHA1, data + size - PACK_TRAILER, data + start, size - start - PACK_TRAILER);
	return size;
}
