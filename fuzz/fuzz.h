/*
 * fuzz.h - what the libFuzzer targets (fuzz/fuzz_*.c) share: a scratch directory made once
 * per process, the input written to a file there for the parsers that read a path, and a
 * check that stops the run (a crash libFuzzer keeps) when a property of a parser fails.
 *
 * Every target calls the library's own function on the bytes, never a copy of its code. A
 * target may keep state across inputs only when it cannot change what a later input does
 * (a keyring, an empty repository that is emptied again).
 */
#ifndef KLUIS_FUZZ_H
#define KLUIS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* The process's scratch directory (0700, removed at exit; under $TMPDIR, else /dev/shm):
 * made on the first call. */
const char *fuzz_dir(void);
/* Write the input to fuzz_dir()/NAME (replacing it); its path, owned by the caller. */
char *fuzz_write(const char *name, const uint8_t *data, size_t size);
/*
 * A copy of the input that ends where a page the process may not read begins: a parser that
 * reads one byte past `size` faults at once, even inside libc (sscanf's search for a NUL,
 * which ASan does not see). Valid until the next call; NULL for an input over 64 KiB (no
 * text kluis parses this way comes near that size).
 */
const char *fuzz_guarded(const uint8_t *data, size_t size);
/* Remove PATH and everything below it; the empty directory again when keep_dir. */
void fuzz_clear(const char *path, int keep_dir);

/* An object database in memory (libgit2's mempack) wrapped in a repository, made once: the
 * commit targets write each input into it as a commit object, and empty it after. */
struct git_repository;
struct git_odb_backend;
void fuzz_mempack(struct git_repository **repo, struct git_odb_backend **mempack);
/* The public keys of the seed dossiers (fuzz/keys.asc), for the targets that check signatures. */
struct kluis_keyring;
struct kluis_keyring *fuzz_keyring(void);

/* A property of the parser does not hold: say which and abort, so libFuzzer keeps the input. */
#define FUZZ_CHECK(cond)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz: %s:%d: property failed: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#endif
