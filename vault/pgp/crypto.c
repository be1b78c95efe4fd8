/*
 * crypto.c - the only file that talks to gpgme (see crypto.h).
 *
 * Cost model (NOTES.md): every gpgme operation starts a gpg process (5-10 ms), so this file
 * offers exactly the operations that need a secret key and lets callers overlap them with
 * in-process work. gpgme's memory data buffers are not wiped, so plaintext is received through
 * callbacks into our own wiped buffers or written straight to the destination fd.
 */
#include "vault/pgp/crypto.h"
#include "vault/base/error.h"

#include <errno.h>
#include <gpgme.h>
#include <jansson.h>
#include <malloc.h>
#include <locale.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The gpg binary: the first `gpg` on PATH (a test build: $KLUIS_GPG first). */
static char *find_gpg(void)
{
	const char *env = KLUIS_SEAM("KLUIS_GPG"), *path = getenv("PATH");
	char *copy, *dir, *save = NULL, *found = NULL;

	if (env && *env)
		return strdup(env);
	copy = strdup(path && *path ? path : "/usr/bin:/bin");
	for (dir = copy ? strtok_r(copy, ":", &save) : NULL; dir && !found; dir = strtok_r(NULL, ":", &save)) {
		char *candidate = kluis_path_join(dir, "gpg");
		if (candidate && access(candidate, X_OK) == 0)
			found = candidate;
		else
			free(candidate);
	}
	free(copy);
	return found;
}

/* jansson holds decrypted metadata in its own allocations: wipe them on free too */
static void wiping_free(void *p)
{
	if (p) {
		explicit_bzero(p, malloc_usable_size(p));
		free(p);
	}
}

int kluis_crypto_init(bool public_only)
{
	static bool done;
	char *gpg;

	if (done)
		return 0;
	/* for the whole process: decrypted metadata is parsed by jansson, so what it frees is wiped */
	json_set_alloc_funcs(malloc, wiping_free);
	/*
	 * Botan (under librnp) makes its pool of locked memory at its first secure allocation:
	 * 512 KiB by default, one mmap, mlock, madvise and mprotect per page, ~8 ms of every
	 * command that opens a keyring on this kind of VM. kluis gives librnp public keys only;
	 * its secrets are the session keys of encryption, a few hundred bytes at a time, so 64 KiB
	 * stays locked and allocations past it still go to memory Botan wipes when freed. A
	 * verifier holds no secret at all (signatures and public keys), so it locks none: 16 mmap,
	 * mlock and madvise and 32 mprotect fewer, ~1 ms of every `kluis verify`. A value the user
	 * set is kept. Before any thread starts: setenv is not thread-safe.
	 */
	setenv("BOTAN_MLOCK_POOL_SIZE", public_only ? "0" : "64", 0);
	/*
	 * gpgme's engine discovery asks gpgconf (twice) and probes gpgsm: five process starts,
	 * 5 ms of every command. kluis needs only gpg, so name it and skip gpgconf; gpg still
	 * finds its own agent.
	 */
	gpg = find_gpg();
	if (!gpg)
		return kluis_error_set(KLUIS_ECRYPTO, "gpg not found on PATH (install gnupg)");
	gpgme_set_global_flag("disable-gpgconf", "1");
	gpgme_set_global_flag("gpg-name", gpg);
	free(gpg);
	if (!gpgme_check_version("1.13.0"))
		return kluis_error_set(KLUIS_ECRYPTO, "gpgme is too old (need 1.13 or later)");
	/* no gpgme_engine_check_version here: it probes every engine (gpgsm too); the first
	 * operation reports a broken gpg clearly enough */
	gpgme_set_locale(NULL, LC_CTYPE, setlocale(LC_CTYPE, NULL));
	done = true;
	return 0;
}

bool kluis_threads_enabled(void)
{
	const char *env = KLUIS_SEAM("KLUIS_THREADS");

	return !(env && strcmp(env, "0") == 0);
}

static int gpg_fail(gpgme_error_t e, const char *what)
{
	/* gpg-agent rewrites a key file in place on the key's first use after an import (into its
	 * own protection format); another process using that key at that moment reads it half-written */
	if (gpgme_err_code(e) >= GPG_ERR_SEXP_INV_LEN_SPEC && gpgme_err_code(e) <= GPG_ERR_SEXP_BAD_OCT_CHAR)
		return kluis_error_set(KLUIS_EKEY, "%s: gpg-agent could not read the secret key (%s); if another program used the key at "
				       "the same moment, run the command again", what, gpgme_strerror(e));
	switch (gpgme_err_code(e)) {
	case GPG_ERR_NO_SECKEY:
		return kluis_error_set(KLUIS_EACCESS, "%s: no secret key for it here (it was not encrypted to your key)", what);
	case GPG_ERR_BAD_PASSPHRASE:
	case GPG_ERR_CANCELED:
	case GPG_ERR_NO_PIN_ENTRY:
	case GPG_ERR_NO_PASSPHRASE:
		return kluis_error_set(KLUIS_EKEY, "%s: the key is locked (%s); unlock it in gpg-agent, e.g. run gpg with a pinentry first",
				       what, gpgme_strerror(e));
	case GPG_ERR_NO_AGENT:
		return kluis_error_set(KLUIS_EKEY, "%s: %s; start gpg-agent (gpgconf --launch gpg-agent) or use a shorter GNUPGHOME path",
				       what, gpgme_strerror(e));
	default:
		return kluis_error_set(KLUIS_ECRYPTO, "%s: %s", what, gpgme_strerror(e));
	}
}

static int new_ctx(gpgme_ctx_t *ctx)
{
	gpgme_error_t e;

	if ((e = gpgme_new(ctx)) != 0)
		return gpg_fail(e, "cannot start gpgme");
	gpgme_set_protocol(*ctx, GPGME_PROTOCOL_OpenPGP);
	gpgme_set_offline(*ctx, 1);
	return 0;
}

/*
 * A signer runs up to three gpg processes: `gpg --version` (gpgme's engine check, once per
 * process), the listing of the signing key, and the signature. Starting a process here costs
 * 10-15 ms, so none of them is waited for sooner than needed: the listing runs while the
 * caller opens the dossier, loads the keyring and encrypts; the signing gpg is started
 * (kluis_signer_begin) while the caller still builds the trees and the commit, and is fed
 * the commit when it is ready. This is done with gpgme's own asynchronous operations on one
 * thread: on this kind of machine (2 cores, a VM) extra threads cost more in cross-CPU TLB
 * flushes at every fork and mmap than they gained (docs/PERFORMANCE.md).
 */
struct kluis_signer {
	char fpr[41];
	gpgme_ctx_t ctx;
	gpgme_key_t key;
	bool listing;   /* the key listing's gpg is running */
	bool resolved;  /* the listing was read (key or err set) */
	bool signing;   /* the signing gpg is running, waiting for its input */
	gpgme_data_t in, out;
	const unsigned char *feed; /* the bytes to sign, set by kluis_signer_sign */
	size_t feed_len, feed_off;
	int err;
	char errmsg[512];
};

static int signer_error(kluis_signer *s, int err)
{
	s->err = err;
	snprintf(s->errmsg, sizeof(s->errmsg), "%s", kluis_error_last());
	return err;
}

int kluis_signer_start(kluis_signer **out, const char *fpr)
{
	kluis_signer *s;
	gpgme_error_t e;
	int err;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return kluis_error_set(KLUIS_EGENERIC, "out of memory");
	snprintf(s->fpr, sizeof(s->fpr), "%s", fpr);
	*out = s;
	/* errors are kept for the first use: a command that fails earlier reports its own */
	if ((err = new_ctx(&s->ctx)) < 0) {
		signer_error(s, err);
		return 0;
	}
	/*
	 * The public listing does not ask gpg-agent and is faster; a missing secret key shows
	 * at signing, before anything is committed. A keylist on this context rather than
	 * gpgme_get_key: that one makes a context of its own and sets its engine info, which
	 * costs one more `gpg --version` process. _start only starts the gpg process.
	 */
	if ((e = gpgme_op_keylist_start(s->ctx, s->fpr, 0)) != 0)
		signer_error(s, gpg_fail(e, "cannot find the signing key"));
	else
		s->listing = true;
	return 0;
}

/* Read the key listing (waiting for its gpg if it is still running) and check the key. */
static int signer_resolve(kluis_signer *s)
{
	gpgme_error_t e;

	if (!s->resolved && s->err == 0) {
		s->resolved = true;
		e = gpgme_op_keylist_next(s->ctx, &s->key);
		gpgme_op_keylist_end(s->ctx);
		s->listing = false;
		if (e || !s->key)
			return signer_error(s, gpgme_err_code(e) == GPG_ERR_EOF || !e
					       ? kluis_error_set(KLUIS_EKEY, "no key %s in this keyring (check --as, KLUIS_KEY or GNUPGHOME)", s->fpr)
					       : gpg_fail(e, "cannot find the signing key"));
		if (s->key->revoked || s->key->expired || s->key->disabled || !s->key->can_sign)
			return signer_error(s, kluis_error_set(KLUIS_EKEY, "key %s cannot sign (revoked, expired, disabled or no signing capability)", s->fpr));
		if ((e = gpgme_signers_add(s->ctx, s->key)) != 0)
			return signer_error(s, gpg_fail(e, "cannot use the signing key"));
	}
	if (s->err < 0)
		return kluis_error_set(s->err, "%s", s->errmsg);
	return 0;
}

/* gpgme reads the input of the signing gpg from here, only inside gpgme_wait, which
 * kluis_signer_sign calls once the bytes are set */
static ssize_t feed_read(void *handle, void *buf, size_t size)
{
	kluis_signer *s = handle;
	size_t n;

	if (!s->feed) { /* never: gpgme_wait runs only after the feed is set */
		errno = EIO;
		return -1;
	}
	n = s->feed_len - s->feed_off < size ? s->feed_len - s->feed_off : size;
	memcpy(buf, s->feed + s->feed_off, n);
	s->feed_off += n;
	return (ssize_t)n;
}

int kluis_signer_begin(kluis_signer *s)
{
	static struct gpgme_data_cbs cbs = { feed_read, NULL, NULL, NULL };
	gpgme_error_t e;
	int err;

	if (s->signing)
		return 0;
	if ((err = signer_resolve(s)) < 0)
		return err;
	gpgme_set_armor(s->ctx, 1);
	if ((e = gpgme_data_new_from_cbs(&s->in, &cbs, s)) != 0 || (e = gpgme_data_new(&s->out)) != 0 ||
	    (e = gpgme_op_sign_start(s->ctx, s->in, s->out, GPGME_SIG_MODE_DETACH)) != 0)
		return signer_error(s, gpg_fail(e, "cannot start signing"));
	s->signing = true;
	return 0;
}

int kluis_signer_sign(kluis_signer *s, const void *data, size_t len, kluis_buf *sig)
{
	gpgme_sign_result_t res;
	gpgme_error_t e = 0, status = 0;
	char *mem = NULL;
	size_t mlen = 0;
	int err;

	if ((err = kluis_signer_begin(s)) < 0)
		return err;
	s->feed = data;
	s->feed_len = len;
	s->feed_off = 0;
	/* runs the I/O loop until the signing gpg is done: feeds it, reads the signature */
	if (!gpgme_wait(s->ctx, &status, 1))
		e = status ? status : gpg_error(GPG_ERR_GENERAL);
	else
		e = status;
	s->signing = false;
	s->feed = NULL;
	if (e) {
		if (gpgme_err_code(e) == GPG_ERR_UNUSABLE_SECKEY || gpgme_err_code(e) == GPG_ERR_NO_SECKEY)
			err = kluis_error_set(KLUIS_EKEY, "no secret key for %s here: you cannot sign as that key (check --as, KLUIS_KEY or GNUPGHOME)", s->fpr);
		else
			err = gpg_fail(e, "signing failed");
		goto cleanup;
	}
	res = gpgme_op_sign_result(s->ctx);
	if (!res || !res->signatures || res->invalid_signers || s->feed_off != len) {
		err = kluis_error_set(KLUIS_ECRYPTO, "signing failed: gpg made no signature with %s", s->fpr);
		goto cleanup;
	}
	mem = gpgme_data_release_and_get_mem(s->out, &mlen);
	s->out = NULL;
	err = kluis_buf_put(sig, mem, mlen);
cleanup:
	gpgme_free(mem);
	gpgme_data_release(s->in);
	gpgme_data_release(s->out);
	s->in = s->out = NULL;
	return err;
}

void kluis_signer_free(kluis_signer *s)
{
	if (!s)
		return;
	if (s->listing)
		gpgme_op_keylist_end(s->ctx);
	/* a signing gpg that was begun and never fed sees its input closed and exits; what it
	 * may write goes nowhere */
	gpgme_release(s->ctx);
	gpgme_data_release(s->in);
	gpgme_data_release(s->out);
	gpgme_key_unref(s->key);
	free(s);
}

/* gpgme write callback into a secret kluis_buf */
static ssize_t buf_write_cb(void *handle, const void *data, size_t size)
{
	kluis_buf *b = handle;

	if (kluis_buf_put(b, data, size) < 0) {
		errno = ENOMEM;
		return -1;
	}
	return (ssize_t)size;
}

/* Decrypt what `in` holds into `out`; a NULL `in` is the message msg/len. */
static int decrypt_into(const void *msg, size_t len, gpgme_data_t in, gpgme_data_t out)
{
	gpgme_ctx_t ctx = NULL;
	gpgme_data_t mem = NULL;
	gpgme_error_t e;
	int err;

	if ((err = new_ctx(&ctx)) < 0)
		return err;
	if (!in && (e = gpgme_data_new_from_mem(&mem, msg, len, 0)) != 0) {
		err = gpg_fail(e, "cannot prepare decryption");
		goto cleanup;
	}
	if ((e = gpgme_op_decrypt(ctx, in ? in : mem, out)) != 0) {
		err = gpg_fail(e, "cannot decrypt");
		goto cleanup;
	}
	err = 0;
cleanup:
	gpgme_data_release(mem);
	gpgme_release(ctx);
	return err;
}

int kluis_crypto_decrypt_to_fd(const void *msg, size_t len, int fd)
{
	gpgme_data_t out = NULL;
	gpgme_error_t e;
	int err;

	if ((e = gpgme_data_new_from_fd(&out, fd)) != 0)
		return gpg_fail(e, "cannot prepare decryption");
	err = decrypt_into(msg, len, NULL, out);
	gpgme_data_release(out);
	return err;
}

int kluis_crypto_decrypt_to_buf(const void *msg, size_t len, kluis_buf *outbuf)
{
	struct gpgme_data_cbs cbs = { NULL, buf_write_cb, NULL, NULL };
	gpgme_data_t out = NULL;
	gpgme_error_t e;
	int err;

	outbuf->secret = true;
	if ((e = gpgme_data_new_from_cbs(&out, &cbs, outbuf)) != 0)
		return gpg_fail(e, "cannot prepare decryption");
	err = decrypt_into(msg, len, NULL, out);
	gpgme_data_release(out);
	if (err < 0)
		kluis_buf_dispose(outbuf);
	return err;
}

struct tapped {
	int fd;
	kluis_buf *buf;
	kluis_crypto_tap_fn tap;
	void *tap_ctx;
	int err; /* the tap's or the write's error, kept: gpgme only sees errno */
	char msg[512];
};

static ssize_t tapped_write_cb(void *handle, const void *data, size_t size)
{
	struct tapped *t = handle;
	const unsigned char *p = data;
	size_t left = size;
	int err;

	if ((err = t->tap(t->tap_ctx, data, size)) < 0) {
		t->err = err;
		snprintf(t->msg, sizeof(t->msg), "%s", kluis_error_last());
		errno = EIO;
		return -1;
	}
	if (t->fd < 0) {
		if (kluis_buf_put(t->buf, data, size) < 0) {
			errno = ENOMEM;
			return -1;
		}
		return (ssize_t)size;
	}
	while (left) {
		ssize_t n = write(t->fd, p, left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			t->err = kluis_error_set(KLUIS_EGENERIC, "cannot write the decrypted data: %s", strerror(n < 0 ? errno : EIO));
			snprintf(t->msg, sizeof(t->msg), "%s", kluis_error_last());
			return -1;
		}
		p += n;
		left -= (size_t)n;
	}
	return (ssize_t)size;
}

/* The ciphertext of kluis_crypto_decrypt_tapped_from, read as gpg asks for it. */
struct source {
	kluis_crypto_read_fn rd;
	void *ctx;
	int err; /* the reader's error, kept: gpgme only sees errno */
	char msg[512];
};

static ssize_t source_read_cb(void *handle, void *buf, size_t size)
{
	struct source *src = handle;
	size_t n = 0;
	int err;

	if ((err = src->rd(src->ctx, buf, size, &n)) < 0) {
		src->err = err;
		snprintf(src->msg, sizeof(src->msg), "%s", kluis_error_last());
		errno = EIO;
		return -1;
	}
	return (ssize_t)n;
}

/* Either msg/len or, with msg NULL, the reader src. */
static int decrypt_tapped(const void *msg, size_t len, struct source *src, int fd, kluis_buf *out, kluis_crypto_tap_fn tap, void *tap_ctx)
{
	struct gpgme_data_cbs cbs = { NULL, tapped_write_cb, NULL, NULL }, in_cbs = { source_read_cb, NULL, NULL, NULL };
	struct tapped t = { fd, out, tap, tap_ctx, 0, "" };
	gpgme_data_t data = NULL, in = NULL;
	gpgme_error_t e;
	int err;

	if (fd < 0)
		out->secret = true;
	if ((e = gpgme_data_new_from_cbs(&data, &cbs, &t)) != 0 || (src && (e = gpgme_data_new_from_cbs(&in, &in_cbs, src)) != 0)) {
		gpgme_data_release(data);
		return gpg_fail(e, "cannot prepare decryption");
	}
	err = decrypt_into(msg, len, in, data);
	gpgme_data_release(data);
	gpgme_data_release(in);
	if (src && src->err < 0)
		err = kluis_error_set(src->err, "%s", src->msg);
	else if (t.err < 0)
		err = kluis_error_set(t.err, "%s", t.msg);
	if (err < 0 && fd < 0)
		kluis_buf_dispose(out);
	return err;
}

int kluis_crypto_decrypt_tapped(const void *msg, size_t len, int fd, kluis_buf *out, kluis_crypto_tap_fn tap, void *tap_ctx)
{
	return decrypt_tapped(msg, len, NULL, fd, out, tap, tap_ctx);
}

int kluis_crypto_decrypt_tapped_from(kluis_crypto_read_fn rd, void *rd_ctx, int fd, kluis_buf *out, kluis_crypto_tap_fn tap, void *tap_ctx)
{
	struct source src = { rd, rd_ctx, 0, "" };

	return decrypt_tapped(NULL, 0, &src, fd, out, tap, tap_ctx);
}

int kluis_crypto_secret_keys(char ***fprs, char ***uids, size_t *n)
{
	gpgme_ctx_t ctx = NULL;
	gpgme_key_t key = NULL;
	gpgme_error_t e;
	char **fl = NULL, **ul = NULL, **grown;
	size_t count = 0;
	int err;

	*fprs = *uids = NULL;
	*n = 0;
	if ((err = new_ctx(&ctx)) < 0)
		return err;
	if ((e = gpgme_op_keylist_start(ctx, NULL, 1)) != 0) {
		err = gpg_fail(e, "cannot list secret keys");
		goto cleanup;
	}
	while ((e = gpgme_op_keylist_next(ctx, &key)) == 0) {
		if (!key->revoked && !key->expired && !key->disabled && key->can_sign && key->fpr) {
			const char *uid = key->uids && key->uids->uid ? key->uids->uid : "";
			if ((grown = realloc(fl, (count + 1) * sizeof(*fl))))
				fl = grown;
			if (grown && (grown = realloc(ul, (count + 1) * sizeof(*ul))))
				ul = grown;
			if (!grown || !(fl[count] = strdup(key->fpr)) || !(ul[count] = strdup(uid))) {
				if (grown && fl[count])
					free(fl[count]);
				gpgme_key_unref(key);
				err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
				goto cleanup;
			}
			count++;
		}
		gpgme_key_unref(key);
	}
	if (gpgme_err_code(e) != GPG_ERR_EOF) {
		err = gpg_fail(e, "cannot list secret keys");
		goto cleanup;
	}
	*fprs = fl;
	*uids = ul;
	*n = count;
	fl = ul = NULL;
	count = 0;
	err = 0;
cleanup:
	kluis_strings_free(fl, count);
	kluis_strings_free(ul, count);
	gpgme_op_keylist_end(ctx);
	gpgme_release(ctx);
	return err;
}

int kluis_crypto_make_key(const char *uid, char fpr_out[41])
{
	gpgme_ctx_t ctx = NULL;
	gpgme_key_t key = NULL;
	gpgme_genkey_result_t res;
	gpgme_error_t e;
	unsigned flags = GPGME_CREATE_NOPASSWD | GPGME_CREATE_NOEXPIRE | GPGME_CREATE_FORCE;
	int err;

	if ((err = new_ctx(&ctx)) < 0)
		return err;
	if ((e = gpgme_op_createkey(ctx, uid, "ed25519", 0, 0, NULL, flags | GPGME_CREATE_SIGN | GPGME_CREATE_CERT)) != 0) {
		err = gpg_fail(e, "cannot create a key");
		goto cleanup;
	}
	res = gpgme_op_genkey_result(ctx);
	if (!res || !res->fpr) {
		err = kluis_error_set(KLUIS_ECRYPTO, "gpg created no key");
		goto cleanup;
	}
	snprintf(fpr_out, 41, "%s", res->fpr);
	if ((e = gpgme_get_key(ctx, fpr_out, &key, 1)) != 0 ||
	    (e = gpgme_op_createsubkey(ctx, key, "cv25519", 0, 0, flags | GPGME_CREATE_ENCR)) != 0) {
		err = gpg_fail(e, "cannot create an encryption subkey");
		goto cleanup;
	}
	err = 0;
cleanup:
	gpgme_key_unref(key);
	gpgme_release(ctx);
	return err;
}
