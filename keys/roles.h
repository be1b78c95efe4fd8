/*
 * roles.h - who may do what in a dossier.
 *
 * The dossier's `roles` file (part of every signed tree) binds primary-key fingerprints to
 * roles. It is the only authority for who may act (SPEC invariant 4) and for whom entries are
 * encrypted (invariant 1). The action table below is shared by the commands and the verifier,
 * so what kluis lets you do and what `kluis verify` accepts cannot drift apart.
 */
#ifndef KLUIS_ROLES_H
#define KLUIS_ROLES_H

#include "vault/base/util.h"

#include <stdbool.h>
#include <stddef.h>

enum {
	KLUIS_ROLE_KLANT = 1u << 0,
	KLUIS_ROLE_MEDEWERKER = 1u << 1,
	KLUIS_ROLE_DIRECTIE = 1u << 2,
	KLUIS_ROLE_OPDRACHTGEVER = 1u << 3,
	KLUIS_ROLE_VERTEGENWOORDIGER = 1u << 4,
	KLUIS_ROLE_AUDITOR = 1u << 5,
};
/* The roles that read a dossier (W6a); entries are encrypted to exactly these keys. */
#define KLUIS_ROLES_READING (KLUIS_ROLE_KLANT | KLUIS_ROLE_MEDEWERKER | KLUIS_ROLE_DIRECTIE | KLUIS_ROLE_OPDRACHTGEVER)
/* Held by the opdrachtgever after the transfer (W7), a dossier has left the organisation: what
 * is added then is encrypted to the klant and the opdrachtgever only. */
#define KLUIS_ROLES_READING_HELD (KLUIS_ROLE_KLANT | KLUIS_ROLE_OPDRACHTGEVER)

typedef enum {
	KLUIS_ACT_INIT,
	KLUIS_ACT_ADD,
	KLUIS_ACT_STATEMENT,
	KLUIS_ACT_APPROVE,
	KLUIS_ACT_CORRECT,
	KLUIS_ACT_ERASE,
	KLUIS_ACT_CONSENT,
	KLUIS_ACT_ROLES,
	KLUIS_ACT_REWRAP,
	KLUIS_ACT_CLOSE,
	KLUIS_ACT_TRANSFER,
	KLUIS_ACT_ACCESS,
	KLUIS_ACT__COUNT
} kluis_action;

typedef struct {
	unsigned role;
	char fpr[41];
} kluis_role_binding;

typedef struct {
	kluis_role_binding *v;
	size_t n;
} kluis_roles;

const char *kluis_role_name(unsigned role);
int kluis_role_parse(const char *name, unsigned *role);
const char *kluis_action_name(kluis_action a);
int kluis_action_parse(const char *name, kluis_action *a);
/* Roles allowed to perform an action. */
unsigned kluis_action_roles(kluis_action a);
/* "medewerker or directie" for error messages. */
void kluis_roles_mask_describe(unsigned mask, char *out, size_t outlen);

/* Parse a roles file; refuses unknown roles, bad fingerprints and duplicates. */
int kluis_roles_parse(kluis_roles *out, const char *text, size_t len);
/* Canonical text: sorted by role then fingerprint, one `role FPR` line each. */
int kluis_roles_format(const kluis_roles *r, kluis_buf *out);
int kluis_roles_add(kluis_roles *r, unsigned role, const char *fpr);
/* Remove every binding of fpr; KLUIS_ENOTFOUND if it held none. */
int kluis_roles_remove(kluis_roles *r, const char *fpr);
void kluis_roles_dispose(kluis_roles *r);
int kluis_roles_copy(kluis_roles *dst, const kluis_roles *src);

/*
 * The rules a dossier's roles must keep after any change: at least one klant and one
 * directie; the vertegenwoordiger is never the klant's own key (the klant cannot consent for
 * themselves, P4.1). KLUIS_EINVAL with the reason otherwise.
 */
int kluis_roles_validate(const kluis_roles *r);

/* Mask of the roles fpr holds. */
unsigned kluis_roles_of(const kluis_roles *r, const char *fpr);
/* Distinct fingerprints holding any role in `mask`, in file order; *out is malloc'd (pointers into r). */
int kluis_roles_keys(const kluis_roles *r, unsigned mask, const char ***out, size_t *n);

/*
 * May `fpr` perform action `a` under roles `r`? On success *role_out is the role it acts in
 * (the first allowed one it holds). Otherwise KLUIS_EACCESS with a message naming who may.
 */
int kluis_roles_authorize(const kluis_roles *r, const char *fpr, kluis_action a, unsigned *role_out);

/*
 * The same for a dossier held by the opdrachtgever after its transfer (W7: it keeps the
 * dossier ten years and answers the klant, P10-P13): the opdrachtgever records requests
 * (add), corrections and erasures; the klant may still add a statement (W6b); every reading
 * role may read; nothing else is done to a held dossier.
 */
int kluis_roles_authorize_held(const kluis_roles *r, const char *fpr, kluis_action a, unsigned *role_out);

#endif
