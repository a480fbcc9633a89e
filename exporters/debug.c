/* The debug exporter: prints what reaches the end of a pipeline to the agent's log (info level,
 * tagged with the component id), from one summary line per batch up to every field. Output is
 * sampled per signal and per second like the Collector's zap sampler; batches sampled away are
 * still counted as sent. There is no queue: consume prints and returns. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "base/buf.h"
#include "base/errors.h"
#include "base/log.h"
#include "base/mem.h"
#include "codec/otlp_json.h"
#include "config/fields.h"
#include "pipeline/batch.h"
#include "pipeline/component.h"
#include "pipeline/counters.h"

typedef Opentelemetry__Proto__Common__V1__AnyValue AnyValue;
typedef Opentelemetry__Proto__Common__V1__KeyValue KeyValue;
typedef Opentelemetry__Proto__Trace__V1__Span Span;
typedef Opentelemetry__Proto__Metrics__V1__Metric Metric;
typedef Opentelemetry__Proto__Logs__V1__LogRecord LogRecord;

enum verbosity { VERBOSITY_BASIC, VERBOSITY_NORMAL, VERBOSITY_DETAILED };

struct debug_config {
    int verbosity;
    uint32_t sampling_initial;
    uint32_t sampling_thereafter;
};

static const struct oca_enum_name verbosity_names[] = {
    { "basic", VERBOSITY_BASIC },
    { "normal", VERBOSITY_NORMAL },
    { "detailed", VERBOSITY_DETAILED },
    { NULL, 0 },
};

static const struct oca_field debug_fields[] = {
    OCA_FIELD_ENUM(struct debug_config, verbosity, "basic", verbosity_names,
                   "How much of each batch to print: basic (one summary line), normal (also one line "
                   "per span, metric or log record) or detailed (also every field, as OTLP/JSON)."),
    OCA_FIELD_U32(struct debug_config, sampling_initial, "2", 0, UINT32_MAX,
                  "Batches of each signal printed in full every second before sampling starts."),
    OCA_FIELD_U32(struct debug_config, sampling_thereafter, "1", 0, UINT32_MAX,
                  "After sampling_initial, print only every Nth batch of that second (0: none); "
                  "the others are counted but not printed."),
    OCA_FIELD_END,
};

/* Longest line handed to the log; longer ones are cut with a note saying how much is missing,
 * which stays under base/log.c's own line limit. */
#define LINE_MAX_BYTES 3800

struct sampler {
    uint64_t window_start_ns;   /* 0: no window yet */
    uint64_t count;             /* batches seen in the current window */
};

struct debug_exporter {
    struct oca_component *self;
    const struct debug_config *cfg;
    struct sampler samplers[OCA_SIGNAL_COUNT];
    struct oca_buf line;
    uint64_t sampled_out[OCA_SIGNAL_COUNT];
};

/* zap's rule: in each one-second window, the first `initial` entries pass, then every
 * `thereafter`-th. The window opens at the first batch after the previous one expired (not at a
 * wall-clock second), so a burst is judged the same however it falls on the clock. */
static bool sample(struct debug_exporter *dx, enum oca_signal sig)
{
    struct sampler *s = &dx->samplers[sig];
    uint64_t now = uv_hrtime();
    if (s->window_start_ns == 0 || now - s->window_start_ns >= UINT64_C(1000000000)) {
        s->window_start_ns = now ? now : 1;
        s->count = 0;
    }
    uint64_t n = ++s->count;
    if (n <= dx->cfg->sampling_initial)
        return true;
    uint32_t every = dx->cfg->sampling_thereafter;
    return every != 0 && (n - dx->cfg->sampling_initial) % every == 0;
}

static void emit(struct debug_exporter *dx)
{
    struct oca_buf *b = &dx->line;
    if (b->len > LINE_MAX_BYTES) {
        size_t cut = b->len - LINE_MAX_BYTES;
        b->len = LINE_MAX_BYTES;
        b->data[b->len] = '\0';
        oca_buf_printf(b, "... (%zu more bytes)", cut);
    }
    oca_log_info(dx->self->id, "%s", b->data);
    oca_buf_reset(b);
}

static void put_hex(struct oca_buf *b, const ProtobufCBinaryData *d)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t k = 0; k < d->len; k++) {
        oca_buf_putc(b, digits[d->data[k] >> 4]);
        oca_buf_putc(b, digits[d->data[k] & 15]);
    }
}

static void put_value(struct oca_buf *b, const AnyValue *v)
{
    if (!v) {
        oca_buf_puts(b, "<empty>");
        return;
    }
    switch (v->value_case) {
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE:
        oca_buf_puts(b, v->string_value ? v->string_value : "");
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE:
        oca_buf_puts(b, v->bool_value ? "true" : "false");
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE:
        oca_buf_printf(b, "%" PRId64, v->int_value);
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE:
        oca_buf_printf(b, "%g", v->double_value);
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE:
        put_hex(b, &v->bytes_value);
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE:
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE:
        oca_otlp_json_encode(&v->base, b);
        break;
    default:
        oca_buf_puts(b, "<empty>");
        break;
    }
}

static void put_attrs(struct oca_buf *b, KeyValue *const *kv, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        oca_buf_printf(b, " %s=", kv[k]->key ? kv[k]->key : "");
        put_value(b, kv[k]->value);
    }
}

static void put_duration(struct oca_buf *b, uint64_t start, uint64_t end)
{
    if (end < start) {
        oca_buf_puts(b, "negative");
        return;
    }
    uint64_t ns = end - start;
    if (ns < 1000)
        oca_buf_printf(b, "%" PRIu64 "ns", ns);
    else if (ns < 1000000)
        oca_buf_printf(b, "%.3fus", (double)ns / 1e3);
    else if (ns < 1000000000)
        oca_buf_printf(b, "%.3fms", (double)ns / 1e6);
    else
        oca_buf_printf(b, "%.3fs", (double)ns / 1e9);
}

static const char *span_kind_name(int kind)
{
    static const char *const names[] = { "Unspecified", "Internal", "Server", "Client", "Producer", "Consumer" };
    return kind >= 0 && kind < 6 ? names[kind] : "Unknown";
}

static const char *metric_type_name(const Metric *m)
{
    switch (m->data_case) {
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE:
        return "Gauge";
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM:
        return "Sum";
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM:
        return "Histogram";
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_EXPONENTIAL_HISTOGRAM:
        return "ExponentialHistogram";
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUMMARY:
        return "Summary";
    default:
        return "Empty";
    }
}

static void print_json_line(struct debug_exporter *dx, const char *label, const ProtobufCMessage *msg)
{
    oca_buf_printf(&dx->line, "%s: ", label);
    if (msg)
        oca_otlp_json_encode(msg, &dx->line);
    else
        oca_buf_puts(&dx->line, "{}");
    emit(dx);
}

static void print_span(struct debug_exporter *dx, const Span *sp)
{
    struct oca_buf *b = &dx->line;
    oca_buf_printf(b, "span %s trace_id=", sp->name ? sp->name : "");
    put_hex(b, &sp->trace_id);
    oca_buf_puts(b, " span_id=");
    put_hex(b, &sp->span_id);
    oca_buf_printf(b, " kind=%s duration=", span_kind_name((int)sp->kind));
    put_duration(b, sp->start_time_unix_nano, sp->end_time_unix_nano);
    if (sp->n_attributes)
        oca_buf_puts(b, " attributes:");
    put_attrs(b, sp->attributes, sp->n_attributes);
    emit(dx);
}

static void print_metric(struct debug_exporter *dx, const Metric *m)
{
    oca_buf_printf(&dx->line, "metric %s type=%s points=%zu", m->name ? m->name : "", metric_type_name(m),
                   oca_batch_metric_points(m));
    if (m->unit && *m->unit)
        oca_buf_printf(&dx->line, " unit=%s", m->unit);
    emit(dx);
}

static void print_log(struct debug_exporter *dx, const LogRecord *lr)
{
    struct oca_buf *b = &dx->line;
    oca_buf_printf(b, "log severity=%s(%d) body=", lr->severity_text && *lr->severity_text ? lr->severity_text : "",
                   (int)lr->severity_number);
    put_value(b, lr->body);
    if (lr->n_attributes)
        oca_buf_puts(b, " attributes:");
    put_attrs(b, lr->attributes, lr->n_attributes);
    emit(dx);
}

/* The line of normal verbosity for one span, metric or log record. */
static void print_item(struct debug_exporter *dx, enum oca_signal sig, const ProtobufCMessage *item)
{
    switch (sig) {
    case OCA_SIGNAL_TRACES:
        print_span(dx, (const Span *)item);
        break;
    case OCA_SIGNAL_METRICS:
        print_metric(dx, (const Metric *)item);
        break;
    default:
        print_log(dx, (const LogRecord *)item);
        break;
    }
}

/* The summary line, in the words of the Collector's debug exporter. */
static void print_summary(struct debug_exporter *dx, enum oca_signal sig, const ProtobufCMessage *req)
{
    const struct oca_otlp_level *lv = oca_batch_levels(sig);
    size_t resources = oca_batch_child_count(&lv[OCA_LEVEL_RESOURCES], req);
    size_t items = oca_batch_count_items(sig, req);
    switch (sig) {
    case OCA_SIGNAL_TRACES:
        oca_buf_printf(&dx->line, "TracesExporter resource spans: %zu, spans: %zu", resources, items);
        break;
    case OCA_SIGNAL_METRICS: {
        size_t metrics = 0;
        ProtobufCMessage **rm = oca_batch_children(&lv[OCA_LEVEL_RESOURCES], req);
        for (size_t i = 0; i < resources; i++) {
            ProtobufCMessage **sm = oca_batch_children(&lv[OCA_LEVEL_SCOPES], rm[i]);
            for (size_t j = 0; j < oca_batch_child_count(&lv[OCA_LEVEL_SCOPES], rm[i]); j++)
                metrics += oca_batch_child_count(&lv[OCA_LEVEL_ITEMS], sm[j]);
        }
        oca_buf_printf(&dx->line, "MetricsExporter resource metrics: %zu, metrics: %zu, data points: %zu",
                       resources, metrics, items);
        break;
    }
    default:
        oca_buf_printf(&dx->line, "LogsExporter resource logs: %zu, log records: %zu", resources, items);
        break;
    }
    emit(dx);
}

/* Prints one request: the summary line, then for normal verbosity a line per item, and for
 * detailed every resource, scope and item as OTLP/JSON. */
static void print_request(struct debug_exporter *dx, enum oca_signal sig, const ProtobufCMessage *req,
                          int verbosity)
{
    static const char *const item_labels[] = { "span", "metric", "log" };
    const struct oca_otlp_level *lv = oca_batch_levels(sig);
    bool detailed = verbosity == VERBOSITY_DETAILED;
    print_summary(dx, sig, req);
    if (verbosity == VERBOSITY_BASIC)
        return;
    ProtobufCMessage **res = oca_batch_children(&lv[OCA_LEVEL_RESOURCES], req);
    for (size_t i = 0; i < oca_batch_child_count(&lv[OCA_LEVEL_RESOURCES], req); i++) {
        if (detailed)
            print_json_line(dx, "resource", *oca_batch_entry_head(&lv[OCA_LEVEL_RESOURCES], res[i]));
        ProtobufCMessage **scopes = oca_batch_children(&lv[OCA_LEVEL_SCOPES], res[i]);
        for (size_t j = 0; j < oca_batch_child_count(&lv[OCA_LEVEL_SCOPES], res[i]); j++) {
            if (detailed)
                print_json_line(dx, "scope", *oca_batch_entry_head(&lv[OCA_LEVEL_SCOPES], scopes[j]));
            ProtobufCMessage **items = oca_batch_children(&lv[OCA_LEVEL_ITEMS], scopes[j]);
            for (size_t k = 0; k < oca_batch_child_count(&lv[OCA_LEVEL_ITEMS], scopes[j]); k++) {
                if (detailed)
                    print_json_line(dx, item_labels[sig], items[k]);
                else
                    print_item(dx, sig, items[k]);
            }
        }
    }
}

static int debug_consume(struct oca_component *self, enum oca_signal sig, struct oca_batch *batch)
{
    struct debug_exporter *dx = self->state;
    if (sig >= OCA_SIGNAL_COUNT)
        return OCA_ERR_UNSUPPORTED;
    oca_counters_add(self->counters, OCA_EDGE_SENT, sig, batch->items);
    /* Sampling is decided even when info lines are filtered out, so the counts stay the same. */
    if (!sample(dx, sig)) {
        dx->sampled_out[sig]++;
        return OCA_OK;
    }
    if (oca_log_get_level() > OCA_LOG_INFO)
        return OCA_OK;
    print_request(dx, sig, batch->msg, dx->cfg->verbosity);
    return OCA_OK;
}

static int debug_create(struct oca_component *self, struct oca_diag *diag)
{
    (void)diag;
    struct debug_exporter *dx = oca_xcalloc(1, sizeof(*dx));
    dx->self = self;
    dx->cfg = self->config;
    self->state = dx;
    return OCA_OK;
}

/* Nothing asynchronous to wind down: done is called at once, once per call. */
static void debug_shutdown(struct oca_component *self, oca_done_cb done)
{
    struct debug_exporter *dx = self->state;
    uint64_t total = 0;
    for (int s = 0; s < OCA_SIGNAL_COUNT; s++)
        total += dx->sampled_out[s];
    if (total)
        oca_log_debug(self->id, "%" PRIu64 " batches were counted but not printed (sampling)", total);
    memset(dx->sampled_out, 0, sizeof(dx->sampled_out));
    done(self);
}

static void debug_destroy(struct oca_component *self)
{
    struct debug_exporter *dx = self->state;
    if (!dx)
        return;
    oca_buf_free(&dx->line);
    free(dx);
    self->state = NULL;
}

const struct oca_component_type oca_debug_exporter = {
    .name = "debug",
    .kind = OCA_EXPORTER,
    .signals = OCA_TRACES | OCA_METRICS | OCA_LOGS,
    .config_size = sizeof(struct debug_config),
    .fields = debug_fields,
    .doc = "Prints the data it receives to the agent's log.",
    .create = debug_create,
    .consume = debug_consume,
    .shutdown = debug_shutdown,
    .destroy = debug_destroy,
};
