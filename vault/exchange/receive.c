/*
 * receive.c - the server's side of kluis sync: judging a push in git's pre-receive hook
 * (see kluis_receive_check in sync.h; hooks/pre-receive is the hook that calls it).
 *
 * During pre-receive the pushed objects sit in git's quarantine directory, visible through
 * GIT_OBJECT_DIRECTORY and GIT_ALTERNATE_OBJECT_DIRECTORIES, and no ref has moved yet. The
 * check builds the state the repository would have after the push in a scratch repository
 * (its refs only; its object database is the server's, quarantine included) and runs the
 * same verifier as `kluis verify` over it, so the server accepts exactly what kluis would.
 *
 * A push costs what it brings, not the whole history: like `kluis verify`, the check keeps the
 * verifier's own checkpoint (replay_state.c: the replayed state at the accepted head, under an
 * HMAC whose key only the server's user can read, in that user's cache, bound to the dossier,
 * the trust roots and the keyring's bytes) and resumes there when the pushed main descends from
 * it. What the resumed run still covers in full: every object that arrived (the quarantine walk
 * of replay_incoming.c), refs/kluis/content against the whole state, the read log from the
 * checkpoint's record. A state file that is missing, edited or bound to other keys or trust
 * roots means a full replay. The checkpoint is written before git moves the refs; if the push
 * then fails, the kept state is still the verdict on commits the hash chain pins, so a later
 * push of the same commits may resume from it.
 *
 * Refused besides what the verifier refuses: refs other than the three of a dossier, the
 * deletion of any of them, and a main or access that does not fast-forward (the receiving
 * git accepts forced pushes by default; the hook is what keeps history append-only).
 *
 * pre-receive judges the push as a whole, but a push without --atomic is applied ref by ref
 * afterwards, and git may still refuse some of its refs (another push moved one meanwhile, a
 * shallow client's ref): main could move without the content it names, or the read log
 * without the entry it read. So post-receive (kluis_receive_settle) verifies the refs as they
 * now are (cheaply, from the checkpoint pre-receive wrote) and, when they do not verify, puts
 * every ref this push moved back where it was, by compare-and-swap, main first.
 */
#include "vault/git/objstream.h"
#include "vault/exchange/sync.h"
#include "vault/store/internal.h"
#include "vault/verify/replay.h"

#include <git2/sys/repository.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAIN_REF "refs/heads/main"
#define CONTENT_REF "refs/kluis/content"
#define ACCESS_REF "refs/kluis/access"
#define MAX_TRUST 16

enum { R_MAIN, R_CONTENT, R_ACCESS, R_COUNT };
static const char *const ref_names[R_COUNT] = { MAIN_REF, CONTENT_REF, ACCESS_REF };

void kluis_receive_result_dispose(kluis_receive_result *r)
{
	if (r)
		kluis_verify_report_dispose(&r->report);
}

typedef struct {
	char fpr[MAX_TRUST][41];
	const char *ptr[MAX_TRUST];
	size_t n;
	const char *bad;
} trust_list;

static int collect_trust(const git_config_entry *e, void *payload)
{
	trust_list *t = payload;

	if (t->n == MAX_TRUST || !kluis_fpr_normalize(e->value, t->fpr[t->n])) {
		t->bad = t->n == MAX_TRUST ? "too many kluis.trust values" : "a kluis.trust value is not a 40-digit fingerprint";
		return GIT_EUSER;
	}
	t->ptr[t->n] = t->fpr[t->n];
	t->n++;
	return 0;
}

/* kluis.dossier, else the repository's directory name without .git. */
static int dossier_id(git_repository *repo, git_config *cfg, char out[65])
{
	git_buf val = { 0 };
	char path[4096], *base;
	size_t len;
	int err = 0;

	if (git_config_get_string_buf(&val, cfg, "kluis.dossier") == 0) {
		snprintf(path, sizeof(path), "%s", val.ptr);
	} else {
		snprintf(path, sizeof(path), "%s", git_repository_path(repo));
		len = strlen(path);
		while (len && path[len - 1] == '/')
			path[--len] = '\0';
		if (len > 4 && strcmp(path + len - 4, ".git") == 0)
			path[len - 4] = '\0';
		if ((base = strrchr(path, '/')))
			memmove(path, base + 1, strlen(base + 1) + 1);
	}
	git_buf_dispose(&val);
	if (!kluis_id_valid(path))
		err = kluis_error_set(KLUIS_EINVAL, "the server repository is not named ID.git for a dossier id, and has no kluis.dossier (git config kluis.dossier ID)");
	else
		snprintf(out, 65, "%s", path);
	return err;
}

static int ref_index(const char *name)
{
	int i;

	for (i = 0; i < R_COUNT; i++)
		if (strcmp(name, ref_names[i]) == 0)
			return i;
	return -1;
}

/* Apply the hook's `OLD NEW REF` lines to the current refs, refusing what may never happen. */
static int apply_updates(git_repository *srv, const char *input, size_t len, git_oid final[R_COUNT], bool has[R_COUNT], size_t *count)
{
	char line[512], oldhex[64], newhex[64], ref[400];
	const char *p = input, *end = input + len, *nl;
	bool seen[R_COUNT] = { false };
	git_oid old, neu;
	size_t l;
	int i, rc;

	*count = 0;
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		l = (size_t)((nl ? nl : end) - p);
		if (l >= sizeof(line))
			return kluis_error_set(KLUIS_EINVAL, "refusing the push: a ref update line is too long");
		memcpy(line, p, l);
		line[l] = '\0';
		p = nl ? nl + 1 : end;
		if (!l)
			continue;
		if (sscanf(line, "%63s %63s %399s", oldhex, newhex, ref) != 3 || git_oid_fromstr(&old, oldhex) < 0 || git_oid_fromstr(&neu, newhex) < 0)
			return kluis_error_set(KLUIS_EINVAL, "refusing the push: cannot read the ref update '%.80s'", line);
		(*count)++;
		if ((i = ref_index(ref)) < 0)
			return kluis_error_set(KLUIS_EACCESS, "refusing %.200s: a kluis dossier holds only refs/heads/main, refs/kluis/content and refs/kluis/access", ref);
		if (seen[i])
			return kluis_error_set(KLUIS_EINVAL, "refusing the push: %s is updated twice", ref);
		seen[i] = true;
		if (git_oid_is_zero(&neu))
			return kluis_error_set(KLUIS_EACCESS, "refusing to delete %s: a dossier's history is never removed", ref);
		if (i != R_CONTENT && !git_oid_is_zero(&old) && !git_oid_equal(&old, &neu)) {
			/* both commits first: on one that is missing, libgit2 1.5's history walk fails
			 * and leaks (fuzz/corpus/receive/regress-missing-commit) */
			git_odb *odb = NULL;
			bool present = git_repository_odb(&odb, srv) == 0 && git_odb_exists(odb, &old) && git_odb_exists(odb, &neu);
			git_odb_free(odb);
			if (!present)
				return kluis_error_set(KLUIS_EVERIFY, "refusing the push: %s moves from or to a commit that is neither on the server nor in the push", ref);
			rc = git_graph_descendant_of(srv, &neu, &old);
			if (rc < 0)
				return kluis_git_fail(KLUIS_EVERIFY, "refusing the push: cannot compare the histories");
			if (rc != 1)
				return kluis_error_set(KLUIS_EVERIFY, "refusing a rewrite of %s (not a fast-forward of %.12s): a dossier's history is append-only", ref, oldhex);
		}
		git_oid_cpy(&final[i], &neu);
		has[i] = true;
	}
	return 0;
}

/* The server repository git runs the hook in, its config, dossier id, trust roots and keyring. */
typedef struct {
	git_repository *srv;
	git_config *cfg;
	kluis_keyring *kr;
	trust_list trust;
} server;

static void server_close(server *sv)
{
	kluis_keyring_free(sv->kr);
	git_config_free(sv->cfg);
	git_repository_free(sv->srv);
}

static int server_open(server *sv, char dossier[65])
{
	git_buf home = { 0 };
	int rc, err;

	memset(sv, 0, sizeof(*sv));
	if ((err = kluis_repo_global_init()) < 0)
		return err;
	if (git_repository_open_ext(&sv->srv, NULL, GIT_REPOSITORY_OPEN_FROM_ENV, NULL) < 0 || kluis_odb_lean_loose(sv->srv) < 0)
		return kluis_git_fail(KLUIS_EGENERIC, "cannot open the server repository (kluis hook runs inside git's pre-receive and post-receive hooks)");
	if (git_repository_config_snapshot(&sv->cfg, sv->srv) < 0)
		return kluis_git_fail(KLUIS_EGENERIC, "cannot read the server repository's config");
	if ((err = dossier_id(sv->srv, sv->cfg, dossier)) < 0)
		return err;
	rc = git_config_get_multivar_foreach(sv->cfg, "kluis.trust", NULL, collect_trust, &sv->trust);
	if (sv->trust.bad)
		return kluis_error_set(KLUIS_EINVAL, "server misconfigured: %s (git config --add kluis.trust FPR)", sv->trust.bad);
	if ((rc < 0 && rc != GIT_ENOTFOUND) || !sv->trust.n)
		return kluis_error_set(KLUIS_EACCESS, "this server repository has no trust root: its administrator must run git config --add kluis.trust FPR in it");
	if (git_config_get_string_buf(&home, sv->cfg, "kluis.gnupghome") < 0)
		git_error_clear();
	err = kluis_keyring_open_gnupg(&sv->kr, home.size ? home.ptr : NULL);
	git_buf_dispose(&home);
	return err;
}

int kluis_receive_settle(const char *input, size_t len, kluis_receive_result *res)
{
	static const int order[R_COUNT] = { R_MAIN, R_ACCESS, R_CONTENT }; /* main first: never naming what content lacks */
	server sv;
	kluis_verify_opts vo;
	git_oid old[R_COUNT], neu[R_COUNT], now;
	bool moved[R_COUNT] = { false }, has;
	char line[512], oldhex[64], newhex[64], name[400], *state_path = NULL, sum[1024];
	const char *p = input, *end = input + len, *nl;
	size_t l, put_back = 0;
	int i, k, err;

	memset(res, 0, sizeof(*res));
	memset(&vo, 0, sizeof(vo));
	if ((err = server_open(&sv, res->dossier)) < 0)
		goto cleanup;
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		l = (size_t)((nl ? nl : end) - p);
		if (l >= sizeof(line))
			l = 0;
		memcpy(line, p, l);
		line[l] = '\0';
		p = nl ? nl + 1 : end;
		if (sscanf(line, "%63s %63s %399s", oldhex, newhex, name) != 3 || (i = ref_index(name)) < 0 ||
		    git_oid_fromstr(&old[i], oldhex) < 0 || git_oid_fromstr(&neu[i], newhex) < 0)
			continue;
		moved[i] = true;
		res->updates++;
	}
	if (!res->updates)
		goto cleanup;
	vo.trust = sv.trust.ptr;
	vo.ntrust = sv.trust.n;
	state_path = kluis_replay_state_path(git_repository_path(sv.srv), res->dossier);
	if ((err = kluis_verify_repository(sv.srv, res->dossier, sv.kr, &vo, state_path, &res->report)) < 0 || !res->report.nfindings)
		goto cleanup;
	/* the refs as they are do not verify: this push is undone, ref by ref, where nothing moved
	 * them since */
	for (k = 0; k < R_COUNT; k++) {
		git_reference *ref = NULL;
		i = order[k];
		if (!moved[i] || kluis_repo_ref(sv.srv, ref_names[i], &now, &has) < 0 || !has || !git_oid_equal(&now, &neu[i]))
			continue;
		if (git_oid_is_zero(&old[i]) ? git_reference_lookup(&ref, sv.srv, ref_names[i]) == 0 && git_reference_delete(ref) == 0
					   : git_reference_create_matching(&ref, sv.srv, ref_names[i], &old[i], 1, &neu[i], "kluis: a partial push put back") == 0)
			put_back++;
		git_reference_free(ref);
	}
	kluis_verify_report_summary(&res->report, sum, sizeof(sum));
	err = kluis_error_set(KLUIS_EVERIFY, "the push left dossier '%s' in a state that does not verify (%s): git applied only part of it; the %zu refs it moved were put back",
			      res->dossier, sum, put_back);
cleanup:
	free(state_path);
	server_close(&sv);
	return err;
}

int kluis_receive_check(const char *input, size_t len, kluis_receive_result *res)
{
	server sv;
	git_repository *srv, *scratch = NULL;
	git_odb *odb = NULL;
	git_reference *ref = NULL;
	kluis_verify_opts vo;
	git_oid final[R_COUNT];
	bool has[R_COUNT];
	char tmpl[4096], *repo_dir = NULL, *old_objects = NULL, *state_path = NULL, hex[13] = "-";
	int i, err;

	memset(res, 0, sizeof(*res));
	memset(&vo, 0, sizeof(vo));
	tmpl[0] = '\0';
	if ((err = server_open(&sv, res->dossier)) < 0)
		goto cleanup;
	srv = sv.srv;
	for (i = 0; i < R_COUNT; i++)
		if ((err = kluis_repo_ref(srv, ref_names[i], &final[i], &has[i])) < 0)
			goto cleanup;
	if ((err = apply_updates(srv, input, len, final, has, &res->updates)) < 0 || !res->updates)
		goto cleanup;
	if (!has[R_MAIN] || !has[R_CONTENT]) {
		err = kluis_error_set(KLUIS_EVERIFY, "refusing the push: a dossier needs both refs/heads/main and refs/kluis/content");
		goto cleanup;
	}

	/* the state after the push, in a scratch repository that shares the server's objects
	 * (it holds refs only); inside the server repository, which only its owner can write,
	 * rather than in a shared temporary directory */
	snprintf(tmpl, sizeof(tmpl), "%skluis-receive.XXXXXX", git_repository_path(srv));
	if (!mkdtemp(tmpl)) {
		tmpl[0] = '\0';
		err = kluis_error_set(KLUIS_EGENERIC, "cannot make a scratch directory for the check: %m");
		goto cleanup;
	}
	if (!(repo_dir = kluis_path_join(tmpl, "state.git"))) {
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto cleanup;
	}
	if ((err = kluis_repo_create(&scratch, repo_dir)) < 0)
		goto cleanup;
	if (git_repository_odb(&odb, srv) < 0 || git_repository_set_odb(scratch, odb) < 0) {
		err = kluis_git_fail(KLUIS_EGENERIC, "cannot read the pushed objects");
		goto cleanup;
	}
	for (i = 0; i < R_COUNT; i++) {
		if (!has[i])
			continue;
		if (git_reference_create(&ref, scratch, ref_names[i], &final[i], 1, "kluis receive") < 0) {
			git_oid_tostr(hex, sizeof(hex), &final[i]);
			err = kluis_error_set(KLUIS_EVERIFY, "refusing the push: %s would point at %s, which is not in the pushed objects", ref_names[i], hex);
			goto cleanup;
		}
		git_reference_free(ref);
		ref = NULL;
	}
	vo.trust = sv.trust.ptr;
	vo.ntrust = sv.trust.n;
	/* what the push brought waits in git's quarantine; the server's objects are beside it */
	if (!(vo.incoming = getenv("GIT_QUARANTINE_PATH")) || !*vo.incoming) {
		err = kluis_error_set(KLUIS_EGENERIC, "refusing the push: git gave the hook no quarantine (GIT_QUARANTINE_PATH), so what the push brought cannot be told apart; the server needs git 2.11 or later");
		goto cleanup;
	}
	if (!(old_objects = kluis_path_join(git_repository_path(srv), "objects"))) {
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto cleanup;
	}
	vo.existing = old_objects;
	/* the server's checkpoint, keyed by this repository's real path and the dossier (none when
	 * the hook's user has no cache directory: then every push replays in full) */
	state_path = kluis_replay_state_path(git_repository_path(srv), res->dossier);
	if ((err = kluis_verify_repository(scratch, res->dossier, sv.kr, &vo, state_path, &res->report)) < 0)
		goto cleanup;
	if (res->report.nfindings) {
		char sum[1024];
		kluis_verify_report_summary(&res->report, sum, sizeof(sum));
		err = kluis_error_set(KLUIS_EVERIFY, "refusing the push: dossier '%s' would not verify (%s)", res->dossier, sum);
	}
cleanup:
	free(state_path);
	free(old_objects);
	git_reference_free(ref);
	git_odb_free(odb);
	git_repository_free(scratch);
	server_close(&sv);
	if (tmpl[0])
		kluis_rm_rf(tmpl);
	free(repo_dir);
	return err;
}
