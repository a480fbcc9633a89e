/* The registry of component types; see components.h. Sorted by kind, then name. */
#include "agent/components.h"

#include <stddef.h>

extern const struct oca_component_type oca_opencensus_receiver;
extern const struct oca_component_type oca_otlp_receiver;
extern const struct oca_component_type oca_otlpjsonfile_receiver;
extern const struct oca_component_type oca_batch_processor;
extern const struct oca_component_type oca_memory_limiter_processor;
extern const struct oca_component_type oca_debug_exporter;
extern const struct oca_component_type oca_file_exporter;
extern const struct oca_component_type oca_jaeger_exporter;
extern const struct oca_component_type oca_nop_exporter;
extern const struct oca_component_type oca_otlp_exporter;
extern const struct oca_component_type oca_otlphttp_exporter;
extern const struct oca_component_type oca_prometheus_exporter;
extern const struct oca_component_type oca_zipkin_exporter;
extern const struct oca_component_type oca_health_check_extension;

const struct oca_component_type *const oca_components[] = {
    &oca_opencensus_receiver,
    &oca_otlp_receiver,
    &oca_otlpjsonfile_receiver,
    &oca_batch_processor,
    &oca_memory_limiter_processor,
    &oca_debug_exporter,
    &oca_file_exporter,
    &oca_jaeger_exporter,
    &oca_nop_exporter,
    &oca_otlp_exporter,
    &oca_otlphttp_exporter,
    &oca_prometheus_exporter,
    &oca_zipkin_exporter,
    &oca_health_check_extension,
    NULL,
};
