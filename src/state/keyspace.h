/* state/keyspace.h: the pure part of the shared state on Redis — the redis:// URL, the names of
 * the keys, and the one message format used both as a key's value and on the change channel. No
 * I/O: unit-tested alone (tests/unit/state/test_keyspace.c).
 *
 * Keys (prefix is state.key_prefix, "aigate:" by default), each with an expiry:
 *   <prefix>cd:<account>:<group>   a cooldown of account x quota group (group "" = the account)
 *   <prefix>st:<session>           a sticky session: conversation -> account
 * Channel <prefix>events carries the same messages, plus account records ("acct"), so every
 * instance applies a change at once; the keys let an instance that (re)connects load what it
 * missed. Accounts are named by their e-mail in lower case (ids differ between instances with
 * their own data directories). Every component of a key name is escaped (bytes other than
 * A-Z a-z 0-9 . _ @ + - become %XX), so two different pairs never share a name.
 *
 * A message is one JSON object:
 *   {"k":"cd","i":instance,"a":account,"g":group,"u":until_ms,"s":strikes,"p":probing,"r":reason}
 *   {"k":"st","i":instance,"s":session,"a":account,"u":until_ms}
 *   {"k":"acct","i":instance,"rec":{account record: see pool/shared.c}}
 *   {"k":"sync","i":instance}   an instance (re)connected: the others publish their accounts
 *   {"k":"if","i":instance,"a":account,"n":count}   requests in flight on an account at that
 *                               instance; sent when it changes and renewed every second while
 *                               non-zero (receivers forget it without a renewal: see state.h)
 * Times are unix ms: the instances' clocks must agree (NTP). */
#ifndef AG_STATE_KEYSPACE_H
#define AG_STATE_KEYSPACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yyjson.h>

#include "core/buf.h"

/** Longest host name, user and password kept from a URL (including the NUL). */
#define AG_STATE_HOST_MAX 256
#define AG_STATE_USER_MAX 128
#define AG_STATE_PASS_MAX 512

/** A parsed redis:// URL. */
struct ag_state_url {
    char host[AG_STATE_HOST_MAX];     /* name or address; IPv6 without the brackets */
    int port;                         /* 6379 when absent */
    int db;                           /* 0 when absent */
    char user[AG_STATE_USER_MAX];     /* "" = none (AUTH password only) */
    char password[AG_STATE_PASS_MAX]; /* "" = no AUTH */
};

/**
 * Parses redis://[[user]:password@]host[:port][/db] into *out. Percent-escapes in user and
 * password are decoded. rediss:// is refused (this build's hiredis 0.14 has no TLS), as is any
 * other scheme, an empty host, a port outside 1..65535 or a db outside 0..15. On AG_EINVAL, why
 * (cap bytes, may be NULL) gets one sentence.
 */
int ag_state_url_parse(const char *url, struct ag_state_url *out, char *why, size_t cap);

/**
 * Writes "<prefix><kind>:<esc a>" (b NULL) or "<prefix><kind>:<esc a>:<esc b>" into out (cap
 * bytes, NUL-terminated). Returns the length, or 0 when it does not fit.
 */
size_t ag_state_key(char *out, size_t cap, const char *prefix, const char *kind, const char *a,
                    const char *b);

/** Message kinds. */
enum ag_state_msg_kind {
    AG_STATE_MSG_COOLDOWN = 1,
    AG_STATE_MSG_STICKY,
    AG_STATE_MSG_ACCOUNT,
    AG_STATE_MSG_SYNC,
    AG_STATE_MSG_INFLIGHT,
};

#define AG_STATE_INSTANCE_MAX 40
#define AG_STATE_NAME_MAX     256

/** One decoded message. For AG_STATE_MSG_ACCOUNT, rec points into doc (owned by the message). */
struct ag_state_msg {
    enum ag_state_msg_kind kind;
    char instance[AG_STATE_INSTANCE_MAX]; /* who sent it */
    char account[AG_STATE_NAME_MAX];      /* cooldown, sticky: e-mail in lower case */
    char group[AG_STATE_NAME_MAX];        /* cooldown: quota group or model, "" = account */
    char session[AG_STATE_NAME_MAX];      /* sticky */
    int64_t until_ms;                     /* cooldown, sticky: when it ends (unix ms) */
    unsigned strikes;                     /* cooldown: consecutive failures */
    bool probing;                         /* cooldown: one trial request at a time after it */
    char reason[AG_STATE_NAME_MAX];       /* cooldown: why ("HTTP 429 RATE_LIMIT_EXCEEDED") */
    unsigned count;                       /* in flight: requests on the account there */
    yyjson_doc *doc;                      /* account: the parsed message */
    yyjson_val *rec;                      /* account: its "rec" object */
};

/**
 * Appends the JSON of m to out (account messages: rec_json, a JSON object, goes in as "rec").
 * Returns 0, AG_EINVAL (bad kind, or rec_json not an object) or AG_ETOOBIG (out's cap).
 */
int ag_state_msg_encode(const struct ag_state_msg *m, const char *rec_json, struct ag_buf *out);

/**
 * Decodes a message of len bytes into *m (zeroed first; dispose it). Longer strings than the
 * fields hold are refused. Returns 0, or AG_EINVAL for anything else (unknown kind, missing
 * field, not JSON).
 */
int ag_state_msg_decode(const char *data, size_t len, struct ag_state_msg *m);

/** Frees what a decoded message owns. NULL is a no-op. */
void ag_state_msg_dispose(struct ag_state_msg *m);

/* ---- per-key limits (state/keyshare.h) ----
 * Keys, each with an expiry a little past its window:
 *   <prefix>kw:<key name>:r<minute>  requests begun in that minute (unix minute number)
 *   <prefix>kw:<key name>:t<minute>  tokens taken in that minute (estimates, then corrections)
 *   <prefix>kw:<key name>:d<start>   tokens settled in the UTC day starting at unix s <start>
 *   <prefix>kw:<key name>:m<start>   tokens settled in the UTC month starting at unix s <start>
 * Channel <prefix>keys carries one JSON object per change of a key at an instance:
 *   {"k":"ku","i":instance,"n":key,"c":in_flight,"v":reserved,"r":requests,"t":tokens,
 *    "u":used,"d":day_start,"m":month_start}
 * c and v are the instance's whole lease on the key (requests in flight there and the tokens
 * they reserve; renewed every second while c > 0), r, t and u are what it just took: requests
 * and tokens from the rate buckets (t < 0 gives tokens back) and tokens settled in the budgets of
 * the periods d and m. */

/** Writes "<prefix>kw:<esc key>:<w><start>" into out (cap bytes); w is 'r', 't', 'd' or 'm'.
 * Returns the length, or 0 when it does not fit or w is another letter. */
size_t ag_state_key_window(char *out, size_t cap, const char *prefix, const char *key, char w,
                           int64_t start);

/** One decoded per-key message (see above). */
struct ag_state_keymsg {
    char instance[AG_STATE_INSTANCE_MAX];
    char key[AG_STATE_NAME_MAX]; /* the user key's name, never its secret */
    int64_t in_flight;           /* >= 0 */
    int64_t reserved;            /* >= 0 */
    int64_t requests;            /* >= 0 */
    int64_t tokens;              /* may be negative */
    int64_t used;                /* >= 0 */
    int64_t day_start, month_start;
};

/** Appends the JSON of m to out. Returns 0, AG_EINVAL (empty key) or AG_ETOOBIG (out's cap). */
int ag_state_keymsg_encode(const struct ag_state_keymsg *m, struct ag_buf *out);

/**
 * Decodes a per-key message of len bytes into *m (zeroed first). Refused with AG_EINVAL: not
 * JSON, another kind, a missing or empty instance or key, a string longer than its field, a
 * number out of range (counts and tokens beyond 10^12, negatives where only >= 0 fits).
 */
int ag_state_keymsg_decode(const char *data, size_t len, struct ag_state_keymsg *m);

#endif
