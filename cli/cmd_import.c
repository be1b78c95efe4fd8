/*
 * cmd_import.c - kluis import: the opdrachtgever takes in a transferred dossier, after
 * verifying everything in the archive; the retention term (W7: 10 years) starts.
 */
#include "cli.h"
#include "vault/exchange/lifecycle.h"
#include "vault/exchange/receipt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char cmd_import_usage[] =
	"Usage: kluis import FILE [--trust FPR]... [--retention-years N] [--receipt RECEIPT]\n\n"
	"Take in a transfer archive as the dossier's opdrachtgever. Nothing is taken in unless the\n"
	"manifest's signature (by the dossier's directie or medewerker), the bundle's hash, the\n"
	"bundle and the whole signed history verify, and every member path is safe; the history must\n"
	"end in the signed transfer of the closed dossier to you, by the manifest's signer, and the\n"
	"read log must be exactly the one that transfer vouches for. Your own keyring's revocations\n"
	"count: a key you have revoked is revoked for the archive too. --trust names the sending\n"
	"organisation's trust root (its directie key; learn it from them directly), else the vault's.\n"
	"The retention term starts now: --retention-years, default 10 (W7).\n"
	"A receipt for the sending organisation's ledger is written to RECEIPT (default FILE.receipt)\n"
	"with its signature by your key in RECEIPT.asc (kluis ledger receipt RECEIPT, there): the\n"
	"dossier, the archive's sha256, the transfer commit, your key and the time. Neither may exist\n"
	"yet; without them nothing is taken in.\n";

const cli_option cmd_import_options[] = {
	{ "trust", 0, "FPR", CLI_MANY, "the sending organisation's trust root (else the vault's)" },
	{ "retention-years", 0, "N", 0, "kept N years from now (default 10, W7)" },
	{ "receipt", 0, "RECEIPT", 0, "where to write the receipt (default FILE.receipt)" },
	{ NULL, 0, NULL, 0, NULL },
};

int cmd_import_check(kluis_cli *cli, int argc, char **argv)
{
	char **trust = NULL;
	size_t ntrust = 0;
	int rc = cli_trust(cli, &trust, &ntrust), years;

	kluis_strings_free(trust, ntrust);
	if (rc != CLI_OK || (rc = cli_years(cli, &years)) != CLI_OK)
		return rc;
	return kluis_path_exists(argv[0]) ? CLI_OK : cli_usage_error(cli, "no archive '%s'", argv[0]);
}

int cmd_import(kluis_cli *cli, int argc, char **argv)
{
	char **trust = NULL, id[65], *receipt = NULL;
	size_t ntrust = 0;
	int years = 10, rc;

	cli_years(cli, &years);
	if ((rc = cli_trust(cli, &trust, &ntrust)) != 0)
		goto cleanup;
	if (cli_str(cli, "receipt") ? !(receipt = strdup(cli_str(cli, "receipt"))) : asprintf(&receipt, "%s.receipt", argv[0]) < 0) {
		receipt = NULL;
		rc = kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto cleanup;
	}
	if ((rc = kluis_dossier_import_with_receipt(cli->vault, argv[0], (const char *const *)trust, ntrust, years, receipt, cli_progress, "import", id)) < 0)
		goto cleanup;
	if (cli->json) {
		rc = cli_print_json(json_pack("{s:s, s:s, s:i, s:s}", "dossier", id, "archive", argv[0], "retention_years", years, "receipt", receipt));
	} else {
		printf("%s\n", id);
		fprintf(stderr, "kluis: dossier '%s' imported and verified; retention: %d years (kluis retention)\n", id, years);
	}
	/* what the sending organisation waits for, whatever the output format */
	fprintf(stderr, "kluis: receipt for the organisation: %s\n", receipt);
cleanup:
	free(receipt);
	kluis_strings_free(trust, ntrust);
	return rc;
}
