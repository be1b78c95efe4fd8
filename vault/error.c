/*
 * error.c - per-thread last error message (see error.h).
 */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>

static _Thread_local char last_message[1024];

int kluis_error_set(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_message, sizeof(last_message), fmt, ap);
	va_end(ap);
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
