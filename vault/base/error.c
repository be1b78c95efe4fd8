/*
 * error.c - per-thread last error message (see error.h).
 *
 * Invariant: a message holds no control character. Messages quote what others wrote (file
 * names, key ids, user ids, trailers of a forged commit), and a terminal escape in them would
 * act on the reader's terminal; each control byte becomes '?' here, once for every caller.
 */
#include "vault/base/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char last_message[1024];

int kluis_error_set(int code, const char *fmt, ...)
{
	char message[sizeof(last_message)];
	va_list ap;

	/* format aside first: callers may pass kluis_error_last() to wrap a deeper message */
	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	for (char *p = message; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	memcpy(last_message, message, sizeof(message));
	return code;
}

const char *kluis_error_last(void)
{
	return last_message[0] ? last_message : "unknown error";
}

void kluis_error_clear(void)
{
	last_message[0] = '\0';
}
