/*
 * librnp.c - load librnp on first use.
 *
 * librnp brings Botan 2 and libstdc++: linked normally, mapping and relocating them cost
 * every kluis command ~10 ms of its start on this kind of machine (an empty C program starts
 * in 4.6 ms, 14.7 ms linked with -lrnp; docs/PERFORMANCE.md), and many commands (show, log,
 * a verification the cache answers) never need it. So it is opened with dlopen when a
 * keyring first needs it. The soname is fixed at build time (CMakeLists.txt), so the library is the one
 * the headers came from.
 */
#define KLUIS_LIBRNP_IMPL
#include "librnp.h"
#include "dlib.h"
#include "error.h"

#ifndef KLUIS_LIBRNP_SONAME
#error "KLUIS_LIBRNP_SONAME must name librnp's shared object (CMakeLists.txt sets it)"
#endif

struct kluis_librnp kluis_rnp_fn;

static const char *const names[] = { KLUIS_LIBRNP_FUNCTIONS(KLUIS_DLIB_NAME) };

/* the table must be exactly the functions named, in order (kluis_dlib_load fills it whole) */
_Static_assert(sizeof(kluis_rnp_fn) == sizeof(names) / sizeof(names[0]) * sizeof(void *), "table and names differ");

static struct kluis_dlib lib = {
	.soname = KLUIS_LIBRNP_SONAME,
	.names = names,
	.n = sizeof(names) / sizeof(names[0]),
	.table = &kluis_rnp_fn,
	.code = KLUIS_ECRYPTO,
	.package = "librnp0",
};

int kluis_librnp_load(void)
{
	return kluis_dlib_load(&lib);
}
