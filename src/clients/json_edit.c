/* clients/json_edit.c: see json_edit.h. yyjson reads with numbers kept as raw text (so 1.50 and
 * 10000000000000000000001 come back byte for byte) and edits a mutable copy. */
#include "clients/json_edit.h"

#include "core/err.h"
#include "core/json_depth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

yyjson_mut_doc *ag_json_edit_load(const char *text, size_t len, char *err, size_t cap)
{
    yyjson_read_err rerr;
    yyjson_doc *doc = NULL;
    yyjson_mut_doc *mut = NULL;
    size_t i = 0;
    while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r'))
        i++;
    if (i == len) {
        mut = yyjson_mut_doc_new(NULL);
        if (mut)
            yyjson_mut_doc_set_root(mut, yyjson_mut_obj(mut));
        return mut;
    }
    doc = yyjson_read_opts((char *)text, len, YYJSON_READ_NUMBER_AS_RAW, NULL, &rerr);
    if (!doc) {
        yyjson_doc *lax = yyjson_read_opts((char *)text, len,
                                           YYJSON_READ_NUMBER_AS_RAW | YYJSON_READ_ALLOW_COMMENTS |
                                               YYJSON_READ_ALLOW_TRAILING_COMMAS,
                                           NULL, NULL);
        if (lax)
            snprintf(err, cap,
                     "has comments or trailing commas (JSON with comments); aigate does not "
                     "rewrite it because that would drop them: remove them, or make the change "
                     "by hand");
        else
            snprintf(err, cap, "is not valid JSON (%s at byte %zu)", rerr.msg, rerr.pos);
        yyjson_doc_free(lax);
        return NULL;
    }
    if (!yyjson_is_obj(yyjson_doc_get_root(doc))) {
        snprintf(err, cap, "is JSON but not an object");
        goto out;
    }
    if (ag_json_depth_check(yyjson_doc_get_root(doc), AG_JSON_EDIT_MAX_DEPTH)) {
        snprintf(err, cap, "nests deeper than %d levels", AG_JSON_EDIT_MAX_DEPTH);
        goto out;
    }
    mut = yyjson_doc_mut_copy(doc, NULL);
    if (!mut)
        snprintf(err, cap, "out of memory");
out:
    yyjson_doc_free(doc);
    return mut;
}

static yyjson_mut_val *walk(yyjson_mut_doc *doc, const char *const *path, size_t n)
{
    yyjson_mut_val *v = yyjson_mut_doc_get_root(doc);
    for (size_t i = 0; i < n && v; i++)
        v = yyjson_mut_is_obj(v) ? yyjson_mut_obj_get(v, path[i]) : NULL;
    return v;
}

const char *ag_json_edit_get(yyjson_mut_doc *doc, const char *const *path, size_t npath)
{
    yyjson_mut_val *v = walk(doc, path, npath);
    return yyjson_mut_is_str(v) ? yyjson_mut_get_str(v) : NULL;
}

bool ag_json_edit_has(yyjson_mut_doc *doc, const char *const *path, size_t npath)
{
    return walk(doc, path, npath) != NULL;
}

int ag_json_edit_set(yyjson_mut_doc *doc, const char *const *path, size_t npath, const char *value,
                     bool *changed, char *err, size_t cap)
{
    yyjson_mut_val *obj = yyjson_mut_doc_get_root(doc);
    for (size_t i = 0; i + 1 < npath; i++) {
        yyjson_mut_val *v = yyjson_mut_obj_get(obj, path[i]);
        if (!v) {
            v = yyjson_mut_obj(doc);
            if (!v || !yyjson_mut_obj_add(obj, yyjson_mut_strcpy(doc, path[i]), v))
                return AG_ENOMEM;
            *changed = true;
        } else if (!yyjson_mut_is_obj(v)) {
            snprintf(err, cap, "has \"%s\" but it is not an object", path[i]);
            return AG_EPARSE;
        }
        obj = v;
    }
    const char *leaf = path[npath - 1];
    yyjson_mut_val *old = yyjson_mut_obj_get(obj, leaf);
    if (yyjson_mut_is_str(old) && !strcmp(yyjson_mut_get_str(old), value))
        return 0;
    yyjson_mut_val *nv = yyjson_mut_strcpy(doc, value);
    if (!nv)
        return AG_ENOMEM;
    bool ok = old ? yyjson_mut_obj_replace(obj, yyjson_mut_str(doc, leaf), nv)
                  : yyjson_mut_obj_add(obj, yyjson_mut_strcpy(doc, leaf), nv);
    if (!ok)
        return AG_ENOMEM;
    *changed = true;
    return 0;
}

int ag_json_edit_dump(yyjson_mut_doc *doc, struct ag_buf *out)
{
    size_t n = 0;
    char *s = yyjson_mut_write(doc, YYJSON_WRITE_PRETTY_TWO_SPACES, &n);
    if (!s)
        return AG_ENOMEM;
    int rc = ag_buf_append(out, s, n);
    if (!rc)
        rc = ag_buf_append(out, "\n", 1);
    free(s);
    return rc;
}
