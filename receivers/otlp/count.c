/* Counts the items of an Export*ServiceRequest (spans, metric data points, log records) from its
 * bytes as they stream past, protobuf or OTLP/JSON, keeping nothing, so that a request refused for
 * memory still counts as refused (see otlp.h). The protobuf scan follows only the fields on the
 * way to the items; the JSON scan tracks the key path. Exact for well-formed input; at anything
 * else it stops counting (never fails). */
#include <string.h>

#include "receivers/otlp/otlp.h"

/* Protobuf: the field numbers from the request down to the items. Each level but the last is a
 * message to descend into; the last is the repeated item field. Metrics have a level of their own
 * for the five kinds of data (gauge 5, sum 7, histogram 9, exponential_histogram 10, summary 11). */
static bool proto_descend(enum oca_signal sig, int level, uint32_t field)
{
    if (level <= 1)
        return field == (level == 0 ? 1u : 2u);        /* resource_X = 1, scope_X = 2 */
    if (sig != OCA_SIGNAL_METRICS)
        return false;
    if (level == 2)
        return field == 2;                              /* ScopeMetrics.metrics */
    return level == 3 && (field == 5 || field == 7 || field == 9 || field == 10 || field == 11);
}

static bool proto_leaf(enum oca_signal sig, int level, uint32_t field)
{
    if (sig == OCA_SIGNAL_METRICS)
        return level == 4 && field == 1;                /* data_points */
    return level == 2 && field == 2;                    /* spans, log_records */
}

enum { P_TAG, P_LEN, P_VARINT, P_SKIP };

static void proto_feed(struct oca_otlp_counter *c, const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n && !c->dead) {
        while (c->depth > 0 && c->pos >= c->end[c->depth - 1])
            c->depth--;
        if (c->state == P_SKIP) {
            uint64_t take = c->skip < n - i ? c->skip : n - i;
            c->skip -= take;
            c->pos += take;
            i += (size_t)take;
            if (c->skip == 0)
                c->state = P_TAG;
            continue;
        }
        uint8_t byte = p[i++];
        c->pos++;
        if (c->shift >= 64) {
            c->dead = true;
            return;
        }
        c->varint |= (uint64_t)(byte & 0x7f) << c->shift;
        c->shift += 7;
        if (byte & 0x80)
            continue;
        uint64_t v = c->varint;
        c->varint = 0;
        c->shift = 0;
        if (c->state == P_VARINT) {
            c->state = P_TAG;
        } else if (c->state == P_TAG) {
            c->field = (uint32_t)(v >> 3);
            switch (v & 7) {
            case 0: c->state = P_VARINT; break;
            case 1: c->state = P_SKIP; c->skip = 8; break;
            case 5: c->state = P_SKIP; c->skip = 4; break;
            case 2: c->state = P_LEN; break;
            default: c->dead = true; break;             /* groups: not in OTLP */
            }
        } else {                                        /* P_LEN: v is the field's length */
            if (proto_descend(c->sig, c->depth, c->field) && c->depth < OCA_OTLP_COUNT_DEPTH) {
                c->end[c->depth++] = c->pos + v;
                c->state = P_TAG;
            } else {
                if (proto_leaf(c->sig, c->depth, c->field))
                    c->items++;
                c->state = v ? P_SKIP : P_TAG;
                c->skip = v;
            }
        }
    }
}

/* JSON: the keys (lowerCamelCase or the proto name) from the request object down to the items.
 * Each step's value is an array of objects, except the metric's data kind, a single object. */
struct json_step {
    const char *keys[6];
    bool object;
};

static const struct json_step trace_steps[] = {
    { { "resourceSpans", "resource_spans" }, false },
    { { "scopeSpans", "scope_spans" }, false },
    { { "spans" }, false },
};
static const struct json_step metric_steps[] = {
    { { "resourceMetrics", "resource_metrics" }, false },
    { { "scopeMetrics", "scope_metrics" }, false },
    { { "metrics" }, false },
    { { "gauge", "sum", "histogram", "exponentialHistogram", "exponential_histogram", "summary" }, true },
    { { "dataPoints", "data_points" }, false },
};
static const struct json_step log_steps[] = {
    { { "resourceLogs", "resource_logs" }, false },
    { { "scopeLogs", "scope_logs" }, false },
    { { "logRecords", "log_records" }, false },
};

static const struct json_step *json_steps(enum oca_signal sig, int *n)
{
    if (sig == OCA_SIGNAL_METRICS) {
        *n = 5;
        return metric_steps;
    }
    *n = 3;
    return sig == OCA_SIGNAL_LOGS ? log_steps : trace_steps;
}

/* The step a container opened as the value of the pending key gets: one more when the key is the
 * next on the way and the container has the expected kind, else -1 (off the way). */
static int json_child_step(const struct oca_otlp_counter *c, int parent, bool object)
{
    int n;
    const struct json_step *steps = json_steps(c->sig, &n);
    if (parent < 0 || parent >= n || !c->key_ok || steps[parent].object != object)
        return -1;
    for (const char *const *k = steps[parent].keys; *k; k++)
        if (strcmp(*k, c->key) == 0)
            return parent + 1;
    return -1;
}

static void json_open(struct oca_otlp_counter *c, bool object)
{
    /* Below a container off the way (or inside an item) only the nesting is followed. */
    if (c->off_path > 0 || (c->depth > 0 && c->step[c->depth - 1] < 0)) {
        c->off_path++;
        return;
    }
    int step;
    if (c->depth == 0) {
        step = object ? 0 : -1;                         /* the request itself */
    } else if (c->is_array[c->depth - 1]) {
        int n;
        json_steps(c->sig, &n);
        step = object ? c->step[c->depth - 1] : -1;
        if (object && step == n) {
            c->items++;
            step = -1;                                  /* inside an item nothing more counts */
        }
    } else {
        step = json_child_step(c, c->step[c->depth - 1], object);
    }
    if (c->depth == OCA_OTLP_COUNT_DEPTH) {
        c->dead = true;
        return;
    }
    c->is_array[c->depth] = !object;
    c->step[c->depth++] = (int8_t)step;
    c->expect_key = object;
    c->key_ok = false;
}

static void json_feed(struct oca_otlp_counter *c, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n && !c->dead; i++) {
        uint8_t ch = p[i];
        if (c->in_string) {
            if (c->escape) {
                c->escape = false;
                c->key_ok = false;                      /* escaped keys are not followed */
            } else if (ch == '\\') {
                c->escape = true;
            } else if (ch == '"') {
                c->in_string = false;
                if (c->reading_key) {
                    c->key[c->key_len < sizeof(c->key) ? c->key_len : sizeof(c->key) - 1] = '\0';
                    c->key_ok = c->key_ok && c->key_len < sizeof(c->key);
                    c->reading_key = false;
                }
            } else if (c->reading_key && c->key_len < sizeof(c->key)) {
                c->key[c->key_len++] = (char)ch;
            }
            continue;
        }
        switch (ch) {
        case '"':
            c->in_string = true;
            c->reading_key = c->expect_key;
            if (c->reading_key) {
                c->key_len = 0;
                c->key_ok = true;
                c->expect_key = false;
            }
            break;
        case '{':
        case '[':
            json_open(c, ch == '{');
            break;
        case '}':
        case ']':
            if (c->off_path > 0)
                c->off_path--;
            else if (c->depth > 0)
                c->depth--;
            else
                c->dead = true;
            c->key_ok = false;
            break;
        case ',':
            c->expect_key = c->off_path == 0 && c->depth > 0 && !c->is_array[c->depth - 1];
            c->key_ok = false;
            break;
        default:
            break;                                      /* ':', blanks, numbers, literals */
        }
    }
}

void oca_otlp_counter_init(struct oca_otlp_counter *c, enum oca_signal sig, enum oca_encoding enc)
{
    memset(c, 0, sizeof(*c));
    c->sig = sig;
    c->enc = enc;
}

void oca_otlp_counter_feed(struct oca_otlp_counter *c, const uint8_t *data, size_t len)
{
    if (c->enc == OCA_ENCODING_JSON)
        json_feed(c, data, len);
    else
        proto_feed(c, data, len);
}

uint64_t oca_otlp_count_items(enum oca_signal sig, enum oca_encoding enc, const uint8_t *data, size_t len)
{
    struct oca_otlp_counter c;
    oca_otlp_counter_init(&c, sig, enc);
    oca_otlp_counter_feed(&c, data, len);
    return c.items;
}
