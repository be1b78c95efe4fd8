/*
 * entry_cmd.h - the argument parser shared by the commands that add entries (add, statement).
 */
#ifndef KLUIS_CLI_ENTRY_CMD_H
#define KLUIS_CLI_ENTRY_CMD_H

#include "cli.h"

int cli_entry_command(kluis_cli *cli, int argc, char **argv, kluis_action action);

#endif
