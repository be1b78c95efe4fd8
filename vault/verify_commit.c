/*
 * verify_commit.c - the checks of one commit on main against its parent (see verify.h).
 *
 * Per commit, oldest first:
 *   - it is signed, the signature is good, and the signer is named by the committer line;
 *   - history is linear (one parent), dated no earlier than its parent and not in the future,
 *     numbered (Kluis-Seq) one past its parent;
 *   - the signer held, in the roles file of the parent commit, a role allowed the action
 *     (the first commit: the trust root, or a medewerker/directie of a dossier whose directie
 *     is the trust root);
 *   - the change fits the action: entries are only added (never changed or removed, except by
 *     a rewrap or an erase), the roles file changes only in a `roles` commit, and so on;
 *   - every new entry is two pointers checked by verify_object.c against the readers of that
 *     moment (the opdrachtgever left out for an entry withheld from it, P8).
 * The state carried from commit to commit (roles, consents, withheld entries) is in the vctx;
 * an incremental run starts it from the cache.
 *
 * Each commit is checked in two steps (verify_par.c runs them): kluis_vgather_commit reads
 * every object the rules need and depends on nothing before the commit, so it may run on a
 * worker thread; kluis_vjudge_commit applies the rules in order, reads no object, and emits
 * every finding. Both keep the order of the checks, so the findings come out in one order.
 */
#include "verify_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUTURE_SLACK (24 * 3600)

static bool trusted(vctx *v, const char *fpr)
{
	return kluis_strings_has(v->opts->trust, v->opts->ntrust, fpr);
}

static char *dupf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *dupf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

/* Gather an entry directory added by a commit: exactly meta and body pointers. */
static int gather_entry(vctx *g, const char *entry_id, const git_oid *dir_oid, kluis_ventry *e)
{
	git_tree *dir = NULL;
	const git_tree_entry *meta, *body;
	char hex[GIT_OID_HEXSZ + 1];
	int rc;

	memset(e, 0, sizeof(*e));
	if (!kluis_entry_id_valid(entry_id))
		return 0;
	if ((rc = git_tree_lookup(&dir, g->repo, dir_oid)) < 0) {
		git_oid_tostr(hex, sizeof(hex), dir_oid);
		e->early = rc == GIT_ENOTFOUND ? dupf("its tree object %s is missing", hex) : strdup("not a directory of pointers");
		return e->early ? 0 : -1;
	}
	meta = git_tree_entry_byname(dir, "meta");
	body = git_tree_entry_byname(dir, "body");
	if (!meta || !body || git_tree_entrycount(dir) != 2) {
		rc = (e->early = strdup("must hold exactly the pointers meta and body")) ? 0 : -1;
	} else {
		kluis_vgather_pointer(g, git_tree_entry_id(meta), entry_id, "meta", &e->meta);
		kluis_vgather_pointer(g, git_tree_entry_id(body), entry_id, "body", &e->body);
		rc = 0;
	}
	git_tree_free(dir);
	return rc;
}

static void judge_entry(vctx *v, const git_oid *commit, const char *entry_id, const kluis_ventry *e,
			const char *const *readers, size_t nreaders)
{
	char what[96];

	v->rep->entries++;
	if (!kluis_entry_id_valid(entry_id)) {
		kluis_vfinding(v, commit, "'%s' is not an entry id", entry_id);
		return;
	}
	if (e->early) {
		kluis_vfinding(v, commit, "entry %s: %s", entry_id, e->early);
		return;
	}
	snprintf(what, sizeof(what), "entry %s meta", entry_id);
	kluis_vjudge_pointer(v, commit, what, &e->meta, readers, nreaders);
	snprintf(what, sizeof(what), "entry %s body", entry_id);
	kluis_vjudge_pointer(v, commit, what, &e->body, readers, nreaders);
}

static void ventry_dispose(kluis_ventry *e)
{
	free(e->early);
	kluis_vptr_dispose(&e->meta);
	kluis_vptr_dispose(&e->body);
}

/*
 * An erase replaces an entry's pointers with a signed record naming the removed objects
 * (which must match the pointers it replaces) and an encrypted reason, and takes the
 * ciphertext out of refs/kluis/content.
 */
static int gather_erase(vctx *g, const char *entry_id, const git_oid *old_dir, const git_oid *new_dir, kluis_verase *e)
{
	git_tree *was = NULL, *now = NULL;
	const git_tree_entry *rec, *reason, *pm, *pb;
	kluis_buf text = KLUIS_BUF_INIT, mp = KLUIS_BUF_INIT, bp = KLUIS_BUF_INIT;
	kluis_pointer m, b;
	char meta_hex[64], body_hex[64], id[64], basis[32], mh[GIT_OID_HEXSZ + 1], bh[GIT_OID_HEXSZ + 1];
	const char *early = NULL;

	memset(e, 0, sizeof(*e));
	if (git_tree_lookup(&was, g->repo, old_dir) < 0 || git_tree_lookup(&now, g->repo, new_dir) < 0) {
		early = "tree objects missing";
		goto cleanup;
	}
	rec = git_tree_entry_byname(now, "erased");
	reason = git_tree_entry_byname(now, "reason");
	pm = git_tree_entry_byname(was, "meta");
	pb = git_tree_entry_byname(was, "body");
	if (!rec || !reason || git_tree_entrycount(now) != 2 || !pm || !pb) {
		early = "the entry must become exactly an erased record and a reason";
		goto cleanup;
	}
	if (kluis_vread_blob(g, git_tree_entry_id(rec), &text) < 0 ||
	    sscanf((const char *)text.ptr, "kluis-erased 1\nentry %63s\nmeta %63s\nbody %63s\nbasis %31s\n", id, meta_hex, body_hex, basis) != 4 ||
	    strcmp(id, entry_id) != 0) {
		early = "malformed erase record";
		goto cleanup;
	}
	if (kluis_vread_blob(g, git_tree_entry_id(pm), &mp) < 0 || kluis_pointer_parse(&m, (const char *)mp.ptr, mp.len) < 0 ||
	    kluis_vread_blob(g, git_tree_entry_id(pb), &bp) < 0 || kluis_pointer_parse(&b, (const char *)bp.ptr, bp.len) < 0) {
		early = "the erased pointers are unreadable";
		goto cleanup;
	}
	git_oid_tostr(mh, sizeof(mh), &m.oid);
	git_oid_tostr(bh, sizeof(bh), &b.oid);
	e->other_objects = strcmp(mh, meta_hex) || strcmp(bh, body_hex);
	e->still_in_content = kluis_vin_content(g, &m.oid) || kluis_vin_content(g, &b.oid);
	kluis_vgather_pointer(g, git_tree_entry_id(reason), entry_id, "reason", &e->reason);
cleanup:
	kluis_buf_dispose(&text);
	kluis_buf_dispose(&mp);
	kluis_buf_dispose(&bp);
	git_tree_free(was);
	git_tree_free(now);
	return early && !(e->early = strdup(early)) ? -1 : 0;
}

static void judge_erase(vctx *v, const git_oid *commit, const char *entry_id, const kluis_verase *e,
			const char *const *readers, size_t nreaders)
{
	char what[96];

	v->rep->erased++;
	if (e->early) {
		kluis_vfinding(v, commit, "erase of %s: %s", entry_id, e->early);
		return;
	}
	if (e->other_objects)
		kluis_vfinding(v, commit, "erase of %s: the record names other objects than the entry had", entry_id);
	if (e->still_in_content)
		kluis_vfinding(v, commit, "erase of %s: the ciphertext is still in refs/kluis/content", entry_id);
	snprintf(what, sizeof(what), "erase of %s: reason", entry_id);
	kluis_vjudge_pointer(v, commit, what, &e->reason, readers, nreaders);
}

static void vdiff_dispose(kluis_vdiff *d)
{
	size_t i;

	for (i = 0; i < d->nadded; i++)
		free(d->added[i]);
	for (i = 0; i < d->nmodified; i++)
		free(d->modified[i]);
	free(d->added);
	free(d->added_oid);
	free(d->modified);
	free(d->modified_oid);
	free(d->modified_old);
}

static int diff_modified(kluis_vdiff *d, const char *name, const git_oid *old, const git_oid *now)
{
	char **a = realloc(d->modified, (d->nmodified + 1) * sizeof(*a));
	git_oid *o, *p;

	if (!a)
		return -1;
	d->modified = a;
	if (!(o = realloc(d->modified_oid, (d->nmodified + 1) * sizeof(*o))))
		return -1;
	d->modified_oid = o;
	if (!(p = realloc(d->modified_old, (d->nmodified + 1) * sizeof(*p))))
		return -1;
	d->modified_old = p;
	if (!(d->modified[d->nmodified] = strdup(name)))
		return -1;
	git_oid_cpy(&o[d->nmodified], now);
	git_oid_cpy(&p[d->nmodified], old);
	d->nmodified++;
	return 0;
}

static int diff_add(kluis_vdiff *d, const char *name, const git_oid *oid)
{
	char **a = realloc(d->added, (d->nadded + 1) * sizeof(*a));
	git_oid *o;

	if (!a)
		return -1;
	d->added = a;
	o = realloc(d->added_oid, (d->nadded + 1) * sizeof(*o));
	if (!o)
		return -1;
	d->added_oid = o;
	if (!(d->added[d->nadded] = strdup(name)))
		return -1;
	git_oid_cpy(&d->added_oid[d->nadded], oid);
	d->nadded++;
	return 0;
}

/* Whether t's entry names are strictly ascending (strcmp). Git writes the trees kluis makes
 * so (all their entries are trees, and names are unique); a forged tree need not be. */
static bool names_ascending(const git_tree *t)
{
	size_t i, n = t ? git_tree_entrycount(t) : 0;

	for (i = 1; i < n; i++)
		if (strcmp(git_tree_entry_name(git_tree_entry_byindex(t, i - 1)), git_tree_entry_name(git_tree_entry_byindex(t, i))) >= 0)
			return false;
	return true;
}

/* A pair of same-named entries of an old and a new tree; either is NULL when the name is in
 * one tree only. */
typedef int (*pair_fn)(vctx *v, kluis_vdiff *d, const git_tree_entry *old, const git_tree_entry *now);

/*
 * Call fn for every name of `a` and `b` (either tree may be NULL): first each entry of b in
 * b's order, with a's entry of that name, then each entry only in a, in a's order. Two
 * ascending trees are merged in one pass; others are matched by name lookups, the same pairs
 * in the same order. Goes on after an error (a shard tree missing: the others are still
 * compared) and returns -1 at the end.
 */
static int each_pair(vctx *v, kluis_vdiff *d, git_tree *a, git_tree *b, pair_fn fn)
{
	size_t na = a ? git_tree_entrycount(a) : 0, nb = b ? git_tree_entrycount(b) : 0, i = 0, j, k, nonly = 0, *only_a;
	const git_tree_entry *ea, *eb;
	int c, err = 0;

	if (!names_ascending(a) || !names_ascending(b)) {
		for (j = 0; j < nb; j++) {
			eb = git_tree_entry_byindex(b, j);
			if (fn(v, d, a ? git_tree_entry_byname(a, git_tree_entry_name(eb)) : NULL, eb) < 0)
				err = -1;
		}
		for (i = 0; i < na; i++) {
			ea = git_tree_entry_byindex(a, i);
			if ((!b || !git_tree_entry_byname(b, git_tree_entry_name(ea))) && fn(v, d, ea, NULL) < 0)
				err = -1;
		}
		return err;
	}
	if (!(only_a = malloc((na ? na : 1) * sizeof(*only_a))))
		return -1;
	for (j = 0; j < nb; j++) {
		eb = git_tree_entry_byindex(b, j);
		ea = NULL;
		while (i < na && (c = strcmp(git_tree_entry_name(git_tree_entry_byindex(a, i)), git_tree_entry_name(eb))) <= 0) {
			if (c == 0) {
				ea = git_tree_entry_byindex(a, i++);
				break;
			}
			only_a[nonly++] = i++;
		}
		if (fn(v, d, ea, eb) < 0)
			err = -1;
	}
	while (i < na)
		only_a[nonly++] = i++;
	for (k = 0; k < nonly; k++)
		if (fn(v, d, git_tree_entry_byindex(a, only_a[k]), NULL) < 0)
			err = -1;
	free(only_a);
	return err;
}

/* An entry directory of a shard: added, changed, or removed. */
static int shard_pair(vctx *v, kluis_vdiff *d, const git_tree_entry *old, const git_tree_entry *now)
{
	(void)v;
	if (!now) {
		if (!d->nremoved++)
			snprintf(d->first_removed, sizeof(d->first_removed), "%s", git_tree_entry_name(old));
		return 0;
	}
	if (!old)
		return diff_add(d, git_tree_entry_name(now), git_tree_entry_id(now));
	if (!git_oid_equal(git_tree_entry_id(old), git_tree_entry_id(now)))
		return diff_modified(d, git_tree_entry_name(now), git_tree_entry_id(old), git_tree_entry_id(now));
	return 0;
}

/* Compare two shard trees (either may be NULL). */
static int diff_shard(vctx *v, const git_oid *old_id, const git_oid *new_id, kluis_vdiff *d)
{
	git_tree *a = NULL, *b = NULL;
	int err = 0;

	if ((old_id && git_tree_lookup(&a, v->repo, old_id) < 0) || (new_id && git_tree_lookup(&b, v->repo, new_id) < 0))
		err = -1;
	else
		err = each_pair(v, d, a, b, shard_pair);
	git_tree_free(a);
	git_tree_free(b);
	return err;
}

/* A shard of the entries tree: compared when it changed, appeared or went. */
static int entries_pair(vctx *v, kluis_vdiff *d, const git_tree_entry *old, const git_tree_entry *now)
{
	if (old && now && git_oid_equal(git_tree_entry_id(old), git_tree_entry_id(now)))
		return 0;
	return diff_shard(v, old ? git_tree_entry_id(old) : NULL, now ? git_tree_entry_id(now) : NULL, d);
}

static const git_oid *subtree_id(git_tree *t, const char *name)
{
	const git_tree_entry *te = t ? git_tree_entry_byname(t, name) : NULL;

	return te && git_tree_entry_type(te) == GIT_OBJECT_TREE ? git_tree_entry_id(te) : NULL;
}

/*
 * The entries added, changed and removed between two root trees. The child's entries tree is
 * kept in the vctx, so that the next commit (whose parent it is) does not read it again.
 */
static int diff_entries(vctx *v, git_tree *old_root, git_tree *new_root, kluis_vdiff *d)
{
	const git_oid *ea = subtree_id(old_root, "entries"), *eb = subtree_id(new_root, "entries");
	git_tree *a = NULL, *b = NULL;
	bool a_kept = false;
	int err = 0;

	if ((ea && eb && git_oid_equal(ea, eb)) || (!ea && !eb))
		return 0;
	if (ea && v->prev_entries && git_oid_equal(ea, &v->prev_entries_id)) {
		a = v->prev_entries;
		a_kept = true;
	}
	if ((ea && !a && git_tree_lookup(&a, v->repo, ea) < 0) || (eb && git_tree_lookup(&b, v->repo, eb) < 0)) {
		err = -1;
		goto cleanup;
	}
	err = each_pair(v, d, a, b, entries_pair);
cleanup:
	if (!a_kept)
		git_tree_free(a);
	if (b) {
		git_tree_free(v->prev_entries); /* a, if it was the kept one: done with it */
		v->prev_entries = b;
		git_oid_cpy(&v->prev_entries_id, eb);
	}
	return err;
}

static bool same_entry(git_tree *a, git_tree *b, const char *name)
{
	const git_tree_entry *x = a ? git_tree_entry_byname(a, name) : NULL, *y = b ? git_tree_entry_byname(b, name) : NULL;

	if (!x || !y)
		return !x && !y;
	return git_oid_equal(git_tree_entry_id(x), git_tree_entry_id(y));
}

static bool action_adds_entries(kluis_action a)
{
	return a == KLUIS_ACT_ADD || a == KLUIS_ACT_STATEMENT || a == KLUIS_ACT_CORRECT || a == KLUIS_ACT_CONSENT;
}

/* ---- one commit: gather ---- */

static int list_push(char ***list, size_t *n, const char *s)
{
	char **g = realloc(*list, (*n + 1) * sizeof(*g));

	if (!g)
		return -1;
	*list = g;
	if (!(g[*n] = strdup(s)))
		return -1;
	(*n)++;
	return 0;
}

static int parse_trailers(git_commit *c, kluis_vfacts *f)
{
	git_message_trailer_array tr = { 0 };
	size_t i;
	int err = 0;

	if (git_message_trailers(&tr, git_commit_message(c)) != 0)
		return 0;
	for (i = 0; i < tr.count; i++) {
		const char *k = tr.trailers[i].key, *val = tr.trailers[i].value;
		if (strcmp(k, "Kluis-Action") == 0)
			snprintf(f->action_name, sizeof(f->action_name), "%s", val);
		else if (strcmp(k, "Kluis-Role") == 0)
			snprintf(f->role_name, sizeof(f->role_name), "%s", val);
		else if (strcmp(k, "Kluis-Seq") == 0)
			snprintf(f->seqs, sizeof(f->seqs), "%s", val);
		else if (strcmp(k, "Kluis-Entry") == 0)
			err |= list_push(&f->named, &f->nnamed, val);
		else if (strcmp(k, "Kluis-Restricted") == 0)
			kluis_vlist_add(&f->restricted, &f->nrestricted, val);
		else if (strcmp(k, "Kluis-Special") == 0)
			snprintf(f->special, sizeof(f->special), "%s", val);
		else if (strcmp(k, "Kluis-Consent-Ref") == 0)
			snprintf(f->consent_ref, sizeof(f->consent_ref), "%s", val);
		else if (strcmp(k, "Kluis-Consent-Opdrachtgever") == 0)
			f->consent_opdr = strcmp(val, "yes") == 0;
		else if (strcmp(k, "Kluis-Supersedes") == 0)
			snprintf(f->supersedes, sizeof(f->supersedes), "%s", val);
	}
	git_message_trailer_array_free(&tr);
	return err;
}

/* Whether entry `id`'s directory is in `tree`. */
static bool has_entry(git_tree *tree, const char *id)
{
	git_tree_entry *te = NULL;
	char dir[64];
	bool found;

	if (!tree || !kluis_entry_id_valid(id))
		return false;
	kluis_entry_dir(id, dir);
	found = git_tree_entry_bypath(&te, tree, dir) == 0;
	git_tree_entry_free(te);
	return found;
}

/*
 * Read what the rules of one commit need, through g only (its repository, keyring, head tree
 * and caches), recording rather than reporting: this runs on a worker thread. Returns -1 when
 * memory ran out (f is then incomplete and must not be judged).
 */
int kluis_vgather_commit(vctx *g, const git_oid *oid, const git_oid *parent_oid, kluis_vfacts *f)
{
	git_commit *c = NULL, *parent = NULL;
	git_tree *tree = NULL, *ptree = NULL;
	const git_signature *committer;
	const git_tree_entry *te;
	kluis_action action = KLUIS_ACT__COUNT;
	size_t i;
	int err = 0, rc = 0;

	memset(f, 0, sizeof(*f));
	git_oid_cpy(&f->oid, oid);
	f->has_parent = parent_oid != NULL;
	if (git_commit_lookup(&c, g->repo, oid) < 0) {
		f->missing = true;
		goto cleanup;
	}
	if (parent_oid && g->last_commit && git_oid_equal(git_commit_id(g->last_commit), parent_oid)) {
		parent = g->last_commit;
		g->last_commit = NULL;
	} else if (parent_oid && git_commit_lookup(&parent, g->repo, parent_oid) < 0) {
		parent = NULL;
	}
	if ((rc = git_commit_tree(&tree, c)) < 0 || (parent_oid && (!parent || (rc = git_commit_tree(&ptree, parent)) < 0))) {
		const git_error *e = git_error_last();

		f->tree_missing = true;
		/* absent, or there and damaged (say, truncated) */
		if (rc < 0 && rc != GIT_ENOTFOUND && e && e->message && !(f->tree_err = strdup(e->message)))
			err = -1;
		goto cleanup;
	}
	if (parse_trailers(c, f) < 0)
		err = -1;
	kluis_action_parse(f->action_name, &action);

	f->sig_ok = kluis_vsignature(g, oid, f->signer, &f->sigtime, &f->sig_msg);
	if (!f->sig_ok && !f->sig_msg)
		err = -1;
	committer = git_commit_committer(c);
	if (committer && committer->email && !(f->committer_email = strdup(committer->email)))
		err = -1;
	f->time = (int64_t)git_commit_time(c);
	f->parent_time = parent ? (int64_t)git_commit_time(parent) : 0;

	f->roles_same = same_entry(ptree, tree, "roles");
	f->dossier_same = same_entry(ptree, tree, "dossier");
	f->info_same = same_entry(ptree, tree, "info");
	if ((!f->roles_same || !parent_oid) && kluis_vread_roles(g, tree, &f->roles_text) < 0 &&
	    !(f->roles_err = strdup(kluis_error_last())))
		err = -1;
	for (i = 0; i < git_tree_entrycount(tree); i++) {
		const char *name = git_tree_entry_name(git_tree_entry_byindex(tree, i));
		if (strcmp(name, "dossier") && strcmp(name, "roles") && strcmp(name, "info") && strcmp(name, "entries") &&
		    list_push(&f->unexpected, &f->nunexpected, name) < 0)
			err = -1;
	}
	if (!parent_oid) {
		kluis_buf text = KLUIS_BUF_INIT;
		kluis_dossier_file df;
		te = git_tree_entry_byname(tree, "dossier");
		if (te && kluis_vread_blob(g, git_tree_entry_id(te), &text) == 0 &&
		    kluis_dossier_file_parse(&df, (const char *)text.ptr, text.len) == 0 && !(f->dossier_id = strdup(df.id)))
			err = -1;
		kluis_buf_dispose(&text);
	}
	f->diff_failed = diff_entries(g, ptree, tree, &f->diff) < 0;
	if (action == KLUIS_ACT_APPROVE || action == KLUIS_ACT_ERASE)
		f->named_exists = f->nnamed == 1 && has_entry(ptree, f->named[0]);
	if (f->supersedes[0])
		f->supersedes_exists = has_entry(ptree, f->supersedes);

	/* the objects of the new ciphertext: every entry it adds (a rewrap: replaces), an erase's
	 * record, the dossier info when it changes */
	if (f->diff.nadded && !(f->added = calloc(f->diff.nadded, sizeof(*f->added)))) {
		err = -1;
		goto cleanup;
	}
	for (i = 0; i < f->diff.nadded; i++)
		if (gather_entry(g, f->diff.added[i], &f->diff.added_oid[i], &f->added[i]) < 0)
			err = -1;
	if (action == KLUIS_ACT_REWRAP && f->diff.nmodified) {
		if (!(f->modified = calloc(f->diff.nmodified, sizeof(*f->modified)))) {
			err = -1;
			goto cleanup;
		}
		for (i = 0; i < f->diff.nmodified; i++)
			if (gather_entry(g, f->diff.modified[i], &f->diff.modified_oid[i], &f->modified[i]) < 0)
				err = -1;
	}
	if (action == KLUIS_ACT_ERASE && f->diff.nmodified == 1) {
		f->erase_checked = true;
		if (gather_erase(g, f->diff.modified[0], &f->diff.modified_old[0], &f->diff.modified_oid[0], &f->erase) < 0)
			err = -1;
	}
	if (!parent_oid || !f->info_same) {
		te = git_tree_entry_byname(tree, "info");
		f->info_present = te != NULL;
		if (te && action != KLUIS_ACT_REWRAP) {
			f->info_checked = true;
			kluis_vgather_pointer(g, git_tree_entry_id(te), NULL, "info", &f->info);
		}
	}
cleanup:
	git_tree_free(tree);
	git_tree_free(ptree);
	git_commit_free(parent);
	git_commit_free(g->last_commit);
	g->last_commit = c;  /* the next commit's parent, normally */
	return err;
}

void kluis_vfacts_dispose(kluis_vfacts *f)
{
	size_t i;

	kluis_strings_free(f->named, f->nnamed);
	kluis_strings_free(f->restricted, f->nrestricted);
	kluis_strings_free(f->unexpected, f->nunexpected);
	free(f->sig_msg);
	free(f->tree_err);
	free(f->committer_email);
	kluis_buf_dispose(&f->roles_text);
	free(f->roles_err);
	free(f->dossier_id);
	for (i = 0; f->added && i < f->diff.nadded; i++)
		ventry_dispose(&f->added[i]);
	for (i = 0; f->modified && i < f->diff.nmodified; i++)
		ventry_dispose(&f->modified[i]);
	free(f->added);
	free(f->modified);
	free(f->erase.early);
	kluis_vptr_dispose(&f->erase.reason);
	kluis_vptr_dispose(&f->info);
	vdiff_dispose(&f->diff);
	memset(f, 0, sizeof(*f));
}

/* ---- one commit: judge ---- */

/* The roles file a commit gathered, parsed (the messages of kluis_vload_roles). */
static int parse_roles(const kluis_vfacts *f, kluis_roles *out)
{
	if (f->roles_err)
		return kluis_error_set(KLUIS_EVERIFY, "%s", f->roles_err);
	return kluis_roles_parse(out, (const char *)f->roles_text.ptr, f->roles_text.len);
}

void kluis_vjudge_commit(vctx *v, kluis_vfacts *f, unsigned long long *seq)
{
	const git_oid *oid = &f->oid;
	const char *signer = f->signer, *action_name = f->action_name;
	const char **readers = NULL, **limited = NULL;
	size_t i, j, nreaders = 0, nlimited = 0;
	kluis_roles new_roles = { NULL, 0 };
	kluis_action action = KLUIS_ACT__COUNT;
	kluis_vdiff *diff = &f->diff;
	unsigned held;
	int64_t now = kluis_now();
	bool parent = f->has_parent, sig_ok = f->sig_ok, have_new_roles = false;

	v->rep->commits++;
	if (f->tree_missing) {
		if (f->tree_err)
			kluis_vfinding(v, oid, "tree object unreadable: %s", f->tree_err);
		else
			kluis_vfinding(v, oid, "tree object missing");
		goto cleanup;
	}
	if (kluis_action_parse(action_name, &action) < 0)
		kluis_vfinding(v, oid, "no valid Kluis-Action trailer ('%s')", action_name);

	/* signature and signer */
	if (!sig_ok)
		kluis_vfinding(v, oid, "%s", f->sig_msg);
	if (sig_ok && f->committer_email && strcmp(f->committer_email, signer) != 0)
		kluis_vfinding(v, oid, "committer names key %s but %s signed", f->committer_email, signer);

	/* order and time */
	if (f->seqs[0] && strtoull(f->seqs, NULL, 10) != *seq + 1)
		kluis_vfinding(v, oid, "sequence number %s where %llu was due (history rewritten?)", f->seqs, *seq + 1);
	*seq = f->seqs[0] ? strtoull(f->seqs, NULL, 10) : *seq + 1;
	if (parent && f->time < f->parent_time)
		kluis_vfinding(v, oid, "dated before its parent");
	if (f->time > now + FUTURE_SLACK)
		kluis_vfinding(v, oid, "dated in the future");

	/* roles: at the parent decide; the first commit's own roles start the chain */
	if (!parent) {
		if (parse_roles(f, &v->roles) < 0) {
			kluis_vfinding(v, oid, "first commit: %s", kluis_error_last());
			goto cleanup;
		}
	}
	if (!f->roles_same || !parent) {
		if (parse_roles(f, &new_roles) < 0) {
			kluis_vfinding(v, oid, "roles file: %s", kluis_error_last());
		} else {
			have_new_roles = true;
			/* what kluis refuses to write (no klant or directie left, the klant as their
			 * own vertegenwoordiger) is refused here too, whoever signed it */
			if (kluis_roles_validate(&new_roles) < 0)
				kluis_vfinding(v, oid, "roles file: %s", kluis_error_last());
		}
	}

	/* authority (invariant 4) */
	if (sig_ok && action < KLUIS_ACT__COUNT) {
		if (!parent) {
			if (action != KLUIS_ACT_INIT)
				kluis_vfinding(v, oid, "the first commit must be an init, not %s", action_name);
			if (!v->opts->ntrust)
				kluis_vfinding(v, oid, "no trust root to check the first commit against (give --trust FPR)");
			else if (!trusted(v, signer)) {
				bool anchored = false;
				for (i = 0; i < v->opts->ntrust; i++)
					anchored |= (kluis_roles_of(&v->roles, v->opts->trust[i]) & KLUIS_ROLE_DIRECTIE) != 0;
				if (!anchored || kluis_roles_authorize(&v->roles, signer, KLUIS_ACT_INIT, NULL) < 0)
					kluis_vfinding(v, oid, "first commit not signed by the trust root (signer %s)", signer);
			}
		} else if (action == KLUIS_ACT_INIT) {
			kluis_vfinding(v, oid, "init in the middle of the history");
		}
		if (kluis_roles_authorize(&v->roles, signer, action, NULL) < 0)
			kluis_vfinding(v, oid, "%s", kluis_error_last());
		held = kluis_roles_of(&v->roles, signer);
		if (f->role_name[0]) {
			unsigned claimed;
			if (kluis_role_parse(f->role_name, &claimed) < 0 || !(held & claimed))
				kluis_vfinding(v, oid, "Kluis-Role says %s, a role the signer does not hold", f->role_name);
		}
	}

	/* the change fits the action (invariant 3) */
	if (parent && !f->roles_same && action != KLUIS_ACT_ROLES)
		kluis_vfinding(v, oid, "changes the roles file in a %s commit", action_name);
	if (parent && !f->dossier_same && action != KLUIS_ACT_CLOSE && action != KLUIS_ACT_TRANSFER)
		kluis_vfinding(v, oid, "changes the dossier file in a %s commit", action_name);
	if (parent && !f->info_same && action != KLUIS_ACT_REWRAP)
		kluis_vfinding(v, oid, "changes the dossier info in a %s commit", action_name);
	for (i = 0; i < f->nunexpected; i++)
		kluis_vfinding(v, oid, "unexpected file '%s' in the dossier tree", f->unexpected[i]);
	if (!parent) {
		if (!f->dossier_id)
			kluis_vfinding(v, oid, "first commit has no valid dossier file");
		else if (strcmp(f->dossier_id, v->id) != 0)
			kluis_vfinding(v, oid, "this history belongs to dossier '%s', not '%s'", f->dossier_id, v->id);
	}
	if (f->diff_failed)
		kluis_vfinding(v, oid, "cannot compare the entries with the parent (objects missing)");
	if (diff->nremoved)
		kluis_vfinding(v, oid, "removes entry %s%s", diff->first_removed, diff->nremoved > 1 ? " and others" : "");
	if (diff->nmodified && action != KLUIS_ACT_REWRAP && action != KLUIS_ACT_ERASE)
		kluis_vfinding(v, oid, "changes existing entry %s in a %s commit", diff->modified[0], action_name);
	if (action == KLUIS_ACT_ERASE && diff->nmodified != 1)
		kluis_vfinding(v, oid, "an erase must change exactly one entry, this one changes %zu", diff->nmodified);
	if (action == KLUIS_ACT_APPROVE || action == KLUIS_ACT_ERASE) {
		/* they name an entry that existed before them */
		if (f->nnamed != 1 || !kluis_entry_id_valid(f->named[0]))
			kluis_vfinding(v, oid, "a %s names exactly one entry", action_name);
		else if (!f->named_exists)
			kluis_vfinding(v, oid, "%s of entry %s, which does not exist", action_name, f->named[0]);
	}
	if (f->supersedes[0] && (!kluis_entry_id_valid(f->supersedes) || !f->supersedes_exists))
		kluis_vfinding(v, oid, "corrects entry %s, which does not exist", f->supersedes);
	if (action == KLUIS_ACT_CONSENT)
		for (i = 0; i < diff->nadded; i++) {
			char **g = realloc(v->consent_ids, (v->nconsents + 1) * sizeof(*g));
			bool *b = g ? realloc(v->consent_opdr, (v->nconsents + 1) * sizeof(*b)) : NULL;
			if (g)
				v->consent_ids = g;
			if (b) {
				v->consent_opdr = b;
				if ((g[v->nconsents] = strdup(diff->added[i])) != NULL)
					b[v->nconsents++] = f->consent_opdr;
			}
		}
	/* a special-category entry (P8) reaches the opdrachtgever exactly when its consent says so */
	if (f->special[0]) {
		bool withheld = kluis_vlist_has(f->restricted, f->nrestricted, f->special), known = false, allowed = false;
		for (i = 0; i < v->nconsents; i++)
			if (strcmp(v->consent_ids[i], f->consent_ref) == 0) {
				known = true;
				allowed = v->consent_opdr[i];
			}
		if (!f->consent_ref[0])
			kluis_vfinding(v, oid, "special-category entry %s names no consent", f->special);
		else if (known && allowed == withheld)
			kluis_vfinding(v, oid, "special-category entry %s is %s the opdrachtgever, against consent %s", f->special,
				withheld ? "withheld from" : "encrypted to", f->consent_ref);
	}
	for (i = 0; i < f->nrestricted; i++)
		kluis_vlist_add(&v->restricted, &v->nrestricted, f->restricted[i]);
	if (diff->nadded && !action_adds_entries(action))
		kluis_vfinding(v, oid, "adds entries in a %s commit", action_name);
	for (i = 0; i < diff->nadded; i++) {
		bool listed = false;
		for (j = 0; j < f->nnamed; j++)
			listed |= strcmp(f->named[j], diff->added[i]) == 0;
		if (!listed)
			kluis_vfinding(v, oid, "adds entry %s that its message does not name", diff->added[i]);
	}
	if (f->nnamed != diff->nadded && action_adds_entries(action))
		kluis_vfinding(v, oid, "its message names %zu entries, it adds %zu", f->nnamed, diff->nadded);

	/* new ciphertext is encrypted to exactly the readers at that moment (invariant 1) */
	if (kluis_roles_keys(parent ? &v->roles : &new_roles, KLUIS_ROLES_READING, &readers, &nreaders) == 0 &&
	    kluis_roles_keys(parent ? &v->roles : &new_roles, KLUIS_ROLES_READING & ~KLUIS_ROLE_OPDRACHTGEVER, &limited, &nlimited) == 0) {
		for (i = 0; i < diff->nadded; i++) {
			bool r = kluis_vlist_has(v->restricted, v->nrestricted, diff->added[i]);
			judge_entry(v, oid, diff->added[i], &f->added[i], r ? limited : readers, r ? nlimited : nreaders);
		}
		if (action == KLUIS_ACT_REWRAP)
			for (i = 0; i < diff->nmodified; i++) {
				bool r = kluis_vlist_has(v->restricted, v->nrestricted, diff->modified[i]);
				v->rep->entries--; /* not a new entry */
				judge_entry(v, oid, diff->modified[i], &f->modified[i], r ? limited : readers, r ? nlimited : nreaders);
			}
		if (f->erase_checked)
			judge_erase(v, oid, diff->modified[0], &f->erase, readers, nreaders);
		if (!parent || !f->info_same) {
			if (!f->info_present)
				kluis_vfinding(v, oid, "no dossier info pointer");
			else if (f->info_checked)
				kluis_vjudge_pointer(v, oid, "dossier info", &f->info, readers, nreaders);
		}
	}

	if (have_new_roles) {
		kluis_roles_dispose(&v->roles);
		v->roles = new_roles;
		new_roles.v = NULL;
		new_roles.n = 0;
	}
cleanup:
	free(readers);
	free(limited);
	kluis_roles_dispose(&new_roles);
}
