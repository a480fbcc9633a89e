/* Tests of exporters/otlp/wire.c: the gRPC target and the otlphttp URLs built from the config, the
 * partial_success of export responses (protobuf and JSON), the message of error bodies
 * (google.rpc.Status as protobuf or JSON, or plain text). */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "exporters/otlp/otlp.h"
#include "google/rpc/status.pb-c.h"

static void expect_grpc_url(const char *endpoint, bool insecure, const char *want)
{
    char why[256] = "", *url;
    int err = oca_otlpexp_grpc_url(endpoint, insecure, &url, why, sizeof(why));
    if (err != OCA_OK)
        fail_msg("%s: %s", endpoint, why);
    assert_string_equal(url, want);
    free(url);
}

static void expect_grpc_url_error(const char *endpoint, const char *why_part)
{
    char why[256] = "", *url;
    assert_int_equal(oca_otlpexp_grpc_url(endpoint, true, &url, why, sizeof(why)), OCA_ERR_CONFIG);
    assert_null(url);
    if (!strstr(why, why_part))
        fail_msg("%s: \"%s\" lacks \"%s\"", endpoint ? endpoint : "(null)", why, why_part);
}

static void test_grpc_url(void **state)
{
    (void)state;
    expect_grpc_url("localhost:4317", true, "http://localhost:4317");
    expect_grpc_url("localhost:4317", false, "https://localhost:4317");
    /* As the Collector: http:// does not turn TLS off, only tls.insecure does; https:// turns it on. */
    expect_grpc_url("http://collector:4317", false, "https://collector:4317");
    expect_grpc_url("http://collector:4317", true, "http://collector:4317");
    expect_grpc_url("HTTPS://collector:4317", true, "https://collector:4317");
    expect_grpc_url("[::1]:4317", true, "http://[::1]:4317");
    expect_grpc_url("10.0.0.1:1", true, "http://10.0.0.1:1");

    expect_grpc_url_error(NULL, "must be set");
    expect_grpc_url_error("", "must be set");
    expect_grpc_url_error("localhost", "expected host:port");
    expect_grpc_url_error(":4317", "expected host:port");
    expect_grpc_url_error("http://", "expected host:port");
    expect_grpc_url_error("a/b:4317", "expected host:port");
    expect_grpc_url_error("::1:4317", "expected host:port");
    expect_grpc_url_error("[::1]4317", "expected [ipv6]:port");
    expect_grpc_url_error("h:0", "from 1 to 65535");
    expect_grpc_url_error("h:65536", "from 1 to 65535");
    expect_grpc_url_error("h:12ab", "from 1 to 65535");
    expect_grpc_url_error("h:", "from 1 to 65535");
    expect_grpc_url_error("h:-1", "from 1 to 65535");
}

static void test_http_url_ok(void **state)
{
    (void)state;
    char why[256];
    assert_true(oca_otlpexp_http_url_ok("http://collector:4318", why, sizeof(why)));
    assert_true(oca_otlpexp_http_url_ok("https://collector/otlp/v1/traces?x=1", why, sizeof(why)));
    assert_true(oca_otlpexp_http_url_ok("HTTP://[::1]:4318", why, sizeof(why)));
    assert_false(oca_otlpexp_http_url_ok("collector:4318", why, sizeof(why)));
    assert_non_null(strstr(why, "expected an http:// or https:// URL"));
    assert_false(oca_otlpexp_http_url_ok("ftp://collector", why, sizeof(why)));
    assert_false(oca_otlpexp_http_url_ok("http://", why, sizeof(why)));
    assert_non_null(strstr(why, "no host"));
    assert_false(oca_otlpexp_http_url_ok("http:///v1/traces", why, sizeof(why)));
    assert_false(oca_otlpexp_http_url_ok("http://collector/a b", why, sizeof(why)));
    assert_non_null(strstr(why, "blanks or control characters"));
    assert_false(oca_otlpexp_http_url_ok("http://collector/\r\nX-Injected: 1", why, sizeof(why)));
}

static void expect_signal_url(const char *endpoint, const char *override, enum oca_signal sig, const char *want)
{
    char *url = oca_otlpexp_signal_url(endpoint, override, sig);
    if (!want) {
        assert_null(url);
        return;
    }
    assert_non_null(url);
    assert_string_equal(url, want);
    free(url);
}

static void test_signal_url(void **state)
{
    (void)state;
    expect_signal_url("http://c:4318", NULL, OCA_SIGNAL_TRACES, "http://c:4318/v1/traces");
    expect_signal_url("http://c:4318/", NULL, OCA_SIGNAL_METRICS, "http://c:4318/v1/metrics");
    expect_signal_url("https://gw/otlp", NULL, OCA_SIGNAL_LOGS, "https://gw/otlp/v1/logs");
    /* An override is used exactly as written: no /v1/<signal> is added. */
    expect_signal_url("http://c:4318", "http://other:9/ingest", OCA_SIGNAL_TRACES, "http://other:9/ingest");
    expect_signal_url(NULL, "http://other:9/ingest", OCA_SIGNAL_LOGS, "http://other:9/ingest");
    expect_signal_url("http://c:4318", "", OCA_SIGNAL_LOGS, "http://c:4318/v1/logs");
    expect_signal_url(NULL, NULL, OCA_SIGNAL_TRACES, NULL);
    expect_signal_url("", NULL, OCA_SIGNAL_TRACES, NULL);
}

static uint8_t *pack_trace_response(int64_t rejected, const char *message, size_t *len)
{
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse r;
    opentelemetry__proto__collector__trace__v1__export_trace_service_response__init(&r);
    Opentelemetry__Proto__Collector__Trace__V1__ExportTracePartialSuccess p;
    opentelemetry__proto__collector__trace__v1__export_trace_partial_success__init(&p);
    p.rejected_spans = rejected;
    p.error_message = (char *)(uintptr_t)message;
    r.partial_success = &p;
    return oca_test_pack(&r.base, len);
}

static void test_parse_partial_proto(void **state)
{
    (void)state;
    struct oca_otlpexp_partial p;
    size_t len;
    uint8_t *body = pack_trace_response(3, "span 2 has no name\nand more", &len);
    assert_int_equal(oca_otlpexp_parse_partial(OCA_SIGNAL_TRACES, OCA_ENCODING_PROTO, body, len, &p), OCA_OK);
    assert_int_equal(p.rejected, 3);
    /* Control characters from the backend never reach the log line as such. */
    assert_string_equal(p.message, "span 2 has no name and more");
    free(body);

    /* A plain success: an empty body, or a response without partial_success. */
    assert_int_equal(oca_otlpexp_parse_partial(OCA_SIGNAL_LOGS, OCA_ENCODING_PROTO, NULL, 0, &p), OCA_OK);
    assert_int_equal(p.rejected, 0);
    assert_string_equal(p.message, "");
    Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceResponse lr;
    opentelemetry__proto__collector__logs__v1__export_logs_service_response__init(&lr);
    Opentelemetry__Proto__Collector__Logs__V1__ExportLogsPartialSuccess lp;
    opentelemetry__proto__collector__logs__v1__export_logs_partial_success__init(&lp);
    lp.rejected_log_records = 7;
    lr.partial_success = &lp;
    body = oca_test_pack(&lr.base, &len);
    assert_int_equal(oca_otlpexp_parse_partial(OCA_SIGNAL_LOGS, OCA_ENCODING_PROTO, body, len, &p), OCA_OK);
    assert_int_equal(p.rejected, 7);
    assert_string_equal(p.message, "");
    free(body);

    static const uint8_t garbage[] = { 0x0a, 0x05, 0x08 };
    assert_int_equal(oca_otlpexp_parse_partial(OCA_SIGNAL_TRACES, OCA_ENCODING_PROTO, garbage, sizeof(garbage), &p),
                     OCA_ERR_DECODE);
}

static void test_parse_partial_json(void **state)
{
    (void)state;
    struct oca_otlpexp_partial p;
    const char *j = "{\"partialSuccess\":{\"rejectedDataPoints\":\"2\",\"errorMessage\":\"NaN is not allowed\"}}";
    assert_int_equal(oca_otlpexp_parse_partial(OCA_SIGNAL_METRICS, OCA_ENCODING_JSON, (const uint8_t *)j, strlen(j), &p),
                     OCA_OK);
    assert_int_equal(p.rejected, 2);
    assert_string_equal(p.message, "NaN is not allowed");
    j = "{\"partial_success\":{\"rejected_spans\":5}}";
    assert_int_equal(oca_otlpexp_parse_partial(OCA_SIGNAL_TRACES, OCA_ENCODING_JSON, (const uint8_t *)j, strlen(j), &p),
                     OCA_OK);
    assert_int_equal(p.rejected, 5);
    j = "{}";
    assert_int_equal(oca_otlpexp_parse_partial(OCA_SIGNAL_LOGS, OCA_ENCODING_JSON, (const uint8_t *)j, strlen(j), &p),
                     OCA_OK);
    assert_int_equal(p.rejected, 0);
    j = "{\"partialSuccess\":";
    assert_int_equal(oca_otlpexp_parse_partial(OCA_SIGNAL_LOGS, OCA_ENCODING_JSON, (const uint8_t *)j, strlen(j), &p),
                     OCA_ERR_JSON);
}

static void test_log_partial(void **state)
{
    (void)state;
    struct oca_test_capture cap;
    oca_test_capture_start(&cap);
    struct oca_otlpexp_partial none = { 0 };
    oca_otlpexp_log_partial("otlp/a", OCA_SIGNAL_TRACES, &none);
    struct oca_otlpexp_partial some = { .rejected = 4, .message = "too old" };
    oca_otlpexp_log_partial("otlp/a", OCA_SIGNAL_TRACES, &some);
    char *out = oca_test_capture_end(&cap);
    assert_non_null(strstr(out, "otlp/a"));
    assert_non_null(strstr(out, "partial success: the backend rejected 4 spans: too old"));
    assert_null(strchr(strchr(out, '\n') + 1, '\n'));   /* one line: nothing for `none` */
    free(out);
}

static void test_status_message(void **state)
{
    (void)state;
    char out[64];
    Google__Rpc__Status st;
    google__rpc__status__init(&st);
    st.code = 3;
    st.message = (char *)(uintptr_t)"trace_id is not 16 bytes";
    size_t len;
    uint8_t *body = oca_test_pack(&st.base, &len);
    oca_otlpexp_status_message("application/x-protobuf", body, len, out, sizeof(out));
    assert_string_equal(out, "trace_id is not 16 bytes");
    /* No content type: a Status is still recognised. */
    oca_otlpexp_status_message(NULL, body, len, out, sizeof(out));
    assert_string_equal(out, "trace_id is not 16 bytes");
    free(body);

    const char *j = "{\"code\": 3, \"message\": \"bad \\\"json\\\" body\"}";
    oca_otlpexp_status_message("application/json; charset=utf-8", (const uint8_t *)j, strlen(j), out, sizeof(out));
    assert_string_equal(out, "bad \"json\" body");

    const char *t = "upstream connect error\r\n";
    oca_otlpexp_status_message("text/plain", (const uint8_t *)t, strlen(t), out, sizeof(out));
    assert_string_equal(out, "upstream connect error");
    /* JSON that is no Status is shown as it is. */
    j = "{\"error\":\"nope\"}";
    oca_otlpexp_status_message("application/json", (const uint8_t *)j, strlen(j), out, sizeof(out));
    assert_string_equal(out, "{\"error\":\"nope\"}");
    /* Long bodies are cut to the buffer. */
    char big[200];
    memset(big, 'x', sizeof(big));
    oca_otlpexp_status_message("text/html", (const uint8_t *)big, sizeof(big), out, sizeof(out));
    assert_int_equal(strlen(out), sizeof(out) - 1);
    oca_otlpexp_status_message("text/plain", NULL, 0, out, sizeof(out));
    assert_string_equal(out, "");
}

static void test_grpc_code_name(void **state)
{
    (void)state;
    char buf[16];
    assert_string_equal(oca_otlpexp_grpc_code_name(3, buf), "InvalidArgument");
    assert_string_equal(oca_otlpexp_grpc_code_name(14, buf), "Unavailable");
    assert_string_equal(oca_otlpexp_grpc_code_name(16, buf), "Unauthenticated");
    assert_string_equal(oca_otlpexp_grpc_code_name(99, buf), "Code(99)");
    assert_string_equal(oca_otlpexp_grpc_code_name(-1, buf), "Code(-1)");
}

static void test_media_type(void **state)
{
    (void)state;
    assert_true(oca_otlpexp_media_type_is("application/json", "application/json"));
    assert_true(oca_otlpexp_media_type_is(" Application/JSON; charset=utf-8", "application/json"));
    assert_false(oca_otlpexp_media_type_is("application/jsonx", "application/json"));
    assert_false(oca_otlpexp_media_type_is(NULL, "application/json"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grpc_url),
        cmocka_unit_test(test_http_url_ok),
        cmocka_unit_test(test_signal_url),
        cmocka_unit_test(test_parse_partial_proto),
        cmocka_unit_test(test_parse_partial_json),
        cmocka_unit_test(test_log_partial),
        cmocka_unit_test(test_status_message),
        cmocka_unit_test(test_grpc_code_name),
        cmocka_unit_test(test_media_type),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
