/*
 * names.c - display names of keys from the public keyring (see names.h).
 *
 * Invariants: one gpgme keylist (one gpg process) per kluis_names, on first use; a failed
 * listing is not an error for the caller (the key id stands in, the error state is cleared);
 * names are copied out of gpgme, so nothing of gpgme outlives the listing.
 */
#include "vault/pgp/names.h"
#include "vault/base/error.h"

#include <gpgme.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct name {
	char fpr[41];
	char *name;
};

struct kluis_names {
	struct name *v;
	size_t n;
	bool listed;
};

int kluis_names_load(kluis_names **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : kluis_error_set(KLUIS_EGENERIC, "out of memory");
}

/* The first valid user id's name, else its address, else NULL. */
static const char *key_name(gpgme_key_t key)
{
	gpgme_user_id_t u;

	for (u = key->uids; u; u = u->next)
		if (!u->revoked && !u->invalid && u->name && *u->name)
			return u->name;
	for (u = key->uids; u; u = u->next)
		if (!u->revoked && !u->invalid && u->email && *u->email)
			return u->email;
	return NULL;
}

static void list(kluis_names *names)
{
	gpgme_ctx_t ctx = NULL;
	gpgme_key_t key;
	struct name *grown;

	names->listed = true;
	if (gpgme_new(&ctx) != 0)
		return;
	gpgme_set_protocol(ctx, GPGME_PROTOCOL_OpenPGP);
	gpgme_set_offline(ctx, 1);
	if (gpgme_op_keylist_start(ctx, NULL, 0) == 0) {
		while (gpgme_op_keylist_next(ctx, &key) == 0) {
			const char *nm = key->fpr && strlen(key->fpr) == 40 ? key_name(key) : NULL;
			if (nm && (grown = realloc(names->v, (names->n + 1) * sizeof(*grown)))) {
				names->v = grown;
				snprintf(grown[names->n].fpr, sizeof(grown[names->n].fpr), "%s", key->fpr);
				if ((grown[names->n].name = strdup(nm)))
					names->n++;
			}
			gpgme_key_unref(key);
		}
		gpgme_op_keylist_end(ctx);
	}
	gpgme_release(ctx);
}

const char *kluis_names_get(kluis_names *names, const char *fpr)
{
	size_t i, len = fpr ? strlen(fpr) : 0;

	if (!fpr)
		return "-";
	if (names && !names->listed)
		list(names);
	for (i = 0; names && len == 40 && i < names->n; i++)
		if (strcasecmp(names->v[i].fpr, fpr) == 0)
			return names->v[i].name;
	return len > 16 ? fpr + len - 16 : fpr; /* a v4 key id is the fingerprint's tail */
}

void kluis_names_free(kluis_names *names)
{
	size_t i;

	if (!names)
		return;
	for (i = 0; i < names->n; i++)
		free(names->v[i].name);
	free(names->v);
	free(names);
}
