/* The agent's lifecycle on one libuv loop; see agent.h. All state below is owned by the loop
 * thread. */
#include "agent/agent.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "agent/components.h"
#include "agent/status.h"
#include "agent/telemetry.h"
#include "base/budget.h"
#include "base/errors.h"
#include "base/log.h"
#include "config/diag.h"
#include "pipeline/counters.h"
#include "pipeline/graph.h"
#include "version.h"

struct agent {
    uv_loop_t loop;
    uv_signal_t sigint, sigterm;
    uv_timer_t shutdown_timer;
    struct oca_graph *graph;
    struct oca_telemetry *telemetry;    /* the own metrics endpoint; NULL when off */
    const struct oca_collector_config *cfg;
    int signals_seen;
};

struct oca_collector_config *oca_agent_load_config(const struct oca_config_source *sources, size_t n)
{
    struct oca_diag diag;
    oca_diag_init(&diag);
    struct oca_collector_config *cfg = oca_collector_config_load(sources, n, oca_components, &diag);
    if (!cfg || diag.errors) {
        fputs(diag.text.data ? diag.text.data : "invalid configuration\n", stderr);
        fprintf(stderr, "ocagent: %d configuration error%s\n", diag.errors ? diag.errors : 1,
                diag.errors == 1 ? "" : "s");
        oca_collector_config_free(cfg);
        cfg = NULL;
    }
    oca_diag_free(&diag);
    return cfg;
}

static void close_handle(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static void on_telemetry_closed(void *arg)
{
    struct agent *a = arg;
    uv_walk(&a->loop, close_handle, NULL);
}

/* The metrics endpoint outlives the graph, so the final counts can still be scraped while the
 * pipelines drain. */
static void on_graph_down(void *arg)
{
    struct agent *a = arg;
    oca_log_info(NULL, "all components stopped");
    if (a->telemetry) {
        struct oca_telemetry *t = a->telemetry;
        a->telemetry = NULL;
        oca_telemetry_close(t, on_telemetry_closed, a);
        return;
    }
    uv_walk(&a->loop, close_handle, NULL);
}

static const char *item_word(enum oca_signal sig)
{
    static const char *const words[OCA_SIGNAL_COUNT] = { "spans", "points", "records" };
    return words[sig];
}

/* Counts what the exporters' sending queues still hold (waiting or mid-retry) as dropped, with one
 * line per exporter and signal, and returns the number of batches left unsent. The held counts are
 * cleared as they are taken, so a counter block seen twice is counted once. */
static uint64_t drop_pending(struct oca_graph *g)
{
    uint64_t batches = 0;
    for (size_t i = 0; i < oca_graph_size(g); i++) {
        struct oca_component *comp = oca_graph_component(g, i);
        struct oca_counters *c = comp->counters;
        if (!c || comp->type->kind != OCA_EXPORTER)
            continue;
        uint64_t held = 0;
        for (int sig = 0; sig < OCA_SIGNAL_COUNT; sig++)
            held += c->queued_batches[sig];
        /* An exporter with a queue of its own (file) only reports its size. */
        if (!held && c->queue_size > 0)
            batches += (uint64_t)c->queue_size;
        for (int sig = 0; sig < OCA_SIGNAL_COUNT; sig++) {
            if (!c->queued_batches[sig])
                continue;
            oca_log_error(NULL, "exporter %s: dropping %llu %s (%llu batches) still queued", c->id,
                          (unsigned long long)c->queued_items[sig], item_word((enum oca_signal)sig),
                          (unsigned long long)c->queued_batches[sig]);
            oca_counters_add(c, OCA_EDGE_DROPPED, (enum oca_signal)sig, c->queued_items[sig]);
            batches += c->queued_batches[sig];
            c->queued_batches[sig] = c->queued_items[sig] = 0;
        }
    }
    return batches;
}

static void on_shutdown_timeout(uv_timer_t *t)
{
    struct agent *a = t->data;
    /* What is still queued cannot be saved any more; say how much, then leave without unwinding
     * components that are mid-operation. */
    uint64_t batches = drop_pending(a->graph);
    oca_log_error(NULL, "shutdown did not finish within %.1fs; exiting with %llu queued batches unsent",
                  (double)a->cfg->shutdown_timeout_ns / 1e9, (unsigned long long)batches);
    _exit(0);
}

static void on_signal(uv_signal_t *s, int signum)
{
    struct agent *a = s->data;
    if (++a->signals_seen > 1) {
        oca_log_warn(NULL, "second signal (%s): exiting at once", strsignal(signum));
        _exit(1);
    }
    oca_log_info(NULL, "received %s: stopping receivers and draining pipelines", strsignal(signum));
    oca_status_set(OCA_STATUS_STOPPING);
    uint64_t ms = (uint64_t)(a->cfg->shutdown_timeout_ns / 1000000);
    uv_timer_start(&a->shutdown_timer, on_shutdown_timeout, ms ? ms : 1, 0);
    /* Signal handles stay open (unreferenced) so that a second signal is still caught. */
    uv_unref((uv_handle_t *)&a->sigint);
    uv_unref((uv_handle_t *)&a->sigterm);
    oca_graph_shutdown(a->graph, on_graph_down, a);
}

static int build(struct agent *a)
{
    struct oca_diag diag;
    oca_diag_init(&diag);
    a->graph = oca_graph_build(a->cfg, &diag);
    if (!a->graph)
        fputs(diag.text.data ? diag.text.data : "", stderr);
    oca_diag_free(&diag);
    return a->graph ? 0 : 1;
}

static int run_loop(struct agent *a)
{
    uv_loop_init(&a->loop);
    uv_signal_init(&a->loop, &a->sigint);
    uv_signal_init(&a->loop, &a->sigterm);
    uv_timer_init(&a->loop, &a->shutdown_timer);
    a->sigint.data = a->sigterm.data = a->shutdown_timer.data = a;
    uv_signal_start(&a->sigint, on_signal, SIGINT);
    uv_signal_start(&a->sigterm, on_signal, SIGTERM);

    int code = 0;
    oca_status_set(OCA_STATUS_STARTING);
    int err = a->cfg->metrics_enabled ? oca_telemetry_start(&a->loop, &a->cfg->metrics_address, &a->telemetry)
                                      : OCA_OK;
    if (err == OCA_OK)
        err = oca_graph_start(a->graph, &a->loop);
    if (err) {
        code = 1;
        oca_status_set(OCA_STATUS_STOPPING);
        oca_graph_shutdown(a->graph, on_graph_down, a);
    } else {
        oca_status_set(OCA_STATUS_READY);
        oca_log_info(NULL, "ocagent %s started: %zu components", OCA_VERSION, oca_graph_size(a->graph));
    }
    uv_run(&a->loop, UV_RUN_DEFAULT);
    /* Handles closed by on_graph_down finish closing here. */
    uv_walk(&a->loop, close_handle, NULL);
    uv_run(&a->loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&a->loop) != 0)
        oca_log_warn(NULL, "event loop closed with handles still open");
    oca_graph_destroy(a->graph);
    return code;
}

int oca_agent_run(const struct oca_config_source *sources, size_t n, bool validate_only)
{
    struct agent a = { 0 };
    struct oca_collector_config *cfg = oca_agent_load_config(sources, n);
    if (!cfg)
        return 1;
    a.cfg = cfg;
    oca_log_set_level((enum oca_log_level)cfg->log_level);
    oca_budget_set_limit((size_t)cfg->memory_budget);
    signal(SIGPIPE, SIG_IGN);
    int code = build(&a);
    if (code == 0 && validate_only) {
        oca_graph_destroy(a.graph);
    } else if (code == 0) {
        code = run_loop(&a);
        oca_log_info(NULL, "stopped");
    }
    oca_counters_reset_registry();
    oca_collector_config_free(cfg);
    return code;
}
