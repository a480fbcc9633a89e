/* libFuzzer target for the opencensus receiver's message path without sockets: the input decoded
 * as an OpenCensus trace and metrics Export request (protobuf, then grpc-gateway JSON), translated
 * to OTLP (receivers/opencensus/translate.c), and the result packed and decoded again, which must
 * succeed. Inheritance is exercised by translating with the request's own Node and Resource and
 * with none. Seeds: test/fuzz/corpus/opencensus/. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/arena.h"
#include "codec/otlp_json.h"
#include "receivers/opencensus/translate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_otlp(const ProtobufCMessage *m)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(n ? n : 1);
    protobuf_c_message_pack(m, buf);
    ProtobufCMessage *back = protobuf_c_message_unpack(m->descriptor, NULL, n, buf);
    if (!back) {
        fprintf(stderr, "opencensus_fuzz: the translation does not round-trip as protobuf\n");
        abort();
    }
    protobuf_c_message_free_unpacked(back, NULL);
    free(buf);
}

static void translate(const ProtobufCMessage *req, struct oca_arena *a)
{
    struct oca_opencensus_drops drops = { 0, NULL };
    if (req->descriptor == &opencensus__proto__agent__trace__v1__export_trace_service_request__descriptor) {
        const Opencensus__Proto__Agent__Trace__V1__ExportTraceServiceRequest *r = (const void *)req;
        check_otlp(&oca_opencensus_traces(r, r->node, r->resource, a, &drops)->base);
        check_otlp(&oca_opencensus_traces(r, NULL, NULL, a, NULL)->base);
    } else {
        const Opencensus__Proto__Agent__Metrics__V1__ExportMetricsServiceRequest *r = (const void *)req;
        check_otlp(&oca_opencensus_metrics(r, r->node, r->resource, a, &drops)->base);
        check_otlp(&oca_opencensus_metrics(r, NULL, NULL, a, NULL)->base);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const ProtobufCMessageDescriptor *descs[] = {
        &opencensus__proto__agent__trace__v1__export_trace_service_request__descriptor,
        &opencensus__proto__agent__metrics__v1__export_metrics_service_request__descriptor,
    };
    for (size_t i = 0; i < 2; i++) {
        struct oca_arena *a = oca_arena_new(4096);
        ProtobufCAllocator alloc = { .alloc = oca_arena_alloc_cb, .free = oca_arena_free_cb, .allocator_data = a };
        ProtobufCMessage *req = protobuf_c_message_unpack(descs[i], &alloc, size, data);
        if (req)
            translate(req, a);
        req = NULL;
        if (oca_otlp_json_decode(descs[i], (const char *)data, size, a, &req, NULL, 0) == 0 && req)
            translate(req, a);
        oca_arena_destroy(a);
    }
    return 0;
}
