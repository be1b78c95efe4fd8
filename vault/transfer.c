/*
 * transfer.c - transfer of a closed dossier to the opdrachtgever as a signed archive, import
 * there, and `kluis verify --bundle` of such an archive (see lifecycle.h).
 *
 * The transfer archive (SPEC "Transfer archive") is a gzip tar of dossier.bundle (refs main,
 * kluis/content, kluis/access), manifest.json, its detached signature manifest.json.asc and
 * keys/<FPR>.asc for every key the history needs. Reading one back, at transfer or import,
 * trusts nothing in it until the manifest's signature, the bundle's hash, the bundle itself
 * and the whole history (verify.c) check out.
 *
 * Invariant 7: a transfer destroys the local copy only after the written archive has been
 * read back and verified in full; any failure before that leaves the dossier as it was (and
 * no unverified archive at --out).
 *
 * The read log is vouched for: the signed `transfer` commit names the tip of refs/kluis/access
 * and its length (Kluis-Access-Head, Kluis-Access-Count), taken under the dossier's lock, which
 * the transfer holds until the local copy is gone, so no read is recorded after it; the
 * manifest repeats both (access_head, access_count) and names the transfer commit. Reading an
 * archive takes only a finished handover: the last commit on main is that `transfer`, the
 * dossier is closed, the bundle's read log ends exactly at access_head after access_count
 * records, and the manifest is signed by the key that signed the transfer commit. Import also
 * wants the importer named in the transfer's Kluis-Opdrachtgever lines, and verifies with the
 * importer's own keyring merged into the archive's keys, so a key the importer has revoked is
 * revoked here too.
 */
#include "lifecycle.h"
#include "archive.h"
#include "bundle.h"
#include "checkpoint.h"
#include "crypto.h"
#include "internal.h"
#include "ledger.h"
#include "lifecycle_internal.h"
#include "verify.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const archive_members[] = { "dossier.bundle", "manifest.json", "manifest.json.asc", "keys/", NULL };
static const char *const bundle_refs[] = { "refs/heads/main", "refs/kluis/content", "refs/kluis/access" };
static const char zero_hex[GIT_OID_HEXSZ + 1] = "0000000000000000000000000000000000000000";

/* ---- helpers ---- */

static int sha256_file(const char *path, char out[65], uint64_t *size)
{
	kluis_sha256 *h = NULL;
	unsigned char buf[65536];
	ssize_t n;
	int fd, err;

	*size = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return kluis_error_set(KLUIS_EGENERIC, "cannot read '%s': %s", path, strerror(errno));
	if ((err = kluis_sha256_new(&h)) < 0)
		goto cleanup;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		kluis_sha256_update(h, buf, (size_t)n);
		*size += (uint64_t)n;
	}
	if (n < 0) {
		err = kluis_error_set(KLUIS_EGENERIC, "cannot read '%s': %s", path, strerror(errno));
		goto cleanup;
	}
	kluis_sha256_hex(h, out);
	err = 0;
cleanup:
	kluis_sha256_free(h);
	close(fd);
	return err;
}

struct progress_adapter {
	kluis_progress_fn fn;
	void *ctx;
};

static int archive_progress(uint64_t done, uint64_t total, void *payload)
{
	struct progress_adapter *a = payload;

	if (a->fn)
		a->fn(a->ctx, done, total);
	return 0;
}

/* ---- the read log ---- */

/*
 * The number of access records on the chain that ends at `tip`. Each record has at most one
 * parent (kluis_access_record appends to the one before): a record with more is no log that
 * kluis wrote, and a record that cannot be read leaves the count unknown; both KLUIS_EVERIFY.
 */
static int access_chain_count(git_repository *repo, const git_oid *tip, size_t *count)
{
	git_commit *c = NULL, *p = NULL;
	char hex[GIT_OID_HEXSZ + 1];
	unsigned n;
	int err = 0;

	*count = 0;
	if (git_commit_lookup(&c, repo, tip) < 0)
		return kluis_git_fail(KLUIS_EVERIFY, "cannot read the read log (refs/kluis/access)");
	for (;;) {
		(*count)++;
		if ((n = git_commit_parentcount(c)) == 0)
			break;
		if (n > 1) {
			git_oid_tostr(hex, sizeof(hex), git_commit_id(c));
			err = kluis_error_set(KLUIS_EVERIFY, "the read log is no chain: record %s has %u parents", hex, n);
			break;
		}
		if (git_commit_parent(&p, c, 0) < 0) {
			err = kluis_git_fail(KLUIS_EVERIFY, "cannot read the read log (refs/kluis/access)");
			break;
		}
		git_commit_free(c);
		c = p;
		p = NULL;
	}
	git_commit_free(c);
	return err;
}

/* The read log of `repo`: its tip in hex (40 zeros when there is none) and its length. */
static int access_log(git_repository *repo, char tip_hex[GIT_OID_HEXSZ + 1], bool *exists, size_t *count)
{
	git_oid tip;
	int err;

	*count = 0;
	memcpy(tip_hex, zero_hex, sizeof(zero_hex));
	if ((err = kluis_repo_ref(repo, "refs/kluis/access", &tip, exists)) < 0 || !*exists)
		return err;
	git_oid_tostr(tip_hex, GIT_OID_HEXSZ + 1, &tip);
	return access_chain_count(repo, &tip, count);
}

/* ---- reading an archive back (transfer) or in (import) ---- */

typedef struct {
	git_repository *repo;     /* scratch bare repository with the bundle's refs */
	char *repo_path;
	kluis_keyring *keys;      /* the archive's keys/ (with the reader's own keyring for import) */
	char dossier[65];
	char exporter[41];        /* the manifest's signer */
	char bundle_sha256[65];
	git_oid head;             /* the transfer commit */
	kluis_roles roles;        /* at the head */
	char **named;             /* the transfer commit's Kluis-Opdrachtgever values */
	size_t nnamed;
} checked_archive;

static void checked_archive_dispose(checked_archive *a)
{
	git_repository_free(a->repo);
	kluis_keyring_free(a->keys);
	kluis_roles_dispose(&a->roles);
	kluis_strings_free(a->named, a->nnamed);
	free(a->repo_path);
	memset(a, 0, sizeof(*a));
}

/*
 * The keyring that verifies an archive: the keys in `dir` (keys/), on top of `mine` when it is
 * not NULL. librnp merges what both hold of one key, so a revocation in `mine` holds against
 * the archive's unrevoked copy of that key.
 */
static int load_keys_dir(const char *dir, kluis_keyring *mine, kluis_keyring **kr)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	kluis_buf data = KLUIS_BUF_INIT;
	char *path;
	size_t nfiles = 0;
	int err = 0;

	*kr = NULL;
	if (!d)
		return kluis_error_set(KLUIS_EVERIFY, "the archive holds no keys/");
	if (mine && ((err = kluis_keyring_clone(mine, kr)) < 0 || (err = kluis_keyring_ready(*kr)) < 0)) {
		err = kluis_error_set(KLUIS_EKEY, "your own keyring cannot be read, so the revocations in it cannot be honoured: %s", kluis_error_last());
		closedir(d);
		kluis_keyring_free(*kr);
		*kr = NULL;
		return err;
	}
	while ((de = readdir(d)) != NULL && err == 0) {
		if (de->d_name[0] == '.')
			continue;
		if (!(path = kluis_path_join(dir, de->d_name))) {
			err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
			break;
		}
		data.len = 0;
		if ((err = kluis_file_read(&data, path, 1 << 20)) == 0)
			err = *kr ? kluis_keyring_import(*kr, data.ptr, data.len) : kluis_keyring_open_data(kr, data.ptr, data.len);
		nfiles += err == 0;
		free(path);
	}
	closedir(d);
	kluis_buf_dispose(&data);
	if (err == 0 && !nfiles)
		err = kluis_error_set(KLUIS_EVERIFY, "the archive's keys/ is empty");
	else if (err < 0)
		err = kluis_error_set(KLUIS_EVERIFY, "the archive's keys/ is unusable: %s", kluis_error_last());
	if (err < 0) {
		kluis_keyring_free(*kr);
		*kr = NULL;
	}
	return err;
}

/*
 * After a signature was refused by the archive's keys with the reader's keyring merged in:
 * whether the archive's keys alone accept it, so that it is the reader's own copy of the key
 * (a revocation there) that refuses it. Leaves the last error message as it was.
 */
static bool archive_keys_alone_accept(const char *keysdir, const kluis_buf *data, const kluis_buf *sig, char signer[41])
{
	kluis_keyring *only = NULL;
	char *msg = strdup(kluis_error_last());
	int64_t when;
	bool ok;

	ok = load_keys_dir(keysdir, NULL, &only) == 0 && kluis_pgp_verify_detached(only, data->ptr, data->len, sig->ptr, sig->len, signer, &when) == 0;
	kluis_keyring_free(only);
	kluis_error_set(KLUIS_EVERIFY, "%s", msg ? msg : "out of memory");
	free(msg);
	return ok;
}

/* The same for the whole history: whether it verifies on the archive's keys alone. */
static bool archive_keys_alone_verify(const char *keysdir, checked_archive *a, const kluis_verify_opts *opts)
{
	kluis_keyring *only = NULL;
	kluis_verify_report rep;
	char *msg = strdup(kluis_error_last());
	bool ok;

	memset(&rep, 0, sizeof(rep));
	ok = load_keys_dir(keysdir, NULL, &only) == 0 && kluis_verify_repository(a->repo, a->dossier, only, opts, NULL, &rep) == 0 &&
	     rep.nfindings == 0;
	kluis_verify_report_dispose(&rep);
	kluis_keyring_free(only);
	kluis_error_set(KLUIS_EVERIFY, "%s", msg ? msg : "out of memory");
	free(msg);
	return ok;
}

/* What the manifest says of the read log and the handover, beside dossier, head and hash. */
typedef struct {
	char access_head[GIT_OID_HEXSZ + 1]; /* 40 zeros: no reads */
	size_t access_count;
} manifest_access;

static int manifest_access_get(json_t *m, const git_oid *head, manifest_access *ma)
{
	json_t *count = json_object_get(m, "access_count");
	const char *s;
	git_oid oid;

	memset(ma, 0, sizeof(*ma));
	if (!(s = json_string_value(json_object_get(m, "transfer_commit"))) || git_oid_fromstr(&oid, s) < 0 || strlen(s) != GIT_OID_HEXSZ)
		return kluis_error_set(KLUIS_EVERIFY, "the manifest has no transfer_commit: only the archive of a finished transfer is taken in");
	if (!git_oid_equal(&oid, head))
		return kluis_error_set(KLUIS_EVERIFY, "the manifest's transfer_commit %.12s is not its head", s);
	if (!(s = json_string_value(json_object_get(m, "access_head"))) || git_oid_fromstr(&oid, s) < 0 || strlen(s) != GIT_OID_HEXSZ)
		return kluis_error_set(KLUIS_EVERIFY, "the manifest has no access_head (the read log's tip)");
	if (!json_is_integer(count) || json_integer_value(count) < 0)
		return kluis_error_set(KLUIS_EVERIFY, "the manifest has no access_count (the read log's length)");
	git_oid_tostr(ma->access_head, sizeof(ma->access_head), &oid); /* lower case, as git writes it */
	ma->access_count = (size_t)json_integer_value(count);
	if ((strcmp(ma->access_head, zero_hex) == 0) != (ma->access_count == 0))
		return kluis_error_set(KLUIS_EVERIFY, "the manifest's access_head and access_count disagree (%.12s, %zu)", ma->access_head, ma->access_count);
	return 0;
}

/* The bundle's read log is the one the manifest vouches for: ending at access_head (nothing
 * recorded after it), access_count records long. */
static int check_access_log(git_repository *repo, const manifest_access *ma)
{
	char tip[GIT_OID_HEXSZ + 1];
	bool exists;
	size_t n;
	int err;

	if ((err = access_log(repo, tip, &exists, &n)) < 0)
		return err;
	if (strcmp(tip, ma->access_head) != 0)
		return kluis_error_set(KLUIS_EVERIFY, "the bundle's read log ends at %.12s, the manifest's access_head is %.12s", exists ? tip : "nothing",
				       ma->access_head);
	if (n != ma->access_count)
		return kluis_error_set(KLUIS_EVERIFY, "the bundle's read log holds %zu records, the manifest's access_count says %zu", n, ma->access_count);
	return 0;
}

/*
 * The head is the signed handover of a closed dossier: Kluis-Action transfer, the dossier file
 * says closed, Kluis-Access-Head and Kluis-Access-Count (once each) are the manifest's, and its
 * signer is the manifest's. Keeps the Kluis-Opdrachtgever values in a->named.
 */
static int check_transfer_commit(checked_archive *a, git_commit *head, git_tree *tree, const manifest_access *ma)
{
	git_message_trailer_array arr = { 0 };
	git_buf sig = { 0 }, data = { 0 };
	kluis_dossier_file f;
	kluis_buf text = KLUIS_BUF_INIT;
	const char *action = NULL, *ahead = NULL, *acount = NULL;
	char signer[41], count[32], **grown;
	int64_t when;
	size_t i, nact = 0, nhead = 0, ncount = 0;
	int err = 0;

	if (git_message_trailers(&arr, git_commit_message(head)) < 0) {
		err = kluis_git_fail(KLUIS_EVERIFY, "cannot read the trailers of the dossier's last commit");
		goto cleanup;
	}
	for (i = 0; i < arr.count && err == 0; i++) {
		const char *k = arr.trailers[i].key, *val = arr.trailers[i].value;
		if (strcmp(k, "Kluis-Action") == 0)
			action = val, nact++;
		else if (strcmp(k, "Kluis-Access-Head") == 0)
			ahead = val, nhead++;
		else if (strcmp(k, "Kluis-Access-Count") == 0)
			acount = val, ncount++;
		else if (strcmp(k, "Kluis-Opdrachtgever") == 0) {
			if (!(grown = realloc(a->named, (a->nnamed + 1) * sizeof(*grown))) || !(grown[a->nnamed] = strdup(val))) {
				if (grown)
					a->named = grown;
				err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
				break;
			}
			a->named = grown;
			a->nnamed++;
		}
	}
	if (err < 0)
		goto cleanup;
	if (nact != 1 || strcmp(action, "transfer") != 0) {
		err = kluis_error_set(KLUIS_EVERIFY, "the dossier's last commit is %s%s%s, not a transfer: only a finished handover is taken in",
				      nact == 1 ? "'" : "without one Kluis-Action", nact == 1 ? action : "", nact == 1 ? "'" : "");
		goto cleanup;
	}
	if ((err = kluis_repo_read_path(a->repo, tree, "dossier", &text)) < 0 ||
	    (err = kluis_dossier_file_parse(&f, (const char *)text.ptr, text.len)) < 0) {
		err = kluis_error_set(KLUIS_EVERIFY, "cannot read the dossier file at the transfer: %s", kluis_error_last());
		goto cleanup;
	}
	if (strcmp(f.state, "closed") != 0) {
		err = kluis_error_set(KLUIS_EVERIFY, "dossier '%s' is %s at its transfer, not closed: only a closed dossier is handed over", a->dossier, f.state);
		goto cleanup;
	}
	snprintf(count, sizeof(count), "%zu", ma->access_count);
	if (nhead != 1 || ncount != 1 || strcmp(ahead, ma->access_head) != 0 || strcmp(acount, count) != 0) {
		err = kluis_error_set(KLUIS_EVERIFY, "the transfer commit vouches for another read log (Kluis-Access-Head %.12s, Kluis-Access-Count %s) than the manifest (%.12s, %zu)",
				      nhead == 1 ? ahead : "-", ncount == 1 ? acount : "-", ma->access_head, ma->access_count);
		goto cleanup;
	}
	/* the history check verified this signature already; here it names who handed over */
	if (git_commit_extract_signature(&sig, &data, a->repo, (git_oid *)git_commit_id(head), NULL) < 0) {
		err = kluis_git_fail(KLUIS_EVERIFY, "the transfer commit carries no signature");
		goto cleanup;
	}
	if ((err = kluis_pgp_verify_detached(a->keys, data.ptr, data.size, sig.ptr, sig.size, signer, &when)) < 0) {
		err = kluis_error_set(KLUIS_EVERIFY, "the transfer commit's signature does not verify: %s", kluis_error_last());
		goto cleanup;
	}
	if (strcmp(signer, a->exporter) != 0) {
		err = kluis_error_set(KLUIS_EVERIFY, "the manifest is signed by %s, but the transfer commit by %s: a manifest is vouched for by who handed over",
				      a->exporter, signer);
		goto cleanup;
	}
cleanup:
	git_message_trailer_array_free(&arr);
	git_buf_dispose(&sig);
	git_buf_dispose(&data);
	kluis_buf_dispose(&text);
	return err;
}

/*
 * Check a transfer archive completely, as `import` must before taking anything in. With
 * findings_out NULL, any finding in the history fails the check; otherwise the findings are
 * handed over there (for `kluis verify --bundle`, which reports them all) and the rest of the
 * checks go on. With `own_keys`, the reader's keyring (GNUPGHOME, if there is one) joins the
 * archive's keys, for its revocations; the read-back at transfer goes without, so that it
 * proves the archive's keys/ alone enough.
 */
static int check_archive(kluis_vault *v, const char *archive, const char *work, const char *const *trust, size_t ntrust,
			 bool own_keys, struct progress_adapter *pa, checked_archive *out, kluis_verify_report *findings_out)
{
	kluis_archive_limits limits;
	kluis_archive_member *members = NULL;
	kluis_buf manifest = KLUIS_BUF_INIT, sig = KLUIS_BUF_INIT, roles_text = KLUIS_BUF_INIT;
	kluis_bundle_ref *refs = NULL;
	kluis_keyring *mine = NULL;
	kluis_verify_opts opts;
	kluis_verify_report rep;
	manifest_access ma;
	json_t *m = NULL;
	git_commit *head_commit = NULL;
	git_tree *head_tree = NULL;
	char *dir = NULL, *p = NULL, *keysdir = NULL, sha[65], signer[41];
	const char *s;
	size_t nmembers = 0, nrefs = 0, i, j;
	uint64_t size;
	int64_t signed_at;
	bool seen[3] = { false, false, false };
	int err;

	memset(out, 0, sizeof(*out));
	memset(&rep, 0, sizeof(rep));
	memset(&limits, 0, sizeof(limits));
	limits.allowed = archive_members;
	limits.max_members = 64;
	limits.progress = archive_progress;
	limits.progress_payload = pa;
	dir = kluis_path_join(work, "archive");
	if ((err = dir ? 0 : kluis_error_set(KLUIS_EGENERIC, "out of memory")) < 0 || (err = kluis_mkdir_p(dir)) < 0 ||
	    (err = kluis_archive_extract(archive, dir, &limits, &members, &nmembers)) < 0)
		goto cleanup;
	for (i = 0; i < nmembers; i++)
		for (j = 0; j < 3; j++)
			seen[j] |= strcmp(members[i].path, archive_members[j]) == 0;
	if (!seen[0] || !seen[1] || !seen[2]) {
		err = kluis_error_set(KLUIS_EVERIFY, "the archive lacks %s", !seen[0] ? "dossier.bundle" : !seen[1] ? "manifest.json" : "manifest.json.asc");
		goto cleanup;
	}
	/* a key the reader has revoked is revoked here too; no keyring of one's own (an auditor
	 * with an empty GNUPGHOME) has no revocations to add */
	if (own_keys && (err = kluis_vault_keyring(v, &mine)) < 0) {
		if (err != KLUIS_EKEY)
			goto cleanup;
		mine = NULL;
	}
	/* the signature first: nothing in the manifest counts before it verifies */
	keysdir = kluis_path_join(dir, "keys");
	if ((err = keysdir ? 0 : kluis_error_set(KLUIS_EGENERIC, "out of memory")) < 0 || (err = load_keys_dir(keysdir, mine, &out->keys)) < 0)
		goto cleanup;
	free(p);
	p = kluis_path_join(dir, "manifest.json");
	if ((err = p ? 0 : kluis_error_set(KLUIS_EGENERIC, "out of memory")) < 0 || (err = kluis_file_read(&manifest, p, 1 << 20)) < 0) {
		err = kluis_error_set(KLUIS_EVERIFY, "the archive's manifest.json is unusable: %s", kluis_error_last());
		goto cleanup;
	}
	free(p);
	p = kluis_path_join(dir, "manifest.json.asc");
	if ((err = p ? 0 : kluis_error_set(KLUIS_EGENERIC, "out of memory")) < 0 || (err = kluis_file_read(&sig, p, 1 << 16)) < 0) {
		err = kluis_error_set(KLUIS_EVERIFY, "the archive's manifest.json.asc is unusable: %s", kluis_error_last());
		goto cleanup;
	}
	if ((err = kluis_pgp_verify_detached(out->keys, manifest.ptr, manifest.len, sig.ptr, sig.len, out->exporter, &signed_at)) < 0) {
		if (mine && archive_keys_alone_accept(keysdir, &manifest, &sig, signer))
			err = kluis_error_set(KLUIS_EVERIFY, "the manifest is signed by %s, whose key is revoked or expired in your own keyring: nothing it signed is trusted", signer);
		else
			err = kluis_error_set(KLUIS_EVERIFY, "the manifest's signature does not verify: %s", kluis_error_last());
		goto cleanup;
	}
	m = json_loadb((const char *)manifest.ptr, manifest.len, 0, NULL);
	if (!m || !(s = json_string_value(json_object_get(m, "dossier"))) || !kluis_id_valid(s)) {
		err = kluis_error_set(KLUIS_EVERIFY, "the manifest names no valid dossier id");
		goto cleanup;
	}
	snprintf(out->dossier, sizeof(out->dossier), "%s", s);
	if (!(s = json_string_value(json_object_get(m, "bundle_sha256"))) || strlen(s) != 64) {
		err = kluis_error_set(KLUIS_EVERIFY, "the manifest has no bundle_sha256");
		goto cleanup;
	}
	snprintf(out->bundle_sha256, sizeof(out->bundle_sha256), "%s", s);
	if (!(s = json_string_value(json_object_get(m, "head"))) || git_oid_fromstr(&out->head, s) < 0) {
		err = kluis_error_set(KLUIS_EVERIFY, "the manifest has no head");
		goto cleanup;
	}
	if ((err = manifest_access_get(m, &out->head, &ma)) < 0)
		goto cleanup;
	free(p);
	p = kluis_path_join(dir, "dossier.bundle");
	if ((err = p ? 0 : kluis_error_set(KLUIS_EGENERIC, "out of memory")) < 0 || (err = sha256_file(p, sha, &size)) < 0)
		goto cleanup;
	if (strcmp(sha, out->bundle_sha256) != 0) {
		err = kluis_error_set(KLUIS_EVERIFY, "dossier.bundle does not match the manifest's sha256");
		goto cleanup;
	}
	/* the bundle, into a scratch repository */
	out->repo_path = kluis_path_join(work, "dossier.git");
	if ((err = out->repo_path ? 0 : kluis_error_set(KLUIS_EGENERIC, "out of memory")) < 0 ||
	    (err = kluis_repo_create(&out->repo, out->repo_path)) < 0 ||
	    (err = kluis_bundle_read(out->repo, p, &refs, &nrefs, archive_progress, pa)) < 0)
		goto cleanup;
	for (i = 0; i < nrefs; i++) {
		bool known = strcmp(refs[i].name, "HEAD") == 0;
		for (j = 0; j < 3; j++)
			known |= strcmp(refs[i].name, bundle_refs[j]) == 0;
		if (!known) {
			err = kluis_error_set(KLUIS_EVERIFY, "the bundle carries an unexpected ref '%s'", refs[i].name);
			goto cleanup;
		}
		if (strcmp(refs[i].name, "HEAD") != 0 && (err = kluis_repo_ref_cas(out->repo, refs[i].name, &refs[i].oid, NULL, "import")) < 0)
			goto cleanup;
	}
	{
		git_oid main;
		bool exists;
		if ((err = kluis_repo_ref(out->repo, "refs/heads/main", &main, &exists)) < 0)
			goto cleanup;
		if (!exists || !git_oid_equal(&main, &out->head)) {
			err = kluis_error_set(KLUIS_EVERIFY, "the bundle's head is not the manifest's head");
			goto cleanup;
		}
	}
	if ((err = check_access_log(out->repo, &ma)) < 0)
		goto cleanup;
	/* the whole history, as an auditor would */
	memset(&opts, 0, sizeof(opts));
	opts.trust = trust;
	opts.ntrust = ntrust;
	opts.no_cache = true;
	if ((err = kluis_verify_repository(out->repo, out->dossier, out->keys, &opts, NULL, &rep)) < 0)
		goto cleanup;
	if (findings_out) {
		*findings_out = rep;
		memset(&rep, 0, sizeof(rep));
	} else if (rep.nfindings) {
		char hex[GIT_OID_HEXSZ + 1];
		git_oid_tostr(hex, sizeof(hex), &rep.findings[0].commit);
		if (mine && archive_keys_alone_verify(keysdir, out, &opts))
			err = kluis_error_set(KLUIS_EVERIFY, "the dossier in the archive verifies on its own keys, but not with a key revoked or expired in your own keyring (%zu findings; first: %.12s %s)",
					      rep.nfindings, hex, rep.findings[0].message);
		else
			err = kluis_error_set(KLUIS_EVERIFY, "the dossier in the archive does not verify (%zu findings; first: %.12s %s)", rep.nfindings,
					      hex, rep.findings[0].message);
		goto cleanup;
	}
	/* the exporter is the dossier's directie or medewerker */
	if (git_commit_lookup(&head_commit, out->repo, &out->head) < 0 || git_commit_tree(&head_tree, head_commit) < 0 ||
	    (err = kluis_repo_read_path(out->repo, head_tree, "roles", &roles_text)) < 0 ||
	    (err = kluis_roles_parse(&out->roles, (const char *)roles_text.ptr, roles_text.len)) < 0) {
		err = err < 0 ? err : kluis_git_fail(KLUIS_EVERIFY, "cannot read the dossier's roles");
		goto cleanup;
	}
	if (!(kluis_roles_of(&out->roles, out->exporter) & (KLUIS_ROLE_DIRECTIE | KLUIS_ROLE_MEDEWERKER))) {
		err = kluis_error_set(KLUIS_EVERIFY, "the manifest is signed by %s, who is not the dossier's directie or medewerker", out->exporter);
		goto cleanup;
	}
	/* and the head is that exporter's signed handover of the closed dossier and this read log */
	err = check_transfer_commit(out, head_commit, head_tree, &ma);
cleanup:
	kluis_verify_report_dispose(&rep);
	git_tree_free(head_tree);
	git_commit_free(head_commit);
	kluis_bundle_refs_free(refs, nrefs);
	kluis_archive_members_free(members, nmembers);
	json_decref(m);
	kluis_buf_dispose(&manifest);
	kluis_buf_dispose(&sig);
	kluis_buf_dispose(&roles_text);
	free(p);
	free(keysdir);
	free(dir);
	if (err < 0)
		checked_archive_dispose(out);
	return err;
}

/* ---- transfer ---- */

int kluis_dossier_transfer(kluis_vault *v, const char *id, const char *out, kluis_progress_fn progress, void *progress_ctx,
			   kluis_transfer_result *res)
{
	kluis_dossier *d = NULL;
	kluis_txn *t = NULL;
	kluis_signer *signer = NULL;
	kluis_archive_writer *w = NULL;
	kluis_keyring *kr;
	kluis_dossier_status st;
	kluis_verify_opts opts;
	kluis_verify_report rep;
	checked_archive back;
	struct progress_adapter pa = { progress, progress_ctx };
	kluis_buf trailers = KLUIS_BUF_INIT, mtext = KLUIS_BUF_INIT, msig = KLUIS_BUF_INIT, fields = KLUIS_BUF_INIT, cert = KLUIS_BUF_INIT;
	const char **keys = NULL, **opdr = NULL;
	const char *const *trust;
	char *work = NULL, *bundle = NULL, *mj = NULL, member[80], when[21], access_head[GIT_OID_HEXSZ + 1];
	size_t nkeys = 0, nopdr = 0, ntrust, i, access_count = 0;
	json_t *m = NULL, *opdr_arr = NULL;
	unsigned role = 0;
	int64_t from;
	bool archive_written = false, destroying = false, has_access = false;
	int err = 0;

	memset(res, 0, sizeof(*res));
	memset(&rep, 0, sizeof(rep));
	memset(&back, 0, sizeof(back));
	if (kluis_path_exists(out))
		return kluis_error_set(KLUIS_EEXISTS, "'%s' exists; kluis never overwrites, choose another name", out);
	if ((err = kluis_dossier_open(&d, v, id)) < 0 || (err = kluis_dossier_status_get(d, &st)) < 0)
		goto cleanup;
	if (strcmp(st.state, "closed") != 0) {
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
	    (err = access_log(d->repo, access_head, &has_access, &access_count)) < 0)
		goto cleanup;
	role = kluis_txn_role(t);
	if ((err = kluis_buf_printf(&trailers, "Kluis-Action: transfer\nKluis-Role: %s\n", kluis_role_name(role))) < 0)
		goto cleanup;
	for (i = 0; i < nopdr; i++)
		if ((err = kluis_buf_printf(&trailers, "Kluis-Opdrachtgever: %s\n", opdr[i])) < 0)
			goto cleanup;
	if ((err = kluis_buf_printf(&trailers, "Kluis-Access-Head: %s\nKluis-Access-Count: %zu\n", access_head, access_count)) < 0 ||
	    (err = kluis_txn_commit(t, "transfer -", (const char *)trailers.ptr, NULL)) < 0)
		goto cleanup;
	/* the commit reloaded the roles: the fingerprints must point into the new copy */
	free(opdr);
	opdr = NULL;
	if ((err = kluis_roles_keys(&d->roles, KLUIS_ROLE_OPDRACHTGEVER, &opdr, &nopdr)) < 0)
		goto cleanup;

	if ((err = kluis_vault_workdir(v, "transfer", &work)) < 0 || !(bundle = kluis_path_join(work, "dossier.bundle"))) {
		err = err < 0 ? err : kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto cleanup;
	}
	if ((err = kluis_bundle_write(d->repo, bundle, bundle_refs, has_access ? 3 : 2, archive_progress, &pa)) < 0 ||
	    (err = sha256_file(bundle, res->archive_sha256, &res->archive_size)) < 0)
		goto cleanup;
	git_oid_tostr(res->head, sizeof(res->head), &d->head);
	res->commits = st.entries ? 0 : 0;
	{
		char seq[32] = "0";
		kluis_trailer_get(git_commit_message(d->head_commit), "Kluis-Seq", seq, sizeof(seq));
		res->commits = (size_t)strtoull(seq, NULL, 10);
	}
	res->entries = st.entries;
	res->reads = access_count;
	kluis_time_iso(kluis_now(), when);
	opdr_arr = json_array();
	for (i = 0; i < nopdr; i++)
		json_array_append_new(opdr_arr, json_string(opdr[i]));
	{
		const char *actor;
		kluis_vault_actor(v, &actor);
		m = json_pack("{s:s, s:i, s:s, s:s, s:I, s:I, s:I, s:s, s:I, s:s, s:s, s:O, s:I}", "kluis", "transfer-manifest", "version", 1,
			      "dossier", id, "head", res->head, "commits", (json_int_t)res->commits, "entries", (json_int_t)res->entries,
			      "reads", (json_int_t)res->reads, "bundle_sha256", res->archive_sha256, "bundle_size",
			      (json_int_t)res->archive_size, "time", when, "exporter", actor, "opdrachtgever", opdr_arr, "checkpoint_seq",
			      (json_int_t)res->commits);
		/* the read log as the transfer commit vouches for it, and that commit */
		if (m && (json_object_set_new(m, "access_head", json_string(access_head)) < 0 ||
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
	/* write the archive: bundle, manifest, signature, keys */
	kluis_archive_writer_set_progress(w, archive_progress, &pa);
	if ((err = kluis_archive_add_file(w, "dossier.bundle", bundle)) < 0 ||
	    (err = kluis_archive_add_buffer(w, "manifest.json", mtext.ptr, mtext.len)) < 0 ||
	    (err = kluis_archive_add_buffer(w, "manifest.json.asc", msig.ptr, msig.len)) < 0 || (err = kluis_vault_keyring(v, &kr)) < 0 ||
	    (err = kluis_roles_keys(&d->roles, ~0u, &keys, &nkeys)) < 0)
		goto cleanup;
	for (i = 0; i < nkeys; i++) {
		char *armored = NULL;
		size_t alen = 0;
		snprintf(member, sizeof(member), "keys/%s.asc", keys[i]);
		if ((err = kluis_keyring_export(kr, keys[i], &armored, &alen)) < 0)
			goto cleanup;
		err = kluis_archive_add_buffer(w, member, armored, alen);
		free(armored);
		if (err < 0)
			goto cleanup;
	}
	if ((err = kluis_archive_writer_close(w)) < 0)
		goto cleanup;
	archive_written = true;
	if ((err = sha256_file(out, res->archive_sha256, &res->archive_size)) < 0)
		goto cleanup;
	/* read it back and verify it completely, as the opdrachtgever will */
	{
		char *check = kluis_path_join(work, "readback");
		if (!check || (err = kluis_mkdir_p(check)) < 0 || (err = check_archive(v, out, check, trust, ntrust, false, &pa, &back, NULL)) < 0) {
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
	checked_archive_dispose(&back);
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
	free(keys);
	free(opdr);
	json_decref(m);
	json_decref(opdr_arr);
	kluis_buf_dispose(&trailers);
	kluis_buf_dispose(&mtext);
	kluis_buf_dispose(&msig);
	kluis_buf_dispose(&fields);
	kluis_buf_dispose(&cert);
	return err;
}

/* ---- import ---- */

int kluis_archive_verify(kluis_vault *v, const char *archive, const char *work, const kluis_verify_opts *opts,
			 kluis_verify_report *rep, char id_out[65])
{
	checked_archive a;
	struct progress_adapter pa = { NULL, NULL };
	const char *const *trust = opts->trust;
	size_t ntrust = opts->ntrust;
	int err;

	memset(&a, 0, sizeof(a));
	if (!ntrust && (err = kluis_vault_trust(v, &trust, &ntrust)) < 0)
		return err;
	if (!ntrust)
		return kluis_error_set(KLUIS_EINVAL, "no trust root to verify '%s' from: name the directie key that created the dossier with --trust FPR", archive);
	err = check_archive(v, archive, work, trust, ntrust, true, &pa, &a, rep);
	if (err == 0)
		snprintf(id_out, 65, "%s", a.dossier);
	checked_archive_dispose(&a);
	return err;
}

int kluis_dossier_import(kluis_vault *v, const char *archive, const char *const *trust, size_t ntrust, int retention_years,
			 kluis_progress_fn progress, void *progress_ctx, char id_out[65])
{
	checked_archive a;
	struct progress_adapter pa = { progress, progress_ctx };
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
	if ((err = kluis_vault_actor(v, &actor)) < 0 || (err = sha256_file(archive, sha, &size)) < 0 ||
	    (err = kluis_mkdir_p(v->dossiers)) < 0 || (err = kluis_vault_workdir(v, "import", &work)) < 0 ||
	    (err = check_archive(v, archive, work, trust, ntrust, true, &pa, &a, NULL)) < 0)
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
cleanup:
	checked_archive_dispose(&a);
	if (work)
		kluis_rm_rf(work);
	free(work);
	free(final);
	free(keysdir);
	kluis_buf_dispose(&fields);
	return err;
}
