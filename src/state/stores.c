/* state/stores.c: records read on demand, the refresh lock and notices on Redis (see stores.h).
 * The bounded puts, the claim and the unlock are each one Lua script, so every step is atomic
 * on the server whatever the other instances do meanwhile. */
#include "state/stores.h"

#include <hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/str.h"
#include "core/time.h"
#include "state/keyspace.h"
#include "state/redis.h"
#include "state/state.h"

/** Largest notice sent or accepted. */
#define NOTICE_CAP (256 * 1024)
#define KIND_MAX   17

/* KEYS: entry, index; ARGV: value, ttl ms, now ms, max entries. */
static const char put_script[] =
    "redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])\n"
    "redis.call('ZADD', KEYS[2], ARGV[3], KEYS[1])\n"
    "redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', tonumber(ARGV[3]) - tonumber(ARGV[2]))\n"
    "local n = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[4])\n"
    "if n > 0 then\n"
    "  local old = redis.call('ZRANGE', KEYS[2], 0, n - 1)\n"
    "  for _, k in ipairs(old) do redis.call('DEL', k) end\n"
    "  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, n - 1)\n"
    "end\n"
    "redis.call('PEXPIRE', KEYS[2], ARGV[2])\n"
    "return 1\n";

/* KEYS: lock, value; ARGV: instance, lock ms, ignore. {1, value} | {2, ''} locked | {0, ''}. */
static const char claim_script[] =
    "local v = redis.call('GET', KEYS[2])\n"
    "if v and (ARGV[3] == '' or not string.find(v, ARGV[3], 1, true)) then return {1, v} end\n"
    "if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return {2, ''} end\n"
    "return {0, ''}\n";

/* KEYS: lock; ARGV: instance. */
static const char unlock_script[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end\n"
    "return 0\n";

struct listener {
    char kind[KIND_MAX];
    ag_state_notice_cb cb;
    void *ud;
};

struct listeners {
    struct listener v[AG_STATE_LISTENERS_MAX];
    size_t n;
};

/* A read or claim: freed once its reply came and its timer is closed. */
struct ag_state_op {
    uv_timer_t timer;
    bool claim;
    bool answered; /* the callback ran (or the op was canceled) */
    bool reply_pending;
    bool timer_open;
    ag_state_get_cb get_cb;
    ag_state_claim_cb claim_cb;
    void *ud;
};

static size_t key_of(const struct ag_state *st, char *out, const char *kind, const char *a,
                     const char *b)
{
    return ag_state_key(out, AG_STATE_STORE_KEY_MAX, ag_state_prefix(st), kind, a, b);
}

static void op_maybe_free(struct ag_state_op *op)
{
    if (!op->reply_pending && !op->timer_open)
        free(op);
}

static void op_timer_closed(uv_handle_t *h)
{
    struct ag_state_op *op = h->data;
    op->timer_open = false;
    op_maybe_free(op);
}

static void op_stop_timer(struct ag_state_op *op)
{
    if (op->timer_open && !uv_is_closing((uv_handle_t *)&op->timer))
        uv_close((uv_handle_t *)&op->timer, op_timer_closed);
}

/* The op's one answer (nothing after a cancel or an earlier answer). */
static void op_answer(struct ag_state_op *op, enum ag_state_claim c, const char *data, size_t len)
{
    if (op->answered)
        return;
    op->answered = true;
    op_stop_timer(op);
    if (op->claim)
        op->claim_cb(op->ud, c, data, len);
    else
        op->get_cb(op->ud, c == AG_STATE_CLAIM_VALUE ? data : NULL, len);
}

static void op_timeout(uv_timer_t *t)
{
    op_answer(t->data, AG_STATE_CLAIM_FAILED, NULL, 0);
}

static void op_reply(struct ag_redis *r, redisReply *reply, void *ud)
{
    struct ag_state_op *op = ud;
    (void)r;
    op->reply_pending = false;
    if (!reply) {
        op_answer(op, AG_STATE_CLAIM_FAILED, NULL, 0);
    } else if (!op->claim) {
        if (reply->type == REDIS_REPLY_STRING)
            op_answer(op, AG_STATE_CLAIM_VALUE, reply->str, reply->len);
        else
            op_answer(op, AG_STATE_CLAIM_FAILED, NULL, 0);
    } else if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
               reply->element[0]->type == REDIS_REPLY_INTEGER &&
               reply->element[1]->type == REDIS_REPLY_STRING) {
        long long what = reply->element[0]->integer;
        enum ag_state_claim c = what == 1   ? AG_STATE_CLAIM_VALUE
                                : what == 2 ? AG_STATE_CLAIM_LOCKED
                                            : AG_STATE_CLAIM_BUSY;
        op_answer(op, c, reply->element[1]->str, reply->element[1]->len);
    } else {
        if (reply->type == REDIS_REPLY_ERROR)
            ag_log_debug("state: a claim failed: %.*s", (int)reply->len, reply->str);
        op_answer(op, AG_STATE_CLAIM_FAILED, NULL, 0);
    }
    op_maybe_free(op);
}

/* Sends the op's command; starts its timeout. NULL (op freed) when Redis is not up. */
static struct ag_state_op *op_send(struct ag_state *st, struct ag_state_op *op, uint64_t timeout_ms,
                                   int argc, const char **argv, const size_t *lens)
{
    if (!ag_state_up(st) ||
        ag_redis_command(ag_state_redis(st), op_reply, op, argc, argv, lens) != 0) {
        free(op);
        return NULL;
    }
    op->reply_pending = true;
    uv_timer_init(ag_state_loop(st), &op->timer);
    op->timer.data = op;
    op->timer_open = true;
    uv_timer_start(&op->timer, op_timeout, timeout_ms ? timeout_ms : 1, 0);
    return op;
}

void ag_state_op_cancel(struct ag_state_op *op)
{
    if (!op)
        return;
    op->answered = true;
    op_stop_timer(op);
}

struct ag_state_op *ag_state_get(struct ag_state *st, const char *kind, const char *a,
                                 const char *b, uint64_t timeout_ms, ag_state_get_cb cb, void *ud)
{
    char key[AG_STATE_STORE_KEY_MAX];
    size_t n = st ? key_of(st, key, kind, a, b) : 0;
    if (!n)
        return NULL;
    struct ag_state_op *op = AG_NEW(struct ag_state_op);
    op->get_cb = cb;
    op->ud = ud;
    const char *argv[2] = {"GET", key};
    size_t lens[2] = {3, n};
    return op_send(st, op, timeout_ms, 2, argv, lens);
}

struct ag_state_op *ag_state_claim(struct ag_state *st, const char *lock_kind,
                                   const char *value_kind, const char *id, const char *ignore,
                                   int64_t lock_ms, uint64_t timeout_ms, ag_state_claim_cb cb,
                                   void *ud)
{
    char lock[AG_STATE_STORE_KEY_MAX], val[AG_STATE_STORE_KEY_MAX], px[24];
    size_t nl = st ? key_of(st, lock, lock_kind, id, NULL) : 0;
    size_t nv = st ? key_of(st, val, value_kind, id, NULL) : 0;
    if (!nl || !nv)
        return NULL;
    snprintf(px, sizeof(px), "%lld", (long long)(lock_ms > 0 ? lock_ms : 1));
    struct ag_state_op *op = AG_NEW(struct ag_state_op);
    op->claim = true;
    op->claim_cb = cb;
    op->ud = ud;
    const char *inst = ag_state_instance(st);
    const char *ign = ignore ? ignore : "";
    const char *argv[8] = {"EVAL", claim_script, "2", lock, val, inst, px, ign};
    size_t lens[8] = {4,          sizeof(claim_script) - 1, 1, nl, nv, strlen(inst), strlen(px),
                      strlen(ign)};
    return op_send(st, op, timeout_ms, 8, argv, lens);
}

void ag_state_unlock(struct ag_state *st, const char *lock_kind, const char *id)
{
    char lock[AG_STATE_STORE_KEY_MAX];
    size_t n = st ? key_of(st, lock, lock_kind, id, NULL) : 0;
    if (!n || !ag_state_up(st))
        return;
    const char *inst = ag_state_instance(st);
    const char *argv[5] = {"EVAL", unlock_script, "1", lock, inst};
    size_t lens[5] = {4, sizeof(unlock_script) - 1, 1, n, strlen(inst)};
    (void)ag_redis_command(ag_state_redis(st), NULL, NULL, 5, argv, lens);
}

bool ag_state_put(struct ag_state *st, const char *kind, const char *a, const char *b,
                  const char *data, size_t len, int64_t ttl_ms, size_t max)
{
    char key[AG_STATE_STORE_KEY_MAX], idx[AG_STATE_STORE_KEY_MAX], ttl[24], now[24], cap[24];
    size_t nk = st ? key_of(st, key, kind, a, b) : 0;
    size_t ni = st ? key_of(st, idx, "ix", kind, NULL) : 0;
    if (!nk || !ni || ttl_ms <= 0 || !ag_state_up(st))
        return false;
    snprintf(ttl, sizeof(ttl), "%lld", (long long)ttl_ms);
    snprintf(now, sizeof(now), "%lld", (long long)ag_wall_ms());
    snprintf(cap, sizeof(cap), "%zu", max ? max : 1);
    const char *argv[9] = {"EVAL", put_script, "2", key, idx, data, ttl, now, cap};
    size_t lens[9] = {4,          sizeof(put_script) - 1, 1, nk, ni, len, strlen(ttl), strlen(now),
                      strlen(cap)};
    if (ag_redis_command(ag_state_redis(st), NULL, NULL, 9, argv, lens) != 0)
        return false;
    /* Out before the answer that names it: the client may ask another instance for it as soon
     * as it has the answer, and Redis must have the put first. */
    ag_redis_flush(ag_state_redis(st));
    return true;
}

/* ---- notices ---- */

static struct listeners *listeners_of(struct ag_state *st, bool create)
{
    void **slot = ag_state_stores_slot(st);
    if (!*slot && create)
        *slot = AG_NEW(struct listeners);
    return *slot;
}

int ag_state_listen(struct ag_state *st, const char *kind, ag_state_notice_cb cb, void *ud)
{
    struct listeners *ls = listeners_of(st, true);
    if (strlen(kind) >= KIND_MAX)
        return AG_ETOOBIG;
    for (size_t i = 0; i < ls->n; i++) {
        if (strcmp(ls->v[i].kind, kind) == 0) {
            ls->v[i].cb = cb;
            ls->v[i].ud = ud;
            return 0;
        }
    }
    if (!cb)
        return 0;
    if (ls->n >= AG_STATE_LISTENERS_MAX)
        return AG_ETOOBIG;
    struct listener *l = &ls->v[ls->n++];
    ag_strlcpy(l->kind, kind, sizeof(l->kind));
    l->cb = cb;
    l->ud = ud;
    return 0;
}

bool ag_state_notify(struct ag_state *st, const char *kind, const char *body_json)
{
    struct ag_buf b;
    bool ok = false;
    if (!st || !ag_state_up(st))
        return false;
    ag_buf_init(&b, NOTICE_CAP);
    if (ag_buf_printf(&b, "{\"k\":\"n.%s\",\"i\":\"%s\",\"b\":%s}", kind, ag_state_instance(st),
                      body_json) != 0) {
        ag_log_warn("state: a %s notice is larger than %d bytes; not sent", kind, NOTICE_CAP);
        goto out;
    }
    const char *ch = ag_state_channel(st);
    const char *argv[3] = {"PUBLISH", ch, b.data};
    size_t lens[3] = {7, strlen(ch), b.len};
    ok = ag_redis_command(ag_state_redis(st), NULL, NULL, 3, argv, lens) == 0;
out:
    ag_buf_dispose(&b);
    return ok;
}

bool ag_state_stores_dispatch(struct ag_state *st, const char *data, size_t len)
{
    /* Notices start with their kind; the pool's messages are left to state.c. */
    static const char head[] = "{\"k\":\"n.";
    if (len < sizeof(head) - 1 || memcmp(data, head, sizeof(head) - 1) != 0)
        return false;
    if (len > NOTICE_CAP)
        return true;
    yyjson_doc *d = yyjson_read(data, len, 0);
    yyjson_val *root = yyjson_doc_get_root(d);
    const char *k = yyjson_get_str(yyjson_obj_get(root, "k"));
    const char *inst = yyjson_get_str(yyjson_obj_get(root, "i"));
    yyjson_val *body = yyjson_obj_get(root, "b");
    struct listeners *ls = listeners_of(st, false);
    if (!k || !inst || !yyjson_is_obj(body) || !ls || strcmp(inst, ag_state_instance(st)) == 0)
        goto out;
    for (size_t i = 0; i < ls->n; i++) {
        if (ls->v[i].cb && strcmp(ls->v[i].kind, k + 2) == 0) {
            ls->v[i].cb(ls->v[i].ud, inst, body);
            break;
        }
    }
out:
    yyjson_doc_free(d);
    return true;
}

bool ag_state_stores_key(const struct ag_state *st, const char *key, size_t len)
{
    static const char *const kinds[] = {"rs:", "th:", "tk:", "rl:", "ix:"};
    size_t pl = strlen(ag_state_prefix(st));
    if (len < pl + 3)
        return false;
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (memcmp(key + pl, kinds[i], 3) == 0)
            return true;
    return false;
}

void ag_state_stores_free(struct ag_state *st)
{
    void **slot = ag_state_stores_slot(st);
    free(*slot);
    *slot = NULL;
}
