/*
 * lifecycle.c - close, retention and destruction with the verklaring van vernietiging (see
 * lifecycle.h); transfer and import are in transfer.c.
 *
 * Invariants: a dossier is destroyed only by one rename out of the vault followed by its
 * removal, synced, before the certificate is appended to the ledger, so the ledger never
 * claims a destruction that did not happen; destroying before the retention deadline needs
 * force and is recorded as such. Retention and destruction act only on a ledger that
 * verifies (kluis_ledger_events), so a forged import record cannot shorten a term. The
 * verklaring names ids, counts, codes, hashes and keys only; the destroyer's free-text reason
 * goes into the ledger encrypted to the directie (ledger.c), never into the verklaring.
 */
#include "vault/exchange/lifecycle.h"
#include "vault/store/internal.h"
#include "vault/store/history.h"
#include "vault/exchange/ledger.h"
#include "vault/exchange/lifecycle_internal.h"
#include "vault/verify/replay.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- close ---- */

int kluis_dossier_create(kluis_vault *v, const kluis_init_opts *opts, git_oid *commit_out)
{
	const char *actor = NULL;
	char directie[41];
	int err;

	if ((err = kluis_dossier_init(v, opts, commit_out)) < 0 || (err = kluis_vault_actor(v, &actor)) < 0)
		return err;
	/* init let only the medewerker or the directie create it, one key one role: the options
	 * say which the actor is, without opening the new dossier again */
	return kluis_ledger_append(v, "create", opts->id,
				   kluis_fpr_normalize(opts->directie, directie) && strcmp(directie, actor) == 0 ? kluis_role_name(KLUIS_ROLE_DIRECTIE)
											      : kluis_role_name(KLUIS_ROLE_MEDEWERKER),
				   NULL, NULL);
}

int kluis_dossier_close(kluis_dossier *d)
{
	kluis_txn *t = NULL;
	kluis_dossier_file f;
	kluis_buf text = KLUIS_BUF_INIT, trailers = KLUIS_BUF_INIT;
	int err;

	if ((err = kluis_txn_begin(&t, d, KLUIS_ACT_CLOSE)) < 0 || (err = kluis_dossier_file_load(d, &f)) < 0)
		goto cleanup;
	if (strcmp(f.state, "open") != 0) {
		err = kluis_error_set(KLUIS_ESTATE, "dossier '%s' is already %s", d->id, f.state);
		goto cleanup;
	}
	snprintf(f.state, sizeof(f.state), "closed");
	f.closed = kluis_now();
	if ((err = kluis_dossier_file_format(&f, &text)) < 0 || (err = kluis_txn_put(t, "dossier", text.ptr, text.len)) < 0 ||
	    (err = kluis_buf_printf(&trailers, "Kluis-Action: close\nKluis-Role: %s\n", kluis_role_name(kluis_txn_role(t)))) < 0)
		goto cleanup;
	err = kluis_txn_commit(t, "close -", (const char *)trailers.ptr, NULL);
cleanup:
	kluis_txn_free(t);
	kluis_buf_dispose(&text);
	kluis_buf_dispose(&trailers);
	return err;
}

/* ---- what a destruction certificate says (shared with transfer.c) ---- */

static int count(git_commit *c, void *payload)
{
	(*(size_t *)payload)++;
	return 0;
}

size_t kluis_lifecycle_count_reads(git_repository *repo)
{
	size_t n = 0;

	(void)kluis_history_walk(repo, "refs/kluis/access", count, &n);
	return n;
}

int64_t kluis_lifecycle_first_commit_time(git_repository *repo, const git_oid *head)
{
	git_commit *c = NULL, *p = NULL;
	int64_t t = 0;

	if (git_commit_lookup(&c, repo, head) < 0)
		return 0;
	while (git_commit_parentcount(c) > 0 && git_commit_parent(&p, c, 0) == 0) {
		git_commit_free(c);
		c = p;
		p = NULL;
	}
	t = (int64_t)git_commit_time(c);
	git_commit_free(c);
	return t;
}

/* ---- destruction ---- */

int kluis_lifecycle_destroy_local(kluis_vault *v, const char *id)
{
	char name[96], rnd[9], *path = NULL, *trash = NULL, *cp = NULL, *cpdir = NULL;
	int err;

	/* one rename takes the dossier out of the vault at once; a kill during the removal that
	 * follows leaves only a hidden .destroy-* directory, never a half-removed dossier */
	snprintf(name, sizeof(name), "%s.git", id);
	path = kluis_path_join(v->dossiers, name);
	if ((err = kluis_random_hex(rnd, 8)) < 0)
		goto cleanup;
	snprintf(name, sizeof(name), ".destroy-%s-%s", id, rnd);
	trash = kluis_path_join(v->dossiers, name);
	cpdir = kluis_path_join(v->root, "checkpoints");
	cp = cpdir ? kluis_path_join(cpdir, id) : NULL;
	if (!path || !trash || !cp) {
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto cleanup;
	}
	if (rename(path, trash) < 0) {
		err = kluis_error_set(KLUIS_EGENERIC, "cannot take dossier '%s' out of the vault: %s", id, strerror(errno));
		goto cleanup;
	}
	unlink(cp);
	if ((err = kluis_rm_rf(trash)) == 0)
		sync(); /* the removal itself must reach the disk before the certificate says so */
cleanup:
	free(path);
	free(trash);
	free(cp);
	free(cpdir);
	return err;
}

int kluis_lifecycle_certificate(kluis_buf *out, const char *id, int64_t from, int64_t to, size_t commits, size_t entries, size_t reads,
				const char *archive_sha, const char *opdrachtgever, const char *grounds, const char *reason,
				const char *role, const char *fpr)
{
	char a[21], b[21], now[21];

	kluis_time_iso(from, a);
	kluis_time_iso(to, b);
	kluis_time_iso(kluis_now(), now);
	return kluis_buf_printf(out,
		"VERKLARING VAN VERNIETIGING (Archiefbesluit 1995, art. 8)\n\n"
		"Vernietigd:      dossier %s\n"
		"Periode:         %s tot en met %s\n"
		"Omvang:          %zu vastleggingen, %zu stukken, %zu inzagen\n"
		"%s%s%s%s%s%s"
		"Grondslag:       %s\n"
		"Reden:           %s\n"
		"Wijze:           de git-repository van het dossier met alle versleutelde stukken is van\n"
		"                 de schijf verwijderd; kopieen in back-ups of bij ontvangers vallen\n"
		"                 hierbuiten\n"
		"Datum:           %s\n"
		"Door:            %s %s\n",
		id, a, b, commits, entries, reads,
		archive_sha ? "Overgedragen:    archief sha256 " : "", archive_sha ? archive_sha : "", archive_sha ? "\n" : "",
		opdrachtgever ? "                 aan opdrachtgever " : "", opdrachtgever ? opdrachtgever : "",
		opdrachtgever ? "\n" : "", grounds, reason, now, role, fpr);
}

/* ---- retention ---- */

/* The retention of dossier `id`: W7 from its last import record among `imports` (the ledger's
 * valid import records that carry a deadline), else P13.2 from its head's dossier file; its
 * entries counted through `entries` when that is not NULL. */
static void retention_of(kluis_vault *v, const char *id, kluis_entry_memo *entries, kluis_ledger_event *const *imports, size_t nimports,
			 kluis_retention *r)
{
	const kluis_ledger_event *imp = NULL;
	bool readable;
	size_t i;

	memset(r, 0, sizeof(*r));
	snprintf(r->dossier, sizeof(r->dossier), "%s", id);
	readable = kluis_dossier_summary(v, id, entries != NULL, entries, &r->status) == 0;
	for (i = nimports; i-- > 0 && !imp;)
		if (strcmp(imports[i]->dossier, id) == 0)
			imp = imports[i];
	if (imp) {
		const char *years = kluis_ledger_field_get(imp, "Kluis-Retention-Years");
		snprintf(r->state, sizeof(r->state), "imported");
		r->imported = true;
		r->years = years ? atoi(years) : 10;
		kluis_time_parse(kluis_ledger_field_get(imp, "Kluis-Retention-Until"), &r->deadline);
		snprintf(r->rule, sizeof(r->rule), "W7: %s years at the opdrachtgever", years);
		return;
	}
	if (!readable) {
		snprintf(r->state, sizeof(r->state), "unreadable");
		return;
	}
	snprintf(r->state, sizeof(r->state), "%s", r->status.state);
	r->years = r->status.retention_years;
	snprintf(r->rule, sizeof(r->rule), "P13.2: %d years after the end of service", r->status.retention_years);
	if (r->status.closed)
		r->deadline = r->status.closed + (int64_t)r->status.retention_years * KLUIS_YEAR_SECONDS;
}

/* The import records with a deadline, in ledger order: a vault holds few, the dossiers many. */
static int imports_of(kluis_ledger_event *ev, size_t nev, kluis_ledger_event ***out, size_t *n)
{
	size_t i;

	*n = 0;
	if (!(*out = calloc(nev + 1, sizeof(**out))))
		return kluis_error_set(KLUIS_EGENERIC, "out of memory");
	for (i = 0; i < nev; i++)
		if (strcmp(ev[i].action, "import") == 0 && kluis_ledger_field_get(&ev[i], "Kluis-Retention-Until"))
			(*out)[(*n)++] = &ev[i];
	return 0;
}

/*
 * The entry counts of the last list (kluis_entry_memo in vault.h): `kluis-entries 1`, then
 * `<entries/ tree id> <count>` lines sorted by id, then `mac <hex>`, the HMAC-SHA256 under the
 * verifier's key (replay_state.c) over everything before it, in the verifier's cache beside the
 * other kept verdicts. A count is a pure function of the tree id the head pins, so the memo
 * cannot show what the head does not say; one whose MAC fails is not read (everything counted).
 */
static char *memo_path(kluis_vault *v)
{
	return kluis_replay_state_path(v->root, ".entries");
}

static void memo_load(kluis_vault *v, kluis_entry_memo *m)
{
	kluis_buf b = KLUIS_BUF_INIT;
	char *path = memo_path(v), mac[65], *line, *save = NULL, *end;
	size_t cap = 0;

	memset(m, 0, sizeof(*m));
	if (!path || kluis_file_read(&b, path, 64u << 20) < 0 || kluis_buf_cstr(&b) < 0 || b.len < 16 + 70 ||
	    memcmp(b.ptr, "kluis-entries 1\n", 16) != 0 || !(end = strstr((char *)b.ptr, "\nmac ")) || end + 70 != (char *)b.ptr + b.len ||
	    kluis_replay_mac(b.ptr, (size_t)(end + 1 - (char *)b.ptr), mac) < 0 || memcmp(mac, end + 5, 64) != 0)
		goto cleanup;
	end[1] = '\0';
	for (line = strtok_r((char *)b.ptr + 16, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		kluis_entry_count c;
		char *num;
		if (strlen(line) < GIT_OID_HEXSZ + 2 || line[GIT_OID_HEXSZ] != ' ' || git_oid_fromstrn(&c.tree, line, GIT_OID_HEXSZ) < 0)
			break;
		c.n = (size_t)strtoull(line + GIT_OID_HEXSZ + 1, &num, 10);
		if (*num)
			break;
		if (m->nknown == cap) {
			kluis_entry_count *g = realloc(m->known, (cap = cap ? 2 * cap : 1024) * sizeof(*g));
			if (!g)
				break;
			m->known = g;
		}
		m->known[m->nknown++] = c;
	}
	if (line) { /* a line we never write: nothing of it counts */
		free(m->known);
		m->known = NULL;
		m->nknown = 0;
	}
	kluis_entry_memo_sort(m->known, m->nknown);
cleanup:
	kluis_buf_dispose(&b);
	free(path);
}

/* What this run saw, when it had to count any or saw fewer dossiers than the memo held. */
static void memo_save(kluis_vault *v, kluis_entry_memo *m)
{
	kluis_buf b = KLUIS_BUF_INIT;
	char *path = NULL, mac[65], hex[GIT_OID_HEXSZ + 1];
	size_t i;

	if (!m->misses && m->nseen == m->nknown)
		return;
	kluis_entry_memo_sort(m->seen, m->nseen);
	if (!(path = memo_path(v)) || kluis_buf_printf(&b, "kluis-entries 1\n") < 0)
		goto cleanup;
	for (i = 0; i < m->nseen; i++) {
		git_oid_tostr(hex, sizeof(hex), &m->seen[i].tree);
		if ((i && git_oid_equal(&m->seen[i].tree, &m->seen[i - 1].tree)) || kluis_buf_printf(&b, "%s %zu\n", hex, m->seen[i].n) == 0)
			continue;
		goto cleanup;
	}
	if (kluis_replay_mac(b.ptr, b.len, mac) == 0 && kluis_buf_printf(&b, "mac %s\n", mac) == 0)
		(void)kluis_file_write_replace(path, b.ptr, b.len);
cleanup:
	kluis_error_clear();
	kluis_buf_dispose(&b);
	free(path);
}

int kluis_retention_list(kluis_vault *v, bool entries, kluis_retention **out, size_t *n)
{
	kluis_ledger_event *ev = NULL, **imports = NULL;
	kluis_entry_memo memo;
	char **ids = NULL;
	size_t nev = 0, nids = 0, nimports = 0, i;
	int err;

	memset(&memo, 0, sizeof(memo));

	*out = NULL;
	*n = 0;
	if ((err = kluis_vault_dossier_ids(v, &ids, &nids)) < 0 || (err = kluis_ledger_events(v, NULL, &ev, &nev)) < 0 ||
	    (err = imports_of(ev, nev, &imports, &nimports)) < 0)
		goto cleanup;
	*out = calloc(nids + 1, sizeof(**out));
	if (!*out) {
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto cleanup;
	}
	if (entries)
		memo_load(v, &memo);
	for (i = 0; i < nids; i++)
		retention_of(v, ids[i], entries ? &memo : NULL, imports, nimports, &(*out)[i]);
	*n = nids;
	if (entries)
		memo_save(v, &memo);
cleanup:
	free(memo.known);
	free(memo.seen);
	free(imports);
	kluis_ledger_events_free(ev, nev);
	kluis_strings_free(ids, nids);
	return err;
}

int kluis_retention_get(kluis_vault *v, const char *id, kluis_retention *r)
{
	kluis_ledger_event *ev = NULL, **imports = NULL;
	size_t nev = 0, nimports = 0;
	int err;

	if ((err = kluis_ledger_events(v, id, &ev, &nev)) == 0 && (err = imports_of(ev, nev, &imports, &nimports)) == 0)
		retention_of(v, id, NULL, imports, nimports, r);
	free(imports);
	kluis_ledger_events_free(ev, nev);
	return err;
}

/* ---- destroy ---- */

/* Where the verklaring goes: refuse before anything is destroyed if it cannot go there. */
static int certificate_target(kluis_vault *v, const char *id, const char *given, char **txt, char **asc)
{
	char stamp[17], name[128], *dir = NULL;
	int err = 0;

	*txt = *asc = NULL;
	if (given) {
		*txt = strdup(given);
	} else {
		kluis_time_stamp(kluis_now(), stamp);
		snprintf(name, sizeof(name), "%s-%s.txt", id, stamp);
		if (!(dir = kluis_path_join(v->root, "certificates"))) {
			err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
			goto cleanup;
		}
		if ((err = kluis_mkdir_p(dir)) < 0)
			goto cleanup;
		*txt = kluis_path_join(dir, name);
	}
	if (!*txt || asprintf(asc, "%s.asc", *txt) < 0) {
		*asc = NULL;
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto cleanup;
	}
	if (kluis_path_exists(*txt) || kluis_path_exists(*asc)) {
		err = kluis_error_set(KLUIS_EEXISTS, "%s or its .asc already exists; give --certificate a new file", *txt);
		goto cleanup;
	}
	/* the directory must take a file: try it now, not after the destruction */
	{
		char *probe = NULL;
		int fd;
		if (asprintf(&probe, "%s.probe", *txt) < 0) {
			err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
			goto cleanup;
		}
		fd = kluis_file_create_excl(probe);
		if (fd < 0)
			err = kluis_error_set(KLUIS_EINVAL, "cannot write the verklaring to %s: %s", *txt, kluis_error_last());
		else {
			close(fd);
			unlink(probe);
		}
		free(probe);
	}
cleanup:
	if (err < 0) {
		free(*txt);
		free(*asc);
		*txt = *asc = NULL;
	}
	free(dir);
	return err;
}

int kluis_dossier_destroy(kluis_vault *v, const char *id, const char *reason, bool force, const char *certificate, char **written)
{
	kluis_dossier *d = NULL;
	kluis_ledger_event *ev = NULL;
	kluis_ledger_record rec;
	kluis_retention r;
	kluis_dossier_status st;
	kluis_buf cert = KLUIS_BUF_INIT, fields = KLUIS_BUF_INIT, sig = KLUIS_BUF_INIT;
	const char *actor, *role;
	char grounds[160], deadline[21] = "-", seq[32] = "0", head[GIT_OID_HEXSZ + 1], *txt = NULL, *asc = NULL;
	size_t nev = 0, reads, commits;
	unsigned held;
	int64_t from, to;
	const char *p;
	int err;

	if (written)
		*written = NULL;
	if (!reason || !*reason || strlen(reason) > 200)
		return kluis_error_set(KLUIS_EINVAL, "--reason is required (at most 200 characters; it is kept encrypted for the directie)");
	for (p = reason; *p; p++)
		if ((unsigned char)*p < 0x20)
			return kluis_error_set(KLUIS_EINVAL, "--reason has control characters");
	if ((err = kluis_dossier_open(&d, v, id)) < 0 || (err = kluis_vault_actor(v, &actor)) < 0 ||
	    (err = kluis_dossier_status_get(d, &st)) < 0 || (err = kluis_ledger_events(v, id, &ev, &nev)) < 0)
		goto cleanup;
	held = kluis_roles_of(&d->roles, actor);
	if (!(held & (KLUIS_ROLE_DIRECTIE | KLUIS_ROLE_OPDRACHTGEVER))) {
		err = kluis_error_set(KLUIS_EACCESS, "only the directie or the opdrachtgever may destroy a dossier");
		goto cleanup;
	}
	role = kluis_role_name(held & KLUIS_ROLE_DIRECTIE ? KLUIS_ROLE_DIRECTIE : KLUIS_ROLE_OPDRACHTGEVER);
	if ((err = kluis_retention_get(v, id, &r)) < 0)
		goto cleanup;
	if (r.deadline)
		kluis_time_iso(r.deadline, deadline);
	if (!force && (!r.deadline || r.deadline > kluis_now())) {
		err = kluis_error_set(KLUIS_ESTATE, "the retention of '%s' runs %s%s; destroying earlier needs --force (and is recorded as such)", id,
				      r.deadline ? "until " : "from the end of the traject", r.deadline ? deadline : "");
		goto cleanup;
	}
	snprintf(grounds, sizeof(grounds), "%s%s%s", r.rule, r.deadline ? ", verstreken op " : "", r.deadline ? deadline : "");
	if (force && (!r.deadline || r.deadline > kluis_now()))
		snprintf(grounds, sizeof(grounds), "vervroegd (--force) voor het einde van de bewaartermijn (%s)", r.rule);
	kluis_trailer_get(git_commit_message(d->head_commit), "Kluis-Seq", seq, sizeof(seq));
	commits = (size_t)strtoull(seq, NULL, 10);
	reads = kluis_lifecycle_count_reads(d->repo);
	from = kluis_lifecycle_first_commit_time(d->repo, &d->head);
	to = (int64_t)git_commit_time(d->head_commit);
	git_oid_tostr(head, sizeof(head), &d->head);
	/* the verklaring names ids, counts, codes and keys only: the reason stays out of it */
	if ((err = kluis_lifecycle_certificate(&cert, id, from, to, commits, st.entries, reads, NULL, NULL, grounds,
					       "toelichting versleuteld voor de directie in het register van de kluis", role, actor)) < 0 ||
	    (err = kluis_buf_printf(&cert, "Laatste vastlegging: %s (git-commit van het dossier)\n", head)) < 0 ||
	    (err = kluis_buf_printf(&fields, "Kluis-Grounds: %s\nKluis-Forced: %s\n", r.imported ? "W7" : "P13.2", force ? "yes" : "no")) < 0 ||
	    (err = kluis_buf_cstr(&cert)) < 0 || (err = certificate_target(v, id, certificate, &txt, &asc)) < 0)
		goto cleanup;
	kluis_dossier_free(d);
	d = NULL;
	if ((err = kluis_lifecycle_destroy_local(v, id)) < 0)
		goto cleanup;
	memset(&rec, 0, sizeof(rec));
	rec.action = "destroy";
	rec.dossier = id;
	rec.role = role;
	rec.fields = (const char *)fields.ptr;
	rec.certificate = (const char *)cert.ptr;
	rec.reason = reason;
	rec.certificate_sig_out = &sig;
	if ((err = kluis_ledger_append_record(v, &rec)) < 0)
		goto cleanup;
	/* the same signed verklaring, standalone, for the auditor or the opdrachtgever */
	if ((err = kluis_file_write_atomic(txt, cert.ptr, cert.len)) < 0 || (err = kluis_file_write_atomic(asc, sig.ptr, sig.len)) < 0) {
		err = kluis_error_set(err, "the dossier is destroyed and the ledger says so, but %s (kluis ledger show %s has the verklaring)",
				      kluis_error_last(), id);
		goto cleanup;
	}
	if (written) {
		*written = txt;
		txt = NULL;
	}
cleanup:
	kluis_ledger_events_free(ev, nev);
	kluis_dossier_free(d);
	kluis_buf_dispose(&cert);
	kluis_buf_dispose(&fields);
	kluis_buf_dispose(&sig);
	free(txt);
	free(asc);
	return err;
}
