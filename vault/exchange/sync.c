/*
 * sync.c - kluis push and kluis sync ID (see sync.h): the remote, what this vault last saw on
 * the server, push through stock git from a transport repository, and the helpers pull.c
 * shares. The pull is pull.c, the replay of unpublished work reconcile.c, sync --all
 * sync_all.c; the git child itself is gitchild.c.
 *
 * Why stock git as a child and not libgit2's transports: a server's pre-receive hook is run
 * only by git's receive-pack. libgit2's local transport writes the objects and refs of a
 * local-path remote itself and runs no hook at all, so a libgit2 push to a path would skip
 * the server's verification. REMOTE may not start with `-` and always follows `--`.
 *
 * Invariants: a push sends exactly the object ids that were verified under the dossier lock,
 * atomically, and records what it sent as what the server holds (VAULT/sync/ID).
 */
#include "vault/exchange/sync.h"
#include "vault/exchange/sync_internal.h"
#include "vault/git/gitchild.h"
#include "vault/store/internal.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *const kluis_sync_ref_names[R_COUNT] = { MAIN_REF, CONTENT_REF, ACCESS_REF };
const char *const kluis_sync_incoming_names[R_COUNT] = { "refs/kluis/incoming/main", "refs/kluis/incoming/content",
							 "refs/kluis/incoming/access" };

void kluis_sync_result_dispose(kluis_sync_result *r)
{
	if (!r)
		return;
	free(r->remote);
	r->remote = NULL;
}

/* ---- the remote ---- */

static bool remote_valid(const char *r)
{
	const unsigned char *p;

	if (!r || !*r || *r == '-' || strlen(r) > 4096)
		return false;
	for (p = (const unsigned char *)r; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

/* remote.origin.url from the dossier repository's own config file (not ~/.gitconfig). */
static int dossier_origin(const char *repo_path, char **out)
{
	git_config *cfg = NULL;
	git_buf val = { 0 };
	char *path = kluis_path_join(repo_path, "config");
	int err = 0;

	*out = NULL;
	if (!path)
		return kluis_error_set(KLUIS_EGENERIC, "out of memory");
	if (kluis_path_exists(path) && git_config_open_ondisk(&cfg, path) == 0 &&
	    git_config_get_string_buf(&val, cfg, "remote.origin.url") == 0 && val.size && !(*out = strdup(val.ptr)))
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
	git_buf_dispose(&val);
	git_config_free(cfg);
	free(path);
	return err;
}

/* The `remote URL-PREFIX` line of kluis.conf, or NULL. */
int kluis_sync_remote_prefix(kluis_vault *v, char **out)
{
	kluis_buf conf = KLUIS_BUF_INIT;
	char *path = kluis_path_join(v->root, "kluis.conf"), *line, *save = NULL, *val;
	int err;

	*out = NULL;
	if (!path)
		return kluis_error_set(KLUIS_EGENERIC, "out of memory");
	err = kluis_file_read(&conf, path, 65536);
	if (err == KLUIS_ENOTFOUND) {
		err = 0;
		goto cleanup;
	}
	if (err < 0)
		goto cleanup;
	for (line = strtok_r((char *)conf.ptr, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "remote", 6) != 0 || (line[6] != ' ' && line[6] != '\t'))
			continue;
		for (val = line + 6; *val == ' ' || *val == '\t'; val++)
			;
		val[strcspn(val, " \t\r")] = '\0';
		if (!remote_valid(val)) {
			err = kluis_error_set(KLUIS_EINVAL, "%s: the remote line is not a usable URL or path", path);
			goto cleanup;
		}
		free(*out);
		if (!(*out = strdup(val))) {
			err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
			goto cleanup;
		}
	}
cleanup:
	kluis_buf_dispose(&conf);
	free(path);
	return err;
}

int kluis_sync_remote(kluis_vault *v, const char *id, const char *given, char **out)
{
	char *prefix = NULL, name[80], *dpath;
	size_t len;
	int err;

	*out = NULL;
	if (!kluis_id_valid(id))
		return kluis_error_set(KLUIS_EINVAL, "'%s' is not a dossier id ([a-z0-9-], 1 to 64 characters)", id);
	if (given) {
		if (!remote_valid(given))
			return kluis_error_set(KLUIS_EINVAL, "'%.80s' is not a usable remote: give a URL or a path (not starting with '-')", given);
		if (!(*out = strdup(given)))
			return kluis_error_set(KLUIS_EGENERIC, "out of memory");
		return 0;
	}
	snprintf(name, sizeof(name), "%s.git", id);
	if (!(dpath = kluis_path_join(v->dossiers, name)))
		return kluis_error_set(KLUIS_EGENERIC, "out of memory");
	err = dossier_origin(dpath, out);
	free(dpath);
	if (err < 0 || *out) {
		if (*out && !remote_valid(*out)) {
			free(*out);
			*out = NULL;
			return kluis_error_set(KLUIS_EINVAL, "dossier '%s': remote.origin.url in its repository is not a usable URL or path", id);
		}
		return err;
	}
	if ((err = kluis_sync_remote_prefix(v, &prefix)) < 0)
		return err;
	if (!prefix)
		return kluis_error_set(KLUIS_EINVAL, "no remote for dossier '%s': give REMOTE, or add a line 'remote URL-PREFIX' to %s/kluis.conf (the dossier's ID.git is appended)",
				       id, v->root);
	len = strlen(prefix);
	if (asprintf(out, "%s%s%s.git", prefix, len && (prefix[len - 1] == '/' || prefix[len - 1] == ':') ? "" : "/", id) < 0) {
		*out = NULL;
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
	}
	free(prefix);
	return err;
}

/* Only the dossier's medewerker or directie sync it (SPEC). */
int kluis_sync_check_syncer(const kluis_roles *roles, const char *actor, const char *id, const char *what)
{
	if (kluis_roles_of(roles, actor) & (KLUIS_ROLE_MEDEWERKER | KLUIS_ROLE_DIRECTIE))
		return 0;
	return kluis_error_set(KLUIS_EACCESS, "only the medewerker or the directie of dossier '%s' may %s it; key %s holds neither role there (choose the key with --as FPR)",
			       id, what, actor);
}

int kluis_sync_read_refs(git_repository *repo, const char *const names[R_COUNT], ref_set *s)
{
	int i, err;

	for (i = 0; i < R_COUNT; i++)
		if ((err = kluis_repo_ref(repo, names[i], &s->oid[i], &s->has[i])) < 0)
			return err;
	return 0;
}

int kluis_sync_refuse(const kluis_verify_report *rep, const char *fmt_what, const char *id, const char *tail)
{
	char sum[1024];

	kluis_verify_report_summary(rep, sum, sizeof(sum));
	return kluis_error_set(KLUIS_EVERIFY, "%s '%s' does not verify (%s); %s", fmt_what, id, sum, tail);
}

/* ---- what this vault last saw on the server ----
 *
 * VAULT/sync/ID.R (R: the first 16 hex digits of the remote's SHA-256): the three refs of that
 * server as this vault last saw them (after a pull, what it fetched; after a push, what it
 * sent). A server whose main or read log no longer descends from that has rolled back or
 * rewritten the history it held: a pull refuses it, also into a vault that no longer holds
 * the dossier, instead of taking commits this vault had published for unpublished work to
 * replay. Per remote: a push to a second server (a backup) says nothing of the first. */

static int seen_path(kluis_vault *v, const char *id, const char *remote, char **out)
{
	kluis_sha256 *h = NULL;
	char *dir = kluis_path_join(v->root, "sync"), hex[65], name[96];
	int err;

	*out = NULL;
	if (!dir || (err = kluis_sha256_new(&h)) < 0) {
		free(dir);
		return kluis_error_set(KLUIS_EGENERIC, "out of memory");
	}
	kluis_sha256_update(h, remote, strlen(remote));
	kluis_sha256_hex(h, hex);
	kluis_sha256_free(h);
	snprintf(name, sizeof(name), "%s.%.16s", id, hex);
	if ((err = kluis_mkdir_p(dir)) == 0 && !(*out = kluis_path_join(dir, name)))
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
	free(dir);
	return err;
}

int kluis_sync_seen_read(kluis_vault *v, const char *id, const char *remote, ref_set *s)
{
	kluis_buf text = KLUIS_BUF_INIT;
	char *path = NULL, name[16], hex[GIT_OID_HEXSZ + 1], *line, *save = NULL;
	int err, k;

	memset(s, 0, sizeof(*s));
	if ((err = seen_path(v, id, remote, &path)) < 0)
		return err;
	if ((err = kluis_file_read(&text, path, 4096)) == KLUIS_ENOTFOUND)
		err = 0;
	else if (err == 0)
		for (line = strtok_r((char *)text.ptr, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			if (sscanf(line, "%15s %40s", name, hex) != 2)
				continue;
			k = strcmp(name, "main") == 0 ? R_MAIN : strcmp(name, "content") == 0 ? R_CONTENT : strcmp(name, "access") == 0 ? R_ACCESS : -1;
			if (k >= 0 && git_oid_fromstr(&s->oid[k], hex) == 0)
				s->has[k] = true;
		}
	kluis_buf_dispose(&text);
	free(path);
	return err;
}

int kluis_sync_seen_write(kluis_vault *v, const char *id, const char *remote, const ref_set *s)
{
	kluis_buf text = KLUIS_BUF_INIT;
	static const char *const key[R_COUNT] = { "main", "content", "access" };
	char *path = NULL, hex[GIT_OID_HEXSZ + 1];
	int k, err;

	if ((err = seen_path(v, id, remote, &path)) < 0 || (err = kluis_buf_printf(&text, "kluis-sync 1\n")) < 0)
		goto cleanup;
	for (k = 0; k < R_COUNT; k++)
		if (s->has[k] && (err = kluis_buf_printf(&text, "%s %s\n", key[k], git_oid_tostr(hex, sizeof(hex), &s->oid[k]))) < 0)
			goto cleanup;
	err = kluis_file_write_atomic(path, text.ptr, text.len);
cleanup:
	kluis_buf_dispose(&text);
	free(path);
	return err;
}

/*
 * Why git is told the repository is shallow: refs/kluis/content is one parentless commit that
 * every write replaces, so the server's and ours share no history, only trees and blobs. git
 * then cannot leave out what the other side has: a push or fetch of one new entry sends every
 * ciphertext of the dossier again. A repository git believes shallow makes both sides mark
 * the trees of every commit the other side has as had ("aggressive" edges), so only the new
 * objects travel. The commit named is a content commit (for a push the server's previous one,
 * which git must not be asked to push; for a fetch this vault's), which has no parent anyway,
 * so the graft changes no history; kluis's own reading (libgit2) and verification never
 * depend on it, and the file is removed before the repository is used for anything else.
 */
bool kluis_sync_has_object(git_repository *repo, const git_oid *oid)
{
	git_odb *odb = NULL;
	bool has = git_repository_odb(&odb, repo) == 0 && git_odb_exists(odb, oid);

	git_odb_free(odb);
	return has;
}

int kluis_sync_shallow_mark(const char *repo_path, const git_oid *parentless)
{
	char hex[GIT_OID_HEXSZ + 2], *path = kluis_path_join(repo_path, "shallow");
	int err;

	if (!path)
		return kluis_error_set(KLUIS_EGENERIC, "out of memory");
	git_oid_tostr(hex, sizeof(hex), parentless);
	strcat(hex, "\n");
	err = kluis_file_write_atomic(path, hex, strlen(hex));
	free(path);
	return err;
}

void kluis_sync_shallow_unmark(const char *repo_path)
{
	char *path = kluis_path_join(repo_path, "shallow");

	if (path)
		unlink(path);
	free(path);
}

/* ---- push ---- */

/* Read `git push --porcelain` output: count moved refs; the first rejection's summary. */
static void porcelain(const char *text, size_t *moved, char rejected[KLUIS_GIT_LINE_MAX + 1])
{
	const char *p = text, *nl, *tab;

	*moved = 0;
	rejected[0] = '\0';
	while (p && *p) {
		nl = strchr(p, '\n');
		if (p[0] && p[1] == '\t') {
			if (strchr(" +*-", p[0]))
				(*moved)++;
			else if (p[0] == '!' && !rejected[0] && (tab = memchr(p + 2, '\t', (size_t)((nl ? nl : p + strlen(p)) - (p + 2)))))
				kluis_git_line_clean(tab + 1, (size_t)((nl ? nl : tab + 1 + strlen(tab + 1)) - (tab + 1)), rejected);
		}
		p = nl ? nl + 1 : NULL;
	}
}

/* git pushes from a transport repository under VAULT/tmp that sees the dossier's objects and
 * that git believes shallow at the server's previous content commit, so only new objects
 * travel (kluis_sync_shallow_mark); *out is its path. */
static int push_transport(kluis_vault *v, const char *id, const char *remote, kluis_dossier *d, const ref_set *local, char **out)
{
	git_repository *tr = NULL;
	ref_set seen;
	int err;

	if ((err = kluis_vault_workdir(v, "push", out)) < 0 || (err = kluis_repo_create(&tr, *out)) < 0)
		return err;
	git_repository_free(tr);
	if ((err = kluis_sync_add_alternate(*out, d->path)) < 0 || (err = kluis_sync_seen_read(v, id, remote, &seen)) < 0)
		return err;
	/* the server's content as last seen, not the one pushed: git refuses to push what its
	 * shallow file names */
	if (seen.has[R_CONTENT] && !git_oid_equal(&seen.oid[R_CONTENT], &local->oid[R_CONTENT]) && kluis_sync_has_object(d->repo, &seen.oid[R_CONTENT]))
		return kluis_sync_shallow_mark(*out, &seen.oid[R_CONTENT]);
	return 0;
}

static int push_once(kluis_vault *v, const char *id, const kluis_sync_opts *o, kluis_sync_result *res)
{
	kluis_dossier *d = NULL;
	kluis_verify_opts vo;
	kluis_verify_report rep;
	kluis_buf out = KLUIS_BUF_INIT, errout = KLUIS_BUF_INIT;
	ref_set local;
	char gitdir[PATH_MAX + 16], spec[R_COUNT][GIT_OID_HEXSZ + 40], hex[GIT_OID_HEXSZ + 1], reason[KLUIS_GIT_LINE_MAX + 1], *real = NULL;
	const char *args[16], *actor;
	size_t na = 0, i;
	int lock = -1, status, err;

	memset(res, 0, sizeof(*res));
	memset(&rep, 0, sizeof(rep));
	memset(&vo, 0, sizeof(vo));
	if ((err = kluis_dossier_open(&d, v, id)) < 0 || (err = kluis_sync_remote(v, id, o->remote, &res->remote)) < 0 ||
	    (err = kluis_vault_actor(v, &actor)) < 0 || (err = kluis_sync_check_syncer(&d->roles, actor, id, "push")) < 0)
		goto cleanup;
	/* the lock holds writers (and erasure's purge of packs) off until git has sent the objects */
	if ((err = kluis_repo_lock(d->path, &lock)) < 0 || (err = kluis_dossier_reload(d)) < 0 ||
	    (err = kluis_sync_check_syncer(&d->roles, actor, id, "push")) < 0 || (err = kluis_verify_dossier(v, id, &vo, &rep)) < 0)
		goto cleanup;
	if (rep.nfindings) {
		err = kluis_sync_refuse(&rep, "dossier", id, "nothing was pushed (kluis verify shows every finding)");
		goto cleanup;
	}
	if ((err = kluis_sync_read_refs(d->repo, kluis_sync_ref_names, &local)) < 0)
		goto cleanup;
	if (!local.has[R_CONTENT] || !git_oid_equal(&local.oid[R_MAIN], &rep.head)) {
		err = kluis_error_set(KLUIS_EVERIFY, "dossier '%s' changed while it was being verified; nothing was pushed, run the command again", id);
		goto cleanup;
	}
	if ((err = push_transport(v, id, res->remote, d, &local, &real)) < 0)
		goto cleanup;
	snprintf(gitdir, sizeof(gitdir), "--git-dir=%s", real);
	args[na++] = gitdir;
	args[na++] = "push";
	args[na++] = "--atomic";     /* all three refs or none */
	args[na++] = "--porcelain";
	args[na++] = "--no-progress";
	args[na++] = "--";
	args[na++] = res->remote;
	for (i = 0; i < R_COUNT; i++) {
		if (!local.has[i])
			continue;
		git_oid_tostr(hex, sizeof(hex), &local.oid[i]);
		/* content is one parentless commit that every write replaces: it cannot fast-forward;
		 * main and access must, and --atomic keeps content from moving when they cannot */
		snprintf(spec[i], sizeof(spec[i]), "%s%s:%s", i == R_CONTENT ? "+" : "", hex, kluis_sync_ref_names[i]);
		args[na++] = spec[i];
	}
	args[na] = NULL;
	if ((err = kluis_git_run(args, &out, &errout, &status)) < 0)
		goto cleanup;
	porcelain((const char *)out.ptr, &res->refs_updated, reason);
	if (status != 0) {
		char server[KLUIS_GIT_LINE_MAX + 1];
		/* the hook's refusal is its first line; a push that lost a race to another (the ref
		 * moved between the hook and the update) is a server that moved: pull and retry */
		if (strstr(reason, "hook declined") && kluis_git_line_find((const char *)errout.ptr, "remote: kluis: ", server))
			err = kluis_error_set(KLUIS_EVERIFY, "the server refused the push of '%s': %s", id, server);
		else if (strstr(reason, "fetch first") || strstr(reason, "non-fast-forward") || strstr(reason, "failed to update ref") ||
			 strstr(reason, "cannot lock ref") || strstr(reason, "atomic") || strstr(reason, "stale info"))
			err = kluis_error_set(KLUIS_ECONFLICT, "the server's history of '%s' has commits this vault lacks (%s): run kluis pull %s, then push again",
					      id, reason, id);
		else if (reason[0])
			err = kluis_error_set(KLUIS_EVERIFY, "the server refused the push of '%s': %s", id, reason);
		else {
			kluis_git_line_last((const char *)errout.ptr, server);
			err = kluis_error_set(KLUIS_EGENERIC, "cannot push '%s' to %s: %s", id, res->remote, server);
		}
		goto cleanup;
	}
	git_oid_cpy(&res->head, &local.oid[R_MAIN]);
	res->up_to_date = res->refs_updated == 0;
	err = kluis_sync_seen_write(v, id, res->remote, &local);
cleanup:
	if (real)
		kluis_rm_rf(real);
	kluis_repo_unlock(lock);
	kluis_verify_report_dispose(&rep);
	kluis_buf_dispose(&out);
	kluis_buf_dispose(&errout);
	kluis_dossier_free(d);
	free(real);
	return err;
}

/* A server that moved is pulled first (this vault's work replayed on it), then pushed to;
 * again if it moved once more meanwhile, a few times at most. */
int kluis_sync_push(kluis_vault *v, const char *id, const kluis_sync_opts *o, kluis_sync_result *res)
{
	kluis_sync_result pulled;
	bool reconciled = false;
	size_t commits = 0, reads = 0, purged = 0;
	int tries, err;

	for (tries = 0;; tries++) {
		err = push_once(v, id, o, res);
		if (err != KLUIS_ECONFLICT || tries == 3)
			break;
		kluis_sync_result_dispose(res);
		memset(&pulled, 0, sizeof(pulled));
		err = kluis_sync_pull(v, id, o, &pulled);
		reconciled |= pulled.reconciled;
		commits += pulled.replayed_commits;
		reads += pulled.replayed_reads;
		purged += pulled.purged;
		kluis_sync_result_dispose(&pulled);
		if (err < 0)
			break;
	}
	if (err == 0) {
		res->reconciled = reconciled;
		res->replayed_commits = commits;
		res->replayed_reads = reads;
		res->purged = purged;
		res->pushed = res->refs_updated > 0;
	}
	return err;
}

int kluis_sync_dossier(kluis_vault *v, const char *id, const kluis_sync_opts *o, kluis_sync_result *res)
{
	kluis_sync_result pushed;
	int err;

	if ((err = kluis_sync_pull(v, id, o, res)) < 0 || !res->local_ahead)
		return err;
	memset(&pushed, 0, sizeof(pushed));
	if ((err = kluis_sync_push(v, id, o, &pushed)) == 0) {
		git_oid_cpy(&res->head, &pushed.head);
		res->pushed = pushed.refs_updated > 0;
		res->up_to_date = false;
		res->local_ahead = false;
		res->reconciled |= pushed.reconciled;
		res->replayed_commits += pushed.replayed_commits;
		res->replayed_reads += pushed.replayed_reads;
		res->purged += pushed.purged;
	}
	kluis_sync_result_dispose(&pushed);
	return err;
}

/* ---- shared with pull.c ---- */

bool kluis_sync_same_refs(const ref_set *a, const ref_set *b)
{
	int i;

	for (i = 0; i < R_COUNT; i++)
		if (a->has[i] != b->has[i] || (a->has[i] && !git_oid_equal(&a->oid[i], &b->oid[i])))
			return false;
	return true;
}

int kluis_sync_set_refs(git_repository *repo, const ref_set *s)
{
	git_reference *ref = NULL;
	int i, rc;

	for (i = 0; i < R_COUNT; i++) {
		if (s->has[i])
			rc = git_reference_create(&ref, repo, kluis_sync_ref_names[i], &s->oid[i], 1, "kluis sync");
		else if ((rc = git_reference_lookup(&ref, repo, kluis_sync_ref_names[i])) == 0)
			rc = git_reference_delete(ref);
		else if (rc == GIT_ENOTFOUND)
			rc = 0;
		git_reference_free(ref);
		ref = NULL;
		if (rc < 0)
			return kluis_git_fail(KLUIS_EGENERIC, "cannot set up the state in the scratch repository");
		if ((rc = git_reference_lookup(&ref, repo, kluis_sync_incoming_names[i])) == 0)
			rc = git_reference_delete(ref);
		git_reference_free(ref);
		ref = NULL;
		if (rc < 0 && rc != GIT_ENOTFOUND)
			return kluis_git_fail(KLUIS_EGENERIC, "cannot set up the state in the scratch repository");
	}
	return 0;
}

/* Which of the three refs the server has (git ls-remote). */
int kluis_sync_ls_remote(const char *remote, ref_set *s)
{
	kluis_buf out = KLUIS_BUF_INIT, errout = KLUIS_BUF_INIT;
	/* from /: no repository's config around the caller's working directory applies */
	const char *args[] = { "-C", "/", "ls-remote", "--", remote, MAIN_REF, CONTENT_REF, ACCESS_REF, NULL };
	char line_reason[KLUIS_GIT_LINE_MAX + 1], hex[GIT_OID_HEXSZ + 1], name[256], *line, *save = NULL;
	int status, err, i;

	memset(s, 0, sizeof(*s));
	if ((err = kluis_git_run(args, &out, &errout, &status)) < 0)
		goto cleanup;
	if (status != 0) {
		kluis_git_line_last((const char *)errout.ptr, line_reason);
		err = kluis_error_set(KLUIS_EGENERIC, "cannot reach the server %s: %s", remote, line_reason);
		goto cleanup;
	}
	for (line = strtok_r((char *)out.ptr, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (sscanf(line, "%40s %255s", hex, name) != 2)
			continue;
		for (i = 0; i < R_COUNT; i++)
			if (strcmp(name, kluis_sync_ref_names[i]) == 0 && git_oid_fromstr(&s->oid[i], hex) == 0)
				s->has[i] = true;
	}
cleanup:
	kluis_buf_dispose(&out);
	kluis_buf_dispose(&errout);
	return err;
}

/* The scratch repository sees the dossier's objects (so fetch sends only what is new). */
int kluis_sync_add_alternate(const char *scratch, const char *dossier_path)
{
	char *real = realpath(dossier_path, NULL), *info = kluis_path_join(scratch, "objects/info"), *file = NULL, *line = NULL;
	int err;

	if (!real || !info) {
		err = kluis_error_set(KLUIS_EGENERIC, "cannot resolve the dossier's path");
		goto cleanup;
	}
	if ((err = kluis_mkdir_p(info)) < 0)
		goto cleanup;
	if (!(file = kluis_path_join(info, "alternates")) || asprintf(&line, "%s/objects\n", real) < 0) {
		line = NULL;
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto cleanup;
	}
	err = kluis_file_write_atomic(file, line, strlen(line));
cleanup:
	free(line);
	free(file);
	free(info);
	free(real);
	return err;
}
