/*
 * cmd_destroy.c - kluis destroy: destroy a dossier at the end of its retention (earlier only
 * with --force), with a signed verklaring van vernietiging in the vault's ledger.
 */
#include "cli.h"
#include "vault/lifecycle.h"

#include <stdio.h>
#include <stdlib.h>

static const char usage[] =
	"Usage: kluis destroy ID --reason TEXT [--force] [--certificate FILE]\n\n"
	"Destroy dossier ID (directie or opdrachtgever) when its retention term has passed ('kluis\n"
	"retention'); before that only with --force, which the record says. The vault's ledger\n"
	"keeps a signed verklaring van vernietiging (Archiefbesluit art. 8): what, the period it\n"
	"spans, on what grounds (a code), how, when, by whom and the dossier's last commit; no\n"
	"personal data. --reason is kept in the ledger only encrypted to the directie and you.\n\n"
	"The verklaring is also written as FILE with its detached signature FILE.asc (default\n"
	"VAULT/certificates/ID-TIME.txt), for the auditor or the opdrachtgever to check with\n"
	"stock gpg: gpg --verify FILE.asc FILE. The file must not exist yet.\n";

int cmd_destroy(kluis_cli *cli, int argc, char **argv)
{
	enum { O_REASON = OPT_CMD_BASE, O_FORCE, O_CERT };
	static const struct option opts[] = {
		{ "reason", required_argument, NULL, O_REASON },
		{ "certificate", required_argument, NULL, O_CERT },
		{ "force", no_argument, NULL, O_FORCE },
		CLI_GLOBAL_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	const char *reason = NULL, *certificate = NULL;
	char *written = NULL;
	bool force = false;
	kluis_vault *v = NULL;
	int c, rc = CLI_OK, err;

	cli->usage = usage;
	while ((c = cli_getopt(argc, argv, "h", opts)) != -1) {
		if (c == O_REASON)
			rc = cli_once(cli, &reason, optarg, "--reason");
		else if (c == O_CERT)
			rc = cli_once(cli, &certificate, optarg, "--certificate");
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
	if ((err = kluis_dossier_destroy(v, argv[optind], reason, force, certificate, &written)) < 0)
		rc = cli_fail(err);
	else
		fprintf(stderr, "kluis: dossier '%s' destroyed; the signed verklaring van vernietiging is %s (+ .asc) and in the ledger (kluis ledger show %s)\n",
			argv[optind], written, argv[optind]);
	free(written);
	kluis_vault_free(v);
	return rc;
}
