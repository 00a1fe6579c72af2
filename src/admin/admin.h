/* admin/admin.h: the admin layer of a running gateway — the JSON admin API under /api/ (accounts,
 * configuration, proxy control, request logs, token statistics, live events, login sessions),
 * the OAuth callback, /metrics, and the request monitor fed by the relay's records.
 *
 * Who may call: every /api/ route except /api/auth/login, and /metrics unless metrics.public,
 * needs the admin secret (auth.admin_password when set, else auth.api_key: the same rule as
 * the server's AG_ACCESS_ADMIN check) or a session token from /api/auth/login. They are never
 * open: with no secret configured they answer 401 saying so.
 *
 * Threading: the loop thread. Database reads and account writes run on libuv worker threads on
 * connections of their own; the loop never waits on disk. */
#ifndef AG_ADMIN_ADMIN_H
#define AG_ADMIN_ADMIN_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "core/buf.h"

struct ag_admin;
struct ag_auth_policy;
struct ag_config;
struct ag_http_req;
struct ag_http_server;
struct ag_pool;
struct ag_relay;
struct ag_relay_record;
struct ag_router;
struct ag_state;
struct ag_store;
struct ag_upstream_client;
struct ag_warmup;
struct ag_writer;

/** What the admin layer works with; everything borrowed and outliving it (cfg is referenced). */
struct ag_admin_deps {
    uv_loop_t *loop;
    struct ag_config *cfg;
    const struct ag_auth_policy *auth; /* the server's policy, kept current by the gateway */
    struct ag_store *store;            /* the loop's connection (onboarding) */
    struct ag_writer *writer;
    struct ag_pool *pool;
    struct ag_upstream_client *client;
    struct ag_relay *relay;        /* may be NULL here and given by ag_admin_attach */
    struct ag_http_server *server; /* likewise */
    /**
     * Puts a new configuration snapshot in force (the gateway's ag_gateway_apply_config):
     * appends to restart the names of changed keys that only a restart applies, one per line.
     * Returns 0 or a negative AG_E*.
     */
    int (*apply_config)(void *ud, struct ag_config *cfg, struct ag_buf *restart);
    void *apply_ud;
};

/** Creates the admin layer and its monitor. Returns NULL when the store cannot be read. */
struct ag_admin *ag_admin_new(const struct ag_admin_deps *deps);

/** Tells the admin layer the relay and server built after it (for status and metrics), and
 * restores the login sessions of the previous run from the store: call it once the server's auth
 * holds the configuration's secrets (a stored session counts only under the secret it began
 * with). */
void ag_admin_attach(struct ag_admin *a, struct ag_relay *relay, struct ag_http_server *server);

/** Gives the admin layer the warm-up (relay/warmup.h) behind /api/warmup; borrowed. */
void ag_admin_set_warmup(struct ag_admin *a, struct ag_warmup *w);

struct ag_keys;

/** Gives the admin layer the gateway's user keys (keys/keys.h) behind /api/keys: reloaded after
 * each change made there, live numbers shown; borrowed, may be NULL. */
void ag_admin_set_keys(struct ag_admin *a, struct ag_keys *keys);

struct ag_alerts;
struct ag_ip_refusals;

/** Gives the admin layer the webhook alerts (alerts/alerts.h) behind /api/alerts; borrowed, may
 * be NULL (then /api/alerts shows no deliveries and the test route answers 503). */
void ag_admin_set_alerts(struct ag_admin *a, struct ag_alerts *alerts);

struct ag_otlp;

/** Gives the admin layer the span exporter (telemetry/otlp.h) whose counters /metrics shows;
 * borrowed, may be NULL (the counters read zero). */
void ag_admin_set_telemetry(struct ag_admin *a, struct ag_otlp *telemetry);

/** Gives the admin layer the server's log of refused addresses (http/iprules.h) behind
 * /api/security/ip; borrowed, may be NULL. */
void ag_admin_set_ip_refusals(struct ag_admin *a, const struct ag_ip_refusals *log);

/** Registers /api/..., /auth/callback and /metrics. 0 or a negative AG_E*. */
int ag_admin_add_routes(struct ag_admin *a, struct ag_router *router);

/** The relay's record callback (struct ag_relay_deps.on_record): monitor, statistics, metrics. */
void ag_admin_on_record(const struct ag_relay_record *rec, void *ud);

/**
 * The server's gate (ag_http_server_set_gate): while the proxy is stopped, AI routes answer 503
 * in their protocol's error format; admin, health and public routes go on.
 */
bool ag_admin_gate(struct ag_http_req *req, void *ud);

/**
 * Creates a login session for a caller in the same process (the desktop window), valid for
 * ttl_ms: its token (AG_SESSION_TOKEN_SIZE bytes, admin/session.h) goes into token, its expiry
 * into *expires_ms (may be NULL). Unlike a login it is never stored, so it ends with the process
 * at the latest. Loop thread, or before the loop runs. 0 or AG_EIO (no randomness).
 */
int ag_admin_session_new(struct ag_admin *a, int64_t ttl_ms, char *token, int64_t *expires_ms);

/**
 * Shares configuration changes with the other instances on st (state/state.h; borrowed, NULL
 * stops): a change made through this admin API is sent to them, and theirs are saved and applied
 * here (admin/api_shared.c).
 */
void ag_admin_set_state(struct ag_admin *a, struct ag_state *st);

/** Takes a new configuration snapshot (referenced) for the admin layer's own settings. */
void ag_admin_set_config(struct ag_admin *a, struct ag_config *cfg);

/** Ends live event streams and cancels OAuth onboarding, so the server can shut down. */
void ag_admin_shutdown(struct ag_admin *a);

/** Frees the admin layer after the loop stopped running its work. NULL is a no-op. */
void ag_admin_free(struct ag_admin *a);

#endif
