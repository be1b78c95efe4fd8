/*
 * cmd_demo.c - kluis demo: a whole traject, both organisations and an auditor, in one fresh
 * temporary directory with throwaway keys, one step at a time, each explained in a sentence
 * or two and shown as the command a user would type; it ends with the stock-tools check.
 * It runs the real kluis binary (and git, gpg, sqv through sh) for every step. Everything
 * lives under the one directory (the user's GNUPGHOME, KLUIS_VAULT and ~/.cache untouched),
 * which is removed at the end, its gpg-agents stopped, unless --keep DIR is given.
 *
 * Layout under the directory (the shown commands run from it, with relative paths):
 *   organisatie/gnupg, organisatie/vault    the reintegration organisation: the secret keys
 *                                           of directie, medewerker and klant
 *   opdrachtgever/gnupg, opdrachtgever/vault its own organisation: its secret key only
 *   auditor/gnupg                           public keys only, taken from the transfer archive
 */
#include "cli.h"
#include "vault/pgp/crypto.h"
#include "vault/git/gitchild.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char cmd_demo_usage[] =
	"Usage: kluis demo [--keep DIR]\n\n"
	"Run a whole traject in throwaway vaults with throwaway keys, two organisations and an\n"
	"auditor: at the reintegration organisation the directie creates a dossier, the medewerker\n"
	"adds notes and a document, the klant consents to a health note, which is corrected and\n"
	"erased; the klant reads and adds a statement; the dossier is closed and transferred. The\n"
	"opdrachtgever imports it (verified on the way in), an auditor with public keys only\n"
	"verifies it, with kluis and with stock git, gpg and sqv, and at the end of retention it is\n"
	"destroyed with a signed verklaring van vernietiging. Each step prints the command it runs.\n"
	"With --keep DIR everything stays in DIR (new directory) for you to explore.\n";

/* the acting keys (the auditor, who signs nothing, names no key: verify resolves no --as) */
enum { KLANT, MEDEWERKER, DIRECTIE, OPDRACHTGEVER, AUDITOR, TOOL = -1 };
static const char *const names[] = { "klant", "medewerker", "directie", "opdrachtgever", "auditor" };
/* where a step runs: whose GNUPGHOME and vault */
enum { AT_ORG, AT_OPDR, AT_AUDITOR };
static const char *const places[] = { "organisatie", "opdrachtgever", "auditor" };
/* the entry ids a later step names ("@note", "@health") */
enum { NO_SLOT = -1, S_NOTE, S_HEALTH, N_SLOTS };

const cli_option cmd_demo_options[] = {
	{ "keep", 0, "DIR", 0, "keep the vault and the keys in DIR (a new directory)" },
	{ NULL, 0, NULL, 0, NULL },
};

struct demo {
	char self[PATH_MAX];
	char *base;
	char fpr[5][41];
	char id[N_SLOTS][64];
};

/* Run kluis with args as `who`; capture the first line of stdout into `capture` if given. */
static int run(struct demo *dm, int who, const char *explain, const char *const *args, char *capture, size_t caplen, bool expect_fail)
{
	const char *argv[16];
	kluis_buf out = KLUIS_BUF_INIT;
	int status, i, n = 0, rc;

	printf("\n%s\n  $ kluis", explain);
	for (i = 0; args[i]; i++)
		printf(" %s%s%s", strchr(args[i], ' ') ? "'" : "", args[i], strchr(args[i], ' ') ? "'" : "");
	printf("   (as the %s)\n", names[who]);
	fflush(stdout);
	argv[n++] = "kluis";
	argv[n++] = "--as";
	argv[n++] = dm->fpr[who];
	for (i = 0; args[i] && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	rc = kluis_child_run(&(struct kluis_child){ .file = dm->self, .argv = argv, .out = capture ? &out : NULL }, &status);
	if (rc == 0 && capture) {
		snprintf(capture, caplen, "%.*s", (int)strcspn((const char *)out.ptr, "\n"), (const char *)out.ptr);
		printf("  %s\n", capture);
	}
	kluis_buf_dispose(&out);
	if (rc < 0)
		return -1;
	if (expect_fail)
		return status != 0 ? 0 : -1;
	return status == 0 ? 0 : -1;
}

static void kill_agent(const char *home)
{
	const char *argv[] = { "gpgconf", "--homedir", home, "--kill", "all", NULL };
	int status;

	(void)kluis_child_run(&(struct kluis_child){ .file = "gpgconf", .argv = argv }, &status);
}

/*
 * The traject as data: where each step runs, as whom, what it shows. A step whose `who` is
 * TOOL runs the shell lines in args[0] (git, gpg, sqv, tar: what any user has), each printed
 * as typed; otherwise args are kluis's, "@name" standing for a key's fingerprint or an id an
 * earlier step printed. A heading opens each part of the traject.
 */
struct step {
	const char *heading;   /* a new part of the traject begins here */
	int at, who, keep;     /* AT_*, the acting key (or TOOL), the slot for the first output line */
	bool refused;          /* kluis must refuse this one */
	const char *need;      /* the stock tool a TOOL step needs on PATH */
	const char *explain;
	const char *args[13];  /* run() passes at most 12 */
};

#define DOSSIER_REPO "opdrachtgever/vault/dossiers/demo-0001.git"

static const struct step traject[] = {
	{ "At the reintegration organisation (organisatie/: the directie, the medewerker and the klant)",
	  AT_ORG, TOOL, NO_SLOT, false, "gpg",
	  "The opdrachtgever gives the organisation its public key; its secret key stays in its own\n"
	  "GNUPGHOME. (The klant's key is kept at the organisation in this demo.)",
	  { "gpg --homedir opdrachtgever/gnupg --export --armor | gpg --homedir organisatie/gnupg --import" } },
	{ NULL, AT_ORG, DIRECTIE, NO_SLOT, false, NULL,
	  "The directie creates the dossier. The id is pseudonymous; the four keys are the only\n"
	  "readers, and the traject text is stored encrypted.",
	  { "init", "demo-0001", "--klant", "@klant", "--medewerker", "@medewerker", "--directie", "@directie",
	    "--opdrachtgever", "@opdrachtgever", "--traject", "Re-integratie tweede spoor" } },
	{ NULL, AT_ORG, MEDEWERKER, S_NOTE, false, NULL,
	  "The medewerker records the intake (a formal contact, W4b) with its origin (W5a): encrypted\n"
	  "to all four readers and committed, signed by the medewerker.",
	  { "add", "demo-0001", "--kind", "contact", "--origin", "klant", "--title", "Intake", "-m",
	    "Intakegesprek: klant wil terug naar logistiek werk, 24 uur per week." } },
	{ NULL, AT_ORG, MEDEWERKER, NO_SLOT, false, NULL,
	  "A document: the plan van aanpak, kept byte for byte (gpg --decrypt gives the file).",
	  { "add", "demo-0001", "--kind", "plan", "--file", "plan-van-aanpak.txt" } },
	{ NULL, AT_ORG, KLANT, NO_SLOT, false, NULL,
	  "The klant consents to a special category of data, health, for one purpose (P8): a signed,\n"
	  "encrypted record. Without --to-opdrachtgever such notes are withheld from the opdrachtgever.",
	  { "consent", "demo-0001", "grant", "--scope", "health", "--purpose", "Re-integratie met medische beperking" } },
	{ NULL, AT_ORG, MEDEWERKER, S_HEALTH, false, NULL,
	  "A note in that special category: kluis takes it only under the klant's consent in force.",
	  { "add", "demo-0001", "--kind", "circumstance", "--origin", "klant", "--special", "health", "-m",
	    "Rugklachten: niet langer dan twee uur achter elkaar staan." } },
	{ NULL, AT_ORG, MEDEWERKER, NO_SLOT, false, NULL,
	  "A correction (P11.1): a new entry that supersedes the intake; both stay, linked.",
	  { "correct", "demo-0001", "@note", "-m", "Intakegesprek: klant wil terug naar logistiek werk, 20 uur per week." } },
	{ NULL, AT_ORG, KLANT, NO_SLOT, false, NULL,
	  "The klant adds an own statement (W6b). Only the klant's key may do this.",
	  { "statement", "demo-0001", "-m", "Ik ben het eens met het plan, maar wil liever in de ochtend werken." } },
	{ NULL, AT_ORG, KLANT, NO_SLOT, true, NULL,
	  "The klant may add statements, not notes: kluis refuses, and nothing is written.",
	  { "add", "demo-0001", "-m", "Een notitie van de klant." } },
	{ NULL, AT_ORG, KLANT, NO_SLOT, false, NULL,
	  "The klant reads the intake note. The read itself is logged, signed, with its purpose.",
	  { "show", "demo-0001", "@note", "--purpose", "inzage" } },
	{ NULL, AT_ORG, DIRECTIE, NO_SLOT, false, NULL,
	  "The klant asks for the health note to be erased (P11.2): the directie removes its\n"
	  "ciphertext from the repository; a signed erase record names what went, and keeps the\n"
	  "reason encrypted.",
	  { "erase", "demo-0001", "@health", "--reason", "Verzoek van de klant" } },
	{ NULL, AT_ORG, KLANT, NO_SLOT, false, NULL,
	  "The log: every entry, the correction, the erasure and every read, from the signed commit\n"
	  "metadata, with nothing decrypted (W6b: the klant always knows what was added).",
	  { "log", "demo-0001" } },
	{ NULL, AT_ORG, MEDEWERKER, NO_SLOT, false, NULL,
	  "The traject ends: a signed close. From now on only the klant's statements and reads.",
	  { "close", "demo-0001" } },
	{ NULL, AT_ORG, DIRECTIE, NO_SLOT, false, NULL,
	  "The overdracht (W7): a transfer archive for the opdrachtgever (git bundle, signed manifest,\n"
	  "public keys). kluis reads it back and verifies it; only then is the local copy destroyed.",
	  { "transfer", "demo-0001", "--out", "demo-0001.tgz" } },
	{ NULL, AT_ORG, DIRECTIE, NO_SLOT, false, NULL,
	  "The organisation's ledger: the creation, the transfer and the destruction of the local\n"
	  "copy, each a signed record, with the verklaring van vernietiging of that copy.",
	  { "ledger", "show", "demo-0001" } },
	{ "At the opdrachtgever (opdrachtgever/: its own vault, its own key and nothing else)",
	  AT_OPDR, OPDRACHTGEVER, NO_SLOT, false, NULL,
	  "The opdrachtgever imports the archive. Nothing is taken in unless the manifest's signature,\n"
	  "the bundle and the whole signed history verify from the organisation's trust root (its\n"
	  "directie key, learnt from them directly). It writes a signed receipt.",
	  { "import", "demo-0001.tgz", "--trust", "@directie" } },
	{ NULL, AT_OPDR, OPDRACHTGEVER, NO_SLOT, true, NULL,
	  "The opdrachtgever now keeps the dossier and answers the klant (W7), but adds no notes:\n"
	  "kluis refuses.",
	  { "add", "demo-0001", "-m", "Een notitie van de opdrachtgever." } },
	{ NULL, AT_OPDR, OPDRACHTGEVER, NO_SLOT, false, NULL,
	  "The retention deadline: ten years from the import (W7).",
	  { "retention" } },
	{ "Back at the organisation", AT_ORG, DIRECTIE, NO_SLOT, false, NULL,
	  "The opdrachtgever's signed receipt goes into the organisation's ledger, checked against\n"
	  "its transfer record: the handover is on record at both ends.",
	  { "ledger", "receipt", "demo-0001.tgz.receipt" } },
	{ "The auditor (auditor/: public keys only)", AT_AUDITOR, TOOL, NO_SLOT, false, "gpg",
	  "The auditor takes the public keys from the archive (keys/) and holds no secret key.",
	  { "tar -xzOf demo-0001.tgz --wildcards 'keys/*' | gpg --import\n"
	    "echo \"secret keys: $(gpg --list-secret-keys --with-colons | grep -c '^sec' || true)\"" } },
	{ NULL, AT_AUDITOR, AUDITOR, NO_SLOT, false, NULL,
	  "The auditor verifies the opdrachtgever's copy with public keys only: every commit signed by\n"
	  "a key whose role allowed it, every entry encrypted to exactly its readers, the erasure\n"
	  "signed, the read log unbroken, the transfer and the import in order.",
	  { "verify", "demo-0001", "--trust", "@directie" } },
	{ "The stock-tools check (no kluis: git, gpg and Sequoia's sqv)", AT_AUDITOR, TOOL, NO_SLOT, false, "git",
	  "The dossier is an ordinary bare git repository and every change a signed commit: stock git\n"
	  "checks the head's signature with the auditor's keys (gpg's WARNING says only that the\n"
	  "auditor has not certified these keys itself).",
	  { "R=" DOSSIER_REPO "\ngit -C $R verify-commit main" } },
	{ NULL, AT_AUDITOR, TOOL, NO_SLOT, false, "git",
	  "Every commit of the history and of the read log with git's verdict on its signature (%G?:\n"
	  "G good; U good, by a key the auditor has not certified itself; B bad; N unsigned).",
	  { "git -C $R log --format='%h %G? %an: %s' main refs/kluis/access" } },
	{ NULL, AT_AUDITOR, TOOL, NO_SLOT, false, "sqv",
	  "A second OpenPGP implementation, Sequoia's sqv, checks the head's signature over the commit\n"
	  "as git signed it (the commit without its gpgsig header); it prints the signing key.",
	  { "git -C $R cat-file commit main >auditor/head.commit\n"
	    "awk '/^gpgsig /{s=1; print substr($0, 8); next} s && /^ /{print substr($0, 2); next} {s=0}' auditor/head.commit >auditor/head.sig\n"
	    "awk '/^gpgsig /{s=1; next} s && /^ /{next} {s=0; print}' auditor/head.commit >auditor/head.txt\n"
	    "gpg --export >auditor/keys.pgp\n"
	    "sqv --keyring auditor/keys.pgp auditor/head.sig auditor/head.txt" } },
	{ "The end of retention (at the opdrachtgever)", AT_OPDR, OPDRACHTGEVER, NO_SLOT, false, NULL,
	  "Ten years on, the opdrachtgever destroys the dossier. The demo cannot wait ten years, so it\n"
	  "destroys now with --force, which the record and the verklaring say (after the deadline,\n"
	  "'kluis retention --due' lists the dossier and destroy needs no --force).",
	  { "destroy", "demo-0001", "--reason", "Einde bewaartermijn", "--force", "--certificate", "verklaring-demo-0001.txt" } },
	{ NULL, AT_AUDITOR, TOOL, NO_SLOT, false, "gpg",
	  "The verklaring van vernietiging (Archiefbesluit art. 8): a standalone document with no\n"
	  "personal data, signed; the auditor checks it with stock gpg.",
	  { "cat verklaring-demo-0001.txt\ngpg --verify verklaring-demo-0001.txt.asc verklaring-demo-0001.txt" } },
};

/* Is `name` an executable on PATH? */
static bool on_path(const char *name)
{
	const char *path = getenv("PATH"), *p, *end;
	char file[PATH_MAX];

	for (p = path ? path : ""; *p; p = *end ? end + 1 : end) {
		end = p + strcspn(p, ":");
		if (end > p && snprintf(file, sizeof(file), "%.*s/%s", (int)(end - p), p, name) < (int)sizeof(file) &&
		    access(file, X_OK) == 0)
			return true;
	}
	return false;
}

/* Run a TOOL step's shell lines (sh -e: the first failing line fails the step). */
static int tool(const char *lines)
{
	const char *argv[] = { "sh", "-ec", lines, NULL };
	int status;

	fflush(stdout);
	if (kluis_child_run(&(struct kluis_child){ .file = "/bin/sh", .argv = argv }, &status) < 0)
		return -1;
	return status == 0 ? 0 : -1;
}

/* Point GNUPGHOME and KLUIS_VAULT at the place a step runs (the auditor reads the
 * opdrachtgever's vault) and say so as the user would type it. */
static int go_to(const struct demo *dm, int at)
{
	char home[PATH_MAX], vault[PATH_MAX];
	const char *v = places[at == AT_AUDITOR ? AT_OPDR : at];

	if (snprintf(home, sizeof(home), "%s/%s/gnupg", dm->base, places[at]) >= (int)sizeof(home) ||
	    snprintf(vault, sizeof(vault), "%s/%s/vault", dm->base, v) >= (int)sizeof(vault))
		return -1;
	setenv("GNUPGHOME", home, 1);
	setenv("KLUIS_VAULT", vault, 1);
	printf("  $ export GNUPGHOME=$PWD/%s/gnupg KLUIS_VAULT=$PWD/%s/vault\n", places[at], v);
	return 0;
}

/* "@klant" .. "@opdrachtgever": a fingerprint; "@note", "@health": an id kept earlier. */
static const char *expand(const struct demo *dm, const char *arg)
{
	static const char *const slots[] = { "note", "health" };
	int i;

	if (arg[0] != '@')
		return arg;
	for (i = 0; i < 4; i++)
		if (!strcmp(arg + 1, names[i]))
			return dm->fpr[i];
	for (i = 0; i < N_SLOTS; i++)
		if (!strcmp(arg + 1, slots[i]))
			return dm->id[i];
	return arg;
}

static int step(struct demo *dm, const struct step *st, int n)
{
	char explain[1024], *o = explain;
	const char *args[16], *p;
	int i, indent;

	indent = snprintf(explain, 16, "%d. ", n);
	o += indent;
	for (p = st->explain; *p && o < explain + sizeof(explain) - 8; p++) { /* "N. " and the rest under it */
		*o++ = *p;
		if (*p == '\n')
			o += snprintf(o, 8, "%*s", indent, "");
	}
	*o = '\0';
	if (st->who != TOOL) {
		for (i = 0; st->args[i]; i++)
			args[i] = expand(dm, st->args[i]);
		args[i] = NULL;
		return run(dm, st->who, explain, args, st->keep == NO_SLOT ? NULL : dm->id[st->keep],
			   sizeof(dm->id[0]), st->refused);
	}
	printf("\n%s\n", explain);
	for (p = st->args[0]; *p; p += strcspn(p, "\n") + (p[strcspn(p, "\n")] == '\n'))
		printf("  $ %.*s\n", (int)strcspn(p, "\n"), p);
	if (!on_path(st->need)) {
		printf("  (skipped: %s is not installed%s)\n", st->need,
		       strcmp(st->need, "sqv") ? "" : "; on Debian: apt install sqv");
		return 0;
	}
	return tool(st->args[0]);
}

/* The whole traject, from the directory dm->base (the commands name paths relative to it). */
static int steps(struct demo *dm)
{
	FILE *f;
	size_t i;
	int at = -1, rc = 0;

	if (!(f = fopen("plan-van-aanpak.txt", "w")))
		return -1;
	fputs("Plan van aanpak (demo)\n1. Sollicitatietraining\n2. Werkervaringsplek in de logistiek\n", f);
	fclose(f);
	setenv("R", DOSSIER_REPO, 1); /* the stock-tools steps' $R, set in the first of them */
	for (i = 0; i < sizeof(traject) / sizeof(traject[0]) && rc == 0; i++) {
		if (traject[i].heading)
			printf("\n== %s ==\n", traject[i].heading);
		if (traject[i].at != at && (rc = go_to(dm, at = traject[i].at)) < 0)
			break;
		rc = step(dm, &traject[i], (int)i + 1);
	}
	unlink("plan-van-aanpak.txt"); /* the demo's plaintext source is not left behind */
	return rc;
}

/* The directories, the environment (nothing of the user's: GNUPGHOME, KLUIS_VAULT, KLUIS_KEY,
 * ~/.cache) and the throwaway keys, each made in its organisation's GNUPGHOME. */
static int setup(struct demo *dm)
{
	static const char *const dirs[] = { "organisatie/gnupg", "opdrachtgever/gnupg", "auditor/gnupg", "cache" };
	static const int org[] = { AT_ORG, AT_ORG, AT_ORG, AT_OPDR }; /* whose key is whose */
	char uid[128], home[PATH_MAX];
	size_t i;
	int err;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if ((err = kluis_mkdir_p(dirs[i])) < 0)
			return err;
	snprintf(home, sizeof(home), "%s/cache", dm->base);
	setenv("XDG_CACHE_HOME", home, 1); /* verify's replay state stays here too */
	unsetenv("KLUIS_KEY");
	setenv("GIT_PAGER", "cat", 1); /* git log on a terminal would stop the demo in less */
	if ((err = kluis_crypto_init(false)) < 0)
		return err;
	printf("kluis demo: a whole traject, two organisations and an auditor, all in %s\n"
	       "  $ cd %s\n\n"
	       "0. Throwaway keys (ed25519 signing, cv25519 encryption, no passphrase), each in the\n"
	       "   GNUPGHOME of its organisation:\n", dm->base, dm->base);
	for (i = 0; i < 4; i++) {
		snprintf(home, sizeof(home), "%s/%s/gnupg", dm->base, places[org[i]]);
		setenv("GNUPGHOME", home, 1);
		snprintf(uid, sizeof(uid), "%s (kluis demo) <%s@demo.invalid>", names[i], names[i]);
		if ((err = kluis_crypto_make_key(uid, dm->fpr[i])) < 0)
			return err;
		printf("   %-14s %s  %s/gnupg\n", names[i], dm->fpr[i], places[org[i]]);
	}
	snprintf(dm->fpr[AUDITOR], sizeof(dm->fpr[AUDITOR]), "auditor");
	return 0;
}

int cmd_demo(kluis_cli *cli, int argc, char **argv)
{
	struct demo dm;
	const char *keep = cli_str(cli, "keep");
	char tmpl[] = "/tmp/kluis-demo.XXXXXX", *base = NULL;
	ssize_t len;
	int i, cwd = -1, rc = CLI_OK, err = 0;

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
	dm.base = base;
	cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (chdir(base) < 0 || (err = setup(&dm)) < 0) {
		rc = err < 0 ? err : kluis_error_set(KLUIS_EGENERIC, "cannot enter %s: %s", base, strerror(errno));
		goto cleanup;
	}
	if (steps(&dm) < 0) {
		fprintf(stderr, "kluis: the demo stopped at a failing step (see above)\n");
		rc = CLI_FAILED;
		goto cleanup;
	}
	if (keep)
		printf("\nDone. Everything is kept in %s; there, as each party:\n"
		       "  $ cd %s\n"
		       "  $ export GNUPGHOME=$PWD/organisatie/gnupg KLUIS_VAULT=$PWD/organisatie/vault      # the organisatie\n"
		       "  $ kluis --as directie ledger show                   # (--as medewerker, --as klant)\n"
		       "  $ export GNUPGHOME=$PWD/opdrachtgever/gnupg KLUIS_VAULT=$PWD/opdrachtgever/vault  # the opdrachtgever\n"
		       "  $ export GNUPGHOME=$PWD/auditor/gnupg KLUIS_VAULT=$PWD/opdrachtgever/vault        # the auditor\n"
		       "The dossier itself was destroyed at the end; to look into it, import the archive again,\n"
		       "as the opdrachtgever, into a new vault:\n"
		       "  $ GNUPGHOME=$PWD/opdrachtgever/gnupg kluis --vault $PWD/verken import demo-0001.tgz \\\n"
		       "        --trust %s --receipt verken.receipt\n",
		       base, base, dm.fpr[DIRECTIE]);
	else
		printf("\nDone. The throwaway vaults and keys are removed now (use --keep DIR to explore them).\n");
cleanup:
	if (cwd >= 0) {
		if (fchdir(cwd) < 0)
			cli_warn("cannot return to the directory the demo started in");
		close(cwd);
	}
	for (i = 0; base && i < 3; i++) {
		char home[PATH_MAX];
		snprintf(home, sizeof(home), "%s/%s/gnupg", base, places[i]);
		kill_agent(home);
	}
	if (!keep && base)
		kluis_rm_rf(base);
	free(base);
	return rc;
}
