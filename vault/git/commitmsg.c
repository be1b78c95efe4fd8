/*
 * commitmsg.c - reading what a commit object says of itself (see commitmsg.h): the trailers
 * of its message and the split of a signed commit into its signed bytes and its signature.
 * Used by the writers (the dossier's state, checkpoints, the ledger) and the verifier alike.
 */
#include "vault/git/commitmsg.h"
#include "vault/base/error.h"

#include <git2.h>
#include <stdio.h>
#include <string.h>

int kluis_trailer_get(const char *message, const char *key, char *out, size_t outlen)
{
	git_message_trailer_array arr = { 0 };
	size_t i;
	int found = 0;

	out[0] = '\0';
	if (git_message_trailers(&arr, message) < 0)
		return 0;
	for (i = 0; i < arr.count; i++)
		if (strcmp(arr.trailers[i].key, key) == 0) {
			snprintf(out, outlen, "%s", arr.trailers[i].value);
			found = 1;
			break;
		}
	git_message_trailer_array_free(&arr);
	return found;
}

int kluis_commit_split_signature(const char *raw, size_t len, kluis_buf *data, kluis_buf *sig)
{
	const char *p = raw, *end = raw + len, *line_end;
	bool in_headers = true, in_sig = false;
	int err;

	while (p < end) {
		line_end = memchr(p, '\n', (size_t)(end - p));
		line_end = line_end ? line_end + 1 : end;
		if (in_headers && line_end - p == 1) {
			in_headers = false;
			in_sig = false;
		}
		if (in_headers && in_sig && *p == ' ') {
			if ((err = kluis_buf_put(sig, p + 1, (size_t)(line_end - p - 1))) < 0)
				return err;
		} else if (in_headers && strncmp(p, "gpgsig ", 7) == 0) {
			in_sig = true;
			if ((err = kluis_buf_put(sig, p + 7, (size_t)(line_end - p - 7))) < 0)
				return err;
		} else {
			in_sig = false;
			if ((err = kluis_buf_put(data, p, (size_t)(line_end - p))) < 0)
				return err;
		}
		p = line_end;
	}
	if (!sig->len)
		return kluis_error_set(KLUIS_EVERIFY, "the commit is not signed");
	return 0;
}
