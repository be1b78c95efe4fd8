/*
 * inzage.c - the klant's access report (see inzage.h).
 *
 * One model, three renderings: the dossier is read once (kluis_dossier_read_all, one signed
 * access record) and turned into the dossier model of export.h, which is the JSON report
 * (docs/EXPORT_SCHEMA.md); the text and HTML forms are rendered from that same object, so the
 * three cannot tell different stories. The export's index.html is the same HTML rendering.
 *
 * The text and HTML are written for the klant, who reads them in minutes: plain words (no
 * codes; a basis or origin shown only where it was recorded), names beside roles (names.h),
 * Amsterdam time, the rights and where to complain; article numbers, ids, fingerprints,
 * digests and commits only in the appendix at the end (and the articles once in the rights).
 *
 * Invariants: nothing is logged or decrypted for an actor outside klant, medewerker and
 * directie; the report only ever lives in the caller's secret buffer; in HTML every value is
 * escaped (& < > " ' and control characters) and the page loads nothing and runs nothing (a
 * Content-Security-Policy of default-src 'none' says so to the browser as well).
 */
#include "vault/report/inzage.h"
#include "vault/report/export.h"
#include "vault/store/internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* ---- words, in Dutch and English ---- */

struct label {
	const char *code, *nl, *en;
};

static const struct label kinds[] = {
	{ "note", "aantekening", "note" }, { "contact", "contactmoment", "contact" },
	{ "circumstance", "persoonlijke omstandigheid", "personal circumstance" }, { "document", "ingebracht stuk", "document" },
	{ "correspondence", "correspondentie", "correspondence" }, { "plan", "trajectplan", "plan" },
	{ "report", "rapportage", "report" }, { "consent", "toestemming", "consent" },
	{ "statement", "uw eigen verklaring", "your own statement" }, { "correction", "correctie", "correction" },
	{ "request", "verzoek", "request" }, { NULL, NULL, NULL },
};
static const struct label bases[] = {
	{ "consent", "u heeft er toestemming voor gegeven", "you consented to it" },
	{ "contract", "nodig om de afspraken met u uit te voeren", "needed to carry out what was agreed with you" },
	{ "legal", "de wet verplicht de organisatie ertoe", "the law requires it" },
	{ "vital", "nodig om u te beschermen", "needed to protect you" },
	{ "interest", "een gerechtvaardigd belang van de organisatie of een ander", "a legitimate interest of the organisation or another" },
	{ NULL, NULL, NULL },
};
static const struct label specials[] = {
	{ "health", "gezondheid", "health" }, { "religion", "godsdienst of levensovertuiging", "religion or belief" },
	{ "race", "ras of etnische afkomst", "racial or ethnic origin" }, { "politics", "politieke voorkeur", "political opinions" },
	{ "sexual", "seksueel leven", "sex life" }, { "union", "lidmaatschap van een vakbond", "trade union membership" },
	{ "criminal", "strafrechtelijke gegevens", "criminal records" }, { "biometric", "biometrische gegevens", "biometric data" },
	{ "genetic", "genetische gegevens", "genetic data" }, { "algemeen", "uw gegevens in het algemeen", "your data in general" },
	{ NULL, NULL, NULL },
};
/* who a role is, beside a name */
static const struct label roles_short[] = {
	{ "klant", "u zelf", "yourself" }, { "medewerker", "adviseur", "adviser" }, { "directie", "directie", "management" },
	{ "opdrachtgever", "opdrachtgever", "commissioning party" }, { "vertegenwoordiger", "uw vertegenwoordiger", "your representative" },
	{ "auditor", "controleur", "auditor" }, { NULL, NULL, NULL },
};
/* who may see an entry */
static const struct label recipients[] = {
	{ "klant", "u", "you" }, { "medewerker", "uw adviseur", "your adviser" },
	{ "directie", "de directie van de organisatie", "the organisation's management" },
	{ "opdrachtgever", "de opdrachtgever (bijvoorbeeld UWV of de gemeente)", "the commissioning party (e.g. UWV or the municipality)" },
	{ "vertegenwoordiger", "uw wettelijk vertegenwoordiger", "your legal representative" }, { NULL, NULL, NULL },
};
static const struct label roles_long[] = {
	{ "klant", "u zelf", "yourself" },
	{ "medewerker", "uw adviseur bij de organisatie, die uw traject begeleidt", "your adviser at the organisation, who guides your traject" },
	{ "directie", "de directie van de organisatie, die eindverantwoordelijk is", "the organisation's management, responsible in the end" },
	{ "opdrachtgever", "de opdrachtgever die het traject betaalt, bijvoorbeeld UWV of de gemeente",
	  "the party that pays for the traject, for example UWV or the municipality" },
	{ "vertegenwoordiger", "uw wettelijk vertegenwoordiger", "your legal representative" },
	{ "auditor", "controleert of alles goed is vastgelegd, maar kan de inhoud niet lezen", "checks the records but cannot read the content" },
	{ NULL, NULL, NULL },
};
static const struct label origins[] = {
	{ "medewerker", "uw adviseur", "your adviser" }, { "klant", "uzelf", "yourself" },
	{ "opdrachtgever", "de opdrachtgever", "the commissioning party" }, { "derde", "een derde", "a third party" }, { NULL, NULL, NULL },
};
static const struct label states[] = {
	{ "open", "uw traject loopt nog", "your traject is running" }, { "closed", "uw traject is afgesloten", "your traject has ended" },
	{ "imported", "overgedragen aan de opdrachtgever", "transferred to the commissioning party" }, { NULL, NULL, NULL },
};
static const struct label purposes[] = {
	{ "begeleiding", "begeleiding van uw traject", "guiding your traject" }, { "inzage", "inzage (een overzicht als dit)", "an access report like this" },
	{ "export", "een kopie van uw gegevens", "a copy of your data" }, { "register", "een verzoek behandelen", "handling a request" },
	{ "toestemming", "uw toestemmingen nagaan", "checking your consents" },
	{ "vertegenwoordiging", "nagaan of u vertegenwoordigd wordt", "checking whether you are represented" },
	{ "rewrap", "de toegang opnieuw instellen", "setting access anew" }, { NULL, NULL, NULL },
};
static const char *const months[2][12] = {
	{ "januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober", "november", "december" },
	{ "January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December" },
};

enum {
	M_TITLE, M_TITLE_COPY, M_COPY_P, M_MADE, M_INTRO, M_TRAJECT_H, M_TRAJECT_NONE, M_BORN, M_REPRESENTED, M_PARTIES_H, M_PARTIES_P,
	M_ENTRIES_H, M_ENTRIES_P, M_NONE, M_WHAT, M_ADDED, M_WHY, M_SPECIAL, M_ORIGIN, M_RECIPIENTS, M_FILE, M_IN_COPY,
	M_CORRECTS, M_CORRECTED_BY, M_APPROVED, M_APPROVED_OLD, M_SEEN, M_CONTENT, M_CONTENT_FILE, M_CORRECTION_OF, M_OF,
	M_ERASE_H, M_ERASE_P, M_CONS_H, M_CONS_NONE, M_CONS_FOR, M_GRANTED, M_WITHDRAWN, M_PURPOSE_F, M_TO_OPDR, M_YES, M_NO,
	M_RET_H, M_STATE, M_CREATED, M_CLOSED, M_YEARS, M_DEADLINE, M_FROM_END, M_RET_P, M_READS_H, M_READS_P, M_WHEN, M_WHO,
	M_WHAT_READ, M_WHOLE, M_RIGHTS_H, M_RIGHTS_P, M_RIGHTS_L, M_HOW, M_HOW_ORG, M_FG, M_FG_NONE, M_COMPLAIN,
	M_APX_H, M_APX_P, M_DOSSIER, M_UTC, M_KEY, M_ID, M_COMMIT, M_SIZE, M_TYPE, M_LAW, M_LAW_P, M_SIGNED, M__COUNT
};
static const char *const msgs[M__COUNT][2] = {
	[M_TITLE] = { "Inzage in uw dossier", "Your dossier: access report" },
	[M_TITLE_COPY] = { "Kopie van uw dossier", "Your dossier: a copy" },
	[M_COPY_P] = { "Dit overzicht hoort bij de kopie van uw gegevens: elk onderdeel staat als bestand in de map \"gegevens\", "
		"zoals het is vastgelegd.",
		"This overview comes with the copy of your data: every part is a file in the folder \"gegevens\", as it was "
		"recorded." },
	[M_MADE] = { "Opgesteld op %s, op verzoek van %s.", "Made on %s, at the request of %s." },
	[M_INTRO] = { "In dit dossier staan gegevens over u. Hieronder leest u welke gegevens dat zijn, wie ze heeft vastgelegd en "
		"waarom, wie ze mag inzien, hoe lang ze bewaard worden en wie ze heeft bekeken. Daarna leest u welke rechten u "
		"heeft en hoe u ze gebruikt. De technische verantwoording staat in de bijlage achteraan. Alle tijden zijn "
		"Nederlandse tijd.",
		"This dossier holds data about you. Below you read which data that is, who recorded it and why, who may see it, "
		"how long it is kept and who looked at it. Then you read your rights and how to use them. The technical proof is "
		"in the appendix at the end. All times are Dutch local time." },
	[M_TRAJECT_H] = { "Uw traject", "Your traject" },
	[M_TRAJECT_NONE] = { "Er is geen omschrijving van uw traject vastgelegd.", "No description of your traject was recorded." },
	[M_BORN] = { "Uw geboortedatum is vastgelegd, alleen om te weten of u zelf toestemming mag geven: %s.",
		"Your date of birth is recorded, only to know whether you may give consent yourself: %s." },
	[M_REPRESENTED] = { "U wordt vertegenwoordigd (curatele of mentorschap): toestemming geeft uw wettelijk vertegenwoordiger.",
		"You are represented (curatele or mentorship): consent is given by your legal representative." },
	[M_PARTIES_H] = { "Wie met uw dossier werkt", "Who works with your dossier" },
	[M_PARTIES_P] = { "Alleen deze mensen en organisaties hebben een sleutel tot uw dossier. Wat ieder van hen mag lezen, staat "
		"bij elk onderdeel hieronder.",
		"Only these people and organisations hold a key to your dossier. What each of them may read is listed with "
		"every part below." },
	[M_ENTRIES_H] = { "Wat er in uw dossier staat", "What your dossier holds" },
	[M_ENTRIES_P] = { "Van oud naar nieuw. Bij elk onderdeel staat wat het is, wie het wanneer vastlegde en waarom (als dat is "
		"vastgelegd), wie het mag inzien en wie het heeft bekeken.",
		"Oldest first. With every part: what it is, who recorded it when and why (where that was recorded), who may see "
		"it and who looked at it." },
	[M_NONE] = { "Geen.", "None." }, [M_WHAT] = { "Wat het is", "What it is" }, [M_ADDED] = { "Vastgelegd", "Recorded" },
	[M_WHY] = { "Waarom", "Why" }, [M_SPECIAL] = { "Bijzondere gegevens", "Sensitive data" },
	[M_ORIGIN] = { "Afkomstig van", "Came from" }, [M_RECIPIENTS] = { "Wie het mag inzien", "Who may see it" },
	[M_FILE] = { "Bestand", "File" }, [M_IN_COPY] = { "In deze kopie", "In this copy" },
	[M_CORRECTS] = { "Verbetert", "Corrects" }, [M_CORRECTED_BY] = { "Later verbeterd", "Corrected later" },
	[M_APPROVED] = { "Door u goedgekeurd", "Approved by you" },
	[M_APPROVED_OLD] = { "%s (daarna verbeterd)", "%s (corrected afterwards)" },
	[M_SEEN] = { "Bekeken", "Looked at" }, [M_CONTENT] = { "Inhoud", "Content" },
	[M_CONTENT_FILE] = { "een bestand; u vindt het in de kopie van uw gegevens (kluis export)",
		"a file; you find it in the copy of your data (kluis export)" },
	[M_CORRECTION_OF] = { "Verbetering van \"%s\"", "Correction of \"%s\"" }, [M_OF] = { "%s (%s)", "%s (%s)" },
	[M_ERASE_H] = { "Verwijderde gegevens", "Erased data" },
	[M_ERASE_P] = { "De inhoud van deze onderdelen is uit uw dossier verwijderd. Alleen dat het gebeurde en wanneer, blijft bewaard.",
		"The content of these parts was removed from your dossier. Only that it happened, and when, is kept." },
	[M_CONS_H] = { "Uw toestemmingen", "Your consents" },
	[M_CONS_NONE] = { "U heeft (nog) geen toestemming gegeven of ingetrokken.", "You have not given or withdrawn any consent." },
	[M_CONS_FOR] = { "Toestemming voor %s", "Consent for %s" },
	[M_GRANTED] = { "Gegeven op", "Given on" }, [M_WITHDRAWN] = { "Ingetrokken op", "Withdrawn on" },
	[M_PURPOSE_F] = { "Waarvoor", "What for" }, [M_TO_OPDR] = { "Ook voor de opdrachtgever", "Also for the commissioning party" },
	[M_YES] = { "ja", "yes" }, [M_NO] = { "nee", "no" },
	[M_RET_H] = { "Hoe lang uw gegevens bewaard worden", "How long your data is kept" },
	[M_STATE] = { "Stand", "Now" }, [M_CREATED] = { "Dossier aangelegd", "Dossier made" },
	[M_CLOSED] = { "Traject afgesloten", "Traject ended" }, [M_YEARS] = { "Bewaartermijn", "Kept for" },
	[M_DEADLINE] = { "Uiterlijk vernietigd op", "Destroyed by" },
	[M_FROM_END] = { "de termijn begint als uw traject afloopt", "the period starts when your traject ends" },
	[M_RET_P] = { "De organisatie verwijdert uw gegevens in principe 2 jaar na het einde van de begeleiding. Na afloop van het "
		"traject gaat het dossier naar de opdrachtgever, die het 10 jaar bewaart en daarna vernietigt.",
		"The organisation deletes your data, as a rule, 2 years after the end of its service. After the traject the dossier "
		"goes to the commissioning party, who keeps it for 10 years and then destroys it." },
	[M_READS_H] = { "Wie uw dossier heeft bekeken", "Who looked at your dossier" },
	[M_READS_P] = { "Elke keer dat iemand iets in uw dossier opent, wordt vastgelegd wie, wanneer en waarom. Dit overzicht staat er "
		"zelf ook bij.",
		"Every time someone opens something in your dossier, who, when and why is recorded. This report is listed too." },
	[M_WHEN] = { "Wanneer", "When" }, [M_WHO] = { "Wie", "Who" }, [M_WHAT_READ] = { "Wat", "What" },
	[M_WHOLE] = { "het hele dossier", "the whole dossier" },
	[M_RIGHTS_H] = { "Uw rechten", "Your rights" },
	[M_RIGHTS_P] = { "Volgens de Algemene verordening gegevensbescherming (AVG) en het privacyreglement van de organisatie "
		"(artikel 10 tot en met 12) heeft u deze rechten:",
		"Under the General Data Protection Regulation (GDPR) and the organisation's privacy regulations (articles 10 to "
		"12) you have these rights:" },
	[M_RIGHTS_L] = { "- Inzage: u mag altijd opnieuw vragen welke gegevens over u zijn vastgelegd.\n"
		"- Verbetering en aanvulling: klopt er iets niet of ontbreekt er iets, dan vraagt u het te verbeteren of aan te vullen. "
		"U mag ook een eigen verklaring laten opnemen.\n"
		"- Verwijdering: u mag vragen gegevens te verwijderen die niet (meer) nodig zijn.\n"
		"- Beperking en bezwaar: u mag vragen het gebruik van uw gegevens te beperken, of er bezwaar tegen maken.\n"
		"- Toestemming intrekken: een toestemming die u gaf, mag u altijd intrekken.\n"
		"- Een kopie: u mag uw gegevens in een gangbare vorm krijgen, om mee te nemen.",
		"- Access: you may always ask again which data about you is recorded.\n"
		"- Correction: if something is wrong or missing, ask for it to be corrected or completed. You may also have your "
		"own statement added.\n"
		"- Erasure: you may ask for data that is not (or no longer) needed to be erased.\n"
		"- Restriction and objection: you may ask to limit the use of your data, or object to it.\n"
		"- Withdrawing consent: you may always withdraw a consent you gave.\n"
		"- A copy: you may receive your data in a common form, to take with you." },
	[M_HOW] = { "Hoe: vraag het uw adviseur. De organisatie antwoordt binnen vier weken.",
		"How: ask your adviser. The organisation answers within four weeks." },
	[M_HOW_ORG] = { "Hoe: vraag het uw adviseur, of wend u tot %s: %s. De organisatie antwoordt binnen vier weken.",
		"How: ask your adviser, or contact %s: %s. The organisation answers within four weeks." },
	[M_FG] = { "De functionaris gegevensbescherming van de organisatie: %s.", "The organisation's data protection officer: %s." },
	[M_FG_NONE] = { "Vraag uw adviseur wie bij de organisatie de functionaris gegevensbescherming is.",
		"Ask your adviser who the organisation's data protection officer is." },
	[M_COMPLAIN] = { "Een klacht: bent u het niet eens met hoe de organisatie met uw gegevens omgaat, zeg het dan eerst de "
		"organisatie. Komt u er samen niet uit, dan kunt u een klacht indienen bij de Autoriteit Persoonsgegevens: "
		"www.autoriteitpersoonsgegevens.nl.",
		"A complaint: if you disagree with how the organisation handles your data, tell the organisation first. If that "
		"does not solve it, you can complain to the Dutch Data Protection Authority (Autoriteit Persoonsgegevens): "
		"www.autoriteitpersoonsgegevens.nl." },
	[M_APX_H] = { "Bijlage: technische verantwoording", "Appendix: technical proof" },
	[M_APX_P] = { "Voor wie het wil controleren. Elke vastlegging is digitaal ondertekend; met deze nummers en vingerafdrukken "
		"kan een deskundige (kluis verify) nagaan dat dit overzicht klopt. Tijden hier in UTC.",
		"For whoever wants to check. Every record is digitally signed; with these numbers and fingerprints an expert "
		"(kluis verify) can check this report. Times here in UTC." },
	[M_SIGNED] = { "Ondertekende raadplegingen en akkoorden:", "Signed consultations and approvals:" },
	[M_DOSSIER] = { "Dossiernummer", "Dossier number" }, [M_UTC] = { "Opgesteld (UTC)", "Made (UTC)" },
	[M_KEY] = { "Sleutel", "Key" }, [M_ID] = { "Nummer", "Number" }, [M_COMMIT] = { "Vastlegging (git)", "Record (git)" },
	[M_SIZE] = { "Omvang", "Length" }, [M_TYPE] = { "Bestandstype", "File type" },
	[M_LAW] = { "Grondslagen", "References" },
	[M_LAW_P] = { "Privacyreglement van de organisatie: art. 3 (doel), 4 (toestemming en vertegenwoordiging), 6.4 (grondslag), "
		"8 (bijzondere gegevens), 10 (inzage), 11 (verbetering en verwijdering), 12 (kopie), 13 (bewaartermijn). "
		"Werklokaal: art. 5a (herkomst), 5b (toestemming), 6b (eigen verklaring), 7 (overdracht en bewaren).",
		"The organisation's privacy regulations: art. 3 (purpose), 4 (consent and representation), 6.4 (legal basis), "
		"8 (special categories), 10 (access), 11 (correction and erasure), 12 (portability), 13 (retention). "
		"Werklokaal: art. 5a (origin), 5b (consent), 6b (own statement), 7 (transfer and retention)." },
};

static const char *label(const struct label *t, const char *code, kluis_lang lang)
{
	for (; code && t->code; t++)
		if (strcmp(t->code, code) == 0)
			return lang == KLUIS_LANG_EN ? t->en : t->nl;
	return code ? code : "-";
}

const char *kluis_inzage_kind_label(const char *kind, kluis_lang lang)
{
	return label(kinds, kind, lang);
}

/*
 * Amsterdam's local time, by the EU rule (summer time from the last Sunday of March to the
 * last Sunday of October, 01:00 UTC both; so since 1996): no TZ in the environment to set
 * (setenv is process-wide and not thread-safe) and no dependence on the machine's zone files.
 */
static int64_t last_sunday(int year, int mon)
{
	struct tm tm = { .tm_year = year - 1900, .tm_mon = mon + 1, .tm_mday = 0, .tm_hour = 1 }, g;
	time_t t = timegm(&tm); /* day 0 of the next month: the last day of mon, 01:00 UTC */

	gmtime_r(&t, &g);
	return (int64_t)t - (int64_t)g.tm_wday * 86400;
}

void kluis_local_time(int64_t t, struct tm *out)
{
	time_t tt = (time_t)t;
	struct tm g;

	gmtime_r(&tt, &g);
	tt += t >= last_sunday(g.tm_year + 1900, 2) && t < last_sunday(g.tm_year + 1900, 9) ? 7200 : 3600;
	gmtime_r(&tt, out);
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

/*
 * A message with its "%s" replaced by a, then b, into o->tmp like fmt (the messages are data,
 * not literals the compiler could check as formats). a and b must not point into o->tmp.
 */
static const char *fill(out_t *o, const char *msg, const char *a, const char *b)
{
	const char *p = strstr(msg, "%s"), *q = p ? strstr(p + 2, "%s") : NULL;

	if (!p)
		return fmt(o, "%s", msg);
	if (!q)
		return fmt(o, "%.*s%s%s", (int)(p - msg), msg, a, p + 2);
	return fmt(o, "%.*s%s%.*s%s%s", (int)(p - msg), msg, a, (int)(q - p - 2), p + 2, b, q + 2);
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

/* A block of fields, under a heading unless title is NULL. */
static void item(out_t *o, const char *title, const char *cls)
{
	if (o->html) {
		tag(o, "<div class=\"", cls, "\">");
		if (title)
			tag(o, "<h3>", title, "</h3>");
		puts_raw(o, "\n<table>\n");
	} else if (title) {
		tag(o, "* ", title, "\n");
	}
}

static void item_end(out_t *o)
{
	puts_raw(o, o->html ? "</table></div>\n" : "\n");
}

/* A field; in text a value's later lines are indented under its first. */
static void field(out_t *o, const char *name, const char *value)
{
	size_t w = columns(name, strlen(name));
	const char *nl;

	if (o->html) {
		tag(o, "<tr><th>", name, "</th>");
		tag(o, "<td>", value, "</td></tr>\n");
		return;
	}
	tag(o, "    ", name, ": ");
	for (; w < 22; w++)
		puts_raw(o, " ");
	for (value = value ? value : "-"; (nl = strchr(value, '\n')); value = nl + 1) {
		put_value(o, value, (size_t)(nl - value));
		puts_raw(o, "\n                            ");
	}
	tag(o, "", value, "\n");
}

/* A field whose value links to a member of the export zip (percent-encoded in the href). */
static void field_link(out_t *o, const char *name, const char *file)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;
	char enc[4] = "%";

	if (!o->html) {
		field(o, name, file);
		return;
	}
	tag(o, "<tr><th>", name, "</th><td><a href=\"");
	for (p = (const unsigned char *)file; *p; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || strchr("/._-", *p)) {
			put(o, (const char *)p, 1);
			continue;
		}
		enc[1] = hex[*p >> 4];
		enc[2] = hex[*p & 15];
		put(o, enc, 3);
	}
	tag(o, "\">", file, "</a></td></tr>\n");
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

static void table(out_t *o, int n, const int *widths, const char *const *heads)
{
	o->ncols = n;
	o->widths = widths;
	puts_raw(o, o->html ? "<table class=\"list\">\n" : "");
	row(o, heads, true);
}

/* "2026-11-22T10:15:00Z" as "22 november 2026, 11:15" (Amsterdam), or "-" */
static const char *when(const char *iso, kluis_lang lang, char out[48])
{
	struct tm tm;
	int64_t t;

	if (!iso || kluis_time_parse(iso, &t) < 0)
		return "-";
	kluis_local_time(t, &tm);
	snprintf(out, 48, "%d %s %d, %02d:%02d", tm.tm_mday, months[lang == KLUIS_LANG_EN][tm.tm_mon], tm.tm_year + 1900, tm.tm_hour,
		 tm.tm_min);
	return out;
}

/* the date alone: "22 november 2026" */
static const char *day(const char *iso, kluis_lang lang, char out[48])
{
	char *comma;

	if (strcmp(when(iso, lang, out), "-") == 0)
		return "-";
	if ((comma = strchr(out, ',')))
		*comma = '\0';
	return out;
}

/* ---- the report's sections ---- */

static const char *S(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* "Marie Jansen (adviseur)" */
static const char *person(out_t *o, const json_t *who, char out[160])
{
	const char *name = S(who, "name") ? S(who, "name") : S(who, "key") ? S(who, "key") : "-";

	snprintf(out, 160, "%s (%s)", name, label(roles_short, S(who, "role"), o->lang));
	return out;
}

static const json_t *find_entry(const json_t *m, const char *id)
{
	size_t i;
	const json_t *e;

	json_array_foreach(json_object_get(m, "entries"), i, e)
		if (id && S(e, "id") && strcmp(S(e, "id"), id) == 0)
			return e;
	return NULL;
}

/* What a person calls an entry: its title, else "Verbetering van <title>", else its kind. */
static const char *entry_name(out_t *o, const json_t *m, const json_t *e, char out[256])
{
	const json_t *orig = find_entry(m, S(e, "supersedes"));

	if (S(e, "title") && *S(e, "title"))
		snprintf(out, 256, "%s", S(e, "title"));
	else if (orig && S(orig, "title"))
		snprintf(out, 256, "%s", fill(o, T(o, M_CORRECTION_OF), S(orig, "title"), NULL));
	else
		snprintf(out, 256, "%s", label(kinds, S(e, "kind"), o->lang));
	if (!(S(e, "title") && *S(e, "title")) && !orig && out[0] >= 'a' && out[0] <= 'z')
		out[0] = (char)(out[0] - 'a' + 'A');
	return out;
}

/* "<name>" of <date>, for a reference to another entry */
static const char *entry_ref(out_t *o, const json_t *m, const char *id, char out[320])
{
	const json_t *e = find_entry(m, id);
	char n[256], d[48];

	if (!e)
		return id ? id : "-";
	entry_name(o, m, e, n);
	snprintf(out, 320, "%s", fill(o, T(o, M_OF), n, day(S(e, "time"), o->lang, d)));
	return out;
}

/* "12 kB", "1,4 MB" */
static const char *human_size(json_int_t n, char out[32])
{
	if (n < 1000 * 1000)
		snprintf(out, 32, "%lld kB", (long long)(n + 999) / 1000);
	else
		snprintf(out, 32, "%lld,%lld MB", (long long)n / 1000000, (long long)(n % 1000000) / 100000);
	return out;
}

static void render_head(out_t *o, const json_t *m)
{
	const json_t *p;
	char w[48], who[160];
	size_t i;

	bool copy = S(m, "kluis") && strcmp(S(m, "kluis"), "export") == 0;

	heading(o, 1, copy ? T(o, M_TITLE_COPY) : T(o, M_TITLE));
	para(o, fill(o, T(o, M_MADE), when(S(m, "generated"), o->lang, w), person(o, json_object_get(m, "requested_by"), who)), true);
	para(o, T(o, M_INTRO), false);
	if (copy)
		para(o, T(o, M_COPY_P), false);
	heading(o, 2, T(o, M_TRAJECT_H));
	para(o, S(m, "traject") ? S(m, "traject") : T(o, M_TRAJECT_NONE), false);
	if (S(m, "birth_date"))
		para(o, fill(o, T(o, M_BORN), S(m, "birth_date"), NULL), false);
	if (json_is_true(json_object_get(m, "represented")))
		para(o, T(o, M_REPRESENTED), false);
	heading(o, 2, T(o, M_PARTIES_H));
	para(o, T(o, M_PARTIES_P), false);
	item(o, NULL, "item");
	json_array_foreach(json_object_get(m, "parties"), i, p)
		field(o, S(p, "name") ? S(p, "name") : S(p, "key"), label(roles_long, S(p, "role"), o->lang));
	item_end(o);
}

static void render_entry(out_t *o, const json_t *m, const json_t *e)
{
	const char *origin = S(e, "origin"), *colon = origin ? strchr(origin, ':') : NULL, *id = S(e, "id");
	const json_t *rcp = json_object_get(e, "recipients"), *x;
	char w[48], n[256], ref[320], who[160], size[32];
	kluis_buf seen = KLUIS_SECRET_BUF_INIT, names = KLUIS_SECRET_BUF_INIT;
	size_t i;

	item(o, entry_name(o, m, e, n), "item");
	field(o, T(o, M_WHAT), label(kinds, S(e, "kind"), o->lang));
	field(o, T(o, M_ADDED), fmt(o, "%s, %s", when(S(e, "time"), o->lang, w), person(o, json_object_get(e, "added_by"), who)));
	if (S(e, "basis"))
		field(o, T(o, M_WHY), label(bases, S(e, "basis"), o->lang));
	if (S(e, "special"))
		field(o, T(o, M_SPECIAL), label(specials, S(e, "special"), o->lang));
	if (colon)
		field(o, T(o, M_ORIGIN), fmt(o, "%s: %s", label(origins, "derde", o->lang), colon + 1));
	else if (origin)
		field(o, T(o, M_ORIGIN), label(origins, origin, o->lang));
	json_array_foreach(rcp, i, x)
		kluis_buf_printf(&names, "%s%s", i ? ", " : "", label(recipients, json_string_value(x), o->lang));
	field(o, T(o, M_RECIPIENTS), kluis_buf_cstr(&names) == 0 && names.len ? (const char *)names.ptr : "-");
	if (S(e, "filename"))
		field(o, T(o, M_FILE), json_is_integer(json_object_get(e, "size"))
					       ? fmt(o, "%s (%s)", S(e, "filename"), human_size(json_integer_value(json_object_get(e, "size")), size))
					       : S(e, "filename"));
	if (S(e, "file"))
		field_link(o, T(o, M_IN_COPY), S(e, "file"));
	if (S(e, "supersedes"))
		field(o, T(o, M_CORRECTS), entry_ref(o, m, S(e, "supersedes"), ref));
	if (S(e, "superseded_by"))
		field(o, T(o, M_CORRECTED_BY), entry_ref(o, m, S(e, "superseded_by"), ref));
	json_array_foreach(json_object_get(m, "approvals"), i, x)
		if (S(x, "entry") && strcmp(S(x, "entry"), id) == 0)
			field(o, T(o, M_APPROVED), json_is_true(json_object_get(x, "current")) ? when(S(x, "time"), o->lang, w)
												: fill(o, T(o, M_APPROVED_OLD), when(S(x, "time"), o->lang, w), NULL));
	json_array_foreach(json_object_get(m, "consultations"), i, x)
		if (S(x, "entry") && strcmp(S(x, "entry"), id) == 0)
			kluis_buf_printf(&seen, "%s%s, %s: %s", seen.len ? "\n" : "", when(S(x, "time"), o->lang, w), person(o, x, who),
					 label(purposes, S(x, "purpose"), o->lang));
	if (seen.len && kluis_buf_cstr(&seen) == 0)
		field(o, T(o, M_SEEN), (const char *)seen.ptr);
	if (S(e, "content"))
		field(o, T(o, M_CONTENT), S(e, "content"));
	else if (json_is_true(json_object_get(m, "with_contents")))
		field(o, T(o, M_CONTENT), T(o, M_CONTENT_FILE));
	item_end(o);
	kluis_buf_dispose(&seen);
	kluis_buf_dispose(&names);
}

static void render_rest(out_t *o, const json_t *m)
{
	static const int w4[] = { 26, 32, 34, 20 };
	const json_t *ret = json_object_get(m, "retention"), *x;
	char w[48], who[160], ref[320];
	size_t i;

	if (json_array_size(json_object_get(m, "erasures"))) {
		heading(o, 2, T(o, M_ERASE_H));
		para(o, T(o, M_ERASE_P), false);
		json_array_foreach(json_object_get(m, "erasures"), i, x)
			para(o, fmt(o, "- %s", when(S(x, "erased"), o->lang, w)), false);
	}
	heading(o, 2, T(o, M_CONS_H));
	if (!json_array_size(json_object_get(m, "consents")))
		para(o, T(o, M_CONS_NONE), false);
	json_array_foreach(json_object_get(m, "consents"), i, x) {
		item(o, fill(o, T(o, M_CONS_FOR), label(specials, S(x, "scope") ? S(x, "scope") : "algemeen", o->lang), NULL), "item");
		field(o, json_is_true(json_object_get(x, "granted")) ? T(o, M_GRANTED) : T(o, M_WITHDRAWN), when(S(x, "time"), o->lang, w));
		if (S(x, "purpose"))
			field(o, T(o, M_PURPOSE_F), S(x, "purpose"));
		field(o, T(o, M_TO_OPDR), json_is_true(json_object_get(x, "to_opdrachtgever")) ? T(o, M_YES) : T(o, M_NO));
		item_end(o);
	}
	heading(o, 2, T(o, M_RET_H));
	item(o, NULL, "item");
	field(o, T(o, M_STATE), label(states, S(ret, "state"), o->lang));
	field(o, T(o, M_CREATED), day(S(ret, "created"), o->lang, w));
	if (S(ret, "closed"))
		field(o, T(o, M_CLOSED), day(S(ret, "closed"), o->lang, w));
	field(o, T(o, M_YEARS), fmt(o, "%d %s", (int)json_integer_value(json_object_get(ret, "retention_years")),
				    o->lang == KLUIS_LANG_EN ? "years" : "jaar"));
	field(o, T(o, M_DEADLINE), S(ret, "deadline") ? day(S(ret, "deadline"), o->lang, w) : T(o, M_FROM_END));
	item_end(o);
	para(o, T(o, M_RET_P), false);
	heading(o, 2, T(o, M_READS_H));
	para(o, T(o, M_READS_P), false);
	table(o, 4, w4, (const char *const[]){ T(o, M_WHEN), T(o, M_WHO), T(o, M_PURPOSE_F), T(o, M_WHAT_READ) });
	json_array_foreach(json_object_get(m, "consultations"), i, x) {
		char t[48];
		const char *cells[4] = { when(S(x, "time"), o->lang, t), person(o, x, who), label(purposes, S(x, "purpose"), o->lang),
					 S(x, "entry") ? entry_ref(o, m, S(x, "entry"), ref) : T(o, M_WHOLE) };
		row(o, cells, false);
	}
	puts_raw(o, o->html ? "</table>\n" : "\n");
}

static void render_rights(out_t *o, const json_t *m)
{
	const json_t *org = json_object_get(m, "organisation");

	heading(o, 2, T(o, M_RIGHTS_H));
	para(o, T(o, M_RIGHTS_P), false);
	if (o->html) {
		/* the list as a list: each "- " line an item */
		const char *s = T(o, M_RIGHTS_L), *nl;
		puts_raw(o, "<ul>\n");
		for (; *s; s = nl + (*nl == '\n')) {
			nl = s + strcspn(s, "\n");
			puts_raw(o, "<li>");
			put_value(o, s + 2, (size_t)(nl - s - 2));
			puts_raw(o, "</li>\n");
		}
		puts_raw(o, "</ul>\n");
	} else {
		para(o, T(o, M_RIGHTS_L), false);
	}
	if (S(org, "contact"))
		para(o, fill(o, T(o, M_HOW_ORG), S(org, "name") ? S(org, "name") : o->lang == KLUIS_LANG_EN ? "the organisation" : "de organisatie",
			    S(org, "contact")), false);
	else
		para(o, T(o, M_HOW), false);
	para(o, S(org, "dpo") ? fill(o, T(o, M_FG), S(org, "dpo"), NULL) : T(o, M_FG_NONE), false);
	para(o, T(o, M_COMPLAIN), false);
}

static void render_appendix(out_t *o, const json_t *m)
{
	static const int w3[] = { 20, 40, 40 };
	const json_t *x;
	char n[256];
	size_t i;

	heading(o, 2, T(o, M_APX_H));
	if (o->html)
		puts_raw(o, "<div class=\"appendix\">\n");
	para(o, T(o, M_APX_P), false);
	item(o, NULL, "item");
	field(o, T(o, M_DOSSIER), S(m, "dossier"));
	field(o, T(o, M_UTC), S(m, "generated"));
	field(o, T(o, M_KEY), S(json_object_get(m, "requested_by"), "key"));
	json_array_foreach(json_object_get(m, "parties"), i, x)
		field(o, fmt(o, "%s (%s)", S(x, "name") ? S(x, "name") : "-", label(roles_short, S(x, "role"), o->lang)), S(x, "key"));
	item_end(o);
	json_array_foreach(json_object_get(m, "entries"), i, x) {
		item(o, entry_name(o, m, x, n), "item");
		field(o, T(o, M_ID), S(x, "id"));
		field(o, "UTC", S(x, "time"));
		field(o, T(o, M_COMMIT), S(x, "commit"));
		field(o, T(o, M_KEY), S(json_object_get(x, "added_by"), "key"));
		if (S(x, "sha256"))
			field(o, "SHA-256", S(x, "sha256"));
		if (json_is_integer(json_object_get(x, "size")))
			field(o, T(o, M_SIZE), fmt(o, "%lld byte", (long long)json_integer_value(json_object_get(x, "size"))));
		if (S(x, "content_type"))
			field(o, T(o, M_TYPE), S(x, "content_type"));
		item_end(o);
	}
	if (json_array_size(json_object_get(m, "erasures"))) {
		table(o, 2, w3, (const char *const[]){ T(o, M_ID), "UTC" });
		json_array_foreach(json_object_get(m, "erasures"), i, x)
			row(o, (const char *const[]){ S(x, "entry"), S(x, "erased") }, false);
		puts_raw(o, o->html ? "</table>\n" : "\n");
	}
	para(o, T(o, M_SIGNED), false);
	table(o, 3, w3, (const char *const[]){ "UTC", T(o, M_KEY), T(o, M_COMMIT) });
	json_array_foreach(json_object_get(m, "consultations"), i, x)
		row(o, (const char *const[]){ S(x, "time"), S(x, "key"), S(x, "commit") }, false);
	json_array_foreach(json_object_get(m, "approvals"), i, x)
		row(o, (const char *const[]){ S(x, "time"), S(x, "key"), S(x, "commit") }, false);
	puts_raw(o, o->html ? "</table>\n" : "\n");
	para(o, fmt(o, "%s: %s", T(o, M_LAW), T(o, M_LAW_P)), false);
	para(o, fmt(o, "kluis %s, %s %lld", KLUIS_VERSION, o->lang == KLUIS_LANG_EN ? "report version" : "rapportversie",
		    (long long)json_integer_value(json_object_get(m, "version"))), true);
	if (o->html)
		puts_raw(o, "</div>\n");
}

static const char css[] =
	"body{font-family:\"DejaVu Sans\",\"Liberation Sans\",Arial,sans-serif;color:#1b1b1b;background:#fff;margin:0;line-height:1.5;"
	"font-size:17px}"
	"main{max-width:50rem;margin:0 auto;padding:2rem 1.5rem}"
	"h1{font-size:1.8rem;color:#12355b;margin:0 0 .4rem}"
	"h2{font-size:1.3rem;color:#12355b;margin:2rem 0 .6rem;padding-bottom:.2rem;border-bottom:2px solid #12355b}"
	"h3{font-size:1.05rem;margin:0 0 .4rem}p{white-space:pre-line;margin:.5rem 0}.note{color:#555}li{margin:.2rem 0}"
	"table{border-collapse:collapse;width:100%}"
	"th,td{text-align:left;vertical-align:top;padding:.3rem .5rem;border-bottom:1px solid #e1e5ea;white-space:pre-line;"
	"overflow-wrap:anywhere}"
	".list th{background:#eef2f6}.item{border:1px solid #cfd8e3;border-radius:6px;padding:.7rem 1rem;margin:.8rem 0}"
	".item th{width:12rem;color:#444;font-weight:600}"
	".appendix{font-size:.8rem;color:#444}.appendix .item th{width:16rem}.appendix td{font-family:\"DejaVu Sans Mono\",monospace}"
	"@media print{main{max-width:none;padding:0}.item,tr{break-inside:avoid}h2{break-after:avoid}}";

static void render(out_t *o, const json_t *m)
{
	size_t i;
	const json_t *e;

	if (o->html) {
		puts_raw(o, o->lang == KLUIS_LANG_EN ? "<!DOCTYPE html>\n<html lang=\"en\">\n" : "<!DOCTYPE html>\n<html lang=\"nl\">\n");
		puts_raw(o, "<head>\n<meta charset=\"utf-8\">\n<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
			    "style-src 'unsafe-inline'\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>");
		tag(o, "", fmt(o, "%s %s", strcmp(S(m, "kluis") ? S(m, "kluis") : "", "export") ? T(o, M_TITLE) : T(o, M_TITLE_COPY),
			       S(m, "dossier")), "</title>\n<style>");
		puts_raw(o, css);
		puts_raw(o, "</style>\n</head>\n<body>\n<main>\n<section>\n");
	}
	render_head(o, m);
	heading(o, 2, T(o, M_ENTRIES_H));
	para(o, T(o, M_ENTRIES_P), false);
	if (!json_array_size(json_object_get(m, "entries")))
		para(o, T(o, M_NONE), false);
	json_array_foreach(json_object_get(m, "entries"), i, e)
		render_entry(o, m, e);
	render_rest(o, m);
	render_rights(o, m);
	render_appendix(o, m);
	if (o->html)
		puts_raw(o, "</section>\n</main>\n</body>\n</html>\n");
}

int kluis_inzage_render(const json_t *model, kluis_inzage_format format, kluis_lang lang, kluis_buf *out)
{
	out_t o;

	out->secret = true;
	if (format == KLUIS_INZAGE_JSON)
		return kluis_json_to_buf(model, out);
	memset(&o, 0, sizeof(o));
	o.b = out;
	o.tmp.secret = true;
	o.html = format == KLUIS_INZAGE_HTML;
	o.lang = lang;
	render(&o, model);
	kluis_buf_dispose(&o.tmp);
	return o.err;
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
		return kluis_error_set(KLUIS_EACCESS, "only the %s of dossier '%s' may ask for %s; key %s is none of them", who, d->id,
				       what, actor + 24);
	}
	for (bit = 1; !(held & bit); bit <<= 1)
		;
	*role = bit;
	return 0;
}

/*
 * Each text body into its entry's "content", decrypted and logged the way `kluis show` does
 * (kluis_entry_show: one read of that entry, purpose inzage, recorded once it decrypted).
 * A file (not text/plain) stays out: it belongs in the export, not in a page.
 */
static int add_contents(kluis_dossier *d, json_t *m)
{
	kluis_buf meta = KLUIS_SECRET_BUF_INIT, body = KLUIS_SECRET_BUF_INIT;
	json_t *e;
	size_t i;
	int err = 0;

	json_array_foreach(json_object_get(m, "entries"), i, e) {
		const char *type = json_string_value(json_object_get(e, "content_type"));
		if (!type || strncmp(type, "text/plain", 10) != 0 || json_string_value(json_object_get(e, "filename")))
			continue;
		if ((err = kluis_entry_show(d, json_string_value(json_object_get(e, "id")), "inzage", &meta, -1, false, &body)) < 0)
			break;
		if (json_object_set_new(e, "content", json_stringn_nocheck((const char *)body.ptr, body.len)) < 0)
			err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
		kluis_buf_dispose(&meta);
		kluis_buf_dispose(&body);
		if (err < 0)
			break;
	}
	kluis_buf_dispose(&meta);
	kluis_buf_dispose(&body);
	return err;
}

int kluis_inzage_report(kluis_dossier *d, kluis_inzage_format format, kluis_lang lang, bool with_contents, kluis_buf *out)
{
	kluis_dossier_contents c;
	json_t *m = NULL;
	unsigned role = 0; /* set by kluis_inzage_authorize; gcc -O2 cannot see it (maybe-uninitialized) */
	int err;

	memset(&c, 0, sizeof(c));
	out->secret = true;
	if ((err = kluis_inzage_authorize(d, "an inzage", &role)) < 0)
		return err;
	if ((err = kluis_dossier_read_all(d, "inzage", &c)) < 0 || (err = kluis_dossier_model(d, "inzage", role, &c, &m)) < 0)
		goto cleanup;
	if (with_contents && json_object_set_new(m, "with_contents", json_true()) < 0) {
		err = kluis_error_set(KLUIS_EGENERIC, "out of memory");
		goto cleanup;
	}
	if (with_contents && (err = add_contents(d, m)) < 0)
		goto cleanup;
	err = kluis_inzage_render(m, format, lang, out);
cleanup:
	json_decref(m);
	kluis_dossier_contents_dispose(&c);
	return err;
}
