/*
 * verify.c - `kluis verify`'s entry points (see verify.h): a repository, a vault's dossier.
 *
 * A run replays main from the root (replay_rules.c: every commit against the model), then
 * checks refs/kluis/content against the final state (replay_objects.c) and replays the read log
 * (replay_readlog.c); for a vault's dossier it also checks the vault's checkpoint, and an
 * optional witness's: the head must descend from what they saw.
 */
#include "vault/verify/replay.h"
#include "vault/store/checkpoint.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void check_checkpoint(replay *v, const kluis_checkpoint *cp, const git_oid *head, const char *whose)
{
	kluis_buf data = KLUIS_BUF_INIT, sig = KLUIS_BUF_INIT;
	char hex[GIT_OID_HEXSZ + 1], signer[41];
	bool in_history, clean = v->rep->nfindings == 0;

	git_oid_tostr(hex, sizeof(hex), &cp->head);
	if (strcmp(cp->dossier, v->id) != 0) {
		kluis_rfinding(v, NULL, "%s checkpoint is for dossier '%s', not '%s'", whose, cp->dossier, v->id);
		goto cleanup;
	}
	in_history = git_oid_equal(&cp->head, head) || git_graph_descendant_of(v->repo, head, &cp->head) == 1;
	if ((!in_history || !clean) &&
	    (kluis_commit_split_signature((const char *)cp->raw.ptr, cp->raw.len, &data, &sig) < 0 ||
	     kluis_pgp_verify_detached(v->kr, data.ptr, data.len, sig.ptr, sig.len, signer, NULL) < 0)) {
		kluis_rfinding(v, &cp->head, "%s checkpoint's signature does not verify: %s", whose, kluis_error_last());
		goto cleanup;
	}
	if (!in_history)
		kluis_rfinding(v, &cp->head, "rollback or rewrite: the head does not descend from the %s checkpoint %.12s (seq %llu)", whose, hex, cp->seq);
	if (cp->has_access) {
		git_oid now;
		bool exists = false, in_log;
		kluis_buf_dispose(&data);
		kluis_buf_dispose(&sig);
		git_oid_tostr(hex, sizeof(hex), &cp->access);
		in_log = kluis_repo_ref(v->repo, KLUIS_ACCESS_REF, &now, &exists) == 0 && exists &&
			 (git_oid_equal(&now, &cp->access) || git_graph_descendant_of(v->repo, &now, &cp->access) == 1);
		if ((!in_log || !clean) &&
		    (kluis_commit_split_signature((const char *)cp->access_raw.ptr, cp->access_raw.len, &data, &sig) < 0 ||
		     kluis_pgp_verify_detached(v->kr, data.ptr, data.len, sig.ptr, sig.len, signer, NULL) < 0))
			kluis_rfinding(v, &cp->access, "%s checkpoint's read record does not verify: %s", whose, kluis_error_last());
		else if (!exists)
			kluis_rfinding(v, &cp->access, "the read log is gone, though the %s checkpoint vouches for %llu reads up to %.12s", whose, cp->access_seq, hex);
		else if (!in_log)
			kluis_rfinding(v, &cp->access, "the read log was cut back or rewritten: it does not hold the %s checkpoint's record %.12s (read %llu)", whose, hex, cp->access_seq);
	}
cleanup:
	kluis_buf_dispose(&data);
	kluis_buf_dispose(&sig);
}

/*
 * The first parent a commit's bytes name ("tree X\nparent Y\n..."), false for none or an
 * unreadable commit (the replay names it when it gets there, and checks each parent strictly).
 * Read raw: libgit2 caches raw and parsed objects apart, so a parsed lookup here would send
 * the signature workers and the replay, which read raw, to the disk again for every commit.
 */
static bool first_parent(git_odb *odb, const git_oid *id, git_oid *parent)
{
	git_odb_object *o = NULL;
	const char *p;
	bool ok = false;

	if (git_odb_read(&o, odb, id) == 0 && git_odb_object_type(o) == GIT_OBJECT_COMMIT &&
	    git_odb_object_size(o) >= 94) {
		p = git_odb_object_data(o);
		ok = memcmp(p, "tree ", 5) == 0 && p[45] == '\n' && memcmp(p + 46, "parent ", 7) == 0 && p[93] == '\n' &&
		     git_oid_fromstrn(parent, p + 53, GIT_OID_HEXSZ) == 0;
	}
	git_odb_object_free(o);
	return ok;
}

/*
 * main's commits after `stop` (NULL: all), oldest first. *found: the walk met `stop` (else
 * the head does not descend from it).
 */
static int main_chain(replay *r, const git_oid *head, const git_oid *stop, git_oid **out, size_t *n, bool *found)
{
	git_odb *odb = NULL;
	git_oid cur, *v = NULL;
	size_t cap = 0, k = 0, i;
	int err = 0;

	*found = false;
	if (git_repository_odb(&odb, r->repo) < 0) {
		err = kluis_git_fail(KLUIS_EGENERIC, "cannot open the object database");
		goto cleanup;
	}
	git_oid_cpy(&cur, head);
	for (;;) {
		if (stop && git_oid_equal(&cur, stop)) {
			*found = true;
			break;
		}
		if (k == cap) {
			git_oid *g = realloc(v, (cap = cap ? 2 * cap : 256) * sizeof(*g));
			if (!g) {
				err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
				goto cleanup;
			}
			v = g;
		}
		git_oid_cpy(&v[k++], &cur);
		if (!first_parent(odb, &cur, &cur))
			break;
	}
	for (i = 0; i < k / 2; i++) {
		git_oid t = v[i];
		v[i] = v[k - 1 - i];
		v[k - 1 - i] = t;
	}
	*out = v;
	*n = k;
	v = NULL;
cleanup:
	git_odb_free(odb);
	free(v);
	return err;
}

static void replay_dispose(replay *r)
{
	size_t i;

	for (i = 0; i < r->nkeyids; i++)
		kluis_pgp_ids_free(r->keyids[i].ids, r->keyids[i].n);
	free(r->keyids);
	free(r->entries);
	free(r->missing);
	free(r->missing_at);
	free(r->old_want);
	git_odb_object_free(r->entries_raw);
	kluis_roles_dispose(&r->roles);
}

static void replay_init(replay *r, git_repository *repo, const char *id, kluis_keyring *kr, const kluis_verify_opts *opts,
			kluis_verify_report *rep)
{
	memset(r, 0, sizeof(*r));
	r->repo = repo;
	r->kr = kr;
	r->opts = opts;
	r->rep = rep;
	r->id = id;
}

int kluis_verify_repository(git_repository *repo, const char *id, kluis_keyring *kr, const kluis_verify_opts *opts,
			    const char *state_path, kluis_verify_report *rep)
{
	replay r;
	git_oid head, *chain = NULL, access_head, from_access, old_head;
	size_t n = 0, i, reads = 0, from_reads = 0;
	bool exists, complete = true, resumed = false, found = false, use_state = state_path && !opts->no_cache;
	int err;

	memset(rep, 0, sizeof(*rep));
	memset(&from_access, 0, sizeof(from_access));
	replay_init(&r, repo, id, kr, opts, rep);
	if ((err = kluis_repo_ref(repo, KLUIS_MAIN_REF, &head, &exists)) < 0)
		return err;
	if (!exists) {
		kluis_rfinding(&r, NULL, "no refs/heads/main: not a dossier");
		return 0;
	}
	git_oid_cpy(&rep->head, &head);
	/* the verifier's own checkpoint: resume there when the head descends from it */
	if (use_state && kluis_replay_state_load(&r, state_path, &from_access, &from_reads) == 0) {
		git_oid_cpy(&old_head, &r.head);
		if ((err = main_chain(&r, &head, &old_head, &chain, &n, &found)) < 0)
			goto cleanup;
		resumed = found;
		if (!found) {
			free(chain);
			chain = NULL;
		}
	}
	if (!resumed) {
		replay_dispose(&r);
		replay_init(&r, repo, id, kr, opts, rep);
		memset(&from_access, 0, sizeof(from_access));
		from_reads = 0;
		if ((err = main_chain(&r, &head, NULL, &chain, &n, &found)) < 0)
			goto cleanup;
	}
	rep->incremental = resumed;
	rep->total_commits = (size_t)r.seq + n;
	/* an unreadable keyring is one error, not a finding on every commit; a run with nothing
	 * new to check (its state is bound to these very keyring bytes) needs no OpenPGP at all */
	if (n && (err = kluis_keyring_ready(kr)) < 0)
		goto cleanup;
	kluis_pgp_quiet_begin(kr);
	kluis_rsigs_start(&r.sigs, repo, kr, chain, n);
	for (i = 0; i < n && complete; i++) {
		kluis_rct_drain(&r, false);
		complete = kluis_replay_commit(&r, &chain[i]) == 0;
	}
	kluis_rct_drain(&r, true);
	kluis_rsigs_stop(r.sigs);
	r.sigs = NULL;
	kluis_pgp_quiet_end(kr);
	if (!complete) {
		if (i < n)
			kluis_rfinding(&r, NULL, "the replay stopped at that commit: the %zu commit%s after it %s not judged", n - i,
				       n - i == 1 ? "" : "s", n - i == 1 ? "was" : "were");
		goto cleanup;
	}
	kluis_rcontent_check(&r);
	if (opts->incoming && (err = kluis_rincoming_check(&r, opts->incoming, opts->existing)) < 0)
		goto cleanup;
	kluis_rreadlog_check(&r, &head, resumed ? &old_head : NULL, resumed && !git_oid_is_zero(&from_access) ? &from_access : NULL,
			     from_reads, &access_head, &reads);
	if (opts->witness) {
		kluis_checkpoint cp;
		kluis_buf text = KLUIS_BUF_INIT;
		if ((err = kluis_file_read(&text, opts->witness, 1 << 20)) == 0 &&
		    (err = kluis_checkpoint_parse(&cp, (const char *)text.ptr, text.len)) == 0) {
			check_checkpoint(&r, &cp, &head, "witness");
			kluis_checkpoint_dispose(&cp);
		}
		kluis_buf_dispose(&text);
		if (err < 0)
			goto cleanup;
	}
	/* a clean run is the next one's starting point; a run with a finding keeps the last clean one */
	if (use_state && rep->nfindings == 0 && !(resumed && n == 0 && reads == from_reads && git_oid_equal(&access_head, &from_access)))
		kluis_replay_state_save(&r, state_path, &access_head, reads);
	err = 0;
cleanup:
	replay_dispose(&r);
	free(chain);
	return err;
}

/*
 * The keyring to verify with: GNUPGHOME's public keys, plus for an imported dossier the keys
 * its archive carried (kept in ID.git/kluis-keys), so it verifies for its whole retention.
 */
static int dossier_keyring(kluis_vault *vault, const char *dpath, kluis_keyring **own, kluis_keyring **kr)
{
	char *dir = kluis_path_join(dpath, "kluis-keys"), *path;
	DIR *dd = dir ? opendir(dir) : NULL;
	struct dirent *de;
	kluis_buf data = KLUIS_BUF_INIT;
	int err = 0;

	*own = NULL;
	if (!dd) {
		free(dir);
		return kluis_vault_keyring(vault, kr);
	}
	/* the local keyring is optional here: unreadable, the archive's keys alone serve */
	if (kluis_keyring_open_gnupg(own, NULL) < 0 || kluis_keyring_ready(*own) < 0) {
		kluis_keyring_free(*own);
		*own = NULL;
	}
	while ((de = readdir(dd)) != NULL && err == 0) {
		if (de->d_name[0] == '.' || !(path = kluis_path_join(dir, de->d_name)))
			continue;
		data.len = 0;
		if (kluis_file_read(&data, path, 1 << 20) == 0)
			err = *own ? kluis_keyring_import(*own, data.ptr, data.len) : kluis_keyring_open_data(own, data.ptr, data.len);
		free(path);
	}
	closedir(dd);
	free(dir);
	kluis_buf_dispose(&data);
	if (err == 0 && !*own)
		err = kluis_error_set(KLUIS_EKEY, "no public keys to verify with");
	*kr = *own;
	return err;
}

static int load_dossier_trust(const char *dpath, char ***out, size_t *n)
{
	kluis_buf text = KLUIS_BUF_INIT;
	char *path = kluis_path_join(dpath, "kluis-trust"), *line, *save = NULL, fpr[41], **grown;
	int err;

	*out = NULL;
	*n = 0;
	if (!path)
		return kluis_error_set(KLUIS_EGENERIC, "out of memory");
	err = kluis_file_read(&text, path, 65536);
	for (line = err == 0 ? strtok_r((char *)text.ptr, "\n", &save) : NULL; line; line = strtok_r(NULL, "\n", &save)) {
		if (!kluis_fpr_normalize(line, fpr))
			continue;
		grown = realloc(*out, (*n + 1) * sizeof(*grown));
		if (!grown)
			break;
		*out = grown;
		if (((*out)[*n] = strdup(fpr)) != NULL)
			(*n)++;
	}
	kluis_buf_dispose(&text);
	free(path);
	return err == KLUIS_ENOTFOUND ? 0 : err;
}

int kluis_verify_dossier(kluis_vault *vault, const char *id, const kluis_verify_opts *opts, kluis_verify_report *rep)
{
	git_repository *repo = NULL;
	char *dpath = NULL;
	kluis_keyring *kr;
	kluis_checkpoint cp;
	kluis_verify_opts o = *opts;
	const char *const *trust;
	size_t ntrust;
	char **dtrust = NULL, *state_path = NULL;
	size_t ndtrust = 0;
	kluis_keyring *own_kr = NULL;
	replay v;
	char cp_msg[512] = "";
	int err, cp_err = KLUIS_ENOTFOUND;

	memset(rep, 0, sizeof(*rep));
	/* the repository only: whatever its head holds is for the replay to judge */
	if (!kluis_id_valid(id)) {
		err = kluis_error_set(KLUIS_EINVAL, "'%s' is not a dossier id ([a-z0-9-], 1 to 64 characters)", id);
		goto cleanup;
	}
	if (asprintf(&dpath, "%s/%s.git", vault->dossiers, id) < 0) {
		dpath = NULL;
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto cleanup;
	}
	if (!kluis_path_exists(dpath)) {
		err = kluis_error_set(KLUIS_ENOTFOUND, "no dossier '%s' in vault %s (kluis list shows them)", id, vault->root);
		goto cleanup;
	}
	if ((err = kluis_repo_open(&repo, dpath)) < 0 || (err = dossier_keyring(vault, dpath, &own_kr, &kr)) < 0)
		goto cleanup;
	if (!o.ntrust) {
		/* an imported dossier keeps the trust root it was imported under */
		if (load_dossier_trust(dpath, &dtrust, &ndtrust) == 0 && ndtrust) {
			o.trust = (const char *const *)dtrust;
			o.ntrust = ndtrust;
		} else {
			if ((err = kluis_vault_trust(vault, &trust, &ntrust)) < 0)
				goto cleanup;
			o.trust = trust;
			o.ntrust = ntrust;
		}
	}
	/*
	 * The vault's own checkpoint, read before the head: a writer moves the head first and
	 * then the checkpoint, so read in this order a head being written meanwhile still
	 * descends from it (read the other way round, a concurrent add looked like a rollback).
	 */
	cp_err = kluis_checkpoint_load(vault, id, &cp);
	if (cp_err < 0 && cp_err != KLUIS_ENOTFOUND)
		snprintf(cp_msg, sizeof(cp_msg), "%s", kluis_error_last());
	state_path = kluis_replay_state_path(vault->root, id);
	if ((err = kluis_verify_repository(repo, id, kr, &o, state_path, rep)) < 0)
		goto cleanup;
	/* the head must descend from the checkpoint */
	memset(&v, 0, sizeof(v));
	v.repo = repo;
	v.kr = kr;
	v.opts = &o;
	v.rep = rep;
	v.id = id;
	err = cp_err;
	if (err == KLUIS_ENOTFOUND) {
		kluis_rfinding(&v, NULL, "the vault keeps no checkpoint for this dossier (checkpoints/%s is missing)", id);
	} else if (err < 0) {
		kluis_rfinding(&v, NULL, "the vault's checkpoint is unreadable: %s", cp_msg);
	} else {
		check_checkpoint(&v, &cp, &rep->head, "vault's");
	}
	err = 0;
cleanup:
	if (cp_err == 0)
		kluis_checkpoint_dispose(&cp);
	kluis_keyring_free(own_kr);
	kluis_strings_free(dtrust, ndtrust);
	free(state_path);
	free(dpath);
	git_repository_free(repo);
	return err;
}
