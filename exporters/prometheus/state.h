/* The prometheus exporter's series store: every OTLP metric point it is given is folded into one
 * entry per Prometheus series (name, label set incl. job/instance and scope), as the Collector's
 * prometheusexporter accumulator does, and the whole store is rendered as a text exposition (0.0.4)
 * or OpenMetrics 1.0 on scrape, from a snapshot so that rendering can leave the loop thread. Gauges keep the newest value, monotonic sums become counters (delta ones accumulated),
 * delta histograms are accumulated, summaries kept as they come. Only the loop thread touches the
 * store; a snapshot may be rendered on any one thread. */
#ifndef OCA_EXPORTERS_PROMETHEUS_STATE_H
#define OCA_EXPORTERS_PROMETHEUS_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "pipeline/batch.h"

struct oca_strmap;

struct oca_prom_state_options {
    const char *namespace_;                 /* prefix of every metric name; NULL or "" for none */
    bool add_suffixes;                      /* unit and _total suffixes (add_metric_suffixes) */
    bool resource_to_telemetry;             /* every resource attribute becomes a label too */
    bool send_timestamps;                   /* each sample carries its point's time */
    const struct oca_strmap *const_labels;  /* added to every series; may be NULL */
    size_t max_series;                      /* new series beyond this are dropped and counted */
    const char *who;                        /* component id, for log lines */
};

struct oca_prom_state_stats {
    size_t series;                  /* entries held now (a histogram is one entry) */
    size_t families;
    uint64_t dropped_max_series;    /* points of new series refused because max_series were held */
    uint64_t dropped_temporality;   /* non-monotonic delta sums, points of unspecified temporality */
    uint64_t dropped_unsupported;   /* exponential histograms, points of a name taken by another type */
    uint64_t expired;               /* entries removed by oca_prom_state_expire */
};

/* A new empty store; opt is copied (its strings and const_labels must outlive the store). */
struct oca_prom_state *oca_prom_state_new(const struct oca_prom_state_options *opt);
void oca_prom_state_free(struct oca_prom_state *st);

/* Folds every point of req into the store; now_ns is a monotonic clock (uv_hrtime) that expiry
 * compares against. Returns the number of points taken in; the rest are counted in the stats. The
 * request is not kept. */
size_t oca_prom_state_add(struct oca_prom_state *st, const oca_metrics_req *req, uint64_t now_ns);

/* Removes every entry not updated during the last ttl_ns before now_ns; returns how many. */
size_t oca_prom_state_expire(struct oca_prom_state *st, uint64_t now_ns, int64_t ttl_ns);

/* The same in slices, so that a large store does not hold the loop: looks at about max_series
 * series from the table position *pos (0 to begin a pass) on, adds what it removed to *removed,
 * and returns true, with *pos back at 0, once the pass reached the end. Series that come or move
 * (the table grows) during a pass may wait for the next one. */
bool oca_prom_state_expire_step(struct oca_prom_state *st, uint64_t now_ns, int64_t ttl_ns, size_t *pos,
                                size_t max_series, size_t *removed);

enum oca_prom_format {
    OCA_PROM_TEXT,          /* text/plain; version=0.0.4 */
    OCA_PROM_OPENMETRICS,   /* application/openmetrics-text; version=1.0.0: # UNIT, exemplars, # EOF */
};

/* A scrape in steps, so that the loop thread only copies values, a slice at a time:
 * oca_prom_state_snapshot (loop thread) begins a snapshot; oca_prom_state_snapshot_step (loop
 * thread) copies the values of up to max_series more series and returns true once all are in
 * (series not updated for ttl_ns before now_ns are left out; ttl_ns <= 0: none); other store calls
 * may come between steps: series that come meanwhile may be left out, series removed meanwhile may
 * still be shown. oca_prom_snapshot_render (any thread, never two at once on one snapshot, and
 * no store call needed) sorts it unless it was copied in the cached order, and appends the
 * exposition to out: families sorted by name, series by label set, so the same store always gives
 * the same bytes. oca_prom_state_release (loop thread) frees it and keeps its order for the next
 * scrape when the set of series is still the same. Series and families removed while snapshots
 * are out are freed once the last one is released, and the store must not be freed before that. */
struct oca_prom_snapshot;
struct oca_prom_snapshot *oca_prom_state_snapshot(struct oca_prom_state *st, enum oca_prom_format fmt,
                                                  uint64_t now_ns, int64_t ttl_ns);
bool oca_prom_state_snapshot_step(struct oca_prom_state *st, struct oca_prom_snapshot *snap, size_t max_series);
void oca_prom_snapshot_render(struct oca_prom_snapshot *snap, struct oca_buf *out);
void oca_prom_state_release(struct oca_prom_state *st, struct oca_prom_snapshot *snap);

/* All steps at once on the loop thread, nothing left out for age (tests, small stores). */
void oca_prom_state_render(struct oca_prom_state *st, enum oca_prom_format fmt, struct oca_buf *out);

void oca_prom_state_get_stats(const struct oca_prom_state *st, struct oca_prom_state_stats *out);

#endif
