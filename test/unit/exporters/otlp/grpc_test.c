/* Tests of exporters/otlp/grpc.c (and the push exporter it embeds) against the project's otlp
 * receiver on the same loop:
 * every signal arrives as it was sent, with the configured headers as metadata, gzip, zstd or not; a
 * permanent refusal (InvalidArgument) is counted as failed after one call and logged in gRPC's
 * words; UNAVAILABLE with RetryInfo is retried after the delay the receiver asks for, not the
 * configured 10 ms; validation of the endpoint, the headers and the helper's rules. */
#include "peer.h"

extern const struct oca_component_type oca_otlp_exporter;

#define QUICK "retry_on_failure: {initial_interval: 10ms, max_interval: 10ms, randomization_factor: 0}\n"

static void test_every_signal_arrives_as_sent(void **state)
{
    (void)state;
    static const char *const settings[] = {
        "endpoint: 127.0.0.1:PORT\ntls: {insecure: true}\nheaders: {x-tenant: acme}\n" QUICK,
        "endpoint: http://127.0.0.1:PORT\ntls: {insecure: true}\ncompression: none\nheaders: {x-tenant: acme}\n" QUICK,
        "endpoint: 127.0.0.1:PORT\ntls: {insecure: true}\ncompression: zstd\nheaders: {x-tenant: acme}\n" QUICK,
    };
    for (size_t c = 0; c < sizeof(settings) / sizeof(settings[0]); c++) {
        struct peer p;
        peer_start(&p, &oca_otlp_exporter, settings[c]);
        peer_round_trip(&p);
        peer_stop(&p);
    }
}

static void test_permanent_error_is_not_retried(void **state)
{
    (void)state;
    struct peer p;
    peer_start(&p, &oca_otlp_exporter, "endpoint: 127.0.0.1:PORT\ntls: {insecure: true}\n" QUICK);
    char *log = peer_refused_for_good(&p, OCA_SIGNAL_TRACES, 4, OCA_ERR_INVALID);
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
    peer_retried_after_delay(&p, OCA_SIGNAL_LOGS, 2, OCA_ERR_MEMORY_LIMIT);    /* UNAVAILABLE + RetryInfo 1s */
    peer_stop(&p);
}

static void test_validation(void **state)
{
    (void)state;
    const struct oca_component_type *t = &oca_otlp_exporter;
    oca_test_expect_invalid(t, "exporters.otlp", "{}", "exporters.otlp.endpoint: endpoint must be set");
    oca_test_expect_invalid(t, "exporters.otlp", "endpoint: collector", "exporters.otlp.endpoint: \"collector\": expected host:port");
    oca_test_expect_invalid(t, "exporters.otlp", "endpoint: c:4317\nheaders: {\"a b\": x}",
                        "exporters.otlp.headers: \"a b\" is not a valid header name");
    oca_test_expect_invalid(t, "exporters.otlp", "endpoint: c:4317\nretry_on_failure: {max_elapsed_time: 1s, initial_interval: 2s}",
                        "max_elapsed_time");
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
