/*
 * event.c - running the vault's post-add hook (see event.h).
 */
#include "hooks/event.h"
#include "vault/base/error.h"
#include "vault/git/gitchild.h"
#include "vault/base/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

int kluis_hook_post_add(const char *vault_root, const char *dossier, const char *action,
			const char (*entries)[22], size_t n, int *status)
{
	const char *names[3] = { "KLUIS_DOSSIER", "KLUIS_ACTION", "KLUIS_VAULT" }, *values[3] = { dossier, action, vault_root };
	char *hooks = NULL, *path = NULL, *env[4] = { NULL };
	const char **argv = NULL;
	struct stat st;
	int hook_status, err = 0;
	size_t i;

	if (status)
		*status = -1;
	if (!(hooks = kluis_path_join(vault_root, "hooks")) || !(path = kluis_path_join(hooks, "post-add"))) {
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto cleanup;
	}
	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode) || !(st.st_mode & S_IXUSR))
		goto cleanup;
	for (i = 0; i < 3; i++)
		if (asprintf(&env[i], "%s=%s", names[i], values[i]) < 0) {
			env[i] = NULL;
			err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
			goto cleanup;
		}
	if (!(argv = calloc(n + 4, sizeof(*argv)))) {
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto cleanup;
	}
	argv[0] = path;
	argv[1] = dossier;
	argv[2] = action;
	for (i = 0; i < n; i++)
		argv[3 + i] = entries[i];
	/* its output goes to stderr: kluis's stdout stays machine-readable */
	if ((err = kluis_child_run(&(struct kluis_child){ .file = path, .argv = argv, .env = (const char *const *)env,
							  .out_to_err = true }, &hook_status)) < 0)
		goto cleanup;
	if (status)
		*status = hook_status;
cleanup:
	for (i = 0; i < 3; i++)
		free(env[i]);
	free(argv);
	free(path);
	free(hooks);
	return err;
}
