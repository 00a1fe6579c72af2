/* tests/desktop/test_notify.c: the pool's events reach the desktop as notifications. The gateway
 * in aigate-desktop has two accounts on the mock upstream: one answers 403 VALIDATION_REQUIRED
 * with a link, the other 429 out of quota for hours; after a few requests a notification server
 * (a test double owning org.freedesktop.Notifications on the test's session bus) has received
 * "needs validation" for the first account, with the link, and "every account is limited". */
#include "ag_test.h"
#include "gwenv.h"
#include "harness.h"
#include "rawhttp.h"

#include <gio/gio.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct desk_env env;
static struct ag_gwenv gw;
static struct ag_child app = {.pid = -1};
static GDBusConnection *bus;
static GString *seen; /* "summary\nbody\n" of each notification */
static bool owned;

static const char server_xml[] =
    "<node><interface name='org.freedesktop.Notifications'>"
    "<method name='GetCapabilities'><arg type='as' direction='out'/></method>"
    "<method name='Notify'><arg type='s' direction='in'/><arg type='u' direction='in'/>"
    "<arg type='s' direction='in'/><arg type='s' direction='in'/><arg type='s' direction='in'/>"
    "<arg type='as' direction='in'/><arg type='a{sv}' direction='in'/>"
    "<arg type='i' direction='in'/><arg type='u' direction='out'/></method>"
    "<method name='CloseNotification'><arg type='u' direction='in'/></method>"
    "<method name='GetServerInformation'><arg type='s' direction='out'/>"
    "<arg type='s' direction='out'/><arg type='s' direction='out'/>"
    "<arg type='s' direction='out'/></method>"
    "</interface></node>";

static void server_call(GDBusConnection *c, const char *sender, const char *path, const char *iface,
                        const char *method, GVariant *params, GDBusMethodInvocation *inv,
                        gpointer ud)
{
    static guint32 next = 1;
    if (strcmp(method, "GetCapabilities") == 0) {
        const char *caps[] = {"body", NULL};
        g_dbus_method_invocation_return_value(inv, g_variant_new("(^as)", caps));
    } else if (strcmp(method, "Notify") == 0) {
        const char *summary = NULL, *body = NULL;
        g_variant_get_child(params, 3, "&s", &summary);
        g_variant_get_child(params, 4, "&s", &body);
        g_string_append_printf(seen, "%s\n%s\n", summary, body);
        g_dbus_method_invocation_return_value(inv, g_variant_new("(u)", next++));
    } else if (strcmp(method, "GetServerInformation") == 0) {
        g_dbus_method_invocation_return_value(
            inv, g_variant_new("(ssss)", "test", "aigate-tests", "1", "1.2"));
    } else {
        g_dbus_method_invocation_return_value(inv, NULL);
    }
}

static void acquired(GDBusConnection *c, const char *name, gpointer ud)
{
    owned = true;
}

static bool server_start(void)
{
    static const GDBusInterfaceVTable vt = {server_call, NULL, NULL, {0}};
    bus = g_dbus_connection_new_for_address_sync(env.bus,
                                                 G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                     G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                                 NULL, NULL, NULL);
    if (!bus)
        return false;
    GDBusNodeInfo *node = g_dbus_node_info_new_for_xml(server_xml, NULL);
    g_dbus_connection_register_object(bus, "/org/freedesktop/Notifications", node->interfaces[0],
                                      &vt, NULL, NULL, NULL);
    g_dbus_node_info_unref(node);
    g_bus_own_name_on_connection(bus, "org.freedesktop.Notifications", G_BUS_NAME_OWNER_FLAGS_NONE,
                                 acquired, NULL, NULL, NULL);
    for (int i = 0; i < 500 && !owned; i++)
        desk_pump(20);
    return owned;
}

static int chat(int port, int turn)
{
    char body[256];
    struct rh_resp r;
    snprintf(body, sizeof(body),
             "{\"model\":\"gemini-2.5-flash\",\"messages\":[{\"role\":\"user\","
             "\"content\":\"notify conversation %d\"}]}",
             turn);
    if (!rh_request(port, "POST", "/v1/chat/completions", "Content-Type: application/json\r\n",
                    body, &r))
        return -1;
    int st = r.status;
    rh_resp_free(&r);
    return st;
}

static int teardown(void **state)
{
    ag_child_cleanup(&app);
    g_clear_object(&bus);
    ag_gwenv_teardown(state);
    desk_env_stop(&env);
    return 0;
}

static const char *const tokens[] = {"rt-a", "rt-b", NULL};

static void pool_events_become_notifications(void **state)
{
    const struct ag_gwenv_opts o = {
        .name = "desknotify",
        .mock_accounts = "[{\"email\":\"a@example.com\",\"refresh_token\":\"rt-a\","
                         "\"access_token\":\"at-a\",\"project\":\"proj-a\",\"tier\":\"PRO\"},"
                         "{\"email\":\"b@example.com\",\"refresh_token\":\"rt-b\","
                         "\"access_token\":\"at-b\",\"project\":\"proj-b\",\"tier\":\"PRO\"}]",
        .tokens = tokens,
    };
    const char *hidden[] = {"--hidden", NULL};
    const char *merged[40];
    size_t n = 0;
    seen = g_string_new(NULL);
    assert_true(desk_env_start(&env));
    assert_true(server_start());
    ag_gwenv_prepare(&gw, &o);
    /* The gateway's environment (data dir, upstream overrides), then the desktop's for the rest. */
    for (size_t i = 0; gw.envp[i] && n < 20; i++)
        merged[n++] = gw.envp[i];
    for (size_t i = 0; env.env[i] && n < 39; i++) {
        size_t nl = strcspn(env.env[i], "=") + 1;
        bool dup = false;
        for (size_t j = 0; gw.envp[j] && !dup; j++)
            dup = strncmp(gw.envp[j], env.env[i], nl) == 0;
        if (!dup)
            merged[n++] = env.env[i];
    }
    merged[n] = NULL;
    const char *argv[8];
    char port[16];
    snprintf(port, sizeof(port), "%d", gw.port);
    argv[0] = getenv("AIGATE_DESKTOP_BIN");
    argv[1] = "--port";
    argv[2] = port;
    argv[3] = hidden[0];
    argv[4] = NULL;
    assert_non_null(argv[0]);
    assert_true(ag_child_start(&app, argv, merged, "aigate-desktop: serving", 60000));

    struct ag_buf out;
    ag_buf_init(&out, 0);
    assert_int_equal(
        ag_gwenv_mock(&gw, "POST", "/__mock/faults",
                      "[{\"status\":403,\"token\":\"at-a\",\"permanent\":true,"
                      "\"validation_url\":\"https://example.com/verify\"},"
                      "{\"status\":429,\"token\":\"at-b\",\"permanent\":true,"
                      "\"reason\":\"QUOTA_EXHAUSTED\",\"quota_reset_delay\":\"3h0m0s\"}]",
                      &out),
        200);
    ag_buf_dispose(&out);
    for (int i = 0; i < 3; i++)
        assert_true(chat(gw.port, i) >= 400);
    bool validation = false, limited = false;
    for (int i = 0; i < 150 && !(validation && limited); i++) {
        desk_pump(200);
        validation = strstr(seen->str, "account a@example.com needs validation") &&
                     strstr(seen->str, "https://example.com/verify");
        limited = strstr(seen->str, "every account is limited") != NULL;
    }
    if (!(validation && limited))
        fprintf(stderr, "notifications seen:\n%s\n", seen->str);
    assert_true(validation);
    assert_true(limited);

    assert_int_equal(ag_child_stop(&app, SIGTERM, 60000), 0);
    assert_false(desk_port_open(gw.port));
    g_string_free(seen, TRUE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(pool_events_become_notifications, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
