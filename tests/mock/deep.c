/* tests/mock/deep.c: the "nest_depth" fault's answer: a model turn whose function call arguments
 * nest N arrays deep, in the route's Gemini shape (wrapped in "response" for Cloud Code), as one
 * SSE event when the request streams. It is written as text, not built with yyjson, so the mock
 * itself never walks the depth it sends. */
#include <string.h>

#include "mock.h"

#define HEAD_GEMINI                                                                                \
    "{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"functionCall\":{\"name\":"    \
    "\"deep\",\"args\":{\"v\":"
#define TAIL_GEMINI                                                                                \
    "}}}]},\"finishReason\":\"STOP\",\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":1,"     \
    "\"candidatesTokenCount\":1,\"totalTokenCount\":2}}"

void mock_send_deep(struct mock_reply *r, const struct ag_http_req *req, enum mock_format fmt,
                    int depth)
{
    struct ag_buf b;
    bool cloudcode = fmt == FMT_CLOUDCODE;
    bool stream = memmem(req->target.p, req->target.len, "streamGenerateContent", 21) != NULL;
    size_t n = depth > 0 ? (size_t)depth : 1;

    ag_buf_init(&b, 0);
    if (stream)
        ag_buf_append_c(&b, "data: ");
    if (cloudcode)
        ag_buf_append_c(&b, "{\"response\":");
    ag_buf_append_c(&b, HEAD_GEMINI);
    for (size_t i = 0; i < n; i++)
        ag_buf_append(&b, "[", 1);
    for (size_t i = 0; i < n; i++)
        ag_buf_append(&b, "]", 1);
    ag_buf_append_c(&b, TAIL_GEMINI);
    if (cloudcode)
        ag_buf_append_c(&b, "}");
    if (stream) {
        ag_buf_append_c(&b, "\n\n");
        mock_reply_event(r, b.data, b.len);
    } else {
        mock_reply_body(r, 200, "application/json", b.data, b.len);
    }
    ag_buf_dispose(&b);
}
