/* tests/fuzz/fuzz_account.c: libFuzzer harness for the account import parser (our export format,
 * Antigravity Manager's export shapes, single objects, a byte-order mark) and for the check of a
 * stored per-model quota document.
 *
 * Input: a mode byte. 'A' (even): the rest is an import file. 'B' (odd): the rest is quota JSON.
 *
 * Invariants: a parsed import counts its usable entries right, a usable entry has a refresh token
 * and an unusable one a reason; a rejected file says why and points inside the input. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "store/account_json.h"

static void import(const uint8_t *data, size_t size)
{
    struct ag_account_import imp;
    memset(&imp, 0, sizeof(imp));
    int rc = ag_account_import_parse((const char *)data, size, &imp);
    if (rc == 0) {
        size_t usable = 0;
        for (size_t i = 0; i < imp.len; i++) {
            const struct ag_import_entry *e = &imp.entries[i];
            if (!e->error) {
                usable++;
                if (!e->refresh_token || !e->refresh_token[0])
                    abort();
            }
        }
        if (usable != imp.usable) {
            fprintf(stderr, "fuzz_account: %zu usable entries counted as %zu\n", usable,
                    imp.usable);
            abort();
        }
    } else if (rc == AG_EPARSE) {
        if (!imp.error[0] || imp.err_offset > size || imp.err_line < 1 || imp.err_column < 1) {
            fprintf(stderr, "fuzz_account: rejection without a place: \"%s\" at %zu (%zu:%zu)\n",
                    imp.error, imp.err_offset, imp.err_line, imp.err_column);
            abort();
        }
    }
    ag_account_import_dispose(&imp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (((uint8_t)(data[0] - 'A') & 1) == 0) {
        import(data + 1, size - 1);
    } else {
        char err[256];
        (void)ag_quota_json_check((const char *)data + 1, size - 1, err, sizeof(err));
    }
    return 0;
}
