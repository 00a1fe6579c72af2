/* config/config.h: the gateway's configuration as an immutable, reference-counted snapshot.
 *
 * A snapshot is built once by ag_config_load() from, in increasing precedence: the defaults of the
 * key table (config/schema.h), <data dir>/config.json, the environment (AIGATE_*), and overrides
 * given on the command line. After that it never changes, so the loop thread and worker threads
 * can read it without locks; a running server swaps in a new snapshot and drops its reference to
 * the old one. Every string field is owned by the snapshot and is never NULL ("" when empty). */
#ifndef AG_CONFIG_CONFIG_H
#define AG_CONFIG_CONFIG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/routing.h"
#include "core/buf.h"
#include "core/log.h"

/* Enum-valued keys are stored as these C enums; their order matches the key table's value list. */

/** auth.mode: which routes require the API key (auto: all_except_health with LAN access, else off).
 */
/** state.on_redis_down: what limited user keys get while Redis is out of reach. */
enum { AG_REDIS_DOWN_OPEN = 0, AG_REDIS_DOWN_CLOSED = 1 };

enum ag_auth_mode {
    AG_AUTH_MODE_OFF = 0,
    AG_AUTH_MODE_STRICT = 1,
    AG_AUTH_MODE_ALL_EXCEPT_HEALTH = 2,
    AG_AUTH_MODE_AUTO = 3,
};

/** scheduling.mode: how the pool picks an account. */
enum ag_sched_mode {
    AG_SCHED_MODE_BALANCE = 0,
    AG_SCHED_MODE_CACHE_FIRST = 1,
    AG_SCHED_MODE_PERFORMANCE_FIRST = 2,
};

/** A list of owned strings (JSON array of strings). */
struct ag_config_strlist {
    size_t n;
    char **v;
};

/** One string-to-string pair of a map. */
struct ag_config_pair {
    char *key;
    char *value;
};

/** An ordered map of owned strings (JSON object of strings), in file order, keys unique. */
struct ag_config_strmap {
    size_t n;
    struct ag_config_pair *v;
};

/** One OAuth client the pool may use to refresh tokens (oauth.clients entry). */
struct ag_config_oauth_client {
    char *name;
    char *client_id;
    char *client_secret; /* may be "" */
};

/** oauth.clients: tried in order; AIGATE_OAUTH_CLIENT_ID/SECRET put a client "env" first. */
struct ag_config_oauth_clients {
    size_t n;
    struct ag_config_oauth_client *v;
};

/** One alerts.webhooks entry: where alerts go, which events, and the optional signing secret. */
struct ag_config_webhook {
    char *url;                       /* http:// or https:// */
    char *secret;                    /* "" = unsigned; else HMAC-SHA256 key of the signature */
    struct ag_config_strlist events; /* event names, or "*" for every event; never empty */
};

/** alerts.webhooks: set in config.json or through the admin API only. */
struct ag_config_webhooks {
    size_t n;
    struct ag_config_webhook *v;
};

/** The configuration snapshot. Read-only for everyone once ag_config_load() returned it. */
struct ag_config {
    struct {
        int64_t port;          /* 1..65535; restart required */
        bool allow_lan_access; /* false: 127.0.0.1; true: 0.0.0.0 and [::]; restart required */
        int64_t max_body_bytes;
        int64_t max_header_bytes;
        int64_t max_headers;
        int64_t header_timeout_s;
        int64_t idle_timeout_s;
        int64_t shutdown_grace_s;
        int64_t stream_keepalive_s;
        struct ag_config_strlist cors_allowed_origins;
        struct ag_config_strlist allowed_hosts; /* Host names served besides loopback names */
        int64_t max_connections;
        int64_t max_body_in_flight_bytes;
        int64_t min_body_bytes_per_s;
        int64_t max_json_depth; /* deepest JSON nesting read anywhere (AG_JSON_DEPTH_MIN..MAX) */
    } server;
    struct {
        enum ag_auth_mode mode;
        char *api_key;
        char *admin_password; /* "" = admin routes use api_key */
    } auth;
    struct {
        enum ag_log_level level;
        int64_t max_disk_mb; /* database size cap (MiB), oldest log rows go first; restart */
    } log;
    struct {
        struct ag_config_strlist cloudcode_endpoints; /* never empty; tried in order */
        int64_t connect_timeout_s;
        int64_t first_byte_timeout_s;
        int64_t idle_timeout_s;
        int64_t total_timeout_s;
        char *user_agent;
        char *proxy_url; /* "" = direct */
    } upstream;
    struct {
        char *token_url;
        char *auth_url;
        char *userinfo_url;
        struct ag_config_oauth_clients clients;
    } oauth;
    struct {
        enum ag_sched_mode mode;
        int64_t max_wait_s;
        char *fixed_account; /* "" = none */
        int64_t max_attempts;
        int64_t sticky_ttl_s; /* session binding lifetime after its last use; 0 = off */
        int64_t max_concurrency_per_account; /* leases per account at once; 0 = unlimited */
        bool circuit_breaker;                /* false: failures never cool accounts down */
        int64_t max_cooldown_s;              /* cap on any cooldown, upstream hints included */
        int64_t reject_request_after;        /* request-level 429 rule: accounts; 0 = off */
    } scheduling;
    struct {
        struct ag_config_strmap custom; /* requested model -> upstream model */
        char *background_model;         /* "" = background-task downgrade off */
        bool only_quota_models;         /* model lists: quota ids only */
    } mapping;
    struct {
        struct ag_config_routing_rules rules; /* config/routing.h */
    } routing;
    struct {
        int64_t health_check_interval_s; /* API-key accounts' health checks; 0 = off */
    } providers;
    struct {
        int64_t refresh_interval_s;
        int64_t protection_threshold; /* percent 0..100, 0 = off */
    } quota;
    struct {
        int64_t capacity;             /* requests kept in memory; restart required */
        bool capture_bodies;          /* keep request/response bodies (redacted) */
        int64_t body_cap_bytes;       /* bytes of each body kept */
        int64_t retention_days;       /* request_log age limit, 0 = none; restart required */
        int64_t retention_rows;       /* request_log row limit, 0 = none; restart required */
        int64_t stats_retention_days; /* token statistics age limit; restart required */
        int64_t queue_capacity;       /* writer queue bound; restart required */
    } monitor;
    struct {
        bool public; /* /metrics without the admin secret */
    } metrics;
    struct {
        int64_t session_ttl_s;      /* lifetime of an admin login token */
        int64_t login_max_failures; /* failed logins per client IP per minute before 429 */
    } admin;
    struct {
        bool enabled;                    /* scheduled warm-up on (manual runs work anyway) */
        struct ag_config_strlist times;  /* "HH:MM" or "HH:MM:SS", local time */
        struct ag_config_strlist groups; /* quota groups (or model ids) to warm */
    } warmup;
    struct {
        struct ag_config_strlist ip_allow; /* CIDRs; empty = every address (deny still applies) */
        struct ag_config_strlist ip_deny;  /* CIDRs; wins over ip_allow */
    } security;
    struct {
        struct ag_config_webhooks webhooks;
        int64_t error_rate_threshold;    /* percent of upstream-bound requests failing; 0 = off */
        int64_t error_rate_window_s;     /* the window that percentage is taken over */
        int64_t error_rate_min_requests; /* fewer requests in the window never alert */
        int64_t repeat_s;       /* the same event and subject is not sent again within this */
        int64_t max_attempts;   /* deliveries tried per webhook and alert */
        int64_t queue_capacity; /* deliveries waiting at most; more are dropped and counted */
        char *instance;         /* "instance" of the payload; "" = the host name */
    } alerts;

    struct {
        char *redis_url;  /* redis://...; "" = nothing shared (one instance); restart required */
        char *key_prefix; /* prefix of every key and of the channel; restart required */
        /* AG_REDIS_DOWN_*: what limited user keys get while Redis is away; restart required */
        int on_redis_down;
    } state;
    struct {
        char *postgres_url; /* postgresql://...; "" = aigate.db in the data dir; restart required */
    } store;
    struct {
        char *otlp_endpoint;        /* OTLP/HTTP JSON traces URL; "" = no traces */
        char *service_name;         /* service.name of the spans */
        bool propagate_upstream;    /* traceparent to API-key accounts' upstreams */
        int64_t export_interval_ms; /* between exports */
        int64_t queue_capacity;     /* spans waiting at most; more are dropped and counted */
    } telemetry;

    char *data_dir; /* absolute or as given; "" for snapshots not loaded from disk */
    char *path;     /* <data_dir>/config.json, or "" */
    atomic_int _refs;
};

/** Looks up an environment variable; returns NULL when unset. ctx is the source's env_ctx. */
typedef const char *(*ag_config_getenv_cb)(void *ctx, const char *name);

/** One "key=value" override from the command line, in the key table's text form. */
struct ag_config_override {
    const char *key;    /* e.g. "server.port" */
    const char *value;  /* e.g. "9000" */
    const char *origin; /* for messages, e.g. "--port"; NULL reads as "command line" */
};

/** Where a configuration comes from. All pointers are borrowed for the duration of the call. */
struct ag_config_source {
    const char *data_dir;       /* --data-dir, or NULL to resolve from the environment */
    ag_config_getenv_cb getenv; /* NULL: no environment at all (tests) */
    void *env_ctx;              /* passed to getenv */
    const struct ag_config_override *overrides; /* highest precedence, applied in order */
    size_t n_overrides;
    struct ag_buf *warnings; /* optional: each warning is appended as one line ending in '\n' */
};

/** A getenv() adapter for ag_config_source.getenv (ctx unused): the process environment. */
const char *ag_config_getenv_process(void *ctx, const char *name);

/**
 * Resolves the data directory without creating it: src->data_dir, else $AIGATE_DATA_DIR, else
 * $XDG_DATA_HOME/aigate (only when absolute), else $HOME/.local/share/aigate. Stores a malloc'd
 * path in *out (the caller frees). Returns 0, or AG_ENOTFOUND with a message in errmsg when
 * nothing (not even HOME) gives a directory.
 */
int ag_config_data_dir(const struct ag_config_source *src, char **out, struct ag_buf *errmsg);

/**
 * Loads a snapshot: resolves and creates the data dir (mode 0700), reads config.json or, on first
 * start, writes one with every default and a fresh auth.api_key (mode 0600, atomically), then
 * applies the environment and the overrides. Values from the environment and overrides are never
 * written to the file. A config.json that fails to parse or validate is left untouched.
 *
 * On success *out holds a new snapshot with one reference (release it with ag_config_unref()).
 * On failure *out is NULL, errmsg (if not NULL) holds one human-readable line naming the file with
 * line:column, or the key, the offending value and what is allowed, and the result is AG_EPARSE
 * (config.json is not JSON), AG_EINVAL (a value is invalid; the message says where it came from),
 * AG_ENOTFOUND (no data dir) or AG_EIO (filesystem error).
 * Unknown keys in the file are warnings (logged and added to src->warnings), not errors.
 */
int ag_config_load(const struct ag_config_source *src, struct ag_config **out,
                   struct ag_buf *errmsg);

/**
 * Builds a snapshot from JSON text in memory (no data dir, no file, no environment): defaults for
 * everything the text leaves out, auth.api_key "" unless given. text may be NULL for pure defaults.
 * For other layers' tests and for the admin API. Results and errmsg as ag_config_load().
 */
int ag_config_from_json(const char *text, size_t len, struct ag_config **out,
                        struct ag_buf *errmsg);

/** Takes another reference to cfg; returns cfg. Thread-safe. */
struct ag_config *ag_config_ref(struct ag_config *cfg);

/** Drops a reference; the snapshot is freed with the last one. NULL is a no-op. Thread-safe. */
void ag_config_unref(struct ag_config *cfg);

/**
 * Writes the whole snapshot as a JSON object nested by the dots of the key names (the shape of
 * config.json), appending to out. With mask, secret values go through ag_log_mask(). pretty
 * indents with two spaces and ends with a newline. Returns 0 or AG_ETOOBIG (out's cap).
 */
int ag_config_to_json(const struct ag_config *cfg, bool mask, bool pretty, struct ag_buf *out);

/**
 * Appends the value of one key to out: strings as their raw text, everything else as compact
 * JSON. With mask, a secret is masked. Returns 0, AG_ENOTFOUND (no such key; errmsg says so), or
 * AG_ETOOBIG.
 */
int ag_config_get(const struct ag_config *cfg, const char *key, bool mask, struct ag_buf *out,
                  struct ag_buf *errmsg);

/**
 * Checks that value (text form, as for --set / `config set`) is valid for key without loading
 * anything. Returns 0, or AG_ENOTFOUND (unknown key) / AG_EINVAL (bad value) with a message
 * naming origin (NULL: "command line"), the key, the value and what is allowed.
 */
int ag_config_check(const char *key, const char *value, const char *origin, struct ag_buf *errmsg);

/**
 * Sets one key in config.json of the data dir named by src (created with defaults if missing),
 * keeping every other byte of meaning in the file (unknown keys included), and saves atomically.
 * The whole resulting file is validated first; the environment and overrides of src are ignored
 * (they are not written to the file). Returns 0, or the errors of ag_config_check() and
 * ag_config_load(); on any error the file is unchanged.
 */
int ag_config_set(const struct ag_config_source *src, const char *key, const char *value,
                  struct ag_buf *errmsg);

/**
 * Parses a time of day as warmup.times writes it: "HH:MM" or "HH:MM:SS" (24-hour, two digits
 * each). *sec_of_day (may be NULL) gets the seconds since midnight. Returns 0 or AG_EINVAL.
 */
int ag_config_time_of_day(const char *s, int32_t *sec_of_day);

/** Resolves auth.mode "auto": all_except_health when LAN access is on, else off. */
enum ag_auth_mode ag_config_auth_mode_effective(const struct ag_config *cfg);

#endif
