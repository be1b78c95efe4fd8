/*
 * verify.c - verification of a dossier's history (see verify.h).
 *
 * What is checked, per commit on main (oldest first):
 *   - it is signed, the signature is good, and the signer is named by the committer line;
 *   - history is linear (one parent), dated no earlier than its parent and not in the future,
 *     numbered (Kluis-Seq) one past its parent;
 *   - the signer held, in the roles file of the parent commit, a role allowed the action
 *     (the first commit: the trust root, or a medewerker/directie of a dossier whose directie
 *     is the trust root);
 *   - the change fits the action: entries are only added (never changed or removed, except by
 *     a rewrap or an erase), the roles file changes only in a `roles` commit, and so on;
 *   - every new entry is two pointers to ciphertext that exists in refs/kluis/content with the
 *     signed size and sha256, is OpenPGP public-key encrypted, and its recipients are exactly
 *     the encryption subkeys of the readers at that moment.
 * Then the read log (refs/kluis/access), the vault's checkpoint and an optional witness's.
 */
#include "verify.h"
#include "checkpoint.h"
#include "internal.h"
#include "vcache.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAIN_REF "refs/heads/main"
#define CONTENT_REF "refs/kluis/content"
#define ACCESS_REF "refs/kluis/access"
#define FUTURE_SLACK (24 * 3600)

typedef struct {
	char fpr[41];
	char **keyids;
	size_t n;
	bool missing;
} keyid_entry;

typedef struct {
	git_repository *repo;
	kluis_keyring *kr;
	const kluis_verify_opts *opts;
	kluis_verify_report *rep;
	const char *id;
	kluis_roles roles;          /* roles at the commit being checked's parent */
	git_oid roles_blob;
	git_tree *content_tree;
	keyid_entry *keyids;
	size_t nkeyids;
	git_oid *main_oids;         /* every main commit, sorted, for the read log */
	size_t nmain;
	git_tree *head_tree;        /* to tell superseded (rewrapped) or erased ciphertext from missing */
	char **restricted;          /* entries withheld from the opdrachtgever (P8), from the trailers */
	size_t nrestricted;
	char **consent_ids;         /* consent entries and whether they reach the opdrachtgever */
	bool *consent_opdr;
	size_t nconsents;
} vctx;

static bool in_list(char **list, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}

static void list_add(char ***list, size_t *n, const char *s)
{
	char **g;

	if (in_list(*list, *n, s))
		return;
	g = realloc(*list, (*n + 1) * sizeof(*g));
	if (!g)
		return;
	*list = g;
	if ((g[*n] = strdup(s)) != NULL)
		(*n)++;
}

/* The head's version of the entry directory `entry_id`, or NULL. */
static git_tree *head_entry_dir(vctx *v, const char *entry_id)
{
	git_tree_entry *te = NULL;
	git_tree *t = NULL;
	char dir[64];

	if (!v->head_tree || !kluis_entry_id_valid(entry_id))
		return NULL;
	kluis_entry_dir(entry_id, dir);
	if (git_tree_entry_bypath(&te, v->head_tree, dir) == 0)
		git_tree_lookup(&t, v->repo, git_tree_entry_id(te));
	git_tree_entry_free(te);
	return t;
}

static void finding(vctx *v, const git_oid *commit, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void finding(vctx *v, const git_oid *commit, const char *fmt, ...)
{
	kluis_finding *grown;
	va_list ap;
	char *msg = NULL;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	grown = realloc(v->rep->findings, (v->rep->nfindings + 1) * sizeof(*grown));
	if (!grown || !msg) {
		free(msg);
		return;
	}
	v->rep->findings = grown;
	memset(&grown[v->rep->nfindings].commit, 0, sizeof(git_oid));
	if (commit)
		git_oid_cpy(&grown[v->rep->nfindings].commit, commit);
	grown[v->rep->nfindings].message = msg;
	v->rep->nfindings++;
}

void kluis_verify_report_dispose(kluis_verify_report *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->nfindings; i++)
		free(r->findings[i].message);
	free(r->findings);
	r->findings = NULL;
	r->nfindings = 0;
}

/* ---- keys ---- */

static keyid_entry *keyids_of(vctx *v, const char *fpr)
{
	keyid_entry *grown, *e;
	size_t i;

	for (i = 0; i < v->nkeyids; i++)
		if (strcmp(v->keyids[i].fpr, fpr) == 0)
			return &v->keyids[i];
	grown = realloc(v->keyids, (v->nkeyids + 1) * sizeof(*grown));
	if (!grown)
		return NULL;
	v->keyids = grown;
	e = &grown[v->nkeyids++];
	memset(e, 0, sizeof(*e));
	snprintf(e->fpr, sizeof(e->fpr), "%s", fpr);
	if (kluis_keyring_encryption_keyids(v->kr, fpr, &e->keyids, &e->n) < 0)
		e->missing = true;
	return e;
}

static bool trusted(vctx *v, const char *fpr)
{
	size_t i;

	for (i = 0; i < v->opts->ntrust; i++)
		if (strcmp(v->opts->trust[i], fpr) == 0)
			return true;
	return false;
}

/* ---- signatures ---- */

/* Verify a commit's signature; fills signer. Returns false (with a finding) when it fails. */
static bool check_signature(vctx *v, const git_oid *oid, char signer[41], int64_t *sigtime)
{
	git_buf sig = { 0 }, data = { 0 };
	int rc = git_commit_extract_signature(&sig, &data, v->repo, (git_oid *)oid, NULL);
	bool ok = false;

	signer[0] = '\0';
	if (rc == GIT_ENOTFOUND) {
		finding(v, oid, "unsigned commit");
		goto cleanup;
	}
	if (rc < 0) {
		finding(v, oid, "cannot read the commit's signature: %s", git_error_last() ? git_error_last()->message : "?");
		goto cleanup;
	}
	if (kluis_pgp_verify_detached(v->kr, data.ptr, data.size, sig.ptr, sig.size, signer, sigtime) < 0) {
		finding(v, oid, "signature does not verify: %s", kluis_error_last());
		goto cleanup;
	}
	ok = true;
cleanup:
	git_buf_dispose(&sig);
	git_buf_dispose(&data);
	return ok;
}

/* ---- trees ---- */

static int load_roles(vctx *v, git_tree *tree, kluis_roles *out, git_oid *blob_oid)
{
	const git_tree_entry *te = git_tree_entry_byname(tree, "roles");
	git_blob *blob = NULL;
	int err;

	if (!te || git_tree_entry_type(te) != GIT_OBJECT_BLOB)
		return kluis_error_set(KLUIS_EVERIFY, "no roles file");
	if (blob_oid)
		git_oid_cpy(blob_oid, git_tree_entry_id(te));
	if (git_blob_lookup(&blob, v->repo, git_tree_entry_id(te)) < 0)
		return kluis_error_set(KLUIS_EVERIFY, "roles file object missing");
	err = kluis_roles_parse(out, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob));
	git_blob_free(blob);
	return err;
}

static int read_blob_text(vctx *v, const git_oid *oid, kluis_buf *out)
{
	git_blob *blob = NULL;
	int err;

	if (git_blob_lookup(&blob, v->repo, oid) < 0)
		return kluis_error_set(KLUIS_EVERIFY, "object missing");
	err = kluis_buf_put(out, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob));
	git_blob_free(blob);
	return err;
}

static bool in_content(vctx *v, const git_oid *oid)
{
	git_tree_entry *te = NULL;
	char hex[GIT_OID_HEXSZ + 1], path[48];
	bool ok;

	if (!v->content_tree)
		return false;
	git_oid_tostr(hex, sizeof(hex), oid);
	snprintf(path, sizeof(path), "%.2s/%s", hex, hex + 2);
	ok = git_tree_entry_bypath(&te, v->content_tree, path) == 0 && git_oid_equal(git_tree_entry_id(te), oid);
	git_tree_entry_free(te);
	return ok;
}

/*
 * Check one pointer: it parses, its object is in refs/kluis/content and the object store with
 * the signed size and sha256, and it is encrypted to exactly `readers`.
 */
static void check_pointer(vctx *v, const git_oid *commit, const char *what, const git_oid *pointer_blob,
			  const char *const *readers, size_t nreaders, const char *entry_id, const char *name)
{
	kluis_buf text = KLUIS_BUF_INIT;
	kluis_pointer p;
	git_blob *ct = NULL;
	char **rcpt = NULL, hex[GIT_OID_HEXSZ + 1];
	size_t nrcpt = 0, i, j, k;

	if (read_blob_text(v, pointer_blob, &text) < 0 || kluis_pointer_parse(&p, (const char *)text.ptr, text.len) < 0) {
		finding(v, commit, "%s: not a valid pointer (a plaintext or foreign object where an entry belongs?)", what);
		goto cleanup;
	}
	git_oid_tostr(hex, sizeof(hex), &p.oid);
	if (!in_content(v, &p.oid)) {
		/* later erased (a signed record says so) or rewrapped (the head points elsewhere):
		 * that commit is checked on its own; otherwise the ciphertext is missing */
		git_tree *hd = entry_id ? head_entry_dir(v, entry_id) : NULL;
		const git_tree_entry *now = hd ? git_tree_entry_byname(hd, name) : NULL;
		bool superseded = hd && (git_tree_entry_byname(hd, "erased") || (now && !git_oid_equal(git_tree_entry_id(now), pointer_blob)));
		if (!entry_id && v->head_tree) {
			const git_tree_entry *hi = git_tree_entry_byname(v->head_tree, "info");
			superseded = hi && !git_oid_equal(git_tree_entry_id(hi), pointer_blob);
		}
		git_tree_free(hd);
		if (!superseded)
			finding(v, commit, "%s: ciphertext %s is not in refs/kluis/content", what, hex);
		goto cleanup;
	}
	if (kluis_pointer_load(v->repo, &p, &ct) < 0) {
		finding(v, commit, "%s: %s", what, kluis_error_last());
		goto cleanup;
	}
	if (kluis_pgp_recipients(v->kr, git_blob_rawcontent(ct), (size_t)git_blob_rawsize(ct), &rcpt, &nrcpt) < 0) {
		finding(v, commit, "%s: ciphertext %s is not OpenPGP public-key encrypted: %s", what, hex, kluis_error_last());
		goto cleanup;
	}
	/* every reader can decrypt ... */
	for (i = 0; i < nreaders; i++) {
		keyid_entry *e = keyids_of(v, readers[i]);
		bool found = false;
		if (!e || e->missing) {
			finding(v, commit, "%s: cannot check the recipients: no public key %s in the keyring", what, readers[i]);
			continue;
		}
		for (j = 0; j < e->n && !found; j++)
			for (k = 0; k < nrcpt && !found; k++)
				found = strcasecmp(e->keyids[j], rcpt[k]) == 0;
		if (!found)
			finding(v, commit, "%s: not encrypted to the reader %s (fewer readers than the roles require)", what, readers[i]);
	}
	/* ... and nobody else */
	for (k = 0; k < nrcpt; k++) {
		bool known = false;
		for (i = 0; i < nreaders && !known; i++) {
			keyid_entry *e = keyids_of(v, readers[i]);
			for (j = 0; e && j < e->n && !known; j++)
				known = strcasecmp(e->keyids[j], rcpt[k]) == 0;
		}
		if (!known)
			finding(v, commit, "%s: encrypted to key %s, which holds no reading role", what, rcpt[k]);
	}
cleanup:
	kluis_pgp_ids_free(rcpt, nrcpt);
	git_blob_free(ct);
	kluis_buf_dispose(&text);
}

/* Check an entry directory added by a commit: exactly meta and body pointers. */
static void check_entry(vctx *v, const git_oid *commit, const char *entry_id, const git_oid *dir_oid,
			const char *const *readers, size_t nreaders)
{
	git_tree *dir = NULL;
	const git_tree_entry *meta, *body;
	char what[96];

	v->rep->entries++;
	if (!kluis_entry_id_valid(entry_id)) {
		finding(v, commit, "'%s' is not an entry id", entry_id);
		return;
	}
	if (git_tree_lookup(&dir, v->repo, dir_oid) < 0) {
		finding(v, commit, "entry %s: not a directory of pointers", entry_id);
		return;
	}
	meta = git_tree_entry_byname(dir, "meta");
	body = git_tree_entry_byname(dir, "body");
	if (!meta || !body || git_tree_entrycount(dir) != 2) {
		finding(v, commit, "entry %s: must hold exactly the pointers meta and body", entry_id);
	} else {
		snprintf(what, sizeof(what), "entry %s meta", entry_id);
		check_pointer(v, commit, what, git_tree_entry_id(meta), readers, nreaders, entry_id, "meta");
		snprintf(what, sizeof(what), "entry %s body", entry_id);
		check_pointer(v, commit, what, git_tree_entry_id(body), readers, nreaders, entry_id, "body");
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
		finding(v, commit, "erase of %s: tree objects missing", entry_id);
		goto cleanup;
	}
	rec = git_tree_entry_byname(now, "erased");
	reason = git_tree_entry_byname(now, "reason");
	pm = git_tree_entry_byname(was, "meta");
	pb = git_tree_entry_byname(was, "body");
	if (!rec || !reason || git_tree_entrycount(now) != 2 || !pm || !pb) {
		finding(v, commit, "erase of %s: the entry must become exactly an erased record and a reason", entry_id);
		goto cleanup;
	}
	if (read_blob_text(v, git_tree_entry_id(rec), &text) < 0 ||
	    sscanf((const char *)text.ptr, "kluis-erased 1\nentry %63s\nmeta %63s\nbody %63s\nbasis %31s\n", id, meta_hex, body_hex, basis) != 4 ||
	    strcmp(id, entry_id) != 0) {
		finding(v, commit, "erase of %s: malformed erase record", entry_id);
		goto cleanup;
	}
	if (read_blob_text(v, git_tree_entry_id(pm), &mp) < 0 || kluis_pointer_parse(&m, (const char *)mp.ptr, mp.len) < 0 ||
	    read_blob_text(v, git_tree_entry_id(pb), &bp) < 0 || kluis_pointer_parse(&b, (const char *)bp.ptr, bp.len) < 0) {
		finding(v, commit, "erase of %s: the erased pointers are unreadable", entry_id);
		goto cleanup;
	}
	git_oid_tostr(mh, sizeof(mh), &m.oid);
	git_oid_tostr(bh, sizeof(bh), &b.oid);
	if (strcmp(mh, meta_hex) || strcmp(bh, body_hex))
		finding(v, commit, "erase of %s: the record names other objects than the entry had", entry_id);
	if (in_content(v, &m.oid) || in_content(v, &b.oid))
		finding(v, commit, "erase of %s: the ciphertext is still in refs/kluis/content", entry_id);
	snprintf(what, sizeof(what), "erase of %s: reason", entry_id);
	check_pointer(v, commit, what, git_tree_entry_id(reason), readers, nreaders, entry_id, "reason");
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

static int diff_entries(vctx *v, git_tree *old_root, git_tree *new_root, entry_diff *d)
{
	const git_oid *ea = subtree_id(old_root, "entries"), *eb = subtree_id(new_root, "entries");
	git_tree *a = NULL, *b = NULL;
	size_t i;
	int err = 0;

	if ((ea && eb && git_oid_equal(ea, eb)) || (!ea && !eb))
		return 0;
	if ((ea && git_tree_lookup(&a, v->repo, ea) < 0) || (eb && git_tree_lookup(&b, v->repo, eb) < 0)) {
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
	git_tree_free(a);
	git_tree_free(b);
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

static void check_commit(vctx *v, git_commit *c, git_commit *parent, unsigned long long *seq)
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
		finding(v, oid, "tree object missing");
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
				list_add(&restricted_now, &nrestricted_now, tr.trailers[i].value);
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
		finding(v, oid, "no valid Kluis-Action trailer ('%s')", action_name);

	/* signature and signer */
	sig_ok = check_signature(v, oid, signer, &sigtime);
	if (sig_ok && committer && committer->email && strcmp(committer->email, signer) != 0)
		finding(v, oid, "committer names key %s but %s signed", committer->email, signer);

	/* order and time */
	if (seqs[0] && strtoull(seqs, NULL, 10) != *seq + 1)
		finding(v, oid, "sequence number %s where %llu was due (history rewritten?)", seqs, *seq + 1);
	*seq = seqs[0] ? strtoull(seqs, NULL, 10) : *seq + 1;
	if (parent && git_commit_time(c) < git_commit_time(parent))
		finding(v, oid, "dated before its parent");
	if ((int64_t)git_commit_time(c) > now + FUTURE_SLACK)
		finding(v, oid, "dated in the future");

	/* roles: at the parent decide; the first commit's own roles start the chain */
	if (!parent) {
		if (load_roles(v, tree, &v->roles, &v->roles_blob) < 0) {
			finding(v, oid, "first commit: %s", kluis_error_last());
			goto cleanup;
		}
	}
	if (!same_entry(ptree, tree, "roles") || !parent) {
		if (load_roles(v, tree, &new_roles, NULL) < 0)
			finding(v, oid, "roles file: %s", kluis_error_last());
		else
			have_new_roles = true;
	}

	/* authority (invariant 4) */
	if (sig_ok && action < KLUIS_ACT__COUNT) {
		if (!parent) {
			if (action != KLUIS_ACT_INIT)
				finding(v, oid, "the first commit must be an init, not %s", action_name);
			if (!v->opts->ntrust)
				finding(v, oid, "no trust root to check the first commit against (give --trust FPR)");
			else if (!trusted(v, signer)) {
				bool anchored = false;
				for (i = 0; i < v->opts->ntrust; i++)
					anchored |= (kluis_roles_of(&v->roles, v->opts->trust[i]) & KLUIS_ROLE_DIRECTIE) != 0;
				if (!anchored || kluis_roles_authorize(&v->roles, signer, KLUIS_ACT_INIT, NULL) < 0)
					finding(v, oid, "first commit not signed by the trust root (signer %s)", signer);
			}
		} else if (action == KLUIS_ACT_INIT) {
			finding(v, oid, "init in the middle of the history");
		}
		if (kluis_roles_authorize(&v->roles, signer, action, NULL) < 0)
			finding(v, oid, "%s", kluis_error_last());
		held = kluis_roles_of(&v->roles, signer);
		if (role_name[0]) {
			unsigned claimed;
			if (kluis_role_parse(role_name, &claimed) < 0 || !(held & claimed))
				finding(v, oid, "Kluis-Role says %s, a role the signer does not hold", role_name);
		}
	}

	/* the change fits the action (invariant 3) */
	if (parent && !same_entry(ptree, tree, "roles") && action != KLUIS_ACT_ROLES)
		finding(v, oid, "changes the roles file in a %s commit", action_name);
	if (parent && !same_entry(ptree, tree, "dossier") && action != KLUIS_ACT_CLOSE && action != KLUIS_ACT_TRANSFER)
		finding(v, oid, "changes the dossier file in a %s commit", action_name);
	if (parent && !same_entry(ptree, tree, "info") && action != KLUIS_ACT_REWRAP)
		finding(v, oid, "changes the dossier info in a %s commit", action_name);
	for (i = 0; i < git_tree_entrycount(tree); i++) {
		const char *name = git_tree_entry_name(git_tree_entry_byindex(tree, i));
		if (strcmp(name, "dossier") && strcmp(name, "roles") && strcmp(name, "info") && strcmp(name, "entries"))
			finding(v, oid, "unexpected file '%s' in the dossier tree", name);
	}
	if (!parent) {
		kluis_buf text = KLUIS_BUF_INIT;
		kluis_dossier_file f;
		const git_tree_entry *te = git_tree_entry_byname(tree, "dossier");
		if (!te || read_blob_text(v, git_tree_entry_id(te), &text) < 0 ||
		    kluis_dossier_file_parse(&f, (const char *)text.ptr, text.len) < 0)
			finding(v, oid, "first commit has no valid dossier file");
		else if (strcmp(f.id, v->id) != 0)
			finding(v, oid, "this history belongs to dossier '%s', not '%s'", f.id, v->id);
		kluis_buf_dispose(&text);
	}
	if (diff_entries(v, ptree, tree, &diff) < 0)
		finding(v, oid, "cannot compare the entries with the parent (objects missing)");
	if (diff.nremoved)
		finding(v, oid, "removes entry %s%s", diff.first_removed, diff.nremoved > 1 ? " and others" : "");
	if (diff.nmodified && action != KLUIS_ACT_REWRAP && action != KLUIS_ACT_ERASE)
		finding(v, oid, "changes existing entry %s in a %s commit", diff.modified[0], action_name);
	if (action == KLUIS_ACT_ERASE && diff.nmodified != 1)
		finding(v, oid, "an erase must change exactly one entry, this one changes %zu", diff.nmodified);
	if (action == KLUIS_ACT_APPROVE || action == KLUIS_ACT_ERASE) {
		/* they name an entry that existed before them */
		git_tree_entry *te = NULL;
		char dir[64];
		if (nnamed != 1 || !kluis_entry_id_valid(named[0]))
			finding(v, oid, "a %s names exactly one entry", action_name);
		else {
			kluis_entry_dir(named[0], dir);
			if (!ptree || git_tree_entry_bypath(&te, ptree, dir) < 0)
				finding(v, oid, "%s of entry %s, which does not exist", action_name, named[0]);
			git_tree_entry_free(te);
		}
	}
	if (supersedes[0]) {
		git_tree_entry *te = NULL;
		char dir[64];
		kluis_entry_dir(supersedes, dir);
		if (!kluis_entry_id_valid(supersedes) || !ptree || git_tree_entry_bypath(&te, ptree, dir) < 0)
			finding(v, oid, "corrects entry %s, which does not exist", supersedes);
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
		bool withheld = in_list(restricted_now, nrestricted_now, special), known = false, allowed = false;
		for (i = 0; i < v->nconsents; i++)
			if (strcmp(v->consent_ids[i], consent_ref) == 0) {
				known = true;
				allowed = v->consent_opdr[i];
			}
		if (!consent_ref[0])
			finding(v, oid, "special-category entry %s names no consent", special);
		else if (known && allowed == withheld)
			finding(v, oid, "special-category entry %s is %s the opdrachtgever, against consent %s", special,
				withheld ? "withheld from" : "encrypted to", consent_ref);
	}
	for (i = 0; i < nrestricted_now; i++)
		list_add(&v->restricted, &v->nrestricted, restricted_now[i]);
	if (diff.nadded && !action_adds_entries(action))
		finding(v, oid, "adds entries in a %s commit", action_name);
	for (i = 0; i < diff.nadded; i++) {
		bool listed = false;
		for (j = 0; j < nnamed; j++)
			listed |= strcmp(named[j], diff.added[i]) == 0;
		if (!listed)
			finding(v, oid, "adds entry %s that its message does not name", diff.added[i]);
	}
	if (nnamed != diff.nadded && action_adds_entries(action))
		finding(v, oid, "its message names %zu entries, it adds %zu", nnamed, diff.nadded);

	/* new ciphertext is encrypted to exactly the readers at that moment (invariant 1) */
	if (kluis_roles_keys(parent ? &v->roles : &new_roles, KLUIS_ROLES_READING, &readers, &nreaders) == 0 &&
	    kluis_roles_keys(parent ? &v->roles : &new_roles, KLUIS_ROLES_READING & ~KLUIS_ROLE_OPDRACHTGEVER, &limited, &nlimited) == 0) {
		for (i = 0; i < diff.nadded; i++) {
			bool r = in_list(v->restricted, v->nrestricted, diff.added[i]);
			check_entry(v, oid, diff.added[i], &diff.added_oid[i], r ? limited : readers, r ? nlimited : nreaders);
		}
		if (action == KLUIS_ACT_REWRAP)
			for (i = 0; i < diff.nmodified; i++) {
				bool r = in_list(v->restricted, v->nrestricted, diff.modified[i]);
				v->rep->entries--; /* not a new entry */
				check_entry(v, oid, diff.modified[i], &diff.modified_oid[i], r ? limited : readers, r ? nlimited : nreaders);
			}
		if (action == KLUIS_ACT_ERASE && diff.nmodified == 1)
			check_erase(v, oid, diff.modified[0], &diff.modified_old[0], &diff.modified_oid[0], readers, nreaders);
		if (!parent || !same_entry(ptree, tree, "info")) {
			const git_tree_entry *info = git_tree_entry_byname(tree, "info");
			if (!info)
				finding(v, oid, "no dossier info pointer");
			else if (action != KLUIS_ACT_REWRAP)
				check_pointer(v, oid, "dossier info", git_tree_entry_id(info), readers, nreaders, NULL, "info");
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

/* ---- walks ---- */

static int oid_cmp(const void *a, const void *b)
{
	return git_oid_cmp(a, b);
}

/* The first-parent chain from head back to `stop` (exclusive) or the root, oldest first. */
static int main_chain(vctx *v, const git_oid *head, const git_oid *stop, git_oid **out, size_t *n)
{
	git_oid *list = NULL, *grown, cur;
	git_commit *c = NULL;
	size_t count = 0, cap = 0, i;
	int err = 0;

	git_oid_cpy(&cur, head);
	for (;;) {
		if (stop && git_oid_equal(&cur, stop))
			break;
		if (git_commit_lookup(&c, v->repo, &cur) < 0) {
			finding(v, &cur, "commit object missing");
			break;
		}
		if (count == cap) {
			cap = cap ? cap * 2 : 256;
			grown = realloc(list, cap * sizeof(*list));
			if (!grown) {
				err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
				goto cleanup;
			}
			list = grown;
		}
		git_oid_cpy(&list[count++], &cur);
		if (git_commit_parentcount(c) > 1)
			finding(v, &cur, "merge commit: the history must be linear");
		if (git_commit_parentcount(c) == 0) {
			if (stop) {
				err = 1; /* stop not on the chain */
				goto cleanup;
			}
			break;
		}
		git_oid_cpy(&cur, git_commit_parent_id(c, 0));
		git_commit_free(c);
		c = NULL;
	}
	for (i = 0; i < count / 2; i++) {
		git_oid t = list[i];
		list[i] = list[count - 1 - i];
		list[count - 1 - i] = t;
	}
	*out = list;
	*n = count;
	list = NULL;
cleanup:
	git_commit_free(c);
	free(list);
	return err;
}

static bool main_has(vctx *v, const git_oid *oid)
{
	return bsearch(oid, v->main_oids, v->nmain, sizeof(git_oid), oid_cmp) != NULL;
}

static void check_access(vctx *v, const git_oid *main_head, const git_oid *verified, git_oid *acc_out)
{
	git_revwalk *walk = NULL;
	git_commit *c = NULL, *read_commit = NULL;
	git_tree *read_tree = NULL;
	git_oid oid, acc_head, read_oid;
	kluis_roles roles = { NULL, 0 };
	char signer[41], head_hex[64], action[32];
	bool exists;

	if (kluis_repo_ref(v->repo, ACCESS_REF, &acc_head, &exists) < 0 || !exists)
		return;
	git_oid_cpy(acc_out, &acc_head);
	if (verified && git_oid_equal(verified, &acc_head))
		return;
	if (verified && git_graph_descendant_of(v->repo, &acc_head, verified) != 1)
		verified = NULL; /* the read log was rewritten: check all of it */
	if (git_revwalk_new(&walk, v->repo) < 0 || git_revwalk_sorting(walk, GIT_SORT_TOPOLOGICAL | GIT_SORT_REVERSE) < 0 ||
	    git_revwalk_push(walk, &acc_head) < 0 || (verified && git_revwalk_hide(walk, verified) < 0)) {
		finding(v, &acc_head, "read log: cannot walk refs/kluis/access");
		goto cleanup;
	}
	while (git_revwalk_next(&oid, walk) == 0) {
		v->rep->reads++;
		if (git_commit_lookup(&c, v->repo, &oid) < 0) {
			finding(v, &oid, "read log: commit missing");
			continue;
		}
		if (git_commit_parentcount(c) > 1)
			finding(v, &oid, "read log: merge commit");
		if (check_signature(v, &oid, signer, NULL)) {
			if (!kluis_trailer_get(git_commit_message(c), "Kluis-Action", action, sizeof(action)) || strcmp(action, "access") != 0)
				finding(v, &oid, "read log: not an access record");
			if (!kluis_trailer_get(git_commit_message(c), "Kluis-Head", head_hex, sizeof(head_hex)) ||
			    git_oid_fromstr(&read_oid, head_hex) < 0) {
				finding(v, &oid, "read log: no Kluis-Head");
			} else if (!(v->nmain ? main_has(v, &read_oid)
					     : (git_oid_equal(&read_oid, main_head) || git_graph_descendant_of(v->repo, main_head, &read_oid) == 1))) {
				finding(v, &oid, "read log: names a head %s that is not in the dossier's history", head_hex);
			} else if (git_commit_lookup(&read_commit, v->repo, &read_oid) == 0 && git_commit_tree(&read_tree, read_commit) == 0 &&
				   load_roles(v, read_tree, &roles, NULL) == 0) {
				if (kluis_roles_authorize(&roles, signer, KLUIS_ACT_ACCESS, NULL) < 0)
					finding(v, &oid, "read log: %s", kluis_error_last());
				if (git_commit_time(c) < git_commit_time(read_commit))
					finding(v, &oid, "read log: dated before the head it read");
			}
			kluis_roles_dispose(&roles);
			git_tree_free(read_tree);
			git_commit_free(read_commit);
			read_tree = NULL;
			read_commit = NULL;
		}
		git_commit_free(c);
		c = NULL;
	}
cleanup:
	git_revwalk_free(walk);
}

/* Every pointer in the head tree names ciphertext present in content and the object store. */
static void check_head_content(vctx *v, git_tree *head_tree, const git_oid *head)
{
	git_tree *entries = NULL, *shard = NULL, *dir = NULL;
	git_odb *odb = NULL;
	kluis_buf text = KLUIS_BUF_INIT;
	kluis_pointer p;
	size_t i, j, k;
	const git_oid *eid = subtree_id(head_tree, "entries");

	if (!eid || git_tree_lookup(&entries, v->repo, eid) < 0 || git_repository_odb(&odb, v->repo) < 0)
		goto cleanup;
	for (i = 0; i < git_tree_entrycount(entries); i++) {
		if (git_tree_lookup(&shard, v->repo, git_tree_entry_id(git_tree_entry_byindex(entries, i))) < 0)
			continue;
		for (j = 0; j < git_tree_entrycount(shard); j++) {
			const git_tree_entry *e = git_tree_entry_byindex(shard, j);
			if (git_tree_lookup(&dir, v->repo, git_tree_entry_id(e)) < 0)
				continue;
			for (k = 0; k < git_tree_entrycount(dir); k++) {
				const git_tree_entry *pe = git_tree_entry_byindex(dir, k);
				text.len = 0;
				if (read_blob_text(v, git_tree_entry_id(pe), &text) < 0 ||
				    kluis_pointer_parse(&p, (const char *)text.ptr, text.len) < 0)
					continue; /* reported where the entry was added */
				if (!in_content(v, &p.oid))
					finding(v, head, "entry %s %s: ciphertext is not in refs/kluis/content", git_tree_entry_name(e), git_tree_entry_name(pe));
				else if (!git_odb_exists(odb, &p.oid))
					finding(v, head, "entry %s %s: ciphertext object is missing (and no erase record says why)", git_tree_entry_name(e), git_tree_entry_name(pe));
			}
			git_tree_free(dir);
			dir = NULL;
		}
		git_tree_free(shard);
		shard = NULL;
	}
cleanup:
	kluis_buf_dispose(&text);
	git_odb_free(odb);
	git_tree_free(entries);
}

/* Pack files written since `since` (a repack, or tampering): then verify everything. */
static bool packs_changed_since(git_repository *repo, int64_t since)
{
	char *dir = kluis_path_join(git_repository_path(repo), "objects/pack");
	DIR *d = dir ? opendir(dir) : NULL;
	struct dirent *de;
	struct stat st;
	bool changed = false;

	while (d && (de = readdir(d)) != NULL && !changed)
		if (de->d_name[0] != '.' && fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
			changed = (int64_t)st.st_ctime >= since || (int64_t)st.st_mtime >= since;
	if (d)
		closedir(d);
	free(dir);
	return changed;
}

/*
 * Re-read (and so rehash: libgit2 checks an object's id when it reads it) every loose object
 * file whose inode changed since the last verification. Objects are written once and never
 * changed, so an old file with a new ctime has been tampered with; new files are checked too.
 */
static void check_changed_objects(vctx *v, int64_t since)
{
	char *objects = kluis_path_join(git_repository_path(v->repo), "objects"), hex[GIT_OID_HEXSZ + 1];
	DIR *top = objects ? opendir(objects) : NULL, *sub;
	struct dirent *de, *fe;
	struct stat st;
	git_odb *odb = NULL;
	git_odb_object *obj = NULL;
	git_oid oid;
	int fd;

	if (!top || git_repository_odb(&odb, v->repo) < 0)
		goto cleanup;
	while ((de = readdir(top)) != NULL) {
		if (strlen(de->d_name) != 2 || !isxdigit((unsigned char)de->d_name[0]))
			continue;
		fd = openat(dirfd(top), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0 || !(sub = fdopendir(fd))) {
			if (fd >= 0)
				close(fd);
			continue;
		}
		while ((fe = readdir(sub)) != NULL) {
			if (strlen(fe->d_name) != GIT_OID_HEXSZ - 2 || fstatat(dirfd(sub), fe->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
				continue;
			if ((int64_t)st.st_ctime < since && (int64_t)st.st_mtime < since)
				continue;
			snprintf(hex, sizeof(hex), "%s%s", de->d_name, fe->d_name);
			if (git_oid_fromstr(&oid, hex) < 0)
				continue;
			if (git_odb_read(&obj, odb, &oid) < 0)
				finding(v, NULL, "object %s is corrupted: %s", hex, git_error_last() ? git_error_last()->message : "unreadable");
			git_odb_object_free(obj);
			obj = NULL;
		}
		closedir(sub);
	}
cleanup:
	git_odb_free(odb);
	if (top)
		closedir(top);
	free(objects);
}

/* Every ciphertext object refs/kluis/content names exists. */
static void check_content_present(vctx *v, const git_oid *head)
{
	git_tree *shard = NULL;
	git_odb *odb = NULL;
	size_t i, j;

	if (!v->content_tree || git_repository_odb(&odb, v->repo) < 0)
		return;
	for (i = 0; i < git_tree_entrycount(v->content_tree); i++) {
		if (git_tree_lookup(&shard, v->repo, git_tree_entry_id(git_tree_entry_byindex(v->content_tree, i))) < 0) {
			finding(v, head, "refs/kluis/content: a tree object is missing");
			continue;
		}
		for (j = 0; j < git_tree_entrycount(shard); j++) {
			const git_oid *oid = git_tree_entry_id(git_tree_entry_byindex(shard, j));
			if (!git_odb_exists(odb, oid)) {
				char hex[GIT_OID_HEXSZ + 1];
				git_oid_tostr(hex, sizeof(hex), oid);
				finding(v, head, "ciphertext object %s is missing (and no erase record says why)", hex);
			}
		}
		git_tree_free(shard);
		shard = NULL;
	}
	git_odb_free(odb);
}

static void check_checkpoint(vctx *v, const kluis_checkpoint *cp, const git_oid *head, const char *whose)
{
	kluis_buf data = KLUIS_BUF_INIT, sig = KLUIS_BUF_INIT;
	char hex[GIT_OID_HEXSZ + 1], signer[41];

	git_oid_tostr(hex, sizeof(hex), &cp->head);
	if (strcmp(cp->dossier, v->id) != 0) {
		finding(v, NULL, "%s checkpoint is for dossier '%s', not '%s'", whose, cp->dossier, v->id);
		goto cleanup;
	}
	if (kluis_commit_split_signature((const char *)cp->raw.ptr, cp->raw.len, &data, &sig) < 0 ||
	    kluis_pgp_verify_detached(v->kr, data.ptr, data.len, sig.ptr, sig.len, signer, NULL) < 0) {
		finding(v, &cp->head, "%s checkpoint's signature does not verify: %s", whose, kluis_error_last());
		goto cleanup;
	}
	if (!git_oid_equal(&cp->head, head) && git_graph_descendant_of(v->repo, head, &cp->head) != 1)
		finding(v, &cp->head, "rollback or rewrite: the head does not descend from the %s checkpoint %.12s (seq %llu)", whose, hex, cp->seq);
cleanup:
	kluis_buf_dispose(&data);
	kluis_buf_dispose(&sig);
}

int kluis_verify_repository(git_repository *repo, const char *id, kluis_keyring *kr, const kluis_verify_opts *opts,
			    const char *cache_key, kluis_verify_report *rep)
{
	vctx v;
	git_oid head, content, *chain = NULL, stop, access_head;
	int64_t started = (int64_t)time(NULL) - 2; /* ctime granularity and clock slack */
	git_commit *c = NULL, *parent = NULL, *content_commit = NULL;
	git_tree *head_tree = NULL;
	kluis_vcache cache;
	bool exists, have_cache = false;
	unsigned long long seq = 0;
	size_t n = 0, i;
	int err, rc;

	memset(rep, 0, sizeof(*rep));
	memset(&v, 0, sizeof(v));
	memset(&cache, 0, sizeof(cache));
	memset(&access_head, 0, sizeof(access_head));
	v.repo = repo;
	v.kr = kr;
	v.opts = opts;
	v.rep = rep;
	v.id = id;
	if ((err = kluis_repo_ref(repo, MAIN_REF, &head, &exists)) < 0)
		return err;
	if (!exists) {
		finding(&v, NULL, "no refs/heads/main: not a dossier");
		return 0;
	}
	git_oid_cpy(&rep->head, &head);
	if ((err = kluis_repo_ref(repo, CONTENT_REF, &content, &exists)) < 0)
		return err;
	if (!exists || git_commit_lookup(&content_commit, repo, &content) < 0 || git_commit_tree(&v.content_tree, content_commit) < 0)
		finding(&v, NULL, "refs/kluis/content is missing or unreadable");

	/* resume from the verified-state cache when the new head descends from it */
	if (cache_key && !opts->no_cache && kluis_vcache_load(cache_key, &cache, opts) == 0 &&
	    !packs_changed_since(repo, cache.time))
		have_cache = true;
	rc = have_cache ? main_chain(&v, &head, &cache.head, &chain, &n) : 1;
	if (rc == 1) {
		free(chain);
		chain = NULL;
		have_cache = false;
		if ((err = main_chain(&v, &head, NULL, &chain, &n)) < 0)
			goto cleanup;
	} else if (rc < 0) {
		err = rc;
		goto cleanup;
	}
	rep->incremental = have_cache;
	{
		git_commit *hc = NULL;
		if (git_commit_lookup(&hc, repo, &head) == 0)
			git_commit_tree(&v.head_tree, hc);
		git_commit_free(hc);
	}
	if (have_cache) {
		git_commit *sc = NULL;
		git_tree *st = NULL;
		git_oid_cpy(&stop, &cache.head);
		seq = cache.seq;
		rep->total_commits = (size_t)cache.seq + n;
		if (git_commit_lookup(&sc, repo, &stop) < 0 || git_commit_tree(&st, sc) < 0 || load_roles(&v, st, &v.roles, &v.roles_blob) < 0) {
			git_commit_free(sc);
			git_tree_free(st);
			err = kluis_error_set(KLUIS_EVERIFY, "cannot resume from the verified state");
			goto cleanup;
		}
		parent = sc;
		git_tree_free(st);
	} else {
		rep->total_commits = n;
		v.main_oids = malloc((n + 1) * sizeof(git_oid));
		if (!v.main_oids) {
			err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
			goto cleanup;
		}
		memcpy(v.main_oids, chain, n * sizeof(git_oid));
		v.nmain = n;
		qsort(v.main_oids, n, sizeof(git_oid), oid_cmp);
	}
	for (i = 0; i < n; i++) {
		if (git_commit_lookup(&c, repo, &chain[i]) < 0) {
			finding(&v, &chain[i], "commit object missing");
			break;
		}
		check_commit(&v, c, parent, &seq);
		git_commit_free(parent);
		parent = c;
		c = NULL;
	}
	if (have_cache) {
		/* old objects were verified before: re-read only the files changed since, and make
		 * sure every ciphertext object is still there */
		check_changed_objects(&v, cache.time);
		check_content_present(&v, &head);
	} else if (git_commit_lookup(&c, repo, &head) == 0 && git_commit_tree(&head_tree, c) == 0) {
		check_head_content(&v, head_tree, &head);
	}
	check_access(&v, &head, have_cache && !git_oid_is_zero(&cache.access) ? &cache.access : NULL, &access_head);
	if (opts->witness) {
		kluis_checkpoint cp;
		kluis_buf text = KLUIS_BUF_INIT;
		if ((err = kluis_file_read(&text, opts->witness, 1 << 20)) == 0 &&
		    (err = kluis_checkpoint_parse(&cp, (const char *)text.ptr, text.len)) == 0) {
			check_checkpoint(&v, &cp, &head, "witness");
			kluis_checkpoint_dispose(&cp);
		}
		kluis_buf_dispose(&text);
		if (err < 0)
			goto cleanup;
	}
	if (cache_key && !opts->no_cache && rep->nfindings == 0) {
		memset(&cache, 0, sizeof(cache));
		git_oid_cpy(&cache.head, &head);
		git_oid_cpy(&cache.access, &access_head);
		cache.seq = seq;
		cache.time = started;
		kluis_vcache_store(cache_key, &cache, opts);
	}
	err = 0;
cleanup:
	for (i = 0; i < v.nkeyids; i++)
		kluis_pgp_ids_free(v.keyids[i].keyids, v.keyids[i].n);
	kluis_strings_free(v.restricted, v.nrestricted);
	kluis_strings_free(v.consent_ids, v.nconsents);
	free(v.consent_opdr);
	git_tree_free(v.head_tree);
	free(v.keyids);
	free(v.main_oids);
	free(chain);
	kluis_roles_dispose(&v.roles);
	git_tree_free(head_tree);
	git_tree_free(v.content_tree);
	git_commit_free(content_commit);
	git_commit_free(parent);
	git_commit_free(c);
	return err;
}

/*
 * The keyring to verify with: GNUPGHOME's public keys, plus for an imported dossier the keys
 * its archive carried (kept in ID.git/kluis-keys), so it verifies for its whole retention.
 */
static int dossier_keyring(kluis_vault *vault, kluis_dossier *d, kluis_keyring **own, kluis_keyring **kr)
{
	char *dir = kluis_path_join(d->path, "kluis-keys"), *path;
	DIR *dd = dir ? opendir(dir) : NULL;
	struct dirent *de;
	kluis_buf data = KLUIS_BUF_INIT;
	int err = 0;

	*own = NULL;
	if (!dd) {
		free(dir);
		return kluis_vault_keyring(vault, kr);
	}
	if (kluis_keyring_open_gnupg(own, NULL) < 0)
		*own = NULL;
	while ((de = readdir(dd)) != NULL && err == 0) {
		if (de->d_name[0] == '.' || !(path = kluis_path_join(dir, de->d_name)))
			continue;
		data.len = 0;
		if (kluis_file_read(&data, path, 1 << 20) == 0)
			err = *own ? kluis_keyring_import(*own, data.ptr, data.len) : kluis_keyring_open_data(own, data.ptr, data.len);
		free(path);
	}
	closedir(dd);
	free(dir);
	kluis_buf_dispose(&data);
	if (err == 0 && !*own)
		err = kluis_error_set(KLUIS_EKEY, "no public keys to verify with");
	*kr = *own;
	return err;
}

static int load_dossier_trust(kluis_dossier *d, char ***out, size_t *n)
{
	kluis_buf text = KLUIS_BUF_INIT;
	char *path = kluis_path_join(d->path, "kluis-trust"), *line, *save = NULL, fpr[41], **grown;
	int err;

	*out = NULL;
	*n = 0;
	if (!path)
		return kluis_error_set(KLUIS_EGENERIC, "out of memory");
	err = kluis_file_read(&text, path, 65536);
	for (line = err == 0 ? strtok_r((char *)text.ptr, "\n", &save) : NULL; line; line = strtok_r(NULL, "\n", &save)) {
		if (!kluis_fpr_normalize(line, fpr))
			continue;
		grown = realloc(*out, (*n + 1) * sizeof(*grown));
		if (!grown)
			break;
		*out = grown;
		if (((*out)[*n] = strdup(fpr)) != NULL)
			(*n)++;
	}
	kluis_buf_dispose(&text);
	free(path);
	return err == KLUIS_ENOTFOUND ? 0 : err;
}

int kluis_verify_dossier(kluis_vault *vault, const char *id, const kluis_verify_opts *opts, kluis_verify_report *rep)
{
	kluis_dossier *d = NULL;
	kluis_keyring *kr;
	kluis_checkpoint cp;
	kluis_verify_opts o = *opts;
	const char *const *trust;
	size_t ntrust;
	char *cache_key = NULL, **dtrust = NULL;
	size_t ndtrust = 0;
	kluis_keyring *own_kr = NULL;
	vctx v;
	int err;

	memset(rep, 0, sizeof(*rep));
	if ((err = kluis_dossier_open(&d, vault, id)) < 0 || (err = dossier_keyring(vault, d, &own_kr, &kr)) < 0)
		goto cleanup;
	if (!o.ntrust) {
		/* an imported dossier keeps the trust root it was imported under */
		if (load_dossier_trust(d, &dtrust, &ndtrust) == 0 && ndtrust) {
			o.trust = (const char *const *)dtrust;
			o.ntrust = ndtrust;
		} else {
			if ((err = kluis_vault_trust(vault, &trust, &ntrust)) < 0)
				goto cleanup;
			o.trust = trust;
			o.ntrust = ntrust;
		}
	}
	cache_key = kluis_vcache_key(vault->root, id);
	if ((err = kluis_verify_repository(d->repo, id, kr, &o, cache_key, rep)) < 0)
		goto cleanup;
	/* the vault's own checkpoint: the head must descend from it */
	memset(&v, 0, sizeof(v));
	v.repo = d->repo;
	v.kr = kr;
	v.opts = &o;
	v.rep = rep;
	v.id = id;
	err = kluis_checkpoint_load(vault, id, &cp);
	if (err == KLUIS_ENOTFOUND) {
		finding(&v, NULL, "the vault keeps no checkpoint for this dossier (checkpoints/%s is missing)", id);
	} else if (err < 0) {
		finding(&v, NULL, "the vault's checkpoint is unreadable: %s", kluis_error_last());
	} else {
		check_checkpoint(&v, &cp, &rep->head, "vault's");
		kluis_checkpoint_dispose(&cp);
	}
	err = 0;
cleanup:
	kluis_keyring_free(own_kr);
	kluis_strings_free(dtrust, ndtrust);
	free(cache_key);
	kluis_dossier_free(d);
	return err;
}
