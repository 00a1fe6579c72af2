/* config/routing.c: routing.rules parsed, checked, written back and freed (see routing.h). */
#include "config/routing.h"

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/mem.h"

static const char *const strategy_names[] = {"priority", "weighted", "least-busy"};
/* The account kinds of store/provider.h (a layer above this one); unit.route.rules checks that
 * each parses there. */
const char *const ag_routing_provider_names[] = {
    "google", "gemini", "anthropic", "openai", "openai-compatible", NULL};
static const char *const fallback_names[] = {"429", "5xx", "timeout", "context-length"};

static void rules_dispose(void *field)
{
    struct ag_config_routing_rules *r = field;
    for (size_t i = 0; i < r->n; i++) {
        struct ag_route_rule *rule = &r->v[i];
        for (size_t j = 0; j < rule->n; j++) {
            free(rule->targets[j].provider);
            free(rule->targets[j].account);
            free(rule->targets[j].model);
        }
        free(rule->targets);
        free(rule->pattern);
    }
    free(r->v);
    r->v = NULL;
    r->n = 0;
}

/* A non-empty string of at most 200 bytes without white space, copied; NULL otherwise. */
static char *word(yyjson_val *v)
{
    size_t n = yyjson_get_len(v);
    const char *s = yyjson_get_str(v);
    if (!yyjson_is_str(v) || n == 0 || n > 200)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= ' ')
            return NULL;
    return ag_str_dup(ag_str_make(s, n));
}

static int bad(struct ag_buf *why, size_t i, size_t j, const char *what)
{
    if (j == (size_t)-1)
        ag_buf_printf(why, "rules[%zu]: %s", i, what);
    else
        ag_buf_printf(why, "rules[%zu].targets[%zu]: %s", i, j, what);
    return AG_EINVAL;
}

static bool known_kind(const char *s)
{
    for (size_t i = 0; ag_routing_provider_names[i]; i++)
        if (strcmp(s, ag_routing_provider_names[i]) == 0)
            return true;
    return false;
}

static int int_in(yyjson_val *v, int64_t lo, int64_t hi, int64_t def, int64_t *out)
{
    if (!v) {
        *out = def;
        return 0;
    }
    if (!yyjson_is_int(v) || yyjson_get_sint(v) < lo || yyjson_get_sint(v) > hi)
        return AG_EINVAL;
    *out = yyjson_get_sint(v);
    return 0;
}

static int parse_target(yyjson_val *o, struct ag_route_target *t, size_t i, size_t j,
                        struct ag_buf *why)
{
    yyjson_val *p = yyjson_obj_get(o, "provider"), *a = yyjson_obj_get(o, "account");
    yyjson_val *m = yyjson_obj_get(o, "model");
    if (!yyjson_is_obj(o))
        return bad(why, i, j, "not an object");
    if (!p == !a)
        return bad(why, i, j, "give one of \"provider\" (a kind) and \"account\" (a label)");
    if (p && (!(t->provider = word(p)) || !known_kind(t->provider)))
        return bad(why, i, j,
                   "\"provider\" must be google, gemini, anthropic, openai or openai-compatible");
    if (a && !(t->account = word(a)))
        return bad(why, i, j, "\"account\" must be an account's label");
    if (m && !(t->model = word(m)))
        return bad(why, i, j, "\"model\" must be a model name");
    if (int_in(yyjson_obj_get(o, "weight"), 1, 1000, 1, &t->weight))
        return bad(why, i, j, "\"weight\" must be an integer from 1 to 1000");
    if (int_in(yyjson_obj_get(o, "context"), 0, 100000000, 0, &t->context))
        return bad(why, i, j, "\"context\" must be a token count (0 = unknown)");
    return 0;
}

static int parse_rule(yyjson_val *o, struct ag_route_rule *r, size_t i, struct ag_buf *why)
{
    yyjson_val *targets = yyjson_obj_get(o, "targets"), *s = yyjson_obj_get(o, "strategy");
    yyjson_val *fb = yyjson_obj_get(o, "fallback_on"), *x;
    size_t k, max;
    if (!yyjson_is_obj(o))
        return bad(why, i, (size_t)-1, "not an object");
    if (!(r->pattern = word(yyjson_obj_get(o, "pattern"))))
        return bad(why, i, (size_t)-1, "\"pattern\" must be a model name or pattern with *");
    if (s) {
        bool known = false;
        for (int q = 0; q < 3 && !known; q++)
            if (yyjson_is_str(s) && strcmp(yyjson_get_str(s), strategy_names[q]) == 0) {
                r->strategy = (enum ag_route_strategy)q;
                known = true;
            }
        if (!known)
            return bad(why, i, (size_t)-1,
                       "\"strategy\" must be \"priority\", \"weighted\" or \"least-busy\"");
    }
    r->fallback_on = AG_FALLBACK_ALL;
    if (fb) {
        if (!yyjson_is_arr(fb))
            return bad(why, i, (size_t)-1, "\"fallback_on\" must be an array");
        r->fallback_on = 0;
        yyjson_arr_foreach(fb, k, max, x)
        {
            unsigned bit = 0;
            for (unsigned q = 0; q < 4; q++)
                if (yyjson_is_str(x) && strcmp(yyjson_get_str(x), fallback_names[q]) == 0)
                    bit = 1u << q;
            if (!bit)
                return bad(why, i, (size_t)-1,
                           "\"fallback_on\" items are \"429\", \"5xx\", \"timeout\" and "
                           "\"context-length\"");
            r->fallback_on |= bit;
        }
    }
    if (!yyjson_is_arr(targets) || yyjson_arr_size(targets) == 0 ||
        yyjson_arr_size(targets) > AG_ROUTING_MAX_TARGETS)
        return bad(why, i, (size_t)-1, "\"targets\" must be an array of 1 to 16 targets");
    r->targets = ag_calloc(yyjson_arr_size(targets), sizeof(*r->targets));
    yyjson_arr_foreach(targets, k, max, x)
    {
        int rc = parse_target(x, &r->targets[r->n++], i, k, why);
        if (rc)
            return rc;
    }
    return 0;
}

static int rules_parse(yyjson_val *v, void *field, struct ag_buf *why)
{
    struct ag_config_routing_rules *r = field;
    size_t i, max;
    yyjson_val *o;
    if (!yyjson_is_arr(v) || yyjson_arr_size(v) > AG_ROUTING_MAX_RULES) {
        ag_buf_append_c(why, "not an array of at most 64 rules");
        return AG_EINVAL;
    }
    r->v = ag_calloc(yyjson_arr_size(v) ? yyjson_arr_size(v) : 1, sizeof(*r->v));
    yyjson_arr_foreach(v, i, max, o)
    {
        int rc = parse_rule(o, &r->v[r->n++], i, why);
        if (rc) {
            rules_dispose(r);
            return rc;
        }
    }
    return 0;
}

static yyjson_mut_val *rules_emit(yyjson_mut_doc *d, const void *field, bool mask)
{
    const struct ag_config_routing_rules *r = field;
    yyjson_mut_val *arr = yyjson_mut_arr(d);
    (void)mask; /* no secrets: accounts are named by label */
    for (size_t i = 0; i < r->n; i++) {
        const struct ag_route_rule *rule = &r->v[i];
        yyjson_mut_val *o = yyjson_mut_arr_add_obj(d, arr);
        yyjson_mut_obj_add_strcpy(d, o, "pattern", rule->pattern);
        yyjson_mut_obj_add_str(d, o, "strategy", strategy_names[rule->strategy]);
        yyjson_mut_val *fb = yyjson_mut_obj_add_arr(d, o, "fallback_on");
        for (unsigned q = 0; q < 4; q++)
            if (rule->fallback_on & (1u << q))
                yyjson_mut_arr_add_str(d, fb, fallback_names[q]);
        yyjson_mut_val *ts = yyjson_mut_obj_add_arr(d, o, "targets");
        for (size_t j = 0; j < rule->n; j++) {
            const struct ag_route_target *t = &rule->targets[j];
            yyjson_mut_val *x = yyjson_mut_arr_add_obj(d, ts);
            if (t->provider)
                yyjson_mut_obj_add_strcpy(d, x, "provider", t->provider);
            if (t->account)
                yyjson_mut_obj_add_strcpy(d, x, "account", t->account);
            if (t->model)
                yyjson_mut_obj_add_strcpy(d, x, "model", t->model);
            yyjson_mut_obj_add_int(d, x, "weight", t->weight);
            yyjson_mut_obj_add_int(d, x, "context", t->context);
        }
    }
    return arr;
}

const struct ag_config_json_ops ag_config_routing_ops = {
    .allowed =
        "an array of {\"pattern\", \"strategy\", \"fallback_on\", \"targets\": [{\"provider\" "
        "or \"account\", \"model\", \"weight\", \"context\"}]}",
    .parse = rules_parse,
    .emit = rules_emit,
    .dispose = rules_dispose,
};
