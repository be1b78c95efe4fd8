/*
 * gitchild.h - stock git as a child process (push and pull; see sync.h for why), and
 * reading its messages safely.
 *
 * The child runs /usr/local/bin, /usr/bin or /bin's git with a fixed argv (no shell), stdin
 * from /dev/null and a minimal environment; callers put `--` before any argument that comes
 * from the user.
 */
#ifndef KLUIS_GITCHILD_H
#define KLUIS_GITCHILD_H

#include "util.h"

#include <stdbool.h>

#define KLUIS_GIT_LINE_MAX 300

/*
 * Run `git ARGS...` (args NULL-terminated, without the leading "git"), collecting stdout and
 * stderr (both NUL-terminated, at most 256 KiB each). *status is git's exit status (128+signal
 * when killed). Returns negative only when git could not be run or waited for.
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
