/* Unit tests for admin/ui_assets.c: which compressed copy is sent for an Accept-Encoding header,
 * and the embedded table as the build made it (with the UI: index.html, hashed immutable bundles
 * with smaller gzip and brotli copies, page paths from web/src/router.ts; without Node.js: an
 * empty table with a reason). */
#include "ag_test.h"

#include "admin/ui_assets.h"

#include <string.h>

static char pick(const char *ae)
{
    return ag_ui_assets_pick_encoding(ae ? ag_str_c(ae) : AG_STR_NULL, true, true);
}

static void encodings(void **state)
{
    assert_int_equal(pick(NULL), 0);
    assert_int_equal(pick(""), 0);
    assert_int_equal(pick("gzip, deflate, br"), 'b');
    assert_int_equal(pick("gzip"), 'g');
    assert_int_equal(pick("GZip"), 'g');
    assert_int_equal(pick("x-gzip"), 'g');
    assert_int_equal(pick("deflate"), 0);
    assert_int_equal(pick("br;q=0, gzip"), 'g');
    assert_int_equal(pick("br; q=0.000, gzip;q=0.5"), 'g');
    assert_int_equal(pick("br;q=0.1"), 'b');
    assert_int_equal(pick("*"), 'b');
    assert_int_equal(pick("*;q=0"), 0);
    assert_int_equal(pick("gzip;q=0, *"), 'b');
    assert_int_equal(pick("identity"), 0);
    assert_int_equal(pick("brotli"), 0); /* a token, not a prefix */
    /* Only the copies that exist are chosen. */
    assert_int_equal(ag_ui_assets_pick_encoding(AG_STR("br, gzip"), false, true), 'g');
    assert_int_equal(ag_ui_assets_pick_encoding(AG_STR("br"), false, true), 0);
    assert_int_equal(ag_ui_assets_pick_encoding(AG_STR("br, gzip"), false, false), 0);
}

static void table(void **state)
{
    int pages = 0;
    for (size_t i = 0; ag_ui_page_paths[i]; i++, pages++)
        assert_int_equal(ag_ui_page_paths[i][0], '/');
    assert_true(pages >= 5); /* accounts, proxy, monitor, stats, settings */
    if (!ag_ui_assets_present()) {
        assert_int_equal(ag_ui_asset_count, 0);
        assert_true(strlen(ag_ui_missing_reason) > 0);
        return;
    }
    const struct ag_ui_asset *index = ag_ui_assets_find(AG_STR("/index.html"));
    assert_non_null(index);
    assert_false(index->immutable);
    assert_string_equal(index->content_type, "text/html; charset=utf-8");
    assert_null(ag_ui_assets_find(AG_STR("/index.htm")));
    int js = 0;
    for (size_t i = 0; i < ag_ui_asset_count; i++) {
        const struct ag_ui_asset *a = &ag_ui_asset_table[i];
        assert_ptr_equal(ag_ui_assets_find(ag_str_c(a->path)), a);
        assert_int_equal(a->etag[0], '"');
        assert_int_equal(a->immutable, strncmp(a->path, "/assets/", 8) == 0);
        if (a->gz)
            assert_true(a->gz_len < a->raw_len && a->gz[0] == 0x1f && a->gz[1] == 0x8b);
        if (a->br)
            assert_true(a->br_len < a->raw_len);
        if (strstr(a->content_type, "javascript")) {
            js++;
            assert_true(a->immutable);
            assert_non_null(a->gz);
            assert_non_null(a->br);
            /* The UI's budget: first load under 300 KB gzipped. */
            assert_true(a->gz_len < 300 * 1024);
        }
    }
    assert_true(js >= 1);
    assert_string_equal(ag_ui_missing_reason, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(encodings),
        cmocka_unit_test(table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
