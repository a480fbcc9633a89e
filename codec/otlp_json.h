/* OTLP/JSON: the protobuf JSON mapping with the OTLP rules (opentelemetry-proto
 * docs/specification.md), driven by protobuf-c descriptors so one encoder and one decoder serve
 * every message. trace_id, span_id and parent_span_id are hex (any case on input, lower case on
 * output); other bytes are base64. Enums are integers on output, integers or names on input. 64-bit
 * integers are strings on output and strings or numbers on input. Keys are lowerCamelCase on output;
 * input takes lowerCamelCase or the proto field name. Unknown keys are ignored. */
#ifndef OCA_CODEC_OTLP_JSON_H
#define OCA_CODEC_OTLP_JSON_H

#include <stddef.h>
#include <protobuf-c/protobuf-c.h>

#include "base/buf.h"

struct oca_arena;

/* The size of an OTLP id field: 16 for a trace_id, 8 for a span_id or parent_span_id (bytes
 * fields of those names, in spans, links, log records and exemplars); 0 for any other field. JSON
 * writes these as hex, and decoding insists on these sizes (or none). */
size_t oca_otlp_id_size(const ProtobufCFieldDescriptor *f);

/* Appends the JSON of msg to out (no trailing newline). Fields at their default value are left
 * out, as protobuf's JSON mapping does. Never fails. */
void oca_otlp_json_encode(const ProtobufCMessage *msg, struct oca_buf *out);

/* Appends the JSON escape of c, a control character, '"' or '\\': \n \r \t \b \f by name, the
 * others as \u00xx. codec/anyvalue.c writes Go's JSON with it too. */
void oca_otlp_json_put_escape(struct oca_buf *b, unsigned char c);

/* Decodes len bytes of JSON into a message of type desc allocated in arena (everything it points to
 * too). Returns OCA_OK or OCA_ERR_JSON; on error *out is NULL and err (when err_size > 0) holds a
 * message naming the JSON path, e.g. "resourceSpans[0].scopeSpans[1].spans[3].traceId: expected 32
 * hex digits".
 * For OpenCensus messages (desc in package opencensus.*) it takes the JSON that grpc-gateway wrote
 * for the OpenCensus Agent: ids in base64 (or hex of the exact length), maps as JSON objects,
 * google.protobuf.Timestamp as an RFC 3339 string and wrapper types as bare values. */
int oca_otlp_json_decode(const ProtobufCMessageDescriptor *desc, const char *json, size_t len,
                         struct oca_arena *arena, ProtobufCMessage **out, char *err, size_t err_size);

#endif
