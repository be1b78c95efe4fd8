/*
 * report.c - what a verification found (kluis_verify_report, verify.h): each finding with the
 * commit it concerns, in the order the replay met them. Every phase of the replay adds to it;
 * none judges here.
 */
#include "vault/verify/replay.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void kluis_rfinding(replay *r, const git_oid *commit, const char *fmt, ...)
{
	kluis_finding *grown;
	va_list ap;
	char *msg = NULL;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	grown = realloc(r->rep->findings, (r->rep->nfindings + 1) * sizeof(*grown));
	if (!grown || !msg) {
		free(msg);
		return;
	}
	r->rep->findings = grown;
	memset(&grown[r->rep->nfindings].commit, 0, sizeof(git_oid));
	if (commit)
		git_oid_cpy(&grown[r->rep->nfindings].commit, commit);
	grown[r->rep->nfindings].message = msg;
	r->rep->nfindings++;
}

void kluis_verify_report_summary(const kluis_verify_report *r, char *out, size_t size)
{
	char hex[GIT_OID_HEXSZ + 1] = "-";

	if (!r->nfindings) {
		snprintf(out, size, "no findings");
		return;
	}
	if (!git_oid_is_zero(&r->findings[0].commit))
		git_oid_tostr(hex, 13, &r->findings[0].commit);
	snprintf(out, size, "%zu finding%s; first: %s %s", r->nfindings, r->nfindings == 1 ? "" : "s", hex, r->findings[0].message);
}

void kluis_verify_report_dispose(kluis_verify_report *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->nfindings; i++)
		free(r->findings[i].message);
	free(r->findings);
	r->findings = NULL;
	r->nfindings = 0;
}

/*
 * The head must descend from a checkpoint's head, and the read log from its record. A commit
 * or record the replay has just accepted (the history descends from it, and the run found
 * nothing) had its signature checked there: it is checked again only when it is not in the
 * history (a rollback, or a forged checkpoint: the message says which) or the run had findings.
 */
