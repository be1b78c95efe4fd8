/*
 * test_child.c - the one way kluis starts a child process (kluis_child_run, vault/git/gitchild.c)
 * and the post-add hook that runs through it (hooks/event.c).
 *
 * Each case runs /bin/sh with a one-line script and checks what the child saw (argv, stdin,
 * environment) and what kluis got back (captured output, exit status, 128+signal, 127 for a
 * file that cannot be executed, as before the fork/exec in hooks/event.c was replaced).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hooks/event.h"
#include "vault/git/gitchild.h"
#include "vault/base/util.h"

/* Run `sh -c script` with env (env_only as given), capturing stdout and stderr. */
static int sh(const char *script, const char *const *env, bool env_only, kluis_buf *out, kluis_buf *err)
{
	const char *argv[] = { "sh", "-c", script, NULL };
	int status = -2;

	assert_int_equal(kluis_child_run(&(struct kluis_child){ .file = "/bin/sh", .argv = argv, .env = env,
								.env_only = env_only, .out = out, .err = err }, &status), 0);
	return status;
}

static void test_output_status_and_stdin(void **state)
{
	kluis_buf out = KLUIS_BUF_INIT, err = KLUIS_BUF_INIT;

	(void)state;
	/* stdin is /dev/null: cat ends at once; each stream captured apart */
	assert_int_equal(sh("cat; echo uit; echo fout >&2; exit 3", NULL, false, &out, &err), 3);
	assert_string_equal((const char *)out.ptr, "uit\n");
	assert_string_equal((const char *)err.ptr, "fout\n");
	kluis_buf_dispose(&out);
	kluis_buf_dispose(&err);
	assert_int_equal(sh("kill -TERM $$", NULL, false, &out, &err), 128 + 15);
	kluis_buf_dispose(&out);
	kluis_buf_dispose(&err);
}

static void test_environment(void **state)
{
	const char *env[] = { "KLUIS_T_A=nieuw", NULL };
	kluis_buf out = KLUIS_BUF_INIT, err = KLUIS_BUF_INIT;

	(void)state;
	assert_int_equal(setenv("KLUIS_T_A", "oud", 1), 0);
	assert_int_equal(setenv("KLUIS_T_B", "geërfd", 1), 0);
	/* kluis's own environment, with the names given replaced */
	assert_int_equal(sh("echo \"$KLUIS_T_A $KLUIS_T_B\"", env, false, &out, &err), 0);
	assert_string_equal((const char *)out.ptr, "nieuw geërfd\n");
	kluis_buf_dispose(&out);
	/* the names given alone */
	assert_int_equal(sh("echo \"$KLUIS_T_A ${KLUIS_T_B-geen}\"", env, true, &out, &err), 0);
	assert_string_equal((const char *)out.ptr, "nieuw geen\n");
	kluis_buf_dispose(&out);
	kluis_buf_dispose(&err);
}

static void test_not_executable_is_127(void **state)
{
	const char *argv[] = { "nergens", NULL };
	int status = -2;

	(void)state;
	assert_int_equal(kluis_child_run(&(struct kluis_child){ .file = "/nonexistent/kluis-test", .argv = argv }, &status), 0);
	assert_int_equal(status, 127);
	status = -2;
	assert_int_equal(kluis_child_run(&(struct kluis_child){ .file = "kluis-test-not-in-path", .argv = argv }, &status), 0);
	assert_int_equal(status, 127);
}

/* The hook: its status; one whose interpreter is missing is a status (127), not an error
 * (the entry is committed by then: kluis warns). */
static void test_post_add_hook(void **state)
{
	char dir[] = "/tmp/kluis-child-XXXXXX", path[128], cmd[512];
	const char ids[1][22] = { "20261207T120000Z-abcd" };
	int status = -2;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/hooks", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/hooks/post-add", dir);
	assert_non_null(f = fopen(path, "w"));
	fprintf(f, "#!/bin/sh\necho \"$KLUIS_DOSSIER $KLUIS_ACTION $* $KLUIS_VAULT\" > %s/args\nexit 4\n", dir);
	fclose(f);
	assert_int_equal(chmod(path, 0700), 0);
	assert_int_equal(kluis_hook_post_add(dir, "k-0001", "add", ids, 1, &status), 0);
	assert_int_equal(status, 4);
	snprintf(cmd, sizeof(cmd), "grep -qx 'k-0001 add k-0001 add 20261207T120000Z-abcd %s' %s/args", dir, dir);
	assert_int_equal(system(cmd), 0);

	assert_non_null(f = fopen(path, "w"));
	fprintf(f, "#!/nonexistent/interpreter\n");
	fclose(f);
	assert_int_equal(kluis_hook_post_add(dir, "k-0001", "add", ids, 1, &status), 0);
	assert_int_equal(status, 127);
	assert_int_equal(kluis_rm_rf(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_output_status_and_stdin),
		cmocka_unit_test(test_environment),
		cmocka_unit_test(test_not_executable_is_127),
		cmocka_unit_test(test_post_add_hook),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
