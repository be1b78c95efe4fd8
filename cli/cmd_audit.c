/*
 * cmd_audit.c - kluis audit: the audit trail of a dossier, one line per event: time, role,
 * key, action, entry, purpose; reads included (NEN 7513 in spirit; the CJEU's reading of GDPR
 * Art. 15 gives the klant the dates and purposes of consultations). From commit metadata only.
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

const char cmd_audit_usage[] =
	"Usage: kluis audit ID [--since DATE] [--until DATE] [--kind K] [--action A] [--role R] [--entry ENTRY] [--json]\n\n"
	"Who did what when in dossier ID, reads included: time, role, person (the key's user id in\n"
	"your keyring), key, action, entry, purpose. The options narrow it down. DATE is YYYY-MM-DD\n"
	"or YYYY-MM-DDTHH:MM:SSZ (UTC); --until is inclusive of that moment.\n"
	"For the directie, an auditor and the klant of the dossier. Nothing is decrypted.\n";

const cli_option cmd_audit_options[] = {
	CLI_EVENT_OPTIONS,
	{ NULL, 0, NULL, 0, NULL },
};

int cmd_audit_check(kluis_cli *cli, int argc, char **argv)
{
	cli_event_filter f;

	return cli_event_filter_get(cli, &f);
}

int cmd_audit(kluis_cli *cli, int argc, char **argv)
{
	const char *actor;
	cli_event_filter f;
	kluis_names *names = NULL;
	kluis_dossier *d = cli->dossier;
	kluis_event *ev = NULL;
	json_t *arr = json_array();
	size_t n = 0, i, j;
	char when[21], hex[GIT_OID_HEXSZ + 1];
	int rc = CLI_OK;

	if ((rc = cli_event_filter_get(cli, &f)) < 0 || (rc = kluis_names_load(&names)) < 0)
		goto cleanup;
	/* an actor with a key must hold a role that may see the trail; an auditor without any
	 * secret key (public keys only) may always read it: it holds no personal data */
	if (cli->as || kluis_vault_actor(cli->vault, &actor) == 0) {
		if ((rc = kluis_vault_actor(cli->vault, &actor)) < 0)
			goto cleanup;
		if (!(kluis_roles_of(kluis_dossier_roles(d), actor) & (KLUIS_ROLE_DIRECTIE | KLUIS_ROLE_AUDITOR | KLUIS_ROLE_KLANT))) {
			rc = kluis_error_set(KLUIS_EACCESS, "the audit trail is for the directie, an auditor and the klant of this dossier");
			goto cleanup;
		}
	}
	if ((rc = kluis_history(d, &ev, &n)) < 0)
		goto cleanup;
	if (!cli->json)
		printf("%-20s  %-13s  %-20s  %-40s  %-9s  %-21s  %s\n", "TIME", "ROLE", "NAME", "KEY", "ACTION", "ENTRY", "PURPOSE");
	for (i = 0; i < n; i++) {
		char name[64];
		cli_safe_event(&ev[i]);
		cli_safe(ev[i].fpr[0] ? kluis_names_get(names, ev[i].fpr) : "-", name, sizeof(name));
		kluis_time_iso(ev[i].time, when);
		git_oid_tostr(hex, sizeof(hex), &ev[i].commit);
		for (j = 0; j < (ev[i].nentries ? ev[i].nentries : 1); j++) {
			const char *entry = ev[i].nentries ? ev[i].entries[j] : "-";
			if (!cli_event_match(&f, &ev[i], ev[i].nentries ? entry : NULL))
				continue;
			if (cli->json)
				json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s?, s:s}", "time", when, "role", ev[i].role, "name", name, "key",
								     ev[i].fpr, "action", ev[i].action, "entry", entry, "purpose",
								     ev[i].purpose[0] ? ev[i].purpose : NULL, "commit", hex));
			else
				printf("%-20s  %-13s  %-20.40s  %-40s  %-9s  %-21s  %s\n", when, ev[i].role, name, ev[i].fpr, ev[i].action, entry,
				       ev[i].purpose[0] ? ev[i].purpose : "-");
		}
	}
	if (cli->json)
		rc = cli_print_json(json_pack("{s:s, s:O}", "dossier", argv[0], "events", arr));
cleanup:
	json_decref(arr);
	kluis_events_free(ev, n);
	kluis_names_free(names);
	return rc;
}
