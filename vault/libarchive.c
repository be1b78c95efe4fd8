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

#include <pthread.h>

#ifndef KLUIS_LIBARCHIVE_SONAME
#error "KLUIS_LIBARCHIVE_SONAME must name libarchive's shared object (CMakeLists.txt sets it)"
#endif

struct kluis_libarchive kluis_archive_fn;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char load_error[256];

static void load(void)
{
	static const char *const names[] = {
#define X(f) #f,
		KLUIS_LIBARCHIVE_FUNCTIONS(X)
#undef X
	};
	void *syms[sizeof(names) / sizeof(names[0])];
	struct kluis_libarchive fn;
	size_t i = 0;

	if (kluis_dlib_open(KLUIS_LIBARCHIVE_SONAME, names, syms, sizeof(names) / sizeof(names[0]), load_error,
			    sizeof(load_error)) < 0)
		return;
#define X(f) *(void **)&fn.f = syms[i++];
	KLUIS_LIBARCHIVE_FUNCTIONS(X)
#undef X
	kluis_archive_fn = fn;
}

int kluis_libarchive_load(void)
{
	pthread_once(&once, load);
	if (load_error[0])
		return kluis_error_set(KLUIS_EGENERIC, "%s (install libarchive13)", load_error);
	return 0;
}
