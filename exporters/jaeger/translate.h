/* OTLP traces to Jaeger api_v2 Batches, as the Collector's jaeger translator
 * (pkg/translator/jaeger, traces_to_jaegerproto.go) maps them, for exporters/jaeger/jaeger.c and its
 * tests. One Batch per resource entry: Process from the resource, one Span per OTLP span with
 * typed tags, references, logs, Timestamp and Duration. Beyond the Collector it writes the dropped
 * counts the OpenTelemetry specification asks for (mapping-to-non-otlp.md). */
#ifndef OCA_EXPORTERS_JAEGER_TRANSLATE_H
#define OCA_EXPORTERS_JAEGER_TRANSLATE_H

#include <stddef.h>

#include "jaeger/api_v2/model.pb-c.h"
#include "pipeline/batch.h"

struct oca_arena;

/* The Process.service_name of a resource without attributes, as the Collector writes it. */
#define OCA_JAEGER_NO_SERVICE_NAME "OTLPResourceNoServiceName"

/* Translates req into *out, an array of batches, and returns their number. A resource entry with
 * neither resource attributes nor scope entries gives no batch; one with scope entries but no spans
 * gives a batch without spans. Everything is allocated in a, and strings and bytes may point into
 * req, so both a and req must outlive the result. Never fails. */
size_t oca_jaeger_translate(const oca_traces_req *req, struct oca_arena *a, Jaeger__ApiV2__Batch ***out);

#endif
