/* tests/desktop/test_tray.c: the tray icon of aigate-desktop registers with the session bus's
 * StatusNotifierWatcher — here a test double owning org.kde.StatusNotifierWatcher on the test's
 * private bus, as a panel would — and works through its D-Bus menu (com.canonical.dbusmenu): its
 * properties name aigate, "Stop proxy" turns the icon to the stopped one and "Start proxy" back,
 * "Start at login" writes the XDG autostart entry and removes it again, and "Quit" stops the app
 * and its gateway cleanly (exit 0, port closed). The app starts hidden, with no web process; in
 * lightweight mode "Open aigate" shows the window and hiding it ends its web process again. */
#include "ag_test.h"
#include "harness.h"

#include <gio/gio.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct desk_env env;
static struct ag_child app = {.pid = -1};
static GDBusConnection *bus;
static char *item_owner, *item_path;
static bool watcher_owned;

static const char watcher_xml[] =
    "<node><interface name='org.kde.StatusNotifierWatcher'>"
    "<method name='RegisterStatusNotifierItem'><arg type='s' direction='in'/></method>"
    "<method name='RegisterStatusNotifierHost'><arg type='s' direction='in'/></method>"
    "<property name='RegisteredStatusNotifierItems' type='as' access='read'/>"
    "<property name='IsStatusNotifierHostRegistered' type='b' access='read'/>"
    "<property name='ProtocolVersion' type='i' access='read'/>"
    "<signal name='StatusNotifierItemRegistered'><arg type='s'/></signal>"
    "<signal name='StatusNotifierItemUnregistered'><arg type='s'/></signal>"
    "<signal name='StatusNotifierHostRegistered'/>"
    "</interface></node>";

static void watcher_call(GDBusConnection *c, const char *sender, const char *path,
                         const char *iface, const char *method, GVariant *params,
                         GDBusMethodInvocation *inv, gpointer ud)
{
    if (strcmp(method, "RegisterStatusNotifierItem") == 0) {
        const char *service = NULL;
        g_variant_get(params, "(&s)", &service);
        g_free(item_owner);
        g_free(item_path);
        /* An object path names the item on the caller's connection; a bus name, its default path.
         */
        item_owner = g_strdup(service[0] == '/' ? sender : service);
        item_path = g_strdup(service[0] == '/' ? service : "/StatusNotifierItem");
        g_dbus_connection_emit_signal(
            c, NULL, "/StatusNotifierWatcher", "org.kde.StatusNotifierWatcher",
            "StatusNotifierItemRegistered", g_variant_new("(s)", service), NULL);
    }
    g_dbus_method_invocation_return_value(inv, NULL);
}

static GVariant *watcher_get(GDBusConnection *c, const char *sender, const char *path,
                             const char *iface, const char *prop, GError **err, gpointer ud)
{
    if (strcmp(prop, "IsStatusNotifierHostRegistered") == 0)
        return g_variant_new_boolean(TRUE);
    if (strcmp(prop, "ProtocolVersion") == 0)
        return g_variant_new_int32(0);
    GVariantBuilder b;
    g_variant_builder_init(&b, G_VARIANT_TYPE("as"));
    if (item_owner)
        g_variant_builder_add(&b, "s", item_owner);
    return g_variant_builder_end(&b);
}

static void name_acquired(GDBusConnection *c, const char *name, gpointer ud)
{
    watcher_owned = true;
}

static bool watcher_start(void)
{
    static const GDBusInterfaceVTable vt = {watcher_call, watcher_get, NULL, {0}};
    GError *err = NULL;
    bus = g_dbus_connection_new_for_address_sync(env.bus,
                                                 G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                     G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                                 NULL, NULL, &err);
    if (!bus) {
        fprintf(stderr, "test bus: %s\n", err->message);
        g_clear_error(&err);
        return false;
    }
    GDBusNodeInfo *node = g_dbus_node_info_new_for_xml(watcher_xml, NULL);
    g_dbus_connection_register_object(bus, "/StatusNotifierWatcher", node->interfaces[0], &vt, NULL,
                                      NULL, NULL);
    g_dbus_node_info_unref(node);
    g_bus_own_name_on_connection(bus, "org.kde.StatusNotifierWatcher", G_BUS_NAME_OWNER_FLAGS_NONE,
                                 name_acquired, NULL, NULL, NULL);
    for (int i = 0; i < 500 && !watcher_owned; i++)
        desk_pump(20);
    return watcher_owned;
}

/* A property of the registered item (org.kde.StatusNotifierItem), or NULL. */
static GVariant *item_prop(const char *name)
{
    GVariant *r = g_dbus_connection_call_sync(
        bus, item_owner, item_path, "org.freedesktop.DBus.Properties", "Get",
        g_variant_new("(ss)", "org.kde.StatusNotifierItem", name), G_VARIANT_TYPE("(v)"),
        G_DBUS_CALL_FLAGS_NONE, 5000, NULL, NULL);
    if (!r)
        return NULL;
    GVariant *v = NULL;
    g_variant_get(r, "(v)", &v);
    g_variant_unref(r);
    return v;
}

static char *item_str(const char *name)
{
    GVariant *v = item_prop(name);
    char *s = v && g_variant_is_of_type(v, G_VARIANT_TYPE_STRING) ? g_variant_dup_string(v, NULL)
              : v && g_variant_is_of_type(v, G_VARIANT_TYPE_OBJECT_PATH)
                  ? g_variant_dup_string(v, NULL)
                  : NULL;
    if (v)
        g_variant_unref(v);
    return s;
}

/* Waits until the item's property name equals want. */
static bool item_wait(const char *name, const char *want, int timeout_ms)
{
    char *s = NULL;
    for (int waited = 0; waited <= timeout_ms; waited += 200) {
        g_free(s);
        s = item_str(name);
        if (s && strcmp(s, want) == 0)
            break;
        desk_pump(200);
    }
    bool ok = s && strcmp(s, want) == 0;
    if (!ok)
        fprintf(stderr, "item %s is '%s', expected '%s'\n", name, s ? s : "(none)", want);
    g_free(s);
    return ok;
}

/* Looks for the menu item labelled label in a dbusmenu layout (ia{sv}av); its id, or -1. */
static int find_label(GVariant *layout, const char *label, GString *all)
{
    gint32 id;
    GVariant *props, *children;
    g_variant_get(layout, "(i@a{sv}@av)", &id, &props, &children);
    int found = -1;
    const char *l = NULL;
    if (g_variant_lookup(props, "label", "&s", &l)) {
        g_string_append_printf(all, "[%s]", l);
        if (strcmp(l, label) == 0)
            found = id;
    }
    for (gsize i = 0; i < g_variant_n_children(children) && found < 0; i++) {
        GVariant *cv = g_variant_get_child_value(children, i);
        GVariant *c = g_variant_get_variant(cv);
        found = find_label(c, label, all);
        g_variant_unref(c);
        g_variant_unref(cv);
    }
    g_variant_unref(props);
    g_variant_unref(children);
    return found;
}

/* Clicks the menu item labelled label through com.canonical.dbusmenu, as a panel would. */
static bool menu_click(const char *label)
{
    char *menu = item_str("Menu");
    bool ok = false;
    GString *all = g_string_new(NULL);
    if (!menu)
        goto out;
    GVariant *r =
        g_dbus_connection_call_sync(bus, item_owner, menu, "com.canonical.dbusmenu", "GetLayout",
                                    g_variant_new("(ii@as)", 0, -1, g_variant_new_strv(NULL, 0)),
                                    NULL, G_DBUS_CALL_FLAGS_NONE, 5000, NULL, NULL);
    if (!r)
        goto out;
    guint32 rev;
    GVariant *layout;
    g_variant_get(r, "(u@(ia{sv}av))", &rev, &layout);
    int id = find_label(layout, label, all);
    g_variant_unref(layout);
    g_variant_unref(r);
    if (id < 0) {
        fprintf(stderr, "no menu item '%s' among %s\n", label, all->str);
        goto out;
    }
    r = g_dbus_connection_call_sync(
        bus, item_owner, menu, "com.canonical.dbusmenu", "Event",
        g_variant_new("(isvu)", id, "clicked", g_variant_new_int32(0), (guint32)0), NULL,
        G_DBUS_CALL_FLAGS_NONE, 5000, NULL, NULL);
    ok = r != NULL;
    if (r)
        g_variant_unref(r);
out:
    g_string_free(all, TRUE);
    g_free(menu);
    return ok;
}

static bool file_exists_within(const char *path, bool want, int timeout_ms)
{
    for (int waited = 0; waited <= timeout_ms; waited += 100) {
        if ((access(path, F_OK) == 0) == want)
            return true;
        desk_pump(100);
    }
    return false;
}

/* Waits until the file at path holds text. */
static bool file_says_within(const char *path, const char *text, int timeout_ms)
{
    for (int waited = 0; waited <= timeout_ms; waited += 100) {
        gchar *body = NULL;
        bool hit = g_file_get_contents(path, &body, NULL, NULL) && strstr(body, text);
        g_free(body);
        if (hit)
            return true;
        desk_pump(100);
    }
    return false;
}

/* Waits until app has (want) or has no (!want) child process named name*. */
static bool children_within(const char *name, bool want, int timeout_ms)
{
    for (int waited = 0; waited <= timeout_ms; waited += 200) {
        if ((desk_count_children(app.pid, name) > 0) == want)
            return true;
        desk_pump(200);
    }
    return false;
}

/* Activates one of the app's actions (org.gtk.Actions at /dev/aigate/Desktop). */
static bool app_action(const char *name)
{
    GVariant *r = g_dbus_connection_call_sync(
        bus, "dev.aigate.Desktop", "/dev/aigate/Desktop", "org.gtk.Actions", "Activate",
        g_variant_new("(s@av@a{sv})", name, g_variant_new_array(G_VARIANT_TYPE_VARIANT, NULL, 0),
                      g_variant_new_array(G_VARIANT_TYPE("{sv}"), NULL, 0)),
        NULL, G_DBUS_CALL_FLAGS_NONE, 5000, NULL, NULL);
    if (r)
        g_variant_unref(r);
    return r != NULL;
}

static int teardown(void **state)
{
    ag_child_cleanup(&app);
    g_clear_object(&bus);
    desk_env_stop(&env);
    return 0;
}

static void tray_registers_and_drives_the_app(void **state)
{
    const char *hidden[] = {"--hidden", NULL};
    char autostart[512], ini[512];
    assert_true(desk_env_start(&env));
    assert_true(watcher_start());
    assert_true(desk_app_start(&env, &app, hidden, true));

    for (int i = 0; i < 150 && !item_owner; i++)
        desk_pump(200);
    assert_non_null(item_owner);
    fprintf(stderr, "item registered: %s %s\n", item_owner, item_path);
    assert_true(item_wait("Id", "aigate", 5000));
    assert_true(item_wait("Title", "aigate", 5000));
    assert_true(item_wait("Status", "Active", 5000));
    assert_true(item_wait("IconName", "aigate", 30000)); /* the proxy runs */

    assert_true(menu_click("Stop proxy"));
    assert_true(item_wait("IconName", "aigate-stopped", 30000));
    assert_true(menu_click("Start proxy"));
    assert_true(item_wait("IconName", "aigate", 30000));

    snprintf(autostart, sizeof(autostart), "%s/home/.config/autostart/aigate-desktop.desktop",
             env.dir);
    assert_int_not_equal(access(autostart, F_OK), 0);
    assert_true(menu_click("Start at login"));
    assert_true(file_exists_within(autostart, true, 10000));
    gchar *text = NULL;
    assert_true(g_file_get_contents(autostart, &text, NULL, NULL));
    assert_non_null(strstr(text, "Exec="));
    assert_non_null(strstr(text, "--hidden"));
    g_free(text);
    assert_true(menu_click("Start at login"));
    assert_true(file_exists_within(autostart, false, 10000));

    /* No window was asked for. */
    unsigned long id;
    assert_false(desk_find_window(&env, "Dashboard · aigate", true, &id, 0));
    assert_int_equal(desk_count_children(app.pid, "WebKitWebProces"), 0);

    /* Lightweight mode: "Open aigate" shows the window with its web process; hiding it (what the
     * window's close button does) ends the web view and its processes. */
    snprintf(ini, sizeof(ini), "%s/home/.config/aigate/desktop.ini", env.dir);
    assert_true(menu_click("Lightweight mode (free the window while hidden)"));
    assert_true(file_says_within(ini, "lightweight=true", 10000));
    assert_true(menu_click("Open aigate"));
    assert_true(desk_find_window(&env, "Dashboard · aigate", true, &id, 60000));
    assert_true(children_within("WebKitWebProces", true, 30000));
    assert_true(app_action("hide"));
    assert_true(children_within("WebKitWebProces", false, 30000));
    assert_false(desk_find_window(&env, "Dashboard · aigate", false, &id, 0));

    assert_true(desk_port_open(env.port));
    assert_true(menu_click("Quit"));
    assert_int_equal(ag_child_stop(&app, 0, 60000), 0); /* signal 0: only waits for the exit */
    assert_false(desk_port_open(env.port));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(tray_registers_and_drives_the_app, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
