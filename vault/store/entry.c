/*
 * entry.c - adding and reading entries.
 *
 * An entry is two OpenPGP objects, metadata (JSON) and body (the original bytes), both
 * encrypted to every reader of the dossier at that moment (SPEC invariant 1); the signed tree
 * holds only pointers to them, under entries/XX/ID/{meta,body}. Bodies are streamed from the
 * source through librnp into the object store: a 1 GiB document is never held in memory.
 * Plaintext lives only in wiped buffers or goes straight to the descriptor the user chose.
 * Each object's pointer commits to its plaintext (commitment.h): the metadata by its digest
 * (it holds a random "salt"), the body by SHA-256(body_salt || body), body_salt being in
 * the metadata; every read is checked against them.
 */
#include "vault/store/internal.h"
#include "vault/store/commitment.h"
#include "vault/pgp/crypto.h"
#include "vault/store/rights.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const entry_kinds[] = { "note", "contact", "circumstance", "document", "correspondence", "plan",
					    "report", "consent", "statement", "correction", "request", NULL };
static const char *const bases[] = { "consent", "contract", "legal", "vital", "interest", NULL };
static const char *const specials[] = { "health", "religion", "race", "politics", "sexual", "union", "criminal",
					"biometric", "genetic", NULL };

bool kluis_entry_kind_known(const char *kind)
{
	size_t i;

	for (i = 0; kind && entry_kinds[i]; i++)
		if (strcmp(entry_kinds[i], kind) == 0)
			return true;
	return false;
}

static bool in_list(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (strcmp(*list, s) == 0)
			return true;
	return false;
}

static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20)
			return false;
	return true;
}

int kluis_entry_input_check(const kluis_entry_input *in)
{
	int sources = (in->text != NULL) + (in->path != NULL) + (in->fd >= 0);

	if (sources != 1)
		return kluis_error_set(KLUIS_EINVAL, "give exactly one of -m TEXT, --file PATH or - (standard input)");
	if (in->kind && !in_list(entry_kinds, in->kind))
		return kluis_error_set(KLUIS_EINVAL, "unknown kind '%s' (note, contact, circumstance, document, correspondence, plan, report)", in->kind);
	if (in->basis && !in_list(bases, in->basis))
		return kluis_error_set(KLUIS_EINVAL, "unknown --basis '%s' (consent, contract, legal, vital, interest: P6.4)", in->basis);
	if (in->special && !in_list(specials, in->special))
		return kluis_error_set(KLUIS_EINVAL, "unknown --special '%s' (health, religion, race, politics, sexual, union, criminal, biometric, genetic: P8)", in->special);
	if (in->origin) {
		const char *o = in->origin;
		if (!(strcmp(o, "medewerker") == 0 || strcmp(o, "klant") == 0 || strcmp(o, "opdrachtgever") == 0 ||
		      strcmp(o, "derde") == 0 || (strncmp(o, "derde:", 6) == 0 && o[6])))
			return kluis_error_set(KLUIS_EINVAL, "unknown --origin '%s' (medewerker, klant, opdrachtgever, derde[:who]: W5a)", o);
		if (!printable(o))
			return kluis_error_set(KLUIS_EINVAL, "--origin has control characters");
	}
	if (in->title && !printable(in->title))
		return kluis_error_set(KLUIS_EINVAL, "--title has control characters");
	if (in->text && in->text_len == 0)
		return kluis_error_set(KLUIS_EINVAL, "the text is empty; nothing to add");
	return 0;
}

static const char *content_type_for(const char *path)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
		{ ".pdf", "application/pdf" },
		{ ".txt", "text/plain" },
		{ ".md", "text/markdown" },
		{ ".html", "text/html" },
		{ ".png", "image/png" },
		{ ".jpg", "image/jpeg" },
		{ ".jpeg", "image/jpeg" },
		{ ".odt", "application/vnd.oasis.opendocument.text" },
		{ ".docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document" },
		{ ".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" },
		{ ".doc", "application/msword" },
		{ ".eml", "message/rfc822" },
		{ ".json", "application/json" },
		{ ".csv", "text/csv" },
	};
	const char *dot = strrchr(path, '.');
	size_t i;

	if (dot)
		for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
			if (strcasecmp(dot, types[i].ext) == 0)
				return types[i].type;
	return "application/octet-stream";
}

/* A plaintext source: memory or a descriptor, hashed and counted as it is read. */
struct source {
	const unsigned char *mem;
	size_t mem_len;
	int fd;
	uint64_t done, total;
	kluis_sha256 *sha;
	kluis_sha256 *plain; /* the commitment: salt || plaintext */
	kluis_progress_fn progress;
	void *progress_ctx;
	uint64_t next_report;
	const char *name;
};

static int source_read(void *ctx, void *buf, size_t len, size_t *got)
{
	struct source *s = ctx;
	ssize_t n;

	*got = 0;
	if (s->mem) {
		size_t left = s->mem_len - (size_t)s->done;
		n = (ssize_t)(left < len ? left : len);
		memcpy(buf, s->mem + s->done, (size_t)n);
	} else {
		do
			n = read(s->fd, buf, len);
		while (n < 0 && errno == EINTR);
		if (n < 0)
			return kluis_error_set(KLUIS_EGENERIC, "cannot read %s: %s", s->name, strerror(errno));
	}
	kluis_sha256_update(s->sha, buf, (size_t)n);
	kluis_sha256_update(s->plain, buf, (size_t)n);
	s->done += (uint64_t)n;
	*got = (size_t)n;
	if (s->progress && (s->done >= s->next_report || n == 0)) {
		s->progress(s->progress_ctx, "encrypting", s->done, s->total);
		s->next_report = s->done + (8u << 20);
	}
	return 0;
}

static bool entry_exists(kluis_dossier *d, const char *id, char (*taken)[KLUIS_ENTRY_ID_LEN + 1], size_t ntaken)
{
	git_tree_entry *te = NULL;
	char dir[64];
	size_t i;

	for (i = 0; i < ntaken; i++)
		if (strcmp(taken[i], id) == 0)
			return true;
	if (!d->head_tree)
		return false;
	kluis_entry_dir(id, dir);
	if (git_tree_entry_bypath(&te, d->head_tree, dir) == 0) {
		git_tree_entry_free(te);
		return true;
	}
	return false;
}

static int new_entry_id(kluis_dossier *d, char (*taken)[KLUIS_ENTRY_ID_LEN + 1], size_t ntaken, char out[KLUIS_ENTRY_ID_LEN + 1])
{
	char stamp[17], rnd[5];
	int tries, err;

	kluis_time_stamp(kluis_now(), stamp);
	for (tries = 0; tries < 64; tries++) {
		if ((err = kluis_random_hex(rnd, 4)) < 0)
			return err;
		snprintf(out, KLUIS_ENTRY_ID_LEN + 1, "%s-%s", stamp, rnd);
		if (!entry_exists(d, out, taken, ntaken))
			return 0;
	}
	return kluis_error_set(KLUIS_EGENERIC, "cannot find a free entry id");
}

/* The keys an entry is encrypted to: every reader; for a special category, the opdrachtgever
 * only when the consent in force names it (P8; UWV accepts no medical information). */
int kluis_entry_readers(kluis_dossier *d, bool restricted, const char ***readers, size_t *n)
{
	kluis_keyring *kr;
	unsigned mask = d->held ? KLUIS_ROLES_READING_HELD : KLUIS_ROLES_READING;
	size_t i;
	int err;

	if (restricted)
		mask &= ~KLUIS_ROLE_OPDRACHTGEVER;
	if ((err = kluis_vault_keyring(d->vault, &kr)) < 0 || (err = kluis_roles_keys(&d->roles, mask, readers, n)) < 0)
		return err;
	for (i = 0; i < *n; i++)
		if ((err = kluis_keyring_check_recipient(kr, (*readers)[i])) < 0) {
			free(*readers);
			*readers = NULL;
			return err;
		}
	return 0;
}

static int add_one(kluis_txn *t, kluis_dossier *d, kluis_action action, const kluis_entry_input *in,
		   const char *id, const char *kind, bool restricted, kluis_progress_fn progress, void *progress_ctx)
{
	const char *supersedes = in->supersedes;
	bool special_to_opdrachtgever = !restricted;
	struct source src;
	const char **readers = NULL;
	size_t nreaders = 0;
	kluis_pointer body_ptr, meta_ptr;
	kluis_buf meta = KLUIS_SECRET_BUF_INIT;
	json_t *j = NULL;
	char *meta_text = NULL, dir[64], path[96], created[21], sha[65], body_salt_hex[2 * KLUIS_SALT_LEN + 1];
	unsigned char body_salt[KLUIS_SALT_LEN];
	const char *filename = NULL;
	struct stat st;
	int err;

	memset(&src, 0, sizeof(src));
	src.fd = -1;
	src.name = "standard input";
	if ((err = kluis_entry_readers(d, restricted, &readers, &nreaders)) < 0 || (err = kluis_sha256_new(&src.sha)) < 0 ||
	    (err = kluis_sha256_new(&src.plain)) < 0 || (err = kluis_commitment_new_salt(body_salt, body_salt_hex)) < 0)
		goto cleanup;
	kluis_sha256_update(src.plain, body_salt, sizeof(body_salt));
	if (in->text) {
		src.mem = (const unsigned char *)in->text;
		src.mem_len = src.total = in->text_len;
	} else if (in->path) {
		src.name = in->path;
		/* O_NONBLOCK: opening a fifo would wait for its writer; it is refused below at once */
		src.fd = open(in->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
		if (src.fd < 0) {
			err = kluis_error_set(errno == ENOENT ? KLUIS_EINVAL : KLUIS_EGENERIC, "cannot read '%s': %s", in->path, strerror(errno));
			goto cleanup;
		}
		if (fstat(src.fd, &st) < 0 || !S_ISREG(st.st_mode)) {
			err = kluis_error_set(KLUIS_EINVAL, "'%s' is not a regular file: --file takes a document; give a stream on standard input with -", in->path);
			goto cleanup;
		}
		fcntl(src.fd, F_SETFL, fcntl(src.fd, F_GETFL) & ~O_NONBLOCK);
		src.total = (uint64_t)st.st_size;
		src.progress = src.total >= (32u << 20) ? progress : NULL;
		src.progress_ctx = progress_ctx;
		filename = strrchr(in->path, '/') ? strrchr(in->path, '/') + 1 : in->path;
	} else {
		src.fd = in->fd;
	}
	if ((err = kluis_txn_encrypt_stream(t, readers, nreaders, source_read, &src, &body_ptr)) < 0)
		goto cleanup;
	if (!in->text && src.done == 0) {
		err = kluis_error_set(KLUIS_EINVAL, "%s is empty; nothing to add", src.name);
		goto cleanup;
	}
	kluis_sha256_hex(src.sha, sha);
	kluis_sha256_hex(src.plain, body_ptr.plain);
	kluis_time_iso(kluis_now(), created);
	j = json_pack("{s:s, s:i, s:s, s:s, s:s?, s:s?, s:s?, s:s?, s:s?, s:s, s:I, s:s, s:s, s:s, s:s, s:s}",
		      "kluis", "entry-meta", "version", 1, "id", id, "kind", kind, "origin", in->origin, "basis", in->basis,
		      "special", in->special, "title", in->title, "filename", filename, "content_type",
		      in->path ? content_type_for(in->path) : "text/plain; charset=utf-8", "size", (json_int_t)src.done,
		      "sha256", sha, "created", created, "role", kluis_role_name(kluis_txn_role(t)), "author",
		      kluis_txn_actor(t), "action", kluis_action_name(action));
	if (j) {
		/* who can read it, by role (P10.3: the recipients of the data) */
		json_t *rcp = json_array();
		unsigned bit;
		for (bit = 1; bit <= KLUIS_ROLE_OPDRACHTGEVER; bit <<= 1)
			if (((d->held ? KLUIS_ROLES_READING_HELD : KLUIS_ROLES_READING) & bit) &&
			    !(in->special && bit == KLUIS_ROLE_OPDRACHTGEVER && !special_to_opdrachtgever))
				json_array_append_new(rcp, json_string(kluis_role_name(bit)));
		json_object_set_new(j, "recipients", rcp);
		if (supersedes)
			json_object_set_new(j, "supersedes", json_string(supersedes));
		if (in->extra_meta) {
			json_t *extra = json_loads(in->extra_meta, 0, NULL);
			if (extra && json_is_object(extra))
				json_object_update(j, extra);
			json_decref(extra);
		}
		/* set last, so nothing in extra_meta can replace them */
		if (json_object_set_new(j, "body_salt", json_string(body_salt_hex)) < 0 || kluis_commitment_salt_json(j) < 0) {
			json_decref(j);
			j = NULL;
		}
	}
	if (!j || !(meta_text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS))) {
		err = kluis_error_set(KLUIS_EGENERIC, "cannot encode the entry metadata");
		goto cleanup;
	}
	if ((err = kluis_buf_puts(&meta, meta_text)) < 0 ||
	    (err = kluis_txn_encrypt_buffer(t, readers, nreaders, meta.ptr, meta.len, &meta_ptr)) < 0)
		goto cleanup;
	kluis_entry_dir(id, dir);
	snprintf(path, sizeof(path), "%s/meta", dir);
	if ((err = kluis_txn_put_pointer(t, path, &meta_ptr)) < 0)
		goto cleanup;
	snprintf(path, sizeof(path), "%s/body", dir);
	err = kluis_txn_put_pointer(t, path, &body_ptr);
cleanup:
	if (meta_text) {
		kluis_wipe(meta_text, strlen(meta_text));
		free(meta_text);
	}
	json_decref(j);
	kluis_buf_dispose(&meta);
	kluis_sha256_free(src.sha);
	kluis_sha256_free(src.plain);
	explicit_bzero(body_salt, sizeof(body_salt));
	explicit_bzero(body_salt_hex, sizeof(body_salt_hex));
	if (src.fd >= 0 && src.fd != in->fd)
		close(src.fd);
	free(readers);
	return err;
}

static const char *default_kind(kluis_action action, const kluis_entry_input *in)
{
	switch (action) {
	case KLUIS_ACT_STATEMENT: return "statement";
	case KLUIS_ACT_CORRECT: return "correction";
	case KLUIS_ACT_CONSENT: return "consent";
	default: return in->kind ? in->kind : in->text ? "note" : "document";
	}
}

/* A correction supersedes an entry that exists and was not erased. */
static int check_supersedes(kluis_dossier *d, const char *id)
{
	git_tree_entry *te = NULL;
	char dir[64], path[80];

	if (!kluis_entry_id_valid(id))
		return kluis_error_set(KLUIS_EINVAL, "'%s' is not an entry id", id);
	kluis_entry_dir(id, dir);
	if (git_tree_entry_bypath(&te, d->head_tree, dir) < 0)
		return kluis_error_set(KLUIS_ENOTFOUND, "no entry %s in dossier '%s' to correct", id, d->id);
	git_tree_entry_free(te);
	snprintf(path, sizeof(path), "%s/erased", dir);
	if (git_tree_entry_bypath(&te, d->head_tree, path) == 0) {
		git_tree_entry_free(te);
		return kluis_error_set(KLUIS_ESTATE, "entry %s was erased; there is nothing to correct", id);
	}
	return 0;
}

int kluis_entry_add(kluis_dossier *d, kluis_action action, const kluis_entry_input *in, size_t n,
		    char (*ids)[KLUIS_ENTRY_ID_LEN + 1],
		    kluis_progress_fn progress, void *progress_ctx)
{
	kluis_txn *t = NULL;
	kluis_buf trailers = KLUIS_BUF_INIT, extra = KLUIS_BUF_INIT;
	kluis_dossier_file st;
	char subject[64];
	const char *kind;
	size_t i;
	int err;

	if (n == 0)
		return kluis_error_set(KLUIS_EINVAL, "nothing to add");
	for (i = 0; i < n; i++) {
		if ((err = kluis_entry_input_check(&in[i])) < 0)
			return err;
		if (action == KLUIS_ACT_ADD && in[i].kind &&
		    (strcmp(in[i].kind, "statement") == 0 || strcmp(in[i].kind, "correction") == 0 || strcmp(in[i].kind, "consent") == 0))
			return kluis_error_set(KLUIS_EINVAL, "kind '%s' has its own command (kluis %s)", in[i].kind,
					       strcmp(in[i].kind, "statement") == 0 ? "statement" : strcmp(in[i].kind, "correction") == 0 ? "correct" : "consent");
	}
	if ((err = kluis_txn_begin(&t, d, action)) < 0)
		goto cleanup;
	if ((err = kluis_dossier_file_load(d, &st)) < 0)
		goto cleanup;
	/* the klant adds his own requests; what else he writes is a statement */
	for (i = 0; action == KLUIS_ACT_ADD && kluis_txn_role(t) == KLUIS_ROLE_KLANT && i < n; i++)
		if (!in[i].kind || strcmp(in[i].kind, "request") != 0) {
			err = kluis_error_set(KLUIS_EACCESS, "the klant adds his own words with kluis statement, and requests with kluis request; not a %s",
					      in[i].kind ? in[i].kind : "note");
			goto cleanup;
		}
	if (d->held) {
		/* held by the opdrachtgever (W7): it records the klant's requests and corrections */
		for (i = 0; action == KLUIS_ACT_ADD && i < n; i++)
			if (!in[i].kind || strcmp(in[i].kind, "request") != 0) {
				err = kluis_error_set(KLUIS_ESTATE, "dossier '%s' was transferred: it takes only the klant's requests (kluis request), corrections and statements", d->id);
				goto cleanup;
			}
	} else if (strcmp(st.state, "open") != 0 && action != KLUIS_ACT_STATEMENT) {
		err = kluis_error_set(KLUIS_ESTATE, "dossier '%s' is %s: no new entries (only the klant's statements and reads)", d->id, st.state);
		goto cleanup;
	}
	kind = default_kind(action, &in[0]);
	for (i = 0; i < n; i++) {
		const char *k = default_kind(action, &in[i]);
		char consent[KLUIS_ENTRY_ID_LEN + 1] = "";
		bool to_opdrachtgever = true;
		/* P8: a special category needs the klant's explicit consent in force, and reaches the
		 * opdrachtgever only when that consent names it */
		if (in[i].special) {
			if ((err = kluis_consent_in_force(d, in[i].special, true, consent, &to_opdrachtgever)) < 0)
				goto cleanup;
			if (!consent[0]) {
				err = kluis_error_set(KLUIS_EACCESS, "no consent in force for the special category '%s' (P8): record the klant's explicit consent first (kluis consent %s grant --scope %s --purpose ...)",
						      in[i].special, d->id, in[i].special);
				goto cleanup;
			}
		}
		if (in[i].supersedes && (err = check_supersedes(d, in[i].supersedes)) < 0)
			goto cleanup;
		if ((err = new_entry_id(d, ids, i, ids[i])) < 0 ||
		    (err = add_one(t, d, action, &in[i], ids[i], k, !to_opdrachtgever, progress, progress_ctx)) < 0)
			goto cleanup;
		if (strcmp(k, kind) != 0)
			kind = "mixed";
		if (consent[0] && (err = kluis_buf_printf(&extra, "Kluis-Special: %s\nKluis-Consent-Ref: %s\n", ids[i], consent)) < 0)
			goto cleanup;
		if (!to_opdrachtgever && (err = kluis_buf_printf(&extra, "Kluis-Restricted: %s\n", ids[i])) < 0)
			goto cleanup;
		if (in[i].supersedes && (err = kluis_buf_printf(&extra, "Kluis-Supersedes: %s\n", in[i].supersedes)) < 0)
			goto cleanup;
		if (in[i].extra_trailers && (err = kluis_buf_puts(&extra, in[i].extra_trailers)) < 0)
			goto cleanup;
	}
	snprintf(subject, sizeof(subject), "%s %s", kluis_action_name(action), n == 1 ? ids[0] : "-");
	if ((err = kluis_buf_printf(&trailers, "Kluis-Action: %s\n", kluis_action_name(action))) < 0)
		goto cleanup;
	for (i = 0; i < n; i++)
		if ((err = kluis_buf_printf(&trailers, "Kluis-Entry: %s\n", ids[i])) < 0)
			goto cleanup;
	if ((err = kluis_buf_printf(&trailers, "Kluis-Kind: %s\nKluis-Role: %s\n%s", kind, kluis_role_name(kluis_txn_role(t)),
				    extra.ptr ? (const char *)extra.ptr : "")) < 0 ||
	    (err = kluis_txn_commit(t, subject, (const char *)trailers.ptr, NULL)) < 0)
		goto cleanup;
cleanup:
	kluis_txn_free(t);
	kluis_buf_dispose(&trailers);
	kluis_buf_dispose(&extra);
	return err;
}

/* ---- reading ---- */

/*
 * The metadata is decrypted and checked before the body, not beside it on a thread: two
 * decryptions at once race gpg-agent on a key's first use after an import, when the agent
 * rewrites the key file in place and the second request may read it half-written ("Unmatched
 * parentheses in S-expression"); overlapping them saved no time a person notices.
 */
static int decrypt_meta(const git_blob *blob, const kluis_pointer *p, const char *entry, kluis_buf *out)
{
	char digest[65], what[96];
	int err;

	snprintf(what, sizeof(what), "entry %s", entry);
	if ((err = kluis_crypto_decrypt_to_buf(git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob), out)) == 0 &&
	    (err = kluis_sha256_buffer_hex(out->ptr, out->len, digest)) == 0 &&
	    (err = kluis_commitment_check(p, digest, what)) < 0)
		kluis_buf_dispose(out);
	return err;
}

/*
 * The body's salt is in the metadata. A streamed body's read is recorded here too: the salt
 * is asked for before the first plaintext byte is hashed, and so before it is written
 * (crypto.c's tap runs first).
 */
struct body_salt {
	const kluis_buf *meta;
	const char *entry;
	kluis_dossier *d;
	const char *purpose;
	bool record;   /* record the read before the first byte is written */
	bool recorded;
};

static int salt_from_meta(void *ctx, unsigned char salt[KLUIS_SALT_LEN])
{
	struct body_salt *b = ctx;
	int err;

	if ((err = kluis_commitment_body_salt(b->meta->ptr, b->meta->len, b->entry, salt)) < 0)
		return err;
	if (b->record && !b->recorded) {
		if ((err = kluis_access_record(b->d, b->entry, b->purpose)) < 0)
			return err;
		b->recorded = true;
	}
	return 0;
}

static int load_pointer(kluis_dossier *d, const char *path, kluis_pointer *p, git_blob **blob)
{
	int err;

	if ((err = kluis_commitment_pointer_at(d->repo, d->head_tree, path, p)) == 0)
		err = kluis_pointer_load(d->repo, p, blob);
	return err;
}

int kluis_entry_show(kluis_dossier *d, const char *entry_id, const char *purpose, kluis_buf *meta,
		     int body_fd, bool body_live, kluis_buf *body)
{
	git_blob *meta_blob = NULL, *body_blob = NULL;
	git_tree_entry *te = NULL;
	kluis_buf held = KLUIS_SECRET_BUF_INIT;
	kluis_pointer mp, bp;
	struct body_salt bs;
	const char *actor;
	char dir[64], path[96];
	bool hold;
	int err;

	memset(&bs, 0, sizeof(bs));
	if (!kluis_entry_id_valid(entry_id))
		return kluis_error_set(KLUIS_EINVAL, "'%s' is not an entry id (like 20261122T101500Z-3f9a; kluis log lists them)", entry_id);
	/* what the record will refuse, refused before anything is decrypted */
	if (!purpose || !kluis_purpose_valid(purpose))
		return kluis_error_set(KLUIS_EINVAL, "--purpose '%s' must be a short code of [a-z0-9-] (e.g. begeleiding, inzage, rapportage), never prose", purpose ? purpose : "");
	if ((err = kluis_vault_actor(d->vault, &actor)) < 0 ||
	    (err = kluis_roles_authorize(&d->roles, actor, KLUIS_ACT_ACCESS, NULL)) < 0)
		return err;
	kluis_entry_dir(entry_id, dir);
	if (git_tree_entry_bypath(&te, d->head_tree, dir) < 0)
		return kluis_error_set(KLUIS_ENOTFOUND, "no entry %s in dossier '%s' (kluis log %s lists them)", entry_id, d->id, d->id);
	git_tree_entry_free(te);
	snprintf(path, sizeof(path), "%s/erased", dir);
	if (git_tree_entry_bypath(&te, d->head_tree, path) == 0) {
		git_tree_entry_free(te);
		return kluis_error_set(KLUIS_ENOTFOUND, "entry %s was erased; only its signed erase record remains (kluis log %s)", entry_id, d->id);
	}
	snprintf(path, sizeof(path), "%s/meta", dir);
	if ((err = load_pointer(d, path, &mp, &meta_blob)) < 0)
		goto cleanup;
	snprintf(path, sizeof(path), "%s/body", dir);
	if ((err = kluis_commitment_pointer_at(d->repo, d->head_tree, path, &bp)) < 0)
		goto cleanup;
	/* invariant 6: recorded after the decryption, before the delivery (see vault.h) */
	hold = body_fd >= 0 && body_live && bp.size <= KLUIS_SHOW_HOLD;
	/* what is not held is streamed from the object store, never read whole */
	if (hold && (err = kluis_pointer_load(d->repo, &bp, &body_blob)) < 0)
		goto cleanup;
	if ((err = decrypt_meta(meta_blob, &mp, entry_id, meta)) < 0) {
		kluis_buf_dispose(meta);
		goto cleanup;
	}
	bs.meta = meta;
	bs.entry = entry_id;
	bs.d = d;
	bs.purpose = purpose;
	bs.record = body_fd >= 0 && body_live && !hold;
	if (hold)
		err = kluis_commitment_decrypt_body(git_blob_rawcontent(body_blob), (size_t)git_blob_rawsize(body_blob), &bp, entry_id,
						    salt_from_meta, &bs, -1, &held);
	else
		err = kluis_commitment_decrypt_body_stream(d->repo, &bp, entry_id, salt_from_meta, &bs, body_fd, body);
	if (err == 0 && !bs.recorded)
		err = kluis_access_record(d, entry_id, purpose);
	if (err == 0 && hold && kluis_fd_write_all(body_fd, held.ptr, held.len) < 0)
		err = kluis_error_set(KLUIS_EGENERIC, "cannot write the decrypted entry: %s", strerror(errno));
	if (err < 0) {
		kluis_buf_dispose(meta);
		if (body_fd < 0 && body)
			kluis_buf_dispose(body);
	}
cleanup:
	kluis_buf_dispose(&held);
	git_blob_free(meta_blob);
	git_blob_free(body_blob);
	return err;
}
