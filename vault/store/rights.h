/*
 * rights.h - the klant's rights and the register: consent (W5b, P4, P7.2, P8), approval of a
 * plan or report, correction (P11.1, through kluis_entry_add with `supersedes`), provable
 * erasure (P11.2, P13.4), and changing who may read (roles + rewrap).
 */
#ifndef KLUIS_RIGHTS_H
#define KLUIS_RIGHTS_H

#include <stdbool.h>

#include "vault/store/vault.h"

/*
 * The consent in force for `scope` (a P8 category or "algemeen"): the latest grant or
 * withdrawal wins. consent_id is empty when none is in force; *to_opdrachtgever tells whether
 * it lets that category reach the opdrachtgever. Decrypts the consent register (the actor
 * must be a reader: KLUIS_EACCESS otherwise) and records that read (purpose `toestemming`)
 * when there was a consent to decrypt; lock_held: the caller's transaction holds the
 * dossier lock.
 */
int kluis_consent_in_force(kluis_dossier *d, const char *scope, bool lock_held, char consent_id[KLUIS_ENTRY_ID_LEN + 1],
			   bool *to_opdrachtgever);

/* Record a grant or withdrawal of consent as a signed, encrypted register entry. */
/*
 * A withdrawal names the grant it ends: `grant_id`, or (NULL) the grant in force for `scope`,
 * found by decrypting the register (a reader's read, on record). The vertegenwoordiger, who
 * holds no reading role, withdraws by the grant's id (P4.2): `kluis log` shows it.
 */
int kluis_consent_record(kluis_dossier *d, bool grant, const char *grant_id, const char *purpose, const char *scope, bool to_opdrachtgever,
			 char id_out[KLUIS_ENTRY_ID_LEN + 1]);

/* The klant's signed approval of one entry, tied to the commit that added it. */
int kluis_entry_approve(kluis_dossier *d, const char *entry_id);

/*
 * Erase an entry (directie): its ciphertext leaves refs/kluis/content, the loose objects and
 * every pack; a signed `erase` record names the entry, the removed object ids and the legal
 * basis; the reason is stored encrypted. Copies already transferred or in backups stay.
 */
int kluis_entry_erase(kluis_dossier *d, const char *entry_id, const char *reason, const char *basis);
/* An erase's legal basis: P11.2 (the klant's request), P13.4 (end of retention) or W7; the
 * one rule for the writer, the CLI and the verifier (a free text here would be clear text in
 * the signed log that no later erase can remove). */
bool kluis_erase_basis_valid(const char *basis);

/*
 * After refs/kluis/content moved from old_content to new_content by another way than this
 * vault's own erase or rewrap (a pull that brought them in): remove from the object store
 * (loose files and packs) every ciphertext object the old content tree held and the new one
 * does not, as the erase or rewrap itself did where it was made. *purged tells how many.
 */
int kluis_content_purge_dropped(git_repository *repo, const git_oid *old_content, const git_oid *new_content, size_t *purged);

/*
 * Change the roles (directie): one signed `roles` commit, then one signed `rewrap` commit
 * that re-encrypts every entry (same plaintext) to the new readers. add_role 0 = no addition.
 */
int kluis_roles_change(kluis_dossier *d, unsigned add_role, const char *add_fpr, const char *remove_fpr, size_t *rewrapped);

#endif
