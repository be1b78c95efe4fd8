/*
 * cmd_checkpoint.c - kluis checkpoint: hand a copy of a dossier's signed checkpoint to a
 * witness (the klant, the opdrachtgever), who can later check the vault against it with
 * `kluis verify ID --witness FILE`. It holds ids, hashes and a signed commit: no personal data.
 */
#include "cli.h"
#include "vault/store/checkpoint.h"

#include <stdio.h>

const char cmd_checkpoint_usage[] =
	"Usage: kluis checkpoint ID [--out FILE]\n\n"
	"Print (or write to FILE) the dossier's current checkpoint: its head commit, signed by\n"
	"whoever made it, with its sequence number and time. Keep it outside the vault; 'kluis\n"
	"verify ID --witness FILE' later proves the history was not rolled back or rewritten since.\n";

const cli_option cmd_checkpoint_options[] = {
	{ "out", 0, "FILE", 0, "write it to FILE (a new file, mode 0600)" },
	{ NULL, 0, NULL, 0, NULL },
};

int cmd_checkpoint(kluis_cli *cli, int argc, char **argv)
{
	kluis_buf text = KLUIS_BUF_INIT;
	int err;

	if ((err = kluis_dossier_checkpoint(cli->dossier, &text)) == 0) {
		if (cli_str(cli, "out"))
			err = cli_out_write(cli_str(cli, "out"), text.ptr, text.len);
		else
			fwrite(text.ptr, 1, text.len, stdout);
	}
	kluis_buf_dispose(&text);
	return err;
}
