/* Tests of exporters/otlp/grpc.c (and base.c) against the project's otlp receiver on the same loop:
 * every signal arrives as it was sent, with the configured headers as metadata, gzip or not; a
 * permanent refusal (InvalidArgument) is counted as failed after one call; UNAVAILABLE with
 * RetryInfo is retried after the delay the receiver asks for, not the configured 10 ms; validation
 * of the endpoint and headers. */
#include "peer.h"

extern const struct oca_component_type oca_otlp_exporter;

#define QUICK "retry_on_failure: {initial_interval: 10ms, max_interval: 10ms, randomization_factor: 0}\n"

static void test_every_signal_arrives_as_sent(void **state)
{
    (void)state;
    const char *compressions[] = { "gzip", "none" };
    for (size_t c = 0; c < 2; c++) {
        struct peer p;
        char yaml[512];
        snprintf(yaml, sizeof(yaml), "endpoint: 127.0.0.1:PORT\ntls: {insecure: true}\ncompression: %s\n"
                 "headers: {x-tenant: acme}\n" QUICK, compressions[c]);
        peer_start(&p, &oca_otlp_exporter, yaml);
        struct oca_batch *sent[OCA_SIGNAL_COUNT];
        for (int s = 0; s < OCA_SIGNAL_COUNT; s++) {
            sent[s] = peer_batch((enum oca_signal)s, 3);
            assert_int_equal(peer_consume(&p, oca_batch_ref(sent[s])), OCA_OK);
        }
        for (int s = 0; s < OCA_SIGNAL_COUNT; s++)
            assert_true(peer_wait(&p, PEER_EXP(&p, OCA_EDGE_SENT, s), 3, 5000));
        assert_int_equal(p.rx.fake.n, 3);
        for (size_t i = 0; i < p.rx.fake.n; i++) {
            const struct oca_batch *got = p.rx.fake.got[i];
            oca_test_assert_same_packing(got->msg, sent[got->signal]->msg);
            assert_string_equal(peer_client_header(got, "x-tenant"), "acme");
        }
        for (int s = 0; s < OCA_SIGNAL_COUNT; s++) {
            assert_int_equal(p.counters.items[OCA_EDGE_SEND_FAILED][s], 0);
            oca_batch_unref(sent[s]);
        }
        peer_stop(&p);
    }
}

static void test_permanent_error_is_not_retried(void **state)
{
    (void)state;
    struct peer p;
    peer_start(&p, &oca_otlp_exporter, "endpoint: 127.0.0.1:PORT\ntls: {insecure: true}\n" QUICK);
    p.rx.fake.refuse_with = OCA_ERR_INVALID;
    struct oca_test_capture cap;
    oca_test_capture_start(&cap);
    assert_int_equal(peer_consume(&p, peer_batch(OCA_SIGNAL_TRACES, 4)), OCA_OK);
    bool failed = peer_wait(&p, PEER_EXP(&p, OCA_EDGE_SEND_FAILED, OCA_SIGNAL_TRACES), 4, 5000);
    peer_idle(&p, 200);     /* twenty retry intervals */
    char *log = oca_test_capture_end(&cap);
    assert_true(failed);
    assert_int_equal(p.counters.items[OCA_EDGE_SENT][OCA_SIGNAL_TRACES], 0);
    assert_int_equal(p.rx.counters.items[OCA_EDGE_REFUSED][OCA_SIGNAL_TRACES], 4);   /* one call */
    if (!strstr(log, "rpc error: code = InvalidArgument desc = "))
        fail_msg("log: %s", log);
    free(log);
    peer_stop(&p);
}

static void test_retry_info_is_honoured(void **state)
{
    (void)state;
    struct peer p;
    peer_start(&p, &oca_otlp_exporter, "endpoint: 127.0.0.1:PORT\ntls: {insecure: true}\n" QUICK);
    p.rx.fake.refuse_with = OCA_ERR_MEMORY_LIMIT;  /* UNAVAILABLE with RetryInfo of 1 s */
    struct oca_test_capture cap;
    oca_test_capture_start(&cap);
    assert_int_equal(peer_consume(&p, peer_batch(OCA_SIGNAL_LOGS, 2)), OCA_OK);
    assert_true(peer_wait(&p, PEER_RX(&p, OCA_EDGE_REFUSED, OCA_SIGNAL_LOGS), 2, 5000));
    uint64_t refused_at = uv_now(&p.rx.loop);
    p.rx.fake.refuse_with = 0;
    bool sent = peer_wait(&p, PEER_EXP(&p, OCA_EDGE_SENT, OCA_SIGNAL_LOGS), 2, 5000);
    uint64_t waited = uv_now(&p.rx.loop) - refused_at;
    free(oca_test_capture_end(&cap));
    assert_true(sent);
    assert_true(waited >= 950);
    assert_int_equal(p.rx.counters.items[OCA_EDGE_REFUSED][OCA_SIGNAL_LOGS], 2);  /* no retry before it */
    assert_int_equal(p.counters.items[OCA_EDGE_SEND_FAILED][OCA_SIGNAL_LOGS], 0);
    peer_stop(&p);
}

static void expect_invalid(const char *yaml, const char *message)
{
    struct oca_arena *a = oca_arena_new(1024);
    struct oca_diag diag;
    oca_diag_init(&diag);
    void *cfg;
    assert_int_equal(oca_test_decode_config(a, &oca_otlp_exporter, yaml, "exporters.otlp", &diag, &cfg), 0);
    assert_int_equal(oca_otlp_exporter.validate(cfg, &diag), OCA_ERR_CONFIG);
    if (!strstr(diag.text.data, message))
        fail_msg("\"%s\" lacks \"%s\"", diag.text.data, message);
    oca_diag_free(&diag);
    oca_arena_destroy(a);
}

static void test_validation(void **state)
{
    (void)state;
    expect_invalid("{}", "exporters.otlp.endpoint: endpoint must be set");
    expect_invalid("endpoint: collector", "exporters.otlp.endpoint: \"collector\": expected host:port");
    expect_invalid("endpoint: c:4317\nheaders: {\"a b\": x}", "exporters.otlp.headers: \"a b\" is not a valid header name");
    expect_invalid("endpoint: c:4317\nretry_on_failure: {max_elapsed_time: 1s, initial_interval: 2s}", "max_elapsed_time");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_signal_arrives_as_sent),
        cmocka_unit_test(test_permanent_error_is_not_retried),
        cmocka_unit_test(test_retry_info_is_honoured),
        cmocka_unit_test(test_validation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
