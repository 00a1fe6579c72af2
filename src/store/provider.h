/* store/provider.h: the kinds of upstream account, in one table. An account is either a Google
 * account signed in with OAuth (Cloud Code, the default) or an API-key account of a provider: the
 * public Gemini API (AI Studio key), Anthropic's Messages API, OpenAI, or any OpenAI-compatible
 * endpoint (DeepSeek, OpenRouter, z.ai, Ollama, vLLM, llama.cpp). Each row says how the kind is
 * named, which wire protocol it speaks (the upstream adapter of proto/), where its API lives by
 * default, and how a request carries its key. Pure data; nothing here does I/O.
 *
 * Base URLs come only from the admin (CLI, admin API), never from a client's request. */
#ifndef AG_STORE_PROVIDER_H
#define AG_STORE_PROVIDER_H

#include <stdbool.h>
#include <stddef.h>

enum ag_provider {
    AG_PROVIDER_GOOGLE = 0,    /* OAuth account on Cloud Code (refresh token) */
    AG_PROVIDER_GEMINI,        /* public Gemini API, x-goog-api-key */
    AG_PROVIDER_ANTHROPIC,     /* Messages API, x-api-key + anthropic-version */
    AG_PROVIDER_OPENAI,        /* OpenAI Chat Completions, Authorization: Bearer */
    AG_PROVIDER_OPENAI_COMPAT, /* any OpenAI-compatible base URL, Authorization: Bearer */
    AG_PROVIDER_COUNT,
};

/** How a request carries the account's API key. */
enum ag_provider_auth {
    AG_AUTH_OAUTH = 0,  /* Authorization: Bearer <access token from the refresh token> */
    AG_AUTH_BEARER,     /* Authorization: Bearer <key> */
    AG_AUTH_X_API_KEY,  /* x-api-key: <key> and anthropic-version */
    AG_AUTH_X_GOOG_KEY, /* x-goog-api-key: <key> */
};

/** One kind of account. */
struct ag_provider_info {
    enum ag_provider kind;
    const char *name;     /* as stored and typed: "google", "gemini", "anthropic", ... */
    const char *upstream; /* the upstream adapter's name (ag_upstream_proto_find) */
    const char *client;   /* the client adapter speaking the same protocol (passthrough) */
    const char *base_url; /* default base URL; NULL = the admin must give one */
    enum ag_provider_auth auth;
    bool lists_models; /* GET <base>/models answers the OpenAI model list */
};

/** The version header Anthropic's API requires with every request. */
#define AG_ANTHROPIC_VERSION "2023-06-01"

/** The row of kind; an out-of-range kind gets the google row. Never NULL. */
const struct ag_provider_info *ag_provider_info(enum ag_provider kind);

/**
 * Parses a kind name ("gemini", "anthropic", "openai", "openai-compatible", "google"; NULL or ""
 * is google). Returns false for anything else.
 */
bool ag_provider_parse(const char *name, enum ag_provider *out);

/** The kind an account's stored provider column names (NULL = google; unknown names too). */
enum ag_provider ag_provider_of(const char *stored);

/**
 * Checks a base URL given by the admin: http:// or https://, a host, no user info, no query or
 * fragment, at most 1024 bytes; a trailing '/' is dropped. Writes the normalised URL to out
 * (cap bytes). Returns 0, or AG_EINVAL with a sentence in why (why_cap bytes).
 */
int ag_provider_base_url_check(const char *in, char *out, size_t cap, char *why, size_t why_cap);

/**
 * Writes the masked form of an API key for lists ("sk-…wxyz": the first 3 and last 4 characters
 * of keys longer than 12, else only "…" and the last 2), never the key. out gets cap bytes.
 */
void ag_provider_mask_key(const char *key, char *out, size_t cap);

#endif
