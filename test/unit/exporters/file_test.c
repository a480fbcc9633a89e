/* Tests of exporters/file.c through a real loop and thread pool: JSON lines and length-prefixed
 * protobuf decode back to the requests written, rotation keeps max_backups timestamped backups,
 * truncate vs append at start, a missing directory fails start, the pending-bytes bound refuses
 * with a retryable error, and validation messages. */
#include "testutil.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "base/arena.h"
#include "base/errors.h"
#include "base/log.h"
#include "config/diag.h"
#include "pipeline/batch.h"
#include "pipeline/component.h"
#include "pipeline/counters.h"

extern const struct oca_component_type oca_file_exporter;

typedef Opentelemetry__Proto__Common__V1__KeyValue KeyValue;

/* Decodes "path: <a new directory>/<file>" plus extra_yaml and creates the exporter. */
static void setup_file(struct oca_test_harness *h, const char *extra_yaml, const char *file)
{
    memset(h, 0, sizeof(*h));
    oca_test_make_dir(h->dir, sizeof(h->dir), "oca-file-test");
    snprintf(h->path, sizeof(h->path), "%s/%s", h->dir, file);
    char yaml[1024];
    snprintf(yaml, sizeof(yaml), "path: %s\n%s", h->path, extra_yaml);
    oca_test_harness_init(h, &oca_file_exporter, "file", yaml, "exporters.file");
}

static void setup(struct oca_test_harness *h, const char *extra_yaml)
{
    setup_file(h, extra_yaml, "out.json");
}

static int seq;     /* numbers the spans of make_traces across calls */

/* A span named span-<seq> whose attribute "pad" is the string arg. */
static ProtobufCMessage *make_span(struct oca_arena *a, size_t k, const void *arg)
{
    (void)k;
    Opentelemetry__Proto__Trace__V1__Span *sp = oca_arena_zalloc(a, sizeof(*sp));
    opentelemetry__proto__trace__v1__span__init(sp);
    char nm[32];
    snprintf(nm, sizeof(nm), "span-%d", seq++);
    sp->name = oca_arena_strdup(a, nm);
    uint8_t tid[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, (uint8_t)seq };
    uint8_t sid[8] = { 0xa, 0xb, 0xc, 0xd, 0xe, 0xf, 0x10, (uint8_t)seq };
    sp->trace_id = (ProtobufCBinaryData){ 16, oca_arena_memdup(a, tid, 16) };
    sp->span_id = (ProtobufCBinaryData){ 8, oca_arena_memdup(a, sid, 8) };
    sp->start_time_unix_nano = 1700000000000000000ull;
    sp->end_time_unix_nano = 1700000000000000000ull + 1234;
    sp->n_attributes = 1;
    sp->attributes = oca_arena_zalloc(a, sizeof(KeyValue *));
    sp->attributes[0] = oca_test_string_attr(a, "pad", arg);
    return &sp->base;
}

/* A request with n spans, each carrying an attribute of pad_len bytes (for size). */
static struct oca_batch *make_traces(size_t n, size_t pad_len)
{
    char *pad = calloc(1, pad_len + 1);
    memset(pad, 'x', pad_len);
    struct oca_batch *b = oca_test_make_batch(OCA_SIGNAL_TRACES, "svc", n, make_span, pad);
    free(pad);
    return b;
}

static ProtobufCMessage *make_log(struct oca_arena *a, size_t k, const void *arg)
{
    (void)arg;
    Opentelemetry__Proto__Logs__V1__LogRecord *lr = oca_arena_zalloc(a, sizeof(*lr));
    opentelemetry__proto__logs__v1__log_record__init(lr);
    lr->severity_text = oca_arena_strdup(a, "INFO");
    lr->severity_number = OPENTELEMETRY__PROTO__LOGS__V1__SEVERITY_NUMBER__SEVERITY_NUMBER_INFO;
    lr->time_unix_nano = 1700000000000000000ull + k;
    lr->body = oca_test_string_attr(a, "b", "line \"quoted\"\n\ttab")->value;
    return &lr->base;
}

static struct oca_batch *make_logs(size_t n)
{
    return oca_test_make_batch(OCA_SIGNAL_LOGS, NULL, n, make_log, NULL);
}

/* The gauge queue.depth with the points 0 and 2.5. */
static ProtobufCMessage *make_metric(struct oca_arena *a, size_t k, const void *arg)
{
    (void)k;
    (void)arg;
    Opentelemetry__Proto__Metrics__V1__Metric *m = oca_arena_zalloc(a, sizeof(*m));
    opentelemetry__proto__metrics__v1__metric__init(m);
    m->name = oca_arena_strdup(a, "queue.depth");
    m->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE;
    m->gauge = oca_arena_zalloc(a, sizeof(*m->gauge));
    opentelemetry__proto__metrics__v1__gauge__init(m->gauge);
    m->gauge->n_data_points = 2;
    m->gauge->data_points = oca_arena_zalloc(a, 2 * sizeof(*m->gauge->data_points));
    for (int p = 0; p < 2; p++) {
        Opentelemetry__Proto__Metrics__V1__NumberDataPoint *dp = oca_arena_zalloc(a, sizeof(*dp));
        opentelemetry__proto__metrics__v1__number_data_point__init(dp);
        dp->time_unix_nano = 1700000000000000000ull;
        dp->value_case = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_DOUBLE;
        dp->as_double = 2.5 * p;
        m->gauge->data_points[p] = dp;
    }
    return &m->base;
}

static struct oca_batch *make_metrics(void)
{
    return oca_test_make_batch(OCA_SIGNAL_METRICS, NULL, 1, make_metric, NULL);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static off_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : -1;
}

struct size_cond {
    const char *path;
    off_t at_least;
};

static bool file_has(void *arg)
{
    struct size_cond *c = arg;
    return file_size(c->path) >= c->at_least;
}

static void test_json_lines(void **state)
{
    (void)state;
    struct oca_test_harness h;
    setup(&h, "flush_interval: 20ms\n");
    write_file(h.path, "left over from before\n");
    assert_int_equal(oca_file_exporter.start(&h.comp, &h.loop), OCA_OK);
    /* Truncated at start. */
    assert_int_equal(file_size(h.path), 0);
    struct oca_batch *sent[4] = { make_traces(3, 10), make_metrics(), make_logs(2), make_traces(1, 0) };
    enum oca_signal sigs[4] = { OCA_SIGNAL_TRACES, OCA_SIGNAL_METRICS, OCA_SIGNAL_LOGS, OCA_SIGNAL_TRACES };
    assert_int_equal(oca_file_exporter.consume(&h.comp, sigs[0], sent[0]), OCA_OK);
    /* Nothing is written until the flush timer fires. */
    assert_int_equal(file_size(h.path), 0);
    struct size_cond c = { h.path, 1 };
    assert_true(oca_test_run_until(&h.loop, file_has, &c, 5000));
    assert_int_equal(h.counters.items[OCA_EDGE_SENT][OCA_SIGNAL_TRACES], 3);
    for (int k = 1; k < 4; k++)
        assert_int_equal(oca_file_exporter.consume(&h.comp, sigs[k], sent[k]), OCA_OK);
    oca_test_harness_shutdown(&h);
    assert_int_equal(h.counters.items[OCA_EDGE_SENT][OCA_SIGNAL_TRACES], 4);
    assert_int_equal(h.counters.items[OCA_EDGE_SENT][OCA_SIGNAL_METRICS], 2);
    assert_int_equal(h.counters.items[OCA_EDGE_SENT][OCA_SIGNAL_LOGS], 2);
    assert_int_equal(h.counters.items[OCA_EDGE_SEND_FAILED][OCA_SIGNAL_TRACES], 0);
    size_t len;
    char *text = oca_test_read_file(h.path, &len);
    char *line = text;
    for (int k = 0; k < 4; k++) {
        char *nl = strchr(line, '\n');
        assert_non_null(nl);
        assert_true(line[0] == '{');
        struct oca_batch *back;
        char detail[256] = "";
        int err = oca_batch_decode(sigs[k], OCA_ENCODING_JSON, (const uint8_t *)line, (size_t)(nl - line), &back,
                                   detail, sizeof(detail));
        if (err)
            fail_msg("line %d: %s", k + 1, detail);
        oca_test_assert_same_packing(sent[k]->msg, back->msg);   /* the same request */
        oca_batch_unref(back);
        oca_batch_unref(sent[k]);
        line = nl + 1;
    }
    assert_int_equal(*line, '\0');
    free(text);
    oca_test_harness_free(&h);
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Counts the length-prefixed frames of a file, checking each decodes as a traces request. */
static size_t count_frames(const char *path, size_t *items)
{
    size_t len, n = 0, off = 0;
    char *data = oca_test_read_file(path, &len);
    while (off < len) {
        assert_true(off + 4 <= len);
        uint32_t flen = be32((const unsigned char *)data + off);
        assert_true(off + 4 + flen <= len);
        struct oca_batch *b;
        assert_int_equal(oca_batch_decode(OCA_SIGNAL_TRACES, OCA_ENCODING_PROTO, (const uint8_t *)data + off + 4, flen,
                                          &b, NULL, 0), OCA_OK);
        if (items)
            *items += b->items;
        oca_batch_unref(b);
        off += 4 + flen;
        n++;
    }
    free(data);
    return n;
}

static void test_proto_framing(void **state)
{
    (void)state;
    struct oca_test_harness h;
    setup(&h, "format: proto\n");
    assert_int_equal(oca_file_exporter.start(&h.comp, &h.loop), OCA_OK);
    struct oca_batch *a = make_traces(2, 5), *b = make_traces(4, 0);
    assert_int_equal(oca_file_exporter.consume(&h.comp, OCA_SIGNAL_TRACES, a), OCA_OK);
    assert_int_equal(oca_file_exporter.consume(&h.comp, OCA_SIGNAL_TRACES, b), OCA_OK);
    oca_test_harness_shutdown(&h);
    size_t len;
    unsigned char *data = (unsigned char *)oca_test_read_file(h.path, &len);
    size_t la, lb;
    uint8_t *pa = oca_batch_pack(a, &la), *pb = oca_batch_pack(b, &lb);
    assert_int_equal(len, 4 + la + 4 + lb);
    assert_int_equal(be32(data), la);
    assert_memory_equal(data + 4, pa, la);
    assert_int_equal(be32(data + 4 + la), lb);
    assert_memory_equal(data + 8 + la, pb, lb);
    free(pa);
    free(pb);
    free(data);
    oca_batch_unref(a);
    oca_batch_unref(b);
    assert_int_equal(h.counters.items[OCA_EDGE_SENT][OCA_SIGNAL_TRACES], 6);
    oca_test_harness_free(&h);
}

static void test_append_keeps_content(void **state)
{
    (void)state;
    struct oca_test_harness h;
    setup(&h, "append: true\nflush_interval: 0s\n");
    write_file(h.path, "first\n");
    assert_int_equal(oca_file_exporter.start(&h.comp, &h.loop), OCA_OK);
    struct oca_batch *a = make_logs(1);
    assert_int_equal(oca_file_exporter.consume(&h.comp, OCA_SIGNAL_LOGS, a), OCA_OK);
    oca_batch_unref(a);
    oca_test_harness_shutdown(&h);
    size_t len;
    char *text = oca_test_read_file(h.path, &len);
    assert_int_equal(strncmp(text, "first\n{", 7), 0);
    assert_int_equal(text[len - 1], '\n');
    free(text);
    oca_test_harness_free(&h);
}

struct sent_cond {
    struct oca_test_harness *h;
    uint64_t items;
};

static bool sent_all(void *arg)
{
    struct sent_cond *c = arg;
    return c->h->counters.items[OCA_EDGE_SENT][OCA_SIGNAL_TRACES] >= c->items;
}

static bool is_backup_name(const char *name)
{
    /* out-2006-01-02T15-04-05.000.json */
    if (strlen(name) != strlen("out-2006-01-02T15-04-05.000.json") || strncmp(name, "out-", 4) != 0)
        return false;
    const char *t = name + 4;
    return t[4] == '-' && t[7] == '-' && t[10] == 'T' && t[13] == '-' && t[16] == '-' && t[19] == '.' &&
           strcmp(t + 23, ".json") == 0;
}

static void test_rotation_keeps_max_backups(void **state)
{
    (void)state;
    struct oca_test_harness h;
    setup(&h, "format: proto\nflush_interval: 0s\nrotation:\n  max_megabytes: 1\n  max_backups: 2\n");
    assert_int_equal(oca_file_exporter.start(&h.comp, &h.loop), OCA_OK);
    /* 40 records of about 100 KB: ten fit in 1 MiB, so four files and three rotations. */
    for (int k = 0; k < 40; k++) {
        struct oca_batch *b = make_traces(1, 100000);
        assert_int_equal(oca_file_exporter.consume(&h.comp, OCA_SIGNAL_TRACES, b), OCA_OK);
        oca_batch_unref(b);
    }
    struct sent_cond c = { &h, 40 };
    assert_true(oca_test_run_until(&h.loop, sent_all, &c, 20000));
    oca_test_harness_shutdown(&h);
    assert_int_equal(h.counters.items[OCA_EDGE_SEND_FAILED][OCA_SIGNAL_TRACES], 0);
    DIR *d = opendir(h.dir);
    assert_non_null(d);
    size_t backups = 0, frames = 0, items = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        char p[512];
        snprintf(p, sizeof(p), "%s/%s", h.dir, e->d_name);
        if (strcmp(e->d_name, "out.json") != 0) {
            if (!is_backup_name(e->d_name))
                fail_msg("unexpected file %s", e->d_name);
            backups++;
        }
        assert_true(file_size(p) <= (1 << 20));
        frames += count_frames(p, &items);
    }
    closedir(d);
    assert_int_equal(backups, 2);
    assert_int_equal(frames, 30);
    assert_int_equal(items, 30);
    oca_test_harness_free(&h);
}

static bool exists_in(const struct oca_test_harness *h, const char *name)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/%s", h->dir, name);
    return access(p, F_OK) == 0;
}

static void test_rotation_removes_old_backups(void **state)
{
    (void)state;
    struct oca_test_harness h;
    setup(&h, "format: proto\nflush_interval: 0s\nrotation:\n  max_megabytes: 1\n  max_days: 1\n  max_backups: 0\n");
    char p[512];
    const char *names[] = { "out-2000-01-01T00-00-00.000.json", "out-keep.json", "other-2000-01-01T00-00-00.000.json" };
    for (int k = 0; k < 3; k++) {
        snprintf(p, sizeof(p), "%s/%s", h.dir, names[k]);
        write_file(p, "x");
    }
    assert_int_equal(oca_file_exporter.start(&h.comp, &h.loop), OCA_OK);
    /* Eleven records of about 100 KB: one rotation. */
    for (int k = 0; k < 11; k++) {
        struct oca_batch *b = make_traces(1, 100000);
        assert_int_equal(oca_file_exporter.consume(&h.comp, OCA_SIGNAL_TRACES, b), OCA_OK);
        oca_batch_unref(b);
    }
    struct sent_cond c = { &h, 11 };
    assert_true(oca_test_run_until(&h.loop, sent_all, &c, 20000));
    oca_test_harness_shutdown(&h);
    /* The backup from 2000 is older than a day; files not named like backups of out.json stay. */
    assert_false(exists_in(&h, names[0]));
    assert_true(exists_in(&h, names[1]));
    assert_true(exists_in(&h, names[2]));
    DIR *d = opendir(h.dir);
    size_t backups = 0;
    for (struct dirent *e; (e = readdir(d));)
        backups += is_backup_name(e->d_name);
    closedir(d);
    assert_int_equal(backups, 1);
    assert_int_equal(count_frames(h.path, NULL), 1);
    oca_test_harness_free(&h);
}

static void test_missing_directory_fails_start(void **state)
{
    (void)state;
    struct oca_test_harness h;
    setup_file(&h, "", "no/such/dir/out.json");
    struct oca_test_capture cap;
    oca_test_capture_start(&cap);
    int err = oca_file_exporter.start(&h.comp, &h.loop);
    char *text = oca_test_capture_end(&cap);
    assert_int_not_equal(err, OCA_OK);
    assert_non_null(strstr(text, h.path));
    assert_non_null(strstr(text, "No such file or directory"));
    free(text);
    /* Shutdown after a failed start still answers, once per call. */
    oca_file_exporter.shutdown(&h.comp, oca_test_on_done);
    oca_file_exporter.shutdown(&h.comp, oca_test_on_done);
    uv_run(&h.loop, UV_RUN_DEFAULT);
    assert_int_equal(h.done_calls, 2);
    oca_test_harness_free(&h);
}

static void test_pending_bound_refuses(void **state)
{
    (void)state;
    struct oca_test_harness h;
    setup(&h, "format: proto\n");
    /* Not started: nothing is written, so the buffer only grows until the bound. */
    struct oca_batch *big = make_traces(1, 1 << 20);
    int err = OCA_OK;
    size_t accepted = 0;
    for (int k = 0; k < 100 && err == OCA_OK; k++) {
        err = oca_file_exporter.consume(&h.comp, OCA_SIGNAL_TRACES, big);
        if (err == OCA_OK)
            accepted++;
    }
    oca_batch_unref(big);
    assert_int_equal(err, OCA_ERR_QUEUE_FULL);
    assert_true(oca_err_retryable(err));
    assert_int_equal(accepted, 64);
    assert_int_equal(h.counters.queue_size, 64);
    int saved_level = oca_log_get_level();
    oca_log_set_level(OCA_LOG_NONE);
    oca_test_harness_shutdown(&h);
    oca_log_set_level(saved_level);
    assert_int_equal(h.counters.items[OCA_EDGE_SEND_FAILED][OCA_SIGNAL_TRACES], 64);
    assert_int_equal(h.counters.queue_size, 0);
    oca_test_harness_free(&h);
}

static int validate_yaml(const char *yaml, struct oca_diag *diag, struct oca_arena *a)
{
    void *cfg;
    assert_int_equal(oca_test_decode_config(a, &oca_file_exporter, yaml, "exporters.file", diag, &cfg), 0);
    return oca_file_exporter.validate(cfg, diag);
}

static void test_validate(void **state)
{
    (void)state;
    struct oca_arena *a = oca_arena_new(1024);
    struct oca_diag diag;
    oca_diag_init(&diag);
    assert_int_equal(validate_yaml("format: proto\n", &diag, a), OCA_ERR_CONFIG);
    assert_non_null(strstr(diag.text.data, "path must be set"));
    oca_diag_free(&diag);
    oca_diag_init(&diag);
    assert_int_equal(validate_yaml("path: \"\"\n", &diag, a), OCA_ERR_CONFIG);
    assert_non_null(strstr(diag.text.data, "path must be set"));
    oca_diag_free(&diag);
    oca_diag_init(&diag);
    assert_int_equal(validate_yaml("path: x.json\nappend: true\nrotation:\n", &diag, a), OCA_ERR_CONFIG);
    assert_non_null(strstr(diag.text.data, "append"));
    oca_diag_free(&diag);
    oca_diag_init(&diag);
    assert_int_equal(validate_yaml("path: x.json\nrotation:\n  max_backups: 3\n", &diag, a), OCA_OK);
    assert_int_equal(diag.errors, 0);
    oca_diag_free(&diag);
    oca_arena_destroy(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_lines),
        cmocka_unit_test(test_proto_framing),
        cmocka_unit_test(test_append_keeps_content),
        cmocka_unit_test(test_rotation_keeps_max_backups),
        cmocka_unit_test(test_rotation_removes_old_backups),
        cmocka_unit_test(test_missing_directory_fails_start),
        cmocka_unit_test(test_pending_bound_refuses),
        cmocka_unit_test(test_validate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
