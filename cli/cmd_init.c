/*
 * cmd_init.c - kluis init: create a dossier for one klant's traject.
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
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

int cmd_init(kluis_cli *cli, int argc, char **argv)
{
	enum { O_KLANT = OPT_CMD_BASE, O_MEDEWERKER, O_DIRECTIE, O_OPDRACHTGEVER, O_TRAJECT, O_RETENTION, O_TRUST,
	       O_VERTEGENWOORDIGER, O_BIRTH, O_REPRESENTED };
	static const struct option opts[] = {
		{ "klant", required_argument, NULL, O_KLANT },
		{ "medewerker", required_argument, NULL, O_MEDEWERKER },
		{ "directie", required_argument, NULL, O_DIRECTIE },
		{ "opdrachtgever", required_argument, NULL, O_OPDRACHTGEVER },
		{ "traject", required_argument, NULL, O_TRAJECT },
		{ "retention-years", required_argument, NULL, O_RETENTION },
		{ "trust", required_argument, NULL, O_TRUST },
		{ "vertegenwoordiger", required_argument, NULL, O_VERTEGENWOORDIGER },
		{ "birth-date", required_argument, NULL, O_BIRTH },
		{ "represented", no_argument, NULL, O_REPRESENTED },
		CLI_GLOBAL_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	kluis_init_opts o;
	kluis_vault *v = NULL;
	const char *retention = NULL;
	git_oid commit;
	char *end;
	int c, rc, err;

	cli->usage = usage;
	memset(&o, 0, sizeof(o));
	while ((c = cli_getopt(argc, argv, "h", opts)) != -1) {
		rc = CLI_OK;
		switch (c) {
		case O_KLANT: rc = cli_once(cli, &o.klant, optarg, "--klant"); break;
		case O_MEDEWERKER: rc = cli_once(cli, &o.medewerker, optarg, "--medewerker"); break;
		case O_DIRECTIE: rc = cli_once(cli, &o.directie, optarg, "--directie"); break;
		case O_OPDRACHTGEVER: rc = cli_once(cli, &o.opdrachtgever, optarg, "--opdrachtgever"); break;
		case O_TRAJECT: rc = cli_once(cli, &o.traject, optarg, "--traject"); break;
		case O_RETENTION: rc = cli_once(cli, &retention, optarg, "--retention-years"); break;
		case O_TRUST: rc = cli_once(cli, &o.trust, optarg, "--trust"); break;
		case O_VERTEGENWOORDIGER: rc = cli_once(cli, &o.vertegenwoordiger, optarg, "--vertegenwoordiger"); break;
		case O_BIRTH: rc = cli_once(cli, &o.birth_date, optarg, "--birth-date"); break;
		case O_REPRESENTED: o.represented = true; break;
		default:
			if (!cli_global_option(cli, c, optarg))
				return cli_bad_option(cli, argc, argv);
		}
		if (rc != CLI_OK)
			return rc;
	}
	if (cli->help)
		return cli_print_usage(cli);
	if (optind != argc - 1)
		return cli_usage_error(cli, optind >= argc ? "init needs a dossier ID" : "init takes one dossier ID, got '%s' too", argv[argc - 1]);
	o.id = argv[optind];
	if (!o.klant || !o.medewerker || !o.directie || !o.opdrachtgever)
		return cli_usage_error(cli, "init needs --klant, --medewerker, --directie and --opdrachtgever (key fingerprints)");
	if (retention) {
		long n = strtol(retention, &end, 10);
		if (*end || n < 1 || n > 100)
			return cli_usage_error(cli, "--retention-years must be a whole number from 1 to 100, not '%s'", retention);
		o.retention_years = (int)n;
	}
	if ((rc = cli_open_vault(cli, &v, KLUIS_VAULT_CREATE | KLUIS_VAULT_SIGN)) != CLI_OK)
		return rc;
	err = kluis_dossier_init(v, &o, &commit);
	if (err < 0) {
		rc = cli_fail(err);
	} else {
		char hex[GIT_OID_HEXSZ + 1];
		git_oid_tostr(hex, sizeof(hex), &commit);
		if (cli->json)
			rc = cli_print_json(json_pack("{s:s, s:s, s:s}", "dossier", o.id, "commit", hex, "vault", kluis_vault_root(v)));
		else
			fprintf(stderr, "kluis: dossier '%s' created in %s (commit %.12s)\n", o.id, kluis_vault_root(v), hex);
	}
	/* they are in the argument vector, readable in /proc while we run */
	if (o.traject)
		kluis_wipe((void *)o.traject, strlen(o.traject));
	if (o.birth_date)
		kluis_wipe((void *)o.birth_date, strlen(o.birth_date));
	kluis_vault_free(v);
	return rc;
}
