/*
 * cmd_transfer.c - kluis transfer: hand a closed dossier to the opdrachtgever as a signed
 * archive (W7), read it back and verify it, and only then destroy the local copy.
 */
#include "cli.h"
#include "vault/exchange/lifecycle.h"

#include <stdio.h>

const char cmd_transfer_usage[] =
	"Usage: kluis transfer ID --out FILE\n\n"
	"Write dossier ID (closed) as a transfer archive for the opdrachtgever (Werklokaal Art. 7): a\n"
	"gzip tar of dossier.bundle (git bundle v2), manifest.json, its signature manifest.json.asc\n"
	"and keys/. The signed 'transfer' commit and the manifest vouch for the read log (its last\n"
	"record and their number); no read is recorded while the transfer runs. The archive is read\n"
	"back and verified in full; only then is the local dossier destroyed, with a signed record\n"
	"and a verklaring van vernietiging in the vault's ledger ('kluis ledger show ID'). Any\n"
	"failure before that leaves the dossier here.\n";

const cli_option cmd_transfer_options[] = {
	{ "out", 0, "FILE", CLI_REQUIRED, "the archive to write (a new file, mode 0600)" },
	{ NULL, 0, NULL, 0, NULL },
};

int cmd_transfer(kluis_cli *cli, int argc, char **argv)
{
	const char *out = cli_str(cli, "out");
	kluis_transfer_result r;
	int err;

	if ((err = kluis_dossier_transfer(cli->vault, argv[0], out, cli_progress, "transfer", &r)) < 0)
		return err;
	if (cli->json)
		return cli_print_json(json_pack("{s:s, s:s, s:s, s:I, s:s, s:I, s:I, s:I, s:b}", "dossier", argv[0], "archive", out, "sha256",
						r.archive_sha256, "size", (json_int_t)r.archive_size, "head", r.head, "commits", (json_int_t)r.commits,
						"entries", (json_int_t)r.entries, "reads", (json_int_t)r.reads, "local_copy_destroyed", 1));
	printf("%s  %s\n", r.archive_sha256, out);
	fprintf(stderr, "kluis: dossier '%s' transferred to %s (verified: %zu commits, %zu entries); the local copy is destroyed and the ledger says so\n",
		argv[0], out, r.commits, r.entries);
	return CLI_OK;
}
