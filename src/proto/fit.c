/* proto/fit.c: fitting a decoded history to the model it goes to (see ag_request_fit_target in
 * canon.h). Claude checks thinking in a tool loop: with thinking on, the assistant turn that made
 * the latest tool calls must open with its signed thinking block, text unchanged. Clients that
 * cannot hold a signature hand it back on a tool call instead (OpenAI tool ids, toolid.h; Gemini
 * functionCall parts), and the reasoning text, if they kept it, as unsigned thinking; here the two
 * are joined again into the thinking block Claude wrote. Pure function over the canonical request.
 */
#include <string.h>

#include "proto/canon.h"
#include "proto/gemini_body.h"

static bool is_claude_sig(const struct ag_signature *s)
{
    return s->value.len && ag_str_eq_c(s->family, "claude");
}

/* Joins a Claude signature a tool call carries for its turn with the turn's unsigned reasoning
 * text: the first such thinking part gets the signature and moves to the front. A turn without
 * reasoning text has nothing the signature could sign. */
static void join_turn(struct ag_message *m)
{
    struct ag_part *call = NULL;
    size_t think = m->n_parts;
    for (size_t j = 0; j < m->n_parts; j++) {
        struct ag_part *p = &m->parts[j];
        if (p->type == AG_PART_THINKING && is_claude_sig(&p->sig))
            return; /* the turn has its signed thinking already */
        if (p->type == AG_PART_THINKING && !p->sig.value.len && p->text.len && think == m->n_parts)
            think = j;
        if (p->type == AG_PART_TOOL_CALL && is_claude_sig(&p->sig) && !call)
            call = p;
    }
    if (!call || think == m->n_parts)
        return;
    struct ag_part t = m->parts[think];
    t.sig = call->sig;
    memmove(&m->parts[1], &m->parts[0], think * sizeof(struct ag_part));
    m->parts[0] = t;
}

/* Claude's calls carry no signature on the wire: one a client handed back on a call either went
 * to the turn's thinking above or has nothing left to sign. */
static void unsign_calls(struct ag_message *m)
{
    for (size_t j = 0; j < m->n_parts; j++)
        if (m->parts[j].type == AG_PART_TOOL_CALL && is_claude_sig(&m->parts[j].sig))
            memset(&m->parts[j].sig, 0, sizeof(m->parts[j].sig));
}

bool ag_request_fit_target(struct ag_request *req, struct ag_str target_model)
{
    if (strcmp(ag_model_family(target_model), "claude") != 0)
        return false; /* Gemini drops foreign thinking and takes the sentinel on calls */
    for (size_t i = 0; i < req->n_messages; i++)
        if (req->messages[i].role == AG_ROLE_ASSISTANT) {
            join_turn(&req->messages[i]);
            unsign_calls(&req->messages[i]);
        }
    bool on = ag_gemini_thinking_budget(req, target_model) >= 0;
    const struct ag_message *last = NULL;
    for (size_t i = req->n_messages; i-- > 0;)
        if (req->messages[i].role == AG_ROLE_ASSISTANT) {
            last = &req->messages[i];
            break;
        }
    bool turned_off = false;
    if (on && last) {
        bool calls = false;
        for (size_t j = 0; j < last->n_parts; j++)
            calls = calls || last->parts[j].type == AG_PART_TOOL_CALL;
        const struct ag_part *first = last->n_parts ? &last->parts[0] : NULL;
        bool opens_signed = first && first->type == AG_PART_THINKING && is_claude_sig(&first->sig);
        if (calls && !opens_signed) {
            /* The tool loop's thinking is not here in full (another provider began it, thinking
             * was off, the client dropped the reasoning or rewrote the id): Claude cannot
             * continue it with thinking, so this turn goes without, as Antigravity Manager does. */
            req->thinking.mode = AG_OFF;
            req->thinking.budget = -1;
            req->thinking.effort = AG_EFFORT_UNSET;
            turned_off = true;
            on = false;
        }
    }
    if (!on) {
        /* without thinking, signed thoughts in the history are not replayed */
        for (size_t i = 0; i < req->n_messages; i++)
            for (size_t j = 0; j < req->messages[i].n_parts; j++)
                if (req->messages[i].parts[j].type == AG_PART_THINKING)
                    req->messages[i].parts[j].sig.family = AG_STR_NULL;
    }
    return turned_off;
}
