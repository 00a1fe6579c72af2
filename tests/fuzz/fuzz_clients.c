/* tests/fuzz/fuzz_clients.c: libFuzzer harness for the editors of the clients' config files
 * (clients/toml_edit.h, clients/json_edit.h, clients/dotenv.h) — the text is whatever a user's
 * config file holds.
 *
 * Input: a mode byte, then the file's text. Mode % 3 == 0: TOML (Codex's config.toml): scan, then
 * set a top-level key, a key in an existing or new table, and remove one. 1: JSON settings: load,
 * set a nested member, write back. 2: .env: check, set a variable, read it back.
 *
 * Invariants: a failed scan / load / check always says why; whatever an edit writes scans (TOML),
 * loads (JSON) or checks (.env) again, and a second identical edit changes nothing; the value
 * set is the value read back. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clients/dotenv.h"
#include "clients/json_edit.h"
#include "clients/toml_edit.h"

static void die(const char *what)
{
    fprintf(stderr, "fuzz_clients: %s\n", what);
    abort();
}

/* One TOML set (value NULL: remove) on text; the result scans again and is idempotent. */
static void toml_once(const char *text, size_t len, const char *table, const char *key,
                      const char *value)
{
    struct ag_toml_doc doc, doc2;
    struct ag_buf out, out2;
    char err[256];
    bool changed, changed2;
    if (ag_toml_scan(text, len, &doc, err, sizeof(err)) != 0)
        die("a text that scanned once no longer scans");
    ag_buf_init(&out, 4 * AG_TOML_MAX_TEXT);
    ag_buf_init(&out2, 4 * AG_TOML_MAX_TEXT);
    int rc = value ? ag_toml_set(&doc, table, key, value, &out, &changed)
                   : ag_toml_remove(&doc, table, key, &out, &changed);
    ag_toml_dispose(&doc);
    if (rc == 0 && out.len <= AG_TOML_MAX_TEXT) {
        const char *o = out.data ? out.data : "";
        if (ag_toml_scan(o, out.len, &doc2, err, sizeof(err)) != 0) {
            fprintf(stderr, "after the edit: %s\n", err);
            die("an edited text does not scan");
        }
        rc = value ? ag_toml_set(&doc2, table, key, value, &out2, &changed2)
                   : ag_toml_remove(&doc2, table, key, &out2, &changed2);
        if (rc == 0 && changed2 && value)
            die("setting the same value twice changed the text twice");
        char got[128];
        if (value && value[0] == '"' && ag_toml_get_string(&doc2, table, key, got, sizeof(got)) &&
            strncmp(got, value + 1, strlen(got)))
            die("the value read back is not the value set");
        ag_toml_dispose(&doc2);
    }
    ag_buf_dispose(&out);
    ag_buf_dispose(&out2);
}

static void toml(const char *text, size_t len)
{
    struct ag_toml_doc doc;
    char err[256] = "";
    if (ag_toml_scan(text, len, &doc, err, sizeof(err)) != 0) {
        if (!err[0])
            die("a refused TOML text without a message");
        return;
    }
    ag_toml_dispose(&doc);
    toml_once(text, len, NULL, "model_provider", "\"aigate\"");
    toml_once(text, len, "model_providers.aigate", "base_url", "\"http://127.0.0.1:8045/v1\"");
    toml_once(text, len, "a", "b", "[1, {c = 2}]");
    toml_once(text, len, "model_providers.aigate", "env_key", NULL);
}

static void json(const char *text, size_t len)
{
    char err[256] = "";
    yyjson_mut_doc *d = ag_json_edit_load(text, len, err, sizeof(err));
    if (!d) {
        if (!err[0])
            die("a refused JSON text without a message");
        return;
    }
    static const char *const p[] = {"env", "ANTHROPIC_BASE_URL"};
    bool changed = false;
    struct ag_buf out;
    ag_buf_init(&out, 16 * 1024 * 1024);
    if (ag_json_edit_set(d, p, 2, "http://127.0.0.1:8045", &changed, err, sizeof(err)) == 0 &&
        ag_json_edit_dump(d, &out) == 0) {
        yyjson_mut_doc *d2 = ag_json_edit_load(out.data, out.len, err, sizeof(err));
        if (!d2)
            die("a written settings file does not load again");
        const char *v = ag_json_edit_get(d2, p, 2);
        if (!v || strcmp(v, "http://127.0.0.1:8045"))
            die("the member read back is not the member set");
        changed = false;
        if (ag_json_edit_set(d2, p, 2, "http://127.0.0.1:8045", &changed, err, sizeof(err)) ||
            changed)
            die("setting the same member twice changed it twice");
        yyjson_mut_doc_free(d2);
    }
    ag_buf_dispose(&out);
    yyjson_mut_doc_free(d);
}

static void dotenv(const char *text, size_t len)
{
    char err[256] = "", got[64];
    if (ag_dotenv_check(text, len, err, sizeof(err)) != 0) {
        if (!err[0])
            die("a refused .env without a message");
        return;
    }
    struct ag_buf out, out2;
    bool changed, changed2;
    ag_buf_init(&out, 2 * AG_DOTENV_MAX_TEXT);
    ag_buf_init(&out2, 2 * AG_DOTENV_MAX_TEXT);
    if (ag_dotenv_set(text, len, "GEMINI_API_KEY", "sk-1", &out, &changed) == 0) {
        const char *o = out.data ? out.data : "";
        if (ag_dotenv_check(o, out.len, err, sizeof(err)) != 0 && out.len <= AG_DOTENV_MAX_TEXT)
            die("an edited .env does not check");
        if (!ag_dotenv_get(o, out.len, "GEMINI_API_KEY", got, sizeof(got)) || strcmp(got, "sk-1"))
            die("the variable read back is not the one set");
        if (ag_dotenv_set(o, out.len, "GEMINI_API_KEY", "sk-1", &out2, &changed2) == 0 && changed2)
            die("setting the same variable twice changed it twice");
    }
    ag_buf_dispose(&out);
    ag_buf_dispose(&out2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    switch (data[0] % 3) {
    case 0:
        toml(text, len);
        break;
    case 1:
        json(text, len);
        break;
    default:
        dotenv(text, len);
        break;
    }
    return 0;
}
