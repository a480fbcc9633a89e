/* Tests of receivers/otlp/otlp.c: the config keys and their defaults (a null protocol body means
 * "on with defaults"), validation as the Collector's (at least one protocol, URL paths), what each
 * listener serves, and the lifecycle: shutdown without start, twice, and after a failed start on a
 * port that is taken. */
#include "harness.h"

static void test_defaults_of_null_sections(void **state)
{
    (void)state;
    struct oca_arena *a = oca_arena_new(1024);
    void *cfgp;
    struct oca_diag diag;
    assert_int_equal(h_config(a, "protocols:\n  grpc:\n  http:\n", &cfgp, &diag), OCA_OK);
    oca_diag_free(&diag);
    const struct oca_otlp_config *cfg = cfgp;
    assert_true(cfg->protocols.grpc_present);
    assert_true(cfg->protocols.http_present);
    assert_string_equal(cfg->protocols.grpc.server.endpoint.host, "localhost");
    assert_int_equal(cfg->protocols.grpc.server.endpoint.port, 4317);
    assert_string_equal(cfg->protocols.http.server.endpoint.host, "localhost");
    assert_int_equal(cfg->protocols.http.server.endpoint.port, 4318);
    assert_int_equal(cfg->protocols.grpc.max_recv_msg_size_mib, 4);
    assert_false(cfg->protocols.grpc.include_metadata);
    assert_string_equal(cfg->protocols.http.traces_url_path, "/v1/traces");
    assert_string_equal(cfg->protocols.http.metrics_url_path, "/v1/metrics");
    assert_string_equal(cfg->protocols.http.logs_url_path, "/v1/logs");
    assert_int_equal(cfg->protocols.http.cors.allowed_origins.n, 0);
    assert_int_equal(cfg->protocols.http.cors.max_age, 0);
    assert_int_equal(cfg->protocols.http.server.max_request_body_size, 64u << 20);

    assert_int_equal(h_config(a, "protocols:\n  http: {}\n", &cfgp, &diag), OCA_OK);
    oca_diag_free(&diag);
    cfg = cfgp;
    assert_false(cfg->protocols.grpc_present);
    assert_true(cfg->protocols.http_present);
    oca_arena_destroy(a);
}

static void expect_invalid(const char *yaml, const char *message)
{
    struct oca_arena *a = oca_arena_new(1024);
    void *cfg;
    struct oca_diag diag;
    assert_int_not_equal(h_config(a, yaml, &cfg, &diag), OCA_OK);
    if (!diag.text.data || !strstr(diag.text.data, message))
        fail_msg("expected \"%s\" in: %s", message, diag.text.data ? diag.text.data : "(nothing)");
    oca_diag_free(&diag);
    oca_arena_destroy(a);
}

static void test_validation(void **state)
{
    (void)state;
    expect_invalid("{}", "must specify at least one protocol when using the OTLP receiver");
    expect_invalid("protocols: {}\n", "must specify at least one protocol when using the OTLP receiver");
    expect_invalid("protocols:\n  grpc:\n    endpont: x:1\n", "endpont");
    expect_invalid("protocols:\n  thrift:\n", "thrift");
    expect_invalid("protocols:\n  http:\n    traces_url_path: \"/a b\"\n", "protocols.http.traces_url_path");
    expect_invalid("protocols:\n  http:\n    logs_url_path: /v1/traces\n", "same path as traces_url_path");
    expect_invalid("protocols:\n  http:\n    logs_url_path: v1/traces\n", "same path as traces_url_path");
    expect_invalid("protocols:\n  grpc:\n    max_recv_msg_size_mib: 0\n", "max_recv_msg_size_mib");
    expect_invalid("protocols:\n  http:\n    cors:\n      max_age: -1\n", "max_age");
}

static void on_done(struct oca_component *self)
{
    (*(int *)self->owner)++;
}

static void test_listeners_and_lifecycle_without_start(void **state)
{
    (void)state;
    struct oca_arena *a = oca_arena_new(1024);
    void *cfg;
    struct oca_diag diag;
    assert_int_equal(h_config(a, "protocols:\n  grpc:\n  http:\n    metrics_url_path: m\n    cors:\n"
                                 "      allowed_origins: ['*']\n", &cfg, &diag), OCA_OK);
    oca_diag_free(&diag);
    int done = 0;
    struct oca_component c = { .type = &oca_otlp_receiver, .id = "otlp", .config = cfg, .owner = &done };
    assert_int_equal(oca_otlp_receiver.create(&c, NULL), OCA_OK);
    struct oca_otlp_rx *rx = c.state;
    assert_int_equal(rx->n_listeners, 2);
    assert_string_equal(rx->listeners[0].name, "grpc");
    assert_string_equal(rx->listeners[0].paths[OCA_SIGNAL_METRICS], "/v1/metrics");
    assert_null(rx->listeners[0].cors);
    assert_int_equal(rx->listeners[0].router.max_recv_msg_size, 4u << 20);
    assert_int_equal(rx->listeners[0].router.n_methods, 3);
    assert_string_equal(rx->listeners[1].paths[OCA_SIGNAL_METRICS], "/m");
    assert_string_equal(rx->listeners[1].paths[OCA_SIGNAL_LOGS], "/v1/logs");
    assert_non_null(rx->listeners[1].cors);
    assert_true(oca_otlp_cors_origin_allowed(rx->listeners[1].cors, "http://anything:1"));
    assert_int_equal(rx->listeners[1].router.max_recv_msg_size, 4u << 20);
    oca_otlp_receiver.shutdown(&c, on_done);
    assert_int_equal(done, 1);
    oca_otlp_receiver.shutdown(&c, on_done);
    assert_int_equal(done, 2);
    oca_otlp_receiver.destroy(&c);
    oca_arena_destroy(a);
}

static void test_start_fails_on_a_taken_port(void **state)
{
    (void)state;
    struct h_rx first;
    h_start(&first, "protocols:\n  http:\n    endpoint: 127.0.0.1:0\n", 0);
    char yaml[128];
    snprintf(yaml, sizeof(yaml), "protocols:\n  grpc:\n    endpoint: 127.0.0.1:%u\n", h_port(&first, 0));
    struct oca_arena *a = oca_arena_new(1024);
    void *cfg;
    struct oca_diag diag;
    assert_int_equal(h_config(a, yaml, &cfg, &diag), OCA_OK);
    oca_diag_free(&diag);
    int done = 0;
    struct oca_component c = { .type = &oca_otlp_receiver, .id = "otlp/2", .config = cfg, .owner = &done,
                               .loop = &first.loop };
    assert_int_equal(oca_otlp_receiver.create(&c, NULL), OCA_OK);
    assert_int_not_equal(oca_otlp_receiver.start(&c, &first.loop), OCA_OK);
    oca_otlp_receiver.shutdown(&c, on_done);
    for (int i = 0; i < 100000 && done == 0; i++)
        uv_run(&first.loop, UV_RUN_ONCE);
    assert_int_equal(done, 1);
    oca_otlp_receiver.destroy(&c);
    oca_arena_destroy(a);
    h_stop(&first);
}

int main(void)
{
    oca_log_set_level(OCA_LOG_NONE);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_of_null_sections),
        cmocka_unit_test(test_validation),
        cmocka_unit_test(test_listeners_and_lifecycle_without_start),
        cmocka_unit_test(test_start_fails_on_a_taken_port),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
