/*
 * pgp_verify.c - detached signatures: librnp's verdict and kluis's written key policy
 * (pgp.h, kluis_pgp_verify_detached, states the policy).
 *
 * librnp alone checks the cryptography: there is no second parser or verifier in process.
 * The policy is ours because librnp 0.16.3 (Debian 12) was measured to differ from it
 * (docs/THREAT_MODEL.md has the table; tests/unit/test_pgp.c checks every row):
 *   - it accepts a signature by an authentication-only subkey (gpg and sqv refuse it);
 *   - it treats a revocation with no reason given like a soft one (signatures dated before
 *     it stay good), yet that is the certificate gpg writes for every new key into
 *     openpgp-revocs.d, which anyone who could read the key's home may hold: for us it is a
 *     compromise;
 *   - it already refuses signatures dated after the key expired, before the key or subkey
 *     was created, at or after a soft revocation, and every signature of a key revoked as
 *     compromised. The policy states these again, so that the message says which rule was
 *     broken, and so that another librnp version cannot loosen them unnoticed.
 *   - it refuses every signature of a subkey whose primary key is revoked, for any reason
 *     and whenever made: stricter than the policy, and a refusal stands (below).
 *
 * Invariants: a signature passes only when librnp calls it good AND every rule of the policy
 * holds; the policy never turns librnp's refusal into acceptance. Every rnp handle and
 * buffer is destroyed on every path.
 */
#include "vault/pgp/pgp_internal.h"
#include "vault/base/error.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* "2026-11-18 10:54:57 UTC" */
static const char *utc(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(out, 32, "%Y-%m-%d %H:%M:%S UTC", &tm))
		snprintf(out, 32, "@%lld", (long long)t);
	return out;
}

/* The key's fingerprint, or "" (never NULL). */
static void key_fpr(rnp_key_handle_t key, char out[41])
{
	char *fpr = NULL;

	out[0] = '\0';
	if (rnp_key_get_fprint(key, &fpr) == RNP_SUCCESS && fpr)
		snprintf(out, 41, "%s", fpr);
	rnp_buffer_destroy(fpr);
}

/*
 * A revoked key's revocation as the message shows it: "compromised", "superseded", ... and
 * the text its owner gave, control characters replaced, so the message stays one line.
 */
static void revocation_label(rnp_key_handle_t key, bool compromised, bool superseded, bool retired,
			     char *out, size_t n)
{
	char *text = NULL;
	const char *kind = compromised ? "compromised" : superseded ? "superseded" : retired ? "no longer used" : "no reason given";
	size_t i;

	if (rnp_key_get_revocation_reason(key, &text) == RNP_SUCCESS && text && *text &&
	    strcmp(text, "No reason specified") != 0) {
		for (i = 0; text[i]; i++)
			if ((unsigned char)text[i] < 0x20 || text[i] == 0x7f)
				text[i] = '?';
		snprintf(out, n, "%s: \"%.80s\"", kind, text);
	} else {
		snprintf(out, n, "%s", kind);
	}
	rnp_buffer_destroy(text);
}

/*
 * The time rules for one key (the signing key, then its primary), named `name` in messages,
 * at the signature's time `at`: created by then, not expired by then, not revoked hard, not
 * revoked soft by then.
 */
static int check_key_at(rnp_key_handle_t key, const char *name, int64_t at)
{
	rnp_signature_handle_t rev = NULL;
	uint32_t created = 0, validity = 0, revoked_at = 0;
	bool revoked = true, compromised = false, superseded = false, retired = false;
	char t1[32], t2[32], label[160];
	int err = 0;

	if (rnp_key_get_creation(key, &created) != RNP_SUCCESS ||
	    rnp_key_get_expiration(key, &validity) != RNP_SUCCESS || rnp_key_is_revoked(key, &revoked) != RNP_SUCCESS) {
		err = kluis_error_set(KLUIS_EVERIFY, "cannot read the creation, expiry or revocation of %s", name);
		goto cleanup;
	}
	if (at < (int64_t)created) {
		err = kluis_error_set(KLUIS_EVERIFY, "%s was created on %s, after the signature's time %s", name,
				      utc(created, t1), utc(at, t2));
		goto cleanup;
	}
	/* validity counts from the key's creation; 0 is "never expires" */
	if (validity && at >= (int64_t)created + (int64_t)validity) {
		err = kluis_error_set(KLUIS_EVERIFY, "%s had expired at the signature's time %s (it expired on %s)", name,
				      utc(at, t1), utc((int64_t)created + (int64_t)validity, t2));
		goto cleanup;
	}
	if (!revoked)
		goto cleanup;
	rnp_key_is_compromised(key, &compromised);
	rnp_key_is_superseded(key, &superseded);
	rnp_key_is_retired(key, &retired);
	revocation_label(key, compromised, superseded, retired, label, sizeof(label));
	/* only the two reasons that say the key was not lost keep its earlier signatures;
	 * compromised, no reason and any reason librnp does not name are all hard */
	if (compromised || !(superseded || retired)) {
		err = kluis_error_set(KLUIS_EVERIFY, "%s was revoked (%s); every signature it made is refused", name, label);
		goto cleanup;
	}
	if (rnp_key_get_revocation_signature(key, &rev) != RNP_SUCCESS || !rev ||
	    rnp_signature_get_creation(rev, &revoked_at) != RNP_SUCCESS) {
		err = kluis_error_set(KLUIS_EVERIFY, "%s was revoked (%s) at a time that cannot be read; every signature it made is refused",
				      name, label);
		goto cleanup;
	}
	if (at >= (int64_t)revoked_at)
		err = kluis_error_set(KLUIS_EVERIFY, "%s was revoked (%s) on %s, before the signature's time %s", name, label,
				      utc(revoked_at, t1), utc(at, t2));
cleanup:
	rnp_signature_handle_destroy(rev);
	return err;
}

/* The key id the signature names, for a signer the keyring lacks ("" if none). */
static void signature_keyid(rnp_op_verify_signature_t s, char out[17])
{
	rnp_signature_handle_t h = NULL;
	char *id = NULL;

	out[0] = '\0';
	if (rnp_op_verify_signature_get_handle(s, &h) == RNP_SUCCESS && h && rnp_signature_get_keyid(h, &id) == RNP_SUCCESS && id)
		snprintf(out, 17, "%s", id);
	rnp_buffer_destroy(id);
	rnp_signature_handle_destroy(h);
}

int kluis_pgp_verify_detached(kluis_keyring *kr, const void *data, size_t len,
			      const void *sig, size_t sig_len, char signer[41], int64_t *created)
{
	rnp_input_t din = NULL, sin = NULL;
	rnp_op_verify_t op = NULL;
	rnp_op_verify_signature_t s = NULL;
	rnp_key_handle_t key = NULL, primary = NULL;
	char *pfpr = NULL, keyid[17], own[41], name[128], t1[32], issuer[41];
	size_t count = 0;
	uint32_t ctime = 0, etime = 0;
	bool is_primary = false, can_sign = false, primary_revoked = false;
	rnp_result_t r, status;
	int err;

	signer[0] = '\0';
	if (created)
		*created = 0;
	if ((err = kluis_pgp_sig_form(sig, sig_len, issuer)) < 0 || (err = kluis_keyring_rnp(kr)) < 0)
		return err;
	if ((r = rnp_input_from_memory(&din, data, len, false)) != RNP_SUCCESS ||
	    (r = rnp_input_from_memory(&sin, sig, sig_len, false)) != RNP_SUCCESS ||
	    (r = rnp_op_verify_detached_create(&op, kr->ffi, din, sin)) != RNP_SUCCESS) {
		err = kluis_pgp_rnp_fail(KLUIS_ECRYPTO, r, "cannot start verification");
		goto cleanup;
	}
	/* librnp (as Debian builds it) logs every bad signature to stderr whatever its log fd
	 * says; the verifier reports findings itself, one line each, so silence it here */
	kluis_pgp_stderr_quiet(kr, true);
	r = rnp_op_verify_execute(op);
	kluis_pgp_stderr_quiet(kr, false);
	if (rnp_op_verify_get_signature_count(op, &count) != RNP_SUCCESS || count != 1) {
		err = kluis_error_set(KLUIS_EVERIFY, "expected one signature, found %zu (%s)", count, rnp_result_to_string(r));
		goto cleanup;
	}
	if (rnp_op_verify_get_signature_at(op, 0, &s) != RNP_SUCCESS ||
	    rnp_op_verify_signature_get_times(s, &ctime, &etime) != RNP_SUCCESS) {
		err = kluis_error_set(KLUIS_EVERIFY, "cannot read the signature");
		goto cleanup;
	}
	if (created)
		*created = (int64_t)ctime;
	/* the key the signature names by its issuer fingerprint or key id: a subkey or a primary */
	if (rnp_op_verify_signature_get_key(s, &key) != RNP_SUCCESS || !key) {
		signature_keyid(s, keyid);
		err = kluis_error_set(KLUIS_EVERIFY, "signed by key %s, which is not in the keyring", *keyid ? keyid : "(unnamed)");
		goto cleanup;
	}
	key_fpr(key, own);
	if (strcmp(own, issuer) != 0) {
		err = kluis_error_set(KLUIS_EVERIFY, "the signature names key %s as its issuer, but key %s made it", issuer, own);
		goto cleanup;
	}
	if (rnp_key_is_primary(key, &is_primary) != RNP_SUCCESS ||
	    (!is_primary && (rnp_key_get_primary_fprint(key, &pfpr) != RNP_SUCCESS || !pfpr ||
			     rnp_locate_key(kr->ffi, "fingerprint", pfpr, &primary) != RNP_SUCCESS || !primary))) {
		err = kluis_error_set(KLUIS_EVERIFY, "cannot tell the primary key of signing key %s", own);
		goto cleanup;
	}
	snprintf(signer, 41, "%s", is_primary ? own : pfpr);
	if (is_primary)
		snprintf(name, sizeof(name), "key %s", own);
	else
		snprintf(name, sizeof(name), "subkey %s of key %s", own, pfpr);

	/* the policy (pgp.h): usage, then time, for the signing key and then its primary */
	if (rnp_key_allows_usage(key, "sign", &can_sign) != RNP_SUCCESS || !can_sign) {
		err = kluis_error_set(KLUIS_EVERIFY, "signed by %s, which may not sign (key flags)", name);
		goto cleanup;
	}
	if ((err = check_key_at(key, name, ctime)) < 0)
		goto cleanup;
	if (primary) {
		snprintf(name, sizeof(name), "key %s (the primary of signing subkey %s)", pfpr, own);
		if ((err = check_key_at(primary, name, ctime)) < 0)
			goto cleanup;
		snprintf(name, sizeof(name), "subkey %s of key %s", own, pfpr);
	}

	/* librnp's verdict: the cryptography, and its own view of the keys */
	status = rnp_op_verify_signature_get_status(s);
	if (status == RNP_SUCCESS) {
		err = 0;
	} else if (status == RNP_ERROR_SIGNATURE_EXPIRED && (int64_t)ctime > (int64_t)time(NULL)) {
		/* librnp calls a signature from the future "expired" */
		err = kluis_error_set(KLUIS_EVERIFY, "signature by %s is dated %s, in the future", name, utc(ctime, t1));
	} else if (primary && rnp_key_is_revoked(primary, &primary_revoked) == RNP_SUCCESS && primary_revoked) {
		err = kluis_error_set(KLUIS_EVERIFY, "bad signature by %s: %s (librnp refuses every signature of a subkey whose primary key is revoked, even one made before)",
				      name, rnp_result_to_string(status));
	} else {
		err = kluis_error_set(KLUIS_EVERIFY, "bad signature by %s: %s", name, rnp_result_to_string(status));
	}
cleanup:
	rnp_buffer_destroy(pfpr);
	rnp_key_handle_destroy(primary);
	rnp_key_handle_destroy(key);
	rnp_op_verify_destroy(op);
	rnp_input_destroy(din);
	rnp_input_destroy(sin);
	return err;
}
