/* proto/images.h: the OpenAI images client adapters — POST /v1/images/generations (JSON) and
 * POST /v1/images/edits (multipart/form-data) — and what the relay needs from them.
 *
 * A request becomes one user message (the prompt, then for edits the images and the mask) with
 * req->image set (aspect ratio and image size, see images.c for the mapping from `size`,
 * `quality`, `image_size`, `aspect_ratio`), so the Cloud Code adapter makes an image_gen
 * generateContent call with generationConfig.imageConfig; `n` becomes candidateCount. Answers are
 * {"created","data":[{"b64_json"|"url","revised_prompt"?}],"usage"?}; `response_format: "url"` is
 * answered with data: URLs because aigate keeps no files. Errors are OpenAI's {"error":{...}}. */
#ifndef AG_PROTO_IMAGES_H
#define AG_PROTO_IMAGES_H

#include "proto/adapter.h"

/** The model used when the client names none, or names one of OpenAI's own image models. */
#define AG_IMAGES_DEFAULT_MODEL "gemini-3.1-flash-image"

/** What an images request carries beyond the canonical request. */
struct ag_images_meta {
    bool edit;     /* /v1/images/edits */
    bool url;      /* response_format "url": data URLs instead of b64_json */
    bool has_size; /* the client's size or aspect_ratio decided the ratio (suffixes yield) */
};

/** The meta of a request decoded by one of the images adapters (nothing else). */
const struct ag_images_meta *ag_images_meta_of(const struct ag_request *req);

/**
 * After routing: fills the aspect ratio and image size the client left open from the model
 * name's suffixes (route/ reports them: "-16x9", "-4k", ...), then generations default to "1:1"
 * (OpenAI's default size is 1024x1024); edits keep the input's own ratio. Values are static.
 */
void ag_images_apply_route(struct ag_request *req, const char *route_aspect,
                           const char *route_size);

/**
 * After routing a chat request (OpenAI chat, Gemini native) to an image model: the request becomes
 * an image request (req->image.on, an image_gen call with generationConfig.imageConfig). The ratio
 * and size are the client's own imageConfig values when valid (Gemini), else the model name's
 * suffixes, else "1:1"; tools and the system instruction are dropped. Values are static.
 */
void ag_images_fit_chat(struct ag_request *req, const char *route_aspect, const char *route_size);

#endif
