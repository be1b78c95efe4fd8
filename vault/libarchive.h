/*
 * libarchive.h - libarchive, loaded when a command first needs it (see libarchive.c).
 *
 * Files that use libarchive include this instead of <archive.h>, and call
 * kluis_libarchive_load() before their first archive_* call; the archive_* names then go
 * through a table of the library's functions.
 */
#ifndef KLUIS_LIBARCHIVE_H
#define KLUIS_LIBARCHIVE_H

#include <archive.h>
#include <archive_entry.h>

/* every libarchive function kluis calls; one more is one line here */
#define KLUIS_LIBARCHIVE_FUNCTIONS(X) \
	X(archive_entry_filetype) \
	X(archive_entry_free) \
	X(archive_entry_hardlink) \
	X(archive_entry_new) \
	X(archive_entry_pathname) \
	X(archive_entry_set_filetype) \
	X(archive_entry_set_mtime) \
	X(archive_entry_set_pathname) \
	X(archive_entry_set_pathname_utf8) \
	X(archive_entry_set_perm) \
	X(archive_entry_set_size) \
	X(archive_entry_size) \
	X(archive_entry_size_is_set) \
	X(archive_entry_sparse_count) \
	X(archive_entry_symlink) \
	X(archive_error_string) \
	X(archive_filter_bytes) \
	X(archive_read_data) \
	X(archive_read_free) \
	X(archive_read_new) \
	X(archive_read_next_header) \
	X(archive_read_open) \
	X(archive_read_support_format_tar) \
	X(archive_set_error) \
	X(archive_write_add_filter_gzip) \
	X(archive_write_close) \
	X(archive_write_data) \
	X(archive_write_finish_entry) \
	X(archive_write_free) \
	X(archive_write_header) \
	X(archive_write_new) \
	X(archive_write_open_fd) \
	X(archive_write_set_bytes_in_last_block) \
	X(archive_write_set_filter_option) \
	X(archive_write_set_format_pax_restricted) \
	X(archive_write_set_format_zip)

struct kluis_libarchive {
#define X(f) __typeof__(f) *f;
	KLUIS_LIBARCHIVE_FUNCTIONS(X)
#undef X
};
extern struct kluis_libarchive kluis_archive_fn;

/* Load libarchive once (thread-safe); a KLUIS_EGENERIC error if it cannot be loaded. */
int kluis_libarchive_load(void);

#ifndef KLUIS_LIBARCHIVE_IMPL
#define archive_entry_filetype (kluis_archive_fn.archive_entry_filetype)
#define archive_entry_free (kluis_archive_fn.archive_entry_free)
#define archive_entry_hardlink (kluis_archive_fn.archive_entry_hardlink)
#define archive_entry_new (kluis_archive_fn.archive_entry_new)
#define archive_entry_pathname (kluis_archive_fn.archive_entry_pathname)
#define archive_entry_set_filetype (kluis_archive_fn.archive_entry_set_filetype)
#define archive_entry_set_mtime (kluis_archive_fn.archive_entry_set_mtime)
#define archive_entry_set_pathname (kluis_archive_fn.archive_entry_set_pathname)
#define archive_entry_set_pathname_utf8 (kluis_archive_fn.archive_entry_set_pathname_utf8)
#define archive_entry_set_perm (kluis_archive_fn.archive_entry_set_perm)
#define archive_entry_set_size (kluis_archive_fn.archive_entry_set_size)
#define archive_entry_size (kluis_archive_fn.archive_entry_size)
#define archive_entry_size_is_set (kluis_archive_fn.archive_entry_size_is_set)
#define archive_entry_sparse_count (kluis_archive_fn.archive_entry_sparse_count)
#define archive_entry_symlink (kluis_archive_fn.archive_entry_symlink)
#define archive_error_string (kluis_archive_fn.archive_error_string)
#define archive_filter_bytes (kluis_archive_fn.archive_filter_bytes)
#define archive_read_data (kluis_archive_fn.archive_read_data)
#define archive_read_free (kluis_archive_fn.archive_read_free)
#define archive_read_new (kluis_archive_fn.archive_read_new)
#define archive_read_next_header (kluis_archive_fn.archive_read_next_header)
#define archive_read_open (kluis_archive_fn.archive_read_open)
#define archive_read_support_format_tar (kluis_archive_fn.archive_read_support_format_tar)
#define archive_set_error (kluis_archive_fn.archive_set_error)
#define archive_write_add_filter_gzip (kluis_archive_fn.archive_write_add_filter_gzip)
#define archive_write_close (kluis_archive_fn.archive_write_close)
#define archive_write_data (kluis_archive_fn.archive_write_data)
#define archive_write_finish_entry (kluis_archive_fn.archive_write_finish_entry)
#define archive_write_free (kluis_archive_fn.archive_write_free)
#define archive_write_header (kluis_archive_fn.archive_write_header)
#define archive_write_new (kluis_archive_fn.archive_write_new)
#define archive_write_open_fd (kluis_archive_fn.archive_write_open_fd)
#define archive_write_set_bytes_in_last_block (kluis_archive_fn.archive_write_set_bytes_in_last_block)
#define archive_write_set_filter_option (kluis_archive_fn.archive_write_set_filter_option)
#define archive_write_set_format_pax_restricted (kluis_archive_fn.archive_write_set_format_pax_restricted)
#define archive_write_set_format_zip (kluis_archive_fn.archive_write_set_format_zip)
#endif

#endif
