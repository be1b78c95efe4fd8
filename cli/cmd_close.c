/*
 * cmd_close.c - kluis close: the end of the traject. Afterwards the dossier takes only the
 * klant's statements and reads, until it is transferred (W7).
 */
#include "cli.h"
#include "vault/exchange/lifecycle.h"

#include <stdio.h>

const char cmd_close_usage[] =
	"Usage: kluis close ID\n\n"
	"End the traject of dossier ID with a signed close commit (medewerker or directie). After\n"
	"it, only the klant's statements and reads are accepted; 'kluis transfer' hands it over to\n"
	"the opdrachtgever. The retention term (P13.2) starts now.\n";

int cmd_close(kluis_cli *cli, int argc, char **argv)
{
	int err = kluis_dossier_close(cli->dossier);

	if (err == 0)
		fprintf(stderr, "kluis: dossier '%s' closed; the traject has ended\n", argv[0]);
	return err;
}
