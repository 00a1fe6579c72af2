/* proto/json_schema.c: JSON Schema -> Gemini schema subset (see json_schema.h).
 *
 * A schema node is first "absorbed" into a flat view: its own keys, then the keys of the
 * definition it references ($ref), then those of its allOf branches, earlier keys winning;
 * properties objects and required lists are collected for a union. The view is then emitted as
 * one whitelisted Gemini node. Circular references end in a string node with a hint instead of
 * recursing forever. */
#include "proto/json_schema.h"

#include <stdio.h>
#include <string.h>

#include "proto/json.h"
#include "proto/schema_cache.h"

#define MAX_DEPTH 24
#define MAX_KV    64
#define MAX_LISTS 16
#define MAX_DEFS  128
#define MAX_REFS  16

struct defs {
    struct ag_str name[MAX_DEFS];
    yyjson_val *val[MAX_DEFS];
    int n;
};

struct view {
    const char *key[MAX_KV];
    yyjson_val *val[MAX_KV];
    int n;
    yyjson_val *props[MAX_LISTS];
    int n_props;
    yyjson_val *req[MAX_LISTS];
    int n_req;
    const char *unresolved; /* a $ref that could not be expanded */
    bool recursive;
    int pushed; /* $ref names this view pushed on the cleaner's stack, popped after its children */
};

struct cleaner {
    yyjson_mut_doc *d;
    struct defs defs;
    struct ag_str refs[MAX_REFS]; /* the $ref names being expanded, innermost last */
    int n_refs;
};

static void collect_defs(struct defs *defs, yyjson_val *node, int depth)
{
    if (depth > MAX_DEPTH)
        return;
    if (yyjson_is_arr(node)) {
        size_t i, max;
        yyjson_val *v;
        yyjson_arr_foreach(node, i, max, v) collect_defs(defs, v, depth + 1);
        return;
    }
    if (!yyjson_is_obj(node))
        return;
    size_t i, max;
    yyjson_val *k, *v;
    yyjson_obj_foreach(node, i, max, k, v)
    {
        if ((yyjson_equals_str(k, "$defs") || yyjson_equals_str(k, "definitions")) &&
            yyjson_is_obj(v)) {
            size_t j, jmax;
            yyjson_val *dk, *dv;
            yyjson_obj_foreach(v, j, jmax, dk, dv)
            {
                struct ag_str name = ag_json_str(dk);
                bool seen = false;
                for (int n = 0; n < defs->n && !seen; n++)
                    seen = ag_str_eq(defs->name[n], name);
                if (!seen && defs->n < MAX_DEFS) {
                    defs->name[defs->n] = name;
                    defs->val[defs->n++] = dv;
                }
            }
        }
        collect_defs(defs, v, depth + 1);
    }
}

static bool view_has(const struct view *w, const char *key)
{
    for (int i = 0; i < w->n; i++)
        if (strcmp(w->key[i], key) == 0)
            return true;
    return false;
}

static yyjson_val *view_get(const struct view *w, const char *key)
{
    for (int i = 0; i < w->n; i++)
        if (strcmp(w->key[i], key) == 0)
            return w->val[i];
    return NULL;
}

static void absorb(struct cleaner *c, struct view *w, yyjson_val *node, int depth);

static void absorb_ref(struct cleaner *c, struct view *w, yyjson_val *ref, int depth)
{
    struct ag_str r = ag_json_str(ref);
    struct ag_str name = r;
    for (size_t i = r.len; i > 0; i--)
        if (r.p[i - 1] == '/') {
            name = ag_str_make(r.p + i, r.len - i);
            break;
        }
    for (int i = 0; i < c->n_refs; i++)
        if (ag_str_eq(c->refs[i], name)) {
            w->recursive = true;
            w->unresolved = yyjson_get_str(ref);
            return;
        }
    for (int i = 0; i < c->defs.n; i++) {
        if (!ag_str_eq(c->defs.name[i], name))
            continue;
        if (c->n_refs == MAX_REFS || depth > MAX_DEPTH) {
            w->recursive = true;
            w->unresolved = yyjson_get_str(ref);
            return;
        }
        /* The name stays on the stack until the node's children are cleaned, so a reference
         * back to it from inside (a linked list, a tree) ends instead of expanding forever. */
        c->refs[c->n_refs++] = name;
        w->pushed++;
        absorb(c, w, c->defs.val[i], depth + 1);
        return;
    }
    w->unresolved = yyjson_get_str(ref);
}

static void absorb(struct cleaner *c, struct view *w, yyjson_val *node, int depth)
{
    size_t i, max;
    yyjson_val *k, *v;
    yyjson_val *ref = NULL, *all = NULL;
    if (!yyjson_is_obj(node) || depth > MAX_DEPTH)
        return; /* allOf inside allOf: bounded like every other walk here, not by the input */
    yyjson_obj_foreach(node, i, max, k, v)
    {
        const char *key = yyjson_get_str(k);
        if (strcmp(key, "$ref") == 0) {
            ref = v;
        } else if (strcmp(key, "allOf") == 0) {
            all = v;
        } else if (strcmp(key, "properties") == 0) {
            if (yyjson_is_obj(v) && w->n_props < MAX_LISTS)
                w->props[w->n_props++] = v;
        } else if (strcmp(key, "required") == 0) {
            if (yyjson_is_arr(v) && w->n_req < MAX_LISTS)
                w->req[w->n_req++] = v;
        } else if (!view_has(w, key) && w->n < MAX_KV) {
            w->key[w->n] = key;
            w->val[w->n++] = v;
        }
    }
    if (yyjson_is_str(ref))
        absorb_ref(c, w, ref, depth);
    if (yyjson_is_arr(all)) {
        yyjson_arr_foreach(all, i, max, v) absorb(c, w, v, depth + 1);
    }
}

static const char *const known_keys[] = {
    "type",
    "description",
    "title",
    "properties",
    "required",
    "items",
    "enum",
    "const",
    "anyOf",
    "oneOf",
    "allOf",
    "$ref",
    "format",
    "default",
    "examples",
    "$schema",
    "$id",
    "$defs",
    "definitions",
    "nullable",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
    "multipleOf",
    "not",
    "uniqueItems",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "additionalProperties",
    "patternProperties",
    "minProperties",
    "maxProperties",
    "$comment",
    "strict",
    "propertyOrdering",
    "example",
};

/* {"city":{"type":"string"}}: a bare property map where a schema was expected. */
static bool is_shorthand(yyjson_val *node)
{
    size_t i, max;
    yyjson_val *k, *v;
    if (!yyjson_is_obj(node) || yyjson_obj_size(node) == 0)
        return false;
    yyjson_obj_foreach(node, i, max, k, v)
    {
        if (!yyjson_is_obj(v))
            return false;
        for (size_t j = 0; j < sizeof(known_keys) / sizeof(known_keys[0]); j++)
            if (yyjson_equals_str(k, known_keys[j]))
                return false;
    }
    return true;
}

struct hint {
    char text[512];
    size_t len;
};

static void hint_add(struct hint *h, const char *sep, const char *s, size_t n)
{
    if (h->len && sep) {
        size_t sl = strlen(sep);
        if (h->len + sl < sizeof(h->text)) {
            memcpy(h->text + h->len, sep, sl);
            h->len += sl;
        }
    }
    if (h->len + n >= sizeof(h->text))
        n = sizeof(h->text) - 1 - h->len;
    memcpy(h->text + h->len, s, n);
    h->len += n;
    h->text[h->len] = '\0';
}

/* What snprintf wrote into a buffer of cap bytes, given its result n (which counts what did not
 * fit). */
static size_t written(int n, size_t cap)
{
    return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

/* Scalar JSON value as text for hints and enums (strings without quotes). */
static void scalar_text(yyjson_val *v, char *buf, size_t cap)
{
    if (yyjson_is_str(v))
        snprintf(buf, cap, "%.*s", (int)yyjson_get_len(v), yyjson_get_str(v));
    else if (yyjson_is_bool(v))
        snprintf(buf, cap, "%s", yyjson_get_bool(v) ? "true" : "false");
    else if (yyjson_is_uint(v))
        snprintf(buf, cap, "%llu", (unsigned long long)yyjson_get_uint(v));
    else if (yyjson_is_sint(v))
        snprintf(buf, cap, "%lld", (long long)yyjson_get_sint(v));
    else if (yyjson_is_real(v))
        snprintf(buf, cap, "%g", yyjson_get_real(v));
    else
        snprintf(buf, cap, "null");
}

static int type_score(const char *t)
{
    if (!t)
        return 0;
    if (strcmp(t, "object") == 0)
        return 3;
    if (strcmp(t, "array") == 0)
        return 2;
    return strcmp(t, "null") == 0 ? 0 : 1;
}

static yyjson_mut_val *clean_node(struct cleaner *c, yyjson_val *node, int depth, bool *nullable);

/* The lower-cased first non-null type of a "type" value; sets *nullable on "null". */
static const char *pick_type(yyjson_val *t, bool *nullable)
{
    static const char *const types[] = {"object",  "array",   "string", "number",
                                        "integer", "boolean", "null"};
    const char *found = NULL;
    yyjson_val *one = t;
    size_t i = 0, max = 1;
    if (yyjson_is_arr(t))
        max = yyjson_arr_size(t);
    for (i = 0; i < max; i++) {
        if (yyjson_is_arr(t))
            one = yyjson_arr_get(t, i);
        struct ag_str s = ag_json_str(one);
        for (size_t j = 0; j < sizeof(types) / sizeof(types[0]); j++) {
            if (!ag_str_eq_ci(s, ag_str_c(types[j])))
                continue;
            if (j == 6)
                *nullable = true;
            else if (!found)
                found = types[j];
        }
    }
    return found;
}

static void emit_properties(struct cleaner *c, struct view *w, yyjson_mut_val *out,
                            yyjson_mut_val **props_out, yyjson_mut_val *req_out, int depth)
{
    yyjson_mut_doc *d = c->d;
    yyjson_mut_val *props = yyjson_mut_obj(d);
    *props_out = props;
    for (int p = 0; p < w->n_props; p++) {
        size_t i, max;
        yyjson_val *k, *v;
        yyjson_obj_foreach(w->props[p], i, max, k, v)
        {
            const char *name = yyjson_get_str(k);
            if (yyjson_mut_obj_get(props, name) || !yyjson_is_obj(v))
                continue; /* first wins; boolean / non-object sub-schemas are dropped */
            bool child_null = false;
            yyjson_mut_val *cv = clean_node(c, v, depth + 1, &child_null);
            if (!cv)
                continue;
            yyjson_mut_obj_add(props, yyjson_mut_strncpy(d, name, yyjson_get_len(k)), cv);
            if (child_null)
                continue;
            /* required only when declared required somewhere in the view */
            bool required = false;
            for (int r = 0; r < w->n_req && !required; r++) {
                size_t j, jmax;
                yyjson_val *rv;
                yyjson_arr_foreach(w->req[r], j, jmax,
                                   rv) if (yyjson_equals_strn(rv, name, yyjson_get_len(k)))
                    required = true;
            }
            if (required)
                yyjson_mut_arr_add_strncpy(d, req_out, name, yyjson_get_len(k));
        }
    }
    (void)out;
}

/* anyOf / oneOf: cleans every branch and returns the richest (object, then array, then a scalar
 * type), or NULL without branches. A branch that is only "null" makes the node nullable; two or
 * more types among the branches become an "Accepts: a | b" hint in desc. */
static yyjson_mut_val *pick_branch(struct cleaner *c, const struct view *w, int depth,
                                   bool *is_null, struct hint *desc)
{
    yyjson_val *alts = view_get(w, "anyOf");
    if (!yyjson_is_arr(alts))
        alts = view_get(w, "oneOf");
    if (!yyjson_is_arr(alts))
        return NULL;
    yyjson_mut_val *best = NULL;
    int best_score = -1;
    const char *seen[8];
    int n_seen = 0;
    size_t i, max;
    yyjson_val *b;
    yyjson_arr_foreach(alts, i, max, b)
    {
        bool bnull = false;
        yyjson_mut_val *cb = clean_node(c, b, depth + 1, &bnull);
        const char *bt = cb ? yyjson_mut_get_str(yyjson_mut_obj_get(cb, "type")) : NULL;
        struct view bw;
        memset(&bw, 0, sizeof(bw));
        bool only_null = false;
        if (yyjson_is_obj(b)) {
            absorb(c, &bw, b, depth + 1);
            c->n_refs -= bw.pushed;
            bool nn = false;
            only_null = !pick_type(view_get(&bw, "type"), &nn) && nn;
        }
        if (only_null) {
            *is_null = true;
            continue;
        }
        if (bnull)
            *is_null = true;
        int sc = type_score(bt);
        if (bt) {
            bool dup = false;
            for (int s = 0; s < n_seen; s++)
                dup = dup || strcmp(seen[s], bt) == 0;
            if (!dup && n_seen < 8)
                seen[n_seen++] = bt;
        }
        if (sc > best_score) {
            best_score = sc;
            best = cb;
        }
    }
    if (n_seen > 1) {
        hint_add(desc, NULL, "Accepts: ", 9);
        for (int s = 0; s < n_seen; s++)
            hint_add(desc, s ? " | " : NULL, seen[s], strlen(seen[s]));
    }
    return best;
}

/* The type of a node without a "type": the richest branch's, else what the node holds. */
static const char *infer_type(const struct view *w, yyjson_mut_val *best, yyjson_val *items,
                              yyjson_val *en, yyjson_val *cst)
{
    const char *type = best ? yyjson_mut_get_str(yyjson_mut_obj_get(best, "type")) : NULL;
    if (type)
        return type;
    if (w->n_props)
        return "object";
    if (yyjson_is_obj(items))
        return "array";
    if (yyjson_is_arr(en) || cst)
        return "string";
    if (w->unresolved)
        return "string";
    return best ? "object" : "string";
}

/* "description": the node's own text (else the branch's), then the hints in desc, nullable, an
 * unresolved $ref and the constraints Gemini does not take; and "title". */
static void emit_description(yyjson_mut_doc *d, const struct view *w, yyjson_mut_val *out,
                             yyjson_mut_val *best, const struct hint *desc, bool is_null)
{
    struct hint full = {{0}, 0}, cons = {{0}, 0};
    char tmp[256];
    struct ag_str own = ag_json_str(view_get(w, "description"));
    if (!own.len && best)
        own = ag_str_c(yyjson_mut_get_str(yyjson_mut_obj_get(best, "description")));
    if (own.len)
        hint_add(&full, NULL, own.p, own.len);
    if (desc->len)
        hint_add(&full, " ", desc->text, desc->len);
    if (is_null)
        hint_add(&full, " ", "(nullable)", 10);
    if (w->unresolved) {
        int n = snprintf(tmp, sizeof(tmp), "(%s $ref: %s)",
                         w->recursive ? "Recursive" : "Unresolved", w->unresolved);
        hint_add(&full, " ", tmp, written(n, sizeof(tmp)));
    }
    static const struct {
        const char *key, *label;
    } constraints[] = {
        {"minLength", "minLen"},
        {"maxLength", "maxLen"},
        {"pattern", "pattern"},
        {"minimum", "min"},
        {"maximum", "max"},
        {"multipleOf", "multipleOf"},
        {"exclusiveMinimum", "exclMin"},
        {"exclusiveMaximum", "exclMax"},
        {"minItems", "minItems"},
        {"maxItems", "maxItems"},
        {"format", "format"},
    };
    for (size_t i = 0; i < sizeof(constraints) / sizeof(constraints[0]); i++) {
        yyjson_val *cv = view_get(w, constraints[i].key);
        if (!cv || yyjson_is_obj(cv) || yyjson_is_arr(cv))
            continue;
        char val[200];
        scalar_text(cv, val, sizeof(val));
        int n = snprintf(tmp, sizeof(tmp), "%s: %s", constraints[i].label, val);
        hint_add(&cons, ", ", tmp, written(n, sizeof(tmp)));
    }
    if (cons.len) {
        hint_add(&full, " ", "[Constraint: ", 13);
        hint_add(&full, NULL, cons.text, cons.len);
        hint_add(&full, NULL, "]", 1);
    }
    if (full.len)
        yyjson_mut_obj_add_strncpy(d, out, "description", full.text, full.len);
    struct ag_str title = ag_json_str(view_get(w, "title"));
    if (title.len)
        ag_json_add_str(d, out, "title", title);
}

/* "enum" (stringified), or const as a one-value enum. */
static void emit_enum(yyjson_mut_doc *d, yyjson_mut_val *out, yyjson_val *en, yyjson_val *cst)
{
    char tmp[256];
    if (!yyjson_is_arr(en) && !(cst && !yyjson_is_obj(cst) && !yyjson_is_arr(cst)))
        return;
    yyjson_mut_val *arr = yyjson_mut_arr(d);
    size_t i, max;
    yyjson_val *ev;
    if (yyjson_is_arr(en)) {
        yyjson_arr_foreach(en, i, max, ev)
        {
            scalar_text(ev, tmp, sizeof(tmp));
            yyjson_mut_arr_add_strcpy(d, arr, tmp);
        }
    } else {
        scalar_text(cst, tmp, sizeof(tmp));
        yyjson_mut_arr_add_strcpy(d, arr, tmp);
    }
    yyjson_mut_obj_add_val(d, out, "enum", arr);
}

/* An array's "items": the cleaned items schema, else the branch's, else strings. */
static void emit_items(struct cleaner *c, yyjson_mut_val *out, yyjson_val *items,
                       yyjson_mut_val *best, int depth)
{
    yyjson_mut_doc *d = c->d;
    bool inull = false;
    yyjson_mut_val *ci = yyjson_is_obj(items) ? clean_node(c, items, depth + 1, &inull) : NULL;
    if (!ci && best)
        ci = yyjson_mut_obj_get(best, "items");
    if (!ci) {
        ci = yyjson_mut_obj(d);
        yyjson_mut_obj_add_str(d, ci, "type", "string");
    }
    yyjson_mut_obj_add_val(d, out, "items", ci);
}

/* An object's "properties" and "required" (the branch's when the node has none). */
static void emit_object(struct cleaner *c, struct view *w, yyjson_mut_val *out, yyjson_val *items,
                        yyjson_mut_val *best, int depth)
{
    yyjson_mut_doc *d = c->d;
    yyjson_mut_val *props = NULL, *req = yyjson_mut_arr(d);
    /* an object-like node with items: the items' keys are its properties */
    if (yyjson_is_obj(items) && w->n_props < MAX_LISTS) {
        yyjson_val *ip = yyjson_obj_get(items, "properties");
        w->props[w->n_props++] = yyjson_is_obj(ip) ? ip : items;
    }
    emit_properties(c, w, out, &props, req, depth);
    if (best && yyjson_mut_obj_size(props) == 0) {
        yyjson_mut_val *bp = yyjson_mut_obj_get(best, "properties");
        yyjson_mut_val *br = yyjson_mut_obj_get(best, "required");
        if (bp)
            props = bp;
        if (br)
            req = br;
    }
    yyjson_mut_obj_add_val(d, out, "properties", props);
    if (yyjson_mut_arr_size(req))
        yyjson_mut_obj_add_val(d, out, "required", req);
}

/* One schema node as a Gemini node: the node's flat view (absorb), its type, then the members in
 * Gemini's whitelist. *nullable tells the parent the node admits null. */
static yyjson_mut_val *clean_node(struct cleaner *c, yyjson_val *node, int depth, bool *nullable)
{
    yyjson_mut_doc *d = c->d;
    struct view w;
    struct hint desc = {{0}, 0};
    memset(&w, 0, sizeof(w));

    yyjson_mut_val *out = yyjson_mut_obj(d);
    if (!out)
        return NULL;
    if (depth > MAX_DEPTH || !yyjson_is_obj(node)) {
        yyjson_mut_obj_add_str(d, out, "type", "string");
        return out;
    }
    if (is_shorthand(node)) {
        w.props[w.n_props++] = node;
    } else {
        absorb(c, &w, node, depth);
    }

    bool is_null = false;
    const char *type = pick_type(view_get(&w, "type"), &is_null);
    if (view_has(&w, "nullable") && yyjson_get_bool(view_get(&w, "nullable")))
        is_null = true;
    if (is_shorthand(node))
        type = "object";
    yyjson_mut_val *best = pick_branch(c, &w, depth, &is_null, &desc);

    yyjson_val *items = view_get(&w, "items");
    if (yyjson_is_arr(items))
        items = yyjson_arr_get_first(items);
    yyjson_val *en = view_get(&w, "enum");
    yyjson_val *cst = view_get(&w, "const");
    if (!type)
        type = infer_type(&w, best, items, en, cst);
    yyjson_mut_obj_add_strcpy(d, out, "type", type);

    emit_description(d, &w, out, best, &desc, is_null);
    emit_enum(d, out, en, cst);
    if (strcmp(type, "array") == 0)
        emit_items(c, out, items, best, depth);
    if (strcmp(type, "object") == 0)
        emit_object(c, &w, out, items, best, depth);
    *nullable = is_null;
    c->n_refs -= w.pushed;
    return out;
}

yyjson_mut_val *ag_json_schema_clean(yyjson_mut_doc *d, yyjson_val *schema)
{
    struct cleaner cl;
    struct cleaner *c = &cl;
    memset(c, 0, sizeof(*c));
    c->d = d;
    collect_defs(&c->defs, schema, 0);
    bool nullable = false;
    yyjson_mut_val *out;
    if (yyjson_is_obj(schema)) {
        out = clean_node(c, schema, 0, &nullable);
    } else {
        out = yyjson_mut_obj(d);
        yyjson_mut_obj_add_str(d, out, "type", "object");
        yyjson_mut_obj_add_val(d, out, "properties", yyjson_mut_obj(d));
    }
    return out;
}

yyjson_mut_val *ag_json_schema_clean_text(yyjson_mut_doc *d, struct ag_arena *arena,
                                          struct ag_str text)
{
    /* The same text converts the same way: a schema seen before on this thread is copied in
     * as the JSON text it converted to. */
    struct ag_str done = ag_schema_cache_get(text);
    if (done.p)
        return yyjson_mut_rawncpy(d, done.p, done.len);
    yyjson_doc *doc = ag_json_read(arena, text, AG_JSON_DEPTH_INTERNAL, NULL);
    if (!doc)
        return NULL;
    yyjson_mut_val *out = ag_json_schema_clean(d, yyjson_doc_get_root(doc));
    if (out)
        ag_schema_cache_put(text, ag_json_mut_text(arena, out));
    return out;
}
