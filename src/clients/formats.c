/* clients/formats.c: the client table: for each client the files it reads, where they are (HOME and
 * the client's own variables), how aigate sets its keys in them and how status reads them back.
 * The formats were read from the clients' own code: Claude Code 2.1.197 (settings.json "env"),
 * Codex CLI 0.169.0 (config.toml model providers, experimental_bearer_token), Gemini CLI 0.61.0
 * (~/.gemini/.env read in trusted folders, security.auth.selectedType, model.name) and OpenCode's
 * opencode.json schema (provider.<id> with npm, options.baseURL / apiKey, models; "model":
 * "<provider>/<model>"). */
#include "clients/clients_internal.h"

#include "clients/dotenv.h"
#include "clients/json_edit.h"
#include "clients/toml_edit.h"
#include "core/err.h"
#include "core/str.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The provider id aigate uses where a client names providers (Codex, OpenCode). */
#define PROVIDER "aigate"

/* ---- paths ---- */

static int join(char *out, size_t cap, const char *dir, const char *rest)
{
    int n = snprintf(out, cap, "%s/%s", dir, rest);
    return n < 0 || (size_t)n >= cap ? AG_ETOOBIG : 0;
}

static bool set(const char *s)
{
    return s && *s;
}

static int claude_path(const struct ag_clients_env *e, char *out, size_t cap)
{
    if (set(e->claude_config_dir))
        return join(out, cap, e->claude_config_dir, "settings.json");
    return join(out, cap, e->home, ".claude/settings.json");
}

static int codex_path(const struct ag_clients_env *e, char *out, size_t cap)
{
    if (set(e->codex_home))
        return join(out, cap, e->codex_home, "config.toml");
    return join(out, cap, e->home, ".codex/config.toml");
}

static const char *gemini_home(const struct ag_clients_env *e)
{
    return set(e->gemini_cli_home) ? e->gemini_cli_home : e->home;
}

static int gemini_settings_path(const struct ag_clients_env *e, char *out, size_t cap)
{
    return join(out, cap, gemini_home(e), ".gemini/settings.json");
}

static int gemini_env_path(const struct ag_clients_env *e, char *out, size_t cap)
{
    return join(out, cap, gemini_home(e), ".gemini/.env");
}

/* OpenCode's global config: opencode.jsonc when that is the one present, else opencode.json. */
static int opencode_path(const struct ag_clients_env *e, char *out, size_t cap)
{
    char dir[AG_CLIENTS_PATH_MAX];
    int rc = set(e->xdg_config_home) ? join(dir, sizeof(dir), e->xdg_config_home, "opencode")
                                     : join(dir, sizeof(dir), e->home, ".config/opencode");
    if (rc)
        return rc;
    if ((rc = join(out, cap, dir, "opencode.json")))
        return rc;
    if (access(out, F_OK) != 0) {
        char c[AG_CLIENTS_PATH_MAX];
        if (!join(c, sizeof(c), dir, "opencode.jsonc") && access(c, F_OK) == 0)
            return join(out, cap, dir, "opencode.jsonc");
    }
    return 0;
}

/* ---- editors ---- */

static int json_begin(struct ag_clients_edit *ed, yyjson_mut_doc **doc)
{
    *doc = ag_json_edit_load(ed->text, ed->len, ed->err, ed->cap);
    return *doc ? 0 : AG_EPARSE;
}

/* Writes doc when it changed, else keeps the text byte for byte. */
static int json_end(struct ag_clients_edit *ed, yyjson_mut_doc *doc, int rc, bool changed)
{
    if (!rc && changed)
        rc = ag_json_edit_dump(doc, ed->out);
    else if (!rc)
        rc = ag_buf_append(ed->out, ed->text, ed->len);
    yyjson_mut_doc_free(doc);
    return rc;
}

#define SETJ(...)                                                                                  \
    do {                                                                                           \
        static const char *const p_[] = {__VA_ARGS__};                                             \
        if (!rc)                                                                                   \
            rc = ag_json_edit_set(doc, p_, sizeof(p_) / sizeof(p_[0]), val, changed, ed->err,      \
                                  ed->cap);                                                        \
    } while (0)

static int claude_edit(struct ag_clients_edit *ed, bool *changed)
{
    yyjson_mut_doc *doc;
    int rc = json_begin(ed, &doc);
    if (rc)
        return rc;
    const char *val = ed->t->base_url;
    SETJ("env", "ANTHROPIC_BASE_URL");
    val = ed->t->key;
    SETJ("env", "ANTHROPIC_AUTH_TOKEN");
    /* An API key already in the block would be sent too (x-api-key): it gets the same key, so
     * both headers name the gateway's key and none goes out with another one. */
    static const char *const api_key[] = {"env", "ANTHROPIC_API_KEY"};
    if (ag_json_edit_has(doc, api_key, 2))
        SETJ("env", "ANTHROPIC_API_KEY");
    if (set(ed->t->model)) {
        val = ed->t->model;
        SETJ("env", "ANTHROPIC_MODEL");
    }
    return json_end(ed, doc, rc, *changed);
}

static int claude_probe(const char *text, size_t len, struct ag_clients_found *f, char *err,
                        size_t cap)
{
    yyjson_mut_doc *doc = ag_json_edit_load(text, len, err, cap);
    if (!doc)
        return AG_EPARSE;
    static const char *const url[] = {"env", "ANTHROPIC_BASE_URL"};
    static const char *const tok[] = {"env", "ANTHROPIC_AUTH_TOKEN"};
    static const char *const key[] = {"env", "ANTHROPIC_API_KEY"};
    const char *u = ag_json_edit_get(doc, url, 2);
    const char *k = ag_json_edit_get(doc, tok, 2);
    if (!k)
        k = ag_json_edit_get(doc, key, 2);
    ag_strlcpy(f->url, u ? u : "", sizeof(f->url));
    ag_strlcpy(f->key, k ? k : "", sizeof(f->key));
    yyjson_mut_doc_free(doc);
    return 0;
}

static int gemini_settings_edit(struct ag_clients_edit *ed, bool *changed)
{
    yyjson_mut_doc *doc;
    int rc = json_begin(ed, &doc);
    if (rc)
        return rc;
    const char *val = "gemini-api-key";
    SETJ("security", "auth", "selectedType");
    if (set(ed->t->model)) {
        val = ed->t->model;
        SETJ("model", "name");
    }
    return json_end(ed, doc, rc, *changed);
}

static int gemini_settings_probe(const char *text, size_t len, struct ag_clients_found *f,
                                 char *err, size_t cap)
{
    yyjson_mut_doc *doc = ag_json_edit_load(text, len, err, cap);
    if (!doc)
        return AG_EPARSE;
    yyjson_mut_doc_free(doc);
    return 0;
}

static int gemini_env_edit(struct ag_clients_edit *ed, bool *changed)
{
    struct ag_buf tmp;
    bool c1 = false, c2 = false;
    int rc = ag_dotenv_check(ed->text, ed->len, ed->err, ed->cap);
    if (rc)
        return rc;
    ag_buf_init(&tmp, AG_DOTENV_MAX_TEXT + 4096);
    rc = ag_dotenv_set(ed->text, ed->len, "GOOGLE_GEMINI_BASE_URL", ed->t->base_url, &tmp, &c1);
    if (!rc)
        rc = ag_dotenv_set(tmp.data ? tmp.data : "", tmp.len, "GEMINI_API_KEY", ed->t->key, ed->out,
                           &c2);
    ag_buf_dispose(&tmp);
    *changed = c1 || c2;
    return rc;
}

static int gemini_env_probe(const char *text, size_t len, struct ag_clients_found *f, char *err,
                            size_t cap)
{
    int rc = ag_dotenv_check(text, len, err, cap);
    if (rc)
        return rc;
    if (!ag_dotenv_get(text, len, "GOOGLE_GEMINI_BASE_URL", f->url, sizeof(f->url)))
        f->url[0] = '\0';
    if (!ag_dotenv_get(text, len, "GEMINI_API_KEY", f->key, sizeof(f->key)))
        f->key[0] = '\0';
    return 0;
}

/* Codex: settings aigate would have to edit somewhere other than [model_providers.aigate]. */
static int codex_conflicts(const struct ag_toml_doc *doc, char *err, size_t cap)
{
    const char *table = "";
    for (size_t i = 0; i < doc->nitems; i++) {
        const struct ag_toml_item *it = &doc->items[i];
        if (it->kind != AG_TOML_KEYVAL) {
            table = it->kind == AG_TOML_TRIVIA ? table : it->key;
            continue;
        }
        char full[2 * AG_TOML_MAX_KEY + 2];
        snprintf(full, sizeof(full), "%s%s%s", table, *table ? "." : "", it->key);
        bool ours = !strcmp(table, "model_providers." PROVIDER);
        if (!ours &&
            (!strcmp(full, "model_providers") ||
             !strncmp(full, "model_providers." PROVIDER, strlen("model_providers." PROVIDER)))) {
            snprintf(err, cap,
                     "sets %s outside a [model_providers." PROVIDER "] table (dotted keys or an "
                     "inline table), which aigate does not edit: move it to a "
                     "[model_providers." PROVIDER "] table or remove it",
                     full);
            return AG_EPARSE;
        }
    }
    return 0;
}

/* One TOML edit step: text of *cur → out, then out becomes the current text. */
static int toml_step(struct ag_buf *cur, struct ag_buf *out, const char *table, const char *key,
                     const char *value, bool *changed, char *err, size_t cap)
{
    struct ag_toml_doc doc;
    bool c = false;
    int rc = ag_toml_scan(cur->data ? cur->data : "", cur->len, &doc, err, cap);
    if (rc)
        return rc;
    rc = value ? ag_toml_set(&doc, table, key, value, out, &c)
               : ag_toml_remove(&doc, table, key, out, &c);
    ag_toml_dispose(&doc);
    if (rc)
        return rc;
    *changed = *changed || c;
    struct ag_buf t = *cur;
    *cur = *out;
    *out = t;
    return 0;
}

static int codex_edit(struct ag_clients_edit *ed, bool *changed)
{
    struct ag_toml_doc doc;
    struct ag_buf cur, tmp, val;
    char url[600];
    int rc = ag_toml_scan(ed->text, ed->len, &doc, ed->err, ed->cap);
    if (rc)
        return rc;
    rc = codex_conflicts(&doc, ed->err, ed->cap);
    ag_toml_dispose(&doc);
    if (rc)
        return rc;
    ag_buf_init(&cur, AG_TOML_MAX_TEXT + 65536);
    ag_buf_init(&tmp, AG_TOML_MAX_TEXT + 65536);
    ag_buf_init(&val, 4096);
    rc = ag_buf_append(&cur, ed->text, ed->len);
    snprintf(url, sizeof(url), "%s/v1", ed->t->base_url);
    const char *tbl = "model_providers." PROVIDER;
#define STEP(table, key, v)                                                                        \
    do {                                                                                           \
        const char *v_ = (v);                                                                      \
        ag_buf_reset(&val);                                                                        \
        if (!rc && v_)                                                                             \
            rc = ag_toml_quote(&val, v_);                                                          \
        if (!rc)                                                                                   \
            rc = toml_step(&cur, &tmp, (table), (key), v_ ? val.data : NULL, changed, ed->err,     \
                           ed->cap);                                                               \
    } while (0)
    STEP(NULL, "model_provider", PROVIDER);
    if (set(ed->t->model))
        STEP(NULL, "model", ed->t->model);
    STEP(tbl, "name", PROVIDER);
    STEP(tbl, "base_url", url);
    STEP(tbl, "wire_api", "responses");
    /* The key lives in the file: env_key would make Codex demand the variable instead. */
    STEP(tbl, "env_key", (const char *)NULL);
    STEP(tbl, "experimental_bearer_token", ed->t->key);
#undef STEP
    if (!rc)
        rc = ag_buf_append(ed->out, cur.data ? cur.data : "", cur.len);
    ag_buf_dispose(&cur);
    ag_buf_dispose(&tmp);
    ag_buf_dispose(&val);
    return rc;
}

static int codex_probe(const char *text, size_t len, struct ag_clients_found *f, char *err,
                       size_t cap)
{
    struct ag_toml_doc doc;
    char sel[128];
    int rc = ag_toml_scan(text, len, &doc, err, cap);
    if (rc)
        return rc;
    const char *tbl = "model_providers." PROVIDER;
    if (ag_toml_get_string(&doc, NULL, "model_provider", sel, sizeof(sel)) &&
        !strcmp(sel, PROVIDER)) {
        if (ag_toml_get_string(&doc, tbl, "base_url", f->url, sizeof(f->url))) {
            struct ag_str u = ag_str_c(f->url);
            if (ag_str_has_suffix(u, "/v1"))
                f->url[u.len - 3] = '\0';
        }
        if (!ag_toml_get_string(&doc, tbl, "experimental_bearer_token", f->key, sizeof(f->key)))
            f->key[0] = '\0';
    }
    ag_toml_dispose(&doc);
    return 0;
}

static const char *const opencode_default_models[] = {"gemini-3-flash", "gemini-3-pro-high",
                                                      "claude-sonnet-4-5"};

static int opencode_edit(struct ag_clients_edit *ed, bool *changed)
{
    yyjson_mut_doc *doc;
    char url[600];
    int rc = json_begin(ed, &doc);
    if (rc)
        return rc;
    const char *val = "https://opencode.ai/config.json";
    if (!ed->exists)
        SETJ("$schema");
    val = "@ai-sdk/openai-compatible";
    SETJ("provider", PROVIDER, "npm");
    val = PROVIDER;
    SETJ("provider", PROVIDER, "name");
    snprintf(url, sizeof(url), "%s/v1", ed->t->base_url);
    val = url;
    SETJ("provider", PROVIDER, "options", "baseURL");
    val = ed->t->key;
    SETJ("provider", PROVIDER, "options", "apiKey");
    static const char *const models[] = {"provider", PROVIDER, "models"};
    bool have_models = ag_json_edit_has(doc, models, 3);
    for (size_t i = 0; !rc && !have_models && i < sizeof(opencode_default_models) / sizeof(char *);
         i++) {
        const char *p[] = {"provider", PROVIDER, "models", opencode_default_models[i], "name"};
        rc = ag_json_edit_set(doc, p, 5, opencode_default_models[i], changed, ed->err, ed->cap);
    }
    if (!rc && set(ed->t->model)) {
        const char *p[] = {"provider", PROVIDER, "models", ed->t->model};
        if (!ag_json_edit_has(doc, p, 4)) {
            const char *pn[] = {"provider", PROVIDER, "models", ed->t->model, "name"};
            rc = ag_json_edit_set(doc, pn, 5, ed->t->model, changed, ed->err, ed->cap);
        }
        char m[600];
        snprintf(m, sizeof(m), PROVIDER "/%s", ed->t->model);
        val = m;
        SETJ("model");
    }
    return json_end(ed, doc, rc, *changed);
}

static int opencode_probe(const char *text, size_t len, struct ag_clients_found *f, char *err,
                          size_t cap)
{
    yyjson_mut_doc *doc = ag_json_edit_load(text, len, err, cap);
    if (!doc)
        return AG_EPARSE;
    static const char *const url[] = {"provider", PROVIDER, "options", "baseURL"};
    static const char *const key[] = {"provider", PROVIDER, "options", "apiKey"};
    const char *u = ag_json_edit_get(doc, url, 4);
    const char *k = ag_json_edit_get(doc, key, 4);
    ag_strlcpy(f->url, u ? u : "", sizeof(f->url));
    ag_strlcpy(f->key, k ? k : "", sizeof(f->key));
    struct ag_str s = ag_str_c(f->url);
    if (ag_str_has_suffix(s, "/v1"))
        f->url[s.len - 3] = '\0';
    yyjson_mut_doc_free(doc);
    return 0;
}

const struct ag_clients_def ag_clients_table[] = {
    {"claude-code", "Claude Code", 1, {{claude_path, claude_edit, claude_probe, true}}},
    {"codex", "Codex CLI", 1, {{codex_path, codex_edit, codex_probe, true}}},
    {"gemini-cli",
     "Gemini CLI",
     2,
     {{gemini_settings_path, gemini_settings_edit, gemini_settings_probe, false},
      {gemini_env_path, gemini_env_edit, gemini_env_probe, true}}},
    {"opencode", "OpenCode", 1, {{opencode_path, opencode_edit, opencode_probe, true}}},
};
const size_t ag_clients_ntable = sizeof(ag_clients_table) / sizeof(ag_clients_table[0]);
