/*
 * fuzz_trailers.c - the trailers as `kluis log`, `audit`, the consent register and the
 * sequence numbers read them (vault/store/history.c, kluis_event_from_commit; vault/store/dossier.c,
 * kluis_trailer_get), through libgit2's commit parser: what a dossier imported or pulled from
 * elsewhere says of its consent and request records before anything is verified.
 *
 * Each input is written as a commit object into an object database in memory. Property: the
 * event's strings are terminated within their fields, and an entry it names is a string.
 */
#include "fuzz.h"
#include "vault/store/internal.h"

#include <git2/sys/mempack.h>
#include <string.h>

static git_repository *repo;
static git_odb_backend *mempack;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_mempack(&repo, &mempack);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const keys[] = { "Kluis-Seq", "Kluis-Consent", "Kluis-Withdraws", "Kluis-Supersedes", "Kluis-Kind" };
	git_odb *odb = NULL;
	git_commit *c = NULL;
	kluis_event ev;
	git_oid oid;
	char val[128];
	size_t i;

	if (git_repository_odb(&odb, repo) < 0 || git_odb_write(&oid, odb, data, size, GIT_OBJECT_COMMIT) < 0)
		abort();
	if (git_commit_lookup(&c, repo, &oid) == 0) {
		if (kluis_event_from_commit(c, size & 1, &ev) == 0) {
			FUZZ_CHECK(memchr(ev.action, '\0', sizeof(ev.action)) && memchr(ev.kind, '\0', sizeof(ev.kind)) &&
				   memchr(ev.role, '\0', sizeof(ev.role)) && memchr(ev.purpose, '\0', sizeof(ev.purpose)));
			for (i = 0; i < ev.nentries; i++)
				FUZZ_CHECK(ev.entries[i] != NULL);
			for (i = 0; i < ev.nentries; i++)
				free(ev.entries[i]);
			free(ev.entries);
		}
		for (i = 0; i < sizeof(keys) / sizeof(*keys); i++)
			if (kluis_trailer_get(git_commit_message(c), keys[i], val, sizeof(val)))
				FUZZ_CHECK(memchr(val, '\0', sizeof(val)) != NULL);
		git_commit_free(c);
	}
	git_odb_free(odb);
	git_mempack_reset(mempack);
	return 0;
}
