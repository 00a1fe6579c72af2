/* Unit tests of core/json_depth: the exact boundary (depth == limit passes, limit + 1 is
 * refused) for arrays, objects and mixed nesting; siblings do not add up; the reading wrapper's
 * three failures; and a 1 MiB array-of-arrays checked on a thread with a 32 KiB stack, which a
 * recursive walk does not survive even when it stops at the largest limit (1024 frames). */
#include "ag_test.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/json_depth.h"

/* n arrays nested, the innermost holding inner (may be ""). malloc'd. */
static char *nested_arrays(size_t n, const char *inner)
{
    size_t il = strlen(inner);
    char *s = malloc(2 * n + il + 1);
    assert_non_null(s);
    memset(s, '[', n);
    memcpy(s + n, inner, il);
    memset(s + n + il, ']', n);
    s[2 * n + il] = '\0';
    return s;
}

/* n objects nested: {"k":{"k":...{"k":1}...}}. malloc'd. */
static char *nested_objects(size_t n)
{
    size_t cap = 6 * n + 2, len = 0;
    char *s = malloc(cap);
    assert_non_null(s);
    for (size_t i = 0; i < n; i++) {
        memcpy(s + len, "{\"k\":", 5);
        len += 5;
    }
    s[len++] = '1';
    memset(s + len, '}', n);
    len += n;
    s[len] = '\0';
    return s;
}

/* ag_json_depth_check of text (which must be JSON) against limit. */
static int check_text(const char *text, size_t limit)
{
    yyjson_doc *d = yyjson_read(text, strlen(text), 0);
    assert_non_null(d);
    int rc = ag_json_depth_check(yyjson_doc_get_root(d), limit);
    yyjson_doc_free(d);
    return rc;
}

static void boundary_is_exact_for_arrays_and_objects(void **state)
{
    (void)state;
    const size_t limits[] = {AG_JSON_DEPTH_MIN, AG_JSON_DEPTH_DEFAULT, AG_JSON_DEPTH_MAX};
    for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
        size_t lim = limits[i];
        char *at = nested_arrays(lim, "1"), *over = nested_arrays(lim + 1, "1");
        assert_int_equal(check_text(at, lim), 0);
        assert_int_equal(check_text(over, lim), AG_EDEPTH);
        free(at);
        free(over);
        at = nested_objects(lim);
        over = nested_objects(lim + 1);
        assert_int_equal(check_text(at, lim), 0);
        assert_int_equal(check_text(over, lim), AG_EDEPTH);
        free(at);
        free(over);
    }
}

static void zero_means_the_default(void **state)
{
    (void)state;
    char *at = nested_arrays(AG_JSON_DEPTH_DEFAULT, ""),
         *over = nested_arrays(AG_JSON_DEPTH_DEFAULT + 1, "");
    assert_int_equal(check_text(at, 0), 0);
    assert_int_equal(check_text(over, 0), AG_EDEPTH);
    free(at);
    free(over);
}

static void depth_counts_containers_not_siblings_or_keys(void **state)
{
    (void)state;
    assert_int_equal(ag_json_depth_check(NULL, 1), 0);
    assert_int_equal(check_text("1", 1), 0);
    assert_int_equal(check_text("\"[[[[[[[[[[[[\"", 1), 0); /* brackets in a string */
    assert_int_equal(check_text("[]", 1), 0);
    assert_int_equal(check_text("{}", 1), 0);
    assert_int_equal(check_text("[[]]", 1), AG_EDEPTH);
    /* many siblings, each two deep: depth 3 however many there are */
    assert_int_equal(check_text("[[[]],[[1]],{\"a\":[2]},[{}]]", 3), 0);
    assert_int_equal(check_text("[[[]],[[1]],{\"a\":[2]},[{}]]", 2), AG_EDEPTH);
    /* the deep branch comes last, after closed ones */
    assert_int_equal(check_text("{\"a\":[],\"b\":{\"c\":1},\"d\":[[[[]]]]}", 5), 0);
    assert_int_equal(check_text("{\"a\":[],\"b\":{\"c\":1},\"d\":[[[[]]]]}", 4), AG_EDEPTH);
    /* a value nested in an object inside arrays: {"k":[{"k":[1]}]} is 4 */
    assert_int_equal(check_text("{\"k\":[{\"k\":[1]}]}", 4), 0);
    assert_int_equal(check_text("{\"k\":[{\"k\":[1]}]}", 3), AG_EDEPTH);
}

static void *failing_malloc(void *ctx, size_t size)
{
    (void)ctx;
    (void)size;
    return NULL;
}

static void *failing_realloc(void *ctx, void *ptr, size_t old, size_t size)
{
    (void)ctx;
    (void)ptr;
    (void)old;
    (void)size;
    return NULL;
}

static void no_free(void *ctx, void *ptr)
{
    (void)ctx;
    (void)ptr;
}

static void read_reports_parse_memory_and_depth(void **state)
{
    (void)state;
    int err = 1;
    yyjson_read_err rerr;
    yyjson_doc *d = ag_json_depth_read("{\"a\":[1,2]}", 11, 2, NULL, &rerr, &err);
    assert_non_null(d);
    assert_int_equal(err, 0);
    yyjson_doc_free(d);

    assert_null(ag_json_depth_read("{\"a\":[1,2]}", 11, 1, NULL, NULL, &err));
    assert_int_equal(err, AG_EDEPTH);

    assert_null(ag_json_depth_read("{\"a\":", 5, 8, NULL, &rerr, &err));
    assert_int_equal(err, AG_EPARSE);
    assert_true(rerr.pos <= 5);
    assert_null(ag_json_depth_read(NULL, 0, 8, NULL, NULL, &err));
    assert_int_equal(err, AG_EPARSE);

    yyjson_alc none = {failing_malloc, failing_realloc, no_free, NULL};
    assert_null(ag_json_depth_read("[1]", 3, 8, &none, NULL, &err));
    assert_int_equal(err, AG_ENOMEM);
}

/* A document of no more values than the limit cannot be too deep (the read skips the walk for
 * it): bare nesting of exactly limit containers passes, one more fails, also when the values
 * just outnumber the limit. */
static void read_boundary_with_few_values(void **state)
{
    (void)state;
    int err = 1;
    yyjson_doc *d = ag_json_depth_read("[[[[]]]]", 8, 4, NULL, NULL, &err);
    assert_non_null(d);
    assert_int_equal(err, 0);
    yyjson_doc_free(d);
    assert_null(ag_json_depth_read("[[[[[]]]]]", 10, 4, NULL, NULL, &err));
    assert_int_equal(err, AG_EDEPTH);
    assert_null(ag_json_depth_read("[[[[[1]]]]]", 11, 4, NULL, NULL, &err));
    assert_int_equal(err, AG_EDEPTH);
    d = ag_json_depth_read("[[[[[1]]]]]", 11, 5, NULL, NULL, &err);
    assert_non_null(d);
    yyjson_doc_free(d);
}

/* ---- bounded stack ---- */

struct deep_job {
    const char *text;
    size_t len;
    int over_rc;   /* check of the whole document at AG_JSON_DEPTH_MAX */
    int within_rc; /* check of its innermost AG_JSON_DEPTH_MAX levels at AG_JSON_DEPTH_MAX */
    int read_err;  /* ag_json_depth_read of the whole text */
};

static void *deep_run(void *arg)
{
    struct deep_job *j = arg;
    yyjson_doc *d = yyjson_read(j->text, j->len, 0);
    if (!d)
        return NULL;
    j->over_rc = ag_json_depth_check(yyjson_doc_get_root(d), AG_JSON_DEPTH_MAX);
    /* the value AG_JSON_DEPTH_MAX levels from the bottom: walked to the end, no early stop */
    size_t n = j->len / 2;
    yyjson_val *v = yyjson_doc_get_root(d);
    for (size_t i = 0; i < n - AG_JSON_DEPTH_MAX; i++)
        v = yyjson_arr_get_first(v);
    j->within_rc = ag_json_depth_check(v, AG_JSON_DEPTH_MAX);
    yyjson_doc_free(d);
    yyjson_doc *again =
        ag_json_depth_read(j->text, j->len, AG_JSON_DEPTH_MAX, NULL, NULL, &j->read_err);
    yyjson_doc_free(again);
    return j;
}

static void one_mib_of_arrays_on_a_small_stack(void **state)
{
    (void)state;
    size_t n = 512 * 1024; /* 1 MiB of text: n '[' then n ']' */
    char *text = nested_arrays(n, "");
    struct deep_job job = {.text = text, .len = 2 * n, .over_rc = 1, .within_rc = 1};
    pthread_attr_t attr;
    pthread_t th;
    void *ret = NULL;
    assert_int_equal(pthread_attr_init(&attr), 0);
    assert_int_equal(pthread_attr_setstacksize(&attr, 32 * 1024), 0);
    assert_int_equal(pthread_create(&th, &attr, deep_run, &job), 0);
    assert_int_equal(pthread_join(th, &ret), 0);
    pthread_attr_destroy(&attr);
    assert_ptr_equal(ret, &job);
    assert_int_equal(job.over_rc, AG_EDEPTH);
    assert_int_equal(job.within_rc, 0);
    assert_int_equal(job.read_err, AG_EDEPTH);
    free(text);
}

/* Read to the document's end only (YYJSON_READ_STOP_WHEN_DONE), the text is still accepted or
 * refused exactly as a plain read does it, whatever follows the document. */
static void stop_when_done_judges_the_rest(void **state)
{
    (void)state;
    static const char *texts[] = {
        "{}",      "{} ", "{}\t\r\n", "{}x",   "{} {}",  "[1] ,",  "1",
        "1 ",      "1 2", "123abc",   "\"s\"", "\"s\"x", "[[1]]",  "[[[1]]]",
        "{\"a\":", "",    "{}/*c*/",  "tru",   "true ",  "null\n", "[]\x01",
    };
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        size_t len = strlen(texts[i]);
        for (size_t withnul = 0; withnul < 2; withnul++) { /* then with a NUL byte after it */
            int plain = 1, stop = 1;
            yyjson_doc *a = ag_json_depth_read(texts[i], len + withnul, 2, NULL, NULL, &plain);
            yyjson_doc *b = ag_json_depth_read_flags(
                texts[i], len + withnul, YYJSON_READ_STOP_WHEN_DONE, 2, NULL, NULL, &stop);
            if (plain != stop || !a != !b)
                fail_msg("'%s' (+%zu NUL): plain %d, stopping %d", texts[i], withnul, plain, stop);
            yyjson_doc_free(a);
            yyjson_doc_free(b);
        }
    }
    yyjson_read_err rerr;
    int err = 0;
    assert_null(
        ag_json_depth_read_flags("{} x", 4, YYJSON_READ_STOP_WHEN_DONE, 8, NULL, &rerr, &err));
    assert_int_equal(err, AG_EPARSE);
    assert_int_equal(rerr.code, YYJSON_READ_ERROR_UNEXPECTED_CONTENT);
    assert_int_equal(rerr.pos, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(boundary_is_exact_for_arrays_and_objects),
        cmocka_unit_test(zero_means_the_default),
        cmocka_unit_test(depth_counts_containers_not_siblings_or_keys),
        cmocka_unit_test(read_reports_parse_memory_and_depth),
        cmocka_unit_test(read_boundary_with_few_values),
        cmocka_unit_test(one_mib_of_arrays_on_a_small_stack),
        cmocka_unit_test(stop_when_done_judges_the_rest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
