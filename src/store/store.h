/* store/store.h: the embedded SQLite store, one file `aigate.db` in the data dir.
 *
 * What lives here: opening and closing the database (mode 0600, WAL, busy_timeout,
 * synchronous=NORMAL, foreign keys), versioned migrations (PRAGMA user_version), and the account
 * change counter another process's writes can be noticed through.
 *
 * Threading. A struct ag_store is one SQLite connection and belongs to one thread at a time. In
 * the gateway that is the loop thread, which uses it only for short synchronous reads at startup
 * and on reload (listing accounts) and for the cheap change check below; the CLI uses it for
 * everything. Writes that happen per request (monitor rows, token statistics, last-used touches)
 * never go through it: they go through struct ag_writer (store/writer.h), which owns a second
 * connection on its own thread so the event loop never waits on disk.
 *
 * Backends. The same functions run on the SQLite file (the default) and on PostgreSQL
 * (store.postgres_url, ag_store_open_pg / ag_store_open_with) through the database layer of
 * store/db.h; on PostgreSQL every call is a round trip to the server (docs/internals/store.md says
 * which of them the loop thread makes). */
#ifndef AG_STORE_STORE_H
#define AG_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Schema version this code writes; ag_store_open upgrades older files to it. */
#define AG_STORE_SCHEMA_VERSION 11

/** File name of the database inside the data dir. */
#define AG_STORE_FILE "aigate.db"

struct ag_store;

/**
 * Opens `<data_dir>/aigate.db`, creating it with mode 0600 when missing (an existing file is
 * chmod'ed to 0600), and brings its schema up to AG_STORE_SCHEMA_VERSION, one transaction per
 * migration step. The data dir must exist.
 *
 * Returns 0 and a new store in *out (free with ag_store_free), or:
 * AG_EUNSUPPORTED when the file was written by a newer aigate (schema version above ours; the
 * file is left untouched), AG_EIO when the file cannot be created or opened, AG_EDB for any other
 * SQLite failure (including a failed migration, which is rolled back). On failure a sentence for
 * the user is written into err (errcap bytes; err may be NULL).
 */
int ag_store_open(const char *data_dir, struct ag_store **out, char *err, size_t errcap);

/**
 * Connects to PostgreSQL at url (store.postgres_url: postgresql://user:password@host:port/db or a
 * libpq key=value string) and brings its schema to AG_STORE_SCHEMA_VERSION (an empty database
 * gets the whole schema in one transaction). Blocks until the server answers. Results as
 * ag_store_open: AG_EIO when the server cannot be reached (err never holds the password),
 * AG_EUNSUPPORTED for a schema from a newer aigate, AG_EDB for a failed migration.
 */
int ag_store_open_pg(const char *url, struct ag_store **out, char *err, size_t errcap);

/**
 * Opens the store the configuration names: PostgreSQL when postgres_url is non-empty
 * (ag_store_open_pg), else `<data_dir>/aigate.db` (ag_store_open).
 */
int ag_store_open_with(const char *data_dir, const char *postgres_url, struct ag_store **out,
                       char *err, size_t errcap);

/** Whether the store lives in PostgreSQL. */
bool ag_store_is_pg(const struct ag_store *s);

/** Closes the connection and frees the store. NULL is a no-op. */
void ag_store_free(struct ag_store *s);

/** Path of the database file (PostgreSQL: the URL, with its password); borrowed, valid until
 * ag_store_free. */
const char *ag_store_path(const struct ag_store *s);

/** Reads the file's schema version into *out; 0 or AG_EDB. */
int ag_store_schema_version(struct ag_store *s, int *out);

/**
 * Tells whether accounts changed since *since, a counter value the caller keeps. Start with 0
 * (the first call then reports a change unless no account was ever written) and load the
 * accounts whenever this returns 1. The counter lives in the database and is bumped by triggers on
 * every insert, delete, and update of an account column other than last_used_at, whichever
 * process or connection made it (the CLI, the admin API, this gateway itself). Touching
 * last_used_at does not count, so per-request touches never cause reloads.
 *
 * Returns 1 and updates *since when it changed, 0 when not, AG_EDB on failure. Cheap enough to
 * poll from the loop every second or so: it first asks SQLite whether any other connection wrote
 * at all (PRAGMA data_version, answered from shared memory) and reads the counter row only then.
 */
int ag_store_accounts_changed(struct ag_store *s, uint64_t *since);

#endif
