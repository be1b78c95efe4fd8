/*
 * vcache.h - the verified-state cache that makes re-verification incremental.
 *
 * After a verification with no findings kluis records, per dossier, the head and the read-log
 * head it verified and when. The next run checks only what came after, plus every object file
 * changed since (see verify.c). The cache lives in the verifier's own directory
 * ($XDG_CACHE_HOME/kluis, else ~/.cache/kluis; 0700), not in the vault, and carries an HMAC
 * under a key only the verifier can read, so someone who can write the vault cannot forge it;
 * a cache that does not check out is ignored (full verification).
 */
#ifndef KLUIS_VCACHE_H
#define KLUIS_VCACHE_H

#include "verify.h"

typedef struct {
	git_oid head;
	git_oid access;          /* zero when there was no read log */
	unsigned long long seq;
	int64_t time;            /* when that verification started */
} kluis_vcache;

/* The cache file path for a dossier (malloc'd), or NULL when there is no cache directory. */
char *kluis_vcache_key(const char *vault_root, const char *id);
int kluis_vcache_load(const char *key, kluis_vcache *c, const kluis_verify_opts *opts);
int kluis_vcache_store(const char *key, const kluis_vcache *c, const kluis_verify_opts *opts);

#endif
