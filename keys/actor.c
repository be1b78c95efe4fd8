/*
 * actor.c - actor selection (see actor.h).
 *
 * --as and KLUIS_KEY are taken as given (a full fingerprint) without asking gpg: the dossier's
 * roles file decides whether that key may act, and signing proves the secret key is here.
 * Only the fallback lists secret keys, which costs one gpg process.
 */
#include "actor.h"
#include "vault/crypto.h"
#include "vault/error.h"
#include "vault/util.h"

#include <stdlib.h>
#include <string.h>

int kluis_actor_resolve(const char *as, char out[41])
{
	const char *env = getenv("KLUIS_KEY");
	char **fprs = NULL;
	size_t n = 0;
	int err;

	if (as) {
		if (!kluis_fpr_normalize(as, out))
			return kluis_error_set(KLUIS_EINVAL, "--as '%s' is not a 40-digit key fingerprint", as);
		return 0;
	}
	if (env && *env) {
		if (!kluis_fpr_normalize(env, out))
			return kluis_error_set(KLUIS_EINVAL, "KLUIS_KEY '%s' is not a 40-digit key fingerprint", env);
		return 0;
	}
	if ((err = kluis_crypto_secret_keys(&fprs, &n)) < 0)
		return err;
	if (n == 1) {
		memcpy(out, fprs[0], 40);
		out[40] = '\0';
		err = 0;
	} else if (n == 0) {
		err = kluis_error_set(KLUIS_EKEY, "no usable secret key in GNUPGHOME; set GNUPGHOME or import your key");
	} else {
		err = kluis_error_set(KLUIS_EKEY, "%zu secret keys in GNUPGHOME; choose one with --as FPR or KLUIS_KEY", n);
	}
	kluis_strings_free(fprs, n);
	return err;
}
