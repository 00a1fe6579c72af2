/* tests/desktop/test_window.c: aigate-desktop under Xvfb opens its window on the embedded web UI,
 * signed in without the key: the window's title is the Dashboard's ("Dashboard · aigate"; signed
 * out it would be "Sign in · aigate"), and a screenshot of it is not blank. SIGTERM then stops the
 * gateway cleanly: exit 0, the port closed. */
#include "ag_test.h"
#include "harness.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

static struct desk_env env;
static struct ag_child app = {.pid = -1};

static int teardown(void **state)
{
    ag_child_cleanup(&app);
    desk_env_stop(&env);
    return 0;
}

static void window_shows_dashboard(void **state)
{
    unsigned long id = 0;
    int w = 0, h = 0, colours = -1;
    assert_true(desk_env_start(&env));
    assert_true(desk_app_start(&env, &app, NULL, true));
    assert_true(desk_port_open(env.port));
    if (!desk_find_window(&env, "Dashboard · aigate", true, &id, 60000)) {
        char *out = ag_child_output(&app);
        fprintf(stderr, "no window titled 'Dashboard · aigate'; the app said:\n%s\n", out);
        free(out);
        fail();
    }
    assert_false(desk_find_window(&env, "Sign in · aigate", false, &id, 0));
    /* The page paints after its data arrives: a blank or one-colour window is retried. */
    for (int i = 0; i < 60 && colours < 16; i++) {
        colours = desk_window_colours(&env, id, &w, &h);
        if (colours < 16)
            desk_pump(500);
    }
    fprintf(stderr, "window 0x%lx: %dx%d, %d colours on the sampled grid\n", id, w, h, colours);
    assert_true(w >= 400 && h >= 300);
    assert_true(colours >= 16);

    assert_int_equal(ag_child_stop(&app, SIGTERM, 60000), 0);
    assert_false(desk_port_open(env.port));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(window_shows_dashboard, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
