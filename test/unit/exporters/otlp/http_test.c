/* Tests of exporters/otlp/http.c (and base.c) against the project's otlp receiver on the same loop:
 * every signal arrives as it was sent in protobuf and JSON, gzip, zstd or not, with the configured
 * headers; per-signal URLs are used as given and a signal without one fails without a request; a
 * refusal with 400 is counted as failed after one request and logged with the status message; 503
 * with Retry-After is retried after the delay asked for; a 404 is permanent; validation. */
#include "peer.h"

extern const struct oca_component_type oca_otlphttp_exporter;

#define QUICK "retry_on_failure: {initial_interval: 10ms, max_interval: 10ms, randomization_factor: 0}\n"

static void test_every_signal_arrives_as_sent(void **state)
{
    (void)state;
    static const char *const settings[] = { "encoding: proto\ncompression: gzip\n", "encoding: json\ncompression: none\n",
                                            "encoding: json\ncompression: gzip\n", "encoding: proto\ncompression: zstd\n" };
    for (size_t c = 0; c < sizeof(settings) / sizeof(settings[0]); c++) {
        struct peer p;
        char yaml[512];
        snprintf(yaml, sizeof(yaml), "endpoint: http://127.0.0.1:PORT/\n%sheaders: {x-tenant: acme}\n" QUICK, settings[c]);
        peer_start(&p, &oca_otlphttp_exporter, yaml);
        peer_round_trip(&p);
        assert_non_null(strstr(peer_client_header(p.rx.fake.got[0], "user-agent"), "ocagent/"));
        peer_stop(&p);
    }
}

static void test_signal_urls(void **state)
{
    (void)state;
    struct peer p;
    peer_start(&p, &oca_otlphttp_exporter, "traces_endpoint: http://127.0.0.1:PORT/v1/traces\n"
               "logs_endpoint: http://127.0.0.1:PORT/v1/logs/nope\n" QUICK);
    struct oca_test_capture cap;
    oca_test_capture_start(&cap);
    assert_int_equal(peer_consume(&p, peer_batch(OCA_SIGNAL_TRACES, 2)), OCA_OK);
    assert_int_equal(peer_consume(&p, peer_batch(OCA_SIGNAL_METRICS, 2)), OCA_OK);
    assert_int_equal(peer_consume(&p, peer_batch(OCA_SIGNAL_LOGS, 2)), OCA_OK);
    bool ok = peer_wait(&p, PEER_EXP(&p, OCA_EDGE_SENT, OCA_SIGNAL_TRACES), 2, 5000) &&
              peer_wait(&p, PEER_EXP(&p, OCA_EDGE_SEND_FAILED, OCA_SIGNAL_METRICS), 2, 5000) &&
              peer_wait(&p, PEER_EXP(&p, OCA_EDGE_SEND_FAILED, OCA_SIGNAL_LOGS), 2, 5000);
    char *log = oca_test_capture_end(&cap);
    assert_true(ok);
    assert_int_equal(p.rx.fake.n, 1);
    assert_int_equal(p.rx.fake.got[0]->signal, OCA_SIGNAL_TRACES);
    /* (The helper logs one failure a second: the 404 of the logs is counted, its line held back.) */
    if (!strstr(log, "no URL for metrics: set endpoint or metrics_endpoint"))
        fail_msg("log: %s", log);
    free(log);
    peer_stop(&p);
}

static void test_400_is_permanent(void **state)
{
    (void)state;
    struct peer p;
    peer_start(&p, &oca_otlphttp_exporter, "endpoint: http://127.0.0.1:PORT\n" QUICK);
    char *log = peer_refused_for_good(&p, OCA_SIGNAL_METRICS, 5, OCA_ERR_INVALID);
    /* The receiver's google.rpc.Status (protobuf, as the request was) gives the message. */
    if (!strstr(log, "/v1/metrics responded with HTTP 400: "))
        fail_msg("log: %s", log);
    free(log);
    peer_stop(&p);
}

static void test_503_retry_after(void **state)
{
    (void)state;
    struct peer p;
    peer_start(&p, &oca_otlphttp_exporter, "endpoint: http://127.0.0.1:PORT\nencoding: json\n" QUICK);
    peer_retried_after_delay(&p, OCA_SIGNAL_TRACES, 2, OCA_ERR_MEMORY_LIMIT);  /* 503 with Retry-After: 1 */
    peer_stop(&p);
}

static void test_validation(void **state)
{
    (void)state;
    const struct oca_component_type *t = &oca_otlphttp_exporter;
    const char *path = "exporters.otlphttp";
    oca_test_expect_invalid(t, path, "{}", "exporters.otlphttp.endpoint: endpoint (or traces_endpoint, metrics_endpoint "
                                       "and logs_endpoint) must be set");
    oca_test_expect_invalid(t, path, "endpoint: collector:4318", "exporters.otlphttp.endpoint: \"collector:4318\": expected an http");
    oca_test_expect_invalid(t, path, "logs_endpoint: \"http://c/a b\"", "exporters.otlphttp.logs_endpoint: ");
    oca_test_expect_invalid(t, path, "endpoint: http://c\nheaders: {x: \"a\\nb\"}", "exporters.otlphttp.headers: the value of x");
    /* compression_params.level, as the Collector's: within the coding's range, none takes none. */
    oca_test_expect_invalid(t, path, "endpoint: http://c\ncompression_params: {level: 12}",
                            "exporters.otlphttp.compression_params.level: gzip levels are 1 to 9, not 12");
    oca_test_expect_invalid(t, path, "endpoint: http://c\ncompression: none\ncompression_params: {level: 1}",
                            "exporters.otlphttp.compression_params.level: a level is not supported for compression none");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_signal_arrives_as_sent),
        cmocka_unit_test(test_signal_urls),
        cmocka_unit_test(test_400_is_permanent),
        cmocka_unit_test(test_503_retry_after),
        cmocka_unit_test(test_validation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
