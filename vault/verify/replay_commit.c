/*
 * replay_commit.c - a commit object of main, of the read log or of the ledger, read byte for byte
 * (docs/FORMATS.md, "Commit objects").
 *
 * kluis writes every commit the same way: headers tree, parent (none for the first), author
 * and committer alike as `<role> <FPR> <time> +0000`, gpgsig; then a subject line, an empty line
 * and trailers. Anything a forger could add beside that (another header, a second parent, an
 * armor header or comment inside the signature, text between the trailers) would be bytes no
 * rule pins, so the parser accepts exactly that form and every departure is a finding. The
 * signature's own bytes are pinned to gpg's form (pgp_form.c: no one without the key can
 * change one and keep it valid); it is librnp's to judge (pgp_verify.c), over the object
 * without its gpgsig header, the bytes stock `git verify-commit` checks too.
 */
#include "vault/verify/replay.h"
#include "vault/store/checkpoint.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_hex40(const char *s, size_t len, bool upper)
{
	size_t i;

	if (len != 40)
		return false;
	for (i = 0; i < len; i++)
		if (!(isdigit((unsigned char)s[i]) || (upper ? (s[i] >= 'A' && s[i] <= 'F') : (s[i] >= 'a' && s[i] <= 'f'))))
			return false;
	return true;
}

/* The line starting at p (up to, not including, '\n'); NULL when no '\n' before end. */
static const char *line_end(const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));

	return nl;
}

/*
 * `<role> <FPR> <time> +0000`: role a role name, FPR 40 upper-case hex, time decimal without
 * leading zeros. Fills c; false when not of that form.
 */
static bool parse_person(const char *s, size_t len, rcommit *c)
{
	char buf[160], name[32], email[48];
	long long t;
	int used = 0;
	unsigned role;

	if (len >= sizeof(buf))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (sscanf(buf, "%31[a-z] <%47[0-9A-F]> %lld +0000%n", name, email, &t, &used) != 3 || (size_t)used != len)
		return false;
	if (kluis_role_parse(name, &role) < 0 || strlen(email) != 40 || t < 0)
		return false;
	/* the time as git writes it: digits only, no sign, no leading zero */
	{
		char canon[160];
		snprintf(canon, sizeof(canon), "%s <%s> %lld +0000", name, email, t);
		if (strcmp(canon, buf) != 0)
			return false;
	}
	snprintf(c->role_name, sizeof(c->role_name), "%s", name);
	snprintf(c->author_fpr, sizeof(c->author_fpr), "%s", email);
	c->time = (int64_t)t;
	return true;
}

static int trailer_push(rcommit *c, const char *k, size_t klen, const char *v, size_t vlen)
{
	rtrailer *g = realloc(c->tr, (c->ntr + 1) * sizeof(*g));

	if (!g)
		return -1;
	c->tr = g;
	g[c->ntr].key = strndup(k, klen);
	g[c->ntr].value = strndup(v, vlen);
	if (!g[c->ntr].key || !g[c->ntr].value) {
		free(g[c->ntr].key);
		free(g[c->ntr].value);
		return -1;
	}
	c->ntr++;
	return 0;
}

/* subject, "\n\n", then `Key: value\n` lines and nothing else; keys [A-Za-z0-9-] (the ledger's
 * Kluis-Archive-Sha256), values printable. */
static const char *parse_message(const char *msg, size_t len, rcommit *c)
{
	const char *end = msg + len, *p, *nl, *colon;
	size_t i;

	if (!(nl = line_end(msg, end)) || nl == msg)
		return "no subject line";
	for (p = msg; p < nl; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return "control character in the subject";
	if (!(c->subject = strndup(msg, (size_t)(nl - msg))))
		return "out of memory";
	p = nl + 1;
	if (p >= end || *p != '\n')
		return "the subject is not followed by an empty line";
	p++;
	if (p >= end)
		return "no trailers";
	while (p < end) {
		if (!(nl = line_end(p, end)))
			return "the message does not end with a line end";
		colon = memchr(p, ':', (size_t)(nl - p));
		if (!colon || colon == p || colon + 2 > nl || colon[1] != ' ' || colon + 2 == nl)
			return "a line of the message is not a `Key: value` trailer";
		for (i = 0; p + i < colon; i++)
			if (!(isalnum((unsigned char)p[i]) || p[i] == '-'))
				return "a trailer key holds other characters than letters, digits and '-'";
		for (i = 2; colon + i < nl; i++)
			if ((unsigned char)colon[i] < 0x20 || colon[i] == 0x7f)
				return "control character in a trailer";
		if (trailer_push(c, p, (size_t)(colon - p), colon + 2, (size_t)(nl - colon - 2)) < 0)
			return "out of memory";
		p = nl + 1;
	}
	return NULL;
}

int kluis_rmessage_format(const char *subject, const rtrailer *tr, size_t n, kluis_buf *out)
{
	size_t i;
	int err;

	if ((err = kluis_buf_printf(out, "%s\n\n", subject)) < 0)
		return err;
	for (i = 0; i < n; i++)
		if ((err = kluis_buf_printf(out, "%s: %s\n", tr[i].key, tr[i].value)) < 0)
			return err;
	return 0;
}

size_t kluis_rcommit_values(const rcommit *c, const char *key, const char **out, size_t max)
{
	size_t i, n = 0;

	for (i = 0; i < c->ntr; i++)
		if (strcmp(c->tr[i].key, key) == 0) {
			if (n < max)
				out[n] = c->tr[i].value;
			n++;
		}
	return n;
}

const char *kluis_rcommit_value(const rcommit *c, const char *key)
{
	const char *v = NULL;

	return kluis_rcommit_values(c, key, &v, 1) == 1 ? v : NULL;
}

void kluis_rcommit_dispose(rcommit *c)
{
	size_t i;

	for (i = 0; i < c->ntr; i++) {
		free(c->tr[i].key);
		free(c->tr[i].value);
	}
	free(c->tr);
	free(c->subject);
	memset(c, 0, sizeof(*c));
}

/* The headers: returns NULL, or what is wrong. Sets *msg to the message's start. */
static const char *parse_headers(const char *raw, size_t len, rcommit *c, const char **msg)
{
	const char *end = raw + len, *p = raw, *nl, *author = NULL;
	size_t alen = 0;

	/* unsigned is the commonest forgery: say so before anything else */
	{
		const char *hdr_end = len >= 2 ? memmem(raw, len, "\n\n", 2) : NULL;
		if (!hdr_end || !memmem(raw, (size_t)(hdr_end - raw) + 1, "\ngpgsig ", 8))
			return "unsigned commit (no gpgsig header)";
	}
	if (!(nl = line_end(p, end)) || (size_t)(nl - p) != 45 || memcmp(p, "tree ", 5) != 0 || !is_hex40(p + 5, 40, false) ||
	    git_oid_fromstrn(&c->tree, p + 5, 40) < 0)
		return "the first header is not `tree`";
	p = nl + 1;
	if ((nl = line_end(p, end)) && nl - p >= 7 && memcmp(p, "parent ", 7) == 0) {
		if ((size_t)(nl - p) != 47 || !is_hex40(p + 7, 40, false) || git_oid_fromstrn(&c->parent, p + 7, 40) < 0)
			return "malformed parent header";
		c->has_parent = true;
		p = nl + 1;
		if ((nl = line_end(p, end)) && nl - p >= 7 && memcmp(p, "parent ", 7) == 0)
			return "merge commit (more than one parent): the history is linear";
	}
	if (!(nl = line_end(p, end)) || nl - p < 7 || memcmp(p, "author ", 7) != 0)
		return "no author header where kluis writes it";
	author = p + 7;
	alen = (size_t)(nl - author);
	if (!parse_person(author, alen, c))
		return "the author is not `<role> <FPR> <time> +0000`";
	p = nl + 1;
	if (!(nl = line_end(p, end)) || (size_t)(nl - p) != 10 + alen || memcmp(p, "committer ", 10) != 0 ||
	    memcmp(p + 10, author, alen) != 0)
		return "the committer is not the author, to the byte";
	p = nl + 1;
	if (!(nl = line_end(p, end)) || nl - p < 7 || memcmp(p, "gpgsig ", 7) != 0)
		return "no gpgsig header where kluis writes it (unsigned?)";
	/* the gpgsig header's continuation lines start with a space */
	p = nl + 1;
	while (p < end && *p == ' ') {
		if (!(nl = line_end(p, end)))
			return "truncated gpgsig header";
		p = nl + 1;
	}
	if (p >= end || *p != '\n')
		return "another header after gpgsig (kluis writes none)";
	*msg = p + 1;
	return NULL;
}

int kluis_rcommit_read(replay *r, const git_oid *oid, rcommit *c)
{
	git_odb *odb = NULL;
	git_odb_object *obj = NULL;
	kluis_buf sig = KLUIS_BUF_INIT, data = KLUIS_BUF_INIT;
	const char *why, *msg = NULL, *raw;
	size_t len;
	int err = -1, vr;

	memset(c, 0, sizeof(*c));
	git_oid_cpy(&c->oid, oid);
	if (git_repository_odb(&odb, r->repo) < 0 || git_odb_read(&obj, odb, oid) < 0) {
		const git_error *e = git_error_last();
		kluis_rfinding(r, oid, "commit object missing or unreadable%s%s", e && e->message ? ": " : "", e && e->message ? e->message : "");
		goto cleanup;
	}
	if (git_odb_object_type(obj) != GIT_OBJECT_COMMIT) {
		kluis_rfinding(r, oid, "not a commit object");
		goto cleanup;
	}
	raw = git_odb_object_data(obj);
	len = git_odb_object_size(obj);
	if (memchr(raw, '\0', len)) {
		kluis_rfinding(r, oid, "commit object holds a NUL byte");
		goto cleanup;
	}
	if ((why = parse_headers(raw, len, c, &msg)) != NULL) {
		kluis_rfinding(r, oid, "%s", why);
		goto cleanup;
	}
	if ((why = parse_message(msg, len - (size_t)(msg - raw), c)) != NULL) {
		kluis_rfinding(r, oid, "commit message: %s", why);
		goto cleanup;
	}
	/* the bytes stock git verifies: the object without its gpgsig header (split as git does,
	 * from the bytes already read) */
	if (kluis_commit_split_signature(raw, len, &data, &sig) < 0) {
		kluis_rfinding(r, oid, "commit: no signature");
		goto cleanup;
	}
	/* the bytes no signature covers, pinned before any verdict (a kept one included) */
	if (kluis_pgp_sig_form(sig.ptr, sig.len, NULL) < 0) {
		kluis_rfinding(r, oid, "%s", kluis_error_last());
		goto cleanup;
	}
	/* the verdict a kept clean run reached (the caller vouches), a worker reached ahead of the
	 * replay (replay_sigs.c), or reached now */
	if (r->sig_vouched) {
		snprintf(c->signer, sizeof(c->signer), "%s", c->author_fpr);
		c->sigtime = c->time;
		vr = 0;
	} else if (kluis_rsigs_take(r->sigs, oid, r->sig_next, c->signer, &c->sigtime, &vr))
		r->sig_next++;
	else
		vr = kluis_pgp_verify_detached(r->kr, data.ptr, data.len, sig.ptr, sig.len, c->signer, &c->sigtime);
	if (vr < 0) {
		c->signer[0] = '\0';
		kluis_rfinding(r, oid, "signature does not verify: %s", kluis_error_last());
		goto cleanup;
	}
	if (strcmp(c->signer, c->author_fpr) != 0) {
		kluis_rfinding(r, oid, "the author line names key %s but %s signed", c->author_fpr, c->signer);
		goto cleanup;
	}
	/* a finding, but the commit can still be judged (its dates are judged in the chain) */
	if (c->sigtime < c->time - KLUIS_CLOCK_TOLERANCE || c->sigtime > c->time + KLUIS_CLOCK_TOLERANCE)
		kluis_rfinding(r, oid, "signed at a time more than %d s away from the commit's own time (backdated?)", KLUIS_CLOCK_TOLERANCE);
	err = 0;
cleanup:
	kluis_buf_dispose(&sig);
	kluis_buf_dispose(&data);
	git_odb_object_free(obj);
	git_odb_free(odb);
	return err;
}
