/*
 * ledger.h - the vault's ledger: a small signed git repository (VAULT/ledger.git) of lifecycle
 * events: dossiers created, pulled, transferred, imported, destroyed, and the opdrachtgever's
 * receipts of transfers. It holds no personal data in plaintext: ids, roles, fingerprints,
 * times, hashes and codes; free text (a destruction's reason) is a file of the signed tree
 * encrypted to the directie (the trust roots) and its writer.
 *
 * Every event is a signed commit (linear history, Kluis-Seq numbered from 1) whose message is
 * `<action> <dossier>`, an empty line and the event's trailers in a fixed order:
 * Kluis-Action, Kluis-Dossier, Kluis-Role, the action's own (docs/LEDGER.md), Kluis-Seq.
 * Files the event adds to the tree (never changes or removes):
 *   destroy  certificates/<dossier>-<stamp>.txt and .txt.asc (the verklaring van
 *            vernietiging, Archiefbesluit art. 8, and its detached signature by the commit's
 *            signer: stock `gpg --verify` checks it), trailer Kluis-Certificate; with a reason
 *            reasons/<dossier>-<stamp>.pgp, trailer Kluis-Reason
 *   receipt  receipts/<dossier>-<stamp>.txt and .txt.asc (the importer's signed receipt),
 *            trailer Kluis-Receipt
 *
 * Readers verify the whole ledger (kluis_ledger_read) strictly, like a dossier's replay: the
 * commit form byte for byte (replay_commit.c), the signature (librnp), the chain (parent,
 * seq + 1, time not before the parent's), the trailers against the action's schema, the tree
 * change, and the signer's authority (docs/LEDGER.md, "Who may sign what").
 */
#ifndef KLUIS_LEDGER_H
#define KLUIS_LEDGER_H

#include "vault/verify/verify.h"

typedef struct {
	char key[48];
	char value[160];
} kluis_ledger_field;

typedef struct {
	git_oid commit;
	int64_t time;
	char action[16];
	char dossier[65];
	char role[24];
	char fpr[41];
	kluis_ledger_field *fields;   /* every Kluis-* trailer */
	size_t nfields;
	char *certificate;            /* destroy: the verklaring van vernietiging */
	char *certificate_sig;        /* its armored detached signature */
	char *receipt;                /* receipt: the importer's receipt */
	char *receipt_sig;
	git_oid reason;               /* destroy: the encrypted reason's blob (zero: none) */
	bool valid;                   /* every check of this record passed */
	char *why;                    /* !valid: its first finding */
	bool receipted;               /* transfer: a valid receipt record of it follows */
} kluis_ledger_event;

/* What to append: the trailers of `fields` ("Key: value\n" lines, may be NULL) follow
 * Kluis-Role; the files below, when given, are added as described above. */
typedef struct {
	const char *action, *dossier, *role, *fields;
	const char *certificate;                /* signed here by the appender */
	const char *reason;                     /* encrypted here to the trust roots and the appender */
	const char *receipt, *receipt_sig;      /* stored as given */
	kluis_buf *certificate_sig_out;         /* not NULL: receives the certificate's signature */
} kluis_ledger_record;

int kluis_ledger_append_record(kluis_vault *v, const kluis_ledger_record *rec);

/* Append an event (the short form of kluis_ledger_append_record). */
int kluis_ledger_append(kluis_vault *v, const char *action, const char *dossier, const char *role,
			const char *fields, const char *certificate);

/*
 * Read and verify the whole ledger with the keyring of v and the trust roots `trust` (NULL:
 * the vault's). Every event (with dossier non-NULL only that dossier's) comes back, oldest
 * first, each with `valid` set; every problem is a finding in `rep` (which the caller
 * disposes). Returns <0 only when the ledger could not be read at all. The records' signatures
 * up to the last clean run's last record are taken from its kept verdict (replay_state.c),
 * unless `full`: then every signature is checked again.
 */
int kluis_ledger_read(kluis_vault *v, const char *const *trust, size_t ntrust, bool full, const char *dossier,
		      kluis_ledger_event **events, size_t *n, kluis_verify_report *rep);

/*
 * The events of verified records only: fails (KLUIS_EVERIFY, naming the first finding) when
 * the ledger does not verify, so retention and destruction never act on a forged record.
 */
int kluis_ledger_events(kluis_vault *v, const char *dossier, kluis_ledger_event **events, size_t *n);
void kluis_ledger_events_free(kluis_ledger_event *events, size_t n);
/* The value of field `key` of an event, or NULL. */
const char *kluis_ledger_field_get(const kluis_ledger_event *e, const char *key);

/*
 * `kluis verify --all`'s part: the ledger verified as above, and the vault's dossiers held
 * against it: each dossier in dossiers/ must have a create, import or pull record (and no
 * later destroy); each the ledger brought in and did not transfer or destroy must be there.
 * Findings go to rep (commit zero when they concern no record).
 */
int kluis_ledger_check_vault(kluis_vault *v, const char *const *trust, size_t ntrust, bool full, kluis_verify_report *rep, size_t *records);

/*
 * `kluis ledger receipt FILE`: verify the importer's receipt FILE (FILE.asc its detached
 * signature; format in docs/LEDGER.md) against the ledger's transfer record and append a
 * receipt record. dossier_out (65 bytes) names its dossier.
 */
int kluis_ledger_receipt(kluis_vault *v, const char *file, char dossier_out[65]);

/* Decrypt a destroy event's reason (the actor must be a trust root or its writer). */
int kluis_ledger_reason(kluis_vault *v, const kluis_ledger_event *e, kluis_buf *out);

#endif
