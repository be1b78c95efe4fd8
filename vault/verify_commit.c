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
 */
#include "verify_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUTURE_SLACK (24 * 3600)

static bool trusted(vctx *v, const char *fpr)
{
	size_t i;

	for (i = 0; i < v->opts->ntrust; i++)
		if (strcmp(v->opts->trust[i], fpr) == 0)
			return true;
	return false;
}

/* Check an entry directory added by a commit: exactly meta and body pointers. */
static void check_entry(vctx *v, const git_oid *commit, const char *entry_id, const git_oid *dir_oid,
			const char *const *readers, size_t nreaders)
{
	git_tree *dir = NULL;
	const git_tree_entry *meta, *body;
	char what[96];
	int rc;

	v->rep->entries++;
	if (!kluis_entry_id_valid(entry_id)) {
		kluis_vfinding(v, commit, "'%s' is not an entry id", entry_id);
		return;
	}
	if ((rc = git_tree_lookup(&dir, v->repo, dir_oid)) < 0) {
		char hex[GIT_OID_HEXSZ + 1];
		git_oid_tostr(hex, sizeof(hex), dir_oid);
		if (rc == GIT_ENOTFOUND)
			kluis_vfinding(v, commit, "entry %s: its tree object %s is missing", entry_id, hex);
		else
			kluis_vfinding(v, commit, "entry %s: not a directory of pointers", entry_id);
		return;
	}
	meta = git_tree_entry_byname(dir, "meta");
	body = git_tree_entry_byname(dir, "body");
	if (!meta || !body || git_tree_entrycount(dir) != 2) {
		kluis_vfinding(v, commit, "entry %s: must hold exactly the pointers meta and body", entry_id);
	} else {
		snprintf(what, sizeof(what), "entry %s meta", entry_id);
		kluis_vcheck_pointer(v, commit, what, git_tree_entry_id(meta), readers, nreaders, entry_id, "meta");
		snprintf(what, sizeof(what), "entry %s body", entry_id);
		kluis_vcheck_pointer(v, commit, what, git_tree_entry_id(body), readers, nreaders, entry_id, "body");
	}
	git_tree_free(dir);
}

/*
 * An erase replaces an entry's pointers with a signed record naming the removed objects
 * (which must match the pointers it replaces) and an encrypted reason, and takes the
 * ciphertext out of refs/kluis/content.
 */
static void check_erase(vctx *v, const git_oid *commit, const char *entry_id, const git_oid *old_dir, const git_oid *new_dir,
			const char *const *readers, size_t nreaders)
{
	git_tree *was = NULL, *now = NULL;
	const git_tree_entry *rec, *reason, *pm, *pb;
	kluis_buf text = KLUIS_BUF_INIT, mp = KLUIS_BUF_INIT, bp = KLUIS_BUF_INIT;
	kluis_pointer m, b;
	char meta_hex[64], body_hex[64], id[64], basis[32], mh[GIT_OID_HEXSZ + 1], bh[GIT_OID_HEXSZ + 1], what[96];

	v->rep->erased++;
	if (git_tree_lookup(&was, v->repo, old_dir) < 0 || git_tree_lookup(&now, v->repo, new_dir) < 0) {
		kluis_vfinding(v, commit, "erase of %s: tree objects missing", entry_id);
		goto cleanup;
	}
	rec = git_tree_entry_byname(now, "erased");
	reason = git_tree_entry_byname(now, "reason");
	pm = git_tree_entry_byname(was, "meta");
	pb = git_tree_entry_byname(was, "body");
	if (!rec || !reason || git_tree_entrycount(now) != 2 || !pm || !pb) {
		kluis_vfinding(v, commit, "erase of %s: the entry must become exactly an erased record and a reason", entry_id);
		goto cleanup;
	}
	if (kluis_vread_blob(v, git_tree_entry_id(rec), &text) < 0 ||
	    sscanf((const char *)text.ptr, "kluis-erased 1\nentry %63s\nmeta %63s\nbody %63s\nbasis %31s\n", id, meta_hex, body_hex, basis) != 4 ||
	    strcmp(id, entry_id) != 0) {
		kluis_vfinding(v, commit, "erase of %s: malformed erase record", entry_id);
		goto cleanup;
	}
	if (kluis_vread_blob(v, git_tree_entry_id(pm), &mp) < 0 || kluis_pointer_parse(&m, (const char *)mp.ptr, mp.len) < 0 ||
	    kluis_vread_blob(v, git_tree_entry_id(pb), &bp) < 0 || kluis_pointer_parse(&b, (const char *)bp.ptr, bp.len) < 0) {
		kluis_vfinding(v, commit, "erase of %s: the erased pointers are unreadable", entry_id);
		goto cleanup;
	}
	git_oid_tostr(mh, sizeof(mh), &m.oid);
	git_oid_tostr(bh, sizeof(bh), &b.oid);
	if (strcmp(mh, meta_hex) || strcmp(bh, body_hex))
		kluis_vfinding(v, commit, "erase of %s: the record names other objects than the entry had", entry_id);
	if (kluis_vin_content(v, &m.oid) || kluis_vin_content(v, &b.oid))
		kluis_vfinding(v, commit, "erase of %s: the ciphertext is still in refs/kluis/content", entry_id);
	snprintf(what, sizeof(what), "erase of %s: reason", entry_id);
	kluis_vcheck_pointer(v, commit, what, git_tree_entry_id(reason), readers, nreaders, entry_id, "reason");
cleanup:
	kluis_buf_dispose(&text);
	kluis_buf_dispose(&mp);
	kluis_buf_dispose(&bp);
	git_tree_free(was);
	git_tree_free(now);
}

typedef struct {
	char **added;
	git_oid *added_oid;
	size_t nadded;
	char **modified;
	git_oid *modified_oid;
	git_oid *modified_old;
	size_t nmodified;
	size_t nremoved;
	char first_removed[32];
} entry_diff;

static void entry_diff_dispose(entry_diff *d)
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

static int diff_modified(entry_diff *d, const char *name, const git_oid *old, const git_oid *now)
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

static int diff_add(entry_diff *d, const char *name, const git_oid *oid)
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

/* Compare two shard trees (either may be NULL). */
static int diff_shard(vctx *v, const git_oid *old_id, const git_oid *new_id, entry_diff *d)
{
	git_tree *a = NULL, *b = NULL;
	size_t i;
	int err = 0;

	if ((old_id && git_tree_lookup(&a, v->repo, old_id) < 0) || (new_id && git_tree_lookup(&b, v->repo, new_id) < 0)) {
		err = -1;
		goto cleanup;
	}
	for (i = 0; b && i < git_tree_entrycount(b); i++) {
		const git_tree_entry *nb = git_tree_entry_byindex(b, i), *na = a ? git_tree_entry_byname(a, git_tree_entry_name(nb)) : NULL;
		if (!na) {
			if (diff_add(d, git_tree_entry_name(nb), git_tree_entry_id(nb)) < 0)
				err = -1;
		} else if (!git_oid_equal(git_tree_entry_id(na), git_tree_entry_id(nb))) {
			if (diff_modified(d, git_tree_entry_name(nb), git_tree_entry_id(na), git_tree_entry_id(nb)) < 0)
				err = -1;
		}
	}
	for (i = 0; a && i < git_tree_entrycount(a); i++) {
		const git_tree_entry *na = git_tree_entry_byindex(a, i);
		if (!b || !git_tree_entry_byname(b, git_tree_entry_name(na)))
			if (!d->nremoved++)
				snprintf(d->first_removed, sizeof(d->first_removed), "%s", git_tree_entry_name(na));
	}
cleanup:
	git_tree_free(a);
	git_tree_free(b);
	return err;
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
static int diff_entries(vctx *v, git_tree *old_root, git_tree *new_root, entry_diff *d)
{
	const git_oid *ea = subtree_id(old_root, "entries"), *eb = subtree_id(new_root, "entries");
	git_tree *a = NULL, *b = NULL;
	bool a_kept = false;
	size_t i;
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
	for (i = 0; b && i < git_tree_entrycount(b); i++) {
		const git_tree_entry *sb = git_tree_entry_byindex(b, i), *sa = a ? git_tree_entry_byname(a, git_tree_entry_name(sb)) : NULL;
		if (sa && git_oid_equal(git_tree_entry_id(sa), git_tree_entry_id(sb)))
			continue;
		if (diff_shard(v, sa ? git_tree_entry_id(sa) : NULL, git_tree_entry_id(sb), d) < 0)
			err = -1;
	}
	for (i = 0; a && i < git_tree_entrycount(a); i++) {
		const git_tree_entry *sa = git_tree_entry_byindex(a, i);
		if (!b || !git_tree_entry_byname(b, git_tree_entry_name(sa)))
			if (diff_shard(v, git_tree_entry_id(sa), NULL, d) < 0)
				err = -1;
	}
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

/* ---- one commit ---- */

void kluis_vcheck_commit(vctx *v, git_commit *c, git_commit *parent, unsigned long long *seq)
{
	const git_oid *oid = git_commit_id(c);
	git_tree *tree = NULL, *ptree = NULL;
	git_message_trailer_array tr = { 0 };
	char signer[41], action_name[32] = "", role_name[32] = "", seqs[32] = "";
	char **named = NULL;
	size_t nnamed = 0, i, j, nreaders = 0;
	const char **readers = NULL;
	const git_signature *committer = git_commit_committer(c);
	kluis_roles new_roles = { NULL, 0 };
	kluis_action action = KLUIS_ACT__COUNT;
	entry_diff diff;
	unsigned held;
	int64_t sigtime = 0, now = kluis_now();
	bool sig_ok, have_new_roles = false, consent_opdr = false;
	char **restricted_now = NULL, special[32] = "", consent_ref[32] = "", supersedes[32] = "";
	size_t nrestricted_now = 0;
	const char **limited = NULL;
	size_t nlimited = 0;

	memset(&diff, 0, sizeof(diff));
	v->rep->commits++;
	if (git_commit_tree(&tree, c) < 0 || (parent && git_commit_tree(&ptree, parent) < 0)) {
		kluis_vfinding(v, oid, "tree object missing");
		goto cleanup;
	}
	if (git_message_trailers(&tr, git_commit_message(c)) == 0) {
		for (i = 0; i < tr.count; i++) {
			if (strcmp(tr.trailers[i].key, "Kluis-Action") == 0)
				snprintf(action_name, sizeof(action_name), "%s", tr.trailers[i].value);
			else if (strcmp(tr.trailers[i].key, "Kluis-Role") == 0)
				snprintf(role_name, sizeof(role_name), "%s", tr.trailers[i].value);
			else if (strcmp(tr.trailers[i].key, "Kluis-Seq") == 0)
				snprintf(seqs, sizeof(seqs), "%s", tr.trailers[i].value);
			else if (strcmp(tr.trailers[i].key, "Kluis-Entry") == 0) {
				char **g = realloc(named, (nnamed + 1) * sizeof(*g));
				if (g && (g[nnamed] = strdup(tr.trailers[i].value)) != NULL) {
					named = g;
					nnamed++;
				} else if (g) {
					named = g;
				}
			} else if (strcmp(tr.trailers[i].key, "Kluis-Restricted") == 0) {
				kluis_vlist_add(&restricted_now, &nrestricted_now, tr.trailers[i].value);
			} else if (strcmp(tr.trailers[i].key, "Kluis-Special") == 0) {
				snprintf(special, sizeof(special), "%s", tr.trailers[i].value);
			} else if (strcmp(tr.trailers[i].key, "Kluis-Consent-Ref") == 0) {
				snprintf(consent_ref, sizeof(consent_ref), "%s", tr.trailers[i].value);
			} else if (strcmp(tr.trailers[i].key, "Kluis-Consent-Opdrachtgever") == 0) {
				consent_opdr = strcmp(tr.trailers[i].value, "yes") == 0;
			} else if (strcmp(tr.trailers[i].key, "Kluis-Supersedes") == 0) {
				snprintf(supersedes, sizeof(supersedes), "%s", tr.trailers[i].value);
			}
		}
	}
	if (kluis_action_parse(action_name, &action) < 0)
		kluis_vfinding(v, oid, "no valid Kluis-Action trailer ('%s')", action_name);

	/* signature and signer */
	sig_ok = kluis_vcheck_signature(v, oid, signer, &sigtime);
	if (sig_ok && committer && committer->email && strcmp(committer->email, signer) != 0)
		kluis_vfinding(v, oid, "committer names key %s but %s signed", committer->email, signer);

	/* order and time */
	if (seqs[0] && strtoull(seqs, NULL, 10) != *seq + 1)
		kluis_vfinding(v, oid, "sequence number %s where %llu was due (history rewritten?)", seqs, *seq + 1);
	*seq = seqs[0] ? strtoull(seqs, NULL, 10) : *seq + 1;
	if (parent && git_commit_time(c) < git_commit_time(parent))
		kluis_vfinding(v, oid, "dated before its parent");
	if ((int64_t)git_commit_time(c) > now + FUTURE_SLACK)
		kluis_vfinding(v, oid, "dated in the future");

	/* roles: at the parent decide; the first commit's own roles start the chain */
	if (!parent) {
		if (kluis_vload_roles(v, tree, &v->roles) < 0) {
			kluis_vfinding(v, oid, "first commit: %s", kluis_error_last());
			goto cleanup;
		}
	}
	if (!same_entry(ptree, tree, "roles") || !parent) {
		if (kluis_vload_roles(v, tree, &new_roles) < 0)
			kluis_vfinding(v, oid, "roles file: %s", kluis_error_last());
		else
			have_new_roles = true;
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
		if (role_name[0]) {
			unsigned claimed;
			if (kluis_role_parse(role_name, &claimed) < 0 || !(held & claimed))
				kluis_vfinding(v, oid, "Kluis-Role says %s, a role the signer does not hold", role_name);
		}
	}

	/* the change fits the action (invariant 3) */
	if (parent && !same_entry(ptree, tree, "roles") && action != KLUIS_ACT_ROLES)
		kluis_vfinding(v, oid, "changes the roles file in a %s commit", action_name);
	if (parent && !same_entry(ptree, tree, "dossier") && action != KLUIS_ACT_CLOSE && action != KLUIS_ACT_TRANSFER)
		kluis_vfinding(v, oid, "changes the dossier file in a %s commit", action_name);
	if (parent && !same_entry(ptree, tree, "info") && action != KLUIS_ACT_REWRAP)
		kluis_vfinding(v, oid, "changes the dossier info in a %s commit", action_name);
	for (i = 0; i < git_tree_entrycount(tree); i++) {
		const char *name = git_tree_entry_name(git_tree_entry_byindex(tree, i));
		if (strcmp(name, "dossier") && strcmp(name, "roles") && strcmp(name, "info") && strcmp(name, "entries"))
			kluis_vfinding(v, oid, "unexpected file '%s' in the dossier tree", name);
	}
	if (!parent) {
		kluis_buf text = KLUIS_BUF_INIT;
		kluis_dossier_file f;
		const git_tree_entry *te = git_tree_entry_byname(tree, "dossier");
		if (!te || kluis_vread_blob(v, git_tree_entry_id(te), &text) < 0 ||
		    kluis_dossier_file_parse(&f, (const char *)text.ptr, text.len) < 0)
			kluis_vfinding(v, oid, "first commit has no valid dossier file");
		else if (strcmp(f.id, v->id) != 0)
			kluis_vfinding(v, oid, "this history belongs to dossier '%s', not '%s'", f.id, v->id);
		kluis_buf_dispose(&text);
	}
	if (diff_entries(v, ptree, tree, &diff) < 0)
		kluis_vfinding(v, oid, "cannot compare the entries with the parent (objects missing)");
	if (diff.nremoved)
		kluis_vfinding(v, oid, "removes entry %s%s", diff.first_removed, diff.nremoved > 1 ? " and others" : "");
	if (diff.nmodified && action != KLUIS_ACT_REWRAP && action != KLUIS_ACT_ERASE)
		kluis_vfinding(v, oid, "changes existing entry %s in a %s commit", diff.modified[0], action_name);
	if (action == KLUIS_ACT_ERASE && diff.nmodified != 1)
		kluis_vfinding(v, oid, "an erase must change exactly one entry, this one changes %zu", diff.nmodified);
	if (action == KLUIS_ACT_APPROVE || action == KLUIS_ACT_ERASE) {
		/* they name an entry that existed before them */
		git_tree_entry *te = NULL;
		char dir[64];
		if (nnamed != 1 || !kluis_entry_id_valid(named[0]))
			kluis_vfinding(v, oid, "a %s names exactly one entry", action_name);
		else {
			kluis_entry_dir(named[0], dir);
			if (!ptree || git_tree_entry_bypath(&te, ptree, dir) < 0)
				kluis_vfinding(v, oid, "%s of entry %s, which does not exist", action_name, named[0]);
			git_tree_entry_free(te);
		}
	}
	if (supersedes[0]) {
		git_tree_entry *te = NULL;
		char dir[64];
		kluis_entry_dir(supersedes, dir);
		if (!kluis_entry_id_valid(supersedes) || !ptree || git_tree_entry_bypath(&te, ptree, dir) < 0)
			kluis_vfinding(v, oid, "corrects entry %s, which does not exist", supersedes);
		git_tree_entry_free(te);
	}
	if (action == KLUIS_ACT_CONSENT)
		for (i = 0; i < diff.nadded; i++) {
			char **g = realloc(v->consent_ids, (v->nconsents + 1) * sizeof(*g));
			bool *b = g ? realloc(v->consent_opdr, (v->nconsents + 1) * sizeof(*b)) : NULL;
			if (g)
				v->consent_ids = g;
			if (b) {
				v->consent_opdr = b;
				if ((g[v->nconsents] = strdup(diff.added[i])) != NULL)
					b[v->nconsents++] = consent_opdr;
			}
		}
	/* a special-category entry (P8) reaches the opdrachtgever exactly when its consent says so */
	if (special[0]) {
		bool withheld = kluis_vlist_has(restricted_now, nrestricted_now, special), known = false, allowed = false;
		for (i = 0; i < v->nconsents; i++)
			if (strcmp(v->consent_ids[i], consent_ref) == 0) {
				known = true;
				allowed = v->consent_opdr[i];
			}
		if (!consent_ref[0])
			kluis_vfinding(v, oid, "special-category entry %s names no consent", special);
		else if (known && allowed == withheld)
			kluis_vfinding(v, oid, "special-category entry %s is %s the opdrachtgever, against consent %s", special,
				withheld ? "withheld from" : "encrypted to", consent_ref);
	}
	for (i = 0; i < nrestricted_now; i++)
		kluis_vlist_add(&v->restricted, &v->nrestricted, restricted_now[i]);
	if (diff.nadded && !action_adds_entries(action))
		kluis_vfinding(v, oid, "adds entries in a %s commit", action_name);
	for (i = 0; i < diff.nadded; i++) {
		bool listed = false;
		for (j = 0; j < nnamed; j++)
			listed |= strcmp(named[j], diff.added[i]) == 0;
		if (!listed)
			kluis_vfinding(v, oid, "adds entry %s that its message does not name", diff.added[i]);
	}
	if (nnamed != diff.nadded && action_adds_entries(action))
		kluis_vfinding(v, oid, "its message names %zu entries, it adds %zu", nnamed, diff.nadded);

	/* new ciphertext is encrypted to exactly the readers at that moment (invariant 1) */
	if (kluis_roles_keys(parent ? &v->roles : &new_roles, KLUIS_ROLES_READING, &readers, &nreaders) == 0 &&
	    kluis_roles_keys(parent ? &v->roles : &new_roles, KLUIS_ROLES_READING & ~KLUIS_ROLE_OPDRACHTGEVER, &limited, &nlimited) == 0) {
		for (i = 0; i < diff.nadded; i++) {
			bool r = kluis_vlist_has(v->restricted, v->nrestricted, diff.added[i]);
			check_entry(v, oid, diff.added[i], &diff.added_oid[i], r ? limited : readers, r ? nlimited : nreaders);
		}
		if (action == KLUIS_ACT_REWRAP)
			for (i = 0; i < diff.nmodified; i++) {
				bool r = kluis_vlist_has(v->restricted, v->nrestricted, diff.modified[i]);
				v->rep->entries--; /* not a new entry */
				check_entry(v, oid, diff.modified[i], &diff.modified_oid[i], r ? limited : readers, r ? nlimited : nreaders);
			}
		if (action == KLUIS_ACT_ERASE && diff.nmodified == 1)
			check_erase(v, oid, diff.modified[0], &diff.modified_old[0], &diff.modified_oid[0], readers, nreaders);
		if (!parent || !same_entry(ptree, tree, "info")) {
			const git_tree_entry *info = git_tree_entry_byname(tree, "info");
			if (!info)
				kluis_vfinding(v, oid, "no dossier info pointer");
			else if (action != KLUIS_ACT_REWRAP)
				kluis_vcheck_pointer(v, oid, "dossier info", git_tree_entry_id(info), readers, nreaders, NULL, "info");
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
	for (i = 0; i < nrestricted_now; i++)
		free(restricted_now[i]);
	free(restricted_now);
	kluis_roles_dispose(&new_roles);
	entry_diff_dispose(&diff);
	for (i = 0; i < nnamed; i++)
		free(named[i]);
	free(named);
	git_message_trailer_array_free(&tr);
	git_tree_free(tree);
	git_tree_free(ptree);
}

