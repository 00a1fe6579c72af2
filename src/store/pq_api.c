/* store/pq_api.c: libpq loaded on first use. Owns the process's one dlopen handle of libpq.so.5
 * and the table of its functions (store/pq_api.h), filled once and never unloaded. */
#define AG_PQ_API_IMPL
#include "store/pq_api.h"

#include "core/err.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

#define LIBPQ_SONAME "libpq.so.5"

struct ag_pq_api ag_pq;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static int load_rc = AG_EIO;
static char load_err[512];

static void load(void)
{
    void *h = dlopen(LIBPQ_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *why = dlerror();
        snprintf(load_err, sizeof(load_err), "%s", why ? why : LIBPQ_SONAME ": not found");
        goto out;
    }
    /* dlsym returns an object pointer; POSIX guarantees it converts to the function's type. */
#define RESOLVE(fn)                                                                                \
    *(void **)&ag_pq.fn = dlsym(h, #fn);                                                           \
    if (!ag_pq.fn) {                                                                               \
        snprintf(load_err, sizeof(load_err), "%s: no symbol %s", LIBPQ_SONAME, #fn);               \
        goto out;                                                                                  \
    }
    PQ_FUNCS(RESOLVE)
#undef RESOLVE
    load_rc = 0;
out:
    if (load_rc != 0 && h)
        dlclose(h);
}

int ag_pq_api_load(const char **why)
{
    pthread_once(&load_once, load);
    if (why)
        *why = load_rc == 0 ? NULL : load_err;
    return load_rc;
}
