/* cli/warmup_cmd.c: `aigate warmup [--account ID|EMAIL] [--json] [--timeout S]` — asks the gateway
 * running on this machine (its admin API, cli/live.h) to warm up now, waits for the run to end and
 * prints what was sent and what was skipped and why. The warm-up lives in the gateway (it needs
 * the pool's live cooldowns and tokens), so without a running gateway the command fails. */
#include "cli/cmd.h"
#include "cli/live.h"
#include "core/str.h"
#include "core/jsonw.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <yyjson.h>

static const char usage[] = "usage: aigate warmup [--account ID|EMAIL] [--json] [--timeout S]";

static const char *str_of(yyjson_val *o, const char *k)
{
    const char *s = yyjson_get_str(yyjson_obj_get(o, k));
    return s ? s : "";
}

static void print_run(yyjson_val *run)
{
    yyjson_val *v;
    size_t i, max;
    printf("warm-up run %lld (%s): %lld sent (%lld ok, %lld failed), %lld skipped\n",
           (long long)yyjson_get_sint(yyjson_obj_get(run, "id")), str_of(run, "trigger"),
           (long long)yyjson_get_sint(yyjson_obj_get(run, "sent")),
           (long long)yyjson_get_sint(yyjson_obj_get(run, "ok")),
           (long long)yyjson_get_sint(yyjson_obj_get(run, "failed")),
           (long long)yyjson_get_sint(yyjson_obj_get(run, "skipped")));
    yyjson_arr_foreach(yyjson_obj_get(run, "results"), i, max, v)
    {
        const char *outcome = str_of(v, "outcome"), *err = str_of(v, "error");
        const char *model = str_of(v, "model");
        printf("  %-32s %-24s %-28s %s", str_of(v, "email"), str_of(v, "group"),
               model[0] ? model : "-", outcome);
        if (strcmp(outcome, "ok") != 0)
            printf(": %s%s%s", str_of(v, "reason"), err[0] ? " - " : "", err);
        printf("\n");
    }
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int ag_cli_warmup_cmd(struct ag_cli *cli, int argc, char **argv)
{
    const char *account = NULL;
    bool json = false;
    uint64_t timeout_s = 300;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--account") == 0 && i + 1 < argc && argv[i + 1][0]) {
            account = argv[++i];
        } else if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
            if (ag_str_to_u64(ag_str_c(argv[++i]), 86400, &timeout_s) != 0 || timeout_s == 0)
                return ag_cli_usage_error("--timeout takes seconds from 1 to 86400\n%s", usage);
        } else {
            return ag_cli_usage_error("%s", usage);
        }
    }
    struct ag_config *cfg = ag_cli_load(cli);
    if (!cfg)
        return AG_CLI_EXIT_FAIL;
    int code = AG_CLI_EXIT_FAIL;
    long status = 0;
    struct ag_buf body;
    ag_buf_init(&body, 4096);
    ag_buf_append_c(&body, "{");
    if (account) {
        ag_buf_append_c(&body, "\"account\":");
        ag_jsonw_quote(&body, account, strlen(account));
    }
    ag_buf_append_c(&body, "}");
    yyjson_doc *d = ag_cli_live_call(cfg, "POST", "/api/warmup", body.data, 5000, &status);
    ag_buf_dispose(&body);
    if (status == 0) {
        fprintf(stderr,
                "aigate: no gateway answered on port %lld: the warm-up runs inside a running "
                "gateway (start it with `aigate`)\n",
                (long long)cfg->server.port);
        goto out;
    }
    if (status != 202) {
        const char *msg = yyjson_get_str(
            yyjson_obj_get(yyjson_obj_get(yyjson_doc_get_root(d), "error"), "message"));
        fprintf(stderr, "aigate: the gateway refused the warm-up (%ld): %s\n", status,
                msg ? msg : "no details");
        goto out;
    }
    int64_t id = yyjson_get_sint(yyjson_obj_get(yyjson_doc_get_root(d), "run"));
    yyjson_doc_free(d);
    d = NULL;
    /* Poll the status until this run has finished. */
    for (uint64_t waited = 0; waited <= timeout_s * 1000; waited += 500) {
        d = ag_cli_live_call(cfg, "GET", "/api/warmup", NULL, 5000, &status);
        yyjson_val *run = yyjson_obj_get(yyjson_doc_get_root(d), "last_run");
        if (status == 200 && yyjson_get_sint(yyjson_obj_get(run, "id")) == id &&
            yyjson_get_sint(yyjson_obj_get(run, "finished_ms")) > 0) {
            if (json) {
                char *text = yyjson_val_write(run, YYJSON_WRITE_PRETTY, NULL);
                printf("%s\n", text ? text : "null");
                free(text);
            } else {
                print_run(run);
            }
            code = yyjson_get_sint(yyjson_obj_get(run, "failed")) > 0 ? AG_CLI_EXIT_FAIL
                                                                      : AG_CLI_EXIT_OK;
            goto out;
        }
        yyjson_doc_free(d);
        d = NULL;
        sleep_ms(500);
    }
    fprintf(stderr, "aigate: the warm-up run %lld did not finish within %llu s\n", (long long)id,
            (unsigned long long)timeout_s);
out:
    yyjson_doc_free(d);
    ag_config_unref(cfg);
    return code;
}
