/*
 * cmd_show.c - kluis show: decrypt one entry. The read is recorded (signed, on
 * refs/kluis/access) once the entry was decrypted and before any of it reaches the user
 * (SPEC invariant 6): a refused decryption is no read (kluis_entry_show, vault.h).
 *
 * The body goes byte for byte to stdout or to --out FILE (created new, 0600, never
 * overwritten); the metadata summary goes to stderr, so `kluis show ... > x.pdf` works.
 * The body is checked against its signed commitment while it streams: --out writes a
 * temporary file beside FILE and gives it the name only when it matched; on stdout a
 * mismatch is an error (exit 1) after the bytes. A reader of stdout that goes away early
 * (`kluis show ... | head`) ends the show quietly with exit 0: it had what it wanted.
 */
#include "cli.h"

#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
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

static int write_all(int fd, const unsigned char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Whether standard output is a pipe whose reader has closed it (Linux: POLLERR). */
static bool reader_gone(void)
{
	struct pollfd p = { STDOUT_FILENO, POLLOUT, 0 };

	return poll(&p, 1, 0) == 1 && (p.revents & POLLERR);
}

static void print_summary(const json_t *meta)
{
	const char *keys[] = { "kind", "title", "origin", "basis", "special", "filename", "content_type", "created", "role", NULL };
	size_t i;

	for (i = 0; keys[i]; i++) {
		const char *val = json_string_value(json_object_get(meta, keys[i]));
		if (val)
			fprintf(stderr, "%s: %s\n", keys[i], val);
	}
}

int cmd_show(kluis_cli *cli, int argc, char **argv)
{
	enum { O_OUT = OPT_CMD_BASE, O_PURPOSE };
	static const struct option opts[] = {
		{ "out", required_argument, NULL, O_OUT },
		{ "purpose", required_argument, NULL, O_PURPOSE },
		CLI_GLOBAL_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	const char *out = NULL, *purpose = NULL;
	kluis_vault *v = NULL;
	kluis_dossier *d = NULL;
	kluis_buf meta = KLUIS_SECRET_BUF_INIT, body = KLUIS_SECRET_BUF_INIT;
	json_t *mj = NULL;
	char *tmp = NULL;
	struct stat st;
	int c, rc = CLI_OK, err, fd = -1;
	bool buffered;

	cli->usage = usage;
	while ((c = cli_getopt(argc, argv, "ho:", opts)) != -1) {
		if (c == O_OUT || c == 'o')
			rc = cli_once(cli, &out, optarg, "--out");
		else if (c == O_PURPOSE)
			rc = cli_once(cli, &purpose, optarg, "--purpose");
		else if (!cli_global_option(cli, c, optarg))
			return cli_bad_option(cli, argc, argv);
		if (rc != CLI_OK)
			return rc;
	}
	if (cli->help)
		return cli_print_usage(cli);
	if (optind != argc - 2)
		return cli_usage_error(cli, "show takes a dossier ID and an ENTRY id");
	if (out && cli->json)
		return cli_usage_error(cli, "--out and --json do not go together");
	if (!purpose)
		purpose = "begeleiding";
	if ((rc = cli_open_vault(cli, &v, KLUIS_VAULT_SIGN)) != CLI_OK)
		return rc;
	if ((err = kluis_dossier_open(&d, v, argv[optind])) < 0) {
		rc = cli_fail(err);
		goto cleanup;
	}
	if (out && lstat(out, &st) == 0) {
		rc = cli_fail(kluis_error_set(KLUIS_EEXISTS, "'%s' exists; kluis never overwrites a file: choose a new --out", out));
		goto cleanup;
	}
	if (out && (err = kluis_file_temp_beside(out, &tmp, &fd)) < 0) {
		rc = cli_fail(err);
		goto cleanup;
	}
	/* to a terminal or as JSON we look at the content type first, so the body is buffered */
	buffered = !out && (cli->json || isatty(STDOUT_FILENO));
	/* --out: the temporary file gets its name only after the read is on record */
	err = kluis_entry_show(d, argv[optind + 1], purpose, &meta, buffered ? -1 : out ? fd : STDOUT_FILENO, !buffered && !out, &body);
	/* a write that failed because the reader went away (`| head`) is no failure of the read:
	 * it took what it wanted, on record, so we end quietly with 0 */
	if (err == KLUIS_EGENERIC && !out && !buffered && reader_gone())
		goto cleanup;
	if (err < 0) {
		rc = cli_fail(err);
		goto cleanup;
	}
	mj = json_loadb((const char *)meta.ptr, meta.len, 0, NULL);
	if (!mj) {
		rc = cli_fail(kluis_error_set(KLUIS_EVERIFY, "the entry's metadata is not valid JSON"));
		goto cleanup;
	}
	if (cli->json) {
		json_t *o = json_pack("{s:s, s:s, s:O}", "dossier", argv[optind], "entry", argv[optind + 1], "meta", mj);
		if (is_text(mj))
			json_object_set_new(o, "body", json_stringn((const char *)body.ptr, body.len));
		else
			json_object_set_new(o, "body_size", json_integer((json_int_t)body.len));
		if (!json_object_get(o, "body") && is_text(mj))
			json_object_set_new(o, "body_size", json_integer((json_int_t)body.len));
		rc = cli_print_json(o);
	} else if (buffered) {
		if (!is_text(mj)) {
			print_summary(mj);
			rc = cli_fail(kluis_error_set(KLUIS_EINVAL, "this entry is a binary document; write it to a file with --out FILE"));
			goto cleanup;
		}
		print_summary(mj);
		fputc('\n', stderr);
		if (write_all(STDOUT_FILENO, body.ptr, body.len) < 0)
			rc = cli_fail(kluis_error_set(KLUIS_EGENERIC, "cannot write to standard output"));
	} else {
		print_summary(mj);
		if (out && (fsync(fd) < 0 || close(fd) < 0)) {
			fd = -1;
			rc = cli_fail(kluis_error_set(KLUIS_EGENERIC, "cannot write '%s'", tmp));
		} else if (out) {
			fd = -1;
			if ((err = kluis_file_publish(tmp, out)) < 0)
				rc = cli_fail(err);
			else
				fprintf(stderr, "kluis: written to %s (mode 0600)\n", out);
		}
	}
cleanup:
	if (fd >= 0)
		close(fd);
	if (tmp && rc != CLI_OK)
		unlink(tmp); /* never leave a partial or unverified plaintext file */
	free(tmp);
	json_decref(mj);
	kluis_buf_dispose(&meta);
	kluis_buf_dispose(&body);
	kluis_dossier_free(d);
	kluis_vault_free(v);
	return rc;
}
