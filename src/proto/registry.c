/* proto/registry.c: the tables adapters are chosen from, once, by name. */
#include <string.h>

#include "proto/adapter.h"

static const struct ag_client_proto *const clients[] = {
    &ag_proto_openai_chat,        &ag_proto_openai_completions, &ag_proto_gemini,
    &ag_proto_anthropic,          &ag_proto_openai_responses,   &ag_proto_openai_images,
    &ag_proto_openai_image_edits,
};

static const struct ag_upstream_proto *const upstreams[] = {
    &ag_proto_cloudcode,
    &ag_proto_gemini_api,
    &ag_proto_anthropic_api,
    &ag_proto_openai_api,
};

const struct ag_client_proto *ag_client_proto_find(const char *name)
{
    for (size_t i = 0; i < sizeof(clients) / sizeof(clients[0]); i++)
        if (strcmp(clients[i]->name, name) == 0)
            return clients[i];
    return NULL;
}

const struct ag_upstream_proto *ag_upstream_proto_find(const char *name)
{
    for (size_t i = 0; i < sizeof(upstreams) / sizeof(upstreams[0]); i++)
        if (strcmp(upstreams[i]->name, name) == 0)
            return upstreams[i];
    return NULL;
}
