/* tests/support/fleet.h: several real gateways that share state through one real redis-server
 * (redisrv.h), each with its own data directory (gwenv.h), against one mock upstream that
 * records which account's token each request carried. The mock knows accounts a@ and b@example.com
 * (refresh tokens rt-a / rt-b, access tokens at-a / at-b) unless told otherwise. Every process is
 * stopped by its own PID; ag_fleet_kill is the teardown after a failed assertion. */
#ifndef AG_TEST_FLEET_H
#define AG_TEST_FLEET_H

#include <stdbool.h>
#include <stddef.h>

#include "gwenv.h"
#include "proc.h"
#include "rawhttp.h"
#include "redisrv.h"
#include "store/user_keys.h"

#define AG_FLEET_MAX 4

struct ag_fleet_opts {
    const char *name;          /* names the temp directories */
    int ngw;                   /* gateways, 1..AG_FLEET_MAX */
    const char *api_key;       /* auth.api_key of every gateway (auth.mode off) */
    const char *const *tokens; /* refresh tokens added to every gateway (NULL-terminated) */
    const char *extra_config;  /* appended inside config.json's top object: ",\"k\":{...}" */
    const char *log_level;     /* the gateways' AIGATE_LOG_LEVEL ("debug"; NULL: info) */
    const char *mock_accounts; /* JSON for PUT /__mock/accounts (NULL: a and b) */
    bool without_redis;        /* the gateways are not given state.redis_url (Redis still runs) */
    const char *state_extra;   /* appended inside the "state" object: ",\"k\":v" (or NULL) */
    bool record_startup;       /* the mock's request record is cleared before the gateways start
                                  (their start-up calls count), not after */
    /* called for each gateway between its data directory's preparation and its start (or NULL) */
    void (*prepare)(struct ag_gwenv *gw, void *ud);
    void *prepare_ud;
};

struct ag_fleet {
    struct ag_redisrv redis;
    struct ag_proc mock;
    struct ag_gwenv gw[AG_FLEET_MAX];
    bool killed[AG_FLEET_MAX]; /* stopped with SIGKILL on purpose: no exit code to check */
    int ngw;
    char api_key[128];
};

/**
 * Starts Redis, the mock with its accounts and o->ngw gateways, waits until each says it shares
 * state through Redis (unless without_redis), and clears the mock's request record. Fails the
 * test on any error (ag_fleet_kill cleans up).
 */
void ag_fleet_start(struct ag_fleet *f, const struct ag_fleet_opts *o);

/**
 * A clean stop: SIGTERM to each gateway not killed on purpose, then the mock and Redis; the
 * directories are removed. Only then fails the test when a gateway did not exit 0 (its log is
 * printed).
 */
void ag_fleet_stop(struct ag_fleet *f);

/** After a failed assertion: SIGKILL to whatever still runs, by PID; directories removed. */
void ag_fleet_kill(struct ag_fleet *f);

/** Kills gateway i with SIGKILL (as a crash would) and marks it so. */
void ag_fleet_crash(struct ag_fleet *f, int i);

/** A call to the mock's control API (path like "/__mock/faults"); the status. */
long ag_fleet_mock(struct ag_fleet *f, const char *method, const char *path, const char *body);

/** Generation requests the mock got carrying "Bearer <token>". */
int ag_fleet_calls(struct ag_fleet *f, const char *token);

/** The Authorization value of the last generation request the mock got ("" when none). */
void ag_fleet_last_token(struct ag_fleet *f, char *out, size_t cap);

/** How often text appears in gateway i's output so far. */
int ag_fleet_count_text(struct ag_fleet *f, int i, const char *text);

/**
 * One chat request (gemini-2.5-flash, "turn <n>") with the fleet's key to 127.0.0.1:port (a
 * gateway, or a load balancer in front of them); session (may be NULL) names the conversation
 * (x-claude-code-session-id). Fails the test when no answer comes. The status; the whole
 * response goes to out when it is not NULL (the caller frees it with rh_resp_free).
 */
int ag_fleet_chat(struct ag_fleet *f, int port, const char *session, int n, struct rh_resp *out);

/** ag_fleet_chat with the key `key` instead of the fleet's. */
int ag_fleet_chat_key(struct ag_fleet *f, int port, const char *key, const char *session, int n,
                      struct rh_resp *out);

/**
 * Puts the active user key `name` with secret and the limits of *limits (its name, hash and
 * state are set here) into the database of the data directory dir, whose gateway is not running.
 */
void ag_fleet_put_key(const char *dir, const char *name, const char *secret,
                      const struct ag_user_key *limits);

/**
 * Connects to 127.0.0.1:port and sends a streaming chat request whose answer (the mock echoes
 * its text one character per event, at the pace set by /__mock/config) runs for over a hundred
 * events; nothing is read. Fails the test when the connection or the send fails.
 */
void ag_fleet_stream(struct ag_fleet *f, struct rh_conn *c, int port);

/**
 * Adds the account of refresh_token through gateway i's admin API (POST /api/accounts with the
 * fleet's key); fails the test unless it answers 200 or 201.
 */
void ag_fleet_add_account(struct ag_fleet *f, int i, const char *refresh_token);

/**
 * Waits (bounded: 10 s) until gateway i's GET /api/accounts shows `want` requests in flight on
 * the account `email` at the other instances (runtime.inflight_elsewhere): what they announced
 * through Redis has arrived. Fails the test, with the last value seen, when it does not.
 */
void ag_fleet_wait_inflight_elsewhere(struct ag_fleet *f, int i, const char *email, int want);

/** Makes account token (an access token like "at-a") answer 429 QUOTA_EXHAUSTED for 60 s. */
void ag_fleet_exhaust(struct ag_fleet *f, const char *token);

#endif
