/*
 * cmd_verify.c - kluis verify: check SPEC invariants 1 to 7 over a dossier's whole history,
 * with public keys only. Findings go to stdout, one line each: DOSSIER COMMIT MESSAGE
 * (COMMIT is 40 hex digits, or - when the finding concerns no single commit).
 *
 * --deep adds, with the actor's secret key, the check of every plaintext of the head state
 * against its signed commitment (vault/verify_deep.c); that part reads, so it is logged.
 */
#include "cli.h"
#include "vault/ledger.h"
#include "vault/verify.h"
#include "vault/verify_deep.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"Usage: kluis verify (ID | --all | --bundle FILE) [--trust FPR]... [--witness FILE] [--full] [--deep] [--json]\n\n"
	"Check a dossier's history with no secret key, by replaying it against the dossier model\n"
	"(docs/FORMATS.md): every commit exactly what kluis writes for its action, signed by a key\n"
	"that held a role allowing it before the commit, valid at its time; history linear,\n"
	"append-only and dated sanely; every entry encrypted to exactly the readers of its\n"
	"moment, its ciphertext present with the signed hash; refs/kluis/content holding exactly\n"
	"that ciphertext; the read log signed by readers, in one numbered chain; the head and the\n"
	"read log descending from the vault's checkpoint (and from a witness's checkpoint with\n"
	"--witness FILE, see 'kluis checkpoint'). The first commit must be the trust root's own:\n"
	"--trust FPR, else the vault's configured one.\n\n"
	"Re-verification is incremental: after a clean run the verifier keeps the replayed state\n"
	"(HMAC-protected, in ~/.cache/kluis/verified, bound to your keyring and trust roots), and\n"
	"the next run replays only the commits and reads after it, with the same rules, and checks\n"
	"refs/kluis/content against the whole state. --full replays from the root and re-reads\n"
	"every object, and neither reads nor renews that state.\n\n"
	"--bundle FILE checks a dossier handed over as a file, without importing it: a git bundle\n"
	"of its refs (refs/heads/main, refs/kluis/content, refs/kluis/access), or a transfer\n"
	"archive from 'kluis transfer' (then also its member paths, the manifest's signature, the\n"
	"bundle's sha256 and the exporter's role). Keys: your keyring (a bundle) or the archive's\n"
	"keys/ (an archive); trust: --trust FPR, else the vault's.\n\n"
	"--deep (with ID or --all; needs your secret key, a reading role) also decrypts what the\n"
	"head state holds (the dossier info, every entry's metadata and body, every erasure's\n"
	"reason) and checks each against the plaintext commitment in its signed pointer, so an\n"
	"entry re-encrypted with other content (by any role) is found: 'entry ID: its plaintext\n"
	"does not match its signed commitment'. Bodies stream through the hash; nothing is\n"
	"written. These are reads: one signed access record per entry, purpose verify-deep.\n"
	"Objects not encrypted to your key are counted, not checked.\n\n"
	"--all also verifies the vault's ledger (VAULT/ledger.git, see 'kluis ledger show') and\n"
	"holds the dossiers against it: a dossier here without a create, import or pull record,\n"
	"or one the ledger brought in that is gone without a destroy or transfer record, is a\n"
	"finding. Its lines start with 'ledger'.\n\n"
	"Output: one line per finding, 'DOSSIER COMMIT WHAT', and exit 1; exit 0 when clean.\n";

/* One line per finding, "WHO COMMIT WHAT" (commit "-" when none), or an element of `json`. */
static void print_findings(kluis_cli *cli, const char *who, const kluis_verify_report *r, json_t *json)
{
	char hex[GIT_OID_HEXSZ + 1];
	size_t i;

	for (i = 0; i < r->nfindings; i++) {
		if (git_oid_is_zero(&r->findings[i].commit))
			snprintf(hex, sizeof(hex), "-");
		else
			git_oid_tostr(hex, sizeof(hex), &r->findings[i].commit);
		if (cli->json)
			json_array_append_new(json, json_pack("{s:s, s:s}", "commit", hex, "finding", r->findings[i].message));
		else
			printf("%s %s %s\n", who, hex, r->findings[i].message);
	}
}

static void report_one(kluis_cli *cli, const char *id, kluis_verify_report *rp, kluis_deep_report *deep, json_t *out, size_t *total);

/* The --deep part: a line per finding (or a "deep" member of the dossier's JSON object, the
 * last one in `out`); its summary is part of report_one's line. */
static void report_deep(kluis_cli *cli, const char *id, kluis_deep_report *r, json_t *out, size_t *total)
{
	json_t *findings = json_array();
	char hex[GIT_OID_HEXSZ + 1];
	size_t i;

	for (i = 0; i < r->nfindings; i++) {
		git_oid_tostr(hex, sizeof(hex), &r->findings[i].commit);
		if (cli->json)
			json_array_append_new(findings, json_pack("{s:s, s:s}", "commit", hex, "finding", r->findings[i].message));
		else
			printf("%s %s %s\n", id, hex, r->findings[i].message);
	}
	if (cli->json) {
		json_t *last = json_array_get(out, json_array_size(out) - 1);
		json_object_set_new(last, "deep", json_pack("{s:b, s:I, s:I, s:I, s:o}", "ok", r->nfindings == 0, "entries",
							     (json_int_t)r->entries, "checked", (json_int_t)r->objects, "unreadable",
							     (json_int_t)r->unreadable, "findings", findings));
		if (r->nfindings)
			json_object_set_new(last, "ok", json_false());
	} else {
		json_decref(findings);
	}
	*total += r->nfindings;
	kluis_deep_report_dispose(r);
}

static int verify_one(kluis_cli *cli, kluis_vault *v, const char *id, const kluis_verify_opts *o, bool deep, json_t *out, size_t *total)
{
	kluis_verify_report r;
	kluis_deep_report dr;
	int err;

	/* the deep part first: a reader's refusal (no role, no key) is then the only output, and
	 * the public-key check that follows also covers the reads it logged */
	if (deep && (err = kluis_verify_deep(v, id, &dr)) < 0)
		return err;
	if ((err = kluis_verify_dossier(v, id, o, &r)) < 0) {
		if (deep)
			kluis_deep_report_dispose(&dr);
		return err;
	}
	report_one(cli, id, &r, deep ? &dr : NULL, out, total);
	return 0;
}

/* Print one dossier's report (a line per finding, then a summary) or add it to `out`. */
static void report_one(kluis_cli *cli, const char *id, kluis_verify_report *rp, kluis_deep_report *deep, json_t *out, size_t *total)
{
	kluis_verify_report r = *rp;
	char hex[GIT_OID_HEXSZ + 1], plain[160] = "";
	json_t *findings = json_array();
	bool failed = r.nfindings || (deep && deep->nfindings);

	print_findings(cli, id, &r, findings);
	git_oid_tostr(hex, sizeof(hex), &r.head);
	if (cli->json)
		json_array_append_new(out, json_pack("{s:s, s:b, s:s, s:I, s:I, s:I, s:I, s:I, s:b, s:I, s:o}", "dossier", id, "ok",
						     r.nfindings == 0, "head", hex, "commits", (json_int_t)r.total_commits, "checked",
						     (json_int_t)r.commits, "entries", (json_int_t)r.entries, "reads", (json_int_t)r.reads,
						     "erased", (json_int_t)r.erased, "incremental", r.incremental, "scrubbed",
						     (json_int_t)r.scrubbed, "findings", findings));
	else
		json_decref(findings);
	/* one summary line, the --deep part included (a failure is one line on stderr) */
	if (deep && !cli->json)
		snprintf(plain, sizeof(plain), "; plaintexts: %zu entries, %zu objects matched their commitment%s, %zu did not", deep->entries,
			 deep->objects, deep->unreadable ? " (some not encrypted to your key, not checked)" : "", deep->nfindings);
	if (deep)
		report_deep(cli, id, deep, out, total);
	if (!cli->json)
		fprintf(stderr, "kluis: %s: %s (%zu commits%s, %zu new entries, %zu erased by a signed record, %zu reads checked, head %.12s%s)\n", id,
			failed ? "FAILED" : "verified", r.total_commits, r.incremental ? ", incremental" : "", r.entries, r.erased, r.reads, hex, plain);
	*total += r.nfindings;
	kluis_verify_report_dispose(rp);
}

/* --all's ledger part: findings as 'ledger COMMIT WHAT' lines, or the "ledger" member of `top` */
static int verify_ledger(kluis_cli *cli, kluis_vault *v, const kluis_verify_opts *o, json_t *top, size_t *total)
{
	kluis_verify_report r;
	json_t *findings = json_array();
	size_t records = 0;
	int err;

	memset(&r, 0, sizeof(r));
	if ((err = kluis_ledger_check_vault(v, o->ntrust ? o->trust : NULL, o->ntrust, &r, &records)) < 0) {
		json_decref(findings);
		kluis_verify_report_dispose(&r);
		return err;
	}
	print_findings(cli, "ledger", &r, findings);
	if (cli->json)
		json_object_set_new(top, "ledger", json_pack("{s:b, s:I, s:o}", "ok", r.nfindings == 0, "records", (json_int_t)records, "findings", findings));
	else {
		json_decref(findings);
		fprintf(stderr, "kluis: ledger: %s (%zu records; the vault's dossiers held against it)\n", r.nfindings ? "FAILED" : "verified", records);
	}
	*total += r.nfindings;
	kluis_verify_report_dispose(&r);
	return 0;
}

int cmd_verify(kluis_cli *cli, int argc, char **argv)
{
	enum { O_ALL = OPT_CMD_BASE, O_TRUST, O_WITNESS, O_FULL, O_BUNDLE, O_DEEP };
	static const struct option opts[] = {
		{ "all", no_argument, NULL, O_ALL },
		{ "trust", required_argument, NULL, O_TRUST },
		{ "witness", required_argument, NULL, O_WITNESS },
		{ "full", no_argument, NULL, O_FULL },
		{ "bundle", required_argument, NULL, O_BUNDLE },
		{ "deep", no_argument, NULL, O_DEEP },
		CLI_GLOBAL_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	kluis_verify_opts o;
	kluis_vault *v = NULL;
	const char *bundle = NULL;
	char **trust = NULL, **ids = NULL;
	size_t ntrust = 0, nids = 0, findings = 0, i;
	bool all = false, deep = false;
	json_t *out = json_array(), *ledger = json_object();
	int c, rc = CLI_OK, err;

	cli->usage = usage;
	memset(&o, 0, sizeof(o));
	trust = calloc((size_t)argc + 1, sizeof(*trust));
	if (!trust || !out) {
		rc = cli_fail(kluis_error_set(KLUIS_EGENERIC, "out of memory"));
		goto cleanup;
	}
	while ((c = cli_getopt(argc, argv, "h", opts)) != -1) {
		switch (c) {
		case O_ALL: all = true; break;
		case O_FULL: o.no_cache = true; break;
		case O_DEEP: deep = true; break;
		case O_WITNESS: rc = cli_once(cli, &o.witness, optarg, "--witness"); break;
		case O_BUNDLE: rc = cli_once(cli, &bundle, optarg, "--bundle"); break;
		case O_TRUST:
			trust[ntrust] = malloc(41);
			if (!trust[ntrust] || !kluis_fpr_normalize(optarg, trust[ntrust])) {
				rc = cli_usage_error(cli, "--trust '%s' is not a 40-digit key fingerprint", optarg);
				ntrust += trust[ntrust] != NULL;
				goto cleanup;
			}
			ntrust++;
			break;
		default:
			if (!cli_global_option(cli, c, optarg)) {
				rc = cli_bad_option(cli, argc, argv);
				goto cleanup;
			}
		}
		if (rc != CLI_OK)
			goto cleanup;
	}
	if (cli->help) {
		rc = cli_print_usage(cli);
		goto cleanup;
	}
	if (bundle && deep) {
		rc = cli_usage_error(cli, "--deep checks a dossier of this vault, not a --bundle");
		goto cleanup;
	}
	if (bundle && (all || optind != argc)) {
		rc = cli_usage_error(cli, "--bundle FILE takes no dossier ID and no --all");
		goto cleanup;
	}
	if (!bundle && (all ? 0 : 1) != argc - optind) {
		rc = cli_usage_error(cli, all ? "--all takes no dossier ID" : "verify takes one dossier ID, or --all");
		goto cleanup;
	}
	o.trust = (const char *const *)trust;
	o.ntrust = ntrust;
	/* a bundle is checked in a scratch directory of the vault: an auditor may have none yet */
	/* --deep decrypts and signs its access records: a reader's secret key, not public keys only */
	if ((rc = cli_open_vault(cli, &v, deep ? KLUIS_VAULT_SIGN : KLUIS_VAULT_PUBLIC | (bundle ? KLUIS_VAULT_CREATE : 0))) != CLI_OK)
		goto cleanup;
	if (bundle) {
		kluis_verify_report r;
		char id[65];
		if ((err = kluis_verify_bundle(v, bundle, &o, &r, id)) < 0) {
			rc = cli_fail(err);
			goto cleanup;
		}
		report_one(cli, id, &r, NULL, out, &findings);
	} else if (all) {
		if ((err = kluis_vault_dossier_ids(v, &ids, &nids)) < 0) {
			rc = cli_fail(err);
			goto cleanup;
		}
		for (i = 0; i < nids; i++)
			if ((err = verify_one(cli, v, ids[i], &o, deep, out, &findings)) < 0) {
				rc = cli_fail(err);
				goto cleanup;
			}
		if ((err = verify_ledger(cli, v, &o, ledger, &findings)) < 0) {
			rc = cli_fail(err);
			goto cleanup;
		}
	} else if ((err = verify_one(cli, v, argv[optind], &o, deep, out, &findings)) < 0) {
		rc = cli_fail(err);
		goto cleanup;
	}
	if (cli->json) {
		json_t *top = json_pack("{s:b, s:O}", "ok", findings == 0, "dossiers", out);
		if (top && json_object_get(ledger, "ledger"))
			json_object_set(top, "ledger", json_object_get(ledger, "ledger"));
		rc = cli_print_json(top);
		if (rc != CLI_OK)
			goto cleanup;
	}
	rc = findings ? CLI_FAILED : CLI_OK;
cleanup:
	json_decref(out);
	json_decref(ledger);
	kluis_strings_free(ids, nids);
	kluis_strings_free(trust, ntrust);
	kluis_vault_free(v);
	return rc;
}
