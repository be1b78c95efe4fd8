/*
 * ledger.h - the vault's ledger: a small signed git repository (VAULT/ledger.git) of lifecycle
 * events: dossiers created, transferred, imported, destroyed. It holds no personal data: ids,
 * roles, fingerprints, times, hashes, and the destruction certificates (verklaringen van
 * vernietiging, Archiefbesluit art. 8), which name only those too.
 *
 * Every event is a signed commit (linear history, Kluis-Seq numbered) whose message carries
 * the event as trailers; a destruction adds its certificate as a file of the signed tree.
 */
#ifndef KLUIS_LEDGER_H
#define KLUIS_LEDGER_H

#include "vault.h"

typedef struct {
	char key[48];
	char value[160];
} kluis_ledger_field;

typedef struct {
	git_oid commit;
	int64_t time;
	char action[16];
	char dossier[65];
	char role[24];
	char fpr[41];
	kluis_ledger_field *fields;   /* every Kluis-* trailer */
	size_t nfields;
	char *certificate;            /* the verklaring van vernietiging, for destroy events */
} kluis_ledger_event;

/*
 * Append an event. `fields` is extra trailer text ("Key: value\n" lines, may be NULL);
 * `certificate` (may be NULL) is stored as certificates/<dossier>-<stamp>.txt.
 */
int kluis_ledger_append(kluis_vault *v, const char *action, const char *dossier, const char *role,
			const char *fields, const char *certificate);

/* Every event, oldest first; with dossier non-NULL only that dossier's. */
int kluis_ledger_events(kluis_vault *v, const char *dossier, kluis_ledger_event **events, size_t *n);
void kluis_ledger_events_free(kluis_ledger_event *events, size_t n);
/* The value of field `key` of an event, or NULL. */
const char *kluis_ledger_field_get(const kluis_ledger_event *e, const char *key);

#endif
