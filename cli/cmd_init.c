/*
 * cmd_init.c - kluis init: create a dossier for one klant's traject.
 */
#include "cli.h"
#include "vault/exchange/lifecycle.h"

#include <stdio.h>
#include <string.h>

const char cmd_init_usage[] =
	"Usage: kluis init ID --klant FPR --medewerker FPR --directie FPR --opdrachtgever FPR\n"
	"                  [--traject TEXT] [--retention-years N] [--trust FPR]\n"
	"                  [--vertegenwoordiger FPR] [--birth-date YYYY-MM-DD] [--represented]\n\n"
	"Create the dossier ID (pseudonymous: 1 to 64 of [a-z0-9-], never a name) with the four\n"
	"reading roles (W6a). Every entry will be encrypted to exactly these keys. Run it as the\n"
	"directie or the medewerker named. --traject is stored encrypted. --retention-years (default\n"
	"2, P13.2) is how long the organisation keeps it after the traject. The vault's trust root\n"
	"(the directie key, or --trust FPR) is recorded at the first init; auditors verify from it.\n\n"
	"Representation (P4.1): a klant under 16 (--birth-date, stored encrypted), under curatele or\n"
	"with a mentor (--represented) cannot give consent alone; the consent must come from the\n"
	"wettelijk vertegenwoordiger, whose key --vertegenwoordiger names (or later: kluis roles ID\n"
	"--add vertegenwoordiger FPR). The vertegenwoordiger signs consents; it is not a reader.\n\n"
	"Example:\n  kluis init k-0042 --klant F1.. --medewerker F2.. --directie F3.. --opdrachtgever F4..\n";

const cli_option cmd_init_options[] = {
	{ "klant", 0, "FPR", CLI_REQUIRED, "the klant's key" },
	{ "medewerker", 0, "FPR", CLI_REQUIRED, "the medewerker's key" },
	{ "directie", 0, "FPR", CLI_REQUIRED, "the directie's key" },
	{ "opdrachtgever", 0, "FPR", CLI_REQUIRED, "the opdrachtgever's key" },
	{ "traject", 0, "TEXT", 0, "what the traject is (stored encrypted)" },
	{ "retention-years", 0, "N", 0, "kept N years after the traject (default 2, P13.2)" },
	{ "trust", 0, "FPR", 0, "the vault's trust root, at its first init (default: the directie key)" },
	{ "vertegenwoordiger", 0, "FPR", 0, "the klant's wettelijk vertegenwoordiger (P4.1)" },
	{ "birth-date", 0, "YYYY-MM-DD", 0, "the klant's birth date (stored encrypted)" },
	{ "represented", 0, NULL, 0, "the klant is under curatele or has a mentor" },
	{ NULL, 0, NULL, 0, NULL },
};

int cmd_init_check(kluis_cli *cli, int argc, char **argv)
{
	int years;

	return cli_years(cli, &years);
}

int cmd_init(kluis_cli *cli, int argc, char **argv)
{
	kluis_init_opts o = {
		.id = argv[0],
		.klant = cli_str(cli, "klant"),
		.medewerker = cli_str(cli, "medewerker"),
		.directie = cli_str(cli, "directie"),
		.opdrachtgever = cli_str(cli, "opdrachtgever"),
		.traject = cli_str(cli, "traject"),
		.trust = cli_str(cli, "trust"),
		.vertegenwoordiger = cli_str(cli, "vertegenwoordiger"),
		.birth_date = cli_str(cli, "birth-date"),
		.represented = cli_flag(cli, "represented"),
	};
	char hex[GIT_OID_HEXSZ + 1];
	git_oid commit;
	int err;

	cli_years(cli, &o.retention_years);
	if ((err = kluis_dossier_create(cli->vault, &o, &commit)) == 0) {
		git_oid_tostr(hex, sizeof(hex), &commit);
		if (cli->json)
			err = cli_print_json(json_pack("{s:s, s:s, s:s}", "dossier", o.id, "commit", hex, "vault", kluis_vault_root(cli->vault)));
		else
			fprintf(stderr, "kluis: dossier '%s' created in %s (commit %.12s)\n", o.id, kluis_vault_root(cli->vault), hex);
	}
	/* they are in the argument vector, readable in /proc while we run */
	if (o.traject)
		kluis_wipe((void *)o.traject, strlen(o.traject));
	if (o.birth_date)
		kluis_wipe((void *)o.birth_date, strlen(o.birth_date));
	return err;
}
