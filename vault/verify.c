/*
 * verify.c - verification of a dossier's history (see verify.h): the entry points.
 *
 * A run walks main from the root (or, resuming from the verified-state cache, from the
 * cached head), checks each commit against its parent (verify_commit.c) and the objects it
 * links to (verify_object.c), the object work on worker threads (verify_par.c), then the read
 * log (verify_history.c), the vault's checkpoint and an optional witness's. An incremental run
 * also checks that the old objects are still there and scrubs a slice of them (verify_incr.c);
 * when that cannot be vouched for, it verifies everything. A clean run records the state for
 * the next one (vcache.c).
 */
#include "verify_internal.h"
#include "checkpoint.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

bool kluis_vlist_has(char **list, size_t n, const char *s)
{
	return kluis_strings_has((const char *const *)list, n, s);
}

void kluis_vlist_add(char ***list, size_t *n, const char *s)
{
	char **g;

	if (kluis_vlist_has(*list, *n, s))
		return;
	g = realloc(*list, (*n + 1) * sizeof(*g));
	if (!g)
		return;
	*list = g;
	if ((g[*n] = strdup(s)) != NULL)
		(*n)++;
}

void kluis_vfinding(vctx *v, const git_oid *commit, const char *fmt, ...)
{
	kluis_finding *grown;
	va_list ap;
	char *msg = NULL;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	grown = realloc(v->rep->findings, (v->rep->nfindings + 1) * sizeof(*grown));
	if (!grown || !msg) {
		free(msg);
		return;
	}
	v->rep->findings = grown;
	memset(&grown[v->rep->nfindings].commit, 0, sizeof(git_oid));
	if (commit)
		git_oid_cpy(&grown[v->rep->nfindings].commit, commit);
	grown[v->rep->nfindings].message = msg;
	v->rep->nfindings++;
}

void kluis_verify_report_dispose(kluis_verify_report *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->nfindings; i++)
		free(r->findings[i].message);
	free(r->findings);
	r->findings = NULL;
	r->nfindings = 0;
}

static void check_checkpoint(vctx *v, const kluis_checkpoint *cp, const git_oid *head, const char *whose)
{
	kluis_buf data = KLUIS_BUF_INIT, sig = KLUIS_BUF_INIT;
	char hex[GIT_OID_HEXSZ + 1], signer[41];

	git_oid_tostr(hex, sizeof(hex), &cp->head);
	if (strcmp(cp->dossier, v->id) != 0) {
		kluis_vfinding(v, NULL, "%s checkpoint is for dossier '%s', not '%s'", whose, cp->dossier, v->id);
		goto cleanup;
	}
	if (kluis_commit_split_signature((const char *)cp->raw.ptr, cp->raw.len, &data, &sig) < 0 ||
	    kluis_pgp_verify_detached(v->kr, data.ptr, data.len, sig.ptr, sig.len, signer, NULL) < 0) {
		kluis_vfinding(v, &cp->head, "%s checkpoint's signature does not verify: %s", whose, kluis_error_last());
		goto cleanup;
	}
	if (!git_oid_equal(&cp->head, head) && git_graph_descendant_of(v->repo, head, &cp->head) != 1)
		kluis_vfinding(v, &cp->head, "rollback or rewrite: the head does not descend from the %s checkpoint %.12s (seq %llu)", whose, hex, cp->seq);
cleanup:
	kluis_buf_dispose(&data);
	kluis_buf_dispose(&sig);
}

/* Resume from the cached head: its roles, and the state the cache carried (moved into v). */
static int resume(vctx *v, kluis_vcache *cache, git_commit **parent)
{
	git_commit *sc = NULL;
	git_tree *st = NULL;
	int err = 0;

	if (git_commit_lookup(&sc, v->repo, &cache->head) < 0 || git_commit_tree(&st, sc) < 0 ||
	    kluis_vload_roles(v, st, &v->roles) < 0) {
		git_commit_free(sc);
		err = kluis_error_set(KLUIS_EVERIFY, "cannot resume from the verified state");
		goto cleanup;
	}
	*parent = sc;
	v->consent_ids = cache->consent_ids;
	v->consent_opdr = cache->consent_opdr;
	v->nconsents = cache->nconsents;
	v->restricted = cache->restricted;
	v->nrestricted = cache->nrestricted;
	cache->consent_ids = NULL;
	cache->consent_opdr = NULL;
	cache->restricted = NULL;
	cache->nconsents = cache->nrestricted = 0;
cleanup:
	git_tree_free(st);
	return err;
}

/* Record a clean run: the state v ends in, and the object store's stamps in `next`. */
static void record(vctx *v, const char *cache_key, kluis_vcache *next, const git_oid *head, const git_oid *access_head,
		   unsigned long long seq, int64_t started)
{
	git_oid_cpy(&next->head, head);
	git_oid_cpy(&next->access, access_head);
	next->seq = seq;
	next->time = started;
	next->consent_ids = v->consent_ids;
	next->consent_opdr = v->consent_opdr;
	next->nconsents = v->nconsents;
	next->restricted = v->restricted;
	next->nrestricted = v->nrestricted;
	kluis_vcache_store(cache_key, next, v->opts);
	next->consent_ids = NULL;  /* borrowed */
	next->consent_opdr = NULL;
	next->restricted = NULL;
	next->nconsents = next->nrestricted = 0;
}

int kluis_verify_repository(git_repository *repo, const char *id, kluis_keyring *kr, const kluis_verify_opts *opts,
			    const char *cache_key, kluis_verify_report *rep)
{
	vctx v;
	git_oid head, content, *chain = NULL, access_head;
	int64_t started = (int64_t)time(NULL) - 2; /* ctime granularity and clock slack */
	git_commit *c = NULL, *parent = NULL, *content_commit = NULL;
	kluis_vcache *cache = NULL, *next = NULL;
	bool exists, have_cache = false, unchanged = false, use_cache = cache_key && !opts->no_cache;
	unsigned long long seq = 0;
	size_t n = 0, i;
	int err, rc, unreadable;

	memset(rep, 0, sizeof(*rep));
	memset(&v, 0, sizeof(v));
	memset(&access_head, 0, sizeof(access_head));
	v.repo = repo;
	v.kr = kr;
	v.opts = opts;
	v.rep = rep;
	v.id = id;
	if ((err = kluis_repo_ref(repo, KLUIS_MAIN_REF, &head, &exists)) < 0)
		return err;
	if (!exists) {
		kluis_vfinding(&v, NULL, "no refs/heads/main: not a dossier");
		return 0;
	}
	git_oid_cpy(&rep->head, &head);
	if ((err = kluis_repo_ref(repo, KLUIS_CONTENT_REF, &content, &exists)) < 0)
		return err;
	if (!exists || git_commit_lookup(&content_commit, repo, &content) < 0 || git_commit_tree(&v.content_tree, content_commit) < 0)
		kluis_vfinding(&v, NULL, "refs/kluis/content is missing or unreadable");

	/* resume from the verified-state cache when the object store kept every old object and
	 * the new head descends from the cached one */
	if (use_cache) {
		if (!(cache = calloc(1, sizeof(*cache))) || !(next = calloc(1, sizeof(*next)))) {
			err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
			goto cleanup;
		}
		have_cache = kluis_vcache_load(cache_key, cache, opts) == 0;
		if (kluis_vincr_scan(&v, cache_key, have_cache ? cache : NULL, next, &unchanged) < 0)
			next->have_dirs = unchanged = false;
		have_cache = have_cache && unchanged;
	}
	rc = have_cache ? kluis_vmain_chain(&v, &head, &cache->head, &chain, &n) : 1;
	if (rc == 1) {
		free(chain);
		chain = NULL;
		have_cache = false;
		if ((err = kluis_vmain_chain(&v, &head, NULL, &chain, &n)) < 0)
			goto cleanup;
	} else if (rc < 0) {
		err = rc;
		goto cleanup;
	}
	rep->incremental = have_cache;
	/* a full run reads the whole of refs/kluis/content (every tree of it must be there); an
	 * incremental one looks up what its new commits name, the old trees being vouched for by
	 * the object store's check */
	if (!have_cache && (unreadable = kluis_vcontent_load(&v)) > 0)
		kluis_vfinding(&v, &head, "refs/kluis/content: %d tree object%s missing", unreadable, unreadable > 1 ? "s are" : " is");
	if (git_commit_lookup(&c, repo, &head) == 0)
		git_commit_tree(&v.head_tree, c);
	git_commit_free(c);
	c = NULL;
	if (have_cache) {
		seq = cache->seq;
		rep->total_commits = (size_t)cache->seq + n;
		if ((err = resume(&v, cache, &parent)) < 0)
			goto cleanup;
	} else {
		rep->total_commits = n;
		v.main_oids = malloc((n + 1) * sizeof(git_oid));
		if (!v.main_oids) {
			err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
			goto cleanup;
		}
		memcpy(v.main_oids, chain, n * sizeof(git_oid));
		v.nmain = n;
		qsort(v.main_oids, n, sizeof(git_oid), kluis_void_cmp);
	}
	/* every new commit against its parent: gathered on worker threads, judged in order */
	if ((err = kluis_vcheck_chain(&v, chain, n, parent ? git_commit_id(parent) : NULL, &seq)) < 0)
		goto cleanup;
	kluis_vcheck_access(&v, &head, have_cache && !git_oid_is_zero(&cache->access) ? &cache->access : NULL, &access_head);
	if (opts->witness) {
		kluis_checkpoint cp;
		kluis_buf text = KLUIS_BUF_INIT;
		if ((err = kluis_file_read(&text, opts->witness, 1 << 20)) == 0 &&
		    (err = kluis_checkpoint_parse(&cp, (const char *)text.ptr, text.len)) == 0) {
			check_checkpoint(&v, &cp, &head, "witness");
			kluis_checkpoint_dispose(&cp);
		}
		kluis_buf_dispose(&text);
		if (err < 0)
			goto cleanup;
	}
	if (use_cache && next->have_dirs && rep->nfindings == 0)
		record(&v, cache_key, next, &head, &access_head, seq, started);
	err = 0;
cleanup:
	for (i = 0; i < v.nkeyids; i++)
		kluis_pgp_ids_free(v.keyids[i].keyids, v.keyids[i].n);
	kluis_strings_free(v.restricted, v.nrestricted);
	kluis_strings_free(v.consent_ids, v.nconsents);
	free(v.consent_opdr);
	kluis_vcache_dispose(cache);
	kluis_vcache_dispose(next);
	free(cache);
	free(next);
	git_tree_free(v.head_tree);
	git_tree_free(v.prev_entries);
	git_commit_free(v.last_commit);
	free(v.keyids);
	free(v.main_oids);
	free(v.content);
	free(chain);
	kluis_roles_dispose(&v.roles);
	git_tree_free(v.content_tree);
	git_commit_free(content_commit);
	git_commit_free(parent);
	git_commit_free(c);
	return err;
}

/*
 * The keyring to verify with: GNUPGHOME's public keys, plus for an imported dossier the keys
 * its archive carried (kept in ID.git/kluis-keys), so it verifies for its whole retention.
 */
static int dossier_keyring(kluis_vault *vault, kluis_dossier *d, kluis_keyring **own, kluis_keyring **kr)
{
	char *dir = kluis_path_join(d->path, "kluis-keys"), *path;
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

static int load_dossier_trust(kluis_dossier *d, char ***out, size_t *n)
{
	kluis_buf text = KLUIS_BUF_INIT;
	char *path = kluis_path_join(d->path, "kluis-trust"), *line, *save = NULL, fpr[41], **grown;
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
	kluis_dossier *d = NULL;
	kluis_keyring *kr;
	kluis_checkpoint cp;
	kluis_verify_opts o = *opts;
	const char *const *trust;
	size_t ntrust;
	char *cache_key = NULL, **dtrust = NULL;
	size_t ndtrust = 0;
	kluis_keyring *own_kr = NULL;
	vctx v;
	char cp_msg[512] = "";
	int err, cp_err = KLUIS_ENOTFOUND;

	memset(rep, 0, sizeof(*rep));
	if ((err = kluis_dossier_open(&d, vault, id)) < 0 || (err = dossier_keyring(vault, d, &own_kr, &kr)) < 0)
		goto cleanup;
	if (!o.ntrust) {
		/* an imported dossier keeps the trust root it was imported under */
		if (load_dossier_trust(d, &dtrust, &ndtrust) == 0 && ndtrust) {
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
	cache_key = kluis_vcache_key(vault->root, id);
	if ((err = kluis_keyring_ready(kr)) < 0 || (err = kluis_verify_repository(d->repo, id, kr, &o, cache_key, rep)) < 0)
		goto cleanup;
	/* the head must descend from the checkpoint */
	memset(&v, 0, sizeof(v));
	v.repo = d->repo;
	v.kr = kr;
	v.opts = &o;
	v.rep = rep;
	v.id = id;
	err = cp_err;
	if (err == KLUIS_ENOTFOUND) {
		kluis_vfinding(&v, NULL, "the vault keeps no checkpoint for this dossier (checkpoints/%s is missing)", id);
	} else if (err < 0) {
		kluis_vfinding(&v, NULL, "the vault's checkpoint is unreadable: %s", cp_msg);
	} else {
		check_checkpoint(&v, &cp, &rep->head, "vault's");
	}
	err = 0;
cleanup:
	if (cp_err == 0)
		kluis_checkpoint_dispose(&cp);
	kluis_keyring_free(own_kr);
	kluis_strings_free(dtrust, ndtrust);
	free(cache_key);
	kluis_dossier_free(d);
	return err;
}
