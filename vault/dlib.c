/*
 * dlib.c - open a shared library and look up its functions (see dlib.h).
 */
#include "dlib.h"

#include <dlfcn.h>
#include <stdio.h>

int kluis_dlib_open(const char *soname, const char *const *names, void **syms, size_t n, char *err, size_t errlen)
{
	/* RTLD_LOCAL: its symbols serve only the table, never another library's lookups */
	void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
	size_t i;

	if (!h) {
		snprintf(err, errlen, "cannot load %s: %s", soname, dlerror());
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (!(syms[i] = dlsym(h, names[i]))) {
			snprintf(err, errlen, "%s has no %s (too old?)", soname, names[i]);
			/* the handle stays open: a library once loaded is not unloaded (its
			 * constructors ran, and unloading C++ libraries is not reliably safe) */
			return -1;
		}
	}
	return 0;
}
