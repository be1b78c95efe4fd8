/*
 * verify.h - `kluis verify`: check SPEC invariants 1 to 7 over a dossier's whole history with
 * public keys only (an auditor's keyring is enough; no secret key is ever used).
 *
 * Signatures are checked in process with librnp (no gpg process per commit). Authority is
 * judged against the roles file at the parent commit, never against a commit's own claims or
 * timestamps. Every problem is a finding with the commit it concerns; verification goes on
 * after a finding so an auditor sees all of them.
 */
#ifndef KLUIS_VERIFY_H
#define KLUIS_VERIFY_H

#include "vault/store/vault.h"

typedef struct {
	git_oid commit;        /* zero when the finding concerns no single commit */
	char *message;
} kluis_finding;

typedef struct {
	kluis_finding *findings;
	size_t nfindings;
	size_t commits;        /* main commits checked in this run */
	size_t total_commits;  /* main commits in the history */
	size_t entries;
	size_t reads;          /* access records checked */
	size_t erased;
	bool incremental;      /* resumed from the verifier's own checkpoint */
	size_t scrubbed;       /* always 0 (kept for --json's shape) */
	git_oid head;
} kluis_verify_report;

typedef struct {
	const char *const *trust;   /* trust root fingerprints (--trust, else the vault's) */
	size_t ntrust;
	const char *witness;        /* --witness FILE or NULL */
	bool no_cache;              /* --full: replay from the root, neither read nor renew the verifier's checkpoint */
	const char *incoming;       /* the objects directory holding exactly what arrived (a bundle's scratch
				     * repository's, a push's quarantine): each object there must be one the
				     * refs reach (replay_incoming.c); NULL: the history did not just arrive */
	const char *existing;       /* with incoming: the objects directory of what was there before, or NULL */
} kluis_verify_opts;

/*
 * Verify the dossier `id` of vault `v`. Returns 0 when verification ran (look at
 * report->nfindings), negative when it could not run at all.
 */
int kluis_verify_dossier(kluis_vault *v, const char *id, const kluis_verify_opts *opts, kluis_verify_report *report);

/*
 * Verify a repository (e.g. unpacked from a bundle) holding dossier `id`, with keyring kr.
 * `state_path` (NULL: none) is where the verifier keeps its own checkpoint of this dossier
 * (replay_state.c): a run resumes from it when the history descends from it, and a clean run
 * renews it. Bundles, archives and pull pass NULL: a full replay. The server hook passes its
 * own (receive.c).
 */
int kluis_verify_repository(git_repository *repo, const char *id, kluis_keyring *kr, const kluis_verify_opts *opts,
			    const char *state_path, kluis_verify_report *report);

/*
 * `kluis verify --bundle FILE`: verify a dossier handed over as a git bundle (v2) or a transfer
 * archive, in a scratch repository under VAULT/tmp that is removed afterwards; nothing is
 * imported or cached. Trust: opts->trust, else the vault's. id_out is the dossier id its
 * head names (or the manifest, for an archive). Returns 0 when verification ran (look at
 * report->nfindings), negative when it could not (not a bundle, unreadable, no trust root,
 * or an archive whose signature, hashes or member paths fail).
 */
int kluis_verify_bundle(kluis_vault *v, const char *path, const kluis_verify_opts *opts, kluis_verify_report *report,
			char id_out[65]);

void kluis_verify_report_dispose(kluis_verify_report *r);
/* "N finding(s); first: COMMIT12 MESSAGE" (COMMIT12 "-" for none), for a one-line refusal. */
void kluis_verify_report_summary(const kluis_verify_report *r, char *out, size_t size);

#endif
