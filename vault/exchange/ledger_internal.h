/*
 * ledger_internal.h - what ledger.c (writing, receipts) and ledger_verify.c (reading) share.
 */
#ifndef KLUIS_LEDGER_INTERNAL_H
#define KLUIS_LEDGER_INTERNAL_H

#include "vault/exchange/ledger.h"

#define KLUIS_LEDGER_REF "refs/heads/main"

/* A receipt (docs/LEDGER.md, "Receipts"). */
typedef struct {
	char dossier[65], sha[65], head[41], importer[41], received[21];
} kluis_receipt;

/* NULL, or what is wrong: exactly the six lines of `kluis-receipt 1`, byte for byte. */
const char *kluis_ledger_parse_receipt(const char *text, size_t len, kluis_receipt *r);

/* Whether event e has trailer `key` with exactly `value` (any of several). */
bool kluis_ledger_field_has(const kluis_ledger_event *e, const char *key, const char *value);

#endif
