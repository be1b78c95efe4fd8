/*
 * history.c - the dossier's history as events, and the read log.
 *
 * `kluis log` is built from commit metadata alone (SPEC invariant 5: the klant sees every
 * addition without anything being decrypted). Read records live on refs/kluis/access, a
 * separate signed linear chain, so reading never changes the dossier's own history
 * (invariant 6). A record follows the decryption it names (a refused or failed one leaves
 * none) and precedes the delivery of any of its plaintext; decryptions kluis makes for its
 * own decisions are recorded too, each with its own purpose code.
 */
#include "vault/store/internal.h"
#include "vault/store/checkpoint.h"
#include "vault/pgp/crypto.h"
#include "vault/store/history.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAIN_REF "refs/heads/main"
#define ACCESS_REF "refs/kluis/access"

bool kluis_purpose_valid(const char *p)
{
	size_t n = 0;

	for (; p[n]; n++)
		if (!(islower((unsigned char)p[n]) || isdigit((unsigned char)p[n]) || p[n] == '-'))
			return false;
	return n >= 1 && n <= 40;
}

int kluis_event_from_commit(git_commit *c, bool access, kluis_event *ev)
{
	git_message_trailer_array arr = { 0 };
	const git_signature *who = git_commit_committer(c);
	char **grown;
	size_t i;
	int err = 0;

	memset(ev, 0, sizeof(*ev));
	git_oid_cpy(&ev->commit, git_commit_id(c));
	ev->time = (int64_t)git_commit_time(c);
	ev->access = access;
	snprintf(ev->fpr, sizeof(ev->fpr), "%s", who && who->email ? who->email : "");
	if (git_message_trailers(&arr, git_commit_message(c)) < 0)
		return kluis_git_fail(KLUIS_EVERIFY, "cannot read commit trailers");
	for (i = 0; i < arr.count; i++) {
		const char *k = arr.trailers[i].key, *v = arr.trailers[i].value;
		if (strcmp(k, "Kluis-Action") == 0)
			snprintf(ev->action, sizeof(ev->action), "%s", v);
		else if (strcmp(k, "Kluis-Role") == 0)
			snprintf(ev->role, sizeof(ev->role), "%s", v);
		else if (strcmp(k, "Kluis-Kind") == 0)
			snprintf(ev->kind, sizeof(ev->kind), "%s", v);
		else if (strcmp(k, "Kluis-Purpose") == 0)
			snprintf(ev->purpose, sizeof(ev->purpose), "%s", v);
		else if (strcmp(k, "Kluis-Supersedes") == 0)
			snprintf(ev->supersedes, sizeof(ev->supersedes), "%s", v);
		else if (strcmp(k, "Kluis-Head") == 0)
			ev->has_head = git_oid_fromstrn(&ev->head, v, strlen(v)) == 0 && strlen(v) == GIT_OID_HEXSZ;
		else if (strcmp(k, "Kluis-Entry") == 0) {
			grown = realloc(ev->entries, (ev->nentries + 1) * sizeof(*grown));
			if (!grown || !(grown[ev->nentries] = strdup(v))) {
				if (grown)
					ev->entries = grown;
				err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
				break;
			}
			ev->entries = grown;
			ev->nentries++;
		}
	}
	git_message_trailer_array_free(&arr);
	if (!err && !ev->action[0])
		snprintf(ev->action, sizeof(ev->action), "?");
	return err;
}

int kluis_history_walk(git_repository *repo, const char *ref, int (*each)(git_commit *c, void *payload), void *payload)
{
	git_revwalk *walk = NULL;
	git_commit *c = NULL;
	git_oid oid;
	char what[160];
	bool exists;
	int r = 0, err;

	if ((err = kluis_repo_ref(repo, ref, &oid, &exists)) < 0 || !exists)
		return err;
	snprintf(what, sizeof(what), "cannot read the history of %s", ref);
	if (git_revwalk_new(&walk, repo) < 0 || git_revwalk_sorting(walk, GIT_SORT_TOPOLOGICAL | GIT_SORT_REVERSE) < 0 ||
	    git_revwalk_push(walk, &oid) < 0) {
		err = kluis_git_fail(KLUIS_EVERIFY, what);
		goto cleanup;
	}
	while (err == 0 && (r = git_revwalk_next(&oid, walk)) == 0) {
		if (git_commit_lookup(&c, repo, &oid) < 0) {
			err = kluis_git_fail(KLUIS_EVERIFY, what);
			break;
		}
		err = each(c, payload);
		git_commit_free(c);
	}
	if (err == 0 && r != GIT_ITEROVER)
		err = kluis_git_fail(KLUIS_EVERIFY, what);
cleanup:
	git_revwalk_free(walk);
	return err;
}

struct event_list {
	kluis_event *ev;
	size_t n;
	bool access;
};

static int add_event(git_commit *c, void *payload)
{
	struct event_list *l = payload;
	kluis_event *grown = realloc(l->ev, (l->n + 1) * sizeof(*grown));

	if (!grown)
		return kluis_error_set(KLUIS_EGENERIC, "out of memory");
	l->ev = grown;
	/* counted even when it fails: what it holds by then is freed with the rest */
	return kluis_event_from_commit(c, l->access, &l->ev[l->n++]);
}

void kluis_events_free(kluis_event *events, size_t n)
{
	size_t i, j;

	if (!events)
		return;
	for (i = 0; i < n; i++) {
		for (j = 0; j < events[i].nentries; j++)
			free(events[i].entries[j]);
		free(events[i].entries);
	}
	free(events);
}

/*
 * Where a read belongs among the dossier's own events: after the main commit it names in
 * Kluis-Head (the head that was read), so that reads and additions made within one second
 * still come out in the order they happened. A record without a known head falls back to
 * its time. Returns how many main events precede it.
 */
static size_t access_position(const kluis_event *access, const kluis_event *main_ev, size_t nmain, size_t from)
{
	size_t i;

	if (access->has_head) {
		for (i = from; i < nmain; i++)
			if (git_oid_equal(&main_ev[i].commit, &access->head))
				return i + 1;
		for (i = 0; i < from; i++)
			if (git_oid_equal(&main_ev[i].commit, &access->head))
				return from; /* read an older head: it goes where it stands in its chain */
	}
	for (i = from; i < nmain && main_ev[i].time <= access->time; i++)
		;
	return i;
}

int kluis_history(kluis_dossier *d, kluis_event **events, size_t *n)
{
	struct event_list m = { NULL, 0, false }, acc = { NULL, 0, true };
	kluis_event *all = NULL;
	size_t i = 0, j, k = 0, pos;
	int err;

	*events = NULL;
	*n = 0;
	if ((err = kluis_history_walk(d->repo, MAIN_REF, add_event, &m)) < 0 ||
	    (err = kluis_history_walk(d->repo, ACCESS_REF, add_event, &acc)) < 0)
		goto cleanup;
	all = calloc(m.n + acc.n + 1, sizeof(*all));
	if (!all) {
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto cleanup;
	}
	/* both chains are linear and in order; each read goes after the commit it read */
	for (j = 0; j < acc.n; j++) {
		pos = access_position(&acc.ev[j], m.ev, m.n, i);
		while (i < pos)
			all[k++] = m.ev[i++];
		all[k++] = acc.ev[j];
	}
	while (i < m.n)
		all[k++] = m.ev[i++];
	free(m.ev);
	free(acc.ev);
	m.ev = acc.ev = NULL;
	*events = all;
	*n = k;
cleanup:
	kluis_events_free(m.ev, m.n);
	kluis_events_free(acc.ev, acc.n);
	return err;
}

/*
 * One read record. The caller has already decrypted, and checked against its commitment, what
 * the record names, and delivers nothing before this returns 0 (invariant 6: a record means a
 * plaintext was produced; a refused or failed decryption leaves none). lock_held: the caller
 * (a write transaction) holds the dossier lock already.
 */
static int access_record(kluis_dossier *d, const char *entry_id, const char *purpose, const git_oid *at, const kluis_roles *roles,
			 bool lock_held)
{
	kluis_signer *signer = NULL;
	git_treebuilder *tb = NULL;
	git_oid tree, old, new_id;
	kluis_buf msg = KLUIS_BUF_INIT;
	char head[GIT_OID_HEXSZ + 1];
	const char *actor;
	unsigned role;
	unsigned long long next_seq = 1;
	int64_t when = kluis_now(), prev_time = 0;
	bool exists;
	int lock = -1, err;

	if (!purpose || !kluis_purpose_valid(purpose))
		return kluis_error_set(KLUIS_EINVAL, "--purpose '%s' must be a short code of [a-z0-9-] (e.g. begeleiding, inzage, rapportage), never prose", purpose ? purpose : "");
	if ((err = kluis_vault_actor(d->vault, &actor)) < 0 ||
	    (err = kluis_roles_authorize(roles, actor, KLUIS_ACT_ACCESS, &role)) < 0 ||
	    (err = kluis_vault_take_signer(d->vault, &signer)) < 0 || (!lock_held && (err = kluis_repo_lock(d->path, &lock)) < 0) ||
	    (err = kluis_repo_ref(d->repo, ACCESS_REF, &old, &exists)) < 0)
		goto cleanup;
	if (git_treebuilder_new(&tb, d->repo, NULL) < 0 || git_treebuilder_write(&tree, tb) < 0) {
		err = kluis_git_fail(KLUIS_EGENERIC, "cannot build the access record");
		goto cleanup;
	}
	/* Kluis-Seq numbers the reads, so the newest record vouches for the log's length */
	if (exists) {
		git_commit *prev = NULL;
		char seq[32] = "";
		if (git_commit_lookup(&prev, d->repo, &old) < 0 || !kluis_trailer_get(git_commit_message(prev), "Kluis-Seq", seq, sizeof(seq))) {
			git_commit_free(prev);
			err = kluis_error_set(KLUIS_EVERIFY, "cannot read the last record of the read log");
			goto cleanup;
		}
		next_seq = strtoull(seq, NULL, 10) + 1;
		prev_time = (int64_t)git_commit_time(prev);
		git_commit_free(prev);
	}
	/* never dated, nor signed, before the record it follows (as kluis_txn_commit for the
	 * history): another vault's clock may run a little ahead of ours; wait that out, and
	 * refuse a clock that is behind by more than a short wait, rather than write what verify
	 * refuses */
	if (exists && prev_time >= when) {
		int64_t ahead = prev_time - when;
		if (ahead > KLUIS_CLOCK_WAIT) {
			err = kluis_error_set(KLUIS_ESTATE, "the last read record of '%s' is dated %lld s ahead of this machine's clock; set the clock right (NTP) and try again",
					      d->id, (long long)ahead);
			goto cleanup;
		}
		if (ahead > 0)
			sleep((unsigned)ahead);
		when = kluis_now();
		if (when < prev_time)
			when = prev_time;
	}
	git_oid_tostr(head, sizeof(head), at);
	if ((err = kluis_buf_printf(&msg, "access %s\n\nKluis-Action: access\nKluis-Entry: %s\nKluis-Role: %s\nKluis-Purpose: %s\nKluis-Head: %s\nKluis-Seq: %llu\n",
				    entry_id ? entry_id : "-", entry_id ? entry_id : "-", kluis_role_name(role), purpose, head, next_seq)) < 0 ||
	    (err = kluis_repo_commit(d->repo, &tree, exists ? &old : NULL, kluis_role_name(role), actor, when,
				     (const char *)msg.ptr, signer, &new_id)) < 0 ||
	    (err = kluis_repo_ref_cas(d->repo, ACCESS_REF, &new_id, exists ? &old : NULL, "access")) < 0)
		goto cleanup;
	/* the checkpoint vouches for the read log too: a record cut off later is caught */
	if (!d->scratch)
		err = kluis_checkpoint_write(d->vault, d->id, d->repo, &d->head);
cleanup:
	kluis_repo_unlock(lock);
	git_treebuilder_free(tb);
	kluis_signer_free(signer);
	kluis_buf_dispose(&msg);
	return err;
}

int kluis_access_record(kluis_dossier *d, const char *entry_id, const char *purpose)
{
	return access_record(d, entry_id, purpose, &d->head, &d->roles, false);
}

int kluis_access_record_locked(kluis_dossier *d, const char *entry_id, const char *purpose)
{
	return access_record(d, entry_id, purpose, &d->head, &d->roles, true);
}

int kluis_access_replay(kluis_dossier *d, const char *entry_id, const char *purpose, const git_oid *head)
{
	git_commit *c = NULL;
	git_tree *t = NULL;
	kluis_buf text = KLUIS_BUF_INIT;
	kluis_roles roles = { NULL, 0 };
	int err;

	/* the role is the one the reader held at the head the record names (FORMATS, "The read log") */
	if (git_commit_lookup(&c, d->repo, head) < 0 || git_commit_tree(&t, c) < 0)
		err = kluis_git_fail(KLUIS_EVERIFY, "cannot read the commit a read record names");
	else if ((err = kluis_repo_read_path(d->repo, t, "roles", &text)) == 0 &&
		 (err = kluis_roles_parse(&roles, (const char *)text.ptr, text.len)) == 0)
		err = access_record(d, entry_id, purpose, head, &roles, false);
	kluis_roles_dispose(&roles);
	kluis_buf_dispose(&text);
	git_tree_free(t);
	git_commit_free(c);
	return err;
}
