/* OTLP/gRPC for the otlp receiver (see otlp.h): the unary Export methods of
 * opentelemetry.proto.collector.{trace,metrics,logs}.v1.{Trace,Metrics,Logs}Service on net/grpc.h.
 * Each message is exported through export.c and answered with the Export*ServiceResponse, or with
 * the gRPC status export.c derives from the error; retryable refusals carry a google.rpc.RetryInfo
 * in grpc-status-details-bin, as opentelemetry-proto's specification asks. */
#include <string.h>

#include "base/buf.h"
#include "base/errors.h"
#include "base/log.h"
#include "receivers/otlp/otlp.h"

static const char *const method_paths[OCA_SIGNAL_COUNT] = {
    "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
    "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
    "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
};

static enum oca_signal call_signal(const struct oca_grpc_call *call)
{
    const struct oca_grpc_method *m = oca_grpc_call_method(call);
    struct oca_otlp_rx *rx = m->data;
    return (enum oca_signal)(m - rx->methods);
}

static void finish_failure(struct oca_grpc_call *call, const struct oca_otlp_result *res)
{
    struct oca_buf details = { 0 };
    bool retry = oca_otlp_retryable(res);
    oca_otlp_encode_status(res, OCA_ENCODING_PROTO, retry, &details);
    oca_grpc_finish(call, oca_otlp_grpc_status(res), res->message, (const uint8_t *)details.data, details.len);
    oca_buf_free(&details);
}

/* A signal that no pipeline takes is not served, as the Collector registers only the services
 * of its pipelines. (A spent memory budget is answered once the message is in, so that its items
 * can be counted as refused; the gRPC layer buffers it, within max_recv_msg_size, either way.) */
static void on_start(struct oca_grpc_call *call)
{
    const struct oca_grpc_method *m = oca_grpc_call_method(call);
    struct oca_otlp_rx *rx = m->data;
    enum oca_signal sig = call_signal(call);
    if (!rx->self->next[sig]) {
        oca_grpc_finish(call, OCA_GRPC_UNIMPLEMENTED, "unknown service", NULL, 0);
        oca_log_debug(rx->self->id, "gRPC call to %s from %s: no %s pipeline", m->path + 1,
                      oca_http_stream_peer(oca_grpc_call_stream(call)), oca_signal_name(sig));
    }
}

/* The answer, once the job is through (maybe on the thread pool meanwhile). A call that closed
 * in the meantime cleared job->user. */
static void on_exported(struct oca_otlp_job *job)
{
    struct oca_grpc_call *call = job->user;
    if (!call)
        return;
    oca_grpc_call_set_data(call, oca_grpc_call_router_data(call));
    if (job->res.err) {
        finish_failure(call, &job->res);
        return;
    }
    struct oca_buf out = { 0 };
    oca_otlp_encode_response(job->sig, OCA_ENCODING_PROTO, &job->res, &out);
    oca_grpc_send_message(call, (const uint8_t *)(out.data ? out.data : ""), out.len);
    oca_grpc_finish(call, OCA_GRPC_OK, NULL, NULL, 0);
    oca_buf_free(&out);
}

/* While its job runs the call's data is the job, and the call is paused: a unary call takes one
 * message, so nothing more (another message, the half-close) is delivered before the answer. */
static void on_message(struct oca_grpc_call *call, const uint8_t *msg, size_t len)
{
    const struct oca_grpc_method *m = oca_grpc_call_method(call);
    struct oca_otlp_rx *rx = m->data;
    struct oca_otlp_listener *l = oca_grpc_call_router_data(call);
    struct oca_http_stream *s = oca_grpc_call_stream(call);
    struct oca_otlp_from from = { oca_http_stream_peer(s), s, l->include_metadata };
    struct oca_otlp_job *job = oca_otlp_job_new(rx->self, call_signal(call), OCA_ENCODING_PROTO, on_exported, call);
    oca_grpc_call_set_data(call, job);
    oca_grpc_call_pause(call);
    /* A message big enough for the pool is taken from the call rather than copied there. */
    void *block = msg && len >= rx->offload_min ? oca_grpc_call_take_message(call, msg) : NULL;
    oca_otlp_job_submit(job, msg ? msg : (const uint8_t *)"", len, block, 0, &from);
}

/* A unary call whose client ended without a message: INTERNAL, as grpc-java answers it. */
static void on_half_close(struct oca_grpc_call *call)
{
    if (!oca_grpc_call_done(call))
        oca_grpc_finish(call, OCA_GRPC_INTERNAL, "half-closed without a request", NULL, 0);
}

/* A call gone (reset, connection closed, shutdown) before its job finished: no answer then. */
static void on_close(struct oca_grpc_call *call)
{
    void *data = oca_grpc_call_data(call);
    if (data != oca_grpc_call_router_data(call))
        ((struct oca_otlp_job *)data)->user = NULL;
}

void oca_otlp_grpc_setup(struct oca_otlp_rx *rx, struct oca_otlp_listener *l, uint64_t max_recv_msg_size)
{
    for (int sig = 0; sig < OCA_SIGNAL_COUNT; sig++)
        rx->methods[sig] = (struct oca_grpc_method){
            .path = method_paths[sig],
            .on_start = on_start,
            .on_message = on_message,
            .on_half_close = on_half_close,
            .on_close = on_close,
            .data = rx,
        };
    l->router = (struct oca_grpc_router){
        .methods = rx->methods,
        .n_methods = OCA_SIGNAL_COUNT,
        .max_recv_msg_size = max_recv_msg_size,
        .data = l,
        .fallback = NULL,
        .who = rx->self->id,
    };
}
