/*
 * test_child.c - the one way kluis starts a child process (kluis_child_run, vault/git/gitchild.c)
 * and the queue of event hooks that runs through it (hooks/event.c).
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

/* Write a queued event by hand, as kluis_hook_queue would (its own test is test_store's). */
static void queue_event(const char *dir, const char *name, const char *dossier, const char *action)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/hooks/queue/%s", dir, name);
	assert_non_null(f = fopen(path, "w"));
	fprintf(f, "{\"version\":1,\"dossier\":\"%s\",\"commit\":\"%040d\",\"seq\":2,\"action\":\"%s\","
		   "\"entries\":[\"20261207T120000Z-abcd\"],\"klant\":[\"%040d\"],\"vertegenwoordiger\":[]}\n", dossier, 7, action, 1);
	fclose(f);
}

static void write_hook(const char *path, const char *body)
{
	FILE *f;

	assert_non_null(f = fopen(path, "w"));
	fputs(body, f);
	fclose(f);
	assert_int_equal(chmod(path, 0700), 0);
}

/* The queue: a hook gets the old arguments and environment and the event on stdin; a failure
 * (exit status, or no interpreter: 127) stays queued with its attempts counted and holds back
 * that dossier's later events only; a success removes the event. */
static void test_hook_queue(void **state)
{
	char dir[] = "/tmp/kluis-child-XXXXXX", path[128], cmd[768], hook[128];
	kluis_hook_run_result r;
	kluis_hook_pending *p;
	size_t n;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/hooks/queue", dir);
	assert_int_equal(kluis_mkdir_p(path), 0);
	snprintf(hook, sizeof(hook), "%s/hooks/post-add", dir);
	snprintf(cmd, sizeof(cmd), "#!/bin/sh\necho \"$KLUIS_DOSSIER $KLUIS_ACTION $* $KLUIS_VAULT $KLUIS_KLANT\" >> %s/args\ncat >> %s/stdin\n"
		 "[ \"$1\" = k-0002 ] || exit 4\n", dir, dir);
	write_hook(hook, cmd);
	queue_event(dir, "00000000000000000001-k-0001-0000000002.post-add", "k-0001", "add");
	queue_event(dir, "00000000000000000002-k-0001-0000000003.post-add", "k-0001", "statement");
	queue_event(dir, "00000000000000000003-k-0002-0000000002.post-add", "k-0002", "add");
	assert_int_equal(kluis_hook_run_queue(dir, &r), 0);
	assert_int_equal(r.ran, 2); /* k-0001's statement waits for its add */
	assert_int_equal(r.failed, 1);
	assert_int_equal(r.status, 4);
	snprintf(cmd, sizeof(cmd), "grep -qx 'k-0001 add k-0001 add 20261207T120000Z-abcd %s %040d' %s/args && [ $(wc -l < %s/args) = 2 ] &&"
		 " grep -q '\"dossier\":\"k-0002\"' %s/stdin", dir, 1, dir, dir, dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(kluis_hook_pending_list(dir, &p, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(p[0].dossier, "k-0001");
	assert_string_equal(p[0].action, "add");
	assert_int_equal(p[0].attempts, 1);
	assert_int_equal(p[0].status, 4);
	assert_non_null(strstr(p[0].error, "exited with status 4"));
	assert_string_equal(p[1].action, "statement");
	assert_int_equal(p[1].attempts, 0);
	free(p);

	write_hook(hook, "#!/nonexistent/interpreter\n");
	assert_int_equal(kluis_hook_run_queue(dir, &r), 0);
	assert_int_equal(r.status, 127);
	assert_int_equal(kluis_hook_pending_list(dir, &p, &n), 0);
	assert_int_equal(p[0].attempts, 2);
	free(p);

	write_hook(hook, "#!/bin/sh\nexit 0\n");
	assert_int_equal(kluis_hook_run_queue(dir, &r), 0);
	assert_int_equal(r.ran, 2);
	assert_int_equal(r.failed, 0);
	assert_int_equal(kluis_hook_pending_list(dir, &p, &n), 0);
	assert_int_equal(n, 0);
	assert_null(p);
	snprintf(cmd, sizeof(cmd), "[ -z \"$(ls -A %s/hooks/queue)\" ]", dir);
	assert_int_equal(system(cmd), 0); /* no .state left behind */
	assert_int_equal(kluis_rm_rf(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_output_status_and_stdin),
		cmocka_unit_test(test_environment),
		cmocka_unit_test(test_not_executable_is_127),
		cmocka_unit_test(test_hook_queue),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
