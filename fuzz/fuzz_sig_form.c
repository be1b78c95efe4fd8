/*
 * fuzz_sig_form.c - the form every signature must have before librnp judges it
 * (vault/pgp/pgp_form.c, kluis_pgp_sig_form): commit signatures, the ledger's, transfer
 * manifests' and receipts' all come from whoever wrote them. Properties: what is accepted
 * names a 40-hex issuer, and is the one canonical encoding of its packet (a changed byte of
 * an accepted input that decodes to the same packet cannot also be accepted, which the
 * re-encoding compare gives; here: accepted input is ASCII and ends in the END line).
 */
#include "fuzz.h"
#include "vault/pgp/pgp.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char endl[] = "-----END PGP SIGNATURE-----";
	char issuer[41];
	size_t i, n = size;

	if (kluis_pgp_sig_form(data, size, issuer) != 0)
		return 0;
	FUZZ_CHECK(strlen(issuer) == 40 && strspn(issuer, "0123456789ABCDEF") == 40);
	for (i = 0; i < size; i++)
		FUZZ_CHECK(data[i] == '\n' || (data[i] >= 0x20 && data[i] < 0x7f));
	while (n > 0 && data[n - 1] == '\n')
		n--;
	FUZZ_CHECK(n >= sizeof(endl) - 1 && memcmp(data + n - (sizeof(endl) - 1), endl, sizeof(endl) - 1) == 0);
	FUZZ_CHECK(size - n <= 2);
	return 0;
}
