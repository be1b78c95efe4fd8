/*
 * inzage.h - the klant's access report (WerkPro P10, Werklokaal W6a): whether and which personal
 * data the dossier holds, for what purpose and on what basis, from whom, for whom, how long,
 * and who consulted it.
 *
 * A report is one read of the whole dossier: one signed access record with purpose `inzage`
 * goes on refs/kluis/access before anything is decrypted (SPEC invariant 6). The report is
 * built in a secret kluis_buf (wiped on dispose); the caller writes it where the user asked.
 * Formats: plain text, JSON (the dossier model of export.h with "kluis": "inzage", versioned,
 * schema in docs/EXPORT_SCHEMA.md) and one self-contained HTML page
 * (inline CSS, no scripts, no external resources; every value escaped).
 */
#ifndef KLUIS_INZAGE_H
#define KLUIS_INZAGE_H

#include "vault/store/vault.h"

#include <jansson.h>
#include <time.h>

/* The roles that may ask for an inzage or an export (SPEC): klant, medewerker, directie. */
#define KLUIS_ROLES_INZAGE (KLUIS_ROLE_KLANT | KLUIS_ROLE_MEDEWERKER | KLUIS_ROLE_DIRECTIE)

typedef enum { KLUIS_INZAGE_TEXT, KLUIS_INZAGE_JSON, KLUIS_INZAGE_HTML } kluis_inzage_format;
typedef enum { KLUIS_LANG_NL, KLUIS_LANG_EN } kluis_lang;

/*
 * May the actor ask for an inzage or export of d? 0, with *role the role it acts in, or
 * KLUIS_EACCESS naming who may. `what` ("an inzage", "an export") goes into the message.
 * Nothing is logged or decrypted.
 */
int kluis_inzage_authorize(kluis_dossier *d, const char *what, unsigned *role);

/*
 * The access report of d in `format`, Dutch or English, appended to `out` (made secret).
 * Checks the actor's role first (nothing is logged for a refusal), then logs one read with
 * purpose `inzage`; that read is itself listed among the consultations. with_contents: every
 * text entry's body is included too, each decrypted and logged as `kluis show` does (one more
 * read of that entry, purpose `inzage`; these come after the report's own and are not in it).
 */
int kluis_inzage_report(kluis_dossier *d, kluis_inzage_format format, kluis_lang lang, bool with_contents, kluis_buf *out);

/* Render a dossier model (export.h) as the report; the export's index.html is its HTML. */
int kluis_inzage_render(const json_t *model, kluis_inzage_format format, kluis_lang lang, kluis_buf *out);

/* A kind code in words ("contact" -> "contactmoment"); an unknown code as it is. */
const char *kluis_inzage_kind_label(const char *kind, kluis_lang lang);

/* t (Unix seconds) in Amsterdam's local time (CET/CEST by the EU rule; no TZ involved). */
void kluis_local_time(int64_t t, struct tm *out);

#endif
