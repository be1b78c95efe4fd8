/*
 * notls.c - keep Debian's libgit2 from loading the system's TLS root certificates.
 *
 * Debian builds libgit2 1.5 with mbedTLS, and git_libgit2_init() parses every certificate in
 * /etc/ssl/certs/ca-certificates.crt, unconditionally: ~54 M instructions, 44% of all that a
 * single `kluis add` executed (docs/PERFORMANCE.md). libgit2 has no option to skip it.
 *
 * kluis never opens a TLS connection through libgit2: dossiers are local repositories, and
 * push and pull run stock git as a child process, which loads its own certificates. So the
 * program defines the two mbedTLS loaders libgit2 calls. The dynamic linker binds libgit2's
 * calls to these definitions (the executable comes first in the lookup order), and they load
 * nothing. Should some code path ever make libgit2 open an HTTPS stream, it would have no
 * trusted root and refuse the server's certificate: this fails closed, never open.
 *
 * kluis_notls_calls() counts the loads skipped, so a test can tell that the interposition is
 * in effect (it stops being so if libgit2 stops calling these, which costs speed, not safety).
 */
#include "notls.h"

#include <stdatomic.h>

static atomic_uint skipped;

/* what both loaders do: count the request, load nothing; 0 is mbedTLS's "parsed, none
 * failed", and the chain stays as mbedtls_x509_crt_init left it */
static int load_nothing(void)
{
	atomic_fetch_add(&skipped, 1);
	return 0;
}

/* mbedTLS: int mbedtls_x509_crt_parse_file(mbedtls_x509_crt *chain, const char *path); */
int mbedtls_x509_crt_parse_file(void *chain, const char *path);
int mbedtls_x509_crt_parse_file(void *chain, const char *path)
{
	(void)chain, (void)path;
	return load_nothing();
}

/* mbedTLS: int mbedtls_x509_crt_parse_path(mbedtls_x509_crt *chain, const char *path); */
int mbedtls_x509_crt_parse_path(void *chain, const char *path);
int mbedtls_x509_crt_parse_path(void *chain, const char *path)
{
	(void)chain, (void)path;
	return load_nothing();
}

unsigned kluis_notls_calls(void)
{
	return atomic_load(&skipped);
}
