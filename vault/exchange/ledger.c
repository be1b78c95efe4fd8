/*
 * ledger.c - the vault's lifecycle ledger (see ledger.h; the record formats and the rule of
 * who may sign what are in docs/LEDGER.md): writing records, the verified events retention
 * and destruction act on, receipts, reasons. Verification is in ledger_verify.c.
 *
 * Invariants: a record is written only under the ledger's lock, on top of the head it read,
 * with seq + 1. No free text goes into a commit message: a reason is ciphertext in the tree,
 * to the trust roots and its writer. A receipt is recorded only when its signature, its
 * importer and the ledger's transfer record agree.
 */
#include "vault/exchange/ledger.h"
#include "vault/pgp/crypto.h"
#include "vault/store/internal.h"
#include "vault/exchange/ledger_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DOC (64 * 1024)

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

static int buf_sink(void *ctx, const void *data, size_t len)
{
	return kluis_buf_put(ctx, data, len);
}

/* ---- writing ---- */

typedef struct {
	char path[160];
	git_oid blob;
} addition;

static int add_file(git_repository *repo, addition *a, size_t *n, const char *path, const void *data, size_t len)
{
	int err;

	snprintf(a[*n].path, sizeof(a[*n].path), "%s", path);
	if ((err = kluis_repo_blob(repo, data, len, &a[*n].blob)) < 0)
		return err;
	(*n)++;
	return 0;
}

int kluis_ledger_append_record(kluis_vault *v, const kluis_ledger_record *rec)
{
	git_repository *repo = NULL;
	git_commit *head_commit = NULL;
	git_tree *head_tree = NULL;
	kluis_signer *signer = NULL;
	git_tree_update upd[5];
	git_treebuilder *tb = NULL;
	git_oid head, tree, commit;
	kluis_buf msg = KLUIS_BUF_INIT, files = KLUIS_BUF_INIT, sig = KLUIS_BUF_INIT, ct = KLUIS_BUF_INIT;
	addition add[5];
	char *path = NULL, seqs[32], stamp[17], p[160];
	unsigned long long seq = 1;
	const char *actor;
	size_t nadd = 0, i;
	bool exists;
	int lock = -1, err;

	if ((err = kluis_vault_actor(v, &actor)) < 0 || (err = open_ledger(v, &repo, &path)) < 0 ||
	    (err = kluis_vault_take_signer(v, &signer)) < 0 || (err = kluis_repo_lock(path, &lock)) < 0 ||
	    (err = kluis_repo_ref(repo, KLUIS_LEDGER_REF, &head, &exists)) < 0)
		goto cleanup;
	if (exists) {
		if (git_commit_lookup(&head_commit, repo, &head) < 0 || git_commit_tree(&head_tree, head_commit) < 0) {
			err = kluis_git_fail(KLUIS_EVERIFY, "cannot read the ledger");
			goto cleanup;
		}
		if (kluis_trailer_get(git_commit_message(head_commit), "Kluis-Seq", seqs, sizeof(seqs)))
			seq = strtoull(seqs, NULL, 10) + 1;
	}
	kluis_time_stamp(kluis_now(), stamp);
	if (rec->certificate) {
		/* the verklaring stands alone: its own detached signature, which stock gpg checks */
		snprintf(p, sizeof(p), "certificates/%s-%s.txt", rec->dossier, stamp);
		if ((err = kluis_signer_sign(signer, rec->certificate, strlen(rec->certificate), &sig)) < 0 ||
		    (err = add_file(repo, add, &nadd, p, rec->certificate, strlen(rec->certificate))) < 0 ||
		    (err = kluis_buf_printf(&files, "Kluis-Certificate: %s\n", p)) < 0)
			goto cleanup;
		snprintf(p, sizeof(p), "certificates/%s-%s.txt.asc", rec->dossier, stamp);
		if ((err = add_file(repo, add, &nadd, p, sig.ptr, sig.len)) < 0)
			goto cleanup;
		if (rec->certificate_sig_out && (err = kluis_buf_put(rec->certificate_sig_out, sig.ptr, sig.len)) < 0)
			goto cleanup;
	}
	if (rec->reason) {
		/* free text may name people: ciphertext only, to the directie and its writer (a vault
		 * without a trust root, such as an opdrachtgever's, has only the writer) */
		const char *const *trust;
		const char **to = NULL;
		kluis_keyring *kr;
		size_t ntrust, nto;
		if ((err = kluis_vault_trust(v, &trust, &ntrust)) < 0 || (err = kluis_vault_keyring(v, &kr)) < 0)
			goto cleanup;
		if (!(to = calloc(ntrust + 1, sizeof(*to)))) {
			err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
			goto cleanup;
		}
		for (i = 0; i < ntrust; i++)
			to[i] = trust[i];
		nto = ntrust;
		if (!kluis_strings_has(trust, ntrust, actor))
			to[nto++] = actor;
		err = kluis_pgp_encrypt_buffer(kr, to, nto, rec->reason, strlen(rec->reason), buf_sink, &ct);
		free(to);
		snprintf(p, sizeof(p), "reasons/%s-%s.pgp", rec->dossier, stamp);
		if (err < 0 || (err = add_file(repo, add, &nadd, p, ct.ptr, ct.len)) < 0 ||
		    (err = kluis_buf_printf(&files, "Kluis-Reason: %s\n", p)) < 0)
			goto cleanup;
	}
	if (rec->receipt) {
		snprintf(p, sizeof(p), "receipts/%s-%s.txt", rec->dossier, stamp);
		if ((err = add_file(repo, add, &nadd, p, rec->receipt, strlen(rec->receipt))) < 0 ||
		    (err = kluis_buf_printf(&files, "Kluis-Receipt: %s\n", p)) < 0)
			goto cleanup;
		snprintf(p, sizeof(p), "receipts/%s-%s.txt.asc", rec->dossier, stamp);
		if ((err = add_file(repo, add, &nadd, p, rec->receipt_sig, strlen(rec->receipt_sig))) < 0)
			goto cleanup;
	}
	if (!head_tree && (git_treebuilder_new(&tb, repo, NULL) < 0 || git_treebuilder_write(&tree, tb) < 0 ||
			   git_tree_lookup(&head_tree, repo, &tree) < 0)) {
		err = kluis_git_fail(KLUIS_EGENERIC, "cannot build the ledger tree");
		goto cleanup;
	}
	memset(upd, 0, sizeof(upd));
	for (i = 0; i < nadd; i++) {
		upd[i].action = GIT_TREE_UPDATE_UPSERT;
		upd[i].filemode = GIT_FILEMODE_BLOB;
		upd[i].path = add[i].path;
		git_oid_cpy(&upd[i].id, &add[i].blob);
	}
	if (nadd) {
		if (git_tree_create_updated(&tree, repo, head_tree, nadd, upd) < 0) {
			err = kluis_git_fail(KLUIS_EGENERIC, "cannot build the ledger tree");
			goto cleanup;
		}
	} else {
		git_oid_cpy(&tree, git_tree_id(head_tree));
	}
	if ((err = kluis_buf_printf(&msg, "%s %s\n\nKluis-Action: %s\nKluis-Dossier: %s\nKluis-Role: %s\n%s%sKluis-Seq: %llu\n", rec->action,
				    rec->dossier, rec->action, rec->dossier, rec->role, rec->fields ? rec->fields : "",
				    files.len ? (const char *)files.ptr : "", seq)) < 0 ||
	    (err = kluis_repo_commit(repo, &tree, exists ? &head : NULL, rec->role, actor, kluis_now(), (const char *)msg.ptr, signer,
				     &commit)) < 0 ||
	    (err = kluis_repo_ref_cas(repo, KLUIS_LEDGER_REF, &commit, exists ? &head : NULL, rec->action)) < 0)
		goto cleanup;
cleanup:
	kluis_repo_unlock(lock);
	kluis_buf_dispose(&msg);
	kluis_buf_dispose(&files);
	kluis_buf_dispose(&sig);
	kluis_buf_dispose(&ct);
	kluis_signer_free(signer);
	git_treebuilder_free(tb);
	git_tree_free(head_tree);
	git_commit_free(head_commit);
	git_repository_free(repo);
	free(path);
	return err;
}

int kluis_ledger_append(kluis_vault *v, const char *action, const char *dossier, const char *role,
			const char *fields, const char *certificate)
{
	kluis_ledger_record rec;

	memset(&rec, 0, sizeof(rec));
	rec.action = action;
	rec.dossier = dossier;
	rec.role = role;
	rec.fields = fields;
	rec.certificate = certificate;
	return kluis_ledger_append_record(v, &rec);
}

/*
 * A process verifies its vault's ledger once per head: `kluis list` asks for the retention of
 * every dossier. Keyed by the ledger's path and head; the vault's own trust roots only.
 */
static struct {
	char *path;
	git_oid head;
	kluis_ledger_event *ev;
	size_t n;
	char *finding; /* NULL: clean */
} cache;

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static int copy_event(kluis_ledger_event *to, const kluis_ledger_event *from)
{
	*to = *from;
	to->fields = calloc(from->nfields + 1, sizeof(*to->fields));
	to->certificate = dup_or_null(from->certificate);
	to->certificate_sig = dup_or_null(from->certificate_sig);
	to->receipt = dup_or_null(from->receipt);
	to->receipt_sig = dup_or_null(from->receipt_sig);
	to->why = dup_or_null(from->why);
	if (!to->fields || (from->certificate && !to->certificate) || (from->certificate_sig && !to->certificate_sig) ||
	    (from->receipt && !to->receipt) || (from->receipt_sig && !to->receipt_sig) || (from->why && !to->why))
		return kluis_error_set(KLUIS_EGENERIC, "out of memory");
	memcpy(to->fields, from->fields, from->nfields * sizeof(*to->fields));
	return 0;
}

int kluis_ledger_events(kluis_vault *v, const char *dossier, kluis_ledger_event **events, size_t *n)
{
	kluis_verify_report rep;
	git_repository *repo = NULL;
	kluis_ledger_event *out = NULL;
	git_oid head;
	char *path = kluis_path_join(v->root, "ledger.git");
	size_t i, k = 0;
	bool exists = false;
	int err = 0;

	*events = NULL;
	*n = 0;
	memset(&rep, 0, sizeof(rep));
	if (!path)
		return kluis_error_set(KLUIS_EGENERIC, "out of memory");
	if (!kluis_path_exists(path))
		goto cleanup;
	if ((err = kluis_repo_open(&repo, path)) < 0 || (err = kluis_repo_ref(repo, KLUIS_LEDGER_REF, &head, &exists)) < 0 || !exists)
		goto cleanup;
	if (!cache.path || strcmp(cache.path, path) != 0 || !git_oid_equal(&cache.head, &head)) {
		kluis_ledger_events_free(cache.ev, cache.n);
		free(cache.path);
		free(cache.finding);
		memset(&cache, 0, sizeof(cache));
		if ((err = kluis_ledger_read(v, NULL, 0, false, NULL, &cache.ev, &cache.n, &rep)) < 0)
			goto cleanup;
		if (rep.nfindings && !(cache.finding = strdup(rep.findings[0].message))) {
			err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
			goto cleanup;
		}
		if (!(cache.path = strdup(path))) {
			err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
			goto cleanup;
		}
		git_oid_cpy(&cache.head, &head);
	}
	if (cache.finding) {
		err = kluis_error_set(KLUIS_EVERIFY, "the vault's ledger does not verify (%s); see kluis ledger show", cache.finding);
		goto cleanup;
	}
	if (!(out = calloc(cache.n + 1, sizeof(*out)))) {
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto cleanup;
	}
	for (i = 0; i < cache.n; i++) {
		if (dossier && strcmp(cache.ev[i].dossier, dossier) != 0)
			continue;
		err = copy_event(&out[k], &cache.ev[i]);
		k++;
		if (err < 0)
			goto cleanup;
	}
	*events = out;
	*n = k;
	out = NULL;
	k = 0;
cleanup:
	if (err < 0 && !cache.path) {
		kluis_ledger_events_free(cache.ev, cache.n);
		free(cache.finding);
		memset(&cache, 0, sizeof(cache));
	}
	kluis_ledger_events_free(out, k);
	kluis_verify_report_dispose(&rep);
	git_repository_free(repo);
	free(path);
	return err;
}

int kluis_ledger_receipt(kluis_vault *v, const char *file, char dossier_out[65])
{
	kluis_buf text = KLUIS_BUF_INIT, sig = KLUIS_BUF_INIT, fields = KLUIS_BUF_INIT;
	kluis_ledger_event *ev = NULL;
	kluis_ledger_record rec;
	kluis_keyring *kr;
	kluis_receipt r;
	const char *const *trust;
	const char *bad, *actor, *transferrer = NULL;
	char *sigpath = NULL, signer[41];
	size_t nev = 0, ntrust, i;
	bool matched = false;
	int err;

	if (!(sigpath = malloc(strlen(file) + 5))) {
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto cleanup;
	}
	sprintf(sigpath, "%s.asc", file);
	if ((err = kluis_file_read(&text, file, 1024)) < 0 || (err = kluis_file_read(&sig, sigpath, MAX_DOC)) < 0)
		goto cleanup;
	if ((bad = kluis_ledger_parse_receipt((const char *)text.ptr, text.len, &r))) {
		err = kluis_error_set(KLUIS_EINVAL, "%s: %s", file, bad);
		goto cleanup;
	}
	if ((err = kluis_vault_keyring(v, &kr)) < 0)
		goto cleanup;
	if (kluis_pgp_verify_detached(kr, text.ptr, text.len, sig.ptr, sig.len, signer, NULL) < 0) {
		err = kluis_error_set(KLUIS_EVERIFY, "the receipt's signature (%s) does not verify: %s", sigpath, kluis_error_last());
		goto cleanup;
	}
	if (strcmp(signer, r.importer) != 0) {
		err = kluis_error_set(KLUIS_EVERIFY, "the receipt names importer %s but %s signed it", r.importer, signer);
		goto cleanup;
	}
	if ((err = kluis_ledger_events(v, r.dossier, &ev, &nev)) < 0)
		goto cleanup;
	for (i = 0; i < nev; i++) {
		if (strcmp(ev[i].action, "transfer") == 0 && kluis_ledger_field_has(&ev[i], "Kluis-Archive-Sha256", r.sha) && kluis_ledger_field_has(&ev[i], "Kluis-Head", r.head) &&
		    kluis_ledger_field_has(&ev[i], "Kluis-Opdrachtgever", r.importer)) {
			matched = true;
			transferrer = ev[i].fpr;
		}
		if (strcmp(ev[i].action, "receipt") == 0 && kluis_ledger_field_has(&ev[i], "Kluis-Archive-Sha256", r.sha)) {
			err = kluis_error_set(KLUIS_EEXISTS, "a receipt of this transfer of '%s' is already in the ledger", r.dossier);
			goto cleanup;
		}
	}
	if (!matched) {
		err = kluis_error_set(KLUIS_EVERIFY, "the ledger has no transfer of '%s' with archive sha256 %.12s..., head %.12s to opdrachtgever %s", r.dossier,
				      r.sha, r.head, r.importer);
		goto cleanup;
	}
	if ((err = kluis_vault_actor(v, &actor)) < 0 || (err = kluis_vault_trust(v, &trust, &ntrust)) < 0)
		goto cleanup;
	if (!kluis_strings_has(trust, ntrust, actor) && strcmp(actor, transferrer) != 0) {
		err = kluis_error_set(KLUIS_EACCESS, "only the directie (a trust root) or the one who transferred '%s' records its receipt", r.dossier);
		goto cleanup;
	}
	if ((err = kluis_buf_printf(&fields, "Kluis-Archive-Sha256: %s\nKluis-Importer: %s\nKluis-Received: %s\n", r.sha, r.importer, r.received)) < 0 ||
	    (err = kluis_buf_cstr(&sig)) < 0 || (err = kluis_buf_cstr(&text)) < 0)
		goto cleanup;
	if (memchr(sig.ptr, '\0', sig.len)) {
		err = kluis_error_set(KLUIS_EINVAL, "%s is not an armored signature", sigpath);
		goto cleanup;
	}
	memset(&rec, 0, sizeof(rec));
	rec.action = "receipt";
	rec.dossier = r.dossier;
	rec.role = kluis_strings_has(trust, ntrust, actor) ? "directie" : "medewerker";
	rec.fields = (const char *)fields.ptr;
	rec.receipt = (const char *)text.ptr;
	rec.receipt_sig = (const char *)sig.ptr;
	if ((err = kluis_ledger_append_record(v, &rec)) == 0)
		snprintf(dossier_out, 65, "%s", r.dossier);
cleanup:
	kluis_ledger_events_free(ev, nev);
	kluis_buf_dispose(&text);
	kluis_buf_dispose(&sig);
	kluis_buf_dispose(&fields);
	free(sigpath);
	return err;
}

int kluis_ledger_reason(kluis_vault *v, const kluis_ledger_event *e, kluis_buf *out)
{
	git_repository *repo = NULL;
	git_blob *b = NULL;
	char *path = kluis_path_join(v->root, "ledger.git");
	int err;

	if (!path)
		return kluis_error_set(KLUIS_EGENERIC, "out of memory");
	if (git_oid_is_zero(&e->reason)) {
		free(path);
		return kluis_error_set(KLUIS_ENOTFOUND, "this record has no reason");
	}
	if ((err = kluis_repo_open(&repo, path)) == 0) {
		if (git_blob_lookup(&b, repo, &e->reason) < 0)
			err = kluis_git_fail(KLUIS_EVERIFY, "the reason's ciphertext is missing");
		else
			err = kluis_crypto_decrypt_to_buf(git_blob_rawcontent(b), (size_t)git_blob_rawsize(b), out);
	}
	git_blob_free(b);
	git_repository_free(repo);
	free(path);
	return err;
}
