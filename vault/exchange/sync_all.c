/*
 * sync_all.c - `kluis sync --all`: every dossier the vault holds, with only the changed ones
 * costing more than a comparison (see sync.h).
 *
 * Why one listing: a vault of a thousand dossiers where a handful changed must not make a
 * thousand round trips to learn that. The server's refs come from one place: a path is read
 * directly; an ssh server is asked once for all of them with gitolite's `kluis-heads` command
 * (scripts/server-setup.sh installs it; its lines are `REPO MAIN CONTENT ACCESS`, each a
 * 40-hex id or `-`); a server without that command, or https, costs one ls-remote each.
 * The listing only decides what to skip: a dossier that is synced is pulled, verified and
 * pushed exactly as `kluis sync ID` does, so a lying listing can cost work, never trust.
 */
#include "vault/exchange/sync.h"
#include "vault/exchange/sync_internal.h"
#include "vault/git/gitchild.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LISTING_MAX (64u << 20) /* what a kluis-heads answer may be: 300 bytes x 200,000 dossiers */

typedef struct {
	ref_set *refs;              /* per dossier of the vault, in the order of its ids */
	bool *present;              /* the server holds it */
	bool known;                 /* refs and present are filled in */
} listing;

/* A path (or file://) prefix: each dossier's repository read directly. */
static int list_path(const char *prefix, char **ids, size_t n, listing *l)
{
	git_repository *repo = NULL;
	char *path = NULL;
	size_t i;
	int err = 0;

	if (strncmp(prefix, "file://", 7) == 0)
		prefix += 7;
	for (i = 0; i < n; i++) {
		if (asprintf(&path, "%s/%s.git", prefix, ids[i]) < 0) {
			path = NULL;
			return kluis_error_set(KLUIS_EGENERIC, "out of memory");
		}
		if (kluis_path_exists(path) && git_repository_open_bare(&repo, path) == 0) {
			err = kluis_sync_read_refs(repo, kluis_sync_ref_names, &l->refs[i]);
			l->present[i] = l->refs[i].has[R_MAIN];
			git_repository_free(repo);
			repo = NULL;
		}
		free(path);
		path = NULL;
		if (err < 0)
			return err;
	}
	l->known = true;
	return 0;
}

/* ssh://[user@]host[:port]/path or [user@]host:path: the host, the port (or NULL) and the
 * repositories' directory as gitolite names it (no leading `/`). false: not ssh. */
static bool ssh_parts(const char *prefix, char *host, size_t hl, char *port, size_t pl, char *dir, size_t dl)
{
	const char *p = prefix, *slash, *colon;

	port[0] = '\0';
	if (strncmp(p, "ssh://", 6) == 0) {
		p += 6;
		if (!(slash = strchr(p, '/')))
			return false;
		colon = memchr(p, ':', (size_t)(slash - p));
		snprintf(host, hl, "%.*s", (int)((colon ? colon : slash) - p), p);
		if (colon)
			snprintf(port, pl, "%.*s", (int)(slash - colon - 1), colon + 1);
		p = slash + 1;
	} else {
		colon = strchr(p, ':');
		slash = strchr(p, '/');
		if (!colon || (slash && slash < colon) || strstr(p, "://"))
			return false;
		snprintf(host, hl, "%.*s", (int)(colon - p), p);
		p = colon + 1;
	}
	while (*p == '/')
		p++;
	snprintf(dir, dl, "%s", p);
	while (dl && *dir && dir[strlen(dir) - 1] == '/')
		dir[strlen(dir) - 1] = '\0';
	return host[0] && host[0] != '-' && strspn(port, "0123456789") == strlen(port);
}

static int parse_oid(const char *hex, git_oid *oid, bool *has)
{
	*has = strcmp(hex, "-") != 0;
	return *has && (strlen(hex) != GIT_OID_HEXSZ || git_oid_fromstr(oid, hex) < 0) ? -1 : 0;
}

/* The user's core.sshCommand, as the git child that pulls and pushes sees it (its environment
 * carries no GIT_SSH_COMMAND), else NULL (plain ssh); *out malloc'd, with ` "$@"` appended for
 * sh -c. */
static int ssh_command(char **out)
{
	git_config *cfg = NULL;
	git_buf b = { NULL, 0, 0 };
	const char *env = NULL;
	int err = 0;

	*out = NULL;
	if (git_config_open_default(&cfg) == 0 && git_config_get_string_buf(&b, cfg, "core.sshCommand") == 0)
		env = b.ptr;
	if (env && *env && asprintf(out, "%s \"$@\"", env) < 0) {
		*out = NULL;
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
	}
	git_buf_dispose(&b);
	git_config_free(cfg);
	return err;
}

/* One `ssh HOST kluis-heads`; l->known stays false when the server does not answer it (then
 * the caller asks per dossier). */
static int list_ssh(const char *prefix, char **ids, size_t n, listing *l)
{
	char host[256], port[16], dir[512], repo[600], h[3][64], *line, *save = NULL, *want = NULL, *cmd = NULL;
	const char *argv[16];
	kluis_buf out = KLUIS_BUF_INIT, errout = KLUIS_BUF_INIT;
	size_t na = 0, i;
	int status, err, k;

	if (!ssh_parts(prefix, host, sizeof(host), port, sizeof(port), dir, sizeof(dir)))
		return 0;
	/* the ssh git itself would run: core.sshCommand through the shell as git runs it, with the
	 * host and command as arguments (never in the shell's text) */
	if ((err = ssh_command(&cmd)) < 0)
		goto cleanup;
	if (cmd) {
		argv[na++] = "/bin/sh";
		argv[na++] = "-c";
		argv[na++] = cmd;
	}
	argv[na++] = "ssh";
	argv[na++] = "-o";
	argv[na++] = "BatchMode=yes"; /* never a password prompt */
	if (port[0]) {
		argv[na++] = "-p";
		argv[na++] = port;
	}
	argv[na++] = "--";
	argv[na++] = host;
	argv[na++] = "kluis-heads";
	argv[na] = NULL;
	if ((err = kluis_child_run(&(struct kluis_child){ .file = cmd ? "/bin/sh" : "ssh", .argv = argv, .out = &out, .err = &errout,
							  .out_max = LISTING_MAX },
				   &status)) < 0 ||
	    status != 0)
		goto cleanup; /* not a kluis server: ask per dossier */
	for (line = strtok_r((char *)out.ptr, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		ref_set r;
		if (sscanf(line, "%599s %63s %63s %63s", repo, h[0], h[1], h[2]) != 4)
			continue;
		memset(&r, 0, sizeof(r));
		for (k = 0; k < R_COUNT; k++)
			if (parse_oid(h[k], &r.oid[k], &r.has[k]) < 0)
				break;
		if (k < R_COUNT)
			continue;
		for (i = 0; i < n; i++) {
			free(want);
			if (asprintf(&want, "%s%s%s", dir, dir[0] ? "/" : "", ids[i]) < 0) {
				want = NULL;
				err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
				goto cleanup;
			}
			if (strcmp(repo, want) == 0) {
				l->refs[i] = r;
				l->present[i] = r.has[R_MAIN];
				break;
			}
		}
	}
	l->known = true;
cleanup:
	free(cmd);
	free(want);
	kluis_buf_dispose(&out);
	kluis_buf_dispose(&errout);
	return err;
}

/* This vault's refs of dossier `id`: the refs only (a dossier that differs is opened in full
 * by the sync that follows). */
static int local_refs(kluis_vault *v, const char *id, ref_set *r)
{
	git_repository *repo = NULL;
	char name[80], *path;
	int err = 0;

	memset(r, 0, sizeof(*r));
	snprintf(name, sizeof(name), "%s.git", id);
	if (!(path = kluis_path_join(v->dossiers, name)))
		return kluis_error_set(KLUIS_EGENERIC, "out of memory");
	if ((err = kluis_repo_open(&repo, path)) == 0)
		err = kluis_sync_read_refs(repo, kluis_sync_ref_names, r);
	git_repository_free(repo);
	free(path);
	return err;
}

int kluis_sync_all(kluis_vault *v, const kluis_sync_opts *o, kluis_sync_each_fn each, void *ctx, kluis_sync_all_result *sum)
{
	listing l = { NULL, NULL, false };
	kluis_sync_result r;
	char **ids = NULL, *prefix = NULL;
	size_t n = 0, i;
	ref_set mine;
	int err;

	memset(sum, 0, sizeof(*sum));
	memset(&r, 0, sizeof(r));
	if ((err = kluis_sync_remote_prefix(v, &prefix)) < 0)
		goto cleanup;
	if (!prefix) {
		err = kluis_error_set(KLUIS_EINVAL, "sync --all needs the vault's server: add a line 'remote URL-PREFIX' to %s/kluis.conf (each dossier is URL-PREFIX/ID.git)",
				      v->root);
		goto cleanup;
	}
	if ((err = kluis_vault_dossier_ids(v, &ids, &n)) < 0)
		goto cleanup;
	sum->dossiers = n;
	if (!(l.refs = calloc(n ? n : 1, sizeof(*l.refs))) || !(l.present = calloc(n ? n : 1, sizeof(*l.present)))) {
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto cleanup;
	}
	if ((err = prefix[0] == '/' || strncmp(prefix, "file://", 7) == 0 ? list_path(prefix, ids, n, &l) : list_ssh(prefix, ids, n, &l)) < 0)
		goto cleanup;
	sum->one_listing = l.known;
	for (i = 0; i < n; i++) {
		int derr;
		if (!l.known) {
			/* one round trip for this dossier */
			char *remote = NULL;
			if ((derr = kluis_sync_remote(v, ids[i], NULL, &remote)) == 0 && (derr = kluis_sync_ls_remote(remote, &l.refs[i])) == 0)
				l.present[i] = l.refs[i].has[R_MAIN];
			free(remote);
			if (derr < 0) {
				sum->failed++;
				if (each)
					each(ctx, ids[i], derr, NULL);
				continue;
			}
		}
		if ((derr = local_refs(v, ids[i], &mine)) == 0 && l.present[i] && kluis_sync_same_refs(&mine, &l.refs[i])) {
			sum->unchanged++;
			continue;
		}
		memset(&r, 0, sizeof(r));
		if (derr == 0)
			derr = l.present[i] ? kluis_sync_dossier(v, ids[i], o, &r) : kluis_sync_push(v, ids[i], o, &r);
		if (derr < 0)
			sum->failed++;
		else
			sum->synced++;
		if (each)
			each(ctx, ids[i], derr, derr == 0 ? &r : NULL);
		kluis_sync_result_dispose(&r);
	}
	if (sum->failed)
		err = kluis_error_set(KLUIS_ECONFLICT, "%zu of %zu dossiers could not be synced (each is named above); the others are in step with %s",
				      sum->failed, n, prefix);
cleanup:
	kluis_strings_free(ids, n);
	free(l.refs);
	free(l.present);
	free(prefix);
	return err;
}
