/* Request bodies read in place, over real loopback sockets: once a Content-Length body is
 * admitted, the server reads the rest of it straight into the request's body buffer (the server's
 * count of copied body bytes stays at what came with the headers), and everything around that
 * path still holds: a body split at every byte, pipelined requests after a body, keep-alive
 * reuse, a client that sends less than it announced and closes, chunked bodies, a body at the
 * exact limit and one announced over it. */
#include "server_fixture.h"

#include <signal.h>
#include <time.h>

static void nap_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* A body of n bytes that is not the same at every offset (a misplaced byte shows). */
static char *pattern(size_t n, unsigned seed)
{
    char *b = ag_malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        b[i] = (char)('a' + (i * 7 + seed + i / 26) % 26);
    b[n] = '\0';
    return b;
}

/* "POST /echo" with a Content-Length body; the request's bytes in *out (caller frees). */
static size_t echo_request(const char *body, size_t n, char **out)
{
    char head[128];
    int hl = snprintf(head, sizeof(head),
                      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      "Content-Length: %zu\r\n\r\n",
                      n);
    char *r = ag_malloc((size_t)hl + n);
    memcpy(r, head, (size_t)hl);
    memcpy(r + hl, body, n);
    *out = r;
    return (size_t)hl + n;
}

static void read_echo(struct rh_conn *c, const char *body, size_t n)
{
    struct rh_resp r;
    assert_true(rh_read(c, &r, false));
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, n);
    assert_memory_equal(r.body, body, n);
    rh_resp_free(&r);
}

/* A 1 MiB body, twice on one connection: only what arrived with the headers is copied. */
static void large_bodies_land_in_place(void **state)
{
    struct fixture *fx = *state;
    const size_t n = 1024 * 1024;
    char *body = pattern(n, 1), *req;
    size_t len = echo_request(body, n, &req);
    struct rh_conn c;
    uint64_t before = fx_body_copied(fx);
    assert_true(rh_connect(&c, fx->port, 10000));
    for (int i = 0; i < 2; i++) {
        assert_true(rh_send(&c, req, len));
        read_echo(&c, body, n);
    }
    uint64_t copied = fx_body_copied(fx) - before;
    /* At most one read's worth (64 KiB) per request came with the headers. */
    assert_true(copied <= 2 * 64 * 1024);
    /* The headers alone first: then no body byte is copied at all. */
    size_t head = len - n;
    before = fx_body_copied(fx);
    assert_true(rh_send(&c, req, head));
    assert_true(fx_wait_counts(fx, 1, 1));
    nap_ms(50); /* lets the headers be read on their own (not asserted on) */
    assert_true(rh_send(&c, req + head, n));
    read_echo(&c, body, n);
    copied = fx_body_copied(fx) - before;
    assert_true(copied <= 64 * 1024);
    rh_close(&c);
    free(req);
    free(body);
}

/* A request split in two (and in three) at every byte, over one keep-alive connection. */
static void bodies_split_at_every_byte(void **state)
{
    struct fixture *fx = *state;
    const size_t n = 48;
    char *body = pattern(n, 2), *req;
    size_t len = echo_request(body, n, &req), head = len - n;
    struct rh_conn c;
    assert_true(rh_connect(&c, fx->port, 5000));
    for (size_t k = 1; k < len; k++) {
        assert_true(rh_send(&c, req, k));
        nap_ms(1);
        assert_true(rh_send(&c, req + k, len - k));
        read_echo(&c, body, n);
    }
    for (size_t k = head + 1; k < len; k++) {
        assert_true(rh_send(&c, req, head));
        nap_ms(1);
        assert_true(rh_send(&c, req + head, k - head));
        nap_ms(1);
        assert_true(rh_send(&c, req + k, len - k));
        read_echo(&c, body, n);
    }
    /* One body byte per write. */
    assert_true(rh_send(&c, req, head));
    for (size_t i = 0; i < n; i++) {
        nap_ms(1);
        assert_true(rh_send(&c, body + i, 1));
    }
    read_echo(&c, body, n);
    rh_close(&c);
    free(req);
    free(body);
}

/* The rest of a body and the next requests in one write: each is answered, in order. */
static void pipelined_requests_after_a_body(void **state)
{
    struct fixture *fx = *state;
    const size_t n1 = 200000, n2 = 3000;
    char *b1 = pattern(n1, 3), *b2 = pattern(n2, 4), *r1, *r2;
    size_t l1 = echo_request(b1, n1, &r1), l2 = echo_request(b2, n2, &r2);
    static const char r3[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    struct ag_buf tail;
    ag_buf_init(&tail, 0);
    assert_int_equal(ag_buf_append(&tail, r1 + l1 - n1 + 100, n1 - 100), 0);
    assert_int_equal(ag_buf_append(&tail, r2, l2), 0);
    assert_int_equal(ag_buf_append(&tail, r3, sizeof(r3) - 1), 0);
    struct rh_conn c;
    struct rh_resp r;
    assert_true(rh_connect(&c, fx->port, 5000));
    assert_true(rh_send(&c, r1, l1 - n1 + 100)); /* headers and the first 100 body bytes */
    assert_true(fx_wait_counts(fx, 1, 1));
    nap_ms(50);
    assert_true(rh_send(&c, tail.data, tail.len));
    read_echo(&c, b1, n1);
    read_echo(&c, b2, n2);
    assert_true(rh_read(&c, &r, false));
    assert_int_equal(r.status, 200);
    rh_resp_free(&r);
    rh_close(&c);
    ag_buf_dispose(&tail);
    free(r1);
    free(r2);
    free(b1);
    free(b2);
}

/* Less than the announced body, then the client closes: the request is dropped quietly. */
static void short_body_then_close(void **state)
{
    struct fixture *fx = *state;
    const size_t n = 100000;
    char *body = pattern(n, 5), *req;
    size_t len = echo_request(body, n, &req), head = len - n;
    for (int round = 0; round < 2; round++) {
        struct rh_conn c;
        assert_true(rh_connect(&c, fx->port, 5000));
        assert_true(rh_send(&c, req, round ? head : head + 10));
        assert_true(fx_wait_counts(fx, 1, 1));
        nap_ms(20);
        assert_true(rh_send(&c, req + head + 10, 5000));
        nap_ms(20);
        rh_close(&c);
        assert_true(fx_wait_counts(fx, 0, 0));
    }
    /* The server goes on as before. */
    struct rh_conn c;
    assert_true(rh_connect(&c, fx->port, 5000));
    assert_true(rh_send(&c, req, len));
    read_echo(&c, body, n);
    rh_close(&c);
    free(req);
    free(body);
}

/* A chunked body takes the copying path and still arrives whole. */
static void chunked_bodies_still_work(void **state)
{
    struct fixture *fx = *state;
    static const char req[] = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                              "Transfer-Encoding: chunked\r\n\r\n"
                              "5\r\nhello\r\n1\r\n \r\n";
    static const char rest[] = "5\r\nworld\r\n0\r\n\r\n";
    struct rh_conn c;
    uint64_t before = fx_body_copied(fx);
    assert_true(rh_connect(&c, fx->port, 5000));
    assert_true(rh_send_str(&c, req));
    nap_ms(20);
    assert_true(rh_send_str(&c, rest));
    read_echo(&c, "hello world", 11);
    assert_int_equal(fx_body_copied(fx) - before, 11);
    rh_close(&c);
}

/* A small request in one write: the body came with the headers and is copied from there. */
static void head_and_body_in_one_write(void **state)
{
    struct fixture *fx = *state;
    char *body = pattern(300, 6), *req;
    size_t len = echo_request(body, 300, &req);
    struct rh_conn c;
    uint64_t before = fx_body_copied(fx);
    assert_true(rh_connect(&c, fx->port, 5000));
    assert_true(rh_send(&c, req, len));
    read_echo(&c, body, 300);
    assert_int_equal(fx_body_copied(fx) - before, 300);
    rh_close(&c);
    free(req);
    free(body);
}

/* A body at the exact limit is read in place; one announced over it is refused before a byte of
 * it is sent. */
static void body_limit_is_kept(void **state)
{
    struct ag_http_limits lim = {.max_body_bytes = 65536};
    struct fixture *fx = fx_start(&lim, NULL);
    char *body = pattern(65536, 7), *req;
    size_t len = echo_request(body, 65536, &req), head = len - 65536;
    struct rh_conn c;
    struct rh_resp r;
    assert_true(rh_connect(&c, fx->port, 5000));
    assert_true(rh_send(&c, req, head));
    assert_true(fx_wait_counts(fx, 1, 1));
    nap_ms(20);
    assert_true(rh_send(&c, req + head, 65536));
    read_echo(&c, body, 65536);
    assert_true(rh_send_str(&c,
                            "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                            "Content-Length: 65537\r\n\r\n"));
    assert_true(rh_read(&c, &r, false));
    assert_int_equal(r.status, 413);
    rh_resp_free(&r);
    rh_close(&c);
    free(req);
    free(body);
    fx_stop(fx);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(large_bodies_land_in_place, setup, teardown),
        cmocka_unit_test_setup_teardown(bodies_split_at_every_byte, setup, teardown),
        cmocka_unit_test_setup_teardown(pipelined_requests_after_a_body, setup, teardown),
        cmocka_unit_test_setup_teardown(short_body_then_close, setup, teardown),
        cmocka_unit_test_setup_teardown(chunked_bodies_still_work, setup, teardown),
        cmocka_unit_test_setup_teardown(head_and_body_in_one_write, setup, teardown),
        cmocka_unit_test(body_limit_is_kept),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
