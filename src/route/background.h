/* route/background.h: recognising "background" requests — the short title, summary, suggestion
 * and probe requests clients such as Claude Code send besides the real conversation — so they
 * can be routed to a cheap model. Pure keyword matching; no I/O.
 *
 * Rules (Antigravity Manager's keywords and limits, plus two guards of ours):
 *   - the user text must be non-empty and at most 800 bytes; its first 500 bytes are searched
 *     (case-sensitive substring) for all classes, then the first 500 bytes of the system text
 *     for the title, summary and suggestion classes only;
 *   - a request that declares tools is never a background task (Antigravity Manager downgraded it
 * and stripped the tools, which changes what a tool-using turn can answer);
 *   - a request asking for 16384 or more output tokens is never a background task (titles and
 *     summaries ask for little; a main turn asks for a lot).
 * The caller passes the text of the last user message that is non-empty, does not start with
 * "Warmup" and does not contain "<system-reminder>" (text blocks joined by a space). */
#ifndef AG_ROUTE_BACKGROUND_H
#define AG_ROUTE_BACKGROUND_H

#include "route/mapping.h"

enum ag_background_kind {
    AG_BACKGROUND_NONE = 0,
    AG_BACKGROUND_SYSTEM,
    AG_BACKGROUND_TITLE,
    AG_BACKGROUND_SUMMARY,
    AG_BACKGROUND_SUGGESTION,
    AG_BACKGROUND_PROBE,
};

/** Largest user text (bytes) that can still be a background task. */
#define AG_BACKGROUND_MAX_USER_TEXT 800
/** max_tokens from which a request is treated as a real turn. */
#define AG_BACKGROUND_MAX_TOKENS_CUTOFF 16384

/** Classifies req by the rules above. */
enum ag_background_kind ag_background_detect(const struct ag_background_req *req);

/** Lower-case name of a kind ("none", "title", …) for logs. */
const char *ag_background_kind_name(enum ag_background_kind k);

#endif
