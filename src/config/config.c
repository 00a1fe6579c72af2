/* config/config.c: builds configuration snapshots (defaults < config.json < environment <
 * overrides), writes config.json on first start and for `config set`, and renders snapshots as
 * JSON. The per-key work is the key table's (schema.c); this file only walks it. */
#include "config/config.h"

#include "config/schema.h"
#include "core/err.h"
#include "core/file.h"
#include "core/json_depth.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/rand.h"
#include "core/str.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONFIG_FILE      "config.json"
#define CONFIG_MAX_BYTES (16u << 20)

/* What one build of a snapshot reports to. */
struct ctx {
    struct ag_buf *err;      /* may be NULL */
    struct ag_buf *warnings; /* may be NULL */
};

static void fail(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(struct ctx *c, const char *fmt, ...)
{
    if (!c->err)
        return;
    ag_buf_reset(c->err);
    va_list ap;
    va_start(ap, fmt);
    ag_buf_vprintf(c->err, fmt, ap);
    va_end(ap);
}

static void warn(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(struct ctx *c, const char *fmt, ...)
{
    struct ag_buf line;
    ag_buf_init(&line, 4096);
    va_list ap;
    va_start(ap, fmt);
    ag_buf_vprintf(&line, fmt, ap);
    va_end(ap);
    ag_log_warn("%s", line.data ? line.data : "");
    if (c->warnings) {
        ag_buf_append_str(c->warnings, ag_buf_str(&line));
        ag_buf_append_c(c->warnings, "\n");
    }
    ag_buf_dispose(&line);
}

const char *ag_config_getenv_process(void *ctx, const char *name)
{
    (void)ctx;
    return getenv(name);
}

static const char *env_get(const struct ag_config_source *src, const char *name)
{
    if (!src || !src->getenv)
        return NULL;
    const char *v = src->getenv(src->env_ctx, name);
    return (v && v[0]) ? v : NULL; /* an empty variable counts as unset */
}

/* ---- snapshots ---- */

struct ag_config *ag_config_ref(struct ag_config *cfg)
{
    atomic_fetch_add_explicit(&cfg->_refs, 1, memory_order_relaxed);
    return cfg;
}

static void config_free(struct ag_config *cfg)
{
    size_t n;
    const struct ag_config_key *keys = ag_config_keys(&n);
    for (size_t i = 0; i < n; i++)
        ag_config_field_dispose(&keys[i], cfg);
    free(cfg->data_dir);
    free(cfg->path);
    free(cfg);
}

void ag_config_unref(struct ag_config *cfg)
{
    if (cfg && atomic_fetch_sub_explicit(&cfg->_refs, 1, memory_order_acq_rel) == 1)
        config_free(cfg);
}

enum ag_auth_mode ag_config_auth_mode_effective(const struct ag_config *cfg)
{
    if (cfg->auth.mode != AG_AUTH_MODE_AUTO)
        return cfg->auth.mode;
    return cfg->server.allow_lan_access ? AG_AUTH_MODE_ALL_EXCEPT_HEALTH : AG_AUTH_MODE_OFF;
}

/* A snapshot holding every default (auth.api_key ""). */
static struct ag_config *config_defaults(void)
{
    struct ag_config *cfg = AG_NEW(struct ag_config);
    atomic_init(&cfg->_refs, 1);
    size_t n;
    const struct ag_config_key *keys = ag_config_keys(&n);
    for (size_t i = 0; i < n; i++) {
        struct ag_buf why;
        ag_buf_init(&why, 1024);
        yyjson_doc *d = yyjson_read(keys[i].def, strlen(keys[i].def), 0);
        int rc =
            d ? ag_config_field_from_json(&keys[i], cfg, yyjson_doc_get_root(d), &why) : AG_EPARSE;
        /* A default that does not pass its own row is a bug in schema.c, caught by every test. */
        if (rc) {
            ag_log_error("config: default of %s is invalid: %s", keys[i].name,
                         why.data ? why.data : "not JSON");
            abort();
        }
        yyjson_doc_free(d);
        ag_buf_dispose(&why);
    }
    cfg->data_dir = ag_strdup("");
    cfg->path = ag_strdup("");
    return cfg;
}

/* ---- applying values ---- */

/* JSON text of v for messages, shortened; secrets are masked. Caller frees. */
static char *describe_json(const struct ag_config_key *key, yyjson_val *v)
{
    char mask[2048];
    if (key && (key->flags & AG_CONFIG_SECRET) && yyjson_is_str(v))
        return ag_strdup(ag_log_mask(yyjson_get_str(v), mask, sizeof(mask)));
    size_t len;
    char *s;
    if (key && (key->flags & AG_CONFIG_URL_SECRET) && yyjson_is_str(v)) {
        yyjson_mut_doc *d = yyjson_mut_doc_new(NULL);
        ag_config_key_shown(key, yyjson_get_str(v), mask, sizeof(mask));
        s = yyjson_mut_val_write(yyjson_mut_str(d, mask), 0, &len);
        yyjson_mut_doc_free(d);
    } else {
        s = yyjson_val_write(v, 0, &len);
    }
    if (!s)
        return ag_strdup("?");
    if (len > 120)
        memcpy(s + 110, "...", 4);
    return s;
}

/* Applies JSON v to key in cfg; origin names the source for the message. */
static int apply_json(struct ctx *c, struct ag_config *cfg, const struct ag_config_key *key,
                      yyjson_val *v, const char *origin)
{
    struct ag_buf why;
    ag_buf_init(&why, 4096);
    int rc = ag_config_field_from_json(key, cfg, v, &why);
    if (rc) {
        char *got = describe_json(key, v);
        fail(c, "%s: invalid value for %s: %s (expected %s)", origin, key->name, got,
             why.data ? why.data : "?");
        free(got);
        rc = AG_EINVAL;
    }
    ag_buf_dispose(&why);
    return rc;
}

/* Applies the text form of a value (environment, overrides) to key in cfg. */
static int apply_text(struct ctx *c, struct ag_config *cfg, const struct ag_config_key *key,
                      const char *text, const char *origin)
{
    int rc;
    struct ag_buf why;
    ag_buf_init(&why, 4096);
    yyjson_mut_doc *md = yyjson_mut_doc_new(NULL);
    yyjson_doc *d = NULL;
    yyjson_mut_val *mv = NULL;
    rc = ag_config_text_to_json(key, text, md, &mv, &why);
    if (rc == 0) {
        d = yyjson_mut_val_imut_copy(mv, NULL);
        rc = ag_config_field_from_json(key, cfg, yyjson_doc_get_root(d), &why);
    }
    if (rc) {
        char mask[2048];
        const char *shown = ag_config_key_shown(key, text, mask, sizeof(mask));
        fail(c, "%s: invalid value for %s: \"%s\" (expected %s)", origin, key->name, shown,
             why.data ? why.data : "?");
        rc = AG_EINVAL;
    }
    yyjson_doc_free(d);
    yyjson_mut_doc_free(md);
    ag_buf_dispose(&why);
    return rc;
}

/* The value at dotted path name in root, or NULL. */
static yyjson_val *lookup(yyjson_val *root, const char *name)
{
    yyjson_val *v = root;
    struct ag_str rest = ag_str_c(name);
    while (v && rest.len) {
        ptrdiff_t dot = ag_str_find(rest, '.');
        size_t seg = dot < 0 ? rest.len : (size_t)dot;
        v = yyjson_is_obj(v) ? yyjson_obj_getn(v, rest.p, seg) : NULL;
        rest = dot < 0 ? AG_STR_NULL : ag_str_make(rest.p + seg + 1, rest.len - seg - 1);
    }
    return v;
}

/* True when some key lives under the section prefix (e.g. "server"). */
static bool is_section(const char *prefix, size_t len)
{
    size_t n;
    const struct ag_config_key *keys = ag_config_keys(&n);
    if (!prefix || !len) /* an empty member name ("") is never a section; prefix may be NULL then */
        return false;
    for (size_t i = 0; i < n; i++) {
        /* memcmp after a length check: a member name may hold "\u0000", which strncmp would stop at
         */
        if (strlen(keys[i].name) > len && memcmp(keys[i].name, prefix, len) == 0 &&
            keys[i].name[len] == '.')
            return true;
    }
    return false;
}

/* Checks the shape of obj (members under prefix): sections must be objects; unknown members are
 * warned about. */
static int walk(struct ctx *c, yyjson_val *obj, struct ag_buf *prefix, const char *origin)
{
    size_t i, max, base = prefix->len;
    yyjson_val *k, *v;
    yyjson_obj_foreach(obj, i, max, k, v)
    {
        prefix->len = base;
        if (base)
            ag_buf_append_c(prefix, ".");
        if (ag_buf_append(prefix, yyjson_get_str(k), yyjson_get_len(k)) != 0) {
            /* Longer than any key could be: name only its start in the warning. */
            prefix->len = base;
            prefix->data[base] = '\0';
            warn(c, "%s: unknown key \"%.*s…\" ignored (%zu bytes long)", origin, 40,
                 yyjson_get_str(k), yyjson_get_len(k));
            continue;
        }
        if (memchr(yyjson_get_str(k), '.', yyjson_get_len(k))) {
            /* "server.port": 1 at the top level would otherwise be silently ignored. */
            warn(c, "%s: unknown key \"%s\" ignored (nest objects instead of dotted names)", origin,
                 prefix->data);
            continue;
        }
        if (ag_config_key_findn(prefix->data, prefix->len))
            continue;
        if (is_section(prefix->data, prefix->len)) {
            if (!yyjson_is_obj(v)) {
                char *got = describe_json(NULL, v);
                fail(c, "%s: invalid value for %s: %s (expected an object)", origin, prefix->data,
                     got);
                free(got);
                return AG_EINVAL;
            }
            int rc = walk(c, v, prefix, origin);
            if (rc)
                return rc;
            continue;
        }
        warn(c, "%s: unknown key \"%s\" ignored", origin, prefix->data);
    }
    prefix->len = base;
    if (prefix->data)
        prefix->data[base] = '\0';
    return 0;
}

/* Applies a whole config.json document to cfg. */
static int apply_doc(struct ctx *c, struct ag_config *cfg, yyjson_val *root, const char *origin)
{
    if (!yyjson_is_obj(root)) {
        fail(c, "%s: the top level must be a JSON object", origin);
        return AG_EINVAL;
    }
    struct ag_buf prefix;
    ag_buf_init(&prefix, 4096);
    /* Allocated up front: a member named "" leaves the prefix empty, and the key lookups below
     * must never see a NULL name. */
    if (ag_buf_reserve(&prefix, 64) != 0) {
        fail(c, "%s: out of memory", origin);
        return AG_ENOMEM;
    }
    int rc = walk(c, root, &prefix, origin);
    ag_buf_dispose(&prefix);
    if (rc)
        return rc;
    size_t n;
    const struct ag_config_key *keys = ag_config_keys(&n);
    for (size_t i = 0; i < n; i++) {
        yyjson_val *v = lookup(root, keys[i].name);
        if (v && (rc = apply_json(c, cfg, &keys[i], v, origin)) != 0)
            return rc;
    }
    return 0;
}

/* AIGATE_OAUTH_CLIENT_ID / _SECRET: a client named "env", first in oauth.clients. */
static int apply_env_client(struct ctx *c, struct ag_config *cfg,
                            const struct ag_config_source *src)
{
    const char *id = env_get(src, "AIGATE_OAUTH_CLIENT_ID");
    const char *secret = env_get(src, "AIGATE_OAUTH_CLIENT_SECRET");
    if (!id && !secret)
        return 0;
    struct ag_config_oauth_clients *cl = &cfg->oauth.clients;
    size_t at = cl->n;
    for (size_t i = 0; i < cl->n; i++) {
        if (strcmp(cl->v[i].name, "env") == 0)
            at = i;
    }
    if (!id && at == cl->n) {
        fail(c, "environment variable AIGATE_OAUTH_CLIENT_SECRET is set but "
                "AIGATE_OAUTH_CLIENT_ID is not (and oauth.clients has no client named \"env\")");
        return AG_EINVAL;
    }
    struct ag_config_oauth_client client = {0};
    if (at < cl->n) {
        client = cl->v[at];
        memmove(&cl->v[at], &cl->v[at + 1], (cl->n - at - 1) * sizeof(*cl->v));
        cl->n--;
    } else {
        client.name = ag_strdup("env");
        client.client_id = ag_strdup("");
        client.client_secret = ag_strdup("");
    }
    if (id) {
        free(client.client_id);
        client.client_id = ag_strdup(id);
    }
    if (secret) {
        free(client.client_secret);
        client.client_secret = ag_strdup(secret);
    }
    cl->v = ag_realloc(cl->v, (cl->n + 1) * sizeof(*cl->v));
    memmove(&cl->v[1], &cl->v[0], cl->n * sizeof(*cl->v));
    cl->v[0] = client;
    cl->n++;
    return 0;
}

/* Environment variables of the key table, then the OAuth client pair. */
static int apply_env(struct ctx *c, struct ag_config *cfg, const struct ag_config_source *src)
{
    size_t n;
    const struct ag_config_key *keys = ag_config_keys(&n);
    char origin[128];
    for (size_t i = 0; i < n; i++) {
        const char *v = keys[i].env ? env_get(src, keys[i].env) : NULL;
        if (!v)
            continue;
        snprintf(origin, sizeof(origin), "environment variable %s", keys[i].env);
        int rc = apply_text(c, cfg, &keys[i], v, origin);
        if (rc)
            return rc;
    }
    return apply_env_client(c, cfg, src);
}

static int apply_overrides(struct ctx *c, struct ag_config *cfg, const struct ag_config_source *src)
{
    for (size_t i = 0; src && i < src->n_overrides; i++) {
        const struct ag_config_override *o = &src->overrides[i];
        const char *origin = o->origin ? o->origin : "command line";
        const struct ag_config_key *key = ag_config_key_find(o->key);
        if (!key) {
            fail(c, "%s: unknown configuration key \"%s\"", origin, o->key ? o->key : "");
            return AG_ENOTFOUND;
        }
        int rc = apply_text(c, cfg, key, o->value ? o->value : "", origin);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- files ---- */

int ag_config_data_dir(const struct ag_config_source *src, char **out, struct ag_buf *errmsg)
{
    struct ctx c = {errmsg, NULL};
    struct ag_buf path;
    ag_buf_init(&path, AG_BUF_CAP_SHORT);
    const char *v;
    *out = NULL;
    if (src && src->data_dir && src->data_dir[0])
        ag_buf_append_c(&path, src->data_dir);
    else if ((v = env_get(src, "AIGATE_DATA_DIR")) != NULL)
        ag_buf_append_c(&path, v);
    else if ((v = env_get(src, "XDG_DATA_HOME")) != NULL && v[0] == '/')
        ag_buf_printf(&path, "%s/aigate", v);
    else if ((v = env_get(src, "HOME")) != NULL)
        ag_buf_printf(&path, "%s/.local/share/aigate", v);
    else {
        fail(&c, "no data directory: use --data-dir DIR or set AIGATE_DATA_DIR (HOME is not set)");
        return AG_ENOTFOUND;
    }
    /* Relative paths are made absolute so messages and later chdir()s cannot change them. */
    if (path.data[0] != '/') {
        char cwd[4096];
        if (getcwd(cwd, sizeof(cwd))) {
            struct ag_buf abs;
            ag_buf_init(&abs, AG_BUF_CAP_SHORT);
            ag_buf_printf(&abs, "%s/%s", cwd, path.data);
            ag_buf_dispose(&path);
            path = abs;
        }
    }
    while (path.len > 1 && path.data[path.len - 1] == '/')
        path.data[--path.len] = '\0';
    *out = ag_buf_steal(&path, NULL);
    return 0;
}

/* Puts v at dotted name in the mutable object root, creating sections and replacing any value
 * already there (keeping its position). */
static void mut_put(yyjson_mut_doc *d, yyjson_mut_val *root, const char *name, yyjson_mut_val *v)
{
    yyjson_mut_val *obj = root;
    struct ag_str rest = ag_str_c(name);
    for (;;) {
        ptrdiff_t dot = ag_str_find(rest, '.');
        size_t seg = dot < 0 ? rest.len : (size_t)dot;
        yyjson_mut_val *cur = yyjson_mut_obj_getn(obj, rest.p, seg);
        if (dot < 0) {
            yyjson_mut_val *k = yyjson_mut_strncpy(d, rest.p, seg);
            if (cur)
                yyjson_mut_obj_replace(obj, k, v);
            else
                yyjson_mut_obj_add(obj, k, v);
            return;
        }
        if (!cur || !yyjson_mut_is_obj(cur)) {
            yyjson_mut_val *k = yyjson_mut_strncpy(d, rest.p, seg);
            yyjson_mut_val *sec = yyjson_mut_obj(d);
            if (cur)
                yyjson_mut_obj_replace(obj, k, sec);
            else
                yyjson_mut_obj_add(obj, k, sec);
            cur = sec;
        }
        obj = cur;
        rest = ag_str_make(rest.p + seg + 1, rest.len - seg - 1);
    }
}

/* A document with every key at its default and auth.api_key set to api_key. */
static yyjson_mut_doc *defaults_doc(const char *api_key)
{
    yyjson_mut_doc *d = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *root = yyjson_mut_obj(d);
    yyjson_mut_doc_set_root(d, root);
    size_t n;
    const struct ag_config_key *keys = ag_config_keys(&n);
    for (size_t i = 0; i < n; i++) {
        yyjson_mut_val *v;
        if (strcmp(keys[i].name, "auth.api_key") == 0) {
            v = yyjson_mut_strcpy(d, api_key);
        } else {
            yyjson_doc *def = yyjson_read(keys[i].def, strlen(keys[i].def), 0);
            v = yyjson_val_mut_copy(d, yyjson_doc_get_root(def));
            yyjson_doc_free(def);
        }
        mut_put(d, root, keys[i].name, v);
    }
    return d;
}

/* Serialises d (two-space pretty JSON and a final newline) and saves it atomically at path. */
static int save_doc(struct ctx *c, yyjson_mut_doc *d, const char *path)
{
    size_t len;
    yyjson_write_err werr;
    char *text = yyjson_mut_write_opts(d, YYJSON_WRITE_PRETTY_TWO_SPACES, NULL, &len, &werr);
    if (!text) {
        fail(c, "%s: cannot serialise configuration: %s", path, werr.msg);
        return AG_EINVAL;
    }
    text = ag_realloc(text, len + 2);
    text[len++] = '\n';
    text[len] = '\0';
    int rc = ag_file_write_atomic(path, text, len, 0600);
    if (rc)
        fail(c, "%s: cannot write: %s", path, strerror(errno));
    free(text);
    return rc;
}

static int new_api_key(struct ctx *c, char *key, size_t cap)
{
    if (ag_random_api_key(key, cap) != 0) {
        fail(c, "cannot generate an API key: no randomness available");
        return AG_EIO;
    }
    return 0;
}

/* The parsed file or first-start document, shared by load and set. */
struct file_state {
    char *dir;
    char *path;
    struct ag_buf text;
    yyjson_doc *doc;       /* parsed text; NULL when the file does not exist */
    yyjson_mut_doc *fresh; /* first start: the defaults document to be written */
};

static void file_state_dispose(struct file_state *fs)
{
    free(fs->dir);
    free(fs->path);
    ag_buf_dispose(&fs->text);
    yyjson_doc_free(fs->doc);
    yyjson_mut_doc_free(fs->fresh);
}

/* Resolves and creates the data dir, then reads and parses config.json (or prepares the defaults
 * document when there is none). */
static int file_open(struct ctx *c, const struct ag_config_source *src, struct file_state *fs)
{
    memset(fs, 0, sizeof(*fs));
    ag_buf_init(&fs->text, AG_BUF_CAP_DOC);
    int rc = ag_config_data_dir(src, &fs->dir, c->err);
    if (rc)
        return rc;
    struct stat st;
    bool existed = stat(fs->dir, &st) == 0;
    if (ag_file_mkdirs(fs->dir, 0700) != 0) {
        fail(c, "cannot create data directory %s: %s", fs->dir, strerror(errno));
        return AG_EIO;
    }
    if (!existed)
        chmod(fs->dir, 0700); /* whatever the umask, the data dir is private */
    struct ag_buf p;
    ag_buf_init(&p, AG_BUF_CAP_SHORT);
    ag_buf_printf(&p, "%s/%s", fs->dir, CONFIG_FILE);
    fs->path = ag_buf_steal(&p, NULL);

    rc = ag_file_read(fs->path, CONFIG_MAX_BYTES, &fs->text);
    if (rc == AG_ENOTFOUND) {
        char key[40];
        if ((rc = new_api_key(c, key, sizeof(key))) != 0)
            return rc;
        fs->fresh = defaults_doc(key);
        return 0;
    }
    if (rc == AG_ETOOBIG) {
        fail(c, "%s: file is larger than %u bytes", fs->path, CONFIG_MAX_BYTES);
        return rc;
    }
    if (rc) {
        fail(c, "%s: cannot read: %s", fs->path, strerror(errno));
        return rc;
    }
    if (stat(fs->path, &st) == 0 && (st.st_mode & 077))
        warn(c, "%s: mode %03o lets other users read secrets; run chmod 600 on it", fs->path,
             (unsigned)(st.st_mode & 0777));
    yyjson_read_err err;
    int jerr;
    /* The file is read before its own server.max_json_depth is known: the default holds. */
    fs->doc =
        ag_json_depth_read(fs->text.data, fs->text.len, AG_JSON_DEPTH_DEFAULT, NULL, &err, &jerr);
    if (jerr == AG_EDEPTH) {
        fail(c, "%s: invalid JSON: " AG_JSON_DEPTH_MSG " (the file was left unchanged)", fs->path,
             (size_t)AG_JSON_DEPTH_DEFAULT);
        return AG_EPARSE;
    }
    if (!fs->doc) {
        size_t line = 1, col = 1, chr;
        if (!yyjson_locate_pos(fs->text.data, fs->text.len, err.pos, &line, &col, &chr)) {
            line = 1;
            col = err.pos + 1;
        }
        fail(c, "%s:%zu:%zu: invalid JSON: %s (the file was left unchanged)", fs->path, line, col,
             err.msg);
        return AG_EPARSE;
    }
    return 0;
}

/* The root of the document to read: the parsed file, or the fresh defaults. The returned doc
 * (when fresh) is stored in *tmp and must be freed. */
static yyjson_val *file_root(struct file_state *fs, yyjson_doc **tmp)
{
    *tmp = NULL;
    if (fs->doc)
        return yyjson_doc_get_root(fs->doc);
    *tmp = yyjson_mut_doc_imut_copy(fs->fresh, NULL);
    return yyjson_doc_get_root(*tmp);
}

/* When the file has no auth.api_key, generates one and stores it in the file, so the key stays
 * stable across starts (the one case where load writes to an existing file). */
static int ensure_api_key(struct ctx *c, struct file_state *fs, struct ag_config *cfg)
{
    if (!fs->doc || lookup(yyjson_doc_get_root(fs->doc), "auth.api_key"))
        return 0;
    char key[40];
    int rc = new_api_key(c, key, sizeof(key));
    if (rc)
        return rc;
    yyjson_mut_doc *md = yyjson_doc_mut_copy(fs->doc, NULL);
    mut_put(md, yyjson_mut_doc_get_root(md), "auth.api_key", yyjson_mut_strcpy(md, key));
    rc = save_doc(c, md, fs->path);
    yyjson_mut_doc_free(md);
    if (rc)
        return rc;
    ag_log_info("%s: auth.api_key was missing; generated a new key and saved it", fs->path);
    free(cfg->auth.api_key);
    cfg->auth.api_key = ag_strdup(key);
    return 0;
}

int ag_config_load(const struct ag_config_source *src, struct ag_config **out,
                   struct ag_buf *errmsg)
{
    struct ctx c = {errmsg, src ? src->warnings : NULL};
    struct file_state fs;
    struct ag_config *cfg = NULL;
    yyjson_doc *tmp = NULL;
    *out = NULL;
    int rc = file_open(&c, src, &fs);
    if (rc)
        goto out;
    cfg = config_defaults();
    rc = apply_doc(&c, cfg, file_root(&fs, &tmp), fs.path);
    if (rc)
        goto out;
    if (fs.fresh) {
        if ((rc = save_doc(&c, fs.fresh, fs.path)) != 0)
            goto out;
        ag_log_info("created %s with default settings and a new API key", fs.path);
    } else if ((rc = ensure_api_key(&c, &fs, cfg)) != 0) {
        goto out;
    }
    if ((rc = apply_env(&c, cfg, src)) != 0 || (rc = apply_overrides(&c, cfg, src)) != 0)
        goto out;
    free(cfg->data_dir);
    free(cfg->path);
    cfg->data_dir = fs.dir;
    cfg->path = fs.path;
    fs.dir = fs.path = NULL;
    *out = cfg;
    cfg = NULL;
out:
    yyjson_doc_free(tmp);
    file_state_dispose(&fs);
    ag_config_unref(cfg);
    return rc;
}

int ag_config_from_json(const char *text, size_t len, struct ag_config **out, struct ag_buf *errmsg)
{
    struct ctx c = {errmsg, NULL};
    *out = NULL;
    struct ag_config *cfg = config_defaults();
    if (text) {
        yyjson_read_err err;
        int jerr;
        yyjson_doc *d = ag_json_depth_read(text, len, AG_JSON_DEPTH_DEFAULT, NULL, &err, &jerr);
        if (jerr == AG_EDEPTH) {
            fail(&c, "configuration: invalid JSON: " AG_JSON_DEPTH_MSG,
                 (size_t)AG_JSON_DEPTH_DEFAULT);
            ag_config_unref(cfg);
            return AG_EPARSE;
        }
        if (!d) {
            size_t line = 1, col = 1, chr;
            yyjson_locate_pos(text, len, err.pos, &line, &col, &chr);
            fail(&c, "configuration:%zu:%zu: invalid JSON: %s", line, col, err.msg);
            ag_config_unref(cfg);
            return AG_EPARSE;
        }
        int rc = apply_doc(&c, cfg, yyjson_doc_get_root(d), "configuration");
        yyjson_doc_free(d);
        if (rc) {
            ag_config_unref(cfg);
            return rc;
        }
    }
    *out = cfg;
    return 0;
}

int ag_config_check(const char *key, const char *value, const char *origin, struct ag_buf *errmsg)
{
    struct ctx c = {errmsg, NULL};
    const struct ag_config_key *k = ag_config_key_find(key);
    if (!origin)
        origin = "command line";
    if (!k) {
        fail(&c, "%s: unknown configuration key \"%s\" (aigate config show lists them)", origin,
             key ? key : "");
        return AG_ENOTFOUND;
    }
    struct ag_config scratch;
    memset(&scratch, 0, sizeof(scratch));
    int rc = apply_text(&c, &scratch, k, value ? value : "", origin);
    ag_config_field_dispose(k, &scratch);
    return rc;
}

int ag_config_set(const struct ag_config_source *src, const char *key, const char *value,
                  struct ag_buf *errmsg)
{
    struct ctx c = {errmsg, src ? src->warnings : NULL};
    struct file_state fs;
    struct ag_config *cfg = NULL;
    yyjson_doc *tmp = NULL, *check = NULL;
    yyjson_mut_doc *md = NULL;
    int rc = ag_config_check(key, value, "config set", errmsg);
    if (rc)
        return rc;
    const struct ag_config_key *k = ag_config_key_find(key);
    if ((rc = file_open(&c, src, &fs)) != 0)
        goto out;
    /* The file as it is must be valid: we do not write over something the user must fix. */
    cfg = config_defaults();
    if ((rc = apply_doc(&c, cfg, file_root(&fs, &tmp), fs.path)) != 0) {
        if (errmsg)
            ag_buf_append_c(errmsg, "; fix the file first (it was left unchanged)");
        goto out;
    }
    md = fs.doc ? yyjson_doc_mut_copy(fs.doc, NULL) : yyjson_mut_doc_mut_copy(fs.fresh, NULL);
    yyjson_mut_val *v = NULL;
    struct ag_buf why;
    ag_buf_init(&why, 1024);
    rc = ag_config_text_to_json(k, value, md, &v, &why);
    ag_buf_dispose(&why);
    if (rc)
        goto out; /* unreachable: ag_config_check accepted it */
    mut_put(md, yyjson_mut_doc_get_root(md), k->name, v);
    if (!lookup(yyjson_doc_get_root(fs.doc ? fs.doc : tmp), "auth.api_key")) {
        char gen[40];
        if ((rc = new_api_key(&c, gen, sizeof(gen))) != 0)
            goto out;
        mut_put(md, yyjson_mut_doc_get_root(md), "auth.api_key", yyjson_mut_strcpy(md, gen));
    }
    /* Validate the document exactly as the next load will see it. */
    check = yyjson_mut_doc_imut_copy(md, NULL);
    ag_config_unref(cfg);
    cfg = config_defaults();
    struct ctx quiet = {errmsg, NULL};
    if ((rc = apply_doc(&quiet, cfg, yyjson_doc_get_root(check), fs.path)) != 0)
        goto out;
    rc = save_doc(&c, md, fs.path);
out:
    yyjson_doc_free(check);
    yyjson_doc_free(tmp);
    yyjson_mut_doc_free(md);
    file_state_dispose(&fs);
    ag_config_unref(cfg);
    return rc;
}

/* ---- rendering ---- */

int ag_config_to_json(const struct ag_config *cfg, bool mask, bool pretty, struct ag_buf *out)
{
    yyjson_mut_doc *d = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *root = yyjson_mut_obj(d);
    yyjson_mut_doc_set_root(d, root);
    size_t n;
    const struct ag_config_key *keys = ag_config_keys(&n);
    for (size_t i = 0; i < n; i++)
        mut_put(d, root, keys[i].name, ag_config_field_to_json(&keys[i], cfg, d, mask));
    size_t len;
    char *text = yyjson_mut_write(d, pretty ? YYJSON_WRITE_PRETTY_TWO_SPACES : 0, &len);
    int rc = text ? ag_buf_append(out, text, len) : AG_EINVAL;
    if (rc == 0 && pretty)
        rc = ag_buf_append_c(out, "\n");
    free(text);
    yyjson_mut_doc_free(d);
    return rc;
}

int ag_config_get(const struct ag_config *cfg, const char *key, bool mask, struct ag_buf *out,
                  struct ag_buf *errmsg)
{
    struct ctx c = {errmsg, NULL};
    const struct ag_config_key *k = ag_config_key_find(key);
    if (!k) {
        fail(&c, "unknown configuration key \"%s\" (aigate config show lists them)",
             key ? key : "");
        return AG_ENOTFOUND;
    }
    yyjson_mut_doc *d = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *v = ag_config_field_to_json(k, cfg, d, mask);
    int rc;
    if (yyjson_mut_is_str(v)) {
        rc = ag_buf_append(out, yyjson_mut_get_str(v), yyjson_mut_get_len(v));
    } else {
        size_t len;
        char *text = yyjson_mut_val_write(v, 0, &len);
        rc = text ? ag_buf_append(out, text, len) : AG_EINVAL;
        free(text);
    }
    yyjson_mut_doc_free(d);
    return rc;
}
