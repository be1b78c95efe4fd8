/*
 * cmd_log.c - kluis log: every entry and event of a dossier, newest last, from commit
 * metadata alone (SPEC invariant 5: the klant sees every addition; nothing is decrypted, so
 * an auditor without a secret key can run it).
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

const char cmd_log_usage[] =
	"Usage: kluis log ID [--kind K] [--action A] [--role R] [--entry ENTRY] [--since DATE] [--until DATE] [--json]\n\n"
	"Every entry and event of dossier ID, oldest first, newest last: when, what, which entry, of\n"
	"what kind, by which role, person (the key's user id in your keyring) and key, and every\n"
	"read (with its purpose). The options narrow it down; --entry shows one entry's story (its\n"
	"addition, corrections, approvals, reads). Nothing is decrypted: this reads the signed\n"
	"commit metadata only, so finding something here is no read. 'kluis verify' checks the\n"
	"signatures.\n";

const cli_option cmd_log_options[] = {
	CLI_EVENT_OPTIONS,
	{ NULL, 0, NULL, 0, NULL },
};

int cmd_log_check(kluis_cli *cli, int argc, char **argv)
{
	cli_event_filter f;

	return cli_event_filter_get(cli, &f);
}

static json_t *event_json(const kluis_event *ev, const char *name)
{
	char hex[GIT_OID_HEXSZ + 1], when[21];
	json_t *entries = json_array(), *o;
	size_t i;

	git_oid_tostr(hex, sizeof(hex), &ev->commit);
	kluis_time_iso(ev->time, when);
	for (i = 0; i < ev->nentries; i++)
		json_array_append_new(entries, json_string(ev->entries[i]));
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o}", "time", when, "action", ev->action, "role", ev->role, "key", ev->fpr,
		      "name", name, "commit", hex, "entries", entries);
	if (ev->kind[0])
		json_object_set_new(o, "kind", json_string(ev->kind));
	if (ev->purpose[0])
		json_object_set_new(o, "purpose", json_string(ev->purpose));
	if (ev->supersedes[0])
		json_object_set_new(o, "supersedes", json_string(ev->supersedes));
	json_object_set_new(o, "trail", json_string(ev->access ? "access" : "dossier"));
	return o;
}

int cmd_log(kluis_cli *cli, int argc, char **argv)
{
	kluis_event *events = NULL;
	kluis_names *names = NULL;
	cli_event_filter f;
	json_t *arr = NULL;
	char when[21];
	size_t n = 0, i, j;
	int rc;

	if ((rc = cli_event_filter_get(cli, &f)) < 0 || (rc = kluis_names_load(&names)) < 0 || (rc = kluis_history(cli->dossier, &events, &n)) < 0)
		goto cleanup;
	if (cli->json)
		arr = json_array();
	else
		printf("%-20s  %-9s  %-21s  %-14s  %-13s  %-20s  %s\n", "TIME", "ACTION", "ENTRY", "KIND", "ROLE", "NAME", "KEY");
	for (i = 0; i < n; i++) {
		kluis_event *ev = &events[i];
		char name[64];
		cli_safe_event(ev); /* a forged commit's trailers reach no terminal's escapes */
		cli_safe(ev->fpr[0] ? kluis_names_get(names, ev->fpr) : "-", name, sizeof(name));
		bool any = false;
		for (j = 0; j < (ev->nentries ? ev->nentries : 1); j++) {
			const char *entry = ev->nentries ? ev->entries[j] : NULL;
			if (!cli_event_match(&f, ev, entry))
				continue;
			any = true;
			if (cli->json)
				break;
			kluis_time_iso(ev->time, when);
			printf("%s  %-9s  %-21s  %-14s  %-13s  %-20.40s  %s", when, ev->action, entry ? entry : "-", ev->kind[0] ? ev->kind : "-",
			       ev->role[0] ? ev->role : "-", name, ev->fpr[0] ? ev->fpr + 24 : "-");
			if (ev->purpose[0])
				printf("  purpose=%s", ev->purpose);
			if (ev->supersedes[0])
				printf("  corrects=%s", ev->supersedes);
			putchar('\n');
		}
		if (cli->json && any)
			json_array_append_new(arr, event_json(ev, name));
	}
	if (cli->json) {
		rc = cli_print_json(json_pack("{s:s, s:o}", "dossier", kluis_dossier_id(cli->dossier), "events", arr));
		arr = NULL;
	}
cleanup:
	json_decref(arr);
	kluis_events_free(events, n);
	kluis_names_free(names);
	return rc;
}
