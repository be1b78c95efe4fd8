/*
 * cmd_list.c - kluis list: the dossiers in the vault with state, entry count, last change and
 * retention deadline. Reads only plaintext metadata (ids, states, times).
 */
#include "cli.h"
#include "vault/exchange/lifecycle.h"

#include <stdio.h>

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
	kluis_dossier *d = NULL;
	kluis_dossier_status st;
	kluis_retention ret;
	json_t *arr = json_array();
	char **ids = NULL, last[21], deadline[21];
	size_t n = 0, i;
	int rc;

	if ((rc = kluis_vault_dossier_ids(cli->vault, &ids, &n)) < 0)
		goto cleanup;
	if (!cli->json)
		printf("%-24s  %-8s  %7s  %-20s  %s\n", "DOSSIER", "STATE", "ENTRIES", "LAST CHANGE", "RETENTION");
	for (i = 0; i < n; i++) {
		if ((rc = kluis_dossier_open(&d, cli->vault, ids[i])) < 0 || (rc = kluis_dossier_status_get(d, &st)) < 0 ||
		    (rc = kluis_retention_get(cli->vault, ids[i], &ret)) < 0)
			goto cleanup;
		kluis_time_iso(st.last_change, last);
		deadline_of(&ret, deadline);
		if (cli->json)
			json_array_append_new(arr, json_pack("{s:s, s:s, s:I, s:s, s:s?, s:i}", "dossier", ids[i], "state", ret.imported ? "imported" : st.state,
							     "entries", (json_int_t)st.entries, "last_change", last,
							     "retention_deadline", ret.deadline ? deadline : NULL, "retention_years",
							     ret.years));
		else
			printf("%-24s  %-8s  %7zu  %-20s  %s\n", ids[i], ret.imported ? "imported" : st.state, st.entries, last, deadline);
		kluis_dossier_free(d);
		d = NULL;
	}
	if (cli->json)
		rc = cli_print_json(json_pack("{s:s, s:O}", "vault", kluis_vault_root(cli->vault), "dossiers", arr));
cleanup:
	json_decref(arr);
	kluis_dossier_free(d);
	kluis_strings_free(ids, n);
	return rc;
}
