/*
 * dlib.h - a shared library opened on first use, its functions looked up by name.
 *
 * Why: libarchive and librnp (with Botan and libstdc++) cost every command's start-up
 * milliseconds of mapping and relocation when linked, and most commands never call them
 * (docs/PERFORMANCE.md). libarchive.c and librnp.c open them with this when first needed.
 */
#ifndef KLUIS_DLIB_H
#define KLUIS_DLIB_H

#include <stddef.h>

/*
 * dlopen `soname` and look up names[0..n) into syms[0..n). 0 on success; -1 with a one-line
 * reason in err (the library missing, or a function it lacks) otherwise. Not thread-safe:
 * callers run it under pthread_once.
 */
int kluis_dlib_open(const char *soname, const char *const *names, void **syms, size_t n, char *err, size_t errlen);

#endif
