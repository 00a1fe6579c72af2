/* tests/fuzz/fuzz_multipart.c: libFuzzer harness for the multipart/form-data parser (not built by
 * default).
 *   clang -g -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Isrc tests/fuzz/fuzz_multipart.c \
 *       src/proto/multipart.c src/core/arena.c src/core/str.c src/core/err.c src/core/mem.c \
 *       -o fuzz_multipart
 * The first input byte chooses how much of the rest is the Content-Type header; the parser must
 * never read outside the body, and every part it returns must lie inside it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/multipart.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t ct_len = data[0] % 96;
    if (ct_len > size - 1)
        ct_len = size - 1;
    struct ag_str ct = ag_str_make((const char *)data + 1, ct_len);
    struct ag_str body = ag_str_make((const char *)data + 1 + ct_len, size - 1 - ct_len);
    struct ag_str boundary;
    if (ag_multipart_boundary(ct, &boundary))
        boundary = AG_STR("b");
    struct ag_arena arena;
    ag_arena_init(&arena, 4096, 1u << 22);
    struct ag_multipart *m = calloc(1, sizeof(*m));
    if (ag_multipart_parse(&arena, boundary, body, m) == 0) {
        for (size_t i = 0; i < m->n_parts; i++) {
            const struct ag_multipart_part *p = &m->parts[i];
            if (p->data.p < body.p || p->data.p + p->data.len > body.p + body.len || !p->name.len)
                abort();
        }
    }
    free(m);
    ag_arena_dispose(&arena);
    return 0;
}
