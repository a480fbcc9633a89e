/* The prometheus exporter: keeps the metrics it is given as Prometheus series (state.c) and serves
 * them on GET /metrics in the text exposition format 0.0.4 (OpenMetrics 1.0 when asked and enabled),
 * so Prometheus scrapes one agent instead of every app. Keys as the Collector's prometheusexporter,
 * plus max_series. Series that are not updated for metric_expiration are removed by a timer, whether
 * or not anyone scrapes. A scrape costs the loop thread only a copy of the values: rendering and
 * gzip run on libuv's thread pool, one scrape at a time (others wait in order). */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "base/buf.h"
#include "base/errors.h"
#include "base/log.h"
#include "base/mem.h"
#include "codec/gzip.h"
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
                       "A series not updated for this long is no longer shown, and a timer removes it (whether or "
                       "not anyone scrapes)."),
    OCA_FIELD_BOOL(struct prom_config, enable_open_metrics, "false",
                   "Serve OpenMetrics 1.0 (with exemplars on counters and histogram buckets) to scrapers "
                   "whose Accept header asks for application/openmetrics-text."),
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

struct prom_exporter;

/* One scrape: waiting in the queue, being copied (a slice per loop turn), or on the thread pool. */
struct scrape {
    struct scrape *next;
    struct prom_exporter *px;
    struct oca_http_stream *stream;     /* NULL once the client went away */
    enum oca_prom_format fmt;
    bool gzip, zipped_ok;
    struct oca_prom_snapshot *snap;
    struct oca_buf *text, *zipped;      /* the exporter's, lent to the running scrape */
    size_t text_len;
    uv_work_t work;
    /* For the debug line of each scrape: the CPU time it cost the loop thread (copying: begin and
     * slices; the answer: release, respond, free) and the pool. */
    uint64_t copy_ns, longest_ns, answer_ns, pool_ns;
    unsigned slices;
};

/* st comes first: the unit test reads the store through self->state to watch expiry. */
struct prom_exporter {
    struct oca_prom_state *st;
    struct oca_component *self;
    const struct prom_config *cfg;
    uv_loop_t *loop;
    struct oca_http_server *srv;
    uv_timer_t timer;
    uv_idle_t slicer;                   /* a slice of the scrape's copy or of expiry per loop turn */
    bool timer_open, slicer_open, started, shutting_down;
    bool expiring;                      /* an expiry pass is under way (expire_*) */
    size_t expire_pos, expired;
    uint64_t expire_now;
    struct scrape *running;             /* being copied, then on the thread pool (queued set) */
    bool queued;
    struct scrape *queue, **queue_tail; /* waiting, oldest first */
    /* The running scrape's output, kept from one scrape to the next: fresh multi-MiB buffers cost
     * page faults and munmap, which hold the process's memory map lock against the loop thread. */
    struct oca_buf text, zipped;
    struct oca_waiters waiters;
};

#define HDR(n, v) { n, sizeof(n) - 1, v, sizeof(v) - 1 }

/* Series copied per loop turn while a scrape is taken: about half a millisecond of the loop. */
#define SNAPSHOT_SLICE 8192
/* Level 1: a scrape is answered while Prometheus waits, and the text compresses well even so. */
#define PROM_GZIP_LEVEL 1

static int prom_validate(const void *cfg_, struct oca_diag *diag)
{
    const struct prom_config *cfg = cfg_;
    return oca_http_server_config_validate(&cfg->server, NULL, diag);
}

static int prom_create(struct oca_component *self, struct oca_diag *diag)
{
    (void)diag;
    struct prom_exporter *px = oca_xcalloc(1, sizeof(*px));
    px->self = self;
    px->cfg = self->config;
    px->queue_tail = &px->queue;
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

/* Whether a comma-separated Accept or Accept-Encoding value lists name (case-insensitive; "*" also
 * matches when wildcard) with a q that is not 0. */
static bool accepts(const char *v, const char *name, bool wildcard)
{
    size_t want = strlen(name);
    while (v && *v) {
        while (*v == ' ' || *v == ',')
            v++;
        const char *end = v + strcspn(v, ",");
        size_t name_len = strcspn(v, ";, ");
        bool match = (name_len == want && strncasecmp(v, name, want) == 0) ||
                     (wildcard && name_len == 1 && *v == '*');
        if (match) {
            const char *q = strstr(v, "q=");
            if (!q || q > end || strtod(q + 2, NULL) > 0)
                return true;
        }
        v = end;
    }
    return false;
}

static void on_headers(struct oca_http_stream *s)
{
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
    /* Answered from on_end, once the (empty) request body is in. */
}

static void scrape_free(struct scrape *sc)
{
    free(sc);
}

/* CPU time of the calling thread: what a step costs, without the time the scheduler gave others
 * (on shared cores a wall-clock figure mostly measures the neighbours). */
static uint64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Thread pool: the exposition and its gzip, from the snapshot alone. */
static void render_work(uv_work_t *w)
{
    struct scrape *sc = w->data;
    uint64_t t0 = cpu_ns();
    oca_buf_reset(sc->text);
    oca_buf_reset(sc->zipped);
    oca_prom_snapshot_render(sc->snap, sc->text);
    sc->text_len = sc->text->len;
    if (sc->gzip && sc->text->len > 0)
        sc->zipped_ok = oca_gzip((const uint8_t *)sc->text->data, sc->text->len, PROM_GZIP_LEVEL, sc->zipped);
    sc->pool_ns = cpu_ns() - t0;
}

/* Adds the loop time since t0 to the scrape's copying account. */
static void account(struct scrape *sc, uint64_t t0)
{
    uint64_t d = cpu_ns() - t0;
    sc->copy_ns += d;
    if (d > sc->longest_ns)
        sc->longest_ns = d;
}

static void finish_if_idle(struct prom_exporter *px);
static void start_next(struct prom_exporter *px);

static void render_done(uv_work_t *w, int status)
{
    (void)status;
    struct scrape *sc = w->data;
    struct prom_exporter *px = sc->px;
    uint64_t t0 = cpu_ns();
    px->running = NULL;
    px->queued = false;
    oca_prom_state_release(px->st, sc->snap);
    if (sc->stream) {
        static const struct oca_http_header text[] = {
            HDR("content-type", "text/plain; version=0.0.4; charset=utf-8"),
            HDR("content-encoding", "gzip"),
            HDR("vary", "Accept-Encoding"),
        };
        static const struct oca_http_header om[] = {
            HDR("content-type", "application/openmetrics-text; version=1.0.0; charset=utf-8"),
            HDR("content-encoding", "gzip"),
            HDR("vary", "Accept-Encoding"),
        };
        const struct oca_http_header *h = sc->fmt == OCA_PROM_OPENMETRICS ? om : text;
        struct oca_http_stream *s = sc->stream;
        oca_http_stream_set_user(s, NULL);
        if (sc->zipped_ok)
            oca_http_respond(s, 200, h, 3, sc->zipped->data, sc->zipped->len);
        else
            oca_http_respond(s, 200, h, 1, sc->text->data ? sc->text->data : "", sc->text->len);
    }
    sc->answer_ns = cpu_ns() - t0;
    oca_log_debug(px->self->id, "scrape%s: %zu bytes%s; loop thread CPU: copy %.2f ms in %u turns (longest %.2f ms), "
                  "answer %.2f ms; thread pool CPU %.2f ms", sc->stream ? "" : " (client gone)", sc->text_len,
                  sc->zipped_ok ? " gzipped" : "", sc->copy_ns / 1e6, sc->slices + 1, sc->longest_ns / 1e6,
                  sc->answer_ns / 1e6, sc->pool_ns / 1e6);
    scrape_free(sc);
    start_next(px);
    finish_if_idle(px);
}

static bool copying(const struct prom_exporter *px)
{
    return px->running && !px->queued;
}

/* One loop turn's share of the background work: a slice of the expiry pass and one of the running
 * scrape's snapshot; once the snapshot is complete, the rest of the scrape goes to the pool. */
static void on_slice(uv_idle_t *h)
{
    struct prom_exporter *px = h->data;
    if (px->expiring && oca_prom_state_expire_step(px->st, px->expire_now, px->cfg->metric_expiration,
                                                   &px->expire_pos, SNAPSHOT_SLICE, &px->expired)) {
        px->expiring = false;
        if (px->expired)
            oca_log_debug(px->self->id, "%zu series expired", px->expired);
    }
    if (copying(px)) {
        struct scrape *sc = px->running;
        uint64_t t0 = cpu_ns();
        bool complete = oca_prom_state_snapshot_step(px->st, sc->snap, SNAPSHOT_SLICE);
        sc->slices++;
        account(sc, t0);
        if (complete) {
            px->queued = true;
            sc->work.data = sc;
            if (uv_queue_work(px->loop, &sc->work, render_work, render_done) != 0) {
                render_work(&sc->work);     /* cannot fail on a live loop; stay correct if it does */
                render_done(&sc->work, 0);
            }
        }
    }
    if (!px->expiring && !copying(px) && px->slicer_open)
        uv_idle_stop(&px->slicer);
}

/* Starts the oldest waiting scrape unless one is running: its snapshot is copied on the loop
 * thread in slices (between them the loop serves ingest), then rendered on the thread pool. */
static void start_next(struct prom_exporter *px)
{
    struct scrape *sc = px->queue;
    if (px->running || !sc || px->shutting_down)
        return;
    px->queue = sc->next;
    if (!px->queue)
        px->queue_tail = &px->queue;
    sc->next = NULL;
    px->running = sc;
    sc->text = &px->text;
    sc->zipped = &px->zipped;
    uint64_t t0 = cpu_ns();
    sc->snap = oca_prom_state_snapshot(px->st, sc->fmt, uv_hrtime(), px->cfg->metric_expiration);
    account(sc, t0);
    uv_idle_start(&px->slicer, on_slice);
}

static void on_end(struct oca_http_stream *s, const uint8_t *body, size_t len)
{
    (void)body; (void)len;
    struct prom_exporter *px = oca_http_stream_handler_data(s);
    struct scrape *sc = oca_xcalloc(1, sizeof(*sc));
    sc->px = px;
    sc->stream = s;
    sc->fmt = px->cfg->enable_open_metrics && accepts(oca_http_stream_header(s, "accept"),
                                                      "application/openmetrics-text", false)
                  ? OCA_PROM_OPENMETRICS : OCA_PROM_TEXT;
    sc->gzip = accepts(oca_http_stream_header(s, "accept-encoding"), "gzip", true);
    oca_http_stream_set_user(s, sc);
    *px->queue_tail = sc;
    px->queue_tail = &sc->next;
    start_next(px);
}

/* The client is gone: a waiting scrape is dropped, a rendering one is answered to nobody. */
static void on_close(struct oca_http_stream *s)
{
    struct scrape *sc = oca_http_stream_user(s);
    if (!sc)
        return;
    oca_http_stream_set_user(s, NULL);
    struct prom_exporter *px = sc->px;
    if (sc == px->running) {
        sc->stream = NULL;
        return;
    }
    struct scrape **pp = &px->queue;
    while (*pp != sc)
        pp = &(*pp)->next;
    *pp = sc->next;
    if (!sc->next)
        px->queue_tail = pp;
    scrape_free(sc);
}

static const struct oca_http_handler handler = {
    .on_headers = on_headers,
    .on_end = on_end,
    .on_close = on_close,
};

/* Starts an expiry pass, done a slice per loop turn beside any scrape (a pass still under way
 * goes on). */
static void on_expire_tick(uv_timer_t *t)
{
    struct prom_exporter *px = t->data;
    if (px->expiring)
        return;
    px->expiring = true;
    px->expire_pos = 0;
    px->expired = 0;
    px->expire_now = uv_hrtime();
    uv_idle_start(&px->slicer, on_slice);
}

static int prom_start(struct oca_component *self, uv_loop_t *loop)
{
    struct prom_exporter *px = self->state;
    if (px->started || px->shutting_down)
        return OCA_OK;
    px->started = true;
    px->loop = loop;
    uv_idle_init(loop, &px->slicer);
    px->slicer.data = px;
    px->slicer_open = true;
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
    if (px->shutting_down && !px->timer_open && !px->slicer_open && !px->srv && !px->running)
        oca_waiters_notify(&px->waiters, px->self);
}

static void on_timer_closed(uv_handle_t *h)
{
    struct prom_exporter *px = h->data;
    px->timer_open = false;
    finish_if_idle(px);
}

static void on_slicer_closed(uv_handle_t *h)
{
    struct prom_exporter *px = h->data;
    px->slicer_open = false;
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
        /* A scrape still being copied is dropped here; one on the thread pool ends in render_done. */
        if (px->running && !px->queued) {
            oca_prom_state_release(px->st, px->running->snap);
            if (px->running->stream)
                oca_http_stream_set_user(px->running->stream, NULL);
            scrape_free(px->running);
            px->running = NULL;
        }
        if (px->slicer_open)
            uv_close((uv_handle_t *)&px->slicer, on_slicer_closed);
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
    oca_buf_free(&px->text);
    oca_buf_free(&px->zipped);
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
    .doc = "Serves the metrics it receives for Prometheus to scrape (GET /metrics, text format 0.0.4 or "
           "OpenMetrics 1.0).",
    .validate = prom_validate,
    .create = prom_create,
    .start = prom_start,
    .consume = prom_consume,
    .shutdown = prom_shutdown,
    .destroy = prom_destroy,
};
