/* libFuzzer target for the zipkin exporter's translation (exporters/zipkin/translate.c): the input
 * after its first byte is an OTLP traces request (protobuf, or OTLP/JSON when the first byte is
 * odd); whatever decodes is translated to Zipkin JSON and proto3. A translation that succeeds must
 * give a JSON array that json-c reads back with one object per span and a ListOfSpans that
 * protobuf-c unpacks with as many spans; one that fails must leave the output untouched.
 * Seeds: test/fuzz/corpus/zipkin_translate/. */
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "exporters/zipkin/translate.h"
#include "fuzz.h"
#include "zipkin/zipkin.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct oca_batch *b = fuzz_request(OCA_SIGNAL_TRACES, data, size);
    if (!b)
        return 0;
    char detail[256];
    struct oca_buf out = { 0 };
    oca_buf_puts(&out, "x");
    int err = oca_zipkin_encode(b->traces, OCA_ZIPKIN_JSON, "fuzz", &out, detail, sizeof(detail));
    if (err == OCA_OK) {
        struct json_object *arr = json_tokener_parse(out.data + 1);
        fuzz_check(arr && json_object_get_type(arr) == json_type_array, "JSON output does not parse as an array");
        fuzz_check(json_object_array_length(arr) == b->items, "JSON span count differs from the request's");
        json_object_put(arr);
    } else {
        fuzz_check(err == OCA_ERR_INVALID && out.len == 1, "a failed translation changed the output");
    }
    oca_buf_reset(&out);
    int err2 = oca_zipkin_encode(b->traces, OCA_ZIPKIN_PROTO, "fuzz", &out, detail, sizeof(detail));
    fuzz_check(err2 == err, "JSON and proto disagree on whether the batch translates");
    if (err2 == OCA_OK) {
        Zipkin__Proto3__ListOfSpans *list =
            zipkin__proto3__list_of_spans__unpack(NULL, out.len, (const uint8_t *)out.data);
        fuzz_check(list != NULL, "proto output does not unpack");
        fuzz_check(list->n_spans == b->items, "proto span count differs from the request's");
        zipkin__proto3__list_of_spans__free_unpacked(list, NULL);
    }
    oca_buf_free(&out);
    oca_batch_unref(b);
    return 0;
}
