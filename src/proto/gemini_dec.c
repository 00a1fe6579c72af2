/* proto/gemini_dec.c: Gemini response objects -> canonical events (see gemini_dec.h). */
#include "proto/gemini_dec.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "proto/gemini_body.h"
#include "proto/json.h"
#include "proto/toolid.h"

void ag_gemini_dec_init(struct ag_gemini_dec *st, struct ag_arena *arena, struct ag_str seed,
                        struct ag_str model)
{
    memset(st, 0, sizeof(*st));
    st->arena = arena;
    st->seed = seed;
    st->family = ag_str_c(ag_model_family(model));
}

/* The members of a part the decoder reads, each the first of its name (as yyjson_obj_get finds
 * it), found in one pass over the part: a stream's every event has one. */
enum part_key { PK_CALL, PK_INLINE, PK_CODE, PK_RESULT, PK_TEXT, PK_SIG, PK_SIG_SNAKE, PK_THOUGHT };
#define PK_N 8

struct part_keys {
    yyjson_val *v[PK_N];
};

static void part_keys_of(yyjson_val *part, struct part_keys *k)
{
    static const struct {
        const char *name;
        size_t len;
    } names[PK_N] = {
        [PK_CALL] = {"functionCall", 12},
        [PK_INLINE] = {"inlineData", 10},
        [PK_CODE] = {"executableCode", 14},
        [PK_RESULT] = {"codeExecutionResult", 19},
        [PK_TEXT] = {"text", 4},
        [PK_SIG] = {"thoughtSignature", 16},
        [PK_SIG_SNAKE] = {"thought_signature", 17},
        [PK_THOUGHT] = {"thought", 7},
    };
    size_t i, max;
    yyjson_val *key, *val;
    memset(k, 0, sizeof(*k));
    if (!yyjson_is_obj(part))
        return;
    yyjson_obj_foreach(part, i, max, key, val)
    {
        size_t len = yyjson_get_len(key);
        const char *name = yyjson_get_str(key);
        for (size_t n = 0; n < PK_N; n++) {
            if (names[n].len == len && memcmp(names[n].name, name, len) == 0) {
                if (!k->v[n])
                    k->v[n] = val;
                break;
            }
        }
    }
}

static struct ag_signature part_sig(struct ag_gemini_dec *st, const struct part_keys *k)
{
    struct ag_signature s = {AG_STR_NULL, AG_STR_NULL};
    s.value = ag_json_str(k->v[PK_SIG]);
    if (!s.value.len)
        s.value = ag_json_str(k->v[PK_SIG_SNAKE]);
    if (s.value.len)
        s.family = st->family;
    return s;
}

static int emit(ag_event_cb cb, void *ud, struct ag_event *ev)
{
    return cb(ud, ev);
}

static int start(struct ag_gemini_dec *st, yyjson_val *resp, ag_event_cb cb, void *ud)
{
    if (st->started)
        return 0;
    st->started = true;
    struct ag_event ev = {.type = AG_EV_START};
    ev.id = ag_json_get_str(resp, "responseId");
    ev.name = ag_json_get_str(resp, "modelVersion");
    return emit(cb, ud, &ev);
}

static int function_call(struct ag_gemini_dec *st, int ci, const struct part_keys *k,
                         yyjson_val *fc, ag_event_cb cb, void *ud)
{
    struct ag_event ev = {.type = AG_EV_TOOL_START, .choice = ci};
    ev.tool_index = st->n_tools[ci]++;
    ev.id = ag_json_get_str(fc, "id");
    if (!ev.id.len)
        ev.id = ag_toolid_make(st->arena, st->seed, st->tool_seq);
    st->tool_seq++;
    ev.name = ag_json_get_str(fc, "name");
    ev.sig = part_sig(st, k);
    int rc = emit(cb, ud, &ev);
    if (rc)
        return rc;
    size_t len = 0;
    yyjson_val *args = yyjson_obj_get(fc, "args");
    char *text = yyjson_is_obj(args) ? yyjson_val_write(args, 0, &len) : NULL;
    struct ag_event a = {.type = AG_EV_TOOL_ARGS, .choice = ci, .tool_index = ev.tool_index};
    a.text = text ? ag_str_make(text, len) : AG_STR("{}");
    rc = emit(cb, ud, &a);
    free(text);
    if (rc)
        return rc;
    struct ag_event e = {.type = AG_EV_TOOL_END, .choice = ci, .tool_index = ev.tool_index};
    return emit(cb, ud, &e);
}

static int part_events(struct ag_gemini_dec *st, int ci, yyjson_val *part, ag_event_cb cb, void *ud)
{
    yyjson_val *v;
    struct ag_event ev = {.choice = ci};
    struct part_keys k;
    part_keys_of(part, &k);
    if ((v = k.v[PK_CALL]) && yyjson_is_obj(v))
        return function_call(st, ci, &k, v, cb, ud);
    if ((v = k.v[PK_INLINE]) && yyjson_is_obj(v)) {
        /* Image models think in draft images ("thought": true); only the final one is output. */
        if (yyjson_get_bool(k.v[PK_THOUGHT]))
            return 0;
        ev.type = AG_EV_MEDIA;
        ev.mime = ag_json_get_str(v, "mimeType");
        ev.text = ag_json_get_str(v, "data");
        return emit(cb, ud, &ev);
    }
    if ((v = k.v[PK_CODE]) && yyjson_is_obj(v)) {
        struct ag_str lang = ag_json_get_str(v, "language"), code = ag_json_get_str(v, "code");
        char *s = ag_arena_printf(st->arena, "\n```%.*s\n%.*s\n```\n", (int)lang.len, lang.p,
                                  (int)code.len, code.p);
        ev.type = AG_EV_TEXT;
        ev.text = ag_str_c(s);
        return s ? emit(cb, ud, &ev) : AG_ETOOBIG;
    }
    if ((v = k.v[PK_RESULT]) && yyjson_is_obj(v)) {
        struct ag_str o = ag_json_get_str(v, "output");
        char *s = ag_arena_printf(st->arena, "\n```\n%.*s\n```\n", (int)o.len, o.p);
        ev.type = AG_EV_TEXT;
        ev.text = ag_str_c(s);
        return s ? emit(cb, ud, &ev) : AG_ETOOBIG;
    }
    ev.text = ag_json_str(k.v[PK_TEXT]);
    ev.sig = part_sig(st, &k);
    if (yyjson_get_bool(k.v[PK_THOUGHT]))
        ev.type = AG_EV_THINKING;
    else if (!ev.text.len && ev.sig.value.len)
        ev.type = AG_EV_SIGNATURE;
    else
        ev.type = AG_EV_TEXT;
    if (!ev.text.len && !ev.sig.value.len)
        return 0;
    return emit(cb, ud, &ev);
}

int ag_gemini_dec_error(struct ag_gemini_dec *st, yyjson_val *err, ag_event_cb cb, void *ud)
{
    struct ag_event ev = {.type = AG_EV_ERROR};
    int64_t code = yyjson_get_sint(yyjson_obj_get(err, "code"));
    if (code < 400 || code > 599)
        code = 502;
    struct ag_str msg = ag_json_get_str(err, "message");
    ev.error.status = (int)code;
    ev.error.kind = ag_error_kind_for_status((int)code);
    ev.error.message = msg.len ? msg : AG_STR("upstream error");
    ev.error.code = ag_json_get_str(err, "status");
    st->failed = true;
    return emit(cb, ud, &ev);
}

int ag_gemini_dec_response(struct ag_gemini_dec *st, yyjson_val *resp, ag_event_cb cb, void *ud)
{
    int rc;
    yyjson_val *err = yyjson_obj_get(resp, "error");
    if (yyjson_is_obj(err))
        return ag_gemini_dec_error(st, err, cb, ud);
    if ((rc = start(st, resp, cb, ud)))
        return rc;
    yyjson_val *cands = yyjson_obj_get(resp, "candidates");
    size_t i, max;
    yyjson_val *cand;
    /* parts first, then usage, then finish: a finish frame may carry usage for all. */
    yyjson_arr_foreach(cands, i, max, cand)
    {
        yyjson_val *idx = yyjson_obj_get(cand, "index");
        int ci = idx ? (int)yyjson_get_sint(idx) : (int)i;
        if (ci < 0 || ci >= AG_MAX_CHOICES)
            continue;
        st->used[ci] = true;
        yyjson_val *parts = yyjson_obj_get(yyjson_obj_get(cand, "content"), "parts");
        size_t j, jmax;
        yyjson_val *part;
        yyjson_arr_foreach(parts, j, jmax, part)
        {
            if ((rc = part_events(st, ci, part, cb, ud)))
                return rc;
        }
    }
    yyjson_val *um = yyjson_obj_get(resp, "usageMetadata");
    if (yyjson_is_obj(um)) {
        struct ag_event ev = {.type = AG_EV_USAGE};
        ag_gemini_usage_parse(um, &ev.usage);
        if ((rc = emit(cb, ud, &ev)))
            return rc;
    }
    yyjson_arr_foreach(cands, i, max, cand)
    {
        yyjson_val *idx = yyjson_obj_get(cand, "index");
        int ci = idx ? (int)yyjson_get_sint(idx) : (int)i;
        struct ag_str reason = ag_json_get_str(cand, "finishReason");
        if (ci < 0 || ci >= AG_MAX_CHOICES || !reason.len || st->finished[ci])
            continue;
        struct ag_event ev = {.type = AG_EV_FINISH, .choice = ci, .raw = reason};
        ev.finish = ag_gemini_finish_parse(reason);
        if (ev.finish == AG_FINISH_STOP && st->n_tools[ci])
            ev.finish = AG_FINISH_TOOL_CALLS;
        st->finished[ci] = true;
        if ((rc = emit(cb, ud, &ev)))
            return rc;
    }
    struct ag_str block = ag_json_get_str(yyjson_obj_get(resp, "promptFeedback"), "blockReason");
    if (block.len && !st->finished[0] && yyjson_arr_size(cands) == 0) {
        struct ag_event ev = {.type = AG_EV_FINISH, .finish = AG_FINISH_CONTENT_FILTER};
        ev.raw = block;
        st->used[0] = st->finished[0] = true;
        return emit(cb, ud, &ev);
    }
    return 0;
}

int ag_gemini_dec_end(struct ag_gemini_dec *st, ag_event_cb cb, void *ud)
{
    int rc;
    if (st->failed)
        return 0;
    if (!st->started) {
        return ag_event_upstream_failed(cb, ud, AG_STR("upstream ended without an answer"),
                                        &st->failed);
    }
    st->used[0] = true;
    for (int ci = 0; ci < AG_MAX_CHOICES; ci++) {
        if (!st->used[ci] || st->finished[ci])
            continue;
        struct ag_event ev = {.type = AG_EV_FINISH, .choice = ci};
        ev.finish = st->n_tools[ci] ? AG_FINISH_TOOL_CALLS : AG_FINISH_STOP;
        st->finished[ci] = true;
        if ((rc = emit(cb, ud, &ev)))
            return rc;
    }
    return 0;
}
