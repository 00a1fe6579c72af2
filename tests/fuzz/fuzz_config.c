/* tests/fuzz/fuzz_config.c: libFuzzer harness for the configuration loader without files or
 * environment: config.json text through ag_config_from_json (parse, every key's type / range /
 * enum / extra check, unknown keys), the snapshot written back (plain and masked) and read again,
 * one key read with ag_config_get; and the text form of one key's value (--set, `config set`)
 * through ag_config_check.
 *
 * Input: a mode byte. 'A' (even): the rest is config.json text. 'B' (odd): the next byte picks a
 * key of the table, the rest is the value's text.
 *
 * Invariants: a snapshot written as JSON loads again, and writes the same JSON the second time;
 * a failure always comes with a message. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/schema.h"
#include "core/buf.h"
#include "core/log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    ag_log_set_level(AG_LOG_ERROR);
    return 0;
}

static void from_text(const uint8_t *data, size_t size, const struct ag_config_key *keys,
                      size_t nkeys)
{
    struct ag_config *cfg = NULL, *again = NULL;
    struct ag_buf err, a, b, masked, one;
    ag_buf_init(&err, 0);
    ag_buf_init(&a, 0);
    ag_buf_init(&b, 0);
    ag_buf_init(&masked, 0);
    ag_buf_init(&one, 0);
    if (ag_config_from_json((const char *)data, size, &cfg, &err) != 0) {
        if (cfg || !err.len) {
            fprintf(stderr, "fuzz_config: a failed load left a snapshot or no message\n");
            abort();
        }
        goto out;
    }
    if (ag_config_to_json(cfg, false, true, &a) != 0 ||
        ag_config_to_json(cfg, true, false, &masked) != 0)
        abort();
    ag_buf_reset(&err);
    if (ag_config_from_json(a.data, a.len, &again, &err) != 0) {
        fprintf(stderr, "fuzz_config: a written snapshot does not load again: %.*s\n%.*s\n",
                (int)err.len, err.data, (int)a.len, a.data);
        abort();
    }
    if (ag_config_to_json(again, false, true, &b) != 0)
        abort();
    if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0) {
        fprintf(stderr,
                "fuzz_config: a snapshot changes when written and read again:\n%.*s\n--\n%.*s\n",
                (int)a.len, a.data, (int)b.len, b.data);
        abort();
    }
    const struct ag_config_key *k = &keys[size % nkeys];
    ag_buf_reset(&err);
    if (ag_config_get(cfg, k->name, size & 1, &one, &err) != 0)
        abort();
out:
    ag_config_unref(cfg);
    ag_config_unref(again);
    ag_buf_dispose(&err);
    ag_buf_dispose(&a);
    ag_buf_dispose(&b);
    ag_buf_dispose(&masked);
    ag_buf_dispose(&one);
}

static void check_value(const uint8_t *data, size_t size, const struct ag_config_key *keys,
                        size_t nkeys)
{
    if (size < 1)
        return;
    const struct ag_config_key *k = &keys[data[0] % nkeys];
    char *value = malloc(size);
    if (!value)
        abort();
    memcpy(value, data + 1, size - 1);
    value[size - 1] = '\0';
    struct ag_buf err;
    ag_buf_init(&err, 0);
    int rc = ag_config_check(k->name, value, (size & 1) ? "--set" : NULL, &err);
    if (rc != 0 && !err.len) {
        fprintf(stderr, "fuzz_config: %s refused a value without a message\n", k->name);
        abort();
    }
    ag_buf_dispose(&err);
    free(value);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t nkeys = 0;
    const struct ag_config_key *keys = ag_config_keys(&nkeys);
    if (size < 1 || !nkeys)
        return 0;
    if (((uint8_t)(data[0] - 'A') & 1) == 0)
        from_text(data + 1, size - 1, keys, nkeys);
    else
        check_value(data + 1, size - 1, keys, nkeys);
    return 0;
}
