/*
 * cmd_destroy.c - kluis destroy: destroy a dossier at the end of its retention (earlier only
 * with --force), with a signed verklaring van vernietiging in the vault's ledger.
 */
#include "cli.h"
#include "vault/lifecycle.h"

#include <stdio.h>

static const char usage[] =
	"Usage: kluis destroy ID --reason TEXT [--force]\n\n"
	"Destroy dossier ID (directie or opdrachtgever) when its retention term has passed ('kluis\n"
	"retention'); before that only with --force, which the record says. The vault's ledger\n"
	"keeps a signed verklaring van vernietiging (Archiefbesluit art. 8): what, the period it\n"
	"spans, on what grounds, how, when and by whom. --reason goes into the ledger: no names.\n";

int cmd_destroy(kluis_cli *cli, int argc, char **argv)
{
	enum { O_REASON = OPT_CMD_BASE, O_FORCE };
	static const struct option opts[] = {
		{ "reason", required_argument, NULL, O_REASON },
		{ "force", no_argument, NULL, O_FORCE },
		CLI_GLOBAL_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	const char *reason = NULL;
	bool force = false;
	kluis_vault *v = NULL;
	int c, rc = CLI_OK, err;

	cli->usage = usage;
	while ((c = cli_getopt(argc, argv, "h", opts)) != -1) {
		if (c == O_REASON)
			rc = cli_once(cli, &reason, optarg, "--reason");
		else if (c == O_FORCE)
			force = true;
		else if (!cli_global_option(cli, c, optarg))
			return cli_bad_option(cli, argc, argv);
		if (rc != CLI_OK)
			return rc;
	}
	if (cli->help)
		return cli_print_usage(cli);
	if (optind != argc - 1)
		return cli_usage_error(cli, "destroy takes one dossier ID");
	if (!reason)
		return cli_usage_error(cli, "destroy needs --reason TEXT");
	if ((rc = cli_open_vault(cli, &v, KLUIS_VAULT_SIGN)) != CLI_OK)
		return rc;
	if ((err = kluis_dossier_destroy(v, argv[optind], reason, force)) < 0)
		rc = cli_fail(err);
	else
		fprintf(stderr, "kluis: dossier '%s' destroyed; the verklaring van vernietiging is in the ledger (kluis ledger show %s)\n",
			argv[optind], argv[optind]);
	kluis_vault_free(v);
	return rc;
}
