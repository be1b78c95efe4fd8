/*
 * cmd_ledger.c - kluis ledger: show the vault's lifecycle events (creations, pulls, transfers
 * with their receipts, imports, destructions with their verklaring van vernietiging), each
 * verified; record an opdrachtgever's receipt of a transfer.
 *
 * A record that does not verify is never shown as an ordinary one: it is marked INVALID with
 * the reason, and the command exits 1.
 */
#include "cli.h"
#include "vault/exchange/ledger.h"

#include <stdio.h>
#include <string.h>

const char cmd_ledger_usage[] =
	"Usage: kluis ledger show [ID] [--reasons] [--json]\n"
	"       kluis ledger receipt FILE\n\n"
	"show: the vault's ledger, every creation, pull, transfer, import, receipt and destruction,\n"
	"each record verified like a dossier's history (signed by a key allowed to record it,\n"
	"chained, exactly as kluis writes it; the destruction certificates and receipts with their\n"
	"signatures). A record that fails is marked INVALID and the exit status is 1. ID limits it\n"
	"to one dossier. Each transfer says whether the opdrachtgever's receipt is recorded. The\n"
	"verklaring van vernietiging is printed in full; it is also in the ledger's tree as\n"
	"certificates/ID-TIME.txt with its .asc (git -C VAULT/ledger.git show main:PATH).\n"
	"--reasons decrypts each destruction's reason (you must be the directie or its writer).\n\n"
	"receipt FILE: the opdrachtgever's signed receipt of a transfer (FILE and its detached\n"
	"signature FILE.asc, as 'kluis import' writes them): checked against the ledger's transfer\n"
	"record (dossier, archive sha256, head, opdrachtgever) and recorded (directie, or who\n"
	"transferred).\n";

static bool shown_field(const char *key)
{
	return strcmp(key, "Kluis-Action") && strcmp(key, "Kluis-Dossier") && strcmp(key, "Kluis-Role") && strcmp(key, "Kluis-Seq");
}

const cli_option cmd_ledger_options[] = {
	{ "reasons", 0, NULL, 0, "show: decrypt each destruction's reason (directie, or its writer)" },
	{ NULL, 0, NULL, 0, NULL },
};

int cmd_ledger_check(kluis_cli *cli, int argc, char **argv)
{
	if (strcmp(argv[0], "receipt") == 0) {
		cli->needs |= CLI_NEED_SIGN;
		return argc == 2 ? CLI_OK : cli_usage_error(cli, "use 'kluis ledger receipt FILE'");
	}
	return strcmp(argv[0], "show") == 0 ? CLI_OK : cli_usage_error(cli, "use 'kluis ledger show [ID]' or 'kluis ledger receipt FILE'");
}

int cmd_ledger(kluis_cli *cli, int argc, char **argv)
{
	kluis_vault *v = cli->vault;
	kluis_ledger_event *ev = NULL;
	kluis_verify_report rep;
	json_t *arr = NULL, *findings = NULL;
	size_t n = 0, i, j, invalid = 0;
	char when[21], hex[GIT_OID_HEXSZ + 1], id[65];
	bool reasons = cli_flag(cli, "reasons");
	int rc = CLI_OK, err;

	memset(&rep, 0, sizeof(rep));
	if (strcmp(argv[0], "receipt") == 0) {
		if ((err = kluis_ledger_receipt(v, argv[1], id)) == 0)
			fprintf(stderr, "kluis: the opdrachtgever's receipt of '%s' is verified and recorded in the ledger\n", id);
		return err;
	}
	if ((err = kluis_ledger_read(v, NULL, 0, false, argc == 2 ? argv[1] : NULL, &ev, &n, &rep)) < 0) {
		rc = err;
		goto cleanup;
	}
	arr = json_array();
	findings = json_array();
	for (i = 0; i < rep.nfindings; i++) {
		git_oid_tostr(hex, sizeof(hex), &rep.findings[i].commit);
		json_array_append_new(findings, json_pack("{s:s, s:s}", "commit", git_oid_is_zero(&rep.findings[i].commit) ? "-" : hex, "finding",
							  rep.findings[i].message));
	}
	for (i = 0; i < n; i++) {
		kluis_buf reason = KLUIS_SECRET_BUF_INIT;
		const char *rtext = NULL;
		kluis_time_iso(ev[i].time, when);
		git_oid_tostr(hex, sizeof(hex), &ev[i].commit);
		invalid += !ev[i].valid;
		/* a reason this key cannot read is said so, and the rest is still shown */
		if (reasons && ev[i].valid && !git_oid_is_zero(&ev[i].reason)) {
			if (kluis_ledger_reason(v, &ev[i], &reason) < 0 || kluis_buf_cstr(&reason) < 0) {
				kluis_buf_dispose(&reason);
				if (kluis_buf_printf(&reason, "(you cannot decrypt it: %s)", kluis_error_last()) < 0 || kluis_buf_cstr(&reason) < 0) {
					rc = kluis_error_set(KLUIS_EGENERIC, "out of memory");
					goto cleanup;
				}
			}
			rtext = (const char *)reason.ptr;
		}
		if (cli->json) {
			json_t *fields = json_object(), *o;
			for (j = 0; j < ev[i].nfields; j++)
				json_object_set_new(fields, ev[i].fields[j].key, json_string(ev[i].fields[j].value));
			o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:o, s:s?, s:s?, s:s?, s:s?}", "time", when, "action", ev[i].action,
				      "dossier", ev[i].dossier, "role", ev[i].role, "key", ev[i].fpr, "commit", hex, "valid", ev[i].valid, "fields",
				      fields, "finding", ev[i].why, "certificate", ev[i].certificate, "receipt", ev[i].receipt, "reason", rtext);
			if (o && strcmp(ev[i].action, "transfer") == 0)
				json_object_set_new(o, "receipted", json_boolean(ev[i].receipted));
			json_array_append_new(arr, o);
			kluis_buf_dispose(&reason);
			continue;
		}
		printf("%s%s  %-8s  %-24s  %-13s  %s\n", ev[i].valid ? "" : "INVALID ", when, ev[i].action, ev[i].dossier, ev[i].role, ev[i].fpr);
		if (!ev[i].valid)
			printf("    INVALID: %s\n", ev[i].why ? ev[i].why : "?");
		for (j = 0; j < ev[i].nfields; j++)
			if (shown_field(ev[i].fields[j].key))
				printf("    %s: %s\n", ev[i].fields[j].key + 6, ev[i].fields[j].value);
		if (rtext)
			printf("    Reason (decrypted): %s\n", rtext);
		if (ev[i].valid && strcmp(ev[i].action, "transfer") == 0)
			printf("    Receipt: %s\n", ev[i].receipted ? "recorded (the opdrachtgever's signed receipt is in the ledger)"
							   : "no receipt yet (kluis ledger receipt FILE)");
		if (ev[i].certificate)
			printf("\n%s\n", ev[i].certificate);
		if (ev[i].receipt)
			printf("\n%s\n", ev[i].receipt);
		kluis_buf_dispose(&reason);
	}
	if (cli->json) {
		rc = cli_print_json(json_pack("{s:b, s:O, s:O}", "ok", rep.nfindings == 0, "events", arr, "findings", findings));
		if (rc != CLI_OK)
			goto cleanup;
	}
	if (rep.nfindings) {
		fprintf(stderr, "kluis: the ledger does not verify: %zu finding%s, %zu record%s shown INVALID (first: %s)\n", rep.nfindings,
			rep.nfindings == 1 ? "" : "s", invalid, invalid == 1 ? "" : "s", rep.findings[0].message);
		rc = CLI_FAILED;
	}
cleanup:
	json_decref(arr);
	json_decref(findings);
	kluis_verify_report_dispose(&rep);
	kluis_ledger_events_free(ev, n);
	return rc;
}
