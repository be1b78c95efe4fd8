/*
 * fuzz_archive.c - the transfer archive as import takes it in (vault/exchange/transfer_check.c,
 * kluis_check_archive): the gzip and tar reader with its limits and member rules
 * (vault/exchange/archive.c), the keys in keys/, the manifest's signature, and for an archive whose
 * signature holds (the seeds) the manifest, the bundle and the whole history. The reader's
 * own keyring is not used (as an auditor with an empty one); the trust root is the seed
 * dossiers' directie (fuzz/trust). The work directory is emptied before each input.
 *
 * A mutated gzip stream almost never inflates (its CRC), so the mutator mostly works on the
 * tar inside: it inflates the input, lets libFuzzer mutate the tar and compresses it again
 * (zlib's gzip wrapper); one input in four is mutated as it is, for the gzip reader itself.
 */
#include "fuzz.h"
#include "vault/exchange/transfer_internal.h"

#include <stdbool.h>
#include <string.h>
#include <zlib.h>

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
	kluis_transfer_progress_adapter pa = { NULL, NULL, NULL };
	kluis_checked_archive a;

	fuzz_clear(work, 1);
	if (kluis_check_archive(NULL, path, work, trust, 1, false, &pa, &a, NULL) == 0)
		kluis_checked_archive_dispose(&a);
	else if (getenv("KLUIS_FUZZ_DEBUG"))
		fprintf(stderr, "refused: %s\n", kluis_error_last());
	free(path);
	return 0;
}

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);

/* gzip (windowBits 16 + 15) in or out of `in`, into `out` of `cap` bytes: its length, or 0. */
static size_t gz(bool deflating, const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
	z_stream z;
	size_t n = 0;
	int rc;

	memset(&z, 0, sizeof(z));
	if ((deflating ? deflateInit2(&z, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) : inflateInit2(&z, 31)) != Z_OK)
		return 0;
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)len;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	rc = deflating ? deflate(&z, Z_FINISH) : inflate(&z, Z_FINISH);
	if (rc == Z_STREAM_END)
		n = z.total_out;
	if (deflating)
		deflateEnd(&z);
	else
		inflateEnd(&z);
	return n;
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
	static uint8_t tar[1 << 20];
	size_t n;

	if (seed % 4 == 0 || !(n = gz(false, data, size, tar, sizeof(tar))))
		return LLVMFuzzerMutate(data, size, max_size);
	n = LLVMFuzzerMutate(tar, n, sizeof(tar));
	n = gz(true, tar, n, data, max_size);
	return n ? n : LLVMFuzzerMutate(data, size, max_size);
}
