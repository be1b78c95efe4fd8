/*
 * transfer.c - transfer of a closed dossier to the opdrachtgever as a signed archive, and
 * import there (see lifecycle.h); transfer_check.c reads an archive back or in.
 *
 * The transfer archive (SPEC "Transfer archive") is a gzip tar of, in this order,
 * manifest.json, its detached signature manifest.json.asc, keys/<FPR>.asc for every key the
 * history needs (transfer_keys.c: every signer on main and the read log, every key of every
 * roles file on main, with the revocations the exporter knows) and dossier.bundle (refs main,
 * kluis/content, kluis/access). The manifest (version 3) names every member after the
 * signature with its size ("members") and every key with its sha256 ("keys_sha256"), so a
 * reader checks the signature before the bundle and holds each member to its signed size and
 * each key to its signed bytes (transfer_check.c).
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

/* What a transfer carries from one phase to the next; kluis_dossier_transfer releases it. */
struct transfer {
	kluis_vault *v;
	const char *id, *out;
	kluis_transfer_result *res;
	kluis_transfer_progress_adapter pa;
	kluis_dossier *d;
	kluis_txn *t;              /* holds the dossier's lock until the local copy is gone */
	kluis_signer *signer;
	kluis_archive_writer *w;
	kluis_transfer_key *keys;
	size_t nkeys;
	kluis_dossier_status st;
	const char *const *trust;
	size_t ntrust;
	const char **opdr;
	size_t nopdr;
	unsigned role;
	char access_head[GIT_OID_HEXSZ + 1];
	size_t access_count;
	bool has_access;
	char *work, *bundle;
	kluis_buf mtext, msig;
	bool archive_written;      /* `out` holds an archive not yet read back */
	bool destroying;           /* the read-back verified and the local copy is going */
};

/* The dossier is closed (or holds an unfinished transfer) and verifies: only such a dossier leaves the house. */
static int transfer_check_dossier(struct transfer *x)
{
	kluis_verify_opts opts;
	kluis_verify_report rep;
	int err;

	memset(&rep, 0, sizeof(rep));
	if ((err = kluis_dossier_open(&x->d, x->v, x->id)) < 0 || (err = kluis_dossier_status_get(x->d, &x->st)) < 0)
		goto cleanup;
	/* closed; or transferred here by an attempt that did not finish (finished below) */
	if (strcmp(x->st.state, "closed") != 0 && strcmp(x->st.state, "transferred") != 0) {
		err = kluis_error_set(KLUIS_ESTATE, "dossier '%s' is %s: close the traject first (kluis close %s)", x->id, x->st.state, x->id);
		goto cleanup;
	}
	if ((err = kluis_vault_trust(x->v, &x->trust, &x->ntrust)) < 0)
		goto cleanup;
	memset(&opts, 0, sizeof(opts));
	opts.trust = x->trust;
	opts.ntrust = x->ntrust;
	opts.no_cache = true;
	if ((err = kluis_verify_dossier(x->v, x->id, &opts, &rep)) < 0)
		goto cleanup;
	if (rep.nfindings)
		err = kluis_error_set(KLUIS_EVERIFY, "dossier '%s' does not verify (%s); nothing was transferred", x->id, rep.findings[0].message);
cleanup:
	kluis_verify_report_dispose(&rep);
	return err;
}

/* A new `transfer` commit: who hands over to whom, the read log it vouches for, the state "transferred". */
static int transfer_commit(struct transfer *x)
{
	kluis_buf trailers = KLUIS_BUF_INIT, text = KLUIS_BUF_INIT;
	kluis_dossier_file f;
	size_t i;
	int err;

	if ((err = kluis_buf_printf(&trailers, "Kluis-Action: transfer\nKluis-Role: %s\n", kluis_role_name(x->role))) < 0)
		goto cleanup;
	for (i = 0; i < x->nopdr; i++)
		if ((err = kluis_buf_printf(&trailers, "Kluis-Opdrachtgever: %s\n", x->opdr[i])) < 0)
			goto cleanup;
	if ((err = kluis_buf_printf(&trailers, "Kluis-Access-Head: %s\nKluis-Access-Count: %zu\n", x->access_head, x->access_count)) < 0)
		goto cleanup;
	/* from the transfer on the dossier is the opdrachtgever's to hold: its state says so */
	if ((err = kluis_dossier_file_load(x->d, &f)) < 0)
		goto cleanup;
	snprintf(f.state, sizeof(f.state), "transferred");
	if ((err = kluis_dossier_file_format(&f, &text)) < 0 || (err = kluis_txn_put(x->t, "dossier", text.ptr, text.len)) < 0 ||
	    (err = kluis_txn_commit(x->t, "transfer -", (const char *)trailers.ptr, NULL)) < 0)
		goto cleanup;
	/* the commit reloaded the roles: the fingerprints must point into the new copy */
	free(x->opdr);
	x->opdr = NULL;
	err = kluis_roles_keys(&x->d->roles, KLUIS_ROLE_OPDRACHTGEVER, &x->opdr, &x->nopdr);
cleanup:
	kluis_buf_dispose(&trailers);
	kluis_buf_dispose(&text);
	return err;
}

/* Under the dossier's lock, its head is the signed `transfer` commit: made now, or left by an attempt that did not finish. */
static int transfer_handover(struct transfer *x)
{
	bool reuse = false;
	int err;

	/* the handover is part of the dossier's own signed history (txn_begin reloads the roles,
	 * so the fingerprints are taken after it). The transaction holds the dossier's lock until
	 * the local copy is gone (t is freed at the end): a read waits for it, so the read log the
	 * transfer commit vouches for is the one in the bundle, and the last one here. */
	if ((err = kluis_txn_begin(&x->t, x->d, KLUIS_ACT_TRANSFER)) < 0 ||
	    (err = kluis_roles_keys(&x->d->roles, KLUIS_ROLE_OPDRACHTGEVER, &x->opdr, &x->nopdr)) < 0 ||
	    (err = kluis_transfer_access_log(x->d->repo, x->access_head, &x->has_access, &x->access_count)) < 0 ||
	    (err = kluis_dossier_status_get(x->d, &x->st)) < 0) /* what the manifest counts, under the lock */
		return err;
	x->role = kluis_txn_role(x->t);
	if ((err = unfinished_transfer(x->d, kluis_txn_actor(x->t), x->opdr, x->nopdr, x->access_head, x->access_count, &reuse)) < 0)
		return err;
	if (x->d->held && !reuse)
		return kluis_error_set(KLUIS_ESTATE, "dossier '%s' was transferred already", x->id);
	return reuse ? 0 : transfer_commit(x);
}

/* The bundle of the history up to the transfer commit is in the work directory; res says what it holds. */
static int transfer_write_bundle(struct transfer *x)
{
	char seq[32] = "0";
	int err;

	if ((err = kluis_vault_workdir(x->v, "transfer", &x->work)) < 0 || !(x->bundle = kluis_path_join(x->work, "dossier.bundle")))
		return err < 0 ? err : kluis_error_set(KLUIS_EGENERIC, "out of memory");
	x->pa.phase = "packing the history";
	if ((err = kluis_bundle_write(x->d->repo, x->bundle, kluis_transfer_bundle_refs, x->has_access ? 3 : 2, kluis_transfer_progress, &x->pa)) < 0 ||
	    (err = kluis_transfer_sha256_file(x->bundle, x->res->archive_sha256, &x->res->archive_size)) < 0)
		return err;
	git_oid_tostr(x->res->head, sizeof(x->res->head), &x->d->head);
	kluis_trailer_get(git_commit_message(x->d->head_commit), "Kluis-Seq", seq, sizeof(seq));
	x->res->commits = (size_t)strtoull(seq, NULL, 10);
	x->res->entries = x->st.entries;
	x->res->reads = x->access_count;
	return 0;
}

/* The keys are exported and the manifest, naming every member after it with its size (the
 * keys also with their sha256), is signed. */
static int transfer_sign_manifest(struct transfer *x)
{
	kluis_transfer_result *res = x->res;
	kluis_keyring *kr;
	json_t *m = NULL, *opdr_arr = NULL, *members = NULL, *sums = NULL;
	const char *actor;
	char *mj = NULL, when[21], sha[65];
	size_t i;
	int err;

	/* the keys first: the manifest names every member after it with its size */
	if ((err = kluis_vault_keyring(x->v, &kr)) < 0 || (err = kluis_transfer_keys(x->d->repo, kr, &x->keys, &x->nkeys)) < 0)
		goto cleanup;
	/* and every key with its sha256: the size alone would leave a key's unsigned bytes (an
	 * unhashed subpacket, a revocation) to anyone who carries the archive */
	members = json_pack("{s:I}", "dossier.bundle", (json_int_t)res->archive_size);
	sums = json_object();
	for (i = 0; members && sums && i < x->nkeys; i++)
		if (kluis_sha256_buffer_hex(x->keys[i].armored, x->keys[i].len, sha) < 0 ||
		    json_object_set_new(members, x->keys[i].member, json_integer((json_int_t)x->keys[i].len)) < 0 ||
		    json_object_set_new(sums, x->keys[i].member, json_string(sha)) < 0) {
			json_decref(members);
			members = NULL;
		}
	kluis_time_iso(kluis_now(), when);
	opdr_arr = json_array();
	for (i = 0; i < x->nopdr; i++)
		json_array_append_new(opdr_arr, json_string(x->opdr[i]));
	kluis_vault_actor(x->v, &actor);
	m = json_pack("{s:s, s:i, s:s, s:s, s:I, s:I, s:I, s:s, s:I, s:s, s:s, s:O, s:I}", "kluis", "transfer-manifest", "version", 3, "dossier",
		      x->id, "head", res->head, "commits", (json_int_t)res->commits, "entries", (json_int_t)res->entries, "reads",
		      (json_int_t)res->reads, "bundle_sha256", res->archive_sha256, "bundle_size", (json_int_t)res->archive_size, "time", when,
		      "exporter", actor, "opdrachtgever", opdr_arr, "checkpoint_seq", (json_int_t)res->commits);
	/* the read log as the transfer commit vouches for it, and that commit */
	if (m && (!members || !sums || json_object_set(m, "members", members) < 0 || json_object_set(m, "keys_sha256", sums) < 0 ||
		  json_object_set_new(m, "access_head", json_string(x->access_head)) < 0 ||
		  json_object_set_new(m, "access_count", json_integer((json_int_t)x->access_count)) < 0 ||
		  json_object_set_new(m, "transfer_commit", json_string(res->head)) < 0)) {
		json_decref(m);
		m = NULL;
	}
	if (!m || !(mj = json_dumps(m, JSON_INDENT(2) | JSON_SORT_KEYS)) || (err = kluis_buf_puts(&x->mtext, mj)) < 0 ||
	    (err = kluis_buf_puts(&x->mtext, "\n")) < 0) {
		err = err < 0 ? err : kluis_error_set(KLUIS_EGENERIC, "cannot encode the manifest");
		goto cleanup;
	}
	if ((err = kluis_vault_take_signer(x->v, &x->signer)) == 0)
		err = kluis_signer_sign(x->signer, x->mtext.ptr, x->mtext.len, &x->msig);
cleanup:
	free(mj);
	json_decref(m);
	json_decref(opdr_arr);
	json_decref(members);
	json_decref(sums);
	return err;
}

/* The archive is at `out`, complete, in the order manifest, signature, keys, bundle; res has its sha256 and size. */
static int transfer_write_archive(struct transfer *x)
{
	size_t i;
	int err;

	/* a reader checks the signed manifest before it writes a byte it does not vouch for */
	x->pa.phase = "writing the archive";
	kluis_archive_writer_set_progress(x->w, kluis_transfer_progress, &x->pa);
	if ((err = kluis_archive_add_buffer(x->w, "manifest.json", x->mtext.ptr, x->mtext.len)) < 0 ||
	    (err = kluis_archive_add_buffer(x->w, "manifest.json.asc", x->msig.ptr, x->msig.len)) < 0)
		return err;
	for (i = 0; i < x->nkeys; i++)
		if ((err = kluis_archive_add_buffer(x->w, x->keys[i].member, x->keys[i].armored, x->keys[i].len)) < 0)
			return err;
	if ((err = kluis_archive_add_file(x->w, "dossier.bundle", x->bundle)) < 0 || (err = kluis_archive_writer_close(x->w)) < 0)
		return err;
	x->archive_written = true;
	return kluis_transfer_sha256_file(x->out, x->res->archive_sha256, &x->res->archive_size);
}

/* The written archive verifies completely, as the opdrachtgever will check it, and holds this dossier's head. */
static int transfer_read_back(struct transfer *x)
{
	kluis_checked_archive back;
	char *check = kluis_path_join(x->work, "readback");
	int err;

	memset(&back, 0, sizeof(back));
	x->pa.phase = "reading it back";
	err = check ? kluis_mkdir_p(check) : kluis_error_set(KLUIS_EGENERIC, "out of memory");
	if (err == 0)
		err = kluis_check_archive(x->v, x->out, check, x->trust, x->ntrust, false, &x->pa, &back, NULL);
	if (err < 0) {
		err = kluis_error_set(err, "the written archive did not verify: %s", kluis_error_last());
		goto cleanup;
	}
	if (!git_oid_equal(&back.head, &x->d->head) || strcmp(back.dossier, x->id) != 0)
		err = kluis_error_set(KLUIS_EVERIFY, "the written archive holds another head than the dossier");
cleanup:
	kluis_checked_archive_dispose(&back);
	free(check);
	return err;
}

/* The vault's ledger records the transfer: to whom, which archive, which head. */
static int transfer_record(struct transfer *x)
{
	kluis_buf fields = KLUIS_BUF_INIT;
	size_t i;
	int err = 0;

	for (i = 0; i < x->nopdr; i++)
		if ((err = kluis_buf_printf(&fields, "Kluis-Opdrachtgever: %s\n", x->opdr[i])) < 0)
			goto cleanup;
	if ((err = kluis_buf_printf(&fields, "Kluis-Archive-Sha256: %s\nKluis-Head: %s\nKluis-Entries: %zu\n", x->res->archive_sha256, x->res->head,
				    x->res->entries)) < 0)
		goto cleanup;
	err = kluis_ledger_append(x->v, "transfer", x->id, kluis_role_name(x->role), (const char *)fields.ptr, NULL);
cleanup:
	kluis_buf_dispose(&fields);
	return err;
}

/* The local copy is gone and the ledger's `destroy` event carries its certificate of destruction. */
static int transfer_destroy(struct transfer *x)
{
	kluis_buf fields = KLUIS_BUF_INIT, cert = KLUIS_BUF_INIT;
	const char *actor;
	int64_t from = kluis_lifecycle_first_commit_time(x->d->repo, &x->d->head);
	int err;

	kluis_vault_actor(x->v, &actor);
	if ((err = kluis_lifecycle_certificate(&cert, x->id, from, (int64_t)git_commit_time(x->d->head_commit), x->res->commits, x->res->entries,
					       x->res->reads, x->res->archive_sha256, x->nopdr ? x->opdr[0] : NULL,
					       "Werklokaal privacyreglement art. 7: na overdracht aan de opdrachtgever wordt de lokale kopie vernietigd",
					       "einde traject, dossier overgedragen", kluis_role_name(x->role), actor)) < 0)
		goto cleanup;
	kluis_dossier_free(x->d);
	x->d = NULL;
	x->destroying = true;
	if ((err = kluis_lifecycle_destroy_local(x->v, x->id)) < 0 ||
	    (err = kluis_buf_printf(&fields, "Kluis-Archive-Sha256: %s\nKluis-Grounds: W7\n", x->res->archive_sha256)) < 0)
		goto cleanup;
	err = kluis_ledger_append(x->v, "destroy", x->id, kluis_role_name(x->role), (const char *)fields.ptr, (const char *)cert.ptr);
cleanup:
	kluis_buf_dispose(&fields);
	kluis_buf_dispose(&cert);
	return err;
}

int kluis_dossier_transfer(kluis_vault *v, const char *id, const char *out, kluis_progress_fn progress, void *progress_ctx,
			   kluis_transfer_result *res)
{
	struct transfer x = { .v = v, .id = id, .out = out, .res = res, .pa = { progress, progress_ctx, NULL },
			      .mtext = KLUIS_BUF_INIT, .msig = KLUIS_BUF_INIT };
	int err;

	memset(res, 0, sizeof(*res));
	if (kluis_path_exists(out))
		return kluis_error_set(KLUIS_EEXISTS, "'%s' exists; kluis never overwrites, choose another name", out);
	/* the archive's file is opened before the transfer commit: one that cannot be made records
	 * nothing at all. Invariant 7 is enforced by this order: transfer_destroy runs only once
	 * transfer_read_back has verified the archive at `out`; before that, any failure leaves
	 * the dossier as it was and removes the archive. */
	if ((err = transfer_check_dossier(&x)) < 0 || (err = kluis_archive_writer_open(&x.w, out)) < 0 || (err = transfer_handover(&x)) < 0 ||
	    (err = transfer_write_bundle(&x)) < 0 || (err = transfer_sign_manifest(&x)) < 0 || (err = transfer_write_archive(&x)) < 0 ||
	    (err = transfer_read_back(&x)) < 0 || (err = transfer_record(&x)) < 0 || (err = transfer_destroy(&x)) < 0)
		goto cleanup;
cleanup:
	if (err < 0 && !x.destroying) {
		/* an archive that was not verified must not look like a good one */
		if (x.archive_written)
			unlink(out);
		err = kluis_error_set(err, "%s; the dossier stays here, intact", kluis_error_last());
	} else if (err < 0) {
		err = kluis_error_set(err, "%s (the verified archive is at %s)", kluis_error_last(), out);
	}
	kluis_archive_writer_free(x.w);
	kluis_signer_free(x.signer);
	kluis_txn_free(x.t);
	kluis_dossier_free(x.d);
	if (x.work)
		kluis_rm_rf(x.work);
	free(x.work);
	free(x.bundle);
	free(x.opdr);
	kluis_transfer_keys_free(x.keys, x.nkeys);
	kluis_buf_dispose(&x.mtext);
	kluis_buf_dispose(&x.msig);
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

/* What an import carries from one phase to the next; kluis_dossier_import_with_receipt releases it. */
struct import {
	kluis_vault *v;
	const char *actor;
	const char *const *trust;
	size_t ntrust;
	kluis_transfer_progress_adapter pa;
	kluis_checked_archive a;
	char *work;                /* the archive extracted, its scratch repository */
	char *final;               /* where the dossier goes in this vault */
	char sha[65];              /* of the archive file */
};

/* The archive checks out completely and was handed over to this vault's actor, its opdrachtgever. */
static int import_check(struct import *x, const char *archive)
{
	kluis_checked_archive *a = &x->a;
	uint64_t size;
	size_t i;
	int err;

	x->pa.phase = "reading the archive";
	if ((err = kluis_vault_actor(x->v, &x->actor)) < 0 || (err = kluis_transfer_sha256_file(archive, x->sha, &size)) < 0 ||
	    (err = kluis_mkdir_p(x->v->dossiers)) < 0 || (err = kluis_vault_workdir(x->v, "import", &x->work)) < 0 ||
	    (err = kluis_check_archive(x->v, archive, x->work, x->trust, x->ntrust, true, &x->pa, a, NULL)) < 0)
		return err;
	if (!(kluis_roles_of(&a->roles, x->actor) & KLUIS_ROLE_OPDRACHTGEVER))
		return kluis_error_set(KLUIS_EACCESS, "only the dossier's opdrachtgever may import it; key %s is not", x->actor);
	/* and the handover was made to this opdrachtgever, as the transfer commit says */
	for (i = 0; i < a->nnamed && strcmp(a->named[i], x->actor) != 0; i++)
		;
	if (i == a->nnamed)
		return kluis_error_set(KLUIS_EACCESS, "the transfer of '%s' names another opdrachtgever (%s), not key %s: it was not handed over to you",
				       a->dossier, a->nnamed ? a->named[0] : "none", x->actor);
	return 0;
}

/* x->final names the dossier's place in this vault, still free. */
static int import_target(struct import *x)
{
	char name[80];

	snprintf(name, sizeof(name), "%s.git", x->a.dossier);
	if (!(x->final = kluis_path_join(x->v->dossiers, name)))
		return kluis_error_set(KLUIS_EGENERIC, "out of memory");
	if (kluis_path_exists(x->final))
		return kluis_error_set(KLUIS_EEXISTS, "dossier '%s' is already in this vault", x->a.dossier);
	return 0;
}

/*
 * The archive's public keys and the trust roots lie with the dossier, so it verifies here for
 * ten years. Kept: exactly the keys the history needs (transfer_keys.c, the exporter's rule),
 * as librnp exports them from the archive's keys (with the importer's own revocations); a
 * keys/ member that is no such key is refused, so nothing else an exporter put in keys/ (a
 * key whose user id is text about the klant) is kept.
 */
static int import_keep_keys(struct import *x)
{
	kluis_buf t = KLUIS_BUF_INIT;
	kluis_transfer_key *keys = NULL;
	char *keysdir = kluis_path_join(x->a.repo_path, "kluis-keys"), *src = NULL, *tp = NULL, *dst;
	DIR *dd = NULL;
	struct dirent *de;
	size_t i, nkeys = 0;
	int err;

	if ((err = keysdir ? 0 : kluis_error_set(KLUIS_EGENERIC, "out of memory")) < 0 ||
	    (err = kluis_transfer_keys(x->a.repo, x->a.keys, &keys, &nkeys)) < 0)
		goto cleanup;
	src = kluis_path_join(x->work, "archive/keys");
	dd = src ? opendir(src) : NULL;
	while (dd && (de = readdir(dd)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		for (i = 0; i < nkeys && strcmp(keys[i].member + 5, de->d_name) != 0; i++)
			;
		if (i == nkeys) {
			err = kluis_error_set(KLUIS_EVERIFY, "archive member 'keys/%.100s' is no key this dossier's history needs", de->d_name);
			goto cleanup;
		}
	}
	if ((err = kluis_mkdir_p(keysdir)) < 0)
		goto cleanup;
	for (i = 0; i < nkeys; i++) {
		if (!(dst = kluis_path_join(keysdir, keys[i].member + 5))) {
			err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
			goto cleanup;
		}
		err = kluis_file_write_atomic(dst, keys[i].armored, keys[i].len);
		free(dst);
		if (err < 0)
			goto cleanup;
	}
	tp = kluis_path_join(x->a.repo_path, "kluis-trust");
	for (i = 0; i < x->ntrust; i++)
		kluis_buf_printf(&t, "%s\n", x->trust[i]);
	err = tp ? kluis_file_write_atomic(tp, t.ptr, t.len) : kluis_error_set(KLUIS_EGENERIC, "out of memory");
cleanup:
	if (dd)
		closedir(dd);
	kluis_transfer_keys_free(keys, nkeys);
	kluis_buf_dispose(&t);
	free(src);
	free(tp);
	free(keysdir);
	return err;
}

/* The dossier is in its place in this vault, with a checkpoint at the transfer commit. */
static int import_move_into_place(struct import *x)
{
	git_repository *r = NULL;
	int err;

	git_repository_free(x->a.repo);
	x->a.repo = NULL;
	if (rename(x->a.repo_path, x->final) < 0)
		return kluis_error_set(KLUIS_EGENERIC, "cannot move the imported dossier into place: %s", strerror(errno));
	if ((err = kluis_repo_open(&r, x->final)) == 0)
		err = kluis_checkpoint_write(x->v, x->a.dossier, r, &x->a.head);
	git_repository_free(r);
	return err;
}

/* The vault's ledger records the import: which archive, which head, from whom, kept until when. */
static int import_record(struct import *x, int retention_years)
{
	kluis_buf fields = KLUIS_BUF_INIT;
	char until[21], hex[GIT_OID_HEXSZ + 1];
	int err;

	kluis_time_iso(kluis_now() + (int64_t)retention_years * KLUIS_YEAR_SECONDS, until);
	until[10] = '\0';
	git_oid_tostr(hex, sizeof(hex), &x->a.head);
	if ((err = kluis_buf_printf(&fields, "Kluis-Archive-Sha256: %s\nKluis-Head: %s\nKluis-Exporter: %s\nKluis-Retention-Years: %d\nKluis-Retention-Until: %s\n",
				    x->sha, hex, x->a.exporter, retention_years, until)) == 0)
		err = kluis_ledger_append(x->v, "import", x->a.dossier, "opdrachtgever", (const char *)fields.ptr, NULL);
	kluis_buf_dispose(&fields);
	return err;
}

int kluis_dossier_import_with_receipt(kluis_vault *v, const char *archive, const char *const *trust, size_t ntrust,
				      int retention_years, const char *receipt_path, kluis_progress_fn progress, void *progress_ctx,
				      char id_out[65])
{
	struct import x = { .v = v, .trust = trust, .ntrust = ntrust, .pa = { progress, progress_ctx, NULL } };
	kluis_receipt_files *receipt = NULL;
	int err;

	id_out[0] = '\0';
	if (retention_years <= 0)
		retention_years = 10;
	if (!x.ntrust && (err = kluis_vault_trust(v, &x.trust, &x.ntrust)) < 0)
		return err;
	if (!x.ntrust)
		return kluis_error_set(KLUIS_EINVAL, "no trust root: give --trust FPR, the sending organisation's directie key, learned from them directly");
	/* the receipt is signed and written before anything is taken in, so that one that cannot be
	 * made stops the import; it appears only once the import is complete (after its ledger event) */
	if ((err = import_check(&x, archive)) < 0 || (err = import_target(&x)) < 0 ||
	    (receipt_path && (err = import_receipt_prepare(v, receipt_path, &x.a, x.sha, x.actor, &receipt)) < 0) ||
	    (err = import_keep_keys(&x)) < 0 || (err = import_move_into_place(&x)) < 0 || (err = import_record(&x, retention_years)) < 0)
		goto cleanup;
	snprintf(id_out, 65, "%s", x.a.dossier);
	if (receipt && (err = kluis_receipt_publish(receipt)) < 0)
		err = kluis_error_set(err, "dossier '%s' is imported, but its receipt is not: %s", x.a.dossier, kluis_error_last());
cleanup:
	kluis_receipt_files_free(receipt);
	kluis_checked_archive_dispose(&x.a);
	if (x.work)
		kluis_rm_rf(x.work);
	free(x.work);
	free(x.final);
	return err;
}
