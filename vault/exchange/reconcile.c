/*
 * reconcile.c - writes and reads that reconcile (see sync_internal.h): a pull that finds both
 * the server and this vault moved replays the vault's unpublished commits on main and records
 * of the read log on top of the server's, re-signed by the actor, in the pull's scratch copy.
 *
 * The rule, stated (docs/DESIGN.md, "Sync: writes and reads that reconcile"):
 *   - add, statement, correct, consent, approve and erase are replayed as the difference each
 *     made to its parent's tree, applied to the new parent. Every path it changes must be as
 *     the commit found it: an entry is a new path, so two vaults' entries never conflict; the
 *     same entry erased on both sides, or anything else the server changed meanwhile, does.
 *   - roles (with the rewrap that follows it) and close are done again on the new state: the
 *     server's new entries are rewrapped to the new readers too, the close is dated now; a
 *     close, or a roles change, that both sides made is made once (the server's).
 *   - transfer is never replayed: it vouches for a read log and a history that have grown.
 *   - an entry written here while the server changed the roles was encrypted to the readers
 *     of before: the actor decrypts it (checked against its commitment) and re-encrypts it to
 *     the readers of now, `plain` unchanged, and that read is on record like a rewrap's.
 *   - read records are re-signed in order after the server's, naming the replay of the commit
 *     they named where that commit was replayed; the rewrap's own record is made again with it.
 *   - only the actor's own commits and records are replayed: a signature is the signer's.
 * What comes out is verified as a whole by the caller (sync.c) before the vault adopts it, so a
 * replay the model refuses (the server removed the actor's role, withdrew a consent an entry
 * cites, closed the dossier first) changes nothing here and is reported with its finding.
 */
#include "vault/exchange/sync_internal.h"
#include "vault/exchange/lifecycle.h"
#include "vault/git/commitmsg.h"
#include "vault/store/commitment.h"
#include "vault/store/rights.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	git_oid from, to;
} oid_pair;

struct rc {
	kluis_vault *v;
	const char *id, *actor;
	kluis_dossier *sd;          /* the scratch copy: the server's state, then the replay's */
	oid_pair *map;              /* an unpublished commit -> its replay */
	size_t nmap;
	git_oid *redone;            /* rewraps done again: their records were made again too */
	size_t nredone;
	bool rewrap_next;           /* a roles change was done again: its rewrap with it */
	bool skip_rewrap;           /* ... or was the server's already: its rewrap too */
	bool reencrypted;           /* the commit being replayed re-encrypted an object */
	size_t commits, reads;
};

static int map_add(struct rc *x, const git_oid *from, const git_oid *to)
{
	oid_pair *g = realloc(x->map, (x->nmap + 1) * sizeof(*g));

	if (!g)
		return kluis_error_set(KLUIS_EGENERIC, "out of memory");
	x->map = g;
	git_oid_cpy(&g[x->nmap].from, from);
	git_oid_cpy(&g[x->nmap++].to, to);
	return 0;
}

static const git_oid *map_find(const struct rc *x, const git_oid *from)
{
	size_t i;

	for (i = 0; i < x->nmap; i++)
		if (git_oid_equal(&x->map[i].from, from))
			return &x->map[i].to;
	return NULL;
}

/* Commits reachable from `tip` and not from `hide` (may be NULL), oldest first. */
static int unpublished(git_repository *repo, const git_oid *tip, const git_oid *hide, git_oid **out, size_t *n)
{
	git_revwalk *w = NULL;
	git_oid oid, *g;
	int rc, err = 0;

	*out = NULL;
	*n = 0;
	if (git_revwalk_new(&w, repo) < 0 || git_revwalk_sorting(w, GIT_SORT_TOPOLOGICAL | GIT_SORT_REVERSE) < 0 ||
	    git_revwalk_push(w, tip) < 0 || (hide && git_revwalk_hide(w, hide) < 0)) {
		err = kluis_git_fail(KLUIS_EGENERIC, "cannot list this vault's unpublished work");
		goto cleanup;
	}
	while ((rc = git_revwalk_next(&oid, w)) == 0) {
		if (!(g = realloc(*out, (*n + 1) * sizeof(*g)))) {
			err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
			goto cleanup;
		}
		*out = g;
		git_oid_cpy(&g[(*n)++], &oid);
	}
	if (rc != GIT_ITEROVER)
		err = kluis_git_fail(KLUIS_EGENERIC, "cannot list this vault's unpublished work");
cleanup:
	git_revwalk_free(w);
	return err;
}

/* Only the actor's own work is replayed: re-signing another key's commit would make it the
 * actor's. */
static int check_own(const struct rc *x, git_commit *c, const char *what)
{
	const git_signature *a = git_commit_author(c);
	char hex[13];

	if (a && a->email && strcmp(a->email, x->actor) == 0)
		return 0;
	git_oid_tostr(hex, sizeof(hex), git_commit_id(c));
	return kluis_error_set(KLUIS_ECONFLICT, "the server's history of '%s' moved, and this vault's unpublished %s %s was signed by key %s, not by you: only that key can replay it (kluis sync %s --as %s); nothing was changed here",
			       x->id, what, hex, a && a->email ? a->email : "?", x->id, a && a->email ? a->email : "FPR");
}

static bool pointer_path(const char *path)
{
	size_t n = strlen(path);

	if (strcmp(path, "info") == 0)
		return true;
	return strncmp(path, "entries/", 8) == 0 &&
	       ((n > 5 && (strcmp(path + n - 5, "/meta") == 0 || strcmp(path + n - 5, "/body") == 0)) ||
		(n > 7 && strcmp(path + n - 7, "/reason") == 0));
}

static int pointer_of(git_repository *repo, const git_oid *blob_id, kluis_pointer *p)
{
	git_blob *b = NULL;
	int err;

	if (git_blob_lookup(&b, repo, blob_id) < 0)
		return kluis_git_fail(KLUIS_EVERIFY, "cannot read a pointer of this vault's unpublished work");
	err = kluis_pointer_parse(p, git_blob_rawcontent(b), (size_t)git_blob_rawsize(b));
	git_blob_free(b);
	return err;
}

/* The commit's trailers without its Kluis-Seq (the replay numbers it), with Kluis-Approves
 * naming the replay of a replayed commit. */
static int trailers_for_replay(const struct rc *x, const char *message, kluis_buf *subject, kluis_buf *out)
{
	const char *nl = strchr(message, '\n'), *body = strstr(message, "\n\n"), *line, *end;
	git_oid oid;
	const git_oid *to;
	char hex[GIT_OID_HEXSZ + 1];
	int err;

	if (!nl || !body)
		return kluis_error_set(KLUIS_EVERIFY, "a commit of this vault's unpublished work has no trailers");
	if ((err = kluis_buf_put(subject, message, (size_t)(nl - message))) < 0 || (err = kluis_buf_cstr(subject)) < 0)
		return err;
	for (line = body + 2; *line; line = end) {
		end = strchr(line, '\n');
		end = end ? end + 1 : line + strlen(line);
		if (strncmp(line, "Kluis-Seq: ", 11) == 0)
			continue;
		if (strncmp(line, "Kluis-Approves: ", 16) == 0 && git_oid_fromstrn(&oid, line + 16, GIT_OID_HEXSZ) == 0 &&
		    (to = map_find(x, &oid))) {
			git_oid_tostr(hex, sizeof(hex), to);
			if ((err = kluis_buf_printf(out, "Kluis-Approves: %s\n", hex)) < 0)
				return err;
			continue;
		}
		if ((err = kluis_buf_put(out, line, (size_t)(end - line))) < 0)
			return err;
	}
	return kluis_buf_cstr(out);
}

static int conflict(const struct rc *x, git_commit *c, const char *what)
{
	char hex[13];

	git_oid_tostr(hex, sizeof(hex), git_commit_id(c));
	return kluis_error_set(KLUIS_ECONFLICT, "this vault's unpublished commit %s (%.60s) cannot be replayed on the server's history of '%s': %s; nothing was changed here (kluis pull --help says how to take the server's history instead)",
			       hex, git_commit_summary(c) ? git_commit_summary(c) : "?", x->id, what);
}

/*
 * An object of an entry the commit wrote (meta, body or reason at `path` of its tree `src`),
 * re-encrypted to the readers of the replay's parent: the server changed the roles since.
 */
static int reencrypt(struct rc *x, kluis_txn *t, git_commit *c, git_tree *src, const char *path, const git_oid *blob_id)
{
	git_repository *repo = x->sd->repo;
	kluis_buf plain = KLUIS_SECRET_BUF_INIT, meta = KLUIS_SECRET_BUF_INIT;
	unsigned char salt[KLUIS_SALT_LEN];
	const char **readers = NULL, *slash = strrchr(path, '/');
	char entry[64] = "", dir[64], at[96], mark[96];
	size_t n = 0;
	git_blob *blob = NULL;
	kluis_pointer old, p, mp;
	int err;

	if (!slash || (size_t)(slash - path) < 8 + 3 + 1 || (size_t)(slash - path) - 11 >= sizeof(entry))
		return conflict(x, c, "it changes a path kluis does not write");
	snprintf(entry, sizeof(entry), "%.*s", (int)(slash - path - 11), path + 11); /* entries/XX/<ID>/name */
	kluis_entry_dir(entry, dir);
	snprintf(mark, sizeof(mark), "\nKluis-Restricted: %s\n", entry);
	if ((err = pointer_of(repo, blob_id, &old)) < 0 ||
	    (err = kluis_entry_readers(x->sd, strstr(git_commit_message(c), mark) != NULL, &readers, &n)) < 0)
		goto cleanup;
	if (strcmp(slash + 1, "body") == 0) {
		snprintf(at, sizeof(at), "%s/meta", dir);
		if ((err = kluis_commitment_pointer_at(repo, src, at, &mp)) < 0 ||
		    (err = kluis_commitment_decrypt_json(repo, &mp, "an entry's metadata", &meta)) < 0 ||
		    (err = kluis_commitment_body_salt(meta.ptr, meta.len, entry, salt)) < 0 || (err = kluis_pointer_load(repo, &old, &blob)) < 0 ||
		    (err = kluis_commitment_decrypt_body(git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob), &old, entry,
							 kluis_commitment_salt_copy, salt, -1, &plain)) < 0)
			goto cleanup;
	} else if ((err = kluis_commitment_decrypt_json(repo, &old, "an entry's object", &plain)) < 0)
		goto cleanup;
	if ((err = kluis_txn_encrypt_buffer(t, readers, n, plain.ptr, plain.len, &p)) < 0)
		goto cleanup;
	memcpy(p.plain, old.plain, sizeof(p.plain)); /* the same plaintext: the same commitment */
	if ((err = kluis_txn_put_pointer(t, path, &p)) == 0)
		x->reencrypted = true;
cleanup:
	explicit_bzero(salt, sizeof(salt));
	git_blob_free(blob);
	kluis_buf_dispose(&plain);
	kluis_buf_dispose(&meta);
	free(readers);
	return err;
}

/* Apply one delta of the commit to the transaction, if the path is as the commit found it. */
static int replay_delta(struct rc *x, kluis_txn *t, git_commit *c, git_tree *src, const git_diff_delta *dd, bool readers_changed)
{
	git_repository *repo = x->sd->repo;
	const char *path = dd->status == GIT_DELTA_DELETED ? dd->old_file.path : dd->new_file.path;
	git_tree_entry *cur = NULL;
	git_blob *b = NULL;
	kluis_pointer p;
	bool have, expect = dd->status != GIT_DELTA_ADDED;
	char why[256];
	int err = 0;

	if (dd->status != GIT_DELTA_ADDED && dd->status != GIT_DELTA_DELETED && dd->status != GIT_DELTA_MODIFIED)
		return conflict(x, c, "it changes a path's type");
	have = git_tree_entry_bypath(&cur, x->sd->head_tree, path) == 0;
	if (have != expect || (have && !git_oid_equal(git_tree_entry_id(cur), &dd->old_file.id))) {
		snprintf(why, sizeof(why), "the server's history changed %s meanwhile (both sides changed it)", path);
		err = conflict(x, c, why);
		goto cleanup;
	}
	if (dd->status != GIT_DELTA_DELETED && pointer_path(path) && readers_changed) {
		if (strncmp(path, "entries/", 8) != 0) {
			err = conflict(x, c, "it changes the dossier info, and the server changed the roles meanwhile");
			goto cleanup;
		}
		if ((err = reencrypt(x, t, c, src, path, &dd->new_file.id)) < 0)
			goto cleanup;
	} else if (dd->status != GIT_DELTA_DELETED) {
		if (git_blob_lookup(&b, repo, &dd->new_file.id) < 0) {
			err = kluis_git_fail(KLUIS_EVERIFY, "cannot read this vault's unpublished work");
			goto cleanup;
		}
		if ((err = kluis_txn_put(t, path, git_blob_rawcontent(b), (size_t)git_blob_rawsize(b))) < 0)
			goto cleanup;
		if (pointer_path(path) && ((err = pointer_of(repo, &dd->new_file.id, &p)) < 0 || (err = kluis_txn_keep_content(t, &p.oid)) < 0))
			goto cleanup;
	} else if ((err = kluis_txn_remove(t, path)) < 0)
		goto cleanup;
	/* the ciphertext a pointer named before leaves content with it (an erase) */
	if (dd->status != GIT_DELTA_ADDED && pointer_path(path)) {
		kluis_pointer now;
		if ((err = pointer_of(repo, &dd->old_file.id, &p)) < 0)
			goto cleanup;
		if (dd->status == GIT_DELTA_DELETED || ((err = pointer_of(repo, &dd->new_file.id, &now)) == 0 && !git_oid_equal(&now.oid, &p.oid)))
			err = kluis_txn_remove_content(t, &p.oid);
	}
cleanup:
	git_blob_free(b);
	git_tree_entry_free(cur);
	return err;
}

static bool same_roles(git_tree *a, git_tree *b)
{
	const git_tree_entry *ea = git_tree_entry_byname(a, "roles"), *eb = git_tree_entry_byname(b, "roles");

	return ea && eb && git_oid_equal(git_tree_entry_id(ea), git_tree_entry_id(eb));
}

/* add, statement, correct, consent, approve, erase: the commit's own difference, again. */
static int replay_diff(struct rc *x, git_commit *c, kluis_action action)
{
	git_repository *repo = x->sd->repo;
	git_commit *parent = NULL;
	git_tree *old_tree = NULL, *new_tree = NULL;
	git_diff *diff = NULL;
	git_diff_options opts;
	kluis_txn *t = NULL;
	kluis_buf subject = KLUIS_BUF_INIT, trailers = KLUIS_BUF_INIT;
	git_oid replayed;
	size_t i;
	int err;

	git_diff_options_init(&opts, GIT_DIFF_OPTIONS_VERSION);
	if (git_commit_parent(&parent, c, 0) < 0 || git_commit_tree(&old_tree, parent) < 0 || git_commit_tree(&new_tree, c) < 0 ||
	    git_diff_tree_to_tree(&diff, repo, old_tree, new_tree, &opts) < 0) {
		err = kluis_git_fail(KLUIS_EVERIFY, "cannot read this vault's unpublished work");
		goto cleanup;
	}
	if ((err = kluis_txn_begin(&t, x->sd, action)) < 0)
		goto cleanup;
	x->reencrypted = false;
	for (i = 0; i < git_diff_num_deltas(diff); i++)
		if ((err = replay_delta(x, t, c, new_tree, git_diff_get_delta(diff, i), !same_roles(old_tree, x->sd->head_tree))) < 0)
			goto cleanup;
	if ((err = trailers_for_replay(x, git_commit_message(c), &subject, &trailers)) < 0 ||
	    (err = kluis_txn_commit(t, (const char *)subject.ptr, (const char *)trailers.ptr, &replayed)) < 0 ||
	    (err = map_add(x, git_commit_id(c), &replayed)) < 0)
		goto cleanup;
	/* what was decrypted to re-encrypt it is on record, as a rewrap's is (invariant 6); the
	 * transaction still holds the lock */
	if (x->reencrypted && (err = kluis_access_record_locked(x->sd, NULL, "rewrap")) == 0)
		x->reads++;
cleanup:
	kluis_txn_free(t);
	kluis_buf_dispose(&subject);
	kluis_buf_dispose(&trailers);
	git_diff_free(diff);
	git_tree_free(new_tree);
	git_tree_free(old_tree);
	git_commit_free(parent);
	return err;
}

/* roles: the same change, done again on the new state, with its rewrap of every live entry. */
static int redo_roles(struct rc *x, git_commit *c)
{
	const char *msg = git_commit_message(c);
	char removed[64] = "", added[96] = "", role_name[32] = "", fpr[64] = "";
	unsigned role = 0;
	size_t n;
	git_oid roles_commit;
	int err;

	kluis_trailer_get(msg, "Kluis-Role-Removed", removed, sizeof(removed));
	if (kluis_trailer_get(msg, "Kluis-Role-Added", added, sizeof(added)) &&
	    (sscanf(added, "%31s %63s", role_name, fpr) != 2 || kluis_role_parse(role_name, &role) < 0))
		return conflict(x, c, "its Kluis-Role-Added trailer cannot be read");
	/* the server's roles already are what this change makes them (the same change made on
	 * both sides): made once, the server's, with its rewrap */
	if ((err = kluis_dossier_reload(x->sd)) < 0)
		return err;
	if ((!removed[0] || !kluis_roles_of(&x->sd->roles, removed)) && (!role || kluis_roles_of(&x->sd->roles, fpr) == role)) {
		x->rewrap_next = true;
		x->skip_rewrap = true;
		return map_add(x, git_commit_id(c), &x->sd->head);
	}
	if ((err = kluis_roles_change(x->sd, role, role ? fpr : NULL, removed[0] ? removed : NULL, &n)) < 0) {
		char why[400];
		snprintf(why, sizeof(why), "its roles change cannot be made on the server's roles (%s)", kluis_error_last());
		return conflict(x, c, why);
	}
	/* the roles commit is the rewrap's parent */
	if (git_commit_parentcount(x->sd->head_commit) != 1)
		return kluis_git_fail(KLUIS_EGENERIC, "cannot read the replayed roles change");
	git_oid_cpy(&roles_commit, git_commit_parent_id(x->sd->head_commit, 0));
	x->rewrap_next = true;
	return map_add(x, git_commit_id(c), &roles_commit);
}

static int replay_commit(struct rc *x, git_commit *c)
{
	char name[32] = "";
	kluis_action action;
	git_oid *g;
	int err;

	if ((err = check_own(x, c, "commit")) < 0)
		return err;
	if (git_commit_parentcount(c) != 1 || !kluis_trailer_get(git_commit_message(c), "Kluis-Action", name, sizeof(name)) ||
	    kluis_action_parse(name, &action) < 0)
		return conflict(x, c, "it is not a commit kluis replays");
	/* the same roles change made on both sides can be the same commit, byte for byte (one
	 * directie key, one parent, the same second): then only its rewrap differs, and the
	 * server holds its own rewrap after it */
	if (action == KLUIS_ACT_REWRAP && !x->rewrap_next) {
		const git_oid *roles = git_commit_parent_id(c, 0);
		git_commit *p = NULL;
		char pa[32] = "";
		int rc = git_oid_equal(roles, &x->sd->head) ? 1 : git_graph_descendant_of(x->sd->repo, &x->sd->head, roles);
		if (rc < 0)
			return kluis_git_fail(KLUIS_EGENERIC, "cannot compare the histories");
		if (rc == 1 && git_commit_lookup(&p, x->sd->repo, roles) == 0)
			x->rewrap_next = kluis_trailer_get(git_commit_message(p), "Kluis-Action", pa, sizeof(pa)) && strcmp(pa, "roles") == 0;
		git_commit_free(p);
	}
	if (action == KLUIS_ACT_REWRAP) {
		if (!x->rewrap_next)
			return conflict(x, c, "a rewrap is replayed only with the roles change it follows");
		x->rewrap_next = false;
		x->skip_rewrap = false;
		if (!(g = realloc(x->redone, (x->nredone + 1) * sizeof(*g))))
			return kluis_error_set(KLUIS_EGENERIC, "out of memory");
		x->redone = g;
		git_oid_cpy(&g[x->nredone++], git_commit_id(c));
		return map_add(x, git_commit_id(c), &x->sd->head);
	}
	x->rewrap_next = false;
	switch (action) {
	case KLUIS_ACT_ROLES:
		return redo_roles(x, c);
	case KLUIS_ACT_CLOSE: {
		kluis_dossier_file f;
		/* closed on both sides: closed once */
		if ((err = kluis_dossier_reload(x->sd)) < 0 || (err = kluis_dossier_file_load(x->sd, &f)) < 0)
			return err;
		if (strcmp(f.state, "open") == 0 && (err = kluis_dossier_close(x->sd)) < 0)
			return err;
		return map_add(x, git_commit_id(c), &x->sd->head);
	}
	case KLUIS_ACT_ERASE: {
		/* erased on both sides: erased once, the server's (its erase record stands) */
		char entry[64] = "", dir[64], at[96];
		git_tree_entry *te = NULL;
		bool done;
		if (!kluis_trailer_get(git_commit_message(c), "Kluis-Entry", entry, sizeof(entry)) || !kluis_entry_id_valid(entry))
			return conflict(x, c, "its Kluis-Entry trailer cannot be read");
		if ((err = kluis_dossier_reload(x->sd)) < 0)
			return err;
		kluis_entry_dir(entry, dir);
		snprintf(at, sizeof(at), "%s/erased", dir);
		done = git_tree_entry_bypath(&te, x->sd->head_tree, at) == 0;
		git_tree_entry_free(te);
		if (done)
			return map_add(x, git_commit_id(c), &x->sd->head);
		return replay_diff(x, c, action);
	}
	case KLUIS_ACT_TRANSFER:
		return conflict(x, c, "a transfer vouches for the whole history and read log, and the server's have grown since; nothing is handed over twice. Pull the server's work first: move this vault's copy aside and run kluis pull again, then transfer");
	case KLUIS_ACT_INIT:
	case KLUIS_ACT_ACCESS:
		return conflict(x, c, "it is not a commit kluis replays");
	default:
		return replay_diff(x, c, action);
	}
}

static bool redone(const struct rc *x, const git_oid *head)
{
	size_t i;

	for (i = 0; i < x->nredone; i++)
		if (git_oid_equal(&x->redone[i], head))
			return true;
	return false;
}

/* One read record, again, after the server's: the same entry and purpose, naming the replay of
 * the commit it read where that was replayed. */
static int replay_read(struct rc *x, git_commit *c)
{
	const char *msg = git_commit_message(c);
	char entry[64] = "", purpose[64] = "", hex[GIT_OID_HEXSZ + 8] = "";
	const git_oid *to;
	git_oid head;
	int err;

	if ((err = check_own(x, c, "read record")) < 0)
		return err;
	if (!kluis_trailer_get(msg, "Kluis-Entry", entry, sizeof(entry)) || !kluis_trailer_get(msg, "Kluis-Purpose", purpose, sizeof(purpose)) ||
	    !kluis_trailer_get(msg, "Kluis-Head", hex, sizeof(hex)) || git_oid_fromstr(&head, hex) < 0)
		return conflict(x, c, "it is not a read record kluis replays");
	/* the rewrap's record was made again with the rewrap */
	if (strcmp(purpose, "rewrap") == 0 && redone(x, &head))
		return 0;
	if ((to = map_find(x, &head)))
		git_oid_cpy(&head, to);
	if ((err = kluis_access_replay(x->sd, strcmp(entry, "-") ? entry : NULL, purpose, &head)) < 0)
		return err;
	x->reads++;
	return 0;
}

int kluis_reconcile(kluis_vault *v, const char *id, const char *scratch_path, const ref_set *local, const ref_set *server,
		    ref_set *final, size_t *commits, size_t *reads)
{
	struct rc x = { .v = v, .id = id };
	git_repository *repo = NULL;
	git_commit *c = NULL;
	git_oid *list = NULL;
	size_t n = 0, i;
	int rc, err;

	*commits = *reads = 0;
	if ((err = kluis_vault_actor(v, &x.actor)) < 0 || (err = kluis_repo_open(&repo, scratch_path)) < 0)
		goto cleanup;
	/* main: this vault's own when it only went ahead of the server's, else the server's with
	 * the vault's commits replayed on it */
	rc = !local->has[R_MAIN] ? 0 : git_oid_equal(&local->oid[R_MAIN], &server->oid[R_MAIN]) ? 1
				   : git_graph_descendant_of(repo, &local->oid[R_MAIN], &server->oid[R_MAIN]);
	if (rc < 0) {
		err = kluis_git_fail(KLUIS_EGENERIC, "cannot compare the histories");
		goto cleanup;
	}
	{
		ref_set start = *server;
		if (rc == 1) {
			start.oid[R_MAIN] = local->oid[R_MAIN];
			start.oid[R_CONTENT] = local->oid[R_CONTENT];
			start.has[R_CONTENT] = local->has[R_CONTENT];
		}
		if ((err = kluis_sync_set_refs(repo, &start)) < 0 || (err = kluis_dossier_open_scratch(&x.sd, v, id, scratch_path)) < 0)
			goto cleanup;
	}
	if (rc == 0 && local->has[R_MAIN]) {
		if ((err = unpublished(repo, &local->oid[R_MAIN], &server->oid[R_MAIN], &list, &n)) < 0)
			goto cleanup;
		for (i = 0; i < n; i++) {
			git_commit_free(c);
			c = NULL;
			if (git_commit_lookup(&c, repo, &list[i]) < 0) {
				err = kluis_git_fail(KLUIS_EVERIFY, "cannot read this vault's unpublished work");
				goto cleanup;
			}
			if ((err = replay_commit(&x, c)) < 0)
				goto cleanup;
			x.commits++;
		}
		if (x.rewrap_next) {
			err = kluis_error_set(KLUIS_ECONFLICT, "this vault's roles change of '%s' has no rewrap after it; run kluis verify %s", id, id);
			goto cleanup;
		}
	}
	/* the read log: the vault's records after the server's, unless they follow it as they are */
	free(list);
	list = NULL;
	if (local->has[R_ACCESS]) {
		git_oid tip;
		bool has_tip;
		if ((err = kluis_repo_ref(repo, ACCESS_REF, &tip, &has_tip)) < 0)
			goto cleanup;
		rc = !has_tip || git_oid_equal(&local->oid[R_ACCESS], &tip) ? 1 : git_graph_descendant_of(repo, &local->oid[R_ACCESS], &tip);
		if (rc < 0) {
			err = kluis_git_fail(KLUIS_EGENERIC, "cannot compare the read logs");
			goto cleanup;
		}
		if (rc == 1 && x.nmap == 0) {
			git_reference *ref = NULL;
			if (git_reference_create(&ref, repo, ACCESS_REF, &local->oid[R_ACCESS], 1, "kluis sync") < 0) {
				err = kluis_git_fail(KLUIS_EGENERIC, "cannot set up the replay of this vault's reads");
				goto cleanup;
			}
			git_reference_free(ref);
		} else {
			if ((err = unpublished(repo, &local->oid[R_ACCESS], server->has[R_ACCESS] ? &server->oid[R_ACCESS] : NULL, &list, &n)) < 0)
				goto cleanup;
			for (i = 0; i < n; i++) {
				git_commit_free(c);
				c = NULL;
				if (git_commit_lookup(&c, repo, &list[i]) < 0) {
					err = kluis_git_fail(KLUIS_EVERIFY, "cannot read this vault's unpublished reads");
					goto cleanup;
				}
				if ((err = replay_read(&x, c)) < 0)
					goto cleanup;
			}
		}
	}
	memset(final, 0, sizeof(*final));
	if ((err = kluis_repo_ref(repo, MAIN_REF, &final->oid[R_MAIN], &final->has[R_MAIN])) < 0 ||
	    (err = kluis_repo_ref(repo, CONTENT_REF, &final->oid[R_CONTENT], &final->has[R_CONTENT])) < 0 ||
	    (err = kluis_repo_ref(repo, ACCESS_REF, &final->oid[R_ACCESS], &final->has[R_ACCESS])) < 0)
		goto cleanup;
	*commits = x.commits;
	*reads = x.reads;
cleanup:
	git_commit_free(c);
	free(list);
	free(x.map);
	free(x.redone);
	kluis_dossier_free(x.sd);
	git_repository_free(repo);
	return err;
}
