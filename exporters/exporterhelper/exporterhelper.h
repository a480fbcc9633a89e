/* What every pushing exporter shares, as the Collector's exporterhelper: a sending queue of batch
 * references served by num_consumers concurrent senders, retries with exponential backoff on
 * retryable failures (honouring the delay a backend asks for), a timeout per attempt, the
 * exporter's counters (sent, send_failed, enqueue_failed, queue size and capacity) and a shutdown
 * that drains the queue. An exporter supplies one function that makes a single attempt to send one
 * batch; everything about when to try and what to count lives here. Loop thread only. */
#ifndef OCA_EXPORTERS_EXPORTERHELPER_H
#define OCA_EXPORTERS_EXPORTERHELPER_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "config/fields.h"
#include "pipeline/component.h"
#include "pipeline/signal.h"

struct oca_batch;

struct oca_queue_config {
    bool enabled;               /* true */
    uint32_t num_consumers;     /* 10: batches being sent at once */
    uint32_t queue_size;        /* 1000: batches waiting, beyond those being sent */
};

struct oca_retry_config {
    bool enabled;                   /* true */
    int64_t initial_interval_ns;    /* 5s */
    double randomization_factor;    /* 0.5 */
    double multiplier;              /* 1.5 */
    int64_t max_interval_ns;        /* 30s */
    int64_t max_elapsed_time_ns;    /* 300s; 0: retry forever */
};

struct oca_exporter_helper_config {
    int64_t timeout_ns;                         /* 5s per attempt; 0: none */
    struct oca_queue_config sending_queue;
    struct oca_retry_config retry_on_failure;
};

extern const struct oca_field oca_queue_fields[];
extern const struct oca_field oca_retry_fields[];

/* The entries of an embedded struct oca_exporter_helper_config in an exporter's own table, flat as
 * in the Collector: timeout, sending_queue.*, retry_on_failure.*. */
#define OCA_EXPORTER_HELPER_FIELDS(S, m) \
    { .name = "timeout", .kind = OCA_FIELD_KIND_DURATION, \
      .offset = OCA_FIELD_AT(S, m.timeout_ns, int64_t), .def = "5s", .min = 0, .max = 3600 * OCA_NS_PER_S, \
      .doc = "Time allowed for one attempt to send a batch; 0 waits as long as it takes." }, \
    { .name = "sending_queue", .kind = OCA_FIELD_KIND_SECTION, \
      .offset = OCA_FIELD_AT(S, m.sending_queue, struct oca_queue_config), .sub = oca_queue_fields, \
      .doc = "Batches waiting to be sent, and how many are sent at once." }, \
    { .name = "retry_on_failure", .kind = OCA_FIELD_KIND_SECTION, \
      .offset = OCA_FIELD_AT(S, m.retry_on_failure, struct oca_retry_config), .sub = oca_retry_fields, \
      .doc = "Retries of a batch after a retryable failure, with exponential backoff." }

/* What one attempt ended with, as the exporter saw it. */
struct oca_send_result {
    int err;                    /* OCA_OK; a retryable OCA_ERR_* (tried again); a permanent one */
    int64_t retry_after_ns;     /* the backend asked to wait this long (Retry-After, RetryInfo); 0: no */
    const char *message;        /* the backend's own words for the log (copied); may be NULL */
};

struct oca_send_attempt;

struct oca_exporter_ops {
    /* Makes one attempt to send batch (a reference the helper holds until the attempt ends), which
     * must end within timeout_ns when that is > 0. Reports exactly once through
     * oca_send_attempt_done(attempt, ...), inside this call or later on the loop thread. */
    void (*send)(void *exporter, enum oca_signal sig, struct oca_batch *batch, int64_t timeout_ns,
                 struct oca_send_attempt *attempt);
};

void oca_send_attempt_done(struct oca_send_attempt *attempt, const struct oca_send_result *res);

struct oca_exporter_helper;

/* For exporter component self (its id names it in logs, its counters are the ones kept). cfg must
 * outlive the helper. */
struct oca_exporter_helper *oca_exporter_helper_new(struct oca_component *self,
                                                    const struct oca_exporter_helper_config *cfg,
                                                    const struct oca_exporter_ops *ops, void *exporter);
int oca_exporter_helper_start(struct oca_exporter_helper *h, uv_loop_t *loop);

/* The exporter's consume. Takes a reference to batch and returns OCA_OK once it is queued (or
 * handed to a free sender); OCA_ERR_QUEUE_FULL (retryable, counted as enqueue_failed) when no room
 * is left; OCA_ERR_SHUTTING_DOWN after shutdown began. With the queue disabled there is no waiting
 * room: a batch is taken only when one of num_consumers senders is free. */
int oca_exporter_helper_consume(struct oca_exporter_helper *h, enum oca_signal sig, struct oca_batch *batch);

/* Stops taking batches and keeps sending (and retrying) what is queued until it is empty, then calls
 * done(arg) once. The agent's shutdown_timeout bounds how long that may take. */
void oca_exporter_helper_shutdown(struct oca_exporter_helper *h, void (*done)(void *arg), void *arg);

/* Frees the helper; after shutdown's done (or when never started). */
void oca_exporter_helper_free(struct oca_exporter_helper *h);

/* The OTLP specification's rules for what a client retries (retry_policy.c). HTTP: 429, 502, 503
 * and 504 are retryable (OCA_ERR_THROTTLED for 429, else OCA_ERR_UNAVAILABLE), 2xx is OCA_OK and
 * every other status is permanent (OCA_ERR_REJECTED), a 1xx or 3xx that reached the exporter
 * included. status is one that was received: a transport failure (refused connection, reset,
 * timeout) has none, and the exporter reports OCA_ERR_IO or OCA_ERR_TIMEOUT for it itself.
 * gRPC: CANCELLED, ABORTED, OUT_OF_RANGE, UNAVAILABLE and DATA_LOSS are OCA_ERR_UNAVAILABLE,
 * DEADLINE_EXCEEDED is OCA_ERR_TIMEOUT, RESOURCE_EXHAUSTED is OCA_ERR_THROTTLED when the server
 * sent RetryInfo and permanent without; the rest are permanent (OCA_ERR_REJECTED); 0 is OCA_OK. */
int oca_export_http_status_err(int status);
int oca_export_grpc_status_err(int code, bool has_retry_info);

/* The longest delay a Retry-After can ask for; longer ones are cut to this. */
#define OCA_RETRY_AFTER_MAX_NS (3600 * OCA_NS_PER_S)

/* A Retry-After value (network input; value NUL-terminated, NULL allowed): delay-seconds or an
 * HTTP-date (IMF-fixdate, or the obsolete RFC 850 and asctime forms), with optional surrounding
 * spaces, relative to now (unix seconds). Returns the delay in ns, at most OCA_RETRY_AFTER_MAX_NS
 * and 0 for a date not in the future, or -1 when value is neither form. */
int64_t oca_retry_after_parse(const char *value, int64_t now_unix_s);

#endif
