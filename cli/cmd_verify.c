/*
 * cmd_verify.c - kluis verify: check SPEC invariants 1 to 7 over a dossier's whole history,
 * with public keys only. Findings go to stdout, one line each: DOSSIER COMMIT MESSAGE
 * (COMMIT is 40 hex digits, or - when the finding concerns no single commit).
 *
 * --deep adds, with the actor's secret key, the check of every plaintext of the head state
 * against its signed commitment (vault/verify/verify_deep.c); that part reads, so it is logged.
 */
#include "cli.h"
#include "vault/exchange/ledger.h"
#include "vault/verify/verify.h"
#include "vault/verify/verify_deep.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char cmd_verify_usage[] =
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
	/* the result on stdout, with what this very run replayed: a resumed run says what it took
	 * from the last clean one, so that "0" never reads as "nothing was checked"; a failure is
	 * the error's one line on stderr (the findings are on stdout) */
	if (!cli->json) {
		char line[1024];
		if (!r.incremental)
			snprintf(line, sizeof(line), "%s: %s (%zu commits, %zu entries, %zu erased by a signed record, %zu reads, head %.12s%s)", id,
				 failed ? "FAILED" : "verified", r.total_commits, r.entries, r.erased, r.reads, hex, plain);
		else
			snprintf(line, sizeof(line),
				 "%s: %s (%zu commits: %zu replayed now, %zu by the last clean run; now %zu new entries, %zu erased by a signed "
				 "record, %zu new reads; head %.12s%s)",
				 id, failed ? "FAILED" : "verified", r.total_commits, r.commits, r.total_commits - r.commits, r.entries, r.erased,
				 r.reads, hex, plain);
		if (failed)
			fprintf(stderr, "kluis: %s\n", line);
		else
			printf("%s\n", line);
	}
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
	if ((err = kluis_ledger_check_vault(v, o->ntrust ? o->trust : NULL, o->ntrust, o->no_cache, &r, &records)) < 0) {
		json_decref(findings);
		kluis_verify_report_dispose(&r);
		return err;
	}
	print_findings(cli, "ledger", &r, findings);
	if (cli->json)
		json_object_set_new(top, "ledger", json_pack("{s:b, s:I, s:o}", "ok", r.nfindings == 0, "records", (json_int_t)records, "findings", findings));
	else {
		json_decref(findings);
		fprintf(r.nfindings ? stderr : stdout, "%sledger: %s (%zu records; the vault's dossiers held against it)\n", r.nfindings ? "kluis: " : "",
			r.nfindings ? "FAILED" : "verified", records);
	}
	*total += r.nfindings;
	kluis_verify_report_dispose(&r);
	return 0;
}

const cli_option cmd_verify_options[] = {
	{ "all", 0, NULL, 0, "every dossier of the vault, and its ledger" },
	{ "bundle", 0, "FILE", 0, "a git bundle or transfer archive, not imported" },
	{ "trust", 0, "FPR", CLI_MANY, "the trust root (else the vault's)" },
	{ "witness", 0, "FILE", 0, "a checkpoint the history must descend from" },
	{ "full", 0, NULL, 0, "replay from the root; neither read nor renew the verified state" },
	{ "deep", 0, NULL, 0, "also each plaintext against its commitment (a reader's key; logged)" },
	{ NULL, 0, NULL, 0, NULL },
};

int cmd_verify_check(kluis_cli *cli, int argc, char **argv)
{
	const char *bundle = cli_str(cli, "bundle");
	bool all = cli_flag(cli, "all"), deep = cli_flag(cli, "deep");
	char **trust = NULL;
	size_t ntrust = 0;
	int rc = cli_trust(cli, &trust, &ntrust);

	kluis_strings_free(trust, ntrust);
	if (rc != CLI_OK)
		return rc;
	if (bundle && deep)
		return cli_usage_error(cli, "--deep checks a dossier of this vault, not a --bundle");
	if (bundle && (all || argc))
		return cli_usage_error(cli, "--bundle FILE takes no dossier ID and no --all");
	if (!bundle && (all ? 0 : 1) != argc)
		return cli_usage_error(cli, all ? "--all takes no dossier ID" : "verify takes one dossier ID, or --all");
	/* --deep decrypts and signs its access records: a reader's secret key, not public keys
	 * only; a bundle is checked in a scratch directory of the vault: an auditor may have none */
	cli->needs = CLI_NEED_VAULT | (deep ? CLI_NEED_SIGN : CLI_NEED_PUBLIC | (bundle ? CLI_NEED_CREATE : 0));
	return CLI_OK;
}

int cmd_verify(kluis_cli *cli, int argc, char **argv)
{
	kluis_verify_opts o = { .witness = cli_str(cli, "witness"), .no_cache = cli_flag(cli, "full") };
	kluis_verify_report r;
	kluis_vault *v = cli->vault;
	const char *bundle = cli_str(cli, "bundle");
	char **trust = NULL, **ids = NULL, id[65];
	size_t ntrust = 0, nids = 0, findings = 0, i;
	bool deep = cli_flag(cli, "deep");
	json_t *out = json_array(), *ledger = json_object(), *top;
	int rc;

	if ((rc = cli_trust(cli, &trust, &ntrust)) != 0)
		goto cleanup;
	o.trust = (const char *const *)trust;
	o.ntrust = ntrust;
	if (bundle) {
		if ((rc = kluis_verify_bundle(v, bundle, &o, &r, id)) < 0)
			goto cleanup;
		report_one(cli, id, &r, NULL, out, &findings);
	} else if (cli_flag(cli, "all")) {
		if ((rc = kluis_vault_dossier_ids(v, &ids, &nids)) < 0)
			goto cleanup;
		for (i = 0; i < nids; i++)
			if ((rc = verify_one(cli, v, ids[i], &o, deep, out, &findings)) < 0)
				goto cleanup;
		if ((rc = verify_ledger(cli, v, &o, ledger, &findings)) < 0)
			goto cleanup;
	} else if ((rc = verify_one(cli, v, argv[0], &o, deep, out, &findings)) < 0) {
		goto cleanup;
	}
	if (cli->json) {
		top = json_pack("{s:b, s:O}", "ok", findings == 0, "dossiers", out);
		if (top && json_object_get(ledger, "ledger"))
			json_object_set(top, "ledger", json_object_get(ledger, "ledger"));
		if ((rc = cli_print_json(top)) != CLI_OK)
			goto cleanup;
	}
	rc = findings ? CLI_FAILED : CLI_OK;
cleanup:
	json_decref(out);
	json_decref(ledger);
	kluis_strings_free(ids, nids);
	kluis_strings_free(trust, ntrust);
	return rc;
}
