/*
 * vault.h - the kluis library's public API: a vault of dossiers, its entries, the history.
 *
 * The library does the work and knows nothing of the terminal: it never prints, prompts or
 * exits. Every function returns 0 or a negative KLUIS_E* code with kluis_error_last() set.
 * Layout and formats: docs/DESIGN.md.
 */
#ifndef KLUIS_VAULT_H
#define KLUIS_VAULT_H

#include "vault/base/error.h"
#include "vault/pgp/pgp.h"
#include "vault/git/repo.h"
#include "vault/base/util.h"
#include "keys/roles.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct kluis_vault kluis_vault;
typedef struct kluis_dossier kluis_dossier;

#define KLUIS_ENTRY_ID_LEN 21

/* ---- vault ---- */

enum {
	KLUIS_VAULT_CREATE = 1 << 0, /* make the vault directory if it does not exist */
	KLUIS_VAULT_SIGN = 1 << 1,   /* the command will sign: resolve the actor's key early */
	KLUIS_VAULT_PUBLIC = 1 << 2, /* the command handles public keys only, no secret (verify) */
};
/* Open the vault at dir (0700). `as` is --as or NULL; flags KLUIS_VAULT_*. */
int kluis_vault_open(kluis_vault **out, const char *dir, const char *as, unsigned flags);
void kluis_vault_free(kluis_vault *v);
const char *kluis_vault_root(const kluis_vault *v);
/* The actor's primary fingerprint (resolved once, see keys/actor.h). */
int kluis_vault_actor(kluis_vault *v, const char **fpr);
/*
 * Start resolving the actor's signing key now: gpgme's engine check (`gpg --version`, waited
 * for) and the key listing's gpg process, which runs on while the command does its own work
 * and is read when the first commit is signed (crypto.c). Optional.
 */
int kluis_vault_prepare_signing(kluis_vault *v);
/* The public keyring (GNUPGHOME's), loaded once. */
int kluis_vault_keyring(kluis_vault *v, kluis_keyring **kr);
/* Trust root fingerprints from kluis.conf (may be empty). */
int kluis_vault_trust(kluis_vault *v, const char *const **fprs, size_t *n);
/* Record a trust root fingerprint if the vault has none yet. */
int kluis_vault_trust_init(kluis_vault *v, const char *fpr);
/*
 * A new, empty work directory VAULT/tmp/<what>-<16 hex> (0700) for transfer, import, pull
 * and verify --bundle: it only ever holds ciphertext and metadata, never plaintext, and the
 * caller removes it on every path. It is locked (workdir.c) until the vault is freed; one
 * whose process died is removed when the vault is next opened. *out is its malloc'd path.
 */
int kluis_vault_workdir(kluis_vault *v, const char *what, char **out);
/* Ids of the dossiers in the vault, sorted (malloc'd strings). */
int kluis_vault_dossier_ids(kluis_vault *v, char ***ids, size_t *n);

/* ---- dossier ---- */

typedef struct {
	const char *id;
	const char *klant, *medewerker, *directie, *opdrachtgever; /* fingerprints */
	const char *traject;      /* optional, encrypted */
	int retention_years;      /* 0: default (2, P13.2) */
	const char *trust;        /* --trust FPR or NULL */
	const char *vertegenwoordiger; /* optional: the klant's legal representative (P4) */
	const char *birth_date;   /* optional YYYY-MM-DD, encrypted: under 16, consent is the
	                           * vertegenwoordiger's (P4.1) */
	bool represented;         /* under curatele or with a mentor: consent is the
	                           * vertegenwoordiger's whatever the age (P4.1) */
} kluis_init_opts;

int kluis_dossier_init(kluis_vault *v, const kluis_init_opts *opts, git_oid *commit_out);
int kluis_dossier_open(kluis_dossier **out, kluis_vault *v, const char *id);

/* Whether `kind` is a kind of entry kluis writes (note, contact, ..., statement, consent). */
bool kluis_entry_kind_known(const char *kind);
void kluis_dossier_free(kluis_dossier *d);
const char *kluis_dossier_id(const kluis_dossier *d);
git_repository *kluis_dossier_repo(kluis_dossier *d);
const kluis_roles *kluis_dossier_roles(const kluis_dossier *d);

typedef struct {
	char state[16];          /* open, closed */
	int64_t created;
	int64_t last_change;
	int64_t closed;          /* 0 while open */
	int retention_years;
	size_t entries;
	git_oid head;
} kluis_dossier_status;

int kluis_dossier_status_get(kluis_dossier *d, kluis_dossier_status *st);
/*
 * Entry counts by the id of a dossier's entries/ tree, of which a count is a pure function:
 * `known` sorted by tree (kluis_entry_memo_find), `seen` what kluis_dossier_summary counted or
 * found this run, `misses` how many it had to count itself. The caller keeps it (lifecycle.c,
 * under the verifier's HMAC key) so a list over thousands reads each entries/ tree once.
 */
typedef struct {
	git_oid tree;
	size_t n;
} kluis_entry_count;
typedef struct {
	kluis_entry_count *known, *seen;
	size_t nknown, nseen, capseen, misses;
} kluis_entry_memo;
/* The same status of dossier `id` as its head says now, without opening the dossier the
 * general way (summary.c: for list and retention over thousands); entries counted only when
 * `count`, through `memo` when it is not NULL. */
int kluis_dossier_summary(kluis_vault *v, const char *id, bool count, kluis_entry_memo *memo, kluis_dossier_status *st);
void kluis_entry_memo_sort(kluis_entry_count *v, size_t n);

/* ---- entries ---- */

typedef struct {
	const char *kind;     /* note, contact, ... (NULL: note for text, document for files) */
	const char *origin;   /* W5a: medewerker, klant, opdrachtgever, derde[:who] */
	const char *basis;    /* P6.4: consent, contract, legal, vital, interest */
	const char *special;  /* P8 category or NULL */
	const char *title;
	/* exactly one source: */
	const char *text;     /* -m TEXT */
	size_t text_len;
	const char *path;     /* --file PATH */
	int fd;               /* -: standard input (fd >= 0), else -1 */
	/* set by the commands built on add (correct, consent), not by users directly: */
	const char *supersedes;   /* correct: the entry this one corrects (P11.1) */
	const char *extra_meta;   /* a JSON object merged into the encrypted metadata */
	const char *extra_trailers; /* "Key: value\n" lines for the commit (ids and codes only) */
} kluis_entry_input;

/* Progress of long work: in `phase` (a few words: "writing the archive"), bytes done of total
 * (0 when unknown). A phase ends with done == total; the next phase starts again from 0. */
typedef void (*kluis_progress_fn)(void *ctx, const char *phase, uint64_t done, uint64_t total);

/*
 * Add entries in one signed commit (action add or statement). ids receives each new entry
 * id (array of n x [KLUIS_ENTRY_ID_LEN+1]). Like every commit, it queues an event for the
 * vault's hooks (hooks/event.h).
 */
int kluis_entry_add(kluis_dossier *d, kluis_action action, const kluis_entry_input *in, size_t n,
		    char (*ids)[KLUIS_ENTRY_ID_LEN + 1],
		    kluis_progress_fn progress, void *progress_ctx);

/* Validate the fields of an input (also done by _add); for early, precise usage errors. */
int kluis_entry_input_check(const kluis_entry_input *in);

/*
 * Decrypt one entry. The metadata (JSON) goes into *meta (secret buffer); the body is written
 * to body_fd when >= 0, else into *body (secret buffer). Both are checked against their signed
 * commitments (commitment.h): a mismatch is KLUIS_EVERIFY.
 *
 * The read is recorded (kluis_access_record) only once the entry was decrypted, so a refused
 * decryption (a key the entry is withheld from) logs nothing, and before any plaintext
 * reaches the user:
 *   - body_live false (a buffer, or a temporary file the caller gives its name only on
 *     success): after the whole entry decrypted and matched; on any failure nothing is
 *     recorded and the caller discards what was written to body_fd;
 *   - body_live true (body_fd reaches the user as written, standard output): a body whose
 *     ciphertext is at most KLUIS_SHOW_HOLD bytes is decrypted into wiped memory, checked,
 *     recorded, then written; a larger one streams, recorded once its metadata matched and
 *     its first plaintext byte exists, before that byte is written (a body mismatch is then
 *     an error after the bytes).
 */
#define KLUIS_SHOW_HOLD (16u << 20)
int kluis_entry_show(kluis_dossier *d, const char *entry_id, const char *purpose, kluis_buf *meta,
		     int body_fd, bool body_live, kluis_buf *body);

/* ---- history ---- */

typedef struct {
	git_oid commit;
	int64_t time;
	char action[16];
	char role[24];
	char fpr[41];
	char kind[24];
	char purpose[48];
	char supersedes[KLUIS_ENTRY_ID_LEN + 1]; /* correct: the entry it corrects (Kluis-Supersedes) */
	char **entries;       /* entry ids this event names */
	size_t nentries;
	bool access;          /* from refs/kluis/access */
	git_oid head;         /* access records: the main commit that was read (Kluis-Head) */
	bool has_head;
} kluis_event;

/* Every event of the dossier from commit metadata, oldest first (no decryption). */
int kluis_history(kluis_dossier *d, kluis_event **events, size_t *n);
void kluis_events_free(kluis_event *events, size_t n);

/*
 * Append a signed access record (who, which entry or "-" for several, when, why) to
 * refs/kluis/access. Call it after what it names was decrypted and checked, and before any of
 * it is delivered: a record means a plaintext was produced (invariant 6). A record is never
 * dated before the one it follows: a previous record up to KLUIS_CLOCK_WAIT s ahead of this
 * clock is waited out, one further ahead is refused (KLUIS_ESTATE).
 */
int kluis_access_record(kluis_dossier *d, const char *entry_id, const char *purpose);

/* Whether a purpose code is acceptable: [a-z0-9-]{1,40}. */
bool kluis_purpose_valid(const char *purpose);

#endif
