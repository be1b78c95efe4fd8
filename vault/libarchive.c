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
#include "error.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

#ifndef KLUIS_LIBARCHIVE_SONAME
#error "KLUIS_LIBARCHIVE_SONAME must name libarchive's shared object (CMakeLists.txt sets it)"
#endif

struct kluis_libarchive kluis_archive_fn;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char load_error[256];

static void load(void)
{
	void *h = dlopen(KLUIS_LIBARCHIVE_SONAME, RTLD_NOW | RTLD_LOCAL);
	struct kluis_libarchive fn;

	if (!h) {
		snprintf(load_error, sizeof(load_error), "cannot load %s: %s", KLUIS_LIBARCHIVE_SONAME, dlerror());
		return;
	}
#define X(f)                                                                                         \
	if (!(*(void **)&fn.f = dlsym(h, #f))) {                                                     \
		snprintf(load_error, sizeof(load_error), "%s has no %s (too old?)", KLUIS_LIBARCHIVE_SONAME, #f); \
		return;                                                                              \
	}
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
