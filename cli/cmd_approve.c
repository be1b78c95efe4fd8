/*
 * cmd_approve.c - kluis approve: the klant's signed approval of one entry (a plan van aanpak,
 * a report), tied to the commit that added it. A later correction makes it no longer current.
 */
#include "cli.h"
#include "vault/rights.h"

#include <stdio.h>

static const char usage[] =
	"Usage: kluis approve ID ENTRY\n\n"
	"The klant approves entry ENTRY (a plan, a report) with a signed commit that names the\n"
	"commit which added it. 'kluis log' and 'kluis inzage' show it; a later correction of the\n"
	"entry shows the approval as no longer current. Only the klant may approve.\n";

int cmd_approve(kluis_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { CLI_GLOBAL_OPTIONS, { NULL, 0, NULL, 0 } };
	kluis_vault *v = NULL;
	kluis_dossier *d = NULL;
	int c, rc, err;

	cli->usage = usage;
	while ((c = cli_getopt(argc, argv, "h", opts)) != -1)
		if (!cli_global_option(cli, c, optarg))
			return cli_bad_option(cli, argc, argv);
	if (cli->help)
		return cli_print_usage(cli);
	if (optind != argc - 2)
		return cli_usage_error(cli, "approve takes a dossier ID and an ENTRY id");
	if ((rc = cli_open_vault(cli, &v, KLUIS_VAULT_SIGN)) != CLI_OK)
		return rc;
	if ((err = kluis_dossier_open(&d, v, argv[optind])) < 0 || (err = kluis_entry_approve(d, argv[optind + 1])) < 0)
		rc = cli_fail(err);
	else
		fprintf(stderr, "kluis: entry %s approved by the klant\n", argv[optind + 1]);
	kluis_dossier_free(d);
	kluis_vault_free(v);
	return rc;
}
