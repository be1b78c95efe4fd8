/*
 * cmd_audit.c - kluis audit: the audit trail of a dossier, one line per event: time, role,
 * key, action, entry, purpose; reads included (NEN 7513 in spirit; the CJEU's reading of GDPR
 * Art. 15 gives the klant the dates and purposes of consultations). From commit metadata only.
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

const char cmd_audit_usage[] =
	"Usage: kluis audit ID [--since DATE] [--until DATE] [--json]\n\n"
	"Who did what when in dossier ID, reads included: time, role, key, action, entry, purpose.\n"
	"DATE is YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC); --until is inclusive of that moment.\n"
	"For the directie, an auditor and the klant of the dossier. Nothing is decrypted.\n";

const cli_option cmd_audit_options[] = {
	{ "since", 0, "DATE", 0, "from this moment on" },
	{ "until", 0, "DATE", 0, "up to and including this moment (a date: that whole day)" },
	{ NULL, 0, NULL, 0, NULL },
};

int cmd_audit_check(kluis_cli *cli, int argc, char **argv)
{
	int64_t t;

	if ((cli_str(cli, "since") && kluis_time_parse(cli_str(cli, "since"), &t) < 0) ||
	    (cli_str(cli, "until") && kluis_time_parse(cli_str(cli, "until"), &t) < 0))
		return KLUIS_EINVAL; /* kluis_time_parse set the message */
	return CLI_OK;
}

int cmd_audit(kluis_cli *cli, int argc, char **argv)
{
	const char *since_s = cli_str(cli, "since"), *until_s = cli_str(cli, "until"), *actor;
	int64_t since = INT64_MIN, until = INT64_MAX;
	kluis_dossier *d = cli->dossier;
	kluis_event *ev = NULL;
	json_t *arr = json_array();
	size_t n = 0, i, j;
	char when[21], hex[GIT_OID_HEXSZ + 1];
	int rc = CLI_OK;

	if (since_s)
		kluis_time_parse(since_s, &since);
	if (until_s)
		kluis_time_parse(until_s, &until);
	if (until_s && strlen(until_s) == 10)
		until += 86399; /* a date means the whole day */
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
		printf("%-20s  %-13s  %-40s  %-9s  %-21s  %s\n", "TIME", "ROLE", "KEY", "ACTION", "ENTRY", "PURPOSE");
	for (i = 0; i < n; i++) {
		if (ev[i].time < since || ev[i].time > until)
			continue;
		kluis_time_iso(ev[i].time, when);
		git_oid_tostr(hex, sizeof(hex), &ev[i].commit);
		for (j = 0; j < (ev[i].nentries ? ev[i].nentries : 1); j++) {
			const char *entry = ev[i].nentries ? ev[i].entries[j] : "-";
			if (cli->json)
				json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s?, s:s}", "time", when, "role", ev[i].role, "key",
								     ev[i].fpr, "action", ev[i].action, "entry", entry, "purpose",
								     ev[i].purpose[0] ? ev[i].purpose : NULL, "commit", hex));
			else
				printf("%-20s  %-13s  %-40s  %-9s  %-21s  %s\n", when, ev[i].role, ev[i].fpr, ev[i].action, entry,
				       ev[i].purpose[0] ? ev[i].purpose : "-");
		}
	}
	if (cli->json)
		rc = cli_print_json(json_pack("{s:s, s:O}", "dossier", argv[0], "events", arr));
cleanup:
	json_decref(arr);
	kluis_events_free(ev, n);
	return rc;
}
