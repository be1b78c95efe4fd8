/*
 * cmd_export.c - kluis export: the klant's data in a common, machine-readable form (WerkPro
 * P12): a zip with index.json and every entry in its original bytes (vault/report/export.c).
 */
#include "cli.h"
#include "vault/report/export.h"

#include <stdio.h>

const char cmd_export_usage[] =
	"Usage: kluis export ID --out FILE.zip [--json]\n\n"
	"Write dossier ID as a zip (WerkPro art. 12, portability): index.json, a versioned description\n"
	"of the dossier and every entry (docs/EXPORT_SCHEMA.md), index.html (the inzage report, linking\n"
	"to the files) and gegevens/<date> <title> (<kind>).<ext> with each entry's content in its\n"
	"original format (notes as .txt). Erased entries are listed, not\n"
	"included. Every body is checked against the sha256 in its metadata. FILE is created new\n"
	"(mode 0600) and appears only when complete; kluis never overwrites a file.\n"
	"For the klant, medewerker and directie. The read is logged with purpose 'export'.\n";

const cli_option cmd_export_options[] = {
	{ "out", 'o', "FILE.zip", CLI_REQUIRED, "the zip to write (a new file, mode 0600)" },
	{ NULL, 0, NULL, 0, NULL },
};

int cmd_export(kluis_cli *cli, int argc, char **argv)
{
	const char *out = cli_str(cli, "out"), *id = kluis_dossier_id(cli->dossier);
	kluis_export_result res;
	int err;

	if ((err = kluis_dossier_export(cli->dossier, out, cli_progress, "export", &res)) < 0)
		return err;
	if (cli->json)
		return cli_print_json(json_pack("{s:s, s:s, s:I, s:I, s:I}", "dossier", id, "out", out, "entries", (json_int_t)res.entries,
						"erased", (json_int_t)res.erased, "bytes", (json_int_t)res.bytes));
	fprintf(stderr, "kluis: exported %zu entries (%llu bytes) of '%s' to %s (mode 0600)%s\n", res.entries, (unsigned long long)res.bytes,
		id, out, res.erased ? "; erased entries are listed only" : "");
	return CLI_OK;
}
