/*
 * commitmsg.h - what a commit object says of itself: its message's trailers, and its signed
 * bytes apart from its signature (as stock git verify-commit splits them).
 */
#ifndef KLUIS_COMMITMSG_H
#define KLUIS_COMMITMSG_H

#include "vault/base/util.h"

#include <stddef.h>

/* The value of the first trailer `key` of `message` into out (empty when absent): 1 found, 0 not. */
int kluis_trailer_get(const char *message, const char *key, char *out, size_t outlen);

/* Split the raw commit into the signed data and the armored signature (the gpgsig header). */
int kluis_commit_split_signature(const char *raw, size_t len, kluis_buf *data, kluis_buf *sig);

#endif
