/* proto/canon.c: helpers of the canonical representation: request defaults and fingerprint,
 * model families, error filling, and the answer collector used for non-stream clients. */
#include "proto/canon.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/hex.h"

void ag_request_init(struct ag_request *req)
{
    memset(req, 0, sizeof(*req));
    req->gen.max_tokens = -1;
    req->gen.top_k = -1;
    req->gen.n = -1;
    req->thinking.budget = -1;
}

struct ag_str ag_request_call_name(const struct ag_request *req, struct ag_str id)
{
    for (size_t i = req->n_messages; i-- > 0;) {
        const struct ag_message *m = &req->messages[i];
        for (size_t j = 0; j < m->n_parts; j++)
            if (m->parts[j].type == AG_PART_TOOL_CALL && ag_str_eq(m->parts[j].id, id))
                return m->parts[j].name;
    }
    return AG_STR_NULL;
}

const char *ag_model_family(struct ag_str model)
{
    if (ag_str_contains_ci(model, "claude"))
        return "claude";
    if (ag_str_contains_ci(model, "gemini"))
        return "gemini";
    if (ag_str_has_prefix_ci(model, "gpt") ||
        (model.len > 1 && (model.p[0] == 'o' || model.p[0] == 'O') && model.p[1] >= '0' &&
         model.p[1] <= '9'))
        return "gpt";
    return "other";
}

int ag_request_fingerprint(struct ag_arena *arena, struct ag_request *req)
{
    req->session_key = AG_STR_NULL;
    for (size_t i = 0; i < req->n_messages; i++) {
        const struct ag_message *m = &req->messages[i];
        if (m->role != AG_ROLE_USER)
            continue;
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        unsigned char digest[EVP_MAX_MD_SIZE];
        unsigned int dlen = 0;
        size_t total = 0;
        if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
            EVP_MD_CTX_free(md);
            return AG_ENOMEM;
        }
        for (size_t j = 0; j < m->n_parts; j++) {
            if (m->parts[j].type != AG_PART_TEXT)
                continue;
            if (total)
                EVP_DigestUpdate(md, " ", 1);
            EVP_DigestUpdate(md, m->parts[j].text.p, m->parts[j].text.len);
            total += m->parts[j].text.len + (total ? 1 : 0);
        }
        EVP_DigestFinal_ex(md, digest, &dlen);
        EVP_MD_CTX_free(md);
        if (total <= 10)
            return 0;
        return ag_request_set_session_key(arena, req, "sid-", digest);
    }
    return 0;
}

int ag_request_set_session_key(struct ag_arena *arena, struct ag_request *req, const char *prefix,
                               const unsigned char *digest)
{
    char *out = ag_arena_alloc(arena, 4 + 16 + 1);
    if (!out)
        return AG_ETOOBIG;
    memcpy(out, prefix, 4);
    ag_hex_encode(out + 4, digest, 8);
    req->session_key = ag_str_make(out, 20);
    return 0;
}

void ag_proto_error_set(struct ag_proto_error *e, struct ag_arena *arena, int status,
                        enum ag_error_kind kind, const char *param, const char *code,
                        const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0)
        tmp[0] = '\0';
    e->status = status;
    e->kind = kind;
    e->param = param ? ag_str_c(ag_arena_strndup(arena, param, strlen(param))) : AG_STR_NULL;
    e->code = code ? ag_str_c(code) : AG_STR_NULL;
    char *m = ag_arena_strndup(arena, tmp, strlen(tmp));
    e->message = m ? ag_str_c(m) : AG_STR("request too large");
}

/* ---- answer collector ---- */

void ag_answer_init(struct ag_answer *a, struct ag_arena *arena)
{
    memset(a, 0, sizeof(*a));
    a->_arena = arena;
}

static struct ag_part *push_part(struct ag_answer *a, struct ag_choice *c, enum ag_part_type t)
{
    if (c->n_parts == c->_cap) {
        size_t ncap = c->_cap ? c->_cap * 2 : 4;
        struct ag_part *np = ag_arena_alloc(a->_arena, ncap * sizeof(*np));
        if (!np)
            return NULL;
        if (c->n_parts)
            memcpy(np, c->parts, c->n_parts * sizeof(*np));
        c->parts = np;
        c->_cap = ncap;
    }
    struct ag_part *p = &c->parts[c->n_parts++];
    memset(p, 0, sizeof(*p));
    p->type = t;
    return p;
}

/* Appends s to *dst, which was built by this function (arena copies, doubling). */
static int append_str(struct ag_arena *arena, struct ag_str *dst, size_t *cap, struct ag_str s)
{
    if (!s.len)
        return 0;
    if (dst->len + s.len + 1 > *cap) {
        size_t ncap = (*cap ? *cap : 64);
        while (ncap < dst->len + s.len + 1)
            ncap *= 2;
        char *n = ag_arena_alloc(arena, ncap);
        if (!n)
            return AG_ETOOBIG;
        if (dst->len)
            memcpy(n, dst->p, dst->len);
        dst->p = n;
        *cap = ncap;
    }
    memcpy((char *)dst->p + dst->len, s.p, s.len);
    dst->len += s.len;
    ((char *)dst->p)[dst->len] = '\0';
    return 0;
}

static int copy_sig(struct ag_arena *arena, struct ag_signature *dst, struct ag_signature src)
{
    if (!src.value.len)
        return 0;
    dst->value = ag_arena_str(arena, src.value);
    dst->family = ag_arena_str(arena, src.family);
    return dst->value.p ? 0 : AG_ETOOBIG;
}

#define PART_CAP(p) ((p)->_cap)

static struct ag_part *find_tool(struct ag_choice *c, int tool_index)
{
    int k = 0;
    for (size_t i = 0; i < c->n_parts; i++) {
        if (c->parts[i].type != AG_PART_TOOL_CALL)
            continue;
        if (k++ == tool_index)
            return &c->parts[i];
    }
    return NULL;
}

int ag_answer_add(struct ag_answer *a, const struct ag_event *ev)
{
    struct ag_arena *arena = a->_arena;
    if (ev->choice < 0 || ev->choice >= AG_MAX_CHOICES)
        return 0;
    struct ag_choice *c = &a->choices[ev->choice];
    if (ev->type != AG_EV_START && ev->type != AG_EV_USAGE && ev->type != AG_EV_ERROR &&
        ev->choice + 1 > a->n_choices)
        a->n_choices = ev->choice + 1;
    struct ag_part *last = c->n_parts ? &c->parts[c->n_parts - 1] : NULL;
    struct ag_part *p;

    switch (ev->type) {
    case AG_EV_START:
        if (ev->id.len && !a->id.len)
            a->id = ag_arena_str(arena, ev->id);
        if (ev->name.len && !a->model.len)
            a->model = ag_arena_str(arena, ev->name);
        return 0;
    case AG_EV_TEXT:
    case AG_EV_THINKING: {
        enum ag_part_type t = ev->type == AG_EV_TEXT ? AG_PART_TEXT : AG_PART_THINKING;
        /* A signed part closes the part it belongs to: later text starts a new part. */
        if (last && last->type == t && !last->sig.value.len)
            p = last;
        else if (!(p = push_part(a, c, t)))
            return AG_ETOOBIG;
        int rc = append_str(arena, &p->text, &PART_CAP(p), ev->text);
        if (rc == 0)
            rc = copy_sig(arena, &p->sig, ev->sig);
        return rc;
    }
    case AG_EV_SIGNATURE:
        if (last && (last->type == AG_PART_TEXT || last->type == AG_PART_THINKING) &&
            !last->sig.value.len)
            return copy_sig(arena, &last->sig, ev->sig);
        if (!(p = push_part(a, c, AG_PART_THINKING)))
            return AG_ETOOBIG;
        return copy_sig(arena, &p->sig, ev->sig);
    case AG_EV_MEDIA:
        if (!(p = push_part(a, c, AG_PART_MEDIA)))
            return AG_ETOOBIG;
        p->mime = ag_arena_str(arena, ev->mime);
        p->data = ag_arena_str(arena, ev->text);
        return 0;
    case AG_EV_TOOL_START:
        if (!(p = push_part(a, c, AG_PART_TOOL_CALL)))
            return AG_ETOOBIG;
        p->id = ag_arena_str(arena, ev->id);
        p->name = ag_arena_str(arena, ev->name);
        return copy_sig(arena, &p->sig, ev->sig);
    case AG_EV_TOOL_ARGS:
        p = find_tool(c, ev->tool_index);
        if (!p)
            return 0;
        return append_str(arena, &p->args, &PART_CAP(p), ev->text);
    case AG_EV_TOOL_END:
        p = find_tool(c, ev->tool_index);
        if (p && !p->args.len)
            p->args = AG_STR("{}");
        return 0;
    case AG_EV_USAGE:
        a->usage = ev->usage;
        a->has_usage = true;
        return 0;
    case AG_EV_FINISH:
        c->finish = ev->finish;
        c->raw_finish = ag_arena_str(arena, ev->raw);
        return 0;
    case AG_EV_ERROR:
        a->failed = true;
        a->error = ev->error;
        a->error.message = ag_arena_str(arena, ev->error.message);
        a->error.param = ag_arena_str(arena, ev->error.param);
        a->error.code = ag_arena_str(arena, ev->error.code);
        return 0;
    }
    return 0;
}

int ag_answer_cb(void *ud, const struct ag_event *ev)
{
    return ag_answer_add(ud, ev);
}

struct ag_str ag_choice_text(struct ag_arena *arena, const struct ag_choice *c, enum ag_part_type t)
{
    struct ag_str s = AG_STR_NULL;
    size_t cap = 0;
    for (size_t i = 0; i < c->n_parts; i++)
        if (c->parts[i].type == t && append_str(arena, &s, &cap, c->parts[i].text) != 0)
            return AG_STR_NULL;
    return s;
}

const char *ag_finish_name(enum ag_finish f)
{
    static const char *names[] = {"none",           "stop",          "length", "tool_calls",
                                  "content_filter", "stop_sequence", "error"};
    return (unsigned)f < sizeof(names) / sizeof(names[0]) ? names[f] : "?";
}

const char *ag_event_type_name(enum ag_event_type t)
{
    static const char *names[] = {"start", "text",       "thinking",  "signature",
                                  "media", "tool_start", "tool_args", "tool_end",
                                  "usage", "finish",     "error"};
    return (unsigned)t < sizeof(names) / sizeof(names[0]) ? names[t] : "?";
}

int ag_event_upstream_failed(ag_event_cb cb, void *ud, struct ag_str message, bool *failed)
{
    struct ag_event ev = {.type = AG_EV_ERROR};
    ev.error.status = 502;
    ev.error.kind = AG_PERR_UPSTREAM;
    ev.error.message = message;
    *failed = true;
    return cb(ud, &ev);
}
