/*
 * event.h - the vault's event hooks (SPEC invariant 5): after every commit on a dossier's main
 * kluis runs the executable VAULT/hooks/post-commit, if present, so the klant can be told
 * (W6b); VAULT/hooks/post-add, the older name, still runs after each addition (add,
 * statement, correct, consent). hooks/notify-mail is a post-commit hook that sends the klant
 * an e-mail.
 *
 * A hook gets ids, kinds, roles, fingerprints and times, never plaintext: the arguments
 * `DOSSIER ACTION ENTRY...`; the environment KLUIS_DOSSIER, KLUIS_ACTION, KLUIS_VAULT,
 * KLUIS_COMMIT, KLUIS_TIME (the commit's, ISO 8601 UTC), KLUIS_KLANT and
 * KLUIS_VERTEGENWOORDIGER (fingerprints, space-separated); and
 * on stdin the event as one JSON object (docs/SPEC.md, "Hooks"). Its output goes to stderr so
 * that kluis's stdout stays machine-readable.
 *
 * Delivery is at least once: the commit queues its event (kluis_hook_queue, a file in
 * VAULT/hooks/queue/) before any hook runs, and the event leaves the queue only when its hook
 * exits 0. kluis runs the queue at the end of every command that opened the vault
 * (kluis_hook_run_queue), so a hook that failed is retried by the next command.
 */
#ifndef KLUIS_HOOKS_EVENT_H
#define KLUIS_HOOKS_EVENT_H

#include "keys/roles.h"

#include <git2.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Queue the event of commit (just made on the main of dossier, whose roles are now roles)
 * for each hook of vault_root that is present and applies to its action. Costs two stat(2)
 * calls when there is no hook. The event file is durable when this returns 0.
 */
int kluis_hook_queue(const char *vault_root, const char *dossier, git_commit *commit, const kluis_roles *roles);

typedef struct {
	size_t ran;     /* hooks run */
	size_t failed;  /* of which failed (exit status not 0, or could not start): still queued */
	int status;     /* the last failure's exit status (127: could not start) */
} kluis_hook_run_result;

/*
 * Run the queue once, oldest event first, each at most once: an event whose hook exits 0
 * leaves the queue; a failure stays with its attempt counted, and the dossier's later events
 * wait for the next run (each klant hears of his changes in order). Another kluis running
 * the queue at the same moment makes this a no-op. Cheap when nothing is queued (one open).
 */
int kluis_hook_run_queue(const char *vault_root, kluis_hook_run_result *res);

typedef struct {
	char file[160];        /* its name in VAULT/hooks/queue/ */
	char hook[16];         /* post-commit or post-add */
	char dossier[65];
	char action[16];
	char commit[41];
	unsigned long long seq;
	int64_t queued;        /* when the commit queued it */
	unsigned attempts;     /* failed runs so far */
	int status;            /* the last failure's exit status, -1 when never run */
	int64_t last_attempt;  /* 0 when never run */
	char error[200];       /* the last failure, one line */
} kluis_hook_pending;

/* What is queued, oldest first (*out NULL and *n 0 when nothing is). */
int kluis_hook_pending_list(const char *vault_root, kluis_hook_pending **out, size_t *n);

#endif
