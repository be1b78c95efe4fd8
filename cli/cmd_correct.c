/*
 * cmd_correct.c - kluis correct: a P11.1 correction, a new entry that supersedes another.
 * Parsing and output are shared with kluis add (cmd_add.c).
 */
#include "cli.h"
#include "entry_cmd.h"

int cmd_correct(kluis_cli *cli, int argc, char **argv)
{
	return cli_entry_command(cli, argc, argv, KLUIS_ACT_CORRECT);
}
