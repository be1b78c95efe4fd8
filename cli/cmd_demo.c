/*
 * cmd_demo.c - kluis demo: a whole small traject in a fresh temporary vault with throwaway
 * keys in a temporary GNUPGHOME, one step at a time, each explained in a sentence and shown as
 * the command a user would type. It runs the real kluis binary for every step and removes
 * everything afterwards unless --keep DIR is given.
 */
#include "cli.h"
#include "vault/crypto.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

const char cmd_demo_usage[] =
	"Usage: kluis demo [--keep DIR]\n\n"
	"Run a whole small traject in a throwaway vault with throwaway keys: the directie creates a\n"
	"dossier, the medewerker adds notes and a document, the klant reads and adds a statement,\n"
	"an outsider is refused, the log shows it all and an auditor verifies the signed history.\n"
	"Each step prints the command it runs.\n"
	"With --keep DIR the vault and the keys stay in DIR (new directory) for you to explore.\n";

const cli_option cmd_demo_options[] = {
	{ "keep", 0, "DIR", 0, "keep the vault and the keys in DIR (a new directory)" },
	{ NULL, 0, NULL, 0, NULL },
};

struct demo {
	char self[PATH_MAX];
	char *home, *vault;
	char fpr[4][41];
	char note[KLUIS_ENTRY_ID_LEN + 1];
};

enum { KLANT, MEDEWERKER, DIRECTIE, OPDRACHTGEVER };
static const char *const names[] = { "klant", "medewerker", "directie", "opdrachtgever" };

/* Run kluis with args as `who`; capture the first line of stdout into `capture` if given. */
static int run(struct demo *dm, int who, const char *explain, const char *const *args, char *capture, size_t caplen, bool expect_fail)
{
	char *argv[16];
	int pipefd[2] = { -1, -1 }, status, i, n = 0;
	pid_t pid;

	printf("\n%s\n  $ kluis", explain);
	for (i = 0; args[i]; i++)
		printf(" %s%s%s", strchr(args[i], ' ') ? "'" : "", args[i], strchr(args[i], ' ') ? "'" : "");
	printf("   (as the %s)\n", names[who]);
	fflush(stdout);
	argv[n++] = "kluis";
	argv[n++] = "--as";
	argv[n++] = dm->fpr[who];
	for (i = 0; args[i] && n < 15; i++)
		argv[n++] = (char *)args[i];
	argv[n] = NULL;
	if (capture && pipe(pipefd) < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (capture) {
			dup2(pipefd[1], STDOUT_FILENO);
			close(pipefd[0]);
			close(pipefd[1]);
		}
		execv(dm->self, argv);
		_exit(127);
	}
	if (capture) {
		ssize_t got;
		close(pipefd[1]);
		got = read(pipefd[0], capture, caplen - 1);
		capture[got > 0 ? got : 0] = '\0';
		capture[strcspn(capture, "\n")] = '\0';
		close(pipefd[0]);
		printf("  %s\n", capture);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	status = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
	if (expect_fail)
		return status != 0 ? 0 : -1;
	return status == 0 ? 0 : -1;
}

static void kill_agent(const char *home)
{
	pid_t pid = fork();

	if (pid == 0) {
		execlp("gpgconf", "gpgconf", "--homedir", home, "--kill", "all", (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

static int steps(struct demo *dm)
{
	char doc[PATH_MAX], docid[64], stmt[64];
	FILE *f;
	const char *init[] = { "init", "demo-0001", "--klant", dm->fpr[KLANT], "--medewerker", dm->fpr[MEDEWERKER],
			       "--directie", dm->fpr[DIRECTIE], "--opdrachtgever", dm->fpr[OPDRACHTGEVER],
			       "--traject", "Re-integratie tweede spoor", NULL };
	const char *note[] = { "add", "demo-0001", "--kind", "contact", "--origin", "klant", "--title", "Intake",
			       "-m", "Intakegesprek: klant wil terug naar logistiek werk, 24 uur per week.", NULL };
	const char *add_doc[] = { "add", "demo-0001", "--kind", "plan", "--file", doc, NULL };
	const char *statement[] = { "statement", "demo-0001", "-m", "Ik ben het eens met het plan, maar wil liever in de ochtend werken.", NULL };
	const char *outsider[] = { "add", "demo-0001", "-m", "De opdrachtgever mag niets toevoegen.", NULL };
	const char *show[] = { "show", "demo-0001", dm->note, "--purpose", "inzage", NULL };
	const char *log[] = { "log", "demo-0001", NULL };
	const char *list[] = { "list", NULL };
	const char *verify[] = { "verify", "demo-0001", NULL };

	snprintf(doc, sizeof(doc), "%s/plan-van-aanpak.txt", dm->home);
	if (!(f = fopen(doc, "w")))
		return -1;
	fputs("Plan van aanpak (demo)\n1. Sollicitatietraining\n2. Werkervaringsplek in de logistiek\n", f);
	fclose(f);
	if (run(dm, DIRECTIE, "1. The directie creates the dossier. The id is pseudonymous; the four keys are the only\n"
			      "   readers, and the traject text is stored encrypted.", init, NULL, 0, false) < 0 ||
	    run(dm, MEDEWERKER, "2. The medewerker records the intake (a formal contact, W4b) with its origin (W5a). The\n"
				"   note is encrypted to all four readers and committed, signed by the medewerker.",
		note, dm->note, sizeof(dm->note), false) < 0 ||
	    run(dm, MEDEWERKER, "3. A document: the plan van aanpak, kept byte for byte (gpg --decrypt gives the file).",
		add_doc, docid, sizeof(docid), false) < 0)
		return -1;
	unlink(doc); /* the demo's plaintext source is not left behind */
	if (run(dm, KLANT, "4. The klant adds an own statement (W6b). Only the klant's key may do this.", statement, stmt,
		sizeof(stmt), false) < 0 ||
	    run(dm, OPDRACHTGEVER, "5. The opdrachtgever may read but not add: kluis refuses, and nothing is written.", outsider,
		NULL, 0, true) < 0 ||
	    run(dm, KLANT, "6. The klant reads the intake note. The read itself is logged, signed, with its purpose.",
		show, NULL, 0, false) < 0 ||
	    run(dm, KLANT, "7. The log: every entry and every read, from the signed commit metadata, with nothing\n"
			   "   decrypted (W6b: the klant always knows what was added).", log, NULL, 0, false) < 0 ||
	    run(dm, DIRECTIE, "8. An auditor checks the whole signed history with public keys only: every commit\n"
			      "   signed by a key whose role allowed it, every entry encrypted to exactly its readers.",
		verify, NULL, 0, false) < 0 ||
	    run(dm, DIRECTIE, "9. The vault's dossiers.", list, NULL, 0, false) < 0)
		return -1;
	return 0;
}

int cmd_demo(kluis_cli *cli, int argc, char **argv)
{
	struct demo dm;
	const char *keep = cli_str(cli, "keep");
	char tmpl[] = "/tmp/kluis-demo.XXXXXX", uid[128], *base = NULL;
	ssize_t len;
	int i, rc = CLI_OK, err = 0;

	memset(&dm, 0, sizeof(dm));
	len = readlink("/proc/self/exe", dm.self, sizeof(dm.self) - 1);
	if (len <= 0)
		return kluis_error_set(KLUIS_EGENERIC, "cannot find the kluis binary");
	dm.self[len] = '\0';
	if (keep) {
		if (kluis_path_exists(keep))
			return cli_usage_error(cli, "--keep '%s' already exists; give a new directory", keep);
		if ((err = kluis_mkdir_p(keep)) < 0)
			return err;
		base = realpath(keep, NULL);
	} else if (mkdtemp(tmpl)) {
		base = strdup(tmpl);
	}
	if (!base)
		return kluis_error_set(KLUIS_EGENERIC, "cannot make a working directory: %s", strerror(errno));
	dm.home = kluis_path_join(base, "gnupg");
	dm.vault = kluis_path_join(base, "vault");
	if (!dm.home || !dm.vault || (err = kluis_mkdir_p(dm.home)) < 0) {
		rc = dm.home && dm.vault ? err : kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto cleanup;
	}
	setenv("GNUPGHOME", dm.home, 1);
	setenv("KLUIS_VAULT", dm.vault, 1);
	unsetenv("KLUIS_KEY");
	printf("kluis demo: a whole traject in a throwaway vault (%s)\n\n"
	       "0. Throwaway keys for the four readers (ed25519 signing, cv25519 encryption, no passphrase):\n", dm.vault);
	if ((err = kluis_crypto_init(false)) < 0) {
		rc = err;
		goto cleanup;
	}
	for (i = 0; i < 4; i++) {
		snprintf(uid, sizeof(uid), "%s (kluis demo) <%s@demo.invalid>", names[i], names[i]);
		if ((err = kluis_crypto_make_key(uid, dm.fpr[i])) < 0) {
			rc = err;
			goto cleanup;
		}
		printf("   %-14s %s\n", names[i], dm.fpr[i]);
	}
	if (steps(&dm) < 0) {
		fprintf(stderr, "kluis: the demo stopped at a failing step (see above)\n");
		rc = CLI_FAILED;
		goto cleanup;
	}
	if (keep)
		printf("\nDone. The vault and keys are kept:\n  export GNUPGHOME=%s KLUIS_VAULT=%s\n", dm.home, dm.vault);
	else
		printf("\nDone. The throwaway vault and keys are removed now (use --keep DIR to explore them).\n");
cleanup:
	if (dm.home)
		kill_agent(dm.home);
	if (!keep && base)
		kluis_rm_rf(base);
	free(dm.home);
	free(dm.vault);
	free(base);
	return rc;
}
