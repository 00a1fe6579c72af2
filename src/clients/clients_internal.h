/* clients/clients_internal.h: what the files of clients/ share: the client table
 * (clients/formats.c: each client's files, and per file where it is, how aigate edits it and how
 * status reads it). */
#ifndef AG_CLIENTS_INTERNAL_H
#define AG_CLIENTS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "clients/clients.h"
#include "core/buf.h"

/** What a file editor gets (the target and the file's text, borrowed) and gives (out, err). */
struct ag_clients_edit {
    const struct ag_clients_target *t;
    const char *text;
    size_t len;
    bool exists;
    struct ag_buf *out;
    char *err;
    size_t cap;
};

/** What a probe (status) finds in a file: the base URL and key it names. */
struct ag_clients_found {
    char url[512];
    char key[512];
};

/** One file of a client: where it is, how aigate edits it, how status reads it. */
struct ag_clients_file_def {
    int (*path)(const struct ag_clients_env *e, char *out, size_t cap);
    int (*edit)(struct ag_clients_edit *ed, bool *changed);
    /* Reads what the file says about the gateway into f (absent: leaves it empty). */
    int (*probe)(const char *text, size_t len, struct ag_clients_found *f, char *err, size_t cap);
    bool secret;
};

/** One client: its name for the command line, its title and its files. */
struct ag_clients_def {
    const char *name, *title;
    size_t nfiles;
    struct ag_clients_file_def files[AG_CLIENTS_MAX_FILES];
};

/** The client table, in the order of ag_clients_name(); ag_clients_ntable rows. */
extern const struct ag_clients_def ag_clients_table[];
extern const size_t ag_clients_ntable;

#endif
