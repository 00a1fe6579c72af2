/* relay/thinking_store.c: recent Claude thinking kept for clients that drop it (see
 * thinking_store.h). Entries keyed "<conversation>\x1f<tool id>" in a core/lru table, whose
 * storing order gives eviction and expiry. */
#include "relay/thinking_store.h"

#include <stdlib.h>
#include <string.h>

#include "core/lru.h"
#include "core/mem.h"

#define BUCKETS 8192

struct entry {
    struct ag_lru_node node; /* key: the entry's own copy */
    char *text;
    size_t text_len;
    char *sig;
    size_t sig_len;
    int64_t stored_ms;
};

struct ag_thinking_store {
    struct ag_lru lru;
};

struct ag_thinking_store *ag_thinking_store_new(void)
{
    struct ag_thinking_store *s = AG_NEW(struct ag_thinking_store);
    ag_lru_init(&s->lru, BUCKETS);
    return s;
}

static struct entry *entry_of(struct ag_lru_node *n)
{
    return n ? AG_LRU_ENTRY(n, struct entry, node) : NULL;
}

static void unlink_entry(struct ag_thinking_store *s, struct entry *e)
{
    ag_lru_remove(&s->lru, &e->node);
    free((char *)e->node.key.p);
    free(e->text);
    free(e->sig);
    free(e);
}

size_t ag_thinking_store_clear(struct ag_thinking_store *s)
{
    size_t n = s->lru.count;
    while (s->lru.oldest)
        unlink_entry(s, entry_of(s->lru.oldest));
    return n;
}

void ag_thinking_store_free(struct ag_thinking_store *s)
{
    if (!s)
        return;
    ag_thinking_store_clear(s);
    ag_lru_dispose(&s->lru);
    free(s);
}

size_t ag_thinking_store_count(const struct ag_thinking_store *s)
{
    return s->lru.count;
}

/* "<conv>\x1f<tool id>" in buf; false when it does not fit. */
static bool make_key(struct ag_str conv, struct ag_str tool_id, char *buf, size_t cap, size_t *len)
{
    if (!conv.len || !tool_id.len || conv.len + tool_id.len + 1 > cap)
        return false;
    memcpy(buf, conv.p, conv.len);
    buf[conv.len] = '\x1f';
    memcpy(buf + conv.len + 1, tool_id.p, tool_id.len);
    *len = conv.len + 1 + tool_id.len;
    return true;
}

static struct entry *find(struct ag_thinking_store *s, const char *key, size_t len)
{
    return entry_of(ag_lru_find(&s->lru, ag_str_make(key, len)));
}

static char *dup(struct ag_str s)
{
    char *p = ag_malloc(s.len + 1);
    if (s.len)
        memcpy(p, s.p, s.len);
    p[s.len] = '\0';
    return p;
}

void ag_thinking_store_put(struct ag_thinking_store *s, struct ag_str conv, struct ag_str tool_id,
                           struct ag_str text, struct ag_str sig, int64_t now_ms)
{
    char key[1024];
    size_t klen;
    if (!sig.len || text.len > AG_THINKING_STORE_TEXT_MAX ||
        !make_key(conv, tool_id, key, sizeof(key), &klen))
        return;
    struct entry *old = find(s, key, klen);
    if (old)
        unlink_entry(s, old);
    struct entry *e = AG_NEW(struct entry);
    e->node.key = ag_str_make(dup(ag_str_make(key, klen)), klen);
    e->text = dup(text);
    e->text_len = text.len;
    e->sig = dup(sig);
    e->sig_len = sig.len;
    e->stored_ms = now_ms;
    e->node.bytes = klen + text.len + sig.len + sizeof(*e);
    ag_lru_push(&s->lru, &e->node);
    /* bounds and expiry, oldest first (the list is in storing order) */
    struct entry *o;
    while ((o = entry_of(s->lru.oldest)) != e &&
           (s->lru.count > AG_THINKING_STORE_MAX || s->lru.bytes > AG_THINKING_STORE_BYTES ||
            now_ms - o->stored_ms > AG_THINKING_STORE_TTL_MS))
        unlink_entry(s, o);
}

bool ag_thinking_store_get(struct ag_thinking_store *s, struct ag_str conv, struct ag_str tool_id,
                           int64_t now_ms, struct ag_str *text, struct ag_str *sig)
{
    char key[1024];
    size_t klen;
    if (!make_key(conv, tool_id, key, sizeof(key), &klen))
        return false;
    struct entry *e = find(s, key, klen);
    if (!e || now_ms - e->stored_ms > AG_THINKING_STORE_TTL_MS)
        return false;
    *text = ag_str_make(e->text, e->text_len);
    *sig = ag_str_make(e->sig, e->sig_len);
    return true;
}

size_t ag_thinking_store_restore(struct ag_thinking_store *s, struct ag_str conv,
                                 struct ag_arena *arena, struct ag_request *req, int64_t now_ms)
{
    size_t restored = 0;
    if (!s || !conv.len)
        return 0;
    for (size_t i = 0; i < req->n_messages; i++) {
        struct ag_message *m = &req->messages[i];
        if (m->role != AG_ROLE_ASSISTANT)
            continue;
        const struct ag_part *call = NULL;
        struct ag_part *unsigned_text = NULL;
        bool has_text = false, signed_claude = false;
        for (size_t j = 0; j < m->n_parts; j++) {
            struct ag_part *p = &m->parts[j];
            if (p->type == AG_PART_THINKING && p->text.len)
                has_text = true;
            if (p->type == AG_PART_THINKING && p->text.len && !p->sig.value.len && !unsigned_text)
                unsigned_text = p;
            if (p->sig.value.len && ag_str_eq_c(p->sig.family, "claude"))
                signed_claude = true;
            if (p->type == AG_PART_TOOL_CALL && !call)
                call = p;
        }
        struct ag_str text, sig;
        if (!call || !ag_thinking_store_get(s, conv, call->id, now_ms, &text, &sig))
            continue;
        if (has_text) {
            /* the client kept the text but not the signature (it rewrote the call's id): the
             * signature goes back onto exactly the text it was made for */
            if (!signed_claude && unsigned_text && ag_str_eq(unsigned_text->text, text)) {
                unsigned_text->sig.value = ag_arena_str(arena, sig);
                unsigned_text->sig.family = AG_STR("claude");
                restored += unsigned_text->sig.value.p != NULL;
            }
            continue;
        }
        struct ag_part *parts = ag_arena_calloc(arena, (m->n_parts + 1) * sizeof(*parts));
        if (!parts)
            return restored;
        parts[0].type = AG_PART_THINKING;
        parts[0].text = ag_arena_str(arena, text);
        parts[0].sig.value = ag_arena_str(arena, sig);
        parts[0].sig.family = AG_STR("claude");
        if (!parts[0].text.p || !parts[0].sig.value.p)
            return restored;
        /* a signature-only thinking part the client handed back is replaced by the full one */
        size_t n = 1;
        for (size_t j = 0; j < m->n_parts; j++)
            if (!(m->parts[j].type == AG_PART_THINKING && !m->parts[j].text.len))
                parts[n++] = m->parts[j];
        m->parts = parts;
        m->n_parts = n;
        restored++;
    }
    return restored;
}

/* ---- capture ---- */

void ag_thinking_capture_init(struct ag_thinking_capture *c)
{
    memset(c, 0, sizeof(*c));
    ag_buf_init(&c->text, AG_THINKING_STORE_TEXT_MAX);
}

void ag_thinking_capture_dispose(struct ag_thinking_capture *c)
{
    ag_buf_dispose(&c->text);
}

void ag_thinking_capture_reset(struct ag_thinking_capture *c)
{
    ag_buf_reset(&c->text);
    c->sig_len = 0;
    c->tool_id[0] = '\0';
    c->too_big = false;
}

void ag_thinking_capture_event(struct ag_thinking_capture *c, const struct ag_event *ev)
{
    if (ev->choice != 0 || c->tool_id[0])
        return; /* the turn's thinking is what precedes its first call */
    if (ev->type == AG_EV_THINKING && ev->text.len && !c->too_big &&
        ag_buf_append(&c->text, ev->text.p, ev->text.len))
        c->too_big = true;
    if ((ev->type == AG_EV_THINKING || ev->type == AG_EV_SIGNATURE) && ev->sig.value.len &&
        ag_str_eq_c(ev->sig.family, "claude") && ev->sig.value.len < sizeof(c->sig)) {
        memcpy(c->sig, ev->sig.value.p, ev->sig.value.len);
        c->sig_len = ev->sig.value.len;
    }
    if (ev->type == AG_EV_TOOL_START && ev->id.len && ev->id.len < sizeof(c->tool_id)) {
        memcpy(c->tool_id, ev->id.p, ev->id.len);
        c->tool_id[ev->id.len] = '\0';
    }
}

bool ag_thinking_capture_commit(struct ag_thinking_capture *c, struct ag_thinking_store *s,
                                struct ag_str conv, int64_t now_ms)
{
    if (!s || c->too_big || !c->sig_len || !c->tool_id[0] || !c->text.len || !conv.len)
        return false;
    ag_thinking_store_put(s, conv, ag_str_c(c->tool_id), ag_buf_str(&c->text),
                          ag_str_make(c->sig, c->sig_len), now_ms);
    return true;
}
