/*
 * cmd_add.c - kluis add, kluis correct and kluis statement: new entries in a dossier.
 *
 * stdout holds each new entry id on a line of its own and nothing else, so that
 * `id=$(kluis add ...)` works; everything else goes to stderr.
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char cmd_add_usage[] =
	"Usage: kluis add ID [--kind K] [--origin O] [--basis B] [--special CAT] [--title T]\n"
	"                 (-m TEXT | --file PATH... | -)\n\n"
	"Add an entry to dossier ID, encrypted to every reader (klant, medewerker, directie,\n"
	"opdrachtgever), in one signed commit. Several --file make several entries in one commit;\n"
	"- reads the text from standard input. The klant sees every addition in 'kluis log' (W6b);\n"
	"the vault's post-commit hook (and the older post-add) runs after.\n\n"
	"Output: one entry id per line on stdout.  Example:\n"
	"  id=$(kluis add k-0042 --kind contact --origin klant -m 'Intake gesprek: ...')\n";

const char cmd_correct_usage[] =
	"Usage: kluis correct ID ENTRY (-m TEXT | --file PATH | -) [--title T] [--origin O] [--basis B]\n\n"
	"P11.1 correction: a new entry that supersedes ENTRY. Both stay in the dossier; log, show and\n"
	"inzage show the link, and an approval of ENTRY is no longer current. Medewerker or directie.\n";

const char cmd_statement_usage[] =
	"Usage: kluis statement ID (-m TEXT | --file PATH | -)\n\n"
	"The klant's own statement on the dossier (Werklokaal Art. 6b), signed with the klant's key\n"
	"and encrypted to every reader: the klant's own words, so it takes no --kind, --title or\n"
	"other metadata. Only the klant may make one. Prints the new entry id.\n";

/* statement's table is the first two rows of add's */
const cli_option cmd_add_options[] = {
	{ "message", 'm', "TEXT", 0, "the text of a note (else - reads standard input)" },
	{ "file", 0, "PATH", CLI_MANY, "a document, kept byte for byte" },
	{ "kind", 0, "K", 0, "note, contact, circumstance, document, correspondence, plan, report (default: note for text, document for files)" },
	{ "origin", 0, "O", 0, "where the data comes from (W5a): medewerker, klant, opdrachtgever, derde[:who]" },
	{ "basis", 0, "B", 0, "legal basis (P6.4): consent, contract, legal, vital, interest" },
	{ "special", 0, "CAT", 0, "special category (P8): health, religion, ...; needs the klant's consent" },
	{ "title", 0, "T", 0, "a short title (encrypted like everything else)" },
	{ NULL, 0, NULL, 0, NULL },
};
const cli_option cmd_statement_options[] = {
	{ "message", 'm', "TEXT", 0, "the text (else - reads standard input)" },
	{ "file", 0, "PATH", 0, "a document, kept byte for byte" },
	{ NULL, 0, NULL, 0, NULL },
};

static kluis_action action_of(const kluis_cli *cli)
{
	return cli->command->run == cmd_statement ? KLUIS_ACT_STATEMENT : cli->command->run == cmd_correct ? KLUIS_ACT_CORRECT : KLUIS_ACT_ADD;
}

/* One entry's input from the options; path for a file, else -m TEXT or standard input. */
static void fill(const kluis_cli *cli, char **argv, kluis_entry_input *in, const char *path)
{
	const char *text = cli_str(cli, "message");

	memset(in, 0, sizeof(*in));
	in->fd = path || text ? -1 : STDIN_FILENO;
	in->path = path;
	in->text = path ? NULL : text;
	in->text_len = in->text ? strlen(text) : 0;
	in->supersedes = action_of(cli) == KLUIS_ACT_CORRECT ? argv[1] : NULL;
	if (action_of(cli) == KLUIS_ACT_STATEMENT)
		return;
	in->kind = cli_str(cli, "kind");
	in->origin = cli_str(cli, "origin");
	in->basis = cli_str(cli, "basis");
	in->special = cli_str(cli, "special");
	in->title = cli_str(cli, "title");
}

/* The input, checked before the vault is opened: one of -m, --file or -, valid fields. */
int cmd_add_check(kluis_cli *cli, int argc, char **argv)
{
	kluis_action action = action_of(cli);
	int ids = action == KLUIS_ACT_CORRECT ? 2 : 1; /* ID, and the ENTRY a correction corrects */
	bool use_stdin = argc > ids && strcmp(argv[argc - 1], "-") == 0;
	const char *const *files;
	kluis_entry_input in;
	size_t nfiles;

	files = cli_list(cli, "file", &nfiles);
	if (argc > ids + use_stdin)
		return cli_usage_error(cli, "unexpected argument '%s'", argv[argc - 1]);
	if ((cli_str(cli, "message") != NULL) + (nfiles > 0) + use_stdin != 1)
		return cli_usage_error(cli, "give exactly one of -m TEXT, --file PATH or - (standard input)");
	if (action != KLUIS_ACT_ADD && nfiles > 1)
		return cli_usage_error(cli, "a %s is one text or one file", kluis_action_name(action));
	fill(cli, argv, &in, nfiles ? files[0] : NULL);
	return kluis_entry_input_check(&in);
}

int cmd_add(kluis_cli *cli, int argc, char **argv)
{
	kluis_action action = action_of(cli);
	const char *text = cli_str(cli, "message"), *const *files;
	kluis_entry_input *in = NULL;
	char (*ids)[KLUIS_ENTRY_ID_LEN + 1] = NULL;
	size_t nfiles, n, i;
	int rc = CLI_OK;
	json_t *arr;

	files = cli_list(cli, "file", &nfiles);
	n = nfiles ? nfiles : 1;
	in = calloc(n, sizeof(*in));
	ids = calloc(n, sizeof(*ids));
	if (!in || !ids) {
		rc = kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto cleanup;
	}
	for (i = 0; i < n; i++)
		fill(cli, argv, &in[i], nfiles ? files[i] : NULL);
	if (in[0].fd == STDIN_FILENO && isatty(STDIN_FILENO))
		fprintf(stderr, "kluis: reading the entry from standard input; end with Ctrl-D\n");
	if ((rc = kluis_entry_add(cli->dossier, action, in, n, ids, cli_progress, "encrypting")) < 0)
		goto cleanup;
	if (cli->json) {
		arr = json_array();
		for (i = 0; i < n; i++)
			json_array_append_new(arr, json_string(ids[i]));
		rc = cli_print_json(json_pack("{s:s, s:s, s:o}", "dossier", argv[0], "action", kluis_action_name(action), "entries", arr));
	} else {
		for (i = 0; i < n; i++)
			printf("%s\n", ids[i]);
	}
cleanup:
	if (text)
		kluis_wipe((void *)text, strlen(text)); /* plaintext in the argument vector */
	free(in);
	free(ids);
	return rc;
}

int cmd_correct(kluis_cli *cli, int argc, char **argv)
{
	return cmd_add(cli, argc, argv);
}

int cmd_statement(kluis_cli *cli, int argc, char **argv)
{
	return cmd_add(cli, argc, argv);
}
