/* store/migrate.h: versioned schema migrations. The schema version is SQLite's
 * PRAGMA user_version; migration N takes a file from version N-1 to N and runs in its own
 * transaction together with the version bump, so a crash leaves the file at a whole version.
 * Used by ag_store_open; exposed so tests (and a future `aigate db` command) can stop at an older
 * version. */
#ifndef AG_STORE_MIGRATE_H
#define AG_STORE_MIGRATE_H

#include <sqlite3.h>
#include <stddef.h>

/** Reads PRAGMA user_version into *out; 0 or AG_EDB. */
int ag_store_migrate_version(sqlite3 *db, int *out);

/**
 * Applies the migrations after the file's current version up to target (at most
 * AG_STORE_SCHEMA_VERSION), each in one BEGIN IMMEDIATE transaction that re-checks the version, so
 * two processes opening the same old file at once do not apply a step twice.
 *
 * Returns 0; AG_EUNSUPPORTED when the file's version is above AG_STORE_SCHEMA_VERSION (written by
 * a newer aigate; nothing is changed); AG_EINVAL for a bad target; AG_EDB when a step fails (that
 * step is rolled back, earlier steps stay). err (errcap bytes, may be NULL) receives a sentence.
 */
int ag_store_migrate(sqlite3 *db, int target, char *err, size_t errcap);

struct ag_db;

/** Reads the schema version of either database (PostgreSQL: meta 'schema_version', 0 for an
 * empty database); 0 or AG_EDB. */
int ag_store_migrate_version_db(struct ag_db *db, int *out);

/**
 * Brings either database to AG_STORE_SCHEMA_VERSION. SQLite: ag_store_migrate. PostgreSQL: an
 * empty database gets the whole schema of version 9 in one transaction under an advisory lock
 * (two processes at once take turns); later steps are written for both dialects. Results as
 * ag_store_migrate.
 */
int ag_store_migrate_db(struct ag_db *db, char *err, size_t errcap);

#endif
