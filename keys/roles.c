/*
 * roles.c - the roles file and the action table (see roles.h).
 */
#include "keys/roles.h"
#include "vault/base/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	unsigned role;
	const char *name;
} role_names[] = {
	{ KLUIS_ROLE_KLANT, "klant" },
	{ KLUIS_ROLE_MEDEWERKER, "medewerker" },
	{ KLUIS_ROLE_DIRECTIE, "directie" },
	{ KLUIS_ROLE_OPDRACHTGEVER, "opdrachtgever" },
	{ KLUIS_ROLE_VERTEGENWOORDIGER, "vertegenwoordiger" },
	{ KLUIS_ROLE_AUDITOR, "auditor" },
};

/* SPEC "Commands", "who may"; statements and approvals are the klant's alone (W6b). */
static const struct {
	const char *name;
	unsigned roles;
} actions[KLUIS_ACT__COUNT] = {
	[KLUIS_ACT_INIT] = { "init", KLUIS_ROLE_DIRECTIE | KLUIS_ROLE_MEDEWERKER },
	[KLUIS_ACT_ADD] = { "add", KLUIS_ROLE_MEDEWERKER | KLUIS_ROLE_DIRECTIE | KLUIS_ROLE_KLANT }, /* the klant: requests only */
	[KLUIS_ACT_STATEMENT] = { "statement", KLUIS_ROLE_KLANT },
	[KLUIS_ACT_APPROVE] = { "approve", KLUIS_ROLE_KLANT },
	[KLUIS_ACT_CORRECT] = { "correct", KLUIS_ROLE_MEDEWERKER | KLUIS_ROLE_DIRECTIE },
	[KLUIS_ACT_ERASE] = { "erase", KLUIS_ROLE_DIRECTIE },
	[KLUIS_ACT_CONSENT] = { "consent", KLUIS_ROLE_KLANT | KLUIS_ROLE_VERTEGENWOORDIGER | KLUIS_ROLE_MEDEWERKER },
	[KLUIS_ACT_ROLES] = { "roles", KLUIS_ROLE_DIRECTIE },
	[KLUIS_ACT_REWRAP] = { "rewrap", KLUIS_ROLE_DIRECTIE },
	[KLUIS_ACT_CLOSE] = { "close", KLUIS_ROLE_MEDEWERKER | KLUIS_ROLE_DIRECTIE },
	[KLUIS_ACT_TRANSFER] = { "transfer", KLUIS_ROLE_DIRECTIE | KLUIS_ROLE_MEDEWERKER },
	[KLUIS_ACT_ACCESS] = { "access", KLUIS_ROLES_READING },
};

const char *kluis_role_name(unsigned role)
{
	size_t i;

	for (i = 0; i < sizeof(role_names) / sizeof(role_names[0]); i++)
		if (role_names[i].role == role)
			return role_names[i].name;
	return "?";
}

int kluis_role_parse(const char *name, unsigned *role)
{
	size_t i;

	for (i = 0; i < sizeof(role_names) / sizeof(role_names[0]); i++)
		if (strcmp(role_names[i].name, name) == 0) {
			*role = role_names[i].role;
			return 0;
		}
	return kluis_error_set(KLUIS_EINVAL, "unknown role '%s' (klant, medewerker, directie, opdrachtgever, vertegenwoordiger, auditor)", name);
}

const char *kluis_action_name(kluis_action a)
{
	return a < KLUIS_ACT__COUNT ? actions[a].name : "?";
}

int kluis_action_parse(const char *name, kluis_action *a)
{
	int i;

	for (i = 0; i < KLUIS_ACT__COUNT; i++)
		if (strcmp(actions[i].name, name) == 0) {
			*a = (kluis_action)i;
			return 0;
		}
	return kluis_error_set(KLUIS_EINVAL, "unknown action '%s'", name);
}

unsigned kluis_action_roles(kluis_action a)
{
	return a < KLUIS_ACT__COUNT ? actions[a].roles : 0;
}

void kluis_roles_mask_describe(unsigned mask, char *out, size_t outlen)
{
	size_t i, used = 0, count = 0, total = 0;

	for (i = 0; i < sizeof(role_names) / sizeof(role_names[0]); i++)
		total += (mask & role_names[i].role) != 0;
	out[0] = '\0';
	for (i = 0; i < sizeof(role_names) / sizeof(role_names[0]) && used < outlen; i++) {
		if (!(mask & role_names[i].role))
			continue;
		count++;
		used += (size_t)snprintf(out + used, outlen - used, "%s%s",
					 count == 1 ? "" : count == total ? " or " : ", ", role_names[i].name);
	}
}

static int binding_cmp(const void *a, const void *b)
{
	const kluis_role_binding *x = a, *y = b;

	if (x->role != y->role)
		return x->role < y->role ? -1 : 1;
	return strcmp(x->fpr, y->fpr);
}

int kluis_roles_add(kluis_roles *r, unsigned role, const char *fpr)
{
	kluis_role_binding *grown;
	char norm[41];
	size_t i;

	if (!kluis_fpr_normalize(fpr, norm))
		return kluis_error_set(KLUIS_EINVAL, "'%s' is not a 40-digit key fingerprint", fpr);
	for (i = 0; i < r->n; i++)
		if (r->v[i].role == role && strcmp(r->v[i].fpr, norm) == 0)
			return kluis_error_set(KLUIS_EEXISTS, "%s already holds the role %s", norm, kluis_role_name(role));
	grown = realloc(r->v, (r->n + 1) * sizeof(*grown));
	if (!grown)
		return kluis_error_set(KLUIS_EGENERIC, "out of memory");
	r->v = grown;
	r->v[r->n].role = role;
	memcpy(r->v[r->n].fpr, norm, sizeof(norm));
	r->n++;
	qsort(r->v, r->n, sizeof(*r->v), binding_cmp);
	return 0;
}

int kluis_roles_remove(kluis_roles *r, const char *fpr)
{
	char norm[41];
	size_t i, j = 0;

	if (!kluis_fpr_normalize(fpr, norm))
		return kluis_error_set(KLUIS_EINVAL, "'%s' is not a 40-digit key fingerprint", fpr);
	for (i = 0; i < r->n; i++)
		if (strcmp(r->v[i].fpr, norm) != 0)
			r->v[j++] = r->v[i];
	if (j == r->n)
		return kluis_error_set(KLUIS_ENOTFOUND, "%s holds no role in this dossier", norm);
	r->n = j;
	return 0;
}

int kluis_roles_parse(kluis_roles *out, const char *text, size_t len)
{
	kluis_roles r = { NULL, 0 };
	char line[256], name[64], fpr[128];
	size_t pos = 0, lineno = 0;
	unsigned role = 0; /* set by kluis_role_parse; gcc -O2 cannot see it (maybe-uninitialized) */
	int err = 0;

	while (pos < len) {
		size_t end = pos, l;
		while (end < len && text[end] != '\n')
			end++;
		l = end - pos;
		lineno++;
		if (l >= sizeof(line)) {
			err = kluis_error_set(KLUIS_EVERIFY, "roles file: line %zu too long", lineno);
			goto cleanup;
		}
		memcpy(line, text + pos, l);
		line[l] = '\0';
		pos = end + 1;
		if (l == 0)
			continue;
		if (sscanf(line, "%63s %127s", name, fpr) != 2) {
			err = kluis_error_set(KLUIS_EVERIFY, "roles file: line %zu is not 'role FPR'", lineno);
			goto cleanup;
		}
		if ((err = kluis_role_parse(name, &role)) < 0 || (err = kluis_roles_add(&r, role, fpr)) < 0) {
			err = kluis_error_set(KLUIS_EVERIFY, "roles file: line %zu: %s", lineno, kluis_error_last());
			goto cleanup;
		}
	}
	*out = r;
	r.v = NULL;
cleanup:
	free(r.v);
	return err;
}

int kluis_roles_format(const kluis_roles *r, kluis_buf *out)
{
	size_t i;
	int err;

	for (i = 0; i < r->n; i++)
		if ((err = kluis_buf_printf(out, "%s %s\n", kluis_role_name(r->v[i].role), r->v[i].fpr)) < 0)
			return err;
	return kluis_buf_cstr(out);
}

void kluis_roles_dispose(kluis_roles *r)
{
	if (!r)
		return;
	free(r->v);
	r->v = NULL;
	r->n = 0;
}

int kluis_roles_copy(kluis_roles *dst, const kluis_roles *src)
{
	dst->n = 0;
	dst->v = NULL;
	if (!src->n)
		return 0;
	dst->v = malloc(src->n * sizeof(*dst->v));
	if (!dst->v)
		return kluis_error_set(KLUIS_EGENERIC, "out of memory");
	memcpy(dst->v, src->v, src->n * sizeof(*dst->v));
	dst->n = src->n;
	return 0;
}

int kluis_roles_validate(const kluis_roles *r)
{
	unsigned all = 0;
	size_t i;

	for (i = 0; i < r->n; i++) {
		all |= r->v[i].role;
		if (r->v[i].role == KLUIS_ROLE_VERTEGENWOORDIGER && (kluis_roles_of(r, r->v[i].fpr) & KLUIS_ROLE_KLANT))
			return kluis_error_set(KLUIS_EINVAL, "the vertegenwoordiger must be another key than the klant's: a klant cannot "
							     "consent for themselves (P4.1)");
	}
	/* separation of duties: one key, one role (a klant who is also medewerker could add
	 * entries about themselves, a directie who is also klant approve its own plan) */
	for (i = 0; i < r->n; i++)
		if (kluis_roles_of(r, r->v[i].fpr) != r->v[i].role)
			return kluis_error_set(KLUIS_EINVAL, "key %s would hold two roles; one key holds one role in a dossier", r->v[i].fpr);
	if (!(all & KLUIS_ROLE_KLANT) || !(all & KLUIS_ROLE_DIRECTIE))
		return kluis_error_set(KLUIS_EINVAL, "a dossier needs a klant and a directie; add the new key before removing the old one");
	return 0;
}

unsigned kluis_roles_of(const kluis_roles *r, const char *fpr)
{
	unsigned mask = 0;
	size_t i;

	for (i = 0; i < r->n; i++)
		if (strcmp(r->v[i].fpr, fpr) == 0)
			mask |= r->v[i].role;
	return mask;
}

int kluis_roles_keys(const kluis_roles *r, unsigned mask, const char ***out, size_t *n)
{
	const char **list;
	size_t i, j, count = 0;

	*out = NULL;
	*n = 0;
	list = calloc(r->n + 1, sizeof(*list));
	if (!list)
		return kluis_error_set(KLUIS_EGENERIC, "out of memory");
	for (i = 0; i < r->n; i++) {
		if (!(r->v[i].role & mask))
			continue;
		for (j = 0; j < count; j++)
			if (strcmp(list[j], r->v[i].fpr) == 0)
				break;
		if (j == count)
			list[count++] = r->v[i].fpr;
	}
	*out = list;
	*n = count;
	return 0;
}

static unsigned held_action_roles(kluis_action a)
{
	switch (a) {
	case KLUIS_ACT_ADD:
	case KLUIS_ACT_CORRECT:
	case KLUIS_ACT_ERASE:
		return KLUIS_ROLE_OPDRACHTGEVER;
	case KLUIS_ACT_STATEMENT:
		return KLUIS_ROLE_KLANT;
	case KLUIS_ACT_ACCESS:
		return KLUIS_ROLES_READING;
	default:
		return 0;
	}
}

static int authorize(const kluis_roles *r, const char *fpr, kluis_action a, unsigned allowed, unsigned *role_out);

int kluis_roles_authorize(const kluis_roles *r, const char *fpr, kluis_action a, unsigned *role_out)
{
	return authorize(r, fpr, a, kluis_action_roles(a), role_out);
}

int kluis_roles_authorize_held(const kluis_roles *r, const char *fpr, kluis_action a, unsigned *role_out)
{
	if (!held_action_roles(a))
		return kluis_error_set(KLUIS_EACCESS, "the dossier was transferred to the opdrachtgever, who holds it now: no %s any more "
						      "(requests, corrections, erasures and the klant's statements only)", kluis_action_name(a));
	return authorize(r, fpr, a, held_action_roles(a), role_out);
}

static int authorize(const kluis_roles *r, const char *fpr, kluis_action a, unsigned allowed, unsigned *role_out)
{
	unsigned held = kluis_roles_of(r, fpr), ok = held & allowed, bit;
	char who[128], has[128];

	/* the klant adds only his own requests: a key that also holds a staff role adds in that */
	if (a == KLUIS_ACT_ADD && (ok & ~KLUIS_ROLE_KLANT))
		ok &= ~KLUIS_ROLE_KLANT;
	for (bit = 1; bit <= KLUIS_ROLE_AUDITOR; bit <<= 1)
		if (ok & bit) {
			if (role_out)
				*role_out = bit;
			return 0;
		}
	kluis_roles_mask_describe(allowed, who, sizeof(who));
	if (!held)
		return kluis_error_set(KLUIS_EACCESS, "key %s holds no role in this dossier; only the %s may %s",
				       fpr, who, kluis_action_name(a));
	kluis_roles_mask_describe(held, has, sizeof(has));
	return kluis_error_set(KLUIS_EACCESS, "key %s is the %s in this dossier, and only the %s may %s", strlen(fpr) == 40 ? fpr + 24 : fpr, has, who,
			       kluis_action_name(a));
}
