/* pipeline/batch.c: decoding both encodings, item counts per signal, deep clones that share
 * nothing, held batches kept alive, clean errors for bad input, and raw batches: their pack is
 * their bytes, and concatenated requests decode to the merge. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/errors.h"
#include "pipeline/batch.h"

static const char traces_json[] =
    "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"name\":\"a\"},{\"name\":\"b\"}]},"
    "{\"spans\":[{\"name\":\"c\"}]}]},{\"scopeSpans\":[{\"spans\":[{\"name\":\"d\"}]}]}]}";
static const char metrics_json[] =
    "{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":["
    "{\"name\":\"g\",\"gauge\":{\"dataPoints\":[{\"asInt\":\"1\"},{\"asInt\":\"2\"}]}},"
    "{\"name\":\"s\",\"sum\":{\"dataPoints\":[{\"asDouble\":1.5}]}},"
    "{\"name\":\"h\",\"histogram\":{\"dataPoints\":[{\"count\":\"1\"}]}},"
    "{\"name\":\"x\",\"exponentialHistogram\":{\"dataPoints\":[{\"count\":\"1\"}]}},"
    "{\"name\":\"q\",\"summary\":{\"dataPoints\":[{\"count\":\"1\"},{\"count\":\"2\"}]}},"
    "{\"name\":\"empty\"}]}]}]}";
static const char logs_json[] =
    "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"severityText\":\"INFO\"},{},{}]}]}]}";

static struct oca_batch *decode_json(enum oca_signal sig, const char *json)
{
    struct oca_batch *b;
    char detail[256];
    int err = oca_batch_decode(sig, OCA_ENCODING_JSON, (const uint8_t *)json, strlen(json), &b, detail, sizeof(detail));
    if (err)
        fail_msg("decode: %s", detail);
    return b;
}

static void test_item_counts(void **state)
{
    (void)state;
    struct oca_batch *t = decode_json(OCA_SIGNAL_TRACES, traces_json);
    struct oca_batch *m = decode_json(OCA_SIGNAL_METRICS, metrics_json);
    struct oca_batch *l = decode_json(OCA_SIGNAL_LOGS, logs_json);
    assert_int_equal(t->items, 4);
    assert_int_equal(oca_batch_resource_count(t), 2);
    assert_int_equal(m->items, 7);
    assert_int_equal(l->items, 3);
    oca_batch_unref(t);
    oca_batch_unref(m);
    oca_batch_unref(l);
}

/* The offsets of oca_batch_levels are those protobuf-c's descriptors give for the repeated field
 * of each level, resource and scope entries keep their Resource and InstrumentationScope in field
 * 1, and every metric data message keeps its points in field 1, data_points. */
static void test_levels_match_descriptors(void **state)
{
    (void)state;
    static const char *const fields[OCA_SIGNAL_COUNT][OCA_LEVEL_COUNT] = {
        { "resource_spans", "scope_spans", "spans" },
        { "resource_metrics", "scope_metrics", "metrics" },
        { "resource_logs", "scope_logs", "log_records" },
    };
    for (int s = 0; s < OCA_SIGNAL_COUNT; s++) {
        const struct oca_otlp_level *lv = oca_batch_levels((enum oca_signal)s);
        const ProtobufCMessageDescriptor *parent = oca_batch_descriptor((enum oca_signal)s);
        for (int d = 0; d < OCA_LEVEL_COUNT; d++) {
            const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(parent, fields[s][d]);
            assert_non_null(f);
            assert_int_equal(f->label, PROTOBUF_C_LABEL_REPEATED);
            assert_int_equal(lv[d].count_offset, f->quantifier_offset);
            assert_int_equal(lv[d].children_offset, f->offset);
            assert_ptr_equal(lv[d].child, f->descriptor);
            if (d != OCA_LEVEL_ITEMS)   /* what oca_batch_entry_head finds */
                assert_string_equal(protobuf_c_message_descriptor_get_field(lv[d].child, 1)->name,
                                    d == OCA_LEVEL_RESOURCES ? "resource" : "scope");
            parent = lv[d].child;
        }
    }
    assert_null(oca_batch_levels(OCA_SIGNAL_COUNT));
    static const char *const data[] = { "gauge", "sum", "histogram", "exponential_histogram", "summary" };
    for (size_t k = 0; k < sizeof(data) / sizeof(data[0]); k++) {
        const ProtobufCFieldDescriptor *member = protobuf_c_message_descriptor_get_field_by_name(
            &opentelemetry__proto__metrics__v1__metric__descriptor, data[k]);
        const ProtobufCFieldDescriptor *points = protobuf_c_message_descriptor_get_field(member->descriptor, 1);
        assert_string_equal(points->name, "data_points");
    }
}

/* oca_batch_metric_data finds the points of whichever data member is set, and none without one. */
static void test_metric_data(void **state)
{
    (void)state;
    struct oca_batch *m = decode_json(OCA_SIGNAL_METRICS, metrics_json);
    const Opentelemetry__Proto__Metrics__V1__ScopeMetrics *sm = m->metrics->resource_metrics[0]->scope_metrics[0];
    static const size_t want[] = { 2, 1, 1, 1, 2, 0 };
    assert_int_equal(sm->n_metrics, 6);
    for (size_t k = 0; k < sm->n_metrics; k++) {
        struct oca_otlp_level points;
        ProtobufCMessage *data = oca_batch_metric_data(sm->metrics[k], &points);
        assert_int_equal(oca_batch_metric_points(sm->metrics[k]), want[k]);
        if (want[k] == 0) {
            assert_null(data);
            continue;
        }
        assert_ptr_equal(data, sm->metrics[k]->gauge);   /* the data oneof is one union */
        assert_int_equal(oca_batch_child_count(&points, data), want[k]);
    }
    oca_batch_unref(m);
}

static void test_proto_round_trip_and_clone(void **state)
{
    (void)state;
    struct oca_batch *t = decode_json(OCA_SIGNAL_TRACES, traces_json);
    size_t len;
    uint8_t *wire = oca_batch_pack(t, &len);
    struct oca_batch *p;
    assert_int_equal(oca_batch_decode(OCA_SIGNAL_TRACES, OCA_ENCODING_PROTO, wire, len, &p, NULL, 0), OCA_OK);
    assert_int_equal(p->items, 4);
    assert_string_equal(p->traces->resource_spans[1]->scope_spans[0]->spans[0]->name, "d");

    struct oca_batch *c = oca_batch_clone(p);
    assert_int_equal(c->refs, 1);
    assert_ptr_not_equal(c->arena, p->arena);
    c->traces->resource_spans[0]->scope_spans[0]->spans[0]->name = oca_arena_strdup(c->arena, "changed");
    assert_string_equal(p->traces->resource_spans[0]->scope_spans[0]->spans[0]->name, "a");
    free(wire);
    oca_batch_unref(c);
    oca_batch_unref(p);
    oca_batch_unref(t);
}

static void test_hold_keeps_source_alive(void **state)
{
    (void)state;
    struct oca_batch *src = decode_json(OCA_SIGNAL_TRACES, traces_json);
    struct oca_batch *dst = oca_batch_new(OCA_SIGNAL_TRACES);
    dst->traces->resource_spans = oca_arena_alloc(dst->arena, sizeof(void *));
    dst->traces->resource_spans[0] = src->traces->resource_spans[1];
    dst->traces->n_resource_spans = 1;
    oca_batch_hold(dst, src);
    oca_batch_hold(dst, src);            /* holding it again keeps one reference */
    assert_int_equal(src->refs, 2);
    oca_batch_unref(src);                /* the producer lets go; dst still points into it */
    assert_string_equal(dst->traces->resource_spans[0]->scope_spans[0]->spans[0]->name, "d");
    oca_batch_unref(dst);                /* ASan reports a leak or use-after-free if this is wrong */
}

static void test_bad_input_is_refused_with_detail(void **state)
{
    (void)state;
    struct oca_batch *b = (struct oca_batch *)1;
    char detail[256] = "";
    const uint8_t garbage[] = { 0x0a, 0xff, 0xff, 0xff };   /* field 1, length beyond the end */
    assert_int_equal(oca_batch_decode(OCA_SIGNAL_TRACES, OCA_ENCODING_PROTO, garbage, sizeof(garbage), &b,
                                      detail, sizeof(detail)), OCA_ERR_DECODE);
    assert_null(b);
    assert_non_null(strstr(detail, "protobuf"));
    const char *bad = "{\"resourceSpans\": [";
    assert_int_equal(oca_batch_decode(OCA_SIGNAL_TRACES, OCA_ENCODING_JSON, (const uint8_t *)bad, strlen(bad), &b,
                                      detail, sizeof(detail)), OCA_ERR_JSON);
    assert_null(b);
    assert_true(strlen(detail) > 0);
}

static void test_raw_concatenation_decodes_to_the_merge(void **state)
{
    (void)state;
    struct oca_batch *a = decode_json(OCA_SIGNAL_TRACES, traces_json);
    struct oca_batch *b = decode_json(OCA_SIGNAL_TRACES, "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"name\":\"e\"}]}]}]}");
    size_t la, lb;
    uint8_t *wa = oca_batch_pack(a, &la), *wb = oca_batch_pack(b, &lb);
    struct oca_batch *raw = oca_batch_new_raw(OCA_SIGNAL_TRACES);
    assert_null(raw->msg);
    oca_batch_add_raw(raw, wa, la);
    oca_batch_add_raw(raw, wb, lb);
    raw->items = a->items + b->items;
    raw->client.addr = "10.0.0.1:5";
    size_t len;
    uint8_t *both = oca_batch_pack(raw, &len);
    assert_int_equal(len, la + lb);
    assert_memory_equal(both, wa, la);
    assert_memory_equal(both + la, wb, lb);
    struct oca_batch *dec = oca_batch_decoded(raw);
    assert_non_null(dec->msg);
    assert_int_equal(dec->items, 5);
    assert_int_equal(oca_batch_resource_count(dec), 3);
    assert_string_equal(dec->client.addr, "10.0.0.1:5");
    assert_string_equal(dec->traces->resource_spans[2]->scope_spans[0]->spans[0]->name, "e");
    assert_string_equal(dec->traces->resource_spans[1]->scope_spans[0]->spans[0]->name, "d");
    /* A batch with structs is its own decoding. */
    struct oca_batch *same = oca_batch_decoded(a);
    assert_ptr_equal(same, a);
    oca_batch_unref(same);
    /* The raw batch's block goes with it. */
    raw->raw_block = both;
    raw->raw_free = free;
    oca_batch_unref(dec);
    oca_batch_unref(raw);
    free(wa);
    free(wb);
    oca_batch_unref(a);
    oca_batch_unref(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_item_counts),
        cmocka_unit_test(test_levels_match_descriptors),
        cmocka_unit_test(test_metric_data),
        cmocka_unit_test(test_proto_round_trip_and_clone),
        cmocka_unit_test(test_hold_keeps_source_alive),
        cmocka_unit_test(test_bad_input_is_refused_with_detail),
        cmocka_unit_test(test_raw_concatenation_decodes_to_the_merge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
