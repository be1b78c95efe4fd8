/*
 * cli.h - the command-line front end: the command table's types, the option parser and the
 * helpers every command uses to report errors, print JSON and write --out files.
 *
 * The CLI parses, prints and picks the exit code; the library (vault/) does the work.
 * Exit codes (SPEC): 0 done, 1 the operation or a verification failed, 2 usage or input error.
 *
 * How a command runs (main.c): its row in the command table names its option table, the
 * number of arguments it takes and what it needs (the vault, opened to sign or with public
 * keys only, and the dossier its first argument names). main parses the options, checks the
 * arity, calls the row's `check` (input errors, before anything is opened), opens what the
 * row needs, calls `run` with the arguments left after the options, and closes it all. A
 * command returns CLI_OK, CLI_FAILED or CLI_USAGE after saying why, or a negative library
 * error that main reports (one line, kluis_error_last()) and maps to 1 or 2.
 *
 * To add a command: cli/cmd_NAME.c with cmd_NAME_usage, cmd_NAME_options (if it has any) and
 * cmd_NAME (and cmd_NAME_check when its input needs checking before the vault is opened), a
 * CLI_DECLARE(NAME) line below, and its row in main.c's table.
 */
#ifndef KLUIS_CLI_H
#define KLUIS_CLI_H

#include "vault/store/vault.h"

#include "vault/pgp/names.h"

#include <jansson.h>
#include <stdbool.h>

enum { CLI_OK = 0, CLI_FAILED = 1, CLI_USAGE = 2 };

/* One option of a command: --name, -letter (or 0), the name of its value (NULL: a flag) and
 * its line in the command's --help. A string option may be given once, unless CLI_MANY. */
typedef struct {
	const char *name;
	char letter;
	const char *arg;
	unsigned flags;
	const char *help;
} cli_option;

enum {
	CLI_MANY = 1 << 0, /* may be given more than once; cli_list collects the values */
	CLI_PAIR = 1 << 1, /* takes two values (--add ROLE FPR); the second is the next word */
	CLI_REQUIRED = 1 << 2, /* must be given: main refuses the command without it */
};

/* What a command needs; main opens it before `run` and closes it afterwards. */
enum {
	CLI_NEED_VAULT = 1 << 0,   /* cli->vault */
	CLI_NEED_SIGN = 1 << 1,    /* ... with the actor's key resolved: the command signs */
	CLI_NEED_PUBLIC = 1 << 2,  /* ... public keys only, no secret key (verify) */
	CLI_NEED_CREATE = 1 << 3,  /* ... made if it does not exist yet */
	CLI_NEED_DOSSIER = 1 << 4, /* cli->dossier, the dossier argv[0] names (implies the vault) */
};

typedef struct kluis_cli kluis_cli;

typedef struct {
	const char *name;
	int (*run)(kluis_cli *cli, int argc, char **argv);
	const char *summary;        /* its line in 'kluis --help' */
	const char *usage;          /* 'Usage: kluis NAME ...' and what it does */
	const cli_option *options;  /* ends with { NULL }; may be NULL */
	unsigned needs;             /* CLI_NEED_* */
	int min_args, max_args;     /* arguments after the options (max -1: any number) */
	const char *arity;          /* the usage error when their number is wrong */
	int (*check)(kluis_cli *cli, int argc, char **argv); /* optional, before the setup */
} cli_command;

#define CLI_MAX_OPTIONS 16

struct kluis_cli {
	const char *vault_dir;   /* --vault, KLUIS_VAULT, ~/.local/share/kluis */
	const char *as;          /* --as */
	bool json;               /* --json */
	bool help;               /* --help, -h */
	bool version;            /* --version, -V */
	const cli_command *command;
	unsigned needs;          /* the row's needs; a check may add to them */
	kluis_vault *vault;      /* opened by main per `needs` */
	kluis_dossier *dossier;
	struct {
		const char **v;  /* the values given, in order */
		size_t n;        /* how often the option was given */
	} values[CLI_MAX_OPTIONS];
};

/* The value of option `name` (its last, for CLI_MANY), or NULL when not given. */
const char *cli_str(const kluis_cli *cli, const char *name);
/* Whether option `name` was given. */
bool cli_flag(const kluis_cli *cli, const char *name);
/* Every value of option `name`, in order; *n their number. */
const char *const *cli_list(const kluis_cli *cli, const char *name, size_t *n);

/* A usage error: "kluis: <msg>" plus a hint to --help; returns CLI_USAGE. */
int cli_usage_error(kluis_cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Report a library error (one line on stderr) and map its code to the exit status. */
int cli_fail(int err);
/* Print a warning line on stderr. */
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print a JSON value on stdout (takes the reference). */
int cli_print_json(json_t *value);
/* A progress reporter for long work, shown only on a terminal. */
void cli_progress(void *ctx, const char *phase, uint64_t done, uint64_t total);
/* --retention-years: a whole number from 1 to 100 into *years (unchanged when not given). */
int cli_years(kluis_cli *cli, int *years);
/* --trust FPR...: each a 40-digit fingerprint, normalized into a list the caller frees with
 * kluis_strings_free(*out, *n). */
int cli_trust(kluis_cli *cli, char ***out, size_t *n);

/*
 * An --out file: created as a temporary file (0600) beside path and given the name only by
 * cli_out_commit, after fsync, never replacing a file (an existing one is refused at open).
 * cli_out_close removes the temporary file unless it was committed: nothing is left behind
 * on error.
 */
typedef struct {
	const char *path;
	char *tmp;
	int fd;
} cli_out;
int cli_out_open(cli_out *o, const char *path);
int cli_out_commit(cli_out *o);
void cli_out_close(cli_out *o);
/* Write data whole to a new file path through cli_out. */
int cli_out_write(const char *path, const void *data, size_t len);

/* The commands: run functions, usage texts and option tables, one file each. */
#define CLI_DECLARE(name)                                                 \
	int cmd_##name(kluis_cli *cli, int argc, char **argv);            \
	int cmd_##name##_check(kluis_cli *cli, int argc, char **argv);    \
	extern const char cmd_##name##_usage[];                           \
	extern const cli_option cmd_##name##_options[]
CLI_DECLARE(init);
CLI_DECLARE(add);
CLI_DECLARE(find);
CLI_DECLARE(statement);
CLI_DECLARE(correct);
CLI_DECLARE(log);
CLI_DECLARE(sync);
CLI_DECLARE(show);
CLI_DECLARE(list);
CLI_DECLARE(demo);
CLI_DECLARE(verify);
CLI_DECLARE(audit);
CLI_DECLARE(checkpoint);
CLI_DECLARE(close);
CLI_DECLARE(transfer);
CLI_DECLARE(import);
CLI_DECLARE(retention);
CLI_DECLARE(destroy);
CLI_DECLARE(ledger);
CLI_DECLARE(consent);
CLI_DECLARE(approve);
CLI_DECLARE(erase);
CLI_DECLARE(roles);
CLI_DECLARE(request);
CLI_DECLARE(breach);
CLI_DECLARE(inzage);
CLI_DECLARE(export);
CLI_DECLARE(push);
CLI_DECLARE(pull);
CLI_DECLARE(hook);

/*
 * What `log` and `audit` show can be narrowed the same way: CLI_EVENT_OPTIONS in their option
 * tables, cli_event_filter_get after parsing (KLUIS_EINVAL, with the message, for a value
 * that can never match: an unknown kind, action or role, a malformed date), cli_event_match
 * per event and entry.
 */
#define CLI_EVENT_OPTIONS                                                                          \
	{ "kind", 0, "K", 0, "only entries of this kind (note, contact, plan, statement, ...)" },        \
	{ "action", 0, "A", 0, "only this action (add, access, correct, erase, consent, close, ...)" }, \
	{ "role", 0, "R", 0, "only what this role did (klant, medewerker, directie, opdrachtgever)" },   \
	{ "entry", 0, "ENTRY", 0, "only what concerns this entry" },                                     \
	{ "since", 0, "DATE", 0, "from this moment on (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ, UTC)" },      \
	{ "until", 0, "DATE", 0, "up to and including this moment (a date: that whole day)" }
typedef struct {
	const char *kind, *action, *role, *entry;
	int64_t since, until;
} cli_event_filter;
int cli_event_filter_get(const kluis_cli *cli, cli_event_filter *f);
/* A --kind that names a kind of entry, else KLUIS_EINVAL with the list. */
int cli_kind_check(const char *kind);
bool cli_event_match(const cli_event_filter *f, const kluis_event *ev, const char *entry);

/* `in` for a terminal: each control character (an escape sequence's start) as '?', cut to
 * size; what others wrote (titles, file names, user ids, a forged commit's trailers) is
 * printed through this. Returns out. */
const char *cli_safe(const char *in, char *out, size_t size);
/* The same in place, for the fields of one event of the history. */
void cli_safe_event(kluis_event *ev);

#endif
