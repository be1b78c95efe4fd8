/*
 * cmd_list.c - kluis list: the dossiers in the vault with state, entry count, last change and
 * retention deadline. Reads only plaintext metadata (ids, states, times).
 */
#include "cli.h"
#include "vault/exchange/lifecycle.h"

#include <stdio.h>
#include <stdlib.h>

const char cmd_list_usage[] =
	"Usage: kluis list [--json]\n\n"
	"The dossiers in the vault: state (open, closed), number of entries, last change, and the\n"
	"retention deadline (it starts when the traject ends: P13.2, by default 2 years).\n";

static void deadline_of(const kluis_retention *r, char out[21])
{
	if (!r->deadline) {
		snprintf(out, 21, "-");
		return;
	}
	kluis_time_iso(r->deadline, out);
	out[10] = '\0';
}

int cmd_list(kluis_cli *cli, int argc, char **argv)
{
	kluis_retention *r = NULL;
	kluis_dossier *d = NULL;
	json_t *arr = json_array();
	char last[21], deadline[21];
	size_t n = 0, i;
	int rc;

	/* the ledger read once, each dossier's head read once (kluis_dossier_summary) */
	if ((rc = kluis_retention_list(cli->vault, true, &r, &n)) < 0)
		goto cleanup;
	if (!cli->json)
		printf("%-24s  %-8s  %7s  %-20s  %s\n", "DOSSIER", "STATE", "ENTRIES", "LAST CHANGE", "RETENTION");
	for (i = 0; i < n; i++) {
		/* a dossier whose head cannot be read (no head: status zeroed): the general open names
		 * why, and list stops, as ever */
		if (git_oid_is_zero(&r[i].status.head) && (rc = kluis_dossier_open(&d, cli->vault, r[i].dossier)) < 0)
			goto cleanup;
		kluis_dossier_free(d);
		d = NULL;
		kluis_time_iso(r[i].status.last_change, last);
		deadline_of(&r[i], deadline);
		if (cli->json)
			json_array_append_new(arr, json_pack("{s:s, s:s, s:I, s:s, s:s?, s:i}", "dossier", r[i].dossier, "state", r[i].state,
							     "entries", (json_int_t)r[i].status.entries, "last_change", last,
							     "retention_deadline", r[i].deadline ? deadline : NULL, "retention_years", r[i].years));
		else
			printf("%-24s  %-8s  %7zu  %-20s  %s\n", r[i].dossier, r[i].state, r[i].status.entries, last, deadline);
	}
	if (cli->json)
		rc = cli_print_json(json_pack("{s:s, s:O}", "vault", kluis_vault_root(cli->vault), "dossiers", arr));
cleanup:
	json_decref(arr);
	free(r);
	return rc;
}
