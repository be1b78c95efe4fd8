/*
 * vault.c - the vault directory: its config (trust root), the actor, the public keyring and
 * the list of dossiers.
 *
 * Invariant: kluis.conf holds fingerprints only; the vault root and every directory in it are
 * 0700.
 */
#include "vault/store/internal.h"
#include "vault/pgp/crypto.h"
#include "keys/actor.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int kluis_vault_open(kluis_vault **out, const char *dir, const char *as, unsigned flags)
{
	kluis_vault *v = NULL;
	bool create = flags & KLUIS_VAULT_CREATE;
	struct stat st;
	int err;

	*out = NULL;
	if ((err = kluis_crypto_init(flags & KLUIS_VAULT_PUBLIC)) < 0)
		return err;
	if (stat(dir, &st) < 0) {
		if (!create)
			return kluis_error_set(KLUIS_ENOTFOUND, "no vault at '%s' (create one with kluis init, or set --vault / KLUIS_VAULT)", dir);
		if ((err = kluis_mkdir_p(dir)) < 0)
			return err;
	} else if (!S_ISDIR(st.st_mode)) {
		return kluis_error_set(KLUIS_EINVAL, "vault '%s' is not a directory", dir);
	} else if (!create) {
		/* a directory that is not a vault is refused, rather than shown as an empty one */
		char *d = kluis_path_join(dir, "dossiers");
		bool is_vault = d && stat(d, &st) == 0 && S_ISDIR(st.st_mode);
		free(d);
		if (!is_vault)
			return kluis_error_set(KLUIS_ENOTFOUND, "'%s' is no kluis vault (it has no dossiers/ directory): check --vault or KLUIS_VAULT", dir);
	}
	v = calloc(1, sizeof(*v));
	if (!v)
		return kluis_error_set(KLUIS_EGENERIC, "out of memory");
	v->root = strdup(dir);
	v->dossiers = kluis_path_join(dir, "dossiers");
	v->as = as ? strdup(as) : NULL;
	if (!v->root || !v->dossiers || (as && !v->as)) {
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto fail;
	}
	if (create && (err = kluis_mkdir_p(v->dossiers)) < 0)
		goto fail;
	/* the signing key's listing (a gpg process) runs while libgit2 starts and the command
	 * opens the dossier */
	if ((flags & KLUIS_VAULT_SIGN) && (err = kluis_vault_prepare_signing(v)) < 0)
		goto fail;
	if ((err = kluis_repo_global_init()) < 0)
		goto fail;
	/* what a command killed midway left under tmp/ goes at the next one; best effort: a
	 * vault this user may only read is still read */
	{
		size_t swept;
		if (kluis_vault_sweep_workdirs(v, &swept) < 0)
			kluis_error_clear();
	}
	*out = v;
	return 0;
fail:
	kluis_vault_free(v);
	return err;
}

void kluis_vault_free(kluis_vault *v)
{
	if (!v)
		return;
	kluis_signer_free(v->signer);
	kluis_vault_release_workdirs(v);
	kluis_keyring_free(v->keyring);
	kluis_strings_free(v->trust, v->ntrust);
	free(v->root);
	free(v->dossiers);
	free(v->as);
	free(v);
}

const char *kluis_vault_root(const kluis_vault *v)
{
	return v->root;
}

int kluis_vault_actor(kluis_vault *v, const char **fpr)
{
	int err;

	if (!v->actor_resolved) {
		if ((err = kluis_actor_resolve(v->as, v->actor)) < 0)
			return err;
		v->actor_resolved = true;
	}
	*fpr = v->actor;
	return 0;
}

int kluis_vault_prepare_signing(kluis_vault *v)
{
	const char *fpr;
	int err;

	if (v->signer)
		return 0;
	if ((err = kluis_vault_actor(v, &fpr)) < 0)
		return err;
	return kluis_signer_start(&v->signer, fpr);
}

int kluis_vault_take_signer(kluis_vault *v, kluis_signer **out)
{
	const char *fpr;
	int err;

	if (v->signer) {
		*out = v->signer;
		v->signer = NULL;
		return 0;
	}
	if ((err = kluis_vault_actor(v, &fpr)) < 0)
		return err;
	return kluis_signer_start(out, fpr);
}

int kluis_vault_keyring(kluis_vault *v, kluis_keyring **kr)
{
	int err;

	if (!v->keyring && (err = kluis_keyring_open_gnupg(&v->keyring, NULL)) < 0)
		return err;
	*kr = v->keyring;
	return 0;
}

static int load_trust(kluis_vault *v)
{
	kluis_buf conf = KLUIS_BUF_INIT;
	char *path = kluis_path_join(v->root, "kluis.conf"), *line, *save = NULL, **grown;
	char fpr[41], key[32], val[128];
	int err;

	if (v->trust_loaded) {
		free(path);
		return 0;
	}
	if (!path)
		return kluis_error_set(KLUIS_EGENERIC, "out of memory");
	err = kluis_file_read(&conf, path, 65536);
	if (err == KLUIS_ENOTFOUND) {
		err = 0;
		goto done;
	}
	if (err < 0)
		goto cleanup;
	for (line = strtok_r((char *)conf.ptr, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#' || sscanf(line, "%31s %127s", key, val) != 2)
			continue;
		if (strcmp(key, "trust") != 0)
			continue;
		if (!kluis_fpr_normalize(val, fpr)) {
			err = kluis_error_set(KLUIS_EINVAL, "%s: '%s' is not a fingerprint", path, val);
			goto cleanup;
		}
		grown = realloc(v->trust, (v->ntrust + 1) * sizeof(*grown));
		if (!grown || !(grown[v->ntrust] = strdup(fpr))) {
			if (grown)
				v->trust = grown;
			err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
			goto cleanup;
		}
		v->trust = grown;
		v->ntrust++;
	}
done:
	v->trust_loaded = true;
cleanup:
	kluis_buf_dispose(&conf);
	free(path);
	return err;
}

int kluis_vault_trust(kluis_vault *v, const char *const **fprs, size_t *n)
{
	int err;

	if ((err = load_trust(v)) < 0)
		return err;
	*fprs = (const char *const *)v->trust;
	*n = v->ntrust;
	return 0;
}

int kluis_vault_trust_init(kluis_vault *v, const char *fpr)
{
	kluis_buf conf = KLUIS_BUF_INIT;
	char *path = NULL;
	int err;

	if ((err = load_trust(v)) < 0)
		return err;
	if (v->ntrust)
		return 0;
	path = kluis_path_join(v->root, "kluis.conf");
	if (!path)
		return kluis_error_set(KLUIS_EGENERIC, "out of memory");
	if ((err = kluis_buf_printf(&conf, "# kluis vault configuration: fingerprints only, no personal data\ntrust %s\n", fpr)) < 0 ||
	    (err = kluis_file_write_atomic(path, conf.ptr, conf.len)) < 0)
		goto cleanup;
	v->trust_loaded = false;
	kluis_strings_free(v->trust, v->ntrust);
	v->trust = NULL;
	v->ntrust = 0;
	err = load_trust(v);
cleanup:
	kluis_buf_dispose(&conf);
	free(path);
	return err;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int kluis_vault_dossier_ids(kluis_vault *v, char ***ids, size_t *n)
{
	DIR *dir;
	struct dirent *de;
	char **list = NULL, **grown;
	size_t count = 0, len;
	int err = 0;

	*ids = NULL;
	*n = 0;
	dir = opendir(v->dossiers);
	if (!dir)
		return errno == ENOENT ? 0 : kluis_error_set(KLUIS_EGENERIC, "cannot read '%s': %s", v->dossiers, strerror(errno));
	while ((de = readdir(dir)) != NULL) {
		len = strlen(de->d_name);
		if (len < 5 || strcmp(de->d_name + len - 4, ".git") != 0)
			continue;
		grown = realloc(list, (count + 1) * sizeof(*list));
		if (!grown || !(grown[count] = strndup(de->d_name, len - 4))) {
			if (grown)
				list = grown;
			err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
			goto cleanup;
		}
		list = grown;
		if (!kluis_id_valid(list[count])) {
			free(list[count]);
			continue;
		}
		count++;
	}
	if (count)
		qsort(list, count, sizeof(*list), cmp_str);
	*ids = list;
	*n = count;
	list = NULL;
	count = 0;
cleanup:
	kluis_strings_free(list, count);
	closedir(dir);
	return err;
}
