/* libFuzzer target for the jaeger exporter's translation (exporters/jaeger/translate.c) and the
 * attribute strings of codec/anyvalue.c: the input after its first byte is an OTLP traces request
 * (protobuf, or OTLP/JSON when the first byte is odd); whatever decodes is translated, and every
 * Batch must pack as a PostSpansRequest that protobuf-c unpacks again, the batches together
 * holding exactly the request's spans. Seeds: test/fuzz/corpus/jaeger_translate/. */
#include <stdint.h>
#include <stdlib.h>

#include "base/arena.h"
#include "exporters/jaeger/translate.h"
#include "fuzz.h"
#include "jaeger/api_v2/collector.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct oca_batch *b = fuzz_request(OCA_SIGNAL_TRACES, data, size);
    if (!b)
        return 0;
    struct oca_arena *a = oca_arena_new(4096);
    Jaeger__ApiV2__Batch **batches;
    size_t n = oca_jaeger_translate(b->traces, a, &batches), spans = 0;
    fuzz_check(n <= b->traces->n_resource_spans, "more batches than resources");
    for (size_t i = 0; i < n; i++) {
        Jaeger__ApiV2__PostSpansRequest req = JAEGER__API_V2__POST_SPANS_REQUEST__INIT;
        req.batch = batches[i];
        size_t len = jaeger__api_v2__post_spans_request__get_packed_size(&req);
        uint8_t *wire = malloc(len ? len : 1);
        fuzz_check(jaeger__api_v2__post_spans_request__pack(&req, wire) == len, "packed size differs");
        Jaeger__ApiV2__PostSpansRequest *back = jaeger__api_v2__post_spans_request__unpack(NULL, len, wire);
        fuzz_check(back && back->batch && back->batch->process, "a PostSpansRequest does not unpack");
        fuzz_check(back->batch->n_spans == batches[i]->n_spans, "spans lost in packing");
        spans += back->batch->n_spans;
        jaeger__api_v2__post_spans_request__free_unpacked(back, NULL);
        free(wire);
    }
    fuzz_check(spans == b->items, "the batches do not hold the request's spans");
    oca_arena_destroy(a);
    oca_batch_unref(b);
    return 0;
}
