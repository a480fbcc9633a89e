/* libFuzzer target for codec/otlp_json.c: decodes the input as JSON of each Export*ServiceRequest.
 * Whatever decodes must encode to JSON that decodes again to the same protobuf bytes and re-encodes
 * to the same text. The input is also tried as protobuf, whose JSON (arbitrary bytes in strings,
 * ids of any length) must still be strict, valid JSON. Seeds are in test/fuzz/corpus/otlp_json/. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json_object.h>
#include <json-c/json_tokener.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/errors.h"
#include "codec/otlp_json.h"
#include "opentelemetry/proto/collector/logs/v1/logs_service.pb-c.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb-c.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t *pack(const ProtobufCMessage *m, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(m);
    uint8_t *p = malloc(*len + 1);
    if (!p || protobuf_c_message_pack(m, p) != *len)
        abort();
    return p;
}

static void check_round_trip(const ProtobufCMessage *m, struct oca_arena *arena)
{
    struct oca_buf json = { 0 }, again = { 0 };
    ProtobufCMessage *back = NULL;
    char err[256];
    oca_otlp_json_encode(m, &json);
    if (oca_otlp_json_decode(m->descriptor, json.data, json.len, arena, &back, err, sizeof(err)) != OCA_OK) {
        fprintf(stderr, "re-decoding failed: %s\n%s\n", err, json.data);
        abort();
    }
    size_t la, lb;
    uint8_t *pa = pack(m, &la), *pb = pack(back, &lb);
    if (la != lb || memcmp(pa, pb, la) != 0) {
        fprintf(stderr, "protobuf bytes differ after a JSON round trip\n%s\n", json.data);
        abort();
    }
    oca_otlp_json_encode(back, &again);
    if (again.len != json.len || memcmp(again.data, json.data, json.len) != 0) {
        fprintf(stderr, "encoding is not stable\n%s\n%s\n", json.data, again.data);
        abort();
    }
    free(pa);
    free(pb);
    oca_buf_free(&json);
    oca_buf_free(&again);
}

static void check_valid_json(const struct oca_buf *json)
{
    struct json_tokener *tok = json_tokener_new_ex(100000);
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    struct json_object *root = json_tokener_parse_ex(tok, json->data, (int)json->len + 1);
    if (json_tokener_get_error(tok) != json_tokener_success || json_tokener_get_parse_end(tok) != json->len ||
        !json_object_is_type(root, json_type_object)) {
        fprintf(stderr, "encoder wrote invalid JSON: %s\n%s\n",
                json_tokener_error_desc(json_tokener_get_error(tok)), json->data);
        abort();
    }
    json_object_put(root);
    json_tokener_free(tok);
}

static void check_protobuf_input(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t size)
{
    struct oca_arena *arena = oca_arena_new(4096);
    ProtobufCAllocator alloc = { oca_arena_alloc_cb, oca_arena_free_cb, arena };
    ProtobufCMessage *m = protobuf_c_message_unpack(desc, &alloc, size, data);
    if (m) {
        struct oca_buf json = { 0 };
        oca_otlp_json_encode(m, &json);
        check_valid_json(&json);
        oca_buf_free(&json);
    }
    oca_arena_destroy(arena);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const ProtobufCMessageDescriptor *const descs[] = {
        &opentelemetry__proto__collector__trace__v1__export_trace_service_request__descriptor,
        &opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__descriptor,
        &opentelemetry__proto__collector__logs__v1__export_logs_service_request__descriptor,
    };
    for (size_t i = 0; i < sizeof(descs) / sizeof(descs[0]); i++) {
        struct oca_arena *arena = oca_arena_new(4096);
        ProtobufCMessage *m = NULL;
        char err[256];
        int rc = oca_otlp_json_decode(descs[i], (const char *)data, size, arena, &m, err, sizeof(err));
        if (rc == OCA_OK)
            check_round_trip(m, arena);
        else if (rc != OCA_ERR_JSON || m != NULL || strlen(err) >= sizeof(err))
            abort();
        oca_arena_destroy(arena);
        check_protobuf_input(descs[i], data, size);
    }
    return 0;
}
