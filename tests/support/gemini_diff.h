/* tests/support/gemini_diff.h: one Gemini response event through both readers, the one-pass
 * reader (proto/gemini_scan.h) and the yyjson reader it stands in for (a document read with the
 * nesting limit, the Cloud Code envelope unwrapped as cloudcode.c does or a one-element array as
 * gemini_api.c does, then ag_gemini_dec_response), with their events recorded and compared field
 * by field, and the decoders' states after. Header-only, for the unit test and the fuzz harness. */
#ifndef AG_TEST_GEMINI_DIFF_H
#define AG_TEST_GEMINI_DIFF_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yyjson.h>

#include "core/err.h"
#include "proto/gemini_dec.h"
#include "proto/gemini_scan.h"
#include "proto/json.h"

#define GD_MAX_EVENTS 64

/* A string of a recorded event: its bytes (copied) and whether it was AG_STR_NULL. */
struct gd_str {
    char *p;
    size_t len;
    bool null;
};

struct gd_event {
    struct ag_event ev; /* its slices are not kept: see the gd_str copies */
    struct gd_str text, sig, family, id, name, mime, raw, param, message, code;
};

/* What one reader sent: the events, and the callback's answer from event stop_at on (0 = never
 * stops). */
struct gd_log {
    struct gd_event e[GD_MAX_EVENTS];
    size_t n;
    bool overflow;
    size_t stop_at;
    int stop_rc;
};

static inline void gd_str_keep(struct gd_str *d, struct ag_str s)
{
    d->null = s.p == NULL;
    d->len = s.len;
    d->p = malloc(s.len + 1);
    if (!d->p)
        abort();
    if (s.len)
        memcpy(d->p, s.p, s.len);
    d->p[s.len] = '\0';
}

static inline int gd_record(void *ud, const struct ag_event *ev)
{
    struct gd_log *log = ud;
    if (log->n == GD_MAX_EVENTS) {
        log->overflow = true;
        return 0;
    }
    struct gd_event *g = &log->e[log->n++];
    g->ev = *ev;
    gd_str_keep(&g->text, ev->text);
    gd_str_keep(&g->sig, ev->sig.value);
    gd_str_keep(&g->family, ev->sig.family);
    gd_str_keep(&g->id, ev->id);
    gd_str_keep(&g->name, ev->name);
    gd_str_keep(&g->mime, ev->mime);
    gd_str_keep(&g->raw, ev->raw);
    gd_str_keep(&g->param, ev->error.param);
    gd_str_keep(&g->message, ev->error.message);
    gd_str_keep(&g->code, ev->error.code);
    return log->stop_at && log->n >= log->stop_at ? log->stop_rc : 0;
}

static inline void gd_log_reset(struct gd_log *log)
{
    for (size_t i = 0; i < log->n; i++) {
        struct gd_event *g = &log->e[i];
        struct gd_str *all[] = {&g->text, &g->sig, &g->family, &g->id,      &g->name,
                                &g->mime, &g->raw, &g->param,  &g->message, &g->code};
        for (size_t k = 0; k < sizeof(all) / sizeof(all[0]); k++)
            free(all[k]->p);
    }
    log->n = 0;
    log->overflow = false;
}

/* The yyjson reader, as the adapters run it. Returns what ag_gemini_dec_response returned, or
 * AG_EPARSE / AG_EDEPTH (and no event) when the text is not JSON or too deep. */
static inline int gd_slow(struct ag_gemini_dec *st, struct ag_str text, size_t max_depth,
                          bool envelope, ag_event_cb cb, void *ud)
{
    int jerr;
    yyjson_doc *doc = ag_json_event_read(text, ag_json_depth_limit(max_depth), &jerr);
    if (!doc)
        return jerr;
    yyjson_val *root = yyjson_doc_get_root(doc), *resp = root;
    if (envelope) {
        resp = yyjson_obj_get(root, "response");
        if (!yyjson_is_obj(resp))
            resp = root;
    } else if (yyjson_is_arr(root)) {
        resp = yyjson_arr_get_first(root);
    }
    int rc = ag_gemini_dec_response(st, resp, cb, ud);
    ag_json_event_free(doc);
    return rc;
}

static inline bool gd_str_eq(const struct gd_str *a, const struct gd_str *b)
{
    return a->null == b->null && a->len == b->len && memcmp(a->p, b->p, a->len) == 0;
}

/* NULL when the two logs hold the same events; else what differs first (into why). */
static inline const char *gd_compare(const struct gd_log *a, const struct gd_log *b, char *why,
                                     size_t cap)
{
    if (a->n != b->n || a->overflow != b->overflow) {
        snprintf(why, cap, "%zu events against %zu", a->n, b->n);
        return why;
    }
    for (size_t i = 0; i < a->n; i++) {
        const struct gd_event *x = &a->e[i], *y = &b->e[i];
        const struct ag_event *u = &x->ev, *v = &y->ev;
        const char *f = NULL;
        if (u->type != v->type || u->choice != v->choice || u->tool_index != v->tool_index)
            f = "type, choice or tool index";
        else if (memcmp(&u->usage, &v->usage, sizeof(u->usage)) || u->finish != v->finish)
            f = "usage or finish";
        else if (u->error.status != v->error.status || u->error.kind != v->error.kind)
            f = "error status or kind";
        else if (!gd_str_eq(&x->text, &y->text) || !gd_str_eq(&x->sig, &y->sig) ||
                 !gd_str_eq(&x->family, &y->family))
            f = "text or signature";
        else if (!gd_str_eq(&x->id, &y->id) || !gd_str_eq(&x->name, &y->name) ||
                 !gd_str_eq(&x->mime, &y->mime) || !gd_str_eq(&x->raw, &y->raw))
            f = "id, name, mime or raw";
        else if (!gd_str_eq(&x->param, &y->param) || !gd_str_eq(&x->message, &y->message) ||
                 !gd_str_eq(&x->code, &y->code))
            f = "error strings";
        if (f) {
            snprintf(why, cap, "event %zu (%s): %s differs ('%.*s' against '%.*s')", i,
                     ag_event_type_name(u->type), f, (int)x->text.len, x->text.p, (int)y->text.len,
                     y->text.p);
            return why;
        }
    }
    return NULL;
}

/* NULL when the two decoders are in the same state. */
static inline const char *gd_state_compare(const struct ag_gemini_dec *a,
                                           const struct ag_gemini_dec *b)
{
    if (a->started != b->started || a->failed != b->failed || a->tool_seq != b->tool_seq)
        return "started, failed or tool_seq";
    if (memcmp(a->n_tools, b->n_tools, sizeof(a->n_tools)) ||
        memcmp(a->used, b->used, sizeof(a->used)) ||
        memcmp(a->finished, b->finished, sizeof(a->finished)))
        return "n_tools, used or finished";
    return NULL;
}

#endif
