/* clients/clients.c: plan / apply / restore / status over the client table (clients/formats.c),
 * see clients.h: reading the files, backups with one stamp per set-up, atomic replacement, and
 * putting the newest backups back. */
#include "clients/clients_internal.h"

#include "core/err.h"
#include "core/file.h"
#include "core/jsonw.h"
#include "core/str.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool set(const char *s)
{
    return s && *s;
}

size_t ag_clients_count(void)
{
    return ag_clients_ntable;
}

const char *ag_clients_name(size_t i)
{
    return i < ag_clients_ntable ? ag_clients_table[i].name : NULL;
}

const char *ag_clients_title(size_t i)
{
    return i < ag_clients_ntable ? ag_clients_table[i].title : NULL;
}

long ag_clients_find(const char *name)
{
    for (size_t i = 0; name && i < ag_clients_ntable; i++) {
        if (!strcmp(ag_clients_table[i].name, name))
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
    env->xdg_state_home = getenv("XDG_STATE_HOME");
    return set(env->home) ? 0 : AG_EINVAL;
}

/* The path of file f of client c; a symbolic link is followed to the file it names, so that
 * the link (a dotfiles manager's) stays and its target is what changes. */
static int file_path(const struct ag_clients_env *env, const struct ag_clients_file_def *f,
                     char *out, size_t cap)
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
    if (client >= ag_clients_ntable) {
        snprintf(err, cap, "unknown client");
        return AG_EINVAL;
    }
    int rc = ag_clients_check_target(t, err, cap);
    if (rc)
        return rc;
    const struct ag_clients_def *c = &ag_clients_table[client];
    plan->client = client;
    plan->nfiles = c->nfiles;
    ag_strlcpy(plan->model, set(t->model) ? t->model : "", sizeof(plan->model));
    if (ag_clients_record_path(env, client, plan->record, sizeof(plan->record)))
        plan->record[0] = '\0';
    for (size_t i = 0; i < c->nfiles; i++) {
        struct ag_clients_file *f = &plan->files[i];
        ag_buf_init(&f->old_text, AG_CLIENTS_FILE_CAP);
        ag_buf_init(&f->new_text, 2 * AG_CLIENTS_FILE_CAP);
    }
    for (size_t i = 0; i < c->nfiles; i++) {
        struct ag_clients_file *f = &plan->files[i];
        const struct ag_clients_file_def *d = &c->files[i];
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
        struct ag_clients_edit ed = {t,
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
                     memcmp(f->old_text.data, f->new_text.data, f->new_text.len) != 0;
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

/* ---- the set-up record ---- */

int ag_clients_record_path(const struct ag_clients_env *env, size_t client, char *out, size_t cap)
{
    if (client >= ag_clients_ntable)
        return AG_EINVAL;
    int n = set(env->xdg_state_home)
                ? snprintf(out, cap, "%s/aigate/clients/%s.setup", env->xdg_state_home,
                           ag_clients_table[client].name)
                : snprintf(out, cap, "%s/.local/state/aigate/clients/%s.setup",
                           env->home ? env->home : "", ag_clients_table[client].name);
    return n < 0 || (size_t)n >= cap ? AG_ETOOBIG : 0;
}

int ag_clients_record_read(const char *path, int *version, char *model, size_t cap)
{
    struct ag_buf b;
    *version = 0;
    model[0] = '\0';
    ag_buf_init(&b, 4096);
    int rc = ag_file_read(path, 4096, &b);
    if (rc) {
        ag_buf_dispose(&b);
        return rc == AG_ENOTFOUND ? rc : AG_EIO;
    }
    rc = AG_EPARSE;
    struct ag_str rest = ag_str_make(b.data ? b.data : "", b.len);
    while (rest.len) {
        const char *nl = memchr(rest.p, '\n', rest.len);
        struct ag_str line = ag_str_make(rest.p, nl ? (size_t)(nl - rest.p) : rest.len);
        rest.p += line.len + (nl ? 1 : 0);
        rest.len -= line.len + (nl ? 1 : 0);
        if (ag_str_has_prefix(line, "version=")) {
            long v = 0;
            for (size_t i = 8; i < line.len && i < 16 && line.p[i] >= '0' && line.p[i] <= '9'; i++)
                v = v * 10 + (line.p[i] - '0');
            *version = (int)v;
            rc = 0;
        } else if (ag_str_has_prefix(line, "model=") && line.len - 6 < cap) {
            memcpy(model, line.p + 6, line.len - 6);
            model[line.len - 6] = '\0';
        }
    }
    ag_buf_dispose(&b);
    return rc;
}

/* Best effort: a set-up without its record still counts as one through its backups. */
static void record_write(const struct ag_clients_plan *plan)
{
    char dir[AG_CLIENTS_PATH_MAX], text[512];
    if (!plan->record[0] || parent_dir(plan->record, dir, sizeof(dir)) || ag_file_mkdirs(dir, 0700))
        return;
    int n = snprintf(text, sizeof(text), "version=%d\nmodel=%s\n", AG_CLIENTS_SETUP_VERSION,
                     plan->model);
    if (n > 0 && (size_t)n < sizeof(text))
        ag_file_write_atomic(plan->record, text, (size_t)n, 0600);
}

int ag_clients_apply(struct ag_clients_plan *plan, time_t now, char *stamp, char *err, size_t cap)
{
    char st[32], base[24];
    struct tm tm;
    if (stamp)
        stamp[0] = '\0';
    if (!ag_clients_plan_changes(plan)) {
        record_write(plan);
        return 0;
    }
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
    record_write(plan);
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
    /* One thread reads this directory stream: readdir is safe here (readdir_r is deprecated). */
    // cppcheck-suppress readdirCalled
    while ((e = readdir(d)) && seen++ < 100000) {
        const char *s = e->d_name;
        size_t sl = strlen(s);
        if (sl <= nl + tl + 4 || strncmp(s, name, nl) != 0 || strncmp(s + nl, BACKUP_TAG, tl) != 0)
            continue;
        if (strcmp(s + sl - 4, ".bak") != 0 && strcmp(s + sl - 4, ".new") != 0)
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

int ag_clients_backup_stamp(const struct ag_clients_env *env, size_t client, char *best, size_t cap)
{
    best[0] = '\0';
    if (client >= ag_clients_ntable)
        return AG_EINVAL;
    const struct ag_clients_def *c = &ag_clients_table[client];
    for (size_t i = 0; i < c->nfiles; i++) {
        char path[AG_CLIENTS_PATH_MAX];
        if (file_path(env, &c->files[i], path, sizeof(path)) || newest_stamp(path, best, cap))
            return AG_EIO;
    }
    return 0;
}

int ag_clients_restore(const struct ag_clients_env *env, size_t client, struct ag_buf *report,
                       char *err, size_t cap)
{
    char paths[AG_CLIENTS_MAX_FILES][AG_CLIENTS_PATH_MAX];
    char best[64] = "";
    if (client >= ag_clients_ntable) {
        snprintf(err, cap, "unknown client");
        return AG_EINVAL;
    }
    const struct ag_clients_def *c = &ag_clients_table[client];
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
    /* Back before the first set-up: the client is no longer set up through aigate. */
    char left[64], rec[AG_CLIENTS_PATH_MAX];
    if (!ag_clients_backup_stamp(env, client, left, sizeof(left)) && !left[0] &&
        !ag_clients_record_path(env, client, rec, sizeof(rec)))
        unlink(rec);
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
    if (client >= ag_clients_ntable)
        return AG_EINVAL;
    const struct ag_clients_def *c = &ag_clients_table[client];
    bool all_keys = true;
    for (size_t i = 0; i < c->nfiles; i++) {
        char path[AG_CLIENTS_PATH_MAX];
        struct ag_buf text;
        struct stat sst;
        struct ag_clients_found f = {"", ""};
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
    st->key_same = st->configured && all_keys;
    return 0;
}

int ag_clients_status_json(const struct ag_clients_env *env, const struct ag_clients_target *t,
                           struct ag_buf *out)
{
    int rc = ag_jsonw_open(out, NULL, '{');
    rc = rc ? rc : ag_jsonw_str(out, "base_url", t ? t->base_url : NULL);
    rc = rc ? rc : ag_jsonw_open(out, "clients", '[');
    for (size_t i = 0; i < ag_clients_ntable && !rc; i++) {
        struct ag_clients_state s;
        ag_clients_status(env, i, t, &s);
        rc = ag_jsonw_open(out, NULL, '{');
        rc = rc ? rc : ag_jsonw_str(out, "name", ag_clients_table[i].name);
        rc = rc ? rc : ag_jsonw_str(out, "title", ag_clients_table[i].title);
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
