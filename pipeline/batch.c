/* Reference-counted OTLP requests; see batch.h. A batch's message is decoded into its own arena
 * through protobuf-c's allocator hook, so freeing a request of thousands of objects is one
 * oca_arena_destroy(). */
#include "pipeline/batch.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/arena.h"
#include "base/errors.h"
#include "base/mem.h"
#include "codec/otlp_json.h"

const ProtobufCMessageDescriptor *oca_batch_descriptor(enum oca_signal sig)
{
    switch (sig) {
    case OCA_SIGNAL_TRACES:
        return &opentelemetry__proto__collector__trace__v1__export_trace_service_request__descriptor;
    case OCA_SIGNAL_METRICS:
        return &opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__descriptor;
    case OCA_SIGNAL_LOGS:
        return &opentelemetry__proto__collector__logs__v1__export_logs_service_request__descriptor;
    default:
        return NULL;
    }
}

static struct oca_batch *batch_alloc(enum oca_signal sig, size_t arena_hint)
{
    struct oca_batch *b = oca_xcalloc(1, sizeof(*b));
    b->refs = 1;
    b->signal = sig;
    b->arena = oca_arena_new(arena_hint);
    return b;
}

struct oca_batch *oca_batch_new(enum oca_signal sig)
{
    struct oca_batch *b = batch_alloc(sig, 1024);
    const ProtobufCMessageDescriptor *d = oca_batch_descriptor(sig);
    b->msg = oca_arena_alloc(b->arena, d->sizeof_message);
    d->message_init(b->msg);
    return b;
}

static int decode_proto(struct oca_batch *b, const uint8_t *data, size_t len)
{
    ProtobufCAllocator alloc = {
        .alloc = oca_arena_alloc_cb, .free = oca_arena_free_cb, .allocator_data = b->arena,
    };
    b->msg = protobuf_c_message_unpack(oca_batch_descriptor(b->signal), &alloc, len, data);
    return b->msg ? OCA_OK : OCA_ERR_DECODE;
}

int oca_batch_decode(enum oca_signal sig, enum oca_encoding enc, const uint8_t *data, size_t len,
                     struct oca_batch **out, char *detail, size_t detail_size)
{
    /* Decoded protobuf takes roughly 2-4x its wire size; start the arena near that so a typical
     * request fits in a few chunks. */
    struct oca_batch *b = batch_alloc(sig, len * 3 + 256);
    int err;
    *out = NULL;
    if (enc == OCA_ENCODING_JSON) {
        err = oca_otlp_json_decode(oca_batch_descriptor(sig), (const char *)data, len, b->arena,
                                   &b->msg, detail, detail_size);
    } else {
        err = decode_proto(b, data, len);
        if (err && detail_size)
            snprintf(detail, detail_size, "malformed %s request: not a valid protobuf message",
                     oca_signal_name(sig));
    }
    if (err) {
        b->msg = NULL;
        oca_batch_unref(b);
        return err;
    }
    b->items = oca_batch_count_items(sig, b->msg);
    *out = b;
    return OCA_OK;
}

struct oca_batch *oca_batch_ref(struct oca_batch *b)
{
    assert(b->refs > 0);
    b->refs++;
    return b;
}

void oca_batch_unref(struct oca_batch *b)
{
    if (!b)
        return;
    assert(b->refs > 0);
    if (--b->refs > 0)
        return;
    for (size_t i = 0; i < b->n_held; i++)
        oca_batch_unref(b->held[i]);
    free(b->held);
    oca_arena_destroy(b->arena);
    free(b);
}

uint8_t *oca_batch_pack(const struct oca_batch *b, size_t *len)
{
    size_t n = protobuf_c_message_get_packed_size(b->msg);
    uint8_t *buf = oca_xmalloc(n);
    *len = protobuf_c_message_pack(b->msg, buf);
    return buf;
}

struct oca_batch *oca_batch_clone(const struct oca_batch *b)
{
    /* Pack and unpack: the simplest deep copy that is certainly complete, and it leaves the copy
     * in one arena of its own. */
    size_t len;
    uint8_t *wire = oca_batch_pack(b, &len);
    struct oca_batch *copy;
    int err = oca_batch_decode(b->signal, OCA_ENCODING_PROTO, wire, len, &copy, NULL, 0);
    free(wire);
    if (err) {
        fprintf(stderr, "ocagent: a batch failed to decode its own encoding\n");
        abort();
    }
    return copy;
}

void oca_batch_hold(struct oca_batch *dst, struct oca_batch *src)
{
    for (size_t i = 0; i < dst->n_held; i++)
        if (dst->held[i] == src)
            return;
    if (dst->n_held == dst->cap_held) {
        dst->cap_held = dst->cap_held ? dst->cap_held * 2 : 4;
        dst->held = oca_xrealloc(dst->held, dst->cap_held * sizeof(*dst->held));
    }
    dst->held[dst->n_held++] = oca_batch_ref(src);
}

size_t oca_batch_metric_points(const Opentelemetry__Proto__Metrics__V1__Metric *m)
{
    switch (m->data_case) {
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE:
        return m->gauge ? m->gauge->n_data_points : 0;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM:
        return m->sum ? m->sum->n_data_points : 0;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM:
        return m->histogram ? m->histogram->n_data_points : 0;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_EXPONENTIAL_HISTOGRAM:
        return m->exponential_histogram ? m->exponential_histogram->n_data_points : 0;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUMMARY:
        return m->summary ? m->summary->n_data_points : 0;
    default:
        return 0;
    }
}

size_t oca_batch_count_items(enum oca_signal sig, const ProtobufCMessage *msg)
{
    size_t n = 0;
    if (sig == OCA_SIGNAL_TRACES) {
        const oca_traces_req *r = (const oca_traces_req *)msg;
        for (size_t i = 0; i < r->n_resource_spans; i++)
            for (size_t j = 0; j < r->resource_spans[i]->n_scope_spans; j++)
                n += r->resource_spans[i]->scope_spans[j]->n_spans;
    } else if (sig == OCA_SIGNAL_METRICS) {
        const oca_metrics_req *r = (const oca_metrics_req *)msg;
        for (size_t i = 0; i < r->n_resource_metrics; i++)
            for (size_t j = 0; j < r->resource_metrics[i]->n_scope_metrics; j++) {
                const Opentelemetry__Proto__Metrics__V1__ScopeMetrics *sm =
                    r->resource_metrics[i]->scope_metrics[j];
                for (size_t k = 0; k < sm->n_metrics; k++)
                    n += oca_batch_metric_points(sm->metrics[k]);
            }
    } else if (sig == OCA_SIGNAL_LOGS) {
        const oca_logs_req *r = (const oca_logs_req *)msg;
        for (size_t i = 0; i < r->n_resource_logs; i++)
            for (size_t j = 0; j < r->resource_logs[i]->n_scope_logs; j++)
                n += r->resource_logs[i]->scope_logs[j]->n_log_records;
    }
    return n;
}

size_t oca_batch_resource_count(const struct oca_batch *b)
{
    switch (b->signal) {
    case OCA_SIGNAL_TRACES:
        return b->traces->n_resource_spans;
    case OCA_SIGNAL_METRICS:
        return b->metrics->n_resource_metrics;
    case OCA_SIGNAL_LOGS:
        return b->logs->n_resource_logs;
    default:
        return 0;
    }
}
