/* Tests receivers/opencensus/translate.c with a golden table: one OpenCensus request per feature
 * (written as JSON through codec/otlp_json.c, ids in hex) and the OTLP request it must become,
 * compared as JSON values, so a field mapped wrongly, lost or added fails the case. */
#include "testutil.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/errors.h"
#include "codec/otlp_json.h"
#include "receivers/opencensus/translate.h"

struct golden {
    const char *name;
    enum oca_signal sig;
    const char *oc;             /* the OpenCensus request */
    const char *otlp;           /* the OTLP request expected */
    uint64_t dropped;
};

#define NODE "\"node\":{\"identifier\":{\"hostName\":\"h1\",\"pid\":42,\"startTimestamp\":{\"seconds\":1700000000,\"nanos\":120000000}}," \
             "\"libraryInfo\":{\"language\":\"GO_LANG\",\"exporterVersion\":\"0.1.11\",\"coreLibraryVersion\":\"0.22.0\"}," \
             "\"serviceInfo\":{\"name\":\"svc\"},\"attributes\":{\"a\":\"b\"}}"
#define NODE_ATTRS "{\"key\":\"a\",\"value\":{\"stringValue\":\"b\"}},{\"key\":\"service.name\",\"value\":{\"stringValue\":\"svc\"}}," \
                   "{\"key\":\"opencensus.starttime\",\"value\":{\"stringValue\":\"2023-11-14T22:13:20.12Z\"}}," \
                   "{\"key\":\"host.name\",\"value\":{\"stringValue\":\"h1\"}},{\"key\":\"process.pid\",\"value\":{\"intValue\":\"42\"}}," \
                   "{\"key\":\"telemetry.sdk.version\",\"value\":{\"stringValue\":\"0.22.0\"}}," \
                   "{\"key\":\"opencensus.exporterversion\",\"value\":{\"stringValue\":\"0.1.11\"}}," \
                   "{\"key\":\"telemetry.sdk.language\",\"value\":{\"stringValue\":\"go\"}}"
#define TID "\"traceId\":\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":\"0102030405060708\""
#define SPAN_HEAD TID ",\"name\":{\"value\":\"op\"}"
#define RS(attrs, spans) "{\"resource\":{\"attributes\":[" attrs "]},\"scopeSpans\":[{\"spans\":[" spans "]}]}"
#define RM(attrs, metrics) "{\"resource\":{\"attributes\":[" attrs "]},\"scopeMetrics\":[{\"metrics\":[" metrics "]}]}"
#define RS0(spans) "{\"resource\":{},\"scopeSpans\":[{\"spans\":[" spans "]}]}"
#define RM0(metrics) "{\"resource\":{},\"scopeMetrics\":[{\"metrics\":[" metrics "]}]}"
#define OSPAN(extra) "{" TID ",\"name\":\"op\"" extra "}"

static const struct golden table[] = {
    { "node and resource become resource attributes", OCA_SIGNAL_TRACES,
      "{" NODE ",\"resource\":{\"type\":\"k8s\",\"labels\":{\"l\":\"v\",\"cloud.zone\":\"z1\"}},\"spans\":[{" SPAN_HEAD "}]}",
      "{\"resourceSpans\":[" RS("{\"key\":\"l\",\"value\":{\"stringValue\":\"v\"}},"
                               "{\"key\":\"cloud.availability_zone\",\"value\":{\"stringValue\":\"z1\"}}," NODE_ATTRS ","
                               "{\"key\":\"opencensus.resourcetype\",\"value\":{\"stringValue\":\"k8s\"}}", OSPAN("")) "]}", 0 },
    { "a span with its own resource gets its own ResourceSpans", OCA_SIGNAL_TRACES,
      "{\"node\":{\"serviceInfo\":{\"name\":\"svc\"}},\"spans\":[{" SPAN_HEAD "},{" SPAN_HEAD ",\"resource\":{\"labels\":{\"x\":\"y\"}}}]}",
      "{\"resourceSpans\":[" RS("{\"key\":\"service.name\",\"value\":{\"stringValue\":\"svc\"}}", OSPAN("")) ","
      RS("{\"key\":\"x\",\"value\":{\"stringValue\":\"y\"}},{\"key\":\"service.name\",\"value\":{\"stringValue\":\"svc\"}}", OSPAN("")) "]}", 0 },
    { "ids are padded or truncated; parent id and tracestate", OCA_SIGNAL_TRACES,
      "{\"spans\":[{\"traceId\":\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":\"0102030405060708\","
      "\"parentSpanId\":\"0a0b0c0d0e0f1011\",\"tracestate\":{\"entries\":[{\"key\":\"k1\",\"value\":\"v1\"},{\"key\":\"k2\",\"value\":\"v2\"}]},"
      "\"name\":{\"value\":\"op\"}}]}",
      "{\"resourceSpans\":[" RS0(OSPAN(",\"parentSpanId\":\"0a0b0c0d0e0f1011\",\"traceState\":\"k1=v1,k2=v2\"")) "]}", 0 },
    { "kind: SERVER, CLIENT, and span.kind for the others", OCA_SIGNAL_TRACES,
      "{\"spans\":[{" SPAN_HEAD ",\"kind\":\"SERVER\"},{" SPAN_HEAD ",\"kind\":\"CLIENT\"},"
      "{" SPAN_HEAD ",\"attributes\":{\"attributeMap\":{\"span.kind\":{\"stringValue\":{\"value\":\"producer\"}}}}},"
      "{" SPAN_HEAD ",\"attributes\":{\"attributeMap\":{\"span.kind\":{\"stringValue\":{\"value\":\"server\"}}}}},"
      "{" SPAN_HEAD ",\"attributes\":{\"attributeMap\":{\"span.kind\":{\"stringValue\":{\"value\":\"weird\"}}}}}]}",
      "{\"resourceSpans\":[" RS0(OSPAN(",\"kind\":2") "," OSPAN(",\"kind\":3") "," OSPAN(",\"kind\":4") ","
                                     OSPAN(",\"kind\":2") ","
                                     OSPAN(",\"attributes\":[{\"key\":\"span.kind\",\"value\":{\"stringValue\":\"weird\"}}]")) "]}", 0 },
    { "times, typed attributes and dropped counts", OCA_SIGNAL_TRACES,
      "{\"spans\":[{" SPAN_HEAD ",\"startTime\":{\"seconds\":10,\"nanos\":5},\"endTime\":{\"seconds\":11},"
      "\"attributes\":{\"attributeMap\":{\"s\":{\"stringValue\":{\"value\":\"x\"}},\"i\":{\"intValue\":\"-9223372036854775808\"},"
      "\"b\":{\"boolValue\":true},\"d\":{\"doubleValue\":1.5}},\"droppedAttributesCount\":3}}]}",
      "{\"resourceSpans\":[" RS0(OSPAN(",\"startTimeUnixNano\":\"10000000005\",\"endTimeUnixNano\":\"11000000000\","
                                          "\"attributes\":[{\"key\":\"s\",\"value\":{\"stringValue\":\"x\"}},"
                                          "{\"key\":\"i\",\"value\":{\"intValue\":\"-9223372036854775808\"}},"
                                          "{\"key\":\"b\",\"value\":{\"boolValue\":true}},{\"key\":\"d\",\"value\":{\"doubleValue\":1.5}}],"
                                          "\"droppedAttributesCount\":3")) "]}", 0 },
    { "annotations and message events become events", OCA_SIGNAL_TRACES,
      "{\"spans\":[{" SPAN_HEAD ",\"timeEvents\":{\"timeEvent\":[{\"time\":{\"seconds\":1},\"annotation\":{\"description\":{\"value\":\"note\"},"
      "\"attributes\":{\"attributeMap\":{\"k\":{\"intValue\":\"7\"}},\"droppedAttributesCount\":1}}},"
      "{\"time\":{\"seconds\":2},\"messageEvent\":{\"type\":\"SENT\",\"id\":\"5\",\"uncompressedSize\":\"100\",\"compressedSize\":\"40\"}}],"
      "\"droppedAnnotationsCount\":2,\"droppedMessageEventsCount\":1}}]}",
      "{\"resourceSpans\":[" RS0(OSPAN(",\"events\":[{\"timeUnixNano\":\"1000000000\",\"name\":\"note\","
                                          "\"attributes\":[{\"key\":\"k\",\"value\":{\"intValue\":\"7\"}}],\"droppedAttributesCount\":1},"
                                          "{\"timeUnixNano\":\"2000000000\",\"name\":\"message\",\"attributes\":["
                                          "{\"key\":\"message.type\",\"value\":{\"stringValue\":\"SENT\"}},"
                                          "{\"key\":\"messaging.message_id\",\"value\":{\"intValue\":\"5\"}},"
                                          "{\"key\":\"messaging.message_payload_size_bytes\",\"value\":{\"intValue\":\"100\"}},"
                                          "{\"key\":\"messaging.message_payload_compressed_size_bytes\",\"value\":{\"intValue\":\"40\"}}]}],"
                                          "\"droppedEventsCount\":3")) "]}", 0 },
    { "links", OCA_SIGNAL_TRACES,
      "{\"spans\":[{" SPAN_HEAD ",\"links\":{\"link\":[{\"traceId\":\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":\"1112131415161718\","
      "\"type\":\"PARENT_LINKED_SPAN\",\"tracestate\":{\"entries\":[{\"key\":\"a\",\"value\":\"b\"}]},"
      "\"attributes\":{\"attributeMap\":{\"x\":{\"boolValue\":false}}}}],\"droppedLinksCount\":4}}]}",
      "{\"resourceSpans\":[" RS0(OSPAN(",\"links\":[{\"traceId\":\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":\"1112131415161718\","
                                          "\"traceState\":\"a=b\",\"attributes\":[{\"key\":\"x\",\"value\":{\"boolValue\":false}}]}],"
                                          "\"droppedLinksCount\":4")) "]}", 0 },
    { "status: 0 is UNSET, others ERROR with the message", OCA_SIGNAL_TRACES,
      "{\"spans\":[{" SPAN_HEAD ",\"status\":{\"code\":0}},{" SPAN_HEAD ",\"status\":{\"code\":5,\"message\":\"not found\"}}]}",
      "{\"resourceSpans\":[" RS0(OSPAN(",\"status\":{}") "," OSPAN(",\"status\":{\"message\":\"not found\",\"code\":2}")) "]}", 0 },
    { "same_process_as_parent_span and child_span_count", OCA_SIGNAL_TRACES,
      "{\"spans\":[{" SPAN_HEAD ",\"sameProcessAsParentSpan\":{\"value\":false},\"childSpanCount\":{\"value\":3}}]}",
      "{\"resourceSpans\":[" RS0(OSPAN(",\"attributes\":[{\"key\":\"opencensus.same_process_as_parent_span\",\"value\":{\"boolValue\":false}},"
                                          "{\"key\":\"opencensus.child_span_count\",\"value\":{\"intValue\":\"3\"}}]")) "]}", 0 },
    { "a request without spans is empty", OCA_SIGNAL_TRACES, "{" NODE "}", "{}", 0 },
    { "gauges and cumulative sums, label values without has_value skipped", OCA_SIGNAL_METRICS,
      "{\"metrics\":[{\"metricDescriptor\":{\"name\":\"g\",\"description\":\"d\",\"unit\":\"1\",\"type\":\"GAUGE_INT64\","
      "\"labelKeys\":[{\"key\":\"k1\"},{\"key\":\"k2\"}]},\"timeseries\":[{\"startTimestamp\":{\"seconds\":1},"
      "\"labelValues\":[{\"value\":\"v1\",\"hasValue\":true},{\"value\":\"\",\"hasValue\":false}],"
      "\"points\":[{\"timestamp\":{\"seconds\":2},\"int64Value\":\"-5\"}]}]},"
      "{\"metricDescriptor\":{\"name\":\"gd\",\"type\":\"GAUGE_DOUBLE\"},\"timeseries\":[{\"points\":[{\"timestamp\":{\"seconds\":2},\"doubleValue\":2.5}]}]},"
      "{\"metricDescriptor\":{\"name\":\"c\",\"type\":\"CUMULATIVE_INT64\"},\"timeseries\":[{\"startTimestamp\":{\"seconds\":1},"
      "\"points\":[{\"timestamp\":{\"seconds\":3},\"int64Value\":\"9\"}]}]},"
      "{\"metricDescriptor\":{\"name\":\"cd\",\"type\":\"CUMULATIVE_DOUBLE\"},\"timeseries\":[{\"points\":[{\"timestamp\":{\"seconds\":3},\"doubleValue\":0.25}]}]}]}",
      "{\"resourceMetrics\":[" RM0(
          "{\"name\":\"g\",\"description\":\"d\",\"unit\":\"1\",\"gauge\":{\"dataPoints\":[{\"attributes\":[{\"key\":\"k1\",\"value\":{\"stringValue\":\"v1\"}}],"
          "\"startTimeUnixNano\":\"1000000000\",\"timeUnixNano\":\"2000000000\",\"asInt\":\"-5\"}]}},"
          "{\"name\":\"gd\",\"gauge\":{\"dataPoints\":[{\"timeUnixNano\":\"2000000000\",\"asDouble\":2.5}]}},"
          "{\"name\":\"c\",\"sum\":{\"dataPoints\":[{\"startTimeUnixNano\":\"1000000000\",\"timeUnixNano\":\"3000000000\",\"asInt\":\"9\"}],"
          "\"aggregationTemporality\":2,\"isMonotonic\":true}},"
          "{\"name\":\"cd\",\"sum\":{\"dataPoints\":[{\"timeUnixNano\":\"3000000000\",\"asDouble\":0.25}],\"aggregationTemporality\":2,\"isMonotonic\":true}}") "]}", 0 },
    { "cumulative distribution: histogram with bounds and exemplars", OCA_SIGNAL_METRICS,
      "{\"metrics\":[{\"metricDescriptor\":{\"name\":\"h\",\"type\":\"CUMULATIVE_DISTRIBUTION\"},\"timeseries\":[{\"startTimestamp\":{\"seconds\":1},"
      "\"points\":[{\"timestamp\":{\"seconds\":2},\"distributionValue\":{\"count\":\"3\",\"sum\":6.5,"
      "\"bucketOptions\":{\"explicit\":{\"bounds\":[1,5]}},\"buckets\":[{\"count\":\"1\"},{\"count\":\"1\",\"exemplar\":{\"value\":2.5,"
      "\"timestamp\":{\"seconds\":2},\"attachments\":{\"a\":\"b\"}}},{\"count\":\"1\"}]}}]}]}]}",
      "{\"resourceMetrics\":[" RM0(
          "{\"name\":\"h\",\"histogram\":{\"dataPoints\":[{\"startTimeUnixNano\":\"1000000000\",\"timeUnixNano\":\"2000000000\",\"count\":\"3\","
          "\"sum\":6.5,\"bucketCounts\":[\"1\",\"1\",\"1\"],\"explicitBounds\":[1,5],\"exemplars\":[{\"filteredAttributes\":"
          "[{\"key\":\"a\",\"value\":{\"stringValue\":\"b\"}}],\"timeUnixNano\":\"2000000000\",\"asDouble\":2.5}]}],\"aggregationTemporality\":2}}") "]}", 0 },
    { "summary", OCA_SIGNAL_METRICS,
      "{\"metrics\":[{\"metricDescriptor\":{\"name\":\"s\",\"type\":\"SUMMARY\"},\"timeseries\":[{\"points\":[{\"timestamp\":{\"seconds\":2},"
      "\"summaryValue\":{\"count\":{\"value\":\"10\"},\"sum\":{\"value\":55},\"snapshot\":{\"percentileValues\":[{\"percentile\":50,\"value\":5},"
      "{\"percentile\":99,\"value\":9.9}]}}}]}]}]}",
      "{\"resourceMetrics\":[" RM0(
          "{\"name\":\"s\",\"summary\":{\"dataPoints\":[{\"timeUnixNano\":\"2000000000\",\"count\":\"10\",\"sum\":55,"
          "\"quantileValues\":[{\"quantile\":0.5,\"value\":5},{\"quantile\":0.99,\"value\":9.9}]}]}}") "]}", 0 },
    { "unmappable metrics and points are dropped and counted", OCA_SIGNAL_METRICS,
      "{\"metrics\":[{\"metricDescriptor\":{\"name\":\"gdist\",\"type\":\"GAUGE_DISTRIBUTION\"},\"timeseries\":[{\"points\":[{\"distributionValue\":{}},{\"distributionValue\":{}}]}]},"
      "{\"metricDescriptor\":{\"name\":\"g\",\"type\":\"GAUGE_INT64\"},\"timeseries\":[{\"points\":[{\"int64Value\":\"1\"},{\"doubleValue\":1}]}]}]}",
      "{\"resourceMetrics\":[" RM0( "{\"name\":\"g\",\"gauge\":{\"dataPoints\":[{\"asInt\":\"1\"}]}}") "]}", 3 },
    { "a metric with its own resource gets its own ResourceMetrics", OCA_SIGNAL_METRICS,
      "{\"resource\":{\"labels\":{\"r\":\"1\"}},\"metrics\":[{\"metricDescriptor\":{\"name\":\"a\",\"type\":\"GAUGE_INT64\"},\"timeseries\":[{\"points\":[{\"int64Value\":\"1\"}]}]},"
      "{\"metricDescriptor\":{\"name\":\"b\",\"type\":\"GAUGE_INT64\"},\"resource\":{\"labels\":{\"r\":\"2\"}},\"timeseries\":[{\"points\":[{\"int64Value\":\"2\"}]}]}]}",
      "{\"resourceMetrics\":[" RM("{\"key\":\"r\",\"value\":{\"stringValue\":\"1\"}}", "{\"name\":\"a\",\"gauge\":{\"dataPoints\":[{\"asInt\":\"1\"}]}}") ","
      RM("{\"key\":\"r\",\"value\":{\"stringValue\":\"2\"}}", "{\"name\":\"b\",\"gauge\":{\"dataPoints\":[{\"asInt\":\"2\"}]}}") "]}", 0 },
};

static const ProtobufCMessageDescriptor *oc_desc(enum oca_signal sig)
{
    return sig == OCA_SIGNAL_TRACES ? &opencensus__proto__agent__trace__v1__export_trace_service_request__descriptor
                                    : &opencensus__proto__agent__metrics__v1__export_metrics_service_request__descriptor;
}

static void run_case(const struct golden *g)
{
    struct oca_arena *a = oca_arena_new(4096);
    ProtobufCMessage *req = NULL;
    char err[256] = "";
    if (oca_otlp_json_decode(oc_desc(g->sig), g->oc, strlen(g->oc), a, &req, err, sizeof(err)) != OCA_OK)
        fail_msg("%s: the OpenCensus request does not decode: %s", g->name, err);
    struct oca_opencensus_drops drops = { 0, NULL };
    ProtobufCMessage *out;
    if (g->sig == OCA_SIGNAL_TRACES) {
        Opencensus__Proto__Agent__Trace__V1__ExportTraceServiceRequest *r = (void *)req;
        out = &oca_opencensus_traces(r, r->node, r->resource, a, &drops)->base;
    } else {
        Opencensus__Proto__Agent__Metrics__V1__ExportMetricsServiceRequest *r = (void *)req;
        out = &oca_opencensus_metrics(r, r->node, r->resource, a, &drops)->base;
    }
    /* What comes out must also be valid OTLP protobuf. */
    size_t n = protobuf_c_message_get_packed_size(out);
    uint8_t *wire = malloc(n + 1);
    protobuf_c_message_pack(out, wire);
    ProtobufCMessage *back = protobuf_c_message_unpack(out->descriptor, NULL, n, wire);
    assert_non_null(back);
    protobuf_c_message_free_unpacked(back, NULL);
    free(wire);
    struct oca_buf got = { 0 };
    oca_otlp_json_encode(out, &got);
    struct json_object *want = json_tokener_parse(g->otlp), *have = json_tokener_parse(got.data ? got.data : "{}");
    if (!want)
        fail_msg("%s: the expected OTLP is not JSON", g->name);
    if (!json_object_equal(want, have))
        fail_msg("%s:\n got  %s\n want %s", g->name, got.data, json_object_to_json_string(want));
    assert_int_equal(drops.items, g->dropped);
    if (g->dropped)
        assert_non_null(drops.reason);
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

/* Inheritance is the receiver's business: the translator takes the node and resource it is given
 * instead of the request's own. */
static void test_node_and_resource_given_by_the_caller(void **state)
{
    (void)state;
    struct oca_arena *a = oca_arena_new(1024);
    Opencensus__Proto__Agent__Common__V1__Node node;
    opencensus__proto__agent__common__v1__node__init(&node);
    Opencensus__Proto__Agent__Common__V1__ServiceInfo si;
    opencensus__proto__agent__common__v1__service_info__init(&si);
    char name[] = "inherited";
    si.name = name;
    node.service_info = &si;
    Opencensus__Proto__Trace__V1__Span span;
    opencensus__proto__trace__v1__span__init(&span);
    uint8_t tid[20] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20 }, sid[3] = { 7, 8, 9 };
    span.trace_id = (ProtobufCBinaryData){ sizeof(tid), tid };
    span.span_id = (ProtobufCBinaryData){ sizeof(sid), sid };
    Opencensus__Proto__Trace__V1__Span *spans[] = { &span };
    Opencensus__Proto__Agent__Trace__V1__ExportTraceServiceRequest req;
    opencensus__proto__agent__trace__v1__export_trace_service_request__init(&req);
    req.n_spans = 1;
    req.spans = spans;
    oca_traces_req *out = oca_opencensus_traces(&req, &node, NULL, a, NULL);
    assert_int_equal(out->n_resource_spans, 1);
    const Opentelemetry__Proto__Resource__V1__Resource *r = out->resource_spans[0]->resource;
    assert_int_equal(r->n_attributes, 1);
    assert_string_equal(r->attributes[0]->value->string_value, "inherited");
    const Opentelemetry__Proto__Trace__V1__Span *s = out->resource_spans[0]->scope_spans[0]->spans[0];
    assert_int_equal(s->trace_id.len, 16);
    assert_memory_equal(s->trace_id.data, tid, 16);
    uint8_t padded[8] = { 7, 8, 9 };
    assert_int_equal(s->span_id.len, 8);
    assert_memory_equal(s->span_id.data, padded, 8);
    oca_arena_destroy(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_table),
        cmocka_unit_test(test_node_and_resource_given_by_the_caller),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
