/*
 * cmd_breach.c - kluis breach: the vault's data-breach register (P15): every breach with its
 * 72-hour deadline for reporting to the Autoriteit Persoonsgegevens, signed and encrypted to
 * the directie.
 */
#include "cli.h"
#include "vault/report/breach.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char cmd_breach_usage[] =
	"Usage: kluis breach add --description TEXT [--found DATE] [--dossier ID]...\n"
	"       kluis breach reported BREACH\n"
	"       kluis breach list [--json]\n\n"
	"The data-breach register (WerkPro P15): 'add' records a breach (anyone on the staff, the\n"
	"moment it is found; the description is encrypted to the directie; --found defaults to now)\n"
	"and prints its id; the deadline to report it to the Autoriteit Persoonsgegevens is 72 hours\n"
	"after it was found. 'reported' records that it was reported (the directie, once per breach).\n"
	"'list' decrypts the register (directie) and warns on stderr about breaches past their\n"
	"deadline and not reported.\n";

static int list(kluis_cli *cli, kluis_vault *v)
{
	kluis_breach *b = NULL;
	json_t *arr = json_array(), *reports = json_array(), *j;
	size_t n = 0, i, k;
	int64_t now = kluis_now(), dl;
	int err, late = 0;

	if ((err = kluis_breach_list(v, &b, &n)) < 0) {
		json_decref(arr);
		json_decref(reports);
		return err;
	}
	for (i = 0; i < n; i++) {
		j = json_loadb((const char *)b[i].record.ptr, b[i].record.len, 0, NULL);
		if (j && json_object_get(j, "reported"))
			json_array_append_new(reports, j);
		else if (j)
			json_array_append_new(arr, j);
	}
	if (!cli->json)
		printf("%-21s  %-20s  %-20s  %-8s  %s\n", "BREACH", "FOUND", "REPORT BEFORE", "REPORTED", "DESCRIPTION");
	for (i = 0; i < json_array_size(arr); i++) {
		json_t *r = json_array_get(arr, i);
		const char *id = json_string_value(json_object_get(r, "id"));
		const char *deadline = json_string_value(json_object_get(r, "report_deadline"));
		const char *reported = NULL;
		for (k = 0; k < json_array_size(reports); k++)
			if (strcmp(json_string_value(json_object_get(json_array_get(reports, k), "breach")) ?: "", id ?: "") == 0)
				reported = json_string_value(json_object_get(json_array_get(reports, k), "reported"));
		if (reported)
			json_object_set_new(r, "reported", json_string(reported));
		dl = 0;
		if (deadline)
			kluis_time_parse(deadline, &dl);
		if (!reported && dl && dl < now)
			late++;
		if (!cli->json)
			printf("%-21s  %-20s  %-20s  %-8s  %s\n", id, json_string_value(json_object_get(r, "found")), deadline ? deadline : "-",
			       reported ? "yes" : "no", json_string_value(json_object_get(r, "description")));
	}
	if (cli->json)
		cli_print_json(json_pack("{s:O}", "breaches", arr));
	if (late)
		fprintf(stderr, "kluis: warning: %d breach%s past the 72-hour deadline and not reported to the Autoriteit Persoonsgegevens (P15)\n",
			late, late == 1 ? " is" : "es are");
	json_decref(arr);
	json_decref(reports);
	kluis_breaches_free(b, n);
	return CLI_OK;
}

const cli_option cmd_breach_options[] = {
	{ "description", 0, "TEXT", 0, "add: what happened (encrypted to the directie)" },
	{ "found", 0, "DATE", 0, "add: when it was found (default: now)" },
	{ "dossier", 0, "ID", CLI_MANY, "add: a dossier it concerns" },
	{ NULL, 0, NULL, 0, NULL },
};

int cmd_breach_check(kluis_cli *cli, int argc, char **argv)
{
	const char *const *dossiers;
	size_t n, i;
	int64_t t;

	dossiers = cli_list(cli, "dossier", &n);
	for (i = 0; i < n; i++)
		if (!kluis_id_valid(dossiers[i]))
			return cli_usage_error(cli, "'%s' is not a dossier id", dossiers[i]);
	if (cli_str(cli, "found") && kluis_time_parse(cli_str(cli, "found"), &t) < 0)
		return KLUIS_EINVAL; /* kluis_time_parse set the message */
	if (strcmp(argv[0], "add") == 0 ? (argc != 1 || !cli_str(cli, "description"))
	    : strcmp(argv[0], "reported") == 0 ? argc != 2
	    : strcmp(argv[0], "list") == 0 ? argc != 1 : true)
		return cli_usage_error(cli, "use 'kluis breach add --description TEXT', 'kluis breach reported BREACH' or 'kluis breach list'");
	if (strcmp(argv[0], "list") != 0)
		cli->needs |= CLI_NEED_SIGN;
	return CLI_OK;
}

int cmd_breach(kluis_cli *cli, int argc, char **argv)
{
	const char *desc = cli_str(cli, "description"), *const *dossiers;
	int64_t found = kluis_now();
	char id[KLUIS_ENTRY_ID_LEN + 1];
	size_t nd;
	int err;

	dossiers = cli_list(cli, "dossier", &nd);
	if (cli_str(cli, "found"))
		kluis_time_parse(cli_str(cli, "found"), &found);
	if (strcmp(argv[0], "list") == 0)
		err = list(cli, cli->vault);
	else if (strcmp(argv[0], "reported") == 0)
		err = kluis_breach_reported(cli->vault, argv[1], kluis_now());
	else if ((err = kluis_breach_add(cli->vault, found, desc, dossiers, nd, id)) == 0)
		printf("%s\n", id);
	if (desc)
		kluis_wipe((void *)desc, strlen(desc)); /* it is in the argument vector */
	return err;
}
