/* tests/desktop/test_single.c: one aigate-desktop per session. The first starts hidden in the tray
 * (no window); a second launch exits 0 at once and the first shows its window (mapped, on the
 * Dashboard) — the first stays the only aigate-desktop process, its gateway still serving.
 * `aigate-desktop --quit` then ends the first cleanly: exit 0, port closed; with nothing running
 * it says so and exits 1. */
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

static void second_launch_raises_the_first(void **state)
{
    const char *hidden[] = {"--hidden", NULL};
    const char *quit[] = {"--quit", NULL};
    unsigned long id = 0;
    assert_true(desk_env_start(&env));
    assert_true(desk_app_start(&env, &app, hidden, true));
    assert_int_equal(desk_count_app_processes(), 1);
    /* Started hidden: no window shows. */
    desk_pump(2000);
    assert_false(desk_find_window(&env, "Dashboard · aigate", true, &id, 0));

    /* The second launch hands over to the first and ends. */
    assert_int_equal(desk_app_run(&env, NULL, 60000), 0);
    assert_true(desk_find_window(&env, "Dashboard · aigate", true, &id, 60000));
    assert_true(app.pid > 0 && kill(app.pid, 0) == 0);
    assert_int_equal(desk_count_app_processes(), 1);
    assert_true(desk_port_open(env.port));

    /* --quit asks the running one to stop. */
    assert_int_equal(desk_app_run(&env, quit, 60000), 0);
    assert_int_equal(ag_child_stop(&app, 0, 60000), 0);
    assert_false(desk_port_open(env.port));
    assert_int_equal(desk_count_app_processes(), 0);
    assert_int_equal(desk_app_run(&env, quit, 60000), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(second_launch_raises_the_first, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
