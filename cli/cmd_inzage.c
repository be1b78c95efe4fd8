/*
 * cmd_inzage.c - kluis inzage: the klant's access report (WerkPro P10) as text, JSON or one
 * self-contained HTML page, in Dutch (default) or English.
 *
 * The library builds the report (vault/inzage.c) and logs the read; this file parses, and
 * writes the report to standard output or to --out FILE (created new, 0600, never overwritten,
 * removed again if anything fails).
 */
#include "cli.h"
#include "vault/inzage.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
	"Usage: kluis inzage ID [--format text|json|html] [--out FILE] [--lang nl|en] [--with-contents]\n\n"
	"The access report of dossier ID (WerkPro art. 10): that personal data is processed and by\n"
	"whom (roles and keys), the traject, every entry with its date, kind, title, purpose and legal\n"
	"basis, category, origin and recipients, corrections, erasures, approvals, consents, the\n"
	"retention period, and every consultation of the dossier. Dutch by default; --lang en for\n"
	"English. --format json (or --json) gives a versioned object (docs/EXPORT_SCHEMA.md); --format\n"
	"html one page that needs nothing else, to read or print. The report goes to standard output,\n"
	"or to FILE with --out (a new file, mode 0600; kluis never overwrites).\n"
	"--with-contents adds the text of every text entry, each logged as a read of that entry.\n"
	"For the klant, medewerker and directie. The read is logged with purpose 'inzage'.\n";

static int write_all(int fd, const unsigned char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int cmd_inzage(kluis_cli *cli, int argc, char **argv)
{
	enum { O_OUT = OPT_CMD_BASE, O_FORMAT, O_LANG, O_CONTENTS };
	static const struct option opts[] = {
		{ "out", required_argument, NULL, O_OUT },
		{ "format", required_argument, NULL, O_FORMAT },
		{ "lang", required_argument, NULL, O_LANG },
		{ "with-contents", no_argument, NULL, O_CONTENTS },
		CLI_GLOBAL_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	const char *out = NULL, *format_s = NULL, *lang_s = NULL;
	kluis_inzage_format format = KLUIS_INZAGE_TEXT;
	kluis_lang lang = KLUIS_LANG_NL;
	bool contents = false;
	kluis_vault *v = NULL;
	kluis_dossier *d = NULL;
	kluis_buf report = KLUIS_SECRET_BUF_INIT;
	int c, rc = CLI_OK, err, fd = -1;

	cli->usage = usage;
	while ((c = cli_getopt(argc, argv, "ho:", opts)) != -1) {
		if (c == O_OUT || c == 'o')
			rc = cli_once(cli, &out, optarg, "--out");
		else if (c == O_FORMAT)
			rc = cli_once(cli, &format_s, optarg, "--format");
		else if (c == O_LANG)
			rc = cli_once(cli, &lang_s, optarg, "--lang");
		else if (c == O_CONTENTS)
			contents = true;
		else if (!cli_global_option(cli, c, optarg))
			return cli_bad_option(cli, argc, argv);
		if (rc != CLI_OK)
			return rc;
	}
	if (cli->help)
		return cli_print_usage(cli);
	if (optind != argc - 1)
		return cli_usage_error(cli, "inzage takes one dossier ID");
	if (format_s && strcmp(format_s, "text") && strcmp(format_s, "json") && strcmp(format_s, "html"))
		return cli_usage_error(cli, "unknown --format '%s' (text, json, html)", format_s);
	if (lang_s && strcmp(lang_s, "nl") && strcmp(lang_s, "en"))
		return cli_usage_error(cli, "unknown --lang '%s' (nl, en)", lang_s);
	if (format_s)
		format = strcmp(format_s, "json") == 0 ? KLUIS_INZAGE_JSON : strcmp(format_s, "html") == 0 ? KLUIS_INZAGE_HTML : KLUIS_INZAGE_TEXT;
	if (lang_s && strcmp(lang_s, "en") == 0)
		lang = KLUIS_LANG_EN;
	if (cli->json && format_s && format != KLUIS_INZAGE_JSON)
		return cli_usage_error(cli, "--json and --format %s do not go together", format_s);
	if (cli->json)
		format = KLUIS_INZAGE_JSON;
	if ((rc = cli_open_vault(cli, &v, KLUIS_VAULT_SIGN)) != CLI_OK)
		return rc;
	if ((err = kluis_dossier_open(&d, v, argv[optind])) < 0) {
		rc = cli_fail(err);
		goto cleanup;
	}
	/* the file first: an existing --out is refused before the read is logged */
	if (out && (fd = kluis_file_create_excl(out)) < 0) {
		rc = cli_fail(fd);
		fd = -1;
		goto cleanup;
	}
	if ((err = kluis_inzage_report(d, format, lang, contents, &report)) < 0) {
		rc = cli_fail(err);
		goto cleanup;
	}
	if (write_all(out ? fd : STDOUT_FILENO, report.ptr, report.len) < 0 || (out && fsync(fd) < 0))
		rc = cli_fail(kluis_error_set(KLUIS_EGENERIC, "cannot write the report to %s", out ? out : "standard output"));
	else if (out)
		fprintf(stderr, "kluis: written to %s (mode 0600)\n", out);
cleanup:
	if (fd >= 0) {
		close(fd);
		if (rc != CLI_OK)
			unlink(out); /* never leave a partial report */
	}
	kluis_buf_dispose(&report);
	kluis_dossier_free(d);
	kluis_vault_free(v);
	return rc;
}
