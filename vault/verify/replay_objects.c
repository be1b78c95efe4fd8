/*
 * replay_objects.c - pointers, the ciphertext they name, and refs/kluis/content
 * (docs/FORMATS.md, "Pointers" and "The content ref").
 *
 * A pointer is a small blob in the signed tree naming one ciphertext object by git id, sha256
 * and size, with a commitment to its plaintext. The ciphertext must be in the object store with
 * exactly that size and sha256 (streamed, objstream.c) and be OpenPGP public-key encrypted to
 * exactly the readers of its moment, read from the packet headers without decrypting.
 * refs/kluis/content is one parentless commit that is a function of its tree (kluis writes it
 * with time 0), and its tree holds exactly the ciphertext objects the final state names: no
 * plaintext or other object can ride along, and nothing is missing that no signed erase or
 * rewrap removed.
 */
#include "vault/verify/replay.h"
#include "vault/git/objstream.h"

#include <gcrypt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int kluis_rblob(replay *r, const git_oid *oid, kluis_buf *out)
{
	git_odb *odb = NULL;
	git_odb_object *obj = NULL;
	int rc, err;

	if (git_repository_odb(&odb, r->repo) < 0)
		return kluis_git_fail(KLUIS_EGENERIC, "cannot open the object store");
	rc = git_odb_read(&obj, odb, oid);
	git_odb_free(odb);
	if (rc == GIT_ENOTFOUND)
		return kluis_error_set(KLUIS_ENOTFOUND, "missing");
	if (rc < 0)
		return kluis_git_fail(KLUIS_EVERIFY, "corrupted");
	if (git_odb_object_type(obj) != GIT_OBJECT_BLOB)
		err = kluis_error_set(KLUIS_EVERIFY, "not a file");
	else
		err = kluis_buf_put(out, git_odb_object_data(obj), git_odb_object_size(obj));
	git_odb_object_free(obj);
	return err;
}

int kluis_rpointer_read(replay *r, const git_oid *commit, const char *what, const git_oid *blob, kluis_pointer *p)
{
	kluis_buf text = KLUIS_BUF_INIT;
	char hex[GIT_OID_HEXSZ + 1];
	int err;

	memset(p, 0, sizeof(*p));
	git_oid_tostr(hex, sizeof(hex), blob);
	if ((err = kluis_rblob(r, blob, &text)) < 0)
		kluis_rfinding(r, commit, "%s: pointer object %s is %s", what, hex, err == KLUIS_ENOTFOUND ? "missing" : kluis_error_last());
	else if ((err = kluis_pointer_parse(p, (const char *)text.ptr, text.len)) < 0)
		kluis_rfinding(r, commit, "%s: not a valid pointer (%s)", what, kluis_error_last());
	kluis_buf_dispose(&text);
	return err < 0 ? -1 : 0;
}

static struct rkeyids *keyids_of(replay *r, const char *fpr)
{
	struct rkeyids *e, *g;
	size_t i;

	for (i = 0; i < r->nkeyids; i++)
		if (strcmp(r->keyids[i].fpr, fpr) == 0)
			return &r->keyids[i];
	if (!(g = realloc(r->keyids, (r->nkeyids + 1) * sizeof(*g))))
		return NULL;
	r->keyids = g;
	e = &g[r->nkeyids++];
	memset(e, 0, sizeof(*e));
	snprintf(e->fpr, sizeof(e->fpr), "%s", fpr);
	if (kluis_keyring_encryption_keyids(r->kr, fpr, &e->ids, &e->n) < 0)
		e->absent = true;
	return e;
}

/* Every reader can decrypt, and nobody else. */
static void check_recipients(replay *r, const git_oid *commit, const char *what, char **rcpt, size_t nrcpt,
			     const char *const *readers, size_t nreaders)
{
	bool *claimed = calloc(nrcpt ? nrcpt : 1, sizeof(bool));
	size_t i, j, k;

	if (!claimed)
		return;
	for (i = 0; i < nreaders; i++) {
		struct rkeyids *e = keyids_of(r, readers[i]);
		bool found = false;
		if (!e || e->absent) {
			kluis_rfinding(r, commit, "%s: cannot check the recipients: no public key %s in the keyring", what, readers[i]);
			continue;
		}
		for (j = 0; j < e->n; j++)
			for (k = 0; k < nrcpt; k++)
				if (strcasecmp(e->ids[j], rcpt[k]) == 0)
					found = claimed[k] = true;
		if (!found)
			kluis_rfinding(r, commit, "%s: not encrypted to the reader %s", what, readers[i]);
	}
	for (k = 0; k < nrcpt; k++)
		if (!claimed[k])
			kluis_rfinding(r, commit, "%s: encrypted to key %s, which holds no reading role here", what, rcpt[k]);
	free(claimed);
}

static void note_missing(replay *r, const git_oid *oid, const git_oid *commit)
{
	git_oid *a = realloc(r->missing, (r->nmissing + 1) * sizeof(*a)), *b;

	if (!a)
		return;
	r->missing = a;
	if (!(b = realloc(r->missing_at, (r->nmissing + 1) * sizeof(*b))))
		return;
	r->missing_at = b;
	git_oid_cpy(&a[r->nmissing], oid);
	git_oid_cpy(&b[r->nmissing], commit);
	r->nmissing++;
}

static void frame_tap(void *ctx, const unsigned char *data, size_t n)
{
	if (!data)
		kluis_pgp_frame_init(ctx);
	else
		kluis_pgp_frame_feed(ctx, data, n);
}

void kluis_rct_check(git_repository *repo, rct *j)
{
	kluis_buf head = KLUIS_BUF_INIT;
	kluis_pgp_frame frame;

	/* the framing walked while the object streams for its hashes: the one data packet ends
	 * where the object ends (clear text after it would ride along unread) */
	if ((j->err = kluis_objstream_check_pointer(repo, &j->p, &head, frame_tap, &frame)) < 0)
		j->msg = strdup(kluis_error_last());
	else if (kluis_pgp_recipients(NULL, head.ptr, head.len, &j->rcpt, &j->nrcpt) < 0) {
		j->not_pgp = true;
		j->msg = strdup(kluis_error_last());
	} else if (!kluis_pgp_frame_whole(&frame)) {
		j->not_pgp = true;
		j->msg = strdup("it is not one encrypted message: bytes follow its encrypted data packet, or its packets are not "
				"session keys then one encrypted data packet");
	}
	kluis_buf_dispose(&head);
}

void kluis_rct_free(rct *j)
{
	if (!j)
		return;
	kluis_strings_free(j->readers, j->nreaders);
	kluis_pgp_ids_free(j->rcpt, j->nrcpt);
	free(j->msg);
	free(j);
}

/*
 * The findings of check j, made where they belong: after the findings made before the check
 * was handed over (j->pos, and the earlier checks' findings inserted since: ct_shift), before
 * those the replay made after it.
 */
static void rct_judge(replay *r, rct *j, const char *const *readers, size_t nreaders)
{
	size_t at = j->pos + r->ct_shift, before = r->rep->nfindings, m;
	char hex[GIT_OID_HEXSZ + 1];

	git_oid_tostr(hex, sizeof(hex), &j->p.oid);
	/* absent now: rightly so if a later erase or rewrap removed it (judged at the end) */
	if (j->err == KLUIS_ENOTFOUND)
		note_missing(r, &j->p.oid, &j->commit);
	else if (j->err < 0)
		kluis_rfinding(r, &j->commit, "%s: %s", j->what, j->msg ? j->msg : "out of memory");
	else if (j->not_pgp)
		kluis_rfinding(r, &j->commit, "%s: ciphertext %s is not OpenPGP public-key encrypted: %s", j->what, hex,
			       j->msg ? j->msg : "out of memory");
	else
		check_recipients(r, &j->commit, j->what, j->rcpt, j->nrcpt, readers, nreaders);
	m = r->rep->nfindings - before;
	if (m && at < before) {
		kluis_finding *f = r->rep->findings, *tmp = malloc(m * sizeof(*tmp));
		if (tmp) {
			memcpy(tmp, f + before, m * sizeof(*tmp));
			memmove(f + at + m, f + at, (before - at) * sizeof(*f));
			memcpy(f + at, tmp, m * sizeof(*tmp));
			free(tmp);
		}
	}
	r->ct_shift += m;
}

void kluis_rct_drain(replay *r, bool all)
{
	rct *j;

	while ((j = kluis_rsigs_ct_take(r->sigs, all)) != NULL) {
		rct_judge(r, j, (const char *const *)j->readers, j->nreaders);
		kluis_rct_free(j);
	}
}

/* Copy the readers into j: 0, or -1 out of memory. */
static int rct_readers(rct *j, const char *const *readers, size_t nreaders)
{
	if (nreaders && !(j->readers = calloc(nreaders, sizeof(char *))))
		return -1;
	for (; j->nreaders < nreaders; j->nreaders++)
		if (!(j->readers[j->nreaders] = strdup(readers[j->nreaders])))
			return -1;
	return 0;
}

int kluis_rpointer_check(replay *r, const git_oid *commit, const char *what, const git_oid *blob, const char *const *readers,
			 size_t nreaders, kluis_pointer *p)
{
	rct *j;

	if (kluis_rpointer_read(r, commit, what, blob, p) < 0)
		return -1;
	if (!(j = calloc(1, sizeof(*j)))) {
		kluis_rfinding(r, commit, "%s: cannot check the ciphertext: out of memory", what);
		return 0;
	}
	git_oid_cpy(&j->commit, commit);
	snprintf(j->what, sizeof(j->what), "%s", what);
	j->p = *p;
	j->pos = r->rep->nfindings - r->ct_shift;
	if (r->sigs && rct_readers(j, readers, nreaders) == 0 && kluis_rsigs_ct_put(r->sigs, j))
		return 0;
	/* no worker (a short run), or out of memory: here and now, after those handed over */
	kluis_rct_drain(r, true);
	j->pos = r->rep->nfindings - r->ct_shift;
	kluis_rct_check(r->repo, j);
	rct_judge(r, j, readers, nreaders);
	kluis_rct_free(j);
	return 0;
}

static int oid_cmp(const void *a, const void *b)
{
	return git_oid_cmp(a, b);
}

/* The ciphertext ids the state names: every live entry's two, every erase's reason, the info. */
static int expected_content(replay *r, git_oid **out, size_t *n)
{
	git_oid *v = malloc((2 * r->nentries + 1) * sizeof(*v));
	size_t i, k = 0;

	if (!v)
		return -1;
	if (!git_oid_is_zero(&r->info))
		git_oid_cpy(&v[k++], &r->info);
	for (i = 0; i < r->nentries; i++) {
		if (r->entries[i].erased) {
			git_oid_cpy(&v[k++], &r->entries[i].reason);
		} else {
			git_oid_cpy(&v[k++], &r->entries[i].meta);
			git_oid_cpy(&v[k++], &r->entries[i].body);
		}
	}
	if (k)
		qsort(v, k, sizeof(*v), oid_cmp);
	*out = v;
	*n = k;
	return 0;
}

/* Which part of the state names ciphertext `oid`, for a finding. */
static const char *owner_of(replay *r, const git_oid *oid)
{
	static __thread char buf[96];
	size_t i;

	if (git_oid_equal(oid, &r->info))
		return "the dossier info";
	for (i = 0; i < r->nentries; i++) {
		rentry *e = &r->entries[i];
		const char *part = e->erased ? (git_oid_equal(oid, &e->reason) ? "reason" : NULL) :
				   git_oid_equal(oid, &e->meta) ? "meta" : git_oid_equal(oid, &e->body) ? "body" : NULL;
		if (part) {
			snprintf(buf, sizeof(buf), "entry %s (%s)", e->id, part);
			return buf;
		}
	}
	return "no part of the state";
}

/*
 * A tree in git's own encoding of what it holds: modes `40000` and `100644` without zero
 * padding or other permission bits, names in increasing order (for kluis's names, of one
 * length in a tree or never a prefix of a directory's, git's order), each once. libgit2 reads
 * `100600`, a zero-padded mode or another order as the same entries: bytes someone could
 * choose, and for the content trees, which nothing signs, a tree id anyone could change.
 */
bool kluis_rtree_canonical(const git_tree *t)
{
	unsigned char stack[4096], *buf = stack, digest[20];
	char hdr[32];
	size_t i, n = git_tree_entrycount(t), len = 0, cap = sizeof(stack), need;
	const char *prev = NULL;
	bool ok = false;
	int hl;

	/* the bytes git writes for what was parsed, hashed as git hashes an object: equal to the
	 * tree's id only if the stored bytes are these (libgit2 verifies each object's id as it
	 * reads it). libgcrypt's SHA-1 over a copy built with memcpy: libgit2's collision-detecting
	 * SHA-1 and a printf per entry cost the replay a tenth of its time (measured) */
	for (i = 0; i < n; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(t, i);
		const char *name = git_tree_entry_name(e), *mode = git_tree_entry_filemode(e) == GIT_FILEMODE_TREE ? "40000" : "100644";
		size_t ml = strlen(mode), nl = strlen(name);

		if (prev && strcmp(prev, name) >= 0)
			goto done;
		prev = name;
		need = 32 + len + ml + nl + 2 + GIT_OID_RAWSZ;
		if (need > cap) {
			unsigned char *grown = malloc(cap = 2 * need);
			if (!grown)
				goto done;
			memcpy(grown, buf, 32 + len);
			if (buf != stack)
				free(buf);
			buf = grown;
		}
		memcpy(buf + 32 + len, mode, ml);
		buf[32 + len + ml] = ' ';
		memcpy(buf + 32 + len + ml + 1, name, nl + 1);
		memcpy(buf + 32 + len + ml + nl + 2, git_tree_entry_id(e)->id, GIT_OID_RAWSZ);
		len += ml + nl + 2 + GIT_OID_RAWSZ;
	}
	/* the object header "tree LEN\0" right before the entries (32 bytes kept free for it) */
	hl = snprintf(hdr, sizeof(hdr), "tree %zu", len) + 1;
	memcpy(buf + 32 - hl, hdr, (size_t)hl);
	kluis_gcrypt_init();
	gcry_md_hash_buffer(GCRY_MD_SHA1, digest, buf + 32 - hl, len + (size_t)hl);
	ok = memcmp(digest, git_tree_id(t)->id, GIT_OID_RAWSZ) == 0;
done:
	if (buf != stack)
		free(buf);
	return ok;
}

/* The content commit as kluis writes it: a function of its tree, nothing else. */
static bool content_commit_canonical(replay *r, const git_oid *oid, git_oid *tree)
{
	git_odb *odb = NULL;
	git_odb_object *obj = NULL;
	kluis_buf want = KLUIS_BUF_INIT;
	bool ok = false;

	if (git_repository_odb(&odb, r->repo) < 0 || git_odb_read(&obj, odb, oid) < 0 || git_odb_object_type(obj) != GIT_OBJECT_COMMIT ||
	    git_odb_object_size(obj) < 45 || git_oid_fromstrn(tree, (const char *)git_odb_object_data(obj) + 5, 40) < 0)
		goto cleanup;
	{
		char hex[GIT_OID_HEXSZ + 1];
		git_oid_tostr(hex, sizeof(hex), tree);
		if (kluis_buf_printf(&want, "tree %s\nauthor kluis <content> 0 +0000\ncommitter kluis <content> 0 +0000\n\nkluis content\n", hex) < 0)
			goto cleanup;
	}
	ok = want.len == git_odb_object_size(obj) && memcmp(want.ptr, git_odb_object_data(obj), want.len) == 0;
cleanup:
	kluis_buf_dispose(&want);
	git_odb_object_free(obj);
	git_odb_free(odb);
	return ok;
}

static bool hex_lower(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[n] == '\0';
}

void kluis_rcontent_check(replay *r)
{
	git_reference *ref = NULL;
	git_tree *root = NULL, *shard = NULL, *old_root = NULL;
	git_oid tree_id, *want = NULL, *have = NULL;
	size_t nwant = 0, nhave = 0, cap = 0, i, j, a, b, ow = 0;
	char hex[GIT_OID_HEXSZ + 1];
	int rc;

	if ((rc = git_reference_lookup(&ref, r->repo, KLUIS_CONTENT_REF)) < 0 || git_reference_type(ref) != GIT_REFERENCE_DIRECT) {
		if (expected_content(r, &want, &nwant) == 0 && nwant)
			kluis_rfinding(r, NULL, "refs/kluis/content is missing, though the history names %zu ciphertext objects", nwant);
		goto cleanup;
	}
	memset(&tree_id, 0, sizeof(tree_id));
	if (!content_commit_canonical(r, git_reference_target(ref), &tree_id)) {
		kluis_rfinding(r, git_reference_target(ref), "refs/kluis/content: not the one parentless commit kluis writes for its tree");
		if (git_oid_is_zero(&tree_id))
			goto cleanup;
	}
	if (git_tree_lookup(&root, r->repo, &tree_id) < 0) {
		kluis_rfinding(r, git_reference_target(ref), "refs/kluis/content: its tree is missing or unreadable");
		goto cleanup;
	}
	git_oid_cpy(&r->content_tree, &tree_id);
	/* a resumed run: the shards the last clean run saw held what its state named */
	if (r->have_old_content && git_tree_lookup(&old_root, r->repo, &r->old_content_tree) < 0)
		old_root = NULL;
	/* the tree: XX/ then 38 hex, each naming the blob whose id those 40 hex are */
	for (i = 0; i < git_tree_entrycount(root); i++) {
		const git_tree_entry *se = git_tree_entry_byindex(root, i);
		const char *sn = git_tree_entry_name(se);
		const git_tree_entry *ose = old_root ? git_tree_entry_byname(old_root, sn) : NULL;
		if (ose && git_oid_equal(git_tree_entry_id(ose), git_tree_entry_id(se)) && git_tree_entry_filemode(se) == GIT_FILEMODE_TREE) {
			/* old_want is sorted, the shards come in order: its range of this first byte */
			unsigned byte = (unsigned)strtoul(sn, NULL, 16);
			while (ow < r->nold_want && r->old_want[ow].id[0] < byte)
				ow++;
			for (; ow < r->nold_want && r->old_want[ow].id[0] == byte; ow++) {
				if (nhave == cap) {
					git_oid *g = realloc(have, (cap = cap ? 2 * cap : 256) * sizeof(*g));
					if (!g)
						goto cleanup;
					have = g;
				}
				git_oid_cpy(&have[nhave++], &r->old_want[ow]);
			}
			continue;
		}
		if (git_tree_entry_filemode(se) != GIT_FILEMODE_TREE || strlen(sn) != 2 || !hex_lower(sn, 2) ||
		    git_tree_lookup(&shard, r->repo, git_tree_entry_id(se)) < 0) {
			kluis_rfinding(r, NULL, "refs/kluis/content: '%s' is not a directory of ciphertext objects", sn);
			goto cleanup;
		}

		for (j = 0; j < git_tree_entrycount(shard); j++) {
			const git_tree_entry *e = git_tree_entry_byindex(shard, j);
			const char *name = git_tree_entry_name(e);
			git_oid named;
			snprintf(hex, sizeof(hex), "%s%s", sn, name);
			if (git_tree_entry_filemode(e) != GIT_FILEMODE_BLOB || strlen(name) != 38 || !hex_lower(name, 38) ||
			    git_oid_fromstr(&named, hex) < 0 || !git_oid_equal(&named, git_tree_entry_id(e))) {
				kluis_rfinding(r, NULL, "refs/kluis/content: '%s/%s' is not a ciphertext object under its own id", sn, name);
				goto cleanup;
			}
			if (nhave == cap) {
				git_oid *g = realloc(have, (cap = cap ? 2 * cap : 256) * sizeof(*g));
				if (!g)
					goto cleanup;
				have = g;
			}
			git_oid_cpy(&have[nhave++], git_tree_entry_id(e));
		}
		/* an empty shard names nothing (libgit2 drops a tree an update empties): room for bits */
		if (git_tree_entrycount(shard) == 0) {
			kluis_rfinding(r, NULL, "refs/kluis/content: '%s' is an empty directory (kluis writes none)", sn);
			goto cleanup;
		}
		/* each entry as kluis writes it; then the bytes of the whole */
		if (!kluis_rtree_canonical(shard)) {
			kluis_rfinding(r, NULL, "refs/kluis/content: '%s' is not in git's own encoding (zero-padded modes or another order)", sn);
			goto cleanup;
		}
		git_tree_free(shard);
		shard = NULL;
	}
	if (!kluis_rtree_canonical(root)) {
		kluis_rfinding(r, git_reference_target(ref), "refs/kluis/content: its tree is not in git's own encoding (zero-padded modes or another order)");
		goto cleanup;
	}
	if (nhave)
		qsort(have, nhave, sizeof(*have), oid_cmp);
	if (expected_content(r, &want, &nwant) < 0)
		goto cleanup;
	for (a = b = 0; a < nwant || b < nhave;) {
		int c = a == nwant ? 1 : b == nhave ? -1 : git_oid_cmp(&want[a], &have[b]);
		if (c < 0) {
			kluis_rfinding(r, NULL, "ciphertext %s of %s is not in refs/kluis/content (no signed erase or rewrap removed it)",
				       git_oid_tostr(hex, sizeof(hex), &want[a]), owner_of(r, &want[a]));
			a++;
		} else if (c > 0) {
			kluis_rfinding(r, NULL, "refs/kluis/content holds object %s that no pointer of the history names",
				       git_oid_tostr(hex, sizeof(hex), &have[b]));
			b++;
		} else {
			a++;
			b++;
		}
	}
	/* a ciphertext absent when its commit was replayed, and still named: lost */
	for (i = 0; i < r->nmissing; i++)
		if (nwant && bsearch(&r->missing[i], want, nwant, sizeof(*want), oid_cmp))
			kluis_rfinding(r, &r->missing_at[i], "ciphertext object %s is missing (%s)", git_oid_tostr(hex, sizeof(hex), &r->missing[i]),
				       owner_of(r, &r->missing[i]));
cleanup:
	free(want);
	free(have);
	git_tree_free(shard);
	git_tree_free(root);
	git_tree_free(old_root);
	git_reference_free(ref);
}

int kluis_rcontent_resume(replay *r, const git_oid *content_tree)
{
	if (expected_content(r, &r->old_want, &r->nold_want) < 0)
		return -1;
	git_oid_cpy(&r->old_content_tree, content_tree);
	r->have_old_content = !git_oid_is_zero(content_tree);
	return 0;
}
