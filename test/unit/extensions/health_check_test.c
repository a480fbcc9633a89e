/* Tests of extensions/health_check.c on a real loop with raw HTTP/1.1 over 127.0.0.1: 503 while the
 * agent starts, 200 with the Collector's JSON once it is ready, 503 again while it stops; a custom
 * path answers only there (404 elsewhere), the default "/" answers everywhere; fixed bodies;
 * validation (path, tls); a port in use fails the start and shutdown still completes. */
#include "testutil.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "agent/status.h"
#include "base/errors.h"
#include "base/log.h"
#include "config/diag.h"
#include "pipeline/component.h"
#include "rawhttp.h"

extern const struct oca_component_type oca_health_check_extension;

struct harness {
    struct oca_test_harness t;
    uint16_t port;
};

/* "endpoint: 127.0.0.1:<port>" plus keys, as YAML. */
static void config_text(char *out, size_t size, uint16_t port, const char *keys)
{
    snprintf(out, size, "endpoint: 127.0.0.1:%u\n%s", (unsigned)port, keys);
}

static void start(struct harness *h, const char *keys)
{
    memset(h, 0, sizeof(*h));
    h->port = rawhttp_free_port();
    assert_true(h->port > 0);
    char yaml[512];
    config_text(yaml, sizeof(yaml), h->port, keys);
    oca_test_harness_init(&h->t, &oca_health_check_extension, "health_check", yaml, "extensions.health_check");
    assert_int_equal(oca_health_check_extension.start(&h->t.comp, &h->t.loop), OCA_OK);
}

static bool both_done(void *arg) { return ((struct oca_test_harness *)arg)->done_calls == 2; }

static void stop(struct harness *h)
{
    oca_health_check_extension.shutdown(&h->t.comp, oca_test_on_done);
    oca_health_check_extension.shutdown(&h->t.comp, oca_test_on_done);   /* twice is harmless */
    assert_true(oca_test_run_until(&h->t.loop, both_done, &h->t, 10000));
    oca_test_harness_free(&h->t);
    oca_status_set(OCA_STATUS_STARTING);
}

/* Decodes keys and validates them; the number of errors (messages in diag). */
static int configure(struct oca_arena *a, const char *keys, struct oca_diag *diag)
{
    char yaml[512];
    config_text(yaml, sizeof(yaml), 0, keys);
    void *cfg;
    int errors = oca_test_decode_config(a, &oca_health_check_extension, yaml, "extensions.health_check", diag, &cfg);
    if (errors == 0)
        oca_health_check_extension.validate(cfg, diag);
    return diag->errors;
}

static bool matches(const char *text, const char *pattern)
{
    regex_t re;
    assert_int_equal(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
    bool ok = regexec(&re, text, 0, NULL, 0) == 0;
    regfree(&re);
    return ok;
}

static int get(struct harness *h, const char *path, struct rawhttp_response *r)
{
    return rawhttp_get(&h->t.loop, h->port, path, r);
}

static void test_status_follows_the_agent_state(void **state)
{
    (void)state;
    struct harness h;
    oca_status_set(OCA_STATUS_STARTING);
    start(&h, "");
    struct rawhttp_response r;
    char ctype[64];

    assert_int_equal(get(&h, "/", &r), 503);
    assert_true(rawhttp_header(&r, "content-type", ctype, sizeof(ctype)));
    assert_string_equal(ctype, "application/json");
    assert_string_equal(r.body,
                        "{\"status\":\"Server not available\",\"upSince\":\"0001-01-01T00:00:00Z\",\"uptime\":\"\"}");
    oca_buf_free(&r.raw);

    oca_status_set(OCA_STATUS_READY);
    assert_int_equal(get(&h, "/", &r), 200);
    if (!matches(r.body, "^\\{\"status\":\"Server available\",\"upSince\":\"20[0-9]{2}-[01][0-9]-[0-3][0-9]T"
                         "[0-2][0-9]:[0-5][0-9]:[0-6][0-9](\\.[0-9]{1,9})?Z\",\"uptime\":\"[0-9]+(\\.[0-9]+)?"
                         "(ns|\xc2\xb5s|ms|s)\"\\}$"))
        fail_msg("unexpected body: %s", r.body);
    oca_buf_free(&r.raw);

    /* Every method gets the status, as in the Collector. */
    static const char head[] = "HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    static const char post[] = "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi";
    assert_int_equal(rawhttp_exchange(&h.t.loop, h.port, head, &r), 0);
    assert_int_equal(r.status, 200);
    oca_buf_free(&r.raw);
    assert_int_equal(rawhttp_exchange(&h.t.loop, h.port, post, &r), 0);
    assert_int_equal(r.status, 200);
    oca_buf_free(&r.raw);

    oca_status_set(OCA_STATUS_STOPPING);
    assert_int_equal(get(&h, "/", &r), 503);
    assert_non_null(strstr(r.body, "\"Server not available\""));
    oca_buf_free(&r.raw);
    stop(&h);
}

static void test_custom_path_answers_only_there(void **state)
{
    (void)state;
    struct harness h;
    oca_status_set(OCA_STATUS_READY);
    start(&h, "path: /health/status");
    struct rawhttp_response r;
    assert_int_equal(get(&h, "/health/status", &r), 200);
    oca_buf_free(&r.raw);
    assert_int_equal(get(&h, "/health/status?verbose=1", &r), 200);
    oca_buf_free(&r.raw);
    static const char *const elsewhere[] = { "/", "/health", "/health/status/x", "/health/statusx", "/metrics" };
    for (size_t i = 0; i < sizeof(elsewhere) / sizeof(elsewhere[0]); i++) {
        assert_int_equal(get(&h, elsewhere[i], &r), 404);
        oca_buf_free(&r.raw);
    }
    stop(&h);
}

static void test_path_ending_in_slash_answers_below_it(void **state)
{
    (void)state;
    struct harness h;
    oca_status_set(OCA_STATUS_READY);
    start(&h, "path: /probe/");
    struct rawhttp_response r;
    assert_int_equal(get(&h, "/probe/", &r), 200);
    oca_buf_free(&r.raw);
    assert_int_equal(get(&h, "/probe/live", &r), 200);
    oca_buf_free(&r.raw);
    assert_int_equal(get(&h, "/other", &r), 404);
    oca_buf_free(&r.raw);
    stop(&h);

    oca_status_set(OCA_STATUS_READY);
    start(&h, "");
    assert_int_equal(get(&h, "/anything/at/all", &r), 200);
    oca_buf_free(&r.raw);
    stop(&h);
}

static void test_fixed_response_bodies(void **state)
{
    (void)state;
    struct harness h;
    oca_status_set(OCA_STATUS_STARTING);
    start(&h, "response_body:\n  healthy: I'm OK\n  unhealthy: not yet");
    struct rawhttp_response r;
    assert_int_equal(get(&h, "/", &r), 503);
    assert_string_equal(r.body, "not yet");
    oca_buf_free(&r.raw);
    oca_status_set(OCA_STATUS_READY);
    assert_int_equal(get(&h, "/", &r), 200);
    assert_string_equal(r.body, "I'm OK");
    oca_buf_free(&r.raw);
    stop(&h);
}

static void test_validation(void **state)
{
    struct oca_test_fixture *f = *state;
    assert_int_equal(configure(f->arena, "path: health", &f->diag), 1);
    assert_non_null(strstr(f->diag.text.data, "path: must start with /"));
    oca_diag_free(&f->diag);
    oca_diag_init(&f->diag);
    assert_true(configure(f->arena, "check_collector_pipeline: {enabled: true}", &f->diag) > 0);
    assert_non_null(strstr(f->diag.text.data, "check_collector_pipeline"));
    oca_diag_free(&f->diag);
    oca_diag_init(&f->diag);
    assert_int_equal(configure(f->arena, "tls: {cert_file: /x.crt}", &f->diag), 1);
    assert_non_null(strstr(f->diag.text.data, "tls.key_file"));
    oca_diag_free(&f->diag);
    oca_diag_init(&f->diag);
    assert_int_equal(configure(f->arena, "", &f->diag), 0);
}

static void test_port_in_use_fails_start_and_shutdown_completes(void **state)
{
    (void)state;
    struct harness first, second;
    oca_status_set(OCA_STATUS_READY);
    start(&first, "");

    memset(&second, 0, sizeof(second));
    second.port = first.port;
    char yaml[128];
    config_text(yaml, sizeof(yaml), second.port, "");
    oca_test_harness_init(&second.t, &oca_health_check_extension, "health_check/2", yaml, "extensions.health_check/2");
    oca_log_set_level(OCA_LOG_NONE);
    assert_int_not_equal(oca_health_check_extension.start(&second.t.comp, &second.t.loop), OCA_OK);
    oca_log_set_level(OCA_LOG_INFO);
    stop(&second);

    oca_status_set(OCA_STATUS_READY);
    struct rawhttp_response r;
    assert_int_equal(get(&first, "/", &r), 200);
    oca_buf_free(&r.raw);
    stop(&first);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_follows_the_agent_state),
        cmocka_unit_test(test_custom_path_answers_only_there),
        cmocka_unit_test(test_path_ending_in_slash_answers_below_it),
        cmocka_unit_test(test_fixed_response_bodies),
        OCA_TEST_WITH_FIXTURE(test_validation),
        cmocka_unit_test(test_port_in_use_fails_start_and_shutdown_completes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
