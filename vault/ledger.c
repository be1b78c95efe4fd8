/*
 * ledger.c - the vault's lifecycle ledger (see ledger.h).
 */
#include "ledger.h"
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LEDGER_REF "refs/heads/main"

static int open_ledger(kluis_vault *v, git_repository **repo, char **path)
{
	int err;

	*repo = NULL;
	*path = kluis_path_join(v->root, "ledger.git");
	if (!*path)
		return kluis_error_set(KLUIS_EGENERIC, "out of memory");
	if (kluis_path_exists(*path))
		err = kluis_repo_open(repo, *path);
	else
		err = kluis_repo_create(repo, *path);
	return err;
}

int kluis_ledger_append(kluis_vault *v, const char *action, const char *dossier, const char *role,
			const char *fields, const char *certificate)
{
	git_repository *repo = NULL;
	git_commit *head_commit = NULL;
	git_tree *head_tree = NULL;
	kluis_signer *signer = NULL;
	git_tree_update upd;
	git_treebuilder *tb = NULL;
	git_oid head, tree, commit, blob;
	kluis_buf msg = KLUIS_BUF_INIT;
	char *path = NULL, seqs[32], stamp[17], certpath[128];
	unsigned long long seq = 1;
	const char *actor;
	bool exists;
	int lock = -1, err;

	if ((err = kluis_vault_actor(v, &actor)) < 0 || (err = open_ledger(v, &repo, &path)) < 0 ||
	    (err = kluis_vault_take_signer(v, &signer)) < 0 || (err = kluis_repo_lock(path, &lock)) < 0 ||
	    (err = kluis_repo_ref(repo, LEDGER_REF, &head, &exists)) < 0)
		goto cleanup;
	if (exists) {
		if (git_commit_lookup(&head_commit, repo, &head) < 0 || git_commit_tree(&head_tree, head_commit) < 0) {
			err = kluis_git_fail(KLUIS_EVERIFY, "cannot read the ledger");
			goto cleanup;
		}
		if (kluis_trailer_get(git_commit_message(head_commit), "Kluis-Seq", seqs, sizeof(seqs)))
			seq = strtoull(seqs, NULL, 10) + 1;
	}
	if (certificate) {
		kluis_time_stamp(kluis_now(), stamp);
		snprintf(certpath, sizeof(certpath), "certificates/%s-%s.txt", dossier, stamp);
		memset(&upd, 0, sizeof(upd));
		upd.action = GIT_TREE_UPDATE_UPSERT;
		upd.filemode = GIT_FILEMODE_BLOB;
		upd.path = certpath;
		if ((err = kluis_repo_blob(repo, certificate, strlen(certificate), &blob)) < 0)
			goto cleanup;
		git_oid_cpy(&upd.id, &blob);
	}
	if (!head_tree && (git_treebuilder_new(&tb, repo, NULL) < 0 || git_treebuilder_write(&tree, tb) < 0 ||
			   git_tree_lookup(&head_tree, repo, &tree) < 0)) {
		err = kluis_git_fail(KLUIS_EGENERIC, "cannot build the ledger tree");
		goto cleanup;
	}
	if (certificate) {
		if (git_tree_create_updated(&tree, repo, head_tree, 1, &upd) < 0) {
			err = kluis_git_fail(KLUIS_EGENERIC, "cannot build the ledger tree");
			goto cleanup;
		}
	} else {
		git_oid_cpy(&tree, git_tree_id(head_tree));
	}
	if ((err = kluis_buf_printf(&msg, "%s %s\n\nKluis-Action: %s\nKluis-Dossier: %s\nKluis-Role: %s\n%sKluis-Seq: %llu\n", action,
				    dossier, action, dossier, role, fields ? fields : "", seq)) < 0 ||
	    (err = kluis_repo_commit(repo, &tree, exists ? &head : NULL, role, actor, kluis_now(), (const char *)msg.ptr, signer,
				     &commit)) < 0 ||
	    (err = kluis_repo_ref_cas(repo, LEDGER_REF, &commit, exists ? &head : NULL, action)) < 0)
		goto cleanup;
cleanup:
	kluis_repo_unlock(lock);
	kluis_buf_dispose(&msg);
	kluis_signer_free(signer);
	git_treebuilder_free(tb);
	git_tree_free(head_tree);
	git_commit_free(head_commit);
	git_repository_free(repo);
	free(path);
	return err;
}

const char *kluis_ledger_field_get(const kluis_ledger_event *e, const char *key)
{
	size_t i;

	for (i = 0; i < e->nfields; i++)
		if (strcmp(e->fields[i].key, key) == 0)
			return e->fields[i].value;
	return NULL;
}

void kluis_ledger_events_free(kluis_ledger_event *events, size_t n)
{
	size_t i;

	if (!events)
		return;
	for (i = 0; i < n; i++) {
		free(events[i].fields);
		free(events[i].certificate);
	}
	free(events);
}

static int load_certificate(git_repository *repo, git_commit *c, git_commit *parent, kluis_ledger_event *e)
{
	git_tree *t = NULL, *pt = NULL, *certs = NULL, *pcerts = NULL;
	git_tree_entry *te = NULL, *pte = NULL;
	git_blob *blob = NULL;
	size_t i;

	if (git_commit_tree(&t, c) < 0 || git_tree_entry_bypath(&te, t, "certificates") < 0 ||
	    git_tree_lookup(&certs, repo, git_tree_entry_id(te)) < 0)
		goto cleanup;
	if (parent && git_commit_tree(&pt, parent) == 0 && git_tree_entry_bypath(&pte, pt, "certificates") == 0)
		git_tree_lookup(&pcerts, repo, git_tree_entry_id(pte));
	for (i = 0; i < git_tree_entrycount(certs); i++) {
		const git_tree_entry *ce = git_tree_entry_byindex(certs, i);
		if (pcerts && git_tree_entry_byname(pcerts, git_tree_entry_name(ce)))
			continue;
		if (git_blob_lookup(&blob, repo, git_tree_entry_id(ce)) == 0) {
			e->certificate = strndup(git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob));
			git_blob_free(blob);
		}
		break;
	}
cleanup:
	git_tree_free(certs);
	git_tree_free(pcerts);
	git_tree_entry_free(te);
	git_tree_entry_free(pte);
	git_tree_free(t);
	git_tree_free(pt);
	return 0;
}

int kluis_ledger_events(kluis_vault *v, const char *dossier, kluis_ledger_event **events, size_t *n)
{
	git_repository *repo = NULL;
	git_revwalk *walk = NULL;
	git_commit *c = NULL, *parent = NULL;
	git_message_trailer_array tr = { 0 };
	kluis_ledger_event *list = NULL, *grown, *e;
	git_oid oid, head;
	char *path = kluis_path_join(v->root, "ledger.git");
	size_t count = 0, i;
	bool exists;
	int err = 0;

	*events = NULL;
	*n = 0;
	if (!path)
		return kluis_error_set(KLUIS_EGENERIC, "out of memory");
	if (!kluis_path_exists(path))
		goto cleanup;
	if ((err = kluis_repo_open(&repo, path)) < 0 || (err = kluis_repo_ref(repo, LEDGER_REF, &head, &exists)) < 0 || !exists)
		goto cleanup;
	if (git_revwalk_new(&walk, repo) < 0 || git_revwalk_sorting(walk, GIT_SORT_TOPOLOGICAL | GIT_SORT_REVERSE) < 0 ||
	    git_revwalk_push(walk, &head) < 0) {
		err = kluis_git_fail(KLUIS_EGENERIC, "cannot walk the ledger");
		goto cleanup;
	}
	while (git_revwalk_next(&oid, walk) == 0) {
		if (git_commit_lookup(&c, repo, &oid) < 0) {
			err = kluis_git_fail(KLUIS_EVERIFY, "ledger commit missing");
			goto cleanup;
		}
		grown = realloc(list, (count + 1) * sizeof(*list));
		if (!grown) {
			err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
			goto cleanup;
		}
		list = grown;
		e = &list[count];
		memset(e, 0, sizeof(*e));
		git_oid_cpy(&e->commit, &oid);
		e->time = (int64_t)git_commit_time(c);
		snprintf(e->fpr, sizeof(e->fpr), "%s", git_commit_committer(c)->email);
		if (git_message_trailers(&tr, git_commit_message(c)) == 0) {
			e->fields = calloc(tr.count + 1, sizeof(*e->fields));
			for (i = 0; e->fields && i < tr.count; i++) {
				snprintf(e->fields[i].key, sizeof(e->fields[i].key), "%s", tr.trailers[i].key);
				snprintf(e->fields[i].value, sizeof(e->fields[i].value), "%s", tr.trailers[i].value);
			}
			e->nfields = e->fields ? tr.count : 0;
			git_message_trailer_array_free(&tr);
		}
		snprintf(e->action, sizeof(e->action), "%s", kluis_ledger_field_get(e, "Kluis-Action") ? kluis_ledger_field_get(e, "Kluis-Action") : "?");
		snprintf(e->dossier, sizeof(e->dossier), "%s", kluis_ledger_field_get(e, "Kluis-Dossier") ? kluis_ledger_field_get(e, "Kluis-Dossier") : "?");
		snprintf(e->role, sizeof(e->role), "%s", kluis_ledger_field_get(e, "Kluis-Role") ? kluis_ledger_field_get(e, "Kluis-Role") : "?");
		if (strcmp(e->action, "destroy") == 0)
			load_certificate(repo, c, parent, e);
		if (dossier && strcmp(e->dossier, dossier) != 0) {
			free(e->fields);
			free(e->certificate);
		} else {
			count++;
		}
		git_commit_free(parent);
		parent = c;
		c = NULL;
	}
	*events = list;
	*n = count;
	list = NULL;
	count = 0;
cleanup:
	kluis_ledger_events_free(list, count);
	git_commit_free(c);
	git_commit_free(parent);
	git_revwalk_free(walk);
	git_repository_free(repo);
	free(path);
	return err;
}
