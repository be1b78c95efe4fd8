/*
 * cmd_destroy.c - kluis destroy: destroy a dossier at the end of its retention (earlier only
 * with --force), with a signed verklaring van vernietiging in the vault's ledger.
 */
#include "cli.h"
#include "vault/exchange/lifecycle.h"

#include <stdio.h>
#include <stdlib.h>

const char cmd_destroy_usage[] =
	"Usage: kluis destroy ID --reason TEXT [--force] [--certificate FILE]\n\n"
	"Destroy dossier ID (directie or opdrachtgever) when its retention term has passed ('kluis\n"
	"retention'); before that only with --force, which the record says. The vault's ledger\n"
	"keeps a signed verklaring van vernietiging (Archiefbesluit art. 8): what, the period it\n"
	"spans, on what grounds (a code), how, when, by whom and the dossier's last commit; no\n"
	"personal data. --reason is kept in the ledger only encrypted to the directie and you.\n\n"
	"The verklaring is also written as FILE with its detached signature FILE.asc (default\n"
	"VAULT/certificates/ID-TIME.txt), for the auditor or the opdrachtgever to check with\n"
	"stock gpg: gpg --verify FILE.asc FILE. The file must not exist yet.\n";

const cli_option cmd_destroy_options[] = {
	{ "reason", 0, "TEXT", CLI_REQUIRED, "why (kept encrypted to the directie and you)" },
	{ "certificate", 0, "FILE", 0, "where to write the verklaring (a new file)" },
	{ "force", 0, NULL, 0, "before the end of retention too" },
	{ NULL, 0, NULL, 0, NULL },
};

int cmd_destroy(kluis_cli *cli, int argc, char **argv)
{
	char *written = NULL;
	int err = kluis_dossier_destroy(cli->vault, argv[0], cli_str(cli, "reason"), cli_flag(cli, "force"), cli_str(cli, "certificate"), &written);

	if (err == 0)
		fprintf(stderr, "kluis: dossier '%s' destroyed; the signed verklaring van vernietiging is %s (+ .asc) and in the ledger (kluis ledger show %s)\n",
			argv[0], written, argv[0]);
	free(written);
	return err;
}
