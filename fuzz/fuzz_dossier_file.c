/*
 * fuzz_dossier_file.c - the dossier file (vault/store/dossier.c, kluis_dossier_file_parse): the id,
 * state, times and retention of a dossier, in every signed tree. Property: what parses
 * formats into text that parses to the same values.
 */
#include "fuzz.h"
#include "vault/store/internal.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	kluis_dossier_file f, again;
	kluis_buf back = KLUIS_BUF_INIT;
	const char *text = fuzz_guarded(data, size);

	if (!text)
		return 0;
	if (kluis_dossier_file_parse(&f, text, size) == 0) {
		FUZZ_CHECK(kluis_dossier_file_format(&f, &back) == 0);
		FUZZ_CHECK(kluis_dossier_file_parse(&again, (const char *)back.ptr, back.len) == 0);
		FUZZ_CHECK(strcmp(f.id, again.id) == 0 && strcmp(f.state, again.state) == 0);
		FUZZ_CHECK(f.created == again.created && f.closed == again.closed && f.retention_years == again.retention_years);
	}
	kluis_buf_dispose(&back);
	return 0;
}
