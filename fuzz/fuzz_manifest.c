/*
 * fuzz_manifest.c - the transfer archive's manifest.json as import reads it
 * (vault/exchange/transfer_check.c, kluis_check_archive): its fields are read only once its signature
 * verifies, which no mutated input could keep. So the input is the manifest alone, and each
 * one is signed with a throwaway key made at start-up (in this process's own GNUPGHOME) and
 * packed as an archive of its own: the seed dossier's bundle (fuzz/corpus/bundle), the
 * manifest, its signature and the throwaway public key in keys/. The check then goes as far as
 * the manifest leads it: its dossier, bundle_sha256, head, transfer_commit and read-log
 * fields, then the bundle; the throwaway key holds no role, so it stops at the exporter check.
 * Slow (a gpg per input), but the manifest is small.
 */
#include "fuzz.h"
#include "vault/pgp/crypto.h"
#include "vault/pgp/pgp.h"
#include "vault/exchange/transfer_internal.h"

#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *work, *archive, *home, fpr[41], trust_fpr[41], keys_member[64];
static const char *trust[] = { trust_fpr };
static kluis_buf bundle = KLUIS_BUF_INIT;
static char *pub;
static size_t publen;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	kluis_keyring *kr = NULL;
	FILE *f;

	work = malloc(strlen(fuzz_dir()) + 16);
	archive = malloc(strlen(fuzz_dir()) + 16);
	home = malloc(strlen(fuzz_dir()) + 16);
	if (!work || !archive || !home)
		abort();
	sprintf(work, "%s/work", fuzz_dir());
	sprintf(archive, "%s/in.tgz", fuzz_dir());
	sprintf(home, "%s/g", fuzz_dir());
	if (mkdir(home, 0700) < 0 || setenv("GNUPGHOME", home, 1) < 0 || kluis_repo_global_init() < 0 || kluis_crypto_init(false) < 0)
		abort();
	if (kluis_crypto_make_key("fuzz <fuzz@kluis.test>", fpr) < 0 || kluis_keyring_open_gnupg(&kr, home) < 0 ||
	    kluis_keyring_export(kr, fpr, &pub, &publen) < 0 ||
	    kluis_file_read(&bundle, KLUIS_FUZZ_DIR "/corpus/bundle/seed-transfer.bundle", 1 << 24) < 0) {
		fprintf(stderr, "fuzz: set-up: %s\n", kluis_error_last());
		abort();
	}
	kluis_keyring_free(kr);
	snprintf(keys_member, sizeof(keys_member), "keys/%s.asc", fpr);
	if (!(f = fopen(KLUIS_FUZZ_DIR "/trust", "r")) || fscanf(f, "%40s", trust_fpr) != 1)
		abort();
	fclose(f);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	kluis_transfer_progress_adapter pa = { NULL, NULL, NULL };
	kluis_archive_writer *w = NULL;
	kluis_signer *s = NULL;
	kluis_buf sig = KLUIS_BUF_INIT;
	kluis_checked_archive a;

	if (size > (1 << 20))
		return 0;
	unlink(archive);
	fuzz_clear(work, 1);
	if (kluis_signer_start(&s, fpr) < 0 || kluis_signer_sign(s, data, size, &sig) < 0 || kluis_archive_writer_open(&w, archive) < 0 ||
	    kluis_archive_add_buffer(w, "manifest.json", data, size) < 0 || kluis_archive_add_buffer(w, "manifest.json.asc", sig.ptr, sig.len) < 0 ||
	    kluis_archive_add_buffer(w, keys_member, pub, publen) < 0 || kluis_archive_add_buffer(w, "dossier.bundle", bundle.ptr, bundle.len) < 0 ||
	    kluis_archive_writer_close(w) < 0) {
		fprintf(stderr, "fuzz: cannot make the archive: %s\n", kluis_error_last());
		abort();
	}
	if (kluis_check_archive(NULL, archive, work, trust, 1, false, &pa, &a, NULL) == 0)
		kluis_checked_archive_dispose(&a);
	else if (getenv("KLUIS_FUZZ_DEBUG"))
		fprintf(stderr, "refused: %s\n", kluis_error_last());
	kluis_archive_writer_free(w);
	kluis_signer_free(s);
	kluis_buf_dispose(&sig);
	return 0;
}
