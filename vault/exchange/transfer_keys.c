/*
 * transfer_keys.c - which public keys a transfer archive carries in keys/: every key its
 * history needs, so that the archive verifies with keys/ alone (kluis import, kluis verify
 * --bundle, and stock `gpg --verify` / `git verify-commit` with only keys/ imported). They are
 * collected before the manifest is signed, which names each with its size.
 *
 * The set is the union of
 *   - the key of every commit on main and every record on refs/kluis/access, taken from its
 *     author line: the verifier holds each signer to be the author's key (replay_commit.c),
 *     and a transfer starts only from a dossier that verifies, so the author is the signer;
 *   - every key in every roles file in main's history: a key that once held a role (an
 *     adviser replaced, an opdrachtgever changed) is what an auditor looks up, signer or not.
 * Each key is exported from the exporter's keyring with its own signatures, so the revocation
 * or expiry the exporter knows of travels with it. A key that signed must be there: without
 * it the history cannot be verified. A key that only held a role and is gone from the
 * keyring is left out: nothing in the history needs it to verify. The transfer reads the
 * archive back with keys/ alone before anything is destroyed (invariant 7), so a missing key
 * that a signature needs stops the transfer there, with the dossier intact.
 */
#include "vault/store/history.h"
#include "vault/store/internal.h"
#include "vault/exchange/transfer_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The set under construction: distinct fingerprints, and whether each signed something. */
typedef struct {
	char (*fpr)[41];
	bool *signed_;
	size_t n, cap;
	git_oid *roles_seen; /* roles blobs already read (most commits share one) */
	size_t nroles, roles_cap;
} key_set;

static int key_set_add(key_set *s, const char *fpr, bool signer)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->fpr[i], fpr) == 0) {
			s->signed_[i] |= signer;
			return 0;
		}
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 16;
		char(*f)[41] = realloc(s->fpr, cap * sizeof(*f));
		bool *b;
		if (!f)
			return kluis_error_set(KLUIS_EGENERIC, "out of memory");
		s->fpr = f;
		if (!(b = realloc(s->signed_, cap * sizeof(*b))))
			return kluis_error_set(KLUIS_EGENERIC, "out of memory");
		s->signed_ = b;
		s->cap = cap;
	}
	memcpy(s->fpr[s->n], fpr, 41);
	s->signed_[s->n] = signer;
	s->n++;
	return 0;
}

/* Every key of the commit's roles file (once per distinct roles blob). */
static int add_roles_of(key_set *s, git_repository *repo, git_commit *c)
{
	git_tree *tree = NULL;
	const git_tree_entry *e;
	git_blob *blob = NULL;
	kluis_roles roles;
	const char **keys = NULL;
	size_t nkeys = 0, i;
	int err = 0;

	memset(&roles, 0, sizeof(roles));
	if (git_commit_tree(&tree, c) < 0)
		return kluis_git_fail(KLUIS_EVERIFY, "cannot read a commit's tree");
	if (!(e = git_tree_entry_byname(tree, "roles")))
		goto cleanup; /* not a dossier commit: nothing to add */
	for (i = 0; i < s->nroles; i++)
		if (git_oid_equal(&s->roles_seen[i], git_tree_entry_id(e)))
			goto cleanup;
	if (s->nroles == s->roles_cap) {
		size_t cap = s->roles_cap ? 2 * s->roles_cap : 8;
		git_oid *g = realloc(s->roles_seen, cap * sizeof(*g));
		if (!g) {
			err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
			goto cleanup;
		}
		s->roles_seen = g;
		s->roles_cap = cap;
	}
	git_oid_cpy(&s->roles_seen[s->nroles++], git_tree_entry_id(e));
	if (git_blob_lookup(&blob, repo, git_tree_entry_id(e)) < 0) {
		err = kluis_git_fail(KLUIS_EVERIFY, "cannot read a roles file in the dossier's history");
		goto cleanup;
	}
	if ((err = kluis_roles_parse(&roles, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob))) < 0 ||
	    (err = kluis_roles_keys(&roles, ~0u, &keys, &nkeys)) < 0)
		goto cleanup;
	for (i = 0; i < nkeys && err == 0; i++)
		err = key_set_add(s, keys[i], false);
cleanup:
	free(keys);
	kluis_roles_dispose(&roles);
	git_blob_free(blob);
	git_tree_free(tree);
	return err;
}

struct key_walk {
	key_set *s;
	const char *ref;
	bool with_roles;
};

/* The author's key of a commit, and with `with_roles` every key of its roles file. */
static int add_keys_of(git_commit *c, void *payload)
{
	struct key_walk *k = payload;
	const git_signature *author = git_commit_author(c);
	char fpr[41];
	int err;

	/* kluis writes `<role> <FPR>`; the verifier refused anything else before the transfer */
	if (!author || !author->email || strlen(author->email) != 40 || !kluis_fpr_normalize(author->email, fpr))
		return kluis_error_set(KLUIS_EVERIFY, "a commit of %s names no key as its author", k->ref);
	if ((err = key_set_add(k->s, fpr, true)) < 0 || !k->with_roles)
		return err;
	return add_roles_of(k->s, git_commit_owner(c), c);
}

void kluis_transfer_keys_free(kluis_transfer_key *keys, size_t n)
{
	size_t i;

	for (i = 0; keys && i < n; i++)
		free(keys[i].armored);
	free(keys);
}

int kluis_transfer_keys(git_repository *repo, kluis_keyring *kr, kluis_transfer_key **out, size_t *nout)
{
	kluis_transfer_key *keys = NULL;
	key_set s;
	size_t i, n = 0;
	int err;

	*out = NULL;
	*nout = 0;
	memset(&s, 0, sizeof(s));
	if ((err = kluis_history_walk(repo, "refs/heads/main", add_keys_of, &(struct key_walk){ &s, "refs/heads/main", true })) < 0 ||
	    (err = kluis_history_walk(repo, "refs/kluis/access", add_keys_of, &(struct key_walk){ &s, "refs/kluis/access", false })) < 0)
		goto cleanup;
	if (s.n && !(keys = calloc(s.n, sizeof(*keys)))) {
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto cleanup;
	}
	for (i = 0; i < s.n; i++) {
		if (!kluis_keyring_has_key(kr, s.fpr[i])) {
			if (!s.signed_[i])
				continue; /* only held a role: no signature needs it */
			err = kluis_error_set(KLUIS_EKEY, "key %s signed part of the dossier but is not in your keyring: import its public key (gpg --import) and transfer again",
					      s.fpr[i]);
			goto cleanup;
		}
		snprintf(keys[n].member, sizeof(keys[n].member), "keys/%s.asc", s.fpr[i]);
		if ((err = kluis_keyring_export(kr, s.fpr[i], &keys[n].armored, &keys[n].len)) < 0)
			goto cleanup;
		n++;
	}
	*out = keys;
	*nout = n;
	keys = NULL;
cleanup:
	kluis_transfer_keys_free(keys, n);
	free(s.fpr);
	free(s.signed_);
	free(s.roles_seen);
	return err;
}
