/*
 * breach.c - the data-breach register (see breach.h).
 */
#include "vault/report/breach.h"
#include "vault/pgp/crypto.h"
#include "vault/store/internal.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BREACH_REF "refs/heads/main"
#define HOURS_72 (72 * 3600)

static int open_register(kluis_vault *v, git_repository **repo, char **path)
{
	*repo = NULL;
	*path = kluis_path_join(v->root, "breaches.git");
	if (!*path)
		return kluis_error_set(KLUIS_EGENERIC, "out of memory");
	return kluis_path_exists(*path) ? kluis_repo_open(repo, *path) : kluis_repo_create(repo, *path);
}

static int buf_sink(void *ctx, const void *data, size_t len)
{
	return kluis_buf_put(ctx, data, len);
}

/*
 * One signed commit adding `name` (ciphertext of `plain`) to the register. For a report,
 * `breach` names the breach it reports: it must be in the register and not reported yet, and
 * only the directie reports. The commit names the signer's role: directie for a trust root,
 * else medewerker (anyone on the staff may record a breach the moment they find it).
 */
static int append(kluis_vault *v, const char *name, const char *plain, const char *subject, const char *trailers, const char *breach)
{
	git_repository *repo = NULL;
	git_commit *head_commit = NULL;
	git_tree *head_tree = NULL, *empty = NULL;
	git_treebuilder *tb = NULL;
	kluis_signer *signer = NULL;
	kluis_keyring *kr;
	kluis_buf ct = KLUIS_BUF_INIT, msg = KLUIS_BUF_INIT;
	git_tree_update upd;
	git_oid head, tree, blob, commit;
	const char *const *trust;
	const char *actor;
	char *path = NULL;
	size_t ntrust;
	bool exists, directie;
	int lock = -1, err;

	if ((err = kluis_vault_trust(v, &trust, &ntrust)) < 0)
		return err;
	if (!ntrust)
		return kluis_error_set(KLUIS_EINVAL, "the vault has no trust root (the directie) to encrypt the breach register to; create a dossier first");
	if ((err = kluis_vault_actor(v, &actor)) < 0 || (err = kluis_vault_keyring(v, &kr)) < 0 ||
	    (err = kluis_pgp_encrypt_buffer(kr, trust, ntrust, plain, strlen(plain), buf_sink, &ct)) < 0 ||
	    (err = open_register(v, &repo, &path)) < 0 || (err = kluis_vault_take_signer(v, &signer)) < 0 ||
	    (err = kluis_repo_lock(path, &lock)) < 0 || (err = kluis_repo_ref(repo, BREACH_REF, &head, &exists)) < 0 ||
	    (err = kluis_repo_blob(repo, ct.ptr, ct.len, &blob)) < 0)
		goto cleanup;
	if (exists && (git_commit_lookup(&head_commit, repo, &head) < 0 || git_commit_tree(&head_tree, head_commit) < 0)) {
		err = kluis_git_fail(KLUIS_EVERIFY, "cannot read the breach register");
		goto cleanup;
	}
	/* the directie (a trust root) answers for the register and reports to the Autoriteit
	 * Persoonsgegevens */
	directie = kluis_strings_has(trust, ntrust, actor);
	if (breach) {
		char recorded[64];
		git_tree_entry *te = NULL;
		bool known;
		snprintf(recorded, sizeof(recorded), "breaches/%s.pgp", breach);
		if (!directie) {
			err = kluis_error_set(KLUIS_EACCESS, "only the directie (the vault's trust root) reports a breach to the Autoriteit Persoonsgegevens");
			goto cleanup;
		}
		known = head_tree && git_tree_entry_bypath(&te, head_tree, recorded) == 0;
		git_tree_entry_free(te);
		te = NULL;
		if (!known) {
			err = kluis_error_set(KLUIS_ENOTFOUND, "no breach %s in the register (kluis breach list)", breach);
			goto cleanup;
		}
		if (git_tree_entry_bypath(&te, head_tree, name) == 0) {
			git_tree_entry_free(te);
			err = kluis_error_set(KLUIS_ESTATE, "breach %s is already recorded as reported (kluis breach list)", breach);
			goto cleanup;
		}
	}
	if (!head_tree) {
		git_oid e;
		if (git_treebuilder_new(&tb, repo, NULL) < 0 || git_treebuilder_write(&e, tb) < 0 || git_tree_lookup(&empty, repo, &e) < 0) {
			err = kluis_git_fail(KLUIS_EGENERIC, "cannot build the register tree");
			goto cleanup;
		}
	}
	memset(&upd, 0, sizeof(upd));
	upd.action = GIT_TREE_UPDATE_UPSERT;
	upd.filemode = GIT_FILEMODE_BLOB;
	upd.path = name;
	git_oid_cpy(&upd.id, &blob);
	if (git_tree_create_updated(&tree, repo, head_tree ? head_tree : empty, 1, &upd) < 0) {
		err = kluis_git_fail(KLUIS_EGENERIC, "cannot build the register tree");
		goto cleanup;
	}
	if ((err = kluis_buf_printf(&msg, "%s\n\n%s", subject, trailers)) < 0 ||
	    (err = kluis_repo_commit(repo, &tree, exists ? &head : NULL, directie ? "directie" : "medewerker", actor, kluis_now(),
				     (const char *)msg.ptr, signer, &commit)) < 0)
		goto cleanup;
	err = kluis_repo_ref_cas(repo, BREACH_REF, &commit, exists ? &head : NULL, subject);
cleanup:
	kluis_repo_unlock(lock);
	kluis_signer_free(signer);
	kluis_buf_dispose(&ct);
	kluis_buf_dispose(&msg);
	git_treebuilder_free(tb);
	git_tree_free(empty);
	git_tree_free(head_tree);
	git_commit_free(head_commit);
	git_repository_free(repo);
	free(path);
	return err;
}

int kluis_breach_add(kluis_vault *v, int64_t found, const char *description, const char *const *dossiers, size_t ndossiers,
		     char id_out[KLUIS_ENTRY_ID_LEN + 1])
{
	json_t *j = NULL, *arr = json_array();
	kluis_buf trailers = KLUIS_BUF_INIT;
	char stamp[17], rnd[5], name[64], f[21], dl[21], *text = NULL;
	size_t i;
	int err;

	if (!description || !*description)
		return kluis_error_set(KLUIS_EINVAL, "a breach needs --description TEXT (stored encrypted)");
	kluis_time_stamp(kluis_now(), stamp);
	if ((err = kluis_random_hex(rnd, 4)) < 0)
		goto cleanup;
	snprintf(id_out, KLUIS_ENTRY_ID_LEN + 1, "%s-%s", stamp, rnd);
	kluis_time_iso(found, f);
	kluis_time_iso(found + HOURS_72, dl);
	for (i = 0; i < ndossiers; i++)
		json_array_append_new(arr, json_string(dossiers[i]));
	j = json_pack("{s:s, s:s, s:s, s:s, s:O}", "id", id_out, "found", f, "report_deadline", dl, "description", description, "dossiers", arr);
	if (!j || !(text = json_dumps(j, JSON_COMPACT))) {
		err = kluis_error_set(KLUIS_EGENERIC, "cannot encode the breach");
		goto cleanup;
	}
	snprintf(name, sizeof(name), "breaches/%s.pgp", id_out);
	if ((err = kluis_buf_printf(&trailers, "Kluis-Action: breach\nKluis-Entry: %s\nKluis-Found: %s\nKluis-Report-Deadline: %s\n", id_out, f, dl)) < 0)
		goto cleanup;
	err = append(v, name, text, "breach -", (const char *)trailers.ptr, NULL);
cleanup:
	if (text) {
		kluis_wipe(text, strlen(text));
		free(text);
	}
	json_decref(j);
	json_decref(arr);
	kluis_buf_dispose(&trailers);
	return err;
}

int kluis_breach_reported(kluis_vault *v, const char *id, int64_t when)
{
	kluis_buf trailers = KLUIS_BUF_INIT;
	char name[64], w[21], text[128];
	int err;

	if (!kluis_entry_id_valid(id))
		return kluis_error_set(KLUIS_EINVAL, "'%s' is not a breach id (kluis breach list)", id);
	kluis_time_iso(when, w);
	snprintf(name, sizeof(name), "reports/%s.pgp", id);
	snprintf(text, sizeof(text), "{\"reported\":\"%s\",\"breach\":\"%s\"}", w, id);
	if ((err = kluis_buf_printf(&trailers, "Kluis-Action: breach-reported\nKluis-Entry: %s\nKluis-Reported: %s\n", id, w)) == 0)
		err = append(v, name, text, "breach-reported -", (const char *)trailers.ptr, id);
	kluis_buf_dispose(&trailers);
	return err;
}

void kluis_breaches_free(kluis_breach *b, size_t n)
{
	size_t i;

	if (!b)
		return;
	for (i = 0; i < n; i++)
		kluis_buf_dispose(&b[i].record);
	free(b);
}

static int decrypt_dir(git_repository *repo, git_tree *root, const char *dirname, kluis_breach **out, size_t *n)
{
	git_tree_entry *te = NULL;
	git_tree *dir = NULL;
	git_blob *blob = NULL;
	kluis_breach *grown;
	size_t i;
	int err = 0;

	if (git_tree_entry_bypath(&te, root, dirname) < 0)
		return 0;
	if (git_tree_lookup(&dir, repo, git_tree_entry_id(te)) < 0) {
		err = kluis_git_fail(KLUIS_EVERIFY, "breach register tree missing");
		goto cleanup;
	}
	for (i = 0; i < git_tree_entrycount(dir); i++) {
		const git_tree_entry *e = git_tree_entry_byindex(dir, i);
		if (git_blob_lookup(&blob, repo, git_tree_entry_id(e)) < 0) {
			err = kluis_git_fail(KLUIS_EVERIFY, "breach record missing");
			goto cleanup;
		}
		grown = realloc(*out, (*n + 1) * sizeof(*grown));
		if (!grown) {
			err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
			goto cleanup;
		}
		*out = grown;
		memset(&grown[*n], 0, sizeof(grown[*n]));
		snprintf(grown[*n].id, sizeof(grown[*n].id), "%.21s", git_tree_entry_name(e));
		grown[*n].record.secret = true;
		(*n)++;
		if ((err = kluis_crypto_decrypt_to_buf(git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob), &grown[*n - 1].record)) < 0)
			goto cleanup;
		git_blob_free(blob);
		blob = NULL;
	}
cleanup:
	git_blob_free(blob);
	git_tree_free(dir);
	git_tree_entry_free(te);
	return err;
}

int kluis_breach_list(kluis_vault *v, kluis_breach **out, size_t *n)
{
	git_repository *repo = NULL;
	git_commit *c = NULL;
	git_tree *t = NULL;
	git_oid head;
	char *path = kluis_path_join(v->root, "breaches.git");
	bool exists;
	int err = 0;

	*out = NULL;
	*n = 0;
	if (!path)
		return kluis_error_set(KLUIS_EGENERIC, "out of memory");
	if (!kluis_path_exists(path))
		goto cleanup;
	if ((err = kluis_repo_open(&repo, path)) < 0 || (err = kluis_repo_ref(repo, BREACH_REF, &head, &exists)) < 0 || !exists)
		goto cleanup;
	if (git_commit_lookup(&c, repo, &head) < 0 || git_commit_tree(&t, c) < 0) {
		err = kluis_git_fail(KLUIS_EVERIFY, "cannot read the breach register");
		goto cleanup;
	}
	if ((err = decrypt_dir(repo, t, "breaches", out, n)) < 0 || (err = decrypt_dir(repo, t, "reports", out, n)) < 0)
		goto cleanup;
cleanup:
	if (err < 0) {
		kluis_breaches_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	git_tree_free(t);
	git_commit_free(c);
	git_repository_free(repo);
	free(path);
	return err;
}
