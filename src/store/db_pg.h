/* store/db_pg.h: the PostgreSQL side of the database layer (libpq), used by db.c only. */
#ifndef AG_STORE_DB_PG_H
#define AG_STORE_DB_PG_H

#include "store/db.h"

/** Connects (blocking). 0 and *out, or AG_EIO with a sentence in err. */
int ag_db_pg_open(const char *url, struct ag_pg_conn **out, char *err, size_t errcap);

/** Closes and frees. NULL is a no-op. */
void ag_db_pg_close(struct ag_pg_conn *c);

/** The last error; borrowed until the next call on c. */
const char *ag_db_pg_errmsg(struct ag_pg_conn *c);

/** Runs statements without parameters or rows (simple query protocol). 0 or AG_EDB. */
int ag_db_pg_exec(struct ag_pg_conn *c, const char *sql);

/** Makes a statement (no server round trip: it is parsed when first stepped). 0 or AG_EDB. */
int ag_db_pg_prepare(struct ag_pg_conn *c, const char *sql, struct ag_pg_stmt **out);

/** Frees a statement and its result. NULL is a no-op. */
void ag_db_pg_finalize(struct ag_pg_stmt *st);

/** Whether a transaction is open (or failed and not yet rolled back). */
bool ag_db_pg_in_tx(struct ag_pg_conn *c);

#endif
