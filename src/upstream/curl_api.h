/* upstream/curl_api.h: libcurl's API as the gateway uses it. Every file in src/ that calls libcurl
 * includes this header instead of <curl/curl.h>, so how libcurl is bound to the process is decided
 * in one place: here.
 *
 * libcurl is not linked into the gateway. Its library (libcurl.so.4) and the tree of libraries it
 * needs (GnuTLS or OpenSSL, nettle, gmp, p11-kit, krb5, LDAP, SASL, ssh2, nghttp2, ... several
 * megabytes of mappings, relocated at exec) are loaded with dlopen by the first call into libcurl
 * (curl_api.c). Each libcurl function the code calls is redeclared below with an assembler name:
 * a call to curl_easy_init() in any file that includes this header is a call to
 * ag_curl_easy_init(), a wrapper in curl_api.c that loads libcurl once (thread-safe) and calls the
 * real function through the pointer dlsym gave. Assembler names rather than macros, so that curl's
 * compile-time checks of curl_easy_setopt's and curl_easy_getinfo's argument types
 * (typecheck-gcc.h, a function-like macro that ends in the call itself) keep working unchanged.
 *
 * When libcurl cannot be loaded, the reason is logged once (error level) and every wrapper fails
 * the way its function fails: NULL handles, CURLE_FAILED_INIT, CURLM_INTERNAL_ERROR,
 * CURLUE_OUT_OF_MEMORY, strings that say libcurl is missing; curl_global_init() fails first, so
 * ag_upstream_global_init() reports AG_EIO. A function used here that is not bound below fails to
 * link (the gateway has no libcurl to resolve it from): add it below and in curl_api.c. */
#ifndef AG_UPSTREAM_CURL_API_H
#define AG_UPSTREAM_CURL_API_H

#include <curl/curl.h>

/**
 * Loads libcurl (libcurl.so.4) and resolves the functions bound here, once per process from any
 * thread (later calls return at once). 0 when libcurl is there; AG_EIO when it is not, with the
 * reason in ag_curl_api_error(). The wrappers call it themselves; callers need not.
 */
int ag_curl_api_load(void);

/**
 * Why libcurl could not be loaded (dlerror's text, or the missing symbol), or NULL when it is
 * loaded (loading it first, as ag_curl_api_load does). Static storage, valid for the process's
 * life.
 */
const char *ag_curl_api_error(void);

#ifndef AG_CURL_API_IMPL
/* The declaration curl.h made, once more, with the wrapper's assembler name. The name in
 * parentheses: curl.h defines some of them as function-like macros too. */
#define AG_CURL_BIND(fn) extern __typeof__(fn)(fn) __asm__("ag_" #fn)
AG_CURL_BIND(curl_global_init);
AG_CURL_BIND(curl_global_cleanup);
AG_CURL_BIND(curl_version_info);
AG_CURL_BIND(curl_free);
AG_CURL_BIND(curl_easy_init);
AG_CURL_BIND(curl_easy_cleanup);
AG_CURL_BIND(curl_easy_reset);
AG_CURL_BIND(curl_easy_setopt);
AG_CURL_BIND(curl_easy_getinfo);
AG_CURL_BIND(curl_easy_perform);
AG_CURL_BIND(curl_easy_pause);
AG_CURL_BIND(curl_easy_strerror);
AG_CURL_BIND(curl_multi_init);
AG_CURL_BIND(curl_multi_cleanup);
AG_CURL_BIND(curl_multi_setopt);
AG_CURL_BIND(curl_multi_add_handle);
AG_CURL_BIND(curl_multi_remove_handle);
AG_CURL_BIND(curl_multi_socket_action);
AG_CURL_BIND(curl_multi_assign);
AG_CURL_BIND(curl_multi_info_read);
AG_CURL_BIND(curl_multi_strerror);
AG_CURL_BIND(curl_slist_append);
AG_CURL_BIND(curl_slist_free_all);
AG_CURL_BIND(curl_url);
AG_CURL_BIND(curl_url_cleanup);
AG_CURL_BIND(curl_url_set);
AG_CURL_BIND(curl_url_get);
#undef AG_CURL_BIND
#endif

#endif
