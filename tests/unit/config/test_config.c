/* Unit tests for config/: defaults, precedence (option > environment > file > default), validation
 * messages, parse errors with line:column, files left untouched on errors, unknown-key warnings,
 * first start (0700 dir, 0600 file, stable sk- key), atomic `config set`. */
#include "ag_test.h"

#include "config/config.h"
#include "config/schema.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/file.h"

#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- helpers ---- */

struct env {
    const char *pairs[16][2];
};

static const char *env_lookup(void *ctx, const char *name)
{
    struct env *e = ctx;
    for (size_t i = 0; i < 16 && e->pairs[i][0]; i++) {
        if (strcmp(e->pairs[i][0], name) == 0)
            return e->pairs[i][1];
    }
    return NULL;
}

struct fixture {
    char base[64];  /* mkdtemp dir, removed at teardown */
    char dir[128];  /* data dir inside it */
    char path[160]; /* config.json */
    struct env env;
    struct ag_buf err;
    struct ag_buf warnings;
    struct ag_config_source src;
};

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(p);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    snprintf(f->base, sizeof(f->base), "/tmp/aigate-config-XXXXXX");
    assert_non_null(mkdtemp(f->base));
    snprintf(f->dir, sizeof(f->dir), "%s/data", f->base);
    snprintf(f->path, sizeof(f->path), "%s/config.json", f->dir);
    ag_buf_init(&f->err, 0);
    ag_buf_init(&f->warnings, 0);
    f->src.data_dir = f->dir;
    f->src.getenv = env_lookup;
    f->src.env_ctx = &f->env;
    f->src.warnings = &f->warnings;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    nftw(f->base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    ag_buf_dispose(&f->err);
    ag_buf_dispose(&f->warnings);
    free(f);
    return 0;
}

static void write_config(struct fixture *f, const char *text)
{
    assert_int_equal(ag_file_mkdirs(f->dir, 0700), 0);
    FILE *fp = fopen(f->path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
    chmod(f->path, 0600);
}

/* The file's bytes (malloc'd) or NULL when it does not exist. */
static char *slurp(const char *path)
{
    struct ag_buf b;
    ag_buf_init(&b, 0);
    if (ag_file_read(path, 1 << 20, &b) != 0) {
        ag_buf_dispose(&b);
        return NULL;
    }
    return ag_buf_steal(&b, NULL);
}

static void assert_contains(const char *hay, const char *needle)
{
    if (!hay || !strstr(hay, needle))
        fail_msg("expected \"%s\" in: %s", needle, hay ? hay : "(null)");
}

static bool is_api_key(const char *k)
{
    if (strlen(k) != 35 || strncmp(k, "sk-", 3) != 0)
        return false;
    for (int i = 3; i < 35; i++) {
        if (!((k[i] >= '0' && k[i] <= '9') || (k[i] >= 'a' && k[i] <= 'f')))
            return false;
    }
    return true;
}

static int count_dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    }
    closedir(d);
    return n;
}

/* ---- tests ---- */

static void defaults_are_the_documented_ones(void **state)
{
    struct ag_config *cfg;
    assert_int_equal(ag_config_from_json(NULL, 0, &cfg, NULL), 0);
    assert_int_equal(cfg->server.port, 8045);
    assert_false(cfg->server.allow_lan_access);
    assert_int_equal(cfg->server.max_body_bytes, 104857600);
    assert_int_equal(cfg->server.max_header_bytes, 65536);
    assert_int_equal(cfg->server.max_headers, 100);
    assert_int_equal(cfg->server.header_timeout_s, 30);
    assert_int_equal(cfg->server.idle_timeout_s, 120);
    assert_int_equal(cfg->server.shutdown_grace_s, 10);
    assert_int_equal(cfg->server.cors_allowed_origins.n, 1);
    assert_string_equal(cfg->server.cors_allowed_origins.v[0], "*");
    assert_int_equal(cfg->auth.mode, AG_AUTH_MODE_OFF);
    assert_string_equal(cfg->auth.api_key, "");
    assert_string_equal(cfg->auth.admin_password, "");
    assert_int_equal(cfg->log.level, AG_LOG_INFO);
    assert_int_equal(cfg->upstream.cloudcode_endpoints.n, 3);
    assert_string_equal(cfg->upstream.cloudcode_endpoints.v[0],
                        "https://daily-cloudcode-pa.sandbox.googleapis.com/v1internal");
    assert_string_equal(cfg->upstream.cloudcode_endpoints.v[1],
                        "https://daily-cloudcode-pa.googleapis.com/v1internal");
    assert_string_equal(cfg->upstream.cloudcode_endpoints.v[2],
                        "https://cloudcode-pa.googleapis.com/v1internal");
    assert_int_equal(cfg->upstream.connect_timeout_s, 20);
    assert_int_equal(cfg->upstream.first_byte_timeout_s, 120);
    assert_int_equal(cfg->upstream.idle_timeout_s, 120);
    assert_int_equal(cfg->upstream.total_timeout_s, 600);
    assert_true(strncmp(cfg->upstream.user_agent, "Antigravity/4.3.0 (", 19) == 0);
    assert_contains(cfg->upstream.user_agent, ") Chrome/132.0.6834.160 Electron/39.2.3");
    assert_string_equal(cfg->upstream.proxy_url, "");
    assert_string_equal(cfg->oauth.token_url, "https://oauth2.googleapis.com/token");
    assert_string_equal(cfg->oauth.auth_url, "https://accounts.google.com/o/oauth2/v2/auth");
    assert_string_equal(cfg->oauth.userinfo_url, "https://www.googleapis.com/oauth2/v2/userinfo");
    assert_int_equal(cfg->oauth.clients.n, 0);
    assert_int_equal(cfg->scheduling.mode, AG_SCHED_MODE_BALANCE);
    assert_int_equal(cfg->scheduling.max_wait_s, 60);
    assert_string_equal(cfg->scheduling.fixed_account, "");
    assert_int_equal(cfg->scheduling.max_attempts, 3);
    assert_int_equal(cfg->mapping.custom.n, 0);
    assert_int_equal(cfg->quota.refresh_interval_s, 900);
    assert_int_equal(cfg->quota.protection_threshold, 0);
    assert_int_equal(ag_config_auth_mode_effective(cfg), AG_AUTH_MODE_OFF);
    ag_config_unref(cfg);
}

static void first_start_creates_private_dir_and_full_file(void **state)
{
    struct fixture *f = *state;
    struct ag_config *cfg;
    /* A nested data dir that does not exist yet. */
    snprintf(f->dir, sizeof(f->dir), "%s/a/b/aigate", f->base);
    snprintf(f->path, sizeof(f->path), "%s/config.json", f->dir);
    int rc = ag_config_load(&f->src, &cfg, &f->err);
    assert_int_equal(rc, 0);
    struct stat st;
    assert_int_equal(stat(f->dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_true(is_api_key(cfg->auth.api_key));
    assert_string_equal(cfg->path, f->path);
    assert_string_equal(cfg->data_dir, f->dir);
    assert_int_equal(count_dir_entries(f->dir), 1); /* no temp file left behind */

    /* Every key of the table is written out, nested by its dots. */
    char *text = slurp(f->path);
    yyjson_doc *d = yyjson_read(text, strlen(text), 0);
    assert_non_null(d);
    size_t n;
    const struct ag_config_key *keys = ag_config_keys(&n);
    for (size_t i = 0; i < n; i++) {
        char ptr[128] = "/";
        for (size_t j = 0, k = 1; keys[i].name[j] && k < sizeof(ptr) - 1; j++)
            ptr[k++] = keys[i].name[j] == '.' ? '/' : keys[i].name[j];
        if (!yyjson_doc_ptr_get(d, ptr))
            fail_msg("%s missing from the first config.json", keys[i].name);
    }
    assert_string_equal(yyjson_get_str(yyjson_doc_ptr_get(d, "/auth/api_key")), cfg->auth.api_key);
    yyjson_doc_free(d);

    /* Second start: same key, file not rewritten. */
    struct ag_config *again;
    assert_int_equal(ag_config_load(&f->src, &again, &f->err), 0);
    assert_string_equal(again->auth.api_key, cfg->auth.api_key);
    char *text2 = slurp(f->path);
    assert_string_equal(text, text2);
    free(text);
    free(text2);
    ag_config_unref(again);
    ag_config_unref(cfg);
}

static void precedence_option_over_env_over_file_over_default(void **state)
{
    struct fixture *f = *state;
    const char *file = "{\"server\":{\"port\":9000,\"allow_lan_access\":false},"
                       "\"auth\":{\"mode\":\"strict\",\"api_key\":\"sk-file\"},"
                       "\"log\":{\"level\":\"debug\"},"
                       "\"upstream\":{\"cloudcode_endpoints\":[\"https://file.example/v1\"]}}";
    write_config(f, file);
    f->env = (struct env){{{"AIGATE_PORT", "9100"},
                           {"AIGATE_AUTH_MODE", "all_except_health"},
                           {"AIGATE_ALLOW_LAN", "yes"},
                           {"AIGATE_API_KEY", "sk-from-env"},
                           {"AIGATE_CLOUDCODE_ENDPOINTS", " http://a.test/v1 ,http://b.test/v1"},
                           {"AIGATE_LOG_LEVEL", ""}}}; /* empty = unset */
    struct ag_config_override ov[] = {
        {"server.port", "9200", "--port"},
        {"auth.api_key", "sk-from-flag", "--set"},
    };
    f->src.overrides = ov;
    f->src.n_overrides = 2;
    struct ag_config *cfg;
    assert_int_equal(ag_config_load(&f->src, &cfg, &f->err), 0);
    assert_int_equal(cfg->server.port, 9200);                         /* option */
    assert_string_equal(cfg->auth.api_key, "sk-from-flag");           /* option */
    assert_int_equal(cfg->auth.mode, AG_AUTH_MODE_ALL_EXCEPT_HEALTH); /* env over file */
    assert_true(cfg->server.allow_lan_access);                        /* env over file */
    assert_int_equal(cfg->upstream.cloudcode_endpoints.n, 2);         /* env, comma list */
    assert_string_equal(cfg->upstream.cloudcode_endpoints.v[0], "http://a.test/v1");
    assert_string_equal(cfg->upstream.cloudcode_endpoints.v[1], "http://b.test/v1");
    assert_int_equal(cfg->log.level, AG_LOG_DEBUG);    /* file over default */
    assert_int_equal(cfg->scheduling.max_attempts, 3); /* default */
    ag_config_unref(cfg);

    /* Without the options, the environment wins over the file. */
    f->src.n_overrides = 0;
    assert_int_equal(ag_config_load(&f->src, &cfg, &f->err), 0);
    assert_int_equal(cfg->server.port, 9100);
    assert_string_equal(cfg->auth.api_key, "sk-from-env");
    ag_config_unref(cfg);

    /* Without the environment either, the file wins. */
    memset(&f->env, 0, sizeof(f->env));
    assert_int_equal(ag_config_load(&f->src, &cfg, &f->err), 0);
    assert_int_equal(cfg->server.port, 9000);
    assert_string_equal(cfg->auth.api_key, "sk-file");
    assert_int_equal(cfg->auth.mode, AG_AUTH_MODE_STRICT);
    ag_config_unref(cfg);

    /* Overrides are never written back. */
    char *after = slurp(f->path);
    assert_string_equal(after, file);
    free(after);
}

static void bool_words_and_env_errors(void **state)
{
    struct fixture *f = *state;
    write_config(f, "{\"auth\":{\"api_key\":\"sk-x\"}}");
    static const char *const yes[] = {"1", "true", "YES", "on"};
    static const char *const no[] = {"0", "false", "no", "Off"};
    struct ag_config *cfg;
    for (int i = 0; i < 4; i++) {
        f->env = (struct env){{{"AIGATE_ALLOW_LAN", yes[i]}}};
        assert_int_equal(ag_config_load(&f->src, &cfg, &f->err), 0);
        assert_true(cfg->server.allow_lan_access);
        assert_int_equal(ag_config_auth_mode_effective(cfg), AG_AUTH_MODE_OFF);
        ag_config_unref(cfg);
        f->env = (struct env){{{"AIGATE_ALLOW_LAN", no[i]}}};
        assert_int_equal(ag_config_load(&f->src, &cfg, &f->err), 0);
        assert_false(cfg->server.allow_lan_access);
        ag_config_unref(cfg);
    }
    f->env = (struct env){{{"AIGATE_ALLOW_LAN", "maybe"}}};
    assert_int_equal(ag_config_load(&f->src, &cfg, &f->err), AG_EINVAL);
    assert_null(cfg);
    assert_contains(f->err.data, "AIGATE_ALLOW_LAN");
    assert_contains(f->err.data, "\"maybe\"");

    f->env = (struct env){{{"AIGATE_PORT", "80x"}}};
    assert_int_equal(ag_config_load(&f->src, &cfg, &f->err), AG_EINVAL);
    assert_contains(f->err.data, "environment variable AIGATE_PORT");
    assert_contains(f->err.data, "server.port");
    assert_contains(f->err.data, "\"80x\"");
    assert_contains(f->err.data, "from 1 to 65535");

    /* auto resolves with LAN access. */
    f->env = (struct env){{{"AIGATE_AUTH_MODE", "auto"}, {"AIGATE_ALLOW_LAN", "1"}}};
    assert_int_equal(ag_config_load(&f->src, &cfg, &f->err), 0);
    assert_int_equal(ag_config_auth_mode_effective(cfg), AG_AUTH_MODE_ALL_EXCEPT_HEALTH);
    ag_config_unref(cfg);
}

struct bad_case {
    const char *file;
    const char *expect[3];
};

static void invalid_values_name_key_value_and_rule(void **state)
{
    struct fixture *f = *state;
    static const struct bad_case cases[] = {
        {"{\"server\":{\"port\":\"8045\"}}", {"server.port", "\"8045\"", "from 1 to 65535"}},
        {"{\"server\":{\"port\":70000}}", {"server.port", "70000", "from 1 to 65535"}},
        {"{\"server\":{\"port\":80.5}}", {"server.port", "80.5", "integer"}},
        {"{\"server\":{\"max_body_bytes\":10}}", {"server.max_body_bytes", "10", "at least 1024"}},
        {"{\"server\":{\"allow_lan_access\":\"yes\"}}",
         {"server.allow_lan_access", "\"yes\"", "true or false"}},
        {"{\"auth\":{\"mode\":\"sometimes\"}}",
         {"auth.mode", "\"sometimes\"", "one of off, strict, all_except_health, auto"}},
        {"{\"log\":{\"level\":\"loud\"}}", {"log.level", "loud", "error, warn, info"}},
        {"{\"upstream\":{\"proxy_url\":\"ftp://proxy:21\"}}",
         {"upstream.proxy_url", "\"ftp://proxy:21\"", "socks5://"}},
        {"{\"upstream\":{\"cloudcode_endpoints\":[]}}",
         {"upstream.cloudcode_endpoints", "[]", "non-empty list"}},
        {"{\"upstream\":{\"cloudcode_endpoints\":[\"https://ok\",3]}}",
         {"upstream.cloudcode_endpoints", "3", "array of strings"}},
        {"{\"oauth\":{\"clients\":[{\"name\":\"a\"}]}}",
         {"oauth.clients", "[{\"name\":\"a\"}]", "client_id"}},
        {"{\"oauth\":{\"clients\":{\"name\":\"a\"}}}", {"oauth.clients", "not an array", NULL}},
        {"{\"oauth\":{\"clients\":[{\"name\":\"a\",\"client_id\":\"x\"},"
         "{\"name\":\"a\",\"client_id\":\"y\"}]}}",
         {"oauth.clients", "duplicate name", NULL}},
        {"{\"oauth\":{\"token_url\":\"oauth2.googleapis.com/token\"}}",
         {"oauth.token_url", "https://", NULL}},
        {"{\"mapping\":{\"custom\":{\"gpt-4\":1}}}", {"mapping.custom", "gpt-4", "not a string"}},
        {"{\"quota\":{\"protection_threshold\":101}}",
         {"quota.protection_threshold", "101", "from 0 to 100"}},
        {"{\"scheduling\":{\"mode\":\"Balance\"}}", {"scheduling.mode", "Balance", "cache_first"}},
        {"{\"server\":5}", {"server", "5", "an object"}},
        {"[1,2]", {"top level", "object", NULL}},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        write_config(f, cases[i].file);
        struct ag_config *cfg = (struct ag_config *)1;
        int rc = ag_config_load(&f->src, &cfg, &f->err);
        if (rc != AG_EINVAL)
            fail_msg("case %zu (%s): rc %d", i, cases[i].file, rc);
        assert_null(cfg);
        assert_contains(f->err.data, f->path);
        for (int j = 0; j < 3 && cases[i].expect[j]; j++)
            assert_contains(f->err.data, cases[i].expect[j]);
        /* The file that failed is never touched. */
        char *after = slurp(f->path);
        assert_string_equal(after, cases[i].file);
        free(after);
        assert_int_equal(count_dir_entries(f->dir), 1);
    }
}

static void parse_error_gives_line_and_column_and_keeps_file(void **state)
{
    struct fixture *f = *state;
    const char *text = "{\n"
                       "  \"server\": {\n"
                       "    \"port\": 8045,\n"
                       "    \"allow_lan_access\": tru\n"
                       "  }\n"
                       "}\n";
    write_config(f, text);
    struct stat before, after;
    assert_int_equal(stat(f->path, &before), 0);
    struct ag_config *cfg;
    assert_int_equal(ag_config_load(&f->src, &cfg, &f->err), AG_EPARSE);
    char want[256];
    snprintf(want, sizeof(want), "%s:4:25:", f->path);
    assert_contains(f->err.data, want);
    assert_contains(f->err.data, "invalid JSON");
    char *now = slurp(f->path);
    assert_string_equal(now, text);
    free(now);
    assert_int_equal(stat(f->path, &after), 0);
    assert_int_equal(before.st_ino, after.st_ino);

    /* `config set` refuses to write over it too. */
    assert_int_equal(ag_config_set(&f->src, "server.port", "9000", &f->err), AG_EPARSE);
    now = slurp(f->path);
    assert_string_equal(now, text);
    free(now);

    /* An empty file is a parse error as well, not a first start. */
    write_config(f, "");
    assert_int_equal(ag_config_load(&f->src, &cfg, &f->err), AG_EPARSE);
    snprintf(want, sizeof(want), "%s:1:1:", f->path);
    assert_contains(f->err.data, want);
    now = slurp(f->path);
    assert_string_equal(now, "");
    free(now);
}

static void unknown_keys_are_warnings(void **state)
{
    struct fixture *f = *state;
    write_config(f, "{\"server\":{\"port\":8050,\"prot\":1},\"proxy\":{\"port\":1},"
                    "\"server.idle_timeout_s\":5,"
                    "\"auth\":{\"api_key\":\"sk-k\"},\"mapping\":{\"custom\":{\"a\":\"b\"}}}");
    struct ag_config *cfg;
    assert_int_equal(ag_config_load(&f->src, &cfg, &f->err), 0);
    assert_int_equal(cfg->server.port, 8050);
    assert_contains(f->warnings.data, "\"server.prot\"");
    assert_contains(f->warnings.data, "\"proxy\"");
    assert_contains(f->warnings.data, "\"server.idle_timeout_s\"");
    assert_int_equal(cfg->server.idle_timeout_s, 120);
    assert_contains(f->warnings.data, f->path);
    /* A json-kind value's own members are data, not keys. */
    assert_null(strstr(f->warnings.data, "mapping.custom.a"));
    assert_int_equal(cfg->mapping.custom.n, 1);
    assert_string_equal(cfg->mapping.custom.v[0].key, "a");
    assert_string_equal(cfg->mapping.custom.v[0].value, "b");
    ag_config_unref(cfg);
}

/* Member names that fit no key: empty, longer than the 4 KiB name buffer (found by fuzz.config:
 * the first one left the name NULL), at the top and nested, and one with an embedded NUL. */
static void odd_member_names_are_warnings(void **state)
{
    struct fixture *f = *state;
    char *longname = malloc(5001);
    memset(longname, 'k', 5000);
    longname[5000] = '\0';
    struct ag_buf doc;
    ag_buf_init(&doc, 0);
    ag_buf_printf(&doc,
                  "{\"%s\":1,\"\":2,\"server\":{\"%s\":3,\"\":4,\"port\":8051},"
                  "\"server\\u0000x\":{\"port\":1}}",
                  longname, longname);
    write_config(f, doc.data);
    struct ag_config *cfg;
    assert_int_equal(ag_config_load(&f->src, &cfg, &f->err), 0);
    assert_int_equal(cfg->server.port, 8051);
    assert_contains(f->warnings.data, "(5000 bytes long)");
    assert_contains(f->warnings.data, "unknown key \"\" ignored");
    assert_contains(f->warnings.data, "unknown key \"server.\" ignored");
    ag_config_unref(cfg);
    ag_buf_dispose(&doc);
    free(longname);
}

static void missing_api_key_is_generated_once(void **state)
{
    struct fixture *f = *state;
    write_config(f, "{\"server\":{\"port\":8111}}");
    struct ag_config *a, *b;
    assert_int_equal(ag_config_load(&f->src, &a, &f->err), 0);
    assert_true(is_api_key(a->auth.api_key));
    assert_int_equal(a->server.port, 8111);
    assert_int_equal(ag_config_load(&f->src, &b, &f->err), 0);
    assert_string_equal(a->auth.api_key, b->auth.api_key);
    char *text = slurp(f->path);
    assert_contains(text, a->auth.api_key);
    assert_contains(text, "8111");
    free(text);
    ag_config_unref(a);
    ag_config_unref(b);
}

static void set_saves_atomically_and_keeps_the_rest(void **state)
{
    struct fixture *f = *state;
    write_config(f, "{\"auth\":{\"api_key\":\"sk-keep\"},\"custom_note\":\"hi\","
                    "\"server\":{\"port\":8045}}");
    chmod(f->path, 0644); /* a save also fixes a loose mode */
    assert_int_equal(ag_config_set(&f->src, "server.port", "9001", &f->err), 0);
    assert_int_equal(
        ag_config_set(&f->src, "upstream.proxy_url", "socks5://127.0.0.1:1080", &f->err), 0);
    assert_int_equal(ag_config_set(&f->src, "oauth.clients",
                                   "[{\"name\":\"mine\",\"client_id\":\"id\","
                                   "\"client_secret\":\"sec\"}]",
                                   &f->err),
                     0);
    assert_int_equal(
        ag_config_set(&f->src, "server.cors_allowed_origins", "http://a,http://b", &f->err), 0);
    struct stat st;
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(count_dir_entries(f->dir), 1);

    struct ag_config *cfg;
    assert_int_equal(ag_config_load(&f->src, &cfg, &f->err), 0);
    assert_int_equal(cfg->server.port, 9001);
    assert_string_equal(cfg->auth.api_key, "sk-keep");
    assert_string_equal(cfg->upstream.proxy_url, "socks5://127.0.0.1:1080");
    assert_int_equal(cfg->oauth.clients.n, 1);
    assert_string_equal(cfg->oauth.clients.v[0].client_secret, "sec");
    assert_int_equal(cfg->server.cors_allowed_origins.n, 2);
    assert_string_equal(cfg->server.cors_allowed_origins.v[1], "http://b");
    ag_config_unref(cfg);
    char *text = slurp(f->path);
    assert_contains(text, "\"custom_note\": \"hi\""); /* unknown keys survive a set */
    /* The key keeps its place: "server" stays after "custom_note". */
    assert_true(strstr(text, "custom_note") < strstr(text, "\"server\""));

    /* Rejected values leave the file byte-identical. */
    assert_int_equal(ag_config_set(&f->src, "server.port", "0", &f->err), AG_EINVAL);
    assert_contains(f->err.data, "server.port");
    assert_contains(f->err.data, "\"0\"");
    assert_int_equal(ag_config_set(&f->src, "upstream.proxy_url", "ftp://x", &f->err), AG_EINVAL);
    assert_contains(f->err.data, "ftp://x");
    assert_int_equal(ag_config_set(&f->src, "no.such_key", "1", &f->err), AG_ENOTFOUND);
    assert_contains(f->err.data, "no.such_key");
    assert_int_equal(ag_config_set(&f->src, "oauth.clients", "[{\"name\":1}]", &f->err), AG_EINVAL);
    assert_contains(f->err.data, "oauth.clients");
    char *after = slurp(f->path);
    assert_string_equal(after, text);
    free(after);
    free(text);
}

static void set_on_first_start_writes_defaults_too(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(ag_config_set(&f->src, "auth.mode", "strict", &f->err), 0);
    struct ag_config *cfg;
    assert_int_equal(ag_config_load(&f->src, &cfg, &f->err), 0);
    assert_int_equal(cfg->auth.mode, AG_AUTH_MODE_STRICT);
    assert_true(is_api_key(cfg->auth.api_key));
    assert_int_equal(cfg->server.port, 8045);
    ag_config_unref(cfg);
}

static void env_oauth_client_goes_first(void **state)
{
    struct fixture *f = *state;
    write_config(f, "{\"oauth\":{\"clients\":[{\"name\":\"a\",\"client_id\":\"ida\","
                    "\"client_secret\":\"sa\"},{\"name\":\"env\",\"client_id\":\"old\"}]}}");
    f->env = (struct env){{{"AIGATE_OAUTH_CLIENT_ID", "id-env"},
                           {"AIGATE_OAUTH_CLIENT_SECRET", "secret-env"},
                           {"AIGATE_OAUTH_TOKEN_URL", "http://127.0.0.1:1/token"}}};
    struct ag_config *cfg;
    assert_int_equal(ag_config_load(&f->src, &cfg, &f->err), 0);
    assert_int_equal(cfg->oauth.clients.n, 2);
    assert_string_equal(cfg->oauth.clients.v[0].name, "env");
    assert_string_equal(cfg->oauth.clients.v[0].client_id, "id-env");
    assert_string_equal(cfg->oauth.clients.v[0].client_secret, "secret-env");
    assert_string_equal(cfg->oauth.clients.v[1].name, "a");
    assert_string_equal(cfg->oauth.token_url, "http://127.0.0.1:1/token");

    /* show masks the secrets, get does not when asked not to. */
    struct ag_buf out;
    ag_buf_init(&out, 0);
    assert_int_equal(ag_config_to_json(cfg, true, false, &out), 0);
    assert_null(strstr(out.data, "secret-env"));
    assert_null(strstr(out.data, cfg->auth.api_key));
    assert_contains(out.data, "\"client_id\":\"id-env\"");
    ag_buf_reset(&out);
    assert_int_equal(ag_config_get(cfg, "auth.api_key", false, &out, NULL), 0);
    assert_string_equal(out.data, cfg->auth.api_key);
    ag_buf_reset(&out);
    assert_int_equal(ag_config_get(cfg, "auth.api_key", true, &out, NULL), 0);
    assert_string_not_equal(out.data, cfg->auth.api_key);
    ag_buf_reset(&out);
    assert_int_equal(ag_config_get(cfg, "server.port", false, &out, NULL), 0);
    assert_string_equal(out.data, "8045");
    ag_buf_reset(&out);
    assert_int_equal(ag_config_get(cfg, "auth.mode", false, &out, NULL), 0);
    assert_string_equal(out.data, "off");
    assert_int_equal(ag_config_get(cfg, "auth.nope", false, &out, &f->err), AG_ENOTFOUND);
    ag_buf_dispose(&out);
    ag_config_unref(cfg);

    /* A secret without an id and no "env" client in the file is an error. */
    write_config(f, "{}");
    f->env = (struct env){{{"AIGATE_OAUTH_CLIENT_SECRET", "s"}}};
    assert_int_equal(ag_config_load(&f->src, &cfg, &f->err), AG_EINVAL);
    assert_contains(f->err.data, "AIGATE_OAUTH_CLIENT_ID");
}

static void proxy_credentials_are_masked(void **state)
{
    struct fixture *f = *state;
    write_config(f, "{\"upstream\":{\"proxy_url\":\"http://bob:pr0xy-s3cret@proxy.lan:3128\"}}");
    struct ag_config *cfg;
    assert_int_equal(ag_config_load(&f->src, &cfg, &f->err), 0);
    assert_string_equal(cfg->upstream.proxy_url, "http://bob:pr0xy-s3cret@proxy.lan:3128");
    /* config show and a masked get hide the password, keep the rest */
    struct ag_buf out;
    ag_buf_init(&out, 0);
    assert_int_equal(ag_config_to_json(cfg, true, false, &out), 0);
    assert_null(strstr(out.data, "pr0xy-s3cret"));
    assert_contains(out.data, "\"proxy_url\":\"http://bob:****@proxy.lan:3128\"");
    ag_buf_reset(&out);
    assert_int_equal(ag_config_get(cfg, "upstream.proxy_url", true, &out, NULL), 0);
    assert_string_equal(out.data, "http://bob:****@proxy.lan:3128");
    ag_buf_reset(&out);
    assert_int_equal(ag_config_get(cfg, "upstream.proxy_url", false, &out, NULL), 0);
    assert_string_equal(out.data, "http://bob:pr0xy-s3cret@proxy.lan:3128");
    ag_buf_dispose(&out);
    ag_config_unref(cfg);

    /* an invalid value is reported without its password */
    write_config(f, "{\"upstream\":{\"proxy_url\":\"ftp://bob:pr0xy-s3cret@proxy.lan:21\"}}");
    ag_buf_reset(&f->err);
    assert_int_equal(ag_config_load(&f->src, &cfg, &f->err), AG_EINVAL);
    assert_contains(f->err.data, "ftp://bob:****@proxy.lan:21");
    assert_null(strstr(f->err.data, "pr0xy-s3cret"));

    /* a database URL: a libpq key=value string refused without its password, a password in the
     * query hidden by config show */
    write_config(f, "{}");
    ag_buf_reset(&f->err);
    assert_int_equal(ag_config_set(&f->src, "store.postgres_url",
                                   "host=db password=pg-s3cret dbname=x", &f->err),
                     AG_EINVAL);
    assert_null(strstr(f->err.data, "pg-s3cret"));
    assert_contains(f->err.data, "\"****\"");
    write_config(f, "{\"store\":{\"postgres_url\":"
                    "\"postgresql://u@db:5432/x?password=pg-s3cret\"}}");
    assert_int_equal(ag_config_load(&f->src, &cfg, &f->err), 0);
    ag_buf_init(&out, 0);
    assert_int_equal(ag_config_to_json(cfg, true, false, &out), 0);
    assert_null(strstr(out.data, "pg-s3cret"));
    assert_contains(out.data, "\"postgres_url\":\"postgresql://****@db:5432/x?****\"");
    ag_buf_dispose(&out);
    ag_config_unref(cfg);
}

static void overrides_unknown_key_and_bad_value(void **state)
{
    struct fixture *f = *state;
    struct ag_config *cfg;
    struct ag_config_override bad_key[] = {{"server.prot", "1", "--set"}};
    f->src.overrides = bad_key;
    f->src.n_overrides = 1;
    assert_int_equal(ag_config_load(&f->src, &cfg, &f->err), AG_ENOTFOUND);
    assert_contains(f->err.data, "server.prot");
    struct ag_config_override bad_val[] = {{"auth.mode", "open", "--auth-mode"}};
    f->src.overrides = bad_val;
    assert_int_equal(ag_config_load(&f->src, &cfg, &f->err), AG_EINVAL);
    assert_contains(f->err.data, "--auth-mode");
    assert_contains(f->err.data, "\"open\"");
    assert_contains(f->err.data, "one of off, strict");
    /* ag_config_check judges the same way without touching the disk. */
    assert_int_equal(ag_config_check("server.port", "65536", "--port", &f->err), AG_EINVAL);
    assert_contains(f->err.data, "--port");
    assert_int_equal(ag_config_check("server.port", "65535", "--port", &f->err), 0);
    assert_int_equal(ag_config_check("mapping.custom", "{\"a\":\"b\"}", NULL, &f->err), 0);
    assert_int_equal(ag_config_check("mapping.custom", "{oops", NULL, &f->err), AG_EINVAL);
    assert_contains(f->err.data, "valid JSON");
}

/* n arrays nested inside {"log":{"level":...}}: n + 2 levels. malloc'd. */
static char *deep_config(size_t n)
{
    const char head[] = "{\"log\":{\"level\":", tail[] = "}}";
    char *s = malloc(sizeof(head) + 2 * n + sizeof(tail));
    assert_non_null(s);
    memcpy(s, head, sizeof(head) - 1);
    memset(s + sizeof(head) - 1, '[', n);
    memset(s + sizeof(head) - 1 + n, ']', n);
    memcpy(s + sizeof(head) - 1 + 2 * n, tail, sizeof(tail));
    return s;
}

/* JSON nested past the default limit is a configuration error, never a walk down its depth. */
static void deeply_nested_config_is_an_error(void **state)
{
    struct fixture *f = *state;
    struct ag_config *cfg = NULL;
    char *text = deep_config(200000);
    write_config(f, text);
    assert_int_equal(ag_config_load(&f->src, &cfg, &f->err), AG_EPARSE);
    assert_null(cfg);
    assert_contains(f->err.data, "config.json: invalid JSON: JSON nested deeper than 128 levels");
    ag_buf_reset(&f->err);
    assert_int_equal(ag_config_from_json(text, strlen(text), &cfg, &f->err), AG_EPARSE);
    assert_contains(f->err.data, "nested deeper than 128 levels");
    ag_buf_reset(&f->err);
    /* a value given as text (command line, environment, admin API) */
    free(text);
    text = deep_config(200000);
    text[strlen(text) - 2] = '\0'; /* {"log":{"level":[[...]] -> the value [[...]] */
    assert_int_equal(ag_config_check("mapping.custom", text + 16, NULL, &f->err), AG_EINVAL);
    assert_contains(f->err.data, "nested deeper than 128 levels");
    free(text);
    /* the limit itself: 8..1024, default 128 */
    assert_int_equal(ag_config_check("server.max_json_depth", "7", NULL, &f->err), AG_EINVAL);
    assert_int_equal(ag_config_check("server.max_json_depth", "1025", NULL, &f->err), AG_EINVAL);
    assert_int_equal(ag_config_check("server.max_json_depth", "1024", NULL, &f->err), 0);
    assert_int_equal(ag_config_from_json(NULL, 0, &cfg, NULL), 0);
    assert_int_equal(cfg->server.max_json_depth, 128);
    ag_config_unref(cfg);
}

static void data_dir_resolution_order(void **state)
{
    struct fixture *f = *state;
    struct ag_config_source src = {.getenv = env_lookup, .env_ctx = &f->env};
    char *dir;
    f->env = (struct env){{{"HOME", "/home/u"}}};
    assert_int_equal(ag_config_data_dir(&src, &dir, NULL), 0);
    assert_string_equal(dir, "/home/u/.local/share/aigate");
    free(dir);
    f->env = (struct env){{{"HOME", "/home/u"}, {"XDG_DATA_HOME", "relative/x"}}};
    assert_int_equal(ag_config_data_dir(&src, &dir, NULL), 0);
    assert_string_equal(dir, "/home/u/.local/share/aigate"); /* relative XDG is ignored */
    free(dir);
    f->env = (struct env){{{"HOME", "/home/u"}, {"XDG_DATA_HOME", "/xdg"}}};
    assert_int_equal(ag_config_data_dir(&src, &dir, NULL), 0);
    assert_string_equal(dir, "/xdg/aigate");
    free(dir);
    f->env = (struct env){
        {{"HOME", "/home/u"}, {"XDG_DATA_HOME", "/xdg"}, {"AIGATE_DATA_DIR", "/srv/ag/"}}};
    assert_int_equal(ag_config_data_dir(&src, &dir, NULL), 0);
    assert_string_equal(dir, "/srv/ag");
    free(dir);
    src.data_dir = "/flag/dir";
    assert_int_equal(ag_config_data_dir(&src, &dir, NULL), 0);
    assert_string_equal(dir, "/flag/dir");
    free(dir);
    src.data_dir = NULL;
    f->env = (struct env){{{NULL, NULL}}};
    assert_int_equal(ag_config_data_dir(&src, &dir, &f->err), AG_ENOTFOUND);
    assert_null(dir);
    assert_contains(f->err.data, "--data-dir");
}

static void snapshots_are_refcounted(void **state)
{
    struct ag_config *cfg;
    const char *text = "{\"server\":{\"port\":1234}}";
    assert_int_equal(ag_config_from_json(text, strlen(text), &cfg, NULL), 0);
    assert_ptr_equal(ag_config_ref(cfg), cfg);
    ag_config_unref(cfg);
    assert_int_equal(cfg->server.port, 1234); /* still alive: one reference left */
    ag_config_unref(cfg);
    ag_config_unref(NULL);
    struct ag_buf err;
    ag_buf_init(&err, 0);
    assert_int_equal(ag_config_from_json("{\"server\":", 10, &cfg, &err), AG_EPARSE);
    assert_contains(err.data, "1:11");
    ag_buf_dispose(&err);
}

static void every_default_round_trips_through_show(void **state)
{
    /* The JSON `config show` prints must load back to the same values (a file a user saves
     * from `config show` output, unmasked, is accepted). */
    struct ag_config *a, *b;
    assert_int_equal(ag_config_from_json(NULL, 0, &a, NULL), 0);
    struct ag_buf out, out2;
    ag_buf_init(&out, 0);
    ag_buf_init(&out2, 0);
    assert_int_equal(ag_config_to_json(a, false, true, &out), 0);
    assert_int_equal(ag_config_from_json(out.data, out.len, &b, NULL), 0);
    assert_int_equal(ag_config_to_json(b, false, true, &out2), 0);
    assert_string_equal(out.data, out2.data);
    assert_int_equal(out.data[out.len - 1], '\n');
    ag_buf_dispose(&out);
    ag_buf_dispose(&out2);
    ag_config_unref(a);
    ag_config_unref(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_are_the_documented_ones),
        cmocka_unit_test_setup_teardown(first_start_creates_private_dir_and_full_file, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(precedence_option_over_env_over_file_over_default, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(bool_words_and_env_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(invalid_values_name_key_value_and_rule, setup, teardown),
        cmocka_unit_test_setup_teardown(parse_error_gives_line_and_column_and_keeps_file, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(unknown_keys_are_warnings, setup, teardown),
        cmocka_unit_test_setup_teardown(odd_member_names_are_warnings, setup, teardown),
        cmocka_unit_test_setup_teardown(missing_api_key_is_generated_once, setup, teardown),
        cmocka_unit_test_setup_teardown(set_saves_atomically_and_keeps_the_rest, setup, teardown),
        cmocka_unit_test_setup_teardown(set_on_first_start_writes_defaults_too, setup, teardown),
        cmocka_unit_test_setup_teardown(env_oauth_client_goes_first, setup, teardown),
        cmocka_unit_test_setup_teardown(overrides_unknown_key_and_bad_value, setup, teardown),
        cmocka_unit_test_setup_teardown(deeply_nested_config_is_an_error, setup, teardown),
        cmocka_unit_test_setup_teardown(data_dir_resolution_order, setup, teardown),
        cmocka_unit_test(snapshots_are_refcounted),
        cmocka_unit_test(every_default_round_trips_through_show),
        cmocka_unit_test_setup_teardown(proxy_credentials_are_masked, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
