/* config/schema.c: the key table and the per-kind conversions between JSON, text and the fields
 * of struct ag_config (see schema.h). To add a key: add a field to struct ag_config and a row here
 * (a key whose value is a JSON structure also gets its kind in schema_json.c). */
#include "config/schema.h"
#include "config/schema_internal.h"

#include "config/config.h"
#include "core/cidr.h"
#include "core/err.h"
#include "core/json_depth.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/str.h"
#include "core/url.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FIELD(base, key)  ((void *)((char *)(base) + (key)->offset))
#define CFIELD(base, key) ((const void *)((const char *)(base) + (key)->offset))
#define OFF(member)       offsetof(struct ag_config, member)

_Static_assert(sizeof(enum ag_auth_mode) == sizeof(int), "enum keys are stored as int");
_Static_assert(sizeof(enum ag_sched_mode) == sizeof(int), "enum keys are stored as int");
_Static_assert(sizeof(enum ag_log_level) == sizeof(int), "enum keys are stored as int");

/* ---- checks ---- */

/* True when s is "<scheme>://<something>" for one of the NULL-terminated schemes. */
static bool url_with_scheme(const char *s, const char *const *schemes)
{
    struct ag_str v = ag_str_c(s);
    for (size_t i = 0; schemes[i]; i++) {
        size_t n = strlen(schemes[i]);
        if (v.len > n + 3 && ag_str_has_prefix_ci(v, schemes[i]) && memcmp(s + n, "://", 3) == 0)
            return true;
    }
    return false;
}

static const char *const http_schemes[] = {"http", "https", NULL};
static const char *const proxy_schemes[] = {"http", "https", "socks5", "socks5h", NULL};

bool ag_config_http_url(const char *s)
{
    return url_with_scheme(s, http_schemes);
}

static int check_http_url(const void *field, struct ag_buf *why)
{
    if (url_with_scheme(*(char *const *)field, http_schemes))
        return 0;
    ag_buf_append_c(why, "an http:// or https:// URL");
    return AG_EINVAL;
}

static int check_proxy_url(const void *field, struct ag_buf *why)
{
    const char *s = *(char *const *)field;
    if (s[0] == '\0' || url_with_scheme(s, proxy_schemes))
        return 0;
    ag_buf_append_c(why, "empty (no proxy) or a URL starting with http://, https://, socks5:// or "
                         "socks5h://");
    return AG_EINVAL;
}

static int check_optional_http_url(const void *field, struct ag_buf *why)
{
    const char *s = *(char *const *)field;
    if (s[0] == '\0' || url_with_scheme(s, http_schemes))
        return 0;
    ag_buf_append_c(why, "empty (off) or an http:// or https:// URL");
    return AG_EINVAL;
}

static int check_endpoints(const void *field, struct ag_buf *why)
{
    const struct ag_config_strlist *l = field;
    for (size_t i = 0; i < l->n; i++) {
        if (!url_with_scheme(l->v[i], http_schemes))
            goto bad;
    }
    if (l->n > 0)
        return 0;
bad:
    ag_buf_append_c(why, "a non-empty list of http:// or https:// base URLs");
    return AG_EINVAL;
}

/* state.redis_url: empty, or redis://...; rediss:// is refused with the reason (the full check
 * of host, port and db is state/keyspace.c's, at start). */
static int check_redis_url(const void *field, struct ag_buf *why)
{
    struct ag_str v = ag_str_c(*(char *const *)field);
    if (v.len == 0 || (v.len > 8 && ag_str_has_prefix_ci(v, "redis://")))
        return 0;
    if (ag_str_has_prefix_ci(v, "rediss://"))
        ag_buf_append_c(why, "a redis:// URL: rediss:// (TLS) is not available, Debian 12's "
                             "hiredis 0.14 has no TLS support (use a TLS tunnel such as stunnel)");
    else
        ag_buf_append_c(why, "empty or a redis://[[user]:password@]host[:port][/db] URL");
    return AG_EINVAL;
}

/* store.postgres_url: empty or a postgresql:// (postgres://) URL, never libpq's key=value form,
 * whose password the redaction of URLs would not see. */
static int check_postgres_url(const void *field, struct ag_buf *why)
{
    struct ag_str v = ag_str_c(*(char *const *)field);
    if (v.len == 0 || ag_str_has_prefix_ci(v, "postgresql://") ||
        ag_str_has_prefix_ci(v, "postgres://"))
        return 0;
    ag_buf_append_c(why, "empty or a postgresql://[user[:password]@]host[:port]/dbname URL");
    return AG_EINVAL;
}

/* state.key_prefix: 1 to 32 characters from A-Z a-z 0-9 : _ - . */
static int check_key_prefix(const void *field, struct ag_buf *why)
{
    const char *s = *(char *const *)field;
    size_t n = strlen(s);
    bool ok = n >= 1 && n <= 32;
    for (size_t i = 0; ok && i < n; i++)
        ok = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
             (s[i] >= '0' && s[i] <= '9') || s[i] == ':' || s[i] == '_' || s[i] == '-' ||
             s[i] == '.';
    if (ok)
        return 0;
    ag_buf_append_c(why, "1 to 32 characters from A-Z a-z 0-9 : _ - .");
    return AG_EINVAL;
}

int ag_config_time_of_day(const char *s, int32_t *sec_of_day)
{
    size_t n = s ? strlen(s) : 0;
    int v[3] = {0, 0, 0};
    if (n != 5 && n != 8)
        return AG_EINVAL;
    for (size_t i = 0; i < n; i += 3) {
        if (s[i] < '0' || s[i] > '9' || s[i + 1] < '0' || s[i + 1] > '9' ||
            (i + 2 < n && s[i + 2] != ':'))
            return AG_EINVAL;
        v[i / 3] = (s[i] - '0') * 10 + (s[i + 1] - '0');
    }
    if (v[0] > 23 || v[1] > 59 || v[2] > 59)
        return AG_EINVAL;
    if (sec_of_day)
        *sec_of_day = v[0] * 3600 + v[1] * 60 + v[2];
    return 0;
}

/* warmup.times: at most 48 times of day. */
static int check_warmup_times(const void *field, struct ag_buf *why)
{
    const struct ag_config_strlist *l = field;
    for (size_t i = 0; i < l->n; i++) {
        if (ag_config_time_of_day(l->v[i], NULL) != 0) {
            ag_buf_printf(why,
                          "a list of times of day \"HH:MM\" or \"HH:MM:SS\" (00:00 to "
                          "23:59:59, local time); item %zu is not one",
                          i);
            return AG_EINVAL;
        }
    }
    if (l->n <= 48)
        return 0;
    ag_buf_append_c(why, "at most 48 times of day");
    return AG_EINVAL;
}

/* warmup.groups: 1 to 16 quota group names or model ids (lower-case letters, digits, '.', '-',
 * '_'). */
static int check_warmup_groups(const void *field, struct ag_buf *why)
{
    const struct ag_config_strlist *l = field;
    for (size_t i = 0; i < l->n; i++) {
        const char *g = l->v[i];
        size_t len = strlen(g);
        bool ok = len > 0 && len < 128;
        for (size_t j = 0; ok && j < len; j++)
            ok = (g[j] >= 'a' && g[j] <= 'z') || (g[j] >= '0' && g[j] <= '9') || g[j] == '.' ||
                 g[j] == '-' || g[j] == '_';
        if (!ok) {
            ag_buf_printf(why,
                          "a list of quota groups such as \"claude\", \"gemini-3-pro-high\", "
                          "\"gemini-3-flash\" (lower-case model names); item %zu is not one",
                          i);
            return AG_EINVAL;
        }
    }
    if (l->n >= 1 && l->n <= 16)
        return 0;
    ag_buf_append_c(why, "a list of 1 to 16 quota groups");
    return AG_EINVAL;
}

/* security.ip_allow / ip_deny: each item an IPv4 or IPv6 address or CIDR block. */
static int check_cidrs(const void *field, struct ag_buf *why)
{
    const struct ag_config_strlist *l = field;
    for (size_t i = 0; i < l->n; i++) {
        struct ag_cidr c;
        const char *reason = "";
        if (ag_cidr_parse(l->v[i], &c, &reason) != 0) {
            ag_buf_printf(why,
                          "a list of IPv4 or IPv6 addresses or CIDR blocks (\"10.0.0.0/8\", "
                          "\"::1\", \"fd00::/8\"); item %zu (\"%.64s\") is %s",
                          i, l->v[i], reason);
            return AG_EINVAL;
        }
    }
    if (l->n <= 1024)
        return 0;
    ag_buf_append_c(why, "at most 1024 addresses or blocks");
    return AG_EINVAL;
}

/* ---- the table ---- */

static const char *const auth_modes[] = {"off", "strict", "all_except_health", "auto", NULL};
static const char *const log_levels[] = {"error", "warn", "info", "debug", "trace", NULL};
static const char *const sched_modes[] = {"balance", "cache_first", "performance_first", NULL};
static const char *const redis_down_modes[] = {"open", "closed", NULL};

#if defined(__APPLE__)
#define AG_UA_PLATFORM "Macintosh; Intel Mac OS X 10_15_7"
#elif defined(_WIN32)
#define AG_UA_PLATFORM "Windows NT 10.0; Win64; x64"
#else
#define AG_UA_PLATFORM "X11; Linux x86_64"
#endif

/* clang-format off */
#define INT(n, d, lo, hi, off, fl, ev, h) \
    {.name = n, .kind = AG_CONFIG_INT, .def = d, .min = lo, .max = hi, .offset = OFF(off), \
     .flags = fl, .env = ev, .help = h}
#define BOOL(n, d, off, fl, ev, h) \
    {.name = n, .kind = AG_CONFIG_BOOL, .def = d, .offset = OFF(off), .flags = fl, .env = ev, .help = h}
#define STR(n, d, off, fl, ev, chk, h) \
    {.name = n, .kind = AG_CONFIG_STRING, .def = d, .offset = OFF(off), .flags = fl, .env = ev, \
     .check = chk, .help = h}
#define ENUM(n, d, vals, off, fl, ev, h) \
    {.name = n, .kind = AG_CONFIG_ENUM, .def = d, .values = vals, .offset = OFF(off), .flags = fl, \
     .env = ev, .help = h}
#define LIST(n, d, off, fl, ev, chk, h) \
    {.name = n, .kind = AG_CONFIG_STRLIST, .def = d, .offset = OFF(off), .flags = fl, .env = ev, \
     .check = chk, .help = h}
#define JSONK(n, d, ops, off, fl, h) \
    {.name = n, .kind = AG_CONFIG_JSON, .def = d, .json = ops, .offset = OFF(off), .flags = fl, \
     .help = h}

#define R AG_CONFIG_RESTART
#define S AG_CONFIG_SECRET

static const struct ag_config_key keys[] = {
    INT("server.port", "8045", 1, 65535, server.port, R, "AIGATE_PORT",
        "TCP port the gateway listens on"),
    BOOL("server.allow_lan_access", "false", server.allow_lan_access, R, "AIGATE_ALLOW_LAN",
         "false: listen on 127.0.0.1 only; true: listen on 0.0.0.0 and [::]"),
    INT("server.max_body_bytes", "104857600", 1024, INT64_MAX, server.max_body_bytes, 0, NULL,
        "largest request body accepted, and largest body sent upstream (bytes); larger get 413"),
    INT("server.max_header_bytes", "65536", 1024, 16777216, server.max_header_bytes, 0, NULL,
        "largest request head (request line + headers) accepted (bytes)"),
    INT("server.max_headers", "100", 1, 10000, server.max_headers, 0, NULL,
        "most header fields accepted in one request"),
    INT("server.header_timeout_s", "30", 1, 3600, server.header_timeout_s, 0, NULL,
        "seconds a client may take to send the request head"),
    INT("server.idle_timeout_s", "120", 1, 86400, server.idle_timeout_s, 0, NULL,
        "seconds an idle keep-alive connection is kept open"),
    INT("server.stream_keepalive_s", "15", 1, 300, server.stream_keepalive_s, 0, NULL,
        "seconds of upstream silence after which a stream gets a keep-alive (ping) frame"),
    INT("server.shutdown_grace_s", "10", 0, 3600, server.shutdown_grace_s, 0, NULL,
        "seconds running requests get to finish on SIGINT/SIGTERM"),
    LIST("server.cors_allowed_origins", "[\"*\"]", server.cors_allowed_origins, 0, NULL, NULL,
         "web page origins allowed to call the gateway; \"*\" allows any, but only on routes that "
         "require a key"),
    LIST("server.allowed_hosts", "[]", server.allowed_hosts, 0, NULL, NULL,
         "Host names served besides loopback names (localhost, 127.0.0.1, [::1]) while listening "
         "on loopback; with LAN access on and this empty, every Host is served"),
    INT("server.max_connections", "8192", 16, 1048576, server.max_connections, R, NULL,
        "most client connections open at once; more are closed on accept"),
    INT("server.max_body_in_flight_bytes", "268435456", 1048576, INT64_MAX,
        server.max_body_in_flight_bytes, R, NULL,
        "request-body bytes held at once over all connections; past it, 503 with Retry-After"),
    INT("server.min_body_bytes_per_s", "4096", 1, 1073741824, server.min_body_bytes_per_s, R, NULL,
        "average rate a request body must keep after server.header_timeout_s, or 408"),
    INT("server.max_json_depth", "128", AG_JSON_DEPTH_MIN, AG_JSON_DEPTH_MAX, server.max_json_depth,
        0, NULL,
        "deepest nesting of arrays and objects accepted in any JSON the gateway reads (request "
        "bodies and tool arguments, upstream answers, admin bodies, imports); deeper gets 400"),

    ENUM("auth.mode", "\"off\"", auth_modes, auth.mode, 0, "AIGATE_AUTH_MODE",
         "off | strict (key on every route) | all_except_health | auto (all_except_health when "
         "LAN access is on, else off)"),
    STR("auth.api_key", "\"\"", auth.api_key, S, "AIGATE_API_KEY", NULL,
        "key clients send (Authorization: Bearer, x-api-key or x-goog-api-key); generated on "
        "first start"),
    STR("auth.admin_password", "\"\"", auth.admin_password, S, NULL, NULL,
        "password for the admin API; empty: the admin API uses auth.api_key"),

    ENUM("log.level", "\"info\"", log_levels, log.level, 0, "AIGATE_LOG_LEVEL",
         "error | warn | info | debug | trace"),
    INT("log.max_disk_mb", "1024", 16, 16777216, log.max_disk_mb, R, NULL,
        "most MiB the database (aigate.db) may take; past it the oldest request log rows go"),

    LIST("upstream.cloudcode_endpoints",
         "[\"https://daily-cloudcode-pa.sandbox.googleapis.com/v1internal\","
         "\"https://daily-cloudcode-pa.googleapis.com/v1internal\","
         "\"https://cloudcode-pa.googleapis.com/v1internal\"]",
         upstream.cloudcode_endpoints, 0, "AIGATE_CLOUDCODE_ENDPOINTS", check_endpoints,
         "Cloud Code base URLs, tried in order"),
    INT("upstream.connect_timeout_s", "20", 1, 600, upstream.connect_timeout_s, 0, NULL,
        "seconds to establish an upstream connection"),
    INT("upstream.first_byte_timeout_s", "120", 1, 3600, upstream.first_byte_timeout_s, 0, NULL,
        "seconds to wait for the first byte of an upstream answer"),
    INT("upstream.idle_timeout_s", "120", 1, 3600, upstream.idle_timeout_s, 0, NULL,
        "seconds an upstream stream may stay silent"),
    INT("upstream.total_timeout_s", "600", 1, 86400, upstream.total_timeout_s, 0, NULL,
        "seconds one upstream call may take in total"),
    STR("upstream.user_agent",
        "\"Antigravity/4.3.0 (" AG_UA_PLATFORM ") Chrome/132.0.6834.160 Electron/39.2.3\"",
        upstream.user_agent, 0, NULL, NULL, "User-Agent sent upstream"),
    STR("upstream.proxy_url", "\"\"", upstream.proxy_url, AG_CONFIG_URL_SECRET, NULL,
        check_proxy_url,
        "proxy for upstream calls (http://, https://, socks5://, socks5h://); empty: direct"),

    STR("oauth.token_url", "\"https://oauth2.googleapis.com/token\"", oauth.token_url, 0,
        "AIGATE_OAUTH_TOKEN_URL", check_http_url, "OAuth token endpoint (refresh, code exchange)"),
    STR("oauth.auth_url", "\"https://accounts.google.com/o/oauth2/v2/auth\"", oauth.auth_url, 0,
        "AIGATE_OAUTH_AUTH_URL", check_http_url, "OAuth authorization page"),
    STR("oauth.userinfo_url", "\"https://www.googleapis.com/oauth2/v2/userinfo\"",
        oauth.userinfo_url, 0, "AIGATE_USERINFO_URL", check_http_url,
        "OAuth user info endpoint (account e-mail)"),
    JSONK("oauth.clients", "[]", &ag_config_clients_ops, oauth.clients, 0,
          "OAuth clients tried in order; AIGATE_OAUTH_CLIENT_ID/_SECRET add one named \"env\" "
          "first"),

    ENUM("scheduling.mode", "\"balance\"", sched_modes, scheduling.mode, 0, NULL,
         "balance | cache_first | performance_first"),
    INT("scheduling.max_wait_s", "60", 0, 3600, scheduling.max_wait_s, 0, NULL,
        "longest a request waits for a cooling-down account before failing"),
    STR("scheduling.fixed_account", "\"\"", scheduling.fixed_account, 0, NULL, NULL,
        "account (id or e-mail) every request uses; empty: scheduler chooses"),
    INT("scheduling.max_attempts", "3", 1, 20, scheduling.max_attempts, 0, NULL,
        "upstream attempts per request (accounts rotated between attempts)"),
    INT("scheduling.sticky_ttl_s", "3600", 0, 604800, scheduling.sticky_ttl_s, 0, NULL,
        "seconds a session stays bound to its account after its last request; 0: no binding"),
    INT("scheduling.max_concurrency_per_account", "0", 0, 100000,
        scheduling.max_concurrency_per_account, 0, NULL,
        "requests one account serves at once (more wait up to max_wait_s); 0: unlimited"),
    BOOL("scheduling.circuit_breaker", "true", scheduling.circuit_breaker, 0, NULL,
         "cool accounts down after 429/5xx/transport failures; false: only rotate"),
    INT("scheduling.max_cooldown_s", "86400", 1, 604800, scheduling.max_cooldown_s, 0, NULL,
        "longest cooldown, even when the upstream asks for more"),
    INT("scheduling.reject_request_after", "2", 0, 20, scheduling.reject_request_after, 0, NULL,
        "answer a request's 429 instead of rotating once this many accounts that serve other "
        "requests refused it (not cooled down); 0: off"),

    JSONK("mapping.custom", "{}", &ag_config_strmap_ops, mapping.custom, 0,
          "model mapping rules: requested model (exact or with *) -> upstream model"),
    JSONK("routing.rules", "[]", &ag_config_routing_ops, routing.rules, 0,
          "model pattern -> targets (provider kind or account label, upstream model, weight, "
          "context) with strategy priority|weighted|least-busy and fallback_on "
          "429|5xx|timeout|context-length; the first matching rule decides"),
    INT("providers.health_check_interval_s", "0", 0, 86400, providers.health_check_interval_s, 0,
        NULL,
        "seconds between health checks of API-key accounts (their model list, with their key); "
        "an account that fails is skipped until a check succeeds; 0: off"),
    BOOL("mapping.only_quota_models", "false", mapping.only_quota_models, 0, NULL,
         "model lists show only the models the accounts report quota for (no mapping names)"),
    STR("mapping.background_model", "\"gemini-2.5-flash\"", mapping.background_model, 0, NULL,
        NULL, "model for background tasks (titles, summaries) of Anthropic clients; empty: off"),

    INT("quota.refresh_interval_s", "900", 60, 86400, quota.refresh_interval_s, 0, NULL,
        "seconds between background quota refreshes"),
    INT("quota.protection_threshold", "0", 0, 100, quota.protection_threshold, 0, NULL,
        "remaining-quota percent below which an account is spared for a model; 0: off"),

    INT("monitor.capacity", "1000", 10, 100000, monitor.capacity, R, NULL,
        "finished requests the monitor keeps in memory"),
    BOOL("monitor.capture_bodies", "false", monitor.capture_bodies, 0, NULL,
         "record request and response bodies (capped, secrets redacted)"),
    INT("monitor.body_cap_bytes", "65536", 256, 16777216, monitor.body_cap_bytes, 0, NULL,
        "bytes of each captured body kept"),
    INT("monitor.retention_days", "30", 0, 3650, monitor.retention_days, R, NULL,
        "days request log rows are kept; 0: no age limit"),
    INT("monitor.retention_rows", "100000", 0, 100000000, monitor.retention_rows, R, NULL,
        "request log rows kept at most (newest); 0: no row limit"),
    INT("monitor.stats_retention_days", "400", 0, 36500, monitor.stats_retention_days, R, NULL,
        "days hourly token statistics are kept; 0: no limit"),
    INT("monitor.queue_capacity", "4096", 16, 1000000, monitor.queue_capacity, R, NULL,
        "records waiting for the disk writer at most; beyond, records are dropped and counted"),
    BOOL("metrics.public", "false", metrics.public, 0, NULL,
         "serve /metrics without the admin secret"),
    INT("admin.session_ttl_s", "43200", 60, 2592000, admin.session_ttl_s, 0, NULL,
        "seconds an admin login token stays valid"),
    INT("admin.login_max_failures", "5", 1, 1000, admin.login_max_failures, 0, NULL,
        "failed admin logins per client address per minute before further tries get 429"),

    BOOL("warmup.enabled", "false", warmup.enabled, 0, NULL,
         "send one tiny request per account and quota group at warmup.times, so quota windows "
         "start then (only where the quota is full)"),
    LIST("warmup.times", "[\"07:00\"]", warmup.times, 0, NULL, check_warmup_times,
         "local times of day (\"HH:MM\" or \"HH:MM:SS\") of the scheduled warm-up"),
    LIST("warmup.groups", "[\"claude\",\"gemini-3-pro-high\",\"gemini-3-flash\"]",
         warmup.groups, 0, NULL, check_warmup_groups,
         "quota groups to warm up (a model id stands for its group)"),

    LIST("security.ip_allow", "[]", security.ip_allow, 0, NULL, check_cidrs,
         "client addresses served (IPv4/IPv6 addresses or CIDR blocks); empty: every address; "
         "others are closed at accept"),
    LIST("security.ip_deny", "[]", security.ip_deny, 0, NULL, check_cidrs,
         "client addresses refused (closed at accept), even when security.ip_allow lists them"),

    JSONK("alerts.webhooks", "[]", &ag_config_webhooks_ops, alerts.webhooks, 0,
          "webhooks alerts are posted to: [{\"url\", \"events\": [...], \"secret\"}] (config "
          "file or admin API only)"),
    INT("alerts.error_rate_threshold", "50", 0, 100, alerts.error_rate_threshold, 0, NULL,
        "percent of upstream-bound requests failing (5xx) over the window that sends "
        "upstream.error_rate; 0: off"),
    INT("alerts.error_rate_window_s", "300", 10, 86400, alerts.error_rate_window_s, 0, NULL,
        "seconds the upstream error rate is measured over"),
    INT("alerts.error_rate_min_requests", "20", 1, 1000000, alerts.error_rate_min_requests, 0,
        NULL, "fewest requests in the window before the error rate can alert"),
    INT("alerts.repeat_s", "300", 0, 86400, alerts.repeat_s, 0, NULL,
        "seconds the same alert (event and subject) is not sent again; 0: always"),
    INT("alerts.max_attempts", "5", 1, 20, alerts.max_attempts, 0, NULL,
        "delivery attempts per webhook and alert (back-off 1 s, 2 s, 4 s... up to 60 s)"),
    INT("alerts.queue_capacity", "256", 1, 100000, alerts.queue_capacity, 0, NULL,
        "deliveries waiting at most; more are dropped, logged and counted"),
    STR("alerts.instance", "\"\"", alerts.instance, 0, NULL, NULL,
        "\"instance\" named in alert payloads; empty: the host name"),

    STR("state.redis_url", "\"\"", state.redis_url, AG_CONFIG_URL_SECRET | R, "AIGATE_REDIS_URL",
        check_redis_url,
        "redis://[[user]:password@]host[:port][/db] shared by several instances (cooldowns, "
        "sticky sessions, account changes); empty: nothing is shared"),
    STR("state.key_prefix", "\"aigate:\"", state.key_prefix, R, NULL, check_key_prefix,
        "prefix of the Redis keys and channel; instances that share state use the same one"),
    ENUM("state.on_redis_down", "\"open\"", redis_down_modes, state.on_redis_down, R, NULL,
         "user keys with limits while Redis is out of reach: open (each instance enforces them on its own counts) | closed (refused with 503)"),

    STR("store.postgres_url", "\"\"", store.postgres_url, AG_CONFIG_URL_SECRET | R, "AIGATE_POSTGRES_URL", check_postgres_url, "postgresql://user:password@host:port/db keeping accounts, keys, the request log and statistics for several instances; empty: aigate.db in the data dir"),

    STR("telemetry.otlp_endpoint", "\"\"", telemetry.otlp_endpoint, AG_CONFIG_URL_SECRET, NULL, check_optional_http_url, "OTLP/HTTP traces URL (JSON), e.g. http://127.0.0.1:4318/v1/traces; empty: no traces"),
    STR("telemetry.service_name", "\"aigate\"", telemetry.service_name, 0, NULL, NULL, "service.name of the exported spans"),
    BOOL("telemetry.propagate_upstream", "false", telemetry.propagate_upstream, 0, NULL, "send traceparent (the attempt's span) to API-key accounts' upstreams; never to Cloud Code"),
    INT("telemetry.export_interval_ms", "1000", 100, 60000, telemetry.export_interval_ms, 0, NULL, "milliseconds between exports (sooner when 512 spans wait)"),
    INT("telemetry.queue_capacity", "2048", 16, 1000000, telemetry.queue_capacity, 0, NULL, "spans waiting for export at most; more are dropped and counted"),
};
/* clang-format on */

const struct ag_config_key *ag_config_keys(size_t *n)
{
    *n = sizeof(keys) / sizeof(keys[0]);
    return keys;
}

const struct ag_config_key *ag_config_key_findn(const char *name, size_t n)
{
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (strlen(keys[i].name) == n && memcmp(keys[i].name, name, n) == 0)
            return &keys[i];
    }
    return NULL;
}

const struct ag_config_key *ag_config_key_find(const char *name)
{
    return name ? ag_config_key_findn(name, strlen(name)) : NULL;
}

void ag_config_key_allowed(const struct ag_config_key *key, struct ag_buf *out)
{
    switch (key->kind) {
    case AG_CONFIG_INT:
        if (key->max == INT64_MAX)
            ag_buf_printf(out, "an integer of at least %lld", (long long)key->min);
        else
            ag_buf_printf(out, "an integer from %lld to %lld", (long long)key->min,
                          (long long)key->max);
        break;
    case AG_CONFIG_BOOL:
        ag_buf_append_c(out, "true or false");
        break;
    case AG_CONFIG_STRING:
        ag_buf_append_c(out, "a string");
        break;
    case AG_CONFIG_ENUM:
        ag_buf_append_c(out, "one of ");
        for (size_t i = 0; key->values[i]; i++)
            ag_buf_printf(out, "%s%s", i ? ", " : "", key->values[i]);
        break;
    case AG_CONFIG_STRLIST:
        ag_buf_append_c(out, "an array of strings");
        break;
    case AG_CONFIG_JSON:
        ag_buf_append_c(out, key->json->allowed);
        break;
    }
}

static void strlist_dispose(struct ag_config_strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static void dispose_at(const struct ag_config_key *key, void *f)
{
    switch (key->kind) {
    case AG_CONFIG_STRING: {
        char **s = f;
        free(*s);
        *s = NULL;
        break;
    }
    case AG_CONFIG_STRLIST:
        strlist_dispose(f);
        break;
    case AG_CONFIG_JSON:
        key->json->dispose(f);
        break;
    default:
        break;
    }
}

void ag_config_field_dispose(const struct ag_config_key *key, void *base)
{
    dispose_at(key, FIELD(base, key));
}

/* Parses v into a fresh field value in tmp (a scratch area as large as any field). */
static int parse_value(const struct ag_config_key *key, yyjson_val *v, void *tmp,
                       struct ag_buf *why)
{
    switch (key->kind) {
    case AG_CONFIG_INT: {
        int64_t x;
        if (yyjson_is_sint(v))
            x = yyjson_get_sint(v);
        else if (yyjson_is_uint(v) && yyjson_get_uint(v) <= (uint64_t)INT64_MAX)
            x = (int64_t)yyjson_get_uint(v);
        else
            goto bad;
        if (x < key->min || x > key->max)
            goto bad;
        *(int64_t *)tmp = x;
        return 0;
    }
    case AG_CONFIG_BOOL:
        if (!yyjson_is_bool(v))
            goto bad;
        *(bool *)tmp = yyjson_get_bool(v);
        return 0;
    case AG_CONFIG_STRING:
        if (!yyjson_is_str(v))
            goto bad;
        *(char **)tmp = ag_strdup(yyjson_get_str(v));
        return 0;
    case AG_CONFIG_ENUM:
        if (!yyjson_is_str(v))
            goto bad;
        for (int i = 0; key->values[i]; i++) {
            if (strcmp(key->values[i], yyjson_get_str(v)) == 0) {
                *(int *)tmp = i;
                return 0;
            }
        }
        goto bad;
    case AG_CONFIG_STRLIST: {
        struct ag_config_strlist *l = tmp;
        if (!yyjson_is_arr(v))
            goto bad;
        size_t i, max;
        yyjson_val *item;
        yyjson_arr_foreach(v, i, max, item)
        {
            if (!yyjson_is_str(item))
                goto bad;
        }
        l->n = 0;
        l->v = ag_calloc(yyjson_arr_size(v) + 1, sizeof(char *));
        yyjson_arr_foreach(v, i, max, item) l->v[l->n++] = ag_strdup(yyjson_get_str(item));
        return 0;
    }
    case AG_CONFIG_JSON: {
        struct ag_buf reason;
        ag_buf_init(&reason, 1024);
        int rc = key->json->parse(v, tmp, &reason);
        if (rc) {
            ag_buf_printf(why, "%s (%s)", key->json->allowed, reason.data ? reason.data : "");
            ag_buf_dispose(&reason);
            return rc;
        }
        ag_buf_dispose(&reason);
        return 0;
    }
    }
bad:
    ag_config_key_allowed(key, why);
    return AG_EINVAL;
}

/* Scratch large enough for any field type. */
union field_scratch {
    int64_t i;
    bool b;
    int e;
    char *s;
    struct ag_config_strlist l;
    struct ag_config_strmap m;
    struct ag_config_oauth_clients c;
    struct ag_config_webhooks w;
};

static size_t field_size(const struct ag_config_key *key)
{
    switch (key->kind) {
    case AG_CONFIG_INT:
        return sizeof(int64_t);
    case AG_CONFIG_BOOL:
        return sizeof(bool);
    case AG_CONFIG_STRING:
        return sizeof(char *);
    case AG_CONFIG_ENUM:
        return sizeof(int);
    case AG_CONFIG_STRLIST:
        return sizeof(struct ag_config_strlist);
    case AG_CONFIG_JSON:
        break;
    }
    return sizeof(union field_scratch);
}

int ag_config_field_from_json(const struct ag_config_key *key, void *base, yyjson_val *v,
                              struct ag_buf *why)
{
    union field_scratch tmp;
    memset(&tmp, 0, sizeof(tmp));
    int rc = parse_value(key, v, &tmp, why);
    if (rc)
        return rc;
    if (key->check) {
        rc = key->check(&tmp, why);
        if (rc) {
            dispose_at(key, &tmp);
            return rc;
        }
    }
    ag_config_field_dispose(key, base);
    memcpy(FIELD(base, key), &tmp, field_size(key));
    return 0;
}

static int text_to_bool(const char *text, bool *out)
{
    static const char *const yes[] = {"1", "true", "yes", "on", NULL};
    static const char *const no[] = {"0", "false", "no", "off", NULL};
    struct ag_str t = ag_str_trim(ag_str_c(text));
    for (size_t i = 0; yes[i]; i++) {
        if (ag_str_eq_ci(t, ag_str_c(yes[i]))) {
            *out = true;
            return 0;
        }
        if (ag_str_eq_ci(t, ag_str_c(no[i]))) {
            *out = false;
            return 0;
        }
    }
    return AG_EINVAL;
}

/* Parses JSON text into doc; on failure appends a reason to why. */
static int json_text_to_mut(const char *text, yyjson_mut_doc *doc, yyjson_mut_val **out,
                            struct ag_buf *why)
{
    yyjson_read_err err;
    int jerr;
    /* A value (command line, environment, admin API) is held to the default nesting limit, like
     * the file it goes into. */
    yyjson_doc *d =
        ag_json_depth_read(text, strlen(text), AG_JSON_DEPTH_DEFAULT, NULL, &err, &jerr);
    if (jerr == AG_EDEPTH) {
        ag_buf_printf(why, "valid JSON (" AG_JSON_DEPTH_MSG ")", (size_t)AG_JSON_DEPTH_DEFAULT);
        return AG_EINVAL;
    }
    if (!d) {
        ag_buf_printf(why, "valid JSON (%s at byte %zu)", err.msg, err.pos);
        return AG_EINVAL;
    }
    *out = yyjson_val_mut_copy(doc, yyjson_doc_get_root(d));
    yyjson_doc_free(d);
    return 0;
}

int ag_config_text_to_json(const struct ag_config_key *key, const char *text, yyjson_mut_doc *doc,
                           yyjson_mut_val **out, struct ag_buf *why)
{
    switch (key->kind) {
    case AG_CONFIG_INT: {
        int64_t x;
        if (ag_str_to_i64(ag_str_trim(ag_str_c(text)), INT64_MIN, INT64_MAX, &x) != 0) {
            ag_config_key_allowed(key, why);
            return AG_EINVAL;
        }
        *out = yyjson_mut_sint(doc, x);
        return 0;
    }
    case AG_CONFIG_BOOL: {
        bool b;
        if (text_to_bool(text, &b) != 0) {
            ag_buf_append_c(why, "one of true, false, 1, 0, yes, no, on, off");
            return AG_EINVAL;
        }
        *out = yyjson_mut_bool(doc, b);
        return 0;
    }
    case AG_CONFIG_STRING:
    case AG_CONFIG_ENUM:
        *out = yyjson_mut_strcpy(doc, text);
        return 0;
    case AG_CONFIG_STRLIST: {
        struct ag_str t = ag_str_trim(ag_str_c(text));
        if (t.len && t.p[0] == '[') {
            int rc = json_text_to_mut(text, doc, out, why);
            if (rc) {
                ag_buf_append_c(why, " or comma-separated items");
                return rc;
            }
            return 0;
        }
        yyjson_mut_val *arr = yyjson_mut_arr(doc);
        while (t.len) {
            ptrdiff_t comma = ag_str_find(t, ',');
            struct ag_str item = ag_str_trim(ag_str_make(t.p, comma < 0 ? t.len : (size_t)comma));
            if (item.len)
                yyjson_mut_arr_add_strncpy(doc, arr, item.p, item.len);
            if (comma < 0)
                break;
            t = ag_str_make(t.p + comma + 1, t.len - (size_t)comma - 1);
        }
        *out = arr;
        return 0;
    }
    case AG_CONFIG_JSON:
        return json_text_to_mut(text, doc, out, why);
    }
    return AG_EINVAL;
}

/* A URL that may carry a secret, as it may be shown: its user info masked, a query (which can hold
 * a password=, as libpq accepts) cut to "?****", and text that is not a URL at all (a libpq
 * "key=value" string would show its password) only as "****". */
static const char *url_shown(const char *text, char *out, size_t cap)
{
    if (!text || !text[0] || !strstr(text, "://")) {
        ag_strlcpy(out, text && text[0] ? "****" : "", cap);
        return out;
    }
    ag_url_mask_userinfo(text, out, cap);
    char *q = strchr(out, '?');
    if (q && (size_t)(q - out) + 6 <= cap)
        memcpy(q, "?****", 6);
    return out;
}

const char *ag_config_key_shown(const struct ag_config_key *key, const char *text, char *out,
                                size_t cap)
{
    if (key && (key->flags & AG_CONFIG_SECRET))
        return ag_log_mask(text, out, cap);
    if (key && (key->flags & AG_CONFIG_URL_SECRET))
        return url_shown(text, out, cap);
    return text;
}

yyjson_mut_val *ag_config_field_to_json(const struct ag_config_key *key, const void *base,
                                        yyjson_mut_doc *doc, bool mask)
{
    const void *f = CFIELD(base, key);
    switch (key->kind) {
    case AG_CONFIG_INT:
        return yyjson_mut_sint(doc, *(const int64_t *)f);
    case AG_CONFIG_BOOL:
        return yyjson_mut_bool(doc, *(const bool *)f);
    case AG_CONFIG_STRING:
        if (mask && (key->flags & AG_CONFIG_URL_SECRET)) {
            char m[2048];
            return yyjson_mut_strcpy(doc, url_shown(*(char *const *)f, m, sizeof(m)));
        }
        return ag_config_masked_str(doc, *(char *const *)f,
                                    mask && (key->flags & AG_CONFIG_SECRET));
    case AG_CONFIG_ENUM:
        return yyjson_mut_str(doc, key->values[*(const int *)f]);
    case AG_CONFIG_STRLIST: {
        const struct ag_config_strlist *l = f;
        yyjson_mut_val *arr = yyjson_mut_arr(doc);
        for (size_t i = 0; i < l->n; i++)
            yyjson_mut_arr_add_val(
                arr, ag_config_masked_str(doc, l->v[i], mask && (key->flags & AG_CONFIG_SECRET)));
        return arr;
    }
    case AG_CONFIG_JSON:
        return key->json->emit(doc, f, mask);
    }
    return yyjson_mut_null(doc);
}
