/*
 * replay_readlog.c - refs/kluis/access, the read log (SPEC invariant 6; docs/FORMATS.md,
 * "The read log").
 *
 * Each read is a signed commit with the empty tree whose parent is the read before it: subject
 * `access <entry or ->`, trailers Kluis-Action: access, Kluis-Entry, Kluis-Role, Kluis-Purpose
 * (a code), Kluis-Head (the main commit that was read) and Kluis-Seq (its place in the log, so
 * the newest record vouches for the log's length). The signer held that reading role at that
 * head. What the transfer commit says of the log (its head and length) must hold: the log may
 * grow after it, never lose what it vouched for.
 */
#include "vault/verify/replay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EMPTY_TREE "4b825dc642cb6eb9a060e54bf8d69288fbee4904"

/* The main commits in order, with the roles that held after each (for the reads of that head). */
typedef struct {
	git_oid oid;
	size_t pos;
} rmain;

static int rmain_cmp(const void *a, const void *b)
{
	return git_oid_cmp(&((const rmain *)a)->oid, &((const rmain *)b)->oid);
}

/* Collect the read log newest first, then replay it oldest first. */
void kluis_rreadlog_check(replay *r, const git_oid *main_head, const git_oid *old_head, const git_oid *from, size_t from_count,
			  git_oid *access_head, size_t *count)
{
	git_reference *ref = NULL;
	git_oid *chain = NULL, cur;
	size_t n = 0, cap = 0, i, nmain = 0;
	rmain *mains = NULL;
	git_commit *gc = NULL;
	kluis_roles roles = { NULL, 0 };
	git_oid roles_blob;
	bool have_roles = false;
	git_oid empty;
	int64_t last = 0;
	bool vouched = git_oid_is_zero(&r->xfer_access) || !r->xfer_new, reached = from == NULL;

	memset(access_head, 0, sizeof(*access_head));
	*count = 0;
	git_oid_fromstr(&empty, EMPTY_TREE);
	if (git_reference_lookup(&ref, r->repo, KLUIS_ACCESS_REF) < 0) {
		if (from)
			kluis_rfinding(r, NULL, "refs/kluis/access is gone, though %zu reads were verified before", from_count);
		else if (r->xfer_count)
			kluis_rfinding(r, NULL, "refs/kluis/access is missing, though the transfer vouched for %llu reads", r->xfer_count);
		goto cleanup;
	}
	if (git_reference_type(ref) != GIT_REFERENCE_DIRECT) {
		kluis_rfinding(r, NULL, "refs/kluis/access is not a commit id");
		goto cleanup;
	}
	git_oid_cpy(&cur, git_reference_target(ref));
	git_oid_cpy(access_head, &cur);
	/* the chain, newest first (parents are checked strictly when each record is read) */
	for (;;) {
		if (n == cap) {
			git_oid *g = realloc(chain, (cap = cap ? 2 * cap : 64) * sizeof(*g));
			if (!g)
				goto cleanup;
			chain = g;
		}
		if (from && git_oid_equal(&cur, from)) {
			reached = true;
			break;
		}
		git_oid_cpy(&chain[n++], &cur);
		if (git_commit_lookup(&gc, r->repo, &cur) < 0) {
			kluis_rfinding(r, &cur, "read log: record missing or unreadable");
			goto cleanup;
		}
		if (git_commit_parentcount(gc) == 0)
			break;
		git_oid_cpy(&cur, git_commit_parent_id(gc, 0));
		git_commit_free(gc);
		gc = NULL;
	}
	git_commit_free(gc);
	gc = NULL;
	if (!vouched && from && git_oid_equal(from, &r->xfer_access)) {
		vouched = true;
		if (from_count != r->xfer_count)
			kluis_rfinding(r, from, "the transfer vouched for %llu reads up to this record, the log holds %zu", r->xfer_count, from_count);
	}
	if (!reached) {
		char hex[GIT_OID_HEXSZ + 1];
		kluis_rfinding(r, NULL, "the read log was cut back or rewritten: it no longer holds record %s, read %zu, verified before",
			       git_oid_tostr(hex, sizeof(hex), from), from_count);
		goto cleanup;
	}
	/* an incremental run: the records after `from` are judged against it */
	if (from) {
		git_commit *fc = NULL;
		if (git_commit_lookup(&fc, r->repo, from) == 0)
			last = (int64_t)git_commit_time(fc);
		git_commit_free(fc);
	}
	/* the main chain, to place each read's head: back to the resumed head, whose ancestors
	 * are judged by ancestry */
	{
		git_oid m;
		git_oid_cpy(&m, main_head);
		for (;;) {
			rmain *g = realloc(mains, (nmain + 1) * sizeof(*g));
			if (!g)
				goto cleanup;
			mains = g;
			git_oid_cpy(&mains[nmain].oid, &m);
			mains[nmain].pos = nmain;
			nmain++;
			if ((old_head && git_oid_equal(&m, old_head)) || git_commit_lookup(&gc, r->repo, &m) < 0 || git_commit_parentcount(gc) == 0)
				break;
			git_oid_cpy(&m, git_commit_parent_id(gc, 0));
			git_commit_free(gc);
			gc = NULL;
		}
		git_commit_free(gc);
		gc = NULL;
		qsort(mains, nmain, sizeof(*mains), rmain_cmp);
	}
	for (i = n; i-- > 0;) {
		rcommit c;
		const char *entry, *purpose, *head, *seq;
		git_oid h;
		rmain key, *found;
		char subject[80], want_seq[32];
		unsigned rbit = 0;
		rtrailer want[6];
		size_t k;
		bool ok;

		r->rep->reads++;
		if (kluis_rcommit_read(r, &chain[i], &c) < 0)
			goto cleanup;
		ok = (i == n - 1) ? (from ? c.has_parent && git_oid_equal(&c.parent, from) : !c.has_parent)
				  : (c.has_parent && git_oid_equal(&c.parent, &chain[i + 1]));
		if (!ok || !git_oid_equal(&c.tree, &empty)) {
			kluis_rfinding(r, &chain[i], "read log: record: not an empty-tree record on the one before it");
			kluis_rcommit_dispose(&c);
			goto cleanup;
		}
		entry = kluis_rcommit_value(&c, "Kluis-Entry");
		purpose = kluis_rcommit_value(&c, "Kluis-Purpose");
		head = kluis_rcommit_value(&c, "Kluis-Head");
		seq = kluis_rcommit_value(&c, "Kluis-Seq");
		snprintf(subject, sizeof(subject), "access %s", entry ? entry : "");
		snprintf(want_seq, sizeof(want_seq), "%zu", from_count + n - i);
		want[0] = (rtrailer){ "Kluis-Action", "access" };
		want[1] = (rtrailer){ "Kluis-Entry", (char *)(entry ? entry : "") };
		want[2] = (rtrailer){ "Kluis-Role", c.role_name };
		want[3] = (rtrailer){ "Kluis-Purpose", (char *)(purpose ? purpose : "") };
		want[4] = (rtrailer){ "Kluis-Head", (char *)(head ? head : "") };
		want[5] = (rtrailer){ "Kluis-Seq", want_seq };
		ok = strcmp(c.subject, subject) == 0 && c.ntr == 6 && seq;
		for (k = 0; ok && k < 6; k++)
			ok = strcmp(c.tr[k].key, want[k].key) == 0 && strcmp(c.tr[k].value, want[k].value) == 0;
		if (!ok) {
			kluis_rfinding(r, &chain[i], "read log: record: its message is not the one kluis writes (record %zu of %zu)", from_count + n - i, from_count + n);
			kluis_rcommit_dispose(&c);
			goto cleanup;
		}
		if (!kluis_purpose_valid(purpose))
			kluis_rfinding(r, &chain[i], "read log: record: purpose '%s' is not a code", purpose);
		if (strcmp(entry, "-") != 0 && !kluis_rentry_find(r, entry))
			kluis_rfinding(r, &chain[i], "read log: record: entry %s is not an entry of this dossier", entry);
		found = NULL;
		if (strlen(head) == 40 && git_oid_fromstr(&h, head) == 0) {
			git_oid_cpy(&key.oid, &h);
			found = bsearch(&key, mains, nmain, sizeof(*mains), rmain_cmp);
			if (!found && old_head && git_graph_descendant_of(r->repo, old_head, &h) == 1)
				found = &key;
		}
		if (!found) {
			kluis_rfinding(r, &chain[i], "read log: record: Kluis-Head %s is not in the dossier's history", head);
		} else {
			/* the roles at that head decide whether the reader could read (parsed again only
			 * when the roles file differs from the last record's) */
			git_commit *hc = NULL;
			git_tree *ht = NULL;
			kluis_buf text = KLUIS_BUF_INIT;
			const git_tree_entry *te = NULL;
			bool at_head = git_commit_lookup(&hc, r->repo, &h) == 0 && git_commit_tree(&ht, hc) == 0 && (te = git_tree_entry_byname(ht, "roles"));
			if (at_head && !(have_roles && git_oid_equal(&roles_blob, git_tree_entry_id(te)))) {
				kluis_roles_dispose(&roles);
				have_roles = kluis_rblob(r, git_tree_entry_id(te), &text) == 0 && kluis_roles_parse(&roles, (const char *)text.ptr, text.len) == 0;
				git_oid_cpy(&roles_blob, git_tree_entry_id(te));
			}
			if (at_head && have_roles) {
				if (kluis_role_parse(c.role_name, &rbit) < 0 || !(rbit & KLUIS_ROLES_READING) || kluis_roles_of(&roles, c.signer) != rbit)
					kluis_rfinding(r, &chain[i], "read log: record: the signer was not the %s of this dossier at the head it read", c.role_name);
				if (c.time < git_commit_time(hc) - KLUIS_CLOCK_TOLERANCE)
					kluis_rfinding(r, &chain[i], "read log: record: dated before the head it read");
				/* what was read existed where it was read: an entry of the final state may
				 * still have been added after the head the record names */
				if (strcmp(entry, "-") != 0 && kluis_entry_id_valid(entry)) {
					git_tree_entry *ee = NULL;
					char dir[64];
					kluis_entry_dir(entry, dir);
					if (git_tree_entry_bypath(&ee, ht, dir) < 0)
						kluis_rfinding(r, &chain[i], "read log: record: entry %s was not in the dossier at the head it read", entry);
					git_tree_entry_free(ee);
				}
			} else {
				kluis_rfinding(r, &chain[i], "read log: record: the roles at its head cannot be read");
			}
			kluis_buf_dispose(&text);
			git_tree_free(ht);
			git_commit_free(hc);
		}
		if (c.time < last)
			kluis_rfinding(r, &chain[i], "read log: record: dated before the read before it");
		if (c.sigtime < last)
			kluis_rfinding(r, &chain[i], "read log: record: signed before the read before it (a backdated signature?)");
		if (c.time > kluis_now() + KLUIS_CLOCK_TOLERANCE)
			kluis_rfinding(r, &chain[i], "read log: record: dated in the future");
		last = c.time;
		if (!vouched && git_oid_equal(&chain[i], &r->xfer_access)) {
			vouched = true;
			if ((unsigned long long)(from_count + n - i) != r->xfer_count)
				kluis_rfinding(r, &chain[i], "the transfer vouched for %llu reads up to this record, the log holds %zu", r->xfer_count, from_count + n - i);
		}
		kluis_rcommit_dispose(&c);
	}
	*count = from_count + n;
cleanup:
	if (!vouched) {
		char hex[GIT_OID_HEXSZ + 1];
		kluis_rfinding(r, NULL, "the read log no longer holds record %s, up to which the transfer vouched for %llu reads (truncated?)",
			       git_oid_tostr(hex, sizeof(hex), &r->xfer_access), r->xfer_count);
	}
	kluis_roles_dispose(&roles);
	git_commit_free(gc);
	free(mains);
	free(chain);
	git_reference_free(ref);
}
