/* upstream/provider.h: where and how a call to an API-key account goes: the URL (the account's base
 * URL, else its kind's default, plus the path the upstream adapter chose) and the auth headers of
 * its kind (Authorization: Bearer; x-api-key with anthropic-version; x-goog-api-key), ready for
 * struct ag_cloudcode_call_spec's url and extra_headers. The base URL is the admin's (store), never
 * a client's. Pure: no I/O. */
#ifndef AG_UPSTREAM_PROVIDER_H
#define AG_UPSTREAM_PROVIDER_H

#include <stddef.h>

#include "store/provider.h"

#define AG_PROVIDER_URL_MAX    2048
#define AG_PROVIDER_HEADER_MAX 4224 /* "x-goog-api-key: " + a key of up to 4096 bytes */
#define AG_PROVIDER_HEADERS    3

/** A prepared call: the URL and the "Name: value" headers (headers[i] point into the struct). */
struct ag_provider_call {
    char url[AG_PROVIDER_URL_MAX];
    char header_buf[AG_PROVIDER_HEADERS][AG_PROVIDER_HEADER_MAX];
    const char *headers[AG_PROVIDER_HEADERS];
    size_t nheaders;
};

/**
 * Fills out for an account of kind with api_key and base_url (NULL or "" = the kind's default),
 * and path (ag_upstream_call.path, e.g. "/v1/messages"; the answer streams as SSE when the path
 * asks it). Returns 0; AG_EINVAL when the kind is google, has no base URL, or key or path is
 * missing; AG_ETOOBIG when the URL or a header does not fit. All arguments are borrowed.
 */
int ag_provider_call_prepare(enum ag_provider kind, const char *base_url, const char *api_key,
                             const char *path, struct ag_provider_call *out);

#endif
