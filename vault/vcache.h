/*
 * vcache.h - the verified-state cache that makes re-verification incremental.
 *
 * After a verification with no findings kluis records, per dossier, the head and the read-log
 * head it verified and when, the state the next commits are judged by that is not in their
 * trees (the consent register's answers for the opdrachtgever, the entries withheld from the
 * opdrachtgever), and a stamp of each directory of the object store (see verify_incr.c). The
 * next run checks only what came after, plus the old objects in every directory that changed.
 * The cache lives in the verifier's own directory ($XDG_CACHE_HOME/kluis, else ~/.cache/kluis;
 * 0700), not in the vault, and carries an HMAC under a key only the verifier can read, so
 * someone who can write the vault cannot forge it; a cache that does not check out is ignored
 * (full verification).
 */
#ifndef KLUIS_VCACHE_H
#define KLUIS_VCACHE_H

#include "verify.h"

/* objects/00 .. objects/ff, then objects/pack */
#define KLUIS_VCACHE_NDIRS 257
#define KLUIS_VCACHE_PACK 256

typedef struct {
	uint64_t ino;             /* 0: the directory did not exist */
	int64_t ctime_ns;         /* 0: look again next time (it was changing while recorded) */
	int64_t since_ns;         /* the files counted are those with a ctime before this */
	uint64_t count;           /* how many */
	uint64_t sum;             /* sum of a hash of their names */
} kluis_vcache_dir;

typedef struct {
	git_oid head;
	git_oid access;           /* zero when there was no read log */
	unsigned long long seq;
	int64_t time;             /* when that verification started */
	char **consent_ids;       /* consent entries, and whether each reaches the opdrachtgever */
	bool *consent_opdr;
	size_t nconsents;
	char **restricted;        /* entries withheld from the opdrachtgever */
	size_t nrestricted;
	bool have_dirs;
	kluis_vcache_dir dirs[KLUIS_VCACHE_NDIRS];
} kluis_vcache;

/* The cache file path for a dossier (malloc'd), or NULL when there is no cache directory. */
char *kluis_vcache_key(const char *vault_root, const char *id);
/* Load and check a cache; KLUIS_ENOTFOUND when there is none that checks out. */
int kluis_vcache_load(const char *key, kluis_vcache *c, const kluis_verify_opts *opts);
int kluis_vcache_store(const char *key, const kluis_vcache *c, const kluis_verify_opts *opts);
/* Free what load (or the caller) put in c; c stays usable (empty). */
void kluis_vcache_dispose(kluis_vcache *c);

#endif
