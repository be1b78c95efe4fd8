/*
 * export.c - the dossier's content as data, and the P12 export zip (see export.h).
 *
 * A body is streamed from gpg into the zip: on a helper thread kluis_entry_body_to_fd writes
 * the plaintext into a pipe that this thread drains into libarchive, hashing as it goes, so a
 * large document is never held whole and never touches disk outside the zip. With
 * KLUIS_THREADS=0 (valgrind) a body is decrypted into a secret buffer instead, written, and
 * wiped. Either way the body is checked against its signed commitment as it streams
 * (entries.c), and the sha256 and size of what was written must match the entry's metadata;
 * the zip is only renamed into place when every entry matched, and after the read is on
 * record (purpose `export`, invariant 6): its index lists the reads before this one.
 *
 * The zip is for the klant as well as for a program: index.html is the inzage report
 * (inzage.c) over the same model, linking to each member, and members are named by date,
 * title and kind (kluis_export_member_name), made safe for any file system and unique.
 */
#include "vault/report/export.h"
#include "vault/exchange/lifecycle.h"
#include "vault/pgp/crypto.h"
#include "vault/report/inzage.h"
#include "vault/store/internal.h"
#include "vault/exchange/ledger.h"
#include "vault/pgp/names.h"

#include <archive.h>
#include <archive_entry.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK (64 * 1024)

/* ---- the model ---- */

static const char *S(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *iso_or_null(int64_t t)
{
	char buf[21];

	if (!t)
		return json_null();
	kluis_time_iso(t, buf);
	return json_string(buf);
}

static json_t *copy_or_null(const json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return v ? json_deep_copy(v) : json_null();
}

static int64_t erase_time(const kluis_dossier_contents *c, const char *id)
{
	size_t i, j;

	for (i = 0; i < c->nevents; i++)
		for (j = 0; !c->events[i].access && strcmp(c->events[i].action, "erase") == 0 && j < c->events[i].nentries; j++)
			if (strcmp(c->events[i].entries[j], id) == 0)
				return c->events[i].time;
	return 0;
}

static json_t *entry_model(const kluis_entry_info *e, const json_t *meta, kluis_names *names)
{
	const char *kind = S(meta, "kind") ? S(meta, "kind") : e->kind;
	json_t *rcp = json_object_get(meta, "recipients");
	/* a statement is the klant's by its signature (W6b), whatever its metadata says */
	bool klants = strcmp(e->action, "statement") == 0 && !S(meta, "origin");

	return json_pack("{s:s, s:o, s:s, s:s, s:o, s:{s:s, s:s, s:s}, s:s, s:o, s:o, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
			 "id", e->id, "time", iso_or_null(e->time), "action", e->action, "kind", kind, "title",
			 copy_or_null(meta, "title"), "added_by", "role", e->role, "key", e->fpr, "name", kluis_names_get(names, e->fpr), "commit", e->commit, "origin",
			 klants ? json_string("klant") : copy_or_null(meta, "origin"), "basis", copy_or_null(meta, "basis"), "category",
			 S(meta, "special") ? "special" : "ordinary", "special", copy_or_null(meta, "special"), "recipients",
			 json_is_array(rcp) ? json_deep_copy(rcp) : json_array(), "filename", copy_or_null(meta, "filename"),
			 "content_type", copy_or_null(meta, "content_type"), "size", copy_or_null(meta, "size"), "sha256",
			 copy_or_null(meta, "sha256"), "created", copy_or_null(meta, "created"), "supersedes",
			 str_or_null(e->supersedes[0] ? e->supersedes : NULL), "superseded_by",
			 str_or_null(e->superseded_by[0] ? e->superseded_by : NULL));
}

static int retention_model(kluis_dossier *d, json_t **r)
{
	kluis_dossier_status st;
	kluis_retention ret;
	int err;

	if ((err = kluis_dossier_status_get(d, &st)) < 0 || (err = kluis_retention_get(d->vault, d->id, &ret)) < 0)
		return err;
	*r = json_pack("{s:s, s:o, s:o, s:i, s:o, s:s}", "state", ret.imported ? "imported" : st.state, "created", iso_or_null(st.created),
		       "closed", iso_or_null(st.closed), "retention_years", ret.years, "deadline", iso_or_null(ret.deadline), "rule",
		       ret.imported ? "W7" : "P13.2");
	return *r ? 0 : kluis_error_set(KLUIS_EGENERIC, "out of memory");
}

/*
 * The organisation as the klant should find it: VAULT/organisatie.conf, optional, lines
 * "naam: ...", "contact: ..." and "functionaris: ..." ('#' starts a comment). It is the
 * vault's, not a dossier's: it names no klant and never enters a dossier repository.
 */
static json_t *organisation_model(kluis_vault *v)
{
	static const char *const keys[][2] = { { "naam", "name" }, { "contact", "contact" }, { "functionaris", "dpo" } };
	char *path = kluis_path_join(v->root, "organisatie.conf"), line[512];
	json_t *org = NULL;
	FILE *f = path ? fopen(path, "re") : NULL;
	size_t k;

	free(path);
	if (!f)
		return json_null();
	while (fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':'), *val, *end;
		if (line[0] == '#' || !colon)
			continue;
		*colon = '\0';
		for (val = colon + 1; *val == ' ' || *val == '\t'; val++)
			;
		for (end = val + strlen(val); end > val && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '); end--)
			;
		*end = '\0';
		for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
			if (strcmp(line, keys[k][0]) == 0 && *val && (org || (org = json_object())))
				json_object_set_new(org, keys[k][1], json_string(val)); /* not UTF-8: NULL, not set */
	}
	fclose(f);
	return org ? org : json_null();
}

int kluis_dossier_model(kluis_dossier *d, const char *what, unsigned role, const kluis_dossier_contents *c, json_t **out)
{
	json_t *m = NULL, *info = NULL, *meta = NULL, *ret = NULL, *entries, *erasures, *approvals, *consents, *reads, *parties;
	const kluis_roles *roles = kluis_dossier_roles(d);
	const char *actor = "";
	kluis_names *names = NULL;
	bool bad = false;
	size_t i;
	int err;

	*out = NULL;
	if ((err = kluis_vault_actor(d->vault, &actor)) < 0 || (err = kluis_names_load(&names)) < 0)
		return err;
	if (c->info.len && !(info = json_loadb((const char *)c->info.ptr, c->info.len, 0, NULL))) {
		kluis_names_free(names);
		return kluis_error_set(KLUIS_EVERIFY, "the dossier info of '%s' is not valid JSON", d->id);
	}
	if ((err = retention_model(d, &ret)) < 0) {
		kluis_names_free(names);
		json_decref(info);
		return err;
	}
	m = json_pack("{s:s, s:i, s:s, s:o, s:{s:s, s:s, s:s}, s:b, s:o, s:o, s:b, s:[], s:[], s:[], s:[], s:[], s:[], s:o, s:[], s:o}",
		      "kluis", what, "version", KLUIS_EXPORT_VERSION, "dossier", d->id, "generated", iso_or_null(kluis_now()),
		      "requested_by", "role", kluis_role_name(role), "key", actor, "name", kluis_names_get(names, actor), "processing", true,
		      "traject", copy_or_null(info, "traject"), "birth_date", copy_or_null(info, "birth_date"), "represented",
		      json_is_true(json_object_get(info, "represented")), "parties", "entries", "erasures", "corrections", "approvals", "consents",
		      "retention", ret, "consultations", "organisation", organisation_model(d->vault));
	json_decref(info);
	if (!m) {
		kluis_names_free(names);
		return kluis_error_set(KLUIS_EGENERIC, "cannot build the report");
	}
	parties = json_object_get(m, "parties");
	entries = json_object_get(m, "entries");
	erasures = json_object_get(m, "erasures");
	approvals = json_object_get(m, "approvals");
	consents = json_object_get(m, "consents");
	reads = json_object_get(m, "consultations");
	for (i = 0; i < roles->n; i++)
		bad |= json_array_append_new(parties, json_pack("{s:s, s:s, s:s}", "role", kluis_role_name(roles->v[i].role), "key",
								 roles->v[i].fpr, "name", kluis_names_get(names, roles->v[i].fpr))) < 0;
	for (i = 0; i < c->n && !bad; i++) {
		const kluis_entry_info *e = &c->entries[i];
		if (e->erased) {
			bad |= json_array_append_new(erasures, json_pack("{s:s, s:o}", "entry", e->id, "erased",
									 iso_or_null(erase_time(c, e->id)))) < 0;
			continue;
		}
		if (!(meta = json_loadb((const char *)e->meta.ptr, e->meta.len, 0, NULL)) || !json_is_object(meta)) {
			json_decref(meta);
			json_decref(m);
			kluis_names_free(names);
			return kluis_error_set(KLUIS_EVERIFY, "the metadata of entry %s is not valid JSON", e->id);
		}
		bad |= json_array_append_new(entries, entry_model(e, meta, names)) < 0;
		if (e->supersedes[0])
			bad |= json_array_append_new(json_object_get(m, "corrections"),
						     json_pack("{s:s, s:s}", "entry", e->id, "supersedes", e->supersedes)) < 0;
		if (strcmp(e->action, "consent") == 0 || (S(meta, "kind") && strcmp(S(meta, "kind"), "consent") == 0))
			bad |= json_array_append_new(consents, json_pack("{s:s, s:o, s:b, s:o, s:o, s:b}", "entry", e->id, "time",
									 iso_or_null(e->time), "granted",
									 json_is_true(json_object_get(meta, "granted")), "scope",
									 copy_or_null(meta, "scope"), "purpose",
									 copy_or_null(meta, "purpose"), "to_opdrachtgever",
									 json_is_true(json_object_get(meta, "to_opdrachtgever")))) < 0;
		json_decref(meta);
	}
	for (i = 0; i < c->napprovals && !bad; i++)
		bad |= json_array_append_new(approvals, json_pack("{s:s, s:o, s:s, s:s, s:b}", "entry", c->approvals[i].entry, "time",
								  iso_or_null(c->approvals[i].time), "key", c->approvals[i].fpr,
								  "commit", c->approvals[i].commit, "current",
								  c->approvals[i].current)) < 0;
	for (i = 0; i < c->nevents && !bad; i++) {
		const kluis_event *ev = &c->events[i];
		const char *entry = ev->nentries && strcmp(ev->entries[0], "-") ? ev->entries[0] : NULL;
		char hex[GIT_OID_HEXSZ + 1];
		if (!ev->access)
			continue;
		git_oid_tostr(hex, sizeof(hex), &ev->commit);
		bad |= json_array_append_new(reads, json_pack("{s:o, s:s, s:s, s:s, s:o, s:s, s:s}", "time", iso_or_null(ev->time), "role",
							      ev->role, "key", ev->fpr, "purpose", ev->purpose, "entry",
							      str_or_null(entry), "commit", hex, "name", kluis_names_get(names, ev->fpr))) < 0;
	}
	kluis_names_free(names);
	if (bad) {
		json_decref(m);
		return kluis_error_set(KLUIS_EGENERIC, "cannot build the report (out of memory)");
	}
	*out = m;
	return 0;
}

static int dump_cb(const char *buf, size_t size, void *data)
{
	return kluis_buf_put(data, buf, size) < 0 ? -1 : 0;
}

int kluis_json_to_buf(const json_t *value, kluis_buf *out)
{
	out->secret = true;
	if (json_dump_callback(value, dump_cb, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER) < 0 || kluis_buf_puts(out, "\n") < 0)
		return kluis_error_set(KLUIS_EGENERIC, "cannot encode JSON");
	return 0;
}

/* ---- the zip ---- */

/*
 * A title made safe as part of a file name: no '/' or '\\', none of the characters Windows
 * refuses, no control character (C0, DEL, C1), no leading dot or space, at most `max` bytes,
 * cut on a character boundary.
 */
static void clean_name(const char *s, char *out, size_t max)
{
	size_t n = 0;

	for (; s && *s && n < max; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == 0xC2 && (unsigned char)s[1] >= 0x80 && (unsigned char)s[1] <= 0x9F) {
			s++; /* a C1 control character, two bytes in UTF-8 */
			ch = '_';
		} else if (ch < 0x20 || ch == 0x7f || strchr("/\\:*?\"<>|", ch)) {
			ch = '_';
		}
		if (n == 0 && (ch == '.' || ch == ' '))
			continue;
		out[n++] = (char)ch;
	}
	if (s && *s)
		while (n > 0 && ((unsigned char)out[n - 1] & 0xC0) == 0x80)
			n--; /* cut inside a character: drop its start too */
	if (n > 0 && s && *s && ((unsigned char)out[n - 1] & 0xC0) == 0xC0)
		n--;
	while (n > 0 && (out[n - 1] == ' ' || out[n - 1] == '.'))
		n--;
	out[n] = '\0';
}

void kluis_export_member_name(const char *title, const char *filename, const char *kind, int64_t time, unsigned copy, char out[200])
{
	char t[84], ext[12] = ".txt", num[16] = "";
	const char *dot = filename ? strrchr(filename, '.') : NULL, *what = kluis_inzage_kind_label(kind, KLUIS_LANG_NL);
	struct tm tm;
	size_t i;

	clean_name(title && *title ? title : what, t, 80);
	if (filename) {
		ext[0] = '\0';
		for (i = 0; dot && dot[i] && i < 9 && (dot[i] == '.' || isalnum((unsigned char)dot[i])); i++)
			ext[i] = dot[i];
		ext[dot && !dot[i] && i > 1 ? i : 0] = '\0';
	}
	if (copy > 1)
		snprintf(num, sizeof(num), " (%u)", copy);
	kluis_local_time(time, &tm);
	snprintf(out, 200, "gegevens/%04d-%02d-%02d %s%s%s%s%s", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, t[0] ? t : "-",
		 title && *title ? " (" : "", title && *title ? what : "", title && *title ? ")" : "", num);
	snprintf(out + strlen(out), 200 - strlen(out), "%s", ext);
}

/* The entry's member name, numbered past any earlier entry's that it would equal. */
static int member_name(json_t *entries, size_t upto, json_t *e, int64_t t)
{
	char name[200];
	unsigned copy = 1;
	size_t i;
	json_t *x;

	for (;;) {
		kluis_export_member_name(json_string_value(json_object_get(e, "title")), json_string_value(json_object_get(e, "filename")),
					 json_string_value(json_object_get(e, "kind")), t, copy, name);
		json_array_foreach(entries, i, x)
			if (i >= upto || strcmp(json_string_value(json_object_get(x, "file")), name) == 0)
				break;
		if (i >= upto)
			break;
		copy++;
	}
	return json_object_set_new(e, "file", json_string(name)) < 0 ? kluis_error_set(KLUIS_EGENERIC, "out of memory") : 0;
}

struct zip {
	struct archive *a;
	kluis_sha256 *sha;
	uint64_t written, done, total;
	kluis_progress_fn progress;
	void *progress_ctx;
	int err;
};

static int zip_fail(struct zip *z, const char *what)
{
	if (!z->err)
		z->err = kluis_error_set(KLUIS_EGENERIC, "cannot write the zip (%s): %s", what,
					 archive_error_string(z->a) ? archive_error_string(z->a) : "unknown error");
	return z->err;
}

static int zip_begin(struct zip *z, const char *name, int64_t size, int64_t mtime)
{
	struct archive_entry *ae = archive_entry_new();
	int r;

	if (!ae)
		return z->err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
	archive_entry_set_pathname_utf8(ae, name);
	archive_entry_set_filetype(ae, AE_IFREG);
	archive_entry_set_perm(ae, 0600);
	archive_entry_set_mtime(ae, (time_t)mtime, 0);
	if (size >= 0)
		archive_entry_set_size(ae, size);
	r = archive_write_header(z->a, ae);
	archive_entry_free(ae);
	return r < ARCHIVE_OK ? zip_fail(z, name) : 0;
}

/* Bytes of the current member; after a failure they are only counted (the pipe is drained). */
static void zip_data(struct zip *z, const void *p, size_t n)
{
	const char *c = p;

	z->written += n;
	if (z->err)
		return;
	if (z->sha)
		kluis_sha256_update(z->sha, p, n);
	while (n) {
		la_ssize_t w = archive_write_data(z->a, c, n);
		if (w <= 0) {
			zip_fail(z, "data");
			return;
		}
		c += w;
		n -= (size_t)w;
	}
	z->done += (uint64_t)(c - (const char *)p);
	if (z->progress)
		z->progress(z->progress_ctx, "writing the zip", z->done, z->total);
}

struct body_job {
	kluis_dossier *d;
	const char *id;
	const kluis_buf *meta;
	int fd;
	int err;
	char msg[512];
};

static void *body_job_run(void *p)
{
	struct body_job *j = p;
	sigset_t set;

	/* should the reader ever stop early, writes fail with EPIPE instead of killing us */
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	j->err = kluis_entry_body_read(j->d, j->id, j->meta, j->fd, NULL);
	if (j->err < 0)
		snprintf(j->msg, sizeof(j->msg), "%s", kluis_error_last());
	close(j->fd);
	return NULL;
}

/* Decrypt entry `id` into the current member; its size and sha256 must match the metadata. */
static int zip_body(struct zip *z, kluis_dossier *d, const char *id, const kluis_buf *meta, const json_t *size, const char *sha_want)
{
	struct body_job job = { d, id, meta, -1, 0, "" };
	kluis_buf buf = KLUIS_SECRET_BUF_INIT;
	unsigned char chunk[CHUNK];
	pthread_t thread;
	char sha[65];
	int fds[2] = { -1, -1 }, err = 0;
	ssize_t n;

	z->written = 0;
	if ((err = kluis_sha256_new(&z->sha)) < 0)
		return err;
	if (kluis_threads_enabled() && pipe2(fds, O_CLOEXEC) == 0) {
		job.fd = fds[1];
		if (pthread_create(&thread, NULL, body_job_run, &job) != 0) {
			close(fds[0]);
			close(fds[1]);
			fds[0] = -1;
		}
	}
	if (fds[0] >= 0) {
		while ((n = read(fds[0], chunk, sizeof(chunk))) != 0) {
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				err = kluis_error_set(KLUIS_EGENERIC, "cannot read the decrypted entry %s: %s", id, strerror(errno));
				break;
			}
			zip_data(z, chunk, (size_t)n);
		}
		close(fds[0]);
		pthread_join(thread, NULL);
		kluis_wipe(chunk, sizeof(chunk));
		if (!err && job.err < 0)
			err = kluis_error_set(job.err, "%s", job.msg);
	} else if ((err = kluis_entry_body_read(d, id, meta, -1, &buf)) == 0) {
		zip_data(z, buf.ptr, buf.len);
	}
	kluis_buf_dispose(&buf);
	if (!err && z->err)
		err = z->err;
	if (!err) {
		kluis_sha256_hex(z->sha, sha);
		if ((json_is_integer(size) && (uint64_t)json_integer_value(size) != z->written) || !sha_want || strcmp(sha, sha_want) != 0)
			err = kluis_error_set(KLUIS_EVERIFY, "entry %s: the decrypted body (%llu bytes, sha256 %.16s...) does not match its "
						  "metadata; nothing was exported", id, (unsigned long long)z->written, sha);
	}
	kluis_sha256_free(z->sha);
	z->sha = NULL;
	return err;
}

/* The decrypted (and checked) metadata of entry id; an empty buffer for none. */
static const kluis_buf *entry_meta(const kluis_dossier_contents *c, const char *id)
{
	static const kluis_buf none = KLUIS_BUF_INIT;
	size_t i;

	for (i = 0; id && i < c->n; i++)
		if (strcmp(c->entries[i].id, id) == 0)
			return &c->entries[i].meta;
	return &none;
}

int kluis_dossier_export(kluis_dossier *d, const char *path, kluis_progress_fn progress, void *progress_ctx,
			 kluis_export_result *res)
{
	kluis_dossier_contents c;
	kluis_buf index = KLUIS_SECRET_BUF_INIT, html = KLUIS_SECRET_BUF_INIT;
	struct zip z = { NULL, NULL, 0, 0, 0, progress, progress_ctx, 0 };
	json_t *model = NULL, *entries, *e;
	struct stat st;
	char *tmp = NULL;
	unsigned role;
	size_t i;
	int fd = -1, err;

	memset(&c, 0, sizeof(c));
	memset(res, 0, sizeof(*res));
	if ((err = kluis_inzage_authorize(d, "an export", &role)) < 0)
		return err;
	if (lstat(path, &st) == 0)
		return kluis_error_set(KLUIS_EEXISTS, "'%s' exists; kluis never overwrites a file: choose a new --out", path);
	if ((err = kluis_file_temp_beside(path, &tmp, &fd)) < 0)
		goto cleanup;
	/* the read is recorded below, once every body decrypted into the zip */
	if ((err = kluis_dossier_read_all(d, NULL, &c)) < 0 || (err = kluis_dossier_model(d, "export", role, &c, &model)) < 0)
		goto cleanup;
	entries = json_object_get(model, "entries");
	json_array_foreach(entries, i, e) {
		int64_t t = 0;
		if (json_string_value(json_object_get(e, "time")))
			kluis_time_parse(json_string_value(json_object_get(e, "time")), &t);
		if ((err = member_name(entries, i, e, t)) < 0)
			goto cleanup;
		if (json_is_integer(json_object_get(e, "size")))
			z.total += (uint64_t)json_integer_value(json_object_get(e, "size"));
	}
	if ((err = kluis_json_to_buf(model, &index)) < 0 || (err = kluis_inzage_render(model, KLUIS_INZAGE_HTML, KLUIS_LANG_NL, &html)) < 0)
		goto cleanup;
	if (!(z.a = archive_write_new()) || archive_write_set_format_zip(z.a) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(z.a, 1) != ARCHIVE_OK || archive_write_open_fd(z.a, fd) != ARCHIVE_OK) {
		err = z.a ? zip_fail(&z, "start") : kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto cleanup;
	}
	if ((err = zip_begin(&z, "index.json", (int64_t)index.len, kluis_now())) < 0)
		goto cleanup;
	zip_data(&z, index.ptr, index.len);
	if ((err = z.err) < 0 || (err = zip_begin(&z, "index.html", (int64_t)html.len, kluis_now())) < 0)
		goto cleanup;
	zip_data(&z, html.ptr, html.len);
	if ((err = z.err) < 0)
		goto cleanup;
	z.done = 0; /* progress counts the bodies */
	json_array_foreach(entries, i, e) {
		const char *id = json_string_value(json_object_get(e, "id"));
		const json_t *size = json_object_get(e, "size");
		const char *when = json_string_value(json_object_get(e, "time"));
		int64_t t = 0;
		if (when)
			kluis_time_parse(when, &t);
		if ((err = zip_begin(&z, json_string_value(json_object_get(e, "file")), json_is_integer(size) ? json_integer_value(size) : -1, t)) < 0 ||
		    (err = zip_body(&z, d, id, entry_meta(&c, id), size, json_string_value(json_object_get(e, "sha256")))) < 0)
			goto cleanup;
		res->entries++;
		res->bytes += z.written;
	}
	res->erased = json_array_size(json_object_get(model, "erasures"));
	if (archive_write_close(z.a) != ARCHIVE_OK) {
		err = zip_fail(&z, "close");
		goto cleanup;
	}
	if (fsync(fd) < 0 || close(fd) < 0) {
		fd = -1;
		err = kluis_error_set(KLUIS_EGENERIC, "cannot write '%s': %s", tmp, strerror(errno));
		goto cleanup;
	}
	fd = -1;
	/* invariant 6: on record after every decryption succeeded, before the zip gets its name
	 * (a failed export leaves no record; a crash here leaves only the temporary file) */
	if ((err = kluis_access_record(d, NULL, "export")) < 0)
		goto cleanup;
	err = kluis_file_publish(tmp, path);
cleanup:
	if (z.a)
		archive_write_free(z.a);
	if (fd >= 0)
		close(fd);
	if (err < 0 && tmp)
		unlink(tmp);
	free(tmp);
	json_decref(model);
	kluis_buf_dispose(&index);
	kluis_buf_dispose(&html);
	kluis_dossier_contents_dispose(&c);
	return err;
}
