/*
 * nossh.c - keep libgit2's global init from initialising libssh2 (and through it OpenSSL).
 *
 * git_libgit2_init() calls libssh2_init(0) for its SSH transport, and libssh2 1.10 then sets
 * up OpenSSL's algorithm tables and engines: about 1 ms of every kluis command on this kind of
 * VM, half of what starting libgit2 costs (docs/PERFORMANCE.md). kluis never opens an SSH
 * connection through libgit2: dossiers are local repositories, and push and pull run stock git
 * as a child process.
 *
 * So the program defines libssh2_init and libssh2_exit, as notls.c does for mbedTLS's
 * certificate loaders: the dynamic linker binds libgit2's calls to these definitions. This
 * loses nothing: should a session ever be opened, libssh2_session_init_ex() initialises the
 * library itself first (its internal libssh2_init_if_needed calls its own libssh2_init, not
 * this one), and OpenSSL 3 initialises itself on first use.
 *
 * kluis_nossh_calls() counts the skipped inits, so a test can tell the interposition is in
 * effect.
 */
#include "nossh.h"

#include <stdatomic.h>

static atomic_uint skipped;

/* libssh2: int libssh2_init(int flags); 0 is success */
int libssh2_init(int flags);
int libssh2_init(int flags)
{
	(void)flags;
	atomic_fetch_add(&skipped, 1);
	return 0;
}

/* libssh2: void libssh2_exit(void); libgit2 calls it at shutdown, after a libssh2_init that
 * did nothing, so there is nothing to undo */
void libssh2_exit(void);
void libssh2_exit(void)
{
}

unsigned kluis_nossh_calls(void)
{
	return atomic_load(&skipped);
}
