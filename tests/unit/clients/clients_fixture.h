/* tests/unit/clients/clients_fixture.h: what the clients suites share: a temporary HOME made by
 * setup and removed by teardown, the environment pointing at it, the gateway target the set-ups
 * write, and put() to write a file under HOME. Included by one test program each (static). */
#ifndef AG_TEST_CLIENTS_FIXTURE_H
#define AG_TEST_CLIENTS_FIXTURE_H

#include "ag_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clients/clients.h"
#include "core/file.h"

static char home[256];
static struct ag_clients_env env;
static const struct ag_clients_target target = {"http://127.0.0.1:18045", "sk-0123456789abcdef",
                                                NULL};

static int setup(void **state)
{
    (void)state;
    snprintf(home, sizeof(home), "/tmp/aigate-clients-XXXXXX");
    assert_non_null(mkdtemp(home));
    memset(&env, 0, sizeof(env));
    env.home = home;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", home);
    return system(cmd) == 0 ? 0 : -1;
}

/* Writes text to HOME/rel with mode, making the directories. */
static void put(const char *rel, const char *text, mode_t mode)
{
    char p[512], d[512];
    snprintf(p, sizeof(p), "%s/%s", home, rel);
    snprintf(d, sizeof(d), "%s", p);
    *strrchr(d, '/') = '\0';
    assert_int_equal(ag_file_mkdirs(d, 0700), 0);
    assert_int_equal(ag_file_write_atomic(p, text, strlen(text), mode), 0);
}

#endif
