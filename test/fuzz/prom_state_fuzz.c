/* libFuzzer target for the prometheus exporter's series store (exporters/prometheus/state.c and
 * naming.c): after a first byte that picks the options (suffixes, timestamps, resource labels, a
 * namespace, a small max_series) and the encoding, the input is an OTLP metrics request folded into
 * the store twice; then it is rendered as text and OpenMetrics, once at a time and once in one-series
 * steps with an expiry and new points between them. Renders of one state must be the same bytes,
 * sorted with no series twice, lines ending in '\n', OpenMetrics ending in "# EOF". Seeds:
 * test/fuzz/corpus/prom_state/. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/errors.h"
#include "base/log.h"
#include "exporters/prometheus/state.h"
#include "fuzz.h"
#include "pipeline/batch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *render(struct oca_prom_state *st, enum oca_prom_format fmt)
{
    struct oca_buf out = { 0 };
    oca_prom_state_render(st, fmt, &out);
    return out.data ? out.data : calloc(1, 1);
}

/* Every line ends in '\n'; sample lines of one family come in strictly increasing order. */
static void check_text(const char *text, bool om)
{
    size_t len = strlen(text);
    fuzz_check(len == 0 || text[len - 1] == '\n', "output does not end a line");
    if (om)
        fuzz_check(len >= 6 && strcmp(text + len - 6, "# EOF\n") == 0, "OpenMetrics without # EOF");
    const char *prev = NULL;
    size_t prev_len = 0;
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = (size_t)(nl - p);
        if (*p == '#') {
            prev = NULL;    /* a new family */
        } else {
            /* Series order: the part before the value; samples of one series (buckets) share it
             * only with different le/quantile labels, which need not sort, so only exact repeats
             * of a whole line are an error. */
            fuzz_check(!(prev && prev_len == n && memcmp(prev, p, n) == 0), "the same sample twice");
            prev = p;
            prev_len = n;
        }
        p = nl + 1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool init;
    if (!init) {
        oca_log_set_level(OCA_LOG_NONE);
        init = true;
    }
    if (size < 1)
        return 0;
    uint8_t opt = data[0];
    struct oca_prom_state_options o = {
        .add_suffixes = opt & 1,
        .send_timestamps = opt & 2,
        .resource_to_telemetry = opt & 4,
        .namespace_ = opt & 8 ? "ns" : NULL,
        .max_series = opt & 16 ? 3 : 1000,
        .who = "prometheus",
    };
    struct oca_batch *b = NULL;
    enum oca_encoding enc = opt & 32 ? OCA_ENCODING_JSON : OCA_ENCODING_PROTO;
    if (oca_batch_decode(OCA_SIGNAL_METRICS, enc, data + 1, size - 1, &b, NULL, 0) != OCA_OK)
        return 0;
    struct oca_prom_state *st = oca_prom_state_new(&o);
    const uint64_t s = 1000000000;
    oca_prom_state_add(st, b->metrics, 10 * s);
    oca_prom_state_add(st, b->metrics, 20 * s);

    for (int f = 0; f < 2; f++) {
        enum oca_prom_format fmt = f ? OCA_PROM_OPENMETRICS : OCA_PROM_TEXT;
        char *a = render(st, fmt), *again = render(st, fmt);
        fuzz_check(strcmp(a, again) == 0, "two renders of one state differ");
        check_text(a, f);
        free(a);
        free(again);
    }

    /* In steps: the store changes between them; the result must still be well formed. */
    struct oca_prom_snapshot *snap = oca_prom_state_snapshot(st, OCA_PROM_OPENMETRICS, 30 * s, 15 * (int64_t)s);
    int k = 0;
    while (!oca_prom_state_snapshot_step(st, snap, 1)) {
        if (k++ == 1) {
            oca_prom_state_expire(st, 40 * s, 25 * (int64_t)s);
            oca_prom_state_add(st, b->metrics, 40 * s);
        }
    }
    struct oca_buf out = { 0 };
    oca_prom_snapshot_render(snap, &out);
    oca_prom_state_release(st, snap);
    check_text(out.data ? out.data : "", true);
    oca_buf_free(&out);

    oca_prom_state_expire(st, 1000 * s, 1 * (int64_t)s);
    char *empty = render(st, OCA_PROM_TEXT);
    fuzz_check(*empty == '\0', "expired store not empty");
    free(empty);
    oca_prom_state_free(st);
    oca_batch_unref(b);
    return 0;
}
