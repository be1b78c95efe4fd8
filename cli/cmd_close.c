/*
 * cmd_close.c - kluis close: the end of the traject. Afterwards the dossier takes only the
 * klant's statements and reads, until it is transferred (W7).
 */
#include "cli.h"
#include "vault/lifecycle.h"

#include <stdio.h>

static const char usage[] =
	"Usage: kluis close ID\n\n"
	"End the traject of dossier ID with a signed close commit (medewerker or directie). After\n"
	"it, only the klant's statements and reads are accepted; 'kluis transfer' hands it over to\n"
	"the opdrachtgever. The retention term (P13.2) starts now.\n";

int cmd_close(kluis_cli *cli, int argc, char **argv)
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
	if (optind != argc - 1)
		return cli_usage_error(cli, "close takes one dossier ID");
	if ((rc = cli_open_vault(cli, &v, KLUIS_VAULT_SIGN)) != CLI_OK)
		return rc;
	if ((err = kluis_dossier_open(&d, v, argv[optind])) < 0 || (err = kluis_dossier_close(d)) < 0)
		rc = cli_fail(err);
	else
		fprintf(stderr, "kluis: dossier '%s' closed; the traject has ended\n", argv[optind]);
	kluis_dossier_free(d);
	kluis_vault_free(v);
	return rc;
}
