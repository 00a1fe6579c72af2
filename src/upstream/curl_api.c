/* upstream/curl_api.c: libcurl loaded on first use. Owns the process's one dlopen handle of
 * libcurl.so.4, the table of its functions that curl_api.h binds, and the ag_curl_* wrappers that
 * the calls of every other file link to (through curl_api.h's assembler names). The library is
 * loaded once, by the first wrapper called on any thread, and never unloaded. */
#define AG_CURL_API_IMPL
#include "upstream/curl_api.h"

#include "core/err.h"
#include "core/log.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>

#define LIBCURL_SONAME "libcurl.so.4"

/* Every function curl_api.h binds, as X(name). */
#define CURL_FUNCS(X)                                                                              \
    X(curl_global_init)                                                                            \
    X(curl_global_cleanup)                                                                         \
    X(curl_version_info)                                                                           \
    X(curl_free)                                                                                   \
    X(curl_easy_init)                                                                              \
    X(curl_easy_cleanup)                                                                           \
    X(curl_easy_reset)                                                                             \
    X(curl_easy_setopt)                                                                            \
    X(curl_easy_getinfo)                                                                           \
    X(curl_easy_perform)                                                                           \
    X(curl_easy_pause)                                                                             \
    X(curl_easy_strerror)                                                                          \
    X(curl_multi_init)                                                                             \
    X(curl_multi_cleanup)                                                                          \
    X(curl_multi_setopt)                                                                           \
    X(curl_multi_add_handle)                                                                       \
    X(curl_multi_remove_handle)                                                                    \
    X(curl_multi_socket_action)                                                                    \
    X(curl_multi_assign)                                                                           \
    X(curl_multi_info_read)                                                                        \
    X(curl_multi_strerror)                                                                         \
    X(curl_slist_append)                                                                           \
    X(curl_slist_free_all)                                                                         \
    X(curl_url)                                                                                    \
    X(curl_url_cleanup)                                                                            \
    X(curl_url_set)                                                                                \
    X(curl_url_get)

/* The functions' own types, from curl.h's declarations. */
#define FIELD(fn) __typeof__(fn) *fn;
static struct {
    CURL_FUNCS(FIELD)
} fns;
#undef FIELD

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static atomic_bool ok; /* set once, after fns is filled */
static char load_err[512];

/* Whether libcurl is loaded, without loading it: for the functions that release what only a
 * loaded libcurl can have made (without it there is nothing to free). */
static bool loaded(void)
{
    return atomic_load_explicit(&ok, memory_order_acquire);
}

static void load(void)
{
    void *h = dlopen(LIBCURL_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *why = dlerror();
        snprintf(load_err, sizeof(load_err), "%s", why ? why : LIBCURL_SONAME ": not found");
        goto out;
    }
    /* dlsym returns an object pointer; POSIX guarantees it converts to the function's type. */
#define RESOLVE(fn)                                                                                \
    *(void **)&fns.fn = dlsym(h, #fn);                                                             \
    if (!fns.fn) {                                                                                 \
        snprintf(load_err, sizeof(load_err), "%s: no symbol %s", LIBCURL_SONAME, #fn);             \
        goto out;                                                                                  \
    }
    CURL_FUNCS(RESOLVE)
#undef RESOLVE
    atomic_store_explicit(&ok, true, memory_order_release);
out:
    if (!loaded()) {
        if (h)
            dlclose(h);
        ag_log_error("upstream: libcurl could not be loaded (%s); upstream requests fail until "
                     "it is installed (Debian: libcurl4)",
                     load_err);
    }
}

int ag_curl_api_load(void)
{
    pthread_once(&load_once, load);
    return loaded() ? 0 : AG_EIO;
}

const char *ag_curl_api_error(void)
{
    return ag_curl_api_load() == 0 ? NULL : load_err;
}

/* ---- the wrappers: each loads libcurl first and fails as its function fails without it ---- */

/* How a variadic option's argument was passed: by the option's type (curl.h's CURLOPTTYPE_*
 * ranges, shared by CURLoption and CURLMoption), as curl reads it itself. */
enum opt_arg { ARG_LONG, ARG_PTR, ARG_FN, ARG_OFF_T };

typedef void (*any_fn)(void);

static enum opt_arg opt_arg(int option)
{
    if (option < CURLOPTTYPE_OBJECTPOINT)
        return ARG_LONG;
    if (option < CURLOPTTYPE_FUNCTIONPOINT)
        return ARG_PTR;
    if (option < CURLOPTTYPE_OFF_T)
        return ARG_FN;
    if (option < CURLOPTTYPE_BLOB)
        return ARG_OFF_T;
    return ARG_PTR; /* CURLOPTTYPE_BLOB: struct curl_blob * */
}

CURLcode ag_curl_global_init(long flags)
{
    return ag_curl_api_load() == 0 ? fns.curl_global_init(flags) : CURLE_FAILED_INIT;
}

void ag_curl_global_cleanup(void)
{
    if (loaded())
        fns.curl_global_cleanup();
}

curl_version_info_data *ag_curl_version_info(CURLversion v)
{
    return ag_curl_api_load() == 0 ? fns.curl_version_info(v) : NULL;
}

void ag_curl_free(void *p)
{
    if (loaded())
        fns.curl_free(p);
}

CURL *ag_curl_easy_init(void)
{
    return ag_curl_api_load() == 0 ? fns.curl_easy_init() : NULL;
}

void ag_curl_easy_cleanup(CURL *curl)
{
    if (loaded())
        fns.curl_easy_cleanup(curl);
}

void ag_curl_easy_reset(CURL *curl)
{
    if (loaded())
        fns.curl_easy_reset(curl);
}

/* rc = fn(handle, option, the one variadic argument in ap, read as the option's type says; the
 * cases differ only in that type, hence the NOLINT where it is used). */
#define FORWARD_OPT(rc, fn, handle, option, ap)                                                    \
    do {                                                                                           \
        switch (opt_arg((int)(option))) {                                                          \
        case ARG_LONG:                                                                             \
            (rc) = (fn)(handle, option, va_arg(ap, long));                                         \
            break;                                                                                 \
        case ARG_PTR:                                                                              \
            (rc) = (fn)(handle, option, va_arg(ap, void *));                                       \
            break;                                                                                 \
        case ARG_FN:                                                                               \
            (rc) = (fn)(handle, option, va_arg(ap, any_fn));                                       \
            break;                                                                                 \
        case ARG_OFF_T:                                                                            \
            (rc) = (fn)(handle, option, va_arg(ap, curl_off_t));                                   \
            break;                                                                                 \
        }                                                                                          \
    } while (0)

CURLcode ag_curl_easy_setopt(CURL *curl, CURLoption option, ...)
{
    CURLcode rc = CURLE_FAILED_INIT;
    va_list ap;

    va_start(ap, option);
    if (ag_curl_api_load() == 0)
        FORWARD_OPT(rc, fns.curl_easy_setopt, curl, option, ap); // NOLINT(bugprone-branch-clone)
    va_end(ap);
    return rc;
}

/* Every CURLINFO_* type (string, long, double, list, pointer, socket, off_t) is returned through
 * a pointer the caller passes. */
CURLcode ag_curl_easy_getinfo(CURL *curl, CURLINFO info, ...)
{
    CURLcode rc = CURLE_FAILED_INIT;
    va_list ap;

    va_start(ap, info);
    if (ag_curl_api_load() == 0)
        rc = (fns.curl_easy_getinfo)(curl, info, va_arg(ap, void *));
    va_end(ap);
    return rc;
}

CURLcode ag_curl_easy_perform(CURL *curl)
{
    return ag_curl_api_load() == 0 ? fns.curl_easy_perform(curl) : CURLE_FAILED_INIT;
}

CURLcode ag_curl_easy_pause(CURL *curl, int bitmask)
{
    return ag_curl_api_load() == 0 ? fns.curl_easy_pause(curl, bitmask) : CURLE_FAILED_INIT;
}

const char *ag_curl_easy_strerror(CURLcode code)
{
    return ag_curl_api_load() == 0 ? fns.curl_easy_strerror(code)
                                   : "libcurl is not installed (libcurl.so.4 could not be loaded)";
}

CURLM *ag_curl_multi_init(void)
{
    return ag_curl_api_load() == 0 ? fns.curl_multi_init() : NULL;
}

CURLMcode ag_curl_multi_cleanup(CURLM *multi)
{
    return loaded() ? fns.curl_multi_cleanup(multi) : CURLM_BAD_HANDLE;
}

CURLMcode ag_curl_multi_setopt(CURLM *multi, CURLMoption option, ...)
{
    CURLMcode rc = CURLM_INTERNAL_ERROR;
    va_list ap;

    va_start(ap, option);
    if (ag_curl_api_load() == 0)
        FORWARD_OPT(rc, fns.curl_multi_setopt, multi, option, ap); // NOLINT(bugprone-branch-clone)
    va_end(ap);
    return rc;
}

CURLMcode ag_curl_multi_add_handle(CURLM *multi, CURL *curl)
{
    return ag_curl_api_load() == 0 ? fns.curl_multi_add_handle(multi, curl) : CURLM_INTERNAL_ERROR;
}

CURLMcode ag_curl_multi_remove_handle(CURLM *multi, CURL *curl)
{
    return loaded() ? fns.curl_multi_remove_handle(multi, curl) : CURLM_BAD_HANDLE;
}

CURLMcode ag_curl_multi_socket_action(CURLM *multi, curl_socket_t s, int ev_bitmask, int *running)
{
    return ag_curl_api_load() == 0 ? fns.curl_multi_socket_action(multi, s, ev_bitmask, running)
                                   : CURLM_INTERNAL_ERROR;
}

CURLMcode ag_curl_multi_assign(CURLM *multi, curl_socket_t s, void *sockp)
{
    return ag_curl_api_load() == 0 ? fns.curl_multi_assign(multi, s, sockp) : CURLM_INTERNAL_ERROR;
}

CURLMsg *ag_curl_multi_info_read(CURLM *multi, int *msgs_in_queue)
{
    if (ag_curl_api_load() == 0)
        return fns.curl_multi_info_read(multi, msgs_in_queue);
    if (msgs_in_queue)
        *msgs_in_queue = 0;
    return NULL;
}

const char *ag_curl_multi_strerror(CURLMcode code)
{
    return ag_curl_api_load() == 0 ? fns.curl_multi_strerror(code)
                                   : "libcurl is not installed (libcurl.so.4 could not be loaded)";
}

struct curl_slist *ag_curl_slist_append(struct curl_slist *list, const char *s)
{
    return ag_curl_api_load() == 0 ? fns.curl_slist_append(list, s) : NULL;
}

void ag_curl_slist_free_all(struct curl_slist *list)
{
    if (loaded())
        fns.curl_slist_free_all(list);
}

CURLU *ag_curl_url(void)
{
    return ag_curl_api_load() == 0 ? fns.curl_url() : NULL;
}

void ag_curl_url_cleanup(CURLU *handle)
{
    if (loaded())
        fns.curl_url_cleanup(handle);
}

CURLUcode ag_curl_url_set(CURLU *handle, CURLUPart what, const char *part, unsigned int flags)
{
    return ag_curl_api_load() == 0 ? fns.curl_url_set(handle, what, part, flags)
                                   : CURLUE_OUT_OF_MEMORY;
}

CURLUcode ag_curl_url_get(CURLU *handle, CURLUPart what, char **part, unsigned int flags)
{
    return ag_curl_api_load() == 0 ? fns.curl_url_get(handle, what, part, flags)
                                   : CURLUE_OUT_OF_MEMORY;
}
