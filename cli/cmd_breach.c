/*
 * cmd_breach.c - kluis breach: the vault's data-breach register (P15): every breach with its
 * 72-hour deadline for reporting to the Autoriteit Persoonsgegevens, signed and encrypted to
 * the directie.
 */
#include "cli.h"
#include "vault/breach.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
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
		return cli_fail(err);
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

int cmd_breach(kluis_cli *cli, int argc, char **argv)
{
	enum { O_DESC = OPT_CMD_BASE, O_FOUND, O_DOSSIER };
	static const struct option opts[] = {
		{ "description", required_argument, NULL, O_DESC },
		{ "found", required_argument, NULL, O_FOUND },
		{ "dossier", required_argument, NULL, O_DOSSIER },
		CLI_GLOBAL_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	const char *desc = NULL, *found_s = NULL, **dossiers = NULL;
	size_t nd = 0;
	int64_t found = kluis_now();
	kluis_vault *v = NULL;
	char id[KLUIS_ENTRY_ID_LEN + 1];
	int c, rc = CLI_OK, err;

	cli->usage = usage;
	dossiers = calloc((size_t)argc + 1, sizeof(*dossiers));
	if (!dossiers)
		return cli_fail(kluis_error_set(KLUIS_EGENERIC, "out of memory"));
	while ((c = cli_getopt(argc, argv, "h", opts)) != -1) {
		if (c == O_DESC)
			rc = cli_once(cli, &desc, optarg, "--description");
		else if (c == O_FOUND)
			rc = cli_once(cli, &found_s, optarg, "--found");
		else if (c == O_DOSSIER) {
			if (!kluis_id_valid(optarg))
				rc = cli_usage_error(cli, "'%s' is not a dossier id", optarg);
			dossiers[nd++] = optarg;
		} else if (!cli_global_option(cli, c, optarg))
			rc = cli_bad_option(cli, argc, argv);
		if (rc != CLI_OK)
			goto cleanup;
	}
	if (cli->help) {
		rc = cli_print_usage(cli);
		goto cleanup;
	}
	if (optind >= argc) {
		rc = cli_usage_error(cli, "use 'kluis breach add|reported|list'");
		goto cleanup;
	}
	if (found_s && kluis_time_parse(found_s, &found) < 0) {
		rc = cli_fail(KLUIS_EINVAL);
		goto cleanup;
	}
	if (strcmp(argv[optind], "add") == 0 ? (argc - optind != 1 || !desc)
	    : strcmp(argv[optind], "reported") == 0 ? argc - optind != 2
	    : strcmp(argv[optind], "list") == 0 ? argc - optind != 1 : true) {
		rc = cli_usage_error(cli, "use 'kluis breach add --description TEXT', 'kluis breach reported BREACH' or 'kluis breach list'");
		goto cleanup;
	}
	if ((rc = cli_open_vault(cli, &v, strcmp(argv[optind], "list") ? KLUIS_VAULT_SIGN : 0)) != CLI_OK)
		goto cleanup;
	if (strcmp(argv[optind], "list") == 0) {
		rc = list(cli, v);
	} else if (strcmp(argv[optind], "reported") == 0) {
		if ((err = kluis_breach_reported(v, argv[optind + 1], kluis_now())) < 0)
			rc = cli_fail(err);
	} else if ((err = kluis_breach_add(v, found, desc, dossiers, nd, id)) < 0) {
		rc = cli_fail(err);
	} else {
		printf("%s\n", id);
	}
cleanup:
	if (desc)
		kluis_wipe((void *)desc, strlen(desc));
	free(dossiers);
	kluis_vault_free(v);
	return rc;
}
