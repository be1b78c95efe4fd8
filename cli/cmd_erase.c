/*
 * cmd_erase.c - kluis erase: P11.2 erasure. The entry's ciphertext leaves the repository and
 * every pack; a signed record (entry, removed object ids, legal basis) and the encrypted
 * reason stay. Signatures, git fsck, gc, bundle and clone all stay valid (SPEC invariant 3).
 */
#include "cli.h"
#include "vault/store/rights.h"

#include <stdio.h>
#include <string.h>

const char cmd_erase_usage[] =
	"Usage: kluis erase ID ENTRY --reason TEXT [--basis CODE]\n\n"
	"Erase entry ENTRY (directie): its encrypted metadata and body are removed from the dossier\n"
	"repository and every pack; a signed erase record names the entry, the removed object ids\n"
	"and the legal basis, and the reason is kept encrypted. 'kluis verify' reports the erasure,\n"
	"not tampering. Erasure cannot reach copies already transferred to the opdrachtgever, nor\n"
	"backups: see docs/COMPLIANCE.md.\n";

const cli_option cmd_erase_options[] = {
	{ "reason", 0, "TEXT", CLI_REQUIRED, "why (kept encrypted)" },
	{ "basis", 0, "CODE", 0, "P11.2 (the klant's request, the default), P13.4 (end of retention) or W7" },
	{ NULL, 0, NULL, 0, NULL },
};

int cmd_erase_check(kluis_cli *cli, int argc, char **argv)
{
	const char *basis = cli_str(cli, "basis");

	if (basis && !kluis_erase_basis_valid(basis))
		return cli_usage_error(cli, "--basis is P11.2 (request of the klant), P13.4 or W7");
	return CLI_OK;
}

int cmd_erase(kluis_cli *cli, int argc, char **argv)
{
	const char *reason = cli_str(cli, "reason");
	int err = kluis_entry_erase(cli->dossier, argv[1], reason, cli_str(cli, "basis"));

	if (err == 0)
		fprintf(stderr, "kluis: entry %s erased; its ciphertext is gone from the repository and every pack\n", argv[1]);
	kluis_wipe((void *)reason, strlen(reason)); /* it is in the argument vector */
	return err;
}
