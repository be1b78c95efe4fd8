/*
 * dlib.c - open a shared library and fill a table of its functions (see dlib.h).
 */
#include "dlib.h"
#include "error.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* one lock for every library: each is loaded once, so nobody waits long */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void open_library(struct kluis_dlib *lib)
{
	/* RTLD_LOCAL: its symbols serve only the table, never another library's lookups */
	void *h = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
	void **syms;
	size_t i;

	if (!h) {
		snprintf(lib->error, sizeof(lib->error), "cannot load %s: %s", lib->soname, dlerror());
		return;
	}
	if (!(syms = calloc(lib->n, sizeof(*syms)))) {
		snprintf(lib->error, sizeof(lib->error), "out of memory loading %s", lib->soname);
		return;
	}
	for (i = 0; i < lib->n; i++) {
		if (!(syms[i] = dlsym(h, lib->names[i]))) {
			snprintf(lib->error, sizeof(lib->error), "%s has no %s (too old?)", lib->soname, lib->names[i]);
			/* the handle stays open: a library once loaded is not unloaded (its
			 * constructors ran, and unloading C++ libraries is not reliably safe) */
			free(syms);
			return;
		}
	}
	/* POSIX makes a function pointer and void * the same representation (dlsym relies on
	 * it); the table is filled only when every function was found */
	memcpy(lib->table, syms, lib->n * sizeof(*syms));
	free(syms);
}

int kluis_dlib_load(struct kluis_dlib *lib)
{
	pthread_mutex_lock(&lock);
	if (!lib->tried) {
		open_library(lib);
		lib->tried = true;
	}
	pthread_mutex_unlock(&lock);
	if (lib->error[0])
		return kluis_error_set(lib->code, "%s (install %s)", lib->error, lib->package);
	return 0;
}
