/*
 * dlib.h - a shared library opened on first use, its functions looked up into a table.
 *
 * Why: libarchive and librnp (with Botan and libstdc++) cost every command's start-up
 * milliseconds of mapping and relocation when linked, and most commands never call them
 * (docs/PERFORMANCE.md). libarchive.c and librnp.c describe each one with a kluis_dlib and
 * call kluis_dlib_load before their first call into it.
 */
#ifndef KLUIS_DLIB_H
#define KLUIS_DLIB_H

#include <stdbool.h>
#include <stddef.h>

struct kluis_dlib {
	const char *soname;
	const char *const *names; /* the functions, in the order of the table's members */
	size_t n;
	void *table;              /* a struct of exactly n function pointers, filled on success */
	int code;                 /* the KLUIS_E* code of the error when it cannot be loaded */
	const char *package;      /* named in the error: the Debian package that ships it */
	/* kluis_dlib_load's own */
	bool tried;
	char error[256];
};

/* Every function name of an X-macro list, as the initializer of a names array. */
#define KLUIS_DLIB_NAME(f) #f,

/*
 * Open the library and fill its table, once (thread-safe; later calls only give the result):
 * 0, or a one-line error (lib->code) naming the library, what failed and the package.
 */
int kluis_dlib_load(struct kluis_dlib *lib);

#endif
