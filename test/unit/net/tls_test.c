/* Tests net/tls.c with certificates the openssl CLI makes at test time (a CA, a server certificate
 * for localhost and 127.0.0.1, a client certificate) and curl and nghttp as clients: HTTP/1.1 and
 * HTTP/2 chosen by ALPN, mutual TLS refusing a client without a certificate, min_version, plain
 * text on a TLS port, a client that never finishes its handshake, and unusable key material. */
#include "netutil.h"

#include <unistd.h>

static char dir[64];
static char ca[96], cert[96], key[96], ccert[96], ckey[96], other_key[96];

static int make_certs(void **state)
{
    (void)state;
    oca_test_make_dir(dir, sizeof(dir), "ocagent-tls");
    char cmd[2048];
    snprintf(cmd, sizeof(cmd),
             "(cd %s && "
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key "
             "-out ca.pem -days 2 -subj /CN=ocagent-test-ca && "
             "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout server.key "
             "-out server.csr -subj /CN=localhost && "
             "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > san.ext && "
             "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem "
             "-days 2 -extfile san.ext && "
             "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout client.key "
             "-out client.csr -subj /CN=client && "
             "openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 2 && "
             "openssl genpkey -algorithm ec -pkeyopt ec_paramgen_curve:prime256v1 -out other.key"
             ") >/dev/null 2>&1",
             dir);
    if (system(cmd) != 0)
        return -1;
    snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
    snprintf(cert, sizeof(cert), "%s/server.pem", dir);
    snprintf(key, sizeof(key), "%s/server.key", dir);
    snprintf(ccert, sizeof(ccert), "%s/client.pem", dir);
    snprintf(ckey, sizeof(ckey), "%s/client.key", dir);
    snprintf(other_key, sizeof(other_key), "%s/other.key", dir);
    return access(cert, R_OK) == 0 && access(ccert, R_OK) == 0 ? 0 : -1;
}

static int remove_certs(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void setup_tls(struct nt_server *t, bool mtls)
{
    memset(t, 0, sizeof(*t));
    assert_int_equal(uv_loop_init(&t->loop), 0);
    nt_default_config(&t->cfg);
    t->cfg.tls.cert_file = cert;
    t->cfg.tls.key_file = key;
    t->cfg.tls.client_ca_file = mtls ? ca : NULL;
    t->cfg.tls.present = true;
}

/* curl against the server; returns the exit status, output in *out. */
static int curl(struct nt_server *t, const char *const *args, struct oca_buf *out)
{
    char url[64];
    snprintf(url, sizeof(url), "https://127.0.0.1:%u/tls", (unsigned)oca_http_server_port(t->srv));
    const char *argv[24] = { "curl", "-sS", "--max-time", "10", "--cacert", ca, "-w", "\\nversion=%{http_version}" };
    size_t n = 8;
    for (size_t i = 0; args && args[i]; i++)
        argv[n++] = args[i];
    argv[n++] = url;
    argv[n] = NULL;
    return nt_run(&t->loop, argv, out, 15000);
}

static void test_http1_and_h2_by_alpn(void **state)
{
    (void)state;
    struct nt_server t;
    setup_tls(&t, false);
    nt_server_start(&t, NULL, NULL);
    struct oca_buf out = { 0 };
    const char *h1[] = { "--http1.1", NULL };
    assert_int_equal(curl(&t, h1, &out), 0);
    assert_non_null(strstr(out.data, "GET /tls 0 bytes\nversion=1.1"));
    assert_int_equal(t.last_version, 1);
    oca_buf_free(&out);
    const char *h2[] = { "--http2", NULL };
    assert_int_equal(curl(&t, h2, &out), 0);
    assert_non_null(strstr(out.data, "GET /tls 0 bytes\nversion=2"));
    assert_int_equal(t.last_version, 2);
    oca_buf_free(&out);
    /* nghttp speaks only h2, chosen by ALPN. */
    char url[64];
    snprintf(url, sizeof(url), "https://localhost:%u/nghttp", (unsigned)oca_http_server_port(t.srv));
    const char *argv[] = { "nghttp", url, NULL };
    assert_int_equal(nt_run(&t.loop, argv, &out, 15000), 0);
    assert_non_null(strstr(out.data, "GET /nghttp 0 bytes"));
    oca_buf_free(&out);
    nt_server_stop(&t);
}

static void test_mtls(void **state)
{
    (void)state;
    struct nt_server t;
    setup_tls(&t, true);
    nt_server_start(&t, NULL, NULL);
    struct oca_buf out = { 0 };
    /* No client certificate: the handshake fails and no request reaches the handler. */
    assert_int_not_equal(curl(&t, NULL, &out), 0);
    assert_int_equal(t.headers, 0);
    struct oca_http_server_stats st;
    oca_http_server_get_stats(t.srv, &st);
    assert_true(st.tls_failures >= 1);
    oca_buf_free(&out);
    /* The CA-signed client certificate is accepted. */
    const char *with_cert[] = { "--cert", ccert, "--key", ckey, NULL };
    assert_int_equal(curl(&t, with_cert, &out), 0);
    assert_non_null(strstr(out.data, "GET /tls 0 bytes"));
    oca_buf_free(&out);
    const char *server_as_client[] = { "--cert", cert, "--key", key, NULL };
    /* The server certificate is also CA-signed, so it is accepted as a client certificate. */
    assert_int_equal(curl(&t, server_as_client, &out), 0);
    oca_buf_free(&out);
    nt_server_stop(&t);
}

static void test_min_version(void **state)
{
    (void)state;
    struct nt_server t;
    setup_tls(&t, false);
    t.cfg.tls.min_version = OCA_TLS_1_3;
    nt_server_start(&t, NULL, NULL);
    struct oca_buf out = { 0 };
    const char *tls12[] = { "--tls-max", "1.2", NULL };
    assert_int_not_equal(curl(&t, tls12, &out), 0);
    oca_buf_free(&out);
    const char *tls13[] = { "--tlsv1.3", NULL };
    assert_int_equal(curl(&t, tls13, &out), 0);
    oca_buf_free(&out);
    nt_server_stop(&t);
}

static void test_plaintext_on_tls_port(void **state)
{
    (void)state;
    struct nt_server t;
    setup_tls(&t, false);
    t.cfg.read_header_timeout_ns = 300 * OCA_NS_PER_MS;
    nt_server_start(&t, NULL, NULL);
    struct nt_client c, silent;
    assert_true(nt_connect(&c, &t.loop, oca_http_server_port(t.srv)));
    assert_true(nt_connect(&silent, &t.loop, oca_http_server_port(t.srv)));
    nt_sends(&c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_true(nt_wait_eof(&c, NT_WAIT_MS));
    assert_null(strstr(c.in.data ? c.in.data : "", "HTTP/1.1"));
    /* A client that never starts its handshake is cut by read_header_timeout. */
    assert_true(nt_wait_eof(&silent, NT_WAIT_MS));
    struct oca_http_server_stats st;
    oca_http_server_get_stats(t.srv, &st);
    assert_int_equal(st.tls_failures, 1);
    assert_int_equal(st.timeouts, 1);
    nt_close(&c);
    nt_close(&silent);
    /* Others are still served. */
    struct oca_buf out = { 0 };
    assert_int_equal(curl(&t, NULL, &out), 0);
    oca_buf_free(&out);
    nt_server_stop(&t);
}

static void test_bad_material(void **state)
{
    (void)state;
    struct nt_server t;
    struct oca_test_capture cap;
    /* Missing file. */
    setup_tls(&t, false);
    t.cfg.tls.cert_file = "/nonexistent/cert.pem";
    t.srv = oca_http_server_new(&t.loop, &t.cfg, &nt_handler, &t, "tls");
    oca_test_capture_start(&cap);
    assert_int_equal(oca_http_server_start(t.srv), OCA_ERR_CONFIG);
    char *log = oca_test_capture_end(&cap);
    assert_non_null(strstr(log, "tls.cert_file /nonexistent/cert.pem"));
    free(log);
    nt_server_stop(&t);
    /* A key that does not match the certificate. */
    setup_tls(&t, false);
    t.cfg.tls.key_file = other_key;
    t.srv = oca_http_server_new(&t.loop, &t.cfg, &nt_handler, &t, "tls");
    oca_test_capture_start(&cap);
    assert_int_equal(oca_http_server_start(t.srv), OCA_ERR_CONFIG);
    log = oca_test_capture_end(&cap);
    assert_non_null(strstr(log, "tls.key_file"));
    free(log);
    nt_server_stop(&t);
    /* A CA file without certificates. */
    setup_tls(&t, true);
    t.cfg.tls.client_ca_file = key;
    t.srv = oca_http_server_new(&t.loop, &t.cfg, &nt_handler, &t, "tls");
    oca_test_capture_start(&cap);
    assert_int_equal(oca_http_server_start(t.srv), OCA_ERR_CONFIG);
    log = oca_test_capture_end(&cap);
    assert_non_null(strstr(log, "tls.client_ca_file"));
    free(log);
    nt_server_stop(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http1_and_h2_by_alpn),
        cmocka_unit_test(test_mtls),
        cmocka_unit_test(test_min_version),
        cmocka_unit_test(test_plaintext_on_tls_port),
        cmocka_unit_test(test_bad_material),
    };
    return cmocka_run_group_tests(tests, make_certs, remove_certs);
}
