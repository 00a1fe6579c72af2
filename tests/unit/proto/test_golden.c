/* tests/unit/proto/test_golden.c: the golden conversion cases under tests/cases/<from>-to-<to>/.
 *
 * Each case folder holds some of:
 *   case.json              options: client adapter, URL hints (model, stream, sse, count_tokens,
 *                          content_type), ids, time, upstream target (model, project,
 *                          session_id, and the model's limits max_output_tokens and
 *                          thinking_budget_max)
 *   client_request.json    the client's body (need not be valid JSON)
 *   client_error.json      expected error body when decoding must fail (status in case.json)
 *   upstream_request.json  expected upstream body (compared as JSON)
 *   upstream_reply.sse     a scripted upstream SSE transcript
 *   upstream_reply.json    a scripted non-stream upstream body
 *   client_stream.txt      expected client stream (SSE frames compared one by one, data: JSON
 *                          semantically, "event:" names exactly; Gemini JSON-array streams
 *                          compared as one JSON value)
 *   client_response.json   expected non-stream body built from the collected events
 * The suite's name says the upstream: "-to-cloudcode", "-to-anthropic", "-to-openai" and
 * "-to-openai-compatible" (the openai adapter), "-to-gemini" (the public Gemini API); case.json
 * "upstream_path" checks the path a provider call goes to.
 * case.json "fit": true fits the decoded request to the target model first, as the relay does
 * after routing (ag_request_fit_target); "image_route": {"aspect_ratio","image_size"} makes it an
 * image request the way routing to an image model with those name suffixes does
 * (ag_images_fit_chat).
 * With AIGATE_GOLDEN_BLESS=1, missing expected files are written from the actual output (review
 * them before committing). A case with nothing to compare fails. */
#include "ag_test.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yyjson.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/err.h"
#include "proto/adapter.h"
#include "proto/images.h"

struct golden_case {
    char dir[2048];
    char name[512];
};

static char *slurp(const char *dir, const char *file, size_t *len)
{
    char path[2400];
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    struct ag_buf b;
    ag_buf_init(&b, 0);
    char tmp[4096];
    size_t n;
    while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
        ag_buf_append(&b, tmp, n);
    fclose(f);
    if (!b.data)
        ag_buf_append(&b, "", 0);
    return ag_buf_steal(&b, len);
}

static bool bless(const char *dir, const char *file, const char *data, size_t len)
{
    const char *env = getenv("AIGATE_GOLDEN_BLESS");
    if (!env || strcmp(env, "1") != 0)
        return false;
    char path[2400];
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    FILE *f = fopen(path, "wb");
    if (!f)
        return false;
    if (len && file[strlen(file) - 1] == 'n') {
        /* pretty-print JSON files so they are readable in review */
        yyjson_doc *doc = yyjson_read(data, len, 0);
        size_t plen = 0;
        char *pretty = doc ? yyjson_write(doc, YYJSON_WRITE_PRETTY_TWO_SPACES, &plen) : NULL;
        if (pretty) {
            fwrite(pretty, 1, plen, f);
            fputc('\n', f);
            free(pretty);
        } else {
            fwrite(data, 1, len, f);
        }
        yyjson_doc_free(doc);
    } else {
        fwrite(data, 1, len, f);
    }
    fclose(f);
    fprintf(stderr, "blessed %s\n", path);
    return true;
}

static void json_eq(const char *what, const char *want, size_t wlen, const char *got, size_t glen)
{
    yyjson_doc *w = yyjson_read(want, wlen, 0);
    yyjson_doc *g = yyjson_read(got, glen, 0);
    if (!w)
        fail_msg("%s: expected file is not JSON", what);
    if (!g)
        fail_msg("%s: output is not JSON: %.*s", what, (int)glen, got);
    if (!yyjson_equals(yyjson_doc_get_root(w), yyjson_doc_get_root(g))) {
        char *ws = yyjson_write(w, 0, NULL), *gs = yyjson_write(g, 0, NULL);
        print_error("%s differs\n  want: %s\n  got:  %s\n", what, ws, gs);
        free(ws);
        free(gs);
        yyjson_doc_free(w);
        yyjson_doc_free(g);
        fail();
    }
    yyjson_doc_free(w);
    yyjson_doc_free(g);
}

/* Splits SSE text into frames at blank lines; returns the number of frames. */
static size_t frames(const char *s, size_t len, struct ag_str *out, size_t max)
{
    size_t n = 0, start = 0;
    for (size_t i = 0; i + 1 < len + 1; i++) {
        if (i + 1 < len && s[i] == '\n' && s[i + 1] == '\n') {
            if (n < max)
                out[n++] = ag_str_make(s + start, i - start);
            start = i + 2;
            i++;
        }
    }
    if (start < len && n < max) {
        struct ag_str rest = ag_str_trim(ag_str_make(s + start, len - start));
        while (rest.len && (rest.p[rest.len - 1] == '\n' || rest.p[rest.len - 1] == '\r'))
            rest.len--;
        if (rest.len)
            out[n++] = rest;
    }
    return n;
}

/* Splits a named frame "event: <name>\ndata: {...}" into its event line and JSON; false when the
 * frame has another shape. */
static bool named_frame(struct ag_str f, struct ag_str *event, struct ag_str *json)
{
    ptrdiff_t nl = ag_str_find(f, '\n');
    if (!ag_str_has_prefix(f, "event: ") || nl < 0)
        return false;
    *event = ag_str_make(f.p, (size_t)nl);
    *json = ag_str_make(f.p + nl + 1, f.len - (size_t)nl - 1);
    if (!ag_str_has_prefix(*json, "data: {"))
        return false;
    json->p += 6;
    json->len -= 6;
    return true;
}

static void sse_eq(const char *want, size_t wlen, const char *got, size_t glen)
{
    static struct ag_str wf[512], gf[512];
    size_t nw = frames(want, wlen, wf, 512), ng = frames(got, glen, gf, 512);
    for (size_t i = 0; i < nw && i < ng; i++) {
        char what[64];
        snprintf(what, sizeof(what), "stream frame %zu", i);
        bool wj = ag_str_has_prefix(wf[i], "data: {"), gj = ag_str_has_prefix(gf[i], "data: {");
        struct ag_str we, wd, ge, gd;
        if (wj && gj) {
            json_eq(what, wf[i].p + 6, wf[i].len - 6, gf[i].p + 6, gf[i].len - 6);
        } else if (named_frame(wf[i], &we, &wd) && named_frame(gf[i], &ge, &gd)) {
            /* named SSE events (OpenAI Responses, Anthropic): the name exactly, data as JSON */
            if (!ag_str_eq(we, ge))
                fail_msg("%s event differs\n  want: %.*s\n  got:  %.*s", what, (int)we.len, we.p,
                         (int)ge.len, ge.p);
            json_eq(what, wd.p, wd.len, gd.p, gd.len);
        } else if (!ag_str_eq(wf[i], gf[i])) {
            fail_msg("%s differs\n  want: %.*s\n  got:  %.*s", what, (int)wf[i].len, wf[i].p,
                     (int)gf[i].len, gf[i].p);
        }
    }
    if (nw != ng)
        fail_msg("stream has %zu frames, expected %zu:\n%.*s", ng, nw, (int)glen, got);
}

struct sink {
    const struct ag_client_proto *client;
    struct ag_client_stream *enc;
    struct ag_buf *out;
};

static int to_stream(void *ud, const struct ag_event *ev)
{
    struct sink *s = ud;
    return s->client->stream_event(s->enc, ev, s->out);
}

/* Feeds every "data:" payload of an SSE transcript to the decoder. */
static void feed_sse(const struct ag_upstream_proto *up, struct ag_upstream_decoder *dec,
                     const char *sse, size_t len, ag_event_cb cb, void *ud)
{
    size_t i = 0;
    while (i < len) {
        size_t e = i;
        while (e < len && sse[e] != '\n')
            e++;
        struct ag_str line = ag_str_make(sse + i, e - i);
        if (line.len && line.p[line.len - 1] == '\r')
            line.len--;
        if (ag_str_has_prefix(line, "data:")) {
            struct ag_str payload = ag_str_trim(ag_str_make(line.p + 5, line.len - 5));
            int rc = up->decode_event(dec, payload, cb, ud);
            assert_true(rc == 0 || rc == AG_EPARSE);
        }
        i = e + 1;
    }
    assert_int_equal(up->decode_end(dec, cb, ud), 0);
}

static struct ag_str opt_str(yyjson_val *o, const char *key, const char *def)
{
    yyjson_val *v = yyjson_obj_get(o, key);
    if (yyjson_is_str(v))
        return ag_str_make(yyjson_get_str(v), yyjson_get_len(v));
    return ag_str_c(def);
}

static void run_case(void **state)
{
    const struct golden_case *gc = *state;
    size_t len = 0, wlen = 0;
    int compared = 0;
    char *opts = slurp(gc->dir, "case.json", &len);
    yyjson_doc *odoc = opts ? yyjson_read(opts, len, 0) : NULL;
    yyjson_val *o = odoc ? yyjson_doc_get_root(odoc) : NULL;
    /* the client adapter a suite's cases use unless case.json names one */
    const char *def_client = strstr(gc->dir, "/gemini-to-")      ? "gemini"
                             : strstr(gc->dir, "/responses-to-") ? "openai-responses"
                             : strstr(gc->dir, "/anthropic-to-") ? "anthropic"
                             : strstr(gc->dir, "/images-to-")    ? "openai-images"
                                                                 : "openai-chat";

    struct ag_arena arena;
    ag_arena_init(&arena, 8192, 64u << 20);
    struct ag_proto_ctx ctx = {.arena = &arena};
    ctx.request_id = opt_str(o, "request_id", "req0001");
    yyjson_val *now = yyjson_obj_get(o, "now");
    ctx.now = now ? yyjson_get_sint(now) : 1700000000;

    struct ag_str client_name = opt_str(o, "client", def_client);
    char cname[64];
    snprintf(cname, sizeof(cname), "%.*s", (int)client_name.len, client_name.p);
    const struct ag_client_proto *client = ag_client_proto_find(cname);
    /* the upstream adapter: the suite's "-to-<provider>" ("openai-compatible" speaks openai) */
    const char *to = strstr(gc->dir, "-to-");
    const char *up_name = !to                                      ? "cloudcode"
                          : strncmp(to, "-to-anthropic/", 14) == 0 ? "anthropic"
                          : strncmp(to, "-to-openai", 10) == 0     ? "openai"
                          : strncmp(to, "-to-gemini/", 11) == 0    ? "gemini"
                                                                   : "cloudcode";
    const struct ag_upstream_proto *up = ag_upstream_proto_find(up_name);
    assert_non_null(client);
    assert_non_null(up);

    yyjson_val *h = yyjson_obj_get(o, "hints");
    struct ag_client_hints hints = {0};
    hints.model = opt_str(h, "model", "");
    hints.stream = yyjson_get_bool(yyjson_obj_get(h, "stream"));
    hints.sse = yyjson_get_bool(yyjson_obj_get(h, "sse"));
    hints.count_tokens = yyjson_get_bool(yyjson_obj_get(h, "count_tokens"));
    hints.content_type = opt_str(h, "content_type", "");

    yyjson_val *t = yyjson_obj_get(o, "target");
    struct ag_upstream_target target = {0};
    target.model = opt_str(t, "model", "gemini-2.5-flash");
    target.project = opt_str(t, "project", "test-project");
    target.session_id = opt_str(t, "session_id", "-3858785285285838585");
    /* the model's limits as the relay passes them (the account's, else the built-in table) */
    target.max_output_tokens = (uint32_t)yyjson_get_uint(yyjson_obj_get(t, "max_output_tokens"));
    target.thinking_budget_max =
        (uint32_t)yyjson_get_uint(yyjson_obj_get(t, "thinking_budget_max"));

    char *body = slurp(gc->dir, "client_request.json", &len);
    assert_non_null(body);
    struct ag_request *req = NULL;
    struct ag_proto_error err = {0};
    int rc = client->decode_request(&ctx, ag_str_make(body, len), &hints, &req, &err);

    char *want_err = slurp(gc->dir, "client_error.json", &wlen);
    if (rc != 0) {
        struct ag_buf out;
        ag_buf_init(&out, 0);
        assert_int_equal(client->encode_error(&err, &out), 0);
        if (want_err) {
            json_eq("error body", want_err, wlen, out.data, out.len);
            compared++;
        } else if (bless(gc->dir, "client_error.json", out.data, out.len)) {
            compared++;
        } else {
            fail_msg("decode failed (%d): %.*s", rc, (int)out.len, out.data);
        }
        yyjson_val *st = yyjson_obj_get(o, "error_status");
        assert_non_null(st);
        assert_int_equal(err.status, yyjson_get_int(st));
        ag_buf_dispose(&out);
        goto out;
    }
    if (want_err)
        fail_msg("decode succeeded but an error was expected");

    yyjson_val *img = yyjson_obj_get(o, "image_route");
    if (yyjson_is_obj(img))
        ag_images_fit_chat(req, yyjson_get_str(yyjson_obj_get(img, "aspect_ratio")),
                           yyjson_get_str(yyjson_obj_get(img, "image_size")));
    if (yyjson_get_bool(yyjson_obj_get(o, "fit")))
        ag_request_fit_target(req, target.model);
    struct ag_upstream_call call;
    assert_int_equal(up->encode_request(&ctx, req, &target, &call), 0);
    char *want_up = slurp(gc->dir, "upstream_request.json", &wlen);
    if (want_up) {
        json_eq("upstream request", want_up, wlen, call.body.p, call.body.len);
        compared++;
    } else if (bless(gc->dir, "upstream_request.json", call.body.p, call.body.len)) {
        compared++;
    }
    struct ag_str method = opt_str(o, "upstream_method",
                                   strcmp(up_name, "openai") == 0      ? "chat/completions"
                                   : strcmp(up_name, "anthropic") == 0 ? "messages"
                                                                       : "streamGenerateContent");
    assert_true(ag_str_eq_c(method, call.method));
    struct ag_str path = opt_str(o, "upstream_path", "");
    if (path.len) /* provider APIs: the path after the account's base URL */
        assert_true(call.path && ag_str_eq_c(path, call.path));
    free(want_up);

    size_t sse_len = 0, json_len = 0;
    char *sse = slurp(gc->dir, "upstream_reply.sse", &sse_len);
    char *reply_json = slurp(gc->dir, "upstream_reply.json", &json_len);
    if (sse || reply_json) {
        bool want_stream = req->stream;
        yyjson_val *force = yyjson_obj_get(o, "collect");
        if (yyjson_is_bool(force))
            want_stream = !yyjson_get_bool(force);
        if (want_stream) {
            struct ag_buf out;
            ag_buf_init(&out, 0);
            struct sink s = {.client = client, .out = &out};
            s.enc = client->stream_new(&ctx, req, &hints);
            assert_non_null(s.enc);
            struct ag_upstream_decoder *dec = up->decoder_new(&ctx, req, &target);
            assert_non_null(dec);
            if (sse)
                feed_sse(up, dec, sse, sse_len, to_stream, &s);
            else
                assert_int_equal(
                    up->decode_response(dec, ag_str_make(reply_json, json_len), to_stream, &s), 0);
            assert_int_equal(client->stream_finish(s.enc, &out), 0);
            char *want = slurp(gc->dir, "client_stream.txt", &wlen);
            if (want) {
                if (out.len && out.data[0] == '[')
                    json_eq("JSON-array stream", want, wlen, out.data, out.len);
                else
                    sse_eq(want, wlen, out.data, out.len);
                compared++;
            } else if (bless(gc->dir, "client_stream.txt", out.data, out.len)) {
                compared++;
            } else {
                fail_msg("no client_stream.txt; output was:\n%.*s", (int)out.len, out.data);
            }
            free(want);
            ag_buf_dispose(&out);
        } else {
            struct ag_answer ans;
            ag_answer_init(&ans, &arena);
            struct ag_upstream_decoder *dec = up->decoder_new(&ctx, req, &target);
            assert_non_null(dec);
            if (sse)
                feed_sse(up, dec, sse, sse_len, ag_answer_cb, &ans);
            else
                assert_int_equal(
                    up->decode_response(dec, ag_str_make(reply_json, json_len), ag_answer_cb, &ans),
                    0);
            struct ag_buf out;
            ag_buf_init(&out, 0);
            if (ans.failed)
                assert_int_equal(client->encode_error(&ans.error, &out), 0);
            else
                assert_int_equal(client->encode_response(&ctx, req, &ans, &out), 0);
            char *want = slurp(gc->dir, "client_response.json", &wlen);
            if (want) {
                json_eq("client response", want, wlen, out.data, out.len);
                compared++;
            } else if (bless(gc->dir, "client_response.json", out.data, out.len)) {
                compared++;
            } else {
                fail_msg("no client_response.json; output was:\n%.*s", (int)out.len, out.data);
            }
            free(want);
            ag_buf_dispose(&out);
        }
    }
    free(sse);
    free(reply_json);
out:
    if (compared == 0)
        fail_msg("case %s compares nothing", gc->name);
    free(want_err);
    free(body);
    free(opts);
    yyjson_doc_free(odoc);
    ag_arena_dispose(&arena);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(((const struct golden_case *)a)->name, ((const struct golden_case *)b)->name);
}

/* Appends one case, growing the array by doubling; false when memory runs out. */
static bool add_case(struct golden_case **cases, size_t *n, size_t *cap, const char *dir,
                     const char *suite, const char *entry)
{
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 64;
        struct golden_case *grown = realloc(*cases, ncap * sizeof(**cases));
        if (!grown)
            return false;
        *cases = grown;
        *cap = ncap;
    }
    struct golden_case *gc = &(*cases)[*n];
    snprintf(gc->dir, sizeof(gc->dir), "%s/%.255s", dir, entry);
    snprintf(gc->name, sizeof(gc->name), "%s/%.255s", suite, entry);
    (*n)++;
    return true;
}

int main(void)
{
    static const char *suites[] = {"openai-to-cloudcode",
                                   "gemini-to-cloudcode",
                                   "responses-to-cloudcode",
                                   "anthropic-to-cloudcode",
                                   "images-to-cloudcode",
                                   "openai-to-anthropic",
                                   "anthropic-to-openai-compatible",
                                   "gemini-to-openai",
                                   "responses-to-anthropic"};
    struct golden_case *cases = NULL;
    struct CMUnitTest *tests = NULL;
    size_t n = 0, cap = 0;
    int rc = 1;
    const char *src = getenv("AIGATE_SOURCE_DIR");
    if (!src) {
        fprintf(stderr, "AIGATE_SOURCE_DIR is not set\n");
        return 1;
    }
    for (size_t s = 0; s < sizeof(suites) / sizeof(suites[0]); s++) {
        char dir[1024];
        snprintf(dir, sizeof(dir), "%.900s/tests/cases/%s", src, suites[s]);
        DIR *dp = opendir(dir);
        if (!dp) {
            fprintf(stderr, "missing %s\n", dir);
            goto out;
        }
        struct dirent *de;
        bool ok = true;
        while (ok && (de = readdir(dp))) {
            if (de->d_name[0] != '.')
                ok = add_case(&cases, &n, &cap, dir, suites[s], de->d_name);
        }
        closedir(dp);
        if (!ok) {
            fprintf(stderr, "out of memory listing %s\n", dir);
            goto out;
        }
    }
    if (n < 10) {
        fprintf(stderr, "only %zu golden cases found\n", n);
        goto out;
    }
    qsort(cases, n, sizeof(cases[0]), cmp_names);
    tests = calloc(n, sizeof(*tests));
    if (!tests)
        goto out;
    for (size_t i = 0; i < n; i++) {
        tests[i] = (struct CMUnitTest){cases[i].name, run_case, NULL, NULL, &cases[i]};
    }
    rc = _cmocka_run_group_tests("proto.golden", tests, n, NULL, NULL);
out:
    free(tests);
    free(cases);
    return rc;
}
