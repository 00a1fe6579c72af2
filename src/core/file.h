/* core/file.h: whole-file reads with a size cap, atomic replacement of a file (temp file in the
 * same directory, fsync, rename, fsync of the directory) and recursive directory creation. Used
 * for config.json and anything else that must never be left half-written. */
#ifndef AG_CORE_FILE_H
#define AG_CORE_FILE_H

#include <stddef.h>
#include <sys/types.h>

#include "core/buf.h"

/**
 * Reads the whole file at path into out (appending; out's own cap also applies). Files larger
 * than cap bytes are refused. Returns 0, AG_ENOTFOUND (no such file), AG_ETOOBIG, or AG_EIO (errno
 * is left describing the failure).
 */
int ag_file_read(const char *path, size_t cap, struct ag_buf *out);

/**
 * Replaces the file at path with len bytes of data, atomically: the bytes go to a temporary file
 * in the same directory which is fsync'd, given mode, renamed over path, and the directory is
 * fsync'd. Readers see either the old or the new file, never a mix; on failure the old file is
 * untouched and the temporary file removed. Returns 0 or AG_EIO (errno describes the failure).
 */
int ag_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode);

/**
 * Creates directory path and any missing parents with mode (like mkdir -p); directories that
 * already exist are left as they are. Returns 0 or AG_EIO (errno describes the failure, e.g.
 * ENOTDIR when a component is a file).
 */
int ag_file_mkdirs(const char *path, mode_t mode);

#endif
