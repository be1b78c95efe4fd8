/*
 * replay_state.c - the verifier's own checkpoint: the replayed state after a clean run, kept so
 * that the next run replays only what came after (docs/FORMATS.md, "Incremental runs").
 *
 * What is kept is the model's state at a head commit H and a read record A: every entry with
 * its flags and ciphertext ids, the consents, the info, closed and transferred, the sequence
 * number and the time, the read log's length. H and A are commit ids, so git's hash chain
 * covers every byte of the history before them: a run that finds the new head descending from
 * H and the read log descending from A has only the new commits and records left to replay,
 * with the same rules a full run applies to them. The record is the verifier's signature on
 * its own work: an HMAC-SHA256 under a key only the verifier's user can read
 * ($XDG_CACHE_HOME/kluis/verified/key, else ~/.cache/kluis/..., 0600 in a 0700 directory),
 * bound to the dossier, the trust roots and the sha256 of the keyring that judged the
 * signatures (another keyring, say with a revocation, means a full run). Nothing in it is an
 * object's inode or time stamp: the objects' bytes are never taken on trust, only the verdict
 * on the commits the hash chain pins. An old ciphertext that is deleted or overwritten later
 * is found by `verify --full`, by every reader (its sha256 and commitment), and by the content
 * ref's check in every run (which compares names, not bytes).
 */
#include "vault/verify/replay.h"

#include <errno.h>
#include <fcntl.h>
#include <gcrypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STATE_MAX (64u << 20)

static char *state_dir(void)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	char *base = NULL, *dir = NULL;

	if (xdg && *xdg == '/')
		base = kluis_path_join(xdg, "kluis");
	else if (home && *home == '/') {
		char *cache = kluis_path_join(home, ".cache");
		base = cache ? kluis_path_join(cache, "kluis") : NULL;
		free(cache);
	}
	if (base)
		dir = kluis_path_join(base, "verified");
	free(base);
	if (dir && kluis_mkdir_p(dir) < 0) {
		free(dir);
		dir = NULL;
	}
	return dir;
}

/* The MAC key: 32 random bytes, made once, readable by this user alone. */
static int mac_key(unsigned char key[32])
{
	char *dir = state_dir(), *path = dir ? kluis_path_join(dir, "key") : NULL;
	int fd = -1, err = KLUIS_EGENERIC;
	ssize_t n;

	if (!path)
		goto cleanup;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		char *tmp = NULL;
		int wfd = -1;
		gcry_randomize(key, 32, GCRY_STRONG_RANDOM);
		if (kluis_file_temp_beside(path, &tmp, &wfd) == 0 && kluis_fd_write_all(wfd, key, 32) == 0 && fsync(wfd) == 0 &&
		    close(wfd) == 0 && (wfd = -1, link(tmp, path) == 0 || errno == EEXIST)) {
			/* link, not rename: two first runs at once keep one key */
		}
		if (wfd >= 0)
			close(wfd);
		if (tmp) {
			unlink(tmp);
			free(tmp);
		}
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0)
		goto cleanup;
	{
		struct stat st;
		/* a key others could read or replace is no key */
		if (fstat(fd, &st) < 0 || st.st_uid != getuid() || (st.st_mode & 077) || st.st_size != 32)
			goto cleanup;
	}
	n = read(fd, key, 32);
	err = n == 32 ? 0 : KLUIS_EGENERIC;
cleanup:
	if (fd >= 0)
		close(fd);
	free(path);
	free(dir);
	return err;
}

static int mac_hex(const unsigned char key[32], const void *data, size_t len, char out[65])
{
	gcry_md_hd_t h;
	const unsigned char *d;
	int i;

	if (gcry_md_open(&h, GCRY_MD_SHA256, GCRY_MD_FLAG_HMAC) || gcry_md_setkey(h, key, 32))
		return KLUIS_EGENERIC;
	gcry_md_write(h, data, len);
	d = gcry_md_read(h, GCRY_MD_SHA256);
	for (i = 0; i < 32; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
	gcry_md_close(h);
	return 0;
}

char *kluis_replay_state_path(const char *vault_root, const char *id)
{
	char *dir = state_dir(), *real = realpath(vault_root, NULL), *path = NULL, name[65];
	kluis_buf b = KLUIS_BUF_INIT;

	if (dir && real && kluis_buf_printf(&b, "%s\n%s", real, id) == 0 && kluis_sha256_buffer_hex(b.ptr, b.len, name) == 0)
		path = kluis_path_join(dir, name);
	kluis_buf_dispose(&b);
	free(real);
	free(dir);
	return path;
}

/* What the record is bound to besides the state: dossier, trust roots, keyring. */
static int binding(const replay *r, kluis_buf *out)
{
	char digest[65];
	size_t i;
	int err;

	if (kluis_keyring_digest(r->kr, digest) < 0)
		return KLUIS_ENOTFOUND;
	if ((err = kluis_buf_printf(out, "kluis-verified 1\ndossier %s\nkeyring %s\n", r->id, digest)) < 0)
		return err;
	for (i = 0; i < r->opts->ntrust; i++)
		if ((err = kluis_buf_printf(out, "trust %s\n", r->opts->trust[i])) < 0)
			return err;
	return 0;
}

static void hex_of(const git_oid *o, char out[GIT_OID_HEXSZ + 1])
{
	git_oid_tostr(out, GIT_OID_HEXSZ + 1, o);
}

int kluis_replay_state_save(const replay *r, const char *path, const git_oid *access, size_t reads)
{
	kluis_buf b = KLUIS_BUF_INIT;
	unsigned char key[32];
	char mac[65], h1[41], h2[41], h3[41], h4[41];
	size_t i;
	int err;

	if ((err = binding(r, &b)) < 0 || (err = mac_key(key)) < 0)
		goto cleanup;
	hex_of(&r->head, h1);
	hex_of(&r->tree, h2);
	hex_of(&r->info, h3);
	hex_of(access, h4);
	if ((err = kluis_buf_printf(&b, "head %s\ntree %s\ntime %lld\nseq %llu\nlast %d\ninfo %s\naccess %s %zu\n", h1, h2,
				    (long long)r->time, r->seq, (int)r->last_action, h3, h4, reads)) < 0)
		goto cleanup;
	hex_of(&r->xfer_access, h1);
	if ((err = kluis_buf_printf(&b, "transferred %d %s %llu\n", r->transferred, h1, r->xfer_count)) < 0)
		goto cleanup;
	hex_of(&r->content_tree, h1);
	if ((err = kluis_buf_printf(&b, "content %s\n", h1)) < 0)
		goto cleanup;
	for (i = 0; i < r->nentries; i++) {
		const rentry *e = &r->entries[i];
		char flags[8];
		snprintf(flags, sizeof(flags), "%c%c%c%c%c%c", e->erased ? 'e' : '-', e->restricted ? 'r' : '-', e->consent ? 'c' : '-',
			 e->grant ? 'g' : '-', e->consent_opdr ? 'o' : '-', e->withdrawn ? 'w' : '-');
		hex_of(&e->meta, h1);
		hex_of(&e->body, h2);
		hex_of(&e->reason, h3);
		hex_of(&e->added_by, h4);
		if ((err = kluis_buf_printf(&b, "entry %s %s %s %s %s %s\n", e->id, flags, h1, h2, h3, h4)) < 0)
			goto cleanup;
	}
	if ((err = mac_hex(key, b.ptr, b.len, mac)) < 0 || (err = kluis_buf_printf(&b, "mac %s\n", mac)) < 0)
		goto cleanup;
	err = kluis_file_write_replace(path, b.ptr, b.len);
cleanup:
	kluis_wipe(key, sizeof(key));
	kluis_buf_dispose(&b);
	return err;
}

static bool oid_of(const char *hex, git_oid *out)
{
	return strlen(hex) == GIT_OID_HEXSZ && git_oid_fromstr(out, hex) == 0;
}

int kluis_replay_state_load(replay *r, const char *path, git_oid *access, size_t *reads)
{
	git_oid content_storage, *content = &content_storage;
	kluis_buf b = KLUIS_BUF_INIT, bind = KLUIS_BUF_INIT;
	unsigned char key[32];
	char mac[65], *text, *line, *save = NULL, *body_end;
	int err;

	memset(content, 0, sizeof(*content));
	if ((err = kluis_file_read(&b, path, STATE_MAX)) < 0 || (err = binding(r, &bind)) < 0 || (err = mac_key(key)) < 0)
		goto cleanup;
	err = KLUIS_ENOTFOUND;
	if (kluis_buf_cstr(&b) < 0)
		goto cleanup;
	text = (char *)b.ptr;
	/* the MAC over everything before its line, the binding first */
	if (b.len < 70 || !(body_end = strstr(text, "\nmac ")) || body_end[5 + 64] != '\n' || body_end + 5 + 65 != text + b.len ||
	    mac_hex(key, text, (size_t)(body_end + 1 - text), mac) < 0 || memcmp(mac, body_end + 5, 64) != 0 ||
	    bind.len > b.len || memcmp(bind.ptr, text, bind.len) != 0)
		goto cleanup;
	body_end[1] = '\0';
	for (line = strtok_r(text + bind.len, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char a[80], b2[80], c[80], d[80], e[80], f[80];
		long long t;
		unsigned long long u;
		int x;
		size_t z;
		if (sscanf(line, "head %79s", a) == 1 && oid_of(a, &r->head))
			continue;
		if (sscanf(line, "tree %79s", a) == 1 && oid_of(a, &r->tree))
			continue;
		if (sscanf(line, "time %lld", &t) == 1) {
			r->time = t;
			continue;
		}
		if (sscanf(line, "seq %llu", &u) == 1) {
			r->seq = u;
			continue;
		}
		if (sscanf(line, "last %d", &x) == 1 && x >= 0 && x < KLUIS_ACT__COUNT) {
			r->last_action = (kluis_action)x;
			continue;
		}
		if (sscanf(line, "info %79s", a) == 1 && oid_of(a, &r->info))
			continue;
		if (sscanf(line, "access %79s %zu", a, &z) == 2 && oid_of(a, access)) {
			*reads = z;
			continue;
		}
		if (sscanf(line, "transferred %d %79s %llu", &x, a, &u) == 3 && oid_of(a, &r->xfer_access)) {
			r->transferred = x != 0;
			r->xfer_count = u;
			continue;
		}
		if (sscanf(line, "content %79s", a) == 1 && oid_of(a, content)) {
			continue;
		}
		/* entry lines are most of a kept state: fixed widths, read without sscanf */
		a[0] = b2[0] = '\0';
		if (strncmp(line, "entry ", 6) == 0 && strlen(line) == 6 + KLUIS_ENTRY_ID_LEN + 1 + 6 + 4 * 41) {
			memcpy(a, line + 6, KLUIS_ENTRY_ID_LEN);
			a[KLUIS_ENTRY_ID_LEN] = '\0';
			memcpy(b2, line + 6 + KLUIS_ENTRY_ID_LEN + 1, 6);
			b2[6] = '\0';
			for (x = 0; x < 4; x++) {
				char *dst = x == 0 ? c : x == 1 ? d : x == 2 ? e : f;
				memcpy(dst, line + 6 + KLUIS_ENTRY_ID_LEN + 1 + 7 + 41 * x, 40);
				dst[40] = '\0';
			}
		}
		if (strncmp(line, "entry ", 6) == 0 && kluis_entry_id_valid(a) && strlen(b2) == 6) {
			rentry *en;
			if (r->nentries == r->cap) {
				rentry *g = realloc(r->entries, (r->cap = r->cap ? 2 * r->cap : 64) * sizeof(*g));
				if (!g)
					goto cleanup;
				r->entries = g;
			}
			en = &r->entries[r->nentries];
			memset(en, 0, sizeof(*en));
			snprintf(en->id, sizeof(en->id), "%s", a);
			en->erased = b2[0] == 'e';
			en->restricted = b2[1] == 'r';
			en->consent = b2[2] == 'c';
			en->grant = b2[3] == 'g';
			en->consent_opdr = b2[4] == 'o';
			en->withdrawn = b2[5] == 'w';
			if (!oid_of(c, &en->meta) || !oid_of(d, &en->body) || !oid_of(e, &en->reason) || !oid_of(f, &en->added_by) ||
			    (r->nentries && strcmp(r->entries[r->nentries - 1].id, en->id) >= 0))
				goto cleanup;
			r->nentries++;
			continue;
		}
		goto cleanup;
	}
	r->started = true;
	if ((err = kluis_replay_resume(r)) == 0 && kluis_rcontent_resume(r, content) < 0)
		err = KLUIS_EGENERIC;
cleanup:
	kluis_wipe(key, sizeof(key));
	kluis_buf_dispose(&b);
	kluis_buf_dispose(&bind);
	if (err < 0) {
		r->nentries = 0;
		r->started = false;
	}
	return err;
}

/* ---- a kept verdict on a chain's signatures (the ledger's) ---- */

/* The exact text of a verdict on the first n commits up to head, its MAC line included. */
static int vouch_text(const replay *r, const char *const *trust, size_t ntrust, const git_oid *head, size_t n, kluis_buf *out)
{
	unsigned char key[32];
	char digest[65], hex[GIT_OID_HEXSZ + 1], mac[65];
	size_t i;
	int err;

	if (kluis_keyring_digest(r->kr, digest) < 0)
		return KLUIS_ENOTFOUND;
	hex_of(head, hex);
	if ((err = kluis_buf_printf(out, "kluis-vouched 1\nchain %s\nkeyring %s\n", r->id, digest)) < 0)
		return err;
	for (i = 0; i < ntrust; i++)
		if ((err = kluis_buf_printf(out, "trust %s\n", trust[i])) < 0)
			return err;
	if ((err = kluis_buf_printf(out, "head %s\ncount %zu\n", hex, n)) < 0 || (err = mac_key(key)) < 0)
		return err;
	if ((err = mac_hex(key, out->ptr, out->len, mac)) == 0)
		err = kluis_buf_printf(out, "mac %s\n", mac);
	kluis_wipe(key, sizeof(key));
	return err;
}

int kluis_replay_vouch_save(const replay *r, const char *path, const char *const *trust, size_t ntrust, const git_oid *head, size_t n)
{
	kluis_buf b = KLUIS_BUF_INIT;
	int err;

	if ((err = vouch_text(r, trust, ntrust, head, n, &b)) == 0)
		err = kluis_file_write_replace(path, b.ptr, b.len);
	kluis_buf_dispose(&b);
	return err;
}

int kluis_replay_vouch_load(const replay *r, const char *path, const char *const *trust, size_t ntrust, git_oid *head, size_t *n)
{
	kluis_buf b = KLUIS_BUF_INIT, want = KLUIS_BUF_INIT;
	char hex[GIT_OID_HEXSZ + 1];
	const char *p;
	int err;

	/* head and count as the file says, then the whole file must be what we would write */
	if ((err = kluis_file_read(&b, path, 65536)) < 0)
		goto cleanup;
	err = KLUIS_ENOTFOUND;
	if (kluis_buf_cstr(&b) < 0 || !(p = strstr((const char *)b.ptr, "\nhead ")) || sscanf(p, "\nhead %40s\ncount %zu\n", hex, n) != 2 ||
	    !oid_of(hex, head) || vouch_text(r, trust, ntrust, head, *n, &want) < 0)
		goto cleanup;
	if (want.len == b.len && memcmp(want.ptr, b.ptr, b.len) == 0)
		err = 0;
cleanup:
	kluis_buf_dispose(&b);
	kluis_buf_dispose(&want);
	return err;
}

int kluis_replay_mac(const void *data, size_t len, char out[65])
{
	unsigned char key[32];
	int err;

	if ((err = mac_key(key)) == 0)
		err = mac_hex(key, data, len, out);
	kluis_wipe(key, sizeof(key));
	return err;
}
