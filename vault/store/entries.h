/*
 * entries.h - reading a whole dossier at once, for the klant's rights: inzage (P10) and
 * portability (P12). One signed access record covers the whole read (purpose `inzage`,
 * `export` or `register`), written once everything it covers was decrypted and matched its
 * commitment, before any of it is delivered (invariant 6): a failed read leaves no record.
 */
#ifndef KLUIS_ENTRIES_H
#define KLUIS_ENTRIES_H

#include "vault/store/vault.h"

typedef struct {
	char id[KLUIS_ENTRY_ID_LEN + 1];
	char action[16];          /* add, statement, correct, consent */
	char kind[24];
	char role[24];            /* who added it */
	char fpr[41];
	int64_t time;
	char commit[GIT_OID_HEXSZ + 1];
	bool erased;
	char supersedes[KLUIS_ENTRY_ID_LEN + 1];   /* this entry corrects that one */
	char superseded_by[KLUIS_ENTRY_ID_LEN + 1]; /* a later correction of this one */
	kluis_buf meta;           /* decrypted metadata JSON (secret; empty when erased) */
} kluis_entry_info;

typedef struct {
	char entry[KLUIS_ENTRY_ID_LEN + 1];
	int64_t time;
	char fpr[41];
	char commit[GIT_OID_HEXSZ + 1];
	bool current;             /* false once the entry was corrected after the approval */
} kluis_approval_info;

typedef struct {
	kluis_entry_info *entries;
	size_t n;
	kluis_approval_info *approvals;
	size_t napprovals;
	kluis_event *events;      /* the whole history, reads included (kluis_history) */
	size_t nevents;
	kluis_buf info;           /* decrypted dossier info JSON (secret) */
} kluis_dossier_contents;

/*
 * Decrypt the info and every entry's metadata, then log one read with `purpose` (the events
 * then include it). purpose NULL: nothing is logged, for a caller that decrypts more (the
 * bodies) and records the read itself once that succeeded (export).
 */
int kluis_dossier_read_all(kluis_dossier *d, const char *purpose, kluis_dossier_contents *out);
void kluis_dossier_contents_dispose(kluis_dossier_contents *c);

/*
 * Decrypt one entry's body into fd (fd >= 0) or else the secret buffer out, without a new
 * access record (the caller records the read once it succeeded). meta is the entry's decrypted metadata (its
 * body_salt); the body is checked against its commitment as it streams: KLUIS_EVERIFY at
 * the end when it does not match, the bytes already written to fd for the caller to discard.
 */
int kluis_entry_body_read(kluis_dossier *d, const char *entry_id, const kluis_buf *meta, int fd, kluis_buf *out);

#endif
