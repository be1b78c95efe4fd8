/*
 * cmd_add.c - kluis add (and the shared parser kluis statement uses): add entries.
 *
 * stdout holds each new entry id on a line of its own and nothing else, so that
 * `id=$(kluis add ...)` works; everything else goes to stderr.
 */
#include "cli.h"
#include "entry_cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char add_usage[] =
	"Usage: kluis add ID [--kind K] [--origin O] [--basis B] [--special CAT] [--title T]\n"
	"                 (-m TEXT | --file PATH... | -)\n\n"
	"Add an entry to dossier ID, encrypted to every reader (klant, medewerker, directie,\n"
	"opdrachtgever), in one signed commit. Several --file make several entries in one commit.\n"
	"The klant sees every addition in 'kluis log' (W6b); the vault's post-add hook runs after.\n\n"
	"  -m TEXT         the text of a note (else - reads standard input)\n"
	"  --file PATH     a document, kept byte for byte (repeatable)\n"
	"  --kind K        note, contact, circumstance, document, correspondence, plan, report\n"
	"                  (default: note for text, document for files)\n"
	"  --origin O      where the data comes from (W5a): medewerker, klant, opdrachtgever, derde[:who]\n"
	"  --basis B       legal basis (P6.4): consent, contract, legal, vital, interest\n"
	"  --special CAT   special category (P8): health, religion, ...; needs the klant's consent\n"
	"  --title T       a short title (encrypted like everything else)\n\n"
	"Output: one entry id per line on stdout.  Example:\n"
	"  id=$(kluis add k-0042 --kind contact --origin klant -m 'Intake gesprek: ...')\n";

static const char correct_usage[] =
	"Usage: kluis correct ID ENTRY (-m TEXT | --file PATH | -) [--title T] [--origin O] [--basis B]\n\n"
	"P11.1 correction: a new entry that supersedes ENTRY. Both stay in the dossier; log, show and\n"
	"inzage show the link, and an approval of ENTRY is no longer current. Medewerker or directie.\n";

static const char statement_usage[] =
	"Usage: kluis statement ID (-m TEXT | --file PATH | -)\n\n"
	"The klant's own statement on the dossier (Werklokaal Art. 6b), signed with the klant's key\n"
	"and encrypted to every reader. Only the klant may make one. Prints the new entry id.\n";

int cli_entry_command(kluis_cli *cli, int argc, char **argv, kluis_action action)
{
	enum { O_KIND = OPT_CMD_BASE, O_ORIGIN, O_BASIS, O_SPECIAL, O_TITLE, O_FILE };
	static const struct option opts[] = {
		{ "kind", required_argument, NULL, O_KIND },
		{ "origin", required_argument, NULL, O_ORIGIN },
		{ "basis", required_argument, NULL, O_BASIS },
		{ "special", required_argument, NULL, O_SPECIAL },
		{ "title", required_argument, NULL, O_TITLE },
		{ "file", required_argument, NULL, O_FILE },
		{ "message", required_argument, NULL, 'm' },
		CLI_GLOBAL_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	kluis_entry_input common, *in = NULL;
	const char **files = NULL, *text = NULL, *id = NULL, *target = NULL;
	char (*ids)[KLUIS_ENTRY_ID_LEN + 1] = NULL;
	size_t nfiles = 0, n, i;
	bool use_stdin = false;
	kluis_vault *v = NULL;
	kluis_dossier *d = NULL;
	int c, rc = CLI_OK, err, hook = -1;

	cli->usage = action == KLUIS_ACT_STATEMENT ? statement_usage : action == KLUIS_ACT_CORRECT ? correct_usage : add_usage;
	memset(&common, 0, sizeof(common));
	common.fd = -1;
	files = calloc((size_t)argc + 1, sizeof(*files));
	if (!files)
		return cli_fail(kluis_error_set(KLUIS_EGENERIC, "out of memory"));
	while ((c = cli_getopt(argc, argv, "hm:", opts)) != -1) {
		if (action == KLUIS_ACT_STATEMENT && c >= O_KIND && c <= O_TITLE) {
			rc = cli_usage_error(cli, "a statement takes only -m, --file or -: it is the klant's own words");
			goto cleanup;
		}
		switch (c) {
		case O_KIND: rc = cli_once(cli, &common.kind, optarg, "--kind"); break;
		case O_ORIGIN: rc = cli_once(cli, &common.origin, optarg, "--origin"); break;
		case O_BASIS: rc = cli_once(cli, &common.basis, optarg, "--basis"); break;
		case O_SPECIAL: rc = cli_once(cli, &common.special, optarg, "--special"); break;
		case O_TITLE: rc = cli_once(cli, &common.title, optarg, "--title"); break;
		case 'm': rc = cli_once(cli, &text, optarg, "-m"); break;
		case O_FILE: files[nfiles++] = optarg; break;
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
	for (i = (size_t)optind; i < (size_t)argc; i++) {
		if (strcmp(argv[i], "-") == 0 && id && !use_stdin)
			use_stdin = true;
		else if (!id)
			id = argv[i];
		else if (action == KLUIS_ACT_CORRECT && !target)
			target = argv[i];
		else {
			rc = cli_usage_error(cli, "unexpected argument '%s'", argv[i]);
			goto cleanup;
		}
	}
	if (!id) {
		rc = cli_usage_error(cli, "which dossier? give its ID");
		goto cleanup;
	}
	if (action == KLUIS_ACT_CORRECT && !target) {
		rc = cli_usage_error(cli, "which entry does this correct? give its ENTRY id");
		goto cleanup;
	}
	if ((text != NULL) + (nfiles > 0) + use_stdin != 1) {
		rc = cli_usage_error(cli, "give exactly one of -m TEXT, --file PATH or - (standard input)");
		goto cleanup;
	}
	if (action != KLUIS_ACT_ADD && nfiles > 1) {
		rc = cli_usage_error(cli, "a %s is one text or one file", kluis_action_name(action));
		goto cleanup;
	}
	if (use_stdin && isatty(STDIN_FILENO))
		fprintf(stderr, "kluis: reading the entry from standard input; end with Ctrl-D\n");
	n = nfiles ? nfiles : 1;
	in = calloc(n, sizeof(*in));
	ids = calloc(n, sizeof(*ids));
	if (!in || !ids) {
		rc = cli_fail(kluis_error_set(KLUIS_EGENERIC, "out of memory"));
		goto cleanup;
	}
	for (i = 0; i < n; i++) {
		in[i] = common;
		in[i].supersedes = target;
		if (nfiles)
			in[i].path = files[i];
	}
	if (text) {
		in[0].text = text;
		in[0].text_len = strlen(text);
	}
	if (use_stdin)
		in[0].fd = STDIN_FILENO;
	for (i = 0; i < n; i++)
		if ((err = kluis_entry_input_check(&in[i])) < 0) {
			rc = cli_fail(err);
			goto cleanup;
		}
	if ((rc = cli_open_vault(cli, &v, KLUIS_VAULT_SIGN)) != CLI_OK)
		goto cleanup;
	if ((err = kluis_dossier_open(&d, v, id)) < 0 ||
	    (err = kluis_entry_add(d, action, in, n, ids, &hook, cli_progress, "encrypting")) < 0) {
		rc = cli_fail(err);
		goto cleanup;
	}
	if (cli->json) {
		json_t *arr = json_array();
		for (i = 0; i < n; i++)
			json_array_append_new(arr, json_string(ids[i]));
		rc = cli_print_json(json_pack("{s:s, s:s, s:o}", "dossier", id, "action", kluis_action_name(action), "entries", arr));
	} else {
		for (i = 0; i < n; i++)
			printf("%s\n", ids[i]);
	}
	if (hook > 0)
		cli_warn("the vault's post-add hook exited with status %d; the entry is committed", hook);
cleanup:
	if (text)
		kluis_wipe((void *)text, strlen(text)); /* plaintext in the argument vector */
	kluis_dossier_free(d);
	kluis_vault_free(v);
	free(in);
	free(ids);
	free(files);
	return rc;
}

int cmd_add(kluis_cli *cli, int argc, char **argv)
{
	return cli_entry_command(cli, argc, argv, KLUIS_ACT_ADD);
}
