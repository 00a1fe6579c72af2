/* config/schema.h: the one table of configuration keys. Each row names a key ("server.port"), its
 * type, default, limits, where it lives in struct ag_config, its environment variable and flags.
 * Defaults, parsing of config.json, validation, environment overrides, `config get/set/show`,
 * masking and unknown-key warnings are all driven by this table: adding a key means adding a row
 * in schema.c and a field in struct ag_config, nothing else.
 *
 * Values have two forms: JSON (config.json, defaults, the admin API) and text (environment
 * variables, --set KEY=VALUE, `config set KEY VALUE`). The text form of an int is decimal, of a
 * bool one of 1/0/true/false/yes/no/on/off, of a string or enum the text itself, of a string list
 * either a JSON array or comma-separated items, and of a json-kind key its JSON text. */
#ifndef AG_CONFIG_SCHEMA_H
#define AG_CONFIG_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yyjson.h>

#include "core/buf.h"

enum ag_config_kind {
    AG_CONFIG_INT,     /* int64_t within [min, max] */
    AG_CONFIG_BOOL,    /* bool */
    AG_CONFIG_STRING,  /* char * */
    AG_CONFIG_ENUM,    /* int-sized C enum; the index into values[] */
    AG_CONFIG_STRLIST, /* struct ag_config_strlist */
    AG_CONFIG_JSON,    /* a structured value handled by the row's json ops */
};

/** Row flags. */
#define AG_CONFIG_SECRET  1u /* masked in `config show`, logs and the admin API */
#define AG_CONFIG_RESTART 2u /* takes effect only after a restart */
/* A URL whose user info (user:password@) is a secret: shown with it masked, like AG_CONFIG_SECRET,
 * and a masked value sent back unchanged keeps the real one. */
#define AG_CONFIG_URL_SECRET 4u

/** How a json-kind key converts between JSON and its field. */
struct ag_config_json_ops {
    /** Describes accepted values for error messages, e.g. "an object of string to string". */
    const char *allowed;
    /**
     * Parses v into *field (zeroed or disposed beforehand by the caller). On a bad shape returns
     * AG_EINVAL and appends to why a short reason ("clients[1].name must be a non-empty string").
     */
    int (*parse)(yyjson_val *v, void *field, struct ag_buf *why);
    /** Builds the JSON of *field in doc; with mask, secrets inside are masked. */
    yyjson_mut_val *(*emit)(yyjson_mut_doc *doc, const void *field, bool mask);
    /** Frees what parse allocated and zeroes *field. */
    void (*dispose)(void *field);
};

/** One configuration key. */
struct ag_config_key {
    const char *name; /* dotted path, e.g. "server.port" */
    enum ag_config_kind kind;
    const char *def;           /* default as JSON text (goes through the same parser as the file) */
    int64_t min, max;          /* AG_CONFIG_INT only */
    const char *const *values; /* AG_CONFIG_ENUM only: NULL-terminated */
    size_t offset;             /* of the field in struct ag_config */
    unsigned flags;            /* AG_CONFIG_SECRET | AG_CONFIG_RESTART */
    const char *env;           /* environment variable overriding it, or NULL */
    const char *help;          /* one line */
    /**
     * Optional extra check after the type is right (URL schemes, non-empty lists). Returns 0, or
     * AG_EINVAL after appending what is allowed to why.
     */
    int (*check)(const void *field, struct ag_buf *why);
    const struct ag_config_json_ops *json; /* AG_CONFIG_JSON only */
};

/** The table, in the order config.json is written; *n gets the row count. */
const struct ag_config_key *ag_config_keys(size_t *n);

/** Finds a row by its dotted name; NULL when there is none. */
const struct ag_config_key *ag_config_key_find(const char *name);

/** Finds the row whose name is the n bytes at name; NULL when there is none. */
const struct ag_config_key *ag_config_key_findn(const char *name, size_t n);

/** Appends to out a phrase describing the values key accepts ("an integer from 1 to 65535"). */
void ag_config_key_allowed(const struct ag_config_key *key, struct ag_buf *out);

/**
 * Replaces the field of key in the struct at base with the value of JSON v, after checking
 * type, range, enum membership and the row's check. The field must be initialised (zero or a
 * previous value, which is freed on success). On failure returns AG_EINVAL, leaves the field as
 * it was and appends to why what is allowed.
 */
int ag_config_field_from_json(const struct ag_config_key *key, void *base, yyjson_val *v,
                              struct ag_buf *why);

/**
 * Converts the text form of a value for key into JSON in doc (*out); no range checks yet. Returns
 * 0, or AG_EINVAL with what is allowed appended to why.
 */
int ag_config_text_to_json(const struct ag_config_key *key, const char *text, yyjson_mut_doc *doc,
                           yyjson_mut_val **out, struct ag_buf *why);

/**
 * The form of text (a value of key, in its text form) that may be shown: masked for a secret key
 * (ag_log_mask), its credentials hidden for a URL-secret key (ag_url_mask_userinfo), else text
 * itself. Returns text or out (cap bytes).
 */
const char *ag_config_key_shown(const struct ag_config_key *key, const char *text, char *out,
                                size_t cap);

/** Builds the JSON of the field of key in the struct at base; masks secrets with mask. */
yyjson_mut_val *ag_config_field_to_json(const struct ag_config_key *key, const void *base,
                                        yyjson_mut_doc *doc, bool mask);

/** Frees the field of key in the struct at base and zeroes it. */
void ag_config_field_dispose(const struct ag_config_key *key, void *base);

#endif
