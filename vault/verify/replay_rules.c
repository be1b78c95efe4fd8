/*
 * replay_rules.c - the actions of the dossier model (docs/FORMATS.md, "Actions"), applied to
 * the replayed state one commit at a time.
 *
 * For each commit: its object is read byte for byte (replay_commit.c); its place in the chain
 * (parent, Kluis-Seq, time) and its signer's authority come from the state before it, never
 * from the commit's own claims; its message must be, to the byte, the one kluis writes for
 * that action with those values (the expected trailers are rendered from what the action
 * means, so a trailer added, dropped, repeated or moved is a finding); its tree may differ
 * from the parent's in exactly the paths the action names, in exactly the shapes it names.
 * There is no "checked unless the action is X": every path of every tree is compared.
 */
#include "vault/verify/replay.h"
#include "vault/store/rights.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kinds[] = { "note", "contact", "circumstance", "document", "correspondence", "plan",
				     "report", "consent", "statement", "correction", "request", "mixed", NULL };

/* ---- the entry table ---- */

static int entry_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const rentry *)elem)->id);
}

rentry *kluis_rentry_find(replay *r, const char *id)
{
	return r->nentries ? bsearch(id, r->entries, r->nentries, sizeof(rentry), entry_cmp) : NULL;
}

static rentry *entry_insert(replay *r, const char *id)
{
	size_t lo = r->nentries;

	if (r->nentries == r->cap) {
		rentry *g = realloc(r->entries, (r->cap = r->cap ? 2 * r->cap : 64) * sizeof(*g));
		if (!g)
			return NULL;
		r->entries = g;
	}
	/* ids carry their time, so new ones nearly always go last */
	while (lo > 0 && strcmp(r->entries[lo - 1].id, id) > 0)
		lo--;
	memmove(&r->entries[lo + 1], &r->entries[lo], (r->nentries - lo) * sizeof(rentry));
	memset(&r->entries[lo], 0, sizeof(rentry));
	snprintf(r->entries[lo].id, sizeof(r->entries[lo].id), "%s", id);
	r->nentries++;
	return &r->entries[lo];
}

/* ---- trees ---- */

/* One entry directory that a commit adds or changes. */
typedef struct {
	char id[KLUIS_ENTRY_ID_LEN + 1];
	git_oid old_dir, new_dir;
	bool added;
} rchange;

typedef struct {
	rchange *v;
	size_t n;
	bool bad;           /* a finding was made while comparing */
} rchanges;

static int change_push(rchanges *cs, const char *id, const git_oid *old_dir, const git_oid *new_dir)
{
	rchange *g = realloc(cs->v, (cs->n + 1) * sizeof(*g));

	if (!g)
		return -1;
	cs->v = g;
	memset(&g[cs->n], 0, sizeof(*g));
	snprintf(g[cs->n].id, sizeof(g[cs->n].id), "%s", id);
	if (old_dir)
		git_oid_cpy(&g[cs->n].old_dir, old_dir);
	git_oid_cpy(&g[cs->n].new_dir, new_dir);
	g[cs->n].added = old_dir == NULL;
	cs->n++;
	return 0;
}

static bool is_dir(const git_tree_entry *e)
{
	return e && git_tree_entry_filemode(e) == GIT_FILEMODE_TREE;
}

static bool is_file(const git_tree_entry *e)
{
	return e && git_tree_entry_filemode(e) == GIT_FILEMODE_BLOB;
}

/* Compare one shard (XX) of the entries tree: only additions and changes of entry dirs. */
static void diff_shard(replay *r, const git_oid *commit, const char *shard, const git_oid *old_id, const git_oid *new_id, rchanges *cs)
{
	git_tree *a = NULL, *b = NULL;
	size_t i, j = 0, na, nb;

	if ((old_id && git_tree_lookup(&a, r->repo, old_id) < 0) || git_tree_lookup(&b, r->repo, new_id) < 0) {
		kluis_rfinding(r, commit, "entries/%s: tree object missing or unreadable", shard);
		cs->bad = true;
		goto cleanup;
	}
	if (!kluis_rtree_canonical(b)) {
		kluis_rfinding(r, commit, "entries/%s: not in git's own encoding (names in order and once, modes as git writes them)", shard);
		cs->bad = true;
		goto cleanup;
	}
	na = a ? git_tree_entrycount(a) : 0;
	nb = git_tree_entrycount(b);
	for (i = 0; i < nb; i++) {
		const git_tree_entry *eb = git_tree_entry_byindex(b, i), *ea = NULL;
		const char *name = git_tree_entry_name(eb);
		char want[64];
		int c = 1;
		while (j < na && (c = strcmp(git_tree_entry_name(git_tree_entry_byindex(a, j)), name)) < 0) {
			kluis_rfinding(r, commit, "removes entry %s", git_tree_entry_name(git_tree_entry_byindex(a, j)));
			cs->bad = true;
			j++;
		}
		if (j < na && c == 0)
			ea = git_tree_entry_byindex(a, j++);
		if (ea && git_oid_equal(git_tree_entry_id(ea), git_tree_entry_id(eb)) &&
		    git_tree_entry_filemode(ea) == git_tree_entry_filemode(eb))
			continue;
		if (!kluis_entry_id_valid(name)) {
			kluis_rfinding(r, commit, "entries/%s/%s: not an entry id", shard, name);
			cs->bad = true;
			continue;
		}
		kluis_entry_dir(name, want);
		if (strncmp(want + 8, shard, 2) != 0 || !is_dir(eb)) {
			kluis_rfinding(r, commit, "entries/%s/%s: not an entry directory in its shard", shard, name);
			cs->bad = true;
			continue;
		}
		if (change_push(cs, name, ea ? git_tree_entry_id(ea) : NULL, git_tree_entry_id(eb)) < 0)
			cs->bad = true;
	}
	for (; j < na; j++) {
		kluis_rfinding(r, commit, "removes entry %s", git_tree_entry_name(git_tree_entry_byindex(a, j)));
		cs->bad = true;
	}
cleanup:
	git_tree_free(a);
	git_tree_free(b);
}

/* A shard that went: each entry of it is a removal. */
static void removed_shard(replay *r, const git_oid *commit, const git_tree_entry *shard)
{
	git_tree *t = NULL;
	size_t i;

	if (git_tree_lookup(&t, r->repo, git_tree_entry_id(shard)) < 0) {
		kluis_rfinding(r, commit, "removes the entries of shard %s", git_tree_entry_name(shard));
		return;
	}
	for (i = 0; i < git_tree_entrycount(t); i++)
		kluis_rfinding(r, commit, "removes entry %s", git_tree_entry_name(git_tree_entry_byindex(t, i)));
	git_tree_free(t);
}

/*
 * Two entries trees as git stores them ("<mode> <name>\0" and a 20-byte id, entry after entry)
 * that differ in one entry's id and in nothing else: that entry is a shard directory ("40000",
 * two hex digits) and *name (pointing into a), *old_id, *new_id are set. False for anything else,
 * which the caller compares entry by entry. `a` is a tree whose names were found in order.
 */
static bool one_shard_changed(git_odb_object *a, git_odb_object *b, const char **name, git_oid *old_id, git_oid *new_id)
{
	const char *pa = git_odb_object_data(a), *pb = git_odb_object_data(b), *p = pa, *end = pa + git_odb_object_size(a), *nul;
	const char *changed = NULL;

	if (git_odb_object_type(b) != GIT_OBJECT_TREE || git_odb_object_size(a) != git_odb_object_size(b))
		return false;
	for (; p < end; p = nul + 1 + GIT_OID_RAWSZ) {
		size_t off = (size_t)(p - pa);
		if (!(nul = memchr(p, '\0', (size_t)(end - p))) || (size_t)(end - nul - 1) < GIT_OID_RAWSZ ||
		    memcmp(p, pb + off, (size_t)(nul + 1 - p)) != 0)
			return false;
		if (memcmp(nul + 1, pb + (nul + 1 - pa), GIT_OID_RAWSZ) == 0)
			continue;
		if (changed)
			return false;
		changed = p;
	}
	if (!changed || strncmp(changed, "40000 ", 6) != 0 || strlen(changed + 6) != 2 || !strchr("0123456789abcdef", changed[6]) ||
	    !strchr("0123456789abcdef", changed[7]))
		return false;
	*name = changed + 6;
	git_oid_fromraw(old_id, (const unsigned char *)changed + 9);
	git_oid_fromraw(new_id, (const unsigned char *)pb + (changed + 9 - pa));
	return true;
}

/*
 * The entry directories a commit adds or changes, in tree order; removals are findings.
 *
 * An add changes one shard's id in the entries tree and nothing else, and every commit has a
 * new entries tree (256 shards, 7 KB: inflated and hashed whatever happens). The tree the
 * previous commit judged is kept raw (r->entries_raw, over libgit2's 4 KB cache limit for
 * trees): when this commit's differs from it in one shard's id only, its names, modes and
 * order are that tree's, which passed the checks below, and only that shard is compared;
 * otherwise the two trees are compared entry by entry.
 */
static void diff_entries(replay *r, const git_oid *commit, const git_tree_entry *old_e, const git_tree_entry *new_e, rchanges *cs)
{
	git_tree *a = NULL, *b = NULL;
	git_odb *odb = NULL;
	git_odb_object *raw = NULL;
	const char *shard;
	git_oid old_shard, new_shard;
	size_t i, j = 0, na, nb;

	if (!new_e) {
		if (old_e) {
			kluis_rfinding(r, commit, "removes the entries directory");
			cs->bad = true;
		}
		return;
	}
	if (old_e && git_oid_equal(git_tree_entry_id(old_e), git_tree_entry_id(new_e)))
		return;
	if (git_repository_odb(&odb, r->repo) < 0 || git_odb_read(&raw, odb, git_tree_entry_id(new_e)) < 0) {
		kluis_rfinding(r, commit, "entries: tree object missing or unreadable");
		cs->bad = true;
		goto cleanup;
	}
	if (old_e && r->entries_raw && git_oid_equal(git_odb_object_id(r->entries_raw), git_tree_entry_id(old_e)) &&
	    one_shard_changed(r->entries_raw, raw, &shard, &old_shard, &new_shard)) {
		diff_shard(r, commit, shard, &old_shard, &new_shard, cs);
		goto keep;
	}
	if ((old_e && git_tree_lookup(&a, r->repo, git_tree_entry_id(old_e)) < 0) || git_tree_lookup(&b, r->repo, git_tree_entry_id(new_e)) < 0) {
		kluis_rfinding(r, commit, "entries: tree object missing or unreadable");
		cs->bad = true;
		goto cleanup;
	}
	if (!kluis_rtree_canonical(b) || git_tree_entrycount(b) == 0) {
		kluis_rfinding(r, commit, "entries: not in git's own encoding (names in order and once, modes as git writes them), or empty");
		cs->bad = true;
		goto cleanup;
	}
	na = a ? git_tree_entrycount(a) : 0;
	nb = git_tree_entrycount(b);
	for (i = 0; i < nb; i++) {
		const git_tree_entry *eb = git_tree_entry_byindex(b, i), *ea = NULL;
		const char *name = git_tree_entry_name(eb);
		int c = 1;
		while (j < na && (c = strcmp(git_tree_entry_name(git_tree_entry_byindex(a, j)), name)) < 0) {
			removed_shard(r, commit, git_tree_entry_byindex(a, j));
			cs->bad = true;
			j++;
		}
		if (j < na && c == 0)
			ea = git_tree_entry_byindex(a, j++);
		if (ea && git_oid_equal(git_tree_entry_id(ea), git_tree_entry_id(eb)))
			continue;
		if (strlen(name) != 2 || !is_dir(eb) || !strchr("0123456789abcdef", name[0]) || !strchr("0123456789abcdef", name[1])) {
			kluis_rfinding(r, commit, "entries/%s: not a shard directory", name);
			cs->bad = true;
			continue;
		}
		diff_shard(r, commit, name, ea ? git_tree_entry_id(ea) : NULL, git_tree_entry_id(eb), cs);
	}
	for (; j < na; j++) {
		removed_shard(r, commit, git_tree_entry_byindex(a, j));
		cs->bad = true;
	}
keep:
	/* names in order (checked above, or those of the tree kept): the next commit's parent's */
	git_odb_object_free(r->entries_raw);
	r->entries_raw = raw;
	raw = NULL;
cleanup:
	git_odb_object_free(raw);
	git_odb_free(odb);
	git_tree_free(a);
	git_tree_free(b);
}

/* An entry directory holding exactly the two files a and b (blobs, mode 100644). */
static bool dir_of(replay *r, const git_oid *dir_id, const char *na, const char *nb, git_oid *a, git_oid *b)
{
	git_tree *t = NULL;
	const git_tree_entry *ea, *eb;
	bool ok = false;

	if (git_tree_lookup(&t, r->repo, dir_id) < 0)
		return false;
	ea = git_tree_entry_byname(t, na);
	eb = git_tree_entry_byname(t, nb);
	if (git_tree_entrycount(t) == 2 && is_file(ea) && is_file(eb) && kluis_rtree_canonical(t)) {
		git_oid_cpy(a, git_tree_entry_id(ea));
		git_oid_cpy(b, git_tree_entry_id(eb));
		ok = true;
	}
	git_tree_free(t);
	return ok;
}

/* ---- the message ---- */

typedef struct {
	rtrailer *heap;
	size_t n, cap;
	char **owned;
	size_t nowned;
} rtrailers;

static void want(rtrailers *w, const char *key, const char *value)
{
	rtrailer *t;

	if (w->n == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 64;
		rtrailer *g = realloc(w->heap, cap * sizeof(*g));
		if (!g)
			return;
		w->heap = g;
		w->cap = cap;
	}
	t = &w->heap[w->n++];
	t->key = (char *)key;
	t->value = (char *)(value ? value : "");
}

static const char *wantf(rtrailers *w, const char *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static const char *wantf(rtrailers *w, const char *key, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL, **g;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (!s || !(g = realloc(w->owned, (w->nowned + 1) * sizeof(*g)))) {
		free(s);
		return NULL;
	}
	w->owned = g;
	g[w->nowned++] = s;
	want(w, key, s);
	return s;
}

static void wanted_dispose(rtrailers *w)
{
	kluis_strings_free(w->owned, w->nowned);
	free(w->heap);
}

/* The message must be the one kluis writes for these values, to the byte. */
static bool message_is(replay *r, const rcommit *c, const char *subject, rtrailers *w)
{
	size_t i;

	if (strcmp(c->subject, subject) != 0) {
		kluis_rfinding(r, &c->oid, "subject '%s' where kluis writes '%s'", c->subject, subject);
		return false;
	}
	for (i = 0; i < w->n && i < c->ntr; i++)
		if (strcmp(w->heap[i].key, c->tr[i].key) != 0 || strcmp(w->heap[i].value, c->tr[i].value) != 0) {
			kluis_rfinding(r, &c->oid, "trailer %zu is '%s: %s' where kluis writes '%s: %s' for this %s", i + 1, c->tr[i].key,
				       c->tr[i].value, w->heap[i].key, w->heap[i].value, c->tr[0].value);
			return false;
		}
	if (w->n != c->ntr) {
		if (c->ntr > w->n)
			kluis_rfinding(r, &c->oid, "trailer '%s: %s' that kluis does not write for this action", c->tr[w->n].key, c->tr[w->n].value);
		else
			kluis_rfinding(r, &c->oid, "trailer '%s' missing", w->heap[c->ntr].key);
		return false;
	}
	return true;
}

/* ---- the state ---- */

static bool trusted(replay *r, const char *fpr)
{
	return kluis_strings_has(r->opts->trust, r->opts->ntrust, fpr);
}

/* A root file (dossier, roles, info): exactly one regular file of that name. */
static const git_tree_entry *root_file(git_tree *t, const char *name)
{
	const git_tree_entry *e = git_tree_entry_byname(t, name);

	return is_file(e) ? e : NULL;
}

/* The root tree holds dossier, entries (once there are entries), info, roles: nothing else. */
static bool root_shape(replay *r, const git_oid *commit, git_tree *t)
{
	size_t i, n = git_tree_entrycount(t);
	bool ok = true;

	for (i = 0; i < n; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(t, i);
		const char *name = git_tree_entry_name(e);
		if (strcmp(name, "entries") == 0 ? !is_dir(e) : !((strcmp(name, "dossier") == 0 || strcmp(name, "roles") == 0 || strcmp(name, "info") == 0) && is_file(e))) {
			kluis_rfinding(r, commit, "unexpected '%s' in the dossier tree", name);
			ok = false;
		}
	}
	if (!root_file(t, "dossier") || !root_file(t, "roles") || !root_file(t, "info")) {
		kluis_rfinding(r, commit, "the dossier tree lacks its dossier, roles or info file");
		ok = false;
	}
	/* the specific findings above first; the encoding is what is left to tell */
	if (ok && !kluis_rtree_canonical(t)) {
		kluis_rfinding(r, commit, "the dossier tree is not in git's own encoding (names in order and once, modes as git writes them)");
		ok = false;
	}
	return ok;
}

static int read_roles(replay *r, const git_oid *commit, git_tree *t, kluis_roles *out)
{
	kluis_buf text = KLUIS_BUF_INIT, canon = KLUIS_BUF_INIT;
	int err;

	memset(out, 0, sizeof(*out));
	if ((err = kluis_rblob(r, git_tree_entry_id(root_file(t, "roles")), &text)) < 0 ||
	    (err = kluis_roles_parse(out, (const char *)text.ptr, text.len)) < 0 || (err = kluis_roles_validate(out)) < 0)
		kluis_rfinding(r, commit, "roles file: %s", kluis_error_last());
	else if ((err = kluis_roles_format(out, &canon)) < 0 || canon.len != text.len || memcmp(canon.ptr, text.ptr, text.len) != 0) {
		kluis_rfinding(r, commit, "roles file: not in the form kluis writes");
		err = KLUIS_EVERIFY;
	}
	if (err < 0)
		kluis_roles_dispose(out);
	kluis_buf_dispose(&text);
	kluis_buf_dispose(&canon);
	return err;
}

static int read_dossier_file(replay *r, const git_oid *commit, git_tree *t, kluis_dossier_file *f)
{
	kluis_buf text = KLUIS_BUF_INIT, canon = KLUIS_BUF_INIT;
	int err;

	if ((err = kluis_rblob(r, git_tree_entry_id(root_file(t, "dossier")), &text)) < 0 ||
	    (err = kluis_dossier_file_parse(f, (const char *)text.ptr, text.len)) < 0)
		kluis_rfinding(r, commit, "dossier file: %s", kluis_error_last());
	else if ((err = kluis_dossier_file_format(f, &canon)) < 0 || canon.len != text.len || memcmp(canon.ptr, text.ptr, text.len) != 0) {
		kluis_rfinding(r, commit, "dossier file: not in the form kluis writes");
		err = KLUIS_EVERIFY;
	}
	kluis_buf_dispose(&text);
	kluis_buf_dispose(&canon);
	return err;
}

/* The readers of this moment: every reading role (the klant and the opdrachtgever once the
 * dossier is held, W7), without the opdrachtgever for an entry withheld from it (P8). */
static int readers_of(const replay *r, bool restricted, const char ***out, size_t *n)
{
	unsigned mask = r->transferred ? KLUIS_ROLES_READING_HELD : KLUIS_ROLES_READING;

	return kluis_roles_keys(&r->roles, restricted ? (mask & ~KLUIS_ROLE_OPDRACHTGEVER) : mask, out, n);
}

static int check_pointer(replay *r, const git_oid *commit, const char *what, const git_oid *blob, bool restricted, kluis_pointer *p)
{
	const char **rd = NULL;
	size_t n = 0;
	int err;

	if (readers_of(r, restricted, &rd, &n) < 0)
		return -1;
	err = kluis_rpointer_check(r, commit, what, blob, rd, n, p);
	free(rd);
	return err;
}

/* The time an entry id carries (YYYYMMDDTHHMMSSZ). */
static bool id_time(const char *id, int64_t *t)
{
	char iso[21];

	snprintf(iso, sizeof(iso), "%.4s-%.2s-%.2sT%.2s:%.2s:%.2sZ", id, id + 4, id + 6, id + 9, id + 11, id + 13);
	return kluis_time_parse(iso, t) == 0;
}

/* ---- the actions ---- */

typedef struct {
	replay *r;
	const rcommit *c;
	kluis_action action;
	unsigned role;
	git_tree *ptree, *tree;
	rchanges ch;
	rtrailers w;
	bool dossier_same, roles_same, info_same;
} rstep;

/* Paths outside the entries that must not change, and no entry change at all unless allowed. */
static void only(rstep *s, bool dossier, bool roles, bool info, bool entries)
{
	if (!dossier && !s->dossier_same)
		kluis_rfinding(s->r, &s->c->oid, "changes the dossier file in a %s", kluis_action_name(s->action));
	if (!roles && !s->roles_same)
		kluis_rfinding(s->r, &s->c->oid, "changes the roles file in a %s", kluis_action_name(s->action));
	if (!info && !s->info_same)
		kluis_rfinding(s->r, &s->c->oid, "changes the dossier info in a %s", kluis_action_name(s->action));
	if (!entries && s->ch.n)
		kluis_rfinding(s->r, &s->c->oid, "changes entry %s in a %s", s->ch.v[0].id, kluis_action_name(s->action));
}

/* Whether the dossier's phase allows the action: open, closed, or held (transferred: only
 * what kluis_roles_authorize_held allows, checked with the signer). */
static bool state_allows(rstep *s, bool open, bool closed)
{
	const char *st = s->r->file.state;
	bool ok = strcmp(st, "open") == 0 ? open : strcmp(st, "closed") == 0 ? closed : strcmp(st, "transferred") == 0;

	if (!ok)
		kluis_rfinding(s->r, &s->c->oid, "a %s is not allowed in a dossier that is %s%s", kluis_action_name(s->action), st,
			       s->action == KLUIS_ACT_TRANSFER ? " (only a closed dossier is handed over)" : "");
	return ok;
}

/* What an entries commit's message says: the entries it adds and what it says of each. */
typedef struct {
	const char *named[256], *special[256], *crefs[256], *restr[256];
	size_t nnamed, nspecial, ncref, nrestr;
	const char *kind, *sup, *cons, *copdr, *withdraws;
	bool restricted[256]; /* per named entry: withheld from the opdrachtgever */
} rnamed;

/* FORMATS "Actions": the trailers an add, statement, correct or consent carries. */
static void named_read(const rcommit *c, rnamed *m)
{
	m->kind = kluis_rcommit_value(c, "Kluis-Kind");
	m->nnamed = kluis_rcommit_values(c, "Kluis-Entry", m->named, 256);
	m->nspecial = kluis_rcommit_values(c, "Kluis-Special", m->special, 256);
	m->ncref = kluis_rcommit_values(c, "Kluis-Consent-Ref", m->crefs, 256);
	m->nrestr = kluis_rcommit_values(c, "Kluis-Restricted", m->restr, 256);
	m->sup = kluis_rcommit_value(c, "Kluis-Supersedes");
	m->cons = kluis_rcommit_value(c, "Kluis-Consent");
	m->copdr = kluis_rcommit_value(c, "Kluis-Consent-Opdrachtgever");
	m->withdraws = kluis_rcommit_value(c, "Kluis-Withdraws");
}

/* FORMATS "Actions", add/statement/correct/consent: the message, rendered from what it means
 * (per entry its Special, Consent-Ref and Restricted; a correct's Supersedes, a consent's
 * grant or withdrawal). */
static bool entries_message(rstep *s, rnamed *m)
{
	const char *want_kind = s->action == KLUIS_ACT_STATEMENT ? "statement" : s->action == KLUIS_ACT_CORRECT ? "correction" :
				s->action == KLUIS_ACT_CONSENT ? "consent" : NULL;
	char subject[64];
	size_t i, k;

	snprintf(subject, sizeof(subject), "%s %s", kluis_action_name(s->action), m->nnamed == 1 ? m->named[0] : "-");
	want(&s->w, "Kluis-Action", kluis_action_name(s->action));
	for (i = 0; i < m->nnamed; i++)
		want(&s->w, "Kluis-Entry", m->named[i]);
	want(&s->w, "Kluis-Kind", want_kind ? want_kind : m->kind);
	want(&s->w, "Kluis-Role", kluis_role_name(s->role));
	for (i = 0; i < m->nnamed; i++) {
		for (k = 0; k < m->nspecial; k++)
			if (strcmp(m->special[k], m->named[i]) == 0) {
				want(&s->w, "Kluis-Special", m->special[k]);
				want(&s->w, "Kluis-Consent-Ref", m->crefs[k]);
			}
		for (k = 0; k < m->nrestr; k++)
			if (strcmp(m->restr[k], m->named[i]) == 0 && !m->restricted[i]) {
				m->restricted[i] = true;
				want(&s->w, "Kluis-Restricted", m->restr[k]);
			}
		if (s->action == KLUIS_ACT_CORRECT && i == 0)
			want(&s->w, "Kluis-Supersedes", m->sup);
		if (s->action == KLUIS_ACT_CONSENT && i == 0) {
			want(&s->w, "Kluis-Consent", m->cons);
			want(&s->w, "Kluis-Consent-Opdrachtgever", m->copdr);
			if (m->cons && strcmp(m->cons, "withdraw") == 0)
				want(&s->w, "Kluis-Withdraws", m->withdraws);
		}
	}
	wantf(&s->w, "Kluis-Seq", "%llu", s->r->seq + 1);
	return message_is(s->r, s->c, subject, &s->w);
}

/* FORMATS "Actions" and "Held": the kinds each action writes (the klant's add only a request,
 * a held dossier's add only a request), a correct or consent one entry. */
static void entries_kinds(rstep *s, const rnamed *m)
{
	replay *r = s->r;
	const char *kind = m->kind;

	if (!kind || !kluis_strings_has(kinds, sizeof(kinds) / sizeof(kinds[0]) - 1, kind) ||
	    (s->action == KLUIS_ACT_ADD && (strcmp(kind, "statement") == 0 || strcmp(kind, "correction") == 0 || strcmp(kind, "consent") == 0)))
		kluis_rfinding(r, &s->c->oid, "Kluis-Kind '%s' is not a kind an %s writes", kind ? kind : "", kluis_action_name(s->action));
	/* the klant files his own requests (WerkPro 10-13); anything else he writes is a statement */
	if (s->action == KLUIS_ACT_ADD && s->role == KLUIS_ROLE_KLANT && kind && strcmp(kind, "request") != 0)
		kluis_rfinding(r, &s->c->oid, "the klant adds only requests (his own words go in a statement), not a %s", kind);
	if (r->transferred && s->action == KLUIS_ACT_ADD && kind && strcmp(kind, "request") != 0)
		kluis_rfinding(r, &s->c->oid, "a held dossier takes only the klant's requests as new entries, not a %s", kind);
	if ((s->action == KLUIS_ACT_CORRECT || s->action == KLUIS_ACT_CONSENT) && m->nnamed != 1)
		kluis_rfinding(r, &s->c->oid, "a %s adds exactly one entry", kluis_action_name(s->action));
}

/* FORMATS "Actions", tree: exactly the named entries are added, each new, its id carrying the
 * commit's time. False stops the action (an id that is not new). */
static bool entries_added(rstep *s, const rnamed *m)
{
	replay *r = s->r;
	const rcommit *c = s->c;
	size_t i, k;

	if (s->ch.n != m->nnamed)
		kluis_rfinding(r, &c->oid, "its message names %zu entries, its tree changes %zu", m->nnamed, s->ch.n);
	for (i = 0; i < s->ch.n; i++) {
		rchange *x = &s->ch.v[i];
		bool listed = false;
		for (k = 0; k < m->nnamed; k++)
			listed |= strcmp(m->named[k], x->id) == 0;
		if (!listed || !x->added)
			kluis_rfinding(r, &c->oid, "%s entry %s, which its message does not add", x->added ? "adds" : "changes", x->id);
	}
	for (i = 0; i < m->nnamed; i++) {
		int64_t t;
		if (!kluis_entry_id_valid(m->named[i]) || kluis_rentry_find(r, m->named[i]) || (i && strcmp(m->named[i - 1], m->named[i]) == 0)) {
			kluis_rfinding(r, &c->oid, "entry id %s is not new", m->named[i]);
			return false;
		}
		/* written when it was added: not after its commit, at most KLUIS_ENTRY_AGE_MAX before
		 * (an offline vault's entry is replayed when it syncs) */
		if (!id_time(m->named[i], &t) || t < c->time - KLUIS_ENTRY_AGE_MAX || t > c->time + KLUIS_CLOCK_TOLERANCE)
			kluis_rfinding(r, &c->oid, "entry id %s does not carry a time it was written (not after its commit, at most 30 days before)",
				       m->named[i]);
	}
	return true;
}

/* FORMATS P8: a special-category entry rests on a consent grant in force; it reaches the
 * opdrachtgever exactly when that consent says so; no other entry is withheld. */
static void entries_special(rstep *s, const rnamed *m)
{
	replay *r = s->r;
	const rcommit *c = s->c;
	size_t i, k;

	for (k = 0; k < m->nspecial; k++) {
		rentry *g = kluis_rentry_find(r, m->crefs[k]);
		bool listed = false;
		for (i = 0; i < m->nnamed; i++)
			if (strcmp(m->named[i], m->special[k]) == 0) {
				listed = true;
				if (g && g->consent && g->grant && !g->withdrawn && m->restricted[i] == g->consent_opdr)
					kluis_rfinding(r, &c->oid, "special-category entry %s is %s the opdrachtgever, against consent %s", m->special[k],
						       m->restricted[i] ? "withheld from" : "encrypted to", m->crefs[k]);
			}
		if (!listed)
			kluis_rfinding(r, &c->oid, "Kluis-Special names %s, which this commit does not add", m->special[k]);
		if (!g || !g->consent || !g->grant || g->erased)
			kluis_rfinding(r, &c->oid, "special-category entry %s cites consent %s, which is no consent grant of this dossier", m->special[k],
				       m->crefs[k]);
		else if (g->withdrawn)
			kluis_rfinding(r, &c->oid, "special-category entry %s cites consent %s, which was withdrawn", m->special[k], m->crefs[k]);
	}
	for (i = 0; i < m->nnamed; i++) {
		bool sp = false;
		for (k = 0; k < m->nspecial; k++)
			sp |= strcmp(m->special[k], m->named[i]) == 0;
		if (m->restricted[i] && !sp)
			kluis_rfinding(r, &c->oid, "entry %s is withheld from the opdrachtgever without a special category", m->named[i]);
	}
}

/* FORMATS "Actions", correct: Kluis-Supersedes names a live entry. */
static void correct_supersedes(rstep *s, const rnamed *m)
{
	rentry *o = m->sup ? kluis_rentry_find(s->r, m->sup) : NULL;

	if (!o || o->erased)
		kluis_rfinding(s->r, &s->c->oid, "corrects entry %s, which does not exist", m->sup ? m->sup : "");
}

/* FORMATS "Actions", consent: grant|withdraw and yes|no; a withdrawal names a grant in force
 * (which it withdraws). */
static void consent_trailers(rstep *s, const rnamed *m)
{
	const char *cons = m->cons, *copdr = m->copdr;

	if (!cons || (strcmp(cons, "grant") && strcmp(cons, "withdraw")) || !copdr || (strcmp(copdr, "yes") && strcmp(copdr, "no")))
		kluis_rfinding(s->r, &s->c->oid, "consent trailers are not grant/withdraw and yes/no");
	else if (strcmp(cons, "withdraw") == 0) {
		rentry *g = m->withdraws ? kluis_rentry_find(s->r, m->withdraws) : NULL;
		if (!g || !g->consent || !g->grant || g->withdrawn)
			kluis_rfinding(s->r, &s->c->oid, "withdraws %s, which is no consent grant in force", m->withdraws ? m->withdraws : "");
		else
			g->withdrawn = true;
	}
}

/* FORMATS "Pointers": each new entry holds exactly meta and body, pointers to ciphertext for
 * the readers of this moment (less the opdrachtgever when withheld); the entries join the state. */
static void entries_pointers(rstep *s, const rnamed *m)
{
	replay *r = s->r;
	const rcommit *c = s->c;
	size_t i, k;

	for (i = 0; i < s->ch.n; i++) {
		rchange *x = &s->ch.v[i];
		git_oid mb, bb;
		kluis_pointer mp, bp;
		char what[96];
		rentry *e;
		bool rs = false;
		for (k = 0; k < m->nnamed; k++)
			if (strcmp(m->named[k], x->id) == 0)
				rs = m->restricted[k];
		if (!x->added || !kluis_entry_id_valid(x->id) || kluis_rentry_find(r, x->id))
			continue;
		if (!dir_of(r, &x->new_dir, "meta", "body", &mb, &bb)) {
			kluis_rfinding(r, &c->oid, "entry %s: must hold exactly the pointers meta and body", x->id);
			continue;
		}
		snprintf(what, sizeof(what), "entry %s meta", x->id);
		if (check_pointer(r, &c->oid, what, &mb, rs, &mp) < 0)
			continue;
		snprintf(what, sizeof(what), "entry %s body", x->id);
		if (check_pointer(r, &c->oid, what, &bb, rs, &bp) < 0)
			continue;
		if (!(e = entry_insert(r, x->id)))
			return;
		e->restricted = rs;
		git_oid_cpy(&e->meta, &mp.oid);
		git_oid_cpy(&e->body, &bp.oid);
		git_oid_cpy(&e->added_by, &c->oid);
		if (s->action == KLUIS_ACT_CONSENT && m->cons) {
			e->consent = true;
			e->grant = strcmp(m->cons, "grant") == 0;
			e->consent_opdr = m->copdr && strcmp(m->copdr, "yes") == 0;
		}
		r->rep->entries++;
	}
}

/* add, statement, correct, consent: new entry directories, nothing else. */
static void act_entries(rstep *s)
{
	rnamed m = { .nnamed = 0 };
	size_t i;

	named_read(s->c, &m);
	state_allows(s, true, s->action == KLUIS_ACT_STATEMENT);
	only(s, false, false, false, true);
	for (i = 0; i < s->ch.n; i++)
		if (!s->ch.v[i].added)
			kluis_rfinding(s->r, &s->c->oid, "changes existing entry %s in a %s commit", s->ch.v[i].id, kluis_action_name(s->action));
	if (m.nnamed == 0 || m.nnamed > 256 || m.nspecial > 256 || m.ncref != m.nspecial || m.nrestr > 256) {
		kluis_rfinding(s->r, &s->c->oid, "this %s names %zu entries in its message", kluis_action_name(s->action), m.nnamed);
		return;
	}
	if (!entries_message(s, &m))
		return;
	entries_kinds(s, &m);
	if (!entries_added(s, &m))
		return;
	entries_special(s, &m);
	if (s->action == KLUIS_ACT_CORRECT)
		correct_supersedes(s, &m);
	if (s->action == KLUIS_ACT_CONSENT)
		consent_trailers(s, &m);
	entries_pointers(s, &m);
}

static void act_approve(rstep *s)
{
	replay *r = s->r;
	const char *entry = kluis_rcommit_value(s->c, "Kluis-Entry"), *approves = kluis_rcommit_value(s->c, "Kluis-Approves");
	rentry *e = entry ? kluis_rentry_find(r, entry) : NULL;
	char subject[64], hex[GIT_OID_HEXSZ + 1];

	state_allows(s, true, true);
	only(s, false, false, false, false);
	snprintf(subject, sizeof(subject), "approve %s", entry ? entry : "");
	want(&s->w, "Kluis-Action", "approve");
	want(&s->w, "Kluis-Entry", entry);
	want(&s->w, "Kluis-Approves", e ? git_oid_tostr(hex, sizeof(hex), &e->added_by) : approves);
	want(&s->w, "Kluis-Role", kluis_role_name(s->role));
	wantf(&s->w, "Kluis-Seq", "%llu", r->seq + 1);
	if (!e || e->erased)
		kluis_rfinding(r, &s->c->oid, "approve of entry %s, which does not exist", entry ? entry : "");
	else
		message_is(r, s->c, subject, &s->w);
}

static void act_erase(rstep *s)
{
	replay *r = s->r;
	const char *entry = kluis_rcommit_value(s->c, "Kluis-Entry"), *basis = kluis_rcommit_value(s->c, "Kluis-Basis");
	rentry *e = entry ? kluis_rentry_find(r, entry) : NULL;
	char subject[64], mhex[GIT_OID_HEXSZ + 1], bhex[GIT_OID_HEXSZ + 1];
	kluis_buf rec = KLUIS_BUF_INIT, want_rec = KLUIS_BUF_INIT;
	git_oid recb, reasonb;
	kluis_pointer rp;

	state_allows(s, true, true);
	only(s, false, false, false, true);
	if (!e || e->erased) {
		kluis_rfinding(r, &s->c->oid, "erase of entry %s, which does not exist", entry ? entry : "");
		return;
	}
	git_oid_tostr(mhex, sizeof(mhex), &e->meta);
	git_oid_tostr(bhex, sizeof(bhex), &e->body);
	snprintf(subject, sizeof(subject), "erase %s", entry);
	want(&s->w, "Kluis-Action", "erase");
	want(&s->w, "Kluis-Entry", entry);
	want(&s->w, "Kluis-Basis", basis);
	want(&s->w, "Kluis-Erased-Object", mhex);
	want(&s->w, "Kluis-Erased-Object", bhex);
	want(&s->w, "Kluis-Role", kluis_role_name(s->role));
	wantf(&s->w, "Kluis-Seq", "%llu", r->seq + 1);
	if (!message_is(r, s->c, subject, &s->w))
		return;
	if (!kluis_erase_basis_valid(basis)) {
		kluis_rfinding(r, &s->c->oid, "erase: Kluis-Basis is not P11.2, P13.4 or W7");
		return;
	}
	if (s->ch.n != 1 || strcmp(s->ch.v[0].id, entry) != 0 || s->ch.v[0].added) {
		kluis_rfinding(r, &s->c->oid, "an erase changes exactly the entry it names");
		return;
	}
	if (!dir_of(r, &s->ch.v[0].new_dir, "erased", "reason", &recb, &reasonb)) {
		kluis_rfinding(r, &s->c->oid, "erase of %s: the entry must become exactly an erased record and a reason", entry);
		return;
	}
	if (kluis_rblob(r, &recb, &rec) < 0 ||
	    kluis_buf_printf(&want_rec, "kluis-erased 1\nentry %s\nmeta %s\nbody %s\nbasis %s\n", entry, mhex, bhex, basis) < 0 ||
	    rec.len != want_rec.len || memcmp(rec.ptr, want_rec.ptr, rec.len) != 0) {
		kluis_rfinding(r, &s->c->oid, "erase of %s: the erased record is not the one kluis writes for it", entry);
		goto cleanup;
	}
	{
		char what[96];
		snprintf(what, sizeof(what), "erase of %s: reason", entry);
		if (check_pointer(r, &s->c->oid, what, &reasonb, false, &rp) < 0)
			goto cleanup;
	}
	e->erased = true;
	git_oid_cpy(&e->reason, &rp.oid);
	memset(&e->meta, 0, sizeof(e->meta));
	memset(&e->body, 0, sizeof(e->body));
	r->rep->erased++;
cleanup:
	kluis_buf_dispose(&rec);
	kluis_buf_dispose(&want_rec);
}

/* roles: the roles file changes by exactly the binding removed and the binding added. */
static void act_roles(rstep *s, kluis_roles *next)
{
	replay *r = s->r;
	const char *removed = kluis_rcommit_value(s->c, "Kluis-Role-Removed"), *added = kluis_rcommit_value(s->c, "Kluis-Role-Added");
	kluis_roles expect = { NULL, 0 };
	kluis_buf a = KLUIS_BUF_INIT, b = KLUIS_BUF_INIT;
	char role[32], fpr[64];
	unsigned rbit;

	state_allows(s, true, true);
	only(s, false, true, false, false);
	want(&s->w, "Kluis-Action", "roles");
	want(&s->w, "Kluis-Role", kluis_role_name(s->role));
	if (removed)
		want(&s->w, "Kluis-Role-Removed", removed);
	if (added)
		want(&s->w, "Kluis-Role-Added", added);
	wantf(&s->w, "Kluis-Seq", "%llu", r->seq + 1);
	if (!message_is(r, s->c, "roles -", &s->w))
		return;
	if (read_roles(r, &s->c->oid, s->tree, next) < 0)
		return;
	if (kluis_roles_copy(&expect, &r->roles) < 0)
		goto cleanup;
	if ((removed && kluis_roles_remove(&expect, removed) < 0) ||
	    (added && (sscanf(added, "%31s %63s", role, fpr) != 2 || kluis_role_parse(role, &rbit) < 0 || kluis_roles_add(&expect, rbit, fpr) < 0)) ||
	    (!removed && !added)) {
		kluis_rfinding(r, &s->c->oid, "roles: the trailers do not describe one change kluis makes");
		goto cleanup;
	}
	if (kluis_roles_format(&expect, &a) < 0 || kluis_roles_format(next, &b) < 0 || a.len != b.len || memcmp(a.ptr, b.ptr, a.len) != 0)
		kluis_rfinding(r, &s->c->oid, "roles: the new roles file is not the old one with the change its trailers name");
cleanup:
	kluis_roles_dispose(&expect);
	kluis_buf_dispose(&a);
	kluis_buf_dispose(&b);
}

/* The commitment of the pointer `blob` is that of `old` (a rewrap re-encrypts the same plaintext). */
static void same_plaintext(replay *r, const git_oid *commit, const char *what, const kluis_pointer *now, const git_oid *old_blob)
{
	kluis_pointer old;

	if (kluis_rpointer_read(r, commit, what, old_blob, &old) == 0 && strcmp(old.plain, now->plain) != 0)
		kluis_rfinding(r, commit, "%s: the rewrap changes the plaintext commitment (another plaintext?)", what);
}

/* rewrap: every live entry and the info re-encrypted to the readers of now, same plaintext. */
static void act_rewrap(rstep *s)
{
	replay *r = s->r;
	size_t i, live = 0;
	const git_tree_entry *oi = root_file(s->ptree, "info"), *ni = root_file(s->tree, "info");
	kluis_pointer p;

	state_allows(s, true, true);
	only(s, false, false, true, true);
	want(&s->w, "Kluis-Action", "rewrap");
	want(&s->w, "Kluis-Role", kluis_role_name(s->role));
	for (i = 0; i < s->ch.n; i++) {
		rentry *e = kluis_rentry_find(r, s->ch.v[i].id);
		want(&s->w, "Kluis-Entry", s->ch.v[i].id);
		if (e && e->restricted)
			want(&s->w, "Kluis-Restricted", s->ch.v[i].id);
	}
	wantf(&s->w, "Kluis-Seq", "%llu", r->seq + 1);
	if (!message_is(r, s->c, "rewrap -", &s->w))
		return;
	for (i = 0; i < r->nentries; i++)
		live += !r->entries[i].erased;
	if (s->ch.n != live)
		kluis_rfinding(r, &s->c->oid, "a rewrap re-encrypts all %zu live entries, this one %zu", live, s->ch.n);
	if (s->info_same)
		kluis_rfinding(r, &s->c->oid, "a rewrap re-encrypts the dossier info too");
	else if (check_pointer(r, &s->c->oid, "dossier info", git_tree_entry_id(ni), false, &p) == 0) {
		same_plaintext(r, &s->c->oid, "dossier info", &p, git_tree_entry_id(oi));
		git_oid_cpy(&r->info, &p.oid);
	}
	for (i = 0; i < s->ch.n; i++) {
		rchange *x = &s->ch.v[i];
		rentry *e = kluis_rentry_find(r, x->id);
		git_oid om, ob, nm, nb;
		kluis_pointer mp, bp;
		char what[96];
		if (!e || e->erased || x->added) {
			kluis_rfinding(r, &s->c->oid, "a rewrap %s entry %s, which is not a live entry", x->added ? "adds" : "changes", x->id);
			continue;
		}
		if (!dir_of(r, &x->old_dir, "meta", "body", &om, &ob) || !dir_of(r, &x->new_dir, "meta", "body", &nm, &nb)) {
			kluis_rfinding(r, &s->c->oid, "entry %s: must hold exactly the pointers meta and body", x->id);
			continue;
		}
		snprintf(what, sizeof(what), "entry %s meta", x->id);
		if (check_pointer(r, &s->c->oid, what, &nm, e->restricted, &mp) < 0)
			continue;
		same_plaintext(r, &s->c->oid, what, &mp, &om);
		snprintf(what, sizeof(what), "entry %s body", x->id);
		if (check_pointer(r, &s->c->oid, what, &nb, e->restricted, &bp) < 0)
			continue;
		same_plaintext(r, &s->c->oid, what, &bp, &ob);
		git_oid_cpy(&e->meta, &mp.oid);
		git_oid_cpy(&e->body, &bp.oid);
	}
}

static void act_close(rstep *s)
{
	replay *r = s->r;
	kluis_dossier_file f;

	state_allows(s, true, false);
	only(s, true, false, false, false);
	want(&s->w, "Kluis-Action", "close");
	want(&s->w, "Kluis-Role", kluis_role_name(s->role));
	wantf(&s->w, "Kluis-Seq", "%llu", r->seq + 1);
	if (!message_is(r, s->c, "close -", &s->w))
		return;
	if (s->dossier_same || read_dossier_file(r, &s->c->oid, s->tree, &f) < 0) {
		if (s->dossier_same)
			kluis_rfinding(r, &s->c->oid, "a close that does not close the dossier file");
		return;
	}
	if (strcmp(f.id, r->file.id) || f.created != r->file.created || f.retention_years != r->file.retention_years ||
	    strcmp(f.state, "closed") || f.closed < s->c->time - KLUIS_CLOCK_TOLERANCE || f.closed > s->c->time + KLUIS_CLOCK_TOLERANCE) {
		kluis_rfinding(r, &s->c->oid, "a close may change the dossier file's state and closing time only");
		return;
	}
	r->file = f;
}

static void act_transfer(rstep *s)
{
	replay *r = s->r;
	const char **opdr = NULL, *ah = kluis_rcommit_value(s->c, "Kluis-Access-Head"), *ac = kluis_rcommit_value(s->c, "Kluis-Access-Count");
	size_t n = 0, i;
	char *end = NULL;

	state_allows(s, false, true);
	only(s, true, false, false, false);
	{
		kluis_dossier_file f;
		if (s->dossier_same)
			kluis_rfinding(r, &s->c->oid, "a transfer that does not mark the dossier file transferred");
		else if (read_dossier_file(r, &s->c->oid, s->tree, &f) == 0) {
			if (strcmp(f.id, r->file.id) || f.created != r->file.created || f.retention_years != r->file.retention_years ||
			    f.closed != r->file.closed || strcmp(f.state, "transferred"))
				kluis_rfinding(r, &s->c->oid, "a transfer may change the dossier file's state to transferred only");
			else
				r->file = f;
		}
	}
	want(&s->w, "Kluis-Action", "transfer");
	want(&s->w, "Kluis-Role", kluis_role_name(s->role));
	if (kluis_roles_keys(&r->roles, KLUIS_ROLE_OPDRACHTGEVER, &opdr, &n) == 0)
		for (i = 0; i < n; i++)
			want(&s->w, "Kluis-Opdrachtgever", opdr[i]);
	want(&s->w, "Kluis-Access-Head", ah);
	want(&s->w, "Kluis-Access-Count", ac);
	wantf(&s->w, "Kluis-Seq", "%llu", r->seq + 1);
	if (message_is(r, s->c, "transfer -", &s->w)) {
		unsigned long long cnt = ac ? strtoull(ac, &end, 10) : 0;
		if (!ah || strlen(ah) != 40 || git_oid_fromstr(&r->xfer_access, ah) < 0 || !ac || !*ac || *end || (ac[0] == '0' && ac[1]) ||
		    (cnt == 0) != git_oid_is_zero(&r->xfer_access))
			kluis_rfinding(r, &s->c->oid, "transfer: Kluis-Access-Head/Count are not a read log's head and length");
		else {
			r->xfer_count = cnt;
			r->transferred = true;
			r->xfer_new = true;
		}
	}
	free(opdr);
}

static void act_init(rstep *s, kluis_roles *next)
{
	replay *r = s->r;
	const rcommit *c = s->c;
	kluis_pointer p;
	unsigned role = 0;

	want(&s->w, "Kluis-Action", "init");
	want(&s->w, "Kluis-Role", c->role_name);
	want(&s->w, "Kluis-Trust", c->signer);
	want(&s->w, "Kluis-Seq", "1");
	if (!message_is(r, c, "init -", &s->w))
		return;
	if (!r->opts->ntrust) {
		kluis_rfinding(r, &c->oid, "no trust root to check the first commit against (give --trust FPR)");
		return;
	}
	/* the root is the trust root's own: no roles file can make another key one */
	if (!trusted(r, c->signer)) {
		kluis_rfinding(r, &c->oid, "first commit not signed by the trust root (signer %s)", c->signer);
		return;
	}
	if (read_roles(r, &c->oid, s->tree, next) < 0 || read_dossier_file(r, &c->oid, s->tree, &r->file) < 0)
		return;
	if (kluis_roles_authorize(next, c->signer, KLUIS_ACT_INIT, &role) < 0 || strcmp(kluis_role_name(role), c->role_name) != 0) {
		kluis_rfinding(r, &c->oid, "the trust root does not hold the role it signs the init in");
		return;
	}
	if (strcmp(r->file.id, r->id) != 0)
		kluis_rfinding(r, &c->oid, "this history belongs to dossier '%s', not '%s'", r->file.id, r->id);
	if (strcmp(r->file.state, "open") || r->file.closed || r->file.retention_years < 1 ||
	    r->file.created < c->time - KLUIS_CLOCK_TOLERANCE || r->file.created > c->time + KLUIS_CLOCK_TOLERANCE)
		kluis_rfinding(r, &c->oid, "the dossier file of an init is open, dated at the commit and keeps at least a year");
	if (git_tree_entry_byname(s->tree, "entries"))
		kluis_rfinding(r, &c->oid, "an init adds no entries");
	kluis_roles_dispose(&r->roles);
	r->roles = *next;
	memset(next, 0, sizeof(*next));
	if (check_pointer(r, &c->oid, "dossier info", git_tree_entry_id(root_file(s->tree, "info")), false, &p) == 0)
		git_oid_cpy(&r->info, &p.oid);
}

int kluis_replay_resume(replay *r)
{
	git_tree *t = NULL;
	int err = KLUIS_EVERIFY;

	if (git_tree_lookup(&t, r->repo, &r->tree) == 0 && root_file(t, "roles") && root_file(t, "dossier")) {
		size_t before = r->rep->nfindings;
		kluis_roles_dispose(&r->roles);
		if (read_roles(r, NULL, t, &r->roles) == 0 && read_dossier_file(r, NULL, t, &r->file) == 0)
			err = 0;
		/* a state that does not reload is no state: the run starts from the root instead */
		while (r->rep->nfindings > before)
			free(r->rep->findings[--r->rep->nfindings].message);
	}
	git_tree_free(t);
	return err;
}

int kluis_replay_commit(replay *r, const git_oid *oid)
{
	rstep s;
	rcommit c;
	kluis_roles next = { NULL, 0 };
	size_t before = r->rep->nfindings;
	const char *seq;
	int err = -1;

	memset(&s, 0, sizeof(s));
	s.r = r;
	s.c = &c;
	r->rep->commits++;
	if (kluis_rcommit_read(r, oid, &c) < 0)
		goto cleanup;
	/* place in the chain: linear, numbered, dated forward, not from the future */
	if (r->started ? (!c.has_parent || !git_oid_equal(&c.parent, &r->head)) : c.has_parent) {
		kluis_rfinding(r, oid, "not the child of the commit before it");
		goto cleanup;
	}
	if (r->started && c.time < r->time)
		kluis_rfinding(r, oid, "dated before its parent");
	if (r->started && c.sigtime < r->time)
		kluis_rfinding(r, oid, "signed before its parent's time (a backdated signature?)");
	if (c.time > kluis_now() + KLUIS_CLOCK_TOLERANCE)
		kluis_rfinding(r, oid, "dated in the future");
	if (c.ntr == 0 || strcmp(c.tr[0].key, "Kluis-Action") != 0 || kluis_action_parse(c.tr[0].value, &s.action) < 0 ||
	    s.action == KLUIS_ACT_ACCESS || (s.action == KLUIS_ACT_INIT) == r->started) {
		kluis_rfinding(r, oid, "no Kluis-Action this place in the history allows ('%s')", c.ntr ? c.tr[0].value : "");
		goto cleanup;
	}
	seq = c.tr[c.ntr - 1].value;
	if (strcmp(c.tr[c.ntr - 1].key, "Kluis-Seq") != 0) {
		kluis_rfinding(r, oid, "no Kluis-Seq as its last trailer");
		goto cleanup;
	}
	{
		char want_seq[32];
		snprintf(want_seq, sizeof(want_seq), "%llu", r->seq + 1);
		if (strcmp(seq, want_seq) != 0) {
			kluis_rfinding(r, oid, "sequence number %s where %s was due (history rewritten?)", seq, want_seq);
			goto cleanup;
		}
	}
	/* authority: the roles before the commit decide, and the signer acts in the one role it holds */
	if (s.action != KLUIS_ACT_INIT) {
		/* held by the opdrachtgever after the transfer: its own, narrower rules (W7) */
		if ((r->transferred ? kluis_roles_authorize_held : kluis_roles_authorize)(&r->roles, c.signer, s.action, &s.role) < 0) {
			kluis_rfinding(r, oid, "%s", kluis_error_last());
			goto cleanup;
		}
		if (strcmp(c.role_name, kluis_role_name(s.role)) != 0) {
			kluis_rfinding(r, oid, "the author line says %s, but the signer is the %s", c.role_name, kluis_role_name(s.role));
			goto cleanup;
		}
	}
	/* the tree against the parent's */
	if (git_tree_lookup(&s.tree, r->repo, &c.tree) < 0 ||
	    (r->started && git_tree_lookup(&s.ptree, r->repo, &r->tree) < 0)) {
		const git_error *e = git_error_last();
		kluis_rfinding(r, oid, "tree object missing or unreadable: %s", e && e->message ? e->message : "not found");
		goto cleanup;
	}
	if (!root_shape(r, oid, s.tree))
		goto cleanup;
	if (r->started) {
		s.dossier_same = git_oid_equal(git_tree_entry_id(root_file(s.ptree, "dossier")), git_tree_entry_id(root_file(s.tree, "dossier")));
		s.roles_same = git_oid_equal(git_tree_entry_id(root_file(s.ptree, "roles")), git_tree_entry_id(root_file(s.tree, "roles")));
		s.info_same = git_oid_equal(git_tree_entry_id(root_file(s.ptree, "info")), git_tree_entry_id(root_file(s.tree, "info")));
		diff_entries(r, oid, git_tree_entry_byname(s.ptree, "entries"), git_tree_entry_byname(s.tree, "entries"), &s.ch);
	}
	switch (s.action) {
	case KLUIS_ACT_INIT: act_init(&s, &next); break;
	case KLUIS_ACT_ADD:
	case KLUIS_ACT_STATEMENT:
	case KLUIS_ACT_CORRECT:
	case KLUIS_ACT_CONSENT: act_entries(&s); break;
	case KLUIS_ACT_APPROVE: act_approve(&s); break;
	case KLUIS_ACT_ERASE: act_erase(&s); break;
	case KLUIS_ACT_ROLES: act_roles(&s, &next); break;
	case KLUIS_ACT_REWRAP: act_rewrap(&s); break;
	case KLUIS_ACT_CLOSE: act_close(&s); break;
	case KLUIS_ACT_TRANSFER: act_transfer(&s); break;
	default: break;
	}
	if (s.action == KLUIS_ACT_ROLES && next.v && r->rep->nfindings == before) {
		kluis_roles_dispose(&r->roles);
		r->roles = next;
		memset(&next, 0, sizeof(next));
	}
	err = 0;
cleanup:
	/* the state moves on; a commit that cannot be placed or judged ends the replay */
	if (err == 0) {
		git_oid_cpy(&r->head, oid);
		git_oid_cpy(&r->tree, &c.tree);
		r->time = c.time > r->time ? c.time : r->time;
		r->seq++;
		r->started = true;
		r->last_action = s.action;
	}
	kluis_roles_dispose(&next);
	free(s.ch.v);
	wanted_dispose(&s.w);
	git_tree_free(s.tree);
	git_tree_free(s.ptree);
	kluis_rcommit_dispose(&c);
	return err;
}
