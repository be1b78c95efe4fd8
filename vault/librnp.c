/*
 * librnp.c - load librnp on first use.
 *
 * librnp brings Botan 2 and libstdc++: linked normally, mapping and relocating them cost
 * every kluis command ~10 ms of its start on this kind of machine (an empty C program starts
 * in 4.6 ms, 14.7 ms linked with -lrnp; docs/PERFORMANCE.md). Most runs never need it: a
 * verification whose signatures are all of kluis's own Ed25519 form, by keys already judged,
 * is checked with libsodium (pgp_fast.c). So it is opened with dlopen when a keyring first
 * needs it. The soname is fixed at build time (CMakeLists.txt), so the library is the one
 * the headers came from.
 */
#define KLUIS_LIBRNP_IMPL
#include "librnp.h"
#include "dlib.h"
#include "error.h"

#include <pthread.h>

#ifndef KLUIS_LIBRNP_SONAME
#error "KLUIS_LIBRNP_SONAME must name librnp's shared object (CMakeLists.txt sets it)"
#endif

struct kluis_librnp kluis_rnp_fn;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char load_error[256];

static void load(void)
{
	static const char *const names[] = {
#define X(f) #f,
		KLUIS_LIBRNP_FUNCTIONS(X)
#undef X
	};
	void *syms[sizeof(names) / sizeof(names[0])];
	struct kluis_librnp fn;
	size_t i = 0;

	if (kluis_dlib_open(KLUIS_LIBRNP_SONAME, names, syms, sizeof(names) / sizeof(names[0]), load_error,
			    sizeof(load_error)) < 0)
		return;
#define X(f) *(void **)&fn.f = syms[i++];
	KLUIS_LIBRNP_FUNCTIONS(X)
#undef X
	kluis_rnp_fn = fn;
}

int kluis_librnp_load(void)
{
	pthread_once(&once, load);
	if (load_error[0])
		return kluis_error_set(KLUIS_ECRYPTO, "%s (install librnp0)", load_error);
	return 0;
}
