/*
 * vcache.c - the verified-state cache (see vcache.h).
 */
#include "vcache.h"
#include "error.h"

#include <errno.h>
#include <fcntl.h>
#include <gcrypt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *cache_dir(void)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	char *base, *dir;

	if (xdg && *xdg)
		base = kluis_path_join(xdg, "kluis");
	else if (home && *home)
		base = kluis_path_join(home, ".cache/kluis");
	else
		return NULL;
	dir = base ? kluis_path_join(base, "verify") : NULL;
	free(base);
	if (dir && kluis_mkdir_p(dir) < 0) {
		free(dir);
		return NULL;
	}
	return dir;
}

char *kluis_vcache_key(const char *vault_root, const char *id)
{
	char real[PATH_MAX], sha[65], *dir = cache_dir(), *path = NULL;
	kluis_buf name = KLUIS_BUF_INIT;

	if (!dir)
		return NULL;
	if (!realpath(vault_root, real))
		snprintf(real, sizeof(real), "%s", vault_root);
	if (kluis_buf_printf(&name, "%s%c%s", real, 0, id) == 0 && kluis_sha256_buffer_hex(name.ptr, name.len, sha) == 0)
		path = kluis_path_join(dir, sha);
	kluis_buf_dispose(&name);
	free(dir);
	return path;
}

/* The HMAC key: 32 random bytes in the cache directory, made once, 0600. */
static int mac_key(unsigned char key[32])
{
	char *dir = cache_dir(), *path = dir ? kluis_path_join(dir, ".key") : NULL;
	kluis_buf buf = KLUIS_SECRET_BUF_INIT;
	int fd, err = KLUIS_EGENERIC;

	if (!path)
		goto cleanup;
	if (kluis_file_read(&buf, path, 64) == 0 && buf.len == 32) {
		memcpy(key, buf.ptr, 32);
		err = 0;
		goto cleanup;
	}
	gcry_randomize(key, 32, GCRY_STRONG_RANDOM);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd >= 0) {
		if (write(fd, key, 32) == 32)
			err = 0;
		close(fd);
	}
cleanup:
	kluis_buf_dispose(&buf);
	free(path);
	free(dir);
	return err;
}

static int format_body(const kluis_vcache *c, const kluis_verify_opts *opts, kluis_buf *out)
{
	char head[GIT_OID_HEXSZ + 1], acc[GIT_OID_HEXSZ + 1], name[8];
	size_t i;
	int err;

	git_oid_tostr(head, sizeof(head), &c->head);
	git_oid_tostr(acc, sizeof(acc), &c->access);
	if ((err = kluis_buf_printf(out, "kluis-vcache 3\nhead %s\naccess %s\nseq %llu\ntime %lld\nscrub %u\n", head, acc,
				    c->seq, (long long)c->time, c->scrub)) < 0)
		return err;
	/* a cache made under other trust roots does not count */
	for (i = 0; i < opts->ntrust; i++)
		if ((err = kluis_buf_printf(out, "trust %s\n", opts->trust[i])) < 0)
			return err;
	for (i = 0; i < c->nconsents; i++)
		if ((err = kluis_buf_printf(out, "consent %s %s\n", c->consent_ids[i], c->consent_opdr[i] ? "yes" : "no")) < 0)
			return err;
	for (i = 0; i < c->nrestricted; i++)
		if ((err = kluis_buf_printf(out, "restricted %s\n", c->restricted[i])) < 0)
			return err;
	for (i = 0; c->have_dirs && i < KLUIS_VCACHE_NDIRS; i++) {
		const kluis_vcache_dir *d = &c->dirs[i];
		if (i == KLUIS_VCACHE_PACK)
			snprintf(name, sizeof(name), "pack");
		else
			snprintf(name, sizeof(name), "%02zx", i);
		if ((err = kluis_buf_printf(out, "dir %s %llu %lld %llu %s\n", name, (unsigned long long)d->ino,
					    (long long)d->ctime_ns, (unsigned long long)d->count, d->digest[0] ? d->digest : "-")) < 0)
			return err;
	}
	return 0;
}

void kluis_vcache_dispose(kluis_vcache *c)
{
	if (!c)
		return;
	kluis_strings_free(c->consent_ids, c->nconsents);
	kluis_strings_free(c->restricted, c->nrestricted);
	free(c->consent_opdr);
	c->consent_ids = NULL;
	c->consent_opdr = NULL;
	c->restricted = NULL;
	c->nconsents = c->nrestricted = 0;
}

static int push_string(char ***list, size_t *n, const char *s)
{
	char **g = realloc(*list, (*n + 1) * sizeof(*g));

	if (!g)
		return KLUIS_EGENERIC;
	*list = g;
	if (!(g[*n] = strdup(s)))
		return KLUIS_EGENERIC;
	(*n)++;
	return 0;
}

/* The lines after the header: trust (checked by re-formatting), consent, restricted, dir. */
static int parse_lines(kluis_vcache *c, char *text)
{
	char *line, *save = NULL, a[80], b[80];
	unsigned long long ino, count;
	long long ctime_ns;
	unsigned dir;
	bool *g;
	int skip = 6;

	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (skip > 0) {
			skip--;
			continue;
		}
		if (strncmp(line, "trust ", 6) == 0 || strncmp(line, "mac ", 4) == 0)
			continue;
		if (sscanf(line, "consent %79s %79s", a, b) == 2) {
			if (!(g = realloc(c->consent_opdr, (c->nconsents + 1) * sizeof(*g))))
				return KLUIS_EGENERIC;
			c->consent_opdr = g;
			g[c->nconsents] = strcmp(b, "yes") == 0;
			if (push_string(&c->consent_ids, &c->nconsents, a) < 0)
				return KLUIS_EGENERIC;
		} else if (sscanf(line, "restricted %79s", a) == 1) {
			if (push_string(&c->restricted, &c->nrestricted, a) < 0)
				return KLUIS_EGENERIC;
		} else if (sscanf(line, "dir %79s %llu %lld %llu %79s", a, &ino, &ctime_ns, &count, b) == 5) {
			if (strcmp(a, "pack") == 0)
				dir = KLUIS_VCACHE_PACK;
			else if (strlen(a) != 2 || sscanf(a, "%2x", &dir) != 1 || dir >= KLUIS_VCACHE_PACK)
				return KLUIS_EGENERIC;
			if (strcmp(b, "-") != 0 && strlen(b) != 64)
				return KLUIS_EGENERIC;
			c->dirs[dir] = (kluis_vcache_dir){ .ino = ino, .ctime_ns = ctime_ns, .count = count };
			snprintf(c->dirs[dir].digest, sizeof(c->dirs[dir].digest), "%s", strcmp(b, "-") == 0 ? "" : b);
			c->have_dirs = true;
		} else {
			return KLUIS_EGENERIC;
		}
	}
	return 0;
}

/* Compare in time independent of where they differ: a MAC check must not tell how much of a
 * forged MAC was right. */
static bool hex_equal(const char *a, const char *b, size_t n)
{
	unsigned char d = 0;
	size_t i;

	for (i = 0; i < n; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

static int mac_hex(const kluis_buf *body, char out[65])
{
	unsigned char key[32];
	gcry_md_hd_t md;
	const unsigned char *d;
	int i;

	if (mac_key(key) < 0)
		return KLUIS_EGENERIC;
	if (gcry_md_open(&md, GCRY_MD_SHA256, GCRY_MD_FLAG_HMAC) || gcry_md_setkey(md, key, 32)) {
		kluis_wipe(key, sizeof(key));
		return KLUIS_EGENERIC;
	}
	kluis_wipe(key, sizeof(key));
	gcry_md_write(md, body->ptr, body->len);
	d = gcry_md_read(md, GCRY_MD_SHA256);
	for (i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
	gcry_md_close(md);
	return 0;
}

int kluis_vcache_store(const char *key, const kluis_vcache *c, const kluis_verify_opts *opts)
{
	kluis_buf body = KLUIS_BUF_INIT;
	char mac[65];
	int err;

	if ((err = format_body(c, opts, &body)) < 0 || (err = mac_hex(&body, mac)) < 0 ||
	    (err = kluis_buf_printf(&body, "mac %s\n", mac)) < 0)
		goto cleanup;
	/* no fsync: a cache file lost or torn in a crash fails its MAC, and the next run is a
	 * full one */
	err = kluis_file_write_replace(key, body.ptr, body.len);
cleanup:
	kluis_buf_dispose(&body);
	return err;
}

int kluis_vcache_load(const char *key, kluis_vcache *c, const kluis_verify_opts *opts)
{
	kluis_buf text = KLUIS_BUF_INIT, body = KLUIS_BUF_INIT;
	char head[64], acc[64], mac[80], want[65], *copy = NULL;
	long long t;
	char *macline;
	int err = KLUIS_ENOTFOUND;

	memset(c, 0, sizeof(*c));
	if (kluis_file_read(&text, key, 1 << 20) < 0)
		goto cleanup;
	if (sscanf((char *)text.ptr, "kluis-vcache 3\nhead %63s\naccess %63s\nseq %llu\ntime %lld\nscrub %u\n", head, acc, &c->seq, &t,
		   &c->scrub) != 5 || c->scrub >= KLUIS_VCACHE_PACK ||
	    git_oid_fromstr(&c->head, head) < 0 || git_oid_fromstr(&c->access, acc) < 0)
		goto cleanup;
	c->time = t;
	macline = strstr((char *)text.ptr, "\nmac ");
	if (!macline || sscanf(macline + 1, "mac %79s", mac) != 1)
		goto cleanup;
	macline++;
	if (!(copy = strndup((char *)text.ptr, (size_t)(macline - (char *)text.ptr))) || parse_lines(c, copy) < 0)
		goto cleanup;
	if (format_body(c, opts, &body) < 0 || mac_hex(&body, want) < 0)
		goto cleanup;
	/* the body must be exactly what we would write, and the MAC ours */
	if (body.len != (size_t)(macline - (char *)text.ptr) || memcmp(body.ptr, text.ptr, body.len) != 0 || strcmp(mac, want) != 0)
		goto cleanup;
	err = 0;
cleanup:
	if (err < 0) {
		kluis_vcache_dispose(c);
		memset(c, 0, sizeof(*c));
	}
	free(copy);
	kluis_buf_dispose(&text);
	kluis_buf_dispose(&body);
	return err;
}

static char *text_path(const char *name)
{
	char *dir = cache_dir(), *path = NULL;
	size_t i;

	for (i = 0; name[i]; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') || name[i] == '-'))
			break;
	if (dir && i > 0 && !name[i])
		path = kluis_path_join(dir, name);
	free(dir);
	return path;
}

int kluis_vcache_text_store(const char *name, const char *text, size_t len)
{
	kluis_buf body = KLUIS_BUF_INIT;
	char *path = text_path(name), mac[65];
	int err;

	if (!path)
		return kluis_error_set(KLUIS_EGENERIC, "no cache directory for '%s'", name);
	if ((err = kluis_buf_put(&body, text, len)) < 0 || (err = mac_hex(&body, mac)) < 0 ||
	    (err = kluis_buf_printf(&body, "mac %s\n", mac)) < 0)
		goto cleanup;
	/* no fsync, as for the cache file: a torn file fails its MAC and is learnt again */
	err = kluis_file_write_replace(path, body.ptr, body.len);
cleanup:
	kluis_buf_dispose(&body);
	free(path);
	return err;
}

int kluis_vcache_text_load(const char *name, kluis_buf *text)
{
	kluis_buf file = KLUIS_BUF_INIT;
	char *path = text_path(name), want[65];
	const char *macline;
	size_t body_len;
	int err = KLUIS_ENOTFOUND;

	if (!path || kluis_file_read(&file, path, (size_t)16 << 20) < 0)
		goto cleanup;
	/* the MAC line is the last: "mac " and 64 hex digits and a line end */
	if (file.len < 69 || file.ptr[file.len - 1] != '\n')
		goto cleanup;
	body_len = file.len - 69;
	macline = (const char *)file.ptr + body_len;
	if (strncmp(macline, "mac ", 4) != 0 || (body_len > 0 && file.ptr[body_len - 1] != '\n'))
		goto cleanup;
	file.len = body_len;
	if (mac_hex(&file, want) < 0 || !hex_equal(want, macline + 4, 64))
		goto cleanup;
	text->len = 0;
	if ((err = kluis_buf_put(text, file.ptr, body_len)) == 0)
		err = kluis_buf_cstr(text);
cleanup:
	kluis_buf_dispose(&file);
	free(path);
	return err;
}

/*
 * Object records: "kluis-vobjs 1\n", then per object its 20-byte id, inode and ctime (8 bytes
 * each, big-endian), in the order they were recorded (new objects are appended). The file's
 * sha256 is kept in the MACed cache file, so a record cannot be swapped for an older one.
 */
#define OBJS_MAGIC "kluis-vobjs 1\n"
#define OBJS_REC (GIT_OID_RAWSZ + 16)

/* key.d/XX; `make`: create key.d first (its parent, the cache directory, exists) */
static char *objs_path(const char *key, size_t dir, bool make)
{
	size_t len = strlen(key) + 6;
	char *path = malloc(len);

	if (!path)
		return NULL;
	snprintf(path, len, "%s.d", key);
	if (make && mkdir(path, 0700) < 0 && errno != EEXIST) {
		free(path);
		return NULL;
	}
	snprintf(path, len, "%s.d/%02zx", key, dir);
	return path;
}

static void put64(unsigned char *p, uint64_t x)
{
	for (int i = 7; i >= 0; i--, x >>= 8)
		p[i] = (unsigned char)x;
}

static uint64_t get64(const unsigned char *p)
{
	uint64_t x = 0;

	for (int i = 0; i < 8; i++)
		x = x << 8 | p[i];
	return x;
}

int kluis_vcache_objs_store(const char *key, size_t dir, const kluis_vcache_obj *objs, size_t n, size_t keep, char digest[65])
{
	char *path = objs_path(key, dir, true);
	size_t head = strlen(OBJS_MAGIC), len = head + n * OBJS_REC, i, from = keep ? head + keep * OBJS_REC : 0;
	unsigned char *data = malloc(len), *p;
	int fd = -1, err = KLUIS_EGENERIC;

	if (!path || !data || keep > n)
		goto cleanup;
	memcpy(data, OBJS_MAGIC, head);
	for (i = 0, p = data + head; i < n; i++, p += OBJS_REC) {
		memcpy(p, objs[i].id, GIT_OID_RAWSZ);
		put64(p + GIT_OID_RAWSZ, objs[i].ino);
		put64(p + GIT_OID_RAWSZ + 8, (uint64_t)objs[i].ctime_ns);
	}
	if (kluis_sha256_buffer_hex(data, len, digest) < 0)
		goto cleanup;
	/* in place: a file torn by a crash or a concurrent run fails its digest */
	fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd >= 0 && pwrite(fd, data + from, len - from, (off_t)from) == (ssize_t)(len - from) && (keep || ftruncate(fd, (off_t)len) == 0))
		err = 0;
cleanup:
	if (fd >= 0 && close(fd) < 0)
		err = KLUIS_EGENERIC;
	free(data);
	free(path);
	return err;
}

int kluis_vcache_objs_load(const char *key, size_t dir, const char *digest, kluis_vcache_obj **out, size_t *n)
{
	char *path = objs_path(key, dir, false), have[65];
	kluis_buf text = KLUIS_BUF_INIT;
	size_t head = strlen(OBJS_MAGIC), i;
	const unsigned char *p;
	int err = KLUIS_ENOTFOUND;

	*out = NULL;
	*n = 0;
	if (!path || kluis_file_read(&text, path, 1 << 28) < 0 || text.len < head || memcmp(text.ptr, OBJS_MAGIC, head) != 0 ||
	    (text.len - head) % OBJS_REC != 0 || kluis_sha256_buffer_hex(text.ptr, text.len, have) < 0 || strcmp(have, digest) != 0)
		goto cleanup;
	*n = (text.len - head) / OBJS_REC;
	if (!(*out = calloc(*n ? *n : 1, sizeof(**out)))) {
		*n = 0;
		err = KLUIS_EGENERIC;
		goto cleanup;
	}
	for (i = 0, p = (const unsigned char *)text.ptr + head; i < *n; i++, p += OBJS_REC) {
		memcpy((*out)[i].id, p, GIT_OID_RAWSZ);
		(*out)[i].ino = get64(p + GIT_OID_RAWSZ);
		(*out)[i].ctime_ns = (int64_t)get64(p + GIT_OID_RAWSZ + 8);
	}
	err = 0;
cleanup:
	kluis_buf_dispose(&text);
	free(path);
	return err;
}
