/*
 * export.h - the klant's data as data (WerkPro P12, portability): the dossier's content as one
 * versioned JSON object, and the export zip built around it.
 *
 * The JSON model (schema: docs/EXPORT_SCHEMA.md) is shared by the inzage report (P10), which
 * renders it as text or HTML, and by the export, whose index.json it is.
 *
 * Invariants of the export: one signed access record with purpose `export` before anything is
 * decrypted (SPEC invariant 6), none for a refused actor or an existing output; plaintext only
 * in the zip the user asked for, which is written under a temporary name beside it (0600,
 * O_EXCL|O_NOFOLLOW) and renamed into place without replacing anything, so FILE appears whole
 * or not at all; every body is checked against the sha256 and size in its metadata as it is
 * written, and any mismatch fails the whole export.
 */
#ifndef KLUIS_EXPORT_H
#define KLUIS_EXPORT_H

#include "vault/store/entries.h"

#include <jansson.h>

/* Version of the JSON model and of index.json; bumped on any incompatible change. */
#define KLUIS_EXPORT_VERSION 1

/*
 * The dossier's content from a kluis_dossier_read_all as a new JSON object: "kluis" is `what`
 * ("inzage" or "export"), the actor is named as `role`. The object holds plaintext: the caller
 * releases it at once (json_decref) and writes it only where the user asked.
 */
int kluis_dossier_model(kluis_dossier *d, const char *what, unsigned role, const kluis_dossier_contents *c, json_t **out);

/* Append a JSON value, indented, to a secret buffer (no unwiped copy is made). */
int kluis_json_to_buf(const json_t *value, kluis_buf *out);

typedef struct {
	size_t entries;      /* bodies written */
	size_t erased;       /* erased entries (listed in index.json, no body) */
	uint64_t bytes;      /* plaintext bytes written */
} kluis_export_result;

/*
 * Write the P12 export of d to the new file `path` (a zip: index.json, index.html (the
 * inzage report linking to the files) and one member per entry, named by
 * kluis_export_member_name, each in its original bytes). KLUIS_EEXISTS, with nothing
 * logged, if path exists; KLUIS_EACCESS for an actor other than klant, medewerker or directie.
 * progress (may be NULL) gets plaintext bytes done of the total.
 */
int kluis_dossier_export(kluis_dossier *d, const char *path, kluis_progress_fn progress, void *progress_ctx,
			 kluis_export_result *res);

/*
 * The member name of an entry's body: "gegevens/<date> <title> (<kind in words>)<ext>", the
 * date the entry's (Amsterdam), the title made safe (no '/', '\\', control or Windows-reserved
 * character, no leading dot, at most 80 bytes), <ext> the original file's extension or .txt
 * for text; no title: the kind in words. copy > 1 adds " (copy)" to tell equal names apart.
 */
void kluis_export_member_name(const char *title, const char *filename, const char *kind, int64_t time, unsigned copy, char out[200]);

#endif
