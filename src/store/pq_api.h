/* store/pq_api.h: libpq's API as the PostgreSQL store uses it. store/db_pg.c includes this header
 * instead of <libpq-fe.h>.
 *
 * libpq is not linked into the gateway: most gateways never use PostgreSQL (only with
 * store.postgres_url), and libpq.so.5 with the libraries it needs (krb5, GSSAPI, LDAP, SASL, ...)
 * would be mapped and relocated at every exec. ag_pq_api_load() loads it with dlopen and fills a
 * table with the functions the store calls; each name below is a macro for its entry in that
 * table, so the store's code reads as plain libpq. The store calls ag_pq_api_load() before it opens
 * its first connection (ag_db_pg_open); every other libpq call works on a connection, so it comes
 * after a successful load. A libpq function used without an entry here is a link error (there is
 * no libpq to resolve it from): add it to PQ_FUNCS. */
#ifndef AG_STORE_PQ_API_H
#define AG_STORE_PQ_API_H

#include <libpq-fe.h>

/* Every libpq function the store calls, as X(name). */
#define PQ_FUNCS(X)                                                                                \
    X(PQclear)                                                                                     \
    X(PQcmdTuples)                                                                                 \
    X(PQconnectdbParams)                                                                           \
    X(PQerrorMessage)                                                                              \
    X(PQexec)                                                                                      \
    X(PQexecParams)                                                                                \
    X(PQfinish)                                                                                    \
    X(PQfreemem)                                                                                   \
    X(PQftype)                                                                                     \
    X(PQgetisnull)                                                                                 \
    X(PQgetlength)                                                                                 \
    X(PQgetvalue)                                                                                  \
    X(PQnfields)                                                                                   \
    X(PQntuples)                                                                                   \
    X(PQreset)                                                                                     \
    X(PQresultErrorField)                                                                          \
    X(PQresultErrorMessage)                                                                        \
    X(PQresultStatus)                                                                              \
    X(PQstatus)                                                                                    \
    X(PQtransactionStatus)                                                                         \
    X(PQunescapeBytea)

/** libpq's functions, as libpq-fe.h declares them; filled by ag_pq_api_load(). */
struct ag_pq_api {
#define AG_PQ_FIELD(fn) __typeof__(fn) *fn;
    PQ_FUNCS(AG_PQ_FIELD)
#undef AG_PQ_FIELD
};

/** The table; read it only after ag_pq_api_load() returned 0. */
extern struct ag_pq_api ag_pq;

/**
 * Loads libpq (libpq.so.5) and resolves the functions of PQ_FUNCS, once per process from any
 * thread (later calls return the first one's result at once). 0 when it is there; AG_EIO when it
 * is not, with the reason (dlerror's text, or the missing symbol) in static storage at *why when
 * why is not NULL.
 */
int ag_pq_api_load(const char **why);

#ifndef AG_PQ_API_IMPL
#define PQclear              (ag_pq.PQclear)
#define PQcmdTuples          (ag_pq.PQcmdTuples)
#define PQconnectdbParams    (ag_pq.PQconnectdbParams)
#define PQerrorMessage       (ag_pq.PQerrorMessage)
#define PQexec               (ag_pq.PQexec)
#define PQexecParams         (ag_pq.PQexecParams)
#define PQfinish             (ag_pq.PQfinish)
#define PQfreemem            (ag_pq.PQfreemem)
#define PQftype              (ag_pq.PQftype)
#define PQgetisnull          (ag_pq.PQgetisnull)
#define PQgetlength          (ag_pq.PQgetlength)
#define PQgetvalue           (ag_pq.PQgetvalue)
#define PQnfields            (ag_pq.PQnfields)
#define PQntuples            (ag_pq.PQntuples)
#define PQreset              (ag_pq.PQreset)
#define PQresultErrorField   (ag_pq.PQresultErrorField)
#define PQresultErrorMessage (ag_pq.PQresultErrorMessage)
#define PQresultStatus       (ag_pq.PQresultStatus)
#define PQstatus             (ag_pq.PQstatus)
#define PQtransactionStatus  (ag_pq.PQtransactionStatus)
#define PQunescapeBytea      (ag_pq.PQunescapeBytea)
#endif

#endif
