/*
 * cmd_hook.c - kluis hook status: the vault's hook events still queued (hooks/event.h), read
 * without opening the vault or running anything; and kluis hook pre-receive: the server's
 * check of a push, run by hooks/pre-receive inside a bare dossier repository on the central
 * git server (vault/exchange/receive.c does the work).
 *
 * Its stderr reaches the pusher as `remote: ...` lines; the first line is the reason (kluis
 * push shows it), then one line per verification finding.
 */
#include "cli.h"
#include "hooks/event.h"
#include "vault/exchange/sync.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define INPUT_MAX (1 << 20)
#define FINDINGS_SHOWN 20

const char cmd_hook_usage[] =
	"Usage: kluis hook status\n"
	"       kluis hook pre-receive\n"
	"       kluis hook post-receive\n\n"
	"status: the events of the vault's hooks that are still queued, oldest first: dossier,\n"
	"action, commit, hook, attempts, age and the last failure. After every commit on a dossier\n"
	"kluis runs VAULT/hooks/post-commit (and, for additions, the older VAULT/hooks/post-add);\n"
	"an event whose hook failed stays in VAULT/hooks/queue/ and the next kluis command that\n"
	"opens the vault runs it again. Nothing is run or opened here; --json gives the list.\n\n"
	"pre-receive: "
	"The check a central kluis server runs on every push; git runs it through hooks/pre-receive\n"
	"(copy that file into the bare repository's hooks/ and make it executable). It reads git's\n"
	"'OLD NEW REF' lines on stdin and refuses, with exit 1 and the reason, any push that\n"
	"'kluis verify' would refuse: unsigned or badly signed commits, signers without the role,\n"
	"rewrites of refs/heads/main or refs/kluis/access (not a fast-forward), deleted refs, refs\n"
	"other than main, refs/kluis/content and refs/kluis/access, missing ciphertext.\n\n"
	"post-receive: git runs it through hooks/post-receive (the same file under that name)\n"
	"after the refs moved. A push without --atomic is applied ref by ref, and git may still\n"
	"refuse some of its refs after pre-receive approved them all (another push moved one);\n"
	"when the refs as they now are do not verify, every ref the push moved is put back.\n\n"
	"Server configuration (git config in the bare repository ID.git, or once for every\n"
	"repository in the server user's ~/.gitconfig, as scripts/server-setup.sh does):\n"
	"  kluis.trust FPR      the trust root: the directie key that created the dossier\n"
	"                       (required; --add several for several)\n"
	"  kluis.gnupghome DIR  the public keyring to verify with (else $GNUPGHOME of the hook's\n"
	"                       user, else ~/.gnupg); public keys only, no secret key is needed\n"
	"  kluis.dossier ID     the dossier id (else the repository's name without .git)\n"
	"  kluis.program PATH   read by the hook scripts: the kluis binary (else kluis in PATH)\n";

static void age_text(int64_t seconds, char out[16])
{
	if (seconds < 120)
		snprintf(out, 16, "%llds", (long long)seconds);
	else if (seconds < 7200)
		snprintf(out, 16, "%lldm", (long long)seconds / 60);
	else if (seconds < 2 * 86400)
		snprintf(out, 16, "%lldh", (long long)seconds / 3600);
	else
		snprintf(out, 16, "%lldd", (long long)seconds / 86400);
}

static int hook_status(kluis_cli *cli)
{
	kluis_hook_pending *p = NULL;
	char queued[21], last[21], age[16];
	json_t *list;
	size_t n = 0, i;
	int64_t now = kluis_now();
	int rc;

	if (!kluis_path_exists(cli->vault_dir))
		return kluis_error_set(KLUIS_ENOTFOUND, "no vault at '%s': give --vault DIR or set KLUIS_VAULT", cli->vault_dir);
	if ((rc = kluis_hook_pending_list(cli->vault_dir, &p, &n)) < 0)
		return rc;
	if (cli->json) {
		list = json_array();
		for (i = 0; list && i < n; i++) {
			kluis_time_iso(p[i].queued, queued);
			kluis_time_iso(p[i].last_attempt, last);
			json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:I, s:s, s:I, s:s, s:s?, s:i, s:s?, s:s}", "dossier", p[i].dossier,
							      "action", p[i].action, "commit", p[i].commit, "seq", (json_int_t)p[i].seq, "hook", p[i].hook,
							      "attempts", (json_int_t)p[i].attempts, "queued", queued,
							      "last_attempt", p[i].attempts ? last : NULL, "status", p[i].status,
							      "error", p[i].attempts ? p[i].error : NULL, "file", p[i].file));
		}
		rc = cli_print_json(json_pack("{s:o}", "pending", list));
	} else if (n == 0)
		printf("no hook events pending\n");
	else {
		printf("%-16s %-10s %-12s %-11s %8s %5s  %s\n", "DOSSIER", "ACTION", "COMMIT", "HOOK", "ATTEMPTS", "AGE", "LAST FAILURE");
		for (i = 0; i < n; i++) {
			age_text(now - p[i].queued, age);
			printf("%-16s %-10s %-12.12s %-11s %8u %5s  %s\n", p[i].dossier, p[i].action, p[i].commit, p[i].hook, p[i].attempts, age,
			       p[i].attempts ? p[i].error : "not run yet");
		}
	}
	free(p);
	return rc;
}

int cmd_hook(kluis_cli *cli, int argc, char **argv)
{
	kluis_receive_result res;
	kluis_buf input = KLUIS_BUF_INIT;
	char chunk[4096], hex[13];
	ssize_t got;
	size_t i;
	int rc = CLI_OK, err;

	memset(&res, 0, sizeof(res));
	if (strcmp(argv[0], "status") == 0)
		return hook_status(cli);
	if (strcmp(argv[0], "pre-receive") != 0 && strcmp(argv[0], "post-receive") != 0)
		return cli_usage_error(cli, "hook takes one word: status, pre-receive or post-receive");
	while ((got = read(STDIN_FILENO, chunk, sizeof(chunk))) != 0) {
		if (got < 0) {
			rc = kluis_error_set(KLUIS_EGENERIC, "refusing the push: cannot read git's ref updates: %m");
			goto cleanup;
		}
		if (input.len + (size_t)got > INPUT_MAX) {
			rc = kluis_error_set(KLUIS_EINVAL, "refusing the push: too many ref updates");
			goto cleanup;
		}
		if ((rc = kluis_buf_put(&input, chunk, (size_t)got)) < 0)
			goto cleanup;
	}
	if (strcmp(argv[0], "post-receive") == 0) {
		/* too late to refuse: a push git applied only in part is put back (receive.c) */
		if (kluis_receive_settle(input.len ? (const char *)input.ptr : "", input.len, &res) < 0) {
			fprintf(stderr, "kluis: %s\n", kluis_error_last());
			rc = CLI_FAILED;
		}
		goto cleanup;
	}
	err = kluis_receive_check(input.len ? (const char *)input.ptr : "", input.len, &res);
	if (err < 0) {
		fprintf(stderr, "kluis: %s\n", kluis_error_last());
		for (i = 0; i < res.report.nfindings && i < FINDINGS_SHOWN; i++) {
			snprintf(hex, sizeof(hex), "-");
			if (!git_oid_is_zero(&res.report.findings[i].commit))
				git_oid_tostr(hex, sizeof(hex), &res.report.findings[i].commit);
			fprintf(stderr, "kluis:   %s %s\n", hex, res.report.findings[i].message);
		}
		rc = CLI_FAILED; /* any refusal: git must not take the push */
		goto cleanup;
	}
	if (res.updates)
		fprintf(stderr, "kluis: dossier '%s' verifies with this push (%zu commits, %zu replayed%s)\n", res.dossier,
			res.report.total_commits, res.report.commits, res.report.incremental ? " from the server's checkpoint" : ": all");
cleanup:
	kluis_receive_result_dispose(&res);
	kluis_buf_dispose(&input);
	return rc;
}
