/*
 * fuzz_roles.c - the roles file (keys/roles.c, kluis_roles_parse): part of every signed tree,
 * the only authority for who may act. Properties: what parses formats into text that parses to
 * the same bindings, and the rules (kluis_roles_validate) judge both alike.
 */
#include "fuzz.h"
#include "keys/roles.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	kluis_roles r = { NULL, 0 }, again = { NULL, 0 };
	kluis_buf back = KLUIS_BUF_INIT;
	size_t i;
	const char *text = fuzz_guarded(data, size);

	if (!text)
		return 0;
	if (kluis_roles_parse(&r, text, size) == 0) {
		FUZZ_CHECK(kluis_roles_format(&r, &back) == 0);
		FUZZ_CHECK(kluis_roles_parse(&again, (const char *)back.ptr, back.len) == 0);
		FUZZ_CHECK(again.n == r.n);
		for (i = 0; i < r.n; i++)
			FUZZ_CHECK(kluis_roles_of(&again, r.v[i].fpr) == kluis_roles_of(&r, r.v[i].fpr));
		FUZZ_CHECK((kluis_roles_validate(&r) == 0) == (kluis_roles_validate(&again) == 0));
	}
	kluis_roles_dispose(&r);
	kluis_roles_dispose(&again);
	kluis_buf_dispose(&back);
	return 0;
}
