/* upstream/curl_api.h: libcurl's API as the gateway uses it. Every file in src/ that calls libcurl
 * includes this header instead of <curl/curl.h>, so how libcurl is bound to the process is decided
 * in one place. */
#ifndef AG_UPSTREAM_CURL_API_H
#define AG_UPSTREAM_CURL_API_H

#include <curl/curl.h>

#endif
