/*
 * cmd_import.c - kluis import: the opdrachtgever takes in a transferred dossier, after
 * verifying everything in the archive; the retention term (W7: 10 years) starts.
 */
#include "cli.h"
#include "vault/lifecycle.h"
#include "vault/receipt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
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

int cmd_import(kluis_cli *cli, int argc, char **argv)
{
	enum { O_TRUST = OPT_CMD_BASE, O_RETENTION, O_RECEIPT };
	static const struct option opts[] = {
		{ "trust", required_argument, NULL, O_TRUST },
		{ "retention-years", required_argument, NULL, O_RETENTION },
		{ "receipt", required_argument, NULL, O_RECEIPT },
		CLI_GLOBAL_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	const char *retention = NULL, *receipt_opt = NULL;
	char **trust = NULL, id[65], *end, *receipt = NULL;
	size_t ntrust = 0;
	long years = 10;
	kluis_vault *v = NULL;
	int c, rc = CLI_OK, err;

	cli->usage = usage;
	trust = calloc((size_t)argc + 1, sizeof(*trust));
	if (!trust)
		return cli_fail(kluis_error_set(KLUIS_EGENERIC, "out of memory"));
	while ((c = cli_getopt(argc, argv, "h", opts)) != -1) {
		if (c == O_TRUST) {
			if (!(trust[ntrust] = malloc(41)) || !kluis_fpr_normalize(optarg, trust[ntrust])) {
				ntrust += trust[ntrust] != NULL;
				rc = cli_usage_error(cli, "--trust '%s' is not a 40-digit key fingerprint", optarg);
				goto cleanup;
			}
			ntrust++;
		} else if (c == O_RETENTION) {
			rc = cli_once(cli, &retention, optarg, "--retention-years");
		} else if (c == O_RECEIPT) {
			rc = cli_once(cli, &receipt_opt, optarg, "--receipt");
		} else if (!cli_global_option(cli, c, optarg)) {
			rc = cli_bad_option(cli, argc, argv);
			goto cleanup;
		}
		if (rc != CLI_OK)
			goto cleanup;
	}
	if (cli->help) {
		rc = cli_print_usage(cli);
		goto cleanup;
	}
	if (optind != argc - 1) {
		rc = cli_usage_error(cli, "import takes one archive FILE");
		goto cleanup;
	}
	if (retention) {
		years = strtol(retention, &end, 10);
		if (*end || years < 1 || years > 100) {
			rc = cli_usage_error(cli, "--retention-years must be a whole number from 1 to 100");
			goto cleanup;
		}
	}
	if (!kluis_path_exists(argv[optind])) {
		rc = cli_usage_error(cli, "no archive '%s'", argv[optind]);
		goto cleanup;
	}
	if (receipt_opt ? !(receipt = strdup(receipt_opt)) : asprintf(&receipt, "%s.receipt", argv[optind]) < 0) {
		receipt = NULL;
		rc = cli_fail(kluis_error_set(KLUIS_EGENERIC, "out of memory"));
		goto cleanup;
	}
	if ((rc = cli_open_vault(cli, &v, KLUIS_VAULT_CREATE | KLUIS_VAULT_SIGN)) != CLI_OK)
		goto cleanup;
	err = kluis_dossier_import_with_receipt(v, argv[optind], (const char *const *)trust, ntrust, (int)years, receipt, cli_progress, "import", id);
	if (err < 0) {
		rc = cli_fail(err);
		goto cleanup;
	}
	if (cli->json) {
		rc = cli_print_json(json_pack("{s:s, s:s, s:i, s:s}", "dossier", id, "archive", argv[optind], "retention_years", (int)years,
					      "receipt", receipt));
	} else {
		printf("%s\n", id);
		fprintf(stderr, "kluis: dossier '%s' imported and verified; retention: %ld years (kluis retention)\n", id, years);
	}
	/* what the sending organisation waits for, whatever the output format */
	fprintf(stderr, "kluis: receipt for the organisation: %s\n", receipt);
cleanup:
	free(receipt);
	kluis_strings_free(trust, ntrust);
	kluis_vault_free(v);
	return rc;
}
