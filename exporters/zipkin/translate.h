/* OTLP traces to Zipkin v2 spans, by the rules of the Collector's zipkinv2 FromTranslator and the
 * zipkin-go serializers it uses: the body of one POST to /api/v2/spans, as a JSON array of spans or
 * a protobuf ListOfSpans (proto/zipkin/zipkin.proto). The zipkin exporter calls it once per batch;
 * it is pure CPU work on the request and touches no other state, so any thread may run it. */
#ifndef OCA_EXPORTERS_ZIPKIN_TRANSLATE_H
#define OCA_EXPORTERS_ZIPKIN_TRANSLATE_H

#include <stddef.h>

#include "base/buf.h"
#include "pipeline/batch.h"

enum oca_zipkin_format { OCA_ZIPKIN_JSON, OCA_ZIPKIN_PROTO };

/* Appends the Zipkin encoding of every span in req to out ("[]" or an empty ListOfSpans when there
 * are none). default_service_name is the localEndpoint serviceName of spans whose resource has none
 * of service.name, faas.name, k8s.deployment.name, process.executable.name.
 * Returns OCA_OK, or OCA_ERR_INVALID when a span cannot be expressed in Zipkin: an all-zero or
 * missing trace or span id, an end time before the start time, a NaN or infinite number among an
 * event's or a link's attributes. The Collector fails the whole batch then as a permanent error, and
 * so does this: out is left as it was and detail (when detail_size > 0) says why. */
int oca_zipkin_encode(const oca_traces_req *req, enum oca_zipkin_format fmt, const char *default_service_name,
                      struct oca_buf *out, char *detail, size_t detail_size);

#endif
