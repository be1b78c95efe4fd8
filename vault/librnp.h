/*
 * librnp.h - librnp, loaded when a keyring first needs it (see librnp.c).
 *
 * pgp.c and pgp_verify.c include this instead of <rnp/rnp.h>, and reach librnp only through a
 * keyring whose librnp side kluis_keyring_rnp() (pgp_internal.h) has made, which loads the
 * library first; the rnp_* names then go through a table of the library's functions.
 */
#ifndef KLUIS_LIBRNP_H
#define KLUIS_LIBRNP_H

#include <rnp/rnp.h>
#include <rnp/rnp_err.h>

/* every librnp function kluis calls; one more is one line here */
#define KLUIS_LIBRNP_FUNCTIONS(X) \
	X(rnp_buffer_destroy) \
	X(rnp_ffi_create) \
	X(rnp_ffi_destroy) \
	X(rnp_ffi_set_log_fd) \
	X(rnp_import_keys) \
	X(rnp_input_destroy) \
	X(rnp_input_from_callback) \
	X(rnp_input_from_memory) \
	X(rnp_key_allows_usage) \
	X(rnp_key_export) \
	X(rnp_key_get_creation) \
	X(rnp_key_get_expiration) \
	X(rnp_key_get_fprint) \
	X(rnp_key_get_keyid) \
	X(rnp_key_get_primary_fprint) \
	X(rnp_key_get_revocation_reason) \
	X(rnp_key_get_revocation_signature) \
	X(rnp_key_get_subkey_at) \
	X(rnp_key_get_subkey_count) \
	X(rnp_key_handle_destroy) \
	X(rnp_key_is_compromised) \
	X(rnp_key_is_expired) \
	X(rnp_key_is_primary) \
	X(rnp_key_is_retired) \
	X(rnp_key_is_revoked) \
	X(rnp_key_is_superseded) \
	X(rnp_key_is_valid) \
	X(rnp_load_keys) \
	X(rnp_locate_key) \
	X(rnp_op_encrypt_add_recipient) \
	X(rnp_op_encrypt_create) \
	X(rnp_op_encrypt_destroy) \
	X(rnp_op_encrypt_execute) \
	X(rnp_op_encrypt_set_armor) \
	X(rnp_op_encrypt_set_cipher) \
	X(rnp_op_encrypt_set_compression) \
	X(rnp_op_verify_destroy) \
	X(rnp_op_verify_detached_create) \
	X(rnp_op_verify_execute) \
	X(rnp_op_verify_get_signature_at) \
	X(rnp_op_verify_get_signature_count) \
	X(rnp_op_verify_signature_get_handle) \
	X(rnp_op_verify_signature_get_key) \
	X(rnp_op_verify_signature_get_status) \
	X(rnp_op_verify_signature_get_times) \
	X(rnp_output_destroy) \
	X(rnp_output_finish) \
	X(rnp_output_memory_get_buf) \
	X(rnp_output_to_callback) \
	X(rnp_output_to_memory) \
	X(rnp_result_to_string) \
	X(rnp_save_keys) \
	X(rnp_signature_get_creation) \
	X(rnp_signature_get_keyid) \
	X(rnp_signature_handle_destroy)

struct kluis_librnp {
#define X(f) __typeof__(f) *f;
	KLUIS_LIBRNP_FUNCTIONS(X)
#undef X
};
extern struct kluis_librnp kluis_rnp_fn;

/* Load librnp once (thread-safe); a KLUIS_ECRYPTO error if it cannot be loaded. */
int kluis_librnp_load(void);

#ifndef KLUIS_LIBRNP_IMPL
#define rnp_buffer_destroy (kluis_rnp_fn.rnp_buffer_destroy)
#define rnp_ffi_create (kluis_rnp_fn.rnp_ffi_create)
#define rnp_ffi_destroy (kluis_rnp_fn.rnp_ffi_destroy)
#define rnp_ffi_set_log_fd (kluis_rnp_fn.rnp_ffi_set_log_fd)
#define rnp_import_keys (kluis_rnp_fn.rnp_import_keys)
#define rnp_input_destroy (kluis_rnp_fn.rnp_input_destroy)
#define rnp_input_from_callback (kluis_rnp_fn.rnp_input_from_callback)
#define rnp_input_from_memory (kluis_rnp_fn.rnp_input_from_memory)
#define rnp_key_allows_usage (kluis_rnp_fn.rnp_key_allows_usage)
#define rnp_key_export (kluis_rnp_fn.rnp_key_export)
#define rnp_key_get_creation (kluis_rnp_fn.rnp_key_get_creation)
#define rnp_key_get_expiration (kluis_rnp_fn.rnp_key_get_expiration)
#define rnp_key_get_fprint (kluis_rnp_fn.rnp_key_get_fprint)
#define rnp_key_get_keyid (kluis_rnp_fn.rnp_key_get_keyid)
#define rnp_key_get_primary_fprint (kluis_rnp_fn.rnp_key_get_primary_fprint)
#define rnp_key_get_revocation_reason (kluis_rnp_fn.rnp_key_get_revocation_reason)
#define rnp_key_get_revocation_signature (kluis_rnp_fn.rnp_key_get_revocation_signature)
#define rnp_key_get_subkey_at (kluis_rnp_fn.rnp_key_get_subkey_at)
#define rnp_key_get_subkey_count (kluis_rnp_fn.rnp_key_get_subkey_count)
#define rnp_key_handle_destroy (kluis_rnp_fn.rnp_key_handle_destroy)
#define rnp_key_is_compromised (kluis_rnp_fn.rnp_key_is_compromised)
#define rnp_key_is_expired (kluis_rnp_fn.rnp_key_is_expired)
#define rnp_key_is_primary (kluis_rnp_fn.rnp_key_is_primary)
#define rnp_key_is_retired (kluis_rnp_fn.rnp_key_is_retired)
#define rnp_key_is_revoked (kluis_rnp_fn.rnp_key_is_revoked)
#define rnp_key_is_superseded (kluis_rnp_fn.rnp_key_is_superseded)
#define rnp_key_is_valid (kluis_rnp_fn.rnp_key_is_valid)
#define rnp_load_keys (kluis_rnp_fn.rnp_load_keys)
#define rnp_locate_key (kluis_rnp_fn.rnp_locate_key)
#define rnp_op_encrypt_add_recipient (kluis_rnp_fn.rnp_op_encrypt_add_recipient)
#define rnp_op_encrypt_create (kluis_rnp_fn.rnp_op_encrypt_create)
#define rnp_op_encrypt_destroy (kluis_rnp_fn.rnp_op_encrypt_destroy)
#define rnp_op_encrypt_execute (kluis_rnp_fn.rnp_op_encrypt_execute)
#define rnp_op_encrypt_set_armor (kluis_rnp_fn.rnp_op_encrypt_set_armor)
#define rnp_op_encrypt_set_cipher (kluis_rnp_fn.rnp_op_encrypt_set_cipher)
#define rnp_op_encrypt_set_compression (kluis_rnp_fn.rnp_op_encrypt_set_compression)
#define rnp_op_verify_destroy (kluis_rnp_fn.rnp_op_verify_destroy)
#define rnp_op_verify_detached_create (kluis_rnp_fn.rnp_op_verify_detached_create)
#define rnp_op_verify_execute (kluis_rnp_fn.rnp_op_verify_execute)
#define rnp_op_verify_get_signature_at (kluis_rnp_fn.rnp_op_verify_get_signature_at)
#define rnp_op_verify_get_signature_count (kluis_rnp_fn.rnp_op_verify_get_signature_count)
#define rnp_op_verify_signature_get_handle (kluis_rnp_fn.rnp_op_verify_signature_get_handle)
#define rnp_op_verify_signature_get_key (kluis_rnp_fn.rnp_op_verify_signature_get_key)
#define rnp_op_verify_signature_get_status (kluis_rnp_fn.rnp_op_verify_signature_get_status)
#define rnp_op_verify_signature_get_times (kluis_rnp_fn.rnp_op_verify_signature_get_times)
#define rnp_output_destroy (kluis_rnp_fn.rnp_output_destroy)
#define rnp_output_finish (kluis_rnp_fn.rnp_output_finish)
#define rnp_output_memory_get_buf (kluis_rnp_fn.rnp_output_memory_get_buf)
#define rnp_output_to_callback (kluis_rnp_fn.rnp_output_to_callback)
#define rnp_output_to_memory (kluis_rnp_fn.rnp_output_to_memory)
#define rnp_result_to_string (kluis_rnp_fn.rnp_result_to_string)
#define rnp_save_keys (kluis_rnp_fn.rnp_save_keys)
#define rnp_signature_get_creation (kluis_rnp_fn.rnp_signature_get_creation)
#define rnp_signature_get_keyid (kluis_rnp_fn.rnp_signature_get_keyid)
#define rnp_signature_handle_destroy (kluis_rnp_fn.rnp_signature_handle_destroy)
#endif

#endif
