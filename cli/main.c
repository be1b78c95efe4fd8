/*
 * main.c - kluis: the command table, the option parser and the setup every command shares.
 *
 * Each row says what its command takes and needs (cli.h): main parses the global options and
 * the command's own, wherever they stand on the line (before or after the command name, before
 * or after its arguments; "--" ends them), prints --help from the row (usage text and option
 * table), checks the arity, opens the vault and the dossier the row asks for, runs the command,
 * reports a library error once, runs the vault's queued hooks and closes everything. Process
 * policy lives here: umask 077.
 */
#include "cli.h"
#include "hooks/event.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int cmd_help(kluis_cli *cli, int argc, char **argv);
static int cmd_version(kluis_cli *cli, int argc, char **argv);
static const char cmd_help_usage[] = "Usage: kluis help [COMMAND]\n\nThe list of commands, or what COMMAND does and takes (as 'kluis COMMAND --help').\n";
static const char cmd_version_usage[] = "Usage: kluis version\n\nThe version of kluis (as 'kluis --version' and 'kluis -V').\n";

enum { SIGN = CLI_NEED_SIGN, DOSSIER = CLI_NEED_DOSSIER, VAULT = CLI_NEED_VAULT, CREATE = CLI_NEED_CREATE };
#define ROW(name, options, check, needs, min, max, arity, summary) \
	{ #name, cmd_##name, summary, cmd_##name##_usage, options, needs, min, max, arity, check }
#define CMD(...) ROW(__VA_ARGS__) /* so that ID1 and ID_ENTRY expand first */
#define ID1 1, 1, "takes one dossier ID"
#define ID_ENTRY 2, 2, "takes a dossier ID and an ENTRY id"

static const cli_command commands[] = {
	CMD(init, cmd_init_options, cmd_init_check, VAULT | CREATE | SIGN, 1, 1, "needs one dossier ID",
	    "create a dossier for one klant's traject"),
	CMD(add, cmd_add_options, cmd_add_check, DOSSIER | SIGN, 1, -1, "which dossier? give its ID",
	    "add entries (notes, contacts, documents, ...) to a dossier"),
	CMD(statement, cmd_statement_options, cmd_add_check, DOSSIER | SIGN, 1, -1, "which dossier? give its ID",
	    "the klant's own statement (W6b)"),
	CMD(log, cmd_log_options, cmd_log_check, DOSSIER, ID1, "every entry and event, from commit metadata; no decryption"),
	CMD(show, cmd_show_options, cmd_show_check, DOSSIER | SIGN, ID_ENTRY, "decrypt one entry (the read is logged)"),
	CMD(find, cmd_find_options, cmd_find_check, DOSSIER | SIGN, 1, 2, "takes one dossier ID and, optionally, TEXT", "find entries by title; one read, metadata only"),
	CMD(correct, cmd_add_options, cmd_add_check, DOSSIER | SIGN, 2, -1, "which entry does this correct? give its ENTRY id",
	    "a correction that supersedes an entry (P11.1)"),
	CMD(approve, NULL, NULL, DOSSIER | SIGN, ID_ENTRY, "the klant's signed approval of a plan or report"),
	CMD(consent, cmd_consent_options, cmd_consent_check, DOSSIER | SIGN, 2, 2, "use 'kluis consent ID grant|withdraw --purpose TEXT'",
	    "grant or withdraw consent (W5b, P4, P7.2, P8)"),
	CMD(erase, cmd_erase_options, cmd_erase_check, DOSSIER | SIGN, ID_ENTRY,
	    "erase an entry's ciphertext for good, with a signed record (P11.2)"),
	CMD(roles, cmd_roles_options, cmd_roles_check, DOSSIER, ID1, "show or change who may read; entries are re-encrypted"),
	CMD(request, cmd_request_options, cmd_request_check, DOSSIER | SIGN, 2, 3, "use 'kluis request ID add|done|list'",
	    "the klant's requests and their four-week deadlines (P10, P11)"),
	CMD(breach, cmd_breach_options, cmd_breach_check, VAULT, 1, 2, "use 'kluis breach add|reported|list'",
	    "the data-breach register with its 72-hour deadline (P15)"),
	CMD(list, NULL, NULL, VAULT, 0, 0, "takes no arguments", "dossiers with state, entry count, last change"),
	CMD(verify, cmd_verify_options, cmd_verify_check, 0, 0, -1, NULL, "check the signed history (invariants 1-7) with public keys only"),
	CMD(audit, cmd_audit_options, cmd_audit_check, DOSSIER, ID1, "the audit trail: who did what when, reads included"),
	CMD(inzage, cmd_inzage_options, cmd_inzage_check, DOSSIER | SIGN, ID1, "the klant's access report (P10): text, JSON or one HTML page"),
	CMD(export, cmd_export_options, NULL, DOSSIER | SIGN, ID1, "the klant's data as a zip: index.json plus every entry (P12)"),
	CMD(checkpoint, cmd_checkpoint_options, NULL, DOSSIER, ID1, "a signed checkpoint of a dossier for a witness"),
	CMD(close, NULL, NULL, DOSSIER | SIGN, ID1, "end of traject: only statements and reads afterwards"),
	CMD(transfer, cmd_transfer_options, NULL, VAULT | SIGN, ID1, "signed archive for the opdrachtgever; local copy destroyed"),
	CMD(import, cmd_import_options, cmd_import_check, VAULT | CREATE | SIGN, 1, 1, "takes one archive FILE",
	    "the opdrachtgever verifies and takes in a transferred dossier"),
	CMD(retention, cmd_retention_options, NULL, VAULT, 0, 0, "takes no arguments", "retention deadlines per dossier (W7, P13)"),
	CMD(destroy, cmd_destroy_options, NULL, VAULT | SIGN, ID1, "destroy at the end of retention, with a verklaring van vernietiging"),
	CMD(ledger, cmd_ledger_options, cmd_ledger_check, VAULT, 1, 2, "use 'kluis ledger show [ID]' or 'kluis ledger receipt FILE'",
	    "the vault's lifecycle events and destruction certificates"),
	CMD(push, NULL, NULL, VAULT, 1, 2, "takes a dossier ID and at most one REMOTE", "send a verified dossier to the central git server"),
	CMD(pull, cmd_pull_options, cmd_pull_check, VAULT | CREATE, 1, 2, "takes a dossier ID and at most one REMOTE",
	    "fetch a dossier from the server; verified before anything moves"),
	CMD(sync, cmd_sync_options, cmd_sync_check, VAULT, 0, 2, "takes a dossier ID (and at most one REMOTE), or --all",
	    "pull and push a dossier, or --all of them; both sides' work reconciled"),
	CMD(hook, NULL, NULL, 0, 1, 1, "takes one word: status or pre-receive", "the vault's pending hook events; the server's pre-receive check"),
	CMD(demo, cmd_demo_options, NULL, 0, 0, 0, "takes no arguments", "the whole traject, two organisations and an auditor, in throwaway vaults"),
	CMD(help, NULL, NULL, 0, 0, 1, "takes at most one COMMAND", "this list, or what a command does: kluis help COMMAND"),
	CMD(version, NULL, NULL, 0, 0, 0, "takes no arguments", "the version of kluis"),
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const cli_option global_options[] = {
	{ "vault", 0, "DIR", 0, "the vault (else $KLUIS_VAULT, else ~/.local/share/kluis)" },
	{ "as", 0, "KEY", 0, "act as this key: fingerprint, key id, or part of a name (else $KLUIS_KEY, else the only secret key)" },
	{ "json", 0, NULL, 0, "machine-readable output on stdout" },
	{ "help", 'h', NULL, 0, "what a command does and takes" },
	{ "version", 'V', NULL, 0, "the version" },
	{ NULL, 0, NULL, 0, NULL },
};

/* One line per option, "  -m, --message TEXT   help", the help wrapped at 96 columns. */
static void print_options(const cli_option *o)
{
	char left[40];
	const char *h;
	int col, len;

	for (; o->name; o++) {
		snprintf(left, sizeof(left), "%c%c%c --%s%s%s%s", o->letter ? '-' : ' ', o->letter ? o->letter : ' ', o->letter ? ',' : ' ',
			 o->name, o->arg ? " " : "", o->arg ? o->arg : "", o->flags & CLI_MANY ? "..." : "");
		printf(strlen(left) > 24 ? "  %s\n%28s" : "  %-24s  %s", left, "");
		for (col = 28, h = o->help; *h; h += len + (h[len] == ' ')) {
			len = (int)strcspn(h, " ");
			if (col + len > 96) {
				printf("\n%28s", "");
				col = 28;
			}
			printf("%s%.*s", col > 28 ? " " : "", len, h);
			col += len + 1;
		}
		putchar('\n');
	}
}

static void print_help(void)
{
	size_t i;

	printf("kluis %s - a secure dossier vault for reintegration and job-coaching trajecten\n\n"
	       "Usage: kluis [--vault DIR] [--as KEY] [--json] COMMAND [ARGS]\n\nCommands:\n", KLUIS_VERSION);
	for (i = 0; i < NCOMMANDS; i++)
		printf("  %-10s %s\n", commands[i].name, commands[i].summary);
	printf("\nEvery dossier is a git repository of OpenPGP-encrypted entries; every change is a signed\n"
	       "commit. 'kluis COMMAND --help' explains a command; 'kluis demo' shows a whole traject.\n\n"
	       "Global options (before or after the command):\n");
	print_options(global_options);
	printf("\nExit codes: 0 done, 1 the operation or a verification failed, 2 usage or input error.\n");
}

/* A command's --help: its usage text, then its options, each from its table. */
static void print_usage(const cli_command *c)
{

	fputs(c->usage, stdout);
	if (c->options && c->options->name) {
		fputs("\nOptions:\n", stdout);
		print_options(c->options);
	}
	fputs("\nGlobal options: --vault DIR (else $KLUIS_VAULT, else ~/.local/share/kluis), --as KEY\n"
	      "(else $KLUIS_KEY, else the only secret key), --json, --help, --version.\n"
	      "Exit codes: 0 done, 1 the operation or a verification failed, 2 usage or input error.\n", stdout);
}

/* Levenshtein distance, for "did you mean"; both words are short. */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[32], i, j, prev, next;

	if (lb >= sizeof(row) / sizeof(row[0]))
		return (size_t)-1;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			next = row[j];
			row[j] = a[i - 1] == b[j - 1] ? prev : 1 + (prev < row[j] ? (prev < row[j - 1] ? prev : row[j - 1]) : (row[j] < row[j - 1] ? row[j] : row[j - 1]));
			prev = next;
		}
	}
	return row[lb];
}

static const cli_command *find_command(kluis_cli *cli, const char *name)
{
	const char *best = NULL;
	size_t i, d, best_d = 3; /* at most two edits away */

	for (i = 0; i < NCOMMANDS; i++) {
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
		if ((d = distance(name, commands[i].name)) < best_d && d < strlen(commands[i].name)) {
			best_d = d;
			best = commands[i].name;
		}
	}
	if (best)
		cli_usage_error(cli, "unknown command '%s'; did you mean '%s'?", name, best);
	else
		cli_usage_error(cli, "unknown command '%s'", name);
	return NULL;
}

static const cli_option *find_option(const cli_option *t, const char *name, size_t len, char letter)
{
	for (; t && t->name; t++)
		if (letter ? t->letter == letter : strlen(t->name) == len && strncmp(t->name, name, len) == 0)
			return t;
	return NULL;
}

/* Record option o (the user wrote it as `shown`) with its value (NULL for a flag). */
static int take(kluis_cli *cli, const cli_option *o, const char *value, const char *second, const char *shown, int argc)
{
	size_t k;

	if (o >= global_options && o < global_options + sizeof(global_options) / sizeof(global_options[0])) {
		switch (o->name[0]) {
		case 'v': if (o->name[1] == 'a') cli->vault_dir = value; else cli->version = true; break;
		case 'a': cli->as = value; break;
		case 'j': cli->json = true; break;
		default: cli->help = true;
		}
		return CLI_OK;
	}
	k = (size_t)(o - cli->command->options);
	assert(k < CLI_MAX_OPTIONS); /* a longer table needs a larger CLI_MAX_OPTIONS */
	if (cli->values[k].n && o->arg && !(o->flags & CLI_MANY))
		return cli_usage_error(cli, "%s given twice", shown);
	if (o->arg && !cli->values[k].v && !(cli->values[k].v = calloc((size_t)argc * 2 + 2, sizeof(char *))))
		return cli_fail(kluis_error_set(KLUIS_EGENERIC, "out of memory"));
	if (o->arg)
		cli->values[k].v[cli->values[k].n * (o->flags & CLI_PAIR ? 2 : 1)] = value;
	if (o->flags & CLI_PAIR)
		cli->values[k].v[cli->values[k].n * 2 + 1] = second;
	cli->values[k].n++;
	return CLI_OK;
}

/* One option word at argv[*i] (long or a cluster of short ones); *i moves past its values. */
static int parse_option(kluis_cli *cli, int argc, char **argv, int *i)
{
	const char *word = argv[*i], *value, *second = NULL;
	const cli_option *o;
	char shown[64];
	size_t len;

	if (word[1] == '-') {
		len = strcspn(word + 2, "=");
		o = cli->command ? find_option(cli->command->options, word + 2, len, 0) : NULL;
		if (!o && !(o = find_option(global_options, word + 2, len, 0)))
			return cli_usage_error(cli, "unknown option '%.*s'", (int)(len + 2), word);
		if (!o->arg && word[2 + len])
			return cli_usage_error(cli, "option --%s takes no value", o->name);
		value = word[2 + len] ? word + 3 + len : o->arg && *i + 1 < argc ? argv[++*i] : NULL;
		if (o->arg && !value)
			return cli_usage_error(cli, "option --%s needs a value", o->name);
		if (o->flags & CLI_PAIR && (*i + 1 >= argc || argv[*i + 1][0] == '-'))
			return cli_usage_error(cli, "option --%s takes %s", o->name, o->arg);
		if (o->flags & CLI_PAIR)
			second = argv[++*i];
		snprintf(shown, sizeof(shown), "--%s", o->name);
		return take(cli, o, value, second, shown, argc);
	}
	for (word++; *word; word++) {
		o = cli->command ? find_option(cli->command->options, NULL, 0, *word) : NULL;
		if (!o && !(o = find_option(global_options, NULL, 0, *word)))
			return cli_usage_error(cli, "unknown option -%c", *word);
		snprintf(shown, sizeof(shown), "-%c", *word);
		if (!o->arg) {
			if (take(cli, o, NULL, NULL, shown, argc) != CLI_OK)
				return CLI_USAGE;
			continue;
		}
		value = word[1] ? word + 1 : *i + 1 < argc ? argv[++*i] : NULL;
		if (!value)
			return cli_usage_error(cli, "option -%c needs a value", *word);
		return take(cli, o, value, NULL, shown, argc);
	}
	return CLI_OK;
}

/* Global options, the command name, its options and arguments (into args, *nargs). */
static int parse(kluis_cli *cli, int argc, char **argv, char **args, int *nargs)
{
	bool options = true;
	int i, rc;

	for (i = 1; i < argc; i++) {
		if (options && strcmp(argv[i], "--") == 0)
			options = false;
		else if (options && argv[i][0] == '-' && argv[i][1]) {
			if ((rc = parse_option(cli, argc, argv, &i)) != CLI_OK)
				return rc;
		} else if (cli->command)
			args[(*nargs)++] = argv[i];
		else if (!(cli->command = find_command(cli, argv[i])))
			return CLI_USAGE;
	}
	return CLI_OK;
}

static int setup(kluis_cli *cli, char **args)
{
	unsigned n = cli->needs, flags = 0;
	int err;

	if (!(n & (CLI_NEED_VAULT | CLI_NEED_DOSSIER)))
		return 0;
	flags |= n & CLI_NEED_SIGN ? KLUIS_VAULT_SIGN : 0;
	flags |= n & CLI_NEED_PUBLIC ? KLUIS_VAULT_PUBLIC : 0;
	flags |= n & CLI_NEED_CREATE ? KLUIS_VAULT_CREATE : 0;
	if ((err = kluis_vault_open(&cli->vault, cli->vault_dir, cli->as, flags)) < 0)
		return err;
	return n & CLI_NEED_DOSSIER ? kluis_dossier_open(&cli->dossier, cli->vault, args[0]) : 0;
}

static int dispatch(kluis_cli *cli, int argc, char **argv, char **args)
{
	const cli_command *c;
	const cli_option *o;
	int nargs = 0, rc;

	if ((rc = parse(cli, argc, argv, args, &nargs)) != CLI_OK)
		return rc;
	if (cli->version)
		return cmd_version(cli, 0, NULL);
	if (!cli->command && !cli->help) {
		fputs("kluis: no command given ('kluis --help' lists the commands, 'kluis demo' shows a whole traject)\n", stderr);
		return CLI_USAGE;
	}
	if (!cli->command)
		return cmd_help(cli, 0, NULL);
	c = cli->command;
	if (cli->help) {
		print_usage(c);
		return CLI_OK;
	}
	if (nargs < c->min_args || (c->max_args >= 0 && nargs > c->max_args))
		return strncmp(c->arity, "takes ", 6) && strncmp(c->arity, "needs ", 6) ? cli_usage_error(cli, "%s", c->arity)
										       : cli_usage_error(cli, "%s %s", c->name, c->arity);
	for (o = c->options; o && o->name; o++)
		if (o->flags & CLI_REQUIRED && (!cli_str(cli, o->name) || !*cli_str(cli, o->name)))
			return cli_usage_error(cli, "%s needs --%s %s", c->name, o->name, o->arg);
	cli->needs = c->needs;
	rc = c->check ? c->check(cli, nargs, args) : CLI_OK;
	if (rc == CLI_OK && (rc = setup(cli, args)) == 0)
		rc = c->run(cli, nargs, args);
	return rc < 0 ? cli_fail(rc) : rc;
}

/* Invariant 5: the events of this command's commits, and those a failed hook left queued,
 * reach the vault's hooks now (hooks/event.h). A failure is one warning: the commits stand. */
static void run_hooks(kluis_cli *cli)
{
	kluis_hook_run_result r;

	if (kluis_hook_run_queue(kluis_vault_root(cli->vault), &r) < 0)
		cli_warn("%s", kluis_error_last());
	else if (r.failed)
		cli_warn("the vault's hook failed (last exit status %d) for %zu of %zu events; they stay queued and the next kluis command retries them ('kluis hook status' lists them)",
			 r.status, r.failed, r.ran);
}

static int cmd_help(kluis_cli *cli, int argc, char **argv)
{
	if (argc == 0) {
		print_help();
		return CLI_OK;
	}
	cli->command = NULL;
	if (!(cli->command = find_command(cli, argv[0])))
		return CLI_USAGE;
	print_usage(cli->command);
	return CLI_OK;
}

static int cmd_version(kluis_cli *cli, int argc, char **argv)
{
	printf("kluis %s\n", KLUIS_VERSION);
	return CLI_OK;
}

int main(int argc, char **argv)
{
	kluis_cli cli;
	char **args, *default_vault = NULL;
	const char *env = getenv("KLUIS_VAULT"), *home = getenv("HOME");
	size_t i;
	int rc;

	umask(077);
	memset(&cli, 0, sizeof(cli));
	if (env && *env)
		cli.vault_dir = env;
	else if (asprintf(&default_vault, "%s/.local/share/kluis", home ? home : "") > 0)
		cli.vault_dir = default_vault;
	else
		default_vault = NULL;
	if (!(args = calloc((size_t)argc + 1, sizeof(*args)))) {
		fputs("kluis: out of memory\n", stderr);
		return CLI_FAILED;
	}
	rc = dispatch(&cli, argc, argv, args);
	kluis_dossier_free(cli.dossier);
	if (cli.vault)
		run_hooks(&cli);
	kluis_vault_free(cli.vault);
	for (i = 0; i < CLI_MAX_OPTIONS; i++)
		free(cli.values[i].v);
	free(args);
	free(default_vault);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fputs("kluis: cannot write the output\n", stderr);
		rc = CLI_FAILED;
	}
	return rc;
}
