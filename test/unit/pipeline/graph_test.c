/* pipeline/graph.c with a registry of test components: wiring of receivers to several pipelines,
 * processors in order, fan-out to exporters, private copies for mutating processors, error
 * combination, the start (exporters first) and shutdown (receivers first) order, and the decision
 * whether a receiver may hand on raw-only batches (a table of pipeline shapes). */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/errors.h"
#include "config/collector.h"
#include "config/diag.h"
#include "pipeline/batch.h"
#include "pipeline/counters.h"
#include "pipeline/graph.h"

static struct oca_buf events;   /* "start:id stop:id seen:id:name ..." */

struct fail_cfg { int fail; };
static const struct oca_enum_name fail_names[] = {
    { "none", OCA_OK }, { "retryable", OCA_ERR_QUEUE_FULL }, { "permanent", OCA_ERR_INVALID }, { NULL, 0 } };
static const struct oca_field fail_fields[] = {
    OCA_FIELD_ENUM(struct fail_cfg, fail, "none", fail_names, "What consume answers."),
    OCA_FIELD_END,
};
static const struct oca_field no_fields[] = { OCA_FIELD_END };

static int record_start(struct oca_component *self, uv_loop_t *loop)
{
    (void)loop;
    oca_buf_printf(&events, "start:%s ", self->id);
    return OCA_OK;
}

static void record_shutdown(struct oca_component *self, oca_done_cb done)
{
    oca_buf_printf(&events, "stop:%s ", self->id);
    done(self);
}

static const char *first_span_name(const struct oca_batch *b)
{
    return b->traces->n_resource_spans ? b->traces->resource_spans[0]->scope_spans[0]->spans[0]->name : "";
}

static int exporter_consume(struct oca_component *self, enum oca_signal sig, struct oca_batch *b)
{
    const struct fail_cfg *cfg = self->config;
    (void)sig;
    oca_buf_printf(&events, "seen:%s:%s ", self->id, first_span_name(b));
    return cfg->fail;
}

static int mutate_consume(struct oca_component *self, enum oca_signal sig, struct oca_batch *b)
{
    assert_int_equal(b->refs, 1);   /* nobody else can see a batch handed to a mutating processor */
    b->traces->resource_spans[0]->scope_spans[0]->spans[0]->name = oca_arena_strdup(b->arena, "mutated");
    return oca_next_consume(self, sig, b);
}

static int pass_consume(struct oca_component *self, enum oca_signal sig, struct oca_batch *b)
{
    oca_buf_printf(&events, "pass:%s ", self->id);
    return oca_next_consume(self, sig, b);
}

static const struct oca_component_type rx_type = {
    .name = "r", .kind = OCA_RECEIVER, .signals = OCA_TRACES | OCA_LOGS, .fields = no_fields,
    .start = record_start, .shutdown = record_shutdown,
};
static const struct oca_component_type mut_type = {
    .name = "mut", .kind = OCA_PROCESSOR, .signals = OCA_TRACES, .mutates_data = true, .fields = no_fields,
    .start = record_start, .consume = mutate_consume, .shutdown = record_shutdown,
};
static const struct oca_component_type pass_type = {
    .name = "pass", .kind = OCA_PROCESSOR, .signals = OCA_TRACES, .fields = no_fields,
    .start = record_start, .consume = pass_consume, .shutdown = record_shutdown,
};
static const struct oca_component_type exp_type = {
    .name = "e", .kind = OCA_EXPORTER, .signals = OCA_TRACES, .config_size = sizeof(struct fail_cfg),
    .fields = fail_fields, .start = record_start, .consume = exporter_consume, .shutdown = record_shutdown,
};
/* Components that take raw-only batches: an exporter that always does, one whose config says,
 * and a processor that passes them on. */
struct raw_cfg { bool raw; };
static const struct oca_field raw_fields[] = {
    OCA_FIELD_BOOL(struct raw_cfg, raw, "true", "Whether it takes raw-only batches."),
    OCA_FIELD_END,
};
static bool raw_by_config(const void *cfg) { return ((const struct raw_cfg *)cfg)->raw; }

static int raw_exporter_consume(struct oca_component *self, enum oca_signal sig, struct oca_batch *b)
{
    (void)sig;
    oca_buf_printf(&events, "%s:%s:%s ", b->msg ? "decoded" : "raw", self->id, b->msg ? first_span_name(b) : "");
    return OCA_OK;
}

static const struct oca_component_type rawe_type = {
    .name = "rawe", .kind = OCA_EXPORTER, .signals = OCA_TRACES, .takes_raw = oca_takes_raw_always,
    .fields = no_fields, .consume = raw_exporter_consume,
};
static const struct oca_component_type cfge_type = {
    .name = "cfge", .kind = OCA_EXPORTER, .signals = OCA_TRACES, .takes_raw = raw_by_config,
    .config_size = sizeof(struct raw_cfg), .fields = raw_fields, .consume = raw_exporter_consume,
};
static const struct oca_component_type rawp_type = {
    .name = "rawp", .kind = OCA_PROCESSOR, .signals = OCA_TRACES, .takes_raw = oca_takes_raw_always,
    .fields = no_fields, .consume = pass_consume,
};
static const struct oca_component_type *const registry[] = {
    &rx_type, &mut_type, &pass_type, &exp_type, &rawe_type, &cfge_type, &rawp_type, NULL };

struct world {
    struct oca_collector_config *cfg;
    struct oca_graph *graph;
    uv_loop_t loop;
};

static void build(struct world *w, const char *yaml)
{
    struct oca_config_source src = { "graph.yaml", yaml, strlen(yaml) };
    struct oca_diag diag;
    oca_diag_init(&diag);
    w->cfg = oca_collector_config_load(&src, 1, registry, &diag);
    if (!w->cfg)
        fail_msg("config: %s", diag.text.data);
    w->graph = oca_graph_build(w->cfg, &diag);
    assert_non_null(w->graph);
    oca_diag_free(&diag);
    uv_loop_init(&w->loop);
    oca_buf_reset(&events);
    assert_int_equal(oca_graph_start(w->graph, &w->loop), OCA_OK);
}

static int graph_done;
static void on_graph_done(void *arg) { (void)arg; graph_done++; }

static void teardown(struct world *w)
{
    graph_done = 0;
    oca_graph_shutdown(w->graph, on_graph_done, NULL);
    oca_graph_shutdown(w->graph, on_graph_done, NULL);   /* twice is harmless */
    uv_run(&w->loop, UV_RUN_DEFAULT);
    assert_int_equal(graph_done, 1);
    oca_graph_destroy(w->graph);
    oca_collector_config_free(w->cfg);
    oca_counters_reset_registry();
    assert_int_equal(uv_loop_close(&w->loop), 0);
}

static struct oca_component *find(struct world *w, const char *id)
{
    for (size_t i = 0; i < oca_graph_size(w->graph); i++)
        if (strcmp(oca_graph_component(w->graph, i)->id, id) == 0)
            return oca_graph_component(w->graph, i);
    fail_msg("no component %s", id);
    return NULL;
}

static struct oca_batch *one_span(const char *name)
{
    struct oca_batch *b = oca_batch_new(OCA_SIGNAL_TRACES);
    struct oca_arena *a = b->arena;
    Opentelemetry__Proto__Trace__V1__ResourceSpans *rs = oca_arena_alloc(a, sizeof(*rs));
    Opentelemetry__Proto__Trace__V1__ScopeSpans *ss = oca_arena_alloc(a, sizeof(*ss));
    Opentelemetry__Proto__Trace__V1__Span *sp = oca_arena_alloc(a, sizeof(*sp));
    opentelemetry__proto__trace__v1__resource_spans__init(rs);
    opentelemetry__proto__trace__v1__scope_spans__init(ss);
    opentelemetry__proto__trace__v1__span__init(sp);
    sp->name = oca_arena_strdup(a, name);
    ss->spans = oca_arena_alloc(a, sizeof(*ss->spans));
    ss->spans[0] = sp;
    ss->n_spans = 1;
    rs->scope_spans = oca_arena_alloc(a, sizeof(*rs->scope_spans));
    rs->scope_spans[0] = ss;
    rs->n_scope_spans = 1;
    b->traces->resource_spans = oca_arena_alloc(a, sizeof(*b->traces->resource_spans));
    b->traces->resource_spans[0] = rs;
    b->traces->n_resource_spans = 1;
    b->items = 1;
    return b;
}

static int send_span(struct world *w, const char *receiver, const char *name)
{
    struct oca_batch *b = one_span(name);
    int err = oca_next_consume(find(w, receiver), OCA_SIGNAL_TRACES, b);
    assert_string_equal(first_span_name(b), name);   /* the sender's batch is never changed */
    oca_batch_unref(b);
    return err;
}

static void test_start_and_shutdown_order(void **state)
{
    (void)state;
    struct world w;
    build(&w, "receivers: {r: }\nprocessors: {pass/1: , pass/2: }\nexporters: {e: }\n"
              "service:\n  pipelines:\n    traces: {receivers: [r], processors: [pass/1, pass/2], exporters: [e]}\n");
    assert_string_equal(events.data, "start:e start:pass/2 start:pass/1 start:r ");
    oca_buf_reset(&events);
    assert_int_equal(send_span(&w, "r", "x"), OCA_OK);
    assert_string_equal(events.data, "pass:pass/1 pass:pass/2 seen:e:x ");
    oca_buf_reset(&events);
    teardown(&w);
    assert_string_equal(events.data, "stop:r stop:pass/1 stop:pass/2 stop:e ");
}

static void test_mutating_processor_gets_a_private_copy(void **state)
{
    (void)state;
    struct world w;
    build(&w, "receivers: {r: }\nprocessors: {mut: }\nexporters: {e/a: , e/b: }\n"
              "service:\n  pipelines:\n"
              "    traces/a: {receivers: [r], processors: [mut], exporters: [e/a]}\n"
              "    traces/b: {receivers: [r], exporters: [e/b]}\n");
    oca_buf_reset(&events);
    assert_int_equal(send_span(&w, "r", "orig"), OCA_OK);
    /* Pipeline a saw its own mutated copy; pipeline b the original. */
    assert_non_null(strstr(events.data, "seen:e/a:mutated "));
    assert_non_null(strstr(events.data, "seen:e/b:orig "));
    teardown(&w);
}

static void test_batch_pointing_into_held_batches_is_copied_for_a_mutating_processor(void **state)
{
    (void)state;
    struct world w;
    build(&w, "receivers: {r: }\nprocessors: {mut: }\nexporters: {e: }\n"
              "service:\n  pipelines:\n    traces: {receivers: [r], processors: [mut], exporters: [e]}\n");
    struct oca_batch *orig = one_span("held");
    struct oca_batch *view = oca_batch_new(OCA_SIGNAL_TRACES);
    view->traces->resource_spans = orig->traces->resource_spans;
    view->traces->n_resource_spans = 1;
    view->items = 1;
    oca_batch_hold(view, orig);
    oca_buf_reset(&events);
    assert_int_equal(oca_next_consume(find(&w, "r"), OCA_SIGNAL_TRACES, view), OCA_OK);
    assert_string_equal(events.data, "seen:e:mutated ");
    assert_string_equal(first_span_name(orig), "held");   /* the held batch was not edited */
    oca_batch_unref(view);
    oca_batch_unref(orig);
    teardown(&w);
}

static void test_one_exporter_shared_by_two_pipelines_and_fanout(void **state)
{
    (void)state;
    struct world w;
    build(&w, "receivers: {r/1: , r/2: }\nexporters: {e/a: , e/b: }\n"
              "service:\n  pipelines:\n"
              "    traces/x: {receivers: [r/1], exporters: [e/a, e/b]}\n"
              "    traces/y: {receivers: [r/2], exporters: [e/a]}\n");
    oca_buf_reset(&events);
    assert_int_equal(send_span(&w, "r/1", "one"), OCA_OK);
    assert_string_equal(events.data, "seen:e/a:one seen:e/b:one ");
    oca_buf_reset(&events);
    assert_int_equal(send_span(&w, "r/2", "two"), OCA_OK);
    assert_string_equal(events.data, "seen:e/a:two ");
    /* Three exporter ids, two receivers: one instance each. */
    assert_int_equal(oca_graph_size(w.graph), 4);
    teardown(&w);
}

static void test_errors_combine_retryable_first(void **state)
{
    (void)state;
    struct world w;
    build(&w, "receivers: {r: }\nexporters: {e/ok: , e/perm: {fail: permanent}, e/retry: {fail: retryable}}\n"
              "service:\n  pipelines:\n"
              "    traces: {receivers: [r], exporters: [e/ok, e/perm, e/retry]}\n");
    assert_int_equal(send_span(&w, "r", "x"), OCA_ERR_QUEUE_FULL);
    teardown(&w);
}

static void test_signal_without_pipeline_is_unsupported(void **state)
{
    (void)state;
    struct world w;
    build(&w, "receivers: {r: }\nexporters: {e: }\n"
              "service:\n  pipelines:\n    traces: {receivers: [r], exporters: [e]}\n");
    struct oca_batch *b = oca_batch_new(OCA_SIGNAL_LOGS);
    assert_int_equal(oca_next_consume(find(&w, "r"), OCA_SIGNAL_LOGS, b), OCA_ERR_UNSUPPORTED);
    oca_batch_unref(b);
    teardown(&w);
}

/* Which pipeline shapes let receiver r hand on raw-only traces. */
static void test_raw_decision_table(void **state)
{
    (void)state;
    static const struct { const char *pipelines; bool raw; } table[] = {
        { "traces: {receivers: [r], exporters: [rawe]}", true },
        { "traces: {receivers: [r], exporters: [e]}", false },                        /* says nothing */
        { "traces: {receivers: [r], exporters: [rawe, e]}", false },                  /* any needs structs */
        { "traces: {receivers: [r], exporters: [cfge]}", true },
        { "traces: {receivers: [r], exporters: [cfge/no]}", false },                  /* by its config */
        { "traces: {receivers: [r], processors: [rawp], exporters: [rawe]}", true },  /* passes it through */
        { "traces: {receivers: [r], processors: [rawp], exporters: [rawe, e]}", false },
        { "traces: {receivers: [r], processors: [pass], exporters: [rawe]}", false }, /* a processor that says nothing */
        { "traces: {receivers: [r], processors: [mut, rawp], exporters: [rawe]}", false },
        { "traces: {receivers: [r], processors: [rawp, rawp/2], exporters: [rawe]}", true },
        { "traces: {receivers: [r], exporters: [rawe]}\n    traces/2: {receivers: [r], exporters: [e]}", false },
        { "traces: {receivers: [r], exporters: [rawe]}\n    traces/2: {receivers: [r], processors: [rawp], exporters: [cfge]}", true },
    };
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        struct world w;
        char yaml[1024];
        snprintf(yaml, sizeof(yaml),
                 "receivers: {r: }\nprocessors: {pass: , mut: , rawp: , rawp/2: }\n"
                 "exporters: {e: , rawe: , cfge: , cfge/no: {raw: false}}\n"
                 "service:\n  pipelines:\n    %s\n", table[i].pipelines);
        build(&w, yaml);
        if (oca_next_takes_raw(find(&w, "r"), OCA_SIGNAL_TRACES) != table[i].raw)
            fail_msg("%s: expected %s", table[i].pipelines, table[i].raw ? "raw" : "decoded");
        assert_false(oca_next_takes_raw(find(&w, "r"), OCA_SIGNAL_LOGS));     /* nothing wired */
        teardown(&w);
    }
}

/* A raw-only batch that reaches a consumer needing structs anyway is decoded for it by the
 * fan-out, while a consumer that takes raw gets it as it is. */
static void test_fanout_decodes_raw_for_consumers_that_need_structs(void **state)
{
    (void)state;
    struct world w;
    build(&w, "receivers: {r: }\nexporters: {e: , rawe: }\n"
              "service:\n  pipelines:\n    traces: {receivers: [r], exporters: [rawe, e]}\n");
    struct oca_batch *dec = one_span("wire");
    size_t len;
    uint8_t *wire = oca_batch_pack(dec, &len);
    oca_batch_unref(dec);
    struct oca_batch *b = oca_batch_new_raw(OCA_SIGNAL_TRACES);
    b->raw_block = wire;
    b->raw_free = free;
    oca_batch_add_raw(b, wire, len);
    b->items = 1;
    oca_buf_reset(&events);
    assert_int_equal(oca_next_consume(find(&w, "r"), OCA_SIGNAL_TRACES, b), OCA_OK);
    assert_string_equal(events.data, "decoded:rawe:wire seen:e:wire ");
    oca_batch_unref(b);
    teardown(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_start_and_shutdown_order),
        cmocka_unit_test(test_mutating_processor_gets_a_private_copy),
        cmocka_unit_test(test_batch_pointing_into_held_batches_is_copied_for_a_mutating_processor),
        cmocka_unit_test(test_one_exporter_shared_by_two_pipelines_and_fanout),
        cmocka_unit_test(test_errors_combine_retryable_first),
        cmocka_unit_test(test_signal_without_pipeline_is_unsupported),
        cmocka_unit_test(test_raw_decision_table),
        cmocka_unit_test(test_fanout_decodes_raw_for_consumers_that_need_structs),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    oca_buf_free(&events);
    return rc;
}
