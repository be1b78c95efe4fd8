/*
 * cmd_consent.c - kluis consent: the consent register (W5b, P4, P7.2, P8). A grant or a
 * withdrawal is a signed, encrypted entry; the latest one per scope is in force, so a
 * withdrawal takes effect at once and is never lost.
 */
#include "cli.h"
#include "vault/store/rights.h"

#include <stdio.h>
#include <string.h>

const char cmd_consent_usage[] =
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

const cli_option cmd_consent_options[] = {
	{ "purpose", 0, "TEXT", CLI_REQUIRED, "what the consent is for (kept encrypted)" },
	{ "scope", 0, "CAT", 0, "algemeen (the default), or a P8 category" },
	{ "to-opdrachtgever", 0, NULL, 0, "the category may reach the opdrachtgever too" },
	{ "grant", 0, "ENTRY", 0, "the grant a withdrawal ends, read from nothing" },
	{ NULL, 0, NULL, 0, NULL },
};

static const char *const scopes[] = { "algemeen", "health", "religion", "race", "politics", "sexual", "union", "criminal", "biometric", "genetic", NULL };

int cmd_consent_check(kluis_cli *cli, int argc, char **argv)
{
	const char *scope = cli_str(cli, "scope");
	size_t i;

	if (strcmp(argv[1], "grant") && strcmp(argv[1], "withdraw"))
		return cli_usage_error(cli, "use 'kluis consent ID grant|withdraw --purpose TEXT'");
	if (strcmp(argv[1], "grant") == 0 && cli_str(cli, "grant"))
		return cli_usage_error(cli, "--grant ENTRY names the grant a withdrawal ends; a grant takes --scope");
	for (i = 0; scope && scopes[i] && strcmp(scope, scopes[i]); i++)
		;
	if (scope && !scopes[i])
		return cli_usage_error(cli, "unknown --scope '%s' (algemeen, or a P8 category: health, religion, race, politics, sexual, union, criminal, biometric, genetic)", scope);
	return CLI_OK;
}

int cmd_consent(kluis_cli *cli, int argc, char **argv)
{
	const char *purpose = cli_str(cli, "purpose"), *scope = cli_str(cli, "scope");
	bool grant = strcmp(argv[1], "grant") == 0;
	char id[KLUIS_ENTRY_ID_LEN + 1];
	int rc = kluis_consent_record(cli->dossier, grant, cli_str(cli, "grant"), purpose, scope, cli_flag(cli, "to-opdrachtgever"), id);

	if (rc == 0 && cli->json)
		rc = cli_print_json(json_pack("{s:s, s:s, s:s, s:s}", "dossier", argv[0], "entry", id, "consent", grant ? "grant" : "withdraw",
					      "scope", scope ? scope : "algemeen"));
	else if (rc == 0)
		printf("%s\n", id);
	kluis_wipe((void *)purpose, strlen(purpose)); /* it is in the argument vector */
	return rc;
}
