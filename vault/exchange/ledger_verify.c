/*
 * ledger_verify.c - reading the vault's ledger and verifying every record strictly, like a
 * dossier's replay (see ledger.h, docs/LEDGER.md).
 *
 * Invariants: a record is valid only when its commit is exactly what
 * kluis_ledger_append_record writes (form byte for byte, one canonical signature armor, the
 * action's trailers in order, each value of its form), its signature verifies (librnp and
 * kluis's key policy) by the key its author line names, it is chained to the record before it
 * with seq + 1, its tree adds exactly the files its trailers name (whose signatures and
 * encryption are checked too), and its signer has the authority its action needs. Every
 * departure is a finding; reading goes on, so every bad record is shown as such.
 */
#include "vault/exchange/ledger.h"
#include "vault/store/internal.h"
#include "vault/exchange/ledger_internal.h"
#include "vault/verify/replay.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DOC (64 * 1024)

/* ---- the record schema ---- */

enum kind { K_DOSSIER, K_ROLE, K_FPR, K_SHA256, K_HEAD, K_UINT, K_DATE, K_TIME, K_GROUNDS, K_YESNO, K_CERT, K_REASON, K_RECEIPT, K_ACTION };

typedef struct {
	const char *key;
	enum kind kind;
	char mult; /* '1' once, '?' at most once, '*' any number */
} slot;

typedef struct {
	const char *action;
	unsigned roles;            /* the role names the record may carry */
	const slot *slots;         /* after Action, Dossier, Role; Seq follows */
} schema;

static const slot s_none[] = { { NULL, 0, 0 } };
static const slot s_transfer[] = {
	{ "Kluis-Opdrachtgever", K_FPR, '*' }, { "Kluis-Archive-Sha256", K_SHA256, '1' }, { "Kluis-Head", K_HEAD, '1' },
	{ "Kluis-Entries", K_UINT, '1' }, { NULL, 0, 0 },
};
static const slot s_import[] = {
	{ "Kluis-Archive-Sha256", K_SHA256, '1' }, { "Kluis-Head", K_HEAD, '1' }, { "Kluis-Exporter", K_FPR, '1' },
	{ "Kluis-Retention-Years", K_UINT, '1' }, { "Kluis-Retention-Until", K_DATE, '1' }, { NULL, 0, 0 },
};
/* a transfer's destroy (transfer.c) names the archive; `kluis destroy` says forced or not and
 * may have an encrypted reason */
static const slot s_destroy[] = {
	{ "Kluis-Archive-Sha256", K_SHA256, '?' }, { "Kluis-Grounds", K_GROUNDS, '1' }, { "Kluis-Forced", K_YESNO, '?' },
	{ "Kluis-Certificate", K_CERT, '1' }, { "Kluis-Reason", K_REASON, '?' }, { NULL, 0, 0 },
};
static const slot s_receipt[] = {
	{ "Kluis-Archive-Sha256", K_SHA256, '1' }, { "Kluis-Importer", K_FPR, '1' }, { "Kluis-Received", K_TIME, '1' },
	{ "Kluis-Receipt", K_RECEIPT, '1' }, { NULL, 0, 0 },
};

#define R_DIR KLUIS_ROLE_DIRECTIE
#define R_MED KLUIS_ROLE_MEDEWERKER
#define R_OPD KLUIS_ROLE_OPDRACHTGEVER

static const schema schemas[] = {
	{ "create", R_DIR | R_MED, s_none },
	{ "pull", R_DIR | R_MED, s_none },
	{ "transfer", R_DIR | R_MED, s_transfer },
	{ "import", R_OPD, s_import },
	{ "destroy", R_DIR | R_MED | R_OPD, s_destroy },
	{ "receipt", R_DIR | R_MED, s_receipt },
};

static bool all_of(const char *s, size_t n, const char *set)
{
	size_t i;

	if (strlen(s) != n)
		return false;
	for (i = 0; i < n; i++)
		if (!strchr(set, s[i]))
			return false;
	return true;
}

static bool iso_time(const char *s)
{
	int64_t t;
	char back[21];

	if (strlen(s) != 20 || kluis_time_parse(s, &t) < 0)
		return false;
	kluis_time_iso(t, back);
	return strcmp(back, s) == 0;
}

/* a file the record adds: "<dir>/<dossier>-<16-char stamp><ext>" */
static bool file_path_ok(const char *s, const char *dir, const char *dossier, const char *ext)
{
	size_t dl = strlen(dir), il = strlen(dossier), el = strlen(ext);
	char stamp[17];

	if (strlen(s) != dl + 1 + il + 1 + 16 + el || strncmp(s, dir, dl) != 0 || s[dl] != '/' ||
	    strncmp(s + dl + 1, dossier, il) != 0 || s[dl + 1 + il] != '-' || strcmp(s + dl + 1 + il + 1 + 16, ext) != 0)
		return false;
	memcpy(stamp, s + dl + 1 + il + 1, 16);
	stamp[16] = '\0';
	return all_of(stamp, 16, "0123456789TZ") && stamp[8] == 'T' && stamp[15] == 'Z';
}

static bool value_ok(enum kind k, const char *v, const char *dossier)
{
	unsigned role;

	switch (k) {
	case K_DOSSIER: return kluis_id_valid(v);
	case K_ROLE: return kluis_role_parse(v, &role) == 0;
	case K_FPR: return all_of(v, 40, "0123456789ABCDEF");
	case K_SHA256: return all_of(v, 64, "0123456789abcdef");
	case K_HEAD: return all_of(v, 40, "0123456789abcdef");
	case K_UINT: return *v && strlen(v) <= 18 && all_of(v, strlen(v), "0123456789") && (v[0] != '0' || !v[1]);
	case K_DATE: { int64_t t; return strlen(v) == 10 && kluis_time_parse(v, &t) == 0; }
	case K_TIME: return iso_time(v);
	case K_GROUNDS: return strcmp(v, "P13.2") == 0 || strcmp(v, "W7") == 0;
	case K_YESNO: return strcmp(v, "yes") == 0 || strcmp(v, "no") == 0;
	case K_CERT: return file_path_ok(v, "certificates", dossier, ".txt");
	case K_REASON: return file_path_ok(v, "reasons", dossier, ".pgp");
	case K_RECEIPT: return file_path_ok(v, "receipts", dossier, ".txt");
	case K_ACTION: return true;
	}
	return false;
}

/* NULL, or what is wrong with the trailers against the action's schema. */
static const char *check_schema(const rcommit *c, const schema **out, char *why, size_t whylen)
{
	const schema *s = NULL;
	const char *dossier;
	size_t i, t = 3, k;

	*out = NULL;
	if (c->ntr < 4 || strcmp(c->tr[0].key, "Kluis-Action") || strcmp(c->tr[1].key, "Kluis-Dossier") || strcmp(c->tr[2].key, "Kluis-Role"))
		return "the trailers do not start with Kluis-Action, Kluis-Dossier, Kluis-Role";
	for (i = 0; i < sizeof(schemas) / sizeof(schemas[0]); i++)
		if (strcmp(schemas[i].action, c->tr[0].value) == 0)
			s = &schemas[i];
	if (!s)
		return "unknown action";
	dossier = c->tr[1].value;
	if (!kluis_id_valid(dossier))
		return "Kluis-Dossier is not a dossier id";
	if (strcmp(c->tr[2].value, c->role_name) != 0)
		return "Kluis-Role is not the role the author line names";
	{
		unsigned role = 0;
		if (kluis_role_parse(c->role_name, &role) < 0 || !(role & s->roles))
			return "this role does not record this action";
	}
	{
		char subject[96];
		snprintf(subject, sizeof(subject), "%s %s", s->action, dossier);
		if (strcmp(c->subject, subject) != 0)
			return "the subject is not `<action> <dossier>`";
	}
	for (k = 0; s->slots[k].key; k++) {
		size_t seen = 0;
		while (t < c->ntr && strcmp(c->tr[t].key, s->slots[k].key) == 0) {
			if (!value_ok(s->slots[k].kind, c->tr[t].value, dossier)) {
				snprintf(why, whylen, "%s: not a valid value", c->tr[t].key);
				return why;
			}
			seen++;
			t++;
		}
		if ((s->slots[k].mult == '1' && seen != 1) || (s->slots[k].mult == '?' && seen > 1)) {
			snprintf(why, whylen, "%s must appear %s", s->slots[k].key, s->slots[k].mult == '1' ? "exactly once" : "at most once");
			return why;
		}
	}
	if (t != c->ntr - 1 || strcmp(c->tr[t].key, "Kluis-Seq") != 0) {
		snprintf(why, whylen, "trailer %s is not one this action writes there", t < c->ntr ? c->tr[t].key : "?");
		return why;
	}
	if (!value_ok(K_UINT, c->tr[t].value, dossier))
		return "Kluis-Seq is not a number";
	*out = s;
	return NULL;
}

/* ---- the receipt document ---- */

const char *kluis_ledger_parse_receipt(const char *text, size_t len, kluis_receipt *r)
{
	char buf[1025];
	int used = -1;

	memset(r, 0, sizeof(*r));
	if (len > 1024 || memchr(text, '\0', len))
		return "not a kluis receipt (too long, or binary)";
	/* sscanf reads to a NUL: parse a terminated copy, never a byte past len (fuzz/fuzz_receipt.c) */
	memcpy(buf, text, len);
	buf[len] = '\0';
	if (sscanf(buf, "kluis-receipt 1\ndossier %64[a-z0-9-]\narchive-sha256 %64[0-9a-f]\nhead %40[0-9a-f]\nimporter %40[0-9A-F]\nreceived %20[0-9TZ:-]\n%n", r->dossier, r->sha, r->head, r->importer, r->received, &used) != 5 || used < 0 || (size_t)used != len)
		return "not a kluis receipt: want exactly the lines kluis-receipt 1, dossier, archive-sha256, head, importer, received";
	if (!kluis_id_valid(r->dossier) || strlen(r->sha) != 64 || strlen(r->head) != 40 || strlen(r->importer) != 40 || !iso_time(r->received))
		return "a line of the receipt has a malformed value";
	/* the exact bytes: re-render and compare (no leading zeros, spaces or other forms) */
	{
		char back[400];
		snprintf(back, sizeof(back), "kluis-receipt 1\ndossier %s\narchive-sha256 %s\nhead %s\nimporter %s\nreceived %s\n", r->dossier, r->sha,
			 r->head, r->importer, r->received);
		if (strlen(back) != len || memcmp(back, text, len) != 0)
			return "the receipt is not in its exact form";
	}
	return NULL;
}


/* ---- reading and verifying ---- */

void kluis_ledger_events_free(kluis_ledger_event *events, size_t n)
{
	size_t i;

	if (!events)
		return;
	for (i = 0; i < n; i++) {
		free(events[i].fields);
		free(events[i].certificate);
		free(events[i].certificate_sig);
		free(events[i].receipt);
		free(events[i].receipt_sig);
		free(events[i].why);
	}
	free(events);
}

const char *kluis_ledger_field_get(const kluis_ledger_event *e, const char *key)
{
	size_t i;

	for (i = 0; i < e->nfields; i++)
		if (strcmp(e->fields[i].key, key) == 0)
			return e->fields[i].value;
	return NULL;
}

bool kluis_ledger_field_has(const kluis_ledger_event *e, const char *key, const char *value)
{
	size_t i;

	for (i = 0; i < e->nfields; i++)
		if (strcmp(e->fields[i].key, key) == 0 && strcmp(e->fields[i].value, value) == 0)
			return true;
	return false;
}

typedef struct {
	kluis_vault *v;
	git_repository *repo;
	replay r;
	const char *const *trust;
	size_t ntrust;
	kluis_ledger_event *ev;  /* every record so far, valid or not */
	size_t n;
} lctx;

static char *blob_text(git_repository *repo, git_tree *tree, const char *path, size_t *len)
{
	git_tree_entry *te = NULL;
	git_blob *b = NULL;
	char *s = NULL;

	if (git_tree_entry_bypath(&te, tree, path) == 0 && git_blob_lookup(&b, repo, git_tree_entry_id(te)) == 0 &&
	    git_blob_rawsize(b) <= MAX_DOC && !memchr(git_blob_rawcontent(b), '\0', (size_t)git_blob_rawsize(b))) {
		*len = (size_t)git_blob_rawsize(b);
		s = strndup(git_blob_rawcontent(b), *len);
	}
	git_blob_free(b);
	git_tree_entry_free(te);
	return s;
}

static bool blob_oid(git_tree *tree, const char *path, git_oid *out)
{
	git_tree_entry *te = NULL;
	bool ok = git_tree_entry_bypath(&te, tree, path) == 0 && git_tree_entry_type(te) == GIT_OBJECT_BLOB;

	if (ok)
		git_oid_cpy(out, git_tree_entry_id(te));
	git_tree_entry_free(te);
	return ok;
}

static const char *const dirs[] = { "certificates", "reasons", "receipts" };

/*
 * The tree may hold only the three directories of blobs; against the parent's it may only add
 * the files in `want` (each exactly once). NULL or what is wrong.
 */
static const char *check_tree(lctx *x, git_tree *pt, git_tree *t, char want[][160], size_t nwant, char *why, size_t whylen)
{
	size_t i, d, found = 0;

	for (i = 0; i < git_tree_entrycount(t); i++) {
		const git_tree_entry *e = git_tree_entry_byindex(t, i);
		bool known = false;
		for (d = 0; d < 3; d++)
			known |= strcmp(git_tree_entry_name(e), dirs[d]) == 0;
		if (!known || git_tree_entry_filemode(e) != GIT_FILEMODE_TREE) {
			snprintf(why, whylen, "the tree holds '%s', which kluis never writes", git_tree_entry_name(e));
			return why;
		}
	}
	for (d = 0; d < 3; d++) {
		git_tree_entry *te = NULL, *pe = NULL;
		git_tree *a = NULL, *b = NULL;
		size_t ia = 0, ib, na, nb;
		const char *bad = NULL;

		if (git_tree_entry_bypath(&te, t, dirs[d]) == 0)
			git_tree_lookup(&b, x->repo, git_tree_entry_id(te));
		if (pt && git_tree_entry_bypath(&pe, pt, dirs[d]) == 0)
			git_tree_lookup(&a, x->repo, git_tree_entry_id(pe));
		na = a ? git_tree_entrycount(a) : 0;
		nb = b ? git_tree_entrycount(b) : 0;
		if (te && !b)
			bad = "a directory of the tree is missing";
		if (pe && !a)
			bad = "a directory of the parent's tree is missing";
		for (ib = 0; !bad && ib < nb; ib++) {
			const git_tree_entry *eb = git_tree_entry_byindex(b, ib), *ea = ia < na ? git_tree_entry_byindex(a, ia) : NULL;
			char full[200];
			size_t w;
			bool ok = false;
			if (ea && strcmp(git_tree_entry_name(ea), git_tree_entry_name(eb)) == 0) {
				if (!git_oid_equal(git_tree_entry_id(ea), git_tree_entry_id(eb)) || git_tree_entry_filemode(ea) != git_tree_entry_filemode(eb))
					bad = "changes a file an earlier record added";
				ia++;
				continue;
			}
			if (ea && strcmp(git_tree_entry_name(ea), git_tree_entry_name(eb)) < 0) {
				bad = "removes a file an earlier record added";
				break;
			}
			snprintf(full, sizeof(full), "%s/%s", dirs[d], git_tree_entry_name(eb));
			for (w = 0; w < nwant; w++)
				if (strcmp(want[w], full) == 0)
					ok = true;
			if (!ok || git_tree_entry_filemode(eb) != GIT_FILEMODE_BLOB) {
				snprintf(why, whylen, "adds %s, which its trailers do not name", full);
				bad = why;
			}
			found++;
		}
		if (!bad && ia < na)
			bad = "removes a file an earlier record added";
		git_tree_free(a);
		git_tree_free(b);
		git_tree_entry_free(te);
		git_tree_entry_free(pe);
		if (bad)
			return bad;
	}
	if (found != nwant)
		return "a file its trailers name is not in its tree";
	return NULL;
}

/*
 * The roles `fpr` held in any version of the roles file along main's history up to `head`
 * (each distinct version parsed once): a pull or transfer stays authorised after its
 * signer's role was taken away later. The history itself is `kluis verify`'s to judge.
 */
static unsigned roles_held(git_repository *repo, const git_oid *head, const char *fpr)
{
	git_commit *c = NULL, *p = NULL;
	git_tree_entry *te = NULL;
	git_blob *b = NULL;
	git_oid *seen = NULL, *g;
	kluis_roles roles;
	size_t nseen = 0, i;
	unsigned held = 0;
	bool known;

	if (git_commit_lookup(&c, repo, head) < 0)
		return 0;
	for (;;) {
		git_tree *t = NULL;
		if (git_commit_tree(&t, c) == 0 && git_tree_entry_bypath(&te, t, "roles") == 0) {
			for (i = 0, known = false; i < nseen && !known; i++)
				known = git_oid_equal(&seen[i], git_tree_entry_id(te));
			if (!known && (g = realloc(seen, (nseen + 1) * sizeof(*g)))) {
				seen = g;
				git_oid_cpy(&seen[nseen++], git_tree_entry_id(te));
				memset(&roles, 0, sizeof(roles));
				if (git_blob_lookup(&b, repo, git_tree_entry_id(te)) == 0 &&
				    kluis_roles_parse(&roles, git_blob_rawcontent(b), (size_t)git_blob_rawsize(b)) == 0)
					held |= kluis_roles_of(&roles, fpr);
				kluis_roles_dispose(&roles);
				git_blob_free(b);
				b = NULL;
			}
			git_tree_entry_free(te);
			te = NULL;
		}
		git_tree_free(t);
		if (git_commit_parentcount(c) == 0 || git_commit_parent(&p, c, 0) < 0)
			break;
		git_commit_free(c);
		c = p;
		p = NULL;
	}
	kluis_error_clear();
	git_commit_free(c);
	free(seen);
	return held;
}

/*
 * Who may sign a record (docs/LEDGER.md): create only a trust root (the dossier's first commit
 * is one); every other action a trust root, or a key holding the record's role in the dossier:
 * by its roles files (any version) while it is in the vault, else by the ledger's own earlier valid records
 * (an opdrachtgever named by a transfer, the importer of an import; a receipt's recorder: the
 * transfer's signer). NULL when authorised, else why not; *unchecked when nothing left to
 * judge a medewerker's or directie's record of a dossier gone from the vault.
 */
static const char *authorise(lctx *x, const rcommit *c, const char *action, const char *dossier, bool *unchecked)
{
	kluis_dossier *d = NULL;
	unsigned role = 0, held;
	size_t i;

	*unchecked = false;
	kluis_role_parse(c->role_name, &role);
	if (kluis_strings_has(x->trust, x->ntrust, c->signer))
		return NULL;
	if (strcmp(action, "create") == 0)
		return "a create record not signed by a trust root (the directie)";
	if (strcmp(action, "receipt") == 0) {
		for (i = x->n; i-- > 0;)
			if (x->ev[i].valid && strcmp(x->ev[i].action, "transfer") == 0 && strcmp(x->ev[i].dossier, dossier) == 0 &&
			    strcmp(x->ev[i].fpr, c->signer) == 0)
				return NULL;
		return "a receipt recorded by neither a trust root nor the transfer's signer";
	}
	if (kluis_dossier_open(&d, x->v, dossier) == 0) {
		held = roles_held(d->repo, &d->head, c->signer);
		kluis_dossier_free(d);
		return held & role ? NULL : "signed by a key that never held this role in the dossier";
	}
	kluis_error_clear();
	if (role == KLUIS_ROLE_OPDRACHTGEVER) {
		for (i = 0; i < x->n; i++)
			if (x->ev[i].valid && strcmp(x->ev[i].dossier, dossier) == 0 &&
			    ((strcmp(x->ev[i].action, "transfer") == 0 && kluis_ledger_field_has(&x->ev[i], "Kluis-Opdrachtgever", c->signer)) ||
			     (strcmp(x->ev[i].action, "import") == 0 && strcmp(x->ev[i].fpr, c->signer) == 0)))
				return NULL;
		if (strcmp(action, "import") != 0)
			return "signed as opdrachtgever by a key the ledger does not show as the dossier's opdrachtgever";
	}
	*unchecked = true;
	return NULL;
}

/* The files of a record: load them and check their content. NULL or what is wrong. */
static const char *check_files(lctx *x, const rcommit *c, git_tree *t, kluis_ledger_event *e, char *why, size_t whylen)
{
	const char *p;
	char sigpath[200], signer[41];
	size_t len = 0, slen = 0;

	if ((p = kluis_rcommit_value(c, "Kluis-Certificate"))) {
		char want[96];
		snprintf(sigpath, sizeof(sigpath), "%s.asc", p);
		e->certificate = blob_text(x->repo, t, p, &len);
		e->certificate_sig = blob_text(x->repo, t, sigpath, &slen);
		if (!e->certificate || !e->certificate_sig)
			return "the certificate or its signature is unreadable";
		if (kluis_pgp_verify_detached(x->r.kr, e->certificate, len, e->certificate_sig, slen, signer, NULL) < 0) {
			snprintf(why, whylen, "the certificate's signature does not verify: %s", kluis_error_last());
			return why;
		}
		if (strcmp(signer, c->signer) != 0)
			return "the certificate is signed by another key than the record";
		snprintf(want, sizeof(want), "dossier %s\n", e->dossier);
		if (strncmp(e->certificate, "VERKLARING VAN VERNIETIGING", 27) != 0 || !strstr(e->certificate, want))
			return "the certificate is not a verklaring van vernietiging of this dossier";
	}
	if ((p = kluis_rcommit_value(c, "Kluis-Reason"))) {
		char **ids = NULL, **mine = NULL;
		size_t nids = 0, nmine = 0, i, j, k;
		git_blob *b = NULL;
		bool ok = blob_oid(t, p, &e->reason) && git_blob_lookup(&b, x->repo, &e->reason) == 0 &&
			  kluis_pgp_recipients(x->r.kr, git_blob_rawcontent(b), (size_t)git_blob_rawsize(b), &ids, &nids) == 0 && nids > 0;
		/* ciphertext to every trust root: no plaintext, and the directie can read it */
		for (i = 0; ok && i < x->ntrust; i++) {
			bool to = false;
			if (kluis_keyring_encryption_keyids(x->r.kr, x->trust[i], &mine, &nmine) == 0)
				for (j = 0; j < nmine; j++)
					for (k = 0; k < nids; k++)
						to |= strcmp(mine[j], ids[k]) == 0;
			kluis_pgp_ids_free(mine, nmine);
			mine = NULL;
			nmine = 0;
			ok = to;
		}
		kluis_pgp_ids_free(ids, nids);
		git_blob_free(b);
		if (!ok)
			return "the reason is not a message encrypted to the directie (the trust roots)";
	}
	if ((p = kluis_rcommit_value(c, "Kluis-Receipt"))) {
		kluis_receipt r;
		const char *bad;
		size_t i;
		bool matched = false;
		snprintf(sigpath, sizeof(sigpath), "%s.asc", p);
		e->receipt = blob_text(x->repo, t, p, &len);
		e->receipt_sig = blob_text(x->repo, t, sigpath, &slen);
		if (!e->receipt || !e->receipt_sig)
			return "the receipt or its signature is unreadable";
		if ((bad = kluis_ledger_parse_receipt(e->receipt, len, &r)))
			return bad;
		if (kluis_pgp_verify_detached(x->r.kr, e->receipt, len, e->receipt_sig, slen, signer, NULL) < 0) {
			snprintf(why, whylen, "the receipt's signature does not verify: %s", kluis_error_last());
			return why;
		}
		if (strcmp(signer, r.importer) != 0)
			return "the receipt is not signed by the importer it names";
		if (strcmp(r.dossier, e->dossier) || strcmp(r.sha, kluis_rcommit_value(c, "Kluis-Archive-Sha256")) ||
		    strcmp(r.importer, kluis_rcommit_value(c, "Kluis-Importer")) || strcmp(r.received, kluis_rcommit_value(c, "Kluis-Received")))
			return "the trailers do not match the receipt";
		for (i = 0; i < x->n; i++)
			if (x->ev[i].valid && strcmp(x->ev[i].action, "transfer") == 0 && strcmp(x->ev[i].dossier, r.dossier) == 0 &&
			    kluis_ledger_field_has(&x->ev[i], "Kluis-Archive-Sha256", r.sha) && kluis_ledger_field_has(&x->ev[i], "Kluis-Head", r.head) &&
			    kluis_ledger_field_has(&x->ev[i], "Kluis-Opdrachtgever", r.importer)) {
				matched = true;
				x->ev[i].receipted = true;
			}
		if (!matched)
			return "the receipt matches no transfer record (dossier, archive sha256, head, opdrachtgever)";
	}
	return NULL;
}

static int push_event(lctx *x, const rcommit *c)
{
	kluis_ledger_event *g = realloc(x->ev, (x->n + 1) * sizeof(*g)), *e;
	size_t i;

	if (!g)
		return kluis_error_set(KLUIS_EGENERIC, "out of memory");
	x->ev = g;
	e = &g[x->n++];
	memset(e, 0, sizeof(*e));
	git_oid_cpy(&e->commit, &c->oid);
	e->time = c->time;
	snprintf(e->fpr, sizeof(e->fpr), "%s", c->author_fpr);
	snprintf(e->role, sizeof(e->role), "%s", c->role_name);
	if (!(e->fields = calloc(c->ntr + 1, sizeof(*e->fields))))
		return kluis_error_set(KLUIS_EGENERIC, "out of memory");
	for (i = 0; i < c->ntr; i++) {
		snprintf(e->fields[i].key, sizeof(e->fields[i].key), "%s", c->tr[i].key);
		snprintf(e->fields[i].value, sizeof(e->fields[i].value), "%s", c->tr[i].value);
	}
	e->nfields = c->ntr;
	snprintf(e->action, sizeof(e->action), "%s", kluis_ledger_field_get(e, "Kluis-Action") ? kluis_ledger_field_get(e, "Kluis-Action") : "?");
	snprintf(e->dossier, sizeof(e->dossier), "%s", kluis_ledger_field_get(e, "Kluis-Dossier") ? kluis_ledger_field_get(e, "Kluis-Dossier") : "?");
	return 0;
}

/* The commits from head back to the root, root first. */
static int chain(git_repository *repo, const git_oid *head, git_oid **out, size_t *n)
{
	git_commit *c = NULL;
	git_oid cur, *list = NULL, *g;
	size_t k = 0, i;

	git_oid_cpy(&cur, head);
	for (;;) {
		if (!(g = realloc(list, (k + 1) * sizeof(*g)))) {
			free(list);
			return kluis_error_set(KLUIS_EGENERIC, "out of memory");
		}
		list = g;
		git_oid_cpy(&list[k++], &cur);
		/* an unreadable commit: the strict reader names it */
		if (git_commit_lookup(&c, repo, &cur) < 0 || git_commit_parentcount(c) == 0)
			break;
		git_oid_cpy(&cur, git_commit_parent_id(c, 0));
		git_commit_free(c);
		c = NULL;
		if (k > 10000000)
			break;
	}
	git_commit_free(c);
	for (i = 0; i < k / 2; i++) {
		git_oid t = list[i];
		list[i] = list[k - 1 - i];
		list[k - 1 - i] = t;
	}
	*out = list;
	*n = k;
	return 0;
}

/* The trust root is known; when the vault has a ledger, its repository and keyring are open and
 * *oids lists its records, root first (*noids stays 0 otherwise). */
static int ledger_open(lctx *x, const char *const *trust, size_t ntrust, git_oid **oids, size_t *noids)
{
	char *path = kluis_path_join(x->v->root, "ledger.git");
	git_oid head;
	bool exists;
	int err = 0;

	if (!path)
		return kluis_error_set(KLUIS_EGENERIC, "out of memory");
	if (!trust && (err = kluis_vault_trust(x->v, &trust, &ntrust)) < 0)
		goto cleanup;
	x->trust = trust;
	x->ntrust = ntrust;
	if (!kluis_path_exists(path))
		goto cleanup;
	if ((err = kluis_repo_open(&x->repo, path)) < 0 || (err = kluis_repo_ref(x->repo, KLUIS_LEDGER_REF, &head, &exists)) < 0 || !exists)
		goto cleanup;
	if ((err = kluis_vault_keyring(x->v, &x->r.kr)) < 0)
		goto cleanup;
	x->r.repo = x->repo;
	err = chain(x->repo, &head, oids, noids);
cleanup:
	free(path);
	return err;
}

/* Why readable record i is invalid, or NULL: chained, of its schema, in sequence and in time,
 * authorised, its tree and files as its trailers say. *t is its tree once it was looked up. */
static const char *record_fault(lctx *x, const rcommit *c, const git_oid *oids, size_t i, int64_t prev_time,
				git_tree *pt, git_tree **t, kluis_ledger_event *e, char *why, size_t whylen)
{
	const schema *s = NULL;
	const char *bad, *p;
	char want[5][160], seq[24];
	size_t nwant = 0;
	bool unchecked = false;

	if ((i == 0) == c->has_parent || (i > 0 && !git_oid_equal(&c->parent, &oids[i - 1])))
		return "not chained to the record before it";
	if ((bad = check_schema(c, &s, why, whylen)))
		return bad;
	snprintf(seq, sizeof(seq), "%zu", i + 1);
	if (strcmp(kluis_rcommit_value(c, "Kluis-Seq"), seq) != 0) {
		snprintf(why, whylen, "Kluis-Seq is %s, not %s (a record removed or inserted?)", kluis_rcommit_value(c, "Kluis-Seq"), seq);
		return why;
	}
	if (i > 0 && c->time < prev_time - KLUIS_CLOCK_TOLERANCE)
		return "dated before the record before it";
	/* `unchecked`: nothing is left to judge the authority by (docs/LEDGER.md) */
	if ((bad = authorise(x, c, s->action, e->dossier, &unchecked)))
		return bad;
	(void)unchecked;
	if ((p = kluis_rcommit_value(c, "Kluis-Certificate"))) {
		snprintf(want[nwant++], 160, "%s", p);
		snprintf(want[nwant++], 160, "%s.asc", p);
	}
	if ((p = kluis_rcommit_value(c, "Kluis-Reason")))
		snprintf(want[nwant++], 160, "%s", p);
	if ((p = kluis_rcommit_value(c, "Kluis-Receipt"))) {
		snprintf(want[nwant++], 160, "%s", p);
		snprintf(want[nwant++], 160, "%s.asc", p);
	}
	if (git_tree_lookup(t, x->repo, &c->tree) < 0)
		return "its tree is missing";
	if ((bad = check_tree(x, pt, *t, want, nwant, why, whylen)))
		return bad;
	return check_files(x, c, *t, e, why, whylen);
}

/* Record i is the last event of x->ev, valid or with the finding that says why not; *pt is its
 * tree (the next record's is judged against it) and *prev_time its time. */
static int judge_record(lctx *x, const git_oid *oids, size_t i, git_tree **pt, int64_t *prev_time)
{
	rcommit c;
	git_tree *t = NULL;
	const char *bad;
	char why[256];
	size_t before = x->r.rep->nfindings;
	kluis_ledger_event *e;
	int err;
	/* unreadable or unsigned: kept as an invalid record, so that it is shown as such */
	/* the commit object byte for byte and its signature: the dossier replay's own reader */
	bool readable = kluis_rcommit_read(&x->r, &oids[i], &c) == 0;

	if ((err = push_event(x, &c)) < 0) {
		kluis_rcommit_dispose(&c);
		return err;
	}
	e = &x->ev[x->n - 1];
	if (!readable) {
		/* the next record's tree is judged against this one's, if it has one */
		if (!git_oid_is_zero(&c.tree) && git_tree_lookup(&t, x->repo, &c.tree) == 0) {
			git_tree_free(*pt);
			*pt = t;
		}
		*prev_time = c.time ? c.time : *prev_time;
	} else {
		if ((bad = record_fault(x, &c, oids, i, *prev_time, *pt, &t, e, why, sizeof(why))))
			kluis_rfinding(&x->r, &c.oid, "ledger record %zu (%s %s): %s", i + 1, e->action, e->dossier, bad);
		*prev_time = c.time;
		/* the next record's tree is judged against this one's, valid or not */
		git_tree_free(*pt);
		*pt = t;
		if (!*pt)
			git_tree_lookup(pt, x->repo, &c.tree);
	}
	kluis_rcommit_dispose(&c);
	e->valid = x->r.rep->nfindings == before;
	if (!e->valid)
		e->why = strdup(x->r.rep->findings[before].message);
	return 0;
}

/* x->ev holds only the records of `dossier` (all of them when it is NULL), in order. */
static void keep_dossier(lctx *x, const char *dossier)
{
	size_t i, keep;

	for (i = 0, keep = 0; i < x->n; i++) {
		if (dossier && strcmp(x->ev[i].dossier, dossier) != 0) {
			free(x->ev[i].fields);
			free(x->ev[i].certificate);
			free(x->ev[i].certificate_sig);
			free(x->ev[i].receipt);
			free(x->ev[i].receipt_sig);
			free(x->ev[i].why);
			continue;
		}
		if (keep != i)
			x->ev[keep] = x->ev[i];
		keep++;
	}
	x->n = keep;
}

int kluis_ledger_read(kluis_vault *v, const char *const *trust, size_t ntrust, bool full, const char *dossier,
		      kluis_ledger_event **events, size_t *n, kluis_verify_report *rep)
{
	lctx x;
	git_oid *oids = NULL, kept;
	git_tree *pt = NULL;
	char *state = NULL;
	size_t noids = 0, i, vouched = 0, before = rep->nfindings;
	int64_t prev_time = 0;
	int err = 0;

	memset(&x, 0, sizeof(x));
	*events = NULL;
	*n = 0;
	x.v = v;
	x.r.rep = rep;
	x.r.id = "ledger";
	if ((err = ledger_open(&x, trust, ntrust, &oids, &noids)) < 0 || noids == 0)
		goto cleanup;
	/*
	 * The ledger's kept verdict (replay_state.c, as the verifier's own checkpoint): the
	 * signatures of the records up to the one a clean run last saw, with this keyring and
	 * these trust roots, are not checked again when the chain still holds that record at that
	 * place (git's hash chain pins everything before it). Every other rule is judged again.
	 * Signatures were most of the cost: `kluis list` reads the ledger of a vault with 10,000
	 * dossiers, 10,000 records.
	 */
	state = kluis_replay_state_path(v->root, ".ledger");
	if (!state || full || kluis_replay_vouch_load(&x.r, state, x.trust, x.ntrust, &kept, &vouched) < 0 ||
	    !(vouched && vouched <= noids && git_oid_equal(&oids[vouched - 1], &kept)))
		vouched = 0;
	kluis_pgp_quiet_begin(x.r.kr);
	for (i = 0; i < noids && err == 0; i++) {
		x.r.sig_vouched = i < vouched;
		err = judge_record(&x, oids, i, &pt, &prev_time);
	}
	x.r.sig_vouched = false;
	kluis_pgp_quiet_end(x.r.kr);
	if (err < 0)
		goto cleanup;
	/* a clean ledger with records past the kept verdict: the next run starts from here */
	if (state && !full && rep->nfindings == before && noids > vouched)
		(void)kluis_replay_vouch_save(&x.r, state, x.trust, x.ntrust, &oids[noids - 1], noids);
	keep_dossier(&x, dossier);
	*events = x.ev;
	*n = x.n;
	x.ev = NULL;
	x.n = 0;
cleanup:
	free(state);
	kluis_ledger_events_free(x.ev, x.n);
	git_tree_free(pt);
	free(oids);
	git_repository_free(x.repo);
	return err;
}

int kluis_ledger_check_vault(kluis_vault *v, const char *const *trust, size_t ntrust, bool full, kluis_verify_report *rep, size_t *records)
{
	kluis_ledger_event *ev = NULL;
	replay r;
	char **ids = NULL;
	size_t nev = 0, nids = 0, i, j;
	int err;

	memset(&r, 0, sizeof(r));
	r.rep = rep;
	r.id = "ledger";
	if ((err = kluis_ledger_read(v, trust, ntrust, full, NULL, &ev, &nev, rep)) < 0 || (err = kluis_vault_dossier_ids(v, &ids, &nids)) < 0)
		goto cleanup;
	*records = nev;
	/* what the valid records say of each dossier: in (create, import, pull) or out (transfer,
	 * destroy); the last word counts */
	for (i = 0; i < nev; i++) {
		const char *a = ev[i].action;
		bool in = strcmp(a, "create") == 0 || strcmp(a, "import") == 0 || strcmp(a, "pull") == 0;
		bool out = strcmp(a, "destroy") == 0 || strcmp(a, "transfer") == 0;
		bool later = false;
		char hex[GIT_OID_HEXSZ + 1];
		if (!ev[i].valid || !(in || out))
			continue;
		for (j = i + 1; j < nev && !later; j++)
			later = ev[j].valid && strcmp(ev[j].dossier, ev[i].dossier) == 0 &&
				(!strcmp(ev[j].action, "create") || !strcmp(ev[j].action, "import") || !strcmp(ev[j].action, "pull") ||
				 !strcmp(ev[j].action, "destroy") || !strcmp(ev[j].action, "transfer"));
		if (later)
			continue;
		git_oid_tostr(hex, sizeof(hex), &ev[i].commit);
		if (in && !kluis_strings_has((const char *const *)ids, nids, ev[i].dossier))
			kluis_rfinding(&r, &ev[i].commit, "dossier '%s' is gone from the vault, yet the ledger has no destroy or transfer record of it (it was brought in by %s %.12s)",
				       ev[i].dossier, a, hex);
		/* a transfer whose local removal did not finish leaves the dossier here, which is no
		 * contradiction; a destruction that did not happen is */
		if (strcmp(a, "destroy") == 0 && kluis_strings_has((const char *const *)ids, nids, ev[i].dossier))
			kluis_rfinding(&r, &ev[i].commit, "dossier '%s' is in the vault, yet the ledger records its destruction (%.12s)", ev[i].dossier, hex);
	}
	for (i = 0; i < nids; i++) {
		bool known = false;
		for (j = 0; j < nev && !known; j++)
			known = ev[j].valid && strcmp(ev[j].dossier, ids[i]) == 0 &&
				(!strcmp(ev[j].action, "create") || !strcmp(ev[j].action, "import") || !strcmp(ev[j].action, "pull"));
		if (!known)
			kluis_rfinding(&r, NULL, "dossier '%s' is in the vault, but the ledger has no valid create, import or pull record of it", ids[i]);
	}
cleanup:
	kluis_ledger_events_free(ev, nev);
	kluis_strings_free(ids, nids);
	return err;
}

