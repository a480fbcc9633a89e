/* The agent's own metrics endpoint; see telemetry.h. Names are the Collector's as its default
 * endpoint (service.telemetry.metrics.address) prints them: no `_total` or unit suffixes, so
 * dashboards and alerts written for the Collector work unchanged. Series ocagent adds itself
 * (otelcol_ocagent_*) follow Prometheus' own naming rules. */
#include "agent/telemetry.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/budget.h"
#include "base/errors.h"
#include "base/log.h"
#include "base/mem.h"
#include "net/http_server.h"
#include "pipeline/counters.h"

struct oca_telemetry {
    struct oca_http_server_config cfg;      /* the server keeps a pointer to it */
    struct oca_http_server *srv;
    uint64_t start_hrtime;
    void (*done)(void *arg);
    void *done_arg;
};

#define HDR(n, v) { n, sizeof(n) - 1, v, sizeof(v) - 1 }

static const struct oca_http_header exposition_headers[] = {
    HDR("content-type", "text/plain; version=0.0.4; charset=utf-8"),
};
static const struct oca_http_header not_found_headers[] = {
    HDR("content-type", "text/plain; charset=utf-8"),
};
static const struct oca_http_header not_allowed_headers[] = {
    HDR("content-type", "text/plain; charset=utf-8"),
    HDR("allow", "GET"),
};

static void put_family(struct oca_buf *out, const char *name, const char *type, const char *help)
{
    oca_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void render_process(struct oca_buf *out, uint64_t start_hrtime)
{
    put_family(out, "otelcol_process_uptime", "counter", "Uptime of the process (seconds)");
    oca_buf_printf(out, "otelcol_process_uptime %.6f\n", (double)(uv_hrtime() - start_hrtime) / 1e9);

    size_t rss = 0;
    if (uv_resident_set_memory(&rss) == 0) {
        put_family(out, "otelcol_process_memory_rss", "gauge", "Total physical memory (resident set size, bytes)");
        oca_buf_printf(out, "otelcol_process_memory_rss %zu\n", rss);
    }

    uv_rusage_t ru;
    if (uv_getrusage(&ru) == 0) {
        double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                     (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
        put_family(out, "otelcol_process_cpu_seconds", "counter", "Total CPU user and system time in seconds");
        oca_buf_printf(out, "otelcol_process_cpu_seconds %.6f\n", cpu);
    }
}

static void render_budget(struct oca_buf *out)
{
    put_family(out, "otelcol_ocagent_memory_budget_used_bytes", "gauge",
               "Bytes of received data held now (bodies being decoded, batches in the pipelines), "
               "counted against the agent's memory budget.");
    oca_buf_printf(out, "otelcol_ocagent_memory_budget_used_bytes %zu\n", oca_budget_used());
    put_family(out, "otelcol_ocagent_memory_budget_limit_bytes", "gauge",
               "The agent's memory budget in bytes (0: no limit).");
    oca_buf_printf(out, "otelcol_ocagent_memory_budget_limit_bytes %zu\n", oca_budget_limit());
    put_family(out, "otelcol_ocagent_memory_budget_peak_bytes", "gauge",
               "The most bytes ever held at once against the memory budget.");
    oca_buf_printf(out, "otelcol_ocagent_memory_budget_peak_bytes %zu\n", oca_budget_peak());
    put_family(out, "otelcol_ocagent_memory_budget_refusals_total", "counter",
               "Requests refused (retryably, or as too large) because the memory budget was spent.");
    oca_buf_printf(out, "otelcol_ocagent_memory_budget_refusals_total %zu\n", oca_budget_refusals());
}

void oca_telemetry_render(struct oca_buf *out, uint64_t start_hrtime)
{
    oca_counters_render(out);
    render_process(out, start_hrtime);
    render_budget(out);
}

/* Every request is answered from its headers: nothing here needs a body. */
static void on_headers(struct oca_http_stream *s)
{
    struct oca_telemetry *t = oca_http_stream_handler_data(s);
    if (strcmp(oca_http_stream_path(s), "/metrics") != 0) {
        static const char body[] = "404 page not found: the metrics are at /metrics\n";
        oca_http_respond(s, 404, not_found_headers, 1, body, sizeof(body) - 1);
        return;
    }
    if (strcmp(oca_http_stream_method(s), "GET") != 0) {
        static const char body[] = "405 method not allowed: use GET\n";
        oca_http_respond(s, 405, not_allowed_headers, 2, body, sizeof(body) - 1);
        return;
    }
    struct oca_buf out = { 0 };
    oca_telemetry_render(&out, t->start_hrtime);
    oca_http_respond(s, 200, exposition_headers, 1, out.data, out.len);
    oca_buf_free(&out);
}

static void on_end(struct oca_http_stream *s, const uint8_t *body, size_t len)
{
    (void)s; (void)body; (void)len;
}

static const struct oca_http_handler handler = {
    .on_headers = on_headers,
    .on_end = on_end,
};

static void free_telemetry(struct oca_telemetry *t)
{
    free(t->cfg.endpoint.host);
    free(t->cfg.endpoint.text);
    free(t);
}

static void on_server_closed(struct oca_http_server *srv, void *arg)
{
    struct oca_telemetry *t = arg;
    void (*done)(void *) = t->done;
    void *done_arg = t->done_arg;
    oca_http_server_free(srv);
    free_telemetry(t);
    if (done)
        done(done_arg);
}

/* The endpoint's limits are not configurable (the Collector has none either): a scrape is one small
 * GET, so a few connections and short timeouts are plenty. */
static void set_limits(struct oca_http_server_config *c)
{
    c->max_connections = 64;
    c->max_concurrent_streams = 16;
    c->max_header_bytes = 64 * 1024;
    c->max_request_body_size = 64 * 1024;
    c->read_header_timeout_ns = 10 * OCA_NS_PER_S;
    c->read_timeout_ns = 10 * OCA_NS_PER_S;
    c->idle_timeout_ns = 60 * OCA_NS_PER_S;
}

int oca_telemetry_start(uv_loop_t *loop, const struct oca_endpoint *address, struct oca_telemetry **out)
{
    struct oca_telemetry *t = oca_xcalloc(1, sizeof(*t));
    t->cfg.endpoint.host = oca_xstrdup(address->host ? address->host : "");
    t->cfg.endpoint.text = oca_xstrdup(address->text ? address->text : "");
    t->cfg.endpoint.port = address->port;
    set_limits(&t->cfg);
    t->start_hrtime = uv_hrtime();
    t->srv = oca_http_server_new(loop, &t->cfg, &handler, t, "telemetry");
    int err = oca_http_server_start(t->srv);
    if (err) {
        /* Whatever the server did open is closed on the loop; t goes with it. */
        *out = NULL;
        oca_http_server_close(t->srv, on_server_closed, t);
        return err;
    }
    const char *host = *t->cfg.endpoint.host ? t->cfg.endpoint.host : "0.0.0.0";
    bool v6 = strchr(host, ':') != NULL;
    oca_log_info(NULL, "serving the agent's own metrics on http://%s%s%s:%u/metrics", v6 ? "[" : "", host,
                 v6 ? "]" : "", (unsigned)oca_http_server_port(t->srv));
    *out = t;
    return OCA_OK;
}

uint16_t oca_telemetry_port(const struct oca_telemetry *t) { return oca_http_server_port(t->srv); }

void oca_telemetry_close(struct oca_telemetry *t, void (*done)(void *arg), void *arg)
{
    t->done = done;
    t->done_arg = arg;
    oca_http_server_close(t->srv, on_server_closed, t);
}
