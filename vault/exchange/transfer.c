/*
 * transfer.c - transfer of a closed dossier to the opdrachtgever as a signed archive, and
 * import there (see lifecycle.h); transfer_check.c reads an archive back or in.
 *
 * The transfer archive (SPEC "Transfer archive") is a gzip tar of, in this order,
 * manifest.json, its detached signature manifest.json.asc, keys/<FPR>.asc for every key the
 * history needs (transfer_keys.c: every signer on main and the read log, every key of every
 * roles file on main, with the revocations the exporter knows) and dossier.bundle (refs main,
 * kluis/content, kluis/access). The manifest (version 2) names every member after the
 * signature with its size ("members"), so a reader checks the signature before the bundle and
 * holds each member to its signed size (transfer_check.c).
 *
 * Invariant 7: a transfer destroys the local copy only after the written archive has been
 * read back and verified in full; any failure before that leaves the dossier as it was (and
 * no unverified archive at --out).
 *
 * The read log is vouched for: the signed `transfer` commit names the tip of refs/kluis/access
 * and its length (Kluis-Access-Head, Kluis-Access-Count), counted under the dossier's lock,
 * which the transfer holds until the local copy is gone, so no read is recorded after it; the
 * manifest repeats both (access_head, access_count) and names the transfer commit
 * (transfer_commit). Import takes only a finished handover made to the importer: the checks
 * of transfer_check.c, and the importer's key among the transfer's Kluis-Opdrachtgever lines.
 * Its receipt (receipt.h) is signed and written before the dossier is taken in and published
 * after the import's ledger event, so a receipt names only a complete import.
 */
#include "vault/exchange/lifecycle.h"
#include "vault/exchange/archive.h"
#include "vault/exchange/bundle.h"
#include "vault/store/checkpoint.h"
#include "vault/pgp/crypto.h"
#include "vault/store/internal.h"
#include "vault/exchange/ledger.h"
#include "vault/exchange/receipt.h"
#include "vault/exchange/lifecycle_internal.h"
#include "vault/exchange/transfer_internal.h"
#include "vault/verify/verify.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- transfer ---- */

/*
 * Whether the dossier's head is the `transfer` commit of an attempt that did not finish (it
 * failed after the commit, or was killed): the model allows no commit after a transfer, so a
 * new attempt finishes that one instead of making a second. It may when the commit says what
 * this attempt would: made by this actor, to these opdrachtgevers, vouching for the read log
 * as it is now. Otherwise the error says why not. *reuse false: the head is no transfer.
 */
static int unfinished_transfer(kluis_dossier *d, const char *actor, const char *const *opdr, size_t nopdr, const char *access_head,
			       size_t access_count, bool *reuse)
{
	git_message_trailer_array arr = { 0 };
	const git_signature *author = git_commit_author(d->head_commit);
	char hex[GIT_OID_HEXSZ + 1], count[32];
	const char *ahead = NULL, *acount = NULL;
	size_t i, nnamed = 0;
	bool is_transfer = false, same_opdr = true;
	int err = 0;

	*reuse = false;
	if (git_message_trailers(&arr, git_commit_message(d->head_commit)) < 0)
		return kluis_git_fail(KLUIS_EVERIFY, "cannot read the trailers of the dossier's last commit");
	for (i = 0; i < arr.count; i++) {
		const char *k = arr.trailers[i].key, *val = arr.trailers[i].value;
		if (strcmp(k, "Kluis-Action") == 0)
			is_transfer = strcmp(val, "transfer") == 0;
		else if (strcmp(k, "Kluis-Access-Head") == 0)
			ahead = val;
		else if (strcmp(k, "Kluis-Access-Count") == 0)
			acount = val;
		else if (strcmp(k, "Kluis-Opdrachtgever") == 0)
			same_opdr &= nnamed < nopdr && strcmp(val, opdr[nnamed++]) == 0;
	}
	if (!is_transfer)
		goto cleanup;
	git_oid_tostr(hex, sizeof(hex), &d->head);
	snprintf(count, sizeof(count), "%zu", access_count);
	if (!author || strcmp(author->email, actor) != 0)
		err = kluis_error_set(KLUIS_EACCESS, "dossier '%s' holds an unfinished transfer (commit %.12s) by key %s: only that key can finish it",
				      d->id, hex, author ? author->email : "?");
	else if (!same_opdr || nnamed != nopdr)
		err = kluis_error_set(KLUIS_ESTATE, "dossier '%s' holds an unfinished transfer (commit %.12s) to other opdrachtgevers than its roles name", d->id, hex);
	else if (!ahead || !acount || strcmp(ahead, access_head) != 0 || strcmp(acount, count) != 0)
		err = kluis_error_set(KLUIS_ESTATE, "dossier '%s' holds an unfinished transfer (commit %.12s) and was read after it: that transfer no longer vouches for the read log, so it cannot be finished",
				      d->id, hex);
	else
		*reuse = true;
cleanup:
	git_message_trailer_array_free(&arr);
	return err;
}

int kluis_dossier_transfer(kluis_vault *v, const char *id, const char *out, kluis_progress_fn progress, void *progress_ctx,
			   kluis_transfer_result *res)
{
	kluis_dossier *d = NULL;
	kluis_txn *t = NULL;
	kluis_signer *signer = NULL;
	kluis_archive_writer *w = NULL;
	kluis_keyring *kr;
	kluis_transfer_key *keys = NULL;
	kluis_dossier_status st;
	kluis_verify_opts opts;
	kluis_verify_report rep;
	kluis_checked_archive back;
	kluis_transfer_progress_adapter pa = { progress, progress_ctx, NULL };
	kluis_buf trailers = KLUIS_BUF_INIT, mtext = KLUIS_BUF_INIT, msig = KLUIS_BUF_INIT, fields = KLUIS_BUF_INIT, cert = KLUIS_BUF_INIT;
	const char **opdr = NULL;
	const char *const *trust;
	char *work = NULL, *bundle = NULL, *mj = NULL, when[21], access_head[GIT_OID_HEXSZ + 1];
	size_t nopdr = 0, ntrust, i, access_count = 0, nkeys = 0;
	json_t *m = NULL, *opdr_arr = NULL, *members = NULL;
	unsigned role = 0;
	int64_t from;
	bool archive_written = false, destroying = false, has_access = false, reuse = false;
	int err = 0;

	memset(res, 0, sizeof(*res));
	memset(&rep, 0, sizeof(rep));
	memset(&back, 0, sizeof(back));
	if (kluis_path_exists(out))
		return kluis_error_set(KLUIS_EEXISTS, "'%s' exists; kluis never overwrites, choose another name", out);
	if ((err = kluis_dossier_open(&d, v, id)) < 0 || (err = kluis_dossier_status_get(d, &st)) < 0)
		goto cleanup;
	/* closed; or transferred here by an attempt that did not finish (finished below) */
	if (strcmp(st.state, "closed") != 0 && strcmp(st.state, "transferred") != 0) {
		err = kluis_error_set(KLUIS_ESTATE, "dossier '%s' is %s: close the traject first (kluis close %s)", id, st.state, id);
		goto cleanup;
	}
	/* only a dossier that verifies leaves the house */
	if ((err = kluis_vault_trust(v, &trust, &ntrust)) < 0)
		goto cleanup;
	memset(&opts, 0, sizeof(opts));
	opts.trust = trust;
	opts.ntrust = ntrust;
	opts.no_cache = true;
	if ((err = kluis_verify_dossier(v, id, &opts, &rep)) < 0)
		goto cleanup;
	if (rep.nfindings) {
		err = kluis_error_set(KLUIS_EVERIFY, "dossier '%s' does not verify (%s); nothing was transferred", id, rep.findings[0].message);
		goto cleanup;
	}
	/* the archive's file can be made: otherwise nothing is recorded at all */
	if ((err = kluis_archive_writer_open(&w, out)) < 0)
		goto cleanup;
	/* the handover is part of the dossier's own signed history (txn_begin reloads the roles,
	 * so the fingerprints are taken after it). The transaction holds the dossier's lock until
	 * the local copy is gone (t is freed at cleanup): a read waits for it, so the read log the
	 * transfer commit vouches for is the one in the bundle, and the last one here. */
	if ((err = kluis_txn_begin(&t, d, KLUIS_ACT_TRANSFER)) < 0 ||
	    (err = kluis_roles_keys(&d->roles, KLUIS_ROLE_OPDRACHTGEVER, &opdr, &nopdr)) < 0 ||
	    (err = kluis_transfer_access_log(d->repo, access_head, &has_access, &access_count)) < 0 ||
	    (err = kluis_dossier_status_get(d, &st)) < 0) /* what the manifest counts, under the lock */
		goto cleanup;
	role = kluis_txn_role(t);
	if ((err = unfinished_transfer(d, kluis_txn_actor(t), opdr, nopdr, access_head, access_count, &reuse)) < 0)
		goto cleanup;
	if (d->held && !reuse) {
		err = kluis_error_set(KLUIS_ESTATE, "dossier '%s' was transferred already", id);
		goto cleanup;
	}
	if (!reuse) {
		if ((err = kluis_buf_printf(&trailers, "Kluis-Action: transfer\nKluis-Role: %s\n", kluis_role_name(role))) < 0)
			goto cleanup;
		for (i = 0; i < nopdr; i++)
			if ((err = kluis_buf_printf(&trailers, "Kluis-Opdrachtgever: %s\n", opdr[i])) < 0)
				goto cleanup;
		if ((err = kluis_buf_printf(&trailers, "Kluis-Access-Head: %s\nKluis-Access-Count: %zu\n", access_head, access_count)) < 0)
			goto cleanup;
		/* from the transfer on the dossier is the opdrachtgever's to hold: its state says so */
		{
			kluis_dossier_file f;
			kluis_buf text = KLUIS_BUF_INIT;
			if ((err = kluis_dossier_file_load(d, &f)) == 0) {
				snprintf(f.state, sizeof(f.state), "transferred");
				if ((err = kluis_dossier_file_format(&f, &text)) == 0)
					err = kluis_txn_put(t, "dossier", text.ptr, text.len);
			}
			kluis_buf_dispose(&text);
			if (err < 0)
				goto cleanup;
		}
		if ((err = kluis_txn_commit(t, "transfer -", (const char *)trailers.ptr, NULL)) < 0)
			goto cleanup;
		/* the commit reloaded the roles: the fingerprints must point into the new copy */
		free(opdr);
		opdr = NULL;
		if ((err = kluis_roles_keys(&d->roles, KLUIS_ROLE_OPDRACHTGEVER, &opdr, &nopdr)) < 0)
			goto cleanup;
	}

	if ((err = kluis_vault_workdir(v, "transfer", &work)) < 0 || !(bundle = kluis_path_join(work, "dossier.bundle"))) {
		err = err < 0 ? err : kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto cleanup;
	}
	pa.phase = "packing the history";
	if ((err = kluis_bundle_write(d->repo, bundle, kluis_transfer_bundle_refs, has_access ? 3 : 2, kluis_transfer_progress, &pa)) < 0 ||
	    (err = kluis_transfer_sha256_file(bundle, res->archive_sha256, &res->archive_size)) < 0)
		goto cleanup;
	git_oid_tostr(res->head, sizeof(res->head), &d->head);
	{
		char seq[32] = "0";
		kluis_trailer_get(git_commit_message(d->head_commit), "Kluis-Seq", seq, sizeof(seq));
		res->commits = (size_t)strtoull(seq, NULL, 10);
	}
	res->entries = st.entries;
	res->reads = access_count;
	/* the keys first: the manifest names every member after it with its size */
	if ((err = kluis_vault_keyring(v, &kr)) < 0 || (err = kluis_transfer_keys(d->repo, kr, &keys, &nkeys)) < 0)
		goto cleanup;
	members = json_pack("{s:I}", "dossier.bundle", (json_int_t)res->archive_size);
	for (i = 0; members && i < nkeys; i++)
		if (json_object_set_new(members, keys[i].member, json_integer((json_int_t)keys[i].len)) < 0) {
			json_decref(members);
			members = NULL;
		}
	kluis_time_iso(kluis_now(), when);
	opdr_arr = json_array();
	for (i = 0; i < nopdr; i++)
		json_array_append_new(opdr_arr, json_string(opdr[i]));
	{
		const char *actor;
		kluis_vault_actor(v, &actor);
		m = json_pack("{s:s, s:i, s:s, s:s, s:I, s:I, s:I, s:s, s:I, s:s, s:s, s:O, s:I}", "kluis", "transfer-manifest", "version", 2,
			      "dossier", id, "head", res->head, "commits", (json_int_t)res->commits, "entries", (json_int_t)res->entries,
			      "reads", (json_int_t)res->reads, "bundle_sha256", res->archive_sha256, "bundle_size",
			      (json_int_t)res->archive_size, "time", when, "exporter", actor, "opdrachtgever", opdr_arr, "checkpoint_seq",
			      (json_int_t)res->commits);
		/* the read log as the transfer commit vouches for it, and that commit */
		if (m && (!members || json_object_set(m, "members", members) < 0 ||
			  json_object_set_new(m, "access_head", json_string(access_head)) < 0 ||
			  json_object_set_new(m, "access_count", json_integer((json_int_t)access_count)) < 0 ||
			  json_object_set_new(m, "transfer_commit", json_string(res->head)) < 0)) {
			json_decref(m);
			m = NULL;
		}
	}
	if (!m || !(mj = json_dumps(m, JSON_INDENT(2) | JSON_SORT_KEYS)) || (err = kluis_buf_puts(&mtext, mj)) < 0 ||
	    (err = kluis_buf_puts(&mtext, "\n")) < 0) {
		err = err < 0 ? err : kluis_error_set(KLUIS_EGENERIC, "cannot encode the manifest");
		goto cleanup;
	}
	if ((err = kluis_vault_take_signer(v, &signer)) < 0 || (err = kluis_signer_sign(signer, mtext.ptr, mtext.len, &msig)) < 0)
		goto cleanup;
	/* write the archive: manifest, signature, keys, bundle (a reader checks the signed manifest
	 * before it writes a byte it does not vouch for) */
	pa.phase = "writing the archive";
	kluis_archive_writer_set_progress(w, kluis_transfer_progress, &pa);
	if ((err = kluis_archive_add_buffer(w, "manifest.json", mtext.ptr, mtext.len)) < 0 ||
	    (err = kluis_archive_add_buffer(w, "manifest.json.asc", msig.ptr, msig.len)) < 0)
		goto cleanup;
	for (i = 0; i < nkeys; i++)
		if ((err = kluis_archive_add_buffer(w, keys[i].member, keys[i].armored, keys[i].len)) < 0)
			goto cleanup;
	if ((err = kluis_archive_add_file(w, "dossier.bundle", bundle)) < 0 || (err = kluis_archive_writer_close(w)) < 0)
		goto cleanup;
	archive_written = true;
	if ((err = kluis_transfer_sha256_file(out, res->archive_sha256, &res->archive_size)) < 0)
		goto cleanup;
	/* read it back and verify it completely, as the opdrachtgever will */
	pa.phase = "reading it back";
	{
		char *check = kluis_path_join(work, "readback");
		if (!check || (err = kluis_mkdir_p(check)) < 0 || (err = kluis_check_archive(v, out, check, trust, ntrust, false, &pa, &back, NULL)) < 0) {
			free(check);
			if (err < 0)
				err = kluis_error_set(err, "the written archive did not verify: %s", kluis_error_last());
			goto cleanup;
		}
		free(check);
		if (!git_oid_equal(&back.head, &d->head) || strcmp(back.dossier, id) != 0) {
			err = kluis_error_set(KLUIS_EVERIFY, "the written archive holds another head than the dossier");
			goto cleanup;
		}
	}
	/* record, then destroy, then certify */
	for (i = 0; i < nopdr; i++)
		if ((err = kluis_buf_printf(&fields, "Kluis-Opdrachtgever: %s\n", opdr[i])) < 0)
			goto cleanup;
	if ((err = kluis_buf_printf(&fields, "Kluis-Archive-Sha256: %s\nKluis-Head: %s\nKluis-Entries: %zu\n", res->archive_sha256, res->head,
				    res->entries)) < 0 ||
	    (err = kluis_ledger_append(v, "transfer", id, kluis_role_name(role), (const char *)fields.ptr, NULL)) < 0)
		goto cleanup;
	from = kluis_lifecycle_first_commit_time(d->repo, &d->head);
	{
		const char *actor;
		kluis_vault_actor(v, &actor);
		if ((err = kluis_lifecycle_certificate(&cert, id, from, (int64_t)git_commit_time(d->head_commit), res->commits, res->entries, res->reads,
					    res->archive_sha256, nopdr ? opdr[0] : NULL,
					    "Werklokaal privacyreglement art. 7: na overdracht aan de opdrachtgever wordt de lokale kopie vernietigd",
					    "einde traject, dossier overgedragen", kluis_role_name(role), actor)) < 0)
			goto cleanup;
	}
	kluis_dossier_free(d);
	d = NULL;
	destroying = true;
	if ((err = kluis_lifecycle_destroy_local(v, id)) < 0)
		goto cleanup;
	kluis_buf_dispose(&fields);
	if ((err = kluis_buf_printf(&fields, "Kluis-Archive-Sha256: %s\nKluis-Grounds: W7\n", res->archive_sha256)) < 0)
		goto cleanup;
	err = kluis_ledger_append(v, "destroy", id, kluis_role_name(role), (const char *)fields.ptr, (const char *)cert.ptr);
cleanup:
	if (err < 0 && !destroying) {
		/* an archive that was not verified must not look like a good one */
		if (archive_written)
			unlink(out);
		err = kluis_error_set(err, "%s; the dossier stays here, intact", kluis_error_last());
	} else if (err < 0) {
		err = kluis_error_set(err, "%s (the verified archive is at %s)", kluis_error_last(), out);
	}
	kluis_checked_archive_dispose(&back);
	kluis_verify_report_dispose(&rep);
	kluis_archive_writer_free(w);
	kluis_signer_free(signer);
	kluis_txn_free(t);
	kluis_dossier_free(d);
	if (work)
		kluis_rm_rf(work);
	free(work);
	free(bundle);
	free(mj);
	free(opdr);
	json_decref(m);
	json_decref(opdr_arr);
	json_decref(members);
	kluis_transfer_keys_free(keys, nkeys);
	kluis_buf_dispose(&trailers);
	kluis_buf_dispose(&mtext);
	kluis_buf_dispose(&msig);
	kluis_buf_dispose(&fields);
	kluis_buf_dispose(&cert);
	return err;
}

/* ---- import ---- */

int kluis_dossier_import(kluis_vault *v, const char *archive, const char *const *trust, size_t ntrust, int retention_years,
			 kluis_progress_fn progress, void *progress_ctx, char id_out[65])
{
	return kluis_dossier_import_with_receipt(v, archive, trust, ntrust, retention_years, NULL, progress, progress_ctx, id_out);
}

/* The receipt of this import (receipt.h), signed and waiting under temporary names. */
static int import_receipt_prepare(kluis_vault *v, const char *path, const kluis_checked_archive *a, const char *sha, const char *actor,
				  kluis_receipt_files **out)
{
	kluis_receipt r;
	kluis_signer *signer = NULL;
	int err;

	memset(&r, 0, sizeof(r));
	snprintf(r.dossier, sizeof(r.dossier), "%s", a->dossier);
	snprintf(r.archive_sha256, sizeof(r.archive_sha256), "%s", sha);
	git_oid_tostr(r.head, sizeof(r.head), &a->head);
	snprintf(r.importer, sizeof(r.importer), "%s", actor);
	kluis_time_iso(kluis_now(), r.received);
	if ((err = kluis_vault_take_signer(v, &signer)) == 0)
		err = kluis_receipt_prepare(out, path, &r, signer);
	kluis_signer_free(signer);
	return err;
}

int kluis_dossier_import_with_receipt(kluis_vault *v, const char *archive, const char *const *trust, size_t ntrust,
				      int retention_years, const char *receipt_path, kluis_progress_fn progress, void *progress_ctx,
				      char id_out[65])
{
	kluis_receipt_files *receipt = NULL;
	kluis_checked_archive a;
	kluis_transfer_progress_adapter pa = { progress, progress_ctx, NULL };
	kluis_buf fields = KLUIS_BUF_INIT;
	const char *const *vtrust;
	const char *actor;
	char *work = NULL, *final = NULL, name[80], until[21], sha[65], hex[GIT_OID_HEXSZ + 1], *keysdir = NULL;
	uint64_t size;
	size_t nvtrust, i;
	int err;

	memset(&a, 0, sizeof(a));
	id_out[0] = '\0';
	if (retention_years <= 0)
		retention_years = 10;
	if (!ntrust) {
		if ((err = kluis_vault_trust(v, &vtrust, &nvtrust)) < 0)
			return err;
		trust = vtrust;
		ntrust = nvtrust;
	}
	if (!ntrust)
		return kluis_error_set(KLUIS_EINVAL, "no trust root: give --trust FPR, the sending organisation's directie key, learned from them directly");
	pa.phase = "reading the archive";
	if ((err = kluis_vault_actor(v, &actor)) < 0 || (err = kluis_transfer_sha256_file(archive, sha, &size)) < 0 ||
	    (err = kluis_mkdir_p(v->dossiers)) < 0 || (err = kluis_vault_workdir(v, "import", &work)) < 0 ||
	    (err = kluis_check_archive(v, archive, work, trust, ntrust, true, &pa, &a, NULL)) < 0)
		goto cleanup;
	if (!(kluis_roles_of(&a.roles, actor) & KLUIS_ROLE_OPDRACHTGEVER)) {
		err = kluis_error_set(KLUIS_EACCESS, "only the dossier's opdrachtgever may import it; key %s is not", actor);
		goto cleanup;
	}
	/* and the handover was made to this opdrachtgever, as the transfer commit says */
	for (i = 0; i < a.nnamed && strcmp(a.named[i], actor) != 0; i++)
		;
	if (i == a.nnamed) {
		err = kluis_error_set(KLUIS_EACCESS, "the transfer of '%s' names another opdrachtgever (%s), not key %s: it was not handed over to you",
				      a.dossier, a.nnamed ? a.named[0] : "none", actor);
		goto cleanup;
	}
	snprintf(name, sizeof(name), "%s.git", a.dossier);
	if (!(final = kluis_path_join(v->dossiers, name))) {
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto cleanup;
	}
	if (kluis_path_exists(final)) {
		err = kluis_error_set(KLUIS_EEXISTS, "dossier '%s' is already in this vault", a.dossier);
		goto cleanup;
	}
	/* the receipt is signed and written now, so that one that cannot be made stops the
	 * import before anything is taken in; it appears when the import is complete */
	if (receipt_path && (err = import_receipt_prepare(v, receipt_path, &a, sha, actor, &receipt)) < 0)
		goto cleanup;
	/* keep the archive's public keys with the dossier, so it verifies here for ten years */
	keysdir = kluis_path_join(a.repo_path, "kluis-keys");
	if ((err = keysdir ? 0 : kluis_error_set(KLUIS_EGENERIC, "out of memory")) < 0 || (err = kluis_mkdir_p(keysdir)) < 0)
		goto cleanup;
	{
		char *src = kluis_path_join(work, "archive/keys"), *dst;
		DIR *dd = src ? opendir(src) : NULL;
		struct dirent *de;
		kluis_buf data = KLUIS_BUF_INIT;
		while (dd && (de = readdir(dd)) != NULL) {
			char *from;
			if (de->d_name[0] == '.')
				continue;
			from = kluis_path_join(src, de->d_name);
			dst = kluis_path_join(keysdir, de->d_name);
			data.len = 0;
			if (from && dst && kluis_file_read(&data, from, 1 << 20) == 0)
				kluis_file_write_atomic(dst, data.ptr, data.len);
			free(from);
			free(dst);
		}
		if (dd)
			closedir(dd);
		kluis_buf_dispose(&data);
		free(src);
	}
	{
		kluis_buf t = KLUIS_BUF_INIT;
		char *tp = kluis_path_join(a.repo_path, "kluis-trust");
		for (i = 0; i < ntrust; i++)
			kluis_buf_printf(&t, "%s\n", trust[i]);
		err = tp ? kluis_file_write_atomic(tp, t.ptr, t.len) : kluis_error_set(KLUIS_EGENERIC, "out of memory");
		kluis_buf_dispose(&t);
		free(tp);
		if (err < 0)
			goto cleanup;
	}
	git_repository_free(a.repo);
	a.repo = NULL;
	if (rename(a.repo_path, final) < 0) {
		err = kluis_error_set(KLUIS_EGENERIC, "cannot move the imported dossier into place: %s", strerror(errno));
		goto cleanup;
	}
	{
		git_repository *r = NULL;
		if ((err = kluis_repo_open(&r, final)) == 0)
			err = kluis_checkpoint_write(v, a.dossier, r, &a.head);
		git_repository_free(r);
		if (err < 0)
			goto cleanup;
	}
	kluis_time_iso(kluis_now() + (int64_t)retention_years * KLUIS_YEAR_SECONDS, until);
	until[10] = '\0';
	git_oid_tostr(hex, sizeof(hex), &a.head);
	if ((err = kluis_buf_printf(&fields, "Kluis-Archive-Sha256: %s\nKluis-Head: %s\nKluis-Exporter: %s\nKluis-Retention-Years: %d\nKluis-Retention-Until: %s\n",
				    sha, hex, a.exporter, retention_years, until)) < 0 ||
	    (err = kluis_ledger_append(v, "import", a.dossier, "opdrachtgever", (const char *)fields.ptr, NULL)) < 0)
		goto cleanup;
	snprintf(id_out, 65, "%s", a.dossier);
	if (receipt && (err = kluis_receipt_publish(receipt)) < 0)
		err = kluis_error_set(err, "dossier '%s' is imported, but its receipt is not: %s", a.dossier, kluis_error_last());
cleanup:
	kluis_receipt_files_free(receipt);
	kluis_checked_archive_dispose(&a);
	if (work)
		kluis_rm_rf(work);
	free(work);
	free(final);
	free(keysdir);
	kluis_buf_dispose(&fields);
	return err;
}
