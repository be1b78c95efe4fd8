/*
 * event.c - the vault's event hooks (see event.h): each commit's event queued as a file, the
 * queue run oldest first, and what is pending.
 *
 * Invariants: an event is built from the commit's trailers, its author and the roles file,
 * which hold ids, kinds, roles, fingerprints and times only (SPEC invariant 1), so it never
 * holds plaintext. An event file is written whole (temporary name, fsync, rename) before any
 * hook sees it, and is removed only after its hook exited 0: a failing hook or a crash loses
 * nothing (a crash between a hook's success and the removal runs it once more). One process
 * runs the queue at a time (flock on the queue directory), so no event is run twice at once.
 *
 * VAULT/hooks/queue/ (0700) holds per event and hook `<ns>-<dossier>-<seq>.<hook>`, the JSON
 * the hook reads on stdin (0600), and after a failure `<that name>.state`: attempts, the last
 * exit status, its time and a one-line reason.
 */
#include "hooks/event.h"
#include "vault/base/error.h"
#include "vault/base/util.h"
#include "vault/git/gitchild.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define EVENT_MAX (64u << 20) /* a rewrap of a very large dossier names every entry */
#define PATH_BUF (PATH_MAX + 256) /* a queue file's path, with room for ".state" */

/* The hooks, and the actions each hears of: post-add keeps its old contract (additions). */
static const char *const HOOKS[] = { "post-commit", "post-add" };
static const char *const ADDITIONS[] = { "add", "statement", "correct", "consent" };

static bool hook_applies(size_t h, const char *action)
{
	return h == 0 || kluis_strings_has(ADDITIONS, sizeof(ADDITIONS) / sizeof(ADDITIONS[0]), action);
}

static bool executable(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & S_IXUSR);
}

/* The hook's name from a queue file's name, or NULL when the name is no event (temporary
 * files, .state files). */
static const char *event_hook(const char *name)
{
	const char *dot = strrchr(name, '.');
	size_t h;

	if (name[0] == '.' || !dot)
		return NULL;
	for (h = 0; h < sizeof(HOOKS) / sizeof(HOOKS[0]); h++)
		if (strcmp(dot + 1, HOOKS[h]) == 0)
			return HOOKS[h];
	return NULL;
}

static json_t *role_fprs(const kluis_roles *roles, unsigned role)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a && i < roles->n; i++)
		if (roles->v[i].role == role && json_array_append_new(a, json_string(roles->v[i].fpr)) < 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

/* The event of commit as JSON text (*out malloc'd), with its action and seq. */
static int event_json(const char *dossier, git_commit *commit, const kluis_roles *roles, char **out, char action[16],
		      unsigned long long *seq)
{
	git_message_trailer_array tr = { 0 };
	json_t *ev = NULL, *kinds = json_array(), *entries = json_array(), *klant = role_fprs(roles, KLUIS_ROLE_KLANT),
	       *vert = role_fprs(roles, KLUIS_ROLE_VERTEGENWOORDIGER);
	const char *role = "";
	char hex[GIT_OID_HEXSZ + 1], when[21];
	size_t i;
	int err = 0;

	*out = NULL;
	*seq = 0;
	action[0] = '\0';
	if (git_message_trailers(&tr, git_commit_message(commit)) < 0) {
		err = kluis_error_set(KLUIS_EGENERIC, "cannot read the trailers of the new commit");
		goto cleanup;
	}
	for (i = 0; i < tr.count; i++) {
		const char *k = tr.trailers[i].key, *v = tr.trailers[i].value;
		if (strcmp(k, "Kluis-Action") == 0)
			snprintf(action, 16, "%s", v);
		else if (strcmp(k, "Kluis-Role") == 0)
			role = v;
		else if (strcmp(k, "Kluis-Seq") == 0)
			*seq = strtoull(v, NULL, 10);
		else if ((strcmp(k, "Kluis-Kind") == 0 && json_array_append_new(kinds, json_string(v)) < 0) ||
			 (strcmp(k, "Kluis-Entry") == 0 && strcmp(v, "-") != 0 && json_array_append_new(entries, json_string(v)) < 0))
			break;
	}
	git_oid_tostr(hex, sizeof(hex), git_commit_id(commit));
	kluis_time_iso((int64_t)git_commit_time(commit), when);
	if (i == tr.count && kinds && entries && klant && vert)
		ev = json_pack("{s:i, s:s, s:s, s:I, s:s, s:O, s:O, s:s, s:s, s:O, s:O, s:s}", "version", 1, "dossier", dossier,
			       "commit", hex, "seq", (json_int_t)*seq, "action", action, "kinds", kinds, "entries", entries,
			       "role", role, "actor", git_commit_committer(commit)->email, "klant", klant,
			       "vertegenwoordiger", vert, "time", when);
	if (!ev || !(*out = json_dumps(ev, JSON_PRESERVE_ORDER | JSON_COMPACT)))
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
cleanup:
	json_decref(kinds);
	json_decref(entries);
	json_decref(klant);
	json_decref(vert);
	json_decref(ev);
	git_message_trailer_array_free(&tr);
	return err;
}

int kluis_hook_queue(const char *vault_root, const char *dossier, git_commit *commit, const kluis_roles *roles)
{
	char *hooks = kluis_path_join(vault_root, "hooks"), *queue = NULL, *path = NULL, *json = NULL, action[16], name[160];
	bool present[sizeof(HOOKS) / sizeof(HOOKS[0])] = { false }, any = false;
	unsigned long long seq;
	struct timespec now;
	size_t h;
	int err = 0;

	if (!hooks || !(queue = kluis_path_join(hooks, "queue"))) {
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto cleanup;
	}
	for (h = 0; h < sizeof(HOOKS) / sizeof(HOOKS[0]); h++) {
		free(path);
		if (!(path = kluis_path_join(hooks, HOOKS[h]))) {
			err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
			goto cleanup;
		}
		any |= present[h] = executable(path);
	}
	if (!any)
		goto cleanup;
	if ((err = event_json(dossier, commit, roles, &json, action, &seq)) < 0 || (err = kluis_mkdir_p(queue)) < 0)
		goto cleanup;
	clock_gettime(CLOCK_REALTIME, &now);
	for (h = 0; h < sizeof(HOOKS) / sizeof(HOOKS[0]); h++) {
		if (!present[h] || !hook_applies(h, action))
			continue;
		/* the name sorts in the order the events were made: nanoseconds, then the dossier's seq */
		snprintf(name, sizeof(name), "%020lld-%s-%010llu.%s", (long long)now.tv_sec * 1000000000LL + now.tv_nsec, dossier, seq, HOOKS[h]);
		free(path);
		if (!(path = kluis_path_join(queue, name))) {
			err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
			goto cleanup;
		}
		if ((err = kluis_file_write_atomic(path, json, strlen(json))) < 0)
			goto cleanup;
	}
cleanup:
	if (err < 0 && json) { /* the commit stands: say so, or the user makes it again */
		char why[400];

		snprintf(why, sizeof(why), "%s", kluis_error_last());
		err = kluis_error_set(err, "the commit of '%s' is made, but its event for the vault's hooks could not be queued (%s): tell the klant yourself",
				      dossier, why);
	}
	free(json);
	free(path);
	free(queue);
	free(hooks);
	return err;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int is_event(const struct dirent *e)
{
	return event_hook(e->d_name) != NULL;
}

/* The event files of the queue, oldest first (*n 0 when there is no queue). */
static int queue_list(const char *queue, struct dirent ***names, int *n)
{
	*names = NULL;
	if ((*n = scandir(queue, names, is_event, by_name)) >= 0)
		return 0;
	*n = 0;
	return errno == ENOENT ? 0 : kluis_error_set(KLUIS_EGENERIC, "cannot read the hook queue %s: %s", queue, strerror(errno));
}

static void queue_list_free(struct dirent **names, int n)
{
	while (n > 0)
		free(names[--n]);
	free(names);
}

static const char *json_str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

/* "NAME=FPR FPR ..." from the event's list of fingerprints under key. */
static int env_list(json_t *ev, const char *key, const char *name, kluis_buf *out)
{
	json_t *v;
	size_t i;
	int err = kluis_buf_printf(out, "%s=", name);

	json_array_foreach(json_object_get(ev, key), i, v)
		if (err == 0 && json_is_string(v))
			err = kluis_buf_printf(out, "%s%s", i ? " " : "", json_string_value(v));
	return err ? err : kluis_buf_cstr(out);
}

/* Run one queued event's hook; *status is its exit status (127 when it could not start, with
 * the reason in why). Returns negative only when the event file cannot be read. */
static int run_one(const char *vault_root, const char *queue, const char *name, int *status, char why[200])
{
	const char *hook = event_hook(name), **argv = NULL, *env[8] = { NULL };
	char *path = kluis_path_join(queue, name), *hook_path = NULL, *owned[5] = { NULL };
	kluis_buf text = KLUIS_BUF_INIT, klant = KLUIS_BUF_INIT, vert = KLUIS_BUF_INIT;
	json_t *ev = NULL, *entries, *v;
	size_t i;
	int err;

	*status = 127;
	why[0] = '\0';
	if (!path || asprintf(&hook_path, "%s/hooks/%s", vault_root, hook) < 0) {
		hook_path = NULL;
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto cleanup;
	}
	if ((err = kluis_file_read(&text, path, EVENT_MAX)) < 0)
		goto cleanup;
	if (!(ev = json_loads((const char *)text.ptr, 0, NULL)) || !json_is_object(ev)) {
		err = kluis_error_set(KLUIS_EVERIFY, "the queued event %s is not JSON: remove it from %s", name, queue);
		goto cleanup;
	}
	entries = json_object_get(ev, "entries");
	if (!(argv = calloc(json_array_size(entries) + 4, sizeof(*argv)))) {
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto cleanup;
	}
	argv[0] = hook_path;
	argv[1] = json_str(ev, "dossier");
	argv[2] = json_str(ev, "action");
	json_array_foreach(entries, i, v)
		argv[3 + i] = json_is_string(v) ? json_string_value(v) : "";
	if (asprintf(&owned[0], "KLUIS_DOSSIER=%s", argv[1]) < 0 || asprintf(&owned[1], "KLUIS_ACTION=%s", argv[2]) < 0 ||
	    asprintf(&owned[2], "KLUIS_VAULT=%s", vault_root) < 0 || asprintf(&owned[3], "KLUIS_COMMIT=%s", json_str(ev, "commit")) < 0 ||
	    asprintf(&owned[4], "KLUIS_TIME=%s", json_str(ev, "time")) < 0) {
		memset(owned, 0, sizeof(owned)); /* asprintf leaves a failed one undefined */
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto cleanup;
	}
	if ((err = env_list(ev, "klant", "KLUIS_KLANT", &klant)) < 0 ||
	    (err = env_list(ev, "vertegenwoordiger", "KLUIS_VERTEGENWOORDIGER", &vert)) < 0)
		goto cleanup;
	for (i = 0; i < 5; i++)
		env[i] = owned[i];
	env[5] = (const char *)klant.ptr;
	env[6] = (const char *)vert.ptr;
	if (!executable(hook_path))
		snprintf(why, 200, "VAULT/hooks/%s is gone or not executable", hook);
	/* stdin is the event file itself: no pipe to fill, whatever its size */
	else if (kluis_child_run(&(struct kluis_child){ .file = hook_path, .argv = argv, .env = env, .in_path = path,
							.out_to_err = true }, status) < 0) {
		*status = 127;
		snprintf(why, 200, "%s", kluis_error_last());
	} else if (*status == 127)
		snprintf(why, 200, "VAULT/hooks/%s could not be run (exit status 127)", hook);
	else if (*status)
		snprintf(why, 200, "VAULT/hooks/%s exited with status %d", hook, *status);
cleanup:
	for (i = 0; i < 5; i++)
		free(owned[i]);
	kluis_buf_dispose(&klant);
	kluis_buf_dispose(&vert);
	kluis_buf_dispose(&text);
	json_decref(ev);
	free(argv);
	free(hook_path);
	free(path);
	return err;
}

/* The .state beside an event: attempts, status, last attempt, reason (zeros when none). */
static void state_read(const char *queue, const char *name, kluis_hook_pending *p)
{
	kluis_buf text = KLUIS_BUF_INIT;
	char path[PATH_BUF], *reason;

	p->attempts = 0;
	p->status = -1;
	p->last_attempt = 0;
	p->error[0] = '\0';
	snprintf(path, sizeof(path), "%s/%s.state", queue, name);
	if (kluis_file_read(&text, path, 4096) < 0) {
		kluis_error_clear(); /* never run: no state yet */
		return;
	}
	if (sscanf((const char *)text.ptr, "%u %d %lld", &p->attempts, &p->status, (long long *)&p->last_attempt) == 3 &&
	    (reason = strchr((const char *)text.ptr, '\n')))
		snprintf(p->error, sizeof(p->error), "%.*s", (int)strcspn(reason + 1, "\n"), reason + 1);
	kluis_buf_dispose(&text);
}

static int state_write(const char *queue, const char *name, int status, const char *why)
{
	kluis_hook_pending p;
	kluis_buf text = KLUIS_BUF_INIT;
	char path[PATH_BUF];
	int err;

	state_read(queue, name, &p);
	snprintf(path, sizeof(path), "%s/%s.state", queue, name);
	if ((err = kluis_buf_printf(&text, "%u %d %lld\n%s\n", p.attempts + 1, status, (long long)kluis_now(), why)) == 0)
		err = kluis_file_write_replace(path, text.ptr, text.len);
	kluis_buf_dispose(&text);
	return err;
}

int kluis_hook_run_queue(const char *vault_root, kluis_hook_run_result *res)
{
	char *queue = kluis_path_join(vault_root, "hooks/queue"), **failed = NULL, why[200], dossier[65];
	struct dirent **names = NULL;
	size_t nfailed = 0;
	int dfd = -1, n = 0, i, status, err = 0;

	memset(res, 0, sizeof(*res));
	if (!queue) {
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto cleanup;
	}
	if ((dfd = open(queue, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		if (errno != ENOENT)
			err = kluis_error_set(KLUIS_EGENERIC, "cannot open the hook queue %s: %s", queue, strerror(errno));
		goto cleanup;
	}
	if (flock(dfd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK)
			err = kluis_error_set(KLUIS_EGENERIC, "cannot lock the hook queue %s: %s", queue, strerror(errno));
		goto cleanup; /* another kluis is running it */
	}
	if ((err = queue_list(queue, &names, &n)) < 0)
		goto cleanup;
	for (i = 0; i < n; i++) {
		const char *name = names[i]->d_name, *first = strchr(name, '-'), *last = strrchr(name, '.');
		char **grown;

		/* <ns>-<dossier>-<seq>.<hook>: the dossier is between the first dash and the last
		 * one before the dot (a dossier id may hold dashes, a seq none) */
		while (first && last > first && *last != '-')
			last--;
		snprintf(dossier, sizeof(dossier), "%.*s", first && last > first ? (int)(last - first - 1) : 0, first ? first + 1 : "");
		if (kluis_strings_has((const char *const *)failed, nfailed, dossier))
			continue;
		if ((err = run_one(vault_root, queue, name, &status, why)) < 0)
			goto cleanup;
		res->ran++;
		if (status == 0) {
			char state[512];

			snprintf(state, sizeof(state), "%s.state", name);
			if ((unlinkat(dfd, name, 0) < 0 && errno != ENOENT) || (unlinkat(dfd, state, 0) < 0 && errno != ENOENT)) {
				err = kluis_error_set(KLUIS_EGENERIC, "cannot remove %s/%s after its hook ran: %s", queue, name, strerror(errno));
				goto cleanup;
			}
			continue;
		}
		res->failed++;
		res->status = status;
		if ((err = state_write(queue, name, status, why)) < 0)
			goto cleanup;
		if (!(grown = realloc(failed, (nfailed + 1) * sizeof(*failed))) || !(grown[nfailed] = strdup(dossier))) {
			if (grown)
				failed = grown;
			err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
			goto cleanup;
		}
		failed = grown;
		nfailed++;
	}
cleanup:
	kluis_strings_free(failed, nfailed);
	queue_list_free(names, n);
	if (dfd >= 0)
		close(dfd); /* releases the lock */
	free(queue);
	return err;
}

int kluis_hook_pending_list(const char *vault_root, kluis_hook_pending **out, size_t *nout)
{
	char *queue = kluis_path_join(vault_root, "hooks/queue"), path[PATH_BUF];
	struct dirent **names = NULL;
	kluis_hook_pending *list = NULL;
	kluis_buf text = KLUIS_BUF_INIT;
	json_t *ev = NULL;
	int n = 0, i, err;

	*out = NULL;
	*nout = 0;
	if (!queue) {
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto cleanup;
	}
	if ((err = queue_list(queue, &names, &n)) < 0 || n == 0)
		goto cleanup;
	if (!(list = calloc((size_t)n, sizeof(*list)))) {
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto cleanup;
	}
	for (i = 0; i < n; i++) {
		kluis_hook_pending *p = &list[*nout];
		const char *name = names[i]->d_name;

		snprintf(path, sizeof(path), "%s/%s", queue, name);
		kluis_buf_dispose(&text);
		if ((err = kluis_file_read(&text, path, EVENT_MAX)) < 0) {
			if (kluis_path_exists(path))
				goto cleanup;
			kluis_error_clear(); /* run and removed since the listing */
			err = 0;
			continue;
		}
		json_decref(ev);
		ev = json_loads((const char *)text.ptr, 0, NULL);
		snprintf(p->file, sizeof(p->file), "%s", name);
		snprintf(p->hook, sizeof(p->hook), "%s", event_hook(name));
		snprintf(p->dossier, sizeof(p->dossier), "%s", json_str(ev, "dossier"));
		snprintf(p->action, sizeof(p->action), "%s", json_str(ev, "action"));
		snprintf(p->commit, sizeof(p->commit), "%s", json_str(ev, "commit"));
		p->seq = (unsigned long long)json_integer_value(json_object_get(ev, "seq"));
		p->queued = strtoll(name, NULL, 10) / 1000000000LL;
		state_read(queue, name, p);
		(*nout)++;
	}
	*out = list;
	list = NULL;
cleanup:
	if (err < 0)
		*nout = 0;
	json_decref(ev);
	kluis_buf_dispose(&text);
	free(list);
	queue_list_free(names, n);
	free(queue);
	return err;
}
