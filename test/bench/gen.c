/* The benchmark payload, built with the project's own protobuf-c code: one OTLP
 * ExportTraceServiceRequest of 100 spans, each with 10 string attributes whose keys and values are
 * 20 characters (the OpenTelemetry SDK benchmark spec), under a resource with service.name,
 * service.version and service.instance.id. Usage: gen OUTDIR; writes traces.pb (the protobuf
 * body), traces.grpc (the same with gRPC's 5-byte prefix) and traces.json (OTLP/JSON). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "codec/otlp_json.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"
#include "payload.h"

typedef Opentelemetry__Proto__Common__V1__KeyValue KeyValue;
typedef Opentelemetry__Proto__Common__V1__AnyValue AnyValue;
typedef Opentelemetry__Proto__Trace__V1__Span Span;

#define SPANS 100
#define ATTRS 10
#define ATTR_LEN 20

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

    size_t n = protobuf_c_message_get_packed_size(&req.base);
    uint8_t *framed = malloc(n + 5);
    if (!framed)
        return 1;
    protobuf_c_message_pack(&req.base, framed + 5);
    bench_grpc_prefix(framed, n);

    struct oca_buf json = { 0 };
    oca_otlp_json_encode(&req.base, &json);

    int rc = bench_write_file(argv[1], "traces.pb", framed + 5, n) | bench_write_file(argv[1], "traces.grpc", framed, n + 5) |
             bench_write_file(argv[1], "traces.json", json.data, json.len);
    printf("payload: %d spans, protobuf %zu bytes, grpc %zu bytes, json %zu bytes\n", SPANS, n, n + 5, json.len);
    free(framed);
    oca_buf_free(&json);
    oca_arena_destroy(a);
    return rc;
}
