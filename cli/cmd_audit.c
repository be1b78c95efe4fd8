/*
 * cmd_audit.c - kluis audit: the audit trail of a dossier, one line per event: time, role,
 * key, action, entry, purpose; reads included (NEN 7513 in spirit; the CJEU's reading of GDPR
 * Art. 15 gives the klant the dates and purposes of consultations). From commit metadata only.
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static const char usage[] =
	"Usage: kluis audit ID [--since DATE] [--until DATE] [--json]\n\n"
	"Who did what when in dossier ID, reads included: time, role, key, action, entry, purpose.\n"
	"DATE is YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC); --until is inclusive of that moment.\n"
	"For the directie, an auditor and the klant of the dossier. Nothing is decrypted.\n";

int cmd_audit(kluis_cli *cli, int argc, char **argv)
{
	enum { O_SINCE = OPT_CMD_BASE, O_UNTIL };
	static const struct option opts[] = {
		{ "since", required_argument, NULL, O_SINCE },
		{ "until", required_argument, NULL, O_UNTIL },
		CLI_GLOBAL_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	const char *since_s = NULL, *until_s = NULL, *actor;
	int64_t since = INT64_MIN, until = INT64_MAX;
	kluis_vault *v = NULL;
	kluis_dossier *d = NULL;
	kluis_event *ev = NULL;
	json_t *arr = NULL;
	size_t n = 0, i, j;
	char when[21], hex[GIT_OID_HEXSZ + 1];
	int c, rc = CLI_OK, err;

	cli->usage = usage;
	while ((c = cli_getopt(argc, argv, "h", opts)) != -1) {
		if (c == O_SINCE)
			rc = cli_once(cli, &since_s, optarg, "--since");
		else if (c == O_UNTIL)
			rc = cli_once(cli, &until_s, optarg, "--until");
		else if (!cli_global_option(cli, c, optarg))
			return cli_bad_option(cli, argc, argv);
		if (rc != CLI_OK)
			return rc;
	}
	if (cli->help)
		return cli_print_usage(cli);
	if (optind != argc - 1)
		return cli_usage_error(cli, "audit takes one dossier ID");
	if ((since_s && kluis_time_parse(since_s, &since) < 0) || (until_s && kluis_time_parse(until_s, &until) < 0))
		return cli_fail(KLUIS_EINVAL);
	if (until_s && strlen(until_s) == 10)
		until += 86399; /* a date means the whole day */
	if ((rc = cli_open_vault(cli, &v, 0)) != CLI_OK)
		return rc;
	if ((err = kluis_dossier_open(&d, v, argv[optind])) < 0) {
		rc = cli_fail(err);
		goto cleanup;
	}
	/* an actor with a key must hold a role that may see the trail; an auditor without any
	 * secret key (public keys only) may always read it: it holds no personal data */
	if (cli->as || kluis_vault_actor(v, &actor) == 0) {
		if ((err = kluis_vault_actor(v, &actor)) < 0) {
			rc = cli_fail(err);
			goto cleanup;
		}
		if (!(kluis_roles_of(kluis_dossier_roles(d), actor) & (KLUIS_ROLE_DIRECTIE | KLUIS_ROLE_AUDITOR | KLUIS_ROLE_KLANT))) {
			rc = cli_fail(kluis_error_set(KLUIS_EACCESS, "the audit trail is for the directie, an auditor and the klant of this dossier"));
			goto cleanup;
		}
	}
	if ((err = kluis_history(d, &ev, &n)) < 0) {
		rc = cli_fail(err);
		goto cleanup;
	}
	arr = json_array();
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
		rc = cli_print_json(json_pack("{s:s, s:O}", "dossier", argv[optind], "events", arr));
cleanup:
	json_decref(arr);
	kluis_events_free(ev, n);
	kluis_dossier_free(d);
	kluis_vault_free(v);
	return rc;
}
