/* Tests of receivers/otlp/grpc.c with an nghttp2 client on real loopback sockets: Export OK for
 * every signal (plain, gzip and zstd, both listeners) with the request downstream; bad data is
 * INVALID_ARGUMENT; pipeline and budget refusals are UNAVAILABLE with a RetryInfo and count their
 * items as refused; RESOURCE_EXHAUSTED for what cannot fit or is over max_recv_msg_size_mib;
 * UNIMPLEMENTED for a signal without pipeline; include_metadata keeps the metadata. */
#include "harness.h"

#include <malloc.h>

#include "google/rpc/error_details.pb-c.h"
#include "google/rpc/status.pb-c.h"

static const char grpc_yaml[] = "protocols:\n  grpc:\n    endpoint: 127.0.0.1:0\n";
static const char *const paths[] = {
    "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
    "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
    "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
};

static uint8_t *proto_of(enum oca_signal sig, const char *json, size_t *len)
{
    struct oca_batch *b;
    char detail[256];
    if (oca_batch_decode(sig, OCA_ENCODING_JSON, (const uint8_t *)json, strlen(json), &b, detail, sizeof(detail)))
        fail_msg("%s", detail);
    uint8_t *wire = oca_batch_pack(b, len);
    oca_batch_unref(b);
    return wire;
}

/* Unpadded (or padded) standard base64, as grpc-status-details-bin is sent. */
static size_t unbase64(const char *in, uint8_t *out)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    uint32_t acc = 0;
    int bits = 0;
    size_t n = 0;
    for (; *in && *in != '='; in++) {
        const char *p = strchr(alphabet, *in);
        assert_non_null(p);
        acc = (acc << 6) | (uint32_t)(p - alphabet);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (uint8_t)(acc >> bits);
        }
    }
    return n;
}

/* The RetryInfo delay in the call's grpc-status-details-bin, or -1 when there is none. */
static int64_t retry_delay_of(const struct h_grpc *g, int want_code)
{
    uint8_t raw[1024];
    size_t n = unbase64(g->details_b64, raw);
    if (n == 0)
        return -1;
    Google__Rpc__Status *st = google__rpc__status__unpack(NULL, n, raw);
    assert_non_null(st);
    assert_int_equal(st->code, want_code);
    int64_t delay = -1;
    for (size_t i = 0; i < st->n_details; i++) {
        if (strcmp(st->details[i]->type_url, "type.googleapis.com/google.rpc.RetryInfo") != 0)
            continue;
        Google__Rpc__RetryInfo *ri = google__rpc__retry_info__unpack(NULL, st->details[i]->value.len,
                                                                     st->details[i]->value.data);
        assert_non_null(ri);
        delay = ri->retry_delay ? ri->retry_delay->seconds : 0;
        google__rpc__retry_info__free_unpacked(ri, NULL);
    }
    google__rpc__status__free_unpacked(st, NULL);
    return delay;
}

static void test_export_ok_for_every_signal(void **state)
{
    (void)state;
    struct h_rx h;
    h_start(&h, grpc_yaml, 0);
    const char *jsons[] = { NULL, h_metrics_json, h_logs_json };
    const int codings[] = { H_PLAIN, H_GZIP, H_ZSTD };
    for (int sig = 0; sig < OCA_SIGNAL_COUNT; sig++) {
        size_t len;
        uint8_t *msg = sig == OCA_SIGNAL_TRACES ? h_traces_proto(3, &len) : proto_of((enum oca_signal)sig, jsons[sig], &len);
        struct h_grpc g;
        h_grpc_call(&h.loop, h_port(&h, 0), paths[sig], msg, len, codings[sig], NULL, &g);
        assert_int_equal(g.http_status, 200);
        assert_int_equal(g.grpc_status, 0);
        assert_memory_equal(g.content_type, "application/grpc", 16);
        /* One framed, empty Export*ServiceResponse. */
        assert_int_equal(g.data.len, 5);
        assert_memory_equal(g.data.data, "\0\0\0\0\0", 5);
        oca_buf_free(&g.data);
        free(msg);
    }
    assert_int_equal(h.fake.n, 3);
    assert_int_equal(h.fake.got[0]->items, 3);
    assert_string_equal(h.fake.got[0]->traces->resource_spans[0]->scope_spans[0]->spans[1]->name, "span-1");
    assert_int_equal(h.fake.got[1]->items, 2);
    assert_string_equal(h.fake.got[2]->logs->resource_logs[0]->scope_logs[0]->log_records[0]->body->string_value,
                        "héllo");
    assert_memory_equal(h.fake.got[2]->client.addr, "127.0.0.1:", 10);
    assert_int_equal(h.counters.items[OCA_EDGE_ACCEPTED][OCA_SIGNAL_TRACES], 3);
    assert_int_equal(h.counters.items[OCA_EDGE_ACCEPTED][OCA_SIGNAL_METRICS], 2);
    assert_int_equal(h.counters.items[OCA_EDGE_ACCEPTED][OCA_SIGNAL_LOGS], 1);
    h_stop(&h);
}

static void test_bad_data_is_invalid_argument(void **state)
{
    (void)state;
    struct h_rx h;
    h_start(&h, grpc_yaml, 0);
    static const uint8_t junk[] = { 0x0a, 0x05, 0x0a, 0x03, 0xff };
    struct h_grpc g;
    h_grpc_call(&h.loop, h_port(&h, 0), paths[0], junk, sizeof(junk), false, NULL, &g);
    assert_int_equal(g.grpc_status, OCA_GRPC_INVALID_ARGUMENT);
    assert_non_null(strstr(g.grpc_message, "protobuf"));
    assert_int_equal(retry_delay_of(&g, OCA_GRPC_INVALID_ARGUMENT), -1);
    oca_buf_free(&g.data);
    assert_int_equal(h.fake.n, 0);
    h_stop(&h);
}

/* With a consumer that takes raw-only batches, every signal goes on undecoded: the bytes are the
 * message's, the items counted; bad bytes are still INVALID_ARGUMENT. */
static void test_raw_when_the_consumer_takes_it(void **state)
{
    (void)state;
    struct h_rx h;
    h_start(&h, grpc_yaml, 0);
    h.fake.base.takes_raw = true;
    const char *jsons[] = { NULL, h_metrics_json, h_logs_json };
    const int codings[] = { H_PLAIN, H_GZIP, H_ZSTD };
    const size_t want[] = { 3, 2, 1 };
    for (int sig = 0; sig < OCA_SIGNAL_COUNT; sig++) {
        size_t len;
        uint8_t *msg = sig == OCA_SIGNAL_TRACES ? h_traces_proto(3, &len) : proto_of((enum oca_signal)sig, jsons[sig], &len);
        struct h_grpc g;
        h_grpc_call(&h.loop, h_port(&h, 0), paths[sig], msg, len, codings[sig], NULL, &g);
        assert_int_equal(g.grpc_status, 0);
        oca_buf_free(&g.data);
        assert_int_equal(h.fake.n, (size_t)sig + 1);
        struct oca_batch *b = h.fake.got[sig];
        assert_null(b->msg);
        assert_int_equal(b->items, want[sig]);
        size_t plen;
        uint8_t *packed = oca_batch_pack(b, &plen);
        assert_int_equal(plen, len);
        assert_memory_equal(packed, msg, len);
        assert_true(b->charged >= len);
        assert_true(oca_budget_used() >= b->charged);
        /* What the batch keeps is about what it was charged for, not the call's 4 KiB buffer. */
        assert_true(malloc_usable_size(b->raw_block) <= len + len / 4 + 64 + 5);
        free(packed);
        free(msg);
    }
    assert_memory_equal(h.fake.got[0]->client.addr, "127.0.0.1:", 10);
    assert_int_equal(h.counters.items[OCA_EDGE_ACCEPTED][OCA_SIGNAL_METRICS], 2);
    static const uint8_t junk[] = { 0x0a, 0x05, 0x0a, 0x03, 0xff };
    struct h_grpc g;
    h_grpc_call(&h.loop, h_port(&h, 0), paths[0], junk, sizeof(junk), false, NULL, &g);
    assert_int_equal(g.grpc_status, OCA_GRPC_INVALID_ARGUMENT);
    assert_non_null(strstr(g.grpc_message, "protobuf"));
    oca_buf_free(&g.data);
    assert_int_equal(h.fake.n, 3);
    h_stop(&h);
}

static void test_retryable_refusals_carry_retry_info(void **state)
{
    (void)state;
    struct h_rx h;
    h_start(&h, grpc_yaml, 0);
    size_t len;
    uint8_t *msg = h_traces_proto(2, &len);
    struct h_grpc g;
    h.fake.refuse_with = OCA_ERR_QUEUE_FULL;
    h_grpc_call(&h.loop, h_port(&h, 0), paths[0], msg, len, false, NULL, &g);
    assert_int_equal(g.grpc_status, OCA_GRPC_UNAVAILABLE);
    assert_int_equal(retry_delay_of(&g, OCA_GRPC_UNAVAILABLE), OCA_OTLP_RETRY_AFTER_S);
    oca_buf_free(&g.data);
    assert_int_equal(h.counters.items[OCA_EDGE_REFUSED][OCA_SIGNAL_TRACES], 2);

    /* The budget spent by batches held downstream: refused before decoding, then fine again. */
    h.fake.refuse_with = 0;
    h_grpc_call(&h.loop, h_port(&h, 0), paths[0], msg, len, false, NULL, &g);
    assert_int_equal(g.grpc_status, 0);
    oca_buf_free(&g.data);
    assert_int_equal(h.fake.n, 1);
    size_t held = h.fake.got[0]->charged;
    oca_budget_set_limit((held > oca_budget_request_need(len) ? held : oca_budget_request_need(len)) * 3);
    int code = 0;
    for (int i = 0; i < 6 && code == 0; i++) {
        h_grpc_call(&h.loop, h_port(&h, 0), paths[0], msg, len, false, NULL, &g);
        code = g.grpc_status;
        if (code)
            assert_int_equal(retry_delay_of(&g, OCA_GRPC_UNAVAILABLE), OCA_OTLP_RETRY_AFTER_S);
        oca_buf_free(&g.data);
    }
    assert_int_equal(code, OCA_GRPC_UNAVAILABLE);
    assert_non_null(strstr(g.grpc_message, "memory budget"));
    /* Refused before decoding, yet its items are counted as refused. */
    assert_int_equal(h.counters.items[OCA_EDGE_REFUSED][OCA_SIGNAL_TRACES], 4);
    h_release_got(&h);
    h_grpc_call(&h.loop, h_port(&h, 0), paths[0], msg, len, false, NULL, &g);
    assert_int_equal(g.grpc_status, 0);
    oca_buf_free(&g.data);

    /* More than the whole budget could ever hold: not retryable. */
    h_release_got(&h);
    oca_budget_set_limit(oca_budget_request_need(len) - 1);
    h_grpc_call(&h.loop, h_port(&h, 0), paths[0], msg, len, false, NULL, &g);
    assert_int_equal(g.grpc_status, OCA_GRPC_RESOURCE_EXHAUSTED);
    assert_int_equal(retry_delay_of(&g, OCA_GRPC_RESOURCE_EXHAUSTED), -1);
    oca_buf_free(&g.data);
    assert_int_equal(h.counters.items[OCA_EDGE_REFUSED][OCA_SIGNAL_TRACES], 6);
    free(msg);
    h_stop(&h);
}

static void test_limits_unimplemented_and_metadata(void **state)
{
    (void)state;
    struct h_rx h;
    h_start(&h, "protocols:\n  grpc:\n    endpoint: 127.0.0.1:0\n    max_recv_msg_size_mib: 1\n"
                "    include_metadata: true\n  http:\n    endpoint: 127.0.0.1:0\n", OCA_METRICS);
    size_t len = (1 << 20) + 10;
    uint8_t *big = calloc(1, len);
    struct h_grpc g;
    h_grpc_call(&h.loop, h_port(&h, 0), paths[0], big, len, false, NULL, &g);
    assert_int_equal(g.grpc_status, OCA_GRPC_RESOURCE_EXHAUSTED);
    oca_buf_free(&g.data);
    free(big);

    uint8_t *msg = proto_of(OCA_SIGNAL_METRICS, h_metrics_json, &len);
    h_grpc_call(&h.loop, h_port(&h, 0), paths[1], msg, len, false, NULL, &g);
    assert_int_equal(g.grpc_status, OCA_GRPC_UNIMPLEMENTED);    /* no metrics pipeline */
    oca_buf_free(&g.data);
    h_grpc_call(&h.loop, h_port(&h, 0), "/opentelemetry.proto.collector.trace.v1.TraceService/Nope", msg, len,
                false, NULL, &g);
    assert_int_equal(g.grpc_status, OCA_GRPC_UNIMPLEMENTED);
    oca_buf_free(&g.data);
    free(msg);

    const char *const md[] = { "x-tenant", "acme", NULL };
    msg = h_traces_proto(1, &len);
    h_grpc_call(&h.loop, h_port(&h, 0), paths[0], msg, len, true, md, &g);
    assert_int_equal(g.grpc_status, 0);
    oca_buf_free(&g.data);
    /* The http listener takes gRPC too (its include_metadata is off). */
    h_grpc_call(&h.loop, h_port(&h, 1), paths[0], msg, len, false, md, &g);
    assert_int_equal(g.grpc_status, 0);
    oca_buf_free(&g.data);
    free(msg);
    assert_int_equal(h.fake.n, 2);
    const struct oca_batch_client *c = &h.fake.got[0]->client;
    bool tenant = false;
    for (size_t i = 0; i < c->n; i++) {
        assert_true(c->keys[i][0] != ':');
        if (strcmp(c->keys[i], "x-tenant") == 0 && strcmp(c->values[i], "acme") == 0)
            tenant = true;
    }
    assert_true(tenant);
    assert_int_equal(h.fake.got[1]->client.n, 0);
    h_stop(&h);
}

static bool job_queued(void *arg)
{
    const struct oca_otlp_rx *rx = ((struct h_rx *)arg)->comp.state;
    return rx->offloaded > 0;
}

static bool received(void *arg) { return ((struct h_rx *)arg)->fake.n > 0; }

/* Holds the pool's only thread (main sets UV_THREADPOOL_SIZE=1) until the semaphore is posted, so
 * a job queued meanwhile is certainly still in flight. */
static void block_cb(uv_work_t *w) { uv_sem_wait(w->data); }
static void unblocked_cb(uv_work_t *w, int status) { (void)status; w->data = NULL; }
static bool unblocked(void *arg) { return ((uv_work_t *)arg)->data == NULL; }

/* Shutdown while a request is being decoded on the pool: the call is closed without an answer,
 * done waits until the job is through, and the decoded batch still reaches the pipeline (counted
 * as accepted), so nothing arrives after done and nothing is lost without a count. */
static void test_shutdown_waits_for_a_job_on_the_pool(void **state)
{
    (void)state;
    if (!h_offload_all)
        skip();
    struct h_rx h;
    h_start(&h, grpc_yaml, 0);
    struct oca_otlp_rx *rx = h.comp.state;
    uv_sem_t sem;
    assert_int_equal(uv_sem_init(&sem, 0), 0);
    uv_work_t blocker = { .data = &sem };
    assert_int_equal(uv_queue_work(&h.loop, &blocker, block_cb, unblocked_cb), 0);
    size_t len;
    uint8_t *msg = h_traces_proto(50, &len);
    struct h_grpc g;
    h_grpc_begin(&h.loop, h_port(&h, 0), paths[0], msg, len, false, NULL, &g);
    assert_true(h_run_until(&h.loop, job_queued, &h, 10000));
    assert_int_equal(rx->jobs, 1);
    oca_otlp_receiver.shutdown(&h.comp, h_on_done);
    /* The connections close, the job stays: not done yet. */
    for (int i = 0; i < 20; i++)
        uv_run(&h.loop, UV_RUN_NOWAIT);
    assert_int_equal(h.done_calls, 0);
    assert_false(received(&h));
    uv_sem_post(&sem);
    assert_true(h_run_until(&h.loop, h_done, &h, 10000));
    assert_true(h_run_until(&h.loop, unblocked, &blocker, 10000));
    uv_sem_destroy(&sem);
    assert_int_equal(rx->jobs, 0);
    assert_true(received(&h));
    assert_int_equal(h.fake.got[0]->items, 50);
    assert_int_equal(h.counters.items[OCA_EDGE_ACCEPTED][OCA_SIGNAL_TRACES], 50);
    h_grpc_end(&h.loop, &g);
    assert_int_not_equal(g.grpc_status, 0);
    oca_buf_free(&g.data);
    free(msg);
    h_stop(&h);
}

int main(void)
{
    oca_log_set_level(OCA_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_export_ok_for_every_signal),
        cmocka_unit_test(test_raw_when_the_consumer_takes_it),
        cmocka_unit_test(test_bad_data_is_invalid_argument),
        cmocka_unit_test(test_retryable_refusals_carry_retry_info),
        cmocka_unit_test(test_limits_unimplemented_and_metadata),
        cmocka_unit_test(test_shutdown_waits_for_a_job_on_the_pool),
    };
    /* One pool thread: test_shutdown_waits_for_a_job_on_the_pool holds it. */
    setenv("UV_THREADPOOL_SIZE", "1", 1);
    return H_RUN_BOTH_WAYS(tests);
}
