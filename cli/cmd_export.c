/*
 * cmd_export.c - kluis export: the klant's data in a common, machine-readable form (WerkPro
 * P12): a zip with index.json and every entry in its original bytes (vault/export.c).
 */
#include "cli.h"
#include "vault/export.h"

#include <stdio.h>

static const char usage[] =
	"Usage: kluis export ID --out FILE.zip [--json]\n\n"
	"Write dossier ID as a zip (WerkPro art. 12, portability): index.json, a versioned description\n"
	"of the dossier and every entry (docs/EXPORT_SCHEMA.md), index.html (the inzage report, linking\n"
	"to the files) and gegevens/<date> <title> (<kind>).<ext> with each entry's content in its\n"
	"original format (notes as .txt). Erased entries are listed, not\n"
	"included. Every body is checked against the sha256 in its metadata. FILE is created new\n"
	"(mode 0600) and appears only when complete; kluis never overwrites a file.\n"
	"For the klant, medewerker and directie. The read is logged with purpose 'export'.\n";

int cmd_export(kluis_cli *cli, int argc, char **argv)
{
	enum { O_OUT = OPT_CMD_BASE };
	static const struct option opts[] = {
		{ "out", required_argument, NULL, O_OUT },
		CLI_GLOBAL_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	const char *out = NULL;
	kluis_vault *v = NULL;
	kluis_dossier *d = NULL;
	kluis_export_result res;
	int c, rc = CLI_OK, err;

	cli->usage = usage;
	while ((c = cli_getopt(argc, argv, "ho:", opts)) != -1) {
		if (c == O_OUT || c == 'o')
			rc = cli_once(cli, &out, optarg, "--out");
		else if (!cli_global_option(cli, c, optarg))
			return cli_bad_option(cli, argc, argv);
		if (rc != CLI_OK)
			return rc;
	}
	if (cli->help)
		return cli_print_usage(cli);
	if (optind != argc - 1)
		return cli_usage_error(cli, "export takes one dossier ID");
	if (!out || !*out)
		return cli_usage_error(cli, "export needs --out FILE.zip");
	if ((rc = cli_open_vault(cli, &v, KLUIS_VAULT_SIGN)) != CLI_OK)
		return rc;
	if ((err = kluis_dossier_open(&d, v, argv[optind])) < 0 ||
	    (err = kluis_dossier_export(d, out, cli_progress, "export", &res)) < 0) {
		rc = cli_fail(err);
		goto cleanup;
	}
	if (cli->json)
		rc = cli_print_json(json_pack("{s:s, s:s, s:I, s:I, s:I}", "dossier", kluis_dossier_id(d), "out", out, "entries",
					      (json_int_t)res.entries, "erased", (json_int_t)res.erased, "bytes", (json_int_t)res.bytes));
	else
		fprintf(stderr, "kluis: exported %zu entries (%llu bytes) of '%s' to %s (mode 0600)%s\n", res.entries,
			(unsigned long long)res.bytes, kluis_dossier_id(d), out, res.erased ? "; erased entries are listed only" : "");
cleanup:
	kluis_dossier_free(d);
	kluis_vault_free(v);
	return rc;
}
