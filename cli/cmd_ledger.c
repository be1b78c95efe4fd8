/*
 * cmd_ledger.c - kluis ledger show: the vault's lifecycle events (creations, transfers,
 * imports, destructions), each destruction with its verklaring van vernietiging.
 */
#include "cli.h"
#include "vault/ledger.h"

#include <stdio.h>
#include <string.h>

static const char usage[] =
	"Usage: kluis ledger show [ID] [--json]\n\n"
	"The vault's ledger: every creation, transfer, import and destruction, signed, with the\n"
	"destruction certificates (verklaringen van vernietiging) printed in full. ID limits it to\n"
	"one dossier. 'kluis verify' style checks of the ledger's signatures: git verify-commit.\n";

int cmd_ledger(kluis_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { CLI_GLOBAL_OPTIONS, { NULL, 0, NULL, 0 } };
	kluis_vault *v = NULL;
	kluis_ledger_event *ev = NULL;
	json_t *arr = NULL;
	size_t n = 0, i, j;
	char when[21], hex[GIT_OID_HEXSZ + 1];
	const char *id = NULL;
	int c, rc = CLI_OK, err;

	cli->usage = usage;
	while ((c = cli_getopt(argc, argv, "h", opts)) != -1)
		if (!cli_global_option(cli, c, optarg))
			return cli_bad_option(cli, argc, argv);
	if (cli->help)
		return cli_print_usage(cli);
	if (optind >= argc || strcmp(argv[optind], "show") != 0)
		return cli_usage_error(cli, "use 'kluis ledger show [ID]'");
	if (argc - optind > 2)
		return cli_usage_error(cli, "ledger show takes at most one dossier ID");
	if (argc - optind == 2)
		id = argv[optind + 1];
	if ((rc = cli_open_vault(cli, &v, 0)) != CLI_OK)
		return rc;
	if ((err = kluis_ledger_events(v, id, &ev, &n)) < 0) {
		rc = cli_fail(err);
		goto cleanup;
	}
	arr = json_array();
	for (i = 0; i < n; i++) {
		kluis_time_iso(ev[i].time, when);
		git_oid_tostr(hex, sizeof(hex), &ev[i].commit);
		if (cli->json) {
			json_t *fields = json_object();
			for (j = 0; j < ev[i].nfields; j++)
				json_object_set_new(fields, ev[i].fields[j].key, json_string(ev[i].fields[j].value));
			json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:s?}", "time", when, "action", ev[i].action,
							     "dossier", ev[i].dossier, "role", ev[i].role, "key", ev[i].fpr, "commit", hex,
							     "fields", fields, "certificate", ev[i].certificate));
			continue;
		}
		printf("%s  %-8s  %-24s  %-13s  %s\n", when, ev[i].action, ev[i].dossier, ev[i].role, ev[i].fpr);
		for (j = 0; j < ev[i].nfields; j++)
			if (strcmp(ev[i].fields[j].key, "Kluis-Action") && strcmp(ev[i].fields[j].key, "Kluis-Dossier") &&
			    strcmp(ev[i].fields[j].key, "Kluis-Role") && strcmp(ev[i].fields[j].key, "Kluis-Seq"))
				printf("    %s: %s\n", ev[i].fields[j].key + 6, ev[i].fields[j].value);
		if (ev[i].certificate)
			printf("\n%s\n", ev[i].certificate);
	}
	if (cli->json)
		rc = cli_print_json(json_pack("{s:O}", "events", arr));
cleanup:
	json_decref(arr);
	kluis_ledger_events_free(ev, n);
	kluis_vault_free(v);
	return rc;
}
