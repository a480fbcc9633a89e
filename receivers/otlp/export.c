/* The otlp receiver's core, shared by OTLP/HTTP and gRPC (see otlp.h): charges the memory budget,
 * decodes a request into a batch (checking protobuf trace and span ids as the Collector does),
 * hands it to the pipeline, and turns the outcome into what the client gets: an
 * Export*ServiceResponse, or a google.rpc.Status with the HTTP status and gRPC code that
 * base/errors.h gives the error. No other file of the receiver maps errors to statuses. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/budget.h"
#include "base/errors.h"
#include "base/log.h"
#include "codec/otlp_json.h"
#include "pipeline/counters.h"
#include "google/rpc/error_details.pb-c.h"
#include "google/rpc/status.pb-c.h"
#include "receivers/otlp/otlp.h"

void oca_otlp_result_set(struct oca_otlp_result *res, int err, const char *fmt, ...)
{
    res->err = err;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->message, sizeof(res->message), fmt, ap);
    va_end(ap);
}

/* The batch's client: the peer always, the request headers (without HTTP/2 pseudo-headers) when
 * include_metadata. */
static void set_client(struct oca_batch *b, const struct oca_otlp_from *from)
{
    if (!from)
        return;
    if (from->peer)
        b->client.addr = oca_arena_strdup(b->arena, from->peer);
    if (!from->include_metadata || !from->stream)
        return;
    size_t n = oca_http_stream_header_count(from->stream);
    b->client.keys = oca_arena_alloc(b->arena, (n ? n : 1) * sizeof(char *));
    b->client.values = oca_arena_alloc(b->arena, (n ? n : 1) * sizeof(char *));
    for (size_t i = 0; i < n; i++) {
        const struct oca_http_header *h = oca_http_stream_header_at(from->stream, i);
        if (h->name_len > 0 && h->name[0] == ':')
            continue;
        b->client.keys[b->client.n] = oca_arena_strndup(b->arena, h->name, h->name_len);
        b->client.values[b->client.n++] = oca_arena_strndup(b->arena, h->value, h->value_len);
    }
}

static int refuse_budget(struct oca_otlp_result *res, int err, uint64_t need)
{
    if (err == OCA_ERR_TOO_LARGE)
        oca_otlp_result_set(res, err, "request needs %llu bytes to decode, more than the whole memory budget "
                            "(service.memory_budget = %zu bytes)", (unsigned long long)need, oca_budget_limit());
    else
        oca_otlp_result_set(res, err, "memory budget exhausted (%zu of %zu bytes in use); retry later",
                            oca_budget_used(), oca_budget_limit());
    return err;
}

/* Protobuf ids must be 16 (trace) or 8 (span) bytes, or absent, as the Collector's pdata insists
 * when it unmarshals; the JSON decoder checks the hex already. Returns false with res set. */
static bool id_ok(const ProtobufCBinaryData *id, size_t want, struct oca_otlp_result *res, const char *path)
{
    if (id->len == 0 || id->len == want)
        return true;
    oca_otlp_result_set(res, OCA_ERR_DECODE, "%s: %zu bytes, expected %zu (or none)", path, id->len, want);
    return false;
}

static bool exemplars_ok(Opentelemetry__Proto__Metrics__V1__Exemplar **ex, size_t n, struct oca_otlp_result *res,
                         const char *where)
{
    char path[200];
    for (size_t i = 0; i < n; i++) {
        snprintf(path, sizeof(path), "%s.exemplars[%zu].traceId", where, i);
        if (!id_ok(&ex[i]->trace_id, 16, res, path))
            return false;
        snprintf(path, sizeof(path), "%s.exemplars[%zu].spanId", where, i);
        if (!id_ok(&ex[i]->span_id, 8, res, path))
            return false;
    }
    return true;
}

static bool trace_ids_ok(const oca_traces_req *r, struct oca_otlp_result *res)
{
    char path[200];
    for (size_t i = 0; i < r->n_resource_spans; i++)
        for (size_t j = 0; j < r->resource_spans[i]->n_scope_spans; j++) {
            const Opentelemetry__Proto__Trace__V1__ScopeSpans *ss = r->resource_spans[i]->scope_spans[j];
            for (size_t k = 0; k < ss->n_spans; k++) {
                const Opentelemetry__Proto__Trace__V1__Span *sp = ss->spans[k];
                int n = snprintf(path, sizeof(path), "resourceSpans[%zu].scopeSpans[%zu].spans[%zu].", i, j, k);
                size_t at = n > 0 && (size_t)n < sizeof(path) ? (size_t)n : 0;
                snprintf(path + at, sizeof(path) - at, "traceId");
                if (!id_ok(&sp->trace_id, 16, res, path))
                    return false;
                snprintf(path + at, sizeof(path) - at, "spanId");
                if (!id_ok(&sp->span_id, 8, res, path))
                    return false;
                snprintf(path + at, sizeof(path) - at, "parentSpanId");
                if (!id_ok(&sp->parent_span_id, 8, res, path))
                    return false;
                for (size_t l = 0; l < sp->n_links; l++) {
                    snprintf(path + at, sizeof(path) - at, "links[%zu].traceId", l);
                    if (!id_ok(&sp->links[l]->trace_id, 16, res, path))
                        return false;
                    snprintf(path + at, sizeof(path) - at, "links[%zu].spanId", l);
                    if (!id_ok(&sp->links[l]->span_id, 8, res, path))
                        return false;
                }
            }
        }
    return true;
}

static bool log_ids_ok(const oca_logs_req *r, struct oca_otlp_result *res)
{
    char path[200];
    for (size_t i = 0; i < r->n_resource_logs; i++)
        for (size_t j = 0; j < r->resource_logs[i]->n_scope_logs; j++) {
            const Opentelemetry__Proto__Logs__V1__ScopeLogs *sl = r->resource_logs[i]->scope_logs[j];
            for (size_t k = 0; k < sl->n_log_records; k++) {
                snprintf(path, sizeof(path), "resourceLogs[%zu].scopeLogs[%zu].logRecords[%zu].traceId", i, j, k);
                if (!id_ok(&sl->log_records[k]->trace_id, 16, res, path))
                    return false;
                snprintf(path, sizeof(path), "resourceLogs[%zu].scopeLogs[%zu].logRecords[%zu].spanId", i, j, k);
                if (!id_ok(&sl->log_records[k]->span_id, 8, res, path))
                    return false;
            }
        }
    return true;
}

static bool metric_ids_ok(const oca_metrics_req *r, struct oca_otlp_result *res)
{
    char where[160];
    for (size_t i = 0; i < r->n_resource_metrics; i++)
        for (size_t j = 0; j < r->resource_metrics[i]->n_scope_metrics; j++) {
            const Opentelemetry__Proto__Metrics__V1__ScopeMetrics *sm = r->resource_metrics[i]->scope_metrics[j];
            for (size_t k = 0; k < sm->n_metrics; k++) {
                const Opentelemetry__Proto__Metrics__V1__Metric *m = sm->metrics[k];
                Opentelemetry__Proto__Metrics__V1__NumberDataPoint **num = NULL;
                size_t n_num = 0;
                const char *kind = "";
                if (m->data_case == OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE && m->gauge) {
                    num = m->gauge->data_points;
                    n_num = m->gauge->n_data_points;
                    kind = "gauge";
                } else if (m->data_case == OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM && m->sum) {
                    num = m->sum->data_points;
                    n_num = m->sum->n_data_points;
                    kind = "sum";
                }
                for (size_t d = 0; d < n_num; d++) {
                    snprintf(where, sizeof(where), "resourceMetrics[%zu].scopeMetrics[%zu].metrics[%zu].%s.dataPoints[%zu]",
                             i, j, k, kind, d);
                    if (!exemplars_ok(num[d]->exemplars, num[d]->n_exemplars, res, where))
                        return false;
                }
                if (m->data_case == OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM && m->histogram)
                    for (size_t d = 0; d < m->histogram->n_data_points; d++) {
                        snprintf(where, sizeof(where),
                                 "resourceMetrics[%zu].scopeMetrics[%zu].metrics[%zu].histogram.dataPoints[%zu]", i, j, k, d);
                        if (!exemplars_ok(m->histogram->data_points[d]->exemplars,
                                          m->histogram->data_points[d]->n_exemplars, res, where))
                            return false;
                    }
                if (m->data_case == OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_EXPONENTIAL_HISTOGRAM &&
                    m->exponential_histogram)
                    for (size_t d = 0; d < m->exponential_histogram->n_data_points; d++) {
                        snprintf(where, sizeof(where),
                                 "resourceMetrics[%zu].scopeMetrics[%zu].metrics[%zu].exponentialHistogram.dataPoints[%zu]",
                                 i, j, k, d);
                        if (!exemplars_ok(m->exponential_histogram->data_points[d]->exemplars,
                                          m->exponential_histogram->data_points[d]->n_exemplars, res, where))
                            return false;
                    }
            }
        }
    return true;
}

static bool ids_ok(const struct oca_batch *b, struct oca_otlp_result *res)
{
    switch (b->signal) {
    case OCA_SIGNAL_TRACES: return trace_ids_ok(b->traces, res);
    case OCA_SIGNAL_METRICS: return metric_ids_ok(b->metrics, res);
    default: return log_ids_ok(b->logs, res);
    }
}

/* protobuf-c's allocator for a batch's arena that charges the budget as the arena grows, so a
 * request that decodes into more than the budget allows (protobuf can expand many times: an empty
 * sub-message is 2 bytes on the wire and a struct in memory) is stopped while decoding instead of
 * after. A failed charge makes the allocation fail, and protobuf-c then gives up cleanly. */
struct charging_alloc {
    struct oca_batch *b;
    size_t others;              /* budget bytes this request holds besides the arena */
    int err;
};

static void *charging_alloc_cb(void *data, size_t n)
{
    struct charging_alloc *c = data;
    size_t before = oca_arena_reserved(c->b->arena);
    void *p = oca_arena_alloc(c->b->arena, n);
    size_t grew = oca_arena_reserved(c->b->arena) - before;
    if (grew == 0)
        return p;
    int err = oca_budget_charge(grew);
    if (err) {
        /* The chunk is given back with the arena, uncharged. */
        size_t limit = oca_budget_limit();
        bool never = err == OCA_ERR_TOO_LARGE || (limit && c->others + c->b->charged + grew > limit);
        c->err = never ? OCA_ERR_TOO_LARGE : OCA_ERR_MEMORY_LIMIT;
        return NULL;
    }
    c->b->charged += grew;
    return p;
}

/* Protobuf: into an arena that starts small and is charged as it grows (see above). */
static int decode_proto(enum oca_signal sig, const uint8_t *data, size_t len, size_t others,
                        struct oca_batch **out, struct oca_otlp_result *res)
{
    struct oca_batch *b = oca_batch_new(sig);
    size_t first = oca_arena_reserved(b->arena);
    int err = oca_budget_charge(first);
    if (err) {
        oca_batch_unref(b);
        return refuse_budget(res, err, others + first);
    }
    b->charged = first;
    struct charging_alloc c = { b, others, OCA_OK };
    ProtobufCAllocator alloc = { .alloc = charging_alloc_cb, .free = oca_arena_free_cb, .allocator_data = &c };
    ProtobufCMessage *msg = protobuf_c_message_unpack(oca_batch_descriptor(sig), &alloc, len, data);
    if (!msg) {
        size_t reached = others + b->charged;
        oca_batch_unref(b);
        if (c.err)
            return refuse_budget(res, c.err, reached);
        oca_otlp_result_set(res, OCA_ERR_DECODE, "malformed %s request: not a valid protobuf message",
                            oca_signal_name(sig));
        return OCA_ERR_DECODE;
    }
    b->msg = msg;
    b->items = oca_batch_count_items(sig, msg);
    *out = b;
    return OCA_OK;
}

/* JSON: the codec allocates from the arena itself, so the arena's first chunk (three times the
 * text, see pipeline/batch.c, which is what it ends up reserving for OTLP/JSON) is charged before,
 * and what the arena really reserved after. */
static int decode_json(enum oca_signal sig, const uint8_t *data, size_t len, size_t others,
                       struct oca_batch **out, struct oca_otlp_result *res)
{
    size_t estimate = 3 * len + 256;
    size_t limit = oca_budget_limit();
    if (limit && others + estimate > limit)
        return refuse_budget(res, OCA_ERR_TOO_LARGE, others + estimate);
    int err = oca_budget_charge(estimate);
    if (err)
        return refuse_budget(res, err, others + estimate);
    struct oca_batch *b;
    char detail[sizeof(res->message)] = "";
    err = oca_batch_decode(sig, OCA_ENCODING_JSON, data, len, &b, detail, sizeof(detail));
    oca_budget_release(estimate);
    if (err) {
        oca_otlp_result_set(res, err, "%s", detail[0] ? detail : oca_err_message(err));
        return err;
    }
    size_t reserved = oca_arena_reserved(b->arena);
    err = oca_budget_charge(reserved);
    if (err) {
        oca_batch_unref(b);
        return refuse_budget(res, err, others + reserved);
    }
    b->charged = reserved;
    *out = b;
    return OCA_OK;
}

int oca_otlp_decode(enum oca_signal sig, enum oca_encoding enc, const uint8_t *data, size_t len, size_t held,
                    const struct oca_otlp_from *from, struct oca_batch **out, struct oca_otlp_result *res)
{
    *out = NULL;
    res->err = OCA_OK;
    res->rejected = 0;
    res->message[0] = '\0';
    /* A message that is someone else's buffer (gRPC) is charged while it is decoded. */
    size_t own = held ? 0 : len;
    size_t limit = oca_budget_limit();
    if (limit && held + own > limit)
        return refuse_budget(res, OCA_ERR_TOO_LARGE, held + own);
    int err = oca_budget_charge(own);
    if (err)
        return refuse_budget(res, err, held + own);
    struct oca_batch *b = NULL;
    err = enc == OCA_ENCODING_JSON ? decode_json(sig, data, len, held + own, &b, res)
                                   : decode_proto(sig, data, len, held + own, &b, res);
    if (err == OCA_OK && enc == OCA_ENCODING_PROTO && !ids_ok(b, res))
        err = res->err;
    if (err == OCA_OK) {
        size_t before = oca_arena_reserved(b->arena);
        set_client(b, from);
        size_t grew = oca_arena_reserved(b->arena) - before;
        /* A few header strings: taken without refusal, the request is decoded already. */
        oca_budget_force(grew);
        b->charged += grew;
    }
    oca_budget_release(own);
    if (err) {
        oca_batch_unref(b);
        return err;
    }
    *out = b;
    return OCA_OK;
}

void oca_otlp_export(struct oca_component *self, enum oca_signal sig, enum oca_encoding enc, const uint8_t *data,
                     size_t len, size_t held, const struct oca_otlp_from *from, struct oca_otlp_result *res)
{
    struct oca_batch *b;
    int err = oca_otlp_decode(sig, enc, data, len, held, from, &b, res);
    if (err == OCA_ERR_MEMORY_LIMIT || err == OCA_ERR_TOO_LARGE) {
        /* Refused for memory before decoding: its items are still counted as refused, as the
         * Collector counts what its memory_limiter refuses. */
        oca_counters_add(self->counters, OCA_EDGE_REFUSED, sig, oca_otlp_count_items(sig, enc, data, len));
    } else if (err == OCA_OK) {
        err = oca_next_consume(self, sig, b);
        oca_batch_unref(b);
        if (err && oca_err_retryable(err))
            oca_otlp_result_set(res, err, "the pipeline refused the data: %s; retry later", oca_err_message(err));
        else if (err)
            /* A permanent refusal means the data is the problem (as the Collector's
             * consumererror.Permanent -> InvalidArgument / 400). */
            oca_otlp_result_set(res, OCA_ERR_INVALID, "the pipeline refused the data: %s", oca_err_message(err));
    }
    if (res->err)
        oca_log_debug(self->id, "%s %s request from %s refused (%s): %s", oca_signal_name(sig),
                      enc == OCA_ENCODING_JSON ? "JSON" : "protobuf", from && from->peer ? from->peer : "?",
                      oca_err_name(res->err), res->message);
}

int oca_otlp_http_status(const struct oca_otlp_result *res) { return oca_err_http_status(res->err); }
int oca_otlp_grpc_status(const struct oca_otlp_result *res) { return oca_err_grpc_status(res->err); }
bool oca_otlp_retryable(const struct oca_otlp_result *res) { return oca_err_retryable(res->err); }

static void pack_into(const ProtobufCMessage *m, struct oca_buf *out)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    oca_buf_reserve(out, n);
    out->len += protobuf_c_message_pack(m, (uint8_t *)out->data + out->len);
    out->data[out->len] = '\0';
}

static void put_message(const ProtobufCMessage *m, enum oca_encoding enc, struct oca_buf *out)
{
    if (enc == OCA_ENCODING_JSON)
        oca_otlp_json_encode(m, out);
    else
        pack_into(m, out);
}

void oca_otlp_encode_response(enum oca_signal sig, enum oca_encoding enc, const struct oca_otlp_result *res,
                              struct oca_buf *out)
{
    bool partial = res->rejected > 0 || res->message[0];
    char *msg = (char *)(uintptr_t)res->message;
    switch (sig) {
    case OCA_SIGNAL_TRACES: {
        Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse r;
        opentelemetry__proto__collector__trace__v1__export_trace_service_response__init(&r);
        Opentelemetry__Proto__Collector__Trace__V1__ExportTracePartialSuccess p;
        opentelemetry__proto__collector__trace__v1__export_trace_partial_success__init(&p);
        p.rejected_spans = res->rejected;
        p.error_message = msg;
        r.partial_success = partial ? &p : NULL;
        put_message(&r.base, enc, out);
        break;
    }
    case OCA_SIGNAL_METRICS: {
        Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceResponse r;
        opentelemetry__proto__collector__metrics__v1__export_metrics_service_response__init(&r);
        Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsPartialSuccess p;
        opentelemetry__proto__collector__metrics__v1__export_metrics_partial_success__init(&p);
        p.rejected_data_points = res->rejected;
        p.error_message = msg;
        r.partial_success = partial ? &p : NULL;
        put_message(&r.base, enc, out);
        break;
    }
    default: {
        Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceResponse r;
        opentelemetry__proto__collector__logs__v1__export_logs_service_response__init(&r);
        Opentelemetry__Proto__Collector__Logs__V1__ExportLogsPartialSuccess p;
        opentelemetry__proto__collector__logs__v1__export_logs_partial_success__init(&p);
        p.rejected_log_records = res->rejected;
        p.error_message = msg;
        r.partial_success = partial ? &p : NULL;
        put_message(&r.base, enc, out);
        break;
    }
    }
}

void oca_otlp_encode_status(const struct oca_otlp_result *res, enum oca_encoding enc, bool retry_info,
                            struct oca_buf *out)
{
    Google__Rpc__Status st;
    google__rpc__status__init(&st);
    st.code = oca_otlp_grpc_status(res);
    st.message = (char *)(uintptr_t)(res->message[0] ? res->message : oca_err_message(res->err));
    Google__Protobuf__Duration delay;
    google__protobuf__duration__init(&delay);
    Google__Rpc__RetryInfo ri;
    google__rpc__retry_info__init(&ri);
    Google__Protobuf__Any any;
    google__protobuf__any__init(&any);
    Google__Protobuf__Any *details[1] = { &any };
    uint8_t ri_wire[32];
    if (retry_info && enc == OCA_ENCODING_PROTO) {
        delay.seconds = OCA_OTLP_RETRY_AFTER_S;
        ri.retry_delay = &delay;
        any.type_url = (char *)(uintptr_t)"type.googleapis.com/google.rpc.RetryInfo";
        any.value.len = google__rpc__retry_info__pack(&ri, ri_wire);
        any.value.data = ri_wire;
        st.n_details = 1;
        st.details = details;
    }
    put_message(&st.base, enc, out);
}
