/*
 * common.c - helpers shared by the commands (see cli.h).
 */
#include "cli.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool cli_global_option(kluis_cli *cli, int c, const char *arg)
{
	switch (c) {
	case OPT_VAULT:
		cli->vault_dir = arg;
		return true;
	case OPT_AS:
		cli->as = arg;
		return true;
	case OPT_JSON:
		cli->json = true;
		return true;
	case 'h':
		cli->help = true;
		return true;
	case OPT_VERSION:
		/* every command already stops at cli->help to print its usage; there it prints
		 * the version instead (cli_print_usage) */
		cli->version = cli->help = true;
		return true;
	default:
		return false;
	}
}

static const char *last_shortopts;
static const struct option *last_longopts;

int cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts)
{
	last_shortopts = shortopts;
	last_longopts = longopts;
	opterr = 0;
	return getopt_long(argc, argv, shortopts, longopts, NULL);
}

int cli_usage_error(kluis_cli *cli, const char *fmt, ...)
{
	va_list ap;

	fputs("kluis: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (cli->command)
		fprintf(stderr, " (see kluis %s --help)\n", cli->command);
	else
		fputs(" (see kluis --help)\n", stderr);
	return CLI_USAGE;
}

/*
 * getopt leaves only optind and optopt behind, and optopt of a long option is its table
 * value, not a character: so the refused word is read back from argv and looked up in the
 * tables cli_getopt was given, to say which option it was and what is wrong with it.
 */
int cli_bad_option(kluis_cli *cli, int argc, char **argv)
{
	const char *word = optind >= 1 && optind - 1 < argc ? argv[optind - 1] : "", *p;
	const struct option *o;
	size_t len;

	if (strncmp(word, "--", 2) == 0) {
		len = strcspn(word + 2, "=");
		for (o = last_longopts; o && o->name; o++)
			if (strlen(o->name) == len && strncmp(o->name, word + 2, len) == 0) {
				if (o->has_arg == required_argument && !word[2 + len])
					return cli_usage_error(cli, "option --%s needs a value", o->name);
				if (o->has_arg == no_argument && word[2 + len])
					return cli_usage_error(cli, "option --%s takes no value", o->name);
			}
		return cli_usage_error(cli, "unknown option '%.*s'", (int)(len + 2), word);
	}
	if (optopt > 0 && optopt < 128 && isgraph(optopt)) {
		p = last_shortopts ? strchr(last_shortopts, optopt) : NULL;
		if (p && p[1] == ':')
			return cli_usage_error(cli, "option -%c needs a value", optopt);
		return cli_usage_error(cli, "unknown option -%c", optopt);
	}
	return cli_usage_error(cli, "unknown option or missing value: '%s'", word);
}

int cli_print_usage(kluis_cli *cli)
{
	if (cli->version) {
		printf("kluis %s\n", KLUIS_VERSION);
		return CLI_OK;
	}
	fputs(cli->usage, stdout);
	fputs("\nGlobal options: --vault DIR (else $KLUIS_VAULT, else ~/.local/share/kluis), --as FPR\n"
	      "(else $KLUIS_KEY, else the only secret key), --json, --help.\n"
	      "Exit codes: 0 done, 1 the operation or a verification failed, 2 usage or input error.\n", stdout);
	return CLI_OK;
}

int cli_fail(int err)
{
	fprintf(stderr, "kluis: %s\n", kluis_error_last());
	switch (err) {
	case KLUIS_EINVAL:
	case KLUIS_ENOTFOUND:
	case KLUIS_EEXISTS:
		return CLI_USAGE;
	default:
		return CLI_FAILED;
	}
}

void cli_warn(const char *fmt, ...)
{
	va_list ap;

	fputs("kluis: warning: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void cli_info(kluis_cli *cli, const char *fmt, ...)
{
	va_list ap;

	(void)cli;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int cli_open_vault(kluis_cli *cli, kluis_vault **v, unsigned flags)
{
	int err = kluis_vault_open(v, cli->vault_dir, cli->as, flags);

	return err < 0 ? cli_fail(err) : CLI_OK;
}

int cli_print_json(json_t *value)
{
	int rc;

	if (!value) {
		fputs("kluis: cannot encode JSON output\n", stderr);
		return CLI_FAILED;
	}
	rc = json_dumpf(value, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
	json_decref(value);
	return rc == 0 ? CLI_OK : CLI_FAILED;
}

void cli_progress(void *ctx, uint64_t done, uint64_t total)
{
	const char *what = ctx ? ctx : "working";

	if (!isatty(STDERR_FILENO))
		return;
	if (total)
		fprintf(stderr, "\r%s: %llu of %llu MiB (%d%%)", what, (unsigned long long)(done >> 20),
			(unsigned long long)(total >> 20), (int)(done * 100 / total));
	else
		fprintf(stderr, "\r%s: %llu MiB", what, (unsigned long long)(done >> 20));
	if (total && done >= total)
		fputc('\n', stderr);
	fflush(stderr);
}

int cli_once(kluis_cli *cli, const char **slot, const char *value, const char *name)
{
	if (*slot)
		return cli_usage_error(cli, "%s given twice", name);
	*slot = value;
	return CLI_OK;
}
