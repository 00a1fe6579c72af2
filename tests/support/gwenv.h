/* tests/support/gwenv.h: the environment most integration tests need: the mock upstream with
 * scripted accounts, a temporary data directory (optionally with a config.json), `aigate accounts
 * add` for each refresh token, and the real gateway on a free loopback port. Every process is
 * stopped by its own PID; a test that fails half-way is cleaned up by ag_gwenv_teardown. */
#ifndef AG_TEST_GWENV_H
#define AG_TEST_GWENV_H

#include <stdbool.h>

#include "child.h"
#include "core/buf.h"
#include "proc.h"

#define AG_GWENV_VARS 16

struct ag_gwenv_opts {
    const char *name;           /* names the temp directory and the OAuth client ("relay") */
    bool mock;                  /* start the mock upstream (implied by mock_accounts) */
    const char *mock_accounts;  /* JSON array for PUT /__mock/accounts (NULL: its defaults) */
    const char *mock_faults;    /* POSTed to /__mock/faults before any `accounts add` (or NULL) */
    const char *const *tokens;  /* refresh tokens to `accounts add` (NULL-terminated, or NULL) */
    const char *config_json;    /* written to <data>/config.json (0600) when not NULL */
    const char *const *env;     /* extra "K=V" for the gateway and the CLI (NULL-terminated);
                                   AIGATE_LOG_LEVEL is info unless set here */
    const char *const *gw_args; /* extra gateway arguments after --port N (NULL-terminated) */
};

struct ag_gwenv {
    struct ag_proc mock;
    bool with_mock;
    struct ag_child gw;
    char base[64]; /* the temp directory, removed by stop */
    char dir[128]; /* <base>/data = AIGATE_DATA_DIR */
    char vars[AG_GWENV_VARS][256];
    const char *envp[AG_GWENV_VARS + 1];
    const char *gw_args[16];
    char port_arg[16];
    int port;
};

/** ag_gwenv_prepare then ag_gwenv_launch; fails the test on any error. */
void ag_gwenv_start(struct ag_gwenv *e, const struct ag_gwenv_opts *o);

/**
 * Everything but the gateway: the mock and its accounts, the data directory and config, the
 * environment, `accounts add` for each token. The CLI (ag_gwenv_cli) works from here on.
 */
void ag_gwenv_prepare(struct ag_gwenv *e, const struct ag_gwenv_opts *o);

/**
 * Starts the gateway prepared by ag_gwenv_prepare and waits for "listening on". When its port
 * was taken meanwhile (the gateway says "address already in use"), e->port becomes another free
 * one (at most twice).
 */
void ag_gwenv_launch(struct ag_gwenv *e);

/**
 * A clean stop: SIGTERM to the gateway, then the mock, then the directory is removed; only then
 * fails the test if the gateway did not exit 0 (its log is printed).
 */
void ag_gwenv_stop(struct ag_gwenv *e);

/** A cmocka teardown: kills whatever the running environment left (after a failed assertion). */
int ag_gwenv_teardown(void **state);

/** A call to the mock's control API (path like "/__mock/faults"); out is reset first. */
long ag_gwenv_mock(struct ag_gwenv *e, const char *method, const char *path, const char *body,
                   struct ag_buf *out);

/**
 * A call to the gateway itself (path like "/v1/models") with the given header lines
 * (NULL-terminated, or NULL); the answer in out, reset first and NUL-terminated (not counted in
 * out->len). The status.
 */
long ag_gwenv_call(struct ag_gwenv *e, const char *method, const char *path, const char *body,
                   const char *const *hdrs, struct ag_buf *out);

/**
 * The id of the first account in `accounts list --json` whose e-mail (or label) contains needle,
 * into id (cap bytes); fails the test when there is none.
 */
void ag_gwenv_account_id(struct ag_gwenv *e, const char *needle, char *id, size_t cap);

/** `aigate --port N args…` with the environment, to completion (60 s bound); the exit code. */
int ag_gwenv_cli(struct ag_gwenv *e, const char *const *args, char **out, char **err);

/** $AIGATE_BIN (fails the test when unset). */
const char *ag_gwenv_bin(void);

#endif
