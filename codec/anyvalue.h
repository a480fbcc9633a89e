/* An OTLP AnyValue as one string, exactly as the Collector's pcommon Value.AsString writes it, for
 * exporters whose formats have no arrays or maps (Jaeger, Zipkin tags): strings as they are,
 * integers in decimal, doubles as Go's encoding/json writes them (shortest round trip, exponent
 * below 1e-6 and from 1e21), bytes in standard base64, arrays and maps as compact JSON with map
 * keys sorted and no HTML escaping. */
#ifndef OCA_CODEC_ANYVALUE_H
#define OCA_CODEC_ANYVALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "opentelemetry/proto/common/v1/common.pb-c.h"

/* Appends the string form of v to out; a NULL or unset value appends nothing. A double that is
 * NaN or infinite gives Go's "json: unsupported value: NaN" text at the top level, and makes an
 * enclosing array or map empty (""), because Go's JSON encoder fails on it and the Collector
 * keeps the empty result. Never fails. */
void oca_anyvalue_append_string(struct oca_buf *out, const Opentelemetry__Proto__Common__V1__AnyValue *v);

/* Appends the n attributes kvs as Go's encoding/json writes the map pcommon's AsRaw makes of them:
 * keys sorted bytewise, of equal keys the last, values as in the arrays and maps above; with
 * escape_html also <, > and & escaped (json.Marshal does, as the Collector's zipkin translator
 * uses it for event and link attributes). Returns false when a value is NaN or infinite, which Go's
 * encoder refuses; out then holds a partial text the caller discards. */
bool oca_anyvalue_append_json_map(struct oca_buf *out, Opentelemetry__Proto__Common__V1__KeyValue *const *kvs,
                                  size_t n, bool escape_html);

/* The length of the UTF-8 sequence at s (at most n > 0 bytes; 1 for ASCII) with its code point in
 * *cp, or 0 when the byte at s starts no valid one by Go's rules (no overlong forms, no surrogates,
 * nothing above U+10FFFF), which Go's encoders replace with U+FFFD. */
size_t oca_utf8_next(const unsigned char *s, size_t n, uint32_t *cp);

/* A double as Go's encoding/json writes it ("1.5", "1e+21", "1e-7", "-0"); finite values only.
 * buf must hold 32 bytes; returns buf. */
char *oca_anyvalue_format_double(double d, char buf[32]);

#endif
