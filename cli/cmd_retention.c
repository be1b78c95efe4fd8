/*
 * cmd_retention.c - kluis retention: the retention deadline of every dossier (W7: 10 years at
 * the opdrachtgever; P13.2: 2 years after the end of service where the organisation keeps it).
 */
#include "cli.h"
#include "vault/exchange/lifecycle.h"

#include <stdio.h>
#include <stdlib.h>

const char cmd_retention_usage[] =
	"Usage: kluis retention [--due] [--json]\n\n"
	"The retention deadline per dossier: for an imported dossier 10 years (or what import was\n"
	"given) from the import (W7); for one kept here, its retention years from the end of the\n"
	"traject (P13.2, default 2). Open trajecten have no deadline yet. --due lists only the\n"
	"dossiers whose deadline has passed: 'kluis destroy' them.\n";

const cli_option cmd_retention_options[] = {
	{ "due", 0, NULL, 0, "only the dossiers whose deadline has passed" },
	{ NULL, 0, NULL, 0, NULL },
};

int cmd_retention(kluis_cli *cli, int argc, char **argv)
{
	kluis_retention *r = NULL;
	json_t *arr = json_array();
	bool due = cli_flag(cli, "due");
	size_t n = 0, i;
	char when[21];
	int64_t now = kluis_now();
	int rc = CLI_OK;

	if ((rc = kluis_retention_list(cli->vault, false, &r, &n)) < 0)
		goto cleanup;
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
	return rc;
}
