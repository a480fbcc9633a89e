/* A bound on how deeply protobuf bytes nest messages, checked before protobuf-c unpacks untrusted
 * input. protobuf-c's unpack recurses once per nested message with no limit of its own, and OTLP's
 * AnyValue nests without end (ArrayValue and KeyValueList hold AnyValues), so a request of about
 * 40 KB nesting arrays 6,000 deep overflowed an 8 MiB stack and crashed the agent. */
#ifndef OCA_CODEC_PROTO_DEPTH_H
#define OCA_CODEC_PROTO_DEPTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

/* How deep OTLP requests may nest messages: the request itself is 1, a span's attribute value 6;
 * the receivers' raw walk (receivers/otlp/walk.c) applies the same bound. */
#define OCA_PROTO_MAX_DEPTH 100

/* Whether data, a message of type d, nests messages at most max_depth deep (d itself counting 1).
 * It follows only the length-delimited fields that d's schema declares as messages. Bytes that
 * are not valid protobuf are not judged here (true): unpack refuses them itself. */
bool oca_proto_depth_ok(const ProtobufCMessageDescriptor *d, const uint8_t *data, size_t len, int max_depth);

#endif
