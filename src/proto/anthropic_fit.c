/* proto/anthropic_fit.c: what the relay calls around routing an Anthropic request: fitting the
 * decoded history to the target model's family, forgetting signatures for
 * the signature retry, recognising signature errors, and the local token estimate for
 * count_tokens. Pure functions over the canonical request; see anthropic.h for the contracts. */
#include <string.h>

#include "proto/anthropic.h"
#include "proto/gemini_body.h"

bool ag_anthropic_fit_target(struct ag_request *req, struct ag_str target_model)
{
    return ag_request_fit_target(req, target_model);
}

void ag_anthropic_drop_signatures(struct ag_request *req)
{
    for (size_t i = 0; i < req->n_messages; i++)
        for (size_t j = 0; j < req->messages[i].n_parts; j++)
            memset(&req->messages[i].parts[j].sig, 0, sizeof(struct ag_signature));
}

bool ag_anthropic_is_signature_error(struct ag_str message)
{
    return ag_str_contains_ci(message, "signature") ||
           ag_str_contains_ci(message, "Expected `thinking` or `redacted_thinking`");
}

/* ---- estimate ---- */

/* About 4 ASCII characters per token, 1.5 other characters (code points) per token. */
static int64_t text_tokens(struct ag_str s)
{
    int64_t ascii = 0, other = 0;
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (c < 0x80)
            ascii++;
        else if ((c & 0xC0) != 0x80)
            other++;
    }
    return (ascii + 3) / 4 + (other * 2 + 2) / 3;
}

static int64_t media_tokens(const struct ag_part *p)
{
    if (ag_str_has_prefix(p->mime, "application/pdf")) {
        /* roughly 1500 tokens per page, a page per ~50 kB of PDF */
        int64_t bytes = (int64_t)p->data.len * 3 / 4;
        return (bytes / 50000 + 1) * 1500;
    }
    return 1600; /* Anthropic's cost of an image at its largest unscaled size */
}

static int64_t part_tokens(const struct ag_part *p, bool last_message)
{
    int64_t n = 0;
    switch (p->type) {
    case AG_PART_TEXT:
        return text_tokens(p->text);
    case AG_PART_THINKING:
        /* thinking of earlier turns is not counted by Claude; the latest turn's is */
        return last_message ? text_tokens(p->text) : 0;
    case AG_PART_MEDIA:
        return media_tokens(p);
    case AG_PART_TOOL_CALL:
        return 10 + text_tokens(p->name) + text_tokens(p->args);
    case AG_PART_TOOL_RESULT:
        n = 10 + text_tokens(p->text);
        for (size_t i = 0; i < p->n_parts; i++)
            n += part_tokens(&p->parts[i], last_message);
        return n;
    }
    return 0;
}

int64_t ag_anthropic_estimate_tokens(const struct ag_request *req)
{
    int64_t n = 0;
    for (size_t i = 0; i < req->n_system; i++)
        n += part_tokens(&req->system[i], false);
    for (size_t i = 0; i < req->n_messages; i++) {
        n += 4; /* role and turn markers */
        for (size_t j = 0; j < req->messages[i].n_parts; j++)
            n += part_tokens(&req->messages[i].parts[j], i + 1 == req->n_messages);
    }
    if (req->n_tools)
        n += 300; /* the tool-use preamble the model is given */
    for (size_t i = 0; i < req->n_tools; i++)
        n += 20 + text_tokens(req->tools[i].name) + text_tokens(req->tools[i].description) +
             text_tokens(req->tools[i].schema);
    return n > 0 ? n : 1;
}
