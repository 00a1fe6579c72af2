/* desktop/window.c: the main window — a WebKitGTK view of the gateway's own web UI, signed in
 * with the app's session token. The token reaches the page through a user script that WebKit runs
 * at document start, for the gateway's origin only, where it puts the token where the UI keeps its
 * login (localStorage "aigate.token"); it never appears in a URL. Links that leave the gateway
 * (an account's validation page, an OAuth sign-in) open in the default browser. */
#include "desktop/app.h"

#include "core/buf.h"
#include "core/jsonw.h"
#include "config/config.h"
#include "core/log.h"

#include <malloc.h>
#include <string.h>

/* "http://127.0.0.1:8045" -> "http://127.0.0.1/" + "*" (WebKit's URL patterns have no port). */
static bool host_pattern(const char *base, char *out, size_t cap)
{
    const char *host = strstr(base, "://");
    if (!host)
        return false;
    host += 3;
    size_t n = strcspn(host, ":/");
    return (size_t)snprintf(out, cap, "%.*s%.*s/*", (int)(host - base), base, (int)n, host) < cap;
}

/* The user script: the UI reads localStorage at start, so the login is there before it runs. */
static WebKitUserScript *login_script(struct ag_desk *d)
{
    struct ag_buf v, js;
    char origin[AG_DESK_URL_SIZE + 4];
    WebKitUserScript *s = NULL;
    ag_buf_init(&v, 1024);
    ag_buf_init(&js, 4096);
    ag_jsonw_open(&v, NULL, '{');
    ag_jsonw_str(&v, "token", d->token);
    ag_jsonw_int(&v, "expires", d->token_expires_ms);
    ag_jsonw_close(&v, '}');
    /* WebKit's allow list matches hosts, not ports: the script checks the origin itself. The JSON
     * text is quoted again as a JS string literal for setItem. */
    ag_buf_printf(&js, "if(location.origin===");
    ag_jsonw_quote(&js, d->base, strlen(d->base));
    ag_buf_printf(&js, "){try{localStorage.setItem('aigate.token',");
    ag_jsonw_quote(&js, v.data, v.len);
    if (ag_buf_printf(&js, ");}catch(e){}}"))
        goto out;
    if (!host_pattern(d->base, origin, sizeof(origin)))
        goto out;
    const char *allow[] = {origin, NULL};
    s = webkit_user_script_new(js.data, WEBKIT_USER_CONTENT_INJECT_TOP_FRAME,
                               WEBKIT_USER_SCRIPT_INJECT_AT_DOCUMENT_START, allow, NULL);
out:
    if (v.data)
        explicit_bzero(v.data, v.len);
    if (js.data)
        explicit_bzero(js.data, js.len);
    ag_buf_dispose(&v);
    ag_buf_dispose(&js);
    return s;
}

static bool same_origin(struct ag_desk *d, const char *uri)
{
    size_t n = strlen(d->base);
    return uri && strncmp(uri, d->base, n) == 0 && (uri[n] == '\0' || uri[n] == '/');
}

static void open_outside(const char *uri)
{
    GError *err = NULL;
    if (!g_app_info_launch_default_for_uri(uri, NULL, &err)) {
        ag_log_warn("desktop: cannot open %s: %s", uri, err ? err->message : "?");
        g_clear_error(&err);
    }
}

static gboolean on_decide_policy(WebKitWebView *v, WebKitPolicyDecision *dec,
                                 WebKitPolicyDecisionType type, gpointer ud)
{
    struct ag_desk *d = ud;
    if (type != WEBKIT_POLICY_DECISION_TYPE_NAVIGATION_ACTION &&
        type != WEBKIT_POLICY_DECISION_TYPE_NEW_WINDOW_ACTION)
        return FALSE;
    WebKitNavigationAction *a = webkit_navigation_policy_decision_get_navigation_action(
        WEBKIT_NAVIGATION_POLICY_DECISION(dec));
    const char *uri = webkit_uri_request_get_uri(webkit_navigation_action_get_request(a));
    if (type == WEBKIT_POLICY_DECISION_TYPE_NAVIGATION_ACTION && same_origin(d, uri))
        return FALSE;
    if (uri && (g_str_has_prefix(uri, "http://") || g_str_has_prefix(uri, "https://")))
        open_outside(uri);
    webkit_policy_decision_ignore(dec);
    return TRUE;
}

/* The window's title follows the page's ("Dashboard · aigate"). */
static void on_title(WebKitWebView *v, GParamSpec *ps, gpointer ud)
{
    struct ag_desk *d = ud;
    const char *t = webkit_web_view_get_title(v);
    if (d->window)
        gtk_window_set_title(GTK_WINDOW(d->window), t && t[0] ? t : "aigate");
}

static gboolean on_delete(GtkWidget *w, GdkEvent *ev, gpointer ud)
{
    struct ag_desk *d = ud;
    if (d->quitting)
        return FALSE;
    ag_desk_window_hide(d); /* the gateway goes on in the tray */
    return TRUE;
}

static void on_destroy(GtkWidget *w, gpointer ud)
{
    struct ag_desk *d = ud;
    if (d->window == w) {
        d->window = NULL;
        d->view = NULL;
    }
}

/* The UI picks its language from the browser's; the system's names become BCP 47 tags ("pt_BR"
 * -> "pt-BR"). "C" and "POSIX" are no language (and no valid tag): without any other, English. */
static void set_languages(WebKitWebContext *web)
{
    const char *const *names = g_get_language_names();
    GPtrArray *tags = g_ptr_array_new_with_free_func(g_free);
    for (size_t i = 0; names[i] && tags->len < 8; i++) {
        const char *n = names[i];
        if (strcmp(n, "C") == 0 || strcmp(n, "POSIX") == 0 || strpbrk(n, ".@"))
            continue;
        char *t = g_strdelimit(g_strdup(n), "_", '-');
        g_ptr_array_add(tags, t);
    }
    if (tags->len == 0)
        g_ptr_array_add(tags, g_strdup("en-US"));
    g_ptr_array_add(tags, NULL);
    webkit_web_context_set_preferred_languages(web, (const char *const *)tags->pdata);
    g_ptr_array_free(tags, TRUE);
}

static WebKitWebContext *web_context(struct ag_desk *d)
{
    if (d->web)
        return d->web;
    /* The UI's preferences (theme, language) are kept under the gateway's data dir. */
    char *base =
        g_build_filename(d->cfg ? d->cfg->data_dir : g_get_user_data_dir(), "desktop-web", NULL);
    char *cache = g_build_filename(g_get_user_cache_dir(), "aigate", "desktop-web", NULL);
    WebKitWebsiteDataManager *m = webkit_website_data_manager_new(
        "base-data-directory", base, "base-cache-directory", cache, NULL);
    d->web = webkit_web_context_new_with_website_data_manager(m);
    webkit_web_context_set_cache_model(d->web, WEBKIT_CACHE_MODEL_DOCUMENT_VIEWER);
    g_object_unref(m);
    set_languages(d->web);
    g_free(base);
    g_free(cache);
    return d->web;
}

static void create(struct ag_desk *d)
{
    WebKitUserContentManager *ucm = webkit_user_content_manager_new();
    WebKitUserScript *s = login_script(d);
    if (s) {
        webkit_user_content_manager_add_script(ucm, s);
        webkit_user_script_unref(s);
    }
    d->view = GTK_WIDGET(g_object_new(WEBKIT_TYPE_WEB_VIEW, "web-context", web_context(d),
                                      "user-content-manager", ucm, NULL));
    g_object_unref(ucm);
    WebKitSettings *ws = webkit_web_view_get_settings(WEBKIT_WEB_VIEW(d->view));
    webkit_settings_set_enable_developer_extras(ws, FALSE);
    /* The page's console, with log.level debug (a UI that fails to start says why there). */
    webkit_settings_set_enable_write_console_messages_to_stdout(ws,
                                                                ag_log_threshold >= AG_LOG_DEBUG);
    webkit_settings_set_javascript_can_open_windows_automatically(ws, FALSE);
    /* The UI has no animation that needs the GPU; without accelerated compositing the web process
     * holds about 100 MB less where rendering falls back to software, and no GPU driver can leave
     * the window blank. */
    webkit_settings_set_hardware_acceleration_policy(ws, WEBKIT_HARDWARE_ACCELERATION_POLICY_NEVER);
    g_signal_connect(d->view, "decide-policy", G_CALLBACK(on_decide_policy), d);
    g_signal_connect(d->view, "notify::title", G_CALLBACK(on_title), d);

    d->window = gtk_application_window_new(d->app);
    gtk_window_set_title(GTK_WINDOW(d->window), "aigate");
    gtk_window_set_icon_name(GTK_WINDOW(d->window), "aigate");
    gtk_window_set_default_size(GTK_WINDOW(d->window), 1200, 800);
    gtk_container_add(GTK_CONTAINER(d->window), d->view);
    g_signal_connect(d->window, "delete-event", G_CALLBACK(on_delete), d);
    g_signal_connect(d->window, "destroy", G_CALLBACK(on_destroy), d);
    char *url = g_strconcat(d->base, "/", NULL);
    webkit_web_view_load_uri(WEBKIT_WEB_VIEW(d->view), url);
    g_free(url);
}

void ag_desk_window_show(struct ag_desk *d)
{
    if (d->quitting)
        return;
    if (!d->window)
        create(d);
    gtk_widget_show_all(d->window);
    gtk_window_present(GTK_WINDOW(d->window));
}

/* What the destroyed web view freed goes back to the system, not only to malloc's free lists. */
static gboolean trim(gpointer ud)
{
    malloc_trim(0);
    return G_SOURCE_REMOVE;
}

void ag_desk_window_hide(struct ag_desk *d)
{
    if (!d->window)
        return;
    if (d->lightweight) {
        /* The web view's process ends with it, the network process with the last context. */
        ag_desk_window_destroy(d);
        g_clear_object(&d->web);
        g_timeout_add_seconds(2, trim, NULL);
    } else
        gtk_widget_hide(d->window);
}

void ag_desk_window_destroy(struct ag_desk *d)
{
    if (d->window)
        gtk_widget_destroy(d->window); /* on_destroy clears the pointers */
}
