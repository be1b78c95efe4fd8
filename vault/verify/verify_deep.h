/*
 * verify_deep.h - `kluis verify ID --deep`: with the actor's secret key (a reading role),
 * decrypt everything the head state holds (the dossier info, each entry's metadata and body,
 * each erasure's reason) and check it against its pointer's plaintext commitment
 * (commitment.h, SPEC invariant 8). The public-key verifier cannot: it sees ciphertext only.
 *
 * It reads, so it is logged as `show` is: one signed access record per entry (and one, entry
 * `-`, for the info), purpose `verify-deep`, each before that entry is decrypted.
 */
#ifndef KLUIS_VERIFY_DEEP_H
#define KLUIS_VERIFY_DEEP_H

#include "vault/verify/verify.h"

typedef struct {
	kluis_finding *findings; /* each with the head commit checked */
	size_t nfindings;
	size_t objects;          /* plaintexts that matched their commitment */
	size_t entries;          /* entries looked at (erased ones included) */
	size_t unreadable;       /* objects not encrypted to the actor's key (not checked) */
	git_oid head;
} kluis_deep_report;

/*
 * Check dossier `id`'s head state. Returns 0 when the check ran (look at report->nfindings;
 * a mismatch, a missing or undecryptable object is a finding), negative when it could not
 * run (no such dossier, the actor holds no reading role, an access record cannot be signed).
 */
int kluis_verify_deep(kluis_vault *v, const char *id, kluis_deep_report *report);
void kluis_deep_report_dispose(kluis_deep_report *r);

#endif
