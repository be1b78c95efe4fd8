/*
 * cmd_erase.c - kluis erase: P11.2 erasure. The entry's ciphertext leaves the repository and
 * every pack; a signed record (entry, removed object ids, legal basis) and the encrypted
 * reason stay. Signatures, git fsck, gc, bundle and clone all stay valid (SPEC invariant 3).
 */
#include "cli.h"
#include "vault/rights.h"

#include <stdio.h>
#include <string.h>

static const char usage[] =
	"Usage: kluis erase ID ENTRY --reason TEXT [--basis CODE]\n\n"
	"Erase entry ENTRY (directie): its encrypted metadata and body are removed from the dossier\n"
	"repository and every pack; a signed erase record names the entry, the removed object ids\n"
	"and the legal basis (--basis, default P11.2; P13.4 for the end of retention), and the\n"
	"reason is kept encrypted. 'kluis verify' reports the erasure, not tampering. Erasure\n"
	"cannot reach copies already transferred to the opdrachtgever, nor backups: see\n"
	"docs/COMPLIANCE.md.\n";

int cmd_erase(kluis_cli *cli, int argc, char **argv)
{
	enum { O_REASON = OPT_CMD_BASE, O_BASIS };
	static const struct option opts[] = {
		{ "reason", required_argument, NULL, O_REASON },
		{ "basis", required_argument, NULL, O_BASIS },
		CLI_GLOBAL_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	const char *reason = NULL, *basis = NULL;
	kluis_vault *v = NULL;
	kluis_dossier *d = NULL;
	int c, rc = CLI_OK, err;

	cli->usage = usage;
	while ((c = cli_getopt(argc, argv, "h", opts)) != -1) {
		if (c == O_REASON)
			rc = cli_once(cli, &reason, optarg, "--reason");
		else if (c == O_BASIS)
			rc = cli_once(cli, &basis, optarg, "--basis");
		else if (!cli_global_option(cli, c, optarg))
			return cli_bad_option(cli, argc, argv);
		if (rc != CLI_OK)
			return rc;
	}
	if (cli->help)
		return cli_print_usage(cli);
	if (optind != argc - 2)
		return cli_usage_error(cli, "erase takes a dossier ID and an ENTRY id");
	if (!reason)
		return cli_usage_error(cli, "erase needs --reason TEXT");
	if (basis && strcmp(basis, "P11.2") && strcmp(basis, "P13.4") && strcmp(basis, "W7"))
		return cli_usage_error(cli, "--basis is P11.2 (request of the klant), P13.4 or W7");
	if ((rc = cli_open_vault(cli, &v, KLUIS_VAULT_SIGN)) != CLI_OK)
		return rc;
	if ((err = kluis_dossier_open(&d, v, argv[optind])) < 0 || (err = kluis_entry_erase(d, argv[optind + 1], reason, basis)) < 0)
		rc = cli_fail(err);
	else
		fprintf(stderr, "kluis: entry %s erased; its ciphertext is gone from the repository and every pack\n", argv[optind + 1]);
	kluis_wipe((void *)reason, strlen(reason));
	kluis_dossier_free(d);
	kluis_vault_free(v);
	return rc;
}
