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

/**
 * The path of client's set-up record into out: $XDG_STATE_HOME/aigate/clients/<name>.setup, else
 * ~/.local/state/aigate/clients/<name>.setup. Returns 0 or AG_ETOOBIG.
 */
int ag_clients_record_path(const struct ag_clients_env *env, size_t client, char *out, size_t cap);

/**
 * Reads the set-up record at path: *version and model (cap bytes). Returns 0, AG_ENOTFOUND (no
 * record), or AG_EPARSE / AG_EIO (an unreadable one: *version 0, model "").
 */
int ag_clients_record_read(const char *path, int *version, char *model, size_t cap);

/**
 * The newest backup stamp of client's files into best (cap bytes; "" when there is none).
 * Returns 0 or AG_EIO (a directory that cannot be read).
 */
int ag_clients_backup_stamp(const struct ag_clients_env *env, size_t client, char *best,
                            size_t cap);

/** The client table, in the order of ag_clients_name(); ag_clients_ntable rows. */
extern const struct ag_clients_def ag_clients_table[];
extern const size_t ag_clients_ntable;

#endif
