/* proto/toolid.c: signature-carrying tool-call ids (see toolid.h). */
#include "proto/toolid.h"

#include <stdint.h>
#include <string.h>

#include "core/err.h"
#include "core/hex.h"
#include "proto/json.h"

#define MARK "__thsig__"
#define MARK_RAW                                                                                   \
    "__thsigr__" /* signature that is not canonical base64: its raw bytes, base64url               \
                  */

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int b64url_val(char ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    return ch == '-' ? 62 : ch == '_' ? 63 : -1;
}

/* Canonical base64 only: unpacking restores the padding from the length, so anything else would
 * not come back byte-exact. */
static bool is_b64(struct ag_str s)
{
    if (s.len % 4 != 0)
        return false;
    for (size_t i = 0; i < s.len; i++) {
        char ch = s.p[i];
        bool ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                  (ch >= '0' && ch <= '9') || ch == '+' || ch == '/' ||
                  (ch == '=' && i + 2 >= s.len);
        if (!ok)
            return false;
    }
    return s.len > 0;
}

static bool is_family(struct ag_str s)
{
    for (size_t i = 0; i < s.len; i++)
        if (!((s.p[i] >= 'a' && s.p[i] <= 'z') || (s.p[i] >= '0' && s.p[i] <= '9')))
            return false;
    return s.len > 0;
}

/* Any other signature: its bytes as base64url without padding, behind MARK_RAW. */
static struct ag_str pack_raw(struct ag_arena *arena, struct ag_str base,
                              const struct ag_signature *sig)
{
    const unsigned char *in = (const unsigned char *)sig->value.p;
    size_t n = sig->value.len, enc = (n * 4 + 2) / 3;
    size_t len = base.len + strlen(MARK_RAW) + sig->family.len + 2 + enc;
    char *out = ag_arena_alloc(arena, len + 1), *w = out;
    if (!out)
        return AG_STR_NULL;
    memcpy(w, base.p, base.len);
    w += base.len;
    memcpy(w, MARK_RAW, strlen(MARK_RAW));
    w += strlen(MARK_RAW);
    memcpy(w, sig->family.p, sig->family.len);
    w += sig->family.len;
    *w++ = '_';
    *w++ = '_';
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        *w++ = b64url[(v >> 18) & 63];
        *w++ = b64url[(v >> 12) & 63];
        if (i + 1 < n)
            *w++ = b64url[(v >> 6) & 63];
        if (i + 2 < n)
            *w++ = b64url[v & 63];
    }
    *w = '\0';
    return ag_str_make(out, (size_t)(w - out));
}

/* Decodes base64url without padding into arena; NULL slice on a bad character or arena cap. */
static struct ag_str unpack_raw(struct ag_arena *arena, struct ag_str enc)
{
    char *out = ag_arena_alloc(arena, enc.len * 3 / 4 + 2);
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    if (!out)
        return AG_STR_NULL;
    for (size_t i = 0; i < enc.len; i++) {
        int v = b64url_val(enc.p[i]);
        if (v < 0)
            return AG_STR_NULL;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (char)((acc >> bits) & 0xff);
        }
    }
    out[o] = '\0';
    return ag_str_make(out, o);
}

struct ag_str ag_toolid_pack(struct ag_arena *arena, struct ag_str base,
                             const struct ag_signature *sig)
{
    if (!sig || !sig->value.len || !is_family(sig->family))
        return ag_arena_str(arena, base);
    if (!is_b64(sig->value))
        return pack_raw(arena, base, sig);
    size_t n = sig->value.len;
    while (n && sig->value.p[n - 1] == '=')
        n--;
    size_t len = base.len + strlen(MARK) + sig->family.len + 2 + n;
    char *out = ag_arena_alloc(arena, len + 1);
    if (!out)
        return AG_STR_NULL;
    char *w = out;
    memcpy(w, base.p, base.len);
    w += base.len;
    memcpy(w, MARK, strlen(MARK));
    w += strlen(MARK);
    memcpy(w, sig->family.p, sig->family.len);
    w += sig->family.len;
    *w++ = '_';
    *w++ = '_';
    for (size_t i = 0; i < n; i++) {
        char ch = sig->value.p[i];
        *w++ = ch == '+' ? '-' : ch == '/' ? '_' : ch;
    }
    *w = '\0';
    return ag_str_make(out, len);
}

int ag_toolid_unpack(struct ag_arena *arena, struct ag_str id, struct ag_str *base,
                     struct ag_signature *sig)
{
    size_t ml = strlen(MARK);
    *base = id;
    memset(sig, 0, sizeof(*sig));
    size_t rl = strlen(MARK_RAW);
    ptrdiff_t at = ag_str_search(id, ag_str_c(MARK_RAW));
    if (at >= 0) {
        size_t i = (size_t)at;
        struct ag_str rest = ag_str_make(id.p + i + rl, id.len - i - rl);
        size_t f = 0;
        while (f + 1 < rest.len && !(rest.p[f] == '_' && rest.p[f + 1] == '_'))
            f++;
        struct ag_str v = AG_STR_NULL;
        if (f + 1 < rest.len && f > 0)
            v = unpack_raw(arena, ag_str_make(rest.p + f + 2, rest.len - f - 2));
        if (v.p) {
            *base = ag_str_make(id.p, i);
            sig->value = v;
            sig->family = ag_str_make(rest.p, f);
            return 0;
        }
        /* not ours after all: look for the canonical mark */
    }
    at = ag_str_search(id, ag_str_c(MARK));
    if (at < 0)
        return 0;
    size_t i = (size_t)at;
    struct ag_str rest = ag_str_make(id.p + i + ml, id.len - i - ml);
    size_t f = 0;
    while (f + 1 < rest.len && !(rest.p[f] == '_' && rest.p[f + 1] == '_'))
        f++;
    if (f + 1 >= rest.len || f == 0)
        return 0; /* not ours after all: keep the id whole */
    struct ag_str fam = ag_str_make(rest.p, f);
    struct ag_str enc = ag_str_make(rest.p + f + 2, rest.len - f - 2);
    size_t padded = (enc.len + 3) / 4 * 4;
    char *v = ag_arena_alloc(arena, padded + 1);
    if (!v)
        return AG_ETOOBIG;
    for (size_t k = 0; k < enc.len; k++) {
        char ch = enc.p[k];
        v[k] = ch == '-' ? '+' : ch == '_' ? '/' : ch;
    }
    for (size_t k = enc.len; k < padded; k++)
        v[k] = '=';
    v[padded] = '\0';
    *base = ag_str_make(id.p, i);
    sig->value = ag_str_make(v, padded);
    sig->family = fam;
    return 0;
}

struct ag_str ag_toolid_make(struct ag_arena *arena, struct ag_str seed, uint64_t n)
{
    uint64_t h1 = ag_json_id_hash(seed, n);
    uint64_t h2 = ag_json_id_hash(seed, n ^ 0x9e3779b97f4a7c15ull);
    char *out = ag_arena_alloc(arena, 5 + 24 + 1);
    if (!out)
        return AG_STR_NULL;
    memcpy(out, "call_", sizeof("call_"));
    ag_hex_u64(ag_hex_u64(out + 5, h1, 16), h2, 8);
    return ag_str_make(out, 29);
}
