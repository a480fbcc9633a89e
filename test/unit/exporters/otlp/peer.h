/* Shared by the OTLP exporters' unit tests: the exporter under test and, as its backend on the same
 * loop, the project's own otlp receiver (one listener serves gRPC and OTLP/HTTP) whose fake next
 * consumer keeps what arrives or refuses it on demand, so that every reply the exporter must handle
 * (OK, a permanent error with a google.rpc.Status, 503 with Retry-After, UNAVAILABLE with RetryInfo)
 * comes from a real peer. Small batches of every signal with distinct items. Nothing sleeps. */
#ifndef OCA_TEST_EXPORTERS_OTLP_PEER_H
#define OCA_TEST_EXPORTERS_OTLP_PEER_H

#include "../../receivers/otlp/harness.h"

struct peer {
    struct h_rx rx;                     /* the receiver, its loop and its fake consumer */
    struct oca_arena *arena;            /* the exporter's config */
    struct oca_component exp;
    struct oca_counters counters;       /* the exporter's */
    int done_calls;
};

/* Starts the receiver on 127.0.0.1:0 (with include_metadata, so headers reach the batches), then
 * the exporter of type t with config yaml, in which each PORT is the receiver's port. */
static H_UNUSED void peer_start(struct peer *p, const struct oca_component_type *t, const char *tmpl)
{
    memset(p, 0, sizeof(*p));
    h_start(&p->rx, "protocols: {grpc: {endpoint: \"127.0.0.1:0\", include_metadata: true}}", 0);
    char port[8], yaml[1024];
    snprintf(port, sizeof(port), "%u", (unsigned)h_port(&p->rx, 0));
    size_t n = 0;
    for (const char *s = tmpl; *s && n + sizeof(port) < sizeof(yaml);) {
        if (strncmp(s, "PORT", 4) == 0) {
            n += (size_t)snprintf(yaml + n, sizeof(yaml) - n, "%s", port);
            s += 4;
        } else {
            yaml[n++] = *s++;
        }
    }
    yaml[n] = '\0';
    p->arena = oca_arena_new(4096);
    p->exp.type = t;
    p->exp.id = t->name;
    p->exp.config = oca_test_valid_config(p->arena, t, yaml, "exporters.x");
    p->exp.counters = &p->counters;
    p->exp.loop = &p->rx.loop;
    assert_int_equal(t->create(&p->exp, NULL), OCA_OK);
    assert_int_equal(t->start(&p->exp, &p->rx.loop), OCA_OK);
}

static H_UNUSED void peer_on_done(struct oca_component *self)
{
    struct peer *p = (struct peer *)((char *)self - offsetof(struct peer, exp));
    p->done_calls++;
}

static H_UNUSED bool peer_done(void *arg) { return ((struct peer *)arg)->done_calls > 0; }

/* Shuts the exporter down (it drains first), then the receiver; checks the loop closes clean. */
static H_UNUSED void peer_stop(struct peer *p)
{
    p->exp.type->shutdown(&p->exp, peer_on_done);
    assert_true(h_run_until(&p->rx.loop, peer_done, p, 10000));
    p->exp.type->destroy(&p->exp);
    oca_arena_destroy(p->arena);
    h_stop(&p->rx);
}

/* Hands b to the exporter (dropping the caller's reference); returns what consume returned. */
static H_UNUSED int peer_consume(struct peer *p, struct oca_batch *b)
{
    int err = p->exp.type->consume(&p->exp, b->signal, b);
    oca_batch_unref(b);
    return err;
}

/* Waits for a condition on the exporter's or the receiver's counters. */
struct peer_until {
    const uint64_t *value;
    uint64_t want;
};
static H_UNUSED bool peer_reached(void *arg)
{
    const struct peer_until *u = arg;
    return *u->value >= u->want;
}
static H_UNUSED bool peer_wait(struct peer *p, const uint64_t *value, uint64_t want, uint64_t ms)
{
    struct peer_until u = { value, want };
    return h_run_until(&p->rx.loop, peer_reached, &u, ms);
}
#define PEER_EXP(p, edge, sig) (&(p)->counters.items[(edge)][(sig)])
#define PEER_RX(p, edge, sig) (&(p)->rx.counters.items[(edge)][(sig)])

/* Runs the loop for ms, for checks that something does not happen. */
static H_UNUSED bool peer_never(void *arg) { (void)arg; return false; }
static H_UNUSED void peer_idle(struct peer *p, uint64_t ms) { h_run_until(&p->rx.loop, peer_never, NULL, ms); }

static H_UNUSED ProtobufCMessage *peer_span(struct oca_arena *a, size_t k, const void *arg)
{
    (void)arg;
    Opentelemetry__Proto__Trace__V1__Span *sp = oca_arena_zalloc(a, sizeof(*sp));
    opentelemetry__proto__trace__v1__span__init(sp);
    uint8_t tid[16] = { 0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03, 0xd2, 0x69, 0xb6, 0x33 };
    uint8_t sid[8] = { 0xee, 0xe1, 0x9b, 0x7e };
    tid[15] = sid[7] = (uint8_t)(k + 1);
    sp->trace_id = (ProtobufCBinaryData){ 16, oca_arena_memdup(a, tid, 16) };
    sp->span_id = (ProtobufCBinaryData){ 8, oca_arena_memdup(a, sid, 8) };
    sp->name = oca_arena_printf(a, "span-%zu ✓", k);
    sp->kind = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_CLIENT;
    sp->start_time_unix_nano = 1700000000000000000ull + k;
    sp->end_time_unix_nano = 1700000000001000000ull + k;
    sp->n_attributes = 1;
    sp->attributes = oca_arena_zalloc(a, sizeof(*sp->attributes));
    sp->attributes[0] = oca_test_string_attr(a, "peer.service", "payments");
    return &sp->base;
}

static H_UNUSED ProtobufCMessage *peer_gauge(struct oca_arena *a, size_t k, const void *arg)
{
    (void)arg;
    Opentelemetry__Proto__Metrics__V1__Metric *m = oca_arena_zalloc(a, sizeof(*m));
    opentelemetry__proto__metrics__v1__metric__init(m);
    m->name = oca_arena_printf(a, "queue.depth.%zu", k);
    m->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE;
    m->gauge = oca_arena_zalloc(a, sizeof(*m->gauge));
    opentelemetry__proto__metrics__v1__gauge__init(m->gauge);
    m->gauge->n_data_points = 1;
    m->gauge->data_points = oca_arena_zalloc(a, sizeof(*m->gauge->data_points));
    Opentelemetry__Proto__Metrics__V1__NumberDataPoint *dp = oca_arena_zalloc(a, sizeof(*dp));
    opentelemetry__proto__metrics__v1__number_data_point__init(dp);
    dp->time_unix_nano = 1700000000000000000ull;
    dp->value_case = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_DOUBLE;
    dp->as_double = 0.25 * (double)k;
    m->gauge->data_points[0] = dp;
    return &m->base;
}

static H_UNUSED ProtobufCMessage *peer_log(struct oca_arena *a, size_t k, const void *arg)
{
    (void)arg;
    Opentelemetry__Proto__Logs__V1__LogRecord *lr = oca_arena_zalloc(a, sizeof(*lr));
    opentelemetry__proto__logs__v1__log_record__init(lr);
    lr->time_unix_nano = 1700000000000000000ull + k;
    lr->severity_number = OPENTELEMETRY__PROTO__LOGS__V1__SEVERITY_NUMBER__SEVERITY_NUMBER_ERROR;
    lr->body = oca_test_string_attr(a, "x", "disk almost full")->value;
    return &lr->base;
}

/* n items of sig (spans, one-point gauges, log records) under service.name=svc. */
static H_UNUSED struct oca_batch *peer_batch(enum oca_signal sig, size_t n)
{
    static ProtobufCMessage *(*const make[OCA_SIGNAL_COUNT])(struct oca_arena *, size_t, const void *) = {
        peer_span, peer_gauge, peer_log,
    };
    return oca_test_make_batch(sig, "svc", n, make[sig], NULL);
}

/* The value of header key in what the receiver kept of a batch's client, or NULL. */
static H_UNUSED const char *peer_client_header(const struct oca_batch *b, const char *key)
{
    for (size_t i = 0; i < b->client.n; i++)
        if (strcmp(b->client.keys[i], key) == 0)
            return b->client.values[i];
    return NULL;
}

/* Sends 3 items of every signal through the started exporter and checks that the receiver got
 * each batch as it was sent, with the x-tenant header the config sets, and counted them as sent. */
static H_UNUSED void peer_round_trip(struct peer *p)
{
    struct oca_batch *sent[OCA_SIGNAL_COUNT];
    for (int s = 0; s < OCA_SIGNAL_COUNT; s++) {
        sent[s] = peer_batch((enum oca_signal)s, 3);
        assert_int_equal(peer_consume(p, oca_batch_ref(sent[s])), OCA_OK);
    }
    for (int s = 0; s < OCA_SIGNAL_COUNT; s++)
        assert_true(peer_wait(p, PEER_EXP(p, OCA_EDGE_SENT, s), 3, 5000));
    assert_int_equal(p->rx.fake.n, 3);
    for (size_t i = 0; i < p->rx.fake.n; i++) {
        const struct oca_batch *got = p->rx.fake.got[i];
        oca_test_assert_same_packing(got->msg, sent[got->signal]->msg);
        assert_string_equal(peer_client_header(got, "x-tenant"), "acme");
    }
    for (int s = 0; s < OCA_SIGNAL_COUNT; s++) {
        assert_int_equal(p->counters.items[OCA_EDGE_SEND_FAILED][s], 0);
        oca_batch_unref(sent[s]);
    }
}

/* The receiver refuses n items of sig with the permanent err: the exporter counts them as failed
 * after one request and does not retry (checked over twenty 10 ms retry intervals). Returns what
 * was logged meanwhile (malloc'd). */
static H_UNUSED char *peer_refused_for_good(struct peer *p, enum oca_signal sig, size_t n, int err)
{
    p->rx.fake.refuse_with = err;
    struct oca_test_capture cap;
    oca_test_capture_start(&cap);
    assert_int_equal(peer_consume(p, peer_batch(sig, n)), OCA_OK);
    bool failed = peer_wait(p, PEER_EXP(p, OCA_EDGE_SEND_FAILED, sig), n, 5000);
    peer_idle(p, 200);
    char *log = oca_test_capture_end(&cap);
    assert_true(failed);
    assert_int_equal(p->counters.items[OCA_EDGE_SENT][sig], 0);
    assert_int_equal(p->rx.counters.items[OCA_EDGE_REFUSED][sig], n);    /* one request */
    return log;
}

/* The receiver refuses n items of sig once with the retryable err, whose answer asks for a delay of
 * 1 s; the exporter retries no sooner (its own backoff is 10 ms) and then delivers them. */
static H_UNUSED void peer_retried_after_delay(struct peer *p, enum oca_signal sig, size_t n, int err)
{
    p->rx.fake.refuse_with = err;
    struct oca_test_capture cap;
    oca_test_capture_start(&cap);
    assert_int_equal(peer_consume(p, peer_batch(sig, n)), OCA_OK);
    assert_true(peer_wait(p, PEER_RX(p, OCA_EDGE_REFUSED, sig), n, 5000));
    uint64_t refused_at = uv_now(&p->rx.loop);
    p->rx.fake.refuse_with = 0;
    bool sent = peer_wait(p, PEER_EXP(p, OCA_EDGE_SENT, sig), n, 5000);
    uint64_t waited = uv_now(&p->rx.loop) - refused_at;
    free(oca_test_capture_end(&cap));
    assert_true(sent);
    if (waited < 950)
        fail_msg("retried after %llu ms", (unsigned long long)waited);
    assert_int_equal(p->rx.counters.items[OCA_EDGE_REFUSED][sig], n);   /* no retry before it */
    assert_int_equal(p->counters.items[OCA_EDGE_SEND_FAILED][sig], 0);
}

#endif
