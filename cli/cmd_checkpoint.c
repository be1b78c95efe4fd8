/*
 * cmd_checkpoint.c - kluis checkpoint: hand a copy of a dossier's signed checkpoint to a
 * witness (the klant, the opdrachtgever), who can later check the vault against it with
 * `kluis verify ID --witness FILE`. It holds ids, hashes and a signed commit: no personal data.
 */
#include "cli.h"
#include "vault/checkpoint.h"
#include "vault/internal.h"

#include <stdio.h>
#include <unistd.h>

static const char usage[] =
	"Usage: kluis checkpoint ID [--out FILE]\n\n"
	"Print (or write to FILE, a new 0600 file) the dossier's current checkpoint: its head\n"
	"commit, signed by whoever made it, with its sequence number and time. Keep it outside the\n"
	"vault; 'kluis verify ID --witness FILE' later proves the history was not rolled back or\n"
	"rewritten since.\n";

int cmd_checkpoint(kluis_cli *cli, int argc, char **argv)
{
	enum { O_OUT = OPT_CMD_BASE };
	static const struct option opts[] = { { "out", required_argument, NULL, O_OUT }, CLI_GLOBAL_OPTIONS, { NULL, 0, NULL, 0 } };
	const char *out = NULL;
	kluis_vault *v = NULL;
	kluis_dossier *d = NULL;
	kluis_buf text = KLUIS_BUF_INIT;
	int c, rc = CLI_OK, err, fd = -1;

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
		return cli_usage_error(cli, "checkpoint takes one dossier ID");
	if ((rc = cli_open_vault(cli, &v, 0)) != CLI_OK)
		return rc;
	if ((err = kluis_dossier_open(&d, v, argv[optind])) < 0 ||
	    (err = kluis_checkpoint_format(argv[optind], kluis_dossier_repo(d), &d->head, &text)) < 0) {
		rc = cli_fail(err);
		goto cleanup;
	}
	if (out) {
		if ((fd = kluis_file_create_excl(out)) < 0) {
			rc = cli_fail(fd);
			fd = -1;
			goto cleanup;
		}
		if (write(fd, text.ptr, text.len) != (ssize_t)text.len || fsync(fd) < 0) {
			rc = cli_fail(kluis_error_set(KLUIS_EGENERIC, "cannot write '%s'", out));
			unlink(out);
		}
	} else {
		fwrite(text.ptr, 1, text.len, stdout);
	}
cleanup:
	if (fd >= 0)
		close(fd);
	kluis_buf_dispose(&text);
	kluis_dossier_free(d);
	kluis_vault_free(v);
	return rc;
}
