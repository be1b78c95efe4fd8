/*
 * checkpoint.h - per-dossier checkpoints against rollback and rewrite (verification issue).
 *
 * A checkpoint is the dossier's head commit object itself, raw, with its OpenPGP signature:
 * it names the dossier (in the commit's tree and here), the head, the sequence number
 * (Kluis-Seq, signed) and the time, and it is signed by whoever wrote that commit, at no extra
 * gpg cost. Beside it, when the dossier has been read, the read log's newest record, raw and
 * signed by its reader, whose Kluis-Seq is the log's length: so a read log deleted or cut back
 * is caught like a rolled-back main. The vault keeps one per dossier in checkpoints/ID, rewritten after every write;
 * `kluis checkpoint ID --out FILE` hands a copy to a witness (the klant, the opdrachtgever),
 * and `kluis verify --witness FILE` checks the history against it: a head that does not
 * descend from the checkpoint's head is a rollback or a rewrite.
 */
#ifndef KLUIS_CHECKPOINT_H
#define KLUIS_CHECKPOINT_H

#include "vault/store/vault.h"
#include "vault/git/commitmsg.h"

typedef struct {
	char dossier[65];
	git_oid head;
	unsigned long long seq;
	int64_t time;
	kluis_buf raw;        /* the raw commit object (with its gpgsig header) */
	bool has_access;      /* the read log's newest record, signed by its reader */
	git_oid access;
	unsigned long long access_seq;
	kluis_buf access_raw;
} kluis_checkpoint;

/* Write VAULT/checkpoints/ID for `head` (atomically). */
int kluis_checkpoint_write(kluis_vault *v, const char *id, git_repository *repo, const git_oid *head);
/* Format the checkpoint of dossier d's current head into out (kluis checkpoint). */
int kluis_dossier_checkpoint(kluis_dossier *d, kluis_buf *out);
/* Format a checkpoint of `head` into out. */
int kluis_checkpoint_format(const char *id, git_repository *repo, const git_oid *head, kluis_buf *out);
/* Parse a checkpoint file; checks that the embedded commit hashes to `head`. */
int kluis_checkpoint_parse(kluis_checkpoint *cp, const char *text, size_t len);
/* Load VAULT/checkpoints/ID; KLUIS_ENOTFOUND when there is none. */
int kluis_checkpoint_load(kluis_vault *v, const char *id, kluis_checkpoint *cp);
void kluis_checkpoint_dispose(kluis_checkpoint *cp);

#endif
