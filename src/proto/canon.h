/* proto/canon.h: the canonical representation every wire protocol converts to and from.
 *
 * A client adapter decodes its request into a struct ag_request; an upstream adapter encodes that
 * request for its provider, and decodes the provider's answer into a stream of struct ag_event.
 * Client adapters turn those events back into their own SSE frames (stream) or, after the events
 * were collected into a struct ag_answer, into one JSON body (non-stream).
 *
 * Memory: every string slice, array and struct reachable from an ag_request or ag_answer lives in
 * the request's arena (or in a JSON document allocated from it) and dies with it. Events are
 * different: an ag_event handed to a callback borrows the decoder's memory and is valid only
 * during that call; whoever keeps something copies it (ag_answer_add does). */
#ifndef AG_PROTO_CANON_H
#define AG_PROTO_CANON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/failure.h" /* enum ag_error_kind, ag_error_kind_for_status */
#include "core/str.h"

/* ---- request ---------------------------------------------------------------------------- */

/** Who wrote a message. Tool results are parts of a user message (as in Gemini and Anthropic). */
enum ag_role {
    AG_ROLE_USER = 0,
    AG_ROLE_ASSISTANT = 1,
};

enum ag_part_type {
    AG_PART_TEXT = 0,
    AG_PART_MEDIA,       /* inline base64 data or a file URL (image, audio, document) */
    AG_PART_TOOL_CALL,   /* the assistant asks for a function call */
    AG_PART_TOOL_RESULT, /* the client answers a tool call */
    AG_PART_THINKING,    /* reasoning text, possibly signed or redacted */
};

/**
 * A thought signature and the model family that issued it ("gemini", "claude", ...; see
 * ag_model_family). Upstream adapters send a signature only to a model of the same family.
 */
struct ag_signature {
    struct ag_str value;
    struct ag_str family; /* empty = unknown issuer: treated as foreign */
};

struct ag_part {
    enum ag_part_type type;
    /* TEXT: text. THINKING: the reasoning text (empty when redacted). TOOL_RESULT: the result
     * text, or JSON text when json is set. */
    struct ag_str text;
    /* THINKING and TOOL_CALL (and, rarely, TEXT): the upstream's signature. */
    struct ag_signature sig;
    bool redacted; /* THINKING: text is opaque provider data, not readable reasoning */
    /* MEDIA: mime type and either base64 data or a URL (exactly one is set). */
    struct ag_str mime;
    struct ag_str data;
    struct ag_str url;
    /* TOOL_CALL / TOOL_RESULT: the call id (may be empty for Gemini clients) and function name.
     * TOOL_CALL: args is the arguments as JSON object text ("{}" when none). */
    struct ag_str id;
    struct ag_str name;
    struct ag_str args;
    /* TOOL_RESULT: text holds JSON (an object) rather than plain text; is_error marks a failure;
     * parts are extra media parts attached to the result (images returned by a tool). */
    bool json;
    bool is_error;
    struct ag_part *parts;
    size_t n_parts;
    size_t _cap; /* ag_answer_add: capacity of text or args while collecting */
    /* TEXT and TOOL_RESULT: the JSON string literal text was decoded from, as the client wrote it
     * (proto/json.h ag_json_literal), and the text it stood for then. An upstream encoder may copy
     * it instead of escaping text again; read it with ag_part_literal, which ignores it once the
     * text was changed. */
    struct ag_str _literal;
    struct ag_str _literal_of;
};

/** Sets p->text to text, decoded from the JSON string literal lit (AG_STR_NULL = none). */
static inline void ag_part_set_text(struct ag_part *p, struct ag_str text, struct ag_str lit)
{
    p->text = text;
    p->_literal = lit;
    p->_literal_of = text;
}

/** The JSON string literal that reads as p->text, or AG_STR_NULL when none is known. */
static inline struct ag_str ag_part_literal(const struct ag_part *p)
{
    if (!p->_literal.p || p->_literal_of.p != p->text.p || p->_literal_of.len != p->text.len)
        return AG_STR_NULL;
    return p->_literal;
}

struct ag_message {
    enum ag_role role;
    struct ag_part *parts;
    size_t n_parts;
};

struct ag_tool {
    struct ag_str name;
    struct ag_str description;
    struct ag_str schema; /* JSON Schema text of the parameters; empty = no parameters */
};

enum ag_tool_choice_mode {
    AG_TOOL_CHOICE_DEFAULT = 0, /* client said nothing: provider default */
    AG_TOOL_CHOICE_AUTO,
    AG_TOOL_CHOICE_NONE,
    AG_TOOL_CHOICE_REQUIRED,
    AG_TOOL_CHOICE_NAMED, /* must call tool_choice_name */
};

enum ag_response_format {
    AG_FORMAT_TEXT = 0,
    AG_FORMAT_JSON_OBJECT,
    AG_FORMAT_JSON_SCHEMA, /* schema text in gen.schema */
};

/** Reasoning effort as clients name it; NONE means "do not think". */
enum ag_effort {
    AG_EFFORT_UNSET = 0,
    AG_EFFORT_NONE,
    AG_EFFORT_MINIMAL,
    AG_EFFORT_LOW,
    AG_EFFORT_MEDIUM,
    AG_EFFORT_HIGH,
    AG_EFFORT_MAX,
};

enum ag_tristate {
    AG_UNSET = 0,
    AG_OFF,
    AG_ON,
};

#define AG_MAX_STOP 16

/** Generation parameters. A negative number / NaN-free "has_" flag means "not given". */
struct ag_gen {
    int64_t max_tokens; /* -1 = not given */
    bool has_temperature, has_top_p, has_presence, has_frequency, has_seed;
    double temperature, top_p, presence_penalty, frequency_penalty;
    int64_t top_k; /* -1 = not given */
    int64_t seed;
    int64_t n; /* candidates; -1 = not given */
    struct ag_str stop[AG_MAX_STOP];
    size_t n_stop;
    enum ag_response_format format;
    struct ag_str schema;      /* JSON_SCHEMA: the schema text (uncleaned) */
    struct ag_str schema_name; /* JSON_SCHEMA: its name, informational */
};

struct ag_thinking {
    enum ag_tristate mode;    /* UNSET = model default */
    int64_t budget;           /* tokens; -1 = not given */
    enum ag_effort effort;    /* UNSET = not given */
    enum ag_tristate include; /* show thoughts to the client; UNSET = yes when thinking is on */
};

/**
 * Image generation (OpenAI images endpoints): the upstream call is an image_gen request with
 * generationConfig.imageConfig, and an answer without an image is a failure.
 */
struct ag_image_config {
    bool on;
    struct ag_str aspect_ratio; /* "16:9", ...; empty = the model's choice */
    struct ag_str image_size;   /* "1K", "2K", "4K"; empty = the model's default */
};

/** What the client asks for: an answer, or only a token count (Gemini countTokens). */
enum ag_request_kind {
    AG_REQ_GENERATE = 0,
    AG_REQ_COUNT_TOKENS,
};

struct ag_request {
    enum ag_request_kind kind;
    struct ag_str model; /* as the client named it (before routing) */
    struct ag_part *system;
    size_t n_system;
    struct ag_message *messages;
    size_t n_messages;
    struct ag_tool *tools;
    size_t n_tools;
    enum ag_tool_choice_mode tool_choice;
    struct ag_str tool_choice_name;
    enum ag_tristate parallel_tools;
    struct ag_gen gen;
    struct ag_thinking thinking;
    bool stream;
    bool include_usage;        /* OpenAI stream_options.include_usage */
    struct ag_str session_key; /* conversation fingerprint for sticky routing; may be empty */
    struct ag_str user;        /* client-supplied end-user id / metadata, informational */
    struct ag_str safety_json; /* Gemini-native client safetySettings (JSON array text) or empty */
    struct ag_image_config image;
};

/** Sets the "not given" defaults on a zeroed request. */
void ag_request_init(struct ag_request *req);

/**
 * The function name of the latest earlier tool call with this (unpacked) id in req's messages,
 * so a tool result can name its function; AG_STR_NULL when none. The slice borrows req.
 */
struct ag_str ag_request_call_name(const struct ag_request *req, struct ag_str id);

/**
 * Computes req->session_key as "sid-" + 16 hex digits of SHA-256 over the text of the first user
 * message (when it has more than 10 bytes); leaves it empty otherwise. The slice is in arena.
 */
int ag_request_fingerprint(struct ag_arena *arena, struct ag_request *req);

/**
 * Sets req->session_key to prefix (4 characters: "sid-", "uid-", "hdr-") and 16 hex digits of
 * the first 8 bytes of digest (a SHA-256), in arena. 0 or AG_ETOOBIG.
 */
int ag_request_set_session_key(struct ag_arena *arena, struct ag_request *req, const char *prefix,
                               const unsigned char *digest);

/**
 * Fits the decoded history to target_model before it is encoded (the relay calls it after
 * routing, and again after a re-route). For a Claude target: a Claude signature that a client
 * handed back on a tool call (OpenAI tool ids, Gemini functionCall parts) is joined with the
 * turn's unsigned reasoning text into the signed thinking part Claude wrote, placed first in the
 * turn; then, when thinking is on and the latest assistant turn has tool calls but does not open
 * with signed Claude thinking, thinking is turned off for this request (Claude rejects such a turn
 * with thinking on) and true is returned. Without thinking, signed thoughts are not replayed.
 * Other targets: nothing changes, false. Parts are reordered in place; nothing is allocated.
 */
bool ag_request_fit_target(struct ag_request *req, struct ag_str target_model);

/**
 * The family of a model name for signature compatibility: "claude" when the name contains
 * "claude", "gemini" when it contains "gemini", "gpt" for gpt-* / o-series names, else "other".
 * A rule, not a list, so new model versions are covered without a change. Returns a static string.
 */
const char *ag_model_family(struct ag_str model);

/* ---- events ----------------------------------------------------------------------------- */

enum ag_finish {
    AG_FINISH_NONE = 0,
    AG_FINISH_STOP,
    AG_FINISH_LENGTH,
    AG_FINISH_TOOL_CALLS,
    AG_FINISH_CONTENT_FILTER,
    AG_FINISH_STOP_SEQUENCE,
    AG_FINISH_ERROR,
};

/** Token counts. output includes reasoning; input includes cached. */
struct ag_usage {
    int64_t input;
    int64_t output;
    int64_t cached;
    int64_t reasoning;
    int64_t total;
};

/** An error for a client: HTTP status, kind (core/failure.h), the offending field (may be empty), a
 * message. */
struct ag_proto_error {
    int status;
    enum ag_error_kind kind;
    struct ag_str param;   /* e.g. "messages" or "messages[2].content"; empty = none */
    struct ag_str message; /* human-readable */
    struct ag_str code;    /* machine code ("missing_required_parameter"); empty = none */
};

/** Fills an error; message is printf-formatted into arena (a static fallback on cap). */
void ag_proto_error_set(struct ag_proto_error *e, struct ag_arena *arena, int status,
                        enum ag_error_kind kind, const char *param, const char *code,
                        const char *fmt, ...) __attribute__((format(printf, 7, 8)));

enum ag_event_type {
    AG_EV_START = 0,  /* first event of an answer: id, model (both may be empty) */
    AG_EV_TEXT,       /* text delta; sig set when the upstream signed this part */
    AG_EV_THINKING,   /* reasoning delta; sig may be set */
    AG_EV_SIGNATURE,  /* a signature alone (no text): attaches to the preceding part */
    AG_EV_MEDIA,      /* generated inline data: mime + data (base64) */
    AG_EV_TOOL_START, /* tool call begins: tool_index, id, name, sig */
    AG_EV_TOOL_ARGS,  /* arguments JSON text delta for tool_index */
    AG_EV_TOOL_END,   /* tool call complete */
    AG_EV_USAGE,      /* running or final token counts (the last one wins) */
    AG_EV_FINISH,     /* a choice ended: finish, raw (provider's own reason, may be empty) */
    AG_EV_ERROR,      /* the answer failed: error */
};

struct ag_event {
    enum ag_event_type type;
    int choice;     /* candidate / choice index, 0 unless n > 1 */
    int tool_index; /* TOOL_*: index of the call within its choice, from 0 */
    struct ag_str text;
    struct ag_signature sig;
    struct ag_str id;
    struct ag_str name;
    struct ag_str mime;
    struct ag_usage usage;
    enum ag_finish finish;
    struct ag_str raw;
    struct ag_proto_error error;
};

/**
 * Receives one event; returns 0 to continue or a negative AG_E* to stop (the decoder returns it).
 * The event and everything it points to are valid only during the call.
 */
typedef int (*ag_event_cb)(void *ud, const struct ag_event *ev);

/* ---- collected answer (non-stream) ------------------------------------------------------ */

#define AG_MAX_CHOICES 8

struct ag_choice {
    struct ag_part *parts; /* TEXT, THINKING, MEDIA, TOOL_CALL in arrival order */
    size_t n_parts;
    size_t _cap;
    enum ag_finish finish;
    struct ag_str raw_finish;
};

/** An answer collected from events, for clients that asked for one JSON body. */
struct ag_answer {
    struct ag_str id;
    struct ag_str model;
    struct ag_choice choices[AG_MAX_CHOICES];
    int n_choices;
    struct ag_usage usage;
    bool has_usage;
    bool failed; /* an AG_EV_ERROR arrived: answer with error instead of a body */
    struct ag_proto_error error;
    struct ag_arena *_arena;
};

/** Prepares an empty answer collecting into arena. */
void ag_answer_init(struct ag_answer *a, struct ag_arena *arena);

/**
 * Adds one event: adjacent deltas of the same kind are joined into one part, tool-call argument
 * deltas into their call. Copies what it keeps into arena. 0 or AG_ETOOBIG (arena cap).
 * Usable directly as an ag_event_cb with ud = the answer (see ag_answer_cb).
 */
int ag_answer_add(struct ag_answer *a, const struct ag_event *ev);

/**
 * What an upstream decoder does when the upstream's answer is unusable (not JSON, too deep, ended
 * before any answer): sends cb an AG_EV_ERROR event (502, AG_PERR_UPSTREAM, message) and sets
 * *failed so the decoder sends nothing more. Returns cb's result.
 */
int ag_event_upstream_failed(ag_event_cb cb, void *ud, struct ag_str message, bool *failed);

/** ag_event_cb adapter: ud is a struct ag_answer *. */
int ag_answer_cb(void *ud, const struct ag_event *ev);

/** Text of the first part of type t in choice c joined: convenience for encoders and tests. */
struct ag_str ag_choice_text(struct ag_arena *arena, const struct ag_choice *c,
                             enum ag_part_type t);

/* ---- names ------------------------------------------------------------------------------ */

/** Short lowercase names ("stop", "tool_calls", ...) for logs and tests. */
const char *ag_finish_name(enum ag_finish f);
const char *ag_event_type_name(enum ag_event_type t);

#endif
