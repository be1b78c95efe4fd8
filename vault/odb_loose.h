/*
 * odb_loose.h - a lean and strict reader of loose objects, put in front of libgit2's own
 * backends (libgit2 1.5 hangs on a truncated loose object; see odb_loose.c).
 */
#ifndef KLUIS_ODB_LOOSE_H
#define KLUIS_ODB_LOOSE_H

#include <git2.h>
#include <git2/sys/odb_backend.h>

/*
 * Add to repo's object database (once) a read-only backend, tried before libgit2's, that reads
 * loose objects with fewer system calls and refuses damaged ones with "loose object ID is
 * corrupted: ..." (GIT_ERROR_ODB). What it returns is hashed and checked by libgit2 like any
 * object read; objects that are not loose, or too large, are left to libgit2's backends.
 */
int kluis_odb_lean_loose(git_repository *repo);

/* The backend alone, reading from objects_dir (for an odb of one's own, and for tests). */
int kluis_odb_lean_backend(git_odb_backend **out, const char *objects_dir);

#endif
