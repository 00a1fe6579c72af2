/* proto/upstream_ids.c: ids for tool calls and results sent to providers (see upstream_ids.h). */
#include "proto/upstream_ids.h"

#include <ctype.h>

#include "proto/json.h"
#include "proto/toolid.h"

struct ag_str *ag_upstream_tool_ids(struct ag_arena *arena, const struct ag_request *req)
{
    size_t n = 0, k = 0;
    uint64_t made = 0;
    for (size_t m = 0; m < req->n_messages; m++)
        n += req->messages[m].n_parts;
    struct ag_str *ids = ag_arena_calloc(arena, (n ? n : 1) * sizeof(*ids));
    bool *answered = ag_arena_calloc(arena, n ? n : 1);
    struct ag_str *names = ag_arena_calloc(arena, (n ? n : 1) * sizeof(*names)); /* of calls */
    size_t *msg_of = ag_arena_calloc(arena, (n ? n : 1) * sizeof(*msg_of));
    if (!ids || !answered || !names || !msg_of)
        return NULL;
    for (size_t m = 0; m < req->n_messages; m++) {
        const struct ag_message *msg = &req->messages[m];
        for (size_t i = 0; i < msg->n_parts; i++, k++) {
            const struct ag_part *p = &msg->parts[i];
            msg_of[k] = m;
            if (p->type == AG_PART_TOOL_CALL) {
                ids[k] = p->id.len ? p->id : ag_toolid_make(arena, AG_STR("upstream-call"), made++);
                names[k] = p->name;
                if (!ids[k].p)
                    return NULL;
            } else if (p->type == AG_PART_TOOL_RESULT) {
                if (p->id.len) {
                    ids[k] = p->id;
                    for (size_t j = 0; j < k; j++) /* marks the call it answers */
                        if (!answered[j] && names[j].len && ag_str_eq(ids[j], p->id))
                            answered[j] = true;
                    continue;
                }
                /* The latest turn with an unanswered call of the same function, and in that
                 * turn its first such call. */
                size_t pick = SIZE_MAX;
                for (size_t j = k; j-- > 0;) {
                    if (!answered[j] && names[j].len && ag_str_eq(names[j], p->name)) {
                        if (pick != SIZE_MAX && msg_of[j] != msg_of[pick])
                            break;
                        pick = j;
                    }
                }
                if (pick != SIZE_MAX) {
                    answered[pick] = true;
                    ids[k] = ids[pick];
                }
                if (!ids[k].len)
                    ids[k] = ag_toolid_make(arena, AG_STR("upstream-result"), made++);
                if (!ids[k].p)
                    return NULL;
            }
        }
    }
    return ids;
}

/* Lower-cases every "type" string (and strings in a "type" array) below v; depth is bounded by
 * ag_json_parse_into's check of the text, and again here. */
static void lower_types(yyjson_mut_doc *d, yyjson_mut_val *v, int depth)
{
    if (depth > AG_JSON_DEPTH_INTERNAL)
        return;
    if (yyjson_mut_is_arr(v)) {
        size_t i, max;
        yyjson_mut_val *x;
        yyjson_mut_arr_foreach(v, i, max, x)
        {
            lower_types(d, x, depth + 1);
        }
        return;
    }
    if (!yyjson_mut_is_obj(v))
        return;
    size_t i, max;
    yyjson_mut_val *k, *x;
    yyjson_mut_obj_foreach(v, i, max, k, x)
    {
        if (yyjson_mut_equals_str(k, "type")) {
            yyjson_mut_val *one = x, *item;
            size_t j, jmax;
            if (yyjson_mut_is_arr(x)) {
                yyjson_mut_arr_foreach(x, j, jmax, item)
                {
                    if (yyjson_mut_is_str(item)) {
                        char *t = (char *)yyjson_mut_get_str(item);
                        for (size_t c = 0; c < yyjson_mut_get_len(item); c++)
                            t[c] = (char)tolower((unsigned char)t[c]);
                    }
                }
            } else if (yyjson_mut_is_str(one)) {
                char *t = (char *)yyjson_mut_get_str(one);
                for (size_t c = 0; c < yyjson_mut_get_len(one); c++)
                    t[c] = (char)tolower((unsigned char)t[c]);
            }
            continue;
        }
        lower_types(d, x, depth + 1);
    }
}

yyjson_mut_val *ag_upstream_schema(yyjson_mut_doc *d, struct ag_arena *arena, struct ag_str text)
{
    if (!text.len)
        return NULL;
    yyjson_mut_val *v = ag_json_parse_into(d, arena, text);
    if (!yyjson_mut_is_obj(v))
        return NULL;
    lower_types(d, v, 0);
    return v;
}
