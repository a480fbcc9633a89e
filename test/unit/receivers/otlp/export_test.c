/* Tests of receivers/otlp/export.c without sockets: decoding charges the budget with what the
 * batch's arena really holds and gives it back on unref; refusals before decoding (retryable when
 * the budget is only busy, permanent when it could never fit); bad data; the pipeline's refusals
 * mapped to statuses; and the encoded answers (empty and partial-success responses in protobuf and
 * JSON, google.rpc.Status with a RetryInfo detail). */
#include "harness.h"

#include "codec/otlp_json.h"
#include "google/rpc/error_details.pb-c.h"
#include "google/rpc/status.pb-c.h"

static const char traces_json[] =
    "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"name\":\"a\"},{\"name\":\"b\"}]}]}]}";

static int reset(void **state)
{
    (void)state;
    oca_budget_reset_stats();
    return 0;
}

static int check_budget(void **state)
{
    (void)state;
    assert_int_equal(oca_budget_used(), 0);
    return 0;
}

static void test_decode_charges_the_arena(void **state)
{
    (void)state;
    struct oca_batch *b;
    struct oca_otlp_result res;
    struct oca_otlp_from from = { "10.0.0.1:999", NULL, true };
    assert_int_equal(oca_otlp_decode(OCA_SIGNAL_TRACES, OCA_ENCODING_JSON, (const uint8_t *)traces_json,
                                     strlen(traces_json), 0, &from, &b, &res), OCA_OK);
    assert_int_equal(res.err, OCA_OK);
    assert_int_equal(b->items, 2);
    assert_string_equal(b->client.addr, "10.0.0.1:999");
    assert_int_equal(b->charged, oca_arena_reserved(b->arena));
    assert_int_equal(oca_budget_used(), b->charged);
    /* The estimate taken before decoding was at least what the arena ended with. */
    assert_true(oca_budget_peak() >= b->charged);
    oca_batch_ref(b);
    oca_batch_unref(b);
    assert_int_equal(oca_budget_used(), b->charged);
    oca_batch_unref(b);
    assert_int_equal(oca_budget_used(), 0);
}

static void test_decode_refusals(void **state)
{
    (void)state;
    struct oca_batch *b;
    struct oca_otlp_result res;
    size_t len = strlen(traces_json);
    oca_budget_set_limit(oca_budget_request_need(len) - 1);
    assert_int_equal(oca_otlp_decode(OCA_SIGNAL_TRACES, OCA_ENCODING_JSON, (const uint8_t *)traces_json, len, 0,
                                     NULL, &b, &res), OCA_ERR_TOO_LARGE);
    assert_null(b);
    assert_int_equal(oca_otlp_http_status(&res), 413);
    assert_int_equal(oca_otlp_grpc_status(&res), OCA_GRPC_RESOURCE_EXHAUSTED);
    assert_false(oca_otlp_retryable(&res));
    assert_non_null(strstr(res.message, "whole memory budget"));

    /* Room for the request, but not while others hold most of the budget. */
    size_t limit = 64 << 10;
    oca_budget_set_limit(limit);
    oca_budget_force(limit - oca_budget_request_need(len) + 1);
    assert_int_equal(oca_otlp_decode(OCA_SIGNAL_TRACES, OCA_ENCODING_JSON, (const uint8_t *)traces_json, len, 0,
                                     NULL, &b, &res), OCA_ERR_MEMORY_LIMIT);
    assert_int_equal(oca_otlp_http_status(&res), 503);
    assert_int_equal(oca_otlp_grpc_status(&res), OCA_GRPC_UNAVAILABLE);
    assert_true(oca_otlp_retryable(&res));
    assert_int_equal(oca_budget_used(), limit - oca_budget_request_need(len) + 1);
    oca_budget_release(limit - oca_budget_request_need(len) + 1);
    assert_int_equal(oca_otlp_decode(OCA_SIGNAL_TRACES, OCA_ENCODING_JSON, (const uint8_t *)traces_json, len, 0,
                                     NULL, &b, &res), OCA_OK);
    oca_batch_unref(b);
}

/* Protobuf that expands many times when decoded (each empty ResourceSpans is 2 bytes on the wire
 * and a struct plus a pointer in memory) is stopped by the budget while it decodes. */
static void test_protobuf_expansion_is_stopped_while_decoding(void **state)
{
    (void)state;
    size_t n = 100000, len = 2 * n;
    uint8_t *wire = malloc(len);
    for (size_t i = 0; i < n; i++) {
        wire[2 * i] = 0x0a;
        wire[2 * i + 1] = 0x00;
    }
    struct oca_batch *b;
    struct oca_otlp_result res;
    assert_int_equal(oca_otlp_decode(OCA_SIGNAL_TRACES, OCA_ENCODING_PROTO, wire, len, 0, NULL, &b, &res), OCA_OK);
    assert_int_equal(b->traces->n_resource_spans, n);
    assert_true(b->charged > 10 * len);                     /* it did expand */
    assert_int_equal(b->charged, oca_arena_reserved(b->arena));
    size_t expanded = b->charged;
    oca_batch_unref(b);

    /* A budget that could hold the wire bytes four times over, not their decoding: the decoder
     * stops near the limit, never far past it (one arena chunk at most), and it is permanent. */
    size_t limit = (size_t)oca_budget_request_need(len);
    assert_true(limit < expanded);
    oca_budget_reset_stats();
    oca_budget_set_limit(limit);
    assert_int_equal(oca_otlp_decode(OCA_SIGNAL_TRACES, OCA_ENCODING_PROTO, wire, len, 0, NULL, &b, &res),
                     OCA_ERR_TOO_LARGE);
    assert_null(b);
    assert_true(oca_budget_peak() <= limit);
    assert_non_null(strstr(res.message, "memory budget"));
    /* With room enough for it alone but others holding some: retryable. */
    oca_budget_set_limit(expanded + len + (1 << 20));
    oca_budget_force(3 << 20);
    assert_int_equal(oca_otlp_decode(OCA_SIGNAL_TRACES, OCA_ENCODING_PROTO, wire, len, 0, NULL, &b, &res),
                     OCA_ERR_MEMORY_LIMIT);
    assert_int_equal(oca_budget_used(), 3 << 20);
    oca_budget_release(3 << 20);
    free(wire);
}

static void test_bad_data(void **state)
{
    (void)state;
    struct oca_batch *b;
    struct oca_otlp_result res;
    static const uint8_t junk[] = { 0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2 };
    assert_int_equal(oca_otlp_decode(OCA_SIGNAL_LOGS, OCA_ENCODING_PROTO, junk, sizeof(junk), 0, NULL, &b, &res),
                     OCA_ERR_DECODE);
    assert_int_equal(oca_otlp_http_status(&res), 400);
    assert_int_equal(oca_otlp_grpc_status(&res), OCA_GRPC_INVALID_ARGUMENT);
    assert_non_null(strstr(res.message, "logs"));
    static const char bad[] = "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"spanId\":\"xyz\"}]}]}]}";
    assert_int_equal(oca_otlp_decode(OCA_SIGNAL_LOGS, OCA_ENCODING_JSON, (const uint8_t *)bad, strlen(bad), 0, NULL,
                                     &b, &res), OCA_ERR_JSON);
    assert_non_null(strstr(res.message, "resourceLogs[0].scopeLogs[0].logRecords[0].spanId"));
    assert_int_equal(oca_otlp_http_status(&res), 400);
}

/* Protobuf ids of the wrong length are bad data, as for the Collector's pdata. */
static void test_protobuf_ids_of_the_wrong_length(void **state)
{
    (void)state;
    static const char *const cases[][3] = {
        { "t", "{\"resourceSpans\":[{\"scopeSpans\":[{},{\"spans\":[{},{\"name\":\"x\",\"links\":[{}]}]}]}]}",
          "resourceSpans[0].scopeSpans[1].spans[1].links[0].spanId: 5 bytes, expected 8 (or none)" },
        { "l", "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{}]}]}]}",
          "resourceLogs[0].scopeLogs[0].logRecords[0].traceId: 5 bytes, expected 16 (or none)" },
        { "m", "{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":[{\"sum\":{\"dataPoints\":[{\"exemplars\":[{}]}]}}]}]}]}",
          "resourceMetrics[0].scopeMetrics[0].metrics[0].sum.dataPoints[0].exemplars[0].spanId: 5 bytes, expected 8 (or none)" },
    };
    static uint8_t five[5] = { 1, 2, 3, 4, 5 };
    for (size_t i = 0; i < 3; i++) {
        enum oca_signal sig = cases[i][0][0] == 't' ? OCA_SIGNAL_TRACES : cases[i][0][0] == 'l' ? OCA_SIGNAL_LOGS
                                                                                               : OCA_SIGNAL_METRICS;
        struct oca_batch *b;
        char detail[256];
        if (oca_batch_decode(sig, OCA_ENCODING_JSON, (const uint8_t *)cases[i][1], strlen(cases[i][1]), &b, detail,
                             sizeof(detail)))
            fail_msg("%s", detail);
        ProtobufCBinaryData bad = { 5, five };
        if (sig == OCA_SIGNAL_TRACES)
            b->traces->resource_spans[0]->scope_spans[1]->spans[1]->links[0]->span_id = bad;
        else if (sig == OCA_SIGNAL_LOGS)
            b->logs->resource_logs[0]->scope_logs[0]->log_records[0]->trace_id = bad;
        else
            b->metrics->resource_metrics[0]->scope_metrics[0]->metrics[0]->sum->data_points[0]->exemplars[0]->span_id = bad;
        size_t len;
        uint8_t *wire = oca_batch_pack(b, &len);
        oca_batch_unref(b);
        struct oca_otlp_result res;
        assert_int_equal(oca_otlp_decode(sig, OCA_ENCODING_PROTO, wire, len, 0, NULL, &b, &res), OCA_ERR_DECODE);
        assert_null(b);
        assert_string_equal(res.message, cases[i][2]);
        assert_int_equal(oca_otlp_http_status(&res), 400);
        free(wire);
    }
}

static int refuse_consume(struct oca_consumer *c, enum oca_signal sig, struct oca_batch *b)
{
    (void)sig; (void)b;
    return ((struct h_fake *)c)->refuse_with;
}

static void keep_result(struct oca_otlp_job *job)
{
    *(struct oca_otlp_result *)job->user = job->res;
}

static void test_pipeline_refusals_map_to_statuses(void **state)
{
    (void)state;
    struct h_fake fake = { .base = { .consume = refuse_consume } };
    struct oca_counters counters;
    memset(&counters, 0, sizeof(counters));
    static const struct oca_component_type receiver = { .name = "otlp", .kind = OCA_RECEIVER };
    struct oca_component comp = { .type = &receiver, .id = "otlp", .counters = &counters };
    comp.next[OCA_SIGNAL_TRACES] = &fake.base;
    struct oca_otlp_result res;
    static const struct { int refusal, err, http, grpc; bool retry; } cases[] = {
        { OCA_OK, OCA_OK, 200, OCA_GRPC_OK, false },
        { OCA_ERR_QUEUE_FULL, OCA_ERR_QUEUE_FULL, 503, OCA_GRPC_UNAVAILABLE, true },
        { OCA_ERR_MEMORY_LIMIT, OCA_ERR_MEMORY_LIMIT, 503, OCA_GRPC_UNAVAILABLE, true },
        { OCA_ERR_THROTTLED, OCA_ERR_THROTTLED, 429, OCA_GRPC_RESOURCE_EXHAUSTED, true },
        { OCA_ERR_SHUTTING_DOWN, OCA_ERR_SHUTTING_DOWN, 503, OCA_GRPC_UNAVAILABLE, true },
        { OCA_ERR_UNSUPPORTED, OCA_ERR_INVALID, 400, OCA_GRPC_INVALID_ARGUMENT, false },
        { OCA_ERR_CONFIG, OCA_ERR_INVALID, 400, OCA_GRPC_INVALID_ARGUMENT, false },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fake.refuse_with = cases[i].refusal;
        /* A component without state: the job runs inline, done before submit returns. */
        struct oca_otlp_job *job = oca_otlp_job_new(&comp, OCA_SIGNAL_TRACES, OCA_ENCODING_JSON, keep_result, &res);
        res.err = -12345;
        oca_otlp_job_submit(job, (const uint8_t *)traces_json, strlen(traces_json), NULL, 0, NULL);
        assert_int_not_equal(res.err, -12345);
        assert_int_equal(res.err, cases[i].err);
        assert_int_equal(oca_otlp_http_status(&res), cases[i].http);
        assert_int_equal(oca_otlp_grpc_status(&res), cases[i].grpc);
        assert_int_equal(oca_otlp_retryable(&res), cases[i].retry);
        if (cases[i].refusal)
            assert_non_null(strstr(res.message, "pipeline refused"));
        assert_int_equal(oca_budget_used(), 0);
    }
    assert_int_equal(counters.items[OCA_EDGE_ACCEPTED][OCA_SIGNAL_TRACES], 2);
    assert_int_equal(counters.items[OCA_EDGE_REFUSED][OCA_SIGNAL_TRACES], 12);
}

static void test_responses(void **state)
{
    (void)state;
    struct oca_otlp_result res = { .err = OCA_OK };
    struct oca_buf out = { 0 };
    for (int sig = 0; sig < OCA_SIGNAL_COUNT; sig++) {
        oca_otlp_encode_response((enum oca_signal)sig, OCA_ENCODING_PROTO, &res, &out);
        assert_int_equal(out.len, 0);
        oca_otlp_encode_response((enum oca_signal)sig, OCA_ENCODING_JSON, &res, &out);
        assert_string_equal(out.data, "{}");
        oca_buf_reset(&out);
    }
    res.rejected = 5;
    snprintf(res.message, sizeof(res.message), "5 spans had no name");
    oca_otlp_encode_response(OCA_SIGNAL_TRACES, OCA_ENCODING_PROTO, &res, &out);
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse *r =
        opentelemetry__proto__collector__trace__v1__export_trace_service_response__unpack(NULL, out.len,
                                                                                          (uint8_t *)out.data);
    assert_non_null(r);
    assert_non_null(r->partial_success);
    assert_int_equal(r->partial_success->rejected_spans, 5);
    assert_string_equal(r->partial_success->error_message, "5 spans had no name");
    opentelemetry__proto__collector__trace__v1__export_trace_service_response__free_unpacked(r, NULL);
    oca_buf_reset(&out);
    oca_otlp_encode_response(OCA_SIGNAL_METRICS, OCA_ENCODING_JSON, &res, &out);
    assert_string_equal(out.data, "{\"partialSuccess\":{\"rejectedDataPoints\":\"5\",\"errorMessage\":\"5 spans had no name\"}}");
    oca_buf_reset(&out);
    oca_otlp_encode_response(OCA_SIGNAL_LOGS, OCA_ENCODING_JSON, &res, &out);
    assert_non_null(strstr(out.data, "\"rejectedLogRecords\":\"5\""));
    oca_buf_free(&out);
}

static void test_status_with_retry_info(void **state)
{
    (void)state;
    struct oca_otlp_result res;
    oca_otlp_result_set(&res, OCA_ERR_MEMORY_LIMIT, "memory budget exhausted");
    struct oca_buf out = { 0 };
    oca_otlp_encode_status(&res, OCA_ENCODING_PROTO, true, &out);
    Google__Rpc__Status *st = google__rpc__status__unpack(NULL, out.len, (uint8_t *)out.data);
    assert_non_null(st);
    assert_int_equal(st->code, OCA_GRPC_UNAVAILABLE);
    assert_string_equal(st->message, "memory budget exhausted");
    assert_int_equal(st->n_details, 1);
    assert_string_equal(st->details[0]->type_url, "type.googleapis.com/google.rpc.RetryInfo");
    Google__Rpc__RetryInfo *ri = google__rpc__retry_info__unpack(NULL, st->details[0]->value.len,
                                                                 st->details[0]->value.data);
    assert_non_null(ri);
    assert_int_equal(ri->retry_delay->seconds, OCA_OTLP_RETRY_AFTER_S);
    google__rpc__retry_info__free_unpacked(ri, NULL);
    google__rpc__status__free_unpacked(st, NULL);
    oca_buf_reset(&out);
    /* JSON carries no details: the HTTP answer has Retry-After instead. */
    oca_otlp_encode_status(&res, OCA_ENCODING_JSON, true, &out);
    assert_string_equal(out.data, "{\"code\":14,\"message\":\"memory budget exhausted\"}");
    oca_buf_free(&out);
}

int main(void)
{
    oca_log_set_level(OCA_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_decode_charges_the_arena, reset, check_budget),
        cmocka_unit_test_setup_teardown(test_decode_refusals, reset, check_budget),
        cmocka_unit_test_setup_teardown(test_protobuf_expansion_is_stopped_while_decoding, reset, check_budget),
        cmocka_unit_test_setup_teardown(test_bad_data, reset, check_budget),
        cmocka_unit_test_setup_teardown(test_protobuf_ids_of_the_wrong_length, reset, check_budget),
        cmocka_unit_test_setup_teardown(test_pipeline_refusals_map_to_statuses, reset, check_budget),
        cmocka_unit_test_setup_teardown(test_responses, reset, check_budget),
        cmocka_unit_test_setup_teardown(test_status_with_retry_info, reset, check_budget),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
