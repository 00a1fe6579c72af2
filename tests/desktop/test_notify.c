/* tests/desktop/test_notify.c: the pool's events reach the desktop as notifications. The gateway
 * in aigate-desktop has two accounts on the mock upstream: one answers 403 VALIDATION_REQUIRED
 * with a link, the other 429 out of quota for hours; after a few requests a notification server
 * (a test double owning org.freedesktop.Notifications on the test's session bus) has received
 * "needs validation" for the first account, with the link, and "every account is limited".
 * Client configs: Claude Code set up (`aigate clients setup`) for another port than the one the
 * desktop's gateway listens on gets exactly one "needs a configuration update" notification naming
 * it, Codex set up for the right port none; the notification's "Update" action rewrites the file
 * for the gateway's port; a new key in the configuration file is noticed without waiting for the
 * minute's check and notified once per client. */
#include "ag_test.h"
#include "gwenv.h"
#include "harness.h"
#include "rawhttp.h"

#include <gio/gio.h>
#include <signal.h>
#include <dirent.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct desk_env env;
static struct ag_gwenv gw;
static struct ag_child app = {.pid = -1};
static GDBusConnection *bus;
static GString *seen;          /* "summary\nbody\n" of each notification */
static guint32 last_id;        /* the id of the last notification */
static char last_actions[256]; /* its actions, "key label key label " */
static guint32 claude_id;      /* the last one naming Claude Code */
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
        const char *caps[] = {"body", "actions", NULL};
        g_dbus_method_invocation_return_value(inv, g_variant_new("(^as)", caps));
    } else if (strcmp(method, "Notify") == 0) {
        const char *summary = NULL, *body = NULL;
        g_variant_get_child(params, 3, "&s", &summary);
        g_variant_get_child(params, 4, "&s", &body);
        if (seen)
            g_string_append_printf(seen, "%s\n%s\n", summary, body);
        GVariant *acts = g_variant_get_child_value(params, 5);
        last_actions[0] = '\0';
        for (gsize i = 0; i < g_variant_n_children(acts); i++) {
            const char *a = NULL;
            g_variant_get_child(acts, i, "&s", &a);
            g_strlcat(last_actions, a, sizeof(last_actions));
            g_strlcat(last_actions, " ", sizeof(last_actions));
        }
        g_variant_unref(acts);
        last_id = next;
        if (strstr(summary, "Claude Code"))
            claude_id = next;
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
    owned = false;
    claude_id = 0;
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
    seen = NULL;
}

/* How many times needle occurs in the notifications seen. */
static int count_seen(const char *needle)
{
    int n = 0;
    for (const char *p = seen->str; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static char *read_text(const char *path)
{
    char *text = NULL;
    return g_file_get_contents(path, &text, NULL, NULL) ? text : NULL;
}

/* Pumps the bus until path contains needle (30 s at most). */
static bool wait_file(const char *path, const char *needle)
{
    for (int i = 0; i < 150; i++) {
        char *t = read_text(path);
        bool ok = t && strstr(t, needle);
        g_free(t);
        if (ok)
            return true;
        desk_pump(200);
    }
    return false;
}

static bool wait_seen(const char *needle, int times)
{
    for (int i = 0; i < 150 && count_seen(needle) < times; i++)
        desk_pump(200);
    return count_seen(needle) >= times;
}

/* `aigate --port port clients setup name` with the desktop's HOME and data dir. */
static int clients_setup(int port, const char *name)
{
    char p[16];
    char *out = NULL, *err = NULL;
    snprintf(p, sizeof(p), "%d", port);
    const char *argv[] = {getenv("AIGATE_BIN"), "--port", p, "clients", "setup", name, NULL};
    assert_non_null(argv[0]);
    int rc = ag_child_run(argv, env.env, NULL, 60000, &out, &err);
    if (rc != 0)
        fprintf(stderr, "clients setup %s: exit %d\n%s%s\n", name, rc, out ? out : "",
                err ? err : "");
    free(out);
    free(err);
    return rc;
}

static void write_config(const char *key)
{
    char path[300], text[256];
    snprintf(path, sizeof(path), "%s/data/config.json", env.dir);
    snprintf(text, sizeof(text), "{\"auth\":{\"api_key\":\"%s\"}}\n", key);
    assert_true(g_file_set_contents(path, text, -1, NULL));
    assert_int_equal(chmod(path, 0600), 0);
}

static int backups_of(const char *dir, const char *name)
{
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += g_str_has_prefix(e->d_name, name) && g_str_has_suffix(e->d_name, ".bak");
    if (d)
        closedir(d);
    return n;
}

static void client_config_needs_update(void **state)
{
    char settings[300], codex[300], want[64], old[64], dir[300];
    seen = g_string_new(NULL);
    assert_true(desk_env_start(&env));
    assert_true(server_start());
    write_config("sk-desk-client-key-1");
    int old_port = ag_child_free_port();
    snprintf(settings, sizeof(settings), "%s/home/.claude/settings.json", env.dir);
    snprintf(dir, sizeof(dir), "%s/home/.claude", env.dir);
    snprintf(codex, sizeof(codex), "%s/home/.codex/config.toml", env.dir);
    assert_int_equal(g_mkdir_with_parents(dir, 0700), 0);
    assert_true(g_file_set_contents(settings, "{\"model\": \"opus\"}\n", -1, NULL));
    /* Claude Code set up while the gateway was on another port; Codex for the gateway's. */
    assert_int_equal(clients_setup(old_port, "claude-code"), 0);
    assert_int_equal(clients_setup(env.port, "codex"), 0);
    /* with the character after them, so that one port is never found inside the other */
    snprintf(old, sizeof(old), "http://127.0.0.1:%d\"", old_port);
    snprintf(want, sizeof(want), "http://127.0.0.1:%d\"", env.port);
    assert_true(wait_file(settings, old));

    const char *hidden[] = {"--hidden", NULL};
    assert_true(desk_app_start(&env, &app, hidden, true));
    assert_true(wait_seen("Claude Code needs a configuration update", 1));
    desk_pump(3000); /* a second notification would come from the same check or the next */
    if (count_seen("Claude Code") != 1 || count_seen("Codex") != 0)
        fprintf(stderr, "notifications seen:\n%s\n", seen->str);
    assert_int_equal(count_seen("Claude Code"), 1);
    assert_int_equal(count_seen("Codex"), 0);
    /* the body says where it points and where the gateway is */
    snprintf(old, sizeof(old), "points at http://127.0.0.1:%d,", old_port);
    snprintf(want, sizeof(want), "the gateway is at http://127.0.0.1:%d.", env.port);
    assert_int_equal(count_seen(old), 1);
    assert_int_equal(count_seen(want), 1);
    snprintf(want, sizeof(want), "http://127.0.0.1:%d\"", env.port);
    assert_non_null(strstr(last_actions, "update Update"));
    assert_non_null(strstr(last_actions, "dismiss Dismiss"));

    /* "Update" runs the set-up for the gateway's port, with a backup */
    assert_true(claude_id > 0);
    assert_int_equal(backups_of(dir, "settings.json.aigate-"), 1);
    g_dbus_connection_emit_signal(bus, NULL, "/org/freedesktop/Notifications",
                                  "org.freedesktop.Notifications", "ActionInvoked",
                                  g_variant_new("(us)", claude_id, "update"), NULL);
    g_dbus_connection_flush_sync(bus, NULL, NULL);
    assert_true(wait_file(settings, want));
    char *text = read_text(settings);
    assert_non_null(strstr(text, "\"model\": \"opus\""));
    assert_non_null(strstr(text, "sk-desk-client-key-1"));
    g_free(text);
    for (int i = 0; i < 50 && backups_of(dir, "settings.json.aigate-") < 2; i++)
        desk_pump(100);
    assert_int_equal(backups_of(dir, "settings.json.aigate-"), 2);

    /* the key rotated in the configuration file: both set-up clients, once each, at once */
    write_config("sk-desk-client-key-2");
    assert_true(wait_seen("Codex CLI needs a configuration update", 1));
    assert_true(wait_seen("Claude Code needs a configuration update", 2));
    desk_pump(3000);
    if (count_seen("Claude Code") != 2 || count_seen("Codex CLI") != 1)
        fprintf(stderr, "notifications seen:\n%s\n", seen->str);
    assert_int_equal(count_seen("Claude Code"), 2);
    assert_int_equal(count_seen("Codex CLI"), 1);
    assert_true(count_seen("key is not the gateway's key") >= 2);
    assert_true(wait_file(codex, "sk-desk-client-key-1")); /* nothing written without Update */

    assert_int_equal(ag_child_stop(&app, SIGTERM, 60000), 0);
    g_string_free(seen, TRUE);
    seen = NULL;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(pool_events_become_notifications, teardown),
        cmocka_unit_test_teardown(client_config_needs_update, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
