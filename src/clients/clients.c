/* clients/clients.c: the client table (which files, which keys), and plan / apply / restore /
 * status over it (see clients.h). The formats were read from the clients' own code: Claude Code
 * 2.1.197 (settings.json "env"), Codex CLI 0.169.0 (config.toml model providers,
 * experimental_bearer_token), Gemini CLI 0.61.0 (~/.gemini/.env read in trusted folders,
 * security.auth.selectedType, model.name) and OpenCode's opencode.json schema (provider.<id> with
 * npm, options.baseURL / apiKey, models; "model": "<provider>/<model>"). */
#include "clients/clients.h"

#include "clients/dotenv.h"
#include "clients/json_edit.h"
#include "clients/toml_edit.h"
#include "core/err.h"
#include "core/file.h"
#include "core/jsonw.h"
#include "core/str.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The provider id aigate uses where a client names providers (Codex, OpenCode). */
#define PROVIDER "aigate"

/* What a file editor gets and gives. */
struct edit {
    const struct ag_clients_target *t;
    const char *text;
    size_t len;
    bool exists;
    struct ag_buf *out;
    char *err;
    size_t cap;
};

/* What a probe (status) finds. */
struct found {
    char url[512];
    char key[512];
};

struct file_def {
    int (*path)(const struct ag_clients_env *e, char *out, size_t cap);
    int (*edit)(struct edit *ed, bool *changed);
    /* Reads what the file says about the gateway into f (absent: leaves it empty). */
    int (*probe)(const char *text, size_t len, struct found *f, char *err, size_t cap);
    bool secret;
};

struct client_def {
    const char *name, *title;
    size_t nfiles;
    struct file_def files[AG_CLIENTS_MAX_FILES];
};

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

static int json_begin(struct edit *ed, yyjson_mut_doc **doc)
{
    *doc = ag_json_edit_load(ed->text, ed->len, ed->err, ed->cap);
    return *doc ? 0 : AG_EPARSE;
}

/* Writes doc when it changed, else keeps the text byte for byte. */
static int json_end(struct edit *ed, yyjson_mut_doc *doc, int rc, bool changed)
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

static int claude_edit(struct edit *ed, bool *changed)
{
    yyjson_mut_doc *doc;
    int rc = json_begin(ed, &doc);
    if (rc)
        return rc;
    const char *val = ed->t->base_url;
    SETJ("env", "ANTHROPIC_BASE_URL");
    val = ed->t->key;
    SETJ("env", "ANTHROPIC_AUTH_TOKEN");
    if (set(ed->t->model)) {
        val = ed->t->model;
        SETJ("env", "ANTHROPIC_MODEL");
    }
    return json_end(ed, doc, rc, *changed);
}

static int claude_probe(const char *text, size_t len, struct found *f, char *err, size_t cap)
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

static int gemini_settings_edit(struct edit *ed, bool *changed)
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

static int gemini_settings_probe(const char *text, size_t len, struct found *f, char *err,
                                 size_t cap)
{
    yyjson_mut_doc *doc = ag_json_edit_load(text, len, err, cap);
    if (!doc)
        return AG_EPARSE;
    yyjson_mut_doc_free(doc);
    return 0;
}

static int gemini_env_edit(struct edit *ed, bool *changed)
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

static int gemini_env_probe(const char *text, size_t len, struct found *f, char *err, size_t cap)
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

static int codex_edit(struct edit *ed, bool *changed)
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

static int codex_probe(const char *text, size_t len, struct found *f, char *err, size_t cap)
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

static int opencode_edit(struct edit *ed, bool *changed)
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

static int opencode_probe(const char *text, size_t len, struct found *f, char *err, size_t cap)
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

static const struct client_def clients[] = {
    {"claude-code", "Claude Code", 1, {{claude_path, claude_edit, claude_probe, true}}},
    {"codex", "Codex CLI", 1, {{codex_path, codex_edit, codex_probe, true}}},
    {"gemini-cli",
     "Gemini CLI",
     2,
     {{gemini_settings_path, gemini_settings_edit, gemini_settings_probe, false},
      {gemini_env_path, gemini_env_edit, gemini_env_probe, true}}},
    {"opencode", "OpenCode", 1, {{opencode_path, opencode_edit, opencode_probe, true}}},
};
#define NCLIENTS (sizeof(clients) / sizeof(clients[0]))

size_t ag_clients_count(void)
{
    return NCLIENTS;
}

const char *ag_clients_name(size_t i)
{
    return i < NCLIENTS ? clients[i].name : NULL;
}

const char *ag_clients_title(size_t i)
{
    return i < NCLIENTS ? clients[i].title : NULL;
}

long ag_clients_find(const char *name)
{
    for (size_t i = 0; name && i < NCLIENTS; i++) {
        if (!strcmp(clients[i].name, name))
            return (long)i;
    }
    return -1;
}

static bool token_ok(const char *s, size_t max)
{
    size_t n = 0;
    for (; s[n]; n++) {
        unsigned char c = (unsigned char)s[n];
        if (c <= 0x20 || c >= 0x7f || c == '"' || c == '\'' || c == '`' || c == '#' || c == '\\')
            return false;
    }
    return n > 0 && n <= max;
}

int ag_clients_check_target(const struct ag_clients_target *t, char *err, size_t cap)
{
    struct ag_str u = ag_str_c(t->base_url ? t->base_url : "");
    if (!(ag_str_has_prefix(u, "http://") || ag_str_has_prefix(u, "https://")) ||
        !token_ok(u.p, 400) || ag_str_has_suffix(u, "/")) {
        snprintf(err, cap, "the base URL must be http(s)://host:port without a trailing '/'");
        return AG_EINVAL;
    }
    if (!t->key || !token_ok(t->key, 400)) {
        snprintf(err, cap,
                 "the key must be 1 to 400 printable characters without spaces, quotes, '#' or "
                 "'\\'");
        return AG_EINVAL;
    }
    if (set(t->model) && (!token_ok(t->model, 200) || strchr(t->model, '/'))) {
        snprintf(err, cap, "the model name must be printable, without spaces, quotes or '/'");
        return AG_EINVAL;
    }
    return 0;
}

int ag_clients_env_from_process(struct ag_clients_env *env)
{
    memset(env, 0, sizeof(*env));
    env->home = getenv("HOME");
    env->xdg_config_home = getenv("XDG_CONFIG_HOME");
    env->claude_config_dir = getenv("CLAUDE_CONFIG_DIR");
    env->codex_home = getenv("CODEX_HOME");
    env->gemini_cli_home = getenv("GEMINI_CLI_HOME");
    return set(env->home) ? 0 : AG_EINVAL;
}

/* The path of file f of client c; a symbolic link is followed to the file it names, so that
 * the link (a dotfiles manager's) stays and its target is what changes. */
static int file_path(const struct ag_clients_env *env, const struct file_def *f, char *out,
                     size_t cap)
{
    struct stat st;
    int rc = f->path(env, out, cap);
    if (rc)
        return rc;
    if (lstat(out, &st) == 0 && S_ISLNK(st.st_mode)) {
        char *real = realpath(out, NULL);
        if (!real) /* a dangling link: the file it names will be created */
            return 0;
        rc = strlen(real) < cap ? 0 : AG_ETOOBIG;
        if (!rc)
            ag_strlcpy(out, real, cap);
        free(real);
    }
    return rc;
}

/* Reads path into out: 0 (exists), AG_ENOTFOUND, or an error with a message. */
static int read_file(const char *path, struct ag_buf *out, struct stat *st, char *err, size_t cap)
{
    int rc = ag_file_read(path, AG_CLIENTS_FILE_CAP, out);
    if (rc == AG_ENOTFOUND)
        return rc;
    if (rc == AG_ETOOBIG)
        snprintf(err, cap, "%s: larger than %u bytes", path, AG_CLIENTS_FILE_CAP);
    else if (rc)
        snprintf(err, cap, "%s: %s", path, strerror(errno));
    else if (stat(path, st) != 0)
        memset(st, 0, sizeof(*st));
    return rc;
}

int ag_clients_plan(const struct ag_clients_env *env, size_t client,
                    const struct ag_clients_target *t, struct ag_clients_plan *plan, char *err,
                    size_t cap)
{
    memset(plan, 0, sizeof(*plan));
    if (client >= NCLIENTS) {
        snprintf(err, cap, "unknown client");
        return AG_EINVAL;
    }
    int rc = ag_clients_check_target(t, err, cap);
    if (rc)
        return rc;
    const struct client_def *c = &clients[client];
    plan->client = client;
    plan->nfiles = c->nfiles;
    for (size_t i = 0; i < c->nfiles; i++) {
        struct ag_clients_file *f = &plan->files[i];
        ag_buf_init(&f->old_text, AG_CLIENTS_FILE_CAP);
        ag_buf_init(&f->new_text, 2 * AG_CLIENTS_FILE_CAP);
    }
    for (size_t i = 0; i < c->nfiles; i++) {
        struct ag_clients_file *f = &plan->files[i];
        const struct file_def *d = &c->files[i];
        struct stat st;
        char why[512];
        if ((rc = file_path(env, d, f->path, sizeof(f->path)))) {
            snprintf(err, cap, "path too long");
            return rc;
        }
        rc = read_file(f->path, &f->old_text, &st, err, cap);
        if (rc && rc != AG_ENOTFOUND)
            return rc;
        f->exists = rc == 0;
        f->secret = d->secret;
        f->mode = d->secret ? 0600 : (f->exists && st.st_mode ? (st.st_mode & 0777) : 0644);
        struct edit ed = {t,
                          f->old_text.data ? f->old_text.data : "",
                          f->old_text.len,
                          f->exists,
                          &f->new_text,
                          why,
                          sizeof(why)};
        why[0] = '\0';
        rc = d->edit(&ed, &f->changed);
        if (rc) {
            snprintf(err, cap, "%s %s; it was left untouched", f->path,
                     why[0] ? why : ag_strerror(rc));
            return rc == AG_ETOOBIG ? rc : AG_EPARSE;
        }
        f->changed = !f->exists || f->old_text.len != f->new_text.len ||
                     memcmp(f->old_text.data, f->new_text.data, f->new_text.len);
        /* a key already in a file that is too open to keep it */
        if (f->exists && d->secret && (st.st_mode & 077))
            f->changed = true;
    }
    return 0;
}

void ag_clients_plan_dispose(struct ag_clients_plan *plan)
{
    for (size_t i = 0; i < AG_CLIENTS_MAX_FILES; i++) {
        ag_buf_dispose(&plan->files[i].old_text);
        ag_buf_dispose(&plan->files[i].new_text);
    }
    memset(plan, 0, sizeof(*plan));
}

bool ag_clients_plan_changes(const struct ag_clients_plan *plan)
{
    for (size_t i = 0; i < plan->nfiles; i++) {
        if (plan->files[i].changed)
            return true;
    }
    return false;
}

/* ---- diff ---- */

#define DIFF_CONTEXT   3
#define DIFF_MAX_LINES 20000

/* Splits b into at most max line starts (the end is starts[n]); returns the number of lines. */
static size_t split_lines(const struct ag_buf *b, const char **starts, size_t max)
{
    const char *p = b->data ? b->data : "", *end = p + b->len;
    size_t n = 0;
    while (p < end && n < max) {
        starts[n++] = p;
        const char *e = memchr(p, '\n', (size_t)(end - p));
        p = e ? e + 1 : end;
    }
    starts[n] = end;
    return n;
}

static bool line_eq(const char **a, size_t i, const char **b, size_t j)
{
    size_t la = (size_t)(a[i + 1] - a[i]), lb = (size_t)(b[j + 1] - b[j]);
    return la == lb && !memcmp(a[i], b[j], la);
}

static int put_line(struct ag_buf *out, char mark, const char *p, const char *e)
{
    int rc = ag_buf_append(out, &mark, 1);
    if (!rc)
        rc = ag_buf_append(out, p, (size_t)(e - p));
    if (!rc && (e == p || e[-1] != '\n'))
        rc = ag_buf_append(out, "\n", 1);
    return rc;
}

/* One hunk: the common lines at both ends stay, the middle is shown removed and added. */
static int diff_file(const struct ag_clients_file *f, struct ag_buf *out)
{
    const char **a = calloc(DIFF_MAX_LINES + 1, sizeof(char *));
    const char **b = calloc(DIFF_MAX_LINES + 1, sizeof(char *));
    int rc = AG_ENOMEM;
    if (!a || !b)
        goto out;
    size_t na = split_lines(&f->old_text, a, DIFF_MAX_LINES);
    size_t nb = split_lines(&f->new_text, b, DIFF_MAX_LINES);
    size_t pre = 0, suf = 0;
    while (pre < na && pre < nb && line_eq(a, pre, b, pre))
        pre++;
    while (suf < na - pre && suf < nb - pre && line_eq(a, na - 1 - suf, b, nb - 1 - suf))
        suf++;
    rc = ag_buf_printf(out, "--- %s%s\n+++ %s\n", f->path, f->exists ? "" : " (new file)", f->path);
    size_t from = pre > DIFF_CONTEXT ? pre - DIFF_CONTEXT : 0;
    if (!rc)
        rc = ag_buf_printf(out, "@@ -%zu,%zu +%zu,%zu @@\n", from + 1, na - from - suf, from + 1,
                           nb - from - suf);
    for (size_t i = from; i < pre && !rc; i++)
        rc = put_line(out, ' ', a[i], a[i + 1]);
    for (size_t i = pre; i < na - suf && !rc; i++)
        rc = put_line(out, '-', a[i], a[i + 1]);
    for (size_t i = pre; i < nb - suf && !rc; i++)
        rc = put_line(out, '+', b[i], b[i + 1]);
    for (size_t i = na - suf; i < na && i < na - suf + DIFF_CONTEXT && !rc; i++)
        rc = put_line(out, ' ', a[i], a[i + 1]);
out:
    free(a);
    free(b);
    return rc;
}

/* Replaces every occurrence of mask in b[from..] with a shortened form. */
static int mask_secret(struct ag_buf *b, size_t from, const char *mask)
{
    size_t ml = mask ? strlen(mask) : 0;
    if (ml < 4 || b->len <= from)
        return 0;
    char shown[32];
    if (ml >= 12)
        snprintf(shown, sizeof(shown), "%.5s...%s", mask, mask + ml - 4);
    else
        snprintf(shown, sizeof(shown), "***");
    struct ag_buf t;
    ag_buf_init(&t, b->cap);
    int rc = 0;
    struct ag_str hay = ag_str_make(b->data + from, b->len - from);
    for (;;) {
        ptrdiff_t at = ag_str_search(hay, ag_str_make(mask, ml));
        if (at < 0)
            break;
        rc = ag_buf_append(&t, hay.p, (size_t)at);
        if (!rc)
            rc = ag_buf_append_c(&t, shown);
        if (rc)
            break;
        hay.p += (size_t)at + ml;
        hay.len -= (size_t)at + ml;
    }
    if (!rc)
        rc = ag_buf_append(&t, hay.p, hay.len);
    if (!rc) {
        b->len = from;
        rc = ag_buf_append(b, t.data ? t.data : "", t.len);
    }
    ag_buf_dispose(&t);
    return rc;
}

int ag_clients_plan_diff(const struct ag_clients_plan *plan, const char *mask, struct ag_buf *out)
{
    size_t from = out->len;
    int rc = 0;
    for (size_t i = 0; i < plan->nfiles && !rc; i++) {
        const struct ag_clients_file *f = &plan->files[i];
        if (!f->changed)
            rc = ag_buf_printf(out, "%s: no change\n", f->path);
        else if (f->old_text.len == f->new_text.len &&
                 !memcmp(f->old_text.data, f->new_text.data, f->new_text.len))
            rc = ag_buf_printf(out, "%s: mode set to %04o (it holds the key)\n", f->path,
                               (unsigned)f->mode);
        else
            rc = diff_file(f, out);
    }
    return rc ? rc : mask_secret(out, from, mask);
}

/* ---- apply and restore ---- */

#define BACKUP_TAG ".aigate-"

static int stamp_path(char *out, size_t cap, const char *path, const char *stamp, const char *ext)
{
    int n = snprintf(out, cap, "%s" BACKUP_TAG "%s.%s", path, stamp, ext);
    return n < 0 || (size_t)n >= cap ? AG_ETOOBIG : 0;
}

static bool stamp_used(const struct ag_clients_plan *plan, const char *stamp)
{
    char p[AG_CLIENTS_PATH_MAX + 64];
    for (size_t i = 0; i < plan->nfiles; i++) {
        if (!stamp_path(p, sizeof(p), plan->files[i].path, stamp, "bak") && !access(p, F_OK))
            return true;
        if (!stamp_path(p, sizeof(p), plan->files[i].path, stamp, "new") && !access(p, F_OK))
            return true;
    }
    return false;
}

static int parent_dir(const char *path, char *out, size_t cap)
{
    const char *slash = strrchr(path, '/');
    if (!slash || (size_t)(slash - path) >= cap)
        return AG_EINVAL;
    memcpy(out, path, (size_t)(slash - path));
    out[slash - path] = '\0';
    return 0;
}

int ag_clients_apply(struct ag_clients_plan *plan, time_t now, char *stamp, char *err, size_t cap)
{
    char st[32], base[24];
    struct tm tm;
    if (stamp)
        stamp[0] = '\0';
    if (!ag_clients_plan_changes(plan))
        return 0;
    gmtime_r(&now, &tm);
    strftime(base, sizeof(base), "%Y%m%dT%H%M%SZ", &tm);
    ag_strlcpy(st, base, sizeof(st));
    for (int n = 1; stamp_used(plan, st); n++) {
        if (n > 9) {
            snprintf(err, cap, "too many set-ups within one second; try again");
            return AG_EEXIST;
        }
        snprintf(st, sizeof(st), "%s-%d", base, n);
    }
    /* Every changed file still holds what was planned from, before anything is written. */
    for (size_t i = 0; i < plan->nfiles; i++) {
        struct ag_clients_file *f = &plan->files[i];
        if (!f->changed)
            continue;
        struct ag_buf now_text;
        struct stat sst;
        char why[256] = "";
        ag_buf_init(&now_text, AG_CLIENTS_FILE_CAP);
        int rc = read_file(f->path, &now_text, &sst, why, sizeof(why));
        bool same = f->exists ? rc == 0 && now_text.len == f->old_text.len &&
                                    !memcmp(now_text.data, f->old_text.data, now_text.len)
                              : rc == AG_ENOTFOUND;
        ag_buf_dispose(&now_text);
        if (!same) {
            snprintf(err, cap, "%s changed while it was being set up; nothing was written",
                     f->path);
            return AG_ESTATE;
        }
    }
    for (size_t i = 0; i < plan->nfiles; i++) {
        struct ag_clients_file *f = &plan->files[i];
        char bak[AG_CLIENTS_PATH_MAX + 64], dir[AG_CLIENTS_PATH_MAX];
        if (!f->changed)
            continue;
        if (parent_dir(f->path, dir, sizeof(dir)) || ag_file_mkdirs(dir, 0700)) {
            snprintf(err, cap, "cannot create the directory of %s: %s", f->path, strerror(errno));
            return AG_EIO;
        }
        int rc = stamp_path(bak, sizeof(bak), f->path, st, f->exists ? "bak" : "new");
        if (!rc)
            rc = ag_file_write_atomic(bak, f->old_text.data ? f->old_text.data : "",
                                      f->old_text.len, 0600);
        if (!rc)
            rc = ag_file_write_atomic(f->path, f->new_text.data ? f->new_text.data : "",
                                      f->new_text.len, f->mode);
        if (rc) {
            snprintf(err, cap, "cannot write %s: %s", f->path, strerror(errno));
            return rc;
        }
    }
    if (stamp)
        ag_strlcpy(stamp, st, 32);
    return 0;
}

/* The newest stamp among the backups of path, written into best (kept when older). */
static int newest_stamp(const char *path, char *best, size_t cap)
{
    char dir[AG_CLIENTS_PATH_MAX];
    if (parent_dir(path, dir, sizeof(dir)))
        return AG_EINVAL;
    const char *name = strrchr(path, '/') + 1;
    size_t nl = strlen(name), tl = strlen(BACKUP_TAG);
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : AG_EIO;
    struct dirent *e;
    size_t seen = 0;
    while ((e = readdir(d)) && seen++ < 100000) {
        const char *s = e->d_name;
        size_t sl = strlen(s);
        if (sl <= nl + tl + 4 || strncmp(s, name, nl) || strncmp(s + nl, BACKUP_TAG, tl))
            continue;
        if (strcmp(s + sl - 4, ".bak") && strcmp(s + sl - 4, ".new"))
            continue;
        size_t stl = sl - nl - tl - 4;
        if (stl >= cap)
            continue;
        char stmp[64];
        if (stl >= sizeof(stmp))
            continue;
        memcpy(stmp, s + nl + tl, stl);
        stmp[stl] = '\0';
        if (strcmp(stmp, best) > 0)
            ag_strlcpy(best, stmp, cap);
    }
    closedir(d);
    return 0;
}

int ag_clients_restore(const struct ag_clients_env *env, size_t client, struct ag_buf *report,
                       char *err, size_t cap)
{
    char paths[AG_CLIENTS_MAX_FILES][AG_CLIENTS_PATH_MAX];
    char best[64] = "";
    if (client >= NCLIENTS) {
        snprintf(err, cap, "unknown client");
        return AG_EINVAL;
    }
    const struct client_def *c = &clients[client];
    for (size_t i = 0; i < c->nfiles; i++) {
        if (file_path(env, &c->files[i], paths[i], sizeof(paths[i])) ||
            newest_stamp(paths[i], best, sizeof(best))) {
            snprintf(err, cap, "cannot read the directory of %s", paths[i]);
            return AG_EIO;
        }
    }
    if (!best[0]) {
        snprintf(err, cap, "no backup of %s made by aigate clients setup was found", c->title);
        return AG_ENOTFOUND;
    }
    for (size_t i = 0; i < c->nfiles; i++) {
        char bak[AG_CLIENTS_PATH_MAX + 64], mark[AG_CLIENTS_PATH_MAX + 64];
        if (stamp_path(bak, sizeof(bak), paths[i], best, "bak") ||
            stamp_path(mark, sizeof(mark), paths[i], best, "new"))
            return AG_ETOOBIG;
        if (!access(bak, F_OK)) {
            struct ag_buf t;
            struct stat sst;
            ag_buf_init(&t, AG_CLIENTS_FILE_CAP);
            int rc = read_file(bak, &t, &sst, err, cap);
            if (!rc)
                rc = ag_file_write_atomic(paths[i], t.data ? t.data : "", t.len,
                                          c->files[i].secret ? 0600 : 0644);
            ag_buf_dispose(&t);
            if (rc) {
                if (!err[0])
                    snprintf(err, cap, "cannot restore %s: %s", paths[i], strerror(errno));
                return rc;
            }
            unlink(bak);
            ag_buf_printf(report, "restored %s from %s\n", paths[i], bak);
        } else if (!access(mark, F_OK)) {
            if (unlink(paths[i]) != 0 && errno != ENOENT) {
                snprintf(err, cap, "cannot remove %s: %s", paths[i], strerror(errno));
                return AG_EIO;
            }
            unlink(mark);
            ag_buf_printf(report, "removed %s (it did not exist before the set-up)\n", paths[i]);
        }
    }
    return 0;
}

static bool same_url(const char *a, const char *b)
{
    struct ag_str x = ag_str_c(a), y = ag_str_c(b);
    while (x.len && x.p[x.len - 1] == '/')
        x.len--;
    while (y.len && y.p[y.len - 1] == '/')
        y.len--;
    return x.len && ag_str_eq(x, y);
}

int ag_clients_status(const struct ag_clients_env *env, size_t client,
                      const struct ag_clients_target *t, struct ag_clients_state *st)
{
    memset(st, 0, sizeof(*st));
    if (client >= NCLIENTS)
        return AG_EINVAL;
    const struct client_def *c = &clients[client];
    bool all_keys = true;
    for (size_t i = 0; i < c->nfiles; i++) {
        char path[AG_CLIENTS_PATH_MAX];
        struct ag_buf text;
        struct stat sst;
        struct found f = {"", ""};
        char why[256] = "";
        if (file_path(env, &c->files[i], path, sizeof(path)))
            continue;
        if (i == c->nfiles - 1 || !st->path[0])
            ag_strlcpy(st->path, path, sizeof(st->path));
        ag_buf_init(&text, AG_CLIENTS_FILE_CAP);
        int rc = read_file(path, &text, &sst, why, sizeof(why));
        if (!rc)
            rc = c->files[i].probe(text.data ? text.data : "", text.len, &f, why, sizeof(why));
        ag_buf_dispose(&text);
        if (rc == AG_ENOTFOUND)
            continue;
        if (rc) {
            if (!st->error[0])
                snprintf(st->error, sizeof(st->error), "%.700s %.300s", path, why);
            continue;
        }
        if (f.url[0]) {
            st->configured = true;
            ag_strlcpy(st->url, f.url, sizeof(st->url));
            st->points_here = t && t->base_url && same_url(f.url, t->base_url);
            all_keys = all_keys && t && t->key && !strcmp(f.key, t->key);
        }
    }
    st->key_matches = st->points_here && all_keys;
    return 0;
}

int ag_clients_status_json(const struct ag_clients_env *env, const struct ag_clients_target *t,
                           struct ag_buf *out)
{
    int rc = ag_jsonw_open(out, NULL, '{');
    rc = rc ? rc : ag_jsonw_str(out, "base_url", t ? t->base_url : NULL);
    rc = rc ? rc : ag_jsonw_open(out, "clients", '[');
    for (size_t i = 0; i < NCLIENTS && !rc; i++) {
        struct ag_clients_state s;
        ag_clients_status(env, i, t, &s);
        rc = ag_jsonw_open(out, NULL, '{');
        rc = rc ? rc : ag_jsonw_str(out, "name", clients[i].name);
        rc = rc ? rc : ag_jsonw_str(out, "title", clients[i].title);
        rc = rc ? rc : ag_jsonw_bool(out, "configured", s.configured);
        rc = rc ? rc : ag_jsonw_bool(out, "points_here", s.points_here);
        rc = rc ? rc : ag_jsonw_bool(out, "key_matches", s.key_matches);
        rc = rc ? rc : ag_jsonw_str(out, "url", s.url);
        rc = rc ? rc : ag_jsonw_str(out, "path", s.path);
        rc = rc ? rc : ag_jsonw_str(out, "error", s.error);
        rc = rc ? rc : ag_jsonw_close(out, '}');
    }
    rc = rc ? rc : ag_jsonw_close(out, ']');
    return rc ? rc : ag_jsonw_close(out, '}');
}
