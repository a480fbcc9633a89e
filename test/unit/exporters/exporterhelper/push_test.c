/* Tests of exporters/exporterhelper/push.c: the header check every push exporter's validate runs
 * (token names, no control characters in values); a job's messages (a raw batch's segments sent
 * where they lie, compressed (gzip, zstd) from them, an encoder's buffer adopted), its budget charge and the wait
 * of encodings for a spent budget, through a fake exporter on a real helper and thread pool. Requests to real
 * servers are exercised by each exporter's own tests (test/unit/exporters/otlp, zipkin, jaeger). */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "base/arena.h"
#include "base/budget.h"
#include "base/errors.h"
#include "base/mem.h"
#include "exporters/exporterhelper/push.h"
#include "net/grpc_client.h"

static void test_headers_ok(void **state)
{
    (void)state;
    char why[256];
    char *keys[] = { "authorization", "X-Tenant_1" }, *values[] = { "Bearer a b\tc", "" };
    struct oca_strmap good = { keys, values, 2 };
    assert_true(oca_push_headers_ok(&good, why, sizeof(why)));
    char *bad_key[] = { "x tenant" };
    struct oca_strmap bad = { bad_key, values, 1 };
    assert_false(oca_push_headers_ok(&bad, why, sizeof(why)));
    assert_string_equal(why, "\"x tenant\" is not a valid header name");
    char *empty_key[] = { "" };
    bad.keys = empty_key;
    assert_false(oca_push_headers_ok(&bad, why, sizeof(why)));
    char *smuggle[] = { "ok\r\nx-admin: 1" };
    bad.keys = keys;
    bad.values = smuggle;
    assert_false(oca_push_headers_ok(&bad, why, sizeof(why)));
    assert_string_equal(why, "the value of authorization may not contain control characters");
}

/* A push exporter made for the test: it sends each batch as one message (its protobuf) and,
 * instead of a request, records what the job holds when send runs (and keeps the job, unfinished,
 * when hold is set). */
struct fake_cfg {
    int compression;
    struct oca_push_compression_params compression_params;
    struct oca_exporter_helper_config helper;
};

static const struct oca_field fake_fields[] = {
    OCA_PUSH_COMPRESSION_FIELDS(struct fake_cfg, "none", "Compression."),
    OCA_EXPORTER_HELPER_FIELDS(struct fake_cfg, helper),
    OCA_FIELD_END,
};

struct fake_push {
    struct oca_push_exporter base;
    const struct fake_cfg *cfg;
    int sends;
    struct oca_buf sent;            /* the last message, its pieces joined */
    const struct oca_slice *pieces; /* and its pieces (valid only while the job was held) */
    size_t n_pieces;
    const uint8_t *first;           /* where its first piece lay */
    size_t charged, used;           /* the job's charge and the budget's use while it was held */
    bool hold;
    struct oca_push_job *held;
};

static int fake_encode(void *exporter, struct oca_push_job *job, char *why, size_t why_size)
{
    (void)exporter;
    (void)why;
    (void)why_size;
    oca_push_job_add_batch(job);
    return OCA_OK;
}

static void fake_job_send(void *exporter, struct oca_push_job *job)
{
    struct fake_push *x = exporter;
    x->sends++;
    assert_int_equal(job->n_msgs, 1);
    size_t n;
    const struct oca_slice *msg = oca_push_job_pieces(job, 0, &n);
    oca_buf_reset(&x->sent);
    for (size_t i = 0; i < n; i++)
        oca_buf_append(&x->sent, msg[i].data, msg[i].len);
    x->n_pieces = n;
    x->first = n ? msg[0].data : NULL;
    x->charged = job->charged;
    x->used = oca_budget_used();
    if (x->hold) {
        x->held = job;
        return;
    }
    struct oca_send_result ok = { .err = OCA_OK };
    oca_push_job_finish(job, &ok);
}

static const struct oca_push_job_ops fake_job_ops = { .encode = fake_encode, .send = fake_job_send };

static void fake_send(void *exporter, enum oca_signal sig, struct oca_batch *batch, int64_t timeout_ns,
                      struct oca_send_attempt *attempt)
{
    struct fake_push *x = exporter;
    oca_push_job_start(&x->base, &fake_job_ops, x, sig, batch, timeout_ns, x->cfg->compression, (int)x->cfg->compression_params.level, attempt);
}

static const struct oca_exporter_ops fake_ops = { .send = fake_send };

static int fake_create(struct oca_component *self, struct oca_diag *diag)
{
    (void)diag;
    struct fake_push *x = oca_xcalloc(1, sizeof(*x));
    x->cfg = self->config;
    static const struct oca_strmap no_headers = { 0 };
    static const struct oca_tls_client_config no_tls = { .insecure = true };
    oca_push_exporter_init(&x->base, self, &x->cfg->helper, &no_tls, &no_headers, NULL, 0, &fake_ops, x);
    self->state = x;
    return OCA_OK;
}

static void fake_destroy(struct oca_component *self)
{
    struct fake_push *x = self->state;
    oca_push_exporter_free(&x->base);
    oca_buf_free(&x->sent);
    free(x);
    self->state = NULL;
}

static const struct oca_component_type fake_type = {
    .name = "fakepush",
    .kind = OCA_EXPORTER,
    .signals = OCA_TRACES,
    .takes_raw = oca_takes_raw_always,
    .config_size = sizeof(struct fake_cfg),
    .fields = fake_fields,
    .create = fake_create,
    .start = oca_push_exporter_start,
    .consume = oca_push_exporter_consume,
    .shutdown = oca_push_exporter_shutdown,
    .destroy = fake_destroy,
};

static bool sent_one(void *arg)
{
    return ((struct fake_push *)arg)->sends > 0;
}

static ProtobufCMessage *span(struct oca_arena *a, size_t k, const void *arg)
{
    (void)arg;
    Opentelemetry__Proto__Trace__V1__Span *sp = oca_arena_zalloc(a, sizeof(*sp));
    opentelemetry__proto__trace__v1__span__init(sp);
    char name[32];
    snprintf(name, sizeof(name), "span %zu", k);
    sp->name = oca_arena_strdup(a, name);
    return &sp->base;
}

/* The message sent: as it is, or decompressed. */
static void unzip(const struct oca_buf *sent, int compression, struct oca_buf *out)
{
    const uint8_t *m = (const uint8_t *)sent->data;
    size_t n = sent->len;
    oca_buf_reset(out);
    if (compression == OCA_PUSH_NONE) {
        oca_buf_append(out, m, n);
        return;
    }
    if (compression == OCA_PUSH_ZSTD) {
        oca_buf_reserve(out, 1 << 20);
        size_t got = ZSTD_decompress(out->data, out->cap - 1, m, n);
        assert_false(ZSTD_isError(got));
        out->len = got;
        return;
    }
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    assert_int_equal(inflateInit2(&zs, 15 + 16), Z_OK);
    oca_buf_reserve(out, 1 << 20);
    zs.next_in = (Bytef *)(uintptr_t)m;
    zs.avail_in = (uInt)n;
    zs.next_out = (Bytef *)out->data;
    zs.avail_out = (uInt)(out->cap - 1);
    assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
    out->len = zs.total_out;
    inflateEnd(&zs);
}

/* A raw batch made of three requests (segments) goes out as their concatenation: uncompressed
 * the segments themselves are the message's pieces (no copy, nothing charged), with gzip or zstd
 * one stream compressed from them; a decoded batch as its packing. While the job holds an encoding,
 * its bytes are charged to the budget; when the attempt ends they are given back. */
static void test_job_encodes_once_and_charges(void **state)
{
    (void)state;
    struct oca_batch *parts[3];
    uint8_t *packed[3];
    size_t lens[3];
    struct oca_buf want = { 0 }, got = { 0 };
    for (int i = 0; i < 3; i++) {
        parts[i] = oca_test_make_batch(OCA_SIGNAL_TRACES, "svc", 50 + (size_t)i, span, NULL);
        packed[i] = oca_test_pack(parts[i]->msg, &lens[i]);
        oca_buf_append(&want, packed[i], lens[i]);
    }
    static const char *const settings[] = { "compression: none", "compression: gzip", "compression: zstd",
                                            "compression: gzip\ncompression_params: {level: 1}",
                                            "compression: zstd\ncompression_params: {level: 19}" };
    static const int codings[] = { OCA_PUSH_NONE, OCA_PUSH_GZIP, OCA_PUSH_ZSTD, OCA_PUSH_GZIP, OCA_PUSH_ZSTD };
    for (int c = 0; c < 5; c++) {
        int gz = codings[c];
        struct oca_test_harness h = { 0 };
        oca_test_harness_init(&h, &fake_type, "fakepush", settings[c], "exporters.fakepush");
        assert_int_equal(h.comp.type->start(&h.comp, &h.loop), OCA_OK);
        struct fake_push *x = h.comp.state;
        size_t before = oca_budget_used();

        struct oca_batch *raw = oca_batch_new_raw(OCA_SIGNAL_TRACES);
        for (int i = 0; i < 3; i++)
            oca_batch_add_raw(raw, packed[i], lens[i]);
        raw->items = 150 + 3;
        assert_int_equal(oca_test_consume(&h, raw), OCA_OK);
        assert_true(oca_test_run_until(&h.loop, sent_one, x, 10000));
        unzip(&x->sent, gz, &got);
        assert_int_equal(got.len, want.len);
        assert_memory_equal(got.data, want.data, want.len);
        if (gz != OCA_PUSH_NONE) {
            assert_int_equal(x->n_pieces, 1);
            assert_true(x->charged >= x->sent.len);
            assert_true(x->charged <= x->sent.len + x->sent.len / 8 + 4096 + 1);
            assert_true(x->used >= before + x->charged);
        } else {
            assert_int_equal(x->n_pieces, 3);
            assert_ptr_equal(x->first, packed[0]);
            assert_int_equal(x->charged, 0);
        }

        x->sends = 0;
        assert_int_equal(oca_test_consume(&h, oca_batch_ref(parts[1])), OCA_OK);
        assert_true(oca_test_run_until(&h.loop, sent_one, x, 10000));
        unzip(&x->sent, gz, &got);
        assert_int_equal(got.len, lens[1]);
        assert_memory_equal(got.data, packed[1], lens[1]);

        oca_test_harness_free(&h);
        assert_int_equal(oca_budget_used(), before);
    }
    for (int i = 0; i < 3; i++) {
        oca_batch_unref(parts[i]);
        free(packed[i]);
    }
    oca_buf_free(&want);
    oca_buf_free(&got);
}

static bool sent_two(void *arg)
{
    return ((struct fake_push *)arg)->sends >= 2;
}

/* While the budget is spent, an exporter's second encoding waits until its first ends, so
 * encodings add one attempt's bytes to a full budget rather than num_consumers'; the first is
 * never held back (the queue must drain to free the budget). A raw batch sent without gzip makes
 * no encoding and does not wait. */
static void test_encodings_wait_for_spent_budget(void **state)
{
    (void)state;
    struct oca_batch *a = oca_test_make_batch(OCA_SIGNAL_TRACES, "svc", 20, span, NULL);
    struct oca_batch *b = oca_test_make_batch(OCA_SIGNAL_TRACES, "svc", 30, span, NULL);
    struct oca_test_harness h = { 0 };
    oca_test_harness_init(&h, &fake_type, "fakepush", "compression: gzip", "exporters.fakepush");
    assert_int_equal(h.comp.type->start(&h.comp, &h.loop), OCA_OK);
    struct fake_push *x = h.comp.state;
    x->hold = true;
    size_t before = oca_budget_used();
    oca_budget_set_limit(before + 4096);
    oca_budget_force(4096);                 /* spent */

    assert_int_equal(oca_test_consume(&h, oca_batch_ref(a)), OCA_OK);
    assert_int_equal(oca_test_consume(&h, oca_batch_ref(b)), OCA_OK);
    assert_true(oca_test_run_until(&h.loop, sent_one, x, 10000));
    struct oca_push_job *first = x->held;
    assert_true(first->charged > 0);
    assert_false(oca_test_run_until(&h.loop, sent_two, x, 300));
    assert_int_equal(x->sends, 1);
    assert_ptr_not_equal(x->base.waiting, NULL);
    assert_ptr_equal(x->base.waiting->next, NULL);

    struct oca_send_result ok = { .err = OCA_OK };
    oca_push_job_finish(first, &ok);
    assert_true(oca_test_run_until(&h.loop, sent_two, x, 10000));
    oca_push_job_finish(x->held, &ok);

    oca_test_harness_free(&h);

    /* Raw and not gzipped: nothing to encode, nothing to wait for. */
    h = (struct oca_test_harness){ 0 };
    oca_test_harness_init(&h, &fake_type, "fakepush", "compression: none", "exporters.fakepush");
    assert_int_equal(h.comp.type->start(&h.comp, &h.loop), OCA_OK);
    x = h.comp.state;
    x->hold = true;
    struct oca_push_job *held[2];
    for (int i = 0; i < 2; i++) {
        size_t len;
        uint8_t *packed = oca_test_pack(a->msg, &len);
        struct oca_batch *raw = oca_batch_new_raw(OCA_SIGNAL_TRACES);
        raw->raw_block = packed;
        raw->raw_free = free;
        oca_batch_add_raw(raw, packed, len);
        raw->items = 20;
        assert_int_equal(oca_test_consume(&h, raw), OCA_OK);
        assert_true(oca_test_run_until(&h.loop, i ? sent_two : sent_one, x, 10000));
        held[i] = x->held;
        assert_int_equal(held[i]->charged, 0);
    }
    for (int i = 0; i < 2; i++)
        oca_push_job_finish(held[i], &ok);
    oca_test_harness_free(&h);
    oca_budget_release(4096);
    oca_budget_reset_stats();
    assert_int_equal(oca_budget_used(), before);
    oca_batch_unref(a);
    oca_batch_unref(b);
}

/* The pieces of a job's messages once encode is done (job_work's last step, for a job built by
 * hand). */
static void slices_of(struct oca_push_job *job)
{
    job->slices = calloc(job->n_pieces + 1, sizeof(*job->slices));
    for (size_t i = 0; i < job->n_pieces; i++)
        job->slices[i] = (struct oca_slice){ job->pieces[i].data ? job->pieces[i].data
                                                                 : (const uint8_t *)job->body.data + job->pieces[i].off,
                                             job->pieces[i].len };
}

static void free_job(struct oca_push_job *job)
{
    oca_buf_free(&job->body);
    free(job->pieces);
    free(job->slices);
    free(job->ends);
}

/* An encoder's own buffer becomes the body when it is the first message and not gzipped; after
 * it, messages are copied into the body, each its own piece. */
static void test_add_buf_adopts(void **state)
{
    (void)state;
    static const struct oca_push_job_ops plain = { 0 };
    struct oca_push_job job = { .ops = &plain };
    struct oca_buf m = { 0 };
    oca_buf_puts(&m, "{\"spans\":[]}");
    char *mine = m.data;
    oca_push_job_add_buf(&job, &m);
    assert_null(m.data);
    assert_ptr_equal(job.body.data, mine);
    oca_buf_puts(&m, "abc");
    oca_push_job_add_buf(&job, &m);
    assert_null(m.data);
    oca_push_job_add(&job, (const uint8_t *)"de", 2);
    oca_push_job_add(&job, (const uint8_t *)"", 0);
    slices_of(&job);
    assert_int_equal(job.n_msgs, 4);
    size_t n;
    const struct oca_slice *p = oca_push_job_pieces(&job, 0, &n);
    assert_int_equal(n, 1);
    assert_ptr_equal(p[0].data, job.body.data);
    assert_int_equal(p[0].len, 12);
    p = oca_push_job_pieces(&job, 1, &n);
    assert_int_equal(n, 1);
    assert_int_equal(p[0].len, 3);
    assert_memory_equal(p[0].data, "abc", 3);
    p = oca_push_job_pieces(&job, 2, &n);
    assert_int_equal(n, 1);
    assert_memory_equal(p[0].data, "de", 2);
    assert_int_equal(p[0].len, 2);
    oca_push_job_pieces(&job, 3, &n);
    assert_int_equal(n, 0);     /* an empty message has no pieces */
    free_job(&job);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_headers_ok),
        cmocka_unit_test(test_job_encodes_once_and_charges),
        cmocka_unit_test(test_add_buf_adopts),
        cmocka_unit_test(test_encodings_wait_for_spent_budget),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
