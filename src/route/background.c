/* route/background.c: keyword classification of background requests (see background.h). */
#include "route/background.h"

#include <string.h>

#define SEARCH_WINDOW 500

static const char *const system_kw[] = {"Warmup", "<system-reminder>", "This is a system message",
                                        NULL};
static const char *const title_kw[] = {"write a 5-10 word title", "Please write a 5-10 word title",
                                       "Respond with the title",  "Generate a title for",
                                       "Create a brief title",    "title for the conversation",
                                       "conversation title",      "生成标题",
                                       "为对话起个标题",          NULL};
static const char *const summary_kw[] = {"Summarize this coding conversation",
                                         "Summarize the conversation",
                                         "Concise summary",
                                         "in under 50 characters",
                                         "compress the context",
                                         "Provide a concise summary",
                                         "condense the previous messages",
                                         "shorten the conversation history",
                                         "extract key points from",
                                         NULL};
static const char *const suggestion_kw[] = {"prompt suggestion generator",
                                            "suggest next prompts",
                                            "what should I ask next",
                                            "generate follow-up questions",
                                            "recommend next steps",
                                            "possible next actions",
                                            NULL};
static const char *const probe_kw[] = {"check current directory", "list available tools",
                                       "verify environment", "test connection", NULL};

static const struct {
    enum ag_background_kind kind;
    const char *const *kw;
} classes[] = {
    {AG_BACKGROUND_SYSTEM, system_kw},   {AG_BACKGROUND_TITLE, title_kw},
    {AG_BACKGROUND_SUMMARY, summary_kw}, {AG_BACKGROUND_SUGGESTION, suggestion_kw},
    {AG_BACKGROUND_PROBE, probe_kw},
};

static bool contains(struct ag_str hay, const char *needle)
{
    size_t n = strlen(needle);
    if (hay.len > SEARCH_WINDOW)
        hay.len = SEARCH_WINDOW;
    return n > 0 && ag_str_contains(hay, needle);
}

static enum ag_background_kind classify(struct ag_str text, bool system_prompt)
{
    for (size_t c = 0; c < sizeof(classes) / sizeof(classes[0]); c++) {
        /* A system prompt is only evidence for the task-describing classes: "Warmup" or a
         * probe phrase there says nothing about this request. */
        bool task = classes[c].kind == AG_BACKGROUND_TITLE ||
                    classes[c].kind == AG_BACKGROUND_SUMMARY ||
                    classes[c].kind == AG_BACKGROUND_SUGGESTION;
        if (system_prompt && !task)
            continue;
        for (const char *const *k = classes[c].kw; *k; k++)
            if (contains(text, *k))
                return classes[c].kind;
    }
    return AG_BACKGROUND_NONE;
}

enum ag_background_kind ag_background_detect(const struct ag_background_req *req)
{
    if (req->has_tools)
        return AG_BACKGROUND_NONE;
    if (req->max_tokens >= AG_BACKGROUND_MAX_TOKENS_CUTOFF)
        return AG_BACKGROUND_NONE;
    if (req->user_text.len == 0 || req->user_text.len > AG_BACKGROUND_MAX_USER_TEXT)
        return AG_BACKGROUND_NONE;
    enum ag_background_kind k = classify(req->user_text, false);
    if (k == AG_BACKGROUND_NONE)
        k = classify(req->system_text, true);
    return k;
}

const char *ag_background_kind_name(enum ag_background_kind k)
{
    switch (k) {
    case AG_BACKGROUND_SYSTEM:
        return "system";
    case AG_BACKGROUND_TITLE:
        return "title";
    case AG_BACKGROUND_SUMMARY:
        return "summary";
    case AG_BACKGROUND_SUGGESTION:
        return "suggestion";
    case AG_BACKGROUND_PROBE:
        return "probe";
    case AG_BACKGROUND_NONE:
        break;
    }
    return "none";
}
