/*
 * gitchild.h - the one way kluis starts a child process; stock git as a child (push and
 * pull; see sync.h for why), and reading its messages safely.
 *
 * A child runs with a fixed argv (no shell) and stdin from /dev/null (or the file in_path);
 * callers put `--` before any argument that comes from the user.
 */
#ifndef KLUIS_GITCHILD_H
#define KLUIS_GITCHILD_H

#include "vault/base/util.h"

#include <stdbool.h>

#define KLUIS_GIT_LINE_MAX 300

struct kluis_child {
	const char *file;        /* a path, or a name looked up in PATH */
	const char *const *argv; /* argv[0] first, NULL-terminated */
	const char *const *env;  /* "NAME=value" entries, NULL-terminated (may be NULL) */
	bool env_only;           /* the child gets `env` alone; else kluis's own environment with them set */
	kluis_buf *out, *err;    /* its stdout, stderr captured here (at most 256 KiB each, NUL-terminated);
				  * NULL: kluis's own */
	bool out_to_err;         /* with out NULL: its stdout goes to kluis's stderr */
	size_t out_max;          /* what is kept of its stdout (0: 256 KiB) */
	const char *in_path;     /* its stdin: this file (a hook's event), else /dev/null */
};

/*
 * Run the child and wait for it. *status is its exit status (128+signal when killed; 127 when
 * the file could not be executed, as a shell says). Returns negative only when kluis could
 * not start it (memory, processes, pipes) or read from or wait for it.
 */
int kluis_child_run(const struct kluis_child *c, int *status);

/*
 * Run `git ARGS...` (args NULL-terminated, without the leading "git") from /usr/local/bin,
 * /usr/bin or /bin with a minimal environment (gitchild.c), collecting stdout and stderr as
 * kluis_child_run does.
 */
int kluis_git_run(const char *const *args, kluis_buf *out, kluis_buf *errout, int *status);

/* Copy len bytes of a line from git or a server into out, safe to show on one line:
 * printable ASCII only, trailing blanks dropped, at most KLUIS_GIT_LINE_MAX characters. */
void kluis_git_line_clean(const char *start, size_t len, char out[KLUIS_GIT_LINE_MAX + 1]);
/* The first line of text that starts with `prefix`, cleaned, without the prefix. */
bool kluis_git_line_find(const char *text, const char *prefix, char out[KLUIS_GIT_LINE_MAX + 1]);
/* The last non-empty line of text, cleaned ("git gave no reason" when there is none). */
void kluis_git_line_last(const char *text, char out[KLUIS_GIT_LINE_MAX + 1]);

#endif
