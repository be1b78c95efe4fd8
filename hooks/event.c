/*
 * event.c - running the vault's post-add hook (see event.h).
 */
#include "event.h"
#include "vault/error.h"
#include "vault/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int kluis_hook_post_add(const char *vault_root, const char *dossier, const char *action,
			const char (*entries)[22], size_t n, int *status)
{
	char *hooks = NULL, *path = NULL;
	char **argv = NULL;
	struct stat st;
	pid_t pid;
	int wstatus, err = 0;
	size_t i;

	if (status)
		*status = -1;
	if (!(hooks = kluis_path_join(vault_root, "hooks")) || !(path = kluis_path_join(hooks, "post-add"))) {
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto cleanup;
	}
	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode) || !(st.st_mode & S_IXUSR))
		goto cleanup;
	argv = calloc(n + 4, sizeof(*argv));
	if (!argv) {
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto cleanup;
	}
	argv[0] = path;
	argv[1] = (char *)dossier;
	argv[2] = (char *)action;
	for (i = 0; i < n; i++)
		argv[3 + i] = (char *)entries[i];
	pid = fork();
	if (pid < 0) {
		err = kluis_error_set(KLUIS_EGENERIC, "cannot run the post-add hook: %s", strerror(errno));
		goto cleanup;
	}
	if (pid == 0) {
		dup2(STDERR_FILENO, STDOUT_FILENO);
		setenv("KLUIS_DOSSIER", dossier, 1);
		setenv("KLUIS_ACTION", action, 1);
		setenv("KLUIS_VAULT", vault_root, 1);
		execv(path, argv);
		_exit(127);
	}
	while (waitpid(pid, &wstatus, 0) < 0)
		if (errno != EINTR) {
			err = kluis_error_set(KLUIS_EGENERIC, "cannot wait for the post-add hook: %s", strerror(errno));
			goto cleanup;
		}
	if (status)
		*status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
cleanup:
	free(argv);
	free(path);
	free(hooks);
	return err;
}
