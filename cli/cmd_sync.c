/*
 * cmd_sync.c - kluis push, kluis pull and kluis sync: keep dossiers in step with a central git
 * server (the library side is vault/exchange/sync.c, reconcile.c and sync_all.c; the server's
 * check is `kluis hook pre-receive`).
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
	"a dossier with any finding is not pushed. main and access only fast-forward on the\n"
	"server: when it holds commits this vault lacks, push pulls first (see kluis pull --help:\n"
	"this vault's unpublished work is replayed on the server's) and pushes the result. The\n"
	"server's own pre-receive hook (hooks/pre-receive) verifies the push again with its own\n"
	"trust root and keyring, and its reason is shown when it refuses.\n\n"
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
	"the public keys in GNUPGHOME) and only then update the local dossier, under its lock.\n\n"
	"When both the server and this vault moved since they were last in step, this vault's\n"
	"unpublished commits and reads are replayed on top of the server's, re-signed by you:\n"
	"entries never conflict (each is new); an entry written here while the server changed the\n"
	"roles is re-encrypted to the readers of now; a roles change is made again (the server's\n"
	"new entries are rewrapped too) and so is a close; a close, roles change or erase made on\n"
	"both sides is made once; read records follow the server's, in order. An entry erased here\n"
	"while the server rewrapped it, a transfer, or another key's unpublished work cannot be\n"
	"replayed: the pull then changes nothing and says which commit and why. The result is\n"
	"verified as a whole before anything moves here; push it (or use kluis sync). A server\n"
	"whose history no longer holds what it held at this vault's last sync (rolled back or\n"
	"rewritten) is refused.\n\n"	"When this vault's work cannot be replayed, it stays here unchanged. To take the server's\n"
	"history instead: save the text of the entries you still need (kluis show ID ENTRY --out\n"
	"FILE), move VAULT/dossiers/ID.git aside (it holds only ciphertext, and this vault's\n"
	"unpublished commits and reads: keep it with the dossier's records), run kluis pull ID\n"
	"again and add what is still needed anew.\n\n"
	"Local work the server lacks is kept (push it). A dossier this vault does not have yet is\n"
	"created, with REMOTE recorded as its origin; a vault without a trust root needs --trust\n"
	"FPR (the directie key that created the dossier) for that.\n\n"
	"REMOTE and its default: as for 'kluis push' (see kluis push --help).\n"
	"Who may: the dossier's medewerker or directie.\n";

const char cmd_sync_usage[] =
	"Usage: kluis sync ID [REMOTE]\n"
	"       kluis sync --all\n\n"
	"Bring dossier ID in step with the central git server both ways: pull (verified; when both\n"
	"sides moved, this vault's unpublished commits and reads are replayed on the server's, see\n"
	"kluis pull --help), then push what the server lacks. Run it as often as you like: a\n"
	"dossier already in step costs one round trip.\n\n"
	"--all syncs every dossier this vault holds with the server of the vault's 'remote\n"
	"URL-PREFIX' line (VAULT/kluis.conf). The server's refs of all dossiers are learned in one\n"
	"round trip (a path is read directly; over ssh the server's kluis-heads command answers,\n"
	"see docs/OPERATIONS.md; other servers cost one ls-remote per dossier), and only dossiers\n"
	"that changed on either side are pulled and pushed. One line per dossier that changed or\n"
	"failed, then a summary; a failing dossier does not stop the others (exit 1 if any failed).\n\n"
	"Who may: the dossier's medewerker or directie.\n";

const cli_option cmd_sync_options[] = {
	{ "all", 0, NULL, 0, "every dossier of the vault, in one listing of the server" },
	{ NULL, 0, NULL, 0, NULL },
};

int cmd_sync_check(kluis_cli *cli, int argc, char **argv)
{
	(void)argv;
	if (cli_flag(cli, "all") ? argc != 0 : argc < 1)
		return cli_usage_error(cli, cli_flag(cli, "all") ? "sync --all takes no dossier ID" : "sync takes a dossier ID, or --all");
	return 0;
}

static json_t *result_json(const char *id, const char *verb, const kluis_sync_result *r)
{
	char hex[GIT_OID_HEXSZ + 1];

	git_oid_tostr(hex, sizeof(hex), &r->head);
	return json_pack("{s:s, s:s, s:s?, s:s, s:b, s:b, s:b, s:b, s:b, s:b, s:I, s:I, s:I}", "dossier", id, "action", verb, "remote",
			 r->remote, "head", hex, "up_to_date", r->up_to_date, "created", r->created, "main_moved", r->main_moved,
			 "local_ahead", r->local_ahead, "pushed", r->pushed, "reconciled", r->reconciled, "replayed_commits",
			 (json_int_t)r->replayed_commits, "replayed_reads", (json_int_t)r->replayed_reads, "purged_objects",
			 (json_int_t)r->purged);
}

static void report(kluis_cli *cli, const char *verb, const char *prep, const char *id, const kluis_sync_result *r)
{
	char hex[GIT_OID_HEXSZ + 1];

	git_oid_tostr(hex, sizeof(hex), &r->head);
	if (cli->json) {
		cli_print_json(result_json(id, verb, r));
		return;
	}
	if (r->reconciled)
		fprintf(stderr, "kluis: %s: the server and this vault had both moved: %zu commits and %zu reads of this vault replayed on the server's history, re-signed by you\n",
			id, r->replayed_commits, r->replayed_reads);
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

/* sync --all: one line per dossier that changed or failed */
static void each(void *ctx, const char *id, int err, const kluis_sync_result *r)
{
	kluis_cli *cli = ctx;
	char hex[GIT_OID_HEXSZ + 1];

	if (err < 0) {
		if (cli->json)
			cli_print_json(json_pack("{s:s, s:s, s:s}", "dossier", id, "action", "failed", "error", kluis_error_last()));
		else
			fprintf(stderr, "kluis: %s: %s\n", id, kluis_error_last());
		return;
	}
	if (cli->json) {
		cli_print_json(result_json(id, "synced", r));
		return;
	}
	git_oid_tostr(hex, sizeof(hex), &r->head);
	fprintf(stderr, "kluis: %s: %s%s%s (head %.12s)\n", id, r->created ? "created" : r->main_moved || r->access_moved ? "pulled" : "",
		r->pushed ? (r->main_moved || r->access_moved ? " and pushed" : "pushed") : "",
		r->reconciled ? ", this vault's work replayed on the server's" : "", hex);
}

static int sync_all(kluis_cli *cli)
{
	kluis_sync_opts o = { .remote = NULL };
	kluis_sync_all_result sum;
	int err = kluis_sync_all(cli->vault, &o, each, cli, &sum);

	if (err < 0 && !sum.failed)
		return err;
	if (!cli->json)
		fprintf(stderr, "kluis: sync --all: %zu dossiers, %zu synced, %zu already in step, %zu failed (%s)\n", sum.dossiers, sum.synced,
			sum.unchanged, sum.failed, sum.one_listing ? "the server listed them in one round trip" : "one round trip per dossier");
	return err;
}

int cmd_sync(kluis_cli *cli, int argc, char **argv)
{
	kluis_sync_opts o = { .remote = argc == 2 ? argv[1] : NULL };
	kluis_sync_result r;
	int err;

	if (cli_flag(cli, "all"))
		return sync_all(cli);
	if (argc > 2)
		return cli_usage_error(cli, "sync takes a dossier ID and at most one REMOTE");
	memset(&r, 0, sizeof(r));
	if ((err = kluis_sync_dossier(cli->vault, argv[0], &o, &r)) == 0)
		report(cli, "synced", "with", argv[0], &r);
	kluis_sync_result_dispose(&r);
	return err;
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
