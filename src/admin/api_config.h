/* admin/api_config.h: changing configuration keys from admin routes (validated, saved to
 * config.json atomically, then put in force through the gateway). */
#ifndef AG_ADMIN_API_CONFIG_H
#define AG_ADMIN_API_CONFIG_H

#include "admin/admin_internal.h"

#define ADM_MAX_CHANGES 64

struct adm_changes {
    char *key[ADM_MAX_CHANGES];
    char *text[ADM_MAX_CHANGES]; /* text form (config set) */
    size_t n;
    char *new_cfg_json;    /* the running snapshot, unmasked */
    struct ag_config *cfg; /* built by the worker */
    /* When set, answers the request instead of the default answer (rc: 0 or AG_E*). */
    void (*on_applied)(struct adm_job *j, int rc, const struct ag_buf *restart);
};

/** Adds key = text after ag_config_check; why gets the reason on failure. */
int adm_changes_add(struct adm_changes *c, const char *key, const char *text, struct ag_buf *why);
void adm_changes_free(struct adm_changes *c);

/** Saves and applies c (taken), answering req (may be NULL) when done. */
void adm_changes_start(struct ag_admin *a, struct ag_http_req *req, struct adm_changes *c);

/** Puts cfg in force (gateway, then the admin layer); restart gets the restart-only keys. */
int adm_config_apply(struct ag_admin *a, struct ag_config *cfg, struct ag_buf *restart);

#endif
