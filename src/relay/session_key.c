/* relay/session_key.c: which conversation a request belongs to, from the headers agent clients
 * send, and the upstream sessionId each conversation gets (see relay_internal.h). Claude Code sends
 * X-Claude-Code-Session-Id on every call of a session and x-claude-code-agent-id on a sub-agent's
 * calls; Codex sends thread-id (a sub-agent runs in a thread of its own) and session-id; other
 * tools use an x-<tool>-session-id header. Gemini CLI sends none: its requests keep the first-user-
 * message fingerprint their decoder computed, as do Anthropic requests without a header (keyed by
 * metadata.user_id). */
#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/hash.h"
#include "core/hex.h"
#include "http/server.h"
#include "relay/relay_internal.h"

/* Headers naming a conversation, most specific first. */
static const char *const exact[] = {
    "x-claude-code-session-id",
    "thread-id",
    "x-codex-thread-id",
    "session-id",
    "session_id",
    "x-session-id",
};

static bool has_suffix_ci(struct ag_str s, const char *suffix)
{
    size_t n = strlen(suffix);
    return s.len > n && ag_str_eq_ci(ag_str_make(s.p + s.len - n, n), ag_str_make(suffix, n));
}

/* The first header "x-<something>-<suffix>" (e.g. x-opencode-session-id), AG_STR_NULL if none. A
 * parent's id (x-claude-code-parent-agent-id) names another conversation and does not count. */
static struct ag_str wildcard(const struct ag_http_req *req, const char *suffix,
                              struct ag_str *name)
{
    for (size_t i = 0; i < req->nheaders; i++) {
        struct ag_str n = req->headers[i].name;
        if (ag_str_has_prefix_ci(n, "x-") && has_suffix_ci(n, suffix) &&
            !ag_str_contains_ci(n, "-parent-") && req->headers[i].value.len) {
            *name = n;
            return req->headers[i].value;
        }
    }
    return AG_STR_NULL;
}

int ag_relay_session_key(const struct ag_http_req *req, struct ag_arena *arena,
                         struct ag_request *creq)
{
    struct ag_str name = AG_STR_NULL, value = AG_STR_NULL, agent_name = AG_STR_NULL;
    for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]) && !value.len; i++) {
        value = ag_http_req_header(req, exact[i]);
        name = ag_str_c(exact[i]);
    }
    if (!value.len)
        value = wildcard(req, "-session-id", &name);
    if (!value.len)
        return 0;
    struct ag_str agent = wildcard(req, "-agent-id", &agent_name);
    /* the key is a digest: header values are the client's and may be long or odd */
    char buf[1024];
    int n = snprintf(buf, sizeof(buf), "%.*s=%.*s|%.*s", (int)name.len, name.p, (int)value.len,
                     value.p, (int)agent.len, agent.p ? agent.p : "");
    if (n < 0)
        return 0;
    unsigned char digest[AG_SHA256_SIZE];
    ag_sha256(buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1, digest);
    return ag_request_set_session_key(arena, creq, "hdr-", digest);
}

void ag_relay_upstream_session(struct ag_str session_key, const char *account_id, char *out,
                               size_t cap)
{
    /* FNV-1 (multiply then xor: the older order, kept so that a conversation's id stays what it
     * was), printed signed: the shape Antigravity Manager gives sessionId. Per conversation when
     * the request has a key, else per account. */
    uint64_t h = session_key.len ? ag_hash_fnv1_add(AG_FNV_INIT, session_key.p, session_key.len)
                                 : ag_hash_fnv1_add(AG_FNV_INIT, account_id,
                                                    account_id ? strlen(account_id) : 0);
    char d[24];
    ag_strlcpy(out, ag_int_text(d, (long long)h), cap);
}

struct ag_str ag_relay_thinking_conv(struct ag_arena *arena, const struct ag_relay_owner *owner,
                                     struct ag_str session_key)
{
    if (!session_key.len)
        return AG_STR_NULL;
    const unsigned char *who = ag_relay_owner_key(owner);
    char *out = ag_arena_alloc(arena, session_key.len + 2 + 2 * AG_SHA256_SIZE);
    if (!out)
        return AG_STR_NULL;
    size_t n = 0;
    memcpy(out, session_key.p, session_key.len);
    n = session_key.len;
    out[n] = '\0';
    if (who) {
        out[n++] = '@';
        n = (size_t)(ag_hex_encode(out + n, who, AG_SHA256_SIZE) - out);
    }
    return ag_str_make(out, n);
}
