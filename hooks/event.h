/*
 * event.h - the vault's event hooks (SPEC invariant 5): after every addition kluis runs the
 * executable VAULT/hooks/post-add, if present, so the klant can be told (W6b).
 *
 * The hook gets ids only, never plaintext: arguments `DOSSIER ACTION ENTRY...`, and the
 * environment KLUIS_DOSSIER, KLUIS_ACTION, KLUIS_VAULT. Its stdin is /dev/null and its output
 * goes to stderr so that kluis's stdout stays machine-readable.
 */
#ifndef KLUIS_HOOKS_EVENT_H
#define KLUIS_HOOKS_EVENT_H

#include <stddef.h>

/* Run the post-add hook; *status is its exit status, or -1 when there is none. Returns 0
 * unless the hook could not be started (its own failure is reported through *status). */
int kluis_hook_post_add(const char *vault_root, const char *dossier, const char *action,
			const char (*entries)[22], size_t n, int *status);

#endif
