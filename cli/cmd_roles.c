/*
 * cmd_roles.c - kluis roles: show who may read and act in a dossier, or change it (directie).
 * A change is one signed roles commit plus one signed rewrap commit that re-encrypts every
 * entry for the new readers, so a removed key can read nothing added after its removal and
 * a new adviser can read the existing dossier.
 */
#include "cli.h"
#include "vault/store/rights.h"

#include <stdio.h>

const char cmd_roles_usage[] =
	"Usage: kluis roles ID [--add ROLE FPR] [--remove FPR]\n\n"
	"Without options: the roles of dossier ID (role and key fingerprint). With --add and/or\n"
	"--remove (directie only): change them, then re-encrypt every entry for the new readers in\n"
	"one signed rewrap commit (the same plaintext, new ciphertext). ROLE: klant, medewerker,\n"
	"directie, opdrachtgever, vertegenwoordiger, auditor. Example, an adviser takes over:\n"
	"  kluis roles k-0042 --add medewerker NEWFPR --remove OLDFPR\n";

const cli_option cmd_roles_options[] = {
	{ "add", 0, "ROLE FPR", CLI_PAIR, "give key FPR the role ROLE" },
	{ "remove", 0, "FPR", 0, "take every role from key FPR" },
	{ NULL, 0, NULL, 0, NULL },
};

int cmd_roles_check(kluis_cli *cli, int argc, char **argv)
{
	unsigned role;

	if (cli_str(cli, "add") && kluis_role_parse(cli_str(cli, "add"), &role) < 0)
		return KLUIS_EINVAL; /* kluis_role_parse set the message */
	if (cli_str(cli, "add") || cli_str(cli, "remove"))
		cli->needs |= CLI_NEED_SIGN; /* a change is signed */
	return CLI_OK;
}

int cmd_roles(kluis_cli *cli, int argc, char **argv)
{
	const char *const *add;
	const kluis_roles *r;
	unsigned role = 0;
	size_t i, rewrapped = 0, nadd;
	json_t *arr;
	int err;

	add = cli_list(cli, "add", &nadd);
	if (cli->needs & CLI_NEED_SIGN) {
		if (nadd)
			kluis_role_parse(add[0], &role);
		if ((err = kluis_roles_change(cli->dossier, role, nadd ? add[1] : NULL, cli_str(cli, "remove"), &rewrapped)) < 0)
			return err;
		fprintf(stderr, "kluis: roles changed; %zu entries re-encrypted for the new readers\n", rewrapped);
	}
	r = kluis_dossier_roles(cli->dossier);
	arr = json_array();
	for (i = 0; i < r->n; i++) {
		if (cli->json)
			json_array_append_new(arr, json_pack("{s:s, s:s}", "role", kluis_role_name(r->v[i].role), "key", r->v[i].fpr));
		else
			printf("%-17s %s\n", kluis_role_name(r->v[i].role), r->v[i].fpr);
	}
	if (cli->json)
		return cli_print_json(json_pack("{s:s, s:o}", "dossier", argv[0], "roles", arr));
	json_decref(arr);
	return CLI_OK;
}
