/*
 * cmd_find.c - kluis find: find entries by their title (or kind) without opening them one by
 * one. The titles are encrypted, so this decrypts every entry's metadata, never a body, and
 * records exactly one read of the dossier with its purpose (kluis_dossier_read_all).
 */
#include "cli.h"
#include "vault/store/entries.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

const char cmd_find_usage[] =
	"Usage: kluis find ID [TEXT] [--kind K] [--purpose CODE] [--json]\n\n"
	"The entries of dossier ID whose title holds TEXT (any case), newest last: id, date, kind\n"
	"and title. The titles are encrypted: this decrypts every entry's metadata (never a body)\n"
	"and records one read of the dossier with its purpose, which the klant sees in the log.\n"
	"Without TEXT every entry is listed (--kind narrows by kind). 'kluis show ID ENTRY' opens one.\n";

const cli_option cmd_find_options[] = {
	{ "kind", 0, "K", 0, "only entries of this kind (note, contact, plan, ...)" },
	{ "purpose", 0, "CODE", 0, "why you look, logged with the read (default: begeleiding)" },
	{ NULL, 0, NULL, 0, NULL },
};

int cmd_find_check(kluis_cli *cli, int argc, char **argv)
{
	const char *kind = cli_str(cli, "kind");

	return kind ? cli_kind_check(kind) : CLI_OK;
}

int cmd_find(kluis_cli *cli, int argc, char **argv)
{
	const char *text = argc > 1 ? argv[1] : NULL, *kind = cli_str(cli, "kind"), *purpose = cli_str(cli, "purpose");
	kluis_dossier_contents c;
	json_t *arr = cli->json ? json_array() : NULL, *m;
	char when[21];
	size_t i;
	int rc;

	memset(&c, 0, sizeof(c));
	if ((rc = kluis_dossier_read_all(cli->dossier, purpose ? purpose : "begeleiding", &c)) < 0)
		goto cleanup;
	for (i = 0; i < c.n; i++) {
		const kluis_entry_info *e = &c.entries[i];
		const char *title = NULL;
		m = e->erased ? NULL : json_loadb((const char *)e->meta.ptr, e->meta.len, 0, NULL);
		title = m ? json_string_value(json_object_get(m, "title")) : NULL;
		if ((!kind || strcmp(e->kind, kind) == 0) && (!text || (title && strcasestr(title, text)))) {
			kluis_time_iso(e->time, when);
			if (arr)
				json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s?, s:b}", "entry", e->id, "time", when, "kind", e->kind,
								     "title", title, "erased", e->erased));
			else
			{
				char safe[512];
				printf("%s  %.10s  %-14s  %s\n", e->id, when, e->kind, e->erased ? "(gewist)" : title ? cli_safe(title, safe, sizeof(safe)) : "-");
			}
		}
		json_decref(m);
	}
	if (arr) {
		rc = cli_print_json(json_pack("{s:s, s:o}", "dossier", argv[0], "entries", arr));
		arr = NULL;
	}
cleanup:
	json_decref(arr);
	kluis_dossier_contents_dispose(&c);
	return rc;
}
