/* upstream/sse.c: the incremental Server-Sent Events parser (see sse.h for the rules). Whole lines
 * inside one feed are parsed in place; only a line cut by the end of a feed is copied, so the usual
 * cost is one scan per byte plus the copy of data values into the event being built. */
#include "upstream/sse.h"

#include "core/err.h"

#include <string.h>

#define SSE_DEFAULT_MAX (1024u * 1024u)

static const unsigned char bom[3] = {0xEF, 0xBB, 0xBF};

void ag_sse_parser_init(struct ag_sse_parser *p, size_t max_event, ag_sse_event_cb cb, void *ud)
{
    memset(p, 0, sizeof(*p));
    p->cb = cb;
    p->ud = ud;
    p->max_event = max_event ? max_event : SSE_DEFAULT_MAX;
    ag_buf_init(&p->_line, p->max_event);
    ag_buf_init(&p->_data, p->max_event + 1);
    ag_buf_init(&p->_event, p->max_event);
    ag_buf_init(&p->_id, p->max_event);
    p->_retry = -1;
}

void ag_sse_parser_dispose(struct ag_sse_parser *p)
{
    ag_buf_dispose(&p->_line);
    ag_buf_dispose(&p->_data);
    ag_buf_dispose(&p->_event);
    ag_buf_dispose(&p->_id);
}

void ag_sse_parser_reset(struct ag_sse_parser *p)
{
    ag_buf_reset(&p->_line);
    ag_buf_reset(&p->_data);
    ag_buf_reset(&p->_event);
    ag_buf_reset(&p->_id);
    p->_retry = -1;
    p->_has_data = false;
    p->_in_one = false;
    p->_skip_lf = false;
    p->_started = false;
    p->_bom_part = false;
    p->_error = 0;
}

static int dispatch(struct ag_sse_parser *p)
{
    int rc = 0;

    if (p->_has_data) {
        struct ag_sse_event ev = {
            .event = ag_buf_str(&p->_event),
            .data = p->_in_one ? p->_one
                               : ag_str_make(p->_data.data, p->_data.len - 1), /* drop the LF */
            .id = ag_buf_str(&p->_id),
            .retry_ms = p->_retry,
        };
        rc = p->cb(&ev, p->ud);
    }
    ag_buf_reset(&p->_data);
    ag_buf_reset(&p->_event);
    p->_has_data = false;
    p->_in_one = false;
    p->_retry = -1;
    return rc;
}

static int set_buf(struct ag_buf *b, struct ag_str v)
{
    ag_buf_reset(b);
    return ag_buf_append_str(b, v);
}

/* Copies a data line still held as a slice of the fed bytes into _data (before they go away, or
 * before a second data line joins it). */
static int keep_one(struct ag_sse_parser *p)
{
    if (!p->_in_one)
        return 0;
    p->_in_one = false;
    if (ag_buf_append_str(&p->_data, p->_one) < 0 || ag_buf_append(&p->_data, "\n", 1) < 0)
        return AG_ETOOBIG;
    return 0;
}

/* Applies one complete line (without its terminator). in_place: line points into the bytes being
 * fed (not into _line), so an event's single data line can be handed over without a copy. */
static int process_line(struct ag_sse_parser *p, struct ag_str line, bool in_place)
{
    struct ag_str field, value;
    ptrdiff_t colon;

    if (line.len == 0)
        return dispatch(p);
    if (line.p[0] == ':')
        return 0; /* comment */
    colon = ag_str_find(line, ':');
    if (colon < 0) {
        field = line;
        value = ag_str_make(line.p + line.len, 0);
    } else {
        field = ag_str_make(line.p, (size_t)colon);
        value = ag_str_make(line.p + colon + 1, line.len - (size_t)colon - 1);
        if (value.len && value.p[0] == ' ') {
            value.p++;
            value.len--;
        }
    }

    if (ag_str_eq_c(field, "data")) {
        if (in_place && !p->_has_data && value.len < p->_data.cap) {
            p->_one = value; /* the usual event: one data line, then the blank line */
            p->_in_one = true;
            p->_has_data = true;
            return 0;
        }
        if (keep_one(p) < 0 || ag_buf_append_str(&p->_data, value) < 0 ||
            ag_buf_append(&p->_data, "\n", 1) < 0)
            return AG_ETOOBIG;
        p->_has_data = true;
    } else if (ag_str_eq_c(field, "event")) {
        if (set_buf(&p->_event, value) < 0)
            return AG_ETOOBIG;
    } else if (ag_str_eq_c(field, "id")) {
        if (!memchr(value.p, '\0', value.len) && set_buf(&p->_id, value) < 0)
            return AG_ETOOBIG;
    } else if (ag_str_eq_c(field, "retry")) {
        uint64_t ms;
        if (ag_str_to_u64(value, INT64_MAX, &ms) == 0 && value.len && value.p[0] != '+')
            p->_retry = (int64_t)ms;
    }
    return 0;
}

/* Index of the first CR or LF in in[pos..len), or len. Streams end their lines in LF as a rule:
 * the LF is found with memchr, then a CR is looked for only before it (two vectorised scans
 * instead of a test per byte). *lf remembers the next LF of this feed (len: none), so that lines
 * ending in CR alone do not make each search run to the end of the feed again. */
static size_t find_eol(const char *in, size_t pos, size_t len, size_t *lf)
{
    if (*lf == SIZE_MAX || *lf < pos) {
        const char *at = memchr(in + pos, '\n', len - pos);
        *lf = at ? (size_t)(at - in) : len;
    }
    const char *cr = *lf > pos ? memchr(in + pos, '\r', *lf - pos) : NULL;
    return cr ? (size_t)(cr - in) : *lf;
}

/* Consumes a BOM at the very start of the stream, possibly split over feeds. Returns how many bytes
 * of in[] were consumed. Partial BOM bytes wait in _line, flagged by _bom_part. */
static size_t skip_bom(struct ag_sse_parser *p, const unsigned char *in, size_t len)
{
    size_t have = p->_bom_part ? p->_line.len : 0, used = 0;

    while (used < len && have < sizeof(bom)) {
        if (in[used] != bom[have]) {
            /* Not a BOM after all: what was held back is ordinary line content, and stays. */
            p->_started = true;
            p->_bom_part = false;
            return used;
        }
        if (ag_buf_append(&p->_line, &in[used], 1) < 0)
            return used;
        have++;
        used++;
    }
    if (have == sizeof(bom)) {
        ag_buf_reset(&p->_line);
        p->_started = true;
        p->_bom_part = false;
    } else {
        p->_bom_part = true;
    }
    return used;
}

static int feed_lines(struct ag_sse_parser *p, const char *in, size_t len);

int ag_sse_parser_feed(struct ag_sse_parser *p, const void *bytes, size_t len)
{
    int rc = feed_lines(p, bytes, len);
    /* a data line still pointing into bytes is copied before they go */
    if (keep_one(p) < 0 && !rc) {
        p->_error = AG_ETOOBIG;
        rc = p->_error;
    }
    return rc;
}

static int feed_lines(struct ag_sse_parser *p, const char *in, size_t len)
{
    size_t pos = 0, lf = SIZE_MAX; /* next LF: not searched yet */
    int rc;

    if (p->_error)
        return p->_error;
    if (!p->_started) {
        pos = skip_bom(p, (const unsigned char *)in, len);
        if (!p->_started)
            return 0;
    }
    if (p->_skip_lf && pos < len) {
        p->_skip_lf = false;
        if (in[pos] == '\n')
            pos++;
    }
    while (pos < len) {
        size_t eol = find_eol(in, pos, len, &lf);
        struct ag_str line;

        if (eol == len) {
            if (ag_buf_append(&p->_line, in + pos, len - pos) < 0) {
                p->_error = AG_ETOOBIG;
                return p->_error;
            }
            return 0;
        }
        bool in_place = p->_line.len == 0;
        if (!in_place) {
            if (ag_buf_append(&p->_line, in + pos, eol - pos) < 0) {
                p->_error = AG_ETOOBIG;
                return p->_error;
            }
            line = ag_buf_str(&p->_line);
        } else {
            line = ag_str_make(in + pos, eol - pos);
        }
        rc = process_line(p, line, in_place);
        ag_buf_reset(&p->_line);
        pos = eol + 1;
        if (in[eol] == '\r') {
            if (pos == len)
                p->_skip_lf = true;
            else if (in[pos] == '\n')
                pos++;
        }
        if (rc == AG_ETOOBIG)
            p->_error = rc;
        if (rc)
            return rc;
    }
    return 0;
}

int ag_sse_parser_finish(struct ag_sse_parser *p)
{
    int rc;

    if (p->_error)
        return p->_error;
    p->_skip_lf = false;
    if (p->_line.len) {
        /* An unterminated BOM prefix is ordinary text at EOF. */
        p->_bom_part = false;
        rc = process_line(p, ag_buf_str(&p->_line), false);
        ag_buf_reset(&p->_line);
        if (rc) {
            if (rc == AG_ETOOBIG)
                p->_error = rc;
            return rc;
        }
    }
    return dispatch(p);
}
