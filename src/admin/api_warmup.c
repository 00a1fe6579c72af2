/* admin/api_warmup.c: the warm-up (relay/warmup.h) — GET /api/warmup (schedule, next run, the
 * last run's results) and POST /api/warmup {"account"?: id or e-mail} (starts a run now; answers
 * 202 with the run id at once, the results then appear under GET /api/warmup). */
#include "admin/admin_internal.h"
#include "core/err.h"
#include "relay/warmup.h"

#include <string.h>

void ag_admin_set_warmup(struct ag_admin *a, struct ag_warmup *w)
{
    a->warmup = w;
}

static void h_status(struct ag_http_req *req, void *ud)
{
    struct ag_admin *a = adm_of(ud);
    struct ag_buf b;
    if (!a->warmup) {
        adm_error(req, 503, "unavailable", NULL, "the warm-up is not running");
        return;
    }
    ag_buf_init(&b, AG_BUF_CAP_DOC);
    ag_warmup_status_json(a->warmup, &b);
    adm_json(req, 200, &b);
    ag_buf_dispose(&b);
}

static void h_run(struct ag_http_req *req, void *ud)
{
    struct ag_admin *a = adm_of(ud);
    const char *account = NULL;
    uint64_t id = 0;
    yyjson_val *body = adm_body(req, true);
    if (!body || !adm_get_str(req, body, "account", false, &account))
        return;
    if (!a->warmup) {
        adm_error(req, 503, "unavailable", NULL, "the warm-up is not running");
        return;
    }
    int rc = ag_warmup_run(a->warmup, account, "manual", &id);
    if (rc == AG_ENOTFOUND) {
        adm_error(req, 404, "not_found", "account", "no account \"%s\"", account);
        return;
    }
    if (rc == AG_EEXIST) {
        adm_error(req, 409, "conflict", NULL, "a warm-up is running; try again when it is done");
        return;
    }
    if (rc) {
        adm_error_rc(req, rc, NULL);
        return;
    }
    struct ag_buf b;
    ag_buf_init(&b, AG_BUF_CAP_SHORT);
    ag_buf_printf(&b, "{\"started\":true,\"run\":%llu}", (unsigned long long)id);
    adm_json(req, 202, &b);
    ag_buf_dispose(&b);
}

const struct adm_route_def adm_warmup_routes[] = {
    {"GET", "/api/warmup", h_status, false},
    {"POST", "/api/warmup", h_run, false},
    {NULL, NULL, NULL, false},
};
