/* tests/fuzz/fuzz_state.c: libFuzzer harness for what the shared state reads from Redis and from
 * the configuration (state/keyspace.h): a message from the change channel or a key's value
 * through ag_state_msg_decode (and, as a user key's usage, ag_state_keymsg_decode), and a
 * state.redis_url through ag_state_url_parse plus a key name.
 *
 * Input: a mode byte. Even: the rest is a message. Odd: the rest is a URL.
 *
 * Invariants: a decoded message encodes again and decodes to the same fields; a URL is either
 * parsed into a host with a port 1..65535 and a db 0..15, or refused with a message. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/log.h"
#include "state/keyspace.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    ag_log_set_level(AG_LOG_ERROR);
    return 0;
}

static void message(const uint8_t *data, size_t size)
{
    struct ag_state_msg m, again;
    struct ag_buf b;
    char *rec = NULL;
    if (ag_state_msg_decode((const char *)data, size, &m) != 0)
        return;
    if (m.kind == AG_STATE_MSG_ACCOUNT)
        rec = yyjson_val_write(m.rec, 0, NULL);
    ag_buf_init(&b, 1 << 20);
    if (ag_state_msg_encode(&m, rec, &b) != 0 || ag_state_msg_decode(b.data, b.len, &again) != 0) {
        fprintf(stderr, "fuzz_state: a decoded message did not round-trip\n");
        abort();
    }
    if (again.kind != m.kind || strcmp(again.instance, m.instance) != 0 ||
        strcmp(again.account, m.account) != 0 || strcmp(again.group, m.group) != 0 ||
        strcmp(again.session, m.session) != 0 || again.until_ms != m.until_ms ||
        again.count != m.count || again.probing != m.probing) {
        fprintf(stderr, "fuzz_state: a message changed in its round trip\n");
        abort();
    }
    ag_state_msg_dispose(&again);
    ag_state_msg_dispose(&m);
    ag_buf_dispose(&b);
    free(rec);
}

static void keymsg(const uint8_t *data, size_t size)
{
    struct ag_state_keymsg m, again;
    struct ag_buf b;
    if (ag_state_keymsg_decode((const char *)data, size, &m) != 0)
        return;
    ag_buf_init(&b, 1 << 16);
    if (ag_state_keymsg_encode(&m, &b) != 0 || ag_state_keymsg_decode(b.data, b.len, &again) != 0 ||
        memcmp(&m, &again, sizeof(m)) != 0) {
        fprintf(stderr, "fuzz_state: a per-key message did not round-trip\n");
        abort();
    }
    ag_buf_dispose(&b);
}

static void url(const uint8_t *data, size_t size)
{
    char text[1024], why[256] = "", key[128];
    struct ag_state_url u;
    if (size >= sizeof(text))
        size = sizeof(text) - 1;
    memcpy(text, data, size);
    text[size] = '\0';
    if (ag_state_url_parse(text, &u, why, sizeof(why)) != 0) {
        if (!why[0]) {
            fprintf(stderr, "fuzz_state: a refused URL came without a message\n");
            abort();
        }
        return;
    }
    if (!u.host[0] || u.port < 1 || u.port > 65535 || u.db < 0 || u.db > 15) {
        fprintf(stderr, "fuzz_state: a parsed URL out of range\n");
        abort();
    }
    (void)ag_state_key(key, sizeof(key), "aigate:", "cd", u.password, u.host);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] % 2 == 0) {
        message(data + 1, size - 1);
        keymsg(data + 1, size - 1);
    } else
        url(data + 1, size - 1);
    return 0;
}
