/* core/json_depth.c: the nesting check (see json_depth.h).
 *
 * yyjson lays an immutable document out as one array of values in document order, each container
 * followed by all of its descendants; unsafe_yyjson_get_next (what yyjson's own foreach macros
 * use) gives the value just past a container's last descendant. One pass over that array, keeping
 * the ends of the containers still open, gives the depth of every value without recursion; the
 * pass stops at the first container past the limit, so the open list never holds more than the
 * limit. */
#include "core/json_depth.h"

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"

int ag_json_depth_check(yyjson_val *root, size_t limit)
{
    yyjson_val *open[AG_JSON_DEPTH_INTERNAL]; /* ends of the containers enclosing v */
    size_t depth = 0;
    if (!root)
        return 0;
    limit = ag_json_depth_limit(limit);
    yyjson_val *end = unsafe_yyjson_get_next(root);
    for (yyjson_val *v = root; v < end; v++) {
        while (depth && v >= open[depth - 1])
            depth--;
        if (!yyjson_is_ctn(v))
            continue;
        if (depth == limit)
            return AG_EDEPTH;
        open[depth++] = unsafe_yyjson_get_next(v);
    }
    return 0;
}

/* Whether text[from, len) is only the whitespace yyjson skips after a document. */
static bool only_space(const char *text, size_t from, size_t len)
{
    for (size_t i = from; i < len; i++)
        if (text[i] != ' ' && text[i] != '\t' && text[i] != '\n' && text[i] != '\r')
            return false;
    return true;
}

yyjson_doc *ag_json_depth_read_flags(const char *text, size_t len, yyjson_read_flag flg,
                                     size_t limit, const yyjson_alc *alc, yyjson_read_err *rerr,
                                     int *err)
{
    yyjson_read_err local;
    if (!rerr)
        rerr = &local;
    if (err)
        *err = 0;
    flg &= YYJSON_READ_STOP_WHEN_DONE;
    yyjson_doc *doc = yyjson_read_opts((char *)(text ? text : ""), len, flg, alc, rerr);
    if (!doc) {
        if (err)
            *err = rerr->code == YYJSON_READ_ERROR_MEMORY_ALLOCATION ? AG_ENOMEM : AG_EPARSE;
        return NULL;
    }
    /* Stopped at the document's end: anything but whitespace after it fails as yyjson would. */
    size_t end = yyjson_doc_get_read_size(doc);
    if (flg && !only_space(text, end, len)) {
        yyjson_doc_free(doc);
        rerr->code = YYJSON_READ_ERROR_UNEXPECTED_CONTENT;
        rerr->msg = "unexpected content after document";
        rerr->pos = end;
        if (err)
            *err = AG_EPARSE;
        return NULL;
    }
    /* Nesting deeper than the limit takes more containers than that: a document of no more
     * values (every upstream stream event) needs no walk. */
    if (yyjson_doc_get_val_count(doc) > ag_json_depth_limit(limit) &&
        ag_json_depth_check(yyjson_doc_get_root(doc), limit)) {
        yyjson_doc_free(doc);
        if (err)
            *err = AG_EDEPTH;
        return NULL;
    }
    return doc;
}

yyjson_doc *ag_json_depth_read(const char *text, size_t len, size_t limit, const yyjson_alc *alc,
                               yyjson_read_err *rerr, int *err)
{
    return ag_json_depth_read_flags(text, len, YYJSON_READ_NOFLAG, limit, alc, rerr, err);
}
