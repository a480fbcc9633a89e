/* What every pushing exporter shares, as the Collector's exporterhelper: a sending queue of batch
 * references served by num_consumers concurrent senders, retries with exponential backoff on
 * retryable failures (honouring the delay a backend asks for), a timeout per attempt, the
 * exporter's counters and a shutdown that drains the queue. An exporter supplies one function that
 * makes a single attempt to send one batch; everything about when to try and what to count lives
 * here. Loop thread only. */
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

/* The rules across fields the Collector checks, for the exporter's validate to call: with
 * retry_on_failure enabled and max_elapsed_time > 0, max_elapsed_time may not be below
 * initial_interval or max_interval. Reports through oca_diag_field_error; returns OCA_OK or
 * OCA_ERR_CONFIG. (An addition to the issue 7 contract.) */
struct oca_diag;
int oca_exporter_helper_validate(const struct oca_exporter_helper_config *cfg, struct oca_diag *diag);

/* What one attempt ended with, as the exporter saw it. */
struct oca_send_result {
    int err;                    /* OCA_OK; a retryable OCA_ERR_* (tried again); a permanent one */
    int64_t retry_after_ns;     /* the backend asked to wait this long (Retry-After, RetryInfo); <= 0: no.
                                 * Waited at least, capped at OCA_RETRY_AFTER_MAX_NS */
    const char *message;        /* the backend's own words for the log (copied); may be NULL */
};

struct oca_send_attempt;

struct oca_exporter_ops {
    /* Makes one attempt to send batch (a reference the helper holds until the attempt ends), which
     * must end within timeout_ns when that is > 0 (the helper sets no timer of its own). Reports
     * exactly once through oca_send_attempt_done(attempt, ...), inside this call or later on the
     * loop thread; after that call the batch may be gone (take a reference to keep it). The helper
     * calls send from a timer callback of its own, never from inside consume or done, so an
     * exporter's send and its completion callbacks never nest. */
    void (*send)(void *exporter, enum oca_signal sig, struct oca_batch *batch, int64_t timeout_ns,
                 struct oca_send_attempt *attempt);
};

/* Ends the attempt; res and its message need only live for the call. */
void oca_send_attempt_done(struct oca_send_attempt *attempt, const struct oca_send_result *res);

/* What is counted on self->counters, per signal, in items: OCA_EDGE_SENT when a batch is
 * delivered, OCA_EDGE_SEND_FAILED when it fails permanently or its retries are exhausted (logged
 * with the backend's message, at most one line a second per kind of event), OCA_EDGE_ENQUEUE_FAILED
 * when consume refuses it for want of room. A batch being retried counts nothing until it ends.
 * queue_size is the number of batches waiting for a sender and queue_capacity the configured
 * queue_size (both -1 with the queue disabled); queued_batches/queued_items hold everything taken
 * and not yet finished, which the agent counts as dropped if its shutdown timer runs out. */
struct oca_exporter_helper;

/* For exporter component self (its id names it in logs, its counters are the ones kept; they may
 * be NULL). cfg must outlive the helper. Sets queue_capacity and queue_size at once. start never
 * fails; batches consumed before it wait in the queue and are sent once it has run. */
struct oca_exporter_helper *oca_exporter_helper_new(struct oca_component *self,
                                                    const struct oca_exporter_helper_config *cfg,
                                                    const struct oca_exporter_ops *ops, void *exporter);
int oca_exporter_helper_start(struct oca_exporter_helper *h, uv_loop_t *loop);

/* The exporter's consume. Takes a reference to batch and returns OCA_OK once it is queued (or
 * handed to a free sender, whose first attempt starts on the next turn of the loop);
 * OCA_ERR_QUEUE_FULL (retryable, counted as enqueue_failed, no reference kept) when no room is
 * left; OCA_ERR_SHUTTING_DOWN (not counted: the caller refuses it upstream) after shutdown began.
 * With the queue disabled there is no waiting room: a batch is taken only when one of
 * num_consumers senders is free, since a consume cannot block as the Collector's does. */
int oca_exporter_helper_consume(struct oca_exporter_helper *h, enum oca_signal sig, struct oca_batch *batch);

/* Stops taking batches and keeps sending (and retrying, with the configured backoff) what is queued
 * until it is empty, then closes its timers and calls done(arg) once. The agent's shutdown_timeout
 * bounds how long that may take. Each call gets its own done; a call after done has fired is
 * answered at once. Without start, what was queued is dropped (counted as dropped) and done is
 * called before this returns. done may free the helper. ops->send keeps being called until done,
 * so the exporter closes its connections only after that. */
void oca_exporter_helper_shutdown(struct oca_exporter_helper *h, void (*done)(void *arg), void *arg);

/* Frees the helper; after shutdown's done, or when never started (queued batches are then dropped
 * and counted). NULL is ignored. */
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
