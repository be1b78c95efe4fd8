/*
 * cmd_approve.c - kluis approve: the klant's signed approval of one entry (a plan van aanpak,
 * a report), tied to the commit that added it. A later correction makes it no longer current.
 */
#include "cli.h"
#include "vault/store/rights.h"

#include <stdio.h>

const char cmd_approve_usage[] =
	"Usage: kluis approve ID ENTRY\n\n"
	"The klant approves entry ENTRY (a plan, a report) with a signed commit that names the\n"
	"commit which added it. 'kluis log' and 'kluis inzage' show it; a later correction of the\n"
	"entry shows the approval as no longer current. Only the klant may approve.\n";

int cmd_approve(kluis_cli *cli, int argc, char **argv)
{
	int err = kluis_entry_approve(cli->dossier, argv[1]);

	if (err == 0)
		fprintf(stderr, "kluis: entry %s approved by the klant\n", argv[1]);
	return err;
}
