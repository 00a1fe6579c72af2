/* tests/desktop/test_attach.c: with an aigate already serving on the configured port (the real
 * binary, same data dir: a service beside the app), aigate-desktop attaches to it instead of
 * starting a second gateway, signs its window in with this machine's configuration (the window
 * shows the Dashboard, not the sign-in form), and quitting the app leaves that gateway running. */
#include "ag_test.h"
#include "harness.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct desk_env env;
static struct ag_child app = {.pid = -1}, gw = {.pid = -1};

static int teardown(void **state)
{
    ag_child_cleanup(&app);
    if (gw.pid > 0)
        ag_child_stop(&gw, SIGTERM, 30000);
    ag_child_cleanup(&gw);
    desk_env_stop(&env);
    return 0;
}

static void attaches_to_a_running_gateway(void **state)
{
    const char *quit[] = {"--quit", NULL};
    char port[16], ready[64];
    unsigned long id = 0;
    const char *bin = getenv("AIGATE_BIN");
    assert_non_null(bin);
    assert_true(desk_env_start(&env));
    snprintf(port, sizeof(port), "%d", env.port);
    const char *argv[] = {bin, "--port", port, NULL};
    assert_true(ag_child_start(&gw, argv, env.env, "listening on", 60000));

    snprintf(ready, sizeof(ready), "aigate-desktop: attached to http://127.0.0.1:%d", env.port);
    assert_true(desk_app_start_until(&env, &app, NULL, ready));
    assert_true(desk_find_window(&env, "Dashboard · aigate", true, &id, 60000));
    assert_false(desk_find_window(&env, "Sign in · aigate", false, &id, 0));

    assert_int_equal(desk_app_run(&env, quit, 60000), 0);
    assert_int_equal(ag_child_stop(&app, 0, 60000), 0);
    /* The service it attached to goes on. */
    assert_true(gw.pid > 0 && kill(gw.pid, 0) == 0);
    assert_true(desk_port_open(env.port));
    assert_int_equal(ag_child_stop(&gw, SIGTERM, 30000), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(attaches_to_a_running_gateway, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
