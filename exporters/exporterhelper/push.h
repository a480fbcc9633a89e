/* The push exporter: what the exporters that send each batch to a backend over the outbound HTTP
 * client share (otlp, otlphttp, zipkin, jaeger). It owns the HTTP client and the exporter helper
 * and gives them one lifecycle (shutdown drains the queue, then closes the client, so no attempt
 * is cut off by the client going away), and checks the config every such exporter has (headers,
 * tls, the helper's rules). */
#ifndef OCA_EXPORTERS_EXPORTERHELPER_PUSH_H
#define OCA_EXPORTERS_EXPORTERHELPER_PUSH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "config/fields.h"
#include "exporters/exporterhelper/exporterhelper.h"
#include "net/http_client.h"
#include "pipeline/batch.h"
#include "pipeline/component.h"

/* The exporter embeds one as its first member, so that self->state points at both. */
struct oca_push_exporter {
    struct oca_component *self;
    const struct oca_tls_client_config *tls;
    struct oca_exporter_helper *helper;
    struct oca_http_client *client;     /* from start until shutdown is done */
    struct oca_http_header *headers;    /* the exporter's own first, then the configured ones */
    size_t n_headers;
    struct oca_waiters waiters;
    bool started, stopping;
};

/* Sets up p for self: fixed (n_fixed headers the exporter always sends, borrowed for p's lifetime)
 * followed by the configured headers (borrowed from the config), and the helper around ops. */
void oca_push_exporter_init(struct oca_push_exporter *p, struct oca_component *self,
                            const struct oca_exporter_helper_config *helper_cfg,
                            const struct oca_tls_client_config *tls, const struct oca_strmap *headers,
                            const struct oca_http_header *fixed, size_t n_fixed,
                            const struct oca_exporter_ops *ops, void *exporter);

/* Frees what init and start made (after shutdown's done, or when never started). */
void oca_push_exporter_free(struct oca_push_exporter *p);

/* The rules every push exporter's validate shares: the headers (oca_push_headers_ok, reported on
 * "headers"), the tls section and the exporter helper's cross-field rules. Reports through diag;
 * returns OCA_OK or OCA_ERR_CONFIG. */
struct oca_diag;
int oca_push_exporter_validate(const struct oca_strmap *headers, const struct oca_tls_client_config *tls,
                               const struct oca_exporter_helper_config *helper, struct oca_diag *diag);

/* Checks configured headers (or gRPC metadata): names are HTTP tokens (RFC 9110), values hold no
 * control characters but tab (a CR or LF would smuggle in headers of its own). Returns true, or
 * false with the reason in why. */
bool oca_push_headers_ok(const struct oca_strmap *headers, char *why, size_t why_size);

/* The component slots, the same for every push exporter: self->state points at the exporter's
 * struct, whose first member is its struct oca_push_exporter. start creates the client and starts
 * the helper (OCA_ERR_CONFIG when the client cannot be set up; logged); consume queues the batch;
 * shutdown is safe without start and safe twice, and each call's done runs once. */
int oca_push_exporter_start(struct oca_component *self, uv_loop_t *loop);
int oca_push_exporter_consume(struct oca_component *self, enum oca_signal sig, struct oca_batch *batch);
void oca_push_exporter_shutdown(struct oca_component *self, oca_done_cb done);

/* The delay a retryable HTTP answer asks for (its Retry-After), in ns; 0 when none or not valid. */
int64_t oca_push_retry_after(const struct oca_http_response *resp);

#endif
