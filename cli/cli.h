/*
 * cli.h - the command-line front end: global options, the command table, and the helpers
 * every command uses to open the vault, report errors and print JSON.
 *
 * The CLI parses, prints and picks the exit code; the library (vault/) does the work.
 * Exit codes (SPEC): 0 done, 1 the operation or a verification failed, 2 usage or input error.
 */
#ifndef KLUIS_CLI_H
#define KLUIS_CLI_H

#include "vault/vault.h"

#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>

enum { CLI_OK = 0, CLI_FAILED = 1, CLI_USAGE = 2 };

typedef struct {
	const char *vault_dir;   /* --vault, KLUIS_VAULT, ~/.local/share/kluis */
	const char *as;          /* --as */
	bool json;               /* --json */
	bool help;               /* --help (also set by --version, see cli_print_usage) */
	bool version;            /* --version */
	const char *command;
	const char *usage;       /* the running command's usage text */
	char *default_vault;     /* owned */
} kluis_cli;

/* Long option values for the global options, shared by every command's option table. */
enum { OPT_VAULT = 1000, OPT_AS, OPT_JSON, OPT_HELP, OPT_VERSION, OPT_CMD_BASE = 1100 };
#define CLI_GLOBAL_OPTIONS                                                            \
	{ "vault", required_argument, NULL, OPT_VAULT }, { "as", required_argument, NULL, OPT_AS }, \
	{ "json", no_argument, NULL, OPT_JSON }, { "help", no_argument, NULL, 'h' },            \
	{ "version", no_argument, NULL, OPT_VERSION }

/* Handle a global option inside a command's getopt loop; returns true if it was one. */
bool cli_global_option(kluis_cli *cli, int c, const char *arg);
/* getopt_long wrapper: silences getopt's own messages and remembers the option tables, so
 * that cli_bad_option can name the option that was refused. */
int cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts);
/* A usage error: "kluis: <msg>" plus a hint to --help; returns CLI_USAGE. */
int cli_usage_error(kluis_cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The message of getopt's last refusal (unknown option, missing argument) as a usage error. */
int cli_bad_option(kluis_cli *cli, int argc, char **argv);
/* Print the command's usage to stdout (or the version, after --version); returns CLI_OK. */
int cli_print_usage(kluis_cli *cli);
/* Report a library error (one line on stderr) and map its code to the exit status. */
int cli_fail(int err);
/* Print a warning line on stderr. */
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_info(kluis_cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Open the vault; flags KLUIS_VAULT_CREATE, KLUIS_VAULT_SIGN. */
int cli_open_vault(kluis_cli *cli, kluis_vault **v, unsigned flags);
/* Print a JSON value on stdout (takes the reference). */
int cli_print_json(json_t *value);
/* A progress reporter for long work, shown only on a terminal. */
void cli_progress(void *ctx, uint64_t done, uint64_t total);
/* Set an option that may be given only once. */
int cli_once(kluis_cli *cli, const char **slot, const char *value, const char *name);

typedef int (*cli_command_fn)(kluis_cli *cli, int argc, char **argv);

int cmd_init(kluis_cli *cli, int argc, char **argv);
int cmd_add(kluis_cli *cli, int argc, char **argv);
int cmd_statement(kluis_cli *cli, int argc, char **argv);
int cmd_log(kluis_cli *cli, int argc, char **argv);
int cmd_show(kluis_cli *cli, int argc, char **argv);
int cmd_list(kluis_cli *cli, int argc, char **argv);
int cmd_demo(kluis_cli *cli, int argc, char **argv);
int cmd_verify(kluis_cli *cli, int argc, char **argv);
int cmd_audit(kluis_cli *cli, int argc, char **argv);
int cmd_checkpoint(kluis_cli *cli, int argc, char **argv);
int cmd_close(kluis_cli *cli, int argc, char **argv);
int cmd_transfer(kluis_cli *cli, int argc, char **argv);
int cmd_import(kluis_cli *cli, int argc, char **argv);
int cmd_retention(kluis_cli *cli, int argc, char **argv);
int cmd_destroy(kluis_cli *cli, int argc, char **argv);
int cmd_ledger(kluis_cli *cli, int argc, char **argv);
int cmd_correct(kluis_cli *cli, int argc, char **argv);
int cmd_consent(kluis_cli *cli, int argc, char **argv);
int cmd_approve(kluis_cli *cli, int argc, char **argv);
int cmd_erase(kluis_cli *cli, int argc, char **argv);
int cmd_roles(kluis_cli *cli, int argc, char **argv);
int cmd_request(kluis_cli *cli, int argc, char **argv);
int cmd_breach(kluis_cli *cli, int argc, char **argv);
int cmd_inzage(kluis_cli *cli, int argc, char **argv);
int cmd_export(kluis_cli *cli, int argc, char **argv);
int cmd_push(kluis_cli *cli, int argc, char **argv);
int cmd_pull(kluis_cli *cli, int argc, char **argv);
int cmd_hook(kluis_cli *cli, int argc, char **argv);

#endif
