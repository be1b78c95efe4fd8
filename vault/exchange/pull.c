/*
 * pull.c - kluis pull (see sync.h): the quarantine-verify-then-move protocol. The server's
 * refs are fetched into a scratch repository under VAULT/tmp that sees the dossier's objects;
 * the state afterwards is computed ref by ref (a fast-forward of either side, or, when both
 * moved, this vault's work replayed on the server's: reconcile.c), verified there as a whole,
 * and only then copied into the dossier and its refs moved by compare-and-swap under the
 * dossier lock, content before main. Invariants: main and the read log never move backwards;
 * they move sideways only to a replay of this vault's own work on the server's history that
 * verified as a whole; a rolled-back or rewritten server, or a replay that cannot be made,
 * changes nothing here.
 */
#include "vault/exchange/sync.h"
#include "vault/exchange/sync_internal.h"
#include "vault/exchange/ledger.h"
#include "vault/git/gitchild.h"
#include "vault/store/checkpoint.h"
#include "vault/store/rights.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static int fetch_into(const char *scratch, const char *remote, const ref_set *server)
{
	kluis_buf out = KLUIS_BUF_INIT, errout = KLUIS_BUF_INIT;
	char gitdir[PATH_MAX + 16], spec[R_COUNT][96], reason[KLUIS_GIT_LINE_MAX + 1];
	const char *args[16];
	size_t na = 0;
	int status, err, i;

	snprintf(gitdir, sizeof(gitdir), "--git-dir=%s", scratch);
	args[na++] = gitdir;
	args[na++] = "-c";
	args[na++] = "fetch.fsckObjects=true"; /* stock git checks every object it receives, too */
	args[na++] = "fetch";
	args[na++] = "--no-tags";
	args[na++] = "--no-write-fetch-head";
	args[na++] = "--quiet";
	args[na++] = "--";
	args[na++] = remote;
	for (i = 0; i < R_COUNT; i++)
		if (server->has[i]) {
			snprintf(spec[i], sizeof(spec[i]), "+%s:%s", kluis_sync_ref_names[i], kluis_sync_incoming_names[i]);
			args[na++] = spec[i];
		}
	args[na] = NULL;
	if ((err = kluis_git_run(args, &out, &errout, &status)) == 0 && status != 0) {
		kluis_git_line_last((const char *)errout.ptr, reason);
		err = kluis_error_set(KLUIS_EGENERIC, "cannot fetch from %s: %s", remote, reason);
	}
	kluis_buf_dispose(&out);
	kluis_buf_dispose(&errout);
	return err;
}

/*
 * The state after the pull, ref by ref: the server's when it descends from ours (or we have
 * none), ours when ours descends from the server's (unpushed local work). Neither: divergent.
 */
static int merge_ff(git_repository *scratch, const ref_set *local, const ref_set *server, ref_set *final, bool *local_ahead,
		    const char **divergent)
{
	int i, rc = 0;

	*divergent = NULL;
	*local_ahead = false;
	*final = *local;
	for (i = 0; i < R_COUNT; i++) {
		if (i == R_CONTENT || !server->has[i] || (local->has[i] && git_oid_equal(&local->oid[i], &server->oid[i])))
			continue;
		if (!local->has[i] || (rc = git_graph_descendant_of(scratch, &server->oid[i], &local->oid[i])) == 1) {
			final->oid[i] = server->oid[i];
			final->has[i] = true;
			continue;
		}
		if (rc < 0)
			return kluis_git_fail(KLUIS_EGENERIC, "cannot compare the histories");
		if ((rc = git_graph_descendant_of(scratch, &local->oid[i], &server->oid[i])) == 1) {
			*local_ahead = true;
			continue;
		}
		if (rc < 0)
			return kluis_git_fail(KLUIS_EGENERIC, "cannot compare the histories");
		*divergent = kluis_sync_ref_names[i];
		return 0;
	}
	/* content belongs to main: it moves exactly when main does */
	if (!local->has[R_MAIN] || !git_oid_equal(&final->oid[R_MAIN], &local->oid[R_MAIN])) {
		final->oid[R_CONTENT] = server->oid[R_CONTENT];
		final->has[R_CONTENT] = server->has[R_CONTENT];
	}
	return 0;
}

/* Copy the objects the new state needs and `local` lacks into the dossier, as one pack. */
static int copy_objects(git_repository *scratch, const ref_set *final, const ref_set *local, const char *dossier_path)
{
	git_packbuilder *pb = NULL;
	git_revwalk *walk = NULL;
	char *objects = kluis_path_join(dossier_path, "objects"), *pack = objects ? kluis_path_join(objects, "pack") : NULL;
	int i, err = 0;

	if (!pack) {
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto cleanup;
	}
	if (git_revwalk_new(&walk, scratch) < 0 || git_packbuilder_new(&pb, scratch) < 0)
		goto fail;
	for (i = 0; i < R_COUNT; i++) {
		if (final->has[i] && git_revwalk_push(walk, &final->oid[i]) < 0)
			goto fail;
		if (local->has[i] && git_revwalk_hide(walk, &local->oid[i]) < 0)
			goto fail;
	}
	if (git_packbuilder_insert_walk(pb, walk) < 0 ||
	    (git_packbuilder_object_count(pb) && git_packbuilder_write(pb, pack, 0, NULL, NULL) < 0))
		goto fail;
	goto cleanup;
fail:
	err = kluis_git_fail(KLUIS_EGENERIC, "cannot copy the pulled objects into the dossier");
cleanup:
	git_packbuilder_free(pb);
	git_revwalk_free(walk);
	free(pack);
	free(objects);
	return err;
}

/* The scratch bare repository a pull fetches into, under VAULT/tmp. */
static int make_scratch(kluis_vault *v, char **out)
{
	git_repository *repo = NULL;
	int err;

	if ((err = kluis_vault_workdir(v, "pull", out)) < 0)
		return err;
	err = kluis_repo_create(&repo, *out);
	git_repository_free(repo);
	return err;
}

static int roles_at(git_repository *repo, const git_oid *commit, kluis_roles *out)
{
	git_commit *c = NULL;
	git_tree *t = NULL;
	kluis_buf text = KLUIS_BUF_INIT;
	int err;

	if (git_commit_lookup(&c, repo, commit) < 0 || git_commit_tree(&t, c) < 0)
		err = kluis_git_fail(KLUIS_EVERIFY, "cannot read the pulled head");
	else if ((err = kluis_repo_read_path(repo, t, "roles", &text)) == 0)
		err = kluis_roles_parse(out, (const char *)text.ptr, text.len);
	kluis_buf_dispose(&text);
	git_tree_free(t);
	git_commit_free(c);
	return err;
}

static int update_local(kluis_dossier *d, const ref_set *final, const ref_set *local)
{
	static const int order[R_COUNT] = { R_CONTENT, R_MAIN, R_ACCESS }; /* content before main */
	git_odb *odb = NULL;
	int i, k, err;

	if (git_repository_odb(&odb, d->repo) < 0 || git_odb_refresh(odb) < 0) {
		git_odb_free(odb);
		return kluis_git_fail(KLUIS_EGENERIC, "cannot reload the dossier's objects");
	}
	git_odb_free(odb);
	for (k = 0; k < R_COUNT; k++) {
		i = order[k];
		if (!final->has[i] || (local->has[i] && git_oid_equal(&final->oid[i], &local->oid[i])))
			continue;
		if ((err = kluis_repo_ref_cas(d->repo, kluis_sync_ref_names[i], &final->oid[i], local->has[i] ? &local->oid[i] : NULL, "kluis pull")) < 0)
			return err;
	}
	return 0;
}

/* The new dossier: the verified scratch repository moved into place, origin recorded. */
static int adopt_clone(kluis_vault *v, const char *id, const char *scratch_path, git_repository **scratch, const char *remote,
		       const git_oid *head)
{
	git_config *cfg = NULL;
	git_repository *repo = NULL;
	char name[80], *final_path = NULL;
	int err;

	if (git_repository_config(&cfg, *scratch) < 0 || git_config_set_string(cfg, "remote.origin.url", remote) < 0) {
		err = kluis_git_fail(KLUIS_EGENERIC, "cannot record the remote in the new dossier");
		goto cleanup;
	}
	git_config_free(cfg);
	cfg = NULL;
	git_repository_free(*scratch);
	*scratch = NULL;
	snprintf(name, sizeof(name), "%s.git", id);
	if ((err = kluis_mkdir_p(v->dossiers)) < 0)
		goto cleanup;
	if (!(final_path = kluis_path_join(v->dossiers, name))) {
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto cleanup;
	}
	if (kluis_path_exists(final_path) || rename(scratch_path, final_path) < 0) {
		err = kluis_error_set(KLUIS_EEXISTS, "dossier '%s' appeared in %s while it was being pulled; run kluis pull %s again", id, v->root, id);
		goto cleanup;
	}
	if ((err = kluis_repo_open(&repo, final_path)) < 0)
		goto cleanup;
	err = kluis_checkpoint_write(v, id, repo, head);
cleanup:
	git_repository_free(repo);
	git_config_free(cfg);
	free(final_path);
	return err;
}

/* A pull in progress: what each phase leaves for the next. */
struct pull {
	kluis_vault *v;
	const char *id, *actor;
	const kluis_sync_opts *o;
	kluis_sync_result *res;
	const char *const *trust;
	size_t ntrust;
	bool exists;               /* the vault has the dossier already */
	kluis_dossier *d;          /* then opened, */
	int lock;                  /* locked, */
	ref_set local;             /* and its refs read (all absent otherwise) */
	char *scratch_path;        /* the quarantine the server's refs are fetched into */
	git_repository *scratch;
	ref_set fetched, final;    /* the server's refs; what the dossier's will be */
	kluis_roles roles;         /* the roles at the final main */
};

/* The remote, the actor and a trust root are known; a dossier already here is open and locked,
 * and its refs are read. */
static int pull_prepare(struct pull *p)
{
	char name[80], *dpath = NULL;
	int err = 0;

	snprintf(name, sizeof(name), "%s.git", p->id);
	if ((err = kluis_sync_remote(p->v, p->id, p->o->remote, &p->res->remote)) < 0 ||
	    (err = kluis_vault_actor(p->v, &p->actor)) < 0)
		goto cleanup;
	if (!p->ntrust && (err = kluis_vault_trust(p->v, &p->trust, &p->ntrust)) < 0)
		goto cleanup;
	if (!p->ntrust) {
		err = kluis_error_set(KLUIS_EINVAL, "vault %s has no trust root to verify '%s' with: give --trust FPR (the directie key that created the dossier)",
				      p->v->root, p->id);
		goto cleanup;
	}
	if (!(dpath = kluis_path_join(p->v->dossiers, name))) {
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto cleanup;
	}
	p->exists = kluis_path_exists(dpath);
	/* the lock keeps the local refs still from the comparison to the update */
	if (p->exists && ((err = kluis_dossier_open(&p->d, p->v, p->id)) < 0 ||
			  (err = kluis_sync_check_syncer(&p->d->roles, p->actor, p->id, "pull")) < 0 ||
			  (err = kluis_repo_lock(p->d->path, &p->lock)) < 0 || (err = kluis_sync_read_refs(p->d->repo, kluis_sync_ref_names, &p->local)) < 0))
		goto cleanup;
cleanup:
	free(dpath);
	return err;
}

/* The server's main, content and access refs are fetched into the scratch repository, where
 * main and content are present. */
static int pull_fetch(struct pull *p)
{
	ref_set server;
	int err;

	if ((err = kluis_sync_ls_remote(p->res->remote, &server)) < 0)
		return err;
	if (!server.has[R_MAIN])
		return kluis_error_set(KLUIS_ENOTFOUND, "the server %s holds no dossier '%s' (no refs/heads/main there)",
				       p->res->remote, p->id);
	if ((err = make_scratch(p->v, &p->scratch_path)) < 0 ||
	    (p->exists && (err = kluis_sync_add_alternate(p->scratch_path, p->d->path)) < 0) ||
	    (p->exists && p->local.has[R_CONTENT] && (err = kluis_sync_shallow_mark(p->scratch_path, &p->local.oid[R_CONTENT])) < 0) ||
	    (err = fetch_into(p->scratch_path, p->res->remote, &server)) < 0 ||
	    (err = kluis_repo_open(&p->scratch, p->scratch_path)) < 0 ||
	    (err = kluis_sync_read_refs(p->scratch, kluis_sync_incoming_names, &p->fetched)) < 0)
		return err;
	kluis_sync_shallow_unmark(p->scratch_path);
	if (!p->fetched.has[R_MAIN] || !p->fetched.has[R_CONTENT])
		return kluis_error_set(KLUIS_EVERIFY, "the server's copy of '%s' lacks refs/heads/main or refs/kluis/content; nothing was changed here",
				       p->id);
	return 0;
}

static int verify_scratch(struct pull *p, const ref_set *s, bool arrived);

/* The server still holds what this vault last saw there: no rollback, no rewrite. */
static int pull_check_seen(struct pull *p)
{
	static const char *const what[R_COUNT] = { "history", "", "read log" };
	ref_set seen;
	char hex[13];
	int k, rc, err;

	/* also when the vault no longer holds the dossier: what it saw there still holds */
	if ((err = kluis_sync_seen_read(p->v, p->id, p->res->remote, &seen)) < 0)
		return err;
	for (k = 0; k < R_COUNT; k++) {
		if (k == R_CONTENT || !seen.has[k] || (p->fetched.has[k] && git_oid_equal(&seen.oid[k], &p->fetched.oid[k])))
			continue;
		/* a commit the fetch did not bring (nor the dossier hold) is not in the server's history */
		rc = p->fetched.has[k] && kluis_sync_has_object(p->scratch, &seen.oid[k])
			     ? git_graph_descendant_of(p->scratch, &p->fetched.oid[k], &seen.oid[k])
			     : 0;
		if (rc < 0)
			return kluis_git_fail(KLUIS_EGENERIC, "cannot compare the server's history with what this vault saw there");
		if (rc == 0) {
			git_oid_tostr(hex, sizeof(hex), &seen.oid[k]);
			return kluis_error_set(KLUIS_EVERIFY, "the server's %s of '%s' no longer holds %s, which it held when this vault last synced: the server rolled back or rewrote it; nothing was changed here (tell the server's administrator)",
					       what[k], p->id, hex);
		}
	}
	return 0;
}

/* The final refs are a fast-forward of both sides; when both moved, this vault's work is
 * replayed on the server's (reconcile.c). */
static int pull_merge(struct pull *p)
{
	const char *divergent;
	bool ahead;
	int err;

	if ((err = merge_ff(p->scratch, &p->local, &p->fetched, &p->final, &ahead, &divergent)) < 0)
		return err;
	p->res->local_ahead = ahead;
	if (!divergent)
		return 0;
	/* the server's history is judged on its own first, everything that arrived with it too:
	 * a forged server is refused as such, before anything of this vault's is replayed on it */
	if ((err = verify_scratch(p, &p->fetched, true)) < 0)
		return err;
	if ((err = kluis_reconcile(p->v, p->id, p->scratch_path, &p->local, &p->fetched, &p->final, &p->res->replayed_commits,
				   &p->res->replayed_reads)) < 0)
		return err;
	/* the replay wrote through its own handle: see its objects afresh */
	git_repository_free(p->scratch);
	p->scratch = NULL;
	if ((err = kluis_repo_open(&p->scratch, p->scratch_path)) < 0)
		return err;
	p->res->local_ahead = p->res->reconciled = true;
	return 0;
}

/*
 * The state `s` of the scratch repository verifies as a whole with the vault's trust root.
 * arrived: the objects the fetch brought are judged too (FORMATS, "What arrives"); a replay's
 * result is verified without it, its fetched objects having passed before the replay and the
 * rest having been written here.
 */
static int verify_scratch(struct pull *p, const ref_set *s, bool arrived)
{
	kluis_keyring *kr;
	kluis_verify_opts vo;
	kluis_verify_report rep;
	char *in_objects = NULL, *old_objects = NULL;
	int err = 0;

	memset(&rep, 0, sizeof(rep));
	memset(&vo, 0, sizeof(vo));
	/* verify exactly the state the dossier will have, with the vault's trust root */
	vo.trust = p->trust;
	vo.ntrust = p->ntrust;
	vo.no_cache = true;
	/* what the fetch brought is the scratch repository's own objects; the dossier's were there */
	if (arrived && (!(in_objects = kluis_path_join(p->scratch_path, "objects")) ||
			(p->exists && !(old_objects = kluis_path_join(p->d->path, "objects"))))) {
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto cleanup;
	}
	vo.incoming = in_objects;
	vo.existing = old_objects;
	if ((err = kluis_sync_set_refs(p->scratch, s)) < 0 || (err = kluis_vault_keyring(p->v, &kr)) < 0 ||
	    (err = kluis_verify_repository(p->scratch, p->id, kr, &vo, NULL, &rep)) < 0)
		goto cleanup;
	if (rep.nfindings)
		err = kluis_sync_refuse(&rep, arrived ? "the server's history of" : "the replay of this vault's work on the server's history of",
				      p->id, "nothing was changed here");
cleanup:
	free(in_objects);
	free(old_objects);
	kluis_verify_report_dispose(&rep);
	return err;
}

/* The final state verifies, and the actor may pull it. */
static int pull_verify(struct pull *p)
{
	int err;

	if ((err = verify_scratch(p, &p->final, !p->res->reconciled)) < 0 || (err = roles_at(p->scratch, &p->final.oid[R_MAIN], &p->roles)) < 0)
		return err;
	return kluis_sync_check_syncer(&p->roles, p->actor, p->id, "pull");
}

/* A new dossier: the scratch repository became it, and the ledger records the pull. */
static int pull_adopt(struct pull *p)
{
	int err;

	if ((err = adopt_clone(p->v, p->id, p->scratch_path, &p->scratch, p->res->remote, &p->final.oid[R_MAIN])) < 0)
		return err;
	free(p->scratch_path);
	p->scratch_path = NULL; /* it is the dossier now */
	p->res->created = true;
	if (!p->o->ntrust || (err = kluis_vault_trust_init(p->v, p->trust[0])) == 0)
		err = kluis_ledger_append(p->v, "pull", p->id,
					  kluis_role_name(kluis_roles_of(&p->roles, p->actor) & KLUIS_ROLE_DIRECTIE ? KLUIS_ROLE_DIRECTIE : KLUIS_ROLE_MEDEWERKER),
					  NULL, NULL);
	return err;
}

/* An existing dossier: its objects and refs moved to the final state, dropped ciphertext purged,
 * the checkpoint following main. */
static int pull_update(struct pull *p)
{
	int err;

	if ((err = copy_objects(p->scratch, &p->final, &p->local, p->d->path)) < 0 ||
	    (err = update_local(p->d, &p->final, &p->local)) < 0)
		return err;
	/* an erase or rewrap that came in: its old ciphertext leaves this vault too (P11.2) */
	if (p->local.has[R_CONTENT] &&
	    (err = kluis_content_purge_dropped(p->d->repo, &p->local.oid[R_CONTENT], &p->final.oid[R_CONTENT], &p->res->purged)) < 0)
		return err;
	/* like every write: the checkpoint follows main and the read log (a crash before this
	 * leaves it one step behind, still a prefix of the history, unless this pull replayed the
	 * vault's work: then the next verify names the rollback until a pull or write renews it) */
	if (p->res->main_moved || p->res->access_moved)
		return kluis_checkpoint_write(p->v, p->id, p->d->repo, &p->final.oid[R_MAIN]);
	return 0;
}

int kluis_sync_pull(kluis_vault *v, const char *id, const kluis_sync_opts *o, kluis_sync_result *res)
{
	struct pull p = { .v = v, .id = id, .o = o, .res = res, .trust = o->trust, .ntrust = o->ntrust, .lock = -1 };
	const ref_set *local = &p.local, *final = &p.final;
	int err;

	memset(res, 0, sizeof(*res));
	if ((err = pull_prepare(&p)) < 0 || (err = pull_fetch(&p)) < 0 || (err = pull_check_seen(&p)) < 0 || (err = pull_merge(&p)) < 0)
		goto cleanup;
	if (p.exists && kluis_sync_same_refs(final, local)) {
		res->up_to_date = true;
		git_oid_cpy(&res->head, &local->oid[R_MAIN]);
		err = kluis_sync_seen_write(v, id, res->remote, &p.fetched);
		goto cleanup;
	}
	if ((err = pull_verify(&p)) < 0)
		goto cleanup;
	res->main_moved = !local->has[R_MAIN] || !git_oid_equal(&local->oid[R_MAIN], &final->oid[R_MAIN]);
	res->access_moved = final->has[R_ACCESS] && (!local->has[R_ACCESS] || !git_oid_equal(&local->oid[R_ACCESS], &final->oid[R_ACCESS]));
	git_oid_cpy(&res->head, &final->oid[R_MAIN]);
	if ((err = p.exists ? pull_update(&p) : pull_adopt(&p)) == 0)
		err = kluis_sync_seen_write(v, id, res->remote, &p.fetched);
cleanup:
	git_repository_free(p.scratch);
	if (p.scratch_path)
		kluis_rm_rf(p.scratch_path);
	kluis_repo_unlock(p.lock);
	kluis_roles_dispose(&p.roles);
	kluis_dossier_free(p.d);
	free(p.scratch_path);
	return err;
}
