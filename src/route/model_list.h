/* route/model_list.h: the list of model ids this gateway answers to, and the two JSON bodies
 * that publish it — `GET /v1/models` (OpenAI shape) and `GET /v1beta/models` (Gemini shape).
 *
 * The list is the union of the ids the accounts' quota data report and, unless
 * `only_raw_quota_models` is set, the mapping's client names (exact custom keys and the built-in
 * table), Antigravity Manager's extra ids (gemini-3.1-pro-low, gemini-2.0-flash-exp,
 * gemini-2.5-flash, gemini-3-flash, gemini-3.1-pro-high) and the 21 gemini-3-pro-image size/ratio
 * ids. It is deduplicated and sorted by byte order (Antigravity Manager sorts too), so the output
 * is stable.
 *
 * Every id carries the provider that serves it: "google" (Cloud Code, the mapping's names and
 * extras) unless it was added with ag_model_list_add_owned — the models of API-key accounts and
 * the concrete names of routing.rules (ag_model_list_add_rules; the pool adds its accounts'). */
#ifndef AG_ROUTE_MODEL_LIST_H
#define AG_ROUTE_MODEL_LIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/routing.h"
#include "core/buf.h"
#include "core/str.h"
#include "route/mapping.h"

/** The provider of the ids added without one (Cloud Code's kind name in store/provider.h). */
#define AG_MODEL_LIST_DEFAULT_OWNER "google"

/** An owned, sorted, duplicate-free list of model ids. */
struct ag_model_list {
    char **ids;          /* owned, NUL-terminated */
    const char **owners; /* owners[i] is ids[i]'s provider kind name; static strings */
    size_t n;
    size_t _alloc;
};

/** Prepares an empty list. */
void ag_model_list_init(struct ag_model_list *l);

/** Frees every id; the list is empty and reusable afterwards. */
void ag_model_list_dispose(struct ag_model_list *l);

/**
 * Fills l (which must be empty) as described above. quota_ids (n_quota slices, borrowed) are the
 * model names of the accounts' quota lists; empty names and names of AG_MODEL_ID_MAX bytes or
 * more are skipped. m may be NULL (then only quota ids and extras are listed). Returns 0.
 */
int ag_model_list_build(struct ag_model_list *l, const struct ag_mapping *m,
                        const struct ag_str *quota_ids, size_t n_quota, bool only_raw_quota_models);

/**
 * Adds one id (copied) keeping the list sorted and unique; 0, AG_EINVAL for an empty id, or
 * AG_ETOOBIG for one of AG_MODEL_ID_MAX bytes or more.
 */
int ag_model_list_add(struct ag_model_list *l, struct ag_str id);

/**
 * As ag_model_list_add, with the provider kind name that serves id (owner must be a string that
 * outlives the list, e.g. a name of the store/provider.h table). An id already listed keeps the
 * owner it was first added with, except the default owner, which a later named owner replaces.
 */
int ag_model_list_add_owned(struct ag_model_list *l, struct ag_str id, const char *owner);

/** The index of id in l, or -1 when it is not listed. */
ptrdiff_t ag_model_list_find(const struct ag_model_list *l, struct ag_str id);

/**
 * Adds every pattern of rules (may be NULL) that is a concrete name (no '*'), owned by the kind of
 * its first target: its provider kind, or for a target naming an account by label,
 * label_kind(ud, label) (may be NULL; NULL or an unknown label gives the default owner). The
 * returned kind name must outlive the list.
 */
void ag_model_list_add_rules(struct ag_model_list *l, const struct ag_config_routing_rules *rules,
                             const char *(*label_kind)(void *ud, const char *label), void *ud);

/**
 * Appends `{"object":"list","data":[{"id","object":"model","created","owned_by","provider"}…]}`
 * to out; created is the Unix time reported for every model (Antigravity Manager uses 1706745600).
 * provider is the id's owner; owned_by is "aigate" for Cloud Code models (as Antigravity Manager
 * reports them) and the provider kind for the others.
 * Returns 0, AG_ETOOBIG when out's cap is hit (out keeps what it had), AG_ENOMEM.
 */
int ag_model_list_write_openai(const struct ag_model_list *l, int64_t created, struct ag_buf *out);

/**
 * Appends `{"models":[{"name":"models/<id>","version":"001","displayName":<id>,"description":"",
 * "inputTokenLimit","outputTokenLimit","supportedGenerationMethods":["generateContent",
 * "streamGenerateContent","countTokens"],"temperature":1.0,"topP":0.95,"topK":64,"thinking"}…]}`
 * to out. The limits and `thinking` come from the spec of the model each id routes to through m
 * (m may be NULL: the id's own spec). Errors as ag_model_list_write_openai().
 */
int ag_model_list_write_gemini(const struct ag_model_list *l, const struct ag_mapping *m,
                               struct ag_buf *out);

#endif
