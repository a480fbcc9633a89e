/* Tests net/http_server.c's share of the listener: the keys OCA_HTTP_SERVER_FIELDS adds to a
 * receiver's table (names, defaults, bounds, the optional tls section), the cross-field rules of
 * oca_http_server_config_validate, and the request accessors as a handler sees them. */
#include "netutil.h"

#include "base/arena.h"
#include "config/decode.h"
#include "config/yaml_tree.h"

struct proto_config {
    struct oca_http_server_config server;
    uint32_t max_recv_msg_size_mib;
};

static const struct oca_field proto_fields[] = {
    OCA_HTTP_SERVER_FIELDS(struct proto_config, server, "localhost:4317"),
    OCA_FIELD_U32(struct proto_config, max_recv_msg_size_mib, "4", 1, 4096, "test"),
    OCA_FIELD_END,
};

static struct proto_config cfg;

static int decode(struct oca_test_fixture *f, const char *yaml)
{
    memset(&cfg, 0, sizeof(cfg));
    oca_diag_free(&f->diag);
    oca_diag_init(&f->diag);
    const struct oca_ynode *node = NULL;
    if (yaml) {
        node = oca_yaml_parse(f->arena, "t.yaml", yaml, strlen(yaml), &f->diag);
        assert_non_null(node);
    }
    return oca_config_decode(f->arena, proto_fields, &cfg, node, "receivers.otlp.protocols.grpc", &f->diag);
}

static void test_defaults(void **state)
{
    struct oca_test_fixture *f = *state;
    assert_int_equal(decode(f, NULL), 0);
    assert_string_equal(cfg.server.endpoint.host, "localhost");
    assert_int_equal(cfg.server.endpoint.port, 4317);
    assert_false(cfg.server.tls.present);
    assert_null(cfg.server.tls.cert_file);
    assert_int_equal(cfg.server.tls.min_version, OCA_TLS_1_2);
    assert_int_equal(cfg.server.max_connections, 1024);
    assert_int_equal(cfg.server.max_concurrent_streams, 100);
    assert_int_equal(cfg.server.max_header_bytes, 1024 * 1024);
    assert_int_equal(cfg.server.max_request_body_size, 64u * 1024 * 1024);
    assert_int_equal(cfg.server.read_header_timeout_ns, 10 * OCA_NS_PER_S);
    assert_int_equal(cfg.server.read_timeout_ns, 30 * OCA_NS_PER_S);
    assert_int_equal(cfg.server.idle_timeout_ns, 60 * OCA_NS_PER_S);
    assert_int_equal(cfg.max_recv_msg_size_mib, 4);
    assert_int_equal(oca_http_server_config_validate(&cfg.server, "protocols.grpc", &f->diag), OCA_OK);
    /* Every key is listed with its default for `ocagent components`. */
    struct oca_buf out = { 0 };
    oca_config_describe(proto_fields, 0, &out);
    assert_non_null(strstr(out.data, "read_header_timeout"));
    assert_non_null(strstr(out.data, "min_version"));
    oca_buf_free(&out);
}

static void test_written_values(void **state)
{
    struct oca_test_fixture *f = *state;
    assert_int_equal(decode(f, "endpoint: \":9000\"\n"
                               "tls:\n  cert_file: /c.pem\n  key_file: /k.pem\n  client_ca_file: /ca.pem\n"
                               "  min_version: \"1.3\"\n"
                               "max_connections: 10\nmax_concurrent_streams: 5\nmax_header_bytes: 64KiB\n"
                               "max_request_body_size: 1MiB\nread_header_timeout: 2s\nread_timeout: 1m\n"
                               "idle_timeout: 500ms\nmax_recv_msg_size_mib: 16\n"),
                     0);
    assert_string_equal(cfg.server.endpoint.host, "");
    assert_int_equal(cfg.server.endpoint.port, 9000);
    assert_true(cfg.server.tls.present);
    assert_string_equal(cfg.server.tls.client_ca_file, "/ca.pem");
    assert_int_equal(cfg.server.tls.min_version, OCA_TLS_1_3);
    assert_int_equal(cfg.server.max_connections, 10);
    assert_int_equal(cfg.server.max_header_bytes, 65536);
    assert_int_equal(cfg.server.read_timeout_ns, 60 * OCA_NS_PER_S);
    assert_int_equal(cfg.server.idle_timeout_ns, 500 * OCA_NS_PER_MS);
    assert_int_equal(oca_http_server_config_validate(&cfg.server, "protocols.grpc", &f->diag), OCA_OK);
}

static void test_bad_values(void **state)
{
    struct oca_test_fixture *f = *state;
    assert_int_equal(decode(f, "max_connections: 0\n"), 1);
    assert_non_null(strstr(f->diag.text.data, "max_connections"));
    assert_int_equal(decode(f, "tls:\n  min_version: \"1.4\"\n"), 1);
    assert_non_null(strstr(f->diag.text.data, "min_version"));
    assert_int_equal(decode(f, "tls:\n  cert: x\n"), 1);
    assert_non_null(strstr(f->diag.text.data, "cert_file"));
}

static void test_validate(void **state)
{
    struct oca_test_fixture *f = *state;
    assert_int_equal(decode(f, "tls:\n  cert_file: /c.pem\n"), 0);
    assert_int_equal(oca_http_server_config_validate(&cfg.server, "protocols.grpc", &f->diag), OCA_ERR_CONFIG);
    assert_non_null(strstr(f->diag.text.data, "protocols.grpc.tls.key_file: required when tls.cert_file is set"));
    assert_int_equal(decode(f, "tls:\n  key_file: /k.pem\n  client_ca_file: /ca.pem\n"), 0);
    assert_int_equal(oca_http_server_config_validate(&cfg.server, NULL, &f->diag), OCA_ERR_CONFIG);
    assert_non_null(strstr(f->diag.text.data, "tls.cert_file: required when tls.key_file is set"));
    assert_non_null(strstr(f->diag.text.data, "tls.client_ca_file: needs tls.cert_file"));
    assert_int_equal(decode(f, "tls:\n"), 0);
    assert_true(cfg.server.tls.present);
    assert_int_equal(oca_http_server_config_validate(&cfg.server, NULL, &f->diag), OCA_ERR_CONFIG);
    assert_non_null(strstr(f->diag.text.data, "tls: needs cert_file and key_file"));
}

/* The accessors, from a handler that looks at every header. */
struct seen {
    char method[16], path[64], query[64], peer[64], first_ua[32];
    size_t n_headers;
    bool tls;
    void *user_back;
};

static void acc_headers(struct oca_http_stream *s)
{
    struct seen *w = oca_http_stream_handler_data(s);
    snprintf(w->method, sizeof(w->method), "%s", oca_http_stream_method(s));
    snprintf(w->path, sizeof(w->path), "%s", oca_http_stream_path(s));
    snprintf(w->query, sizeof(w->query), "%s", oca_http_stream_query(s));
    snprintf(w->peer, sizeof(w->peer), "%s", oca_http_stream_peer(s));
    const char *ua = oca_http_stream_header(s, "USER-AGENT");
    snprintf(w->first_ua, sizeof(w->first_ua), "%s", ua ? ua : "");
    w->n_headers = oca_http_stream_header_count(s);
    for (size_t i = 0; i < w->n_headers; i++) {
        const struct oca_http_header *h = oca_http_stream_header_at(s, i);
        for (size_t k = 0; k < h->name_len; k++)
            assert_false(h->name[k] >= 'A' && h->name[k] <= 'Z');
    }
    assert_null(oca_http_stream_header_at(s, w->n_headers));
    w->tls = oca_http_stream_is_tls(s);
    oca_http_stream_set_user(s, w);
    w->user_back = oca_http_stream_user(s);
    assert_ptr_equal(oca_http_stream_loop(s), oca_http_stream_loop(s));
    /* Out of order calls are refused. */
    assert_int_equal(oca_http_send_data(s, "x", 1), OCA_ERR_INVALID);
    assert_int_equal(oca_http_send_end(s, NULL, 0), OCA_ERR_INVALID);
    assert_int_equal(oca_http_respond(s, 204, NULL, 0, NULL, 0), OCA_OK);
    assert_int_equal(oca_http_respond(s, 200, NULL, 0, NULL, 0), OCA_ERR_INVALID);
}

static const struct oca_http_handler acc = { .on_headers = acc_headers };

static void test_accessors(void **state)
{
    (void)state;
    struct nt_server t;
    memset(&t, 0, sizeof(t));
    assert_int_equal(uv_loop_init(&t.loop), 0);
    nt_default_config(&t.cfg);
    struct seen w = { 0 };
    nt_server_start(&t, &acc, &w);
    struct nt_client c;
    assert_true(nt_connect(&c, &t.loop, oca_http_server_port(t.srv)));
    nt_sends(&c, "DELETE /a/b?x=1&y=%20 HTTP/1.1\r\nUser-Agent: first\r\nuser-agent: second\r\nX-Y: z\r\n\r\n");
    assert_true(nt_wait_for(&c, "\r\n\r\n", 1));
    assert_non_null(strstr(c.in.data, "HTTP/1.1 204 No Content\r\n"));
    assert_null(strstr(c.in.data, "content-length"));
    assert_string_equal(w.method, "DELETE");
    assert_string_equal(w.path, "/a/b");
    assert_string_equal(w.query, "x=1&y=%20");
    assert_string_equal(w.first_ua, "first");
    assert_int_equal(w.n_headers, 3);
    assert_false(w.tls);
    assert_ptr_equal(w.user_back, &w);
    assert_non_null(strstr(w.peer, "127.0.0.1:"));
    nt_close(&c);
    nt_server_stop(&t);
}

/* A config filled by code may leave limits at zero: they mean the defaults, not "nothing". */
static void test_zero_limits_mean_defaults(void **state)
{
    (void)state;
    struct nt_server t;
    memset(&t, 0, sizeof(t));
    assert_int_equal(uv_loop_init(&t.loop), 0);
    t.cfg.endpoint.host = "127.0.0.1";
    t.cfg.endpoint.text = "127.0.0.1:0";
    nt_server_start(&t, NULL, NULL);
    struct nt_client c;
    assert_true(nt_connect(&c, &t.loop, oca_http_server_port(t.srv)));
    nt_sends(&c, "POST /z HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc");
    assert_true(nt_wait_for(&c, "POST /z 3 bytes", 1));
    nt_close(&c);
    nt_server_stop(&t);
}

static void test_bind_errors(void **state)
{
    (void)state;
    struct nt_server a, b;
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    assert_int_equal(uv_loop_init(&a.loop), 0);
    nt_default_config(&a.cfg);
    nt_server_start(&a, NULL, NULL);
    /* The same port twice fails with OCA_ERR_IO and a reason. */
    b.cfg = a.cfg;
    b.cfg.endpoint.port = oca_http_server_port(a.srv);
    struct oca_http_server *srv = oca_http_server_new(&a.loop, &b.cfg, &nt_handler, &b, "dup");
    struct oca_test_capture cap;
    oca_test_capture_start(&cap);
    assert_int_equal(oca_http_server_start(srv), OCA_ERR_IO);
    char *log = oca_test_capture_end(&cap);
    assert_non_null(strstr(log, "cannot listen on"));
    free(log);
    oca_http_server_close(srv, nt_server_closed, &b);
    assert_true(oca_test_run_until(&a.loop, nt_server_is_closed, &b, NT_WAIT_MS));
    oca_http_server_free(srv);
    /* A name that does not resolve. */
    b.closed = false;
    b.cfg.endpoint.host = "no-such-host.invalid";
    srv = oca_http_server_new(&a.loop, &b.cfg, &nt_handler, &b, "dns");
    oca_test_capture_start(&cap);
    assert_int_equal(oca_http_server_start(srv), OCA_ERR_CONFIG);
    log = oca_test_capture_end(&cap);
    free(log);
    oca_http_server_close(srv, nt_server_closed, &b);
    assert_true(oca_test_run_until(&a.loop, nt_server_is_closed, &b, NT_WAIT_MS));
    oca_http_server_free(srv);
    /* Closing a server that never started calls done at once. */
    srv = oca_http_server_new(&a.loop, &b.cfg, &nt_handler, &b, "never");
    b.closed = false;
    oca_http_server_close(srv, nt_server_closed, &b);
    assert_true(b.closed);
    oca_http_server_free(srv);
    nt_server_stop(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults, oca_test_fixture_setup, oca_test_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_written_values, oca_test_fixture_setup, oca_test_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_bad_values, oca_test_fixture_setup, oca_test_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_validate, oca_test_fixture_setup, oca_test_fixture_teardown),
        cmocka_unit_test(test_accessors),
        cmocka_unit_test(test_zero_limits_mean_defaults),
        cmocka_unit_test(test_bind_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
