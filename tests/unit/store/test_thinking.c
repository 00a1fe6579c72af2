/* Unit tests for store/thinking.c and the writer's thinking jobs: upsert by (conv, tool_id), the
 * TTL and count bounds applied by each put, clear, and loading the unexpired rows oldest first,
 * also after the store is closed and opened again. */
#include "ag_test.h"

#include "core/err.h"
#include "store/migrate.h"
#include "store/store.h"
#include "store/thinking.h"
#include "store/writer.h"

#include "store_test_util.h"

#define TTL 10000

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

/* What a load saw, in order. */
struct seen {
    size_t n;
    char conv[8][32], tool[8][32], text[8][64], sig[8][32];
    int64_t ms[8];
};

static void copy(char *dst, size_t cap, struct ag_str s)
{
    assert_true(s.len < cap);
    memcpy(dst, s.p, s.len);
    dst[s.len] = '\0';
}

static void on_row(const struct ag_thinking_row *row, void *ud)
{
    struct seen *v = ud;
    assert_true(v->n < 8);
    copy(v->conv[v->n], sizeof(v->conv[0]), row->conv);
    copy(v->tool[v->n], sizeof(v->tool[0]), row->tool_id);
    copy(v->text[v->n], sizeof(v->text[0]), row->text);
    copy(v->sig[v->n], sizeof(v->sig[0]), row->sig);
    v->ms[v->n] = row->stored_ms;
    v->n++;
}

static void put(struct fixture *f, const char *conv, const char *tool, const char *text, int64_t ms,
                int64_t max_rows)
{
    struct ag_thinking_row row = {.conv = ag_str_c(conv),
                                  .tool_id = ag_str_c(tool),
                                  .text = ag_str_c(text),
                                  .sig = AG_STR("sig-abc"),
                                  .stored_ms = ms};
    assert_int_equal(ag_writer_thinking_put(f->w, &row, TTL, max_rows, 0), 0);
}

static void put_upserts_and_loads_oldest_first(void **state)
{
    struct fixture *f = *state;
    put(f, "conv-a", "toolu_1", "first thought", 1000, 100);
    put(f, "conv-a", "toolu_2", "second thought", 2000, 100);
    put(f, "conv-b", "toolu_1", "other conversation", 1500, 100);
    /* the same key again: replaced, with its new time */
    put(f, "conv-a", "toolu_1", "first thought, again", 3000, 100);
    assert_int_equal(ag_writer_flush(f->w), 0);
    assert_int_equal(ag_store_thinking_count(f->s), 3);

    struct seen v = {0};
    assert_int_equal(ag_store_thinking_load(f->s, 4000, TTL, on_row, &v), 3);
    assert_int_equal(v.n, 3);
    assert_string_equal(v.conv[0], "conv-b");
    assert_string_equal(v.text[0], "other conversation");
    assert_int_equal(v.ms[0], 1500);
    assert_string_equal(v.tool[1], "toolu_2");
    assert_string_equal(v.conv[2], "conv-a");
    assert_string_equal(v.tool[2], "toolu_1");
    assert_string_equal(v.text[2], "first thought, again");
    assert_string_equal(v.sig[2], "sig-abc");
    assert_int_equal(v.ms[2], 3000);
}

static void put_deletes_expired_rows_and_load_skips_them(void **state)
{
    struct fixture *f = *state;
    put(f, "c", "old", "old thought", 1000, 100);
    put(f, "c", "mid", "mid thought", 5000, 100);
    assert_int_equal(ag_writer_flush(f->w), 0);
    assert_int_equal(ag_store_thinking_count(f->s), 2);

    /* a load later than the TTL after "old" skips it, though it is still in the table */
    struct seen v = {0};
    assert_int_equal(ag_store_thinking_load(f->s, 1000 + TTL + 1, TTL, on_row, &v), 1);
    assert_string_equal(v.tool[0], "mid");

    /* a put later than the TTL after "old" deletes it */
    put(f, "c", "new", "new thought", 1000 + TTL + 1, 100);
    assert_int_equal(ag_writer_flush(f->w), 0);
    assert_int_equal(ag_store_thinking_count(f->s), 2);
    assert_int_equal(raw_int(f->t.db, "SELECT count(*) FROM thinking WHERE tool_id = 'old'"), 0);
}

static void put_keeps_the_newest_rows_within_the_bound(void **state)
{
    struct fixture *f = *state;
    char tool[16];
    for (int i = 0; i < 6; i++) {
        snprintf(tool, sizeof(tool), "toolu_%d", i);
        put(f, "c", tool, "thought", 1000 + i, 3);
    }
    assert_int_equal(ag_writer_flush(f->w), 0);
    assert_int_equal(ag_store_thinking_count(f->s), 3);
    struct seen v = {0};
    assert_int_equal(ag_store_thinking_load(f->s, 2000, TTL, on_row, &v), 3);
    assert_string_equal(v.tool[0], "toolu_3");
    assert_string_equal(v.tool[2], "toolu_5");
}

static void put_keeps_the_newest_rows_within_the_byte_bound(void **state)
{
    struct fixture *f = *state;
    char tool[8];
    /* each row: 10 bytes of text and 7 of signature ("sig-abc") */
    for (int i = 0; i < 5; i++) {
        snprintf(tool, sizeof(tool), "t%d", i);
        struct ag_thinking_row row = {.conv = AG_STR("c"),
                                      .tool_id = ag_str_c(tool),
                                      .text = AG_STR("0123456789"),
                                      .sig = AG_STR("sig-abc"),
                                      .stored_ms = 1000 + i};
        assert_int_equal(ag_writer_thinking_put(f->w, &row, TTL, 100, 2 * 17 + 5), 0);
    }
    assert_int_equal(ag_writer_flush(f->w), 0);
    struct seen v = {0};
    assert_int_equal(ag_store_thinking_load(f->s, 2000, TTL, on_row, &v), 2);
    assert_string_equal(v.tool[0], "t3");
    assert_string_equal(v.tool[1], "t4");
}

static void clear_deletes_every_row(void **state)
{
    struct fixture *f = *state;
    put(f, "c", "toolu_1", "thought", 1000, 100);
    put(f, "d", "toolu_2", "thought", 1000, 100);
    assert_int_equal(ag_writer_thinking_clear(f->w), 0);
    assert_int_equal(ag_writer_flush(f->w), 0);
    assert_int_equal(ag_store_thinking_count(f->s), 0);
    struct seen v = {0};
    assert_int_equal(ag_store_thinking_load(f->s, 1000, TTL, on_row, &v), 0);
}

static void empty_keys_are_refused(void **state)
{
    struct fixture *f = *state;
    struct ag_thinking_row row = {
        .conv = AG_STR("c"), .tool_id = AG_STR("t"), .text = AG_STR("x"), .stored_ms = 1};
    assert_int_equal(ag_writer_thinking_put(f->w, &row, TTL, 10, 0), AG_EINVAL); /* no signature */
    row.sig = AG_STR("s");
    row.conv = AG_STR_NULL;
    assert_int_equal(ag_writer_thinking_put(f->w, &row, TTL, 10, 0), AG_EINVAL);
}

static void rows_survive_closing_the_store(void **state)
{
    struct fixture *f = *state;
    put(f, "conv", "toolu_9", "kept across a restart", 7000, 100);
    ag_writer_free(f->w); /* flushes */
    f->w = NULL;
    ag_store_free(f->s);
    f->s = NULL;
    assert_int_equal(ag_store_open(f->t.dir, &f->s, NULL, 0), 0);
    struct seen v = {0};
    assert_int_equal(ag_store_thinking_load(f->s, 8000, TTL, on_row, &v), 1);
    assert_string_equal(v.text[0], "kept across a restart");
    assert_int_equal(v.ms[0], 7000);
}

/* The thinking table's schema text in the file at dbpath (into out). */
static void thinking_schema(const char *dbpath, char *out, size_t cap)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open(dbpath, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT group_concat(sql, ';') FROM (SELECT sql FROM "
                                        "sqlite_master WHERE tbl_name = 'thinking' ORDER BY name)",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    const char *t = (const char *)sqlite3_column_text(st, 0);
    assert_non_null(t);
    snprintf(out, cap, "%s", t);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static void an_older_file_gets_the_same_table(void **state)
{
    SQLITE_ONLY();
    struct fixture *f = *state;
    struct tmpdir old;
    struct ag_store *s = NULL;
    sqlite3 *db = NULL;
    char err[256] = "", fresh[1024], upgraded[1024];
    tmpdir_make(&old);
    /* a file as the schema before the thinking table left it */
    assert_int_equal(sqlite3_open(old.db, &db), SQLITE_OK);
    assert_int_equal(ag_store_migrate(db, 3, err, sizeof(err)), 0);
    sqlite3_close(db);
    assert_int_equal(raw_int(old.db, "SELECT count(*) FROM sqlite_master WHERE name = 'thinking'"),
                     0);
    assert_int_equal(ag_store_open(old.dir, &s, err, sizeof(err)), 0);
    assert_int_equal(ag_store_thinking_count(s), 0);
    ag_store_free(s);
    thinking_schema(old.db, upgraded, sizeof(upgraded));
    thinking_schema(f->t.db, fresh, sizeof(fresh));
    assert_string_equal(upgraded, fresh);
    tmpdir_remove(&old);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(put_upserts_and_loads_oldest_first, setup, teardown),
        cmocka_unit_test_setup_teardown(put_deletes_expired_rows_and_load_skips_them, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(put_keeps_the_newest_rows_within_the_bound, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(put_keeps_the_newest_rows_within_the_byte_bound, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(clear_deletes_every_row, setup, teardown),
        cmocka_unit_test_setup_teardown(empty_keys_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(rows_survive_closing_the_store, setup, teardown),
        cmocka_unit_test_setup_teardown(an_older_file_gets_the_same_table, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
