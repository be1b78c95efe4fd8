/*
 * cmd_transfer.c - kluis transfer: hand a closed dossier to the opdrachtgever as a signed
 * archive (W7), read it back and verify it, and only then destroy the local copy.
 */
#include "cli.h"
#include "vault/lifecycle.h"

#include <stdio.h>

static const char usage[] =
	"Usage: kluis transfer ID --out FILE\n\n"
	"Write dossier ID (closed) as a transfer archive for the opdrachtgever (Werklokaal Art. 7): a\n"
	"gzip tar of dossier.bundle (git bundle v2), manifest.json, its signature manifest.json.asc\n"
	"and keys/. The signed 'transfer' commit and the manifest vouch for the read log (its last\n"
	"record and their number); no read is recorded while the transfer runs. The archive is read\n"
	"back and verified in full; only then is the local dossier destroyed, with a signed record\n"
	"and a verklaring van vernietiging in the vault's ledger ('kluis ledger show ID'). Any\n"
	"failure before that leaves the dossier here.\n";

int cmd_transfer(kluis_cli *cli, int argc, char **argv)
{
	enum { O_OUT = OPT_CMD_BASE };
	static const struct option opts[] = { { "out", required_argument, NULL, O_OUT }, CLI_GLOBAL_OPTIONS, { NULL, 0, NULL, 0 } };
	const char *out = NULL;
	kluis_vault *v = NULL;
	kluis_transfer_result r;
	int c, rc = CLI_OK, err;

	cli->usage = usage;
	while ((c = cli_getopt(argc, argv, "h", opts)) != -1) {
		if (c == O_OUT)
			rc = cli_once(cli, &out, optarg, "--out");
		else if (!cli_global_option(cli, c, optarg))
			return cli_bad_option(cli, argc, argv);
		if (rc != CLI_OK)
			return rc;
	}
	if (cli->help)
		return cli_print_usage(cli);
	if (optind != argc - 1)
		return cli_usage_error(cli, "transfer takes one dossier ID");
	if (!out)
		return cli_usage_error(cli, "transfer needs --out FILE for the archive");
	if ((rc = cli_open_vault(cli, &v, KLUIS_VAULT_SIGN)) != CLI_OK)
		return rc;
	err = kluis_dossier_transfer(v, argv[optind], out, cli_progress, "transfer", &r);
	if (err < 0) {
		rc = cli_fail(err);
	} else if (cli->json) {
		rc = cli_print_json(json_pack("{s:s, s:s, s:s, s:I, s:s, s:I, s:I, s:I, s:b}", "dossier", argv[optind], "archive", out,
					      "sha256", r.archive_sha256, "size", (json_int_t)r.archive_size, "head", r.head, "commits",
					      (json_int_t)r.commits, "entries", (json_int_t)r.entries, "reads", (json_int_t)r.reads,
					      "local_copy_destroyed", 1));
	} else {
		printf("%s  %s\n", r.archive_sha256, out);
		fprintf(stderr, "kluis: dossier '%s' transferred to %s (verified: %zu commits, %zu entries); the local copy is destroyed and the ledger says so\n",
			argv[optind], out, r.commits, r.entries);
	}
	kluis_vault_free(v);
	return rc;
}
