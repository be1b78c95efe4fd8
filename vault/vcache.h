/*
 * vcache.h - the verified-state cache that makes re-verification incremental.
 *
 * After a verification with no findings kluis records, per dossier, the head and the read-log
 * head it verified and when, the state the next commits are judged by that is not in their
 * trees (the consent register's answers for the opdrachtgever, the entries withheld from the
 * opdrachtgever), a stamp of each directory of the object store and, per directory, a record of
 * its object files (see verify_incr.c). The next run checks only what came after, the names of
 * the old objects in every directory that changed, and a bounded slice of the old objects'
 * files (the scrub).
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

/*
 * A stamp of one object directory. objects/00 .. ff: inode and ctime, and the digest of its
 * object record; objects/pack: only count and digest, of its files' names and inodes.
 */
typedef struct {
	uint64_t ino;             /* 0: the directory did not exist */
	int64_t ctime_ns;         /* 0: look again next time (it was changing while recorded) */
	uint64_t count;           /* object files in the record (pack files in objects/pack) */
	char digest[65];          /* sha256 of the record file (of the pack files' names and inodes) */
} kluis_vcache_dir;

/* One loose object file as a clean run saw it. */
typedef struct {
	unsigned char id[GIT_OID_RAWSZ];
	uint64_t ino;
	int64_t ctime_ns;         /* its ctime when last seen good; 0: hash it at its next scrub */
} kluis_vcache_obj;

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
	unsigned scrub;           /* the object directory the next run's scrub starts at */
	kluis_vcache_dir dirs[KLUIS_VCACHE_NDIRS];
} kluis_vcache;

/* The cache file path for a dossier (malloc'd), or NULL when there is no cache directory. */
char *kluis_vcache_key(const char *vault_root, const char *id);
/* Load and check a cache; KLUIS_ENOTFOUND when there is none that checks out. */
int kluis_vcache_load(const char *key, kluis_vcache *c, const kluis_verify_opts *opts);
int kluis_vcache_store(const char *key, const kluis_vcache *c, const kluis_verify_opts *opts);
/*
 * The object record of directory objects/XX (dir 0 .. 255), in a file beside the cache file.
 * _store writes it and gives its digest, which the (MACed) cache file then holds; objs[0 ..
 * keep) are what the file already holds (as _load gave them), so only the rest is written.
 * _load reads it back, in the order stored, only if it has that digest, else KLUIS_ENOTFOUND.
 */
int kluis_vcache_objs_load(const char *key, size_t dir, const char *digest, kluis_vcache_obj **out, size_t *n);
int kluis_vcache_objs_store(const char *key, size_t dir, const kluis_vcache_obj *objs, size_t n, size_t keep, char digest[65]);
/*
 * A text kept MACed in the cache directory under `name` (letters, digits, '-'), as the
 * verifier keeps what it learnt of a keyring's keys (pgp.h, key facts). _load gives back
 * exactly what _store was given, or KLUIS_ENOTFOUND when the file is missing, torn, or its
 * MAC is not this cache's.
 */
int kluis_vcache_text_store(const char *name, const char *text, size_t len);
int kluis_vcache_text_load(const char *name, kluis_buf *text);
/* Free what load (or the caller) put in c; c stays usable (empty). */
void kluis_vcache_dispose(kluis_vcache *c);

#endif
