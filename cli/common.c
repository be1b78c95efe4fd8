/*
 * common.c - helpers shared by the commands (see cli.h): option values, error reports, JSON,
 * progress, and the one writer of --out files.
 */
#include "cli.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The slot of option `name` in the running command's table; a wrong name is a bug. */
static size_t slot(const kluis_cli *cli, const char *name)
{
	const cli_option *o = cli->command->options;
	size_t i;

	for (i = 0; o && o[i].name; i++)
		if (strcmp(o[i].name, name) == 0)
			return i;
	assert(!"no such option in the command's table");
	return CLI_MAX_OPTIONS - 1;
}

const char *cli_str(const kluis_cli *cli, const char *name)
{
	size_t k = slot(cli, name);

	if (!cli->values[k].n || !cli->values[k].v)
		return NULL;
	return cli->values[k].v[(cli->values[k].n - 1) * (cli->command->options[k].flags & CLI_PAIR ? 2 : 1)];
}

bool cli_flag(const kluis_cli *cli, const char *name)
{
	return cli->values[slot(cli, name)].n > 0;
}

const char *const *cli_list(const kluis_cli *cli, const char *name, size_t *n)
{
	size_t k = slot(cli, name);

	*n = cli->values[k].n;
	return cli->values[k].v;
}

int cli_usage_error(kluis_cli *cli, const char *fmt, ...)
{
	va_list ap;

	fputs("kluis: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (cli->command)
		fprintf(stderr, " (see kluis %s --help)\n", cli->command->name);
	else
		fputs(" (see kluis --help)\n", stderr);
	return CLI_USAGE;
}

int cli_fail(int err)
{
	fprintf(stderr, "kluis: %s\n", kluis_error_last());
	switch (err) {
	case KLUIS_EINVAL:
	case KLUIS_ENOTFOUND:
	case KLUIS_EEXISTS:
		return CLI_USAGE;
	default:
		return CLI_FAILED;
	}
}

void cli_warn(const char *fmt, ...)
{
	va_list ap;

	fputs("kluis: warning: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int cli_print_json(json_t *value)
{
	int rc;

	if (!value) {
		fputs("kluis: cannot encode JSON output\n", stderr);
		return CLI_FAILED;
	}
	rc = json_dumpf(value, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
	json_decref(value);
	return rc == 0 ? CLI_OK : CLI_FAILED;
}

void cli_progress(void *ctx, const char *phase, uint64_t done, uint64_t total)
{
	static const char *open_phase, *ended_phase; /* the line drawn and not ended; the last ended */
	static int shown = -1;                        /* its percentage on screen */
	int pct = total ? (int)(done * 100 / total) : (int)(done >> 20);

	/* on a terminal one line per phase of long work (4 MiB or more), redrawn in place and
	 * ended once; nothing for a pipe or a file, nothing for work too short to wait for */
	if (!isatty(STDERR_FILENO) || phase == ended_phase || (total ? total : done) < ((uint64_t)4 << 20))
		return;
	if (open_phase == phase && pct == shown)
		return;  /* redrawn when the figure changes, not at every chunk */
	if (open_phase && open_phase != phase)
		fputc('\n', stderr);
	open_phase = phase;
	shown = pct;
	if (total)
		fprintf(stderr, "\r%s: %s: %llu of %llu MiB (%d%%)", ctx ? (const char *)ctx : "kluis", phase,
			(unsigned long long)(done >> 20), (unsigned long long)(total >> 20), pct);
	else
		fprintf(stderr, "\r%s: %s: %llu MiB", ctx ? (const char *)ctx : "kluis", phase, (unsigned long long)(done >> 20));
	if (total && done >= total) {
		fputc('\n', stderr);
		ended_phase = phase;
		open_phase = NULL;
	}
	fflush(stderr);
}

int cli_years(kluis_cli *cli, int *years)
{
	const char *s = cli_str(cli, "retention-years");
	char *end;
	long n;

	if (!s)
		return CLI_OK;
	n = strtol(s, &end, 10);
	if (!*s || *end || n < 1 || n > 100)
		return cli_usage_error(cli, "--retention-years must be a whole number from 1 to 100, not '%s'", s);
	*years = (int)n;
	return CLI_OK;
}

int cli_trust(kluis_cli *cli, char ***out, size_t *n)
{
	size_t given, i;
	const char *const *v = cli_list(cli, "trust", &given);

	*n = 0;
	if (!(*out = calloc(given + 1, sizeof(**out))))
		return kluis_error_set(KLUIS_EGENERIC, "out of memory");
	for (i = 0; i < given; i++) {
		if (!((*out)[i] = malloc(41)))
			return kluis_error_set(KLUIS_EGENERIC, "out of memory");
		++*n;
		if (!kluis_fpr_normalize(v[i], (*out)[i]))
			return cli_usage_error(cli, "--trust '%s' is not a 40-digit key fingerprint", v[i]);
	}
	return CLI_OK;
}

int cli_out_open(cli_out *o, const char *path)
{
	struct stat st;
	int err;

	o->path = path;
	o->tmp = NULL;
	o->fd = -1;
	if (lstat(path, &st) == 0)
		return kluis_error_set(KLUIS_EEXISTS, "'%s' exists; kluis never overwrites a file: choose a new --out", path);
	if ((err = kluis_file_temp_beside(path, &o->tmp, &o->fd)) < 0)
		return err;
	return 0;
}

int cli_out_commit(cli_out *o)
{
	int fd = o->fd, err;

	o->fd = -1;
	if (fsync(fd) < 0 || close(fd) < 0)
		return kluis_error_set(KLUIS_EGENERIC, "cannot write '%s': %m", o->path);
	if ((err = kluis_file_publish(o->tmp, o->path)) < 0)
		return err;
	free(o->tmp);
	o->tmp = NULL;
	fprintf(stderr, "kluis: written to %s (mode 0600)\n", o->path);
	return 0;
}

void cli_out_close(cli_out *o)
{
	if (o->fd >= 0)
		close(o->fd);
	if (o->tmp)
		unlink(o->tmp); /* never leave a partial or unverified file */
	free(o->tmp);
	o->tmp = NULL;
	o->fd = -1;
}

int cli_out_write(const char *path, const void *data, size_t len)
{
	cli_out o;
	int err;

	if ((err = cli_out_open(&o, path)) == 0 && (err = kluis_fd_write_all(o.fd, data, len) < 0 ? kluis_error_set(KLUIS_EGENERIC, "cannot write '%s': %m", path) : 0) == 0)
		err = cli_out_commit(&o);
	cli_out_close(&o);
	return err;
}

int cli_kind_check(const char *kind)
{
	if (kluis_entry_kind_known(kind))
		return 0;
	return kluis_error_set(KLUIS_EINVAL, "unknown --kind '%s' (note, contact, circumstance, document, correspondence, plan, report, statement, consent, correction, request)", kind);
}

int cli_event_filter_get(const kluis_cli *cli, cli_event_filter *f)
{
	const char *since = cli_str(cli, "since"), *until = cli_str(cli, "until");
	kluis_action a;
	unsigned role;

	memset(f, 0, sizeof(*f));
	f->kind = cli_str(cli, "kind");
	f->action = cli_str(cli, "action");
	f->role = cli_str(cli, "role");
	f->entry = cli_str(cli, "entry");
	f->since = INT64_MIN;
	f->until = INT64_MAX;
	if (f->kind && cli_kind_check(f->kind) < 0)
		return KLUIS_EINVAL;
	if (f->action && strcmp(f->action, "access") != 0 && kluis_action_parse(f->action, &a) < 0)
		return kluis_error_set(KLUIS_EINVAL, "unknown --action '%s' (init, add, statement, correct, consent, approve, erase, roles, rewrap, close, transfer, access)", f->action);
	if (f->role && kluis_role_parse(f->role, &role) < 0)
		return kluis_error_set(KLUIS_EINVAL, "unknown --role '%s' (klant, medewerker, directie, opdrachtgever)", f->role);
	if (f->entry && !kluis_entry_id_valid(f->entry))
		return kluis_error_set(KLUIS_EINVAL, "--entry '%s' is not an entry id (YYYYMMDDTHHMMSSZ-xxxx, as kluis log shows)", f->entry);
	if ((since && kluis_time_parse(since, &f->since) < 0) || (until && kluis_time_parse(until, &f->until) < 0))
		return KLUIS_EINVAL; /* kluis_time_parse said why */
	if (until && strlen(until) == 10)
		f->until += 86399; /* a date means the whole day */
	return 0;
}

bool cli_event_match(const cli_event_filter *f, const kluis_event *ev, const char *entry)
{
	return ev->time >= f->since && ev->time <= f->until && (!f->kind || strcmp(ev->kind, f->kind) == 0) &&
	       (!f->action || strcmp(ev->action, f->action) == 0) && (!f->role || strcmp(ev->role, f->role) == 0) &&
	       (!f->entry || (entry && strcmp(entry, f->entry) == 0));
}

const char *cli_safe(const char *in, char *out, size_t size)
{
	size_t i;

	for (i = 0; in && in[i] && i + 1 < size; i++)
		out[i] = (unsigned char)in[i] < 0x20 || in[i] == 0x7f ? '?' : in[i];
	out[size ? i : 0] = '\0';
	return out;
}

static void safe_inplace(char *s)
{
	for (; s && *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

void cli_safe_event(kluis_event *ev)
{
	size_t i;

	safe_inplace(ev->action);
	safe_inplace(ev->role);
	safe_inplace(ev->kind);
	safe_inplace(ev->purpose);
	safe_inplace(ev->supersedes);
	safe_inplace(ev->fpr);
	for (i = 0; i < ev->nentries; i++)
		safe_inplace(ev->entries[i]);
}
