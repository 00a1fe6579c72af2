/* proto/gemini_scan.c: the one-pass reader of the common Gemini response events (see
 * gemini_scan.h).
 *
 * The text is read once and checked to be JSON as strictly as yyjson reads it without flags
 * (RFC 8259 grammar, UTF-8 validated, \u escapes with surrogates in pairs, white space only
 * around the value, containers nested no deeper than the limit). What gemini_dec.c would look up
 * is kept in a fixed record, always the first member of each name (as yyjson_obj_get finds it),
 * later ones only checked; every other member is checked and passed over. The events go out only
 * once the whole text was read, so text the reader gives up on has sent nothing. It gives up
 * (false) on whatever it would have to interpret further, and yyjson reads that instead. */
#include "proto/gemini_scan.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/json.h"

#define SCAN_CANDS      8          /* candidates kept per event */
#define SCAN_PARTS      16         /* parts kept per event */
#define SCAN_NEST       64         /* containers one passed-over value may open */
#define SCAN_NUM_MAX    32         /* bytes of a passed-over number; longer ones go to yyjson */
#define SCAN_EXP_DIGITS 2          /* digits of its exponent (so it is always finite) */
#define SCAN_INT_DIGITS 15         /* digits of a count read exactly */
#define SCAN_IDX_DIGITS 9          /* digits of a candidate's index (fits an int) */
#define SCAN_SCRATCH    (1u << 20) /* the largest event whose strings are unescaped */

struct name {
    const char *s;
    size_t len;
};
#define NAME(lit)                                                                                  \
    {                                                                                              \
        (lit), sizeof(lit) - 1                                                                     \
    }

enum { RK_CANDS, RK_USAGE, RK_MODEL, RK_ID, RK_ERROR, RK_FEEDBACK, RK_RESPONSE, RK_N };
static const struct name resp_names[RK_N] = {
    NAME("candidates"), NAME("usageMetadata"),  NAME("modelVersion"), NAME("responseId"),
    NAME("error"),      NAME("promptFeedback"), NAME("response"),
};

enum { CK_INDEX, CK_CONTENT, CK_FINISH, CK_N };
static const struct name cand_names[CK_N] = {NAME("index"), NAME("content"), NAME("finishReason")};

static const struct name content_names[1] = {NAME("parts")};

enum { PK_TEXT, PK_THOUGHT, PK_SIG, PK_SNAKE, PK_CALL, PK_INLINE, PK_CODE, PK_RESULT, PK_N };
static const struct name part_names[PK_N] = {
    NAME("text"),         NAME("thought"),    NAME("thoughtSignature"), NAME("thought_signature"),
    NAME("functionCall"), NAME("inlineData"), NAME("executableCode"),   NAME("codeExecutionResult"),
};

/* The usage counts as ag_gemini_usage_parse reads them: 2k is a count's name, 2k + 1 the name read
 * when the first is absent. */
enum { UK_INPUT, UK_CANDS, UK_THOUGHTS, UK_CACHED, UK_TOOL, UK_TOTAL, UK_COUNTS };
#define UK_N (2 * UK_COUNTS)
static const struct name usage_names[UK_N] = {
    NAME("promptTokenCount"),        NAME("total_input_tokens"),  NAME("candidatesTokenCount"),
    NAME("total_output_tokens"),     NAME("thoughtsTokenCount"),  NAME("total_thought_tokens"),
    NAME("cachedContentTokenCount"), NAME("total_cached_tokens"), NAME("toolUsePromptTokenCount"),
    NAME("total_tool_use_tokens"),   NAME("totalTokenCount"),     NAME("total_tokens"),
};

struct scan_cand {
    size_t pos; /* its place in the candidates array */
    int index;  /* "index", when has_index */
    bool has_index;
    struct ag_str finish;
    size_t part0, n_parts; /* its parts in scan.parts */
};

struct scan_resp {
    bool present; /* the envelope's response: there was one */
    unsigned seen;
    bool usage; /* usageMetadata is an object */
    struct ag_str id, model;
    size_t cand0, n_cands;    /* its candidates in scan.cands */
    signed char ustate[UK_N]; /* 0 absent, 1 a count in uval, -1 there but not a count */
    int64_t uval[UK_N];
};

struct scan {
    const char *p, *end;
    size_t len; /* of the whole text: the scratch it may need */
    size_t depth, max_depth;
    char *w; /* the scratch's next free byte, NULL until a string needs it */
    struct scan_cand cands[SCAN_CANDS];
    size_t n_cands;
    struct ag_gemini_text_part parts[SCAN_PARTS];
    size_t n_parts;
};

/* Where escaped strings are unescaped: one block per thread, kept (an unescaped string is never
 * longer than its text, so the text's length is always enough). busy: an event being decoded
 * holds it (a decode started from one of its callbacks reads with yyjson). */
static _Thread_local struct {
    char *mem;
    size_t cap;
    bool busy;
} scratch;

static bool scratch_take(struct scan *s)
{
    if (scratch.busy || s->len > SCAN_SCRATCH)
        return false;
    if (s->len > scratch.cap) {
        size_t cap = scratch.cap ? scratch.cap : 4096;
        while (cap < s->len)
            cap *= 2;
        char *mem = realloc(scratch.mem, cap);
        if (!mem)
            return false;
        scratch.mem = mem;
        scratch.cap = cap;
    }
    scratch.busy = true;
    s->w = scratch.mem;
    return true;
}

/* Bytes that stand for themselves inside a JSON string: ASCII from 0x20, but '"' and '\\'. */
#define R0 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
#define R1 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1
#define R2 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 /* 0x22 '"' */
#define R5 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1 /* 0x5C '\\' */
static const unsigned char plain[256] = {R0, R0, R2, R1, R1, R5, R1, R1,
                                         R0, R0, R0, R0, R0, R0, R0, R0};
#undef R0
#undef R1
#undef R2
#undef R5

static inline bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static inline void ws(struct scan *s)
{
    /* every white space byte is at most ' ': compact text takes one test */
    while (s->p < s->end && (unsigned char)*s->p <= ' ' &&
           (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t'))
        s->p++;
}

/* Length of the valid UTF-8 sequence at p (n bytes left), 0 when it is not one: what yyjson
 * accepts (no overlong forms, no surrogates, nothing past U+10FFFF, nothing cut short). */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    unsigned char c = p[0];
    if (c >= 0xC2 && c <= 0xDF)
        return n >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (n < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80)
            return 0;
        return (c == 0xE0 && p[1] < 0xA0) || (c == 0xED && p[1] > 0x9F) ? 0 : 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (n < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80)
            return 0;
        return (c == 0xF0 && p[1] < 0x90) || (c == 0xF4 && p[1] > 0x8F) ? 0 : 4;
    }
    return 0;
}

static int hex4(const unsigned char *p)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        int c = p[i], lc = c | 0x20;
        if (c >= '0' && c <= '9')
            v = v << 4 | (c - '0');
        else if (lc >= 'a' && lc <= 'f')
            v = v << 4 | (lc - 'a' + 10);
        else
            return -1;
    }
    return v;
}

/* The escape at p ('\\'): its bytes into out (1 to 4), *n of them; returns where the text goes
 * on, NULL when it is not a valid escape (a lone or reversed surrogate included). */
static const unsigned char *unescape(const unsigned char *p, const unsigned char *end,
                                     unsigned char out[4], size_t *n)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    const char *hit = end - p >= 2 && p[1] ? strchr(from, p[1]) : NULL;
    *n = 1;
    if (hit) {
        out[0] = (unsigned char)to[hit - from];
        return p + 2;
    }
    int hi = end - p >= 6 && p[1] == 'u' ? hex4(p + 2) : -1, lo;
    if (hi < 0)
        return NULL;
    uint32_t cp = (uint32_t)hi;
    p += 6;
    if ((hi & 0xF800) == 0xD800) {
        if ((hi & 0xFC00) != 0xD800 || end - p < 6 || p[0] != '\\' || p[1] != 'u')
            return NULL;
        if ((lo = hex4(p + 2)) < 0 || (lo & 0xFC00) != 0xDC00)
            return NULL;
        cp = ((((uint32_t)hi - 0xD800) << 10) | ((uint32_t)lo - 0xDC00)) + 0x10000;
        p += 6;
    }
    if (cp < 0x80) {
        out[0] = (unsigned char)cp;
    } else if (cp < 0x800) {
        out[0] = (unsigned char)(0xC0 | cp >> 6);
        out[1] = (unsigned char)(0x80 | (cp & 0x3F));
        *n = 2;
    } else if (cp < 0x10000) {
        out[0] = (unsigned char)(0xE0 | cp >> 12);
        out[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
        out[2] = (unsigned char)(0x80 | (cp & 0x3F));
        *n = 3;
    } else {
        out[0] = (unsigned char)(0xF0 | cp >> 18);
        out[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
        out[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
        out[3] = (unsigned char)(0x80 | (cp & 0x3F));
        *n = 4;
    }
    return p;
}

/* The rest of a string from its first escape at p (its text starts at from): unescaped into the
 * scratch when out is given, else only checked. */
static bool read_escaped(struct scan *s, const unsigned char *from, const unsigned char *p,
                         struct ag_str *out)
{
    const unsigned char *end = (const unsigned char *)s->end;
    unsigned char *w = NULL, *w0 = NULL, esc[4];
    size_t n;
    if (out) {
        if (!s->w && !scratch_take(s))
            return false;
        w0 = w = (unsigned char *)s->w;
        memcpy(w, from, (size_t)(p - from));
        w += p - from;
    }
    for (;;) {
        const unsigned char *run = p;
        while (p < end && plain[*p])
            p++;
        if (w && p > run) {
            memcpy(w, run, (size_t)(p - run));
            w += p - run;
        }
        if (p == end)
            return false;
        if (*p == '"')
            break;
        const unsigned char *at = p;
        if (*p == '\\') {
            if (!(p = unescape(p, end, esc, &n)))
                return false;
            at = esc;
        } else if ((n = utf8_len(p, (size_t)(end - p)))) {
            p += n;
        } else {
            return false; /* a control byte, or not UTF-8 */
        }
        if (w) {
            memcpy(w, at, n);
            w += n;
        }
    }
    if (out) {
        *out = ag_str_make((const char *)w0, (size_t)(w - w0));
        s->w = (char *)w;
    }
    s->p = (const char *)p + 1;
    return true;
}

/* Where the run of plain bytes from p ends: eight bytes at a time while none of them is '"', '\\',
 * a control byte or non-ASCII (the tests have no false negatives), the rest byte by byte. */
static inline const unsigned char *plain_run(const unsigned char *p, const unsigned char *end)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    while (end - p >= 8) {
        uint64_t x, q, b, stop;
        memcpy(&x, p, 8);
        q = x ^ (ones * '"');
        b = x ^ (ones * '\\');
        stop = (((x - ones * 0x20) & ~x) | ((q - ones) & ~q) | ((b - ones) & ~b) | x) & high;
        /* a borrow can flag a byte after a stop byte, never one before: the first flag is real */
        if (stop)
            return p + (__builtin_ctzll(stop) >> 3);
        p += 8;
    }
#endif
    while (p < end && plain[*p])
        p++;
    return p;
}

/* The string at s->p ('"'): *out (when given) is its text, a slice of the input or, with escapes,
 * its unescaped copy in the scratch. keys: escapes are not taken (a key is compared as it is). */
static inline __attribute__((always_inline)) bool read_str(struct scan *s, struct ag_str *out,
                                                           bool key)
{
    const unsigned char *p = (const unsigned char *)s->p + 1, *end = (const unsigned char *)s->end;
    const unsigned char *from = p;
    for (;;) {
        p = plain_run(p, end);
        if (p == end)
            return false;
        if (*p == '"')
            break;
        if (*p == '\\')
            return !key && read_escaped(s, from, p, out);
        size_t n = utf8_len(p, (size_t)(end - p));
        if (!n)
            return false;
        p += n;
    }
    if (out)
        *out = ag_str_make((const char *)from, (size_t)(p - from));
    s->p = (const char *)p + 1;
    return true;
}

/* Whether the len bytes at a and b are the same, eight at a time. */
static inline bool same(const char *a, const char *b, size_t len)
{
    uint64_t x, y;
    for (; len >= 8; a += 8, b += 8, len -= 8) {
        memcpy(&x, a, 8);
        memcpy(&y, b, 8);
        if (x != y)
            return false;
    }
    while (len && *a == *b) {
        a++;
        b++;
        len--;
    }
    return len == 0;
}

/* The key at s->p and its colon, the cursor then at the value: *k is its index in names (n of
 * them), -1 for another key. A known name is matched in place: its bytes between quotes are the
 * key's text (they need no escape); any other key is read as a string. */
static inline __attribute__((always_inline)) bool key_colon(struct scan *s,
                                                            const struct name *names, int n, int *k)
{
    const char *p = s->p;
    size_t left = (size_t)(s->end - p);
    struct ag_str key;
    if (!left || *p != '"')
        return false;
    *k = -1;
    for (int i = 0; i < n; i++) {
        size_t len = names[i].len;
        if (left >= len + 2 && p[len + 1] == '"' && p[1] == names[i].s[0] &&
            same(p + 1, names[i].s, len)) {
            *k = i;
            s->p = p + len + 2;
            break;
        }
    }
    if (*k < 0 && !read_str(s, &key, true))
        return false;
    if (s->p < s->end && *s->p == ':') {
        s->p++;
    } else {
        ws(s);
        if (s->p == s->end || *s->p != ':')
            return false;
        s->p++;
    }
    ws(s);
    return s->p < s->end;
}

/* Enters the container at s->p. */
static inline bool enter(struct scan *s)
{
    s->p++;
    return ++s->depth <= s->max_depth;
}

/* The next member of the object being read, n read so far: 1 with the cursor at its value and
 * *k its name's index in names (-1: another name), 0 when the object ended, -1 when the text is
 * not one the reader takes. */
static inline __attribute__((always_inline)) int member(struct scan *s, size_t n,
                                                        const struct name *names, int count, int *k)
{
    ws(s);
    if (s->p == s->end)
        return -1;
    if (*s->p == '}') {
        s->p++;
        s->depth--;
        return 0;
    }
    if (n) {
        if (*s->p != ',')
            return -1;
        s->p++;
        ws(s);
    }
    return key_colon(s, names, count, k) ? 1 : -1;
}

/* The next element of the array being read: as member. */
static int element(struct scan *s, size_t n)
{
    ws(s);
    if (s->p == s->end)
        return -1;
    if (*s->p == ']') {
        s->p++;
        s->depth--;
        return 0;
    }
    if (n) {
        if (*s->p != ',')
            return -1;
        s->p++;
        ws(s);
    }
    return s->p < s->end ? 1 : -1;
}

static bool skip_number(struct scan *s)
{
    const char *p = s->p, *end = s->end, *e;
    if (p < end && *p == '-')
        p++;
    if (p == end || !is_digit(*p))
        return false;
    if (*p++ != '0')
        while (p < end && is_digit(*p))
            p++;
    if (p < end && *p == '.') {
        if (++p == end || !is_digit(*p))
            return false;
        while (p < end && is_digit(*p))
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        if (++p < end && (*p == '+' || *p == '-'))
            p++;
        for (e = p; p < end && is_digit(*p);)
            p++;
        if (p == e || p - e > SCAN_EXP_DIGITS)
            return false;
    }
    if (p - s->p > SCAN_NUM_MAX)
        return false;
    s->p = p;
    return true;
}

static bool skip_scalar(struct scan *s)
{
    static const char *const lits[] = {"true", "false", "null"};
    char c = *s->p;
    if (c == '"')
        return read_str(s, NULL, false);
    if (c == '-' || is_digit(c))
        return skip_number(s);
    for (size_t i = 0; i < 3; i++) {
        size_t n = strlen(lits[i]);
        if (c == lits[i][0] && (size_t)(s->end - s->p) >= n && memcmp(s->p, lits[i], n) == 0) {
            s->p += n;
            return true;
        }
    }
    return false;
}

/* Checks and passes over the value at s->p, however nested (up to SCAN_NEST levels). */
static bool skip_value(struct scan *s)
{
    uint64_t objs = 0; /* bit i: the i-th innermost open container is an object */
    unsigned open = 0;
    int k;
    for (;;) {
        char c = *s->p; /* a value starts here */
        if (c == '{' || c == '[') {
            if (open == SCAN_NEST || !enter(s))
                return false;
            objs = objs << 1 | (c == '{');
            open++;
            ws(s);
            if (s->p == s->end)
                return false;
            if (*s->p != (c == '{' ? '}' : ']')) {
                if (c == '{' && !key_colon(s, NULL, 0, &k))
                    return false;
                continue;
            }
            s->p++;
            s->depth--;
            objs >>= 1;
            open--;
        } else if (!skip_scalar(s)) {
            return false;
        }
        for (;;) { /* after a value */
            if (!open)
                return true;
            ws(s);
            if (s->p == s->end)
                return false;
            c = *s->p++;
            if (c == ',') {
                ws(s);
                if ((objs & 1) ? !key_colon(s, NULL, 0, &k) : s->p == s->end)
                    return false;
                break;
            }
            if (c != ((objs & 1) ? '}' : ']'))
                return false;
            s->depth--;
            objs >>= 1;
            open--;
        }
    }
}

/* A string value into *out; any other value makes it AG_STR_NULL (as ag_json_str). */
static bool opt_str(struct scan *s, struct ag_str *out)
{
    if (*s->p == '"')
        return read_str(s, out, false);
    *out = AG_STR_NULL;
    return skip_value(s);
}

/* A number that is an integer of at most digits digits, without fraction or exponent; false for
 * anything else (JSON or not), which is then left to yyjson. "-0" reads as 0. */
static bool read_int(struct scan *s, int digits, int64_t *v)
{
    const char *p = s->p, *end = s->end;
    bool neg = p < end && *p == '-';
    int64_t x = 0;
    int d = 0;
    p += neg;
    if (p == end || !is_digit(*p) || (*p == '0' && p + 1 < end && is_digit(p[1])))
        return false;
    for (; p < end && is_digit(*p); p++) {
        if (++d > digits)
            return false;
        x = x * 10 + (*p - '0');
    }
    if (p < end && (*p == '.' || *p == 'e' || *p == 'E'))
        return false;
    *v = neg ? -x : x;
    s->p = p;
    return true;
}

static bool scan_part(struct scan *s)
{
    struct ag_gemini_text_part *tp = &s->parts[s->n_parts++];
    unsigned seen = 0;
    int k, m;
    memset(tp, 0, sizeof(*tp));
    if (!enter(s))
        return false;
    for (size_t n = 0; (m = member(s, n, part_names, PK_N, &k)) == 1; n++) {
        if (k < 0 || (seen & 1u << k)) {
            if (!skip_value(s))
                return false;
            continue;
        }
        seen |= 1u << k;
        bool ok;
        switch (k) {
        case PK_TEXT:
            ok = opt_str(s, &tp->text);
            break;
        case PK_SIG:
            ok = opt_str(s, &tp->sig);
            break;
        case PK_SNAKE:
            ok = opt_str(s, &tp->sig_snake);
            break;
        case PK_THOUGHT:
            tp->thought = s->end - s->p >= 4 && memcmp(s->p, "true", 4) == 0;
            ok = skip_value(s);
            break;
        default: /* a call, inline data or code: yyjson's reader decodes those */
            ok = *s->p != '{' && skip_value(s);
            break;
        }
        if (!ok)
            return false;
    }
    return m == 0;
}

static bool scan_parts(struct scan *s, struct scan_cand *c)
{
    int m;
    c->part0 = s->n_parts;
    if (!enter(s))
        return false;
    for (size_t n = 0; (m = element(s, n)) == 1; n++) {
        if (*s->p != '{') {
            if (!skip_value(s)) /* not an object: no event */
                return false;
        } else if (s->n_parts == SCAN_PARTS || !scan_part(s)) {
            return false;
        }
    }
    c->n_parts = s->n_parts - c->part0;
    return m == 0;
}

/* A member of a candidate, k its name. */
static bool cand_member(struct scan *s, struct scan_cand *c, int k)
{
    int64_t v;
    int m;
    if (k == CK_FINISH)
        return opt_str(s, &c->finish);
    if (k == CK_INDEX) {
        if (!read_int(s, SCAN_IDX_DIGITS, &v))
            return false;
        c->has_index = true;
        c->index = (int)v;
        return true;
    }
    if (*s->p != '{')
        return skip_value(s);
    if (!enter(s))
        return false;
    bool parts = false; /* content: only its first "parts" counts */
    for (size_t n = 0; (m = member(s, n, content_names, 1, &k)) == 1; n++) {
        bool first = !parts && k == 0; /* k: now the member's name */
        parts |= first;
        if (!(first && *s->p == '[' ? scan_parts(s, c) : skip_value(s)))
            return false;
    }
    return m == 0;
}

static bool scan_cands(struct scan *s, struct scan_resp *r)
{
    int m, mm, k;
    r->cand0 = s->n_cands;
    if (!enter(s))
        return false;
    for (size_t n = 0; (m = element(s, n)) == 1; n++) {
        if (s->n_cands == SCAN_CANDS)
            return false;
        struct scan_cand *c = &s->cands[s->n_cands++];
        unsigned seen = 0;
        memset(c, 0, sizeof(*c));
        c->pos = n;
        if (*s->p != '{') {
            if (!skip_value(s))
                return false;
            continue;
        }
        if (!enter(s))
            return false;
        for (size_t i = 0; (mm = member(s, i, cand_names, CK_N, &k)) == 1; i++) {
            bool first = k >= 0 && !(seen & 1u << k);
            seen |= first ? 1u << k : 0;
            if (!(first ? cand_member(s, c, k) : skip_value(s)))
                return false;
        }
        if (mm != 0)
            return false;
    }
    r->n_cands = s->n_cands - r->cand0;
    return m == 0;
}

static bool scan_usage(struct scan *s, struct scan_resp *r)
{
    int m, k;
    int64_t v;
    r->usage = true;
    if (!enter(s))
        return false;
    for (size_t n = 0; (m = member(s, n, usage_names, UK_N, &k)) == 1; n++) {
        if (k < 0 || r->ustate[k]) {
            if (!skip_value(s))
                return false;
        } else if (*s->p == '-' || is_digit(*s->p)) {
            /* a count the upstream cannot have meant (negative, too large) is unknown */
            if (!read_int(s, SCAN_INT_DIGITS, &v))
                return false;
            r->ustate[k] = v >= 0 && v <= AG_USAGE_MAX ? 1 : -1;
            r->uval[k] = v;
        } else {
            r->ustate[k] = -1;
            if (!skip_value(s))
                return false;
        }
    }
    return m == 0;
}

static bool scan_resp(struct scan *s, struct scan_resp *r, struct scan_resp *inner)
{
    int m, k;
    if (!enter(s))
        return false;
    for (size_t n = 0; (m = member(s, n, resp_names, RK_N, &k)) == 1; n++) {
        if (k == RK_ERROR || k == RK_FEEDBACK)
            return false; /* the yyjson reader's: rare, and more to read */
        if (k < 0 || (k == RK_RESPONSE && !inner) || (r->seen & 1u << k)) {
            if (!skip_value(s))
                return false;
            continue;
        }
        r->seen |= 1u << k;
        bool ok;
        char c = *s->p;
        if (k == RK_MODEL || k == RK_ID)
            ok = opt_str(s, k == RK_MODEL ? &r->model : &r->id);
        else if (k == RK_CANDS)
            ok = c == '[' ? scan_cands(s, r) : skip_value(s);
        else if (k == RK_USAGE)
            ok = c == '{' ? scan_usage(s, r) : skip_value(s);
        else if (c != '{')
            ok = skip_value(s);
        else
            ok = inner->present = scan_resp(s, inner, NULL);
        if (!ok)
            return false;
    }
    return m == 0;
}

/* num() of ag_gemini_usage_parse over what scan_usage kept. */
static int64_t usage_count(const struct scan_resp *r, int count, bool *found)
{
    int k = r->ustate[2 * count] ? 2 * count : 2 * count + 1;
    if (r->ustate[k] != 1)
        return 0;
    *found = true;
    return r->uval[k];
}

static int emit_usage(const struct scan_resp *r, ag_event_cb cb, void *ud)
{
    struct ag_event ev = {.type = AG_EV_USAGE};
    struct ag_usage *u = &ev.usage;
    bool f = false, ft = false;
    u->input = usage_count(r, UK_INPUT, &f);
    int64_t cand = usage_count(r, UK_CANDS, &f);
    u->reasoning = usage_count(r, UK_THOUGHTS, &f);
    u->cached = usage_count(r, UK_CACHED, &f);
    int64_t tool = usage_count(r, UK_TOOL, &f);
    u->output = cand + u->reasoning;
    u->total = usage_count(r, UK_TOTAL, &ft);
    if (!ft)
        u->total = u->input + tool + u->output;
    return cb(ud, &ev);
}

/* The events of the response r, in ag_gemini_dec_response's order. */
static int emit_resp(struct ag_gemini_dec *st, struct scan *s, const struct scan_resp *r,
                     ag_event_cb cb, void *ud)
{
    int rc = ag_gemini_dec_start(st, r->id, r->model, cb, ud);
    const struct scan_cand *cands = s->cands + r->cand0;
    for (size_t i = 0; i < r->n_cands && !rc; i++) {
        int ci = cands[i].has_index ? cands[i].index : (int)cands[i].pos;
        if (ci < 0 || ci >= AG_MAX_CHOICES)
            continue;
        st->used[ci] = true;
        for (size_t j = 0; j < cands[i].n_parts && !rc; j++) {
            struct ag_gemini_text_part *tp = &s->parts[cands[i].part0 + j];
            tp->choice = ci;
            rc = ag_gemini_dec_text(st, tp, cb, ud);
        }
    }
    if (!rc && r->usage)
        rc = emit_usage(r, cb, ud);
    for (size_t i = 0; i < r->n_cands && !rc; i++) {
        int ci = cands[i].has_index ? cands[i].index : (int)cands[i].pos;
        rc = ag_gemini_dec_finish(st, ci, cands[i].finish, cb, ud);
    }
    return rc;
}

bool ag_gemini_scan_decode(struct ag_gemini_dec *st, struct ag_str text, size_t max_depth,
                           bool envelope, ag_event_cb cb, void *ud, int *rc)
{
    struct scan s;
    struct scan_resp root, inner;
    if (!text.p)
        return false;
    s.p = text.p;
    s.end = text.p + text.len;
    s.len = text.len;
    s.depth = 0;
    s.max_depth = ag_json_depth_limit(max_depth);
    s.w = NULL;
    s.n_cands = s.n_parts = 0;
    memset(&root, 0, sizeof(root));
    memset(&inner, 0, sizeof(inner));
    ws(&s);
    bool ok = s.p < s.end && *s.p == '{' && scan_resp(&s, &root, envelope ? &inner : NULL);
    if (ok) {
        ws(&s);
        ok = s.p == s.end;
    }
    if (ok)
        *rc = emit_resp(st, &s, inner.present ? &inner : &root, cb, ud);
    if (s.w)
        scratch.busy = false;
    return ok;
}
