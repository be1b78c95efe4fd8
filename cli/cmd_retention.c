/*
 * cmd_retention.c - kluis retention: the retention deadline of every dossier (W7: 10 years at
 * the opdrachtgever; P13.2: 2 years after the end of service where the organisation keeps it).
 */
#include "cli.h"
#include "vault/lifecycle.h"

#include <stdio.h>
#include <stdlib.h>

static const char usage[] =
	"Usage: kluis retention [--due] [--json]\n\n"
	"The retention deadline per dossier: for an imported dossier 10 years (or what import was\n"
	"given) from the import (W7); for one kept here, its retention years from the end of the\n"
	"traject (P13.2, default 2). Open trajecten have no deadline yet. --due lists only the\n"
	"dossiers whose deadline has passed: 'kluis destroy' them.\n";

int cmd_retention(kluis_cli *cli, int argc, char **argv)
{
	enum { O_DUE = OPT_CMD_BASE };
	static const struct option opts[] = { { "due", no_argument, NULL, O_DUE }, CLI_GLOBAL_OPTIONS, { NULL, 0, NULL, 0 } };
	kluis_vault *v = NULL;
	kluis_retention *r = NULL;
	json_t *arr = json_array();
	bool due = false;
	size_t n = 0, i;
	char when[21];
	int64_t now = kluis_now();
	int c, rc = CLI_OK, err;

	cli->usage = usage;
	while ((c = cli_getopt(argc, argv, "h", opts)) != -1) {
		if (c == O_DUE)
			due = true;
		else if (!cli_global_option(cli, c, optarg)) {
			json_decref(arr);
			return cli_bad_option(cli, argc, argv);
		}
	}
	if (cli->help || optind != argc) {
		json_decref(arr);
		return cli->help ? cli_print_usage(cli) : cli_usage_error(cli, "retention takes no arguments");
	}
	if ((rc = cli_open_vault(cli, &v, 0)) != CLI_OK) {
		json_decref(arr);
		return rc;
	}
	if ((err = kluis_retention_list(v, &r, &n)) < 0) {
		rc = cli_fail(err);
		goto cleanup;
	}
	if (!cli->json)
		printf("%-24s  %-9s  %-10s  %-4s  %s\n", "DOSSIER", "STATE", "DEADLINE", "DUE", "RULE");
	for (i = 0; i < n; i++) {
		bool is_due = r[i].deadline && r[i].deadline <= now;
		if (due && !is_due)
			continue;
		if (r[i].deadline) {
			kluis_time_iso(r[i].deadline, when);
			when[10] = '\0';
		} else {
			snprintf(when, sizeof(when), "-");
		}
		if (cli->json)
			json_array_append_new(arr, json_pack("{s:s, s:s, s:s?, s:b, s:s}", "dossier", r[i].dossier, "state", r[i].state, "deadline",
							     r[i].deadline ? when : NULL, "due", is_due, "rule", r[i].rule));
		else
			printf("%-24s  %-9s  %-10s  %-4s  %s\n", r[i].dossier, r[i].state, when, is_due ? "yes" : "no", r[i].rule);
	}
	if (cli->json)
		rc = cli_print_json(json_pack("{s:O}", "dossiers", arr));
cleanup:
	json_decref(arr);
	free(r);
	kluis_vault_free(v);
	return rc;
}
