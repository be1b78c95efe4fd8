/*
 * main.c - kluis: the command table, global options and dispatch.
 *
 * Global options work before or after the command name: here before it (getopt stops at the
 * command), and inside each command through CLI_GLOBAL_OPTIONS.
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

static const struct {
	const char *name;
	cli_command_fn fn;
	const char *help;
} commands[] = {
	{ "init", cmd_init, "create a dossier for one klant's traject" },
	{ "add", cmd_add, "add entries (notes, contacts, documents, ...) to a dossier" },
	{ "statement", cmd_statement, "the klant's own statement (W6b)" },
	{ "log", cmd_log, "every entry and event, from commit metadata; no decryption" },
	{ "show", cmd_show, "decrypt one entry (the read is logged)" },
	{ "correct", cmd_correct, "a correction that supersedes an entry (P11.1)" },
	{ "approve", cmd_approve, "the klant's signed approval of a plan or report" },
	{ "consent", cmd_consent, "grant or withdraw consent (W5b, P4, P7.2, P8)" },
	{ "erase", cmd_erase, "erase an entry's ciphertext for good, with a signed record (P11.2)" },
	{ "roles", cmd_roles, "show or change who may read; entries are re-encrypted" },
	{ "request", cmd_request, "the klant's requests and their four-week deadlines (P10, P11)" },
	{ "breach", cmd_breach, "the data-breach register with its 72-hour deadline (P15)" },
	{ "list", cmd_list, "dossiers with state, entry count, last change" },
	{ "verify", cmd_verify, "check the signed history (invariants 1-7) with public keys only" },
	{ "audit", cmd_audit, "the audit trail: who did what when, reads included" },
	{ "inzage", cmd_inzage, "the klant's access report (P10): text, JSON or one HTML page" },
	{ "export", cmd_export, "the klant's data as a zip: index.json plus every entry (P12)" },
	{ "checkpoint", cmd_checkpoint, "a signed checkpoint of a dossier for a witness" },
	{ "close", cmd_close, "end of traject: only statements and reads afterwards" },
	{ "transfer", cmd_transfer, "signed archive for the opdrachtgever; local copy destroyed" },
	{ "import", cmd_import, "the opdrachtgever verifies and takes in a transferred dossier" },
	{ "retention", cmd_retention, "retention deadlines per dossier (W7, P13)" },
	{ "destroy", cmd_destroy, "destroy at the end of retention, with a verklaring van vernietiging" },
	{ "ledger", cmd_ledger, "the vault's lifecycle events and destruction certificates" },
	{ "push", cmd_push, "send a verified dossier to the central git server" },
	{ "pull", cmd_pull, "fetch a dossier from the server; verified before anything moves" },
	{ "hook", cmd_hook, "the server's pre-receive check (hooks/pre-receive runs it)" },
	{ "demo", cmd_demo, "a whole small traject in a throwaway vault, step by step" },
};

static void print_help(void)
{
	size_t i;

	printf("kluis %s - a secure dossier vault for reintegration and job-coaching trajecten\n\n"
	       "Usage: kluis [--vault DIR] [--as FPR] [--json] COMMAND [ARGS]\n\nCommands:\n", KLUIS_VERSION);
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		printf("  %-10s %s\n", commands[i].name, commands[i].help);
	printf("\nEvery dossier is a git repository of OpenPGP-encrypted entries; every change is a signed\n"
	       "commit. 'kluis COMMAND --help' explains a command; 'kluis demo' shows a whole traject.\n\n"
	       "Global options (before or after the command):\n"
	       "  --vault DIR   the vault (else $KLUIS_VAULT, else ~/.local/share/kluis)\n"
	       "  --as FPR      act as this key (else $KLUIS_KEY, else the only secret key in GNUPGHOME)\n"
	       "  --json        machine-readable output on stdout\n"
	       "  --help, --version\n\n"
	       "Exit codes: 0 done, 1 the operation or a verification failed, 2 usage or input error.\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = { CLI_GLOBAL_OPTIONS, { NULL, 0, NULL, 0 } };
	kluis_cli cli;
	const char *env, *home;
	size_t i;
	int c, rc;

	umask(077);
	memset(&cli, 0, sizeof(cli));
	while ((c = cli_getopt(argc, argv, "+h", opts)) != -1) {
		if (c == OPT_VERSION) {
			printf("kluis %s\n", KLUIS_VERSION);
			return CLI_OK;
		}
		if (!cli_global_option(&cli, c, optarg))
			return cli_bad_option(&cli, argc, argv);
	}
	if (optind >= argc) {
		if (cli.help) {
			print_help();
			return CLI_OK;
		}
		fputs("kluis: no command given ('kluis --help' lists the commands, 'kluis demo' shows a whole traject)\n", stderr);
		return CLI_USAGE;
	}
	cli.command = argv[optind];
	if (strcmp(cli.command, "help") == 0) {
		print_help();
		return CLI_OK;
	}
	env = getenv("KLUIS_VAULT");
	home = getenv("HOME");
	if (env && *env)
		cli.vault_dir = env;
	else if (asprintf(&cli.default_vault, "%s/.local/share/kluis", home ? home : "") > 0)
		cli.vault_dir = cli.default_vault;
	/* --vault given before the command overrides the environment */
	optind = 1;
	while ((c = cli_getopt(argc, argv, "+h", opts)) != -1)
		cli_global_option(&cli, c, optarg);
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, cli.command) == 0)
			break;
	if (i == sizeof(commands) / sizeof(commands[0])) {
		cli.command = NULL;
		rc = cli_usage_error(&cli, "unknown command '%s'", argv[optind]);
		free(cli.default_vault);
		return rc;
	}
	{
		int sub = optind;
		optind = 0; /* the command's own getopt loop starts afresh */
		rc = commands[i].fn(&cli, argc - sub, argv + sub);
	}
	free(cli.default_vault);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fputs("kluis: cannot write the output\n", stderr);
		rc = CLI_FAILED;
	}
	return rc;
}
