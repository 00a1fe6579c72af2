/* tests/unit/pool/test_errclass_cases.c: the recorded upstream error bodies of
 * tests/cases/upstream-429/ (see its README): each is classified as the relay does
 * (upstream/errclass.h) and turned into the cooldown the pool gives the account
 * (ag_pool_cooldown_ms, first failure), and both are compared with the case's expectations. */
#include "ag_test.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yyjson.h>

#include "pool/pool.h"
#include "upstream/errclass.h"

#define DEFAULT_NOW     1750000000LL
#define DEFAULT_RESET_S 18000
#define CAP_MS          (86400LL * 1000)
#define MAX_CASES       128

struct errcase {
    char path[2048];
    char name[256];
};

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *data = NULL;
    long n;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        data = malloc((size_t)n + 1);
        if (data && fread(data, 1, (size_t)n, f) == (size_t)n) {
            data[n] = '\0';
            *len = (size_t)n;
        } else {
            free(data);
            data = NULL;
        }
    }
    fclose(f);
    return data;
}

static const char *limit_name(enum ag_errclass_limit l)
{
    switch (l) {
    case AG_LIMIT_QUOTA_EXHAUSTED:
        return "quota";
    case AG_LIMIT_RATE:
        return "rate";
    case AG_LIMIT_MODEL_CAPACITY:
        return "capacity";
    case AG_LIMIT_UNKNOWN:
        break;
    }
    return "unknown";
}

static const char *src_name(enum ag_errclass_delay_src s)
{
    switch (s) {
    case AG_DELAY_RETRY_INFO:
        return "retry_info";
    case AG_DELAY_QUOTA_RESET:
        return "quota_reset";
    case AG_DELAY_RESET_TIME:
        return "reset_time";
    case AG_DELAY_RETRY_AFTER:
        return "retry_after";
    case AG_DELAY_BODY_FIELD:
        return "body_field";
    case AG_DELAY_MESSAGE:
        return "message";
    case AG_DELAY_NONE:
        break;
    }
    return "none";
}

static void expect_str(const char *name, yyjson_val *want, const char *field, const char *got)
{
    yyjson_val *v = yyjson_obj_get(want, field);
    if (v && strcmp(yyjson_get_str(v), got) != 0)
        fail_msg("%s: %s is \"%s\", expected \"%s\"", name, field, got, yyjson_get_str(v));
}

static void expect_int(const char *name, yyjson_val *want, const char *field, int64_t got)
{
    yyjson_val *v = yyjson_obj_get(want, field);
    if (v && yyjson_get_sint(v) != got)
        fail_msg("%s: %s is %lld, expected %lld", name, field, (long long)got,
                 (long long)yyjson_get_sint(v));
}

static void expect_bool(const char *name, yyjson_val *want, const char *field, bool got)
{
    yyjson_val *v = yyjson_obj_get(want, field);
    if (v && yyjson_get_bool(v) != got)
        fail_msg("%s: %s is %s, expected the opposite", name, field, got ? "true" : "false");
}

static void run_case(void **state)
{
    const struct errcase *ec = *state;
    size_t len = 0;
    char *text = slurp(ec->path, &len);
    assert_non_null(text);
    yyjson_doc *doc = yyjson_read(text, len, 0);
    yyjson_val *root = yyjson_doc_get_root(doc), *want, *v;
    char *body = NULL;
    struct ag_str body_s = AG_STR("");
    if (!yyjson_is_obj(root))
        fail_msg("%s is not a JSON object", ec->name);
    want = yyjson_obj_get(root, "expect");
    if (!yyjson_is_obj(want) || !yyjson_obj_get(want, "kind"))
        fail_msg("%s: no expectations", ec->name);

    if ((v = yyjson_obj_get(root, "body"))) {
        body = yyjson_val_write(v, 0, NULL);
        body_s = ag_str_c(body);
    } else if (yyjson_is_str(v = yyjson_obj_get(root, "body_text"))) {
        body_s = ag_str_make(yyjson_get_str(v), yyjson_get_len(v));
    }
    v = yyjson_obj_get(root, "retry_after");
    struct ag_str ra = yyjson_is_str(v) ? ag_str_c(yyjson_get_str(v)) : AG_STR_NULL;
    v = yyjson_obj_get(root, "now");
    int64_t now_s = v ? yyjson_get_sint(v) : DEFAULT_NOW;
    v = yyjson_obj_get(root, "stored_reset_in_s");
    int64_t reset_s = now_s + (v ? yyjson_get_sint(v) : DEFAULT_RESET_S);

    struct ag_errclass e;
    ag_errclass_http((int)yyjson_get_int(yyjson_obj_get(root, "status")), body_s, ra, now_s, &e);
    expect_str(ec->name, want, "kind", ag_errclass_kind_name(e.kind));
    expect_str(ec->name, want, "limit", limit_name(e.limit));
    expect_bool(ec->name, want, "quota_exhausted", e.quota_exhausted);
    expect_int(ec->name, want, "delay_ms", e.retry_delay_ms);
    expect_str(ec->name, want, "delay_src", src_name(e.delay_src));
    expect_str(ec->name, want, "reason", e.reason);

    struct ag_pool_outcome o;
    bool probing = false;
    ag_pool_outcome_from_errclass(&e, "claude", "claude-sonnet-4-6", &o);
    int64_t ms = ag_pool_cooldown_ms(&o, 0, now_s * 1000, reset_s, CAP_MS, &probing);
    expect_int(ec->name, want, "cooldown_ms", ms);
    expect_bool(ec->name, want, "probing", probing);

    free(body);
    yyjson_doc_free(doc);
    free(text);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(((const struct errcase *)a)->name, ((const struct errcase *)b)->name);
}

int main(void)
{
    static struct errcase cases[MAX_CASES];
    static struct CMUnitTest tests[MAX_CASES];
    const char *src = getenv("AIGATE_SOURCE_DIR");
    char dir[1024];
    size_t n = 0;
    struct dirent *de;
    DIR *dp;

    if (!src) {
        fprintf(stderr, "AIGATE_SOURCE_DIR is not set\n");
        return 1;
    }
    snprintf(dir, sizeof(dir), "%.900s/tests/cases/upstream-429", src);
    dp = opendir(dir);
    if (!dp) {
        fprintf(stderr, "missing %s\n", dir);
        return 1;
    }
    while ((de = readdir(dp)) && n < MAX_CASES) {
        size_t l = strlen(de->d_name);
        if (l < 6 || strcmp(de->d_name + l - 5, ".json") != 0)
            continue;
        snprintf(cases[n].path, sizeof(cases[n].path), "%s/%s", dir, de->d_name);
        snprintf(cases[n].name, sizeof(cases[n].name), "%.*s", (int)(l - 5), de->d_name);
        n++;
    }
    closedir(dp);
    if (n < 10) {
        fprintf(stderr, "only %zu cases in %s\n", n, dir);
        return 1;
    }
    qsort(cases, n, sizeof(cases[0]), cmp_names);
    for (size_t i = 0; i < n; i++)
        tests[i] = (struct CMUnitTest){
            .name = cases[i].name, .test_func = run_case, .initial_state = &cases[i]};
    return _cmocka_run_group_tests("errclass_cases", tests, n, NULL, NULL);
}
