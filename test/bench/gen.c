/* The benchmark payload, built with the project's own protobuf-c code: one OTLP
 * ExportTraceServiceRequest of 100 spans, each with 10 string attributes whose keys and values are
 * 20 characters (the OpenTelemetry SDK benchmark spec), under a resource with service.name,
 * service.version and service.instance.id. Usage: gen OUTDIR; writes traces.pb (the protobuf
 * body), traces.grpc (the same with gRPC's 5-byte prefix) and traces.json (OTLP/JSON), and the
 * OpenCensus twin for test/bench/oc_load.c: oc-first.grpc (an OpenCensus ExportTraceServiceRequest
 * of the same spans with the Node, framed) and oc-next.grpc (the same without the Node); and
 * batch.pb, BATCH_REQUESTS such requests of spans all different, concatenated: what an exporter
 * compresses when it forwards a batch of 8192 spans (h2load repeats one request, which a
 * compressor with a long window, as zstd's, would find and make look cheap; build/bench/compress
 * measures the codecs on this instead). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "codec/otlp_json.h"
#include "opencensus/proto/agent/trace/v1/trace_service.pb-c.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"
#include "payload.h"

typedef Opentelemetry__Proto__Common__V1__KeyValue KeyValue;
typedef Opentelemetry__Proto__Common__V1__AnyValue AnyValue;
typedef Opentelemetry__Proto__Trace__V1__Span Span;

#define SPANS 100
#define ATTRS 10
#define ATTR_LEN 20
#define BATCH_REQUESTS 82

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

/* xorshift64: the payload is the same on every run and every machine. */
static uint64_t next_rand(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static char *rand_string(struct oca_arena *a, size_t n)
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    char *s = oca_arena_alloc(a, n + 1);
    for (size_t k = 0; k < n; k++)
        s[k] = alphabet[next_rand() % (sizeof(alphabet) - 1)];
    s[n] = '\0';
    return s;
}

static void rand_bytes(struct oca_arena *a, ProtobufCBinaryData *d, size_t n)
{
    d->len = n;
    d->data = oca_arena_alloc(a, n);
    for (size_t k = 0; k < n; k++)
        d->data[k] = (uint8_t)next_rand();
}

static Span *make_span(struct oca_arena *a, size_t k, uint64_t t0)
{
    Span *sp = oca_arena_alloc(a, sizeof(*sp));
    opentelemetry__proto__trace__v1__span__init(sp);
    rand_bytes(a, &sp->trace_id, 16);
    rand_bytes(a, &sp->span_id, 8);
    rand_bytes(a, &sp->parent_span_id, 8);
    char name[32];
    snprintf(name, sizeof(name), "bench-span-%zu", k);
    sp->name = oca_arena_strdup(a, name);
    sp->kind = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_SERVER;
    sp->start_time_unix_nano = t0 + k * 1000;
    sp->end_time_unix_nano = t0 + k * 1000 + 1500000;
    sp->n_attributes = ATTRS;
    sp->attributes = oca_arena_alloc(a, ATTRS * sizeof(KeyValue *));
    for (size_t j = 0; j < ATTRS; j++) {
        char *key = rand_string(a, ATTR_LEN);
        sp->attributes[j] = bench_string_kv(a, key, rand_string(a, ATTR_LEN));
    }
    sp->status = oca_arena_alloc(a, sizeof(*sp->status));
    opentelemetry__proto__trace__v1__status__init(sp->status);
    sp->status->code = OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_OK;
    return sp;
}

/* The OpenCensus form of the same span (ids, name, times, attributes), as an exporter of the
 * OpenCensus Agent protocol sends it. */
static Opencensus__Proto__Trace__V1__TruncatableString *oc_string(struct oca_arena *a, const char *v)
{
    Opencensus__Proto__Trace__V1__TruncatableString *t = oca_arena_alloc(a, sizeof(*t));
    opencensus__proto__trace__v1__truncatable_string__init(t);
    t->value = oca_arena_strdup(a, v);
    return t;
}

static Google__Protobuf__Timestamp *oc_time(struct oca_arena *a, uint64_t ns)
{
    Google__Protobuf__Timestamp *t = oca_arena_alloc(a, sizeof(*t));
    google__protobuf__timestamp__init(t);
    t->seconds = (int64_t)(ns / 1000000000);
    t->nanos = (int32_t)(ns % 1000000000);
    return t;
}

static Opencensus__Proto__Trace__V1__Span *oc_span(struct oca_arena *a, const Span *o)
{
    Opencensus__Proto__Trace__V1__Span *sp = oca_arena_alloc(a, sizeof(*sp));
    opencensus__proto__trace__v1__span__init(sp);
    sp->trace_id = o->trace_id;
    sp->span_id = o->span_id;
    sp->parent_span_id = o->parent_span_id;
    sp->name = oc_string(a, o->name);
    sp->kind = OPENCENSUS__PROTO__TRACE__V1__SPAN__SPAN_KIND__SERVER;
    sp->start_time = oc_time(a, o->start_time_unix_nano);
    sp->end_time = oc_time(a, o->end_time_unix_nano);
    sp->attributes = oca_arena_alloc(a, sizeof(*sp->attributes));
    opencensus__proto__trace__v1__span__attributes__init(sp->attributes);
    sp->attributes->n_attribute_map = o->n_attributes;
    sp->attributes->attribute_map = oca_arena_alloc(a, o->n_attributes * sizeof(*sp->attributes->attribute_map));
    for (size_t j = 0; j < o->n_attributes; j++) {
        Opencensus__Proto__Trace__V1__Span__Attributes__AttributeMapEntry *e = oca_arena_alloc(a, sizeof(*e));
        opencensus__proto__trace__v1__span__attributes__attribute_map_entry__init(e);
        e->key = o->attributes[j]->key;
        e->value = oca_arena_alloc(a, sizeof(*e->value));
        opencensus__proto__trace__v1__attribute_value__init(e->value);
        e->value->value_case = OPENCENSUS__PROTO__TRACE__V1__ATTRIBUTE_VALUE__VALUE_STRING_VALUE;
        e->value->string_value = oc_string(a, o->attributes[j]->value->string_value);
        sp->attributes->attribute_map[j] = e;
    }
    return sp;
}

/* m packed behind gRPC's 5-byte prefix, malloc'd. */
static uint8_t *framed(const ProtobufCMessage *m, size_t *len)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t *out = malloc(n + 5);
    if (!out)
        exit(1);
    protobuf_c_message_pack(m, out + 5);
    bench_grpc_prefix(out, n);
    *len = n + 5;
    return out;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
        return 2;
    }
    struct oca_arena *a = oca_arena_new(1 << 16);
    Opentelemetry__Proto__Resource__V1__Resource *res = oca_arena_alloc(a, sizeof(*res));
    opentelemetry__proto__resource__v1__resource__init(res);
    res->n_attributes = 3;
    res->attributes = oca_arena_alloc(a, 3 * sizeof(KeyValue *));
    res->attributes[0] = bench_string_kv(a, "service.name", "bench-service");
    res->attributes[1] = bench_string_kv(a, "service.version", "1.2.3");
    res->attributes[2] = bench_string_kv(a, "service.instance.id", "6f1c2f8e-9a4b-4c1d-8e2f-0a1b2c3d4e5f");

    Opentelemetry__Proto__Common__V1__InstrumentationScope *scope = oca_arena_alloc(a, sizeof(*scope));
    opentelemetry__proto__common__v1__instrumentation_scope__init(scope);
    scope->name = oca_arena_strdup(a, "ocagent-bench");
    scope->version = oca_arena_strdup(a, "1.0.0");

    Opentelemetry__Proto__Trace__V1__ScopeSpans *ss = oca_arena_alloc(a, sizeof(*ss));
    opentelemetry__proto__trace__v1__scope_spans__init(ss);
    ss->scope = scope;
    ss->n_spans = SPANS;
    ss->spans = oca_arena_alloc(a, SPANS * sizeof(Span *));
    for (size_t k = 0; k < SPANS; k++)
        ss->spans[k] = make_span(a, k, UINT64_C(1700000000000000000));

    Opentelemetry__Proto__Trace__V1__ResourceSpans *rs = oca_arena_alloc(a, sizeof(*rs));
    opentelemetry__proto__trace__v1__resource_spans__init(rs);
    rs->resource = res;
    rs->n_scope_spans = 1;
    rs->scope_spans = oca_arena_alloc(a, sizeof(*rs->scope_spans));
    rs->scope_spans[0] = ss;

    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest req;
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__init(&req);
    req.n_resource_spans = 1;
    req.resource_spans = &rs;

    size_t n;
    uint8_t *grpc = framed(&req.base, &n);
    n -= 5;

    struct oca_buf json = { 0 };
    oca_otlp_json_encode(&req.base, &json);

    Opencensus__Proto__Agent__Common__V1__ProcessIdentifier id;
    opencensus__proto__agent__common__v1__process_identifier__init(&id);
    id.host_name = "bench-host";
    id.pid = 4242;
    Opencensus__Proto__Agent__Common__V1__ServiceInfo svc;
    opencensus__proto__agent__common__v1__service_info__init(&svc);
    svc.name = "bench-service";
    Opencensus__Proto__Agent__Common__V1__Node node;
    opencensus__proto__agent__common__v1__node__init(&node);
    node.identifier = &id;
    node.service_info = &svc;
    Opencensus__Proto__Agent__Trace__V1__ExportTraceServiceRequest oc;
    opencensus__proto__agent__trace__v1__export_trace_service_request__init(&oc);
    oc.n_spans = SPANS;
    oc.spans = oca_arena_alloc(a, SPANS * sizeof(*oc.spans));
    for (size_t k = 0; k < SPANS; k++)
        oc.spans[k] = oc_span(a, ss->spans[k]);
    size_t oc_next_len, oc_first_len;
    uint8_t *oc_next = framed(&oc.base, &oc_next_len);
    oc.node = &node;
    uint8_t *oc_first = framed(&oc.base, &oc_first_len);

    /* The batch: new spans (the generator goes on) in the same resource and scope. */
    struct oca_buf batch = { 0 };
    for (int r = 0; r < BATCH_REQUESTS; r++) {
        for (size_t k = 0; k < SPANS; k++)
            ss->spans[k] = make_span(a, k, UINT64_C(1700000000000000000) + (uint64_t)r * 1000000);
        size_t len = protobuf_c_message_get_packed_size(&req.base);
        oca_buf_reserve(&batch, len);
        batch.len += protobuf_c_message_pack(&req.base, (uint8_t *)batch.data + batch.len);
    }

    int rc = bench_write_file(argv[1], "batch.pb", batch.data, batch.len) |
             bench_write_file(argv[1], "traces.pb", grpc + 5, n) | bench_write_file(argv[1], "traces.grpc", grpc, n + 5) |
             bench_write_file(argv[1], "traces.json", json.data, json.len) |
             bench_write_file(argv[1], "oc-first.grpc", oc_first, oc_first_len) |
             bench_write_file(argv[1], "oc-next.grpc", oc_next, oc_next_len);
    printf("payload: %d spans, protobuf %zu bytes, grpc %zu bytes, json %zu bytes, opencensus %zu bytes\n", SPANS, n,
           n + 5, json.len, oc_next_len - 5);
    free(grpc);
    free(oc_first);
    free(oc_next);
    oca_buf_free(&json);
    oca_buf_free(&batch);
    oca_arena_destroy(a);
    return rc;
}
