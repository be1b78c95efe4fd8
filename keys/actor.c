/*
 * actor.c - actor selection (see actor.h).
 *
 * A full fingerprint (--as or KLUIS_KEY) is taken as given without asking gpg: the dossier's
 * roles file decides whether that key may act, and signing proves the secret key is here.
 * Anything shorter (a key id, the tail of a fingerprint, part of a name or e-mail address)
 * and the fallback list the secret keys, which costs one gpg process; a choice that is not
 * exactly one key is an error that names the candidates, never a guess.
 */
#include "keys/actor.h"
#include "vault/pgp/crypto.h"
#include "vault/base/error.h"
#include "vault/base/util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CANDIDATES_MAX 8  /* named in an error; more are counted */

/* A key selector of 8 to 40 hex digits (spaces allowed, an 0x prefix too), upper-cased. */
static bool hex_selector(const char *sel, char out[41])
{
	size_t k = 0;

	if (sel[0] == '0' && (sel[1] == 'x' || sel[1] == 'X'))
		sel += 2;
	for (; *sel; sel++) {
		if (*sel == ' ')
			continue;
		if (!isxdigit((unsigned char)*sel) || k == 40)
			return false;
		out[k++] = (char)toupper((unsigned char)*sel);
	}
	out[k] = '\0';
	return k >= 8;
}

static bool matches(const char *sel, const char *hex, const char *fpr, const char *uid)
{
	size_t hl = strlen(hex);

	if (*hex && strcmp(fpr + 40 - hl, hex) == 0)
		return true;
	/* a name or address: case-insensitive part of the user id */
	for (; *uid; uid++)
		if (strncasecmp(uid, sel, strlen(sel)) == 0)
			return true;
	return false;
}

/* "FPR16 (user id), ..." of the listed keys, for an error message. */
static void describe(char *buf, size_t size, char **fprs, char **uids, const bool *pick, size_t n)
{
	size_t i, len = 0, shown = 0, total = 0;

	buf[0] = '\0';
	for (i = 0; i < n; i++) {
		if (pick && !pick[i])
			continue;
		if (total++ >= CANDIDATES_MAX)
			continue;
		len += (size_t)snprintf(buf + len, len < size ? size - len : 0, "%s%s%s%s%s", shown++ ? ", " : "", fprs[i] + 24,
					uids[i][0] ? " (" : "", uids[i], uids[i][0] ? ")" : "");
		if (len >= size)
			len = size;
	}
	if (total > CANDIDATES_MAX && len < size)
		snprintf(buf + len, size - len, " and %zu more", total - CANDIDATES_MAX);
}

int kluis_actor_resolve(const char *as, char out[41])
{
	const char *sel = as, *env = getenv("KLUIS_KEY"), *from = "--as";
	char **fprs = NULL, **uids = NULL, hex[41] = "", list[1024];
	bool *pick = NULL;
	size_t n = 0, i, hits = 0, hit = 0;
	int err;

	if (!sel && env && *env) {
		sel = env;
		from = "KLUIS_KEY";
	}
	if (sel && !*sel)
		return kluis_error_set(KLUIS_EINVAL, "%s is empty; give a fingerprint, a key id or part of a name", from);
	if (sel && kluis_fpr_normalize(sel, out))
		return 0;
	if (sel && !hex_selector(sel, hex))
		hex[0] = '\0';
	if ((err = kluis_crypto_secret_keys(&fprs, &uids, &n)) < 0)
		return err;
	if (n == 0) {
		err = kluis_error_set(KLUIS_EKEY, "no usable secret key in GNUPGHOME; set GNUPGHOME or import your key");
		goto cleanup;
	}
	if (!(pick = calloc(n, sizeof(*pick)))) {
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto cleanup;
	}
	for (i = 0; i < n; i++)
		if (!sel || matches(sel, hex, fprs[i], uids[i])) {
			pick[i] = true;
			hits++;
			hit = i;
		}
	if (hits == 1) {
		memcpy(out, fprs[hit], 40);
		out[40] = '\0';
		err = 0;
	} else if (!sel) {
		describe(list, sizeof(list), fprs, uids, NULL, n);
		err = kluis_error_set(KLUIS_EKEY, "%zu secret keys in GNUPGHOME (%s); choose one with --as KEY or KLUIS_KEY", n, list);
	} else if (hits == 0) {
		describe(list, sizeof(list), fprs, uids, NULL, n);
		err = kluis_error_set(KLUIS_EINVAL, "%s '%s' matches no secret key in GNUPGHOME (%s)", from, sel, list);
	} else {
		describe(list, sizeof(list), fprs, uids, pick, n);
		err = kluis_error_set(KLUIS_EINVAL, "%s '%s' matches %zu secret keys (%s); give more of the fingerprint", from,
				      sel, hits, list);
	}
cleanup:
	free(pick);
	kluis_strings_free(fprs, n);
	kluis_strings_free(uids, n);
	return err;
}
