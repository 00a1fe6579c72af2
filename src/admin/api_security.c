/* admin/api_security.c: the client address rules in the admin API — GET /api/security/ip: the
 * rules in force (security.ip_allow, security.ip_deny) and the addresses refused lately, most
 * recent first, with their counts (http/iprules.h). The rules themselves are configuration: set
 * through /api/config or config.json. */
#include "admin/admin_internal.h"
#include "config/config.h"
#include "http/iprules.h"

void ag_admin_set_ip_refusals(struct ag_admin *a, const struct ag_ip_refusals *log)
{
    a->ip_refusals = log;
}

static void write_list(struct ag_buf *b, const char *k, const struct ag_config_strlist *l)
{
    ag_jsonw_open(b, k, '[');
    for (size_t i = 0; i < l->n; i++)
        ag_jsonw_str(b, NULL, l->v[i]);
    ag_jsonw_close(b, ']');
}

static void h_get(struct ag_http_req *req, void *ud)
{
    struct ag_admin *a = adm_of(ud);
    struct ag_buf b;
    static struct ag_ip_refusal r[AG_IP_REFUSALS_MAX]; /* loop thread only */
    size_t n = ag_ip_refusals_list(a->ip_refusals, r, AG_IP_REFUSALS_MAX);
    ag_buf_init(&b, AG_BUF_CAP_DOC);
    ag_jsonw_open(&b, NULL, '{');
    write_list(&b, "allow", &a->cfg->security.ip_allow);
    write_list(&b, "deny", &a->cfg->security.ip_deny);
    ag_jsonw_int(&b, "refused_total", (int64_t)ag_ip_refusals_total(a->ip_refusals));
    ag_jsonw_open(&b, "refused", '[');
    for (size_t i = 0; i < n; i++) {
        ag_jsonw_open(&b, NULL, '{');
        ag_jsonw_str(&b, "address", r[i].addr);
        ag_jsonw_int(&b, "count", (int64_t)r[i].count);
        ag_jsonw_int(&b, "first_ms", r[i].first_ms);
        ag_jsonw_int(&b, "last_ms", r[i].last_ms);
        ag_jsonw_close(&b, '}');
    }
    ag_jsonw_close(&b, ']');
    ag_jsonw_close(&b, '}');
    adm_json(req, 200, &b);
    ag_buf_dispose(&b);
}

const struct adm_route_def adm_security_routes[] = {
    {"GET", "/api/security/ip", h_get, false},
    {NULL, NULL, NULL, false},
};
