/*
 * cmd_sync.c - kluis push and kluis pull: keep a dossier in step with a central git server
 * (the library side is vault/exchange/sync.c; the server's check is `kluis hook pre-receive`).
 */
#include "cli.h"
#include "vault/exchange/sync.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char cmd_push_usage[] =
	"Usage: kluis push ID [REMOTE]\n\n"
	"Send dossier ID's signed history to a central git server: refs/heads/main,\n"
	"refs/kluis/content and refs/kluis/access, all three or none (git push --atomic).\n\n"
	"Before anything is sent the dossier is verified here, exactly as 'kluis verify ID' does;\n"
	"a dossier with any finding is not pushed. main and access only fast-forward: when the\n"
	"server holds commits this vault lacks, run 'kluis pull ID' first. The server's own\n"
	"pre-receive hook (hooks/pre-receive) verifies the push again with its own trust root and\n"
	"keyring, and its reason is shown when it refuses.\n\n"
	"REMOTE is anything stock git can push to: a path (/srv/kluis/ID.git), file://, ssh://\n"
	"or host:path, https://. Without REMOTE: the dossier repository's remote.origin.url (set\n"
	"by a pull that created the dossier), else the vault's 'remote URL-PREFIX' line in\n"
	"VAULT/kluis.conf with ID.git appended (e.g. 'remote ssh://kluis.example/srv/kluis').\n\n"
	"Who may: the dossier's medewerker or directie. Stock git does the transfer (only git's\n"
	"receive-pack runs a server's hooks); it runs with a minimal environment and no prompts.\n";

const char cmd_pull_usage[] =
	"Usage: kluis pull ID [REMOTE] [--trust FPR]...\n\n"
	"Fetch dossier ID from a central git server into a scratch repository under VAULT/tmp,\n"
	"verify the whole history there (as 'kluis verify' does, with this vault's trust root and\n"
	"the public keys in GNUPGHOME) and only then update the local dossier, under its lock.\n"
	"Fast-forward only: when the server's history and this vault's have diverged nothing is\n"
	"changed. Local work the server lacks is kept (push it). A dossier this vault does not\n"
	"have yet is created, with REMOTE recorded as its origin; a vault without a trust root\n"
	"needs --trust FPR (the directie key that created the dossier) for that.\n\n"
	"REMOTE and its default: as for 'kluis push' (see kluis push --help).\n"
	"Who may: the dossier's medewerker or directie.\n";

static void report(kluis_cli *cli, const char *verb, const char *prep, const char *id, const kluis_sync_result *r)
{
	char hex[GIT_OID_HEXSZ + 1];

	git_oid_tostr(hex, sizeof(hex), &r->head);
	if (cli->json) {
		cli_print_json(json_pack("{s:s, s:s, s:s, s:s, s:b, s:b, s:b, s:b, s:I}", "dossier", id, "action", verb, "remote", r->remote,
					 "head", hex, "up_to_date", r->up_to_date, "created", r->created, "main_moved", r->main_moved,
					 "local_ahead", r->local_ahead, "purged_objects", (json_int_t)r->purged));
		return;
	}
	if (r->created)
		fprintf(stderr, "kluis: %s: created from %s and verified (head %.12s)\n", id, r->remote, hex);
	else if (r->up_to_date)
		fprintf(stderr, "kluis: %s: already up to date with %s (head %.12s)\n", id, r->remote, hex);
	else
		fprintf(stderr, "kluis: %s: %s %s %s, verified (head %.12s)\n", id, verb, prep, r->remote, hex);
	if (r->purged)
		fprintf(stderr, "kluis: %s: %zu ciphertext objects that an erase or rewrap on the server removed are gone from this vault too\n",
			id, r->purged);
	if (r->local_ahead)
		fprintf(stderr, "kluis: %s: this vault holds changes the server lacks: kluis push %s\n", id, id);
}

const cli_option cmd_pull_options[] = {
	{ "trust", 0, "FPR", CLI_MANY, "the trust root for a dossier new to this vault" },
	{ NULL, 0, NULL, 0, NULL },
};

int cmd_pull_check(kluis_cli *cli, int argc, char **argv)
{
	char **trust = NULL;
	size_t ntrust = 0;
	int rc = cli_trust(cli, &trust, &ntrust);

	kluis_strings_free(trust, ntrust);
	return rc;
}

static int run(kluis_cli *cli, int argc, char **argv, bool push)
{
	kluis_sync_opts o = { .remote = argc == 2 ? argv[1] : NULL };
	kluis_sync_result r;
	char **trust = NULL;
	int err;

	memset(&r, 0, sizeof(r));
	if (!push && (err = cli_trust(cli, &trust, &o.ntrust)) != 0)
		goto cleanup;
	o.trust = (const char *const *)trust;
	if ((err = push ? kluis_sync_push(cli->vault, argv[0], &o, &r) : kluis_sync_pull(cli->vault, argv[0], &o, &r)) == 0)
		report(cli, push ? "pushed" : "pulled", push ? "to" : "from", argv[0], &r);
cleanup:
	kluis_sync_result_dispose(&r);
	kluis_strings_free(trust, o.ntrust);
	return err;
}

int cmd_push(kluis_cli *cli, int argc, char **argv)
{
	return run(cli, argc, argv, true);
}

int cmd_pull(kluis_cli *cli, int argc, char **argv)
{
	return run(cli, argc, argv, false);
}
