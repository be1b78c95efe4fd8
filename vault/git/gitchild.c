/*
 * gitchild.c - the one way kluis starts a child process (kluis_child_run), stock git for push
 * and pull (kluis_git_run), and reading git's messages safely (see gitchild.h).
 *
 * Invariants: a child gets a fixed argv (no shell) and stdin from /dev/null or a named file;
 * every child is waited for on every path (killed first when kluis gives up on it); what is
 * kept of its output is bounded (OUTPUT_MAX). posix_spawn, not fork: a fork of a large multi-threaded
 * process copies its page tables and runs nothing of kluis's in the child.
 *
 * Why git is a child and not libgit2: see sync.c. Its environment is minimal: PATH (fixed),
 * HOME (ssh keys, ~/.gitconfig), SSH_AUTH_SOCK, LC_ALL=C (so git's messages can be read) and
 * GIT_TERMINAL_PROMPT=0 (never hang on a password prompt). None of the caller's GIT_*
 * variables reaches it.
 */
#include "vault/git/gitchild.h"
#include "vault/base/error.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define OUTPUT_MAX (256 * 1024)   /* what we keep of a child's stdout or stderr */

static const char *find_git(void)
{
	static const char *const candidates[] = { "/usr/local/bin/git", "/usr/bin/git", "/bin/git" };
	size_t i;

	for (i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++)
		if (access(candidates[i], X_OK) == 0)
			return candidates[i];
	return NULL;
}

/* Keep at most `max` bytes of what a child writes; read the rest away. */
static int drain(const char *name, int fd, kluis_buf *into, size_t max, bool *open_)
{
	char chunk[4096];
	ssize_t got = read(fd, chunk, sizeof(chunk));

	if (got < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : kluis_error_set(KLUIS_EGENERIC, "cannot read from %s: %s", name, strerror(errno));
	if (got == 0) {
		*open_ = false;
		return 0;
	}
	if (into->len < max)
		return kluis_buf_put(into, chunk, (size_t)got < max - into->len ? (size_t)got : max - into->len);
	return 0;
}

/* The child's environment: c->env alone, or kluis's own with c->env's names replaced. The
 * array is the caller's to free; its strings are borrowed. */
static int child_env(const struct kluis_child *c, char ***out)
{
	size_t n = 0, k = 0, i, j;
	char **env;

	*out = NULL;
	for (i = 0; c->env && c->env[i]; i++)
		n++;
	for (i = 0; !c->env_only && environ[i]; i++)
		n++;
	if (!(env = calloc(n + 1, sizeof(*env))))
		return kluis_error_set(KLUIS_EGENERIC, "out of memory");
	for (i = 0; !c->env_only && environ[i]; i++) {
		size_t len = strcspn(environ[i], "=");
		bool replaced = false;

		for (j = 0; c->env && c->env[j] && !replaced; j++)
			replaced = strncmp(c->env[j], environ[i], len) == 0 && c->env[j][len] == '=';
		if (!replaced)
			env[k++] = environ[i];
	}
	for (i = 0; c->env && c->env[i]; i++)
		env[k++] = (char *)c->env[i];
	*out = env;
	return 0;
}

int kluis_child_run(const struct kluis_child *c, int *status)
{
	const char *name = strrchr(c->file, '/') ? strrchr(c->file, '/') + 1 : c->file;
	char **env = NULL;
	int outp[2] = { -1, -1 }, errp[2] = { -1, -1 }, wstatus, rc, err = 0;
	bool out_open = c->out != NULL, err_open = c->err != NULL, spawned = false, fa_init = false;
	posix_spawn_file_actions_t fa;
	pid_t pid;

	*status = -1;
	if ((err = child_env(c, &env)) < 0)
		goto cleanup;
	if ((c->out && pipe2(outp, O_CLOEXEC) < 0) || (c->err && pipe2(errp, O_CLOEXEC) < 0)) {
		err = kluis_error_set(KLUIS_EGENERIC, "cannot start %s: %s", name, strerror(errno));
		goto cleanup;
	}
	if ((rc = posix_spawn_file_actions_init(&fa)) != 0) {
		err = kluis_error_set(KLUIS_EGENERIC, "cannot start %s: %s", name, strerror(rc));
		goto cleanup;
	}
	fa_init = true;
	rc = posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, c->in_path ? c->in_path : "/dev/null", O_RDONLY, 0);
	if (rc == 0 && c->out)
		rc = posix_spawn_file_actions_adddup2(&fa, outp[1], STDOUT_FILENO);
	else if (rc == 0 && c->out_to_err)
		rc = posix_spawn_file_actions_adddup2(&fa, STDERR_FILENO, STDOUT_FILENO);
	if (rc == 0 && c->err)
		rc = posix_spawn_file_actions_adddup2(&fa, errp[1], STDERR_FILENO);
	if (rc == 0) {
		rc = strchr(c->file, '/') ? posix_spawn(&pid, c->file, &fa, NULL, (char *const *)c->argv, env)
					  : posix_spawnp(&pid, c->file, &fa, NULL, (char *const *)c->argv, env);
		if (rc != 0 && rc != ENOMEM && rc != EAGAIN) {
			*status = 127; /* the file could not be executed: what a shell reports */
			goto cleanup;
		}
	}
	if (rc != 0) {
		err = kluis_error_set(KLUIS_EGENERIC, "cannot start %s: %s", name, strerror(rc));
		goto cleanup;
	}
	spawned = true;
	if (outp[1] >= 0)
		close(outp[1]);
	if (errp[1] >= 0)
		close(errp[1]);
	outp[1] = errp[1] = -1;
	while (out_open || err_open) {
		struct pollfd p[2] = { { out_open ? outp[0] : -1, POLLIN, 0 }, { err_open ? errp[0] : -1, POLLIN, 0 } };

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			err = kluis_error_set(KLUIS_EGENERIC, "cannot wait for %s: %s", name, strerror(errno));
			break;
		}
		if (out_open && (p[0].revents & (POLLIN | POLLHUP | POLLERR)) && (err = drain(name, outp[0], c->out, c->out_max ? c->out_max : OUTPUT_MAX, &out_open)) < 0)
			break;
		if (err_open && (p[1].revents & (POLLIN | POLLHUP | POLLERR)) && (err = drain(name, errp[0], c->err, OUTPUT_MAX, &err_open)) < 0)
			break;
	}
cleanup:
	for (int i = 0; i < 2; i++) {
		if (outp[i] >= 0)
			close(outp[i]);
		if (errp[i] >= 0)
			close(errp[i]);
	}
	if (spawned) {
		if (err < 0)
			kill(pid, SIGTERM);
		while (waitpid(pid, &wstatus, 0) < 0)
			if (errno != EINTR) {
				if (err == 0)
					err = kluis_error_set(KLUIS_EGENERIC, "cannot wait for %s: %s", name, strerror(errno));
				break;
			}
		if (err == 0)
			*status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
	}
	if (fa_init)
		posix_spawn_file_actions_destroy(&fa);
	free(env);
	if (err == 0 && c->out)
		err = kluis_buf_cstr(c->out);
	if (err == 0 && c->err)
		err = kluis_buf_cstr(c->err);
	return err;
}

int kluis_git_run(const char *const *args, kluis_buf *out, kluis_buf *errout, int *status)
{
	const char *git = find_git(), *home = getenv("HOME"), *sock = getenv("SSH_AUTH_SOCK");
	char *env[7] = { "PATH=/usr/local/bin:/usr/bin:/bin", "LC_ALL=C", "LANG=C", "GIT_TERMINAL_PROMPT=0" };
	const char **argv = NULL;
	size_t nargs = 0, i, n = 4;
	int err = 0;

	*status = -1;
	if (!git)
		return kluis_error_set(KLUIS_EGENERIC, "stock git is needed for push and pull and was not found in /usr/local/bin, /usr/bin or /bin (install git)");
	while (args[nargs])
		nargs++;
	if (!(argv = calloc(nargs + 2, sizeof(*argv)))) {
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto cleanup;
	}
	if ((home && asprintf(&env[n++], "HOME=%s", home) < 0) || (sock && asprintf(&env[n++], "SSH_AUTH_SOCK=%s", sock) < 0)) {
		env[--n] = NULL; /* the one that failed: asprintf leaves it undefined */
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto cleanup;
	}
	argv[0] = "git";
	for (i = 0; i < nargs; i++)
		argv[i + 1] = args[i];
	err = kluis_child_run(&(struct kluis_child){ .file = git, .argv = argv, .env = (const char *const *)env,
						     .env_only = true, .out = out, .err = errout }, status);
cleanup:
	for (i = 4; i < n; i++)
		free(env[i]);
	free(argv);
	return err;
}

void kluis_git_line_clean(const char *start, size_t len, char out[KLUIS_GIT_LINE_MAX + 1])
{
	size_t i, n = 0;

	while (len && (start[len - 1] == ' ' || start[len - 1] == '\t' || start[len - 1] == '\r'))
		len--;
	for (i = 0; i < len && n < KLUIS_GIT_LINE_MAX; i++)
		out[n++] = (unsigned char)start[i] >= 0x20 && (unsigned char)start[i] < 0x7f ? start[i] : '?';
	out[n] = '\0';
}

bool kluis_git_line_find(const char *text, const char *prefix, char out[KLUIS_GIT_LINE_MAX + 1])
{
	const char *p = text, *nl;
	size_t plen = strlen(prefix);

	while (p && *p) {
		nl = strchr(p, '\n');
		if (strncmp(p, prefix, plen) == 0) {
			kluis_git_line_clean(p + plen, (nl ? (size_t)(nl - p) : strlen(p)) - plen, out);
			return true;
		}
		p = nl ? nl + 1 : NULL;
	}
	return false;
}

void kluis_git_line_last(const char *text, char out[KLUIS_GIT_LINE_MAX + 1])
{
	const char *end = text + strlen(text), *start;

	while (end > text && (end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\r'))
		end--;
	start = end;
	while (start > text && start[-1] != '\n')
		start--;
	kluis_git_line_clean(start, (size_t)(end - start), out);
	if (!out[0])
		snprintf(out, KLUIS_GIT_LINE_MAX + 1, "git gave no reason");
}
