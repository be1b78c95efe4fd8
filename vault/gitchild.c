/*
 * gitchild.c - running stock git as a child process for push and pull (see gitchild.h).
 *
 * Why a child and not libgit2: see sync.c. The child gets a fixed argv (no shell), stdin from
 * /dev/null, and a minimal environment: PATH (fixed), HOME (ssh keys, ~/.gitconfig),
 * SSH_AUTH_SOCK, LC_ALL=C (so git's messages can be read) and GIT_TERMINAL_PROMPT=0 (never
 * hang on a password prompt). None of the caller's GIT_* variables reaches it.
 */
#include "gitchild.h"
#include "error.h"

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

static int env_add(char **env, size_t *n, const char *name, const char *value)
{
	if (!value)
		return 0;
	if (asprintf(&env[*n], "%s=%s", name, value) < 0) {
		env[*n] = NULL;
		return kluis_error_set(KLUIS_EGENERIC, "out of memory");
	}
	(*n)++;
	return 0;
}

/* Keep at most OUTPUT_MAX bytes of what a child writes; read the rest away. */
static int drain(int fd, kluis_buf *into, bool *open_)
{
	char chunk[4096];
	ssize_t got = read(fd, chunk, sizeof(chunk));

	if (got < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : kluis_error_set(KLUIS_EGENERIC, "cannot read from git: %s", strerror(errno));
	if (got == 0) {
		*open_ = false;
		return 0;
	}
	if (into->len < OUTPUT_MAX)
		return kluis_buf_put(into, chunk, (size_t)got < OUTPUT_MAX - into->len ? (size_t)got : OUTPUT_MAX - into->len);
	return 0;
}

int kluis_git_run(const char *const *args, kluis_buf *out, kluis_buf *errout, int *status)
{
	const char *git = find_git();
	char *env[8] = { NULL }, **argv = NULL;
	size_t nenv = 0, nargs = 0, i;
	int outp[2] = { -1, -1 }, errp[2] = { -1, -1 }, wstatus, rc, err = 0;
	bool out_open = true, err_open = true, spawned = false;
	posix_spawn_file_actions_t fa;
	bool fa_init = false;
	pid_t pid;

	*status = -1;
	if (!git)
		return kluis_error_set(KLUIS_EGENERIC, "stock git is needed for push and pull and was not found in /usr/local/bin, /usr/bin or /bin (install git)");
	while (args[nargs])
		nargs++;
	if (!(argv = calloc(nargs + 2, sizeof(*argv))))
		return kluis_error_set(KLUIS_EGENERIC, "out of memory");
	argv[0] = (char *)"git";
	for (i = 0; i < nargs; i++)
		argv[i + 1] = (char *)args[i];
	if ((err = env_add(env, &nenv, "PATH", "/usr/local/bin:/usr/bin:/bin")) < 0 ||
	    (err = env_add(env, &nenv, "HOME", getenv("HOME"))) < 0 ||
	    (err = env_add(env, &nenv, "SSH_AUTH_SOCK", getenv("SSH_AUTH_SOCK"))) < 0 ||
	    (err = env_add(env, &nenv, "LC_ALL", "C")) < 0 || (err = env_add(env, &nenv, "LANG", "C")) < 0 ||
	    (err = env_add(env, &nenv, "GIT_TERMINAL_PROMPT", "0")) < 0)
		goto cleanup;
	if (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
		err = kluis_error_set(KLUIS_EGENERIC, "cannot start git: %s", strerror(errno));
		goto cleanup;
	}
	if ((rc = posix_spawn_file_actions_init(&fa)) != 0) {
		err = kluis_error_set(KLUIS_EGENERIC, "cannot start git: %s", strerror(rc));
		goto cleanup;
	}
	fa_init = true;
	if ((rc = posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0)) != 0 ||
	    (rc = posix_spawn_file_actions_adddup2(&fa, outp[1], STDOUT_FILENO)) != 0 ||
	    (rc = posix_spawn_file_actions_adddup2(&fa, errp[1], STDERR_FILENO)) != 0 ||
	    (rc = posix_spawn(&pid, git, &fa, NULL, argv, env)) != 0) {
		err = kluis_error_set(KLUIS_EGENERIC, "cannot start %s: %s", git, strerror(rc));
		goto cleanup;
	}
	spawned = true;
	close(outp[1]);
	close(errp[1]);
	outp[1] = errp[1] = -1;
	while (out_open || err_open) {
		struct pollfd p[2] = { { out_open ? outp[0] : -1, POLLIN, 0 }, { err_open ? errp[0] : -1, POLLIN, 0 } };
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			err = kluis_error_set(KLUIS_EGENERIC, "cannot wait for git: %s", strerror(errno));
			break;
		}
		if (out_open && (p[0].revents & (POLLIN | POLLHUP | POLLERR)) && (err = drain(outp[0], out, &out_open)) < 0)
			break;
		if (err_open && (p[1].revents & (POLLIN | POLLHUP | POLLERR)) && (err = drain(errp[0], errout, &err_open)) < 0)
			break;
	}
cleanup:
	if (outp[0] >= 0)
		close(outp[0]);
	if (errp[0] >= 0)
		close(errp[0]);
	if (outp[1] >= 0)
		close(outp[1]);
	if (errp[1] >= 0)
		close(errp[1]);
	if (spawned) {
		if (err < 0)
			kill(pid, SIGTERM);
		while (waitpid(pid, &wstatus, 0) < 0)
			if (errno != EINTR) {
				if (err == 0)
					err = kluis_error_set(KLUIS_EGENERIC, "cannot wait for git: %s", strerror(errno));
				break;
			}
		if (err == 0)
			*status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
	}
	if (fa_init)
		posix_spawn_file_actions_destroy(&fa);
	for (i = 0; i < nenv; i++)
		free(env[i]);
	free(argv);
	if (err == 0 && (err = kluis_buf_cstr(out)) == 0)
		err = kluis_buf_cstr(errout);
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
