/*
 * cmd_consent.c - kluis consent: the consent register (W5b, P4, P7.2, P8). A grant or a
 * withdrawal is a signed, encrypted entry; the latest one per scope is in force, so a
 * withdrawal takes effect at once and is never lost.
 */
#include "cli.h"
#include "vault/rights.h"

#include <stdio.h>
#include <string.h>

static const char usage[] =
	"Usage: kluis consent ID (grant | withdraw) --purpose TEXT [--scope CAT] [--to-opdrachtgever]\n"
	"       kluis consent ID withdraw --grant ENTRY --purpose TEXT\n\n"
	"Record the klant's consent (or its withdrawal) for a purpose. --scope names a special\n"
	"category (P8: health, religion, ...) an entry with --special needs, else 'algemeen'.\n"
	"--to-opdrachtgever: the consent lets that category reach the opdrachtgever too (UWV, for\n"
	"one, accepts no medical information; without it such entries are withheld from it).\n"
	"By the klant, the klant's vertegenwoordiger (P4), or the medewerker recording it.\n\n"
	"A withdrawal ends the grant in force for --scope, found by reading the register (a read on\n"
	"record); or the grant named by --grant ENTRY (its id in 'kluis log'), with nothing read:\n"
	"so the vertegenwoordiger, who holds no reading role, can withdraw too (P4.2).\n";

int cmd_consent(kluis_cli *cli, int argc, char **argv)
{
	enum { O_PURPOSE = OPT_CMD_BASE, O_SCOPE, O_TO_OPDR, O_GRANT };
	static const struct option opts[] = {
		{ "purpose", required_argument, NULL, O_PURPOSE },
		{ "scope", required_argument, NULL, O_SCOPE },
		{ "to-opdrachtgever", no_argument, NULL, O_TO_OPDR },
		{ "grant", required_argument, NULL, O_GRANT },
		CLI_GLOBAL_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	const char *purpose = NULL, *scope = NULL, *grant_id = NULL;
	bool to_opdr = false, grant;
	kluis_vault *v = NULL;
	kluis_dossier *d = NULL;
	char id[KLUIS_ENTRY_ID_LEN + 1];
	int c, rc = CLI_OK, err;

	cli->usage = usage;
	while ((c = cli_getopt(argc, argv, "h", opts)) != -1) {
		if (c == O_PURPOSE)
			rc = cli_once(cli, &purpose, optarg, "--purpose");
		else if (c == O_SCOPE)
			rc = cli_once(cli, &scope, optarg, "--scope");
		else if (c == O_TO_OPDR)
			to_opdr = true;
		else if (c == O_GRANT)
			rc = cli_once(cli, &grant_id, optarg, "--grant");
		else if (!cli_global_option(cli, c, optarg))
			return cli_bad_option(cli, argc, argv);
		if (rc != CLI_OK)
			return rc;
	}
	if (cli->help)
		return cli_print_usage(cli);
	if (optind != argc - 2 || (strcmp(argv[optind + 1], "grant") && strcmp(argv[optind + 1], "withdraw")))
		return cli_usage_error(cli, "use 'kluis consent ID grant|withdraw --purpose TEXT'");
	grant = strcmp(argv[optind + 1], "grant") == 0;
	if (grant && grant_id)
		return cli_usage_error(cli, "--grant ENTRY names the grant a withdrawal ends; a grant takes --scope");
	if (!purpose)
		return cli_usage_error(cli, "consent needs --purpose TEXT");
	if (scope && strcmp(scope, "algemeen") && strcmp(scope, "health") && strcmp(scope, "religion") && strcmp(scope, "race") &&
	    strcmp(scope, "politics") && strcmp(scope, "sexual") && strcmp(scope, "union") && strcmp(scope, "criminal") &&
	    strcmp(scope, "biometric") && strcmp(scope, "genetic"))
		return cli_usage_error(cli, "unknown --scope '%s' (algemeen, or a P8 category: health, religion, race, politics, sexual, union, criminal, biometric, genetic)", scope);
	if ((rc = cli_open_vault(cli, &v, KLUIS_VAULT_SIGN)) != CLI_OK)
		return rc;
	if ((err = kluis_dossier_open(&d, v, argv[optind])) < 0 || (err = kluis_consent_record(d, grant, grant_id, purpose, scope, to_opdr, id)) < 0)
		rc = cli_fail(err);
	else if (cli->json)
		rc = cli_print_json(json_pack("{s:s, s:s, s:s, s:s}", "dossier", argv[optind], "entry", id, "consent", grant ? "grant" : "withdraw",
					      "scope", scope ? scope : "algemeen"));
	else
		printf("%s\n", id);
	kluis_wipe((void *)purpose, strlen(purpose));
	kluis_dossier_free(d);
	kluis_vault_free(v);
	return rc;
}
