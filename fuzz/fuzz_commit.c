/*
 * fuzz_commit.c - the strict commit parser of the verifier (vault/verify/replay_commit.c,
 * kluis_rcommit_read): headers, author line, the gpgsig armor, subject and trailers of every
 * commit of main and of the read log (refs/kluis/access) are read byte for byte, and the
 * signature checked against the seed dossiers' public keys. The consent and request records
 * reach the verifier this way: their kind, grant or withdrawal and references are trailers.
 *
 * Each input is written as a commit object into an object database in memory and read back
 * through a replay with a report of its own. Property: a commit that parses has a subject and
 * at least one trailer, and its author is a fingerprint (40 upper-case hex).
 */
#include "fuzz.h"
#include "vault/pgp/pgp.h"
#include "vault/verify/replay.h"

#include <git2/sys/mempack.h>
#include <string.h>

static git_repository *repo;
static git_odb_backend *mempack;
static kluis_keyring *kr;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_mempack(&repo, &mempack);
	kr = fuzz_keyring();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	kluis_verify_opts opts;
	kluis_verify_report rep;
	replay r;
	rcommit c;
	git_odb *odb = NULL;
	git_oid oid;

	memset(&opts, 0, sizeof(opts));
	memset(&rep, 0, sizeof(rep));
	memset(&r, 0, sizeof(r));
	r.repo = repo;
	r.kr = kr;
	r.opts = &opts;
	r.rep = &rep;
	r.id = "fuzz";
	if (git_repository_odb(&odb, repo) < 0 || git_odb_write(&oid, odb, data, size, GIT_OBJECT_COMMIT) < 0)
		abort();
	if (kluis_rcommit_read(&r, &oid, &c) == 0) {
		FUZZ_CHECK(c.subject && c.ntr > 0);
		FUZZ_CHECK(strlen(c.author_fpr) == 40 && strcmp(c.signer, c.author_fpr) == 0);
	} else {
		FUZZ_CHECK(rep.nfindings > 0);
	}
	kluis_rcommit_dispose(&c);
	kluis_verify_report_dispose(&rep);
	git_odb_free(odb);
	git_mempack_reset(mempack);
	return 0;
}
