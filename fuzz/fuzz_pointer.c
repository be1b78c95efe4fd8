/*
 * fuzz_pointer.c - the pointer file (vault/git/repo.c, kluis_pointer_parse): every entry's meta and
 * body, the dossier info and an erasure's reason are named by one in the signed tree, so each
 * comes from whoever wrote the history. Properties: what parses is in canonical form, so
 * formatting it gives back the input byte for byte.
 */
#include "fuzz.h"
#include "vault/git/repo.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	kluis_pointer p;
	kluis_buf back = KLUIS_BUF_INIT;
	const char *text = fuzz_guarded(data, size);

	if (!text)
		return 0;
	if (kluis_pointer_parse(&p, text, size) == 0) {
		FUZZ_CHECK(kluis_pointer_format(&p, &back) == 0);
		FUZZ_CHECK(back.len == size && memcmp(back.ptr, data, size) == 0);
	}
	kluis_buf_dispose(&back);
	return 0;
}
