/*
 * verify_history.c - the walks of `kluis verify`: main's first-parent chain (linear, every
 * commit present) and the read log on refs/kluis/access (SPEC invariant 6: every record an
 * access record signed by a reader of the head it names, dated no earlier than that head).
 */
#include "verify_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


int kluis_void_cmp(const void *a, const void *b)
{
	return git_oid_cmp(a, b);
}

/* The first-parent chain from head back to `stop` (exclusive) or the root, oldest first. */
int kluis_vmain_chain(vctx *v, const git_oid *head, const git_oid *stop, git_oid **out, size_t *n)
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
			kluis_vfinding(v, &cur, "commit object missing");
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
			kluis_vfinding(v, &cur, "merge commit: the history must be linear");
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
	return bsearch(oid, v->main_oids, v->nmain, sizeof(git_oid), kluis_void_cmp) != NULL;
}

void kluis_vcheck_access(vctx *v, const git_oid *main_head, const git_oid *verified, git_oid *acc_out)
{
	git_revwalk *walk = NULL;
	git_commit *c = NULL, *read_commit = NULL;
	git_tree *read_tree = NULL;
	git_oid oid, acc_head, read_oid;
	kluis_roles roles = { NULL, 0 };
	char signer[41], head_hex[64], action[32];
	bool exists;

	if (kluis_repo_ref(v->repo, KLUIS_ACCESS_REF, &acc_head, &exists) < 0 || !exists)
		return;
	git_oid_cpy(acc_out, &acc_head);
	if (verified && git_oid_equal(verified, &acc_head))
		return;
	if (verified && git_graph_descendant_of(v->repo, &acc_head, verified) != 1)
		verified = NULL; /* the read log was rewritten: check all of it */
	if (git_revwalk_new(&walk, v->repo) < 0 || git_revwalk_sorting(walk, GIT_SORT_TOPOLOGICAL | GIT_SORT_REVERSE) < 0 ||
	    git_revwalk_push(walk, &acc_head) < 0 || (verified && git_revwalk_hide(walk, verified) < 0)) {
		kluis_vfinding(v, &acc_head, "read log: cannot walk refs/kluis/access");
		goto cleanup;
	}
	while (git_revwalk_next(&oid, walk) == 0) {
		v->rep->reads++;
		if (git_commit_lookup(&c, v->repo, &oid) < 0) {
			kluis_vfinding(v, &oid, "read log: commit missing");
			continue;
		}
		if (git_commit_parentcount(c) > 1)
			kluis_vfinding(v, &oid, "read log: merge commit");
		if (kluis_vcheck_signature(v, &oid, signer, NULL)) {
			if (!kluis_trailer_get(git_commit_message(c), "Kluis-Action", action, sizeof(action)) || strcmp(action, "access") != 0)
				kluis_vfinding(v, &oid, "read log: not an access record");
			if (!kluis_trailer_get(git_commit_message(c), "Kluis-Head", head_hex, sizeof(head_hex)) ||
			    git_oid_fromstr(&read_oid, head_hex) < 0) {
				kluis_vfinding(v, &oid, "read log: no Kluis-Head");
			} else if (!(v->nmain ? main_has(v, &read_oid)
					     : (git_oid_equal(&read_oid, main_head) || git_graph_descendant_of(v->repo, main_head, &read_oid) == 1))) {
				kluis_vfinding(v, &oid, "read log: names a head %s that is not in the dossier's history", head_hex);
			} else if (git_commit_lookup(&read_commit, v->repo, &read_oid) == 0 && git_commit_tree(&read_tree, read_commit) == 0 &&
				   kluis_vload_roles(v, read_tree, &roles) == 0) {
				if (kluis_roles_authorize(&roles, signer, KLUIS_ACT_ACCESS, NULL) < 0)
					kluis_vfinding(v, &oid, "read log: %s", kluis_error_last());
				if (git_commit_time(c) < git_commit_time(read_commit))
					kluis_vfinding(v, &oid, "read log: dated before the head it read");
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

