/*
 * transfer_check.c - reading a transfer archive back (at transfer), in (import) or over
 * (`kluis verify --bundle`): everything in it is distrusted until it checks out (see
 * transfer_internal.h and lifecycle.h).
 *
 * The checks, in order: every member is a plain file with a safe name of the archive's four
 * kinds, in the order manifest.json, manifest.json.asc, keys/..., dossier.bundle, the first
 * three within fixed bounds; before the bundle is written, the manifest's detached signature
 * verifies on the archive's keys/ (for import and verify --bundle merged with the reader's own
 * keyring, so a key the reader has revoked is revoked here: librnp keeps the revocation when
 * the archive's copy of the key is imported over it) and the signed manifest names every key
 * with its size, and the bundle's (which the extraction holds it to); the manifest names the dossier, the bundle's sha256, the head, the transfer
 * commit (= the head) and the read log (access_head, access_count); the bundle has that
 * sha256 and only a dossier's refs, main at the head; its refs/kluis/access ends exactly at
 * access_head after access_count records, nothing after it; the whole history verifies
 * (verify.c); the manifest's signer is the dossier's directie or medewerker; the head is a
 * `transfer` commit of the closed dossier, signed by the manifest's signer, whose
 * Kluis-Access-Head and Kluis-Access-Count are the manifest's.
 */
#include "vault/exchange/lifecycle.h"
#include "vault/exchange/archive.h"
#include "vault/exchange/bundle.h"
#include "vault/store/internal.h"
#include "vault/exchange/transfer_internal.h"
#include "vault/verify/verify.h"

#include <dirent.h>
#include <inttypes.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const archive_members[] = { "dossier.bundle", "manifest.json", "manifest.json.asc", "keys/", NULL };
const char *const kluis_transfer_bundle_refs[3] = { "refs/heads/main", "refs/kluis/content", "refs/kluis/access" };
static const char zero_hex[GIT_OID_HEXSZ + 1] = "0000000000000000000000000000000000000000";

/* ---- helpers shared with transfer.c ---- */

int kluis_transfer_sha256_file(const char *path, char out[65], uint64_t *size)
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

int kluis_transfer_progress(uint64_t done, uint64_t total, void *payload)
{
	kluis_transfer_progress_adapter *a = payload;

	if (a->fn)
		a->fn(a->ctx, a->phase ? a->phase : "working", done, total);
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
int kluis_transfer_access_log(git_repository *repo, char tip_hex[GIT_OID_HEXSZ + 1], bool *exists, size_t *count)
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

void kluis_checked_archive_dispose(kluis_checked_archive *a)
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
static bool archive_keys_alone_verify(const char *keysdir, kluis_checked_archive *a, const kluis_verify_opts *opts)
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

	if ((err = kluis_transfer_access_log(repo, tip, &exists, &n)) < 0)
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
static int check_transfer_commit(kluis_checked_archive *a, git_commit *head, git_tree *tree, const manifest_access *ma)
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
	if (strcmp(f.state, "transferred") != 0) {
		err = kluis_error_set(KLUIS_EVERIFY, "dossier '%s' is %s at its transfer: only a closed dossier is handed over, its transfer marking it transferred",
				      a->dossier, f.state);
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

/* What may come before the signature is checked: the manifest, its signature and the keys,
 * each and all bounded here (the manifest then bounds the rest). */
#define MANIFEST_MAX (1u << 20)
#define SIGNATURE_MAX (1u << 16)
#define KEY_MAX (1u << 20)
#define KEYS_TOTAL_MAX (16u << 20)

/* The archive's head (manifest, signature, keys) while it is extracted; see admit_member. */
struct head {
	kluis_vault *v;
	bool own_keys;
	char *dir;                /* where the archive is extracted */
	kluis_checked_archive *out;
	kluis_keyring *mine;      /* the reader's own keyring, or NULL */
	char *keysdir;
	kluis_buf manifest, sig;
	json_t *m;                /* the manifest, once its signature verified */
	size_t n;                 /* members admitted so far */
	uint64_t keys_total;
	bool bundle;              /* dossier.bundle was admitted: nothing may follow it */
};

static int read_member(struct head *h, const char *name, kluis_buf *out, size_t max)
{
	char *p = kluis_path_join(h->dir, name);
	int err = p ? kluis_file_read(out, p, max) : kluis_error_set(KLUIS_EGENERIC, "out of memory");

	free(p);
	if (err < 0)
		err = kluis_error_set(KLUIS_EVERIFY, "the archive's %s is unusable: %s", name, kluis_error_last());
	return err;
}

/*
 * The manifest holds exactly the fields kluis writes, in the bytes kluis writes them
 * (jansson's two-space indent, sorted keys, one line end): its signer's, but any other field,
 * a duplicate key or other whitespace would be room for text that import keeps.
 */
static int manifest_canonical(struct head *h)
{
	static const char *const fields[] = { "access_count", "access_head", "bundle_sha256", "bundle_size", "checkpoint_seq",
					      "commits", "dossier", "entries", "exporter", "head", "keys_sha256", "kluis", "members",
					      "opdrachtgever", "reads", "time", "transfer_commit", "version", NULL };
	const char *key;
	json_t *v;
	char *text;
	size_t i;
	bool same;

	json_object_foreach(h->m, key, v) {
		for (i = 0; fields[i] && strcmp(fields[i], key) != 0; i++)
			;
		if (!fields[i])
			return kluis_error_set(KLUIS_EVERIFY, "the manifest has a field kluis does not write: '%.60s'", key);
	}
	if (!(text = json_dumps(h->m, JSON_INDENT(2) | JSON_SORT_KEYS)))
		return kluis_error_set(KLUIS_EGENERIC, "out of memory");
	same = strlen(text) + 1 == h->manifest.len && memcmp(text, h->manifest.ptr, h->manifest.len - 1) == 0 &&
	       h->manifest.ptr[h->manifest.len - 1] == '\n';
	free(text);
	return same ? 0 : kluis_error_set(KLUIS_EVERIFY, "the manifest is not in the form kluis writes (its whitespace, order or escapes differ)");
}

/*
 * The manifest's signature verifies on the keys before it (with the reader's own keyring for
 * its revocations), and the manifest names every key that came, with its size and sha256, and
 * no other.
 */
static int check_head(struct head *h)
{
	const char *name, *want;
	json_t *size, *members, *sums;
	struct dirent *de;
	DIR *d = NULL;
	char signer[41], member[300], sha[65], *path = NULL;
	json_error_t jerr;
	struct stat st;
	size_t nkeys = 0, nnamed = 0;
	int err;

	/* a key the reader has revoked is revoked here too; no keyring of one's own (an auditor
	 * with an empty GNUPGHOME) has no revocations to add */
	if (h->own_keys && (err = kluis_vault_keyring(h->v, &h->mine)) < 0) {
		if (err != KLUIS_EKEY)
			return err;
		h->mine = NULL;
	}
	if (!(h->keysdir = kluis_path_join(h->dir, "keys")))
		return kluis_error_set(KLUIS_EGENERIC, "out of memory");
	if ((err = load_keys_dir(h->keysdir, h->mine, &h->out->keys)) < 0 ||
	    (err = read_member(h, "manifest.json", &h->manifest, MANIFEST_MAX)) < 0 ||
	    (err = read_member(h, "manifest.json.asc", &h->sig, SIGNATURE_MAX)) < 0)
		return err;
	if (kluis_pgp_verify_detached(h->out->keys, h->manifest.ptr, h->manifest.len, h->sig.ptr, h->sig.len, h->out->exporter, &(int64_t){ 0 }) < 0) {
		if (h->mine && archive_keys_alone_accept(h->keysdir, &h->manifest, &h->sig, signer))
			return kluis_error_set(KLUIS_EVERIFY, "the manifest is signed by %s, whose key is revoked or expired in your own keyring: nothing it signed is trusted", signer);
		return kluis_error_set(KLUIS_EVERIFY, "the manifest's signature does not verify: %s", kluis_error_last());
	}
	h->m = json_loadb((const char *)h->manifest.ptr, h->manifest.len, JSON_REJECT_DUPLICATES, &jerr);
	if (!h->m)
		return kluis_error_set(KLUIS_EVERIFY, "the manifest is not JSON as kluis writes it: %s", jerr.text);
	if (json_integer_value(json_object_get(h->m, "version")) == 2)
		return kluis_error_set(KLUIS_EVERIFY, "the manifest is of version 2, which pins its keys by size only: have the archive made again by a kluis of today");
	if (json_integer_value(json_object_get(h->m, "version")) != 3)
		return kluis_error_set(KLUIS_EVERIFY, "the manifest is no transfer manifest of version 3");
	if (!json_is_object(members = json_object_get(h->m, "members")))
		return kluis_error_set(KLUIS_EVERIFY, "the manifest names no members");
	if (!json_is_object(sums = json_object_get(h->m, "keys_sha256")))
		return kluis_error_set(KLUIS_EVERIFY, "the manifest gives no sha256 of its keys");
	if ((err = manifest_canonical(h)) < 0)
		return err;
	json_object_foreach(members, name, size) {
		if (!json_is_integer(size) || json_integer_value(size) < 0)
			return kluis_error_set(KLUIS_EVERIFY, "the manifest gives no size for member '%.100s'", name);
		nnamed += strncmp(name, "keys/", 5) == 0;
	}
	if (!(d = opendir(h->keysdir)))
		return kluis_error_set(KLUIS_EVERIFY, "the archive holds no keys/");
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(member, sizeof(member), "keys/%s", de->d_name);
		size = json_object_get(members, member);
		if (!size || fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || (uint64_t)st.st_size != (uint64_t)json_integer_value(size)) {
			closedir(d);
			return kluis_error_set(KLUIS_EVERIFY, "archive member '%.100s' is %s the signed manifest", member, size ? "not the size given in" : "not named in");
		}
		/* its bytes as signed: a key's unhashed parts (a revocation, any text) are not its owner's */
		want = json_string_value(json_object_get(sums, member));
		if (!(path = kluis_path_join(h->keysdir, de->d_name)) || kluis_transfer_sha256_file(path, sha, &(uint64_t){ 0 }) < 0 || !want || strcmp(sha, want) != 0) {
			free(path);
			closedir(d);
			return kluis_error_set(KLUIS_EVERIFY, "archive member '%.100s' is not the key the signed manifest names (its sha256 differs)", member);
		}
		free(path);
		path = NULL;
		nkeys++;
	}
	closedir(d);
	if (nkeys != nnamed || json_object_size(sums) != nkeys)
		return kluis_error_set(KLUIS_EVERIFY, "the signed manifest names %zu keys (%zu with a sha256), the archive holds %zu", nnamed,
				       json_object_size(sums), nkeys);
	return 0;
}

/*
 * Before each member is written (kluis_archive_limits.admit): the order manifest.json,
 * manifest.json.asc, keys/..., dossier.bundle, each within the fixed bounds above; at
 * dossier.bundle the head is checked (check_head) and the bundle is held to the size the
 * signed manifest gives. So an archive whose manifest is not signed by a key it carries writes
 * at most the bounded head, and none writes more than its signed manifest says.
 */
static int admit_member(const char *name, uint64_t size, void *payload)
{
	struct head *h = payload;
	size_t i = h->n++;
	json_t *want;
	int err;

	if (h->bundle)
		return kluis_error_set(KLUIS_EVERIFY, "archive member '%.100s' follows dossier.bundle, which comes last", name);
	if (i == 0 && strcmp(name, "manifest.json") != 0)
		return kluis_error_set(KLUIS_EVERIFY, "the archive does not begin with manifest.json (its first member is '%.100s'): kluis checks the signed manifest before anything else, and writes it first since version 2", name);
	if (i == 1 && strcmp(name, "manifest.json.asc") != 0)
		return kluis_error_set(KLUIS_EVERIFY, "manifest.json is not followed by its signature manifest.json.asc");
	if (i <= 1 && size > (i == 0 ? MANIFEST_MAX : SIGNATURE_MAX))
		return kluis_error_set(KLUIS_EVERIFY, "the archive's %s is larger than its limit (%u KiB)", name, (i == 0 ? MANIFEST_MAX : SIGNATURE_MAX) >> 10);
	if (i <= 1)
		return 0;
	if (strncmp(name, "keys/", 5) == 0) {
		if (size > KEY_MAX || (h->keys_total += size) > KEYS_TOTAL_MAX)
			return kluis_error_set(KLUIS_EVERIFY, "archive member '%.100s' takes the keys over their limit (%u KiB each, %u MiB in all)", name, KEY_MAX >> 10, KEYS_TOTAL_MAX >> 20);
		return 0;
	}
	/* dossier.bundle (the only other name allowed): the head must check out first */
	if ((err = check_head(h)) < 0)
		return err;
	want = json_object_get(json_object_get(h->m, "members"), name);
	if (!want)
		return kluis_error_set(KLUIS_EVERIFY, "archive member '%.100s' is not named in the signed manifest", name);
	if ((uint64_t)json_integer_value(want) != size)
		return kluis_error_set(KLUIS_EVERIFY, "archive member '%.100s' is %" PRIu64 " bytes, the signed manifest says %" JSON_INTEGER_FORMAT, name,
				       size, json_integer_value(want));
	h->bundle = true;
	return 0;
}

/* Release what the archive's head holds (the reader's own keyring is the vault's). */
static void head_dispose(struct head *h)
{
	json_decref(h->m);
	kluis_buf_dispose(&h->manifest);
	kluis_buf_dispose(&h->sig);
	free(h->keysdir);
	free(h->dir);
}

/* The archive is extracted under work/archive, its members in order and within their bounds, its signed manifest in h->m. */
static int check_extract(struct head *h, const char *archive, const char *work, kluis_transfer_progress_adapter *pa)
{
	kluis_archive_limits limits;
	kluis_archive_member *members = NULL;
	size_t nmembers = 0;
	int err;

	memset(&limits, 0, sizeof(limits));
	limits.allowed = archive_members;
	limits.max_members = 64;
	limits.progress = kluis_transfer_progress;
	limits.progress_payload = pa;
	limits.admit = admit_member;
	limits.admit_payload = h;
	h->dir = kluis_path_join(work, "archive");
	if ((err = h->dir ? 0 : kluis_error_set(KLUIS_EGENERIC, "out of memory")) < 0 || (err = kluis_mkdir_p(h->dir)) < 0 ||
	    (err = kluis_archive_extract(archive, h->dir, &limits, &members, &nmembers)) < 0)
		goto cleanup;
	if (!h->bundle)
		err = kluis_error_set(KLUIS_EVERIFY, "the archive lacks %s", nmembers == 0 ? "manifest.json" : nmembers == 1 ? "manifest.json.asc" : "dossier.bundle");
cleanup:
	kluis_archive_members_free(members, nmembers);
	return err;
}

/* The signed manifest names a valid dossier id, the bundle's sha256, the head and the read log. */
static int check_manifest(json_t *m, kluis_checked_archive *out, manifest_access *ma)
{
	const char *s;

	if (!m || !(s = json_string_value(json_object_get(m, "dossier"))) || !kluis_id_valid(s))
		return kluis_error_set(KLUIS_EVERIFY, "the manifest names no valid dossier id");
	snprintf(out->dossier, sizeof(out->dossier), "%s", s);
	if (!(s = json_string_value(json_object_get(m, "bundle_sha256"))) || strlen(s) != 64)
		return kluis_error_set(KLUIS_EVERIFY, "the manifest has no bundle_sha256");
	snprintf(out->bundle_sha256, sizeof(out->bundle_sha256), "%s", s);
	if (!(s = json_string_value(json_object_get(m, "head"))) || git_oid_fromstr(&out->head, s) < 0)
		return kluis_error_set(KLUIS_EVERIFY, "the manifest has no head");
	return manifest_access_get(m, &out->head, ma);
}

/* The bundle has the manifest's sha256 and is read into a scratch repository: only a dossier's refs, main at the manifest's head. */
static int check_bundle(const char *dir, const char *work, kluis_transfer_progress_adapter *pa, kluis_checked_archive *out)
{
	kluis_bundle_ref *refs = NULL;
	git_oid main;
	char *p = kluis_path_join(dir, "dossier.bundle"), sha[65];
	size_t nrefs = 0, i, j;
	uint64_t size;
	bool exists;
	int err;

	if ((err = p ? 0 : kluis_error_set(KLUIS_EGENERIC, "out of memory")) < 0 || (err = kluis_transfer_sha256_file(p, sha, &size)) < 0)
		goto cleanup;
	if (strcmp(sha, out->bundle_sha256) != 0) {
		err = kluis_error_set(KLUIS_EVERIFY, "dossier.bundle does not match the manifest's sha256");
		goto cleanup;
	}
	out->repo_path = kluis_path_join(work, "dossier.git");
	if ((err = out->repo_path ? 0 : kluis_error_set(KLUIS_EGENERIC, "out of memory")) < 0 ||
	    (err = kluis_repo_create(&out->repo, out->repo_path)) < 0 ||
	    (err = kluis_bundle_read(out->repo, p, &refs, &nrefs, kluis_transfer_progress, pa)) < 0)
		goto cleanup;
	for (i = 0; i < nrefs; i++) {
		bool known = strcmp(refs[i].name, "HEAD") == 0;
		for (j = 0; j < 3; j++)
			known |= strcmp(refs[i].name, kluis_transfer_bundle_refs[j]) == 0;
		if (!known) {
			err = kluis_error_set(KLUIS_EVERIFY, "the bundle carries an unexpected ref '%s'", refs[i].name);
			goto cleanup;
		}
		if (strcmp(refs[i].name, "HEAD") != 0 && (err = kluis_repo_ref_cas(out->repo, refs[i].name, &refs[i].oid, NULL, "import")) < 0)
			goto cleanup;
	}
	if ((err = kluis_repo_ref(out->repo, "refs/heads/main", &main, &exists)) < 0)
		goto cleanup;
	if (!exists || !git_oid_equal(&main, &out->head))
		err = kluis_error_set(KLUIS_EVERIFY, "the bundle's head is not the manifest's head");
cleanup:
	kluis_bundle_refs_free(refs, nrefs);
	free(p);
	return err;
}

/* The manifest's signer is the dossier's directie or medewerker, and the head is that signer's handover of the closed dossier and this read log. */
static int check_exporter(kluis_checked_archive *out, const manifest_access *ma)
{
	kluis_buf roles_text = KLUIS_BUF_INIT;
	git_commit *head_commit = NULL;
	git_tree *head_tree = NULL;
	int err = 0;

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
	err = check_transfer_commit(out, head_commit, head_tree, ma);
cleanup:
	git_tree_free(head_tree);
	git_commit_free(head_commit);
	kluis_buf_dispose(&roles_text);
	return err;
}

/* The whole history verifies from the trust roots, as an auditor would; or its findings are in findings_out. */
static int check_history(const struct head *h, const char *const *trust, size_t ntrust, kluis_checked_archive *out, kluis_verify_report *findings_out)
{
	kluis_verify_opts opts;
	kluis_verify_report rep;
	char *objects = kluis_path_join(out->repo_path, "objects"), sum[1024];
	int err;

	memset(&rep, 0, sizeof(rep));
	memset(&opts, 0, sizeof(opts));
	opts.trust = trust;
	opts.ntrust = ntrust;
	opts.no_cache = true;
	if (!objects) {
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto cleanup;
	}
	opts.incoming = objects;  /* the scratch repository holds exactly what the bundle brought */
	if ((err = kluis_verify_repository(out->repo, out->dossier, out->keys, &opts, NULL, &rep)) < 0)
		goto cleanup;
	if (findings_out) {
		*findings_out = rep;
		memset(&rep, 0, sizeof(rep));
	} else if (rep.nfindings) {
		kluis_verify_report_summary(&rep, sum, sizeof(sum));
		if (h->mine && archive_keys_alone_verify(h->keysdir, out, &opts))
			err = kluis_error_set(KLUIS_EVERIFY, "the dossier in the archive verifies on its own keys, but not with a key revoked or expired in your own keyring (%s)", sum);
		else
			err = kluis_error_set(KLUIS_EVERIFY, "the dossier in the archive does not verify (%s)", sum);
	}
cleanup:
	kluis_verify_report_dispose(&rep);
	free(objects);
	return err;
}

/*
 * Check a transfer archive completely, as `import` must before taking anything in. With
 * findings_out NULL, any finding in the history fails the check; otherwise the findings are
 * handed over there (for `kluis verify --bundle`, which reports them all) and the rest of the
 * checks go on. With `own_keys`, the reader's keyring (GNUPGHOME, if there is one) joins the
 * archive's keys, for its revocations; the read-back at transfer goes without, so that it
 * proves the archive's keys/ alone enough. The cheap, specific refusals come before the
 * history's replay.
 */
int kluis_check_archive(kluis_vault *v, const char *archive, const char *work, const char *const *trust, size_t ntrust,
			bool own_keys, kluis_transfer_progress_adapter *pa, kluis_checked_archive *out, kluis_verify_report *findings_out)
{
	struct head h = { .v = v, .own_keys = own_keys, .out = out, .manifest = KLUIS_BUF_INIT, .sig = KLUIS_BUF_INIT };
	manifest_access ma;
	int err;

	memset(out, 0, sizeof(*out));
	if ((err = check_extract(&h, archive, work, pa)) < 0 || (err = check_manifest(h.m, out, &ma)) < 0 ||
	    (err = check_bundle(h.dir, work, pa, out)) < 0 || (err = check_access_log(out->repo, &ma)) < 0 ||
	    (err = check_exporter(out, &ma)) < 0 || (err = check_history(&h, trust, ntrust, out, findings_out)) < 0)
		goto cleanup;
cleanup:
	head_dispose(&h);
	if (err < 0)
		kluis_checked_archive_dispose(out);
	return err;
}

/* ---- kluis verify --bundle of an archive ---- */

int kluis_archive_verify(kluis_vault *v, const char *archive, const char *work, const kluis_verify_opts *opts,
			 kluis_verify_report *rep, char id_out[65])
{
	kluis_checked_archive a;
	kluis_transfer_progress_adapter pa = { NULL, NULL, NULL };
	const char *const *trust = opts->trust;
	size_t ntrust = opts->ntrust;
	int err;

	memset(&a, 0, sizeof(a));
	if (!ntrust && (err = kluis_vault_trust(v, &trust, &ntrust)) < 0)
		return err;
	if (!ntrust)
		return kluis_error_set(KLUIS_EINVAL, "no trust root to verify '%s' from: name the directie key that created the dossier with --trust FPR", archive);
	err = kluis_check_archive(v, archive, work, trust, ntrust, true, &pa, &a, rep);
	if (err == 0)
		snprintf(id_out, 65, "%s", a.dossier);
	kluis_checked_archive_dispose(&a);
	return err;
}
