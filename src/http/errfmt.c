/* http/errfmt.c: error bodies in each client protocol's own shape (see errfmt.h). */
#include "http/errfmt.h"

#include "core/err.h"
#include "core/jsonw.h"
#include "core/failure.h"

#include <stdio.h>
#include <string.h>

static int quote_c(struct ag_buf *out, const char *s)
{
    return ag_jsonw_quote(out, s, strlen(s));
}

const char *ag_errfmt_openai_type(int status)
{
    return ag_status_names_of(status)->openai;
}

static int write_openai(struct ag_buf *out, int status, const char *kind, const char *message)
{
    int rc;
    if ((rc = ag_buf_append_c(out, "{\"error\":{\"message\":")) || (rc = quote_c(out, message)) ||
        (rc = ag_buf_printf(
             out, ",\"type\":\"%s\",\"param\":null,\"code\":", ag_errfmt_openai_type(status))))
        return rc;
    if ((rc = kind ? quote_c(out, kind) : ag_buf_append_c(out, "null")))
        return rc;
    return ag_buf_append_c(out, "}}");
}

const char *ag_errfmt_anthropic_type(int status)
{
    return ag_status_names_of(status)->anthropic;
}

static int write_anthropic(struct ag_buf *out, int status, const char *kind, const char *message)
{
    int rc;
    if ((rc = ag_buf_printf(out, "{\"type\":\"error\",\"error\":{\"type\":\"%s\",\"message\":",
                            ag_errfmt_anthropic_type(status))) ||
        (rc = quote_c(out, message)))
        return rc;
    return ag_buf_append_c(out, "}}");
}

const char *ag_errfmt_gemini_status(int status)
{
    return ag_status_names_of(status)->gemini;
}

static int write_gemini(struct ag_buf *out, int status, const char *kind, const char *message)
{
    int rc;
    if ((rc = ag_buf_printf(out, "{\"error\":{\"code\":%d,\"message\":", status)) ||
        (rc = quote_c(out, message)) ||
        (rc = ag_buf_printf(out, ",\"status\":\"%s\"}}", ag_errfmt_gemini_status(status))))
        return rc;
    return 0;
}

static int write_plain(struct ag_buf *out, int status, const char *kind, const char *message)
{
    int rc;
    if ((rc = ag_buf_append_c(out, "{\"error\":{\"message\":")) || (rc = quote_c(out, message)) ||
        (rc = ag_buf_append_c(out, ",\"type\":")) ||
        (rc = quote_c(out, kind ? kind : (status >= 500 ? "server_error" : "client_error"))))
        return rc;
    return ag_buf_append_c(out, "}}");
}

const struct ag_errfmt ag_errfmt_openai = {"openai", write_openai, "application/json"};
const struct ag_errfmt ag_errfmt_anthropic = {"anthropic", write_anthropic, "application/json"};
const struct ag_errfmt ag_errfmt_gemini = {"gemini", write_gemini, "application/json"};
const struct ag_errfmt ag_errfmt_plain = {"plain", write_plain, "application/json"};

const char *ag_http_reason(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 101:
        return "Switching Protocols";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 206:
        return "Partial Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 413:
        return "Content Too Large";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Content";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 529:
        return "Site Overloaded";
    default:
        return "Unknown";
    }
}
