/* store/account_json.h: pure JSON functions around accounts: the export (backup) format, the
 * parser for import files, and the check for the per-model quota JSON stored with an account.
 * No I/O except ag_account_import_parse_file's read; no network (refreshing imported tokens is
 * the pool layer's job).
 *
 * Export format (ours): a JSON array, one object per account, in list order:
 *   [{"email": ..., "refresh_token": ..., "id": ..., "name"?: ..., "access_token"?: ...,
 *     "token_expiry": ..., "project_id"?: ..., "tier": "pro", "quota"?: {...},
 *     "quota_updated_at": ..., "disabled": false, "disabled_reason"?: ..., "forbidden": false,
 *     "forbidden_reason"?: ..., "forbidden_until"?: ..., "validation_url"?: ..., "proxy_url"?: ...,
 *     "label"?: ..., "oauth_client"?: ..., "created_at": ..., "last_used_at": ...}, ...]
 * API-key accounts carry "provider", "api_key", "base_url"? and "models"? instead of
 * "refresh_token".
 * It is a backup and therefore CONTAINS THE REFRESH TOKENS AND API KEYS, which give full access to
 * the accounts: write it with mode 0600 and treat it like a password file. Every object carries
 * "email" and "refresh_token", so an export is itself a valid import file.
 *
 * Import formats accepted:
 *   (a) a JSON array of {"refresh_token": "1//...", "email"?: "..."} objects (extra keys are
 *       ignored; "label" and "proxy_url" are kept) — this includes our own export and the
 *       Antigravity Manager's saved export file;
 *   (b) Antigravity Manager's export response {"accounts": [{"email": ..., "refresh_token": ...}]};
 *   and, for convenience, one such object alone, and Antigravity Manager's per-account file shape
 * where the token sits in "token": {"refresh_token": ...}. A UTF-8 byte-order mark is skipped. */
#ifndef AG_STORE_ACCOUNT_JSON_H
#define AG_STORE_ACCOUNT_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "store/accounts.h"

/**
 * Serializes n accounts as our export format (pretty JSON, two spaces). On success *out is a
 * malloc'd NUL-terminated string the caller frees, *len its length (len may be NULL).
 * Returns 0 or AG_ENOMEM. accts is borrowed.
 */
int ag_account_export_json(const struct ag_account *accts, size_t n, char **out, size_t *len);

/** Which import shape a file had. */
enum ag_import_format {
    AG_IMPORT_ARRAY = 1, /* (a) top-level array */
    AG_IMPORT_WRAPPED,   /* (b) {"accounts": [...]} */
    AG_IMPORT_SINGLE,    /* one account object */
};

/** One entry of an import file. Strings are owned by the import (freed by its dispose). */
struct ag_import_entry {
    size_t index;        /* position in the file's account array, from 0 */
    char *refresh_token; /* trimmed; NULL when the entry is unusable (see error) */
    char *email;         /* NULL when absent */
    char *label;         /* NULL when absent */
    char *proxy_url;     /* NULL when absent */
    /* An API-key account (the entry has "api_key"): refresh_token is NULL and these are set. */
    char *provider; /* kind name (store/provider.h) */
    char *api_key;
    char *base_url; /* NULL when absent */
    char *models;   /* NULL when absent */
    char *error;    /* NULL for a usable entry; else why it is skipped ("missing
                       \"refresh_token\"", "duplicate of entry 2", ...) */
};

/** A parsed import file. */
struct ag_account_import {
    enum ag_import_format format;
    struct ag_import_entry *entries; /* every entry, usable or not, in file order */
    size_t len;
    size_t usable; /* entries with error == NULL */
    /* Whole-file rejection (ag_account_import_parse returned AG_EPARSE): */
    char error[256];   /* sentence with the position, e.g. "line 3, column 5 (byte 27): ..." */
    size_t err_offset; /* byte offset into the input, BOM included */
    size_t err_line;   /* 1-based */
    size_t err_column; /* 1-based, in bytes */
};

/**
 * Parses an import file held in memory (data borrowed, len bytes). Returns 0 and fills *out (the
 * caller disposes it) when the file is well-formed JSON of an accepted shape, even if some entries
 * are unusable — those carry their own error. Returns AG_EPARSE when the file is malformed or of
 * no accepted shape: nothing is imported, and out->error / err_offset / err_line / err_column say
 * why and where (out needs no dispose then, but disposing is harmless).
 */
int ag_account_import_parse(const char *data, size_t len, struct ag_account_import *out);

/**
 * Reads the file at path (at most 16 MiB, else AG_ETOOBIG) and parses it as above. AG_EIO when it
 * cannot be read (out->error says why).
 */
int ag_account_import_parse_file(const char *path, struct ag_account_import *out);

/** Frees the entries; the import is empty afterwards. NULL is a no-op. */
void ag_account_import_dispose(struct ag_account_import *imp);

/**
 * Checks a quota JSON document as stored in accounts.quota_json: an object mapping model ids to
 * {"remaining": number in [0, 1], "reset_at": integer unix seconds >= 0 (optional)}.
 * Returns 0, or AG_EPARSE with a sentence in err (cap bytes, may be NULL).
 */
int ag_quota_json_check(const char *json, size_t len, char *err, size_t cap);

#endif
