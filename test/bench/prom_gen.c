/* Payloads of the prometheus bench scenario (test/bench/prom.sh), built with the project's own
 * protobuf-c code. Usage: prom_gen OUTDIR SERIES PER_REQUEST UPDATE; writes load-NNN.pb, OTLP/HTTP
 * protobuf ExportMetricsServiceRequests that together create SERIES series (100 metrics, counters
 * and gauges in turn, over SERIES/100 label sets of http.route and http.method), PER_REQUEST points
 * each, and update.grpc (gRPC-framed), one request that updates the first UPDATE series again: the
 * ingest that goes on while Prometheus scrapes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb-c.h"
#include "payload.h"

typedef Opentelemetry__Proto__Common__V1__KeyValue KeyValue;
typedef Opentelemetry__Proto__Metrics__V1__Metric Metric;
typedef Opentelemetry__Proto__Metrics__V1__NumberDataPoint Point;

#define METRICS 100
#define T0 UINT64_C(1700000000000000000)

/* Series k: metric k % METRICS, label set k / METRICS. */
static Point *make_point(struct oca_arena *a, size_t k)
{
    Point *p = oca_arena_alloc(a, sizeof(*p));
    opentelemetry__proto__metrics__v1__number_data_point__init(p);
    char route[64];
    snprintf(route, sizeof(route), "/api/v1/items/%zu", k / METRICS);
    p->n_attributes = 2;
    p->attributes = oca_arena_alloc(a, 2 * sizeof(KeyValue *));
    p->attributes[0] = bench_string_kv(a, "http.route", route);
    p->attributes[1] = bench_string_kv(a, "http.method", k / METRICS % 2 ? "POST" : "GET");
    p->start_time_unix_nano = T0;
    p->time_unix_nano = T0 + 1000000000;
    p->value_case = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_INT;
    p->as_int = (int64_t)(k % 1000);
    return p;
}

/* One request with the points of series first .. first + n - 1, grouped by metric. */
static uint8_t *make_request(size_t first, size_t n, size_t *len)
{
    struct oca_arena *a = oca_arena_new(1 << 16);
    Opentelemetry__Proto__Resource__V1__Resource *res = oca_arena_alloc(a, sizeof(*res));
    opentelemetry__proto__resource__v1__resource__init(res);
    res->n_attributes = 3;
    res->attributes = oca_arena_alloc(a, 3 * sizeof(KeyValue *));
    res->attributes[0] = bench_string_kv(a, "service.name", "bench-service");
    res->attributes[1] = bench_string_kv(a, "service.instance.id", "6f1c2f8e-9a4b-4c1d-8e2f-0a1b2c3d4e5f");
    res->attributes[2] = bench_string_kv(a, "host.name", "bench-host");

    Opentelemetry__Proto__Metrics__V1__ScopeMetrics *sm = oca_arena_alloc(a, sizeof(*sm));
    opentelemetry__proto__metrics__v1__scope_metrics__init(sm);
    sm->n_metrics = 0;
    sm->metrics = oca_arena_alloc(a, METRICS * sizeof(Metric *));
    for (size_t m = 0; m < METRICS; m++) {
        size_t count = 0;
        for (size_t k = first; k < first + n; k++)
            count += k % METRICS == m;
        if (!count)
            continue;
        Metric *mt = oca_arena_alloc(a, sizeof(*mt));
        opentelemetry__proto__metrics__v1__metric__init(mt);
        char name[32];
        snprintf(name, sizeof(name), "bench.metric.%02zu", m);
        mt->name = oca_arena_strdup(a, name);
        mt->description = oca_arena_strdup(a, "A bench metric.");
        Point **pts = oca_arena_alloc(a, count * sizeof(Point *));
        size_t j = 0;
        for (size_t k = first; k < first + n; k++)
            if (k % METRICS == m)
                pts[j++] = make_point(a, k);
        if (m % 2 == 0) {
            mt->unit = oca_arena_strdup(a, "{request}");
            mt->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM;
            mt->sum = oca_arena_alloc(a, sizeof(*mt->sum));
            opentelemetry__proto__metrics__v1__sum__init(mt->sum);
            mt->sum->aggregation_temporality =
                OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE;
            mt->sum->is_monotonic = 1;
            mt->sum->n_data_points = count;
            mt->sum->data_points = pts;
        } else {
            mt->unit = oca_arena_strdup(a, "By");
            mt->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE;
            mt->gauge = oca_arena_alloc(a, sizeof(*mt->gauge));
            opentelemetry__proto__metrics__v1__gauge__init(mt->gauge);
            mt->gauge->n_data_points = count;
            mt->gauge->data_points = pts;
        }
        sm->metrics[sm->n_metrics++] = mt;
    }
    Opentelemetry__Proto__Metrics__V1__ResourceMetrics *rm = oca_arena_alloc(a, sizeof(*rm));
    opentelemetry__proto__metrics__v1__resource_metrics__init(rm);
    rm->resource = res;
    rm->n_scope_metrics = 1;
    rm->scope_metrics = &sm;
    Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest req;
    opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__init(&req);
    req.n_resource_metrics = 1;
    req.resource_metrics = &rm;
    *len = protobuf_c_message_get_packed_size(&req.base);
    uint8_t *out = malloc(*len + 5);
    if (!out)
        abort();
    protobuf_c_message_pack(&req.base, out + 5);
    oca_arena_destroy(a);
    return out;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s OUTDIR SERIES PER_REQUEST UPDATE\n", argv[0]);
        return 2;
    }
    size_t series = strtoul(argv[2], NULL, 10), per = strtoul(argv[3], NULL, 10);
    size_t update = strtoul(argv[4], NULL, 10);
    if (!series || !per || !update || update > series)
        return 2;
    int rc = 0;
    size_t files = 0, bytes = 0, len;
    for (size_t first = 0; first < series; first += per, files++) {
        uint8_t *body = make_request(first, first + per <= series ? per : series - first, &len);
        char name[32];
        snprintf(name, sizeof(name), "load-%03zu.pb", files);
        rc |= bench_write_file(argv[1], name, body + 5, len);
        bytes += len;
        free(body);
    }
    uint8_t *framed = make_request(0, update, &len);
    bench_grpc_prefix(framed, len);
    rc |= bench_write_file(argv[1], "update.grpc", framed, len + 5);
    free(framed);
    printf("prometheus payload: %zu series in %zu requests (%zu bytes), update request %zu points (%zu bytes)\n",
           series, files, bytes, update, len);
    return rc;
}
