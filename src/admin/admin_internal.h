/* admin/admin_internal.h: what the files of admin/ share: the layout of struct ag_admin, the JSON
 * writing and request helpers, worker jobs on connections of their own, and each file's routes. */
#ifndef AG_ADMIN_INTERNAL_H
#define AG_ADMIN_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>
#include <yyjson.h>

#include "admin/admin.h"
#include "admin/session.h"
#include "core/buf.h"
#include "core/hash.h"
#include "core/jsonw.h"
#include "core/str.h"
#include "http/router.h"
#include "store/request_log.h"

struct ag_metrics;
struct ag_monitor;
struct ag_monitor_entry;
struct ag_oauth_op;
struct ag_onboard;
struct adm_onboard_op;
struct ag_sessions;
struct ag_store;
struct ag_keys;
struct ag_alerts;
struct ag_state;
struct ag_otlp;
struct ag_ip_refusals;

#define ADM_MAX_ROUTES 96
#define ADM_DB_POOL    4

/* An admin route: the handler runs only after the admin check passed. */
struct adm_route {
    struct ag_admin *a;
    ag_http_handler handler;
    bool open; /* no admin check (login, OAuth callback, public metrics decide themselves) */
};

/* A live /api/events stream, and the credential it was opened with: it lives only as long as that
 * credential stays valid (a login session that was not logged out and has not expired, or the
 * admin secret in force). */
struct adm_sub {
    struct adm_sub *next;
    struct ag_http_req *req;
    struct ag_admin *a;
    uint64_t missed;  /* events skipped while the client was slow */
    bool via_session; /* opened with a session token (else with the admin secret itself) */
    char session[AG_SESSION_TOKEN_SIZE];
    unsigned char secret_sha256[AG_SHA256_SIZE];
};

struct ag_login;

struct ag_admin {
    uv_loop_t *loop;
    struct ag_config *cfg;
    const struct ag_auth_policy *auth;
    struct ag_store *store;
    struct ag_writer *writer;
    struct ag_pool *pool;
    struct ag_upstream_client *client;
    struct ag_relay *relay;
    struct ag_http_server *server;
    struct ag_warmup *warmup;                 /* may be NULL: /api/warmup answers 503 */
    struct ag_keys *keys;                     /* may be NULL: /api/keys shows no live numbers */
    struct ag_alerts *alerts;                 /* may be NULL: /api/alerts/test answers 503 */
    struct ag_otlp *telemetry;                /* span exporter for /metrics; may be NULL */
    const struct ag_ip_refusals *ip_refusals; /* may be NULL: no refused addresses shown */
    int (*apply_config)(void *ud, struct ag_config *cfg, struct ag_buf *restart);
    /* config changes reach the other instances (api_shared.c); or NULL */
    struct ag_state *state;
    void *apply_ud;
    char *data_dir;
    char *postgres_url; /* store.postgres_url at start ("" = the SQLite file) */

    struct ag_monitor *monitor;
    struct ag_metrics *metrics;
    struct ag_sessions *sessions;
    bool proxy_running;
    bool closing;

    struct adm_route routes[ADM_MAX_ROUTES];
    size_t nroutes;

    pthread_mutex_t db_mu; /* guards the idle worker connections */
    struct ag_store *db_idle[ADM_DB_POOL];
    size_t ndb_idle;

    struct adm_sub *subs;
    size_t nsubs;
    uv_timer_t ping;

    struct ag_login *login;          /* OAuth logins started from the UI (pool/login.h) */
    struct adm_onboard_op *onboards; /* refresh-token adds in flight */
};

/* ---- answer.c: answers ---- */
void adm_json(struct ag_http_req *req, int status, const struct ag_buf *b);
/* {"error":{"message","type","field"?}}; field may be NULL. */
void adm_error(struct ag_http_req *req, int status, const char *type, const char *field,
               const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* An AG_E* turned into 404 / 400 / 409 / 503 / 500 with msg. */
void adm_error_rc(struct ag_http_req *req, int rc, const char *msg);
void adm_ok(struct ag_http_req *req);

/* ---- request.c: reading requests ---- */
/* The body as a JSON object, or NULL after answering 400 (an empty body gives an empty object
 * when allow_empty; a body nested deeper than server.max_json_depth is refused). The document
 * belongs to the request's arena. */
yyjson_val *adm_body(struct ag_http_req *req, bool allow_empty);
/* Percent-decodes query parameter name into out; false when absent. */
bool adm_query(const struct ag_http_req *req, const char *name, char *out, size_t cap);
/* Integer query parameter in [min, max]; *out keeps def when absent; false after a 400. */
bool adm_query_int(struct ag_http_req *req, const char *name, int64_t min, int64_t max,
                   int64_t *out);
/* A path parameter as a NUL-terminated copy in the request's arena. */
char *adm_param(struct ag_http_req *req, size_t i);
/* Member of obj that must be a string when present: false after a 400 naming it. */
bool adm_get_str(struct ag_http_req *req, yyjson_val *obj, const char *key, bool required,
                 const char **out);
bool adm_get_bool(struct ag_http_req *req, yyjson_val *obj, const char *key, bool required,
                  bool *out);

/* ---- jobs.c: work runs on a libuv worker thread with a connection of its own ---- */
struct adm_job;
typedef int (*adm_work_fn)(struct ag_store *db, struct adm_job *j);
typedef void (*adm_done_fn)(struct adm_job *j);
struct adm_job {
    uv_work_t w;
    struct ag_admin *a;
    struct ag_http_req *req; /* NULL once the client went away */
    adm_work_fn work;
    adm_done_fn done; /* on the loop; NULL: answer status with out, or the error */
    int rc;
    int status;
    struct ag_buf out;
    char err[256];
    void *arg;
    void (*free_arg)(void *arg);
    int64_t i1, i2; /* small arguments */
    char s1[256];
    bool always_done; /* done runs even without a request (a change from another instance) */
};
struct adm_job *adm_job_new(struct ag_admin *a, struct ag_http_req *req, adm_work_fn work,
                            adm_done_fn done);
void adm_job_start(struct adm_job *j);

/* ---- api_shared.c ---- */
struct adm_changes;
/** A change made through this instance's admin API was applied: the others get it. */
void adm_shared_config_changed(struct ag_admin *a, const struct adm_changes *c);

/* ---- shared ---- */
void adm_write_entry(struct ag_buf *b, const struct ag_request_record *r, const char *request_id,
                     bool bodies);
int64_t adm_now_ms(void);

/* Route tables of the api_*.c files. */
struct adm_route_def {
    const char *method, *pattern;
    ag_http_handler handler;
    bool open;
};
extern const struct adm_route_def adm_auth_routes[];
extern const struct adm_route_def adm_accounts_routes[];
extern const struct adm_route_def adm_config_routes[];
extern const struct adm_route_def adm_proxy_routes[];
extern const struct adm_route_def adm_logs_routes[];
extern const struct adm_route_def adm_stats_routes[];
extern const struct adm_route_def adm_oauth_routes[];
extern const struct adm_route_def adm_warmup_routes[];
extern const struct adm_route_def adm_keys_routes[];
extern const struct adm_route_def adm_alerts_routes[];
extern const struct adm_route_def adm_security_routes[];
extern const struct adm_route_def adm_clients_routes[];

/* admin.c */
struct ag_admin *adm_of(void *ud); /* the admin of a route's ud */

/* api_auth.c: the admin check. The server's (ag_http_admin_cb, ud the admin): a valid login session
 * token; adm_authorized: the admin secret or a session, answering 401 / 429 itself when not. */
enum ag_http_admin_verdict adm_session_check(const struct ag_http_req *req, void *ud);
bool adm_authorized(struct ag_admin *a, struct ag_http_req *req);
/* Restores the stored login sessions still valid under the admin secret in force. */
void adm_sessions_restore(struct ag_admin *a);

/* api_metrics.c: GET /metrics (a row of admin.c's own route table). */
void adm_metrics_handler(struct ag_http_req *req, void *ud);
void adm_events_publish(struct ag_admin *a, const char *event, const struct ag_buf *data);
void adm_events_open(struct ag_admin *a, struct ag_http_req *req);
void adm_events_close_all(struct ag_admin *a);
/** Ends every event stream whose credential is no longer valid (logout, expiry, a new admin
 * secret); call it after each of those. Returns how many were ended. */
size_t adm_events_revalidate(struct ag_admin *a);
void adm_oauth_cancel_all(struct ag_admin *a);
void adm_accounts_cancel_all(struct ag_admin *a);

#endif
