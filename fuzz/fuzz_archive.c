/*
 * fuzz_archive.c - the transfer archive as import takes it in (vault/transfer_check.c,
 * kluis_check_archive): the gzip and tar reader with its limits and member rules
 * (vault/archive.c), the keys in keys/, the manifest's signature, and for an archive whose
 * signature holds (the seeds) the manifest, the bundle and the whole history. The reader's
 * own keyring is not used (as an auditor with an empty one); the trust root is the seed
 * dossiers' directie (fuzz/trust). The work directory is emptied before each input.
 */
#include "fuzz.h"
#include "vault/transfer_internal.h"

#include <string.h>

static char *work;
static char trust_fpr[41];
static const char *trust[] = { trust_fpr };

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if (kluis_repo_global_init() < 0)
		abort();
	work = malloc(strlen(fuzz_dir()) + 8);
	if (!work)
		abort();
	sprintf(work, "%s/work", fuzz_dir());
	/* the seed dossiers' directie, written beside their keys by fuzz/make_corpus.sh */
	FILE *f = fopen(KLUIS_FUZZ_DIR "/trust", "r");
	if (!f || fscanf(f, "%40s", trust_fpr) != 1)
		abort();
	fclose(f);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *path = fuzz_write("in.tar.gz", data, size);
	kluis_transfer_progress_adapter pa = { NULL, NULL };
	kluis_checked_archive a;

	fuzz_clear(work, 1);
	if (kluis_check_archive(NULL, path, work, trust, 1, false, &pa, &a, NULL) == 0)
		kluis_checked_archive_dispose(&a);
	else if (getenv("KLUIS_FUZZ_DEBUG"))
		fprintf(stderr, "refused: %s\n", kluis_error_last());
	free(path);
	return 0;
}
