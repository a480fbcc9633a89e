/* The health_check extension, as the Collector's: an HTTP endpoint for liveness and readiness
 * probes that answers 200 {"status":"Server available",...} while every pipeline runs and 503
 * {"status":"Server not available",...} while the agent starts or shuts down (agent/status.h).
 * Extensions start before and stop after the pipelines, so it answers during the whole run. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "agent/status.h"
#include "base/buf.h"
#include "base/errors.h"
#include "base/mem.h"
#include "config/diag.h"
#include "config/fields.h"
#include "net/http_server.h"
#include "pipeline/component.h"

struct response_body_config {
    char *healthy;
    char *unhealthy;
};

struct health_check_config {
    struct oca_http_server_config server;
    char *path;
    struct response_body_config response_body;
    bool response_body_present;
};

static const struct oca_field response_body_fields[] = {
    OCA_FIELD_STRING(struct response_body_config, healthy, "", "Body of the 200 answer."),
    OCA_FIELD_STRING(struct response_body_config, unhealthy, "", "Body of the 503 answer."),
    OCA_FIELD_END,
};

static const struct oca_field health_check_fields[] = {
    OCA_HTTP_SERVER_FIELDS(struct health_check_config, server, "localhost:13133"),
    OCA_FIELD_STRING(struct health_check_config, path, "/",
                     "Path that answers; one ending in / also answers every path below it (Go's "
                     "ServeMux rule, as the Collector), so the default answers on any path."),
    OCA_FIELD_OPT_SECTION(struct health_check_config, response_body, struct response_body_config,
                          response_body_fields, response_body_present,
                          "Fixed bodies (text/plain) instead of the JSON status; off unless written."),
    OCA_FIELD_END,
};

struct health_check {
    struct oca_component *self;
    const struct health_check_config *cfg;
    struct oca_http_server *srv;        /* from start until closed */
    bool closing;
    struct oca_waiters waiters;         /* shutdown callers, called once the server is closed */
};

#define HDR(n, v) { n, sizeof(n) - 1, v, sizeof(v) - 1 }

static const struct oca_http_header json_headers[] = { HDR("content-type", "application/json") };
static const struct oca_http_header text_headers[] = { HDR("content-type", "text/plain; charset=utf-8") };

static int health_check_validate(const void *config, struct oca_diag *diag)
{
    const struct health_check_config *cfg = config;
    int err = oca_http_server_config_validate(&cfg->server, NULL, diag);
    if (!cfg->path || cfg->path[0] != '/') {
        oca_diag_field_error(diag, "path", "must start with /");
        err = OCA_ERR_CONFIG;
    }
    return err;
}

static bool path_matches(const char *pattern, const char *path)
{
    size_t n = strlen(pattern);
    if (n > 0 && pattern[n - 1] == '/')
        return strncmp(path, pattern, n) == 0;
    return strcmp(path, pattern) == 0;
}

/* Digits of a fraction with the trailing zeros cut, and no dot when nothing is left. */
static void put_fraction(struct oca_buf *b, uint64_t frac, int digits)
{
    char text[16];
    snprintf(text, sizeof(text), "%0*llu", digits, (unsigned long long)frac);
    int n = digits;
    while (n > 0 && text[n - 1] == '0')
        n--;
    if (n > 0) {
        oca_buf_putc(b, '.');
        oca_buf_append(b, text, (size_t)n);
    }
}

/* A duration as Go's time.Duration.String() writes it ("49.0132518s", "1h2m0.5s", "750ms"), which
 * is what the Collector's uptime field holds. */
static void put_go_duration(struct oca_buf *b, uint64_t ns)
{
    if (ns < 1000) {
        oca_buf_printf(b, "%lluns", (unsigned long long)ns);
    } else if (ns < 1000000) {
        oca_buf_printf(b, "%llu", (unsigned long long)(ns / 1000));
        put_fraction(b, ns % 1000, 3);
        oca_buf_puts(b, "\xc2\xb5s");
    } else if (ns < 1000000000) {
        oca_buf_printf(b, "%llu", (unsigned long long)(ns / 1000000));
        put_fraction(b, ns % 1000000, 6);
        oca_buf_puts(b, "ms");
    } else {
        uint64_t s = ns / 1000000000, h = s / 3600, m = s / 60 % 60;
        if (h)
            oca_buf_printf(b, "%lluh", (unsigned long long)h);
        if (h || m)
            oca_buf_printf(b, "%llum", (unsigned long long)m);
        oca_buf_printf(b, "%llu", (unsigned long long)(s % 60));
        put_fraction(b, ns % 1000000000, 9);
        oca_buf_putc(b, 's');
    }
}

/* RFC 3339 with nanoseconds, trailing zeros cut, in UTC: Go's encoding of a time.Time. */
static void put_rfc3339(struct oca_buf *b, uint64_t unix_ns)
{
    time_t sec = (time_t)(unix_ns / 1000000000);
    struct tm tm;
    gmtime_r(&sec, &tm);
    char text[32];
    strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S", &tm);
    oca_buf_puts(b, text);
    put_fraction(b, unix_ns % 1000000000, 9);
    oca_buf_putc(b, 'Z');
}

static void answer(struct health_check *hc, struct oca_http_stream *s)
{
    bool ready = oca_status_get() == OCA_STATUS_READY;
    int status = ready ? 200 : 503;
    if (hc->cfg->response_body_present) {
        const char *body = ready ? hc->cfg->response_body.healthy : hc->cfg->response_body.unhealthy;
        body = body ? body : "";
        oca_http_respond(s, status, text_headers, 1, body, strlen(body));
        return;
    }
    struct oca_buf b = { 0 };
    if (ready) {
        oca_buf_puts(&b, "{\"status\":\"Server available\",\"upSince\":\"");
        put_rfc3339(&b, oca_status_ready_since_unix_ns());
        oca_buf_puts(&b, "\",\"uptime\":\"");
        put_go_duration(&b, uv_hrtime() - oca_status_ready_since_hrtime());
        oca_buf_puts(&b, "\"}");
    } else {
        /* Go's zero time.Time, as the Collector writes it. */
        oca_buf_puts(&b, "{\"status\":\"Server not available\",\"upSince\":\"0001-01-01T00:00:00Z\","
                         "\"uptime\":\"\"}");
    }
    oca_http_respond(s, status, json_headers, 1, b.data, b.len);
    oca_buf_free(&b);
}

/* Any method gets the status, as in the Collector (probes use GET, some HEAD). */
static void on_headers(struct oca_http_stream *s)
{
    struct health_check *hc = oca_http_stream_handler_data(s);
    if (!path_matches(hc->cfg->path, oca_http_stream_path(s))) {
        static const char body[] = "404 page not found\n";
        oca_http_respond(s, 404, text_headers, 1, body, sizeof(body) - 1);
        return;
    }
    answer(hc, s);
}

static void on_end(struct oca_http_stream *s, const uint8_t *body, size_t len)
{
    (void)s; (void)body; (void)len;
}

static const struct oca_http_handler handler = {
    .on_headers = on_headers,
    .on_end = on_end,
};

static int health_check_create(struct oca_component *self, struct oca_diag *diag)
{
    (void)diag;
    struct health_check *hc = oca_xcalloc(1, sizeof(*hc));
    hc->self = self;
    hc->cfg = self->config;
    self->state = hc;
    return OCA_OK;
}

static int health_check_start(struct oca_component *self, uv_loop_t *loop)
{
    struct health_check *hc = self->state;
    hc->srv = oca_http_server_new(loop, &hc->cfg->server, &handler, hc, self->id);
    return oca_http_server_start(hc->srv);
}

static void on_server_closed(struct oca_http_server *srv, void *arg)
{
    struct health_check *hc = arg;
    oca_http_server_free(srv);
    hc->srv = NULL;
    hc->closing = false;
    oca_waiters_notify(&hc->waiters, hc->self);
}

static void health_check_shutdown(struct oca_component *self, oca_done_cb done)
{
    struct health_check *hc = self->state;
    oca_waiters_add(&hc->waiters, done);
    if (hc->closing)
        return;
    if (!hc->srv) {
        oca_waiters_notify(&hc->waiters, hc->self);
        return;
    }
    hc->closing = true;
    oca_http_server_close(hc->srv, on_server_closed, hc);
}

static void health_check_destroy(struct oca_component *self)
{
    struct health_check *hc = self->state;
    if (!hc)
        return;
    free(hc->waiters.cbs);
    free(hc);
    self->state = NULL;
}

const struct oca_component_type oca_health_check_extension = {
    .name = "health_check",
    .kind = OCA_EXTENSION,
    .config_size = sizeof(struct health_check_config),
    .fields = health_check_fields,
    .doc = "Answers HTTP probes: 200 while the pipelines run, 503 while the agent starts or stops.",
    .validate = health_check_validate,
    .create = health_check_create,
    .start = health_check_start,
    .shutdown = health_check_shutdown,
    .destroy = health_check_destroy,
};
