/* Tests of receivers/otlp/http.c over real loopback sockets and raw HTTP/1.1: 200 for protobuf,
 * JSON, gzip, deflate, zstd, chunked and empty requests with the request downstream; 400 with a
 * Status (bad protobuf, bad JSON naming the path, unknown encoding); 404, 405, 415; 413 by length,
 * after decompressing (gzip and zstd bombs) and by budget; 503 + Retry-After from the pipeline and the budget (items
 * counted as refused); CORS; metadata; the budget back to zero once everything is released. */
#include "harness.h"

#include "codec/otlp_json.h"
#include "google/rpc/status.pb-c.h"

static const char http_yaml[] = "protocols:\n  http:\n    endpoint: 127.0.0.1:0\n";

static Google__Rpc__Status *status_of(const struct h_resp *r, bool json)
{
    if (!json)
        return google__rpc__status__unpack(NULL, r->body_len, (const uint8_t *)r->body);
    struct oca_arena *a = oca_arena_new(1024);
    ProtobufCMessage *m;
    char err[256];
    int rc = oca_otlp_json_decode(&google__rpc__status__descriptor, r->body, r->body_len, a, &m, err, sizeof(err));
    if (rc)
        fail_msg("status JSON: %s in %s", err, r->body);
    /* Re-pack through protobuf to hand back an independently freeable message. */
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t *wire = malloc(n + 1);
    protobuf_c_message_pack(m, wire);
    Google__Rpc__Status *st = google__rpc__status__unpack(NULL, n, wire);
    free(wire);
    oca_arena_destroy(a);
    return st;
}

static void expect_header(const struct h_resp *r, const char *name, const char *want)
{
    char v[512];
    if (!h_resp_header(r, name, v, sizeof(v)))
        fail_msg("no %s header in:\n%s", name, r->head);
    assert_string_equal(v, want);
}

static void test_protobuf_200_and_the_batch_downstream(void **state)
{
    (void)state;
    struct h_rx h;
    h_start(&h, http_yaml, 0);
    size_t len;
    uint8_t *wire = h_traces_proto(3, &len);
    struct h_resp r;
    assert_true(h_post(&h.loop, h_port(&h, 0), "/v1/traces", "application/x-protobuf", NULL, wire, len, &r));
    assert_int_equal(r.status, 200);
    expect_header(&r, "content-type", "application/x-protobuf");
    assert_int_equal(r.body_len, 0);                        /* an empty ExportTraceServiceResponse */
    assert_int_equal(h.fake.n, 1);
    struct oca_batch *b = h.fake.got[0];
    assert_int_equal(b->signal, OCA_SIGNAL_TRACES);
    assert_int_equal(b->items, 3);
    assert_string_equal(b->traces->resource_spans[0]->scope_spans[0]->spans[2]->name, "span-2");
    assert_int_equal(b->traces->resource_spans[0]->scope_spans[0]->spans[0]->trace_id.len, 16);
    assert_non_null(b->client.addr);
    assert_memory_equal(b->client.addr, "127.0.0.1:", 10);
    assert_int_equal(b->client.n, 0);                       /* include_metadata is off */
    assert_true(b->charged > 0);
    assert_true(oca_budget_used() >= b->charged);
    assert_int_equal(h.counters.items[OCA_EDGE_ACCEPTED][OCA_SIGNAL_TRACES], 3);
    h_resp_free(&r);
    free(wire);
    h_stop(&h);
}

/* With a consumer that takes raw-only batches, a protobuf body (plain or gzip) goes on undecoded:
 * the batch's bytes are the body, charged; a bad one is still 400, and JSON still decodes. */
static void test_protobuf_raw_when_the_consumer_takes_it(void **state)
{
    (void)state;
    struct h_rx h;
    h_start(&h, http_yaml, 0);
    h.fake.base.takes_raw = true;
    size_t len, zlen;
    uint8_t *wire = h_traces_proto(3, &len);
    uint8_t *gz = h_compress(wire, len, 31, &zlen);
    struct h_resp r;
    assert_true(h_post(&h.loop, h_port(&h, 0), "/v1/traces", "application/x-protobuf", NULL, wire, len, &r));
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
    assert_true(h_post(&h.loop, h_port(&h, 0), "/v1/traces", "application/x-protobuf", "Content-Encoding: gzip\r\n",
                       gz, zlen, &r));
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
    size_t zslen;
    uint8_t *zs = h_zstd(wire, len, 0, &zslen);
    assert_true(h_post(&h.loop, h_port(&h, 0), "/v1/traces", "application/x-protobuf", "Content-Encoding: zstd\r\n",
                       zs, zslen, &r));
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
    free(zs);
    assert_int_equal(h.fake.n, 3);
    for (size_t k = 0; k < 3; k++) {
        struct oca_batch *b = h.fake.got[k];
        assert_null(b->msg);
        assert_int_equal(b->items, 3);
        assert_int_equal(b->raw_len, len);
        assert_memory_equal(b->raw[0].data, wire, len);
        assert_true(b->charged >= len);
    }
    assert_true(h_post(&h.loop, h_port(&h, 0), "/v1/traces", "application/x-protobuf", NULL, wire, len - 3, &r));
    assert_int_equal(r.status, 400);
    h_resp_free(&r);
    assert_true(h_post(&h.loop, h_port(&h, 0), "/v1/metrics", "application/json", NULL, h_metrics_json,
                       strlen(h_metrics_json), &r));
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
    assert_int_equal(h.fake.n, 4);
    assert_non_null(h.fake.got[3]->msg);
    assert_int_equal(h.counters.items[OCA_EDGE_ACCEPTED][OCA_SIGNAL_TRACES], 9);
    free(gz);
    free(wire);
    h_stop(&h);
}

static void test_json_200_with_charset_and_json_response(void **state)
{
    (void)state;
    struct h_rx h;
    h_start(&h, http_yaml, 0);
    struct h_resp r;
    assert_true(h_post(&h.loop, h_port(&h, 0), "/v1/metrics", "application/json; charset=utf-8", NULL,
                       h_metrics_json, strlen(h_metrics_json), &r));
    assert_int_equal(r.status, 200);
    expect_header(&r, "content-type", "application/json");
    assert_string_equal(r.body, "{}");
    assert_int_equal(h.fake.n, 1);
    assert_int_equal(h.fake.got[0]->items, 2);
    assert_int_equal(h.fake.got[0]->metrics->resource_metrics[0]->scope_metrics[0]->metrics[0]->gauge->data_points[0]->as_int, 7);
    h_resp_free(&r);
    h_stop(&h);
}

static void test_gzip_deflate_and_zstd_bodies(void **state)
{
    (void)state;
    struct h_rx h;
    h_start(&h, http_yaml, 0);
    size_t zlen;
    uint8_t *gz = h_compress(h_logs_json, strlen(h_logs_json), 31, &zlen);
    struct h_resp r;
    assert_true(h_post(&h.loop, h_port(&h, 0), "/v1/logs", "application/json", "Content-Encoding: gzip\r\n", gz,
                       zlen, &r));
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
    free(gz);
    uint8_t *zl = h_compress(h_logs_json, strlen(h_logs_json), 15, &zlen);
    assert_true(h_post(&h.loop, h_port(&h, 0), "/v1/logs", "application/json", "Content-Encoding: deflate\r\n", zl,
                       zlen, &r));
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
    free(zl);
    uint8_t *zs = h_zstd(h_logs_json, strlen(h_logs_json), 0, &zlen);
    assert_true(h_post(&h.loop, h_port(&h, 0), "/v1/logs", "application/json", "Content-Encoding: zstd\r\n", zs,
                       zlen, &r));
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
    free(zs);
    assert_int_equal(h.fake.n, 3);
    assert_int_equal(h.counters.items[OCA_EDGE_ACCEPTED][OCA_SIGNAL_LOGS], 3);
    for (size_t i = 0; i < 3; i++) {
        const Opentelemetry__Proto__Common__V1__AnyValue *body =
            h.fake.got[i]->logs->resource_logs[0]->scope_logs[0]->log_records[0]->body;
        assert_string_equal(body->string_value, "héllo");
    }
    h_stop(&h);
}

static void test_chunked_and_empty_requests(void **state)
{
    (void)state;
    struct h_rx h;
    h_start(&h, http_yaml, 0);
    size_t len;
    uint8_t *wire = h_traces_proto(2, &len);
    char head[512];
    snprintf(head, sizeof(head), "POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
                                 "Transfer-Encoding: chunked\r\n\r\n%zx\r\n", len);
    struct oca_buf body = { 0 };
    oca_buf_append(&body, wire, len);
    oca_buf_puts(&body, "\r\n0\r\n\r\n");
    struct h_resp r;
    assert_true(h_http_exchange(&h.loop, h_port(&h, 0), head, body.data, body.len, &r));
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
    /* An empty request carries no data and is a success (the spec's "empty request"). */
    assert_true(h_post(&h.loop, h_port(&h, 0), "/v1/traces", "application/x-protobuf", NULL, "", 0, &r));
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
    assert_true(h_post(&h.loop, h_port(&h, 0), "/v1/logs", "application/json", NULL, "{}", 2, &r));
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{}");
    h_resp_free(&r);
    assert_int_equal(h.fake.n, 3);
    assert_int_equal(h.fake.got[0]->items, 2);
    assert_int_equal(h.fake.got[1]->items, 0);
    oca_buf_free(&body);
    free(wire);
    h_stop(&h);
}

static void test_bad_protobuf_is_400_with_a_status(void **state)
{
    (void)state;
    struct h_rx h;
    h_start(&h, http_yaml, 0);
    size_t len;
    uint8_t *wire = h_traces_proto(1, &len);
    struct h_resp r;
    /* Truncated: the last field's bytes are missing. */
    assert_true(h_post(&h.loop, h_port(&h, 0), "/v1/traces", "application/x-protobuf", NULL, wire, len - 3, &r));
    assert_int_equal(r.status, 400);
    expect_header(&r, "content-type", "application/x-protobuf");
    Google__Rpc__Status *st = status_of(&r, false);
    assert_non_null(st);
    assert_int_equal(st->code, 3);                          /* INVALID_ARGUMENT */
    assert_non_null(strstr(st->message, "protobuf"));
    google__rpc__status__free_unpacked(st, NULL);
    h_resp_free(&r);
    assert_int_equal(h.fake.n, 0);
    free(wire);
    h_stop(&h);
}

static void test_bad_json_is_400_naming_the_path(void **state)
{
    (void)state;
    struct h_rx h;
    h_start(&h, http_yaml, 0);
    static const char bad[] = "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":\"abc\",\"name\":\"x\"}]}]}]}";
    struct h_resp r;
    assert_true(h_post(&h.loop, h_port(&h, 0), "/v1/traces", "application/json", NULL, bad, strlen(bad), &r));
    assert_int_equal(r.status, 400);
    expect_header(&r, "content-type", "application/json");
    Google__Rpc__Status *st = status_of(&r, true);
    assert_int_equal(st->code, 3);
    if (!strstr(st->message, "resourceSpans[0].scopeSpans[0].spans[0].traceId"))
        fail_msg("message without the JSON path: %s", st->message);
    google__rpc__status__free_unpacked(st, NULL);
    h_resp_free(&r);
    /* Not JSON at all. */
    assert_true(h_post(&h.loop, h_port(&h, 0), "/v1/traces", "application/json", NULL, "{\"resourceSpans\":[", 18, &r));
    assert_int_equal(r.status, 400);
    h_resp_free(&r);
    h_stop(&h);
}

static void test_404_405_415_and_unknown_encoding(void **state)
{
    (void)state;
    struct h_rx h;
    h_start(&h, http_yaml, OCA_LOGS);                       /* no logs pipeline */
    uint16_t port = h_port(&h, 0);
    struct h_resp r;
    assert_true(h_post(&h.loop, port, "/v1/nothing", "application/json", NULL, "{}", 2, &r));
    assert_int_equal(r.status, 404);
    expect_header(&r, "content-type", "application/json");
    h_resp_free(&r);
    assert_true(h_post(&h.loop, port, "/v1/logs", "application/json", NULL, "{}", 2, &r));
    assert_int_equal(r.status, 404);                        /* a signal without pipeline has no route */
    h_resp_free(&r);

    assert_true(h_http_exchange(&h.loop, port, "GET /v1/traces HTTP/1.1\r\nHost: x\r\n\r\n", NULL, 0, &r));
    assert_int_equal(r.status, 405);
    expect_header(&r, "allow", "POST");
    h_resp_free(&r);
    assert_true(h_http_exchange(&h.loop, port, "OPTIONS /v1/traces HTTP/1.1\r\nHost: x\r\nOrigin: https://a.b\r\n"
                                                "Access-Control-Request-Method: POST\r\n\r\n", NULL, 0, &r));
    assert_int_equal(r.status, 405);                        /* no CORS configured: no preflight */
    h_resp_free(&r);

    assert_true(h_post(&h.loop, port, "/v1/traces", "text/plain", NULL, "hello", 5, &r));
    assert_int_equal(r.status, 415);
    assert_non_null(strstr(r.body, "application/x-protobuf"));
    h_resp_free(&r);
    assert_true(h_post(&h.loop, port, "/v1/traces", "application/grpc-web", NULL, "hello", 5, &r));
    assert_int_equal(r.status, 415);
    h_resp_free(&r);

    assert_true(h_post(&h.loop, port, "/v1/traces", "application/json", "Content-Encoding: br\r\n", "{}", 2, &r));
    assert_int_equal(r.status, 400);
    Google__Rpc__Status *st = status_of(&r, true);
    assert_non_null(strstr(st->message, "unsupported Content-Encoding: br"));
    google__rpc__status__free_unpacked(st, NULL);
    h_resp_free(&r);

    /* Corrupt gzip is bad data too. */
    assert_true(h_post(&h.loop, port, "/v1/traces", "application/json", "Content-Encoding: gzip\r\n", "not gzip", 8, &r));
    assert_int_equal(r.status, 400);
    h_resp_free(&r);
    assert_int_equal(h.fake.n, 0);
    h_stop(&h);
}

static void test_413_by_length_and_after_decompression(void **state)
{
    (void)state;
    struct h_rx h;
    h_start(&h, "protocols:\n  http:\n    endpoint: 127.0.0.1:0\n    max_request_body_size: 64KiB\n", 0);
    uint16_t port = h_port(&h, 0);
    size_t big = 100 << 10;
    char *zeros = calloc(1, big);
    struct h_resp r;
    /* Over the limit by Content-Length: answered before the body is read (by the HTTP server). */
    assert_true(h_post(&h.loop, port, "/v1/traces", "application/x-protobuf", NULL, zeros, big, &r));
    assert_int_equal(r.status, 413);
    h_resp_free(&r);
    /* Within it on the wire, over it once inflated: the receiver's own 413, with a Status. */
    size_t zlen;
    uint8_t *gz = h_compress(zeros, big, 31, &zlen);
    assert_true(h_post(&h.loop, port, "/v1/traces", "application/x-protobuf", "Content-Encoding: gzip\r\n", gz, zlen,
                       &r));
    free(gz);
    assert_int_equal(r.status, 413);
    Google__Rpc__Status *st = status_of(&r, false);
    assert_non_null(st);
    assert_int_equal(st->code, 8);                          /* RESOURCE_EXHAUSTED */
    assert_non_null(strstr(st->message, "max_request_body_size"));
    google__rpc__status__free_unpacked(st, NULL);
    h_resp_free(&r);

    /* A gzip bomb: 16 MiB of zeros in about 16 KiB on the wire. The receiver must stop inflating at
     * the limit, so the budget never held more than the limit (plus one byte to see it passed). */
    size_t bomb_raw = (size_t)16 << 20;
    char *bomb_src = calloc(1, bomb_raw);
    uint8_t *bomb = h_compress(bomb_src, bomb_raw, 31, &zlen);
    free(bomb_src);
    assert_true(zlen < (64 << 10));
    oca_budget_reset_stats();
    assert_true(h_post(&h.loop, port, "/v1/traces", "application/x-protobuf", "Content-Encoding: gzip\r\n", bomb,
                       zlen, &r));
    assert_int_equal(r.status, 413);
    assert_true(oca_budget_peak() <= (64 << 10) + 1);
    h_resp_free(&r);
    free(bomb);
    /* A zstd bomb likewise: its buffer stops at the limit, and libzstd's window (charged too) can
     * have been written no further than the bytes made plus a block in and out. */
    bomb_src = calloc(1, bomb_raw);
    bomb = h_zstd(bomb_src, bomb_raw, 0, &zlen);
    free(bomb_src);
    assert_true(zlen < (4 << 10));
    oca_budget_reset_stats();
    assert_true(h_post(&h.loop, port, "/v1/traces", "application/x-protobuf", "Content-Encoding: zstd\r\n", bomb,
                       zlen, &r));
    assert_int_equal(r.status, 413);
    st = status_of(&r, false);
    assert_non_null(strstr(st->message, "max_request_body_size"));
    google__rpc__status__free_unpacked(st, NULL);
    assert_true(oca_budget_peak() <= 2 * ((64 << 10) + 1) + 2 * ZSTD_BLOCKSIZE_MAX);
    h_resp_free(&r);
    free(bomb);

    /* The same limit holds for chunked bodies with no length. */
    char head[] = "POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
                  "Transfer-Encoding: chunked\r\n\r\n";
    struct oca_buf body = { 0 };
    for (int i = 0; i < 3; i++) {
        oca_buf_printf(&body, "%x\r\n", 40 << 10);
        oca_buf_append(&body, zeros, 40 << 10);
        oca_buf_puts(&body, "\r\n");
    }
    oca_buf_puts(&body, "0\r\n\r\n");
    assert_true(h_http_exchange(&h.loop, port, head, body.data, body.len, &r));
    assert_int_equal(r.status, 413);
    h_resp_free(&r);
    oca_buf_free(&body);
    free(zeros);
    assert_int_equal(h.fake.n, 0);
    h_stop(&h);
}

static void test_503_with_retry_after_when_the_pipeline_refuses(void **state)
{
    (void)state;
    struct h_rx h;
    h_start(&h, http_yaml, 0);
    h.fake.refuse_with = OCA_ERR_QUEUE_FULL;
    size_t len;
    uint8_t *wire = h_traces_proto(4, &len);
    struct h_resp r;
    assert_true(h_post(&h.loop, h_port(&h, 0), "/v1/traces", "application/x-protobuf", NULL, wire, len, &r));
    assert_int_equal(r.status, 503);
    expect_header(&r, "retry-after", "1");
    Google__Rpc__Status *st = status_of(&r, false);
    assert_int_equal(st->code, 14);                         /* UNAVAILABLE */
    assert_non_null(strstr(st->message, "queue is full"));
    google__rpc__status__free_unpacked(st, NULL);
    h_resp_free(&r);
    assert_int_equal(h.counters.items[OCA_EDGE_REFUSED][OCA_SIGNAL_TRACES], 4);
    assert_int_equal(h.counters.items[OCA_EDGE_ACCEPTED][OCA_SIGNAL_TRACES], 0);

    /* A permanent refusal means bad data: 400, not retried. */
    h.fake.refuse_with = OCA_ERR_UNSUPPORTED;
    assert_true(h_post(&h.loop, h_port(&h, 0), "/v1/traces", "application/x-protobuf", NULL, wire, len, &r));
    assert_int_equal(r.status, 400);
    assert_false(h_resp_header(&r, "retry-after", (char[8]){ 0 }, 8));
    h_resp_free(&r);
    free(wire);
    h_stop(&h);
}

static void test_503_while_the_budget_is_spent_then_200(void **state)
{
    (void)state;
    struct h_rx h;
    h_start(&h, http_yaml, 0);
    size_t len;
    uint8_t *wire = h_traces_proto(20, &len);
    /* Room for a few decoded requests; the fake consumer keeps every batch, as a queue would. */
    struct h_resp r;
    assert_true(h_post(&h.loop, h_port(&h, 0), "/v1/traces", "application/x-protobuf", NULL, wire, len, &r));
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
    size_t held = h.fake.got[0]->charged;
    oca_budget_set_limit((held > oca_budget_request_need(len) ? held : oca_budget_request_need(len)) * 3);
    int ok = 0, refused = 0;
    for (int i = 0; i < 10 && refused == 0; i++) {
        assert_true(h_post(&h.loop, h_port(&h, 0), "/v1/traces", "application/x-protobuf", NULL, wire, len, &r));
        if (r.status == 200) {
            ok++;
        } else {
            assert_int_equal(r.status, 503);
            expect_header(&r, "retry-after", "1");
            Google__Rpc__Status *st = status_of(&r, false);
            assert_int_equal(st->code, 14);
            assert_non_null(strstr(st->message, "memory budget"));
            google__rpc__status__free_unpacked(st, NULL);
            refused++;
        }
        h_resp_free(&r);
    }
    assert_true(ok >= 1);
    assert_int_equal(refused, 1);
    assert_true(oca_budget_used() <= oca_budget_limit());
    /* The refused request was read through a counter: its items count as refused. */
    assert_int_equal(h.counters.items[OCA_EDGE_REFUSED][OCA_SIGNAL_TRACES], 20);
    assert_int_equal(h.counters.items[OCA_EDGE_ACCEPTED][OCA_SIGNAL_TRACES], 20 * (size_t)(ok + 1));
    /* The same for a compressed body (refused before its size is known) and for JSON, here with
     * the budget wholly spent. */
    size_t spent = oca_budget_limit();
    oca_budget_force(spent);
    size_t zlen;
    uint8_t *gz = h_compress(wire, len, 31, &zlen);
    assert_true(h_post(&h.loop, h_port(&h, 0), "/v1/traces", "application/x-protobuf", "Content-Encoding: gzip\r\n",
                       gz, zlen, &r));
    assert_int_equal(r.status, 503);
    h_resp_free(&r);
    free(gz);
    assert_int_equal(h.counters.items[OCA_EDGE_REFUSED][OCA_SIGNAL_TRACES], 40);
    uint8_t *zs = h_zstd(wire, len, 0, &zlen);
    assert_true(h_post(&h.loop, h_port(&h, 0), "/v1/traces", "application/x-protobuf", "Content-Encoding: zstd\r\n",
                       zs, zlen, &r));
    assert_int_equal(r.status, 503);
    h_resp_free(&r);
    free(zs);
    assert_int_equal(h.counters.items[OCA_EDGE_REFUSED][OCA_SIGNAL_TRACES], 60);
    assert_true(h_post(&h.loop, h_port(&h, 0), "/v1/logs", "application/json", NULL, h_logs_json,
                       strlen(h_logs_json), &r));
    assert_int_equal(r.status, 503);
    h_resp_free(&r);
    oca_budget_release(spent);
    assert_int_equal(h.counters.items[OCA_EDGE_REFUSED][OCA_SIGNAL_LOGS], 1);
    /* Once the held batches are released (sent, say), the same request goes through. */
    h_release_got(&h);
    assert_int_equal(oca_budget_used(), 0);
    assert_true(h_post(&h.loop, h_port(&h, 0), "/v1/traces", "application/x-protobuf", NULL, wire, len, &r));
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
    free(wire);
    h_stop(&h);
}

static void test_413_when_a_request_needs_more_than_the_whole_budget(void **state)
{
    (void)state;
    struct h_rx h;
    h_start(&h, http_yaml, 0);
    size_t len;
    uint8_t *wire = h_traces_proto(50, &len);
    oca_budget_set_limit(oca_budget_request_need(len) - 1);
    struct h_resp r;
    assert_true(h_post(&h.loop, h_port(&h, 0), "/v1/traces", "application/x-protobuf", NULL, wire, len, &r));
    assert_int_equal(r.status, 413);                        /* retrying could never help */
    assert_false(h_resp_header(&r, "retry-after", (char[8]){ 0 }, 8));
    h_resp_free(&r);
    /* Compressed, the size is only known while inflating: still 413, not 503. */
    size_t zlen;
    uint8_t *gz = h_compress(wire, len, 31, &zlen);
    assert_true(h_post(&h.loop, h_port(&h, 0), "/v1/traces", "application/x-protobuf", "Content-Encoding: gzip\r\n",
                       gz, zlen, &r));
    assert_int_equal(r.status, 413);
    h_resp_free(&r);
    free(gz);
    free(wire);
    h_stop(&h);
}

static void test_cors(void **state)
{
    (void)state;
    struct h_rx h;
    h_start(&h, "protocols:\n  http:\n    endpoint: 127.0.0.1:0\n    cors:\n"
                "      allowed_origins: [\"https://*.example.com\", \"http://localhost:3000\"]\n"
                "      allowed_headers: [X-Custom]\n      max_age: 600\n", 0);
    uint16_t port = h_port(&h, 0);
    struct h_resp r;
    assert_true(h_http_exchange(&h.loop, port,
                                "OPTIONS /v1/traces HTTP/1.1\r\nHost: x\r\nOrigin: https://app.example.com\r\n"
                                "Access-Control-Request-Method: POST\r\n"
                                "Access-Control-Request-Headers: content-type, x-custom\r\n\r\n", NULL, 0, &r));
    assert_int_equal(r.status, 204);
    expect_header(&r, "access-control-allow-origin", "https://app.example.com");
    expect_header(&r, "access-control-allow-methods", "POST");
    expect_header(&r, "access-control-allow-headers", "content-type, x-custom");
    expect_header(&r, "access-control-max-age", "600");
    h_resp_free(&r);

    /* An origin that is not allowed, or a header that is not, gets no permission. */
    assert_true(h_http_exchange(&h.loop, port,
                                "OPTIONS /v1/traces HTTP/1.1\r\nHost: x\r\nOrigin: https://example.com.evil.org\r\n"
                                "Access-Control-Request-Method: POST\r\n\r\n", NULL, 0, &r));
    assert_int_equal(r.status, 204);
    assert_false(h_resp_header(&r, "access-control-allow-origin", (char[64]){ 0 }, 64));
    h_resp_free(&r);
    assert_true(h_http_exchange(&h.loop, port,
                                "OPTIONS /v1/traces HTTP/1.1\r\nHost: x\r\nOrigin: http://localhost:3000\r\n"
                                "Access-Control-Request-Method: POST\r\n"
                                "Access-Control-Request-Headers: x-secret\r\n\r\n", NULL, 0, &r));
    assert_int_equal(r.status, 204);
    assert_false(h_resp_header(&r, "access-control-allow-origin", (char[64]){ 0 }, 64));
    h_resp_free(&r);

    /* The actual request gets the origin back (on errors too, so the page can read them). */
    assert_true(h_post(&h.loop, port, "/v1/logs", "application/json", "Origin: http://localhost:3000\r\n", h_logs_json,
                       strlen(h_logs_json), &r));
    assert_int_equal(r.status, 200);
    expect_header(&r, "access-control-allow-origin", "http://localhost:3000");
    expect_header(&r, "vary", "Origin");
    h_resp_free(&r);
    assert_true(h_post(&h.loop, port, "/v1/logs", "application/json", "Origin: https://x.example.com\r\n", "[", 1, &r));
    assert_int_equal(r.status, 400);
    expect_header(&r, "access-control-allow-origin", "https://x.example.com");
    h_resp_free(&r);

    assert_true(oca_otlp_cors_origin_allowed(&((struct oca_otlp_config *)(uintptr_t)h.comp.config)->protocols.http.cors,
                                             "HTTPS://A.B.EXAMPLE.COM"));
    h_stop(&h);
}

static void test_include_metadata_and_custom_paths(void **state)
{
    (void)state;
    struct h_rx h;
    h_start(&h, "protocols:\n  http:\n    endpoint: 127.0.0.1:0\n    include_metadata: true\n"
                "    traces_url_path: custom/traces\n", 0);
    size_t len;
    uint8_t *wire = h_traces_proto(1, &len);
    struct h_resp r;
    assert_true(h_post(&h.loop, h_port(&h, 0), "/v1/traces", "application/x-protobuf", NULL, wire, len, &r));
    assert_int_equal(r.status, 404);
    h_resp_free(&r);
    assert_true(h_post(&h.loop, h_port(&h, 0), "/custom/traces?x=1", "application/x-protobuf",
                       "X-Tenant: acme\r\n", wire, len, &r));
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
    assert_int_equal(h.fake.n, 1);
    const struct oca_batch_client *c = &h.fake.got[0]->client;
    bool found = false;
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->keys[i], "x-tenant") == 0 && strcmp(c->values[i], "acme") == 0)
            found = true;
    assert_true(found);
    free(wire);
    h_stop(&h);
}

/* The grpc listener takes OTLP/HTTP on the default paths too. */
static void test_grpc_listener_serves_http(void **state)
{
    (void)state;
    struct h_rx h;
    h_start(&h, "protocols:\n  grpc:\n    endpoint: 127.0.0.1:0\n", 0);
    struct h_resp r;
    assert_true(h_post(&h.loop, h_port(&h, 0), "/v1/metrics", "application/json", NULL, h_metrics_json,
                       strlen(h_metrics_json), &r));
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
    assert_int_equal(h.fake.n, 1);
    h_stop(&h);
}

int main(void)
{
    oca_log_set_level(OCA_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_protobuf_200_and_the_batch_downstream),
        cmocka_unit_test(test_protobuf_raw_when_the_consumer_takes_it),
        cmocka_unit_test(test_json_200_with_charset_and_json_response),
        cmocka_unit_test(test_gzip_deflate_and_zstd_bodies),
        cmocka_unit_test(test_chunked_and_empty_requests),
        cmocka_unit_test(test_bad_protobuf_is_400_with_a_status),
        cmocka_unit_test(test_bad_json_is_400_naming_the_path),
        cmocka_unit_test(test_404_405_415_and_unknown_encoding),
        cmocka_unit_test(test_413_by_length_and_after_decompression),
        cmocka_unit_test(test_503_with_retry_after_when_the_pipeline_refuses),
        cmocka_unit_test(test_503_while_the_budget_is_spent_then_200),
        cmocka_unit_test(test_413_when_a_request_needs_more_than_the_whole_budget),
        cmocka_unit_test(test_cors),
        cmocka_unit_test(test_include_metadata_and_custom_paths),
        cmocka_unit_test(test_grpc_listener_serves_http),
    };
    return H_RUN_BOTH_WAYS(tests);
}
