/* Tests exporters/jaeger/translate.c with a golden table: one OTLP request per rule of the
 * Collector's jaeger translator (written as OTLP/JSON) and the Jaeger batches it must become
 * (written with the same JSON encoder: ids in hex, fields at their default left out, so vType
 * STRING and refType CHILD_OF are absent), compared as JSON values. Every batch must also pack as
 * a PostSpansRequest that unpacks again. */
#include "testutil.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/errors.h"
#include "codec/otlp_json.h"
#include "exporters/jaeger/translate.h"
#include "jaeger/api_v2/collector.pb-c.h"

struct golden {
    const char *name;
    const char *otlp;           /* ExportTraceServiceRequest */
    const char *jaeger;         /* a JSON array of Batch */
};

#define TID "0102030405060708090a0b0c0d0e0f10"
#define SID "1112131415161718"
#define PID "2122232425262728"
#define IDS "\"traceId\":\"" TID "\",\"spanId\":\"" SID "\""
/* One resource (attributes attrs) and one scope holding spans. */
#define REQ(attrs, scope, spans) "{\"resourceSpans\":[{\"resource\":{\"attributes\":[" attrs "]},\"scopeSpans\":[{" scope "\"spans\":[" spans "]}]}]}"
#define SPAN(extra) "{" IDS ",\"name\":\"op\"" extra "}"
#define SVC "{\"key\":\"service.name\",\"value\":{\"stringValue\":\"svc\"}}"
/* What SPAN("") becomes: start and duration are zero, so their messages are empty. */
#define JSPAN(extra) "{" IDS ",\"operationName\":\"op\",\"startTime\":{},\"duration\":{}" extra "}"
#define BATCH(process, spans) "{\"spans\":[" spans "],\"process\":" process "}"
#define PSVC "{\"serviceName\":\"svc\"}"
#define STR(k, v) "{\"key\":\"" k "\",\"vStr\":\"" v "\"}"

static const struct golden table[] = {
    { "an empty request gives no batch", "{}", "[]" },
    { "a resource with neither attributes nor scopes gives no batch",
      "{\"resourceSpans\":[{\"resource\":{}},{}]}", "[]" },
    { "a resource without scopes gives a batch without spans",
      "{\"resourceSpans\":[{\"resource\":{\"attributes\":[" SVC "]}}]}", "[{\"process\":" PSVC "}]" },
    { "a resource with a scope but no spans gives a batch without spans",
      "{\"resourceSpans\":[{\"resource\":{\"attributes\":[" SVC "]},\"scopeSpans\":[{}]}]}", "[{\"process\":" PSVC "}]" },
    { "no resource attributes: the Collector's placeholder service name",
      REQ("", "", SPAN("")), "[" BATCH("{\"serviceName\":\"" OCA_JAEGER_NO_SERVICE_NAME "\"}", JSPAN("")) "]" },
    { "resource attributes without service.name: empty service name, every attribute a tag",
      REQ("{\"key\":\"host.name\",\"value\":{\"stringValue\":\"h\"}}", "", SPAN("")),
      "[" BATCH("{\"tags\":[" STR("host.name", "h") "]}", JSPAN("")) "]" },
    { "service.name that is not a string: empty name, and it is no tag either",
      REQ("{\"key\":\"service.name\",\"value\":{\"intValue\":\"5\"}},{\"key\":\"k\",\"value\":{\"stringValue\":\"v\"}}", "", SPAN("")),
      "[" BATCH("{\"tags\":[" STR("k", "v") "]}", JSPAN("")) "]" },
    { "resource attributes as typed process tags, in order, service.name taken out",
      REQ("{\"key\":\"s\",\"value\":{\"stringValue\":\"x\"}}," SVC ",{\"key\":\"b\",\"value\":{\"boolValue\":true}},"
          "{\"key\":\"i\",\"value\":{\"intValue\":\"-7\"}},{\"key\":\"d\",\"value\":{\"doubleValue\":2.5}},"
          "{\"key\":\"by\",\"value\":{\"bytesValue\":\"AQID\"}},"
          "{\"key\":\"arr\",\"value\":{\"arrayValue\":{\"values\":[{\"stringValue\":\"a\"},{\"intValue\":\"1\"}]}}},"
          "{\"key\":\"map\",\"value\":{\"kvlistValue\":{\"values\":[{\"key\":\"z\",\"value\":{\"boolValue\":false}},"
          "{\"key\":\"a\",\"value\":{\"doubleValue\":0.5}}]}}},{\"key\":\"empty\",\"value\":{}}", "", SPAN("")),
      "[" BATCH("{\"serviceName\":\"svc\",\"tags\":[" STR("s", "x") ",{\"key\":\"b\",\"vType\":1,\"vBool\":true},"
                "{\"key\":\"i\",\"vType\":2,\"vInt64\":\"-7\"},{\"key\":\"d\",\"vType\":3,\"vFloat64\":2.5},"
                "{\"key\":\"by\",\"vType\":4,\"vBinary\":\"AQID\"}," STR("arr", "[\\\"a\\\",1]") ","
                STR("map", "{\\\"a\\\":0.5,\\\"z\\\":false}") ",{\"key\":\"empty\"}]}", JSPAN("")) "]" },
    { "ids, name, start time and duration in nanoseconds",
      REQ(SVC, "", SPAN(",\"startTimeUnixNano\":\"1700000000123456789\",\"endTimeUnixNano\":\"1700000002623456790\"")),
      "[" BATCH(PSVC, "{" IDS ",\"operationName\":\"op\",\"startTime\":{\"seconds\":\"1700000000\",\"nanos\":123456789},"
                      "\"duration\":{\"seconds\":\"2\",\"nanos\":500000001}}") "]" },
    { "an end before the start is a negative duration",
      REQ(SVC, "", SPAN(",\"startTimeUnixNano\":\"3000000000\",\"endTimeUnixNano\":\"1500000000\"")),
      "[" BATCH(PSVC, "{" IDS ",\"operationName\":\"op\",\"startTime\":{\"seconds\":\"3\"},"
                      "\"duration\":{\"seconds\":\"-1\",\"nanos\":-500000000}}") "]" },
    { "only the sampled bit of the flags is kept",
      REQ(SVC, "", SPAN(",\"flags\":769") "," SPAN(",\"flags\":768")),
      "[" BATCH(PSVC, JSPAN(",\"flags\":1") "," JSPAN("")) "]" },
    { "the parent is the first reference, CHILD_OF; links are FOLLOWS_FROM after it",
      REQ(SVC, "", SPAN(",\"parentSpanId\":\"" PID "\",\"links\":[{\"traceId\":\"a1a2a3a4a5a6a7a8a9aaabacadaeafb0\",\"spanId\":\"b1b2b3b4b5b6b7b8\","
                        "\"attributes\":[{\"key\":\"x\",\"value\":{\"intValue\":\"1\"}}]},"
                        "{\"traceId\":\"" TID "\",\"spanId\":\"c1c2c3c4c5c6c7c8\",\"attributes\":[{\"key\":\"opentracing.ref_type\","
                        "\"value\":{\"stringValue\":\"child_of\"}}]},"
                        "{\"traceId\":\"" TID "\",\"spanId\":\"d1d2d3d4d5d6d7d8\",\"attributes\":[{\"key\":\"opentracing.ref_type\","
                        "\"value\":{\"stringValue\":\"follows_from\"}}]}]")),
      "[" BATCH(PSVC, JSPAN(",\"references\":[{\"traceId\":\"" TID "\",\"spanId\":\"" PID "\"},"
                            "{\"traceId\":\"a1a2a3a4a5a6a7a8a9aaabacadaeafb0\",\"spanId\":\"b1b2b3b4b5b6b7b8\",\"refType\":1},"
                            "{\"traceId\":\"" TID "\",\"spanId\":\"c1c2c3c4c5c6c7c8\"},"
                            "{\"traceId\":\"" TID "\",\"spanId\":\"d1d2d3d4d5d6d7d8\",\"refType\":1}]")) "]" },
    { "a link to the parent only sets the parent reference's type; a zero parent is no parent",
      REQ(SVC, "", SPAN(",\"parentSpanId\":\"" PID "\",\"links\":[{\"traceId\":\"" TID "\",\"spanId\":\"" PID "\"}]") ","
                   SPAN(",\"parentSpanId\":\"0000000000000000\"")),
      "[" BATCH(PSVC, JSPAN(",\"references\":[{\"traceId\":\"" TID "\",\"spanId\":\"" PID "\",\"refType\":1}]") "," JSPAN("")) "]" },
    { "tag order: scope, attributes, kind, status code, error, description, tracestate, dropped counts",
      REQ(SVC, "\"scope\":{\"name\":\"lib\",\"version\":\"1.2\"},",
          SPAN(",\"traceState\":\"k=v\",\"kind\":2,\"attributes\":[{\"key\":\"a\",\"value\":{\"stringValue\":\"1\"}},"
               "{\"key\":\"n\",\"value\":{\"intValue\":\"2\"}}],\"droppedAttributesCount\":3,\"droppedEventsCount\":4,"
               "\"droppedLinksCount\":5,\"status\":{\"code\":2,\"message\":\"boom\"}")),
      "[" BATCH(PSVC, JSPAN(",\"tags\":[" STR("otel.scope.name", "lib") "," STR("otel.scope.version", "1.2") "," STR("a", "1") ","
                            "{\"key\":\"n\",\"vType\":2,\"vInt64\":\"2\"}," STR("span.kind", "server") ","
                            STR("otel.status_code", "ERROR") ",{\"key\":\"error\",\"vType\":1,\"vBool\":true},"
                            STR("otel.status_description", "boom") "," STR("w3c.tracestate", "k=v") ","
                            "{\"key\":\"otel.dropped_attributes_count\",\"vType\":2,\"vInt64\":\"3\"},"
                            "{\"key\":\"otel.dropped_events_count\",\"vType\":2,\"vInt64\":\"4\"},"
                            "{\"key\":\"otel.dropped_links_count\",\"vType\":2,\"vInt64\":\"5\"}]")) "]" },
    { "a scope with a name only; status OK; a message with status UNSET still becomes a tag",
      REQ(SVC, "\"scope\":{\"name\":\"lib\"},", SPAN(",\"status\":{\"code\":1}") "," SPAN(",\"status\":{\"message\":\"m\"}")),
      "[" BATCH(PSVC, JSPAN(",\"tags\":[" STR("otel.scope.name", "lib") "," STR("otel.status_code", "OK") "]") ","
                      JSPAN(",\"tags\":[" STR("otel.scope.name", "lib") "," STR("otel.status_description", "m") "]")) "]" },
    { "every kind but UNSPECIFIED becomes span.kind",
      REQ(SVC, "", SPAN(",\"kind\":0") "," SPAN(",\"kind\":1") "," SPAN(",\"kind\":2") "," SPAN(",\"kind\":3") ","
                   SPAN(",\"kind\":4") "," SPAN(",\"kind\":5")),
      "[" BATCH(PSVC, JSPAN("") "," JSPAN(",\"tags\":[" STR("span.kind", "internal") "]") ","
                      JSPAN(",\"tags\":[" STR("span.kind", "server") "]") "," JSPAN(",\"tags\":[" STR("span.kind", "client") "]") ","
                      JSPAN(",\"tags\":[" STR("span.kind", "producer") "]") "," JSPAN(",\"tags\":[" STR("span.kind", "consumer") "]")) "]" },
    { "events become logs: the name as the event field first, unless an event attribute is there",
      REQ(SVC, "", SPAN(",\"events\":[{\"timeUnixNano\":\"1500000000\",\"name\":\"e1\",\"attributes\":[{\"key\":\"k\",\"value\":{\"doubleValue\":1.5}}]},"
                        "{\"timeUnixNano\":\"2000000000\",\"name\":\"ignored\",\"attributes\":[{\"key\":\"x\",\"value\":{\"boolValue\":false}},"
                        "{\"key\":\"event\",\"value\":{\"stringValue\":\"wins\"}}]},{\"timeUnixNano\":\"3\"}]")),
      "[" BATCH(PSVC, JSPAN(",\"logs\":[{\"timestamp\":{\"seconds\":\"1\",\"nanos\":500000000},\"fields\":[" STR("event", "e1") ","
                            "{\"key\":\"k\",\"vType\":3,\"vFloat64\":1.5}]},"
                            "{\"timestamp\":{\"seconds\":\"2\"},\"fields\":[{\"key\":\"x\",\"vType\":1}," STR("event", "wins") "]},"
                            "{\"timestamp\":{\"nanos\":3}}]")) "]" },
    { "two resources give two batches; spans of several scopes share their resource's batch",
      "{\"resourceSpans\":[{\"resource\":{\"attributes\":[" SVC "]},\"scopeSpans\":[{\"scope\":{\"name\":\"a\"},\"spans\":[" SPAN("") "]},"
      "{\"scope\":{\"name\":\"b\"},\"spans\":[" SPAN("") "]}]},"
      "{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{\"stringValue\":\"other\"}}]},\"scopeSpans\":[{\"spans\":[" SPAN("") "]}]}]}",
      "[" BATCH(PSVC, JSPAN(",\"tags\":[" STR("otel.scope.name", "a") "]") "," JSPAN(",\"tags\":[" STR("otel.scope.name", "b") "]")) ","
          BATCH("{\"serviceName\":\"other\"}", JSPAN("")) "]" },
};

static void run_case(const struct golden *g)
{
    struct oca_arena *a = oca_arena_new(4096);
    ProtobufCMessage *req = NULL;
    char err[256] = "";
    if (oca_otlp_json_decode(&opentelemetry__proto__collector__trace__v1__export_trace_service_request__descriptor, g->otlp,
                             strlen(g->otlp), a, &req, err, sizeof(err)) != OCA_OK)
        fail_msg("%s: the OTLP request does not decode: %s", g->name, err);
    Jaeger__ApiV2__Batch **batches;
    size_t n = oca_jaeger_translate((const oca_traces_req *)req, a, &batches);
    struct oca_buf got = { 0 };
    oca_buf_putc(&got, '[');
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            oca_buf_putc(&got, ',');
        oca_otlp_json_encode(&batches[i]->base, &got);
        /* The batch must be valid protobuf inside the request the exporter sends. */
        Jaeger__ApiV2__PostSpansRequest psr = JAEGER__API_V2__POST_SPANS_REQUEST__INIT;
        psr.batch = batches[i];
        size_t len = jaeger__api_v2__post_spans_request__get_packed_size(&psr);
        uint8_t *wire = malloc(len + 1);
        jaeger__api_v2__post_spans_request__pack(&psr, wire);
        Jaeger__ApiV2__PostSpansRequest *back = jaeger__api_v2__post_spans_request__unpack(NULL, len, wire);
        assert_non_null(back);
        assert_non_null(back->batch);
        assert_int_equal(back->batch->n_spans, batches[i]->n_spans);
        jaeger__api_v2__post_spans_request__free_unpacked(back, NULL);
        free(wire);
    }
    oca_buf_putc(&got, ']');
    struct json_object *want = json_tokener_parse(g->jaeger), *have = json_tokener_parse(got.data);
    if (!want)
        fail_msg("%s: the expected Jaeger JSON is not JSON", g->name);
    if (!have)
        fail_msg("%s: the output is not JSON: %s", g->name, got.data);
    if (!json_object_equal(want, have))
        fail_msg("%s:\n got  %s\n want %s", g->name, got.data, json_object_to_json_string(want));
    json_object_put(want);
    json_object_put(have);
    oca_buf_free(&got);
    oca_arena_destroy(a);
}

static void test_golden_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        run_case(&table[i]);
}

/* Ids of the wrong size (possible only from code, the receivers check them) become zero ids of the
 * sizes Jaeger's model always writes, and a NULL request gives nothing. */
static void test_odd_ids_and_null(void **state)
{
    (void)state;
    struct oca_arena *a = oca_arena_new(1024);
    Jaeger__ApiV2__Batch **batches;
    assert_int_equal(oca_jaeger_translate(NULL, a, &batches), 0);
    Opentelemetry__Proto__Trace__V1__Span span;
    opentelemetry__proto__trace__v1__span__init(&span);
    uint8_t three[3] = { 1, 2, 3 };
    span.trace_id = (ProtobufCBinaryData){ 3, three };
    Opentelemetry__Proto__Trace__V1__Span *spans[] = { &span };
    Opentelemetry__Proto__Trace__V1__ScopeSpans ss;
    opentelemetry__proto__trace__v1__scope_spans__init(&ss);
    ss.n_spans = 1;
    ss.spans = spans;
    Opentelemetry__Proto__Trace__V1__ScopeSpans *sss[] = { &ss };
    Opentelemetry__Proto__Trace__V1__ResourceSpans rs;
    opentelemetry__proto__trace__v1__resource_spans__init(&rs);
    rs.n_scope_spans = 1;
    rs.scope_spans = sss;
    Opentelemetry__Proto__Trace__V1__ResourceSpans *rss[] = { &rs };
    oca_traces_req req;
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__init(&req);
    req.n_resource_spans = 1;
    req.resource_spans = rss;
    assert_int_equal(oca_jaeger_translate(&req, a, &batches), 1);
    const Jaeger__ApiV2__Span *js = batches[0]->spans[0];
    static const uint8_t zero[16];
    assert_int_equal(js->trace_id.len, 16);
    assert_memory_equal(js->trace_id.data, zero, 16);
    assert_int_equal(js->span_id.len, 8);
    assert_memory_equal(js->span_id.data, zero, 8);
    assert_string_equal(batches[0]->process->service_name, OCA_JAEGER_NO_SERVICE_NAME);
    oca_arena_destroy(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_table),
        cmocka_unit_test(test_odd_ids_and_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
