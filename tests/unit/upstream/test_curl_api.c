/* tests/unit/upstream/test_curl_api.c: libcurl through upstream/curl_api.h, loaded on first use.
 * Each kind of variadic option argument reaches libcurl intact through the wrappers: longs,
 * object pointers, function pointers and curl_off_t for curl_easy_setopt and curl_multi_setopt,
 * result pointers for curl_easy_getinfo. Transfers read a local file (file://), no network. Two
 * threads whose first call into libcurl race load it once. */
#include "ag_test.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "upstream/curl_api.h"

struct tmpfile {
    char path[64];
    char url[96];
};

/* A file of n bytes ('x'). */
static void tmpfile_make(struct tmpfile *t, size_t n)
{
    snprintf(t->path, sizeof(t->path), "/tmp/aigate-curlapi-XXXXXX");
    int fd = mkstemp(t->path);
    assert_true(fd >= 0);
    char block[256];
    memset(block, 'x', sizeof(block));
    for (size_t done = 0; done < n;) {
        size_t k = n - done < sizeof(block) ? n - done : sizeof(block);
        assert_int_equal(write(fd, block, k), (ssize_t)k);
        done += k;
    }
    close(fd);
    snprintf(t->url, sizeof(t->url), "file://%s", t->path);
}

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
    struct ag_buf *b = ud;
    return ag_buf_append(b, p, size * n) == 0 ? size * n : 0;
}

static void loads_once_and_reports_no_error(void **state)
{
    assert_int_equal(ag_curl_api_load(), 0);
    assert_null(ag_curl_api_error());
    assert_int_equal(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
    curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
    assert_non_null(v);
    assert_true(v->version_num >= 0x073f00); /* 7.63 (the package's lower bound) */
}

/* A function pointer and an object pointer (write callback and its data), a long (NOSIGNAL) and
 * getinfo's long, off_t and pointer results. */
static void easy_setopt_and_getinfo_forward_each_type(void **state)
{
    struct tmpfile t;
    struct ag_buf body;
    int marker = 0;
    tmpfile_make(&t, 1000);
    ag_buf_init(&body, 4096);
    CURL *h = curl_easy_init();
    assert_non_null(h);
    assert_int_equal(curl_easy_setopt(h, CURLOPT_URL, t.url), CURLE_OK);
    assert_int_equal(curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect), CURLE_OK);
    assert_int_equal(curl_easy_setopt(h, CURLOPT_WRITEDATA, &body), CURLE_OK);
    assert_int_equal(curl_easy_setopt(h, CURLOPT_PRIVATE, &marker), CURLE_OK);
    assert_int_equal(curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L), CURLE_OK);
    assert_int_equal(curl_easy_perform(h), CURLE_OK);
    assert_int_equal(body.len, 1000);

    curl_off_t size = -1;
    assert_int_equal(curl_easy_getinfo(h, CURLINFO_SIZE_DOWNLOAD_T, &size), CURLE_OK);
    assert_int_equal(size, 1000);
    int *priv = NULL;
    assert_int_equal(curl_easy_getinfo(h, CURLINFO_PRIVATE, (char **)&priv), CURLE_OK);
    assert_ptr_equal(priv, &marker);
    long code = -1;
    assert_int_equal(curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code), CURLE_OK);
    assert_int_equal(code, 0); /* file:// has no status */

    /* An off_t option and its long variant (where the transfer starts in the file) reach libcurl
     * with their values. */
    curl_easy_reset(h);
    ag_buf_reset(&body);
    curl_easy_setopt(h, CURLOPT_URL, t.url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
    assert_int_equal(curl_easy_setopt(h, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)600), CURLE_OK);
    assert_int_equal(curl_easy_perform(h), CURLE_OK);
    assert_int_equal(body.len, 400);
    ag_buf_reset(&body);
    assert_int_equal(curl_easy_setopt(h, CURLOPT_RESUME_FROM, 900L), CURLE_OK);
    assert_int_equal(curl_easy_perform(h), CURLE_OK);
    assert_int_equal(body.len, 100);
    assert_non_null(strstr(curl_easy_strerror(CURLE_FILESIZE_EXCEEDED), "size"));

    /* An option libcurl does not know is refused by libcurl itself, not by the wrapper. */
    assert_int_equal(curl_easy_setopt(h, (CURLoption)9999, 1L), CURLE_UNKNOWN_OPTION);

    curl_easy_cleanup(h);
    ag_buf_dispose(&body);
    unlink(t.path);
}

struct timer_seen {
    int calls;
    long last_ms;
};

static int on_timer(CURLM *m, long timeout_ms, void *ud)
{
    struct timer_seen *s = ud;
    s->calls++;
    s->last_ms = timeout_ms;
    return 0;
}

/* The multi handle: a timer callback and its data (function and object pointers), a long option,
 * and a transfer driven by curl_multi_socket_action to its message. */
static void multi_setopt_forwards_each_type(void **state)
{
    struct tmpfile t;
    struct ag_buf body;
    struct timer_seen seen = {0};
    tmpfile_make(&t, 300);
    ag_buf_init(&body, 4096);
    CURLM *m = curl_multi_init();
    assert_non_null(m);
    assert_int_equal(curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, on_timer), CURLM_OK);
    assert_int_equal(curl_multi_setopt(m, CURLMOPT_TIMERDATA, &seen), CURLM_OK);
    assert_int_equal(curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, 3L), CURLM_OK);
    assert_int_equal(curl_multi_setopt(m, (CURLMoption)9999, 1L), CURLM_UNKNOWN_OPTION);

    CURL *h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_URL, t.url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
    assert_int_equal(curl_multi_add_handle(m, h), CURLM_OK);
    assert_true(seen.calls >= 1); /* adding a handle asks for a timeout */

    int running = 1, left = 0;
    CURLMsg *msg = NULL;
    for (int i = 0; i < 1000 && !msg; i++) {
        assert_int_equal(curl_multi_socket_action(m, CURL_SOCKET_TIMEOUT, 0, &running), CURLM_OK);
        msg = curl_multi_info_read(m, &left);
    }
    assert_non_null(msg);
    assert_int_equal(msg->msg, CURLMSG_DONE);
    assert_int_equal(msg->data.result, CURLE_OK);
    assert_int_equal(body.len, 300);
    assert_non_null(curl_multi_strerror(CURLM_OK));

    assert_int_equal(curl_multi_remove_handle(m, h), CURLM_OK);
    curl_easy_cleanup(h);
    assert_int_equal(curl_multi_cleanup(m), CURLM_OK);
    ag_buf_dispose(&body);
    unlink(t.path);
}

static void lists_and_urls(void **state)
{
    struct curl_slist *l = curl_slist_append(NULL, "A: 1");
    l = curl_slist_append(l, "B: 2");
    assert_non_null(l);
    assert_string_equal(l->next->data, "B: 2");
    curl_slist_free_all(l);

    CURLU *u = curl_url();
    char *host = NULL;
    assert_non_null(u);
    assert_int_equal(curl_url_set(u, CURLUPART_URL, "http://example.test:81/p", 0), CURLUE_OK);
    assert_int_equal(curl_url_get(u, CURLUPART_HOST, &host, 0), CURLUE_OK);
    assert_string_equal(host, "example.test");
    curl_free(host);
    curl_url_cleanup(u);
}

static void *first_call(void *ud)
{
    CURL *h = curl_easy_init();
    *(bool *)ud = h != NULL;
    curl_easy_cleanup(h);
    return NULL;
}

static void threads_racing_to_load_both_get_libcurl(void **state)
{
    pthread_t a, b;
    bool ok_a = false, ok_b = false;
    assert_int_equal(pthread_create(&a, NULL, first_call, &ok_a), 0);
    assert_int_equal(pthread_create(&b, NULL, first_call, &ok_b), 0);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    assert_true(ok_a);
    assert_true(ok_b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        /* first: two threads whose first libcurl call is the process's */
        cmocka_unit_test(threads_racing_to_load_both_get_libcurl),
        cmocka_unit_test(loads_once_and_reports_no_error),
        cmocka_unit_test(easy_setopt_and_getinfo_forward_each_type),
        cmocka_unit_test(multi_setopt_forwards_each_type),
        cmocka_unit_test(lists_and_urls),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
