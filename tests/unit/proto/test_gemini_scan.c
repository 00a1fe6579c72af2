/* tests/unit/proto/test_gemini_scan.c: the one-pass reader of Gemini response events
 * (proto/gemini_scan.h) against the yyjson reader it stands in for: every event below goes
 * through both, and the events (field by field) and the decoders' states must be the same; the
 * common shapes must be read by the fast reader, and what it must leave to yyjson (not JSON, too
 * deep, calls, errors, numbers it would round) must send nothing and change nothing. Then whole
 * streams through the Cloud Code and Gemini API adapters, which use it. */
#include "ag_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "gemini_diff.h"
#include "proto/adapter.h"

struct pair {
    struct ag_arena arena;
    struct ag_gemini_dec slow, fast;
    struct gd_log ls, lf;
};

static void pair_reset(struct pair *p)
{
    gd_log_reset(&p->ls);
    gd_log_reset(&p->lf);
    ag_gemini_dec_init(&p->slow, &p->arena, AG_STR("seed"), AG_STR("gemini-2.5-flash"));
    ag_gemini_dec_init(&p->fast, &p->arena, AG_STR("seed"), AG_STR("gemini-2.5-flash"));
}

static int setup(void **state)
{
    struct pair *p = calloc(1, sizeof(*p));
    ag_arena_init(&p->arena, 4096, 0);
    pair_reset(p);
    *state = p;
    return 0;
}

static int teardown(void **state)
{
    struct pair *p = *state;
    gd_log_reset(&p->ls);
    gd_log_reset(&p->lf);
    ag_arena_dispose(&p->arena);
    free(p);
    return 0;
}

/* The text with every ' turned into " (the cases read better so; a ' itself is \u0027). */
static char *q(struct pair *p, const char *text)
{
    size_t n = strlen(text);
    char *s = ag_arena_alloc(&p->arena, n + 1);
    for (size_t i = 0; i <= n; i++)
        s[i] = text[i] == '\'' ? '"' : text[i];
    return s;
}

/* One event through both readers, the fast one falling back to yyjson as the adapters do, and
 * their events and states compared; returns whether the fast reader took it. */
static bool both_n(struct pair *p, struct ag_str t, size_t depth, bool envelope)
{
    char why[512];
    const char *d;
    struct ag_gemini_dec before;
    int rf = 0;
    gd_log_reset(&p->ls);
    gd_log_reset(&p->lf);
    memcpy(&before, &p->fast, sizeof(before));
    int rs = gd_slow(&p->slow, t, depth, envelope, gd_record, &p->ls);
    bool claimed = ag_gemini_scan_decode(&p->fast, t, depth, envelope, gd_record, &p->lf, &rf);
    if (!claimed) {
        assert_int_equal(p->lf.n, 0);
        assert_memory_equal(&before, &p->fast, sizeof(before));
        rf = gd_slow(&p->fast, t, depth, envelope, gd_record, &p->lf);
    }
    if (rs != rf)
        fail_msg("%.*s: returned %d against %d", (int)t.len, t.p, rf, rs);
    if ((d = gd_compare(&p->ls, &p->lf, why, sizeof(why))))
        fail_msg("%.*s: %s", (int)t.len, t.p, d);
    if ((d = gd_state_compare(&p->slow, &p->fast)))
        fail_msg("%.*s: decoder state differs: %s", (int)t.len, t.p, d);
    return claimed;
}

static bool both(struct pair *p, const char *text)
{
    return both_n(p, ag_str_c(q(p, text)), 0, true);
}

/* A fresh pair for each case: the fast reader must take it / leave it. */
#define TAKEN(text)                                                                                \
    do {                                                                                           \
        pair_reset(p);                                                                             \
        if (!both(p, (text)))                                                                      \
            fail_msg("not taken by the fast reader: %s", (text));                                  \
    } while (0)
#define LEFT(text)                                                                                 \
    do {                                                                                           \
        pair_reset(p);                                                                             \
        if (both(p, (text)))                                                                       \
            fail_msg("taken by the fast reader: %s", (text));                                      \
    } while (0)

#define EV_PARTS(parts)                                                                            \
    "{'response':{'candidates':[{'content':{'role':'model','parts':[" parts "]}}]}}"

/* The event that decodes to what it says, beyond being the same in both readers. */
static void test_bench_event(void **state)
{
    struct pair *p = *state;
    TAKEN("{'response':{'candidates':[{'content':{'role':'model','parts':[{'text':'echo: Please "
          "sum'}]}}],'modelVersion':'gemini-2.5-flash','responseId':'mock-response-1'},"
          "'traceId':'mocktrace0001'}");
    assert_int_equal(p->lf.n, 2);
    assert_int_equal(p->lf.e[0].ev.type, AG_EV_START);
    assert_string_equal(p->lf.e[0].id.p, "mock-response-1");
    assert_string_equal(p->lf.e[0].name.p, "gemini-2.5-flash");
    assert_int_equal(p->lf.e[1].ev.type, AG_EV_TEXT);
    assert_string_equal(p->lf.e[1].text.p, "echo: Please sum");
    assert_true(p->lf.e[1].sig.null);
}

static void test_text_escapes_unicode(void **state)
{
    struct pair *p = *state;
    TAKEN(EV_PARTS("{'text':'a\\'b\\\\c\\/d\\b\\f\\n\\r\\tz'}"));
    assert_int_equal(p->lf.e[1].text.len, 13);
    assert_memory_equal(p->lf.e[1].text.p, "a\"b\\c/d\b\f\n\r\tz", 13);
    TAKEN(EV_PARTS("{'text':'\\u00e9\\u20AC\\ud83d\\ude00 caf\xc3\xa9 \xf0\x9f\x98\x80'}"));
    assert_string_equal(p->lf.e[1].text.p,
                        "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 caf\xc3\xa9 \xf0\x9f\x98\x80");
    TAKEN(EV_PARTS("{'text':'nul\\u0000inside'}"));
    assert_int_equal(p->lf.e[1].text.len, 10);
    assert_memory_equal(p->lf.e[1].text.p, "nul\0inside", 10);
    TAKEN(EV_PARTS("{'text':'\\u0041\\u007f\\u0080\\u07ff\\u0800\\uffff\\udbff\\udfff'}"));
    TAKEN(EV_PARTS("{'text':'first \\n'},{'text':'second \\'quoted\\''}"));
    assert_string_equal(p->lf.e[1].text.p, "first \n");
    assert_string_equal(p->lf.e[2].text.p, "second \"quoted\"");
    TAKEN("{'response':{'responseId':'r\\u00e9','modelVersion':'m\\n','candidates':[{'content':"
          "{'parts':[{'text':'x'}]},'finishReason':'ST\\u004fP'}]}}");
    assert_int_equal(p->lf.e[2].ev.finish, AG_FINISH_STOP);
    /* DEL and every printable byte stand for themselves */
    TAKEN(EV_PARTS("{'text':'\x7f ~!#$%&()*+,-.:;<=>?@[]^_`{|}'}"));
}

static void test_parts_thoughts_signatures(void **state)
{
    struct pair *p = *state;
    TAKEN(EV_PARTS("{'text':''}"));
    assert_int_equal(p->lf.n, 1); /* START only */
    TAKEN(EV_PARTS("{'text':'','thoughtSignature':'sig'}"));
    assert_int_equal(p->lf.e[1].ev.type, AG_EV_SIGNATURE);
    assert_string_equal(p->lf.e[1].family.p, "gemini");
    TAKEN(EV_PARTS("{'text':'hm','thought':true,'thoughtSignature':'S1'}"));
    assert_int_equal(p->lf.e[1].ev.type, AG_EV_THINKING);
    TAKEN(EV_PARTS("{'thought':true,'text':'hm','thought_signature':'S2'}"));
    TAKEN(EV_PARTS("{'thoughtSignature':'','thought_signature':'snake','text':'t'}"));
    assert_string_equal(p->lf.e[1].sig.p, "snake");
    TAKEN(EV_PARTS("{'thoughtSignature':'','thought_signature':''}"));
    TAKEN(EV_PARTS("{'thoughtSignature':'camel','thought_signature':'snake'}"));
    TAKEN(EV_PARTS("{'thoughtSignature':5,'thought_signature':'snake'}"));
    TAKEN(EV_PARTS("{'text':'a','thought':false},{'text':'b','thought':'true'},"
                   "{'text':'c','thought':1},{'text':'d','thought':null}"));
    TAKEN(EV_PARTS("{'text':5},{'text':null},{'text':['x']},{'text':{'a':'b'}},{}"));
    TAKEN(EV_PARTS("1,'x',null,true,[],[{'text':'inner'}],{'text':'last'}"));
    /* only the first member of a name counts */
    TAKEN(EV_PARTS("{'text':'first','text':'second','thought':false,'thought':true}"));
    assert_string_equal(p->lf.e[1].text.p, "first");
    TAKEN(EV_PARTS("{'text':1,'text':'second'}"));
    /* a call, data or code member that is not an object is not one */
    TAKEN(EV_PARTS("{'functionCall':null,'inlineData':'x','executableCode':[],"
                   "'codeExecutionResult':7,'text':'plain','functionCall':{'name':'f'}}"));
    TAKEN(EV_PARTS("{'text':'a'},{'text':'b'},{'text':'c'},{'text':'d'},{'text':'e'},{'text':'f'},"
                   "{'text':'g'},{'text':'h'},{'text':'i'},{'text':'j'},{'text':'k'},{'text':'l'},"
                   "{'text':'m'},{'text':'n'},{'text':'o'},{'text':'p'}"));
}

static void test_finish_usage(void **state)
{
    struct pair *p = *state;
    static const char *const reasons[] = {"STOP",
                                          "MAX_TOKENS",
                                          "SAFETY",
                                          "RECITATION",
                                          "OTHER",
                                          "MALFORMED_FUNCTION_CALL",
                                          "FINISH_REASON_UNSPECIFIED",
                                          "SOMETHING_NEW",
                                          ""};
    char text[256];
    for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
        snprintf(text, sizeof(text),
                 "{'response':{'candidates':[{'content':{'parts':[{'text':'x'}]},"
                 "'finishReason':'%s'}]}}",
                 reasons[i]);
        TAKEN(text);
    }
    TAKEN("{'response':{'candidates':[{'finishReason':null,'content':{'parts':[]}}]}}");
    TAKEN("{'response':{'candidates':[{'content':{'role':'model','parts':[{'text':'Yes.'}]},"
          "'finishReason':'STOP'}],'usageMetadata':{'promptTokenCount':10,"
          "'candidatesTokenCount':6,'thoughtsTokenCount':30,'totalTokenCount':46,"
          "'promptTokensDetails':[{'modality':'TEXT','tokenCount':10}]},"
          "'modelVersion':'gemini-2.5-flash','responseId':'resp-abc','createTime':"
          "'2025-11-20T10:00:00.123456Z'},'traceId':'abc','metadata':{}}");
    assert_int_equal(p->lf.e[2].ev.type, AG_EV_USAGE);
    assert_int_equal(p->lf.e[2].ev.usage.output, 36);
    assert_int_equal(p->lf.e[3].ev.type, AG_EV_FINISH);
    TAKEN("{'response':{'usageMetadata':{'promptTokenCount':1200,'cachedContentTokenCount':1024,"
          "'candidatesTokenCount':3,'toolUsePromptTokenCount':4}}}");
    TAKEN("{'response':{'usageMetadata':{'total_input_tokens':5,'total_output_tokens':6,"
          "'total_thought_tokens':7,'total_cached_tokens':1,'total_tool_use_tokens':2,"
          "'total_tokens':99}}}");
    /* a name that is there but not a count does not fall back to the other name */
    TAKEN("{'response':{'usageMetadata':{'promptTokenCount':'5','total_input_tokens':6,"
          "'candidatesTokenCount':null,'total_output_tokens':7,'thoughtsTokenCount':-3,"
          "'total_thought_tokens':2,'totalTokenCount':1099511627777,'total_tokens':3}}}");
    TAKEN("{'response':{'usageMetadata':{'promptTokenCount':-0,'totalTokenCount':1099511627776,"
          "'candidatesTokenCount':0,'promptTokenCount':9}}}");
    TAKEN("{'response':{'usageMetadata':{'totalTokenCount':999999999999999}}}");
    TAKEN("{'response':{'usageMetadata':{}}}");
    TAKEN("{'response':{'usageMetadata':null}}");
    TAKEN("{'response':{'usageMetadata':[1,2],'usageMetadata':{'promptTokenCount':1}}}");
    TAKEN("{'response':{'usageMetadata':{'promptTokenCount':1},'usageMetadata':{'x':1}}}");
}

static void test_candidates(void **state)
{
    struct pair *p = *state;
    TAKEN("{'response':{'candidates':[{'index':1,'content':{'parts':[{'text':'one'}]},"
          "'finishReason':'STOP'},{'content':{'parts':[{'text':'zero'}]},'index':0,"
          "'finishReason':'MAX_TOKENS'}]}}");
    assert_int_equal(p->lf.e[1].ev.choice, 1);
    TAKEN("{'response':{'candidates':[{'content':{'parts':[{'text':'a'}]}},5,"
          "{'content':{'parts':[{'text':'c'}]},'finishReason':'STOP'}]}}");
    TAKEN("{'response':{'candidates':[{'index':9,'content':{'parts':[{'text':'far'}]},"
          "'finishReason':'STOP'},{'index':-1,'finishReason':'STOP'},{'index':7,"
          "'finishReason':'STOP'},{'index':-0,'finishReason':'STOP'}]}}");
    TAKEN("{'response':{'candidates':[{'index':0,'finishReason':'STOP'},{'index':0,"
          "'finishReason':'SAFETY','content':{'parts':[{'text':'again'}]}}]}}");
    TAKEN("{'response':{'candidates':{'content':{'parts':[{'text':'x'}]}}}}");
    TAKEN("{'response':{'candidates':[{'content':'x'},{'content':{'parts':{}}},{'content':"
          "{'parts':[{'text':'first'}],'parts':[{'text':'second'}]}},{'content':{'parts':null},"
          "'content':{'parts':[{'text':'no'}]}}]}}");
    TAKEN("{'response':{'candidates':[]}}");
    TAKEN("{'response':{'candidates':[],'candidates':[{'content':{'parts':[{'text':'x'}]}}]}}");
    TAKEN("{'response':{'candidates':[{},{},{},{},{},{},{},{'finishReason':'STOP'}]}}");
}

/* The envelope, key order, white space and members the decoder does not read. */
static void test_shapes(void **state)
{
    struct pair *p = *state;
    TAKEN("{}");
    TAKEN("{'traceId':'t'}");
    TAKEN("{'candidates':[{'content':{'parts':[{'text':'no envelope'}]}}],'responseId':'r'}");
    TAKEN("{'response':'text','candidates':[{'content':{'parts':[{'text':'root'}]}}]}");
    TAKEN("{'response':{'responseId':'inner'},'response':{'responseId':'second'}}");
    TAKEN("{'response':null,'response':{'responseId':'second'},'responseId':'root'}");
    TAKEN("{'traceId':'t','response':{'responseId':'late'},'candidates':[{}]}");
    TAKEN("{'response':{'responseId':5,'modelVersion':null,'responseId':'second'}}");
    TAKEN("{'response':{'responseId':'','modelVersion':''}}");
    TAKEN("{'response':{'usageMetadata':{'totalTokenCount':4},'responseId':'r','candidates':[{"
          "'finishReason':'STOP','content':{'parts':[{'thoughtSignature':'s','text':'t'}],"
          "'role':'model'},'index':0}]}}");
    TAKEN(" \t\r\n{ 'response' : { 'candidates' : [ { 'content' : { 'parts' : [ { 'text' : 'x' "
          "} , { 'text' : 'y' } ] } , 'finishReason' : 'STOP' } ] } , 'traceId' : 'z' } \n\t ");
    TAKEN("{'response':{'candidates':[{'content':{'parts':[{'text':'x','extra':{'a':[1,-2.5,3e10,"
          "-0.0e-0,1E+2,true,false,null,'s\\n',{},[],[[{}]]]}}]},'safetyRatings':[{'category':"
          "'HARM_CATEGORY_HATE_SPEECH','probability':'NEGLIGIBLE','blocked':false}],"
          "'avgLogprobs':-0.12345678901234567,'citationMetadata':{'citations':[{'startIndex':0,"
          "'uri':'https://x'}]},'groundingMetadata':{'webSearchQueries':['q']}}]}}");
    TAKEN("{'response':{'\xc3\xa9t\xc3\xa9':1,'':2,'candidates':[]}}");
    /* the native API has no envelope: a "response" member is an unknown one */
    pair_reset(p);
    assert_true(
        both_n(p, ag_str_c(q(p, "{'response':{'responseId':'x'},'responseId':'y'}")), 0, false));
    assert_string_equal(p->lf.e[0].id.p, "y");
}

/* What the fast reader leaves to yyjson: the events are then yyjson's (checked by both()). */
static void test_left_to_yyjson(void **state)
{
    struct pair *p = *state;
    LEFT(EV_PARTS("{'functionCall':{'name':'f','args':{}}}"));
    LEFT(EV_PARTS("{'inlineData':{'mimeType':'image/png','data':'AA=='}}"));
    LEFT(EV_PARTS("{'executableCode':{'language':'PYTHON','code':'1'}}"));
    LEFT(EV_PARTS("{'codeExecutionResult':{'output':'1'}}"));
    LEFT(EV_PARTS("{'text':'x','functionCall':{'name':'f'}}"));
    LEFT("{'response':{'error':{'code':429,'message':'slow down'}}}");
    LEFT("{'error':{'code':500,'message':'boom','status':'INTERNAL'}}");
    LEFT("{'response':{'promptFeedback':{'blockReason':'SAFETY'}}}");
    LEFT(EV_PARTS("{'te\\u0078t':'escaped key'}"));
    LEFT("{'response':{'usageMetadata':{'promptTokenCount':10.0}}}");
    LEFT("{'response':{'usageMetadata':{'promptTokenCount':1e3}}}");
    LEFT("{'response':{'usageMetadata':{'promptTokenCount':1234567890123456}}}");
    LEFT("{'response':{'candidates':[{'index':'0'}]}}");
    LEFT("{'response':{'candidates':[{'index':1.0}]}}");
    LEFT("{'response':{'candidates':[{'index':1234567890}]}}");
    LEFT("{'response':{'x':123456789012345678901234567890123}}");
    LEFT("{'response':{'x':1e100}}");
    LEFT("{'response':{'candidates':[{},{},{},{},{},{},{},{},{}]}}");
    LEFT(EV_PARTS("{'text':'a'},{'text':'b'},{'text':'c'},{'text':'d'},{'text':'e'},{'text':'f'},"
                  "{'text':'g'},{'text':'h'},{'text':'i'},{'text':'j'},{'text':'k'},{'text':'l'},"
                  "{'text':'m'},{'text':'n'},{'text':'o'},{'text':'p'},{'text':'q'}"));
    LEFT("[{'response':{}}]");
    LEFT("'response'");
    LEFT("42");
}

/* Text that is not JSON: the fast reader must not take it, and yyjson refuses it. */
static void test_not_json(void **state)
{
    struct pair *p = *state;
    static const char *const bad[] = {
        "{'response':{},}",
        "{'response':{'a':1,}}",
        "{'response':[1,]}",
        "{'response'}",
        "{'response':}",
        "{'response' 1}",
        "{,}",
        "{'a':1 'b':2}",
        "{'a':01}",
        "{'a':-}",
        "{'a':1.}",
        "{'a':.5}",
        "{'a':1e}",
        "{'a':+1}",
        "{'a':NaN}",
        "{'a':Infinity}",
        "{'a':tru}",
        "{'a':nul}",
        "{'a':truex}",
        "{'a':'x\\q'}",
        "{'a':'\\u12'}",
        "{'a':'\\ud800'}",
        "{'a':'\\udc00'}",
        "{'a':'\\ud800\\u0041'}",
        "{'a':'\\udc00\\ud800'}",
        "{'a':'\\udc00\\udc00'}",
        "{'a':'tab\there'}",
        "{'a':'nl\nhere'}",
        "{'a':'\xc0\x80'}",
        "{'a':'\xed\xa0\x80'}",
        "{'a':'\xf5\x80\x80\x80'}",
        "{'a':'\xf4\x90\x80\x80'}",
        "{'a':'\xe2\x82'}",
        "{'a':'\x80'}",
        "{'a':'\xff'}",
        "{'\xc0':1}",
        "{'a':1}}",
        "{'a':1}x",
        "{'a':1}{}",
        "{'a':'open}",
        "{'a':[1,2}",
        "{'a':{'b':1]}",
        "{'response':{'candidates':[{'content':"
        "{'parts':[{'text':'x'}]}}]",
        "{'a':1} \f",
        "\xef\xbb\xbf{}",
        EV_PARTS("{'text':'x','text':'\\ud83d'}"),
        "{'a':// comment\n1}",
        "{'a':'x'/*c*/}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        LEFT(bad[i]);
        assert_int_equal(p->lf.n, 0);
        int rc = gd_slow(&p->slow, ag_str_c(q(p, bad[i])), 0, true, gd_record, &p->ls);
        if (rc != AG_EPARSE)
            fail_msg("yyjson read it: %s", bad[i]);
    }
}

/* Nesting past the limit is yyjson's to refuse (AG_EDEPTH); up to it the fast reader reads it. */
static void test_depth(void **state)
{
    struct pair *p = *state;
    const char *ev = q(p, "{'response':{'candidates':[{'content':{'parts':[{'text':'x'}]}}]}}");
    pair_reset(p);
    assert_true(both_n(p, ag_str_c(ev), 7, true));
    pair_reset(p);
    assert_false(both_n(p, ag_str_c(ev), 6, true));
    assert_int_equal(p->lf.n, 0);
    char deep[300];
    size_t n = 0;
    n += (size_t)snprintf(deep, sizeof(deep), "{'response':{'x':");
    for (int i = 0; i < 70; i++)
        deep[n++] = '[';
    for (int i = 0; i < 70; i++)
        deep[n++] = ']';
    snprintf(deep + n, sizeof(deep) - n, "}}");
    LEFT(deep); /* more levels than one skipped value may open: yyjson's */
    pair_reset(p);
    assert_false(both_n(p, ag_str_c(q(p, deep)), 8, true)); /* and too deep */
}

/* The decoder's state carries from event to event, whichever reader read the one before. */
static void test_state_across_events(void **state)
{
    struct pair *p = *state;
    pair_reset(p);
    assert_false(both(p, "{'response':{'responseId':'r1','candidates':[{'content':{'parts':[{"
                         "'functionCall':{'name':'get','args':{'a':1}}}]}}]}}"));
    assert_true(both(p, "{'response':{'responseId':'r2','candidates':[{'content':{'parts':[{"
                        "'text':'done'}]},'finishReason':'STOP'}]}}"));
    assert_int_equal(p->lf.n, 2); /* no second START; the finish is a tool-call one */
    assert_int_equal(p->lf.e[1].ev.finish, AG_FINISH_TOOL_CALLS);
    assert_true(both(p, "{'response':{'candidates':[{'finishReason':'MAX_TOKENS'},{'index':1,"
                        "'finishReason':'STOP'}]}}"));
    assert_int_equal(p->lf.n, 1); /* choice 0 had finished */
    assert_false(both(p, "{'response':{'error':{'code':503,'message':'later'}}}"));
    assert_true(both(p, EV_PARTS("{'text':'after'}")));
}

/* A callback that stops the decoding stops both readers at the same event, with its code. */
static void test_callback_stops(void **state)
{
    struct pair *p = *state;
    const char *ev = "{'response':{'candidates':[{'content':{'parts':[{'text':'a'},{'text':'b'}]},"
                     "'finishReason':'STOP'},{'content':{'parts':[{'text':'c'}]},"
                     "'finishReason':'STOP'}],'usageMetadata':{'totalTokenCount':3}}}";
    for (size_t stop = 1; stop <= 8; stop++) {
        pair_reset(p);
        p->ls.stop_at = p->lf.stop_at = stop;
        p->ls.stop_rc = p->lf.stop_rc = AG_ETOOBIG;
        assert_true(both(p, ev));
        p->ls.stop_at = p->lf.stop_at = 0;
    }
}

/* Whole streams through the adapters, which read with the fast reader where it can. */
/* Responses of a stream; Cloud Code sends each as {"response": ..., "traceId": ...}. */
static const char *const stream_events[] = {
    "{'candidates':[{'content':{'role':'model','parts':[{'text':'Let me think.','thought':true}]}}"
    "],'modelVersion':'gemini-2.5-flash','responseId':'resp-abc'}",
    "{'candidates':[{'content':{'role':'model','parts':[{'text':' 7 is prime.','thought':true,"
    "'thoughtSignature':'Ev0BCvoBAXLI2ny'}]}}],'responseId':'resp-abc'}",
    "{'candidates':[{'content':{'role':'model','parts':[{'functionCall':{'name':'get','args':"
    "{'q':'x'}}}]}}]}",
    "{'candidates':[{'content':{'role':'model','parts':[{'text':'Yes, \\u00277\\u0027 is "
    "prime.\\n'}]},'finishReason':'STOP'}],'usageMetadata':{'promptTokenCount':10,"
    "'candidatesTokenCount':6,'thoughtsTokenCount':30,'totalTokenCount':46}}",
};

static void stream_through(struct pair *p, const struct ag_upstream_proto *proto, bool envelope)
{
    struct ag_proto_ctx ctx = {.arena = &p->arena, .request_id = AG_STR("seed")};
    struct ag_request req;
    struct ag_upstream_target t = {.model = AG_STR("gemini-2.5-flash")};
    char why[512], text[1024];
    const char *d;
    ag_request_init(&req);
    req.stream = true;
    pair_reset(p);
    struct ag_upstream_decoder *dec = proto->decoder_new(&ctx, &req, &t);
    assert_non_null(dec);
    for (size_t i = 0; i < sizeof(stream_events) / sizeof(stream_events[0]); i++) {
        if (envelope)
            snprintf(text, sizeof(text), "{'response':%s,'traceId':'t%zu'}", stream_events[i], i);
        else
            snprintf(text, sizeof(text), "%s", stream_events[i]);
        struct ag_str payload = ag_str_c(q(p, text));
        assert_int_equal(gd_slow(&p->slow, payload, 0, envelope, gd_record, &p->ls), 0);
        assert_int_equal(proto->decode_event(dec, payload, gd_record, &p->lf), 0);
    }
    assert_int_equal(proto->decode_event(dec, AG_STR("[DONE]"), gd_record, &p->lf), 0);
    assert_int_equal(ag_gemini_dec_end(&p->slow, gd_record, &p->ls), 0);
    assert_int_equal(proto->decode_end(dec, gd_record, &p->lf), 0);
    assert_int_equal(p->lf.n, 9); /* START, 2 thinking, tool start/args/end, text, usage, finish */
    assert_int_equal(p->lf.e[8].ev.finish, AG_FINISH_TOOL_CALLS);
    assert_string_equal(p->lf.e[6].text.p, "Yes, '7' is prime.\n");
    if ((d = gd_compare(&p->ls, &p->lf, why, sizeof(why))))
        fail_msg("%s: %s", proto->name, d);
}

static void test_streams_through_adapters(void **state)
{
    struct pair *p = *state;
    stream_through(p, &ag_proto_cloudcode, true);
    stream_through(p, &ag_proto_gemini_api, false);
}

/* Text that is not JSON still fails the answer as it did: the error event of the adapter. */
static void test_adapter_not_json(void **state)
{
    struct pair *p = *state;
    struct ag_proto_ctx ctx = {.arena = &p->arena, .request_id = AG_STR("seed")};
    struct ag_request req;
    struct ag_upstream_target t = {.model = AG_STR("gemini-2.5-flash")};
    ag_request_init(&req);
    pair_reset(p);
    struct ag_upstream_decoder *dec = ag_proto_cloudcode.decoder_new(&ctx, &req, &t);
    const char *bad = q(p, "{'response':{'candidates':[{'content':{'parts':[{'text':'x'}]}}],}}");
    assert_int_equal(ag_proto_cloudcode.decode_event(dec, ag_str_c(bad), gd_record, &p->lf),
                     AG_EPARSE);
    assert_int_equal(p->lf.n, 1);
    assert_int_equal(p->lf.e[0].ev.type, AG_EV_ERROR);
    assert_int_equal(p->lf.e[0].ev.error.status, 502);
    assert_string_equal(p->lf.e[0].message.p, "upstream sent data that is not JSON");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bench_event),
        cmocka_unit_test(test_text_escapes_unicode),
        cmocka_unit_test(test_parts_thoughts_signatures),
        cmocka_unit_test(test_finish_usage),
        cmocka_unit_test(test_candidates),
        cmocka_unit_test(test_shapes),
        cmocka_unit_test(test_left_to_yyjson),
        cmocka_unit_test(test_not_json),
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_state_across_events),
        cmocka_unit_test(test_callback_stops),
        cmocka_unit_test(test_streams_through_adapters),
        cmocka_unit_test(test_adapter_not_json),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
