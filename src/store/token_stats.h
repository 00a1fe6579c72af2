/* store/token_stats.h: hourly token statistics per account, model and client protocol. Rows are
 * keyed by the UTC hour (unix seconds of its start), the account's email, the served model and the
 * client protocol, and only ever
 * incremented; the UI converts hours to local time. Increments normally arrive through the writer
 * thread (ag_writer_add_tokens); the synchronous functions are for the CLI and tests. */
#ifndef AG_STORE_TOKEN_STATS_H
#define AG_STORE_TOKEN_STATS_H

#include <stdint.h>

struct ag_store;

/** One increment. Strings are borrowed; NULL account or model is stored as "". */
struct ag_token_delta {
    int64_t ts_s; /* when (unix s); the row is the UTC hour containing it */
    const char *account_email;
    const char *model;
    const char *protocol; /* client protocol ("openai-chat", "gemini"); NULL is stored as "" */
    int64_t requests;
    int64_t input_tokens;
    int64_t output_tokens;
    int64_t cached_tokens;
    int64_t reasoning_tokens;
    int64_t errors;
};

/** One hour's totals for an account and model. */
struct ag_token_stats_row {
    int64_t hour_s;
    int64_t requests;
    int64_t input_tokens;
    int64_t output_tokens;
    int64_t cached_tokens;
    int64_t reasoning_tokens;
    int64_t errors;
};

/** The start (unix s) of the UTC hour containing ts_s. */
static inline int64_t ag_token_stats_hour(int64_t ts_s)
{
    int64_t r = ts_s % 3600;
    return ts_s - (r < 0 ? r + 3600 : r);
}

/** Adds d synchronously; 0 or AG_EDB. */
int ag_store_token_stats_add(struct ag_store *s, const struct ag_token_delta *d);

/**
 * Reads the totals for the hour containing ts_s, account and model (summed over protocols) into
 * *out; AG_ENOTFOUND when nothing was recorded there.
 */
int ag_store_token_stats_get(struct ag_store *s, int64_t ts_s, const char *account_email,
                             const char *model, struct ag_token_stats_row *out);

#endif
