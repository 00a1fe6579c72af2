/* clients/clients.h: writing a coding client's own configuration so that it uses this gateway
 * (Claude Code, Codex CLI, Gemini CLI, OpenCode), and undoing it. One client = a row of a const
 * table: its files and, per file, an editor that sets only the keys aigate owns and keeps every
 * other byte it can (JSON: every other member, in order; TOML and .env: every other line,
 * comments included). A file that does not parse is refused and left untouched; JSON with
 * comments or trailing commas (JSONC) is refused too, since rewriting it would drop them.
 *
 * Flow: ag_clients_plan() reads the files and computes their new text (nothing written);
 * ag_clients_plan_diff() shows it; ag_clients_apply() keeps a backup of each file it changes
 * (<file>.aigate-<stamp>.bak, one stamp for the files of one run, or an empty
 * <file>.aigate-<stamp>.new marking a file that did not exist) and replaces the files atomically;
 * ag_clients_restore() puts back the files of the newest stamp. A second apply with the same
 * target changes nothing and makes no backup. Files holding the key are written with mode 0600.
 * Each apply also keeps a set-up record for the client
 * ($XDG_STATE_HOME/aigate/clients/<name>.setup: the set-up format version and the model it wrote),
 * removed when restore has put back the last backup; ag_clients_check() compares a set-up client's
 * files with what a set-up would write now. Everything here is blocking file I/O: call it from a
 * command or a worker thread. */
#ifndef AG_CLIENTS_CLIENTS_H
#define AG_CLIENTS_CLIENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "core/buf.h"

#define AG_CLIENTS_MAX_FILES 2
#define AG_CLIENTS_PATH_MAX  1024
/** Largest client config file read. */
#define AG_CLIENTS_FILE_CAP (1024u * 1024)

/** Where the clients keep their files: the environment they would see (NULL = unset). */
struct ag_clients_env {
    const char *home;              /* HOME; required */
    const char *xdg_config_home;   /* XDG_CONFIG_HOME (OpenCode) */
    const char *claude_config_dir; /* CLAUDE_CONFIG_DIR (Claude Code) */
    const char *codex_home;        /* CODEX_HOME (Codex CLI) */
    const char *gemini_cli_home;   /* GEMINI_CLI_HOME (Gemini CLI) */
    const char *xdg_state_home;    /* XDG_STATE_HOME (aigate's set-up records) */
};

/**
 * The set-up format version: raised whenever what a set-up writes changes (new settings, another
 * form of one), so that clients set up by an older aigate are found needing an update.
 */
#define AG_CLIENTS_SETUP_VERSION 1

/** What to point a client at. All borrowed. */
struct ag_clients_target {
    const char *base_url; /* the gateway's root, e.g. http://127.0.0.1:8045 (no trailing /) */
    const char *key;      /* the key the client sends */
    const char *model;    /* NULL or "": leave the client's model choice alone */
};

/** One file of a plan. */
struct ag_clients_file {
    char path[AG_CLIENTS_PATH_MAX];
    bool exists;  /* the file existed when planned */
    bool changed; /* new differs from old */
    bool secret;  /* holds the key: written with mode 0600 */
    mode_t mode;  /* the mode to write with */
    struct ag_buf old_text, new_text;
};

/** The planned change of one client's files. */
struct ag_clients_plan {
    size_t client;   /* index in the client table */
    char model[256]; /* the target's model ("" = none), kept in the set-up record */
    char record[AG_CLIENTS_PATH_MAX]; /* the set-up record's path ("" = none kept) */
    size_t nfiles;
    struct ag_clients_file files[AG_CLIENTS_MAX_FILES];
};

/** What status found for one client. */
struct ag_clients_state {
    bool configured;  /* its config names a base URL aigate would write */
    bool points_here; /* ... equal to the target's base URL */
    bool key_matches; /* ... and the key equals the target's key */
    bool key_same;    /* every key found equals the target's (whatever the base URL) */
    char url[512];    /* the base URL found ("" = none) */
    char path[AG_CLIENTS_PATH_MAX];
    char error[1024]; /* a file that could not be read or parsed ("" = none) */
};

/** Number of known clients. */
size_t ag_clients_count(void);

/** Name ("claude-code", "codex", "gemini-cli", "opencode") of client i. */
const char *ag_clients_name(size_t i);

/** Human name ("Claude Code", ...) of client i. */
const char *ag_clients_title(size_t i);

/** The index of the client called name, or -1. */
long ag_clients_find(const char *name);

/**
 * Checks a target: base URL http(s)://..., key and model of printable characters that each
 * client file format can hold without quoting (no spaces, quotes, '#', '\'). Returns 0, or
 * AG_EINVAL with the reason in err (cap bytes).
 */
int ag_clients_check_target(const struct ag_clients_target *t, char *err, size_t cap);

/**
 * Fills env from the process environment (HOME, XDG_CONFIG_HOME, CLAUDE_CONFIG_DIR, CODEX_HOME,
 * GEMINI_CLI_HOME). The strings are borrowed from the environment. Returns AG_EINVAL when HOME
 * is unset or empty.
 */
int ag_clients_env_from_process(struct ag_clients_env *env);

/**
 * Reads client's files and computes their new text for t, writing nothing. Returns 0; AG_EPARSE
 * with a message naming the file in err (a file that does not parse, JSONC, or a setting in a
 * form aigate does not edit); AG_EINVAL (bad target, unknown client); AG_ETOOBIG; AG_EIO. plan
 * must be disposed after any result.
 */
int ag_clients_plan(const struct ag_clients_env *env, size_t client,
                    const struct ag_clients_target *t, struct ag_clients_plan *plan, char *err,
                    size_t cap);

/** Frees plan's buffers (safe on a zeroed or failed plan). */
void ag_clients_plan_dispose(struct ag_clients_plan *plan);

/** True when applying plan would change a file. */
bool ag_clients_plan_changes(const struct ag_clients_plan *plan);

/**
 * Appends a readable diff of plan to out: per changed file a "--- path" / "+++ path" header and
 * the lines removed ("-") and added ("+") around the unchanged ones; mask (may be NULL) is
 * replaced by a shortened form wherever it appears. "No change" lines for unchanged files.
 */
int ag_clients_plan_diff(const struct ag_clients_plan *plan, const char *mask, struct ag_buf *out);

/**
 * Applies plan: for each changed file a backup with one stamp made from now (see above), then
 * the new text, atomically. A file that changed on disk since it was planned is not touched
 * (AG_ESTATE). Returns 0 or an error with a message in err; *stamp (cap 32, may be NULL)
 * receives the backup stamp ("" when nothing changed).
 */
int ag_clients_apply(struct ag_clients_plan *plan, time_t now, char *stamp, char *err, size_t cap);

/**
 * Restores client's files from its newest backup stamp: each file of that stamp is put back (a
 * .new marker removes the file aigate created) and its backup removed, so a second restore goes
 * one set-up further back. Appends one line per file to report. Returns 0, AG_ENOTFOUND (no
 * backup), or an error with a message in err.
 */
int ag_clients_restore(const struct ag_clients_env *env, size_t client, struct ag_buf *report,
                       char *err, size_t cap);

/**
 * Reads client's files and tells whether they point at t's base URL (t->key may be NULL: no key
 * check). Never writes. Returns 0 (see st->error for an unreadable file).
 */
int ag_clients_status(const struct ag_clients_env *env, size_t client,
                      const struct ag_clients_target *t, struct ag_clients_state *st);

/** Whether a client is set up through aigate and up to date. */
enum ag_clients_verdict {
    AG_CLIENTS_NOT_SET_UP = 0, /* no set-up record and no backup of a set-up */
    AG_CLIENTS_UP_TO_DATE,     /* a set-up now would change nothing */
    AG_CLIENTS_NEEDS_UPDATE,   /* a set-up now would change something: see why */
};

/** Why a set-up client needs an update (bits of ag_clients_check.why). */
enum ag_clients_why {
    AG_CLIENTS_WHY_URL = 1 << 0,     /* it names another base URL (the gateway's port moved) */
    AG_CLIENTS_WHY_GONE = 1 << 1,    /* it names no base URL: edited so it no longer uses aigate */
    AG_CLIENTS_WHY_KEY = 1 << 2,     /* its key is not the gateway's (changed or rotated) */
    AG_CLIENTS_WHY_MODEL = 1 << 3,   /* the model the set-up wrote was changed */
    AG_CLIENTS_WHY_VERSION = 1 << 4, /* written by an older set-up format */
    AG_CLIENTS_WHY_OTHER = 1 << 5,   /* another setting the set-up owns differs */
    AG_CLIENTS_WHY_UNREADABLE = 1 << 6, /* a file does not parse (a set-up would refuse it) */
};

/** What ag_clients_check() found for one client. */
struct ag_clients_check {
    enum ag_clients_verdict verdict;
    unsigned why;      /* enum ag_clients_why bits (0 unless NEEDS_UPDATE) */
    int version;       /* the recorded set-up version (0: set up before records were kept) */
    char model[256];   /* the recorded model ("" = none): the target's model for an update */
    char reason[1024]; /* why, in one sentence ("" unless NEEDS_UPDATE) */
    struct ag_clients_state state;
};

/**
 * Tells whether client was set up through aigate (a set-up record or a backup of a set-up) and,
 * if so, whether a set-up with t (base URL and key; the model comes from the record) would change
 * its files now, and why, comparing with the same plan a set-up makes. Reads files only, bounded
 * by AG_CLIENTS_FILE_CAP per file. Returns 0 (out filled), or AG_EINVAL (unknown client, bad
 * target).
 */
int ag_clients_check(const struct ag_clients_env *env, size_t client,
                     const struct ag_clients_target *t, struct ag_clients_check *out);

/**
 * Appends {"base_url":..., "clients":[{"name","title","configured","points_here","key_matches",
 * "url","path","error"}, ...]} for every client to out (t as for ag_clients_status). Returns 0 or
 * AG_ETOOBIG.
 */
int ag_clients_status_json(const struct ag_clients_env *env, const struct ag_clients_target *t,
                           struct ag_buf *out);

#endif
