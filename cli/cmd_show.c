/*
 * cmd_show.c - kluis show: decrypt one entry. The read is recorded (signed, on
 * refs/kluis/access) once the entry was decrypted and before any of it reaches the user
 * (SPEC invariant 6): a refused decryption is no read (kluis_entry_show, vault.h).
 *
 * The body goes byte for byte to stdout or to --out FILE (created new, 0600, never
 * overwritten); the metadata summary goes to stderr, so `kluis show ... > x.pdf` works.
 * The body is checked against its signed commitment while it streams: --out writes a
 * temporary file beside FILE and gives it the name only when it matched; on stdout a
 * mismatch is an error (exit 1) after the bytes.
 */
#include "cli.h"

#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

const char cmd_show_usage[] =
	"Usage: kluis show ID ENTRY [--out FILE] [--purpose CODE] [--json]\n\n"
	"Decrypt entry ENTRY of dossier ID with your key. The body is written byte for byte to\n"
	"standard output, or to FILE with --out (a new file, mode 0600; kluis never overwrites).\n"
	"A summary (kind, title, origin, time) goes to standard error. Every read is logged with\n"
	"who, when and why: --purpose is a short code (default: begeleiding).\n";

static bool is_text(const json_t *meta)
{
	const char *ct = json_string_value(json_object_get(meta, "content_type"));

	return ct && (strncmp(ct, "text/", 5) == 0 || strcmp(ct, "application/json") == 0);
}

/* Whether standard output is a pipe whose reader has closed it (Linux: POLLERR). */
static bool reader_gone(void)
{
	struct pollfd p = { STDOUT_FILENO, POLLOUT, 0 };

	return poll(&p, 1, 0) == 1 && (p.revents & POLLERR);
}

static void print_summary(const json_t *meta)
{
	const char *keys[] = { "kind", "title", "origin", "basis", "special", "filename", "content_type", "created", "role", "supersedes", NULL };
	size_t i;

	for (i = 0; keys[i]; i++) {
		const char *val = json_string_value(json_object_get(meta, keys[i]));
		char safe[512];
		if (val)
			fprintf(stderr, "%s: %s\n", keys[i], cli_safe(val, safe, sizeof(safe)));
	}
}

const cli_option cmd_show_options[] = {
	{ "out", 'o', "FILE", 0, "write the body to FILE (a new file, mode 0600)" },
	{ "purpose", 0, "CODE", 0, "why you read it, logged with the read (default: begeleiding)" },
	{ NULL, 0, NULL, 0, NULL },
};

int cmd_show_check(kluis_cli *cli, int argc, char **argv)
{
	return cli_str(cli, "out") && cli->json ? cli_usage_error(cli, "--out and --json do not go together") : CLI_OK;
}

int cmd_show(kluis_cli *cli, int argc, char **argv)
{
	const char *out = cli_str(cli, "out"), *purpose = cli_str(cli, "purpose");
	kluis_buf meta = KLUIS_SECRET_BUF_INIT, body = KLUIS_SECRET_BUF_INIT;
	cli_out file = { NULL, NULL, -1 };
	json_t *mj = NULL, *o;
	int rc;
	/* to a terminal or as JSON we look at the content type first, so the body is buffered */
	bool buffered = !out && (cli->json || isatty(STDOUT_FILENO));

	if (out && (rc = cli_out_open(&file, out)) < 0)
		goto cleanup;
	/* --out: the temporary file gets its name only after the read is on record */
	rc = kluis_entry_show(cli->dossier, argv[1], purpose ? purpose : "begeleiding", &meta, buffered ? -1 : out ? file.fd : STDOUT_FILENO,
			      !buffered && !out, &body);
	/* a write that failed because the reader went away (`| head`) is no failure of the read:
	 * it took what it wanted, on record, so we end quietly with 0 */
	if (rc == KLUIS_EGENERIC && !out && !buffered && reader_gone())
		rc = 0;
	if (rc < 0 || (!out && !buffered && !cli->json))
		goto cleanup;  /* streamed into a pipe: the body alone, as a script wants it */
	if (!(mj = json_loadb((const char *)meta.ptr, meta.len, 0, NULL))) {
		rc = kluis_error_set(KLUIS_EVERIFY, "the entry's metadata is not valid JSON");
		goto cleanup;
	}
	if (cli->json) {
		o = json_pack("{s:s, s:s, s:O}", "dossier", argv[0], "entry", argv[1], "meta", mj);
		/* a text body that is no valid UTF-8 is given by its size, as a binary one */
		if (!is_text(mj) || json_object_set_new(o, "body", json_stringn((const char *)body.ptr, body.len)) < 0)
			json_object_set_new(o, "body_size", json_integer((json_int_t)body.len));
		rc = cli_print_json(o);
		goto cleanup;
	}
	print_summary(mj);
	if (buffered && !is_text(mj))
		rc = kluis_error_set(KLUIS_EINVAL, "this entry is a binary document; write it to a file with --out FILE");
	else if (buffered && (fputc('\n', stderr), kluis_fd_write_all(STDOUT_FILENO, body.ptr, body.len) < 0))
		rc = kluis_error_set(KLUIS_EGENERIC, "cannot write to standard output");
	else if (out)
		rc = cli_out_commit(&file);
cleanup:
	cli_out_close(&file);
	json_decref(mj);
	kluis_buf_dispose(&meta);
	kluis_buf_dispose(&body);
	return rc;
}
