/*
 * test_store.c - the library end to end through vault/store/vault.h, with real gpg keys.
 *
 * A fresh short-path GNUPGHOME (0700) gets four passphrase-less keys, one per role (klant,
 * medewerker, directie, opdrachtgever); each actor drives the library through its own vault
 * handle (`as` = its fingerprint). The tests run in order and build on each other: a vault is
 * created, the directie opens a dossier, the medewerker adds a note, the klant reads it back
 * (which leaves a signed access record), and every refusal along the way must leave the
 * dossier as it was. What the library wrote is checked with stock git and gpg where it can be
 * (signed commits, ciphertext encrypted to every reader, no plaintext in any git object).
 *
 * Everything is freed: CI runs this under valgrind and ASan.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <git2.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vault/base/error.h"
#include "vault/base/util.h"
#include "vault/store/vault.h"
#include "hooks/event.h"

#define DOSSIER "d-2026-001"
#define NOTE "Gesprek met klant: marker-7f3e9c, afspraken over werkhervatting.\n"
#define OUTSIDER "DDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDD"

static char g_home[64];      /* GNUPGHOME */
static char g_root[64];      /* scratch: vault, HOME, files */
static char g_vault[128];
static char g_repo[192];
static char g_klant[41], g_medew[41], g_dir[41], g_opdr[41];
static char g_entry[KLUIS_ENTRY_ID_LEN + 1];
static git_oid g_init_commit;

/* ---- helpers ---- */

static void assert_error(int got, int want, const char *fragment)
{
	if (got != want)
		fail_msg("got %d, want %d (message: %s)", got, want, kluis_error_last());
	if (!strstr(kluis_error_last(), fragment))
		fail_msg("error message \"%s\" lacks \"%s\"", kluis_error_last(), fragment);
}

#define CHECK(call) \
	do { \
		int check_err_ = (call); \
		if (check_err_ != 0) \
			fail_msg("%s: %d: %s", #call, check_err_, kluis_error_last()); \
	} while (0)

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	return rc == -1 ? -1 : WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

static char *capture(size_t *len_out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *capture(size_t *len_out, const char *fmt, ...)
{
	char cmd[2048], chunk[4096];
	kluis_buf b = KLUIS_BUF_INIT;
	size_t n;
	va_list ap;
	FILE *p;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	p = popen(cmd, "r");
	assert_non_null(p);
	while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0)
		assert_int_equal(kluis_buf_put(&b, chunk, n), 0);
	if (pclose(p) != 0)
		fail_msg("command failed: %s", cmd);
	assert_int_equal(kluis_buf_put(&b, "", 0), 0);
	if (len_out)
		*len_out = b.len;
	return (char *)b.ptr;
}

static void make_key(const char *name, char fpr[41])
{
	char *out;

	if (run("gpg --batch --quiet --pinentry-mode loopback --passphrase '' --quick-gen-key '%s <%s@kluis.test>' "
		"ed25519 sign never 2>/dev/null", name, name) != 0)
		fail_msg("gpg --quick-gen-key failed");
	out = capture(NULL, "gpg --batch --with-colons --list-keys '<%s@kluis.test>' 2>/dev/null | awk -F: '/^fpr/{print $10; exit}'", name);
	assert_true(kluis_fpr_normalize(strtok(out, "\n"), fpr));
	free(out);
	if (run("gpg --batch --quiet --pinentry-mode loopback --passphrase '' --quick-add-key %s cv25519 encr never 2>/dev/null",
		fpr) != 0)
		fail_msg("gpg --quick-add-key failed");
}

static int group_setup(void **state)
{
	char home[128];

	snprintf(g_home, sizeof(g_home), "/tmp/kt.XXXXXX");
	snprintf(g_root, sizeof(g_root), "/tmp/kt.XXXXXX");
	if (!mkdtemp(g_home) || !mkdtemp(g_root) || chmod(g_home, 0700) < 0)
		return -1;
	snprintf(home, sizeof(home), "%s/home", g_root);
	snprintf(g_vault, sizeof(g_vault), "%s/vault", g_root);
	snprintf(g_repo, sizeof(g_repo), "%s/dossiers/%s.git", g_vault, DOSSIER);
	if (mkdir(home, 0700) < 0)
		return -1;
	setenv("GNUPGHOME", g_home, 1);
	setenv("HOME", home, 1);
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	setenv("GIT_CONFIG_GLOBAL", "/dev/null", 1);
	setenv("KLUIS_NO_FSYNC", "1", 1);
	unsetenv("KLUIS_KEY");
	unsetenv("KLUIS_NOW");
	/* valgrind's fork of a multi-threaded process breaks gpgme's double fork now and then
	 * ("cannot find the signing key: Inappropriate ioctl for device"), so under valgrind the
	 * gpg work runs on one thread, as in tests/valgrind/run.sh; ASan covers the threaded path */
	if (strstr(getenv("LD_PRELOAD") ? getenv("LD_PRELOAD") : "", "vgpreload") && !getenv("KLUIS_THREADS"))
		setenv("KLUIS_THREADS", "0", 1);
	umask(077);
	run("printf 'allow-loopback-pinentry\\n' > %s/gpg-agent.conf", g_home);
	make_key("klant", g_klant);
	make_key("medewerker", g_medew);
	make_key("directie", g_dir);
	make_key("opdrachtgever", g_opdr);
	return 0;
}

static int group_teardown(void **state)
{
	run("gpgconf --homedir %s --kill all >/dev/null 2>&1", g_home);
	run("rm -rf %s %s", g_home, g_root);
	git_libgit2_shutdown();
	return 0;
}

static kluis_vault *open_as(const char *fpr)
{
	kluis_vault *v = NULL;

	CHECK(kluis_vault_open(&v, g_vault, fpr, 0));
	return v;
}

static kluis_dossier *open_dossier(kluis_vault *v)
{
	kluis_dossier *d = NULL;

	CHECK(kluis_dossier_open(&d, v, DOSSIER));
	return d;
}

static kluis_entry_input text_input(const char *text)
{
	kluis_entry_input in;

	memset(&in, 0, sizeof(in));
	in.text = text;
	in.text_len = strlen(text);
	in.fd = -1;
	return in;
}

static void head_of(git_oid *out)
{
	char *hex = capture(NULL, "git -C %s rev-parse refs/heads/main", g_repo);

	assert_int_equal(git_oid_fromstr(out, strtok(hex, "\n")), 0);
	free(hex);
}

static size_t history_len(kluis_dossier *d)
{
	kluis_event *ev = NULL;
	size_t n = 0;

	CHECK(kluis_history(d, &ev, &n));
	kluis_events_free(ev, n);
	return n;
}

/* ---- vault ---- */

static void test_vault_open(void **state)
{
	kluis_vault *v = NULL;
	struct stat st;
	char path[256];

	kluis_error_clear();
	assert_error(kluis_vault_open(&v, g_vault, g_dir, 0), KLUIS_ENOTFOUND, "no vault at");
	assert_null(v);
	CHECK(kluis_vault_open(&v, g_vault, g_dir, KLUIS_VAULT_CREATE));
	assert_non_null(v);
	assert_string_equal(kluis_vault_root(v), g_vault);
	assert_int_equal(stat(g_vault, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	snprintf(path, sizeof(path), "%s/dossiers", g_vault);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	kluis_vault_free(v);
	kluis_vault_free(NULL);
	/* a file is not a vault */
	snprintf(path, sizeof(path), "%s/plainfile", g_root);
	assert_int_equal(kluis_file_write_atomic(path, "x", 1), 0);
	kluis_error_clear();
	assert_error(kluis_vault_open(&v, path, g_dir, KLUIS_VAULT_CREATE), KLUIS_EINVAL, "is not a directory");
	assert_null(v);
	/* --as must pick exactly one secret key (asked for when the actor is needed) */
	v = NULL;
	CHECK(kluis_vault_open(&v, g_vault, "nobody-by-this-name", 0));
	{
		const char *fpr = NULL;
		kluis_error_clear();
		assert_error(kluis_vault_actor(v, &fpr), KLUIS_EINVAL, "matches no secret key");
	}
	kluis_vault_free(v);
}

/* ---- init ---- */

static void test_init_refusals(void **state)
{
	kluis_init_opts o;
	kluis_vault *v;
	kluis_dossier *d = NULL;

	memset(&o, 0, sizeof(o));
	o.id = DOSSIER;
	o.klant = g_klant;
	o.medewerker = g_medew;
	o.directie = g_dir;
	o.opdrachtgever = g_opdr;
	/* the klant may not open a dossier */
	v = open_as(g_klant);
	kluis_error_clear();
	assert_error(kluis_dossier_init(v, &o, NULL), KLUIS_EACCESS, "only the medewerker or directie may init");
	kluis_vault_free(v);
	/* nor may a key that holds no role in it */
	v = open_as(OUTSIDER);
	assert_error(kluis_dossier_init(v, &o, NULL), KLUIS_EACCESS, "holds no role in this dossier");
	kluis_vault_free(v);

	v = open_as(g_dir);
	o.id = "Klant-Jansen";  /* ids are pseudonymous [a-z0-9-] */
	assert_error(kluis_dossier_init(v, &o, NULL), KLUIS_EINVAL, "is not a dossier id");
	o.id = "../escape";
	assert_error(kluis_dossier_init(v, &o, NULL), KLUIS_EINVAL, "is not a dossier id");
	o.id = NULL;
	assert_error(kluis_dossier_init(v, &o, NULL), KLUIS_EINVAL, "is not a dossier id");
	o.id = DOSSIER;
	o.opdrachtgever = NULL;
	assert_error(kluis_dossier_init(v, &o, NULL), KLUIS_EINVAL, "--opdrachtgever");
	o.opdrachtgever = "not-a-fingerprint";
	assert_error(kluis_dossier_init(v, &o, NULL), KLUIS_EINVAL, "not a 40-digit key fingerprint");
	o.opdrachtgever = g_opdr;
	o.retention_years = 101;
	assert_error(kluis_dossier_init(v, &o, NULL), KLUIS_EINVAL, "--retention-years");
	o.retention_years = 0;
	/* a reader whose public key is not in the keyring cannot be encrypted to */
	o.opdrachtgever = OUTSIDER;
	kluis_error_clear();
	assert_int_equal(kluis_dossier_init(v, &o, NULL) < 0, 1);
	assert_non_null(strstr(kluis_error_last(), OUTSIDER));
	o.opdrachtgever = g_opdr;
	/* none of that left a dossier behind */
	assert_false(kluis_path_exists(g_repo));
	assert_int_equal(kluis_dossier_open(&d, v, DOSSIER), KLUIS_ENOTFOUND);
	assert_null(d);
	assert_int_equal(run("test -z \"$(ls -A %s/dossiers)\"", g_vault), 0);
	kluis_vault_free(v);
}

static void test_init(void **state)
{
	kluis_init_opts o;
	kluis_vault *v = open_as(g_dir);
	kluis_dossier *d;
	char *conf;
	git_oid head;
	const kluis_roles *r;

	memset(&o, 0, sizeof(o));
	o.id = DOSSIER;
	o.klant = g_klant;
	o.medewerker = g_medew;
	o.directie = g_dir;
	o.opdrachtgever = g_opdr;
	o.traject = "re-integratie spoor 2";
	CHECK(kluis_dossier_init(v, &o, &g_init_commit));
	head_of(&head);
	assert_true(git_oid_equal(&head, &g_init_commit));
	/* stock git verifies the signed init commit; it is the directie's */
	assert_int_equal(run("git -C %s verify-commit main 2>/dev/null", g_repo), 0);
	conf = capture(NULL, "git -C %s log -1 --format='%%an %%ae|%%(trailers:key=Kluis-Action,valueonly)' main", g_repo);
	assert_non_null(strstr(conf, "directie "));
	assert_non_null(strstr(conf, g_dir));
	assert_non_null(strstr(conf, "|init"));
	free(conf);
	/* the vault's trust root is the directie's key; the checkpoint exists */
	conf = capture(NULL, "cat %s/kluis.conf", g_vault);
	assert_non_null(strstr(conf, g_dir));
	free(conf);
	assert_int_equal(run("test -s %s/checkpoints/%s", g_vault, DOSSIER), 0);
	/* the traject is encrypted, never in the clear */
	assert_int_not_equal(run("git -C %s cat-file --batch-all-objects --batch 2>/dev/null | grep -q 'spoor 2'", g_repo), 0);

	/* the same id again */
	kluis_error_clear();
	assert_error(kluis_dossier_init(v, &o, NULL), KLUIS_EEXISTS, "already exists");

	d = open_dossier(v);
	assert_string_equal(kluis_dossier_id(d), DOSSIER);
	assert_non_null(kluis_dossier_repo(d));
	r = kluis_dossier_roles(d);
	assert_int_equal(r->n, 4);
	assert_int_equal(kluis_roles_of(r, g_klant), KLUIS_ROLE_KLANT);
	assert_int_equal(kluis_roles_of(r, g_dir), KLUIS_ROLE_DIRECTIE);
	assert_int_equal(history_len(d), 1);
	kluis_dossier_free(d);
	kluis_dossier_free(NULL);
	kluis_vault_free(v);
}

/* ---- add ---- */

static void test_add_note(void **state)
{
	kluis_vault *v = open_as(g_medew);
	kluis_dossier *d = open_dossier(v);
	kluis_entry_input in = text_input(NOTE);
	char ids[1][KLUIS_ENTRY_ID_LEN + 1];
	git_oid before, after;
	char queue[256];

	head_of(&before);
	memset(ids, 0, sizeof(ids));
	CHECK(kluis_entry_add(d, KLUIS_ACT_ADD, &in, 1, ids, NULL, NULL));
	assert_true(kluis_entry_id_valid(ids[0]));
	snprintf(queue, sizeof(queue), "%s/hooks/queue", g_vault);
	assert_false(kluis_path_exists(queue)); /* no hook in this vault: nothing queued */
	snprintf(g_entry, sizeof(g_entry), "%s", ids[0]);
	head_of(&after);
	assert_false(git_oid_equal(&before, &after));
	assert_int_equal(run("git -C %s verify-commit main 2>/dev/null", g_repo), 0);
	assert_int_equal(run("git -C %s log -1 --format=%%B main | grep -qx 'Kluis-Entry: %s'", g_repo, g_entry), 0);
	assert_int_equal(run("git -C %s log -1 --format=%%B main | grep -qx 'Kluis-Role: medewerker'", g_repo), 0);
	assert_int_equal(history_len(d), 2);
	kluis_dossier_free(d);
	kluis_vault_free(v);
}

static void test_add_refusals(void **state)
{
	kluis_vault *vk = open_as(g_klant), *vm = open_as(g_medew), *vo = open_as(g_opdr), *vx = open_as(OUTSIDER);
	kluis_dossier *dk = open_dossier(vk), *dm = open_dossier(vm), *dopd = open_dossier(vo), *dx = open_dossier(vx);
	kluis_entry_input in = text_input("should never be stored: marker-55aa\n"), two;
	char ids[2][KLUIS_ENTRY_ID_LEN + 1];
	git_oid before, after;

	head_of(&before);
	/* the klant adds only his own requests (his words go in a statement) */
	kluis_error_clear();
	assert_error(kluis_entry_add(dk, KLUIS_ACT_ADD, &in, 1, ids, NULL, NULL), KLUIS_EACCESS,
		     "the klant adds his own words with kluis statement");
	/* nor the opdrachtgever, nor a stranger */
	assert_error(kluis_entry_add(dopd, KLUIS_ACT_ADD, &in, 1, ids, NULL, NULL), KLUIS_EACCESS,
		     "is the opdrachtgever in this dossier, and only the klant, medewerker or directie may add");
	assert_error(kluis_entry_add(dx, KLUIS_ACT_ADD, &in, 1, ids, NULL, NULL), KLUIS_EACCESS,
		     "holds no role in this dossier; only the klant, medewerker or directie may add");
	/* the medewerker may not make the klant's statement */
	assert_error(kluis_entry_add(dm, KLUIS_ACT_STATEMENT, &in, 1, ids, NULL, NULL), KLUIS_EACCESS,
		     "only the klant may statement");

	/* bad input from an allowed actor */
	in.kind = "gossip";
	assert_error(kluis_entry_add(dm, KLUIS_ACT_ADD, &in, 1, ids, NULL, NULL), KLUIS_EINVAL, "unknown kind 'gossip'");
	in.kind = "statement";
	assert_error(kluis_entry_add(dm, KLUIS_ACT_ADD, &in, 1, ids, NULL, NULL), KLUIS_EINVAL, "has its own command");
	in.kind = NULL;
	in.special = "shoe-size";
	assert_error(kluis_entry_add(dm, KLUIS_ACT_ADD, &in, 1, ids, NULL, NULL), KLUIS_EINVAL, "unknown --special 'shoe-size'");
	/* a special category needs the klant's consent in force first (P8) */
	in.special = "health";
	assert_error(kluis_entry_add(dm, KLUIS_ACT_ADD, &in, 1, ids, NULL, NULL), KLUIS_EACCESS,
		     "no consent in force for the special category 'health'");
	in.special = NULL;
	in.basis = "because";
	assert_error(kluis_entry_add(dm, KLUIS_ACT_ADD, &in, 1, ids, NULL, NULL), KLUIS_EINVAL, "unknown --basis");
	in.basis = NULL;
	in.origin = "buurman";
	assert_error(kluis_entry_add(dm, KLUIS_ACT_ADD, &in, 1, ids, NULL, NULL), KLUIS_EINVAL, "unknown --origin");
	in.origin = NULL;
	in.title = "line\nbreak";
	assert_error(kluis_entry_add(dm, KLUIS_ACT_ADD, &in, 1, ids, NULL, NULL), KLUIS_EINVAL, "--title has control characters");
	in.title = NULL;
	/* exactly one source */
	two = in;
	two.path = "/etc/hostname";
	assert_error(kluis_entry_add(dm, KLUIS_ACT_ADD, &two, 1, ids, NULL, NULL), KLUIS_EINVAL, "exactly one of");
	two = in;
	two.text = NULL;
	assert_error(kluis_entry_add(dm, KLUIS_ACT_ADD, &two, 1, ids, NULL, NULL), KLUIS_EINVAL, "exactly one of");
	two = in;
	two.text_len = 0;
	assert_error(kluis_entry_add(dm, KLUIS_ACT_ADD, &two, 1, ids, NULL, NULL), KLUIS_EINVAL, "the text is empty");
	two = text_input("x");
	two.text = NULL;
	two.path = "/nonexistent/kluis-test-file";
	assert_error(kluis_entry_add(dm, KLUIS_ACT_ADD, &two, 1, ids, NULL, NULL), KLUIS_EINVAL, "cannot read '/nonexistent/kluis-test-file'");
	assert_error(kluis_entry_add(dm, KLUIS_ACT_ADD, &in, 0, ids, NULL, NULL), KLUIS_EINVAL, "nothing to add");

	/* nothing of that reached the dossier */
	head_of(&after);
	assert_true(git_oid_equal(&before, &after));
	assert_int_equal(history_len(dm), 2);
	assert_int_not_equal(run("git -C %s cat-file --batch-all-objects --batch 2>/dev/null | grep -q marker-55aa", g_repo), 0);

	kluis_dossier_free(dk);
	kluis_dossier_free(dm);
	kluis_dossier_free(dopd);
	kluis_dossier_free(dx);
	kluis_vault_free(vk);
	kluis_vault_free(vm);
	kluis_vault_free(vo);
	kluis_vault_free(vx);
}

/* ---- history ---- */

static void test_history(void **state)
{
	kluis_vault *v = open_as(g_klant);  /* the log is commit metadata: nothing is decrypted */
	kluis_dossier *d = open_dossier(v);
	kluis_event *ev = NULL;
	size_t n = 0;

	CHECK(kluis_history(d, &ev, &n));
	assert_int_equal(n, 2);
	assert_string_equal(ev[0].action, "init");
	assert_string_equal(ev[0].role, "directie");
	assert_string_equal(ev[0].fpr, g_dir);
	assert_true(git_oid_equal(&ev[0].commit, &g_init_commit));
	assert_false(ev[0].access);
	assert_int_equal(ev[0].nentries, 0);
	assert_string_equal(ev[1].action, "add");
	assert_string_equal(ev[1].role, "medewerker");
	assert_string_equal(ev[1].fpr, g_medew);
	assert_string_equal(ev[1].kind, "note");
	assert_false(ev[1].access);
	assert_int_equal(ev[1].nentries, 1);
	assert_string_equal(ev[1].entries[0], g_entry);
	assert_true(ev[1].time >= ev[0].time);
	kluis_events_free(ev, n);
	kluis_events_free(NULL, 0);
	kluis_dossier_free(d);
	kluis_vault_free(v);
}

/* ---- show ---- */

static void check_meta(const kluis_buf *meta, const char *role_of_author, const char *author)
{
	json_error_t jerr;
	json_t *j = json_loadb((const char *)meta->ptr, meta->len, 0, &jerr);
	char sha[65];

	if (!j)
		fail_msg("metadata is not JSON: %s", jerr.text);
	assert_string_equal(json_string_value(json_object_get(j, "kind")), "note");
	assert_string_equal(json_string_value(json_object_get(j, "id")), g_entry);
	assert_string_equal(json_string_value(json_object_get(j, "role")), role_of_author);
	assert_string_equal(json_string_value(json_object_get(j, "author")), author);
	assert_string_equal(json_string_value(json_object_get(j, "action")), "add");
	assert_int_equal(json_integer_value(json_object_get(j, "size")), strlen(NOTE));
	assert_int_equal(kluis_sha256_buffer_hex(NOTE, strlen(NOTE), sha), 0);
	assert_string_equal(json_string_value(json_object_get(j, "sha256")), sha);
	assert_int_equal(json_array_size(json_object_get(j, "recipients")), 4);
	json_decref(j);
}

static void test_show_as_klant(void **state)
{
	kluis_vault *v = open_as(g_klant);
	kluis_dossier *d = open_dossier(v);
	kluis_buf meta = KLUIS_SECRET_BUF_INIT, body = KLUIS_SECRET_BUF_INIT;
	kluis_event *ev = NULL;
	git_oid before, after;
	size_t n = 0;

	head_of(&before);
	CHECK(kluis_entry_show(d, g_entry, "inzage", &meta, -1, false, &body));
	assert_true(meta.secret);
	assert_true(body.secret);
	/* the original bytes, exactly */
	assert_int_equal(body.len, strlen(NOTE));
	assert_memory_equal(body.ptr, NOTE, body.len);
	check_meta(&meta, "medewerker", g_medew);
	kluis_buf_dispose(&meta);
	kluis_buf_dispose(&body);

	/* reading does not change the dossier's own history ... */
	head_of(&after);
	assert_true(git_oid_equal(&before, &after));
	/* ... but leaves a signed access record (invariant 6) */
	assert_int_equal(run("git -C %s verify-commit refs/kluis/access 2>/dev/null", g_repo), 0);
	CHECK(kluis_history(d, &ev, &n));
	assert_int_equal(n, 3);
	assert_true(ev[2].access);
	assert_string_equal(ev[2].action, "access");
	assert_string_equal(ev[2].role, "klant");
	assert_string_equal(ev[2].fpr, g_klant);
	assert_string_equal(ev[2].purpose, "inzage");
	assert_int_equal(ev[2].nentries, 1);
	assert_string_equal(ev[2].entries[0], g_entry);
	kluis_events_free(ev, n);
	kluis_dossier_free(d);
	kluis_vault_free(v);
}

static void test_show_to_fd_as_opdrachtgever(void **state)
{
	kluis_vault *v = open_as(g_opdr);
	kluis_dossier *d = open_dossier(v);
	kluis_buf meta = KLUIS_SECRET_BUF_INIT, out = KLUIS_BUF_INIT;
	char path[192];
	int fd;

	snprintf(path, sizeof(path), "%s/shown.txt", g_root);
	fd = kluis_file_create_excl(path);
	assert_true(fd >= 0);
	CHECK(kluis_entry_show(d, g_entry, "rapportage", &meta, fd, false, NULL));
	assert_int_equal(close(fd), 0);
	check_meta(&meta, "medewerker", g_medew);
	assert_int_equal(kluis_file_read(&out, path, 4096), 0);
	assert_int_equal(out.len, strlen(NOTE));
	assert_memory_equal(out.ptr, NOTE, out.len);
	assert_int_equal(history_len(d), 4);
	kluis_buf_dispose(&meta);
	kluis_buf_dispose(&out);
	kluis_dossier_free(d);
	kluis_vault_free(v);
}

static void test_show_refusals(void **state)
{
	kluis_vault *vk = open_as(g_klant), *vx = open_as(OUTSIDER);
	kluis_dossier *dk = open_dossier(vk), *dx = open_dossier(vx);
	kluis_buf meta = KLUIS_SECRET_BUF_INIT, body = KLUIS_SECRET_BUF_INIT;
	char missing[KLUIS_ENTRY_ID_LEN + 1];
	size_t n = history_len(dk);

	kluis_error_clear();
	assert_error(kluis_entry_show(dx, g_entry, "inzage", &meta, -1, false, &body), KLUIS_EACCESS,
		     "holds no role in this dossier; only the klant, medewerker, directie or opdrachtgever may access");
	assert_error(kluis_entry_show(dk, g_entry, "Because I want to", &meta, -1, false, &body), KLUIS_EINVAL, "--purpose");
	assert_error(kluis_entry_show(dk, g_entry, "", &meta, -1, false, &body), KLUIS_EINVAL, "--purpose");
	assert_error(kluis_entry_show(dk, g_entry, NULL, &meta, -1, false, &body), KLUIS_EINVAL, "--purpose");
	assert_error(kluis_entry_show(dk, "../../etc/passwd", "inzage", &meta, -1, false, &body), KLUIS_EINVAL, "is not an entry id");
	snprintf(missing, sizeof(missing), "%s", g_entry);
	missing[KLUIS_ENTRY_ID_LEN - 1] = missing[KLUIS_ENTRY_ID_LEN - 1] == '0' ? '1' : '0';
	assert_error(kluis_entry_show(dk, missing, "inzage", &meta, -1, false, &body), KLUIS_ENOTFOUND, missing);
	/* no plaintext handed out, and no access recorded for any of these */
	assert_int_equal(meta.len, 0);
	assert_int_equal(body.len, 0);
	assert_int_equal(history_len(dk), n);
	kluis_buf_dispose(&meta);
	kluis_buf_dispose(&body);
	kluis_dossier_free(dk);
	kluis_dossier_free(dx);
	kluis_vault_free(vk);
	kluis_vault_free(vx);
}

/* ---- status, a second addition, the hook ---- */

static void test_status_and_second_add(void **state)
{
	kluis_vault *v = open_as(g_dir);
	kluis_dossier *d = open_dossier(v);
	kluis_dossier_status st;
	kluis_entry_input in[2];
	char ids[2][KLUIS_ENTRY_ID_LEN + 1], hookpath[256], *args;
	kluis_hook_run_result ran;
	kluis_hook_pending *pending;
	size_t npending;
	git_oid head;

	CHECK(kluis_dossier_status_get(d, &st));
	assert_string_equal(st.state, "open");
	assert_int_equal(st.entries, 1);
	assert_int_equal(st.retention_years, 2);
	assert_int_equal(st.closed, 0);
	assert_true(st.created > 1700000000);
	assert_true(st.last_change >= st.created);
	head_of(&head);
	assert_true(git_oid_equal(&st.head, &head));

	/* a post-add hook hears of the addition, by id only */
	snprintf(hookpath, sizeof(hookpath), "%s/hooks", g_vault);
	assert_int_equal(kluis_mkdir_p(hookpath), 0);
	snprintf(hookpath, sizeof(hookpath), "%s/hooks/post-add", g_vault);
	assert_int_equal(run("printf '#!/bin/sh\\necho \"$@\" > %s/hook.args\\nexit 3\\n' > %s && chmod 700 %s", g_root,
			     hookpath, hookpath), 0);
	/* the directie adds two entries in one commit */
	in[0] = text_input("tweede notitie\n");
	in[0].kind = "contact";
	in[0].origin = "klant";
	in[1] = text_input("derde notitie\n");
	CHECK(kluis_entry_add(d, KLUIS_ACT_ADD, in, 2, ids, NULL, NULL));
	/* the commit queued its event; the run fails (exit 3) and leaves it queued, counted */
	CHECK(kluis_hook_run_queue(g_vault, &ran));
	assert_int_equal(ran.ran, 1);
	assert_int_equal(ran.failed, 1);
	assert_int_equal(ran.status, 3);
	CHECK(kluis_hook_pending_list(g_vault, &pending, &npending));
	assert_int_equal(npending, 1);
	assert_string_equal(pending[0].hook, "post-add");
	assert_string_equal(pending[0].dossier, DOSSIER);
	assert_string_equal(pending[0].action, "add");
	assert_int_equal(pending[0].attempts, 1);
	assert_int_equal(pending[0].status, 3);
	free(pending);
	assert_string_not_equal(ids[0], ids[1]);
	args = capture(NULL, "cat %s/hook.args", g_root);
	assert_non_null(strstr(args, DOSSIER " add "));
	assert_non_null(strstr(args, ids[0]));
	assert_non_null(strstr(args, ids[1]));
	assert_null(strstr(args, "notitie"));
	free(args);
	unlink(hookpath);
	assert_int_equal(run("rm -r %s/hooks/queue", g_vault), 0);

	CHECK(kluis_dossier_status_get(d, &st));
	assert_int_equal(st.entries, 3);
	assert_int_equal(run("git -C %s log -1 --format=%%B main | grep -qx 'Kluis-Kind: mixed'", g_repo), 0);
	assert_int_equal(run("git -C %s log -1 --format=%%B main | grep -c '^Kluis-Entry: ' | grep -qx 2", g_repo), 0);
	kluis_dossier_free(d);
	kluis_vault_free(v);
}

/* ---- what is on disk, checked with stock tools ---- */

static void test_stock_tools_see_ciphertext_only(void **state)
{
	char dir[3], *pointer, *oid, *packets, *plain;
	const char *p;
	size_t rcpts = 0;

	memcpy(dir, g_entry + 17, 2);
	dir[2] = '\0';
	/* the signed tree holds a pointer; the content ref holds the ciphertext it names */
	pointer = capture(NULL, "git -C %s show main:entries/%s/%s/body", g_repo, dir, g_entry);
	assert_int_equal(strncmp(pointer, "kluis-pointer 2\noid ", 20), 0);
	oid = strndup(pointer + 20, 40);
	assert_non_null(oid);
	assert_int_equal(run("git -C %s cat-file -e %s", g_repo, oid), 0);
	/* stock gpg decrypts it to the original bytes (the directie's secret key is here) */
	plain = capture(NULL, "git -C %s cat-file blob %s | gpg --batch --quiet --decrypt 2>/dev/null", g_repo, oid);
	assert_string_equal(plain, NOTE);
	free(plain);
	/* encrypted to every reader: four public-key session keys */
	packets = capture(NULL, "git -C %s cat-file blob %s | gpg --batch --list-packets 2>/dev/null", g_repo, oid);
	for (p = packets; (p = strstr(p, ":pubkey enc packet:")) != NULL; p++)
		rcpts++;
	assert_int_equal(rcpts, 4);
	free(packets);
	/* and the plaintext is in no git object of the dossier */
	assert_int_not_equal(run("git -C %s cat-file --batch-all-objects --batch 2>/dev/null | grep -q marker-7f3e9c", g_repo), 0);
	assert_int_equal(run("git -C %s fsck --no-progress >/dev/null 2>&1", g_repo), 0);
	free(oid);
	free(pointer);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vault_open),
		cmocka_unit_test(test_init_refusals),
		cmocka_unit_test(test_init),
		cmocka_unit_test(test_add_note),
		cmocka_unit_test(test_add_refusals),
		cmocka_unit_test(test_history),
		cmocka_unit_test(test_show_as_klant),
		cmocka_unit_test(test_show_to_fd_as_opdrachtgever),
		cmocka_unit_test(test_show_refusals),
		cmocka_unit_test(test_status_and_second_add),
		cmocka_unit_test(test_stock_tools_see_ciphertext_only),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
