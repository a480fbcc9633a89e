/* Tests for config/collector.c against a small fake registry defined here: a valid config round
 * trip, merging two sources, and every error class (unknown keys and types, references, signals,
 * pipelines, service sections, ports used twice) with its exact "file:line:col: path: message". */
#include "testutil.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "base/log.h"
#include "config/collector.h"
#include "config/diag.h"
#include "config/yaml_tree.h"

struct http_config {
    struct oca_endpoint endpoint;
};

struct r_config {
    struct oca_endpoint endpoint;
    struct http_config http;
    bool http_on;
    int64_t timeout;
};

struct p_config {
    uint32_t limit;
};

struct e_config {
    struct oca_endpoint endpoint;
    char *name;
};

struct x_config {
    struct oca_endpoint endpoint;
};

static const struct oca_field http_fields[] = {
    OCA_FIELD_LISTEN_ENDPOINT(struct http_config, endpoint, "0.0.0.0:4318", "HTTP address."),
    OCA_FIELD_END,
};
static const struct oca_field r_fields[] = {
    OCA_FIELD_LISTEN_ENDPOINT(struct r_config, endpoint, "0.0.0.0:4317", "gRPC address."),
    OCA_FIELD_OPT_SECTION(struct r_config, http, struct http_config, http_fields, http_on, "HTTP server."),
    OCA_FIELD_DURATION(struct r_config, timeout, "1s", 0, 60 * OCA_NS_PER_S, "Timeout."),
    OCA_FIELD_END,
};
static const struct oca_field p_fields[] = {
    OCA_FIELD_U32(struct p_config, limit, "10", 1, 100, "Limit."),
    OCA_FIELD_END,
};
static const struct oca_field e_fields[] = {
    OCA_FIELD_LISTEN_ENDPOINT(struct e_config, endpoint, "localhost:9000", "Scrape address."),
    OCA_FIELD_STRING(struct e_config, name, "e", "Name."),
    OCA_FIELD_END,
};
static const struct oca_field x_fields[] = {
    OCA_FIELD_LISTEN_ENDPOINT(struct x_config, endpoint, ":13133", "Health address."),
    OCA_FIELD_END,
};

static int r_validate(const void *cfg, struct oca_diag *diag)
{
    const struct r_config *c = cfg;
    if (c->http_on && c->timeout < OCA_NS_PER_S) {
        oca_diag_field_error(diag, "timeout", "must be at least 1s when http is on");
        return OCA_ERR_CONFIG;
    }
    return OCA_OK;
}

static const struct oca_component_type r_type = {
    .name = "r", .kind = OCA_RECEIVER, .signals = OCA_TRACES | OCA_METRICS,
    .config_size = sizeof(struct r_config), .fields = r_fields, .validate = r_validate,
};
static const struct oca_component_type r2_type = {
    .name = "r2", .kind = OCA_RECEIVER, .signals = OCA_LOGS,
};
static const struct oca_component_type p_type = {
    .name = "p", .kind = OCA_PROCESSOR, .signals = OCA_TRACES | OCA_METRICS | OCA_LOGS,
    .config_size = sizeof(struct p_config), .fields = p_fields,
};
static const struct oca_component_type e_type = {
    .name = "e", .kind = OCA_EXPORTER, .signals = OCA_TRACES,
    .config_size = sizeof(struct e_config), .fields = e_fields,
};
static const struct oca_component_type m_type = {
    .name = "m", .alias = "mm", .kind = OCA_EXPORTER, .signals = OCA_METRICS | OCA_LOGS,
};
static const struct oca_component_type x_type = {
    .name = "x", .kind = OCA_EXTENSION,
    .config_size = sizeof(struct x_config), .fields = x_fields,
};
static const struct oca_component_type *const registry[] = {
    &r_type, &r2_type, &p_type, &e_type, &m_type, &x_type, NULL,
};

struct fixture {
    struct oca_diag diag;
    struct oca_collector_config *cfg;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    oca_diag_init(&f->diag);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    oca_collector_config_free(f->cfg);
    oca_diag_free(&f->diag);
    free(f);
    return 0;
}

static struct oca_collector_config *load(struct fixture *f, const char *yaml)
{
    struct oca_config_source src = { "c.yaml", yaml, strlen(yaml) };
    oca_collector_config_free(f->cfg);
    oca_diag_free(&f->diag);
    f->cfg = oca_collector_config_load(&src, 1, registry, &f->diag);
    return f->cfg;
}

static void expect(struct fixture *f, const char *yaml, const char *messages)
{
    assert_null(load(f, yaml));
    assert_string_equal(f->diag.text.data, messages);
}

#define MINIMAL_PIPELINE "service:\n  pipelines:\n    traces:\n      receivers: [r]\n      exporters: [e]\n"

static const char valid[] =
    "receivers:\n"
    "  r:\n"
    "  r/2:\n"
    "    endpoint: :5000\n"
    "    http:\n"
    "    timeout: 3s\n"
    "  r2:\n"
    "processors:\n"
    "  p:\n"
    "    limit: 50\n"
    "exporters:\n"
    "  e:\n"
    "  m:\n"
    "extensions:\n"
    "  x:\n"
    "    endpoint: localhost:13134\n"
    "service:\n"
    "  extensions: [x]\n"
    "  telemetry:\n"
    "    logs: {level: debug, encoding: console}\n"
    "    metrics: {level: none}\n"
    "  shutdown_timeout: 30s\n"
    "  pipelines:\n"
    "    traces:\n"
    "      receivers: [r, r/2]\n"
    "      processors: [p]\n"
    "      exporters: [e]\n"
    "    metrics/own:\n"
    "      receivers: [r]\n"
    "      exporters: [m]\n";

static void test_valid_config(void **state)
{
    struct fixture *f = *state;
    const struct oca_collector_config *cfg = load(f, valid);
    assert_string_equal(f->diag.text.data ? f->diag.text.data : "", "");
    assert_non_null(cfg);
    assert_int_equal(cfg->n_components[OCA_RECEIVER], 3);
    assert_int_equal(cfg->n_components[OCA_PROCESSOR], 1);
    assert_int_equal(cfg->n_components[OCA_EXPORTER], 2);
    assert_int_equal(cfg->n_components[OCA_EXTENSION], 1);

    const struct oca_component_config *r = oca_collector_config_find(cfg, OCA_RECEIVER, "r");
    const struct r_config *rc = r->config;
    assert_ptr_equal(r->type, &r_type);
    assert_true(r->used);
    assert_string_equal(rc->endpoint.text, "0.0.0.0:4317");
    assert_false(rc->http_on);
    assert_int_equal(r->node->line, 2);

    const struct r_config *r2c = oca_collector_config_find(cfg, OCA_RECEIVER, "r/2")->config;
    assert_int_equal(r2c->endpoint.port, 5000);
    assert_true(r2c->http_on);
    assert_int_equal(r2c->http.endpoint.port, 4318);
    assert_int_equal(r2c->timeout, 3 * OCA_NS_PER_S);
    assert_false(oca_collector_config_find(cfg, OCA_RECEIVER, "r2")->used);
    assert_non_null(oca_collector_config_find(cfg, OCA_RECEIVER, "r2")->config);

    const struct p_config *pc = oca_collector_config_find(cfg, OCA_PROCESSOR, "p")->config;
    assert_int_equal(pc->limit, 50);
    assert_string_equal(((const struct e_config *)oca_collector_config_find(cfg, OCA_EXPORTER, "e")->config)->name, "e");
    assert_null(oca_collector_config_find(cfg, OCA_EXPORTER, "nope"));
    assert_null(oca_collector_config_find(cfg, OCA_PROCESSOR, "e"));
    assert_true(oca_collector_config_find(cfg, OCA_EXTENSION, "x")->used);

    assert_int_equal(cfg->n_service_extensions, 1);
    assert_string_equal(cfg->service_extensions[0], "x");
    assert_int_equal(cfg->log_level, OCA_LOG_DEBUG);
    assert_false(cfg->metrics_enabled);
    assert_int_equal(cfg->shutdown_timeout_ns, 30 * OCA_NS_PER_S);

    assert_int_equal(cfg->n_pipelines, 2);
    const struct oca_pipeline_config *t = &cfg->pipelines[0], *m = &cfg->pipelines[1];
    assert_string_equal(t->id, "traces");
    assert_int_equal(t->signal, OCA_SIGNAL_TRACES);
    assert_int_equal(t->n_receivers, 2);
    assert_string_equal(t->receivers[1], "r/2");
    assert_int_equal(t->n_processors, 1);
    assert_string_equal(t->processors[0], "p");
    assert_int_equal(t->n_exporters, 1);
    assert_string_equal(t->exporters[0], "e");
    assert_int_equal(t->node->line, 24);
    assert_string_equal(m->id, "metrics/own");
    assert_int_equal(m->signal, OCA_SIGNAL_METRICS);
    assert_int_equal(m->n_processors, 0);
}

static void test_service_defaults(void **state)
{
    struct fixture *f = *state;
    const struct oca_collector_config *cfg =
        load(f, "receivers: {r: }\nexporters: {e: {endpoint: ':9001'}}\n" MINIMAL_PIPELINE);
    assert_non_null(cfg);
    assert_int_equal(cfg->log_level, OCA_LOG_INFO);
    assert_true(cfg->metrics_enabled);
    assert_string_equal(cfg->metrics_address.host, "localhost");
    assert_int_equal(cfg->metrics_address.port, 8888);
    assert_int_equal(cfg->shutdown_timeout_ns, 10 * OCA_NS_PER_S);
    assert_int_equal(cfg->memory_budget, 40u << 20);
    assert_int_equal(cfg->n_service_extensions, 0);
    assert_int_equal(cfg->n_components[OCA_PROCESSOR], 0);
}

static void test_memory_budget(void **state)
{
    struct fixture *f = *state;
    const struct oca_collector_config *cfg =
        load(f, "receivers: {r: }\nexporters: {e: }\n" MINIMAL_PIPELINE "  memory_budget: 8MiB\n");
    assert_non_null(cfg);
    assert_int_equal(cfg->memory_budget, 8u << 20);
    expect(f, "receivers: {r: }\nexporters: {e: }\n" MINIMAL_PIPELINE "  memory_budget: 1KiB\n",
           "c.yaml:8:18: service.memory_budget: value 1KiB out of range [4KiB, 1024GiB]\n");
}

static void test_merge_sources(void **state)
{
    struct fixture *f = *state;
    const char *base = "receivers:\n  r:\n    timeout: 2s\nexporters:\n  e:\n" MINIMAL_PIPELINE;
    const char *over = "receivers:\n  r:\n    endpoint: :7000\n  r/b:\n    endpoint: :7001\n"
                       "service:\n  pipelines:\n    traces:\n      receivers: [r, r/b]\n";
    struct oca_config_source src[] = { { "base.yaml", base, strlen(base) }, { "over.yaml", over, strlen(over) } };
    f->cfg = oca_collector_config_load(src, 2, registry, &f->diag);
    assert_non_null(f->cfg);
    const struct r_config *rc = oca_collector_config_find(f->cfg, OCA_RECEIVER, "r")->config;
    assert_int_equal(rc->endpoint.port, 7000);
    assert_int_equal(rc->timeout, 2 * OCA_NS_PER_S);
    assert_int_equal(f->cfg->n_pipelines, 1);
    assert_int_equal(f->cfg->pipelines[0].n_receivers, 2);
    assert_int_equal(f->cfg->pipelines[0].n_exporters, 1);
    oca_collector_config_free(f->cfg);

    /* Errors point into the file that wrote the value. */
    const char *bad = "receivers:\n  r:\n    timeout: 2m\n";
    src[1] = (struct oca_config_source){ "over.yaml", bad, strlen(bad) };
    f->cfg = oca_collector_config_load(src, 2, registry, &f->diag);
    assert_null(f->cfg);
    assert_string_equal(f->diag.text.data, "over.yaml:3:14: receivers.r.timeout: value 2m out of range [0s, 1m]\n");
}

static void test_syntax_errors_in_each_file(void **state)
{
    struct fixture *f = *state;
    const char *a = "a: [\n", *b = "b: 1\nb: 2\n";
    struct oca_config_source src[] = { { "a.yaml", a, strlen(a) }, { "b.yaml", b, strlen(b) } };
    assert_null(f->cfg = oca_collector_config_load(src, 2, registry, &f->diag));
    assert_int_equal(f->diag.errors, 2);
    assert_non_null(strstr(f->diag.text.data, "a.yaml:2:1: "));
    assert_non_null(strstr(f->diag.text.data, "b.yaml:2:1: duplicate key \"b\"\n"));
}

static void test_top_level(void **state)
{
    struct fixture *f = *state;
    expect(f, "recievers:\n  r:\n" MINIMAL_PIPELINE "exporters: {e: }\n",
           "c.yaml:1:1: recievers: unknown key (did you mean receivers?)\n"
           "c.yaml:6:19: service.pipelines.traces.receivers: receiver \"r\" is not defined (no receivers are defined)\n");
    expect(f, "zzz: 1\n",
           "c.yaml:1:1: zzz: unknown key (valid keys: receivers, processors, exporters, extensions, connectors, "
           "service)\nservice.pipelines: at least one pipeline is required\n");
    expect(f, "- a\n", "c.yaml:1:1: expected a mapping at the top of the config, got a sequence\n");
    expect(f, "receivers: [r]\nservice: 5\n",
           "c.yaml:1:12: receivers: expected a mapping of receiver ids to their settings, got a sequence\n"
           "c.yaml:2:10: service: expected a mapping, got a string\n"
           "c.yaml:2:1: service.pipelines: at least one pipeline is required\n");
    expect(f, "service:\n  pipelines: {}\n",
           "c.yaml:2:3: service.pipelines: at least one pipeline is required\n");
    expect(f, "connectors:\n  forward:\n", "c.yaml:1:1: connectors: connectors are not supported yet\n"
                                           "service.pipelines: at least one pipeline is required\n");
}

static void test_component_ids_and_types(void **state)
{
    struct fixture *f = *state;
    expect(f, "receivers:\n  rr:\n  r/:\n  r/a/b:\n  /a:\nexporters:\n  zipkin/z:\n",
           "c.yaml:2:3: receivers.rr: unknown receiver type \"rr\" (known: r, r2)\n"
           "c.yaml:3:3: receivers.r/: invalid receiver id (expected \"type\" or \"type/name\")\n"
           "c.yaml:4:3: receivers.r/a/b: invalid receiver id (expected \"type\" or \"type/name\")\n"
           "c.yaml:5:3: receivers./a: invalid receiver id (expected \"type\" or \"type/name\")\n"
           "c.yaml:7:3: exporters.zipkin/z: unknown exporter type \"zipkin\" (known: e, m, mm)\n"
           "service.pipelines: at least one pipeline is required\n");
}

/* A type's alias names the same type; the id keeps the spelling used, so m/a and mm/a are two
 * components, as in the Collector. */
static void test_type_alias(void **state)
{
    struct fixture *f = *state;
    struct oca_collector_config *cfg =
        load(f, "receivers:\n  r2:\nexporters:\n  mm/a:\n  m/a:\n"
                "service:\n  pipelines:\n    logs: {receivers: [r2], exporters: [mm/a, m/a]}\n");
    assert_non_null(cfg);
    const struct oca_component_config *aliased = oca_collector_config_find(cfg, OCA_EXPORTER, "mm/a");
    assert_non_null(aliased);
    assert_ptr_equal(aliased->type, &m_type);
    assert_true(aliased->used);
    assert_ptr_equal(oca_collector_config_find(cfg, OCA_EXPORTER, "m/a")->type, &m_type);
    /* An alias is only one of its own kind. */
    expect(f, "receivers:\n  mm:\n" MINIMAL_PIPELINE,
           "c.yaml:2:3: receivers.mm: unknown receiver type \"mm\" (known: r, r2)\n"
           "c.yaml:6:19: service.pipelines.traces.receivers: receiver \"r\" is not defined (defined: mm)\n"
           "c.yaml:7:19: service.pipelines.traces.exporters: exporter \"e\" is not defined (no exporters are "
           "defined)\n");
}

static void test_component_sections(void **state)
{
    struct fixture *f = *state;
    expect(f, "receivers:\n  r:\n    endpont: :1\n    http: {endpoint: ':4319'}\n  r2:\n    a: 1\n"
              "exporters:\n  e: [1]\n" MINIMAL_PIPELINE,
           "c.yaml:3:5: receivers.r.endpont: unknown key (did you mean endpoint?)\n"
           "c.yaml:6:5: receivers.r2.a: unknown key (this section takes no keys)\n"
           "c.yaml:8:6: exporters.e: expected a mapping, got a sequence\n");
    /* validate() runs once the fields decode, and names the key it is about. */
    expect(f, "receivers:\n  r:\n    timeout: 0s\n    http:\nexporters:\n  e:\n" MINIMAL_PIPELINE,
           "c.yaml:3:5: receivers.r.timeout: must be at least 1s when http is on\n");
}

static void test_pipeline_references(void **state)
{
    struct fixture *f = *state;
    expect(f, "receivers: {r: , r2: }\nprocessors: {p: }\nexporters: {e: , m: }\n"
              "service:\n"
              "  pipelines:\n"
              "    traces:\n"
              "      receivers: [r, r2, nope]\n"
              "      processors: [p, p, q]\n"
              "      exporters: [zipkin, m, e]\n",
           "c.yaml:7:22: service.pipelines.traces.receivers: receiver \"r2\" does not support traces\n"
           "c.yaml:7:26: service.pipelines.traces.receivers: receiver \"nope\" is not defined (defined: r, r2)\n"
           "c.yaml:8:23: service.pipelines.traces.processors: processor \"p\" is listed twice\n"
           "c.yaml:8:26: service.pipelines.traces.processors: processor \"q\" is not defined (defined: p)\n"
           "c.yaml:9:19: service.pipelines.traces.exporters: exporter \"zipkin\" is not defined (defined: e, m)\n"
           "c.yaml:9:27: service.pipelines.traces.exporters: exporter \"m\" does not support traces\n");
}

static void test_pipeline_shapes(void **state)
{
    struct fixture *f = *state;
    expect(f, "receivers: {r: }\nexporters: {e: }\n"
              "service:\n"
              "  pipelines:\n"
              "    trace:\n"
              "      receivers: [r]\n"
              "      exporters: [e]\n"
              "    traces/:\n"
              "    logs:\n"
              "      receivers: []\n"
              "    metrics:\n"
              "      receivers: r\n"
              "      exporter: [e]\n"
              "    traces/x: [r]\n",
           "c.yaml:5:5: service.pipelines.trace: unknown signal \"trace\" (expected traces, metrics or logs)\n"
           "c.yaml:8:5: service.pipelines.traces/: invalid pipeline id (expected \"signal\" or \"signal/name\")\n"
           "c.yaml:8:5: service.pipelines.traces/: pipeline must have at least one receiver\n"
           "c.yaml:8:5: service.pipelines.traces/: pipeline must have at least one exporter\n"
           "c.yaml:9:5: service.pipelines.logs: pipeline must have at least one receiver\n"
           "c.yaml:9:5: service.pipelines.logs: pipeline must have at least one exporter\n"
           "c.yaml:12:18: service.pipelines.metrics.receivers: expected a sequence of strings, got \"r\"\n"
           "c.yaml:13:7: service.pipelines.metrics.exporter: unknown key (did you mean exporters?)\n"
           "c.yaml:11:5: service.pipelines.metrics: pipeline must have at least one exporter\n"
           "c.yaml:14:15: service.pipelines.traces/x: expected a mapping, got a sequence\n");
}

static void test_service_sections(void **state)
{
    struct fixture *f = *state;
    expect(f, "receivers: {r: }\nexporters: {e: }\nextensions: {x: }\n"
              "service:\n"
              "  extensions: [x, health, x]\n"
              "  pipeline: {}\n"
              "  telemetry:\n"
              "    logs: {level: verbose, encoding: json}\n"
              "    metrics: {level: all, address: nowhere}\n"
              "  shutdown_timeout: 2h\n"
              "  pipelines:\n"
              "    traces: {receivers: [r], exporters: [e]}\n",
           "c.yaml:6:3: service.pipeline: unknown key (did you mean pipelines?)\n"
           "c.yaml:8:19: service.telemetry.logs.level: invalid value \"verbose\" (one of: debug, info, warn, error)\n"
           "c.yaml:9:22: service.telemetry.metrics.level: invalid value \"all\" (one of: none, basic, normal, detailed)\n"
           "c.yaml:9:36: service.telemetry.metrics.address: invalid endpoint \"nowhere\": missing port (expected host:port)\n"
           "c.yaml:10:21: service.shutdown_timeout: value 2h out of range [0s, 1h]\n"
           "c.yaml:5:19: service.extensions: extension \"health\" is not defined (defined: x)\n"
           "c.yaml:5:27: service.extensions: extension \"x\" is listed twice\n"
           "c.yaml:8:28: service.telemetry.logs.encoding: json is not supported (only console)\n");
}

static void test_port_conflicts(void **state)
{
    struct fixture *f = *state;
    expect(f, "receivers:\n"
              "  r:\n"
              "    http:\n"
              "      endpoint: 127.0.0.1:9000\n"
              "  r/2:\n"
              "    endpoint: \"[::]:9000\"\n"
              "exporters:\n"
              "  e:\n"
              "extensions:\n"
              "  x:\n"
              "    endpoint: localhost:4317\n"
              "service:\n"
              "  extensions: [x]\n"
              "  telemetry: {metrics: {address: ':9000'}}\n"
              "  pipelines:\n"
              "    traces: {receivers: [r, r/2], exporters: [e]}\n",
           "c.yaml:6:5: receivers.r/2.endpoint: port 9000 is already used by receivers.r.http.endpoint\n"
           "c.yaml:8:3: exporters.e.endpoint: port 9000 is already used by receivers.r.http.endpoint\n"
           "c.yaml:11:5: extensions.x.endpoint: port 4317 is already used by receivers.r.endpoint\n"
           "c.yaml:14:25: service.telemetry.metrics.address: port 9000 is already used by "
           "receivers.r.http.endpoint\n");
}

static void test_localhost_collides_with_loopback_literals(void **state)
{
    struct fixture *f = *state;
    expect(f, "receivers:\n"
              "  r:\n"
              "    endpoint: 127.0.0.1:4317\n"
              "  r/2:\n"
              "    endpoint: localhost:4317\n"
              "exporters:\n"
              "  e:\n"
              "    endpoint: localhost:8888\n"
              "service:\n"
              "  telemetry: {metrics: {level: none}}\n"
              "  pipelines:\n"
              "    traces: {receivers: [r, r/2], exporters: [e]}\n",
           "c.yaml:5:5: receivers.r/2.endpoint: port 4317 is already used by receivers.r.endpoint\n");
}

static void test_ports_that_do_not_conflict(void **state)
{
    struct fixture *f = *state;
    /* Different hosts, port 0, an unused receiver, an optional section that is off, metrics off. */
    assert_non_null(load(f, "receivers:\n"
                            "  r:\n"
                            "    endpoint: 127.0.0.1:4317\n"
                            "  r/2:\n"
                            "    endpoint: 10.0.0.1:4317\n"
                            "  r/zero:\n"
                            "    endpoint: localhost:0\n"
                            "    http: {endpoint: 'localhost:0'}\n"
                            "  r/unused:\n"
                            "exporters:\n"
                            "  e:\n"
                            "    endpoint: localhost:8888\n"
                            "service:\n"
                            "  telemetry: {metrics: {level: none}}\n"
                            "  pipelines:\n"
                            "    traces: {receivers: [r, r/2, r/zero], exporters: [e]}\n"));
}

static void test_many_errors_at_once(void **state)
{
    struct fixture *f = *state;
    expect(f, "receivers:\n  r:\n    timeout: forever\nprocessors:\n  p: {limit: 0}\nexporterz:\n"
              "service:\n  pipelines:\n    traces: {receivers: [r], processors: [p], exporters: [e]}\n",
           "c.yaml:6:1: exporterz: unknown key (did you mean exporters?)\n"
           "c.yaml:3:14: receivers.r.timeout: invalid duration \"forever\": expected a number followed by a "
           "unit, like 5s or 1h30m\n"
           "c.yaml:5:14: processors.p.limit: value 0 out of range [1, 100]\n"
           "c.yaml:9:59: service.pipelines.traces.exporters: exporter \"e\" is not defined (no exporters are "
           "defined)\n");
    assert_int_equal(f->diag.errors, 4);
}

static void test_no_sources(void **state)
{
    struct fixture *f = *state;
    assert_null(oca_collector_config_load(NULL, 0, registry, &f->diag));
    assert_string_equal(f->diag.text.data, "service.pipelines: at least one pipeline is required\n");
    oca_collector_config_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_valid_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_service_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_memory_budget, setup, teardown),
        cmocka_unit_test_setup_teardown(test_merge_sources, setup, teardown),
        cmocka_unit_test_setup_teardown(test_syntax_errors_in_each_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_top_level, setup, teardown),
        cmocka_unit_test_setup_teardown(test_component_ids_and_types, setup, teardown),
        cmocka_unit_test_setup_teardown(test_type_alias, setup, teardown),
        cmocka_unit_test_setup_teardown(test_component_sections, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pipeline_references, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pipeline_shapes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_service_sections, setup, teardown),
        cmocka_unit_test_setup_teardown(test_port_conflicts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_localhost_collides_with_loopback_literals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ports_that_do_not_conflict, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_errors_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_sources, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
