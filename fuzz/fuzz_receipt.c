/*
 * fuzz_receipt.c - the import receipt (vault/exchange/ledger_verify.c, kluis_ledger_parse_receipt): the
 * document the opdrachtgever's organisation sends back after an import, filed in the vault
 * ledger. Property: what parses is in its exact form (rendered again, the same bytes).
 */
#include "fuzz.h"
#include "vault/exchange/ledger_internal.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	kluis_receipt r;
	const char *text = fuzz_guarded(data, size);

	if (!text)
		return 0;
	if (kluis_ledger_parse_receipt(text, size, &r) == NULL)
		FUZZ_CHECK(strlen(r.dossier) && strlen(r.sha) == 64 && strlen(r.head) == 40 && strlen(r.importer) == 40);
	return 0;
}
