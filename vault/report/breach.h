/*
 * breach.h - the vault's data-breach register (WerkPro P15; GDPR art. 33: report to the
 * Autoriteit Persoonsgegevens within 72 hours of discovery). A small signed git repository,
 * VAULT/breaches.git: each breach is a signed commit whose tree holds the record encrypted to
 * the vault's trust roots (the directie); the commit shows only ids and times.
 */
#ifndef KLUIS_BREACH_H
#define KLUIS_BREACH_H

#include "vault/store/vault.h"

typedef struct {
	char id[KLUIS_ENTRY_ID_LEN + 1];
	kluis_buf record;    /* decrypted JSON: the breach, or {"reported", "breach"} */
} kluis_breach;

/* Record a breach found at `found` (description encrypted); id_out gets its id. */
int kluis_breach_add(kluis_vault *v, int64_t found, const char *description, const char *const *dossiers, size_t ndossiers,
		     char id_out[KLUIS_ENTRY_ID_LEN + 1]);
/* Record that breach `id` was reported to the Autoriteit Persoonsgegevens. */
int kluis_breach_reported(kluis_vault *v, const char *id, int64_t when);
/* Every breach, decrypted (the actor must hold a trust-root key). */
int kluis_breach_list(kluis_vault *v, kluis_breach **out, size_t *n);
void kluis_breaches_free(kluis_breach *b, size_t n);

#endif
