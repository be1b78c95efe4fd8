/*
 * libarchive.c - load libarchive on first use.
 *
 * libarchive brings in fifteen shared libraries (libxml2, ICU, nettle, OpenSSL's libcrypto,
 * lzma, zstd, ...). Only transfer, import, export and verify --bundle need it, but linked
 * normally every command paid for mapping and relocating them: ~3.5 ms of each start on this
 * kind of machine, where page faults are dear (docs/PERFORMANCE.md). So it is opened with
 * dlopen by the commands that use it. The soname is fixed at build time (CMakeLists.txt), so
 * the library is the one the headers came from.
 */
#define KLUIS_LIBARCHIVE_IMPL
#include "libarchive.h"
#include "dlib.h"
#include "error.h"

#ifndef KLUIS_LIBARCHIVE_SONAME
#error "KLUIS_LIBARCHIVE_SONAME must name libarchive's shared object (CMakeLists.txt sets it)"
#endif

struct kluis_libarchive kluis_archive_fn;

static const char *const names[] = { KLUIS_LIBARCHIVE_FUNCTIONS(KLUIS_DLIB_NAME) };

/* the table must be exactly the functions named, in order (kluis_dlib_load fills it whole) */
_Static_assert(sizeof(kluis_archive_fn) == sizeof(names) / sizeof(names[0]) * sizeof(void *), "table and names differ");

static struct kluis_dlib lib = {
	.soname = KLUIS_LIBARCHIVE_SONAME,
	.names = names,
	.n = sizeof(names) / sizeof(names[0]),
	.table = &kluis_archive_fn,
	.code = KLUIS_EGENERIC,
	.package = "libarchive13",
};

int kluis_libarchive_load(void)
{
	return kluis_dlib_load(&lib);
}
