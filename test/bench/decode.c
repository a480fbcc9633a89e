/* The decode bound: a tight single-core loop that only unpacks the benchmark payload with
 * protobuf-c into an arena (base/arena.h as the ProtobufCAllocator) and frees the arena, the
 * least work any design that decodes every request must do. Usage: decode traces.pb [SECONDS];
 * prints "decode: N spans/s (R requests/s)". Run it pinned (taskset -c 0) for a per-core figure. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "base/arena.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t count_spans(const Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *r)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n_resource_spans; i++)
        for (size_t j = 0; j < r->resource_spans[i]->n_scope_spans; j++)
            n += r->resource_spans[i]->scope_spans[j]->n_spans;
    return n;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s traces.pb [SECONDS]\n", argv[0]);
        return 2;
    }
    double seconds = argc > 2 ? atof(argv[2]) : 2.0;
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    static uint8_t body[1 << 20];
    size_t len = fread(body, 1, sizeof(body), f);
    fclose(f);

    size_t spans_per_req = 0;
    uint64_t reqs = 0;
    double start = now_s(), elapsed = 0;
    do {
        for (int k = 0; k < 100; k++) {
            /* The first chunk the receiver would start with: about three times the body. */
            struct oca_arena *a = oca_arena_new(len * 3);
            ProtobufCAllocator alloc = { .alloc = oca_arena_alloc_cb, .free = oca_arena_free_cb, .allocator_data = a };
            Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *r =
                opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(&alloc, len, body);
            if (!r) {
                fprintf(stderr, "decode: the payload does not unpack\n");
                return 1;
            }
            spans_per_req = count_spans(r);
            oca_arena_destroy(a);
            reqs++;
        }
        elapsed = now_s() - start;
    } while (elapsed < seconds);
    printf("decode: %.0f spans/s (%.0f requests/s of %zu spans, %zu bytes)\n",
           (double)reqs * (double)spans_per_req / elapsed, (double)reqs / elapsed, spans_per_req, len);
    return 0;
}
