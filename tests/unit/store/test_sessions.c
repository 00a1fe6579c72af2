/* Unit tests for store/sessions.c and the writer's session jobs: rows keep the token's hash,
 * secret tag and times, expired rows are not loaded and go with the next put, the row bound
 * keeps the newest, delete and clear, and everything survives closing and opening the store. */
#include "ag_test.h"

#include "core/err.h"
#include "store/sessions.h"
#include "store/store.h"
#include "store/writer.h"

#include "store_test_util.h"

struct fixture {
    struct tmpdir t;
    struct ag_store *s;
    struct ag_writer *w;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    tmpdir_make(&f->t);
    assert_int_equal(ag_store_open(f->t.dir, &f->s, NULL, 0), 0);
    f->w = ag_writer_new(f->s, NULL);
    assert_non_null(f->w);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    ag_writer_free(f->w);
    ag_store_free(f->s);
    tmpdir_remove(&f->t);
    free(f);
    return 0;
}

struct seen {
    size_t n;
    struct ag_session_row rows[8];
};

static void on_row(const struct ag_session_row *row, void *ud)
{
    struct seen *v = ud;
    assert_true(v->n < 8);
    v->rows[v->n++] = *row;
}

static struct ag_session_row row_at(unsigned char b, int64_t created, int64_t expires)
{
    struct ag_session_row r;
    memset(r.hash, b, sizeof(r.hash));
    memset(r.secret_tag, b ^ 0xff, sizeof(r.secret_tag));
    r.created_ms = created;
    r.expires_ms = expires;
    return r;
}

static void put_load_reopen(void **state)
{
    struct fixture *f = *state;
    struct ag_session_row a = row_at(1, 1000, 50000), b = row_at(2, 2000, 3000);
    assert_int_equal(ag_writer_session_put(f->w, &a, 64), 0);
    assert_int_equal(ag_writer_session_put(f->w, &b, 64), 0);
    assert_int_equal(ag_writer_flush(f->w), 0);
    struct seen v = {0};
    assert_int_equal(ag_store_sessions_load(f->s, 2500, on_row, &v), 2);
    assert_memory_equal(v.rows[0].hash, a.hash, sizeof(a.hash));
    assert_memory_equal(v.rows[0].secret_tag, a.secret_tag, sizeof(a.secret_tag));
    assert_int_equal(v.rows[0].created_ms, 1000);
    assert_int_equal(v.rows[0].expires_ms, 50000);
    assert_int_equal(v.rows[1].expires_ms, 3000);
    /* b has expired by 3000: not loaded, and the next put removes it. */
    memset(&v, 0, sizeof(v));
    assert_int_equal(ag_store_sessions_load(f->s, 3000, on_row, &v), 1);
    struct ag_session_row c = row_at(3, 4000, 60000);
    assert_int_equal(ag_writer_session_put(f->w, &c, 64), 0);
    assert_int_equal(ag_writer_flush(f->w), 0);
    assert_int_equal(ag_store_sessions_count(f->s), 2);

    /* closed and opened again: the same rows */
    ag_writer_free(f->w);
    ag_store_free(f->s);
    assert_int_equal(ag_store_open(f->t.dir, &f->s, NULL, 0), 0);
    f->w = ag_writer_new(f->s, NULL);
    memset(&v, 0, sizeof(v));
    assert_int_equal(ag_store_sessions_load(f->s, 4000, on_row, &v), 2);
    assert_memory_equal(v.rows[1].hash, c.hash, sizeof(c.hash));

    assert_int_equal(ag_writer_session_delete(f->w, a.hash), 0);
    assert_int_equal(ag_writer_flush(f->w), 0);
    memset(&v, 0, sizeof(v));
    assert_int_equal(ag_store_sessions_load(f->s, 4000, on_row, &v), 1);
    assert_memory_equal(v.rows[0].hash, c.hash, sizeof(c.hash));
    assert_int_equal(ag_writer_sessions_clear(f->w), 0);
    assert_int_equal(ag_writer_flush(f->w), 0);
    assert_int_equal(ag_store_sessions_count(f->s), 0);
}

static void row_bound_keeps_newest(void **state)
{
    struct fixture *f = *state;
    for (unsigned char i = 1; i <= 5; i++) {
        struct ag_session_row r = row_at(i, 1000 * i, 100000);
        assert_int_equal(ag_writer_session_put(f->w, &r, 3), 0);
    }
    assert_int_equal(ag_writer_flush(f->w), 0);
    struct seen v = {0};
    assert_int_equal(ag_store_sessions_load(f->s, 0, on_row, &v), 3);
    assert_int_equal(v.rows[0].created_ms, 3000);
    assert_int_equal(v.rows[2].created_ms, 5000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(put_load_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(row_bound_keeps_newest, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
