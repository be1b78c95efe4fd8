/*
 * cmd_request.c - kluis request: the register of the klant's requests (inzage P10.2,
 * correction and erasure P11.3), each with its four-week deadline. A request is an entry of
 * kind `request` (signed, encrypted like every entry; the commit shows only the kind), so the
 * klant sees it in the log, and `list` warns about overdue ones.
 */
#include "cli.h"
#include "vault/store/entries.h"

#include <stdio.h>
#include <string.h>

#define FOUR_WEEKS (28 * 24 * 3600)

const char cmd_request_usage[] =
	"Usage: kluis request ID add --type inzage|correctie|verwijdering|bezwaar|beperking [--received YYYY-MM-DD]\n"
	"       kluis request ID done REQUEST [-m NOTE]\n"
	"       kluis request ID list [--json]\n\n"
	"The register of the klant's requests: inzage (P10.2), correction and erasure (P11.3),\n"
	"objection (bezwaar) and restriction (beperking), each to be answered within four weeks of\n"
	"receipt. 'add' records one: the klant files it himself, or the medewerker or directie\n"
	"records one received otherwise (after the transfer, the opdrachtgever, who then holds the\n"
	"dossier); it prints its id. 'done' records the answer; 'list' shows each with its deadline and warns on stderr\n"
	"about overdue ones (listing decrypts the register: the read is logged, purpose 'register').\n";

static int add_request(kluis_dossier *d, const char *type, int64_t received, const char *note, const char *done_id, kluis_cli *cli)
{
	kluis_entry_input in;
	kluis_buf body = KLUIS_SECRET_BUF_INIT;
	char rec[21], due[21], extra[256], ids[1][KLUIS_ENTRY_ID_LEN + 1];
	int err;

	memset(&in, 0, sizeof(in));
	in.fd = -1;
	in.kind = "request";
	kluis_time_iso(received, rec);
	kluis_time_iso(received + FOUR_WEEKS, due);
	if (done_id)
		snprintf(extra, sizeof(extra), "{\"request_done\":\"%s\",\"answered\":\"%s\"}", done_id, rec);
	else
		snprintf(extra, sizeof(extra), "{\"request_type\":\"%s\",\"received\":\"%s\",\"deadline\":\"%s\"}", type, rec, due);
	if ((err = kluis_buf_printf(&body, "%s%s\n", done_id ? "Verzoek afgehandeld: " : "Verzoek van de klant: ", done_id ? done_id : type)) < 0 ||
	    (note && (err = kluis_buf_printf(&body, "%s\n", note)) < 0))
		goto cleanup;
	in.text = (const char *)body.ptr;
	in.text_len = body.len;
	in.extra_meta = extra;
	in.origin = done_id ? "medewerker" : "klant";
	in.basis = "legal";
	if ((err = kluis_entry_add(d, KLUIS_ACT_ADD, &in, 1, ids, NULL, NULL)) == 0) {
		if (cli->json)
			cli_print_json(json_pack("{s:s, s:s?, s:s?}", "request", ids[0], "deadline", done_id ? NULL : due, "done", done_id));
		else
			printf("%s\n", ids[0]);
	}
cleanup:
	kluis_buf_dispose(&body);
	return err;
}

static int list_requests(kluis_dossier *d, kluis_cli *cli)
{
	kluis_dossier_contents c;
	json_t *arr = json_array(), *m, *reqs = json_array();
	size_t i, j;
	int64_t now = kluis_now(), deadline;
	int err, overdue = 0;

	if ((err = kluis_dossier_read_all(d, "register", &c)) < 0) {
		json_decref(arr);
		json_decref(reqs);
		return err;
	}
	for (i = 0; i < c.n; i++) {
		if (strcmp(c.entries[i].kind, "request") != 0 || c.entries[i].erased)
			continue;
		m = json_loadb((const char *)c.entries[i].meta.ptr, c.entries[i].meta.len, 0, NULL);
		if (m && json_object_get(m, "request_type"))
			json_array_append_new(reqs, json_pack("{s:s, s:O}", "id", c.entries[i].id, "meta", m));
		else if (m && json_object_get(m, "request_done"))
			json_array_append(arr, m);
		json_decref(m);
	}
	if (!cli->json)
		printf("%-21s  %-12s  %-10s  %-10s  %s\n", "REQUEST", "TYPE", "RECEIVED", "DEADLINE", "STATUS");
	for (i = 0; i < json_array_size(reqs); i++) {
		json_t *r = json_array_get(reqs, i), *meta = json_object_get(r, "meta");
		const char *id = json_string_value(json_object_get(r, "id"));
		const char *dl = json_string_value(json_object_get(meta, "deadline"));
		bool done = false;
		for (j = 0; j < json_array_size(arr); j++)
			done |= strcmp(json_string_value(json_object_get(json_array_get(arr, j), "request_done")) ?: "", id) == 0;
		deadline = 0;
		if (dl)
			kluis_time_parse(dl, &deadline);
		json_object_set_new(r, "status", json_string(done ? "done" : deadline && deadline < now ? "overdue" : "open"));
		if (!done && deadline && deadline < now)
			overdue++;
		if (!cli->json)
			printf("%-21s  %-12s  %-10.10s  %-10.10s  %s\n", id, json_string_value(json_object_get(meta, "request_type")),
			       json_string_value(json_object_get(meta, "received")), dl ? dl : "-",
			       json_string_value(json_object_get(r, "status")));
	}
	if (cli->json)
		cli_print_json(json_pack("{s:s, s:O}", "dossier", kluis_dossier_id(d), "requests", reqs));
	if (overdue)
		fprintf(stderr, "kluis: warning: %d request%s past the four-week deadline (P10.2, P11.3)\n", overdue, overdue == 1 ? " is" : "s are");
	json_decref(arr);
	json_decref(reqs);
	kluis_dossier_contents_dispose(&c);
	return 0;
}

const cli_option cmd_request_options[] = {
	{ "type", 0, "TYPE", 0, "add: inzage, correctie, verwijdering, bezwaar or beperking" },
	{ "received", 0, "DATE", 0, "add: when it was received (default: now)" },
	{ "message", 'm', "NOTE", 0, "a note (kept encrypted)" },
	{ NULL, 0, NULL, 0, NULL },
};

int cmd_request_check(kluis_cli *cli, int argc, char **argv)
{
	const char *type = cli_str(cli, "type");
	int64_t t;

	if (strcmp(argv[1], "add") == 0) {
		if (argc != 2 || !type ||
		    (strcmp(type, "inzage") && strcmp(type, "correctie") && strcmp(type, "verwijdering") && strcmp(type, "bezwaar") && strcmp(type, "beperking")))
			return cli_usage_error(cli, "request add needs --type inzage, correctie, verwijdering, bezwaar or beperking");
		if (cli_str(cli, "received") && kluis_time_parse(cli_str(cli, "received"), &t) < 0)
			return KLUIS_EINVAL; /* kluis_time_parse set the message */
	} else if (strcmp(argv[1], "done") == 0) {
		if (argc != 3 || !kluis_entry_id_valid(argv[2]))
			return cli_usage_error(cli, "request done takes the REQUEST id");
	} else if (strcmp(argv[1], "list") != 0 || argc != 2) {
		return cli_usage_error(cli, "use 'kluis request ID add|done|list'");
	}
	return CLI_OK;
}

int cmd_request(kluis_cli *cli, int argc, char **argv)
{
	int64_t received = kluis_now();

	if (strcmp(argv[1], "list") == 0)
		return list_requests(cli->dossier, cli);
	if (strcmp(argv[1], "done") == 0)
		return add_request(cli->dossier, NULL, received, cli_str(cli, "message"), argv[2], cli);
	if (cli_str(cli, "received"))
		kluis_time_parse(cli_str(cli, "received"), &received);
	return add_request(cli->dossier, cli_str(cli, "type"), received, cli_str(cli, "message"), NULL, cli);
}
