/*
 * cmd_log.c - kluis log: every entry and event of a dossier, newest last, from commit
 * metadata alone (SPEC invariant 5: the klant sees every addition; nothing is decrypted, so
 * an auditor without a secret key can run it).
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

const char cmd_log_usage[] =
	"Usage: kluis log ID [--json]\n\n"
	"Every entry and event of dossier ID, oldest first, newest last: when, what, which entry, of\n"
	"what kind, by which role and key, and every read (with its purpose). Nothing is decrypted:\n"
	"this reads the signed commit metadata only. 'kluis verify' checks the signatures.\n";

static json_t *event_json(const kluis_event *ev)
{
	char hex[GIT_OID_HEXSZ + 1], when[21];
	json_t *entries = json_array(), *o;
	size_t i;

	git_oid_tostr(hex, sizeof(hex), &ev->commit);
	kluis_time_iso(ev->time, when);
	for (i = 0; i < ev->nentries; i++)
		json_array_append_new(entries, json_string(ev->entries[i]));
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o}", "time", when, "action", ev->action, "role", ev->role, "key", ev->fpr,
		      "commit", hex, "entries", entries);
	if (ev->kind[0])
		json_object_set_new(o, "kind", json_string(ev->kind));
	if (ev->purpose[0])
		json_object_set_new(o, "purpose", json_string(ev->purpose));
	json_object_set_new(o, "trail", json_string(ev->access ? "access" : "dossier"));
	return o;
}

static void event_print(const kluis_event *ev)
{
	char when[21];
	size_t i, n = ev->nentries ? ev->nentries : 1;

	kluis_time_iso(ev->time, when);
	for (i = 0; i < n; i++) {
		printf("%s  %-9s  %-21s  %-14s  %-13s  %.16s", when, ev->action, ev->nentries ? ev->entries[i] : "-",
		       ev->kind[0] ? ev->kind : "-", ev->role[0] ? ev->role : "-", ev->fpr);
		if (ev->purpose[0])
			printf("  purpose=%s", ev->purpose);
		putchar('\n');
	}
}

int cmd_log(kluis_cli *cli, int argc, char **argv)
{
	kluis_event *events = NULL;
	json_t *arr;
	size_t n = 0, i;
	int rc;

	if ((rc = kluis_history(cli->dossier, &events, &n)) < 0)
		return rc;
	if (cli->json) {
		arr = json_array();
		for (i = 0; i < n; i++)
			json_array_append_new(arr, event_json(&events[i]));
		rc = cli_print_json(json_pack("{s:s, s:o}", "dossier", kluis_dossier_id(cli->dossier), "events", arr));
	} else {
		printf("%-20s  %-9s  %-21s  %-14s  %-13s  %s\n", "TIME", "ACTION", "ENTRY", "KIND", "ROLE", "KEY");
		for (i = 0; i < n; i++)
			event_print(&events[i]);
	}
	kluis_events_free(events, n);
	return rc;
}
