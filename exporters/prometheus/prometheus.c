/* The prometheus exporter: keeps the metrics it is given as Prometheus series (state.c) and serves
 * them on GET /metrics in the text exposition format 0.0.4, so Prometheus scrapes one agent instead
 * of every app. Keys as the Collector's prometheusexporter, plus max_series. Series that are not
 * updated for metric_expiration are removed by a timer, whether or not anyone scrapes. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>
#include <zlib.h>

#include "base/buf.h"
#include "base/errors.h"
#include "base/log.h"
#include "base/mem.h"
#include "config/diag.h"
#include "config/fields.h"
#include "exporters/prometheus/state.h"
#include "net/http_server.h"
#include "pipeline/batch.h"
#include "pipeline/component.h"
#include "pipeline/counters.h"

struct r2t_config {
    bool enabled;
};

struct prom_config {
    struct oca_http_server_config server;
    char *namespace;
    struct oca_strmap const_labels;
    bool send_timestamps;
    int64_t metric_expiration;
    bool enable_open_metrics;
    bool add_metric_suffixes;
    struct r2t_config resource_to_telemetry_conversion;
    uint32_t max_series;
};

static const struct oca_field r2t_fields[] = {
    OCA_FIELD_BOOL(struct r2t_config, enabled, "false",
                   "Turn every resource attribute into a label of every series (not only job and instance)."),
    OCA_FIELD_END,
};

static const struct oca_field prom_fields[] = {
    OCA_HTTP_SERVER_FIELDS(struct prom_config, server, "localhost:8889"),
    OCA_FIELD_STRING(struct prom_config, namespace, NULL,
                     "Prefix of every metric name (\"myapp\" makes http_requests_total myapp_http_requests_total)."),
    OCA_FIELD_STRING_MAP(struct prom_config, const_labels, "Labels added to every series."),
    OCA_FIELD_BOOL(struct prom_config, send_timestamps, "false",
                   "Write each sample with its point's timestamp (else Prometheus uses the scrape time)."),
    OCA_FIELD_DURATION(struct prom_config, metric_expiration, "5m", OCA_NS_PER_S, 366 * 24 * 3600 * OCA_NS_PER_S,
                       "A series not updated for this long is removed (checked on a timer, not only on scrape)."),
    OCA_FIELD_BOOL(struct prom_config, enable_open_metrics, "false",
                   "Serve OpenMetrics 1.0 when the scraper asks for it. Not implemented yet: must stay false."),
    OCA_FIELD_BOOL(struct prom_config, add_metric_suffixes, "true",
                   "Add unit suffixes (_seconds, _bytes, _ratio ...) and _total on counters, per OTel's "
                   "Prometheus compatibility spec."),
    OCA_FIELD_SECTION(struct prom_config, resource_to_telemetry_conversion, struct r2t_config, r2t_fields,
                      "Resource attributes as labels."),
    OCA_FIELD_U32(struct prom_config, max_series, "100000", 1, 100000000,
                  "Most series held at once; points of further new series are dropped and counted, so "
                  "memory stays bounded whatever label values the apps send."),
    OCA_FIELD_END,
};

/* st comes first: the unit test reads the store through self->state to watch expiry. */
struct prom_exporter {
    struct oca_prom_state *st;
    struct oca_component *self;
    const struct prom_config *cfg;
    struct oca_http_server *srv;
    uv_timer_t timer;
    bool timer_open, started, shutting_down;
    struct oca_waiters waiters;
};

#define HDR(n, v) { n, sizeof(n) - 1, v, sizeof(v) - 1 }

static int prom_validate(const void *cfg_, struct oca_diag *diag)
{
    const struct prom_config *cfg = cfg_;
    int err = oca_http_server_config_validate(&cfg->server, NULL, diag);
    if (cfg->enable_open_metrics) {
        oca_diag_field_error(diag, "enable_open_metrics", "OpenMetrics output is not implemented yet; "
                             "the text format 0.0.4 is served");
        err = OCA_ERR_CONFIG;
    }
    return err;
}

static int prom_create(struct oca_component *self, struct oca_diag *diag)
{
    (void)diag;
    struct prom_exporter *px = oca_xcalloc(1, sizeof(*px));
    px->self = self;
    px->cfg = self->config;
    struct oca_prom_state_options o = {
        .namespace_ = px->cfg->namespace,
        .add_suffixes = px->cfg->add_metric_suffixes,
        .resource_to_telemetry = px->cfg->resource_to_telemetry_conversion.enabled,
        .send_timestamps = px->cfg->send_timestamps,
        .const_labels = &px->cfg->const_labels,
        .max_series = px->cfg->max_series,
        .who = self->id,
    };
    px->st = oca_prom_state_new(&o);
    self->state = px;
    return OCA_OK;
}

static int prom_consume(struct oca_component *self, enum oca_signal sig, struct oca_batch *batch)
{
    struct prom_exporter *px = self->state;
    if (sig != OCA_SIGNAL_METRICS)
        return OCA_ERR_UNSUPPORTED;
    size_t taken = oca_prom_state_add(px->st, batch->metrics, uv_hrtime());
    oca_counters_add(self->counters, OCA_EDGE_SENT, sig, taken);
    if (batch->items > taken)
        oca_counters_add(self->counters, OCA_EDGE_DROPPED, sig, batch->items - taken);
    return OCA_OK;
}

/* Whether an Accept-Encoding value allows gzip (a "gzip" or "*" coding whose q is not 0). */
static bool accepts_gzip(const char *v)
{
    while (v && *v) {
        while (*v == ' ' || *v == ',')
            v++;
        const char *end = v + strcspn(v, ",");
        size_t name_len = strcspn(v, ";, ");
        bool match = (name_len == 4 && strncasecmp(v, "gzip", 4) == 0) || (name_len == 1 && *v == '*');
        if (match) {
            const char *q = strstr(v, "q=");
            if (!q || q > end || strtod(q + 2, NULL) > 0)
                return true;
        }
        v = end;
    }
    return false;
}

/* gzip of in, appended to out; false when zlib fails (the caller sends it uncompressed). */
static bool gzip_into(const struct oca_buf *in, struct oca_buf *out)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return false;
    size_t bound = deflateBound(&z, in->len);
    oca_buf_reserve(out, bound);
    z.next_in = (Bytef *)in->data;
    z.avail_in = (uInt)in->len;
    z.next_out = (Bytef *)out->data;
    z.avail_out = (uInt)bound;
    int rc = deflate(&z, Z_FINISH);
    out->len = z.total_out;
    deflateEnd(&z);
    return rc == Z_STREAM_END;
}

static void on_headers(struct oca_http_stream *s)
{
    struct prom_exporter *px = oca_http_stream_handler_data(s);
    if (strcmp(oca_http_stream_path(s), "/metrics") != 0) {
        static const struct oca_http_header h[] = { HDR("content-type", "text/plain; charset=utf-8") };
        static const char body[] = "404 page not found: the metrics are at /metrics\n";
        oca_http_respond(s, 404, h, 1, body, sizeof(body) - 1);
        return;
    }
    if (strcmp(oca_http_stream_method(s), "GET") != 0) {
        static const struct oca_http_header h[] = { HDR("content-type", "text/plain; charset=utf-8"),
                                                    HDR("allow", "GET") };
        static const char body[] = "405 method not allowed: use GET\n";
        oca_http_respond(s, 405, h, 2, body, sizeof(body) - 1);
        return;
    }
    oca_prom_state_expire(px->st, uv_hrtime(), px->cfg->metric_expiration);
    struct oca_buf text = { 0 }, zipped = { 0 };
    oca_prom_state_render(px->st, &text);
    static const struct oca_http_header plain[] = {
        HDR("content-type", "text/plain; version=0.0.4; charset=utf-8"),
    };
    static const struct oca_http_header gz[] = {
        HDR("content-type", "text/plain; version=0.0.4; charset=utf-8"),
        HDR("content-encoding", "gzip"),
        HDR("vary", "Accept-Encoding"),
    };
    if (text.len > 0 && accepts_gzip(oca_http_stream_header(s, "accept-encoding")) && gzip_into(&text, &zipped))
        oca_http_respond(s, 200, gz, 3, zipped.data, zipped.len);
    else
        oca_http_respond(s, 200, plain, 1, text.data ? text.data : "", text.len);
    oca_buf_free(&text);
    oca_buf_free(&zipped);
}

static void on_end(struct oca_http_stream *s, const uint8_t *body, size_t len)
{
    (void)s; (void)body; (void)len;
}

static const struct oca_http_handler handler = {
    .on_headers = on_headers,
    .on_end = on_end,
};

static void on_expire_tick(uv_timer_t *t)
{
    struct prom_exporter *px = t->data;
    size_t n = oca_prom_state_expire(px->st, uv_hrtime(), px->cfg->metric_expiration);
    if (n)
        oca_log_debug(px->self->id, "%zu series expired", n);
}

static int prom_start(struct oca_component *self, uv_loop_t *loop)
{
    struct prom_exporter *px = self->state;
    if (px->started || px->shutting_down)
        return OCA_OK;
    px->started = true;
    /* Expiry runs at a quarter of the expiration, so a series lives at most 1.25 times it. */
    uint64_t ms = (uint64_t)(px->cfg->metric_expiration / OCA_NS_PER_MS / 4);
    uv_timer_init(loop, &px->timer);
    px->timer.data = px;
    px->timer_open = true;
    uv_timer_start(&px->timer, on_expire_tick, ms ? ms : 1, ms ? ms : 1);
    px->srv = oca_http_server_new(loop, &px->cfg->server, &handler, px, self->id);
    int err = oca_http_server_start(px->srv);
    if (err)
        return err;
    oca_log_info(self->id, "serving Prometheus metrics on http://%s:%u/metrics",
                 *px->cfg->server.endpoint.host ? px->cfg->server.endpoint.host : "0.0.0.0",
                 (unsigned)oca_http_server_port(px->srv));
    return OCA_OK;
}

static void finish_if_idle(struct prom_exporter *px)
{
    if (px->shutting_down && !px->timer_open && !px->srv)
        oca_waiters_notify(&px->waiters, px->self);
}

static void on_timer_closed(uv_handle_t *h)
{
    struct prom_exporter *px = h->data;
    px->timer_open = false;
    finish_if_idle(px);
}

static void on_server_closed(struct oca_http_server *srv, void *arg)
{
    struct prom_exporter *px = arg;
    oca_http_server_free(srv);
    px->srv = NULL;
    finish_if_idle(px);
}

static void prom_shutdown(struct oca_component *self, oca_done_cb done)
{
    struct prom_exporter *px = self->state;
    oca_waiters_add(&px->waiters, done);
    if (!px->shutting_down) {
        px->shutting_down = true;
        if (px->timer_open) {
            uv_timer_stop(&px->timer);
            uv_close((uv_handle_t *)&px->timer, on_timer_closed);
        }
        if (px->srv) {
            oca_http_server_close(px->srv, on_server_closed, px);
            return;
        }
    }
    finish_if_idle(px);
}

static void prom_destroy(struct oca_component *self)
{
    struct prom_exporter *px = self->state;
    if (!px)
        return;
    oca_prom_state_free(px->st);
    free(px->waiters.cbs);
    free(px);
    self->state = NULL;
}

const struct oca_component_type oca_prometheus_exporter = {
    .name = "prometheus",
    .kind = OCA_EXPORTER,
    .signals = OCA_METRICS,
    .config_size = sizeof(struct prom_config),
    .fields = prom_fields,
    .doc = "Serves the metrics it receives for Prometheus to scrape (GET /metrics, text format 0.0.4).",
    .validate = prom_validate,
    .create = prom_create,
    .start = prom_start,
    .consume = prom_consume,
    .shutdown = prom_shutdown,
    .destroy = prom_destroy,
};
