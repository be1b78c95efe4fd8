/*
 * pgp_facts.c - what was learnt of a keyring's keys, kept between runs (see pgp.h).
 *
 * Why: starting librnp costs a short verification most of its time: the dynamic linker
 * relocating librnp, Botan and libstdc++, then librnp checking every self-signature of the
 * keyring (docs/PERFORMANCE.md). Verifying one new commit needs two facts per key: what
 * pgp_fast.c needs to check an Ed25519 signature, and the encryption key ids of the readers.
 * Both are facts of the keyring's bytes, and for keys with no expiry and no revocation (the
 * only ones pgp_fast.c will use) not of the time either.
 *
 * The text (each line one fact, every field fixed in form):
 *   kluis-keyfacts 1
 *   keyring SHA256          the keyring file's bytes they are facts of
 *   librnp SIZE MTIME_NS    the librnp that judged them; an upgrade may judge otherwise
 *   learnt UNIX_TIME        when the oldest was learnt; older than a day they are not taken,
 *                           which bounds any time-dependent judgement librnp might make
 *   sign FPR POINT PRIMARY CREATED USABLE
 *   encrypt PRIMARY N KEYID...
 * It is only as good as the place it is kept: the verifier keeps it MACed (vcache.c).
 */
#include "pgp_internal.h"
#include "error.h"
#include "util.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define FACTS_MAGIC "kluis-keyfacts 1\n"
#define FACTS_MAX_AGE (24 * 3600)

#ifndef KLUIS_LIBRNP_PATH
#error "KLUIS_LIBRNP_PATH must name librnp's shared object file (CMakeLists.txt sets it)"
#endif

static void enc_dispose(struct kluis_enc_keys *e)
{
	kluis_pgp_ids_free(e->ids, e->n);
	e->ids = NULL;
	e->n = 0;
}

void kluis_pgp_facts_forget(kluis_keyring *kr)
{
	size_t i;

	free(kr->fast);
	kr->fast = NULL;
	kr->nfast = kr->capfast = 0;
	for (i = 0; i < kr->nenc; i++)
		enc_dispose(&kr->enc[i]);
	free(kr->enc);
	kr->enc = NULL;
	kr->nenc = kr->capenc = 0;
	kr->facts_time = 0;
	kr->facts_new = false;
}

void kluis_pgp_facts_learnt(kluis_keyring *kr)
{
	if (!kr->facts_time)
		kr->facts_time = (int64_t)time(NULL);
	kr->facts_new = true;
}

struct kluis_fast_key *kluis_pgp_fast_slot(kluis_keyring *kr)
{
	struct kluis_fast_key *grown;

	if (kr->nfast == kr->capfast) {
		size_t cap = kr->capfast ? 2 * kr->capfast : 8;

		if (!(grown = realloc(kr->fast, cap * sizeof(*grown))))
			return NULL;
		kr->fast = grown;
		kr->capfast = cap;
	}
	return &kr->fast[kr->nfast];
}

/* n upper-case hex digits and nothing else, as librnp writes fingerprints and key ids */
static bool upper_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'F')))
			return false;
	return s[n] == '\0';
}

static int ids_copy(char *const *ids, size_t n, char ***out)
{
	size_t i;

	/* n + 1: an empty list is still an allocation, as kluis_keyring_encryption_keyids gives */
	if (!(*out = calloc(n + 1, sizeof(**out))))
		return kluis_error_set(KLUIS_EGENERIC, "out of memory");
	for (i = 0; i < n; i++) {
		if (!((*out)[i] = strdup(ids[i]))) {
			kluis_pgp_ids_free(*out, i);
			*out = NULL;
			return kluis_error_set(KLUIS_EGENERIC, "out of memory");
		}
	}
	return 0;
}

static struct kluis_enc_keys *enc_find(kluis_keyring *kr, const char *fpr)
{
	size_t i;

	for (i = 0; i < kr->nenc; i++)
		if (strcmp(kr->enc[i].primary, fpr) == 0)
			return &kr->enc[i];
	return NULL;
}

int kluis_pgp_enc_known(kluis_keyring *kr, const char *fpr, char ***ids, size_t *n)
{
	struct kluis_enc_keys *e = enc_find(kr, fpr);
	int err;

	if (!e)
		return 0;
	if ((err = ids_copy(e->ids, e->n, ids)) < 0)
		return err;
	*n = e->n;
	return 1;
}

/* Add a list (taking `ids`): 1 added; 0 not, the key's being known already or `fpr` not in
 * the form the text keeps (a reader named otherwise in a forged roles file must not spoil the
 * text for every other key); -1 out of memory. */
static int enc_add(kluis_keyring *kr, const char *fpr, char **ids, size_t n)
{
	struct kluis_enc_keys *grown;

	if (!upper_hex(fpr, 40) || enc_find(kr, fpr)) {
		kluis_pgp_ids_free(ids, n);
		return 0;
	}
	if (kr->nenc == kr->capenc) {
		size_t cap = kr->capenc ? 2 * kr->capenc : 8;

		if (!(grown = realloc(kr->enc, cap * sizeof(*grown)))) {
			kluis_pgp_ids_free(ids, n);
			return -1;
		}
		kr->enc = grown;
		kr->capenc = cap;
	}
	memcpy(kr->enc[kr->nenc].primary, fpr, 41);
	kr->enc[kr->nenc].ids = ids;
	kr->enc[kr->nenc].n = n;
	kr->nenc++;
	return 1;
}

void kluis_pgp_enc_remember(kluis_keyring *kr, const char *fpr, char *const *ids, size_t n)
{
	char **copy;

	/* out of memory only means it is asked of librnp again */
	if (enc_find(kr, fpr) || ids_copy(ids, n, &copy) < 0)
		return;
	if (enc_add(kr, fpr, copy, n) == 1)
		kluis_pgp_facts_learnt(kr);
}

int kluis_keyring_digest(kluis_keyring *kr, char out[65])
{
	if (!kr->ring || strlen(kr->digest) != 64)
		return KLUIS_ENOTFOUND;
	memcpy(out, kr->digest, 65);
	return 0;
}

int kluis_keyring_ready(kluis_keyring *kr)
{
	/* facts are only ever learnt from a librnp that read the keyring (pgp_fast.c, pgp.c),
	 * and taken only for the same bytes */
	if (kr->ring && (kr->nfast || kr->nenc))
		return 0;
	return kluis_keyring_rnp(kr);
}

int kluis_keyring_facts_new(kluis_keyring *kr)
{
	return kr->facts_new;
}

/* The librnp build that judged the facts: its file's size and change time. */
static bool librnp_stamp(char out[64])
{
	struct stat st;

	if (stat(KLUIS_LIBRNP_PATH, &st) != 0)
		return false;
	snprintf(out, 64, "%lld %lld", (long long)st.st_size,
		 (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec);
	return true;
}

int kluis_keyring_facts_export(kluis_keyring *kr, char **text, size_t *len)
{
	kluis_buf out = KLUIS_BUF_INIT;
	char stamp[64], fpr[41], point[65];
	size_t i, j;
	int err;

	*text = NULL;
	*len = 0;
	if (!kr->ring || !librnp_stamp(stamp))
		return KLUIS_ENOTFOUND;
	if ((err = kluis_buf_printf(&out, FACTS_MAGIC "keyring %s\nlibrnp %s\nlearnt %lld\n", kr->digest, stamp,
				    (long long)kr->facts_time)) < 0)
		goto cleanup;
	for (i = 0; i < kr->nfast; i++) {
		const struct kluis_fast_key *k = &kr->fast[i];

		sodium_bin2hex(fpr, sizeof(fpr), k->fpr, 20);
		sodium_bin2hex(point, sizeof(point), k->point, 32);
		if ((err = kluis_buf_printf(&out, "sign %s %s %s %lld %d\n", fpr, point, k->primary[0] ? k->primary : "-",
					    (long long)k->created, k->usable ? 1 : 0)) < 0)
			goto cleanup;
	}
	for (i = 0; i < kr->nenc; i++) {
		if ((err = kluis_buf_printf(&out, "encrypt %s %zu", kr->enc[i].primary, kr->enc[i].n)) < 0)
			goto cleanup;
		for (j = 0; j < kr->enc[i].n; j++)
			if ((err = kluis_buf_printf(&out, " %s", kr->enc[i].ids[j])) < 0)
				goto cleanup;
		if ((err = kluis_buf_put(&out, "\n", 1)) < 0)
			goto cleanup;
	}
	*text = (char *)out.ptr;
	*len = out.len;
	out = (kluis_buf)KLUIS_BUF_INIT;
cleanup:
	kluis_buf_dispose(&out);
	return err;
}

static bool parse_sign(const char *line, struct kluis_fast_key *k)
{
	char fpr[48], point[72], primary[48];
	long long created;
	int usable, end = 0;

	if (sscanf(line, "sign %47s %71s %47s %lld %d%n", fpr, point, primary, &created, &usable, &end) != 5 ||
	    line[end] != '\0' || (usable != 0 && usable != 1) || created < 0 ||
	    !kluis_pgp_unhex(fpr, k->fpr, 20) || !kluis_pgp_unhex(point, k->point, 32))
		return false;
	if (strcmp(primary, "-") == 0)
		primary[0] = '\0';
	else if (!upper_hex(primary, 40))
		return false;
	/* a usable key always has its primary's fingerprint (pgp_fast.c, learn_key) */
	if (usable && !primary[0])
		return false;
	snprintf(k->primary, sizeof(k->primary), "%s", primary);
	k->created = created;
	k->usable = usable == 1;
	return true;
}

static bool parse_encrypt(kluis_keyring *kr, char *line)
{
	char *save = NULL, *tok, **ids = NULL, primary[41];
	unsigned long n = 0, i = 0;

	if (!(tok = strtok_r(line, " ", &save)) || strcmp(tok, "encrypt") != 0 || !(tok = strtok_r(NULL, " ", &save)) ||
	    !upper_hex(tok, 40))
		return false;
	memcpy(primary, tok, sizeof(primary));
	if (!(tok = strtok_r(NULL, " ", &save)) || sscanf(tok, "%lu", &n) != 1 || n > 64 ||
	    !(ids = calloc(n + 1, sizeof(*ids))))
		return false;
	for (i = 0; i < n; i++) {
		if (!(tok = strtok_r(NULL, " ", &save)) || !upper_hex(tok, 16) || !(ids[i] = strdup(tok)))
			goto fail;
	}
	if (strtok_r(NULL, " ", &save))
		goto fail;
	return enc_add(kr, primary, ids, n) >= 0;
fail:
	kluis_pgp_ids_free(ids, i);
	return false;
}

int kluis_keyring_facts_import(kluis_keyring *kr, const char *text, size_t len)
{
	char *copy = NULL, *line, *save = NULL, ring[80], stamp[64], want[64];
	long long size, mtime, learnt, now = (long long)time(NULL);
	struct kluis_keyring scratch;
	struct kluis_fast_key k;
	int n = 0;
	bool ok = true;

	if (len < sizeof(FACTS_MAGIC) - 1 || memcmp(text, FACTS_MAGIC, sizeof(FACTS_MAGIC) - 1) != 0 ||
	    memchr(text, '\0', len))
		return kluis_error_set(KLUIS_EGENERIC, "not a key facts text");
	if (sscanf(text + sizeof(FACTS_MAGIC) - 1, "keyring %79s\nlibrnp %lld %lld\nlearnt %lld\n%n", ring, &size, &mtime,
		   &learnt, &n) != 4 || n == 0)
		return kluis_error_set(KLUIS_EGENERIC, "malformed key facts header");
	snprintf(stamp, sizeof(stamp), "%lld %lld", size, mtime);
	/* another keyring's, another librnp's, or too old: not facts of this one */
	if (!kr->ring || strcmp(ring, kr->digest) != 0 || !librnp_stamp(want) || strcmp(stamp, want) != 0 ||
	    learnt <= 0 || learnt > now || now - learnt > FACTS_MAX_AGE)
		return 0;
	if (!(copy = strndup(text + sizeof(FACTS_MAGIC) - 1 + (size_t)n, len - (sizeof(FACTS_MAGIC) - 1 + (size_t)n))))
		return kluis_error_set(KLUIS_EGENERIC, "out of memory");
	/* parse into a scratch keyring first: a text that is wrong anywhere is not taken at all */
	memset(&scratch, 0, sizeof(scratch));
	scratch.ring = kr->ring;
	for (line = strtok_r(copy, "\n", &save); line && ok; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "sign ", 5) == 0) {
			struct kluis_fast_key *slot;

			ok = parse_sign(line, &k) && (slot = kluis_pgp_fast_slot(&scratch)) != NULL;
			if (ok) {
				*slot = k;
				scratch.nfast++;
			}
		} else {
			ok = parse_encrypt(&scratch, line);
		}
	}
	free(copy);
	if (!ok) {
		kluis_pgp_facts_forget(&scratch);
		return kluis_error_set(KLUIS_EGENERIC, "malformed key facts");
	}
	scratch.facts_time = learnt;
	kluis_keyring_facts_merge(kr, &scratch);
	/* what was just taken is no news; an older learn time makes the whole text age sooner */
	kr->facts_new = false;
	if (!kr->facts_time || learnt < kr->facts_time)
		kr->facts_time = learnt;
	kluis_pgp_facts_forget(&scratch);
	return 0;
}

void kluis_keyring_facts_merge(kluis_keyring *into, kluis_keyring *from)
{
	struct kluis_fast_key *slot;
	size_t i, j;
	char **copy;
	bool known;

	for (i = 0; i < from->nfast; i++) {
		for (known = false, j = 0; j < into->nfast && !known; j++)
			known = memcmp(into->fast[j].fpr, from->fast[i].fpr, 20) == 0;
		if (known || !(slot = kluis_pgp_fast_slot(into)))
			continue;
		*slot = from->fast[i];
		into->nfast++;
		into->facts_new = true;
	}
	for (i = 0; i < from->nenc; i++) {
		if (enc_find(into, from->enc[i].primary) || ids_copy(from->enc[i].ids, from->enc[i].n, &copy) < 0)
			continue;
		if (enc_add(into, from->enc[i].primary, copy, from->enc[i].n) == 1)
			into->facts_new = true;
	}
	if (from->facts_time && (!into->facts_time || from->facts_time < into->facts_time))
		into->facts_time = from->facts_time;
}
