/*
 * rights.c - consent, approval, erasure and roles changes (see rights.h).
 *
 * Erasure keeps the signed history valid (SPEC invariant 3): the signed tree only ever held
 * pointers, so removing the ciphertext from refs/kluis/content and from the object store
 * leaves every signature, `git fsck`, `gc`, `bundle` and `clone` intact, whatever maintenance
 * ran before (a purge that repacks also drops the commit-graph, multi-pack index, bitmaps and
 * reverse indexes that name what left); the entry's directory keeps a signed `erased` record
 * naming what was removed and why (basis).
 *
 * A rewrap re-encrypts the same plaintext to a new set of readers: it checks each object
 * against its commitment before re-encrypting it, refuses the rewrap when one does not
 * match, and keeps every pointer's `plain` unchanged (commitment.h).
 */
#include "vault/store/rights.h"
#include "vault/store/commitment.h"
#include "vault/pgp/crypto.h"
#include "vault/store/internal.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- helpers ---- */

static int pointer_at(kluis_dossier *d, const char *path, kluis_pointer *p)
{
	return kluis_commitment_pointer_at(d->repo, d->head_tree, path, p);
}

/* Decrypt a JSON object and check it against its commitment; `what` names it in an error. */
static int decrypt_pointer(kluis_dossier *d, const kluis_pointer *p, const char *what, kluis_buf *out)
{
	return kluis_commitment_decrypt_json(d->repo, p, what, out);
}

static bool entry_erased(kluis_dossier *d, const char *entry_id)
{
	git_tree_entry *te = NULL;
	char dir[64], path[80];
	bool erased;

	kluis_entry_dir(entry_id, dir);
	snprintf(path, sizeof(path), "%s/erased", dir);
	erased = git_tree_entry_bypath(&te, d->head_tree, path) == 0;
	git_tree_entry_free(te);
	return erased;
}

static int entry_exists(kluis_dossier *d, const char *entry_id)
{
	git_tree_entry *te = NULL;
	char dir[64];

	if (!kluis_entry_id_valid(entry_id))
		return kluis_error_set(KLUIS_EINVAL, "'%s' is not an entry id (kluis log lists them)", entry_id);
	kluis_entry_dir(entry_id, dir);
	if (git_tree_entry_bypath(&te, d->head_tree, dir) < 0)
		return kluis_error_set(KLUIS_ENOTFOUND, "no entry %s in dossier '%s' (kluis log %s lists them)", entry_id, d->id, d->id);
	git_tree_entry_free(te);
	return 0;
}

/* ---- consent ---- */

static int grant_in_force(kluis_dossier *d, const char *id, char in_force[KLUIS_ENTRY_ID_LEN + 1]);

int kluis_consent_in_force(kluis_dossier *d, const char *scope, bool lock_held, char consent_id[KLUIS_ENTRY_ID_LEN + 1],
			   bool *to_opdrachtgever)
{
	kluis_event *ev = NULL;
	kluis_buf meta = KLUIS_SECRET_BUF_INIT;
	kluis_pointer p;
	json_t *j = NULL;
	const char *actor;
	char dir[64], path[80];
	size_t n = 0, i, k, decrypted = 0;
	int err;

	consent_id[0] = '\0';
	*to_opdrachtgever = false;
	if ((err = kluis_vault_actor(d->vault, &actor)) < 0 || (err = kluis_history(d, &ev, &n)) < 0)
		return err;
	for (i = 0; i < n; i++) {
		if (ev[i].access || strcmp(ev[i].action, "consent") != 0)
			continue;
		for (k = 0; k < ev[i].nentries; k++) {
			if (entry_erased(d, ev[i].entries[k]))
				continue;
			/* the register is encrypted to the readers: only a reader's decryption can be
			 * on record (invariant 6), whatever other keys this GNUPGHOME may hold */
			if (!(kluis_roles_of(&d->roles, actor) & KLUIS_ROLES_READING)) {
				err = kluis_error_set(KLUIS_EACCESS, "key %s holds no key to the consent register of '%s' (only its readers do): "
								     "the klant or the medewerker records this",
						      actor + 24, d->id);
				goto cleanup;
			}
			kluis_entry_dir(ev[i].entries[k], dir);
			snprintf(path, sizeof(path), "%s/meta", dir);
			char what[64];
			snprintf(what, sizeof(what), "entry %s", ev[i].entries[k]);
			kluis_buf_dispose(&meta);
			if ((err = pointer_at(d, path, &p)) < 0 || (err = decrypt_pointer(d, &p, what, &meta)) < 0)
				goto cleanup;
			decrypted++;
			j = json_loadb((const char *)meta.ptr, meta.len, 0, NULL);
			if (j && json_is_string(json_object_get(j, "scope")) &&
			    strcmp(json_string_value(json_object_get(j, "scope")), scope) == 0) {
				/* later records override earlier ones: a withdrawal takes effect at once */
				if (json_is_true(json_object_get(j, "granted"))) {
					snprintf(consent_id, KLUIS_ENTRY_ID_LEN + 1, "%s", ev[i].entries[k]);
					*to_opdrachtgever = json_is_true(json_object_get(j, "to_opdrachtgever"));
				} else {
					consent_id[0] = '\0';
					*to_opdrachtgever = false;
				}
			}
			json_decref(j);
			j = NULL;
		}
	}
	/* invariant 6: kluis read the register for its own decision; one record covers it, made
	 * once every consent decrypted and matched */
	err = 0;
	if (decrypted)
		err = lock_held ? kluis_access_record_locked(d, NULL, "toestemming") : kluis_access_record(d, NULL, "toestemming");
	/* a grant a withdrawal names by its id (the vertegenwoordiger's, P4.2) is no longer in force */
	if (err == 0 && consent_id[0]) {
		char still[KLUIS_ENTRY_ID_LEN + 1];
		if ((err = grant_in_force(d, consent_id, still)) == 0 && !still[0]) {
			consent_id[0] = '\0';
			*to_opdrachtgever = false;
		}
	}
cleanup:
	if (err < 0) {
		consent_id[0] = '\0';
		*to_opdrachtgever = false;
	}
	json_decref(j);
	kluis_buf_dispose(&meta);
	kluis_events_free(ev, n);
	return err;
}

/*
 * P4.1: a klant under 16, under curatele or with a mentor cannot consent alone; the consent is
 * the wettelijk vertegenwoordiger's (a withdrawal, P4.2, may come from either). The date of
 * birth is encrypted in the dossier info, so the check is made here, when consent is given,
 * by a reader who can decrypt it: the klant or the medewerker. A grant by the
 * vertegenwoordiger needs no check. The verifier, which holds no secret key, can check only
 * that the signer's role may record consent.
 */
static int check_representation(kluis_dossier *d)
{
	kluis_buf info = KLUIS_SECRET_BUF_INIT;
	kluis_pointer p;
	json_t *j = NULL;
	const char *actor, *born;
	unsigned roles;
	bool needed;
	int err;

	if ((err = kluis_vault_actor(d->vault, &actor)) < 0)
		return err;
	roles = kluis_roles_of(&d->roles, actor);
	/* the vertegenwoordiger may; anyone else but the klant and the medewerker is refused by
	 * the role check of the commit itself, with its own message */
	if (((roles & KLUIS_ROLE_VERTEGENWOORDIGER) && !(roles & KLUIS_ROLE_KLANT)) ||
	    !(roles & (KLUIS_ROLE_KLANT | KLUIS_ROLE_MEDEWERKER)))
		return 0;
	if (!git_tree_entry_byname(d->head_tree, "info"))
		return 0;
	if ((err = pointer_at(d, "info", &p)) < 0 || (err = decrypt_pointer(d, &p, "the dossier info", &info)) < 0)
		goto cleanup;
	if (!(j = json_loadb((const char *)info.ptr, info.len, 0, NULL))) {
		err = kluis_error_set(KLUIS_EVERIFY, "the dossier info of '%s' is not valid JSON", d->id);
		goto cleanup;
	}
	/* invariant 6: kluis read the date of birth for its own decision: on record before it
	 * decides anything with it */
	if ((err = kluis_access_record(d, NULL, "vertegenwoordiging")) < 0)
		goto cleanup;
	born = json_string_value(json_object_get(j, "birth_date"));
	needed = json_is_true(json_object_get(j, "represented")) || (born && !kluis_age_at_least(born, 16, kluis_now()));
	if (needed)
		err = kluis_error_set(KLUIS_EACCESS,
				      "the klant of '%s' %s, so consent must come from the wettelijk vertegenwoordiger (P4.1): "
				      "the directie adds that key with 'kluis roles %s --add vertegenwoordiger FPR', and the "
				      "vertegenwoordiger gives it with 'kluis consent %s grant ...'",
				      d->id, json_is_true(json_object_get(j, "represented")) ? "is represented (curatele or mentor)" : "is under 16",
				      d->id, d->id);
cleanup:
	json_decref(j);
	kluis_buf_dispose(&info);
	return err;
}

/*
 * Whether entry `id` is a consent grant that no withdrawal has ended yet, from the signed
 * commit metadata alone (no decryption): in_force is `id`, or empty.
 */
static int grant_in_force(kluis_dossier *d, const char *id, char in_force[KLUIS_ENTRY_ID_LEN + 1])
{
	kluis_event *ev = NULL;
	git_commit *c = NULL;
	char val[64];
	size_t n = 0, i, k;
	bool granted = false, withdrawn = false;
	int err;

	in_force[0] = '\0';
	if (!kluis_entry_id_valid(id))
		return kluis_error_set(KLUIS_EINVAL, "'%s' is not an entry id", id);
	if ((err = kluis_history(d, &ev, &n)) < 0)
		return err;
	for (i = 0; i < n; i++) {
		if (ev[i].access || strcmp(ev[i].action, "consent") != 0 || git_commit_lookup(&c, d->repo, &ev[i].commit) < 0)
			continue;
		for (k = 0; k < ev[i].nentries; k++)
			if (strcmp(ev[i].entries[k], id) == 0 && kluis_trailer_get(git_commit_message(c), "Kluis-Consent", val, sizeof(val)))
				granted = strcmp(val, "grant") == 0;
		if (kluis_trailer_get(git_commit_message(c), "Kluis-Withdraws", val, sizeof(val)) && strcmp(val, id) == 0)
			withdrawn = true;
		git_commit_free(c);
		c = NULL;
	}
	kluis_events_free(ev, n);
	if (!granted)
		return kluis_error_set(KLUIS_EINVAL, "entry %s of '%s' is no consent grant (kluis log shows the consents)", id, d->id);
	if (!withdrawn)
		snprintf(in_force, KLUIS_ENTRY_ID_LEN + 1, "%s", id);
	return 0;
}

int kluis_consent_record(kluis_dossier *d, bool grant, const char *grant_id, const char *purpose, const char *scope, bool to_opdrachtgever,
			 char id_out[KLUIS_ENTRY_ID_LEN + 1])
{
	kluis_entry_input in;
	kluis_buf body = KLUIS_SECRET_BUF_INIT, trailers = KLUIS_BUF_INIT;
	json_t *extra = NULL;
	char *extra_text = NULL, ids[1][KLUIS_ENTRY_ID_LEN + 1];
	int err;

	if (!purpose || !*purpose)
		return kluis_error_set(KLUIS_EINVAL, "consent needs --purpose TEXT (what the data may be used for)");
	if (!scope)
		scope = "algemeen";
	if (grant && (err = check_representation(d)) < 0)
		return err;
	memset(&in, 0, sizeof(in));
	in.fd = -1;
	extra = json_pack("{s:b, s:s, s:s, s:b}", "granted", grant, "scope", scope, "purpose", purpose, "to_opdrachtgever", to_opdrachtgever);
	if (!extra || !(extra_text = json_dumps(extra, JSON_COMPACT)) ||
	    (err = kluis_buf_printf(&body, "%s: %s\nscope: %s\nopdrachtgever: %s\n", grant ? "Toestemming verleend" : "Toestemming ingetrokken",
				    purpose, scope, to_opdrachtgever ? "ja" : "nee")) < 0) {
		err = kluis_error_set(KLUIS_EGENERIC, "cannot encode the consent");
		goto cleanup;
	}
	/* plaintext trailers name no category: only whether it was a grant and if it reaches the
	 * opdrachtgever, so the verifier can check special entries' recipients */
	if ((err = kluis_buf_printf(&trailers, "Kluis-Consent: %s\nKluis-Consent-Opdrachtgever: %s\n", grant ? "grant" : "withdraw",
				    to_opdrachtgever ? "yes" : "no")) < 0)
		goto cleanup;
	/* a withdrawal names the grant it ends, so the verifier knows which consent is no longer in
	 * force without reading the (encrypted) scope */
	if (!grant) {
		char in_force[KLUIS_ENTRY_ID_LEN + 1];
		bool opdr;
		if (grant_id)
			err = grant_in_force(d, grant_id, in_force);
		else
			err = kluis_consent_in_force(d, scope, false, in_force, &opdr);
		if (err < 0)
			goto cleanup;
		if (!in_force[0]) {
			err = kluis_error_set(KLUIS_ESTATE, "no consent for scope '%s' is in force in '%s': nothing to withdraw", scope, d->id);
			goto cleanup;
		}
		if ((err = kluis_buf_printf(&trailers, "Kluis-Withdraws: %s\n", in_force)) < 0)
			goto cleanup;
	}
	in.text = (const char *)body.ptr;
	in.text_len = body.len;
	in.extra_meta = extra_text;
	in.extra_trailers = (const char *)trailers.ptr;
	in.origin = "klant";
	in.basis = "consent";
	if ((err = kluis_entry_add(d, KLUIS_ACT_CONSENT, &in, 1, ids, NULL, NULL)) == 0)
		snprintf(id_out, KLUIS_ENTRY_ID_LEN + 1, "%s", ids[0]);
cleanup:
	if (extra_text) {
		kluis_wipe(extra_text, strlen(extra_text));
		free(extra_text);
	}
	json_decref(extra);
	kluis_buf_dispose(&body);
	kluis_buf_dispose(&trailers);
	return err;
}

/* ---- approval ---- */

int kluis_entry_approve(kluis_dossier *d, const char *entry_id)
{
	kluis_txn *t = NULL;
	kluis_event *ev = NULL;
	kluis_buf trailers = KLUIS_BUF_INIT;
	char subject[64], hex[GIT_OID_HEXSZ + 1] = "";
	size_t n = 0, i, k;
	int err;

	if ((err = entry_exists(d, entry_id)) < 0)
		return err;
	if (entry_erased(d, entry_id))
		return kluis_error_set(KLUIS_ESTATE, "entry %s was erased", entry_id);
	if ((err = kluis_txn_begin(&t, d, KLUIS_ACT_APPROVE)) < 0 || (err = kluis_history(d, &ev, &n)) < 0)
		goto cleanup;
	for (i = 0; i < n && !hex[0]; i++)
		for (k = 0; !ev[i].access && strcmp(ev[i].action, "approve") && k < ev[i].nentries; k++)
			if (strcmp(ev[i].entries[k], entry_id) == 0)
				git_oid_tostr(hex, sizeof(hex), &ev[i].commit);
	snprintf(subject, sizeof(subject), "approve %s", entry_id);
	if ((err = kluis_buf_printf(&trailers, "Kluis-Action: approve\nKluis-Entry: %s\nKluis-Approves: %s\nKluis-Role: %s\n", entry_id, hex,
				    kluis_role_name(kluis_txn_role(t)))) < 0)
		goto cleanup;
	err = kluis_txn_commit(t, subject, (const char *)trailers.ptr, NULL);
cleanup:
	kluis_events_free(ev, n);
	kluis_buf_dispose(&trailers);
	kluis_txn_free(t);
	return err;
}

/* ---- erasure ---- */

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && strcmp(s + n - k, suffix) == 0;
}

static bool is_pack_or_idx(const char *path)
{
	return has_suffix(path, ".pack") || has_suffix(path, ".idx");
}

/*
 * Remove what git's maintenance derived from the object store and that names objects a
 * repack drops: the commit-graph (one file, or a chain in commit-graphs/) lists the old
 * content commits, which leave with the old packs, and stock `git fsck` fails (exit 16) on a
 * graph naming a commit that is gone; the multi-pack index and its bitmap and reverse index
 * name the old packs. All are optional caches: git works without them and its next gc or
 * maintenance writes them again, from what is there then. Removed, not rewritten: rewriting
 * needs stock git or libgit2's experimental writer, and a stale one is worse than none.
 */
static int drop_object_indexes(git_repository *repo)
{
	static const char *const files[] = {"objects/info/commit-graph", "objects/pack/multi-pack-index"};
	char *path = NULL;
	DIR *dir = NULL;
	struct dirent *de;
	size_t i;
	int err = 0;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if (!(path = kluis_path_join(git_repository_path(repo), files[i])))
			return kluis_error_set(KLUIS_EGENERIC, "out of memory");
		if (unlink(path) < 0 && errno != ENOENT)
			err = kluis_error_set(KLUIS_EGENERIC, "cannot remove %s: %s", path, strerror(errno));
		free(path);
		path = NULL;
		if (err < 0)
			return err;
	}
	/* the multi-pack index's own bitmap and reverse index: multi-pack-index-<hash>.{bitmap,rev} */
	if (!(path = kluis_path_join(git_repository_path(repo), "objects/pack")))
		return kluis_error_set(KLUIS_EGENERIC, "out of memory");
	dir = opendir(path);
	while (dir && err == 0 && (de = readdir(dir)) != NULL)
		if (strncmp(de->d_name, "multi-pack-index-", 17) == 0 && unlinkat(dirfd(dir), de->d_name, 0) < 0 && errno != ENOENT)
			err = kluis_error_set(KLUIS_EGENERIC, "cannot remove %s/%s: %s", path, de->d_name, strerror(errno));
	if (dir)
		closedir(dir);
	free(path);
	if (err < 0)
		return err;
	/* a split commit-graph: commit-graph-chain and graph-<hash>.graph */
	if (!(path = kluis_path_join(git_repository_path(repo), "objects/info/commit-graphs")))
		return kluis_error_set(KLUIS_EGENERIC, "out of memory");
	if (kluis_path_exists(path) && kluis_rm_rf(path) < 0)
		err = kluis_error_set(KLUIS_EGENERIC, "cannot remove %s", path);
	free(path);
	return err;
}

/* objects/info/packs lists the packs for dumb HTTP clients (git update-server-info): when
 * there is one, it lists the packs there are now */
static int rewrite_info_packs(git_repository *repo, const char *packdir)
{
	kluis_buf text = KLUIS_BUF_INIT;
	char *path = NULL;
	DIR *dir = NULL;
	struct dirent *de;
	int err = 0;

	if (!(path = kluis_path_join(git_repository_path(repo), "objects/info/packs")))
		return kluis_error_set(KLUIS_EGENERIC, "out of memory");
	if (!kluis_path_exists(path))
		goto cleanup;
	dir = opendir(packdir);
	while (dir && err == 0 && (de = readdir(dir)) != NULL)
		if (de->d_name[0] != '.' && has_suffix(de->d_name, ".pack"))
			err = kluis_buf_printf(&text, "P %s\n", de->d_name);
	if (err == 0 && (err = kluis_buf_printf(&text, "\n")) == 0)
		err = kluis_file_write_atomic(path, text.ptr, text.len);
cleanup:
	if (dir)
		closedir(dir);
	kluis_buf_dispose(&text);
	free(path);
	return err;
}

/* Remove objects from the object store: loose files, and any pack that holds them (by
 * repacking what is still reachable and deleting the old packs, and what git's maintenance
 * derived from them). */
static int purge_objects(git_repository *repo, const git_oid *oids, size_t n)
{
	git_odb *odb = NULL;
	git_packbuilder *pb = NULL;
	git_revwalk *walk = NULL;
	char hex[GIT_OID_HEXSZ + 1], *path = NULL, *packdir = NULL, **old = NULL;
	size_t i, nold = 0;
	bool packed = false;
	DIR *dir = NULL;
	struct dirent *de;
	int err = 0;

	for (i = 0; i < n; i++) {
		git_oid_tostr(hex, sizeof(hex), &oids[i]);
		if (asprintf(&path, "%sobjects/%.2s/%s", git_repository_path(repo), hex, hex + 2) < 0) {
			path = NULL;
			return kluis_error_set(KLUIS_EGENERIC, "out of memory");
		}
		if (unlink(path) < 0 && kluis_path_exists(path)) {
			err = kluis_error_set(KLUIS_EGENERIC, "cannot remove object %s", hex);
			free(path);
			return err;
		}
		free(path);
		path = NULL;
	}
	if (git_repository_odb(&odb, repo) < 0)
		return kluis_git_fail(KLUIS_EGENERIC, "cannot open the object store");
	git_odb_refresh(odb);
	for (i = 0; i < n; i++)
		packed |= git_odb_exists(odb, &oids[i]) != 0;
	if (!packed)
		goto cleanup;
	/* a pack holds them: write one new pack of everything still reachable, drop the rest */
	if (asprintf(&packdir, "%sobjects/pack", git_repository_path(repo)) < 0) {
		packdir = NULL;
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto cleanup;
	}
	dir = opendir(packdir);
	while (dir && (de = readdir(dir)) != NULL) {
		char **g;
		if (de->d_name[0] == '.')
			continue;
		g = realloc(old, (nold + 1) * sizeof(*g));
		if (!g || !(g[nold] = kluis_path_join(packdir, de->d_name))) {
			old = g ? g : old;
			err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
			goto cleanup;
		}
		old = g;
		nold++;
	}
	if (git_packbuilder_new(&pb, repo) < 0 || git_revwalk_new(&walk, repo) < 0 || git_revwalk_push_glob(walk, "refs/*") < 0 ||
	    git_packbuilder_insert_walk(pb, walk) < 0 || git_packbuilder_write(pb, packdir, 0, NULL, NULL) < 0) {
		err = kluis_git_fail(KLUIS_EGENERIC, "cannot repack the dossier");
		goto cleanup;
	}
	/* first what names objects in the old packs (multi-pack index, bitmaps, reverse indexes,
	 * commit-graph), then the packs: a stock git reading meanwhile never finds an index
	 * naming a pack or commit that is gone */
	if ((err = drop_object_indexes(repo)) < 0)
		goto cleanup;
	for (i = 0; i < nold; i++)
		if (strstr(old[i], git_oid_tostr_s(git_packbuilder_hash(pb))) == NULL && !is_pack_or_idx(old[i]))
			unlink(old[i]);
	for (i = 0; i < nold; i++)
		if (strstr(old[i], git_oid_tostr_s(git_packbuilder_hash(pb))) == NULL && is_pack_or_idx(old[i]))
			unlink(old[i]);
	if ((err = rewrite_info_packs(repo, packdir)) < 0)
		goto cleanup;
	/* check with a fresh object store: this one still caches the packs just deleted */
	{
		git_repository *fresh = NULL;
		git_odb *fodb = NULL;
		if (git_repository_open_ext(&fresh, git_repository_path(repo), GIT_REPOSITORY_OPEN_NO_SEARCH | GIT_REPOSITORY_OPEN_BARE, NULL) < 0 ||
		    git_repository_odb(&fodb, fresh) < 0) {
			err = kluis_git_fail(KLUIS_EGENERIC, "cannot reopen the repository after repacking");
		} else {
			for (i = 0; i < n; i++)
				if (git_odb_exists(fodb, &oids[i])) {
					git_oid_tostr(hex, sizeof(hex), &oids[i]);
					err = kluis_error_set(KLUIS_EGENERIC, "object %s is still in the object store after repacking", hex);
				}
		}
		git_odb_free(fodb);
		git_repository_free(fresh);
		git_odb_refresh(odb);
	}
cleanup:
	if (dir)
		closedir(dir);
	kluis_strings_free(old, nold);
	free(packdir);
	git_revwalk_free(walk);
	git_packbuilder_free(pb);
	git_odb_free(odb);
	return err;
}

int kluis_content_purge_dropped(git_repository *repo, const git_oid *old_content, const git_oid *new_content, size_t *purged)
{
	git_commit *oldc = NULL, *newc = NULL;
	git_tree *oldt = NULL, *newt = NULL;
	git_diff *diff = NULL;
	git_oid *gone = NULL;
	size_t n = 0, i, ndeltas;
	int err = 0;

	*purged = 0;
	if (git_oid_equal(old_content, new_content))
		return 0;
	if (git_commit_lookup(&oldc, repo, old_content) < 0 || git_commit_lookup(&newc, repo, new_content) < 0 ||
	    git_commit_tree(&oldt, oldc) < 0 || git_commit_tree(&newt, newc) < 0 ||
	    git_diff_tree_to_tree(&diff, repo, oldt, newt, NULL) < 0) {
		err = kluis_git_fail(KLUIS_EGENERIC, "cannot compare the dossier's old and new content");
		goto cleanup;
	}
	ndeltas = git_diff_num_deltas(diff);
	if (ndeltas && !(gone = calloc(ndeltas, sizeof(*gone)))) {
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto cleanup;
	}
	/* a content tree names each ciphertext object by its own id: what was deleted from the
	 * tree is the object that left the dossier */
	for (i = 0; i < ndeltas; i++) {
		const git_diff_delta *dd = git_diff_get_delta(diff, i);
		if (dd->status == GIT_DELTA_DELETED)
			git_oid_cpy(&gone[n++], &dd->old_file.id);
	}
	if (n && (err = purge_objects(repo, gone, n)) == 0)
		*purged = n;
cleanup:
	free(gone);
	git_diff_free(diff);
	git_tree_free(oldt);
	git_tree_free(newt);
	git_commit_free(oldc);
	git_commit_free(newc);
	return err;
}

bool kluis_erase_basis_valid(const char *basis)
{
	return basis && (strcmp(basis, "P11.2") == 0 || strcmp(basis, "P13.4") == 0 || strcmp(basis, "W7") == 0);
}

int kluis_entry_erase(kluis_dossier *d, const char *entry_id, const char *reason, const char *basis)
{
	kluis_txn *t = NULL;
	kluis_pointer meta, body, reason_ptr;
	kluis_buf record = KLUIS_BUF_INIT, trailers = KLUIS_BUF_INIT;
	const char **readers = NULL;
	size_t nreaders = 0;
	json_t *rj = NULL;
	char *reason_text = NULL;
	git_oid gone[2];
	char dir[64], path[96], mhex[GIT_OID_HEXSZ + 1], bhex[GIT_OID_HEXSZ + 1], subject[64];
	int err;

	if (!reason || !*reason)
		return kluis_error_set(KLUIS_EINVAL, "erase needs --reason TEXT (it is stored encrypted)");
	if (!basis)
		basis = "P11.2";
	if (!kluis_erase_basis_valid(basis))
		return kluis_error_set(KLUIS_EINVAL, "--basis is P11.2 (request of the klant), P13.4 or W7");
	if ((err = entry_exists(d, entry_id)) < 0)
		return err;
	if (entry_erased(d, entry_id))
		return kluis_error_set(KLUIS_ESTATE, "entry %s is already erased", entry_id);
	kluis_entry_dir(entry_id, dir);
	if ((err = kluis_txn_begin(&t, d, KLUIS_ACT_ERASE)) < 0)
		goto cleanup;
	snprintf(path, sizeof(path), "%s/meta", dir);
	if ((err = pointer_at(d, path, &meta)) < 0)
		goto cleanup;
	snprintf(path, sizeof(path), "%s/body", dir);
	if ((err = pointer_at(d, path, &body)) < 0)
		goto cleanup;
	git_oid_tostr(mhex, sizeof(mhex), &meta.oid);
	git_oid_tostr(bhex, sizeof(bhex), &body.oid);
	/* the reason is a salted JSON object, so its commitment reveals nothing guessable */
	rj = json_pack("{s:s, s:i, s:s, s:s}", "kluis", "erase-reason", "version", 1, "entry", entry_id, "reason", reason);
	if (!rj || (err = kluis_commitment_salt_json(rj)) < 0 || !(reason_text = json_dumps(rj, JSON_COMPACT | JSON_SORT_KEYS))) {
		err = err < 0 ? err : kluis_error_set(KLUIS_EGENERIC, "cannot encode the reason");
		goto cleanup;
	}
	if ((err = kluis_roles_keys(&d->roles, d->held ? KLUIS_ROLES_READING_HELD : KLUIS_ROLES_READING, &readers, &nreaders)) < 0 ||
	    (err = kluis_txn_encrypt_buffer(t, readers, nreaders, reason_text, strlen(reason_text), &reason_ptr)) < 0 ||
	    (err = kluis_buf_printf(&record, "kluis-erased 1\nentry %s\nmeta %s\nbody %s\nbasis %s\n", entry_id, mhex, bhex, basis)) < 0)
		goto cleanup;
	snprintf(path, sizeof(path), "%s/meta", dir);
	if ((err = kluis_txn_remove(t, path)) < 0)
		goto cleanup;
	snprintf(path, sizeof(path), "%s/body", dir);
	if ((err = kluis_txn_remove(t, path)) < 0)
		goto cleanup;
	snprintf(path, sizeof(path), "%s/erased", dir);
	if ((err = kluis_txn_put(t, path, record.ptr, record.len)) < 0)
		goto cleanup;
	snprintf(path, sizeof(path), "%s/reason", dir);
	if ((err = kluis_txn_put_pointer(t, path, &reason_ptr)) < 0 || (err = kluis_txn_remove_content(t, &meta.oid)) < 0 ||
	    (err = kluis_txn_remove_content(t, &body.oid)) < 0)
		goto cleanup;
	snprintf(subject, sizeof(subject), "erase %s", entry_id);
	if ((err = kluis_buf_printf(&trailers, "Kluis-Action: erase\nKluis-Entry: %s\nKluis-Basis: %s\nKluis-Erased-Object: %s\nKluis-Erased-Object: %s\nKluis-Role: %s\n",
				    entry_id, basis, mhex, bhex, kluis_role_name(kluis_txn_role(t)))) < 0 ||
	    (err = kluis_txn_commit(t, subject, (const char *)trailers.ptr, NULL)) < 0)
		goto cleanup;
	/* the ciphertext leaves the object store, loose and packed */
	git_oid_cpy(&gone[0], &meta.oid);
	git_oid_cpy(&gone[1], &body.oid);
	err = purge_objects(d->repo, gone, 2);
cleanup:
	if (reason_text) {
		kluis_wipe(reason_text, strlen(reason_text));
		free(reason_text);
	}
	json_decref(rj);
	free(readers);
	kluis_buf_dispose(&record);
	kluis_buf_dispose(&trailers);
	kluis_txn_free(t);
	return err;
}

/* ---- roles and rewrap ---- */

struct oid_list {
	git_oid *v;
	size_t n;
};

static int oid_list_add(struct oid_list *l, const git_oid *oid)
{
	git_oid *g = realloc(l->v, (l->n + 1) * sizeof(*g));

	if (!g)
		return kluis_error_set(KLUIS_EGENERIC, "out of memory");
	l->v = g;
	git_oid_cpy(&g[l->n++], oid);
	return 0;
}

/*
 * Re-encrypt `plain` (the object at path, decrypted and checked against old's commitment) to
 * readers: the new pointer keeps old's `plain` unchanged, whatever the object is.
 */
static int reencrypt(kluis_txn *t, const char *path, const char *const *readers, size_t nreaders, const kluis_pointer *old,
		     const kluis_buf *plain, struct oid_list *replaced)
{
	kluis_pointer p;
	int err;

	if ((err = kluis_txn_encrypt_buffer(t, readers, nreaders, plain->ptr, plain->len, &p)) < 0)
		return err;
	memcpy(p.plain, old->plain, sizeof(p.plain));
	if ((err = kluis_txn_put_pointer(t, path, &p)) < 0 || (err = oid_list_add(replaced, &old->oid)) < 0)
		return err;
	return kluis_txn_remove_content(t, &old->oid);
}

/* Rewrap a JSON object (the info, a metadata): decrypted, checked, re-encrypted; its
 * plaintext stays in *plain for the caller. */
static int rewrap_json(kluis_txn *t, kluis_dossier *d, const char *path, const char *what, const char *const *readers, size_t nreaders,
		       kluis_buf *plain, struct oid_list *replaced)
{
	kluis_pointer old;
	int err;

	kluis_buf_dispose(plain);
	if ((err = pointer_at(d, path, &old)) < 0 || (err = decrypt_pointer(d, &old, what, plain)) < 0)
		return err;
	return reencrypt(t, path, readers, nreaders, &old, plain, replaced);
}

/* Rewrap an entry body: decrypted and checked with the salt of its (checked) metadata. */
static int rewrap_body(kluis_txn *t, kluis_dossier *d, const char *path, const char *entry, const kluis_buf *meta,
		       const char *const *readers, size_t nreaders, struct oid_list *replaced)
{
	unsigned char salt[KLUIS_SALT_LEN];
	kluis_buf plain = KLUIS_SECRET_BUF_INIT;
	git_blob *blob = NULL;
	kluis_pointer old;
	int err;

	if ((err = kluis_commitment_body_salt(meta->ptr, meta->len, entry, salt)) < 0 || (err = pointer_at(d, path, &old)) < 0 ||
	    (err = kluis_pointer_load(d->repo, &old, &blob)) < 0 ||
	    (err = kluis_commitment_decrypt_body(git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob), &old, entry,
						 kluis_commitment_salt_copy, salt, -1, &plain)) < 0)
		goto cleanup;
	err = reencrypt(t, path, readers, nreaders, &old, &plain, replaced);
cleanup:
	explicit_bzero(salt, sizeof(salt));
	git_blob_free(blob);
	kluis_buf_dispose(&plain);
	return err;
}

static int rewrap_all(kluis_dossier *d, size_t *count, bool *committed)
{
	kluis_txn *t = NULL;
	kluis_buf trailers = KLUIS_BUF_INIT, meta = KLUIS_SECRET_BUF_INIT;
	git_tree *entries = NULL, *shard = NULL;
	git_tree_entry *te = NULL;
	const char **all = NULL, **limited = NULL;
	size_t nall = 0, nlimited = 0, i, j;
	kluis_pointer old;
	json_t *mj = NULL;
	struct oid_list replaced = { NULL, 0 };
	char path[96], what[64];
	int err;

	*count = 0;
	*committed = false;
	if ((err = kluis_txn_begin(&t, d, KLUIS_ACT_REWRAP)) < 0 ||
	    (err = kluis_roles_keys(&d->roles, KLUIS_ROLES_READING, &all, &nall)) < 0 ||
	    (err = kluis_roles_keys(&d->roles, KLUIS_ROLES_READING & ~KLUIS_ROLE_OPDRACHTGEVER, &limited, &nlimited)) < 0 ||
	    (err = kluis_buf_printf(&trailers, "Kluis-Action: rewrap\nKluis-Role: %s\n", kluis_role_name(kluis_txn_role(t)))) < 0)
		goto cleanup;
	for (i = 0; i < nall; i++) {
		kluis_keyring *kr;
		if ((err = kluis_vault_keyring(d->vault, &kr)) < 0 || (err = kluis_keyring_check_recipient(kr, all[i])) < 0)
			goto cleanup;
	}
	if ((err = rewrap_json(t, d, "info", "the dossier info", all, nall, &meta, &replaced)) < 0)
		goto cleanup;
	if (git_tree_entry_bypath(&te, d->head_tree, "entries") == 0 && git_tree_lookup(&entries, d->repo, git_tree_entry_id(te)) == 0) {
		for (i = 0; i < git_tree_entrycount(entries); i++) {
			if (git_tree_lookup(&shard, d->repo, git_tree_entry_id(git_tree_entry_byindex(entries, i))) < 0) {
				err = kluis_git_fail(KLUIS_EVERIFY, "cannot read the entries");
				goto cleanup;
			}
			for (j = 0; j < git_tree_entrycount(shard); j++) {
				const char *id = git_tree_entry_name(git_tree_entry_byindex(shard, j));
				bool restricted;
				char dir[64];
				if (entry_erased(d, id))
					continue;
				kluis_entry_dir(id, dir);
				/* an entry withheld from the opdrachtgever (P8) stays withheld */
				snprintf(path, sizeof(path), "%s/meta", dir);
				snprintf(what, sizeof(what), "entry %s", id);
				kluis_buf_dispose(&meta);
				if ((err = pointer_at(d, path, &old)) < 0 || (err = decrypt_pointer(d, &old, what, &meta)) < 0)
					goto cleanup;
				mj = json_loadb((const char *)meta.ptr, meta.len, 0, NULL);
				restricted = mj && json_object_get(mj, "special") && json_is_string(json_object_get(mj, "special"));
				if (restricted) {
					json_t *r = json_object_get(mj, "recipients");
					size_t k;
					for (k = 0; r && k < json_array_size(r); k++)
						if (strcmp(json_string_value(json_array_get(r, k)) ? json_string_value(json_array_get(r, k)) : "", "opdrachtgever") == 0)
							restricted = false;
				}
				json_decref(mj);
				mj = NULL;
				if ((err = reencrypt(t, path, restricted ? limited : all, restricted ? nlimited : nall, &old, &meta, &replaced)) < 0)
					goto cleanup;
				snprintf(path, sizeof(path), "%s/body", dir);
				if ((err = rewrap_body(t, d, path, id, &meta, restricted ? limited : all, restricted ? nlimited : nall, &replaced)) < 0 ||
				    (err = kluis_buf_printf(&trailers, "Kluis-Entry: %s\n", id)) < 0 ||
				    (restricted && (err = kluis_buf_printf(&trailers, "Kluis-Restricted: %s\n", id)) < 0))
					goto cleanup;
				(*count)++;
			}
			git_tree_free(shard);
			shard = NULL;
		}
	}
	if ((err = kluis_txn_commit(t, "rewrap -", (const char *)trailers.ptr, NULL)) < 0)
		goto cleanup;
	*committed = true;
	/* the old ciphertext, readable by the old set of keys, leaves the object store too */
	err = purge_objects(d->repo, replaced.v, replaced.n);
cleanup:
	free(replaced.v);
	json_decref(mj);
	git_tree_free(shard);
	git_tree_free(entries);
	git_tree_entry_free(te);
	free(all);
	free(limited);
	kluis_buf_dispose(&meta);
	kluis_buf_dispose(&trailers);
	kluis_txn_free(t);
	return err;
}

int kluis_roles_change(kluis_dossier *d, unsigned add_role, const char *add_fpr, const char *remove_fpr, size_t *rewrapped)
{
	kluis_txn *t = NULL;
	kluis_roles roles = { NULL, 0 };
	kluis_buf text = KLUIS_BUF_INIT, trailers = KLUIS_BUF_INIT;
	kluis_keyring *kr;
	char fpr[41];
	const char *actor;
	bool committed = false;
	int err;

	*rewrapped = 0;
	if ((err = kluis_txn_begin(&t, d, KLUIS_ACT_ROLES)) < 0 || (err = kluis_roles_copy(&roles, &d->roles)) < 0 ||
	    (err = kluis_buf_printf(&trailers, "Kluis-Action: roles\nKluis-Role: %s\n", kluis_role_name(kluis_txn_role(t)))) < 0)
		goto cleanup;
	if (remove_fpr) {
		if ((err = kluis_roles_remove(&roles, remove_fpr)) < 0)
			goto cleanup;
		kluis_fpr_normalize(remove_fpr, fpr);
		if ((err = kluis_buf_printf(&trailers, "Kluis-Role-Removed: %s\n", fpr)) < 0)
			goto cleanup;
	}
	if (add_role) {
		if ((err = kluis_roles_add(&roles, add_role, add_fpr)) < 0)
			goto cleanup;
		kluis_fpr_normalize(add_fpr, fpr);
		if ((add_role & KLUIS_ROLES_READING) &&
		    ((err = kluis_vault_keyring(d->vault, &kr)) < 0 || (err = kluis_keyring_check_recipient(kr, fpr)) < 0))
			goto cleanup;
		if ((err = kluis_buf_printf(&trailers, "Kluis-Role-Added: %s %s\n", kluis_role_name(add_role), fpr)) < 0)
			goto cleanup;
	}
	if ((err = kluis_roles_validate(&roles)) < 0)
		goto cleanup;
	if ((err = kluis_vault_actor(d->vault, &actor)) < 0)
		goto cleanup;
	if ((err = kluis_roles_format(&roles, &text)) < 0 || (err = kluis_txn_put(t, "roles", text.ptr, text.len)) < 0 ||
	    (err = kluis_txn_commit(t, "roles -", (const char *)trailers.ptr, NULL)) < 0)
		goto cleanup;
	kluis_txn_free(t);
	t = NULL;
	/* the rewrap decrypts everything: one signed rewrap commit, then one read on record
	 * (invariant 6), once everything was decrypted, matched and re-encrypted; a rewrap that
	 * failed before its commit decrypted nothing that left it */
	err = rewrap_all(d, rewrapped, &committed);
	if (committed && (kluis_roles_of(&d->roles, actor) & KLUIS_ROLES_READING)) {
		int rerr = kluis_access_record(d, NULL, "rewrap");
		if (err == 0)
			err = rerr;
	}
cleanup:
	kluis_roles_dispose(&roles);
	kluis_buf_dispose(&text);
	kluis_buf_dispose(&trailers);
	kluis_txn_free(t);
	return err;
}
