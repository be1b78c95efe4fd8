/*
 * cmd_statement.c - kluis statement: the klant's own statement (Werklokaal Art. 6b).
 * Parsing and output are shared with kluis add; the library refuses anyone but the klant.
 */
#include "cli.h"
#include "entry_cmd.h"

int cmd_statement(kluis_cli *cli, int argc, char **argv)
{
	return cli_entry_command(cli, argc, argv, KLUIS_ACT_STATEMENT);
}
