/*
 * commitment.c - salting, hashing and checking the plaintext commitments (see commitment.h).
 *
 * Invariants: nothing decrypted through these functions reaches the caller as good unless
 * it matched the pointer's `plain`; buffers holding plaintext are secret (wiped); a body is
 * hashed piece by piece as gpg gives it, never gathered for the check.
 */
#include "vault/store/commitment.h"
#include "vault/git/objstream.h"
#include "vault/pgp/crypto.h"
#include "vault/base/error.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

static void to_hex(const unsigned char *raw, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[raw[i] >> 4];
		out[2 * i + 1] = digits[raw[i] & 0xf];
	}
	out[2 * n] = '\0';
}

static int from_hex(const char *s, unsigned char *raw, size_t n)
{
	size_t i;

	if (!s || strlen(s) != 2 * n)
		return -1;
	for (i = 0; i < 2 * n; i++) {
		char c = s[i];
		int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
		if (v < 0)
			return -1;
		raw[i / 2] = (unsigned char)(i % 2 ? (raw[i / 2] << 4) | v : v);
	}
	return 0;
}

int kluis_commitment_new_salt(unsigned char salt[KLUIS_SALT_LEN], char hex[2 * KLUIS_SALT_LEN + 1])
{
	if (getrandom(salt, KLUIS_SALT_LEN, 0) != KLUIS_SALT_LEN)
		return kluis_error_set(KLUIS_EGENERIC, "getrandom: %s", strerror(errno));
	to_hex(salt, KLUIS_SALT_LEN, hex);
	return 0;
}

int kluis_commitment_salt_json(json_t *j)
{
	unsigned char salt[KLUIS_SALT_LEN];
	char hex[2 * KLUIS_SALT_LEN + 1];
	int err;

	if ((err = kluis_commitment_new_salt(salt, hex)) < 0)
		return err;
	if (!json_is_object(j) || json_object_set_new(j, "salt", json_string(hex)) < 0)
		err = kluis_error_set(KLUIS_EGENERIC, "cannot salt the metadata");
	explicit_bzero(salt, sizeof(salt));
	return err;
}

int kluis_commitment_body_salt(const void *meta, size_t len, const char *entry, unsigned char salt[KLUIS_SALT_LEN])
{
	json_t *j = json_loadb(meta, len, 0, NULL);
	int err = 0;

	if (!j || from_hex(json_string_value(json_object_get(j, "body_salt")), salt, KLUIS_SALT_LEN) < 0)
		err = kluis_error_set(KLUIS_EVERIFY, "entry %s: its metadata has no valid body_salt, so its body cannot be checked", entry);
	json_decref(j);
	return err;
}

int kluis_commitment_check(const kluis_pointer *p, const char *digest, const char *what)
{
	if (strlen(digest) != 64 || strcmp(digest, p->plain) != 0)
		return kluis_error_set(KLUIS_EVERIFY, "%s: its plaintext does not match its signed commitment", what);
	return 0;
}

int kluis_commitment_pointer_at(git_repository *repo, const git_tree *tree, const char *path, kluis_pointer *p)
{
	kluis_buf text = KLUIS_BUF_INIT;
	int err;

	if ((err = kluis_repo_read_path(repo, tree, path, &text)) == 0)
		err = kluis_pointer_parse(p, (const char *)text.ptr, text.len);
	kluis_buf_dispose(&text);
	return err;
}

int kluis_commitment_decrypt_json(git_repository *repo, const kluis_pointer *p, const char *what, kluis_buf *out)
{
	git_blob *blob = NULL;
	char digest[65];
	int err;

	out->secret = true;
	if ((err = kluis_pointer_load(repo, p, &blob)) < 0 ||
	    (err = kluis_crypto_decrypt_to_buf(git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob), out)) < 0 ||
	    (err = kluis_sha256_buffer_hex(out->ptr, out->len, digest)) < 0)
		goto cleanup;
	err = kluis_commitment_check(p, digest, what);
cleanup:
	if (err < 0)
		kluis_buf_dispose(out);
	git_blob_free(blob);
	return err;
}

int kluis_commitment_salt_copy(void *ctx, unsigned char salt[KLUIS_SALT_LEN])
{
	memcpy(salt, ctx, KLUIS_SALT_LEN);
	return 0;
}

struct body_digest {
	kluis_sha256 *sha;
	bool salted;
	kluis_salt_fn salt;
	void *salt_ctx;
};

static int salt_once(struct body_digest *b)
{
	unsigned char salt[KLUIS_SALT_LEN];
	int err;

	if (b->salted)
		return 0;
	if ((err = b->salt(b->salt_ctx, salt)) == 0) {
		kluis_sha256_update(b->sha, salt, sizeof(salt));
		b->salted = true;
	}
	explicit_bzero(salt, sizeof(salt));
	return err;
}

static int body_tap(void *ctx, const void *data, size_t len)
{
	struct body_digest *b = ctx;
	int err;

	if ((err = salt_once(b)) < 0)
		return err;
	kluis_sha256_update(b->sha, data, len);
	return 0;
}

static int objstream_read(void *ctx, void *buf, size_t len, size_t *n)
{
	return kluis_objstream_read(ctx, buf, len, n);
}

/* Decrypt msg/len, or with msg NULL the object stream os, and check the body (see the header). */
static int decrypt_body(const void *msg, size_t len, kluis_objstream *os, const kluis_pointer *p, const char *entry, kluis_salt_fn salt,
			void *salt_ctx, int fd, kluis_buf *out)
{
	struct body_digest b = { NULL, false, salt, salt_ctx };
	char digest[65], what[96];
	int err;

	if ((err = kluis_sha256_new(&b.sha)) < 0 ||
	    (err = msg ? kluis_crypto_decrypt_tapped(msg, len, fd, out, body_tap, &b)
		       : kluis_crypto_decrypt_tapped_from(objstream_read, os, fd, out, body_tap, &b)) < 0 ||
	    (err = salt_once(&b)) < 0) /* an empty body still has its salt */
		goto cleanup;
	kluis_sha256_hex(b.sha, digest);
	snprintf(what, sizeof(what), "entry %s", entry);
	err = kluis_commitment_check(p, digest, what);
cleanup:
	if (err < 0 && fd < 0 && out)
		kluis_buf_dispose(out);
	kluis_sha256_free(b.sha);
	return err;
}

int kluis_commitment_decrypt_body(const void *msg, size_t len, const kluis_pointer *p, const char *entry, kluis_salt_fn salt,
				  void *salt_ctx, int fd, kluis_buf *out)
{
	return decrypt_body(msg, len, NULL, p, entry, salt, salt_ctx, fd, out);
}

int kluis_commitment_decrypt_body_stream(git_repository *repo, const kluis_pointer *p, const char *entry, kluis_salt_fn salt, void *salt_ctx,
					 int fd, kluis_buf *out)
{
	kluis_buf head = KLUIS_BUF_INIT;
	kluis_objstream *os = NULL;
	int err;

	/* a pass of its own checks the ciphertext, so gpg reads only what the signed pointer names */
	if ((err = kluis_objstream_check_pointer(repo, p, &head, NULL, NULL)) == 0 && (err = kluis_objstream_open(&os, repo, &p->oid, NULL, NULL)) == 0)
		err = decrypt_body(NULL, 0, os, p, entry, salt, salt_ctx, fd, out);
	/* a ciphertext the signed history names is gone: the dossier is damaged, not the request */
	if (err == KLUIS_ENOTFOUND)
		err = kluis_error_set(KLUIS_EVERIFY, "%s (the dossier is damaged: kluis verify shows where)", kluis_error_last());
	if (err < 0 && fd < 0 && out)
		kluis_buf_dispose(out);
	kluis_objstream_free(os);
	kluis_buf_dispose(&head);
	return err;
}
