/*
 * cmd_hook.c - kluis hook pre-receive: the server's check of a push, run by hooks/pre-receive
 * inside a bare dossier repository on the central git server (vault/exchange/receive.c does the work).
 *
 * Its stderr reaches the pusher as `remote: ...` lines; the first line is the reason (kluis
 * push shows it), then one line per verification finding.
 */
#include "cli.h"
#include "vault/exchange/sync.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define INPUT_MAX (1 << 20)
#define FINDINGS_SHOWN 20

const char cmd_hook_usage[] =
	"Usage: kluis hook pre-receive\n\n"
	"The check a central kluis server runs on every push; git runs it through hooks/pre-receive\n"
	"(copy that file into the bare repository's hooks/ and make it executable). It reads git's\n"
	"'OLD NEW REF' lines on stdin and refuses, with exit 1 and the reason, any push that\n"
	"'kluis verify' would refuse: unsigned or badly signed commits, signers without the role,\n"
	"rewrites of refs/heads/main or refs/kluis/access (not a fast-forward), deleted refs, refs\n"
	"other than main, refs/kluis/content and refs/kluis/access, missing ciphertext.\n\n"
	"Server configuration (git config in the bare repository ID.git):\n"
	"  kluis.trust FPR      the trust root: the directie key that created the dossier\n"
	"                       (required; --add several for several)\n"
	"  kluis.gnupghome DIR  the public keyring to verify with (else $GNUPGHOME of the hook's\n"
	"                       user, else ~/.gnupg); public keys only, no secret key is needed\n"
	"  kluis.dossier ID     the dossier id (else the repository's name without .git)\n"
	"  kluis.program PATH   read by hooks/pre-receive: the kluis binary (else kluis in PATH)\n";

int cmd_hook(kluis_cli *cli, int argc, char **argv)
{
	kluis_receive_result res;
	kluis_buf input = KLUIS_BUF_INIT;
	char chunk[4096], hex[13];
	ssize_t got;
	size_t i;
	int rc = CLI_OK, err;

	memset(&res, 0, sizeof(res));
	if (strcmp(argv[0], "pre-receive") != 0)
		return cli_usage_error(cli, "hook takes one hook name: pre-receive");
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
