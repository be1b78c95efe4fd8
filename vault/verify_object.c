/*
 * verify_object.c - the objects the signed history links to (SPEC invariants 1 and 3).
 *
 * A pointer (a small signed-tree blob) names a ciphertext object by git id, sha256 and size;
 * the ciphertext must be in refs/kluis/content and the object store with exactly those, and
 * be OpenPGP public-key encrypted to exactly the readers of its moment (read from the packet
 * headers, no decryption). refs/kluis/content is read once per run into a sorted list of ids.
 * What is wrong is named precisely: an object that is absent is "missing", one whose bytes do
 * not hash to its name is "corrupted", a blob that is no pointer is "not a valid pointer".
 */
#include "verify_internal.h"
#include "objstream.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *git_msg(void)
{
	const git_error *e = git_error_last();

	return e && e->message ? e->message : "unreadable";
}

/* Read one object; KLUIS_ENOTFOUND when absent, KLUIS_EVERIFY (message kept) when unreadable. */
static int read_object(vctx *v, const git_oid *oid, git_odb_object **out)
{
	git_odb *odb = NULL;
	int rc;

	*out = NULL;
	if (git_repository_odb(&odb, v->repo) < 0)
		return kluis_git_fail(KLUIS_EGENERIC, "cannot open the object store");
	rc = git_odb_read(out, odb, oid);
	git_odb_free(odb);
	if (rc == GIT_ENOTFOUND)
		return kluis_error_set(KLUIS_ENOTFOUND, "missing");
	if (rc < 0)
		return kluis_error_set(KLUIS_EVERIFY, "corrupted: %s", git_msg());
	return 0;
}

int kluis_vread_blob(vctx *v, const git_oid *oid, kluis_buf *out)
{
	git_odb_object *obj = NULL;
	int err;

	if ((err = read_object(v, oid, &obj)) < 0)
		return err;
	if (git_odb_object_type(obj) != GIT_OBJECT_BLOB)
		err = kluis_error_set(KLUIS_EINVAL, "not a file");
	else
		err = kluis_buf_put(out, git_odb_object_data(obj), git_odb_object_size(obj));
	git_odb_object_free(obj);
	return err;
}

int kluis_vread_roles(vctx *v, git_tree *tree, kluis_buf *text)
{
	const git_tree_entry *te = git_tree_entry_byname(tree, "roles");
	char why[256];

	if (!te || git_tree_entry_type(te) != GIT_OBJECT_BLOB)
		return kluis_error_set(KLUIS_EVERIFY, "no roles file");
	if (kluis_vread_blob(v, git_tree_entry_id(te), text) < 0) {
		snprintf(why, sizeof(why), "%s", kluis_error_last());
		return kluis_error_set(KLUIS_EVERIFY, "roles file object %s", why);
	}
	return 0;
}

int kluis_vload_roles(vctx *v, git_tree *tree, kluis_roles *out)
{
	kluis_buf text = KLUIS_BUF_INIT;
	int err;

	if ((err = kluis_vread_roles(v, tree, &text)) == 0)
		err = kluis_roles_parse(out, (const char *)text.ptr, text.len);
	kluis_buf_dispose(&text);
	return err;
}

bool kluis_vsignature(vctx *v, const git_oid *oid, char signer[41], int64_t *sigtime, char **msg)
{
	git_buf sig = { 0 }, data = { 0 };
	int rc = git_commit_extract_signature(&sig, &data, v->repo, (git_oid *)oid, NULL);
	bool ok = false;

	signer[0] = '\0';
	*msg = NULL;
	if (rc == GIT_ENOTFOUND) {
		*msg = strdup("unsigned commit");
		goto cleanup;
	}
	if (rc < 0) {
		if (asprintf(msg, "cannot read the commit's signature: %s", git_msg()) < 0)
			*msg = NULL;
		goto cleanup;
	}
	if (kluis_pgp_verify_detached(v->kr, data.ptr, data.size, sig.ptr, sig.size, signer, sigtime) < 0) {
		if (asprintf(msg, "signature does not verify: %s", kluis_error_last()) < 0)
			*msg = NULL;
		goto cleanup;
	}
	ok = true;
cleanup:
	git_buf_dispose(&sig);
	git_buf_dispose(&data);
	return ok;
}

bool kluis_vcheck_signature(vctx *v, const git_oid *oid, char signer[41], int64_t *sigtime)
{
	char *msg = NULL;
	bool ok = kluis_vsignature(v, oid, signer, sigtime, &msg);

	if (!ok)
		kluis_vfinding(v, oid, "%s", msg ? msg : "signature does not verify: out of memory");
	free(msg);
	return ok;
}

/* ---- refs/kluis/content ---- */

/*
 * Read refs/kluis/content's tree into v->content: the ids of the entries whose path XX/REST is
 * their own id (anything else there names no ciphertext). Returns the number of shard trees
 * that could not be read.
 */
int kluis_vcontent_load(vctx *v)
{
	git_tree *shard = NULL;
	git_oid *grown;
	char hex[GIT_OID_HEXSZ + 1];
	size_t i, j, cap = 0;
	int unreadable = 0;

	if (!v->content_tree)
		return 0;
	for (i = 0; i < git_tree_entrycount(v->content_tree); i++) {
		const git_tree_entry *se = git_tree_entry_byindex(v->content_tree, i);
		if (git_tree_entry_type(se) != GIT_OBJECT_TREE || strlen(git_tree_entry_name(se)) != 2)
			continue;
		if (git_tree_lookup(&shard, v->repo, git_tree_entry_id(se)) < 0) {
			unreadable++;
			continue;
		}
		for (j = 0; j < git_tree_entrycount(shard); j++) {
			const git_tree_entry *e = git_tree_entry_byindex(shard, j);
			git_oid_tostr(hex, sizeof(hex), git_tree_entry_id(e));
			if (memcmp(hex, git_tree_entry_name(se), 2) != 0 || strcmp(hex + 2, git_tree_entry_name(e)) != 0)
				continue;
			if (v->ncontent == cap) {
				cap = cap ? cap * 2 : 1024;
				if (!(grown = realloc(v->content, cap * sizeof(*grown))))
					break;
				v->content = grown;
			}
			git_oid_cpy(&v->content[v->ncontent++], git_tree_entry_id(e));
		}
		git_tree_free(shard);
		shard = NULL;
	}
	qsort(v->content, v->ncontent, sizeof(git_oid), kluis_void_cmp);
	v->content_read = true;
	return unreadable;
}

bool kluis_vin_content(vctx *v, const git_oid *oid)
{
	char hex[GIT_OID_HEXSZ + 1], path[GIT_OID_HEXSZ + 2];
	git_tree_entry *te = NULL;
	bool in;

	if (v->content_read)
		return bsearch(oid, v->content, v->ncontent, sizeof(git_oid), kluis_void_cmp) != NULL;
	/* an incremental run looks up only what its new commits name */
	if (!v->content_tree)
		return false;
	git_oid_tostr(hex, sizeof(hex), oid);
	snprintf(path, sizeof(path), "%.2s/%s", hex, hex + 2);
	in = git_tree_entry_bypath(&te, v->content_tree, path) == 0 && git_oid_equal(git_tree_entry_id(te), oid);
	git_tree_entry_free(te);
	return in;
}

/* ---- pointers ---- */

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

/* Whether the pointer was later replaced (a rewrap) or its entry erased: then its ciphertext
 * may rightly be gone from refs/kluis/content; the commit that did it is checked on its own. */
static bool superseded(vctx *v, const git_oid *pointer_blob, const char *entry_id, const char *name)
{
	git_tree *hd;
	const git_tree_entry *now;
	bool gone;

	if (!entry_id) {
		now = v->head_tree ? git_tree_entry_byname(v->head_tree, "info") : NULL;
		return now && !git_oid_equal(git_tree_entry_id(now), pointer_blob);
	}
	if (!(hd = head_entry_dir(v, entry_id)))
		return false;
	now = git_tree_entry_byname(hd, name);
	gone = git_tree_entry_byname(hd, "erased") || (now && !git_oid_equal(git_tree_entry_id(now), pointer_blob));
	git_tree_free(hd);
	return gone;
}

/*
 * The ciphertext a pointer names, checked against the pointer's size and sha256. The message
 * (kluis_error_last) says what is wrong: missing, corrupted, or not matching the pointer.
 */
static int load_ciphertext(vctx *v, const kluis_pointer *p, kluis_buf *head)
{
	/* streamed, in bounded memory: a document may be 128 MiB (objstream.h); same messages */
	return kluis_objstream_check_pointer(v->repo, p, head);
}

/* Every reader can decrypt, and nobody else. */
static void check_recipients(vctx *v, const git_oid *commit, const char *what, char **rcpt, size_t nrcpt,
			     const char *const *readers, size_t nreaders)
{
	size_t i, j, k;

	for (i = 0; i < nreaders; i++) {
		kluis_vkeyids *e = NULL;
		bool found = false;
		for (j = 0; j < v->nkeyids && !e; j++)
			if (strcmp(v->keyids[j].fpr, readers[i]) == 0)
				e = &v->keyids[j];
		if (!e) {
			kluis_vkeyids *grown = realloc(v->keyids, (v->nkeyids + 1) * sizeof(*grown));
			if (!grown)
				continue;
			v->keyids = grown;
			e = &grown[v->nkeyids++];
			memset(e, 0, sizeof(*e));
			snprintf(e->fpr, sizeof(e->fpr), "%s", readers[i]);
			if (kluis_keyring_encryption_keyids(v->kr, readers[i], &e->keyids, &e->n) < 0)
				e->missing = true;
		}
		if (e->missing) {
			kluis_vfinding(v, commit, "%s: cannot check the recipients: no public key %s in the keyring", what, readers[i]);
			continue;
		}
		for (j = 0; j < e->n && !found; j++)
			for (k = 0; k < nrcpt && !found; k++)
				found = strcasecmp(e->keyids[j], rcpt[k]) == 0;
		if (!found)
			kluis_vfinding(v, commit, "%s: not encrypted to the reader %s (fewer readers than the roles require)", what, readers[i]);
	}
	for (k = 0; k < nrcpt; k++) {
		bool known = false;
		for (i = 0; i < nreaders && !known; i++)
			for (j = 0; j < v->nkeyids && !known; j++)
				if (strcmp(v->keyids[j].fpr, readers[i]) == 0)
					for (size_t m = 0; m < v->keyids[j].n && !known; m++)
						known = strcasecmp(v->keyids[j].keyids[m], rcpt[k]) == 0;
		if (!known)
			kluis_vfinding(v, commit, "%s: encrypted to key %s, which holds no reading role", what, rcpt[k]);
	}
}

static void ptr_msg(kluis_vptr *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ptr_msg(kluis_vptr *out, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&out->msg, fmt, ap) < 0)
		out->msg = strdup("out of memory");
	va_end(ap);
}

/*
 * Gather one pointer: it parses, its object is in refs/kluis/content and the object store with
 * the signed size and sha256, and whom it is encrypted to. `entry_id` and `name` say where it
 * sits (NULL: the dossier info), to tell a later rewrap or erase from a loss.
 */
void kluis_vgather_pointer(vctx *g, const git_oid *pointer_blob, const char *entry_id, const char *name, kluis_vptr *out)
{
	kluis_buf text = KLUIS_BUF_INIT;
	kluis_pointer p;
	kluis_buf ct = KLUIS_BUF_INIT; /* the ciphertext's first bytes: its recipient packets */
	char hex[GIT_OID_HEXSZ + 1];
	int err;

	memset(out, 0, sizeof(*out));
	git_oid_tostr(hex, sizeof(hex), pointer_blob);
	if ((err = kluis_vread_blob(g, pointer_blob, &text)) == KLUIS_ENOTFOUND) {
		ptr_msg(out, "pointer object %s is missing", hex);
		goto cleanup;
	}
	if (err == KLUIS_EVERIFY) {
		ptr_msg(out, "pointer object %s is %s", hex, kluis_error_last());
		goto cleanup;
	}
	if (err < 0 || kluis_pointer_parse(&p, (const char *)text.ptr, text.len) < 0) {
		ptr_msg(out, "not a valid pointer (a plaintext or foreign object where an entry belongs?)");
		goto cleanup;
	}
	git_oid_tostr(hex, sizeof(hex), &p.oid);
	if (!kluis_vin_content(g, &p.oid)) {
		if (!superseded(g, pointer_blob, entry_id, name))
			ptr_msg(out, "ciphertext %s is not in refs/kluis/content", hex);
		else
			out->quiet = true;
		goto cleanup;
	}
	if (load_ciphertext(g, &p, &ct) < 0) {
		ptr_msg(out, "%s", kluis_error_last());
		goto cleanup;
	}
	if (kluis_pgp_recipients(g->kr, ct.ptr, ct.len, &out->rcpt, &out->nrcpt) < 0)
		ptr_msg(out, "ciphertext %s is not OpenPGP public-key encrypted: %s", hex, kluis_error_last());
cleanup:
	kluis_buf_dispose(&ct);
	kluis_buf_dispose(&text);
}

void kluis_vjudge_pointer(vctx *v, const git_oid *commit, const char *what, const kluis_vptr *p,
			  const char *const *readers, size_t nreaders)
{
	if (p->msg)
		kluis_vfinding(v, commit, "%s: %s", what, p->msg);
	else if (!p->quiet)
		check_recipients(v, commit, what, p->rcpt, p->nrcpt, readers, nreaders);
}

void kluis_vptr_dispose(kluis_vptr *p)
{
	free(p->msg);
	kluis_pgp_ids_free(p->rcpt, p->nrcpt);
	memset(p, 0, sizeof(*p));
}
