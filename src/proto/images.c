/* proto/images.c: the OpenAI images client adapters (see images.h): request decoding for
 * generations (JSON) and edits (multipart/form-data), the size / quality mapping to Gemini's
 * imageConfig, and the {"created","data":[...]} answer.
 *
 * Mapping (the differences from Antigravity Manager are in docs/internals/proto.md):
 *   size          "WxH" → the nearest of Gemini's ratios (21:9 16:9 4:3 3:4 9:16 3:2 2:3 5:4 4:5
 *                 1:1; within 0.05 in the usual order, else the closest); a ratio "16:9"
 *                 as is; "auto" = no ratio; a longer side of 2048+ / 3072+ pixels asks 2K / 4K
 *   aspect_ratio  one of the ratios above; wins over size
 *   quality       standard / low / 1k → 1K, medium / 2k → 2K, hd / high / 4k → 4K, auto = none
 *   image_size    1K / 2K / 4K (any case; also spelled imageSize, in both endpoints); wins over
 *                 quality and size
 *   style         vivid / natural: a short style phrase appended to the prompt (only when given)
 *   n             1..8 → candidateCount
 *   model         default AG_IMAGES_DEFAULT_MODEL, also for OpenAI's dall-e-* / gpt-image-*
 */
#include "proto/images.h"

#include <stddef.h>
#include <string.h>

#include "core/err.h"
#include "proto/json.h"
#include "proto/multipart.h"
#include "proto/openai.h"

struct images_request {
    struct ag_request req; /* first: ag_images_meta_of casts back */
    struct ag_images_meta meta;
};

/* The fields both endpoints share, as text (multipart has nothing else). */
struct fields {
    struct ag_str prompt, model, size, quality, response_format, style, user, aspect_ratio,
        image_size;
    bool has_prompt;
    bool has_n;
    int64_t n;
};

/* The text fields of both endpoints: JSON string members of a generation, form fields of an edit.
 * One table, so that the two cannot drift apart. */
static const struct {
    const char *key;
    size_t off;
} text_fields[] = {
    {"prompt", offsetof(struct fields, prompt)},
    {"model", offsetof(struct fields, model)},
    {"size", offsetof(struct fields, size)},
    {"quality", offsetof(struct fields, quality)},
    {"response_format", offsetof(struct fields, response_format)},
    {"style", offsetof(struct fields, style)},
    {"user", offsetof(struct fields, user)},
    {"aspect_ratio", offsetof(struct fields, aspect_ratio)},
    {"image_size", offsetof(struct fields, image_size)},
    {"imageSize", offsetof(struct fields, image_size)}, /* Gemini's spelling */
};
#define N_TEXT_FIELDS (sizeof(text_fields) / sizeof(text_fields[0]))

static struct ag_str *text_field(struct fields *f, size_t i)
{
    return (struct ag_str *)(void *)((char *)f + text_fields[i].off);
}

struct dec {
    struct ag_arena *a;
    struct ag_proto_error *err;
    struct images_request *r;
};

static const char *const ratios[] = {"21:9", "16:9", "4:3", "3:4", "9:16",
                                     "3:2",  "2:3",  "5:4", "4:5", "1:1"};
static const char *const sizes[] = {"1K", "2K", "4K"};

static int bad_value(struct dec *d, const char *param, const char *code, const char *msg)
{
    ag_proto_error_set(d->err, d->a, 400, AG_PERR_INVALID, param, code, "Invalid '%s': %s", param,
                       msg);
    return AG_EINVAL;
}

static int bad_enum(struct dec *d, const char *param, struct ag_str got, const char *supported)
{
    ag_proto_error_set(d->err, d->a, 400, AG_PERR_INVALID, param, "invalid_value",
                       "Invalid value: '%.*s'. Supported values are: %s.", (int)got.len,
                       got.p ? got.p : "", supported);
    return AG_EINVAL;
}

static int missing(struct dec *d, const char *param)
{
    ag_proto_error_set(d->err, d->a, 400, AG_PERR_INVALID, param, "missing_required_parameter",
                       "Missing required parameter: '%s'.", param);
    return AG_EINVAL;
}

static bool eq_ci(struct ag_str s, const char *c)
{
    return ag_str_eq_ci(s, ag_str_c(c));
}

/* The static ratio string equal to s, or NULL. */
static const char *known_ratio(struct ag_str s)
{
    for (size_t i = 0; i < sizeof(ratios) / sizeof(ratios[0]); i++)
        if (ag_str_eq_c(s, ratios[i]))
            return ratios[i];
    return NULL;
}

static const char *known_size(struct ag_str s)
{
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
        if (eq_ci(s, sizes[i]))
            return sizes[i];
    return NULL;
}

/* "WxH" → the ratio: the first match within 0.05, else the nearest by quotient. */
static const char *ratio_of(double w, double h)
{
    double r = w / h, best = 1e9;
    const char *pick = "1:1";
    for (size_t i = 0; i < sizeof(ratios) / sizeof(ratios[0]); i++) {
        double a = (double)(ratios[i][0] - '0'), b;
        const char *colon = strchr(ratios[i], ':');
        if (ratios[i][1] != ':')
            a = a * 10 + (ratios[i][1] - '0');
        b = (double)(colon[1] - '0');
        if (colon[2])
            b = b * 10 + (colon[2] - '0');
        double q = a / b;
        if (r - q < 0.05 && q - r < 0.05)
            return ratios[i];
        double dist = r > q ? r / q : q / r;
        if (dist < best) {
            best = dist;
            pick = ratios[i];
        }
    }
    return pick;
}

/* size: "auto", a known ratio, or WIDTHxHEIGHT. */
static int apply_size(struct dec *d, struct ag_str s, const char *param)
{
    struct ag_image_config *ic = &d->r->req.image;
    const char *r;
    if (!s.len || eq_ci(s, "auto"))
        return 0;
    if ((r = known_ratio(s))) {
        ic->aspect_ratio = ag_str_c(r);
        d->r->meta.has_size = true;
        return 0;
    }
    ptrdiff_t x = -1;
    for (size_t i = 0; i < s.len; i++)
        if (s.p[i] == 'x' || s.p[i] == 'X')
            x = (ptrdiff_t)i;
    uint64_t w = 0, h = 0;
    if (x <= 0 || ag_str_to_u64(ag_str_make(s.p, (size_t)x), 100000, &w) ||
        ag_str_to_u64(ag_str_make(s.p + x + 1, s.len - (size_t)x - 1), 100000, &h) || !w || !h)
        return bad_value(d, param, "invalid_value",
                         "expected 'auto', WIDTHxHEIGHT (e.g. '1024x1024') or a ratio such as "
                         "'16:9'.");
    ic->aspect_ratio = ag_str_c(ratio_of((double)w, (double)h));
    d->r->meta.has_size = true;
    uint64_t side = w > h ? w : h;
    if (!ic->image_size.len && side >= 2048)
        ic->image_size = ag_str_c(side >= 3072 ? "4K" : "2K");
    return 0;
}

static int apply_quality(struct dec *d, struct ag_str q)
{
    static const struct {
        const char *name, *size;
    } map[] = {{"standard", "1K"}, {"low", "1K"},  {"1k", "1K"}, {"medium", "2K"}, {"2k", "2K"},
               {"hd", "4K"},       {"high", "4K"}, {"4k", "4K"}, {"auto", ""}};
    if (!q.len)
        return 0;
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if (eq_ci(q, map[i].name)) {
            if (map[i].size[0])
                d->r->req.image.image_size = ag_str_c(map[i].size);
            return 0;
        }
    }
    return bad_enum(d, "quality", q, "'standard', 'hd', 'low', 'medium', 'high', 'auto'");
}

static struct ag_part *add_part(struct dec *d, enum ag_part_type t)
{
    struct ag_message *m = &d->r->req.messages[0];
    struct ag_part *p = &m->parts[m->n_parts++];
    p->type = t;
    return p;
}

/* The fields shared by both endpoints → the canonical request. parts_cap: room for media. */
static int apply_fields(struct dec *d, const struct fields *f, size_t parts_cap)
{
    struct ag_request *req = &d->r->req;
    int rc;
    if (!f->has_prompt || !f->prompt.len)
        return missing(d, "prompt");
    req->model = f->model;
    if (!req->model.len || ag_str_has_prefix_ci(req->model, "dall-e") ||
        ag_str_has_prefix_ci(req->model, "gpt-image") ||
        ag_str_has_prefix_ci(req->model, "chatgpt-image"))
        req->model = AG_STR(AG_IMAGES_DEFAULT_MODEL);
    if (f->has_n) {
        if (f->n < 1 || f->n > AG_MAX_CHOICES)
            return bad_value(d, "n", "invalid_value", "expected an integer from 1 to 8.");
        req->gen.n = f->n;
    }
    req->image.on = true;
    if (f->image_size.len) {
        const char *s = known_size(f->image_size);
        if (!s)
            return bad_enum(d, "image_size", f->image_size, "'1K', '2K', '4K'");
        req->image.image_size = ag_str_c(s);
    }
    if (!req->image.image_size.len && (rc = apply_quality(d, f->quality)))
        return rc;
    if (f->aspect_ratio.len) {
        const char *r = known_ratio(f->aspect_ratio);
        if (!r)
            return bad_enum(d, "aspect_ratio", f->aspect_ratio,
                            "'21:9', '16:9', '4:3', '3:4', '9:16', '3:2', '2:3', '5:4', '4:5', "
                            "'1:1'");
        req->image.aspect_ratio = ag_str_c(r);
        d->r->meta.has_size = true;
    } else if ((rc = apply_size(d, f->size, "size"))) {
        return rc;
    }
    if (f->response_format.len) {
        if (ag_str_eq_c(f->response_format, "url"))
            d->r->meta.url = true;
        else if (!ag_str_eq_c(f->response_format, "b64_json"))
            return bad_enum(d, "response_format", f->response_format, "'url', 'b64_json'");
    }
    struct ag_str prompt = f->prompt;
    if (f->style.len) {
        const char *hint = ag_str_eq_c(f->style, "vivid")     ? "vivid colors, dramatic lighting"
                           : ag_str_eq_c(f->style, "natural") ? "natural lighting, realistic"
                                                              : NULL;
        if (!hint)
            return bad_enum(d, "style", f->style, "'vivid', 'natural'");
        char *s = ag_arena_printf(d->a, "%.*s\n\nStyle: %s.", (int)prompt.len, prompt.p, hint);
        if (!s)
            return AG_ETOOBIG;
        prompt = ag_str_c(s);
    }
    req->user = f->user;
    req->messages = ag_arena_calloc(d->a, sizeof(struct ag_message));
    if (!req->messages)
        return AG_ETOOBIG;
    req->n_messages = 1;
    req->messages[0].role = AG_ROLE_USER;
    req->messages[0].parts = ag_arena_calloc(d->a, (parts_cap + 1) * sizeof(struct ag_part));
    if (!req->messages[0].parts)
        return AG_ETOOBIG;
    add_part(d, AG_PART_TEXT)->text = prompt;
    return 0;
}

static struct images_request *new_request(struct dec *d, bool edit)
{
    d->r = ag_arena_calloc(d->a, sizeof(*d->r));
    if (!d->r)
        return NULL;
    ag_request_init(&d->r->req);
    d->r->meta.edit = edit;
    return d->r;
}

static int too_large(struct dec *d)
{
    ag_proto_error_set(d->err, d->a, 413, AG_PERR_TOO_LARGE, NULL, NULL,
                       "The request is too large.");
    return AG_ETOOBIG;
}

/* ---- generations (JSON) ---- */

static int json_str(struct dec *d, yyjson_val *root, const char *key, struct ag_str *out)
{
    yyjson_val *v = yyjson_obj_get(root, key);
    if (!v || yyjson_is_null(v))
        return 0;
    if (!yyjson_is_str(v)) {
        ag_proto_error_set(d->err, d->a, 400, AG_PERR_INVALID, key, "invalid_type",
                           "Invalid type for '%s': expected a string, but got %s instead.", key,
                           ag_openai_type_name(v));
        return AG_EINVAL;
    }
    *out = ag_json_str(v);
    return 0;
}

static int gen_decode(const struct ag_proto_ctx *ctx, struct ag_str body,
                      const struct ag_client_hints *hints, struct ag_request **out,
                      struct ag_proto_error *err)
{
    struct dec d = {.a = ctx->arena, .err = err};
    struct fields f = {0};
    int rc;
    (void)hints;
    yyjson_doc *doc = ag_json_read(ctx->arena, body, ctx->max_json_depth, &rc);
    yyjson_val *root = doc ? yyjson_doc_get_root(doc) : NULL, *v;
    if (rc == AG_EDEPTH)
        return ag_openai_too_deep(d.a, err, NULL, ctx->max_json_depth);
    if (rc == AG_ETOOBIG)
        return too_large(&d);
    if (!yyjson_is_obj(root)) {
        ag_proto_error_set(err, d.a, 400, AG_PERR_INVALID, NULL, NULL,
                           "We could not parse the JSON body of your request. The API expects a "
                           "JSON object.");
        return AG_EINVAL;
    }
    if (!new_request(&d, false))
        return too_large(&d);
    for (size_t i = 0; i < N_TEXT_FIELDS; i++)
        if ((rc = json_str(&d, root, text_fields[i].key, text_field(&f, i))))
            return rc;
    f.has_prompt = yyjson_is_str(yyjson_obj_get(root, "prompt"));
    if ((v = yyjson_obj_get(root, "n")) && !yyjson_is_null(v)) {
        if (!yyjson_is_int(v))
            return bad_value(&d, "n", "invalid_type", "expected an integer from 1 to 8.");
        f.has_n = true;
        f.n = yyjson_get_sint(v);
    }
    if (yyjson_get_bool(yyjson_obj_get(root, "stream")))
        return bad_value(&d, "stream", "unsupported_value",
                         "streaming image generation is not supported by this gateway.");
    if ((rc = apply_fields(&d, &f, 0)))
        return rc;
    *out = &d.r->req;
    return 0;
}

/* ---- edits (multipart) ---- */

/* The image type of some bytes, from their signature; NULL when unknown. */
static const char *sniff(struct ag_str b)
{
    const unsigned char *u = (const unsigned char *)b.p;
    if (b.len >= 8 && memcmp(u, "\x89PNG\r\n\x1a\n", 8) == 0)
        return "image/png";
    if (b.len >= 3 && u[0] == 0xff && u[1] == 0xd8 && u[2] == 0xff)
        return "image/jpeg";
    if (b.len >= 6 && (memcmp(u, "GIF87a", 6) == 0 || memcmp(u, "GIF89a", 6) == 0))
        return "image/gif";
    if (b.len >= 12 && memcmp(u, "RIFF", 4) == 0 && memcmp(u + 8, "WEBP", 4) == 0)
        return "image/webp";
    return NULL;
}

static struct ag_str base64(struct ag_arena *a, struct ag_str in)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = (in.len + 2) / 3 * 4;
    char *o = ag_arena_alloc(a, n + 1);
    const unsigned char *p = (const unsigned char *)in.p;
    size_t j = 0;
    if (!o)
        return AG_STR_NULL;
    for (size_t i = 0; i < in.len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < in.len)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < in.len)
            v |= p[i + 2];
        o[j++] = tab[(v >> 18) & 63];
        o[j++] = tab[(v >> 12) & 63];
        o[j++] = i + 1 < in.len ? tab[(v >> 6) & 63] : '=';
        o[j++] = i + 2 < in.len ? tab[v & 63] : '=';
    }
    o[j] = '\0';
    return ag_str_make(o, j);
}

/* An image file part → a media part of the message. */
static int add_image(struct dec *d, const struct ag_multipart_part *p, const char *param)
{
    if (!p->data.len)
        return bad_value(d, param, "invalid_value", "the file is empty.");
    const char *mime = sniff(p->data);
    if (!mime) {
        if (!ag_str_has_prefix_ci(p->content_type, "image/"))
            return bad_value(d, param, "invalid_image_format",
                             "unsupported image: expected PNG, JPEG, GIF or WebP.");
        mime = NULL;
    }
    struct ag_part *part = add_part(d, AG_PART_MEDIA);
    part->mime = mime ? ag_str_c(mime) : p->content_type;
    part->data = base64(d->a, p->data);
    return part->data.p ? 0 : AG_ETOOBIG;
}

/* Field names that carry an input image: "image", "image[]", "image1", ... (not image_size). */
static bool is_image_field(struct ag_str name)
{
    if (!ag_str_has_prefix(name, "image"))
        return false;
    struct ag_str rest = ag_str_make(name.p + 5, name.len - 5);
    if (!rest.len || ag_str_eq_c(rest, "[]"))
        return true;
    for (size_t i = 0; i < rest.len; i++)
        if (rest.p[i] < '0' || rest.p[i] > '9')
            return (rest.p[0] == '[' && rest.p[rest.len - 1] == ']');
    return true;
}

static int edit_decode(const struct ag_proto_ctx *ctx, struct ag_str body,
                       const struct ag_client_hints *hints, struct ag_request **out,
                       struct ag_proto_error *err)
{
    struct dec d = {.a = ctx->arena, .err = err};
    struct fields f = {0};
    struct ag_str boundary;
    int rc = ag_multipart_boundary(hints->content_type, &boundary);
    if (rc == AG_EINVAL) {
        ag_proto_error_set(err, d.a, 400, AG_PERR_INVALID, NULL, "invalid_content_type",
                           "Image edits take a multipart/form-data body.");
        return AG_EINVAL;
    }
    if (rc) {
        ag_proto_error_set(err, d.a, 400, AG_PERR_INVALID, NULL, "invalid_content_type",
                           "The multipart/form-data Content-Type has no valid boundary.");
        return AG_EINVAL;
    }
    struct ag_multipart *m = ag_arena_calloc(d.a, sizeof(*m));
    if (!m || !new_request(&d, true))
        return too_large(&d);
    rc = ag_multipart_parse(d.a, boundary, body, m);
    if (rc == AG_ETOOBIG) {
        ag_proto_error_set(err, d.a, 400, AG_PERR_INVALID, NULL, "invalid_value",
                           "The form has too many fields (at most %d).", AG_MULTIPART_MAX_PARTS);
        return AG_EINVAL;
    }
    if (rc) {
        ag_proto_error_set(err, d.a, 400, AG_PERR_INVALID, NULL, "invalid_multipart",
                           "The multipart/form-data body is malformed.");
        return AG_EINVAL;
    }
    size_t n_images = 0;
    for (size_t i = 0; i < m->n_parts; i++) {
        const struct ag_multipart_part *p = &m->parts[i];
        if (is_image_field(p->name)) {
            n_images++;
            continue;
        }
        for (size_t k = 0; k < N_TEXT_FIELDS; k++)
            if (ag_str_eq_c(p->name, text_fields[k].key))
                *text_field(&f, k) = p->data;
        if (ag_str_eq_c(p->name, "prompt"))
            f.has_prompt = true;
        if (ag_str_eq_c(p->name, "n")) {
            f.has_n = true;
            if (ag_str_to_i64(ag_str_trim(p->data), -1000, 1000, &f.n))
                return bad_value(&d, "n", "invalid_type", "expected an integer from 1 to 8.");
        }
    }
    if (!n_images)
        return missing(&d, "image");
    /* prompt, the images, a note on the mask and the mask */
    if ((rc = apply_fields(&d, &f, n_images + 2)))
        return rc;
    for (size_t i = 0; i < m->n_parts; i++)
        if (is_image_field(m->parts[i].name) && (rc = add_image(&d, &m->parts[i], "image")))
            return rc;
    const struct ag_multipart_part *mask = ag_multipart_get(m, "mask");
    if (mask) {
        /* Gemini has no mask input: say what the extra image is. */
        add_part(&d, AG_PART_TEXT)->text =
            AG_STR("The next image is a mask: edit only where it is transparent.");
        if ((rc = add_image(&d, mask, "mask")))
            return rc;
    }
    *out = &d.r->req;
    return 0;
}

/* ---- output ---- */

static int encode_response(const struct ag_proto_ctx *ctx, const struct ag_request *req,
                           const struct ag_answer *a, struct ag_buf *out)
{
    const struct ag_images_meta *meta = ag_images_meta_of(req);
    yyjson_mut_doc *d = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *root = yyjson_mut_obj(d), *data = yyjson_mut_arr(d);
    struct ag_arena *arena = ctx->arena;
    int rc = 0;
    yyjson_mut_obj_add_int(d, root, "created", ctx->now);
    for (int c = 0; c < a->n_choices; c++) {
        const struct ag_choice *ch = &a->choices[c];
        struct ag_str revised = ag_str_trim(ag_choice_text(arena, ch, AG_PART_TEXT));
        for (size_t i = 0; i < ch->n_parts; i++) {
            const struct ag_part *p = &ch->parts[i];
            if (p->type != AG_PART_MEDIA || !p->data.len)
                continue;
            yyjson_mut_val *item = yyjson_mut_arr_add_obj(d, data);
            if (meta->url) {
                char *u = ag_arena_printf(arena, "data:%.*s;base64,%.*s", (int)p->mime.len,
                                          p->mime.p, (int)p->data.len, p->data.p);
                if (!u) {
                    rc = AG_ETOOBIG;
                    goto out;
                }
                yyjson_mut_obj_add_str(d, item, "url", u);
            } else {
                ag_json_add_str(d, item, "b64_json", p->data);
            }
            if (revised.len)
                ag_json_add_str(d, item, "revised_prompt", revised);
        }
    }
    yyjson_mut_obj_add_val(d, root, "data", data);
    if (a->has_usage) {
        yyjson_mut_val *u = yyjson_mut_obj_add_obj(d, root, "usage");
        yyjson_mut_obj_add_int(d, u, "input_tokens", a->usage.input);
        yyjson_mut_obj_add_int(d, u, "output_tokens", a->usage.output);
        yyjson_mut_obj_add_int(d, u, "total_tokens",
                               a->usage.total ? a->usage.total : a->usage.input + a->usage.output);
    }
    rc = ag_json_mut_append(out, root);
out:
    yyjson_mut_doc_free(d);
    return rc;
}

/* Images never stream (stream: true is refused at decode); these keep the table complete. */
static struct ag_client_stream *no_stream_new(const struct ag_proto_ctx *ctx,
                                              const struct ag_request *req,
                                              const struct ag_client_hints *hints)
{
    (void)hints;
    return ag_openai_stream_new(ctx, req, false);
}

const struct ag_images_meta *ag_images_meta_of(const struct ag_request *req)
{
    return &((const struct images_request *)(const void *)req)->meta;
}

void ag_images_apply_route(struct ag_request *req, const char *route_aspect, const char *route_size)
{
    const struct ag_images_meta *meta = ag_images_meta_of(req);
    const char *r = route_aspect ? known_ratio(ag_str_c(route_aspect)) : NULL;
    const char *s = route_size ? known_size(ag_str_c(route_size)) : NULL;
    if (!req->image.aspect_ratio.len && !meta->has_size && r)
        req->image.aspect_ratio = ag_str_c(r);
    if (!req->image.aspect_ratio.len && !meta->edit)
        req->image.aspect_ratio = AG_STR("1:1");
    if (!req->image.image_size.len && s)
        req->image.image_size = ag_str_c(s);
}

void ag_images_fit_chat(struct ag_request *req, const char *route_aspect, const char *route_size)
{
    const char *r = route_aspect ? known_ratio(ag_str_c(route_aspect)) : NULL;
    const char *s = route_size ? known_size(ag_str_c(route_size)) : NULL;
    req->image.on = true;
    /* the client's own imageConfig (Gemini) first, then the name's suffixes, then square */
    const char *cr = known_ratio(req->image.aspect_ratio);
    const char *cs = known_size(req->image.image_size);
    req->image.aspect_ratio = cr ? ag_str_c(cr) : r ? ag_str_c(r) : AG_STR("1:1");
    req->image.image_size = cs ? ag_str_c(cs) : s ? ag_str_c(s) : AG_STR_NULL;
    /* image models take neither tools nor a system instruction (as Antigravity Manager has it) */
    req->n_tools = 0;
    req->tool_choice = AG_TOOL_CHOICE_DEFAULT;
    req->n_system = 0;
}

/* The two endpoints differ only in how the request is read. */
#define IMAGES_PROTO(proto_name, decode)                                                           \
    {                                                                                              \
        .name = (proto_name), .decode_request = (decode), .stream_new = no_stream_new,             \
        .stream_event = ag_openai_stream_event, .stream_finish = ag_openai_stream_finish,          \
        .encode_response = encode_response, .encode_error = ag_openai_encode_error,                \
    }

const struct ag_client_proto ag_proto_openai_images = IMAGES_PROTO("openai-images", gen_decode);
const struct ag_client_proto ag_proto_openai_image_edits =
    IMAGES_PROTO("openai-image-edits", edit_decode);
