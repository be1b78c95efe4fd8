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

/* One walk of the read log: what the records are judged against, and what they carry forward. */
typedef struct {
	replay *r;
	const git_oid *from;       /* the record an incremental run resumes after, or NULL */
	size_t from_count;         /* the reads up to `from` */
	const git_oid *old_head;   /* the resumed main head: its ancestors are judged by ancestry */
	git_oid *chain;            /* the new records, newest first */
	size_t n;
	rmain *mains;              /* the main chain back to old_head, sorted by oid */
	size_t nmain;
	kluis_roles roles;         /* the roles at the last record's head, parsed once per roles blob */
	git_oid roles_blob;
	bool have_roles;
	int64_t last;              /* the time of the read before */
	bool vouched;              /* the transfer's Kluis-Access-Head was met (or there is none to meet) */
} rlog;

/* The log's ref (FORMATS "The repository"): a direct ref, present once reads were verified or
 * vouched for. */
static int log_ref(rlog *l, git_oid *head)
{
	git_reference *ref = NULL;
	int err = -1;

	if (git_reference_lookup(&ref, l->r->repo, KLUIS_ACCESS_REF) < 0) {
		if (l->from)
			kluis_rfinding(l->r, NULL, "refs/kluis/access is gone, though %zu reads were verified before", l->from_count);
		else if (l->r->xfer_count)
			kluis_rfinding(l->r, NULL, "refs/kluis/access is missing, though the transfer vouched for %llu reads", l->r->xfer_count);
		goto cleanup;
	}
	if (git_reference_type(ref) != GIT_REFERENCE_DIRECT) {
		kluis_rfinding(l->r, NULL, "refs/kluis/access is not a commit id");
		goto cleanup;
	}
	git_oid_cpy(head, git_reference_target(ref));
	err = 0;
cleanup:
	git_reference_free(ref);
	return err;
}

/* The records newest first, back to `from` or the first (FORMATS "The read log": a linear
 * chain; parents are checked strictly when each record is read). */
static int log_chain(rlog *l, const git_oid *head, bool *reached)
{
	git_commit *gc = NULL;
	git_oid cur;
	size_t cap = 0;
	int err = -1;

	git_oid_cpy(&cur, head);
	for (;;) {
		if (l->n == cap) {
			git_oid *g = realloc(l->chain, (cap = cap ? 2 * cap : 64) * sizeof(*g));
			if (!g)
				goto cleanup;
			l->chain = g;
		}
		if (l->from && git_oid_equal(&cur, l->from)) {
			*reached = true;
			break;
		}
		git_oid_cpy(&l->chain[l->n++], &cur);
		if (git_commit_lookup(&gc, l->r->repo, &cur) < 0) {
			kluis_rfinding(l->r, &cur, "read log: record missing or unreadable");
			goto cleanup;
		}
		if (git_commit_parentcount(gc) == 0)
			break;
		git_oid_cpy(&cur, git_commit_parent_id(gc, 0));
		git_commit_free(gc);
		gc = NULL;
	}
	err = 0;
cleanup:
	git_commit_free(gc);
	return err;
}

/* FORMATS "The read log": the transfer's Kluis-Access-Head is the record whose Kluis-Seq is
 * Kluis-Access-Count. */
static void vouch(rlog *l, const git_oid *record, size_t seq)
{
	if (l->vouched || !git_oid_equal(record, &l->r->xfer_access))
		return;
	l->vouched = true;
	if ((unsigned long long)seq != l->r->xfer_count)
		kluis_rfinding(l->r, record, "the transfer vouched for %llu reads up to this record, the log holds %zu", l->r->xfer_count, seq);
}

/* The main chain, to place each read's Kluis-Head (FORMATS "The read log": a commit of main):
 * back to the resumed head, whose ancestors are judged by ancestry. */
static int main_index(rlog *l, const git_oid *main_head)
{
	git_commit *gc = NULL;
	git_oid m;
	int err = -1;

	git_oid_cpy(&m, main_head);
	for (;;) {
		rmain *g = realloc(l->mains, (l->nmain + 1) * sizeof(*g));
		if (!g)
			goto cleanup;
		l->mains = g;
		git_oid_cpy(&l->mains[l->nmain].oid, &m);
		l->mains[l->nmain].pos = l->nmain;
		l->nmain++;
		if ((l->old_head && git_oid_equal(&m, l->old_head)) || git_commit_lookup(&gc, l->r->repo, &m) < 0 || git_commit_parentcount(gc) == 0)
			break;
		git_oid_cpy(&m, git_commit_parent_id(gc, 0));
		git_commit_free(gc);
		gc = NULL;
	}
	qsort(l->mains, l->nmain, sizeof(*l->mains), rmain_cmp);
	err = 0;
cleanup:
	git_commit_free(gc);
	return err;
}

/* FORMATS "The read log": the empty tree, whose parent is the record before it (none for the
 * first). */
static bool record_shape(rlog *l, size_t i, const rcommit *c, const git_oid *empty)
{
	bool ok = (i == l->n - 1) ? (l->from ? c->has_parent && git_oid_equal(&c->parent, l->from) : !c->has_parent)
				  : (c->has_parent && git_oid_equal(&c->parent, &l->chain[i + 1]));

	if (!ok || !git_oid_equal(&c->tree, empty)) {
		kluis_rfinding(l->r, &l->chain[i], "read log: record: not an empty-tree record on the one before it");
		return false;
	}
	return true;
}

/* FORMATS "The read log": subject `access <ENTRY-ID or ->` and the six trailers in order,
 * Kluis-Seq its place in the log. */
static bool record_message(rlog *l, size_t i, const rcommit *c)
{
	const char *entry = kluis_rcommit_value(c, "Kluis-Entry"), *purpose = kluis_rcommit_value(c, "Kluis-Purpose"),
		   *head = kluis_rcommit_value(c, "Kluis-Head"), *seq = kluis_rcommit_value(c, "Kluis-Seq");
	char subject[80], want_seq[32];
	rtrailer want[6];
	size_t k;
	bool ok;

	snprintf(subject, sizeof(subject), "access %s", entry ? entry : "");
	snprintf(want_seq, sizeof(want_seq), "%zu", l->from_count + l->n - i);
	want[0] = (rtrailer){ "Kluis-Action", "access" };
	want[1] = (rtrailer){ "Kluis-Entry", (char *)(entry ? entry : "") };
	want[2] = (rtrailer){ "Kluis-Role", (char *)c->role_name };
	want[3] = (rtrailer){ "Kluis-Purpose", (char *)(purpose ? purpose : "") };
	want[4] = (rtrailer){ "Kluis-Head", (char *)(head ? head : "") };
	want[5] = (rtrailer){ "Kluis-Seq", want_seq };
	ok = strcmp(c->subject, subject) == 0 && c->ntr == 6 && seq;
	for (k = 0; ok && k < 6; k++)
		ok = strcmp(c->tr[k].key, want[k].key) == 0 && strcmp(c->tr[k].value, want[k].value) == 0;
	if (!ok)
		kluis_rfinding(l->r, &l->chain[i], "read log: record: its message is not the one kluis writes (record %zu of %zu)",
			       l->from_count + l->n - i, l->from_count + l->n);
	return ok;
}

/* FORMATS "The read log": at Kluis-Head the signer held the reading role Kluis-Role, the record
 * is not dated (beyond the tolerance) before that head, and the entry read was there. */
static void record_at_head(rlog *l, const git_oid *record, const rcommit *c, const char *entry, const git_oid *h)
{
	replay *r = l->r;
	git_commit *hc = NULL;
	git_tree *ht = NULL;
	kluis_buf text = KLUIS_BUF_INIT;
	const git_tree_entry *te = NULL;
	unsigned rbit = 0;
	bool at_head = git_commit_lookup(&hc, r->repo, h) == 0 && git_commit_tree(&ht, hc) == 0 && (te = git_tree_entry_byname(ht, "roles"));

	/* parsed again only when the roles file differs from the last record's */
	if (at_head && !(l->have_roles && git_oid_equal(&l->roles_blob, git_tree_entry_id(te)))) {
		kluis_roles_dispose(&l->roles);
		l->have_roles = kluis_rblob(r, git_tree_entry_id(te), &text) == 0 && kluis_roles_parse(&l->roles, (const char *)text.ptr, text.len) == 0;
		git_oid_cpy(&l->roles_blob, git_tree_entry_id(te));
	}
	if (at_head && l->have_roles) {
		if (kluis_role_parse(c->role_name, &rbit) < 0 || !(rbit & KLUIS_ROLES_READING) || kluis_roles_of(&l->roles, c->signer) != rbit)
			kluis_rfinding(r, record, "read log: record: the signer was not the %s of this dossier at the head it read", c->role_name);
		if (c->time < git_commit_time(hc) - KLUIS_CLOCK_TOLERANCE)
			kluis_rfinding(r, record, "read log: record: dated before the head it read");
		/* what was read existed where it was read: an entry of the final state may still have
		 * been added after the head the record names */
		if (strcmp(entry, "-") != 0 && kluis_entry_id_valid(entry)) {
			git_tree_entry *ee = NULL;
			char dir[64];
			kluis_entry_dir(entry, dir);
			if (git_tree_entry_bypath(&ee, ht, dir) < 0)
				kluis_rfinding(r, record, "read log: record: entry %s was not in the dossier at the head it read", entry);
			git_tree_entry_free(ee);
		}
	} else {
		kluis_rfinding(r, record, "read log: record: the roles at its head cannot be read");
	}
	kluis_buf_dispose(&text);
	git_tree_free(ht);
	git_commit_free(hc);
}

/* FORMATS "The read log": Kluis-Purpose a code, Kluis-Entry an entry of the dossier,
 * Kluis-Head a commit of main (then the roles and the entry at that head). */
static void record_reads(rlog *l, const git_oid *record, const rcommit *c)
{
	const char *entry = kluis_rcommit_value(c, "Kluis-Entry"), *purpose = kluis_rcommit_value(c, "Kluis-Purpose"),
		   *head = kluis_rcommit_value(c, "Kluis-Head");
	git_oid h;
	rmain key, *found = NULL;

	if (!kluis_purpose_valid(purpose))
		kluis_rfinding(l->r, record, "read log: record: purpose '%s' is not a code", purpose);
	if (strcmp(entry, "-") != 0 && !kluis_rentry_find(l->r, entry))
		kluis_rfinding(l->r, record, "read log: record: entry %s is not an entry of this dossier", entry);
	if (strlen(head) == 40 && git_oid_fromstr(&h, head) == 0) {
		git_oid_cpy(&key.oid, &h);
		found = bsearch(&key, l->mains, l->nmain, sizeof(*l->mains), rmain_cmp);
		if (!found && l->old_head && git_graph_descendant_of(l->r->repo, l->old_head, &h) == 1)
			found = &key;
	}
	if (!found)
		kluis_rfinding(l->r, record, "read log: record: Kluis-Head %s is not in the dossier's history", head);
	else
		record_at_head(l, record, c, entry, &h);
}

/* FORMATS "Commit objects" and "The read log": not dated before the read before it (nor signed
 * before it), not in the future. */
static void record_dates(rlog *l, const git_oid *record, const rcommit *c)
{
	if (c->time < l->last)
		kluis_rfinding(l->r, record, "read log: record: dated before the read before it");
	if (c->sigtime < l->last)
		kluis_rfinding(l->r, record, "read log: record: signed before the read before it (a backdated signature?)");
	if (c->time > kluis_now() + KLUIS_CLOCK_TOLERANCE)
		kluis_rfinding(l->r, record, "read log: record: dated in the future");
	l->last = c->time;
}

/* One record, chain[i]: its form and message (a wrong one stops the walk), what it read, its
 * dates and the transfer's vouching. */
static int record_check(rlog *l, size_t i, const git_oid *empty)
{
	rcommit c;
	int err = -1;

	l->r->rep->reads++;
	if (kluis_rcommit_read(l->r, &l->chain[i], &c) < 0)
		return -1;
	if (!record_shape(l, i, &c, empty) || !record_message(l, i, &c))
		goto cleanup;
	record_reads(l, &l->chain[i], &c);
	record_dates(l, &l->chain[i], &c);
	vouch(l, &l->chain[i], l->from_count + l->n - i);
	err = 0;
cleanup:
	kluis_rcommit_dispose(&c);
	return err;
}

/* Collect the read log newest first, then replay it oldest first. */
void kluis_rreadlog_check(replay *r, const git_oid *main_head, const git_oid *old_head, const git_oid *from, size_t from_count,
			  git_oid *access_head, size_t *count)
{
	rlog l = { .r = r, .from = from, .from_count = from_count, .old_head = old_head,
		   .vouched = git_oid_is_zero(&r->xfer_access) || !r->xfer_new };
	git_oid head, empty;
	size_t i;
	bool reached = from == NULL;

	memset(access_head, 0, sizeof(*access_head));
	*count = 0;
	git_oid_fromstr(&empty, EMPTY_TREE);
	if (log_ref(&l, &head) < 0)
		goto cleanup;
	git_oid_cpy(access_head, &head);
	if (log_chain(&l, &head, &reached) < 0)
		goto cleanup;
	if (from)
		vouch(&l, from, from_count);
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
			l.last = (int64_t)git_commit_time(fc);
		git_commit_free(fc);
	}
	if (main_index(&l, main_head) < 0)
		goto cleanup;
	for (i = l.n; i-- > 0;)
		if (record_check(&l, i, &empty) < 0)
			goto cleanup;
	*count = from_count + l.n;
cleanup:
	if (!l.vouched) {
		char hex[GIT_OID_HEXSZ + 1];
		kluis_rfinding(r, NULL, "the read log no longer holds record %s, up to which the transfer vouched for %llu reads (truncated?)",
			       git_oid_tostr(hex, sizeof(hex), &r->xfer_access), r->xfer_count);
	}
	kluis_roles_dispose(&l.roles);
	free(l.mains);
	free(l.chain);
}
