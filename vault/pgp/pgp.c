/*
 * pgp.c - librnp for public-key operations (see pgp.h): keyrings, encryption to readers and
 * the recipients of a message. Signature verification is pgp_verify.c.
 *
 * Invariants: every rnp handle is destroyed on every path; no plaintext is buffered here
 * beyond rnp's own stream buffers (the caller streams it in and the ciphertext out); every
 * rnp_* call follows kluis_keyring_rnp(kr), which starts librnp for the keyring.
 * Nothing librnp said about a key is kept between runs: each run asks it afresh.
 */
#include "vault/pgp/pgp_internal.h"
#include "vault/base/error.h"
#include "vault/base/util.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

int kluis_pgp_rnp_fail(int code, rnp_result_t r, const char *what)
{
	return kluis_error_set(code, "%s: %s", what, rnp_result_to_string(r));
}

static int keyring_new(kluis_keyring **out)
{
	kluis_keyring *kr = calloc(1, sizeof(*kr));

	*out = NULL;
	if (!kr)
		return kluis_error_set(KLUIS_EGENERIC, "out of memory");
	kr->devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	*out = kr;
	return 0;
}

static int rnp_start(kluis_keyring *kr)
{
	rnp_input_t in = NULL;
	rnp_result_t r;
	int err = 0;

	if ((r = rnp_ffi_create(&kr->ffi, "GPG", "GPG")) != RNP_SUCCESS) {
		kr->ffi = NULL;
		return kluis_pgp_rnp_fail(KLUIS_ECRYPTO, r, "cannot start librnp");
	}
	/* librnp logs expected failures (no secret key while reading recipients) to stderr;
	 * kluis reports errors itself, one line each */
	if (kr->devnull >= 0) {
		/* librnp fdopen()s the descriptor it is given and fclose()s it when the ffi is
		 * destroyed: give it its own copy, or kluis_keyring_free would close a number that
		 * another thread may have been given meanwhile (seen: a worker's keyring, freed
		 * while the verifier held stderr redirected, closed the saved stderr) */
		int logfd = fcntl(kr->devnull, F_DUPFD_CLOEXEC, 0);

		if (logfd >= 0 && rnp_ffi_set_log_fd(kr->ffi, logfd) != RNP_SUCCESS)
			close(logfd);
	}
	if (!kr->ring)
		return 0;
	/* librnp names a damaged keyring's flaw on stderr, whatever its log fd; kluis says it
	 * in its own one line */
	kluis_pgp_stderr_quiet(kr, true);
	if ((r = rnp_input_from_memory(&in, kr->ring, kr->ring_len, false)) == RNP_SUCCESS)
		r = rnp_load_keys(kr->ffi, kr->ring_format, in, RNP_LOAD_SAVE_PUBLIC_KEYS);
	kluis_pgp_stderr_quiet(kr, false);
	if (r != RNP_SUCCESS) {
		err = kluis_error_set(KLUIS_EKEY, "cannot read the public keyring '%s': %s", kr->ring_path,
				      rnp_result_to_string(r));
		rnp_ffi_destroy(kr->ffi);
		kr->ffi = NULL;
	}
	rnp_input_destroy(in);
	return err;
}

int kluis_keyring_rnp(kluis_keyring *kr)
{
	int err;

	if (kr->ffi)
		return 0;
	if (kr->rnp_code)
		return kluis_error_set(kr->rnp_code, "%s", kr->rnp_error);
	if ((err = rnp_start(kr)) < 0) {
		kr->rnp_code = err;
		snprintf(kr->rnp_error, sizeof(kr->rnp_error), "%s", kluis_error_last());
	}
	return err;
}

/* Read the keyring file; librnp is given it when first needed (kluis_keyring_rnp). */
static int read_ring(kluis_keyring *kr, const char *format, const char *path)
{
	kluis_buf data = KLUIS_BUF_INIT;
	/* a symlinked pubring.kbx is followed, as librnp and gpg follow it */
	char *real = realpath(path, NULL);
	int err;

	if ((err = kluis_file_read(&data, real ? real : path, (size_t)1 << 30)) < 0)
		goto cleanup;
	if (!(kr->ring_path = strdup(path))) {
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto cleanup;
	}
	kr->ring = (unsigned char *)data.ptr;
	kr->ring_len = data.len;
	kr->ring_format = format;
	data = (kluis_buf)KLUIS_BUF_INIT;
cleanup:
	kluis_buf_dispose(&data);
	free(real);
	return err;
}

int kluis_keyring_digest(kluis_keyring *kr, char out[65])
{
	if (!kr->ring)
		return KLUIS_ENOTFOUND;
	return kluis_sha256_buffer_hex(kr->ring, kr->ring_len, out);
}

int kluis_keyring_open_gnupg(kluis_keyring **out, const char *gnupghome)
{
	kluis_keyring *kr = NULL;
	char *home = NULL, *kbx = NULL, *gpgring = NULL;
	const char *env = getenv("GNUPGHOME"), *h = getenv("HOME");
	int err;

	*out = NULL;
	if (gnupghome)
		home = strdup(gnupghome);
	else if (env && *env)
		home = strdup(env);
	else
		home = kluis_path_join(h ? h : "/", ".gnupg");
	if (!home)
		return kluis_error_set(KLUIS_EGENERIC, "out of memory");
	kbx = kluis_path_join(home, "pubring.kbx");
	gpgring = kluis_path_join(home, "pubring.gpg");
	if (!kbx || !gpgring) {
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto cleanup;
	}
	if ((err = keyring_new(&kr)) < 0)
		goto cleanup;
	if (kluis_path_exists(kbx))
		err = read_ring(kr, "KBX", kbx);
	else if (kluis_path_exists(gpgring))
		err = read_ring(kr, "GPG", gpgring);
	else
		err = kluis_error_set(KLUIS_EKEY, "no public keyring in '%s' (set GNUPGHOME or import the keys with gpg --import)", home);
	if (err < 0)
		goto cleanup;
	*out = kr;
	kr = NULL;
cleanup:
	kluis_keyring_free(kr);
	free(home);
	free(kbx);
	free(gpgring);
	return err;
}

int kluis_keyring_import(kluis_keyring *kr, const void *data, size_t len)
{
	rnp_input_t in = NULL;
	rnp_result_t r;
	int err;

	if ((err = kluis_keyring_rnp(kr)) < 0)
		return err;
	/* the keys are no longer the keyring file's: a clone copies librnp's keys instead */
	free(kr->ring);
	kr->ring = NULL;
	kr->ring_len = 0;
	if ((r = rnp_input_from_memory(&in, data, len, false)) != RNP_SUCCESS)
		return kluis_pgp_rnp_fail(KLUIS_EKEY, r, "cannot read key data");
	if ((r = rnp_import_keys(kr->ffi, in, RNP_LOAD_SAVE_PUBLIC_KEYS | RNP_LOAD_SAVE_PERMISSIVE, NULL)) != RNP_SUCCESS)
		err = kluis_pgp_rnp_fail(KLUIS_EKEY, r, "cannot import key data");
	rnp_input_destroy(in);
	return err;
}

int kluis_keyring_open_data(kluis_keyring **out, const void *data, size_t len)
{
	kluis_keyring *kr = NULL;
	int err;

	*out = NULL;
	if ((err = keyring_new(&kr)) < 0)
		return err;
	if ((err = kluis_keyring_import(kr, data, len)) < 0) {
		kluis_keyring_free(kr);
		return err;
	}
	*out = kr;
	return 0;
}

int kluis_keyring_clone(kluis_keyring *kr, kluis_keyring **out)
{
	kluis_keyring *c = NULL;
	rnp_output_t o = NULL;
	uint8_t *data = NULL;
	size_t len = 0;
	rnp_result_t r;
	int err;

	*out = NULL;
	if (kr->ring) {
		/* still one file's keys: the copy takes the bytes, and starts librnp when it needs to */
		if ((err = keyring_new(&c)) < 0)
			return err;
		if (!(c->ring = malloc(kr->ring_len ? kr->ring_len : 1)) || !(c->ring_path = strdup(kr->ring_path))) {
			kluis_keyring_free(c);
			return kluis_error_set(KLUIS_EGENERIC, "out of memory");
		}
		memcpy(c->ring, kr->ring, kr->ring_len);
		c->ring_len = kr->ring_len;
		c->ring_format = kr->ring_format;
	} else {
		if ((err = kluis_keyring_rnp(kr)) < 0)
			return err;
		if ((r = rnp_output_to_memory(&o, 0)) != RNP_SUCCESS ||
		    (r = rnp_save_keys(kr->ffi, "GPG", o, RNP_LOAD_SAVE_PUBLIC_KEYS)) != RNP_SUCCESS ||
		    (r = rnp_output_memory_get_buf(o, &data, &len, false)) != RNP_SUCCESS)
			err = kluis_pgp_rnp_fail(KLUIS_EKEY, r, "cannot copy the keyring");
		else
			err = kluis_keyring_open_data(&c, data, len);
		rnp_output_destroy(o);
		if (err < 0)
			return err;
	}
	*out = c;
	return 0;
}

void kluis_keyring_free(kluis_keyring *kr)
{
	if (!kr)
		return;
	if (kr->ffi)
		rnp_ffi_destroy(kr->ffi);
	if (kr->devnull >= 0)
		close(kr->devnull);
	free(kr->ring);
	free(kr->ring_path);
	free(kr);
}

static int locate_primary(kluis_keyring *kr, const char *fpr, rnp_key_handle_t *key)
{
	rnp_result_t r;
	bool primary = false;
	int err;

	*key = NULL;
	if ((err = kluis_keyring_rnp(kr)) < 0)
		return err;
	if ((r = rnp_locate_key(kr->ffi, "fingerprint", fpr, key)) != RNP_SUCCESS)
		return kluis_pgp_rnp_fail(KLUIS_EKEY, r, "key lookup");
	if (!*key)
		return kluis_error_set(KLUIS_EKEY, "no public key %s in the keyring (import it with gpg --import)", fpr);
	if (rnp_key_is_primary(*key, &primary) != RNP_SUCCESS || !primary) {
		rnp_key_handle_destroy(*key);
		*key = NULL;
		return kluis_error_set(KLUIS_EKEY, "%s is a subkey; give the primary key's fingerprint", fpr);
	}
	return 0;
}

int kluis_keyring_ready(kluis_keyring *kr)
{
	return kluis_keyring_rnp(kr);
}

int kluis_keyring_has_key(kluis_keyring *kr, const char *fpr)
{
	rnp_key_handle_t key = NULL;

	if (kluis_keyring_rnp(kr) < 0 || rnp_locate_key(kr->ffi, "fingerprint", fpr, &key) != RNP_SUCCESS || !key)
		return 0;
	rnp_key_handle_destroy(key);
	return 1;
}

static bool key_usable(rnp_key_handle_t key)
{
	bool revoked = true, expired = true, valid = false;

	rnp_key_is_revoked(key, &revoked);
	rnp_key_is_expired(key, &expired);
	rnp_key_is_valid(key, &valid);
	return valid && !revoked && !expired;
}

int kluis_keyring_check_recipient(kluis_keyring *kr, const char *fpr)
{
	rnp_key_handle_t key = NULL, sub = NULL;
	size_t i, nsub = 0;
	bool revoked = false, expired = false, can = false, found = false;
	int err;

	if ((err = locate_primary(kr, fpr, &key)) < 0)
		return err;
	rnp_key_is_revoked(key, &revoked);
	rnp_key_is_expired(key, &expired);
	if (revoked || expired) {
		err = kluis_error_set(KLUIS_EKEY, "key %s is %s; directie must replace it with kluis roles", fpr,
				      revoked ? "revoked" : "expired");
		goto cleanup;
	}
	rnp_key_get_subkey_count(key, &nsub);
	for (i = 0; i < nsub && !found; i++) {
		if (rnp_key_get_subkey_at(key, i, &sub) != RNP_SUCCESS)
			continue;
		can = false;
		rnp_key_allows_usage(sub, "encrypt", &can);
		if (can && key_usable(sub))
			found = true;
		rnp_key_handle_destroy(sub);
		sub = NULL;
	}
	if (!found) {
		can = false;
		rnp_key_allows_usage(key, "encrypt", &can);
		found = can;
	}
	err = found ? 0 : kluis_error_set(KLUIS_EKEY, "key %s has no valid encryption subkey (none, or all expired or revoked): extend it, or the directie replaces it with kluis roles", fpr);
cleanup:
	rnp_key_handle_destroy(key);
	return err;
}

int kluis_keyring_export(kluis_keyring *kr, const char *fpr, char **out, size_t *out_len)
{
	rnp_key_handle_t key = NULL;
	rnp_output_t output = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;
	rnp_result_t r;
	int err;

	*out = NULL;
	if ((err = locate_primary(kr, fpr, &key)) < 0)
		return err;
	if ((r = rnp_output_to_memory(&output, 0)) != RNP_SUCCESS ||
	    (r = rnp_key_export(key, output, RNP_KEY_EXPORT_PUBLIC | RNP_KEY_EXPORT_SUBKEYS | RNP_KEY_EXPORT_ARMORED)) != RNP_SUCCESS ||
	    (r = rnp_output_memory_get_buf(output, &buf, &len, false)) != RNP_SUCCESS) {
		err = kluis_pgp_rnp_fail(KLUIS_EKEY, r, "cannot export key");
		goto cleanup;
	}
	*out = malloc(len + 1);
	if (!*out) {
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto cleanup;
	}
	memcpy(*out, buf, len);
	(*out)[len] = '\0';
	*out_len = len;
	err = 0;
cleanup:
	rnp_output_destroy(output);
	rnp_key_handle_destroy(key);
	return err;
}

struct cb_ctx {
	kluis_pgp_read_fn rfn;
	kluis_pgp_write_fn wfn;
	void *ctx;
	int err; /* first error of the callback, reported instead of rnp's generic one */
};

static bool reader_cb(void *app_ctx, void *buf, size_t len, size_t *read)
{
	struct cb_ctx *c = app_ctx;

	if (c->err)
		return false;
	c->err = c->rfn(c->ctx, buf, len, read);
	return c->err == 0;
}

static bool writer_cb(void *app_ctx, const void *buf, size_t len)
{
	struct cb_ctx *c = app_ctx;

	if (c->err)
		return false;
	c->err = c->wfn(c->ctx, buf, len);
	return c->err == 0;
}

static int encrypt_input(kluis_keyring *kr, const char *const *fprs, size_t nfprs, rnp_input_t input,
			 struct cb_ctx *rctx, kluis_pgp_write_fn out, void *out_ctx)
{
	rnp_output_t output = NULL;
	rnp_op_encrypt_t op = NULL;
	rnp_key_handle_t key = NULL;
	struct cb_ctx wctx = { NULL, out, out_ctx, 0 };
	rnp_result_t r;
	size_t i;
	int err;

	if ((err = kluis_keyring_rnp(kr)) < 0)
		return err;
	if ((r = rnp_output_to_callback(&output, writer_cb, NULL, &wctx)) != RNP_SUCCESS ||
	    (r = rnp_op_encrypt_create(&op, kr->ffi, input, output)) != RNP_SUCCESS) {
		err = kluis_pgp_rnp_fail(KLUIS_ECRYPTO, r, "cannot start encryption");
		goto cleanup;
	}
	for (i = 0; i < nfprs; i++) {
		if ((err = locate_primary(kr, fprs[i], &key)) < 0)
			goto cleanup;
		if ((r = rnp_op_encrypt_add_recipient(op, key)) != RNP_SUCCESS) {
			err = kluis_error_set(KLUIS_EKEY, "cannot encrypt to %s: %s (no valid encryption subkey?)",
					      fprs[i], rnp_result_to_string(r));
			goto cleanup;
		}
		rnp_key_handle_destroy(key);
		key = NULL;
	}
	if ((r = rnp_op_encrypt_set_cipher(op, "AES256")) != RNP_SUCCESS ||
	    (r = rnp_op_encrypt_set_compression(op, "Uncompressed", 0)) != RNP_SUCCESS ||
	    (r = rnp_op_encrypt_set_armor(op, false)) != RNP_SUCCESS) {
		err = kluis_pgp_rnp_fail(KLUIS_ECRYPTO, r, "cannot configure encryption");
		goto cleanup;
	}
	if ((r = rnp_op_encrypt_execute(op)) != RNP_SUCCESS) {
		if (rctx && rctx->err)
			err = rctx->err;
		else if (wctx.err)
			err = wctx.err;
		else
			err = kluis_pgp_rnp_fail(KLUIS_ECRYPTO, r, "encryption failed");
		goto cleanup;
	}
	if ((r = rnp_output_finish(output)) != RNP_SUCCESS) {
		err = wctx.err ? wctx.err : kluis_pgp_rnp_fail(KLUIS_ECRYPTO, r, "encryption output failed");
		goto cleanup;
	}
	err = wctx.err;
cleanup:
	rnp_key_handle_destroy(key);
	rnp_op_encrypt_destroy(op);
	rnp_output_destroy(output);
	return err;
}

int kluis_pgp_encrypt(kluis_keyring *kr, const char *const *fprs, size_t nfprs,
		      kluis_pgp_read_fn in, void *in_ctx, kluis_pgp_write_fn out, void *out_ctx)
{
	rnp_input_t input = NULL;
	struct cb_ctx rctx = { in, NULL, in_ctx, 0 };
	rnp_result_t r;
	int err;

	if ((err = kluis_keyring_rnp(kr)) < 0)
		return err;
	if ((r = rnp_input_from_callback(&input, reader_cb, NULL, &rctx)) != RNP_SUCCESS)
		return kluis_pgp_rnp_fail(KLUIS_ECRYPTO, r, "cannot start encryption");
	err = encrypt_input(kr, fprs, nfprs, input, &rctx, out, out_ctx);
	rnp_input_destroy(input);
	return err;
}

int kluis_pgp_encrypt_buffer(kluis_keyring *kr, const char *const *fprs, size_t nfprs,
			     const void *data, size_t len, kluis_pgp_write_fn out, void *out_ctx)
{
	rnp_input_t input = NULL;
	rnp_result_t r;
	int err;

	if ((err = kluis_keyring_rnp(kr)) < 0)
		return err;
	if ((r = rnp_input_from_memory(&input, data, len, false)) != RNP_SUCCESS)
		return kluis_pgp_rnp_fail(KLUIS_ECRYPTO, r, "cannot start encryption");
	err = encrypt_input(kr, fprs, nfprs, input, NULL, out, out_ctx);
	rnp_input_destroy(input);
	return err;
}

/*
 * Silence stderr around librnp calls that write there (rnp_op_verify_execute, reading a
 * damaged keyring). The descriptor is the process's, and keyrings
 * verify on several threads at once (the verifier's workers): the first thread in redirects
 * it to /dev/null, the last one out restores it, so no thread restores it under another.
 */
static pthread_mutex_t quiet_lock = PTHREAD_MUTEX_INITIALIZER;
static int quiet_depth, quiet_saved = -1;

void kluis_pgp_stderr_quiet(kluis_keyring *kr, bool on)
{
	if (kr->devnull < 0 || KLUIS_SEAM("KLUIS_RNP_LOG"))
		return;
	pthread_mutex_lock(&quiet_lock);
	if (on && quiet_depth++ == 0) {
		fflush(stderr);
		quiet_saved = dup(STDERR_FILENO);
		if (quiet_saved >= 0)
			dup2(kr->devnull, STDERR_FILENO);
	} else if (!on && --quiet_depth == 0 && quiet_saved >= 0) {
		dup2(quiet_saved, STDERR_FILENO);
		close(quiet_saved);
		quiet_saved = -1;
	}
	pthread_mutex_unlock(&quiet_lock);
}

void kluis_pgp_quiet_begin(kluis_keyring *kr)
{
	kluis_pgp_stderr_quiet(kr, true);
}

void kluis_pgp_quiet_end(kluis_keyring *kr)
{
	kluis_pgp_stderr_quiet(kr, false);
}

void kluis_pgp_ids_free(char **ids, size_t n)
{
	size_t i;

	if (!ids)
		return;
	for (i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
}

/*
 * Read one OpenPGP packet header (RFC 4880 4.2): tag, body offset and length. Partial body
 * lengths (only legal for data packets) stop the walk, which is all we need.
 */
static bool packet_header(const unsigned char *p, size_t len, size_t pos, int *tag, size_t *body, size_t *blen, bool *partial)
{
	unsigned char h;
	size_t l;

	*partial = false;
	if (pos >= len || !((h = p[pos]) & 0x80))
		return false;
	if (h & 0x40) { /* new format */
		*tag = h & 0x3f;
		if (pos + 1 >= len)
			return false;
		l = p[pos + 1];
		if (l < 192) {
			*body = pos + 2;
			*blen = l;
		} else if (l < 224) {
			if (pos + 2 >= len)
				return false;
			*body = pos + 3;
			*blen = ((l - 192) << 8) + p[pos + 2] + 192;
		} else if (l == 255) {
			if (pos + 5 >= len)
				return false;
			*body = pos + 6;
			*blen = ((size_t)p[pos + 2] << 24) | ((size_t)p[pos + 3] << 16) | ((size_t)p[pos + 4] << 8) | p[pos + 5];
		} else {
			*partial = true;
			*body = pos + 2;
			*blen = (size_t)1 << (l & 0x1f);
		}
	} else { /* old format */
		int lt = h & 3;
		*tag = (h >> 2) & 0xf;
		if (lt == 3) {
			*partial = true;
			*body = pos + 1;
			*blen = len - pos - 1;
		} else {
			size_t n = (size_t)1 << lt, k;
			if (pos + n >= len)
				return false;
			for (l = 0, k = 0; k < n; k++)
				l = (l << 8) | p[pos + 1 + k];
			*body = pos + 1 + n;
			*blen = l;
		}
	}
	return true;
}

/* ---- the framing of an encrypted message, as it streams ---- */

enum { FRAME_HEADER, FRAME_BODY, FRAME_CHUNK_LEN, FRAME_TO_END, FRAME_PAST_END };

void kluis_pgp_frame_init(kluis_pgp_frame *f)
{
	memset(f, 0, sizeof(*f));
	f->state = FRAME_HEADER;
}

/* A new-format length in f->hdr from `from` (RFC 4880 4.2.2): set f->left, or return 0 while
 * more octets are needed; -1 for partial (f->left the chunk's length), 1 for a final length. */
static int frame_length(kluis_pgp_frame *f, size_t from)
{
	unsigned char o = f->hdr[from];
	size_t have = f->hlen - from;

	if (o < 192) {
		f->left = o;
		return 1;
	}
	if (o < 224) {
		if (have < 2)
			return 0;
		f->left = ((uint64_t)(o - 192) << 8) + f->hdr[from + 1] + 192;
		return 1;
	}
	if (o < 255) {
		f->left = (uint64_t)1 << (o & 0x1f);
		return -1;
	}
	if (have < 5)
		return 0;
	f->left = ((uint64_t)f->hdr[from + 1] << 24) | ((uint64_t)f->hdr[from + 2] << 16) | ((uint64_t)f->hdr[from + 3] << 8) | f->hdr[from + 4];
	return 1;
}

/* A complete packet header in f->hdr: what comes next; false while more octets are needed */
static bool frame_header(kluis_pgp_frame *f)
{
	unsigned char h = f->hdr[0];
	int tag, kind = 1; /* 1 definite, -1 partial, 2 to the end */
	bool data;

	if (!(h & 0x80)) {
		f->bad = true;
		return true;
	}
	if (h & 0x40) {
		tag = h & 0x3f;
		if (f->hlen < 2 || (kind = frame_length(f, 1)) == 0)
			return false;
	} else {
		size_t lt = h & 3, n = lt == 3 ? 0 : (size_t)1 << lt, i;
		tag = (h >> 2) & 0xf;
		if (f->hlen < 1 + n)
			return false;
		if (lt == 3)
			kind = 2;
		for (f->left = 0, i = 0; i < n; i++)
			f->left = (f->left << 8) | f->hdr[1 + i];
	}
	data = tag == 18 || tag == 20 || tag == 9;
	/* session keys (definite) before the one data packet; nothing else */
	if (f->data_seen || !(data || (tag == 1 && kind == 1))) {
		f->bad = true;
		return true;
	}
	f->data_seen = data;
	f->data_final = kind != -1;
	f->state = kind == 2 ? FRAME_TO_END : FRAME_BODY;
	return true;
}

void kluis_pgp_frame_feed(kluis_pgp_frame *f, const unsigned char *data, size_t n)
{
	size_t i = 0, take;
	int k;

	while (i < n && !f->bad) {
		switch (f->state) {
		case FRAME_HEADER:
		case FRAME_CHUNK_LEN:
			if (f->hlen == sizeof(f->hdr)) {
				f->bad = true;
				break;
			}
			f->hdr[f->hlen++] = data[i++];
			if (f->state == FRAME_HEADER) {
				if (frame_header(f))
					f->hlen = 0;
			} else if ((k = frame_length(f, 0)) != 0) {
				f->hlen = 0;
				f->data_final = k == 1;
				f->state = FRAME_BODY;
			}
			break;
		case FRAME_BODY:
			take = (uint64_t)(n - i) < f->left ? n - i : (size_t)f->left;
			i += take;
			f->left -= take;
			break;
		case FRAME_TO_END:
			i = n;
			break;
		default: /* FRAME_PAST_END: a byte after the data packet */
			f->bad = true;
			break;
		}
		if (f->state == FRAME_BODY && f->left == 0)
			f->state = !f->data_seen ? FRAME_HEADER : f->data_final ? FRAME_PAST_END : FRAME_CHUNK_LEN;
	}
}

bool kluis_pgp_frame_whole(const kluis_pgp_frame *f)
{
	return !f->bad && f->data_seen && (f->state == FRAME_PAST_END || f->state == FRAME_TO_END);
}

int kluis_pgp_recipients(kluis_keyring *kr, const void *msg, size_t len, char ***ids, size_t *n)
{
	const unsigned char *p = msg;
	size_t pos = 0, body, blen, count = 0, i;
	char **list = NULL, **grown;
	bool partial, data = false;
	int tag, err = 0;

	(void)kr;
	*ids = NULL;
	*n = 0;
	/* the public-key session key packets (tag 1) come first, then the encrypted data */
	while (packet_header(p, len, pos, &tag, &body, &blen, &partial)) {
		if (tag == 1) {
			if (partial || body + blen > len || blen < 10 || p[body] != 3) {
				err = kluis_error_set(KLUIS_EVERIFY, "malformed public-key session key packet");
				goto cleanup;
			}
			grown = realloc(list, (count + 1) * sizeof(*list));
			if (!grown || !(grown[count] = malloc(17))) {
				if (grown)
					list = grown;
				err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
				goto cleanup;
			}
			list = grown;
			for (i = 0; i < 8; i++)
				snprintf(list[count] + 2 * i, 3, "%02X", p[body + 1 + i]);
			count++;
			pos = body + blen;
			continue;
		}
		data = tag == 18 || tag == 9 || tag == 20;
		break;
	}
	if (!count || !data) {
		err = kluis_error_set(KLUIS_EVERIFY, "not an OpenPGP public-key encrypted message");
		goto cleanup;
	}
	*ids = list;
	*n = count;
	list = NULL;
	count = 0;
cleanup:
	kluis_pgp_ids_free(list, count);
	return err;
}

int kluis_keyring_encryption_keyids(kluis_keyring *kr, const char *fpr, char ***ids, size_t *n)
{
	rnp_key_handle_t key = NULL, sub = NULL;
	char **list = NULL, *keyid = NULL;
	size_t nsub = 0, i, count = 0;
	bool can;
	int err;

	*ids = NULL;
	*n = 0;
	if ((err = locate_primary(kr, fpr, &key)) < 0)
		return err;
	rnp_key_get_subkey_count(key, &nsub);
	list = calloc(nsub + 1, sizeof(*list));
	if (!list) {
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto cleanup;
	}
	for (i = 0; i <= nsub; i++) {
		rnp_key_handle_t k = key;
		if (i < nsub) {
			if (rnp_key_get_subkey_at(key, i, &sub) != RNP_SUCCESS)
				continue;
			k = sub;
		}
		can = false;
		rnp_key_allows_usage(k, "encrypt", &can);
		if (can && rnp_key_get_keyid(k, &keyid) == RNP_SUCCESS) {
			list[count++] = strdup(keyid);
			rnp_buffer_destroy(keyid);
			keyid = NULL;
		}
		rnp_key_handle_destroy(sub);
		sub = NULL;
	}
	*ids = list;
	*n = count;
	list = NULL;
	err = 0;
cleanup:
	free(list);
	rnp_key_handle_destroy(key);
	return err;
}
