/* admin/api_clients.c: the coding clients' own configuration (clients/clients.h) from the UI, for
 * the user the gateway runs as (its HOME):
 *   GET  /api/clients                      which clients point here (as `aigate clients status`)
 *   POST /api/clients/{name}/preview       {"key"?, "model"?} → the change as a diff, nothing
 * written POST /api/clients/{name}/apply         {"key"?, "model"?} → written, with a backup POST
 * /api/clients/{name}/restore       → the newest backup put back The base URL is
 * http://127.0.0.1:<server.port>, the key auth.api_key unless "key" is given. A client file that
 * does not parse answers 422 and stays untouched. The file work runs on a worker thread. */
#include "admin/admin_internal.h"
#include "clients/clients.h"
#include "config/config.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/str.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum op { OP_STATUS, OP_PREVIEW, OP_APPLY, OP_RESTORE };

struct clients_job {
    enum op op;
    long client;
    char url[64];
    char *key, *model;
};

static void job_free(void *p)
{
    struct clients_job *c = p;
    if (!c)
        return;
    free(c->key);
    free(c->model);
    free(c);
}

/* An error answer of the job: {"error":{"message","type"}} with status. */
static int job_error(struct adm_job *j, int status, const char *type, const char *msg)
{
    ag_buf_reset(&j->out);
    j->status = status;
    ag_jsonw_open(&j->out, NULL, '{');
    ag_jsonw_open(&j->out, "error", '{');
    ag_jsonw_str(&j->out, "message", msg);
    ag_jsonw_str(&j->out, "type", type);
    ag_jsonw_close(&j->out, '}');
    ag_jsonw_close(&j->out, '}');
    return 0;
}

static int files_json(struct ag_buf *b, const struct ag_clients_plan *plan)
{
    int rc = ag_jsonw_open(b, "files", '[');
    for (size_t i = 0; i < plan->nfiles && !rc; i++) {
        const struct ag_clients_file *f = &plan->files[i];
        rc = ag_jsonw_open(b, NULL, '{');
        rc = rc ? rc : ag_jsonw_str(b, "path", f->path);
        rc = rc ? rc : ag_jsonw_bool(b, "exists", f->exists);
        rc = rc ? rc : ag_jsonw_bool(b, "changed", f->changed);
        rc = rc ? rc : ag_jsonw_bool(b, "secret", f->secret);
        rc = rc ? rc : ag_jsonw_close(b, '}');
    }
    return rc ? rc : ag_jsonw_close(b, ']');
}

static int clients_work(struct ag_store *db, struct adm_job *j)
{
    (void)db;
    struct clients_job *c = j->arg;
    struct ag_clients_env env;
    struct ag_clients_target t = {c->url, c->key, c->model};
    char err[1024] = "";
    if (ag_clients_env_from_process(&env))
        return job_error(j, 503, "unavailable", "HOME is not set for the gateway's process");
    if (c->op == OP_STATUS)
        return ag_clients_status_json(&env, &t, &j->out);
    const char *name = ag_clients_name((size_t)c->client);
    if (c->op == OP_RESTORE) {
        struct ag_buf report;
        ag_buf_init(&report, AG_BUF_CAP_SHORT);
        int rc = ag_clients_restore(&env, (size_t)c->client, &report, err, sizeof(err));
        if (!rc) {
            ag_jsonw_open(&j->out, NULL, '{');
            ag_jsonw_str(&j->out, "client", name);
            ag_jsonw_str(&j->out, "report", report.data ? report.data : "");
            ag_jsonw_close(&j->out, '}');
        }
        ag_buf_dispose(&report);
        if (rc == AG_ENOTFOUND)
            return job_error(j, 404, "not_found", err);
        return rc ? job_error(j, 500, "io_error", err) : 0;
    }
    struct ag_clients_plan plan;
    char stamp[32] = "";
    int rc = ag_clients_plan(&env, (size_t)c->client, &t, &plan, err, sizeof(err));
    if (rc == AG_EINVAL) {
        ag_clients_plan_dispose(&plan);
        return job_error(j, 400, "invalid_request", err);
    }
    if (rc) {
        ag_clients_plan_dispose(&plan);
        return job_error(j, rc == AG_EPARSE ? 422 : 500,
                         rc == AG_EPARSE ? "unparseable_config" : "io_error", err);
    }
    bool changes = ag_clients_plan_changes(&plan);
    struct ag_buf diff;
    ag_buf_init(&diff, 4 * AG_CLIENTS_FILE_CAP);
    ag_clients_plan_diff(&plan, c->key, &diff);
    if (c->op == OP_APPLY) /* also without changes: the set-up record is written */
        rc = ag_clients_apply(&plan, time(NULL), stamp, err, sizeof(err));
    if (rc) {
        job_error(j, rc == AG_ESTATE ? 409 : 500, rc == AG_ESTATE ? "conflict" : "io_error", err);
    } else {
        ag_jsonw_open(&j->out, NULL, '{');
        ag_jsonw_str(&j->out, "client", name);
        ag_jsonw_str(&j->out, "title", ag_clients_title((size_t)c->client));
        ag_jsonw_str(&j->out, "base_url", c->url);
        ag_jsonw_bool(&j->out, "changes", changes);
        if (c->op == OP_APPLY)
            ag_jsonw_str(&j->out, "backup", stamp);
        ag_jsonw_str(&j->out, "diff", diff.data ? diff.data : "");
        files_json(&j->out, &plan);
        ag_jsonw_close(&j->out, '}');
    }
    ag_buf_dispose(&diff);
    ag_clients_plan_dispose(&plan);
    return 0;
}

static void start(struct ag_http_req *req, void *ud, enum op op)
{
    struct ag_admin *a = adm_of(ud);
    const char *key = NULL, *model = NULL;
    long client = -1;
    if (op != OP_STATUS) {
        const char *name = adm_param(req, 0);
        client = ag_clients_find(name);
        if (client < 0) {
            adm_error(req, 404, "not_found", "name",
                      "no client \"%s\" (claude-code, codex, gemini-cli, opencode)", name);
            return;
        }
    }
    if (op == OP_PREVIEW || op == OP_APPLY) {
        yyjson_val *body = adm_body(req, true);
        if (!body || !adm_get_str(req, body, "key", false, &key) ||
            !adm_get_str(req, body, "model", false, &model))
            return;
    }
    struct clients_job *c = AG_NEW(struct clients_job);
    c->op = op;
    c->client = client;
    snprintf(c->url, sizeof(c->url), "http://127.0.0.1:%lld", (long long)a->cfg->server.port);
    c->key = ag_strdup(key && *key ? key : a->cfg->auth.api_key);
    c->model = model && *model ? ag_strdup(model) : NULL;
    struct adm_job *j = adm_job_new(a, req, clients_work, NULL);
    j->arg = c;
    j->free_arg = job_free;
    adm_job_start(j);
}

static void h_status(struct ag_http_req *req, void *ud)
{
    start(req, ud, OP_STATUS);
}

static void h_preview(struct ag_http_req *req, void *ud)
{
    start(req, ud, OP_PREVIEW);
}

static void h_apply(struct ag_http_req *req, void *ud)
{
    start(req, ud, OP_APPLY);
}

static void h_restore(struct ag_http_req *req, void *ud)
{
    start(req, ud, OP_RESTORE);
}

const struct adm_route_def adm_clients_routes[] = {
    {"GET", "/api/clients", h_status, false},
    {"POST", "/api/clients/:name/preview", h_preview, false},
    {"POST", "/api/clients/:name/apply", h_apply, false},
    {"POST", "/api/clients/:name/restore", h_restore, false},
    {NULL, NULL, NULL, false},
};
