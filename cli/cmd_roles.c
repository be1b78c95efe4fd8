/*
 * cmd_roles.c - kluis roles: show who may read and act in a dossier, or change it (directie).
 * A change is one signed roles commit plus one signed rewrap commit that re-encrypts every
 * entry for the new readers, so a removed key can read nothing added after its removal and
 * a new adviser can read the existing dossier.
 */
#include "cli.h"
#include "vault/rights.h"

#include <stdio.h>

static const char usage[] =
	"Usage: kluis roles ID [--add ROLE FPR] [--remove FPR]\n\n"
	"Without options: the roles of dossier ID (role and key fingerprint). With --add and/or\n"
	"--remove (directie only): change them, then re-encrypt every entry for the new readers in\n"
	"one signed rewrap commit (the same plaintext, new ciphertext). ROLE: klant, medewerker,\n"
	"directie, opdrachtgever, vertegenwoordiger, auditor. Example, an adviser takes over:\n"
	"  kluis roles k-0042 --add medewerker NEWFPR --remove OLDFPR\n";

int cmd_roles(kluis_cli *cli, int argc, char **argv)
{
	enum { O_ADD = OPT_CMD_BASE, O_REMOVE };
	static const struct option opts[] = {
		{ "add", required_argument, NULL, O_ADD },
		{ "remove", required_argument, NULL, O_REMOVE },
		CLI_GLOBAL_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	const char *add_role = NULL, *add_fpr = NULL, *remove = NULL;
	kluis_vault *v = NULL;
	kluis_dossier *d = NULL;
	const kluis_roles *r;
	unsigned role = 0;
	size_t i, rewrapped = 0;
	json_t *arr;
	int c, rc = CLI_OK, err;

	cli->usage = usage;
	while ((c = cli_getopt(argc, argv, "h", opts)) != -1) {
		if (c == O_ADD) {
			rc = cli_once(cli, &add_role, optarg, "--add");
			if (rc == CLI_OK && (optind >= argc || argv[optind][0] == '-'))
				return cli_usage_error(cli, "--add takes a ROLE and a key FPR");
			if (rc == CLI_OK)
				add_fpr = argv[optind++];
		} else if (c == O_REMOVE) {
			rc = cli_once(cli, &remove, optarg, "--remove");
		} else if (!cli_global_option(cli, c, optarg)) {
			return cli_bad_option(cli, argc, argv);
		}
		if (rc != CLI_OK)
			return rc;
	}
	if (cli->help)
		return cli_print_usage(cli);
	if (optind != argc - 1)
		return cli_usage_error(cli, "roles takes one dossier ID");
	if (add_role && kluis_role_parse(add_role, &role) < 0)
		return cli_fail(KLUIS_EINVAL);
	if ((rc = cli_open_vault(cli, &v, (add_role || remove) ? KLUIS_VAULT_SIGN : 0)) != CLI_OK)
		return rc;
	if ((err = kluis_dossier_open(&d, v, argv[optind])) < 0) {
		rc = cli_fail(err);
		goto cleanup;
	}
	if (add_role || remove) {
		if ((err = kluis_roles_change(d, role, add_fpr, remove, &rewrapped)) < 0) {
			rc = cli_fail(err);
			goto cleanup;
		}
		fprintf(stderr, "kluis: roles changed; %zu entries re-encrypted for the new readers\n", rewrapped);
	}
	r = kluis_dossier_roles(d);
	arr = json_array();
	for (i = 0; i < r->n; i++) {
		if (cli->json)
			json_array_append_new(arr, json_pack("{s:s, s:s}", "role", kluis_role_name(r->v[i].role), "key", r->v[i].fpr));
		else
			printf("%-17s %s\n", kluis_role_name(r->v[i].role), r->v[i].fpr);
	}
	if (cli->json)
		rc = cli_print_json(json_pack("{s:s, s:o}", "dossier", argv[optind], "roles", arr));
	else
		json_decref(arr);
cleanup:
	kluis_dossier_free(d);
	kluis_vault_free(v);
	return rc;
}
