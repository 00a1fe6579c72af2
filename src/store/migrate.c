/* store/migrate.c: the ordered list of schema migrations and the code that applies them.
 *
 * Rules for adding a step: append, never edit a released step; bump AG_STORE_SCHEMA_VERSION in
 * store.h; a step that adds an accounts column must also recreate the accounts_changed_update
 * trigger so the new column bumps the change counter.
 *
 * Units are in the column names: *_ms are milliseconds, *_s and *_at are unix seconds. */
#include "store/migrate.h"

#include "core/err.h"
#include "core/log.h"
#include "store/db.h"
#include "store/store.h"
#include "store/store_internal.h"

#include <stdio.h>

struct migration {
    int version;
    const char *name;
    const char *sql;
};

/* Version 1: accounts and the change counter. */
static const char v1_accounts[] =
    "CREATE TABLE meta ("
    "  key TEXT PRIMARY KEY,"
    "  value INTEGER NOT NULL"
    ") WITHOUT ROWID;"
    "INSERT INTO meta(key, value) VALUES ('accounts_version', 0);"
    "CREATE TABLE accounts ("
    "  id TEXT PRIMARY KEY,"
    "  email TEXT NOT NULL COLLATE NOCASE UNIQUE,"
    "  name TEXT,"
    "  refresh_token TEXT NOT NULL,"
    "  access_token TEXT,"
    "  token_expiry INTEGER NOT NULL DEFAULT 0,"
    "  project_id TEXT,"
    "  tier TEXT NOT NULL DEFAULT 'unknown' CHECK (tier IN ('ultra', 'pro', 'free', 'unknown')),"
    "  quota_json TEXT,"
    "  quota_updated_at INTEGER NOT NULL DEFAULT 0,"
    "  disabled INTEGER NOT NULL DEFAULT 0,"
    "  disabled_reason TEXT,"
    "  disabled_at INTEGER,"
    "  forbidden INTEGER NOT NULL DEFAULT 0,"
    "  forbidden_reason TEXT,"
    "  forbidden_until INTEGER,"
    "  validation_url TEXT,"
    "  proxy_url TEXT,"
    "  label TEXT,"
    "  oauth_client TEXT,"
    "  created_at INTEGER NOT NULL,"
    "  last_used_at INTEGER NOT NULL DEFAULT 0,"
    "  sort_order INTEGER NOT NULL DEFAULT 0"
    ");"
    "CREATE INDEX accounts_by_order ON accounts(sort_order, created_at, id);"
    "CREATE TRIGGER accounts_changed_insert AFTER INSERT ON accounts BEGIN"
    "  UPDATE meta SET value = value + 1 WHERE key = 'accounts_version';"
    "END;"
    "CREATE TRIGGER accounts_changed_delete AFTER DELETE ON accounts BEGIN"
    "  UPDATE meta SET value = value + 1 WHERE key = 'accounts_version';"
    "END;"
    /* Every column but last_used_at: per-request touches must not make gateways reload. */
    "CREATE TRIGGER accounts_changed_update AFTER UPDATE OF"
    "  id, email, name, refresh_token, access_token, token_expiry, project_id, tier, quota_json,"
    "  quota_updated_at, disabled, disabled_reason, disabled_at, forbidden, forbidden_reason,"
    "  forbidden_until, validation_url, proxy_url, label, oauth_client, created_at, sort_order"
    "  ON accounts BEGIN"
    "  UPDATE meta SET value = value + 1 WHERE key = 'accounts_version';"
    "END;";

/* Version 2: the monitor's request log and hourly token statistics. */
static const char v2_monitor[] =
    "CREATE TABLE request_log ("
    "  id INTEGER PRIMARY KEY,"
    "  ts_ms INTEGER NOT NULL,"
    "  method TEXT NOT NULL,"
    "  path TEXT NOT NULL,"
    "  protocol TEXT,"
    "  model_requested TEXT,"
    "  model_served TEXT,"
    "  account_email TEXT,"
    "  status INTEGER NOT NULL,"
    "  error_class TEXT,"
    "  attempts INTEGER NOT NULL DEFAULT 1,"
    "  ttfb_ms INTEGER,"
    "  total_ms INTEGER NOT NULL DEFAULT 0,"
    "  input_tokens INTEGER NOT NULL DEFAULT 0,"
    "  output_tokens INTEGER NOT NULL DEFAULT 0,"
    "  cached_tokens INTEGER NOT NULL DEFAULT 0,"
    "  reasoning_tokens INTEGER NOT NULL DEFAULT 0,"
    "  client_ip TEXT,"
    "  user_agent TEXT,"
    "  stream INTEGER NOT NULL DEFAULT 0,"
    "  request_body TEXT,"
    "  response_body TEXT"
    ");"
    "CREATE INDEX request_log_by_time ON request_log(ts_ms);"
    "CREATE INDEX request_log_by_status ON request_log(status, ts_ms);"
    "CREATE INDEX request_log_by_account ON request_log(account_email, ts_ms);"
    "CREATE INDEX request_log_by_model ON request_log(model_served, ts_ms);"
    "CREATE TABLE token_stats_hourly ("
    "  hour_s INTEGER NOT NULL," /* unix seconds of the UTC hour's start */
    "  account_email TEXT NOT NULL DEFAULT '',"
    "  model TEXT NOT NULL DEFAULT '',"
    "  requests INTEGER NOT NULL DEFAULT 0,"
    "  input_tokens INTEGER NOT NULL DEFAULT 0,"
    "  output_tokens INTEGER NOT NULL DEFAULT 0,"
    "  cached_tokens INTEGER NOT NULL DEFAULT 0,"
    "  reasoning_tokens INTEGER NOT NULL DEFAULT 0,"
    "  errors INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (hour_s, account_email, model)"
    ") WITHOUT ROWID;"
    "CREATE INDEX token_stats_by_account ON token_stats_hourly(account_email, hour_s);"
    "CREATE INDEX token_stats_by_model ON token_stats_hourly(model, hour_s);";

/* Version 3: token statistics also keyed by client protocol (the admin API's per-protocol
 * breakdown; the table is rebuilt because the primary key changes, old rows get protocol ''),
 * and the request log keeps the error's one-line message. */
static const char v3_stats_protocol[] =
    "ALTER TABLE request_log ADD COLUMN error_message TEXT;"
    "CREATE TABLE token_stats_hourly_v3 ("
    "  hour_s INTEGER NOT NULL,"
    "  account_email TEXT NOT NULL DEFAULT '',"
    "  model TEXT NOT NULL DEFAULT '',"
    "  protocol TEXT NOT NULL DEFAULT '',"
    "  requests INTEGER NOT NULL DEFAULT 0,"
    "  input_tokens INTEGER NOT NULL DEFAULT 0,"
    "  output_tokens INTEGER NOT NULL DEFAULT 0,"
    "  cached_tokens INTEGER NOT NULL DEFAULT 0,"
    "  reasoning_tokens INTEGER NOT NULL DEFAULT 0,"
    "  errors INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (hour_s, account_email, model, protocol)"
    ") WITHOUT ROWID;"
    "INSERT INTO token_stats_hourly_v3 (hour_s, account_email, model, protocol, requests,"
    "  input_tokens, output_tokens, cached_tokens, reasoning_tokens, errors)"
    "  SELECT hour_s, account_email, model, '', requests, input_tokens, output_tokens,"
    "  cached_tokens, reasoning_tokens, errors FROM token_stats_hourly;"
    "DROP TABLE token_stats_hourly;"
    "ALTER TABLE token_stats_hourly_v3 RENAME TO token_stats_hourly;"
    "CREATE INDEX token_stats_by_account ON token_stats_hourly(account_email, hour_s);"
    "CREATE INDEX token_stats_by_model ON token_stats_hourly(model, hour_s);"
    "CREATE INDEX token_stats_by_protocol ON token_stats_hourly(protocol, hour_s);";

/* Version 4: the Claude thinking the relay keeps for clients that drop it (store/thinking.h),
 * so it survives a restart. */
static const char v4_thinking[] = "CREATE TABLE thinking ("
                                  "  conv TEXT NOT NULL,"
                                  "  tool_id TEXT NOT NULL,"
                                  "  text BLOB NOT NULL,"
                                  "  sig TEXT NOT NULL,"
                                  "  stored_ms INTEGER NOT NULL,"
                                  "  PRIMARY KEY (conv, tool_id)"
                                  ");"
                                  "CREATE INDEX thinking_by_time ON thinking(stored_ms);";

/* Version 5: user keys (store/user_keys.h): one row per key with its limits and the SHA-256 of
 * its secret (never the secret), a change counter the gateway polls like accounts_version (every
 * column but last_used_at bumps it), hourly usage per key (requests and tokens; the day's and the
 * month's totals are sums over it), and the key's name in the request log. */
static const char v5_user_keys[] =
    "INSERT INTO meta(key, value) VALUES ('user_keys_version', 0);"
    "CREATE TABLE user_keys ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  key_hash TEXT NOT NULL UNIQUE,"         /* lowercase hex SHA-256 of the key */
    "  models TEXT NOT NULL DEFAULT '',"       /* comma-separated patterns, '' = every model */
    "  expires_at INTEGER NOT NULL DEFAULT 0," /* 0 = never */
    "  rpm INTEGER NOT NULL DEFAULT 0,"        /* every limit: 0 = none */
    "  tpm INTEGER NOT NULL DEFAULT 0,"
    "  daily_tokens INTEGER NOT NULL DEFAULT 0,"
    "  monthly_tokens INTEGER NOT NULL DEFAULT 0,"
    "  max_concurrency INTEGER NOT NULL DEFAULT 0,"
    "  cidrs TEXT NOT NULL DEFAULT ''," /* comma-separated, '' = any address */
    "  note TEXT NOT NULL DEFAULT '',"
    "  state TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'disabled', 'revoked')),"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  last_used_at INTEGER NOT NULL DEFAULT 0"
    ");"
    "CREATE TRIGGER user_keys_changed_insert AFTER INSERT ON user_keys BEGIN"
    "  UPDATE meta SET value = value + 1 WHERE key = 'user_keys_version';"
    "END;"
    "CREATE TRIGGER user_keys_changed_delete AFTER DELETE ON user_keys BEGIN"
    "  UPDATE meta SET value = value + 1 WHERE key = 'user_keys_version';"
    "END;"
    "CREATE TRIGGER user_keys_changed_update AFTER UPDATE OF"
    "  name, key_hash, models, expires_at, rpm, tpm, daily_tokens, monthly_tokens,"
    "  max_concurrency, cidrs, note, state, created_at, updated_at ON user_keys BEGIN"
    "  UPDATE meta SET value = value + 1 WHERE key = 'user_keys_version';"
    "END;"
    "CREATE TABLE key_usage_hourly ("
    "  hour_s INTEGER NOT NULL,"
    "  key_name TEXT NOT NULL,"
    "  requests INTEGER NOT NULL DEFAULT 0,"
    "  input_tokens INTEGER NOT NULL DEFAULT 0,"
    "  output_tokens INTEGER NOT NULL DEFAULT 0,"
    "  cached_tokens INTEGER NOT NULL DEFAULT 0,"
    "  errors INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (key_name, hour_s)"
    ") WITHOUT ROWID;"
    "CREATE INDEX key_usage_by_hour ON key_usage_hourly(hour_s);"
    "ALTER TABLE request_log ADD COLUMN key_name TEXT;";

/* Version 6: admin login sessions (store/sessions.h), so a restart does not log the UI out: the
 * SHA-256 of each token (never the token), its times, and a tag of the admin secret in force. */
static const char v6_admin_sessions[] = "CREATE TABLE admin_sessions ("
                                        "  token_hash BLOB PRIMARY KEY,"
                                        "  created_ms INTEGER NOT NULL,"
                                        "  expires_ms INTEGER NOT NULL,"
                                        "  secret_tag BLOB NOT NULL"
                                        ") WITHOUT ROWID;";

/* Version 7: provider accounts (store/provider.h): the kind of each account ('google' for the
 * OAuth accounts so far), an API key (a secret like refresh_token), an admin-set base URL and the
 * models the account serves; the update trigger is recreated to cover the new columns. */
static const char v7_provider_accounts[] =
    "ALTER TABLE accounts ADD COLUMN provider TEXT NOT NULL DEFAULT 'google';"
    "ALTER TABLE accounts ADD COLUMN api_key TEXT;"
    "ALTER TABLE accounts ADD COLUMN base_url TEXT;"
    "ALTER TABLE accounts ADD COLUMN models TEXT;"
    "DROP TRIGGER accounts_changed_update;"
    "CREATE TRIGGER accounts_changed_update AFTER UPDATE OF"
    "  id, email, name, refresh_token, access_token, token_expiry, project_id, tier, quota_json,"
    "  quota_updated_at, disabled, disabled_reason, disabled_at, forbidden, forbidden_reason,"
    "  forbidden_until, validation_url, proxy_url, label, oauth_client, created_at, sort_order,"
    "  provider, api_key, base_url, models"
    "  ON accounts BEGIN"
    "  UPDATE meta SET value = value + 1 WHERE key = 'accounts_version';"
    "END;";

/* Version 8: each request's upstream attempts (relay/attempt_log.h) as a JSON array: account,
 * model, status, why the request moved on, and the time of each stage. */
static const char v8_request_attempts[] = "ALTER TABLE request_log ADD COLUMN attempts_json TEXT;";

/* Version 9: the quota windows the upstream reports per account (retrieveUserQuotaSummary: 5-hour
 * and weekly buckets per group, store/accounts.h quota_windows); the update trigger covers it. */
static const char v9_quota_windows[] =
    "ALTER TABLE accounts ADD COLUMN quota_windows TEXT;"
    "DROP TRIGGER accounts_changed_update;"
    "CREATE TRIGGER accounts_changed_update AFTER UPDATE OF"
    "  id, email, name, refresh_token, access_token, token_expiry, project_id, tier, quota_json,"
    "  quota_updated_at, disabled, disabled_reason, disabled_at, forbidden, forbidden_reason,"
    "  forbidden_until, validation_url, proxy_url, label, oauth_client, created_at, sort_order,"
    "  provider, api_key, base_url, models, quota_windows"
    "  ON accounts BEGIN"
    "  UPDATE meta SET value = value + 1 WHERE key = 'accounts_version';"
    "END;";

/* Version 10: the request log loses its index on the served model, which no query could use (the
 * log's model filter matches the requested or the served model, and only one side had an index,
 * so both dialects scan); every row paid for its upkeep. */
static const char v10_log_model_index[] = "DROP INDEX IF EXISTS request_log_by_model;";

/* Version 11: the per-account indexes of the request log and the token statistics compare like
 * their filters (account_email = ? COLLATE NOCASE). With the column's own collation they could
 * not serve those filters: the account's log page scanned the table, its count the whole index. */
static const char v11_account_nocase[] =
    "DROP INDEX IF EXISTS request_log_by_account;"
    "CREATE INDEX request_log_by_account ON request_log(account_email COLLATE NOCASE, ts_ms);"
    "DROP INDEX IF EXISTS token_stats_by_account;"
    "CREATE INDEX token_stats_by_account"
    "  ON token_stats_hourly(account_email COLLATE NOCASE, hour_s);";

static const struct migration steps[] = {
    {1, "accounts", v1_accounts},
    {2, "request log and token statistics", v2_monitor},
    {3, "token statistics per protocol, error messages", v3_stats_protocol},
    {4, "thinking store", v4_thinking},
    {5, "user keys", v5_user_keys},
    {6, "admin sessions", v6_admin_sessions},
    {7, "provider accounts", v7_provider_accounts},
    {8, "request attempts", v8_request_attempts},
    {9, "quota windows", v9_quota_windows},
    {10, "request log without the served-model index", v10_log_model_index},
    {11, "per-account indexes without case", v11_account_nocase},
};

_Static_assert(sizeof(steps) / sizeof(steps[0]) == AG_STORE_SCHEMA_VERSION,
               "one migration step per schema version");

int ag_store_migrate_version(sqlite3 *db, int *out)
{
    sqlite3_stmt *st = NULL;
    int ret = AG_EDB;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        goto out;
    if (sqlite3_step(st) != SQLITE_ROW)
        goto out;
    *out = sqlite3_column_int(st, 0);
    ret = 0;
out:
    sqlite3_finalize(st);
    return ret;
}

static int refuse_newer(int have, char *err, size_t errcap)
{
    ag_store_seterr(err, errcap,
                    "the database has schema version %d but this aigate only knows versions up "
                    "to %d: it was written by a newer aigate; upgrade aigate or use another data "
                    "directory",
                    have, AG_STORE_SCHEMA_VERSION);
    return AG_EUNSUPPORTED;
}

static int apply_step(sqlite3 *db, const struct migration *m, char *err, size_t errcap)
{
    int ret = AG_EDB;
    int have;
    char *msg = NULL;
    char bump[48];

    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, &msg) != SQLITE_OK)
        goto out;
    if (ag_store_migrate_version(db, &have))
        goto out;
    if (have > AG_STORE_SCHEMA_VERSION) {
        ret = refuse_newer(have, err, errcap);
        goto out;
    }
    if (have >= m->version) {
        /* Another process applied it while we waited for the lock. */
        ret = 0;
        goto out;
    }
    if (have != m->version - 1) {
        ag_store_seterr(err, errcap, "schema version %d cannot take migration %d", have,
                        m->version);
        goto out;
    }
    if (sqlite3_exec(db, m->sql, NULL, NULL, &msg) != SQLITE_OK)
        goto out;
    snprintf(bump, sizeof(bump), "PRAGMA user_version = %d", m->version);
    if (sqlite3_exec(db, bump, NULL, NULL, &msg) != SQLITE_OK)
        goto out;
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, &msg) != SQLITE_OK)
        goto out;
    ag_log_info("store: migrated to schema version %d (%s)", m->version, m->name);
    ret = 0;
out:
    if (ret == AG_EDB && err && errcap && (msg || !err[0]))
        ag_store_seterr(err, errcap, "migration %d (%s) failed: %s", m->version, m->name,
                        msg ? msg : sqlite3_errmsg(db));
    sqlite3_free(msg);
    if (!sqlite3_get_autocommit(db)) {
        /* Still inside our transaction: failure, or the "nothing to do" paths. */
        sqlite3_exec(db, ret ? "ROLLBACK" : "COMMIT", NULL, NULL, NULL);
    }
    return ret;
}

int ag_store_migrate(sqlite3 *db, int target, char *err, size_t errcap)
{
    int have;
    if (err && errcap)
        err[0] = '\0';
    if (target < 0 || target > AG_STORE_SCHEMA_VERSION)
        return AG_EINVAL;
    if (ag_store_migrate_version(db, &have)) {
        ag_store_seterr(err, errcap, "cannot read schema version: %s", sqlite3_errmsg(db));
        return AG_EDB;
    }
    if (have > AG_STORE_SCHEMA_VERSION)
        return refuse_newer(have, err, errcap);
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        if (steps[i].version <= have || steps[i].version > target)
            continue;
        int ret = apply_step(db, &steps[i], err, errcap);
        if (ret)
            return ret;
    }
    return 0;
}

/* PostgreSQL (store.postgres_url). A PostgreSQL database starts at the schema of version 9, made
 * in one step with that version's tables; the version is kept in meta ('schema_version'), and a
 * step added after 9 is written for both dialects. Types: INTEGER columns are BIGINT (unix times
 * in ms overflow int4), the rowid ids are identity columns, BLOB is BYTEA, and SQLite's
 * COLLATE NOCASE is ag_nocase, a case-insensitive ICU collation (the database layer rewrites the
 * name in queries). The change counters are bumped by one trigger function per counter. */
#define PG_BASELINE_VERSION 9

static const char pg_v9[] =
    "CREATE COLLATION IF NOT EXISTS ag_nocase"
    "  (provider = icu, locale = 'und-u-ks-level2', deterministic = false);"
    "CREATE TABLE meta ("
    "  key TEXT PRIMARY KEY,"
    "  value BIGINT NOT NULL"
    ");"
    "INSERT INTO meta(key, value) VALUES ('accounts_version', 0), ('user_keys_version', 0);"
    "CREATE TABLE accounts ("
    "  id TEXT PRIMARY KEY,"
    "  email TEXT NOT NULL COLLATE ag_nocase UNIQUE,"
    "  name TEXT,"
    "  refresh_token TEXT NOT NULL,"
    "  access_token TEXT,"
    "  token_expiry BIGINT NOT NULL DEFAULT 0,"
    "  project_id TEXT,"
    "  tier TEXT NOT NULL DEFAULT 'unknown' CHECK (tier IN ('ultra', 'pro', 'free', 'unknown')),"
    "  quota_json TEXT,"
    "  quota_updated_at BIGINT NOT NULL DEFAULT 0,"
    "  disabled BIGINT NOT NULL DEFAULT 0,"
    "  disabled_reason TEXT,"
    "  disabled_at BIGINT,"
    "  forbidden BIGINT NOT NULL DEFAULT 0,"
    "  forbidden_reason TEXT,"
    "  forbidden_until BIGINT,"
    "  validation_url TEXT,"
    "  proxy_url TEXT,"
    "  label TEXT,"
    "  oauth_client TEXT,"
    "  created_at BIGINT NOT NULL,"
    "  last_used_at BIGINT NOT NULL DEFAULT 0,"
    "  sort_order BIGINT NOT NULL DEFAULT 0,"
    "  provider TEXT NOT NULL DEFAULT 'google',"
    "  api_key TEXT,"
    "  base_url TEXT,"
    "  models TEXT,"
    "  quota_windows TEXT"
    ");"
    "CREATE INDEX accounts_by_order ON accounts(sort_order, created_at, id);"
    "CREATE FUNCTION ag_accounts_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
    "  UPDATE meta SET value = value + 1 WHERE key = 'accounts_version'; RETURN NULL;"
    "END $$;"
    "CREATE TRIGGER accounts_changed_insert_delete AFTER INSERT OR DELETE ON accounts"
    "  FOR EACH ROW EXECUTE FUNCTION ag_accounts_changed();"
    "CREATE TRIGGER accounts_changed_update AFTER UPDATE OF"
    "  id, email, name, refresh_token, access_token, token_expiry, project_id, tier, quota_json,"
    "  quota_updated_at, disabled, disabled_reason, disabled_at, forbidden, forbidden_reason,"
    "  forbidden_until, validation_url, proxy_url, label, oauth_client, created_at, sort_order,"
    "  provider, api_key, base_url, models, quota_windows"
    "  ON accounts FOR EACH ROW EXECUTE FUNCTION ag_accounts_changed();"
    "CREATE TABLE request_log ("
    "  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    "  ts_ms BIGINT NOT NULL,"
    "  method TEXT NOT NULL,"
    "  path TEXT NOT NULL,"
    "  protocol TEXT,"
    "  model_requested TEXT,"
    "  model_served TEXT,"
    "  account_email TEXT,"
    "  status BIGINT NOT NULL,"
    "  error_class TEXT,"
    "  attempts BIGINT NOT NULL DEFAULT 1,"
    "  ttfb_ms BIGINT,"
    "  total_ms BIGINT NOT NULL DEFAULT 0,"
    "  input_tokens BIGINT NOT NULL DEFAULT 0,"
    "  output_tokens BIGINT NOT NULL DEFAULT 0,"
    "  cached_tokens BIGINT NOT NULL DEFAULT 0,"
    "  reasoning_tokens BIGINT NOT NULL DEFAULT 0,"
    "  client_ip TEXT,"
    "  user_agent TEXT,"
    "  stream BIGINT NOT NULL DEFAULT 0,"
    "  request_body TEXT,"
    "  response_body TEXT,"
    "  error_message TEXT,"
    "  key_name TEXT,"
    "  attempts_json TEXT"
    ");"
    "CREATE INDEX request_log_by_time ON request_log(ts_ms);"
    "CREATE INDEX request_log_by_status ON request_log(status, ts_ms);"
    "CREATE INDEX request_log_by_account ON request_log(account_email, ts_ms);"
    "CREATE INDEX request_log_by_model ON request_log(model_served, ts_ms);"
    "CREATE TABLE token_stats_hourly ("
    "  hour_s BIGINT NOT NULL,"
    "  account_email TEXT NOT NULL DEFAULT '',"
    "  model TEXT NOT NULL DEFAULT '',"
    "  protocol TEXT NOT NULL DEFAULT '',"
    "  requests BIGINT NOT NULL DEFAULT 0,"
    "  input_tokens BIGINT NOT NULL DEFAULT 0,"
    "  output_tokens BIGINT NOT NULL DEFAULT 0,"
    "  cached_tokens BIGINT NOT NULL DEFAULT 0,"
    "  reasoning_tokens BIGINT NOT NULL DEFAULT 0,"
    "  errors BIGINT NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (hour_s, account_email, model, protocol)"
    ");"
    "CREATE INDEX token_stats_by_account ON token_stats_hourly(account_email, hour_s);"
    "CREATE INDEX token_stats_by_model ON token_stats_hourly(model, hour_s);"
    "CREATE INDEX token_stats_by_protocol ON token_stats_hourly(protocol, hour_s);"
    "CREATE TABLE thinking ("
    "  rowid BIGINT GENERATED BY DEFAULT AS IDENTITY UNIQUE," /* SQLite's rowid, by name */
    "  conv TEXT NOT NULL,"
    "  tool_id TEXT NOT NULL,"
    "  text TEXT NOT NULL,"
    "  sig TEXT NOT NULL,"
    "  stored_ms BIGINT NOT NULL,"
    "  PRIMARY KEY (conv, tool_id)"
    ");"
    "CREATE INDEX thinking_by_time ON thinking(stored_ms);"
    "CREATE TABLE user_keys ("
    "  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  key_hash TEXT NOT NULL UNIQUE,"
    "  models TEXT NOT NULL DEFAULT '',"
    "  expires_at BIGINT NOT NULL DEFAULT 0,"
    "  rpm BIGINT NOT NULL DEFAULT 0,"
    "  tpm BIGINT NOT NULL DEFAULT 0,"
    "  daily_tokens BIGINT NOT NULL DEFAULT 0,"
    "  monthly_tokens BIGINT NOT NULL DEFAULT 0,"
    "  max_concurrency BIGINT NOT NULL DEFAULT 0,"
    "  cidrs TEXT NOT NULL DEFAULT '',"
    "  note TEXT NOT NULL DEFAULT '',"
    "  state TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'disabled', 'revoked')),"
    "  created_at BIGINT NOT NULL,"
    "  updated_at BIGINT NOT NULL,"
    "  last_used_at BIGINT NOT NULL DEFAULT 0"
    ");"
    "CREATE FUNCTION ag_user_keys_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
    "  UPDATE meta SET value = value + 1 WHERE key = 'user_keys_version'; RETURN NULL;"
    "END $$;"
    "CREATE TRIGGER user_keys_changed_insert_delete AFTER INSERT OR DELETE ON user_keys"
    "  FOR EACH ROW EXECUTE FUNCTION ag_user_keys_changed();"
    "CREATE TRIGGER user_keys_changed_update AFTER UPDATE OF"
    "  name, key_hash, models, expires_at, rpm, tpm, daily_tokens, monthly_tokens,"
    "  max_concurrency, cidrs, note, state, created_at, updated_at"
    "  ON user_keys FOR EACH ROW EXECUTE FUNCTION ag_user_keys_changed();"
    "CREATE TABLE key_usage_hourly ("
    "  hour_s BIGINT NOT NULL,"
    "  key_name TEXT NOT NULL,"
    "  requests BIGINT NOT NULL DEFAULT 0,"
    "  input_tokens BIGINT NOT NULL DEFAULT 0,"
    "  output_tokens BIGINT NOT NULL DEFAULT 0,"
    "  cached_tokens BIGINT NOT NULL DEFAULT 0,"
    "  errors BIGINT NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (key_name, hour_s)"
    ");"
    "CREATE INDEX key_usage_by_hour ON key_usage_hourly(hour_s);"
    "CREATE TABLE admin_sessions ("
    "  token_hash BYTEA PRIMARY KEY,"
    "  created_ms BIGINT NOT NULL,"
    "  expires_ms BIGINT NOT NULL,"
    "  secret_tag BYTEA NOT NULL"
    ");"
    /* The JSON array in a text column, [] for anything else (the monitor's account health;
     * SQLite: json_valid and json_each). */
    "CREATE FUNCTION ag_json_array(t text) RETURNS jsonb LANGUAGE plpgsql IMMUTABLE AS $$"
    " DECLARE v jsonb; BEGIN"
    "  v := t::jsonb;"
    "  IF jsonb_typeof(v) = 'array' THEN RETURN v; END IF;"
    "  RETURN '[]'::jsonb;"
    " EXCEPTION WHEN others THEN RETURN '[]'::jsonb;"
    " END $$;"
    /* SQLite's instr(), which the monitor's search uses. */
    "CREATE FUNCTION instr(text, text) RETURNS integer LANGUAGE sql IMMUTABLE"
    "  AS 'SELECT strpos($1, $2)';"
    "INSERT INTO meta(key, value) VALUES ('schema_version', 9);";

/* The steps after the baseline in PostgreSQL's dialect, applied like SQLite's in order. */
static const char pg_v11_account_nocase[] =
    "DROP INDEX IF EXISTS request_log_by_account;"
    "CREATE INDEX request_log_by_account ON request_log(account_email COLLATE ag_nocase, ts_ms);"
    "DROP INDEX IF EXISTS token_stats_by_account;"
    "CREATE INDEX token_stats_by_account"
    "  ON token_stats_hourly(account_email COLLATE ag_nocase, hour_s);";

static const struct migration pg_steps[] = {
    {10, "request log without the served-model index", v10_log_model_index},
    {11, "per-account indexes without case", pg_v11_account_nocase},
};

_Static_assert(PG_BASELINE_VERSION + sizeof(pg_steps) / sizeof(pg_steps[0]) ==
                   AG_STORE_SCHEMA_VERSION,
               "a step after version 9 needs its PostgreSQL form in pg_steps");

/* Applies the steps above `have` (inside the caller's transaction), each with its version. */
static int pg_apply_steps(struct ag_db *db, int have)
{
    char bump[96];
    for (size_t i = 0; i < sizeof(pg_steps) / sizeof(pg_steps[0]); i++) {
        const struct migration *m = &pg_steps[i];
        if (m->version <= have)
            continue;
        snprintf(bump, sizeof(bump), "UPDATE meta SET value = %d WHERE key = 'schema_version'",
                 m->version);
        if (ag_db_exec(db, m->sql, m->name) != 0 || ag_db_exec(db, bump, m->name) != 0)
            return AG_EDB;
        ag_log_info("store: PostgreSQL migrated to schema version %d (%s)", m->version, m->name);
    }
    return 0;
}

int ag_store_migrate_version_db(struct ag_db *db, int *out)
{
    if (ag_db_kind(db) == AG_DB_SQLITE)
        return ag_store_migrate_version(db->lite, out);
    struct ag_db_stmt *st = NULL;
    int ret = AG_EDB;
    /* No meta table yet: an empty database, version 0. */
    if (ag_db_prepare(db, "SELECT to_regclass('meta') IS NOT NULL", &st) ||
        ag_db_step(st) != AG_DB_ROW)
        goto out;
    if (ag_db_column_int64(st, 0) == 0) {
        *out = 0;
        ret = 0;
        goto out;
    }
    ag_db_finalize(st);
    st = NULL;
    if (ag_db_prepare(db, "SELECT COALESCE(max(value), 0) FROM meta WHERE key = 'schema_version'",
                      &st) ||
        ag_db_step(st) != AG_DB_ROW)
        goto out;
    *out = (int)ag_db_column_int64(st, 0);
    ret = 0;
out:
    ag_db_finalize(st);
    return ret;
}

int ag_store_migrate_db(struct ag_db *db, char *err, size_t errcap)
{
    if (ag_db_kind(db) == AG_DB_SQLITE)
        return ag_store_migrate(db->lite, AG_STORE_SCHEMA_VERSION, err, errcap);
    int have = 0;
    int ret = AG_EDB;
    if (err && errcap)
        err[0] = '\0';
    /* One transaction holding an advisory lock: two processes opening an empty database at once
     * take turns, and the second finds the schema made. */
    if (ag_db_begin(db, "migrate") != 0)
        goto out;
    if (ag_db_exec(db, "SELECT pg_advisory_xact_lock(7251001)", "migrate lock") != 0)
        goto out;
    if (ag_store_migrate_version_db(db, &have) != 0)
        goto out;
    if (have > AG_STORE_SCHEMA_VERSION) {
        ret = refuse_newer(have, err, errcap);
        goto out;
    }
    if (have == 0) {
        if (ag_db_exec(db, pg_v9, "migrate to schema version 9") != 0)
            goto out;
        ag_log_info("store: PostgreSQL schema made at version %d", PG_BASELINE_VERSION);
        have = PG_BASELINE_VERSION;
    } else if (have < PG_BASELINE_VERSION) {
        ag_store_seterr(err, errcap, "PostgreSQL schema version %d is not one aigate made", have);
        goto out;
    }
    if (pg_apply_steps(db, have) != 0)
        goto out;
    ret = ag_db_commit(db, "migrate");
out:
    if (ret == AG_EDB && err && errcap && !err[0])
        ag_store_seterr(err, errcap, "migration failed: %s", ag_db_errmsg(db));
    ag_db_rollback(db);
    return ret;
}

/* The one change of the file that cannot be a step above: auto_vacuum=INCREMENTAL, which the disk
 * cap needs to hand free pages back. A new file gets it before its first table (ag_store_open);
 * an older file is rewritten once by VACUUM, which cannot run inside a transaction and takes as
 * long as copying the data, so the writer thread does it when it starts, after trimming the log
 * to the cap so the copy is as small as it can be. */
int ag_store_vacuum_mode_ensure(struct ag_db *conn, int64_t max_bytes)
{
    if (ag_db_kind(conn) == AG_DB_PG)
        return 0; /* SQLite files only */
    sqlite3 *db = conn->lite;
    sqlite3_stmt *st = NULL;
    int mode = -1;
    if (sqlite3_prepare_v2(db, "PRAGMA auto_vacuum", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        mode = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (mode == 2) /* incremental */
        return 0;
    if (mode < 0) {
        ag_log_error("store: cannot read auto_vacuum: %s", sqlite3_errmsg(db));
        return AG_EDB;
    }
    if (max_bytes > 0)
        ag_store_disk_cap_run_db(conn, max_bytes, NULL);
    int64_t used = 0;
    ag_store_disk_usage_db(conn, &used, NULL);
    ag_log_info("store: switching the database to incremental vacuum (a one-time VACUUM of %lld "
                "MiB)",
                (long long)(used >> 20));
    if (ag_store_exec(db, "PRAGMA auto_vacuum = INCREMENTAL; VACUUM;", "incremental vacuum"))
        return AG_EDB;
    if (sqlite3_prepare_v2(db, "PRAGMA auto_vacuum", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        mode = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (mode != 2) {
        ag_log_warn("store: the database is still not in incremental vacuum mode (%d)", mode);
        return AG_EDB;
    }
    return 0;
}
