/*
 * cmd_inzage.c - kluis inzage: the klant's access report (WerkPro P10) as text, JSON or one
 * self-contained HTML page, in Dutch (default) or English.
 *
 * The library builds the report (vault/report/inzage.c) and logs the read; this file writes it to
 * standard output or to --out FILE (cli_out: a new file, 0600, complete or not there at all).
 */
#include "cli.h"
#include "vault/report/inzage.h"

#include <string.h>
#include <unistd.h>

const char cmd_inzage_usage[] =
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

const cli_option cmd_inzage_options[] = {
	{ "format", 0, "text|json|html", 0, "the report's form (default: text)" },
	{ "out", 'o', "FILE", 0, "write the report to FILE (a new file, mode 0600)" },
	{ "lang", 0, "nl|en", 0, "the language (default: nl)" },
	{ "with-contents", 0, NULL, 0, "the text of every text entry too (each logged as a read)" },
	{ NULL, 0, NULL, 0, NULL },
};

int cmd_inzage_check(kluis_cli *cli, int argc, char **argv)
{
	const char *format = cli_str(cli, "format"), *lang = cli_str(cli, "lang");

	if (format && strcmp(format, "text") && strcmp(format, "json") && strcmp(format, "html"))
		return cli_usage_error(cli, "unknown --format '%s' (text, json, html)", format);
	if (lang && strcmp(lang, "nl") && strcmp(lang, "en"))
		return cli_usage_error(cli, "unknown --lang '%s' (nl, en)", lang);
	if (cli->json && format && strcmp(format, "json"))
		return cli_usage_error(cli, "--json and --format %s do not go together", format);
	return CLI_OK;
}

int cmd_inzage(kluis_cli *cli, int argc, char **argv)
{
	const char *out = cli_str(cli, "out"), *f = cli_str(cli, "format"), *lang = cli_str(cli, "lang");
	kluis_inzage_format format = cli->json || (f && strcmp(f, "json") == 0) ? KLUIS_INZAGE_JSON
				     : f && strcmp(f, "html") == 0	  ? KLUIS_INZAGE_HTML
									  : KLUIS_INZAGE_TEXT;
	kluis_buf report = KLUIS_SECRET_BUF_INIT;
	cli_out file = { NULL, NULL, -1 };
	int rc;

	/* the file first: an existing --out is refused before the read is logged */
	if ((out && (rc = cli_out_open(&file, out)) < 0) ||
	    (rc = kluis_inzage_report(cli->dossier, format, lang && strcmp(lang, "en") == 0 ? KLUIS_LANG_EN : KLUIS_LANG_NL,
					  cli_flag(cli, "with-contents"), &report)) < 0)
		goto cleanup;
	if (kluis_fd_write_all(out ? file.fd : STDOUT_FILENO, report.ptr, report.len) < 0)
		rc = kluis_error_set(KLUIS_EGENERIC, "cannot write the report to %s", out ? out : "standard output");
	else if (out)
		rc = cli_out_commit(&file);
cleanup:
	cli_out_close(&file);
	kluis_buf_dispose(&report);
	return rc;
}
