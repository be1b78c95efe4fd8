/*
 * inzage.c - the klant's access report (see inzage.h).
 *
 * One model, three renderings: the dossier is read once (kluis_dossier_read_all, one signed
 * access record) and turned into the dossier model of export.h, which is the JSON report
 * (docs/EXPORT_SCHEMA.md); the text and HTML forms are rendered from that same object, so the
 * three cannot tell different stories.
 *
 * Invariants: nothing is logged or decrypted for an actor outside klant, medewerker and
 * directie; the report only ever lives in the caller's secret buffer; in HTML every value is
 * escaped (& < > " ' and control characters) and the page loads nothing and runs nothing (a
 * Content-Security-Policy of default-src 'none' says so to the browser as well).
 */
#include "inzage.h"
#include "export.h"
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- words, in Dutch and English ---- */

struct label {
	const char *code, *nl, *en;
};

static const struct label kinds[] = {
	{ "note", "aantekening", "note" }, { "contact", "contactmoment", "contact" },
	{ "circumstance", "persoonlijke omstandigheid", "personal circumstance" }, { "document", "document", "document" },
	{ "correspondence", "correspondentie", "correspondence" }, { "plan", "plan van aanpak", "plan (plan van aanpak)" },
	{ "report", "rapportage", "report" }, { "consent", "toestemming", "consent" },
	{ "statement", "eigen verklaring van de klant", "the klant's own statement" }, { "correction", "correctie", "correction" },
	{ NULL, NULL, NULL },
};
static const struct label bases[] = {
	{ "consent", "uw toestemming (art. 6.4)", "your consent (art. 6.4)" },
	{ "contract", "nodig voor de uitvoering van een overeenkomst met u (art. 6.4)", "needed to perform a contract with you (art. 6.4)" },
	{ "legal", "nodig om een wettelijke verplichting na te komen (art. 6.4)", "needed to meet a legal obligation (art. 6.4)" },
	{ "vital", "nodig voor uw vitaal belang (art. 6.4)", "needed for your vital interest (art. 6.4)" },
	{ "interest", "gerechtvaardigd belang van de organisatie of een derde (art. 6.4)",
	  "legitimate interest of the organisation or a third party (art. 6.4)" },
	{ NULL, NULL, NULL },
};
static const struct label specials[] = {
	{ "health", "gezondheid", "health" }, { "religion", "godsdienst of levensovertuiging", "religion or belief" },
	{ "race", "ras of etnische afkomst", "racial or ethnic origin" }, { "politics", "politieke gezindheid", "political opinions" },
	{ "sexual", "seksueel leven", "sex life" }, { "union", "lidmaatschap van een vakvereniging", "trade union membership" },
	{ "criminal", "strafrechtelijke gegevens", "criminal records" }, { "biometric", "biometrische gegevens", "biometric data" },
	{ "genetic", "genetische gegevens", "genetic data" }, { NULL, NULL, NULL },
};
/* who a role is, short (recipients) and long (the parties) */
static const struct label roles_short[] = {
	{ "klant", "klant (uzelf)", "klant (yourself)" }, { "medewerker", "medewerker (de organisatie)", "medewerker (the organisation)" },
	{ "directie", "directie (de organisatie)", "directie (the organisation)" },
	{ "opdrachtgever", "opdrachtgever (bijv. UWV of gemeente)", "opdrachtgever (e.g. UWV or the municipality)" },
	{ "vertegenwoordiger", "uw wettelijk vertegenwoordiger", "your legal representative" },
	{ "auditor", "auditor (controleert, leest niets)", "auditor (verifies, reads nothing)" }, { NULL, NULL, NULL },
};
static const struct label roles_long[] = {
	{ "klant", "uzelf, de klant", "yourself, the klant" },
	{ "medewerker", "uw adviseur bij de organisatie, die het traject uitvoert", "your adviser at the organisation, who runs the traject" },
	{ "directie", "de directie van de organisatie, eindverantwoordelijk voor de verwerking",
	  "the organisation's management, responsible for the processing" },
	{ "opdrachtgever", "de opdrachtgever die het traject betaalt, bijvoorbeeld UWV of de gemeente",
	  "the commissioning party that pays for the traject, for example UWV or the municipality" },
	{ "vertegenwoordiger", "uw wettelijk vertegenwoordiger (art. 4)", "your legal representative (art. 4)" },
	{ "auditor", "controleert de vastlegging; kan de inhoud niet lezen", "verifies the records; cannot read the content" },
	{ NULL, NULL, NULL },
};
static const struct label origins[] = {
	{ "medewerker", "de medewerker", "the medewerker" }, { "klant", "uzelf", "yourself" },
	{ "opdrachtgever", "de opdrachtgever", "the opdrachtgever" }, { "derde", "een derde", "a third party" }, { NULL, NULL, NULL },
};
static const struct label states[] = {
	{ "open", "traject loopt", "traject in progress" }, { "closed", "traject afgesloten", "traject closed" },
	{ "imported", "overgedragen aan de opdrachtgever", "transferred to the opdrachtgever" }, { NULL, NULL, NULL },
};

enum {
	M_TITLE, M_MADE, M_BY, M_INTRO, M_PURPOSE, M_PARTIES_H, M_PARTIES_P, M_ROLE, M_KEY, M_WITH_KEY, M_TRAJECT_NONE, M_BORN, M_REPRESENTED,
	M_ENTRIES_H, M_ENTRIES_P, M_NONE, M_KIND, M_ADDED, M_BY_F, M_BASIS, M_CATEGORY, M_ORDINARY, M_SPECIAL, M_ORIGIN,
	M_RECIPIENTS, M_FILE, M_SIZE, M_CORRECTS, M_CORRECTED_BY, M_NOT_RECORDED, M_CORR_H, M_ENTRY, M_ERASE_H, M_ERASE_P,
	M_ERASED_ON, M_APPR_H, M_DATE, M_STATUS, M_CURRENT, M_OUTDATED, M_CONS_H, M_GRANTED, M_WITHDRAWN, M_SCOPE,
	M_PURPOSE_F, M_TO_OPDR, M_YES, M_NO, M_RET_H, M_STATE, M_CREATED, M_CLOSED, M_YEARS, M_DEADLINE, M_FROM_END,
	M_RET_P, M_READS_H, M_READS_P, M_WHOLE, M_RIGHTS_H, M_RIGHTS_P, M__COUNT
};
static const char *const msgs[M__COUNT][2] = {
	[M_TITLE] = { "Inzage in uw dossier", "Access report for your dossier" }, [M_MADE] = { "Opgesteld op", "Made on" },
	[M_BY] = { "Opgevraagd door", "Requested by" },
	[M_INTRO] = { "Dit is uw inzage op grond van artikel 10 van het privacyreglement. In dit dossier worden persoonsgegevens over u "
		"verwerkt. Hieronder staat welke gegevens dat zijn, met welk doel en op welke grondslag, om welke soort gegevens "
		"het gaat, waar ze vandaan komen, wie ze kunnen inzien, hoe lang ze bewaard worden en wie het dossier heeft "
		"geraadpleegd.",
		"This is your access report under article 10 of the privacy regulations. Personal data about you is processed in "
		"this dossier. Below is which data that is, for what purpose and on what legal basis, what kind of data it is, "
		"where it came from, who can see it, how long it is kept and who consulted the dossier." },
	[M_PURPOSE] = { "Doel van de verwerking: de uitvoering van uw traject (Werklokaal art. 3, WerkPro art. 3).",
		"Purpose of the processing: carrying out your traject (Werklokaal art. 3, WerkPro art. 3)." },
	[M_PARTIES_H] = { "Wie uw gegevens verwerkt en ontvangt", "Who processes and receives your data" },
	[M_PARTIES_P] = { "De organisatie (medewerker en directie) is verantwoordelijk voor de verwerking. Alleen de sleutels hieronder "
		"kunnen de inhoud van het dossier ontsleutelen; elke sleutel is aan een rol gebonden.",
		"The organisation (medewerker and directie) is responsible for the processing. Only the keys below can decrypt "
		"the dossier's content; each key is bound to a role." },
	[M_ROLE] = { "Rol", "Role" }, [M_KEY] = { "Sleutel", "Key" }, [M_WITH_KEY] = { "sleutel", "key" },
	[M_TRAJECT_NONE] = { "Geen omschrijving vastgelegd.", "No description recorded." },
	[M_BORN] = { "Uw geboortedatum is vastgelegd, alleen om te weten of u zelf toestemming kunt geven (art. 4):",
		"Your date of birth is recorded, only to know whether you can give consent yourself (art. 4):" },
	[M_REPRESENTED] = { "U wordt vertegenwoordigd (curatele of mentorschap): toestemming geeft uw wettelijk vertegenwoordiger (art. 4).",
		"You are represented (curatele or mentorship): consent is given by your legal representative (art. 4)." },
	[M_ENTRIES_H] = { "Vastgelegde gegevens", "Recorded data" },
	[M_ENTRIES_P] = { "Per onderdeel: wat het is, met welk doel en op welke grondslag het is vastgelegd (art. 6.4), om welke soort "
		"persoonsgegevens het gaat (art. 8), waar het vandaan komt (Werklokaal art. 5a) en wie het kan inzien "
		"(ontvangers, art. 10.3).",
		"For each entry: what it is, for what purpose and on what legal basis it was recorded (art. 6.4), what kind of "
		"personal data it is (art. 8), where it came from (Werklokaal art. 5a) and who can see it (recipients, art. 10.3)." },
	[M_NONE] = { "Geen.", "None." }, [M_KIND] = { "Soort", "Kind" }, [M_ADDED] = { "Vastgelegd op", "Recorded on" },
	[M_BY_F] = { "Vastgelegd door", "Recorded by" }, [M_BASIS] = { "Doel en grondslag", "Purpose and legal basis" },
	[M_CATEGORY] = { "Categorie", "Category" }, [M_ORDINARY] = { "gewone persoonsgegevens", "ordinary personal data" },
	[M_SPECIAL] = { "bijzondere persoonsgegevens (art. 8): ", "special category of personal data (art. 8): " },
	[M_ORIGIN] = { "Herkomst", "Origin" }, [M_RECIPIENTS] = { "Ontvangers", "Recipients" }, [M_FILE] = { "Bestand", "File" },
	[M_SIZE] = { "Grootte", "Size" }, [M_CORRECTS] = { "Corrigeert", "Corrects" },
	[M_CORRECTED_BY] = { "Gecorrigeerd door", "Corrected by" }, [M_NOT_RECORDED] = { "niet vastgelegd", "not recorded" },
	[M_CORR_H] = { "Correcties (art. 11)", "Corrections (art. 11)" }, [M_ENTRY] = { "Onderdeel", "Entry" },
	[M_ERASE_H] = { "Verwijderde gegevens (art. 11.2)", "Erased data (art. 11.2)" },
	[M_ERASE_P] = { "De inhoud van deze onderdelen is uit het dossier verwijderd; alleen het nummer en de datum blijven als "
		"ondertekend bewijs.",
		"The content of these entries was removed from the dossier; only their number and date remain, as signed proof." },
	[M_ERASED_ON] = { "Verwijderd op", "Erased on" }, [M_APPR_H] = { "Akkoorden", "Approvals" }, [M_DATE] = { "Datum", "Date" },
	[M_STATUS] = { "Stand", "Status" }, [M_CURRENT] = { "geldig", "current" },
	[M_OUTDATED] = { "niet meer geldig: daarna gecorrigeerd", "no longer current: corrected afterwards" },
	[M_CONS_H] = { "Toestemmingen (art. 4, 7.2 en 8; Werklokaal art. 5b)", "Consents (art. 4, 7.2 and 8; Werklokaal art. 5b)" },
	[M_GRANTED] = { "verleend", "granted" }, [M_WITHDRAWN] = { "ingetrokken", "withdrawn" },
	[M_SCOPE] = { "Reikwijdte", "Scope" }, [M_PURPOSE_F] = { "Doel", "Purpose" },
	[M_TO_OPDR] = { "Ook voor de opdrachtgever", "Also for the opdrachtgever" }, [M_YES] = { "ja", "yes" },
	[M_NO] = { "nee", "no" },
	[M_RET_H] = { "Bewaartermijn (art. 13; Werklokaal art. 7)", "Retention (art. 13; Werklokaal art. 7)" },
	[M_STATE] = { "Stand van het dossier", "State of the dossier" }, [M_CREATED] = { "Aangelegd op", "Created on" },
	[M_CLOSED] = { "Afgesloten op", "Closed on" }, [M_YEARS] = { "Bewaartermijn", "Retention period" },
	[M_DEADLINE] = { "Te vernietigen uiterlijk", "To be destroyed by" },
	[M_FROM_END] = { "de termijn begint aan het einde van het traject", "the period starts at the end of the traject" },
	[M_RET_P] = { "De organisatie verwijdert persoonsgegevens in principe 2 jaar na het einde van de dienstverlening (art. 13.2). "
		"Na afloop van het traject wordt het dossier overgedragen aan de opdrachtgever, die het 10 jaar bewaart en daarna "
		"vernietigt (Werklokaal art. 7).",
		"The organisation deletes personal data, as a rule, 2 years after the end of its service (art. 13.2). After the "
		"traject the dossier is transferred to the opdrachtgever, who keeps it for 10 years and then destroys it "
		"(Werklokaal art. 7)." },
	[M_READS_H] = { "Raadplegingen", "Consultations" },
	[M_READS_P] = { "Elke keer dat iemand de inhoud ontsleutelt, wordt ondertekend vastgelegd wie (rol en sleutel), wanneer en "
		"waarom. Dit overzicht zelf staat er ook bij.",
		"Every time someone decrypts the content, a signed record says who (role and key), when and why. This report "
		"itself is listed too." },
	[M_WHOLE] = { "het hele dossier", "the whole dossier" }, [M_RIGHTS_H] = { "Uw rechten", "Your rights" },
	[M_RIGHTS_P] = { "U kunt vragen om correctie, aanvulling of verwijdering van uw gegevens (art. 11), een eigen verklaring laten "
		"opnemen (Werklokaal art. 6b) en uw gegevens in een gangbare, machineleesbare vorm krijgen (art. 12). De "
		"organisatie antwoordt binnen vier weken.",
		"You can ask for your data to be corrected, completed or erased (art. 11), have your own statement added "
		"(Werklokaal art. 6b) and receive your data in a common, machine-readable form (art. 12). The organisation "
		"answers within four weeks." },
};

static const char *label(const struct label *t, const char *code, kluis_lang lang)
{
	for (; code && t->code; t++)
		if (strcmp(t->code, code) == 0)
			return lang == KLUIS_LANG_EN ? t->en : t->nl;
	return code ? code : "-";
}

/* ---- rendering: plain text or HTML from the model ---- */

typedef struct {
	kluis_buf *b;
	kluis_buf tmp;       /* composed values (secret) */
	bool html;
	kluis_lang lang;
	int err;
	int ncols;
	const int *widths;
} out_t;

#define T(o, m) (msgs[m][(o)->lang == KLUIS_LANG_EN])
#define WRAP 78

static void put(out_t *o, const char *s, size_t n)
{
	int e;

	if (!o->err && n && (e = kluis_buf_put(o->b, s, n)) < 0)
		o->err = e;
}

static void puts_raw(out_t *o, const char *s)
{
	put(o, s, strlen(s));
}

/* Display columns of UTF-8 text (continuation bytes take none). */
static size_t columns(const char *s, size_t n)
{
	size_t i, w = 0;

	for (i = 0; i < n; i++)
		w += ((unsigned char)s[i] & 0xC0) != 0x80;
	return w;
}

/* A value: HTML-escaped, or in text with control characters (a terminal's escapes) replaced. */
static void put_value(out_t *o, const char *s, size_t n)
{
	size_t i, start = 0;

	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		const char *rep = !o->html ? NULL : ch == '&' ? "&amp;" : ch == '<' ? "&lt;" : ch == '>' ? "&gt;"
				  : ch == '"' ? "&quot;" : ch == '\'' ? "&#39;" : NULL;
		if ((ch < 0x20 && ch != '\n' && ch != '\t') || ch == 0x7f)
			rep = "?";
		if (rep) {
			put(o, s + start, i - start);
			puts_raw(o, rep);
			start = i + 1;
		}
	}
	put(o, s + start, n - start);
}

static void puts_value(out_t *o, const char *s)
{
	put_value(o, s ? s : "-", strlen(s ? s : "-"));
}

/* open, the value escaped, close */
static void tag(out_t *o, const char *open, const char *value, const char *close)
{
	puts_raw(o, open);
	puts_value(o, value);
	puts_raw(o, close);
}

/* Compose a value into o->tmp (reused); the result is valid until the next call. */
static const char *fmt(out_t *o, const char *f, ...) __attribute__((format(printf, 2, 3)));
static const char *fmt(out_t *o, const char *f, ...)
{
	va_list ap;
	int n;

	o->tmp.len = 0;
	va_start(ap, f);
	n = vsnprintf(NULL, 0, f, ap);
	va_end(ap);
	if (n < 0 || kluis_buf_grow(&o->tmp, (size_t)n + 1) < 0) {
		o->err = o->err ? o->err : kluis_error_set(KLUIS_EGENERIC, "out of memory");
		return "";
	}
	va_start(ap, f);
	vsnprintf((char *)o->tmp.ptr, (size_t)n + 1, f, ap);
	va_end(ap);
	o->tmp.len = (size_t)n;
	return (const char *)o->tmp.ptr;
}

static void heading(out_t *o, int level, const char *s)
{
	size_t w = columns(s, strlen(s));

	if (o->html) {
		tag(o, level == 1 ? "<h1>" : "</section>\n<section>\n<h2>", s, level == 1 ? "</h1>\n" : "</h2>\n");
		return;
	}
	tag(o, "", s, "\n");
	while (w--)
		puts_raw(o, level == 1 ? "=" : "-");
	puts_raw(o, level == 1 ? "\n\n" : "\n");
}

/* A paragraph; in text wrapped at WRAP columns, keeping the line breaks it has. */
static void para(out_t *o, const char *s, bool note)
{
	size_t col = 0, w;

	if (o->html) {
		tag(o, note ? "<p class=\"note\">" : "<p>", s, "</p>\n");
		return;
	}
	while (*s) {
		if (*s == '\n' || *s == ' ') {
			if (*s == '\n')
				puts_raw(o, "\n");
			col = *s == '\n' ? 0 : col;
			s++;
			continue;
		}
		w = strcspn(s, " \n");
		if (col && col + 1 + columns(s, w) > WRAP) {
			puts_raw(o, "\n");
			col = 0;
		}
		if (col) {
			puts_raw(o, " ");
			col++;
		}
		put_value(o, s, w);
		col += columns(s, w);
		s += w;
	}
	puts_raw(o, "\n\n");
}

/* A block of fields, under a heading (id and title) unless id is NULL. */
static void item(out_t *o, const char *id, const char *title)
{
	if (o->html) {
		puts_raw(o, "<div class=\"item\">");
		if (id)
			tag(o, "<h3><code>", id, "</code> ");
		if (id && title)
			puts_value(o, title);
		puts_raw(o, id ? "</h3>\n<table>\n" : "\n<table>\n");
	} else if (id) {
		tag(o, "* ", id, title ? "  " : "\n");
		if (title)
			tag(o, "", title, "\n");
	}
}

static void item_end(out_t *o)
{
	puts_raw(o, o->html ? "</table></div>\n" : "\n");
}

static void field(out_t *o, const char *name, const char *value)
{
	size_t w = columns(name, strlen(name));

	if (o->html) {
		tag(o, "<tr><th>", name, "</th>");
		tag(o, "<td>", value, "</td></tr>\n");
		return;
	}
	tag(o, "    ", name, ": ");
	for (; w < 26; w++)
		puts_raw(o, " ");
	tag(o, "", value, "\n");
}

static void row(out_t *o, const char *const *cells, bool head)
{
	int i;

	puts_raw(o, o->html ? "<tr>" : "  ");
	for (i = 0; i < o->ncols; i++) {
		const char *v = cells[i] ? cells[i] : "-";
		if (o->html) {
			tag(o, head ? "<th>" : "<td>", v, head ? "</th>" : "</td>");
			continue;
		}
		puts_value(o, v);
		for (size_t w = columns(v, strlen(v)); i < o->ncols - 1 && w < (size_t)o->widths[i] + 2; w++)
			puts_raw(o, " ");
	}
	puts_raw(o, o->html ? "</tr>\n" : "\n");
}

/* "2026-11-22T10:15:00Z" as "2026-11-22 10:15 UTC" */
static const char *when(const char *iso, char out[24])
{
	if (!iso || strlen(iso) != 20)
		return "-";
	snprintf(out, 24, "%.10s %.5s UTC", iso, iso + 11);
	return out;
}

/* ---- the report's sections ---- */

static const char *S(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static void render_head(out_t *o, const json_t *m)
{
	const json_t *by = json_object_get(m, "requested_by");
	char w[24];

	heading(o, 1, fmt(o, "%s %s", T(o, M_TITLE), S(m, "dossier")));
	para(o, fmt(o, "%s %s. %s: %s, %s %s.", T(o, M_MADE), when(S(m, "generated"), w), T(o, M_BY),
		    label(roles_short, S(by, "role"), o->lang), T(o, M_WITH_KEY), S(by, "key")), true);
	para(o, T(o, M_INTRO), false);
	para(o, T(o, M_PURPOSE), false);
	heading(o, 2, "Traject");
	para(o, S(m, "traject") ? S(m, "traject") : T(o, M_TRAJECT_NONE), false);
	if (S(m, "birth_date"))
		para(o, fmt(o, "%s %s.", T(o, M_BORN), S(m, "birth_date")), false);
	if (json_is_true(json_object_get(m, "represented")))
		para(o, T(o, M_REPRESENTED), false);
	heading(o, 2, T(o, M_PARTIES_H));
	para(o, T(o, M_PARTIES_P), false);
	for (size_t i = 0; i < json_array_size(json_object_get(m, "parties")); i++) {
		const json_t *p = json_array_get(json_object_get(m, "parties"), i);
		item(o, S(p, "role"), label(roles_long, S(p, "role"), o->lang));
		field(o, T(o, M_KEY), S(p, "key"));
		item_end(o);
	}
}

static void render_entry(out_t *o, const json_t *e)
{
	const char *origin = S(e, "origin"), *colon = origin ? strchr(origin, ':') : NULL;
	const json_t *rcp = json_object_get(e, "recipients"), *size = json_object_get(e, "size");
	char w[24], names[640] = "";
	size_t i, len = 0;

	item(o, S(e, "id"), S(e, "title"));
	field(o, T(o, M_KIND), label(kinds, S(e, "kind"), o->lang));
	field(o, T(o, M_ADDED), when(S(e, "time"), w));
	field(o, T(o, M_BY_F), fmt(o, "%s, %s %.16s", label(roles_short, S(json_object_get(e, "added_by"), "role"), o->lang),
				   T(o, M_WITH_KEY), S(json_object_get(e, "added_by"), "key")));
	field(o, T(o, M_BASIS), S(e, "basis") ? label(bases, S(e, "basis"), o->lang) : T(o, M_NOT_RECORDED));
	field(o, T(o, M_CATEGORY), S(e, "special") ? fmt(o, "%s%s", T(o, M_SPECIAL), label(specials, S(e, "special"), o->lang))
						   : T(o, M_ORDINARY));
	if (colon)
		field(o, T(o, M_ORIGIN), fmt(o, "%s: %s", label(origins, "derde", o->lang), colon + 1));
	else
		field(o, T(o, M_ORIGIN), origin ? label(origins, origin, o->lang) : T(o, M_NOT_RECORDED));
	for (i = 0; i < json_array_size(rcp) && len < sizeof(names); i++)
		len += (size_t)snprintf(names + len, sizeof(names) - len, "%s%s", i ? "; " : "",
					label(roles_short, json_string_value(json_array_get(rcp, i)), o->lang));
	field(o, T(o, M_RECIPIENTS), names[0] ? names : "-");
	if (S(e, "filename"))
		field(o, T(o, M_FILE), fmt(o, "%s (%s)", S(e, "filename"), S(e, "content_type") ? S(e, "content_type") : "?"));
	if (json_is_integer(size))
		field(o, T(o, M_SIZE), fmt(o, "%lld bytes", (long long)json_integer_value(size)));
	if (S(e, "sha256"))
		field(o, "SHA-256", S(e, "sha256"));
	if (S(e, "supersedes"))
		field(o, T(o, M_CORRECTS), S(e, "supersedes"));
	if (S(e, "superseded_by"))
		field(o, T(o, M_CORRECTED_BY), S(e, "superseded_by"));
	item_end(o);
}

/* A list as a table of `n` columns of the given keys of each object of `arr`. */
static void render_list(out_t *o, const json_t *arr, int n, const int *widths, const char *const *heads, const char *const *keys)
{
	const char *cells[5];
	char w[5][24];
	size_t i;
	int k;

	if (!json_array_size(arr)) {
		para(o, T(o, M_NONE), false);
		return;
	}
	o->ncols = n;
	o->widths = widths;
	puts_raw(o, o->html ? "<table class=\"list\">\n" : "");
	row(o, heads, true);
	for (i = 0; i < json_array_size(arr); i++) {
		const json_t *x = json_array_get(arr, i);
		for (k = 0; k < n; k++) {
			const json_t *v = json_object_get(x, keys[k]);
			cells[k] = json_string_value(v);
			if (cells[k] && strlen(cells[k]) == 20 && cells[k][10] == 'T')
				cells[k] = when(cells[k], w[k]);
			else if (json_is_boolean(v))
				cells[k] = json_is_true(v) ? T(o, M_CURRENT) : T(o, M_OUTDATED);
			else if (strcmp(keys[k], "key") == 0 && cells[k] && snprintf(w[k], sizeof(w[k]), "%.16s", cells[k]) > 0)
				cells[k] = w[k];
			else if (strcmp(keys[k], "role") == 0)
				cells[k] = label(roles_short, cells[k], o->lang);
			else if (strcmp(keys[k], "entry") == 0 && !cells[k])
				cells[k] = T(o, M_WHOLE);
		}
		row(o, cells, false);
	}
	puts_raw(o, o->html ? "</table>\n" : "\n");
}

static void render_rest(out_t *o, const json_t *m)
{
	static const int w2[] = { 21, 21 }, w3[] = { 21, 20, 10 }, w5[] = { 20, 26, 16, 12, 21 };
	const json_t *ret = json_object_get(m, "retention"), *x;
	char w[24];
	size_t i;

	heading(o, 2, T(o, M_CORR_H));
	render_list(o, json_object_get(m, "corrections"), 2, w2, (const char *const[]){ T(o, M_ENTRY), T(o, M_CORRECTS) },
		    (const char *const[]){ "entry", "supersedes" });
	heading(o, 2, T(o, M_ERASE_H));
	para(o, T(o, M_ERASE_P), false);
	render_list(o, json_object_get(m, "erasures"), 2, w2, (const char *const[]){ T(o, M_ENTRY), T(o, M_ERASED_ON) },
		    (const char *const[]){ "entry", "erased" });
	heading(o, 2, T(o, M_APPR_H));
	render_list(o, json_object_get(m, "approvals"), 3, w3, (const char *const[]){ T(o, M_ENTRY), T(o, M_DATE), T(o, M_STATUS) },
		    (const char *const[]){ "entry", "time", "current" });
	heading(o, 2, T(o, M_CONS_H));
	if (!json_array_size(json_object_get(m, "consents")))
		para(o, T(o, M_NONE), false);
	json_array_foreach(json_object_get(m, "consents"), i, x) {
		item(o, S(x, "entry"), json_is_true(json_object_get(x, "granted")) ? T(o, M_GRANTED) : T(o, M_WITHDRAWN));
		field(o, T(o, M_DATE), when(S(x, "time"), w));
		field(o, T(o, M_PURPOSE_F), S(x, "purpose"));
		field(o, T(o, M_SCOPE), S(x, "scope"));
		field(o, T(o, M_TO_OPDR), json_is_true(json_object_get(x, "to_opdrachtgever")) ? T(o, M_YES) : T(o, M_NO));
		item_end(o);
	}
	heading(o, 2, T(o, M_RET_H));
	item(o, NULL, NULL);
	field(o, T(o, M_STATE), label(states, S(ret, "state"), o->lang));
	field(o, T(o, M_CREATED), when(S(ret, "created"), w));
	if (S(ret, "closed"))
		field(o, T(o, M_CLOSED), when(S(ret, "closed"), w));
	field(o, T(o, M_YEARS), fmt(o, "%d %s (%s)", (int)json_integer_value(json_object_get(ret, "retention_years")),
				    o->lang == KLUIS_LANG_EN ? "years" : "jaar",
				    strcmp(S(ret, "rule") ? S(ret, "rule") : "", "W7") ? "art. 13.2" : "Werklokaal art. 7"));
	field(o, T(o, M_DEADLINE), S(ret, "deadline") ? when(S(ret, "deadline"), w) : T(o, M_FROM_END));
	item_end(o);
	para(o, T(o, M_RET_P), false);
	heading(o, 2, T(o, M_READS_H));
	para(o, T(o, M_READS_P), false);
	render_list(o, json_object_get(m, "consultations"), 5, w5,
		    (const char *const[]){ T(o, M_DATE), T(o, M_ROLE), T(o, M_KEY), T(o, M_PURPOSE_F), T(o, M_ENTRY) },
		    (const char *const[]){ "time", "role", "key", "purpose", "entry" });
	heading(o, 2, T(o, M_RIGHTS_H));
	para(o, T(o, M_RIGHTS_P), false);
}

static const char css[] =
	"body{font-family:\"DejaVu Sans\",\"Liberation Sans\",Arial,sans-serif;color:#1b1b1b;background:#fff;margin:0;line-height:1.45}"
	"main{max-width:60rem;margin:0 auto;padding:2rem 1.5rem}"
	"h1{font-size:1.6rem;color:#12355b;margin:0 0 .4rem}"
	"h2{font-size:1.2rem;color:#12355b;margin:1.8rem 0 .6rem;padding-bottom:.2rem;border-bottom:2px solid #12355b}"
	"h3{font-size:1rem;margin:0 0 .4rem}p{white-space:pre-line;margin:.4rem 0}.note{color:#555}"
	"table{border-collapse:collapse;width:100%;font-size:.92rem}"
	"th,td{text-align:left;vertical-align:top;padding:.25rem .5rem;border-bottom:1px solid #e1e5ea;white-space:pre-line;"
	"overflow-wrap:anywhere}"
	".list th{background:#eef2f6}.item{border:1px solid #cfd8e3;border-radius:6px;padding:.7rem 1rem;margin:.7rem 0}"
	".item th{width:13rem;color:#444;font-weight:600}code{font-family:\"DejaVu Sans Mono\",monospace;font-size:.9em}"
	"@media print{main{max-width:none;padding:0}.item,tr{break-inside:avoid}h2{break-after:avoid}}";

static void render(out_t *o, const json_t *m)
{
	size_t i;
	const json_t *e;

	if (o->html) {
		puts_raw(o, o->lang == KLUIS_LANG_EN ? "<!DOCTYPE html>\n<html lang=\"en\">\n" : "<!DOCTYPE html>\n<html lang=\"nl\">\n");
		puts_raw(o, "<head>\n<meta charset=\"utf-8\">\n<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
			    "style-src 'unsafe-inline'\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>");
		tag(o, "", fmt(o, "%s %s", T(o, M_TITLE), S(m, "dossier")), "</title>\n<style>");
		puts_raw(o, css);
		puts_raw(o, "</style>\n</head>\n<body>\n<main>\n<section>\n");
	}
	render_head(o, m);
	heading(o, 2, T(o, M_ENTRIES_H));
	para(o, T(o, M_ENTRIES_P), false);
	if (!json_array_size(json_object_get(m, "entries")))
		para(o, T(o, M_NONE), false);
	json_array_foreach(json_object_get(m, "entries"), i, e)
		render_entry(o, e);
	render_rest(o, m);
	para(o, fmt(o, "kluis %s, %s %lld", KLUIS_VERSION, o->lang == KLUIS_LANG_EN ? "report version" : "rapportversie",
		    (long long)json_integer_value(json_object_get(m, "version"))), true);
	if (o->html)
		puts_raw(o, "</section>\n</main>\n</body>\n</html>\n");
}

/* ---- the API ---- */

int kluis_inzage_authorize(kluis_dossier *d, const char *what, unsigned *role)
{
	const char *actor;
	char who[96];
	unsigned held, bit;
	int err;

	if ((err = kluis_vault_actor(d->vault, &actor)) < 0)
		return err;
	/* after the transfer the opdrachtgever holds the dossier and answers the klant (W7, P10) */
	held = kluis_roles_of(&d->roles, actor) & (KLUIS_ROLES_INZAGE | (d->held ? KLUIS_ROLE_OPDRACHTGEVER : 0));
	if (!held) {
		kluis_roles_mask_describe(KLUIS_ROLES_INZAGE, who, sizeof(who));
		return kluis_error_set(KLUIS_EACCESS, "only the %s of dossier '%s' may ask for %s; key %.16s is none of them", who, d->id,
				       what, actor);
	}
	for (bit = 1; !(held & bit); bit <<= 1)
		;
	*role = bit;
	return 0;
}

int kluis_inzage_report(kluis_dossier *d, kluis_inzage_format format, kluis_lang lang, kluis_buf *out)
{
	kluis_dossier_contents c;
	json_t *m = NULL;
	out_t o;
	unsigned role = 0; /* set by kluis_inzage_authorize; gcc -O2 cannot see it (maybe-uninitialized) */
	int err;

	memset(&c, 0, sizeof(c));
	out->secret = true;
	if ((err = kluis_inzage_authorize(d, "an inzage", &role)) < 0)
		return err;
	if ((err = kluis_dossier_read_all(d, "inzage", &c)) < 0 || (err = kluis_dossier_model(d, "inzage", role, &c, &m)) < 0)
		goto cleanup;
	if (format == KLUIS_INZAGE_JSON) {
		err = kluis_json_to_buf(m, out);
		goto cleanup;
	}
	memset(&o, 0, sizeof(o));
	o.b = out;
	o.tmp.secret = true;
	o.html = format == KLUIS_INZAGE_HTML;
	o.lang = lang;
	render(&o, m);
	err = o.err;
	kluis_buf_dispose(&o.tmp);
cleanup:
	json_decref(m);
	kluis_dossier_contents_dispose(&c);
	return err;
}
