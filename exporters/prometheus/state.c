/* The prometheus exporter's series store; see state.h. Series live in one hash table keyed by
 * family name and rendered label set; families (name, type, help) in another, so a name keeps one
 * type: a point whose metric maps to a name already held with another type is dropped, counted and
 * logged once per name (the first type seen wins, as Prometheus would reject the scrape otherwise). */
#include "exporters/prometheus/state.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/mem.h"
#include "config/fields.h"
#include "exporters/prometheus/naming.h"

typedef Opentelemetry__Proto__Common__V1__KeyValue kv_t;
typedef Opentelemetry__Proto__Common__V1__AnyValue any_t;
typedef Opentelemetry__Proto__Metrics__V1__Metric metric_t;
typedef Opentelemetry__Proto__Metrics__V1__NumberDataPoint number_t;
typedef Opentelemetry__Proto__Metrics__V1__HistogramDataPoint histo_t;
typedef Opentelemetry__Proto__Metrics__V1__SummaryDataPoint summary_t;

#define DELTA OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_DELTA
#define CUMULATIVE OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE
#define NO_RECORDED_VALUE 1u

enum prom_type { PROM_GAUGE, PROM_COUNTER, PROM_HISTOGRAM, PROM_SUMMARY };
static const char *const type_names[] = { "gauge", "counter", "histogram", "summary" };

struct family {
    struct family *next;            /* hash chain */
    char *name;
    char *help;
    enum prom_type type;
    size_t n_series;
    size_t rank;                    /* position by name, set before series are sorted */
    bool conflict_logged;
};

struct series {
    struct series *next;            /* hash chain */
    struct family *fam;
    char *labels;                   /* `a="x",b="y"`, sorted by name; "" for none */
    uint64_t hash;
    uint64_t last_seen;             /* monotonic ns of the last update */
    uint64_t start_ns, time_ns;     /* OTel times of the value held */
    double value;                   /* gauge, counter */
    double sum;                     /* histogram, summary */
    uint64_t count;
    size_t n_bounds;                /* histogram: n_bounds + 1 counts; summary: quantiles */
    double *bounds;
    uint64_t *counts;
    double *qvalues;
};

struct table {
    void **slots;
    size_t cap, n;
};

struct oca_prom_state {
    struct oca_prom_state_options opt;
    struct table series, families;
    struct oca_prom_state_stats stats;
    /* Every series in output order, kept between scrapes: it is rebuilt (and sorted) only after
     * series came or went, so a scrape of a steady set of series costs no sort. */
    struct series **sorted;
    size_t n_sorted;
    bool order_dirty;
};

/* Labels under construction: name (sanitized, owned), the original key (for a stable order when
 * two keys sanitize to one name) and the value (owned). */
struct label {
    char *name;
    const char *key;
    char *value;
};

struct labels {
    struct label *v;
    size_t n, cap;
};

static uint64_t hash_bytes(uint64_t h, const char *s)
{
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= UINT64_C(1099511628211);
    }
    return h;
}

static uint64_t series_hash(const char *name, const char *labels)
{
    return hash_bytes(hash_bytes(UINT64_C(14695981039346656037), name) * 31, labels);
}

/* Open hashing with chains through the first member of each entry (both structs start with next). */
static void table_grow(struct table *t, uint64_t (*hash_of)(const void *))
{
    size_t cap = t->cap ? t->cap * 2 : 64;
    void **slots = oca_xcalloc(cap, sizeof(*slots));
    for (size_t i = 0; i < t->cap; i++) {
        void *e = t->slots[i];
        while (e) {
            void *next = *(void **)e;
            size_t k = hash_of(e) & (cap - 1);
            *(void **)e = slots[k];
            slots[k] = e;
            e = next;
        }
    }
    free(t->slots);
    t->slots = slots;
    t->cap = cap;
}

static uint64_t family_hash_of(const void *e)
{
    return hash_bytes(UINT64_C(14695981039346656037), ((const struct family *)e)->name);
}

static uint64_t series_hash_of(const void *e) { return ((const struct series *)e)->hash; }

static void format_double(char *out, size_t size, double d)
{
    if (isnan(d)) {
        snprintf(out, size, "NaN");
    } else if (isinf(d)) {
        snprintf(out, size, d > 0 ? "+Inf" : "-Inf");
    } else if (d == (double)(int64_t)d && fabs(d) < 1e15) {
        /* Integral values (counts, most counters) skip the round-trip search below. */
        snprintf(out, size, "%" PRId64, (int64_t)d);
    } else {
        /* The shortest of %.15g .. %.17g that reads back as the same double. */
        for (int prec = 15; prec <= 17; prec++) {
            snprintf(out, size, "%.*g", prec, d);
            if (strtod(out, NULL) == d)
                break;
        }
    }
}

static void put_escaped(struct oca_buf *b, const char *s, bool quote)
{
    const char *specials = quote ? "\\\n\"" : "\\\n";
    for (;;) {
        size_t run = strcspn(s, specials);
        oca_buf_append(b, s, run);
        s += run;
        if (!*s)
            return;
        oca_buf_puts(b, *s == '\n' ? "\\n" : *s == '"' ? "\\\"" : "\\\\");
        s++;
    }
}

static void put_json_string(struct oca_buf *b, const char *s)
{
    oca_buf_putc(b, '"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            oca_buf_printf(b, "\\%c", c);
        else if (c < 0x20)
            oca_buf_printf(b, "\\u%04x", c);
        else
            oca_buf_putc(b, (char)c);
    }
    oca_buf_putc(b, '"');
}

static void put_base64(struct oca_buf *b, const uint8_t *p, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
        oca_buf_putc(b, tab[v >> 18 & 63]);
        oca_buf_putc(b, tab[v >> 12 & 63]);
        oca_buf_putc(b, i + 1 < n ? tab[v >> 6 & 63] : '=');
        oca_buf_putc(b, i + 2 < n ? tab[v & 63] : '=');
    }
}

/* An attribute value as a label value: scalars as text, bytes in base64, arrays and maps as JSON
 * (as the Collector's pcommon Value.AsString). */
static void put_value(struct oca_buf *b, const any_t *v, bool json)
{
    char num[40];
    if (!v) {
        if (json)
            oca_buf_puts(b, "null");
        return;
    }
    switch (v->value_case) {
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE:
        if (json)
            put_json_string(b, v->string_value);
        else
            oca_buf_puts(b, v->string_value);
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE:
        oca_buf_puts(b, v->bool_value ? "true" : "false");
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE:
        oca_buf_printf(b, "%" PRId64, v->int_value);
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE:
        format_double(num, sizeof(num), v->double_value);
        oca_buf_puts(b, num);
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE:
        if (json)
            oca_buf_putc(b, '"');
        put_base64(b, v->bytes_value.data, v->bytes_value.len);
        if (json)
            oca_buf_putc(b, '"');
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE:
        oca_buf_putc(b, '[');
        for (size_t i = 0; v->array_value && i < v->array_value->n_values; i++) {
            if (i)
                oca_buf_putc(b, ',');
            put_value(b, v->array_value->values[i], true);
        }
        oca_buf_putc(b, ']');
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE:
        oca_buf_putc(b, '{');
        for (size_t i = 0; v->kvlist_value && i < v->kvlist_value->n_values; i++) {
            if (i)
                oca_buf_putc(b, ',');
            put_json_string(b, v->kvlist_value->values[i]->key);
            oca_buf_putc(b, ':');
            put_value(b, v->kvlist_value->values[i]->value, true);
        }
        oca_buf_putc(b, '}');
        break;
    default:
        if (json)
            oca_buf_puts(b, "null");
        break;
    }
}

static void add_label(struct labels *l, const char *key, char *value)
{
    char *name = oca_naming_label(key);
    if (!name || !*value) {
        free(name);
        free(value);
        return;
    }
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->v = oca_xrealloc(l->v, l->cap * sizeof(*l->v));
    }
    l->v[l->n++] = (struct label){ name, key, value };
}

static void add_attrs(struct labels *l, kv_t *const *attrs, size_t n, bool (*skip)(const char *))
{
    for (size_t i = 0; i < n; i++) {
        if (!attrs[i]->key || (skip && skip(attrs[i]->key)))
            continue;
        struct oca_buf v = { 0 };
        put_value(&v, attrs[i]->value, false);
        add_label(l, attrs[i]->key, v.data ? v.data : oca_xstrdup(""));
    }
}

static int label_cmp(const void *a, const void *b)
{
    const struct label *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->key, y->key);
}

/* Sorts, merges names that collide (values joined with ';' in key order, as the Collector does)
 * and renders `name="value",...`; frees the labels. */
static char *render_labels(struct labels *l, size_t keep)
{
    qsort(l->v + keep, l->n - keep, sizeof(*l->v), label_cmp);
    struct oca_buf b = { 0 };
    oca_buf_reserve(&b, 64);
    for (size_t i = keep; i < l->n; i++) {
        bool same = i > keep && strcmp(l->v[i].name, l->v[i - 1].name) == 0;
        if (same) {
            b.len--;   /* reopen the previous quoted value */
            oca_buf_putc(&b, ';');
        } else {
            if (i > keep)
                oca_buf_putc(&b, ',');
            oca_buf_puts(&b, l->v[i].name);
            oca_buf_puts(&b, "=\"");
        }
        put_escaped(&b, l->v[i].value, true);
        oca_buf_putc(&b, '"');
    }
    for (size_t i = keep; i < l->n; i++) {
        free(l->v[i].name);
        free(l->v[i].value);
    }
    l->n = keep;
    return b.data;
}

static const any_t *find_attr(kv_t *const *attrs, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (attrs[i]->key && strcmp(attrs[i]->key, key) == 0)
            return attrs[i]->value;
    return NULL;
}

static char *attr_text(kv_t *const *attrs, size_t n, const char *key)
{
    const any_t *v = find_attr(attrs, n, key);
    if (!v)
        return NULL;
    struct oca_buf b = { 0 };
    put_value(&b, v, false);
    return b.data ? b.data : oca_xstrdup("");
}

static bool is_service_key(const char *k)
{
    return strcmp(k, "service.name") == 0 || strcmp(k, "service.namespace") == 0 ||
           strcmp(k, "service.instance.id") == 0;
}

static struct family *find_family(const struct oca_prom_state *st, const char *name)
{
    if (!st->families.cap)
        return NULL;
    uint64_t h = hash_bytes(UINT64_C(14695981039346656037), name);
    for (struct family *f = st->families.slots[h & (st->families.cap - 1)]; f; f = f->next)
        if (strcmp(f->name, name) == 0)
            return f;
    return NULL;
}

/* The family for name, created with type and help when new; NULL (counted, logged once) when the
 * name is held with another type. */
static struct family *get_family(struct oca_prom_state *st, const char *name, enum prom_type type,
                                 const char *help)
{
    struct family *f = find_family(st, name);
    if (f) {
        if (f->type == type)
            return f;
        if (!f->conflict_logged) {
            oca_log_warn(st->opt.who, "metric %s is a %s already; points that map to it as a %s are dropped",
                         name, type_names[f->type], type_names[type]);
            f->conflict_logged = true;
        }
        st->stats.dropped_unsupported++;
        return NULL;
    }
    if (st->families.n >= st->families.cap)
        table_grow(&st->families, family_hash_of);
    f = oca_xcalloc(1, sizeof(*f));
    f->name = oca_xstrdup(name);
    f->help = oca_xstrdup(help ? help : "");
    f->type = type;
    size_t k = family_hash_of(f) & (st->families.cap - 1);
    f->next = st->families.slots[k];
    st->families.slots[k] = f;
    st->families.n++;
    return f;
}

static void remove_family(struct oca_prom_state *st, struct family *f)
{
    size_t k = family_hash_of(f) & (st->families.cap - 1);
    struct family **pp = (struct family **)&st->families.slots[k];
    while (*pp != f)
        pp = &(*pp)->next;
    *pp = f->next;
    st->families.n--;
    free(f->name);
    free(f->help);
    free(f);
}

/* The series of family f with these labels (labels is taken over); *fresh says it is new. NULL
 * when it would be new and max_series are held. */
static struct series *get_series(struct oca_prom_state *st, struct family *f, char *labels, bool *fresh)
{
    uint64_t h = series_hash(f->name, labels);
    *fresh = false;
    if (st->series.cap)
        for (struct series *s = st->series.slots[h & (st->series.cap - 1)]; s; s = s->next)
            if (s->hash == h && s->fam == f && strcmp(s->labels, labels) == 0) {
                free(labels);
                return s;
            }
    if (st->series.n >= st->opt.max_series) {
        free(labels);
        st->stats.dropped_max_series++;
        return NULL;
    }
    if (st->series.n >= st->series.cap)
        table_grow(&st->series, series_hash_of);
    struct series *s = oca_xcalloc(1, sizeof(*s));
    s->fam = f;
    s->labels = labels;
    s->hash = h;
    size_t k = h & (st->series.cap - 1);
    s->next = st->series.slots[k];
    st->series.slots[k] = s;
    st->series.n++;
    st->order_dirty = true;
    f->n_series++;
    *fresh = true;
    return s;
}

static void free_series(struct series *s)
{
    free(s->labels);
    free(s->bounds);
    free(s->counts);
    free(s->qvalues);
    free(s);
}

/* What one (resource, scope) contributes to every series under it. */
struct context {
    struct labels base;     /* job, instance, scope, const labels, resource attributes when asked */
    uint64_t now;
};

static double number_value(const number_t *p)
{
    return p->value_case == OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_INT
               ? (double)p->as_int : p->as_double;
}

/* The series of one point: the context's labels plus the point's attributes. */
static struct series *point_series(struct oca_prom_state *st, struct context *c, struct family *f,
                                   kv_t *const *attrs, size_t n_attrs, bool *fresh)
{
    size_t keep = c->base.n;
    /* The point's labels are rendered together with copies of the context's ones. */
    for (size_t i = 0; i < keep; i++)
        add_label(&c->base, c->base.v[i].key, oca_xstrdup(c->base.v[i].value));
    add_attrs(&c->base, attrs, n_attrs, NULL);
    char *labels = render_labels(&c->base, keep);
    return get_series(st, f, labels, fresh);
}

static bool take_number(struct oca_prom_state *st, struct context *c, struct family *f, const number_t *p,
                        bool accumulate)
{
    bool fresh;
    struct series *s = point_series(st, c, f, p->attributes, p->n_attributes, &fresh);
    if (!s)
        return false;
    double v = number_value(p);
    if (fresh) {
        s->value = v;
    } else if (accumulate) {
        /* A delta continues the stored series only when it starts where the stored value ended. */
        if (p->start_time_unix_nano == s->time_ns)
            s->value += v;
        else
            s->value = v;
    } else if (p->time_unix_nano >= s->time_ns) {
        s->value = v;
    } else {
        return true;    /* older than what is held: the newer value stays */
    }
    if (fresh || !accumulate || p->start_time_unix_nano != s->time_ns)
        s->start_ns = p->start_time_unix_nano;
    s->time_ns = p->time_unix_nano;
    s->last_seen = c->now;
    return true;
}

static void set_histogram(struct series *s, const histo_t *p)
{
    size_t nb = p->n_bucket_counts ? p->n_explicit_bounds : 0;
    if (s->n_bounds != nb || !s->counts) {
        free(s->bounds);
        free(s->counts);
        s->n_bounds = nb;
        s->bounds = nb ? oca_xmalloc(nb * sizeof(double)) : NULL;
        s->counts = oca_xcalloc(nb + 1, sizeof(uint64_t));
    }
    if (nb)
        memcpy(s->bounds, p->explicit_bounds, nb * sizeof(double));
    for (size_t i = 0; i <= nb; i++)
        s->counts[i] = i < p->n_bucket_counts ? p->bucket_counts[i] : 0;
    s->sum = p->_sum_case ? p->sum : 0;
    s->count = p->count;
}

static bool same_bounds(const struct series *s, const histo_t *p)
{
    size_t nb = p->n_bucket_counts ? p->n_explicit_bounds : 0;
    return s->counts && s->n_bounds == nb && (nb == 0 || memcmp(s->bounds, p->explicit_bounds, nb * sizeof(double)) == 0);
}

static bool take_histogram(struct oca_prom_state *st, struct context *c, struct family *f, const histo_t *p,
                           bool accumulate)
{
    bool fresh;
    struct series *s = point_series(st, c, f, p->attributes, p->n_attributes, &fresh);
    if (!s)
        return false;
    if (!fresh && accumulate && p->start_time_unix_nano == s->time_ns && same_bounds(s, p)) {
        for (size_t i = 0; i <= s->n_bounds; i++)
            s->counts[i] += i < p->n_bucket_counts ? p->bucket_counts[i] : 0;
        s->sum += p->_sum_case ? p->sum : 0;
        s->count += p->count;
    } else if (fresh || accumulate || p->time_unix_nano >= s->time_ns) {
        set_histogram(s, p);
        s->start_ns = p->start_time_unix_nano;
    } else {
        return true;
    }
    s->time_ns = p->time_unix_nano;
    s->last_seen = c->now;
    return true;
}

static bool take_summary(struct oca_prom_state *st, struct context *c, struct family *f, const summary_t *p)
{
    bool fresh;
    struct series *s = point_series(st, c, f, p->attributes, p->n_attributes, &fresh);
    if (!s)
        return false;
    if (!fresh && p->time_unix_nano < s->time_ns)
        return true;
    free(s->bounds);
    free(s->qvalues);
    s->n_bounds = p->n_quantile_values;
    s->bounds = oca_xmalloc((s->n_bounds + 1) * sizeof(double));
    s->qvalues = oca_xmalloc((s->n_bounds + 1) * sizeof(double));
    for (size_t i = 0; i < s->n_bounds; i++) {
        s->bounds[i] = p->quantile_values[i]->quantile;
        s->qvalues[i] = p->quantile_values[i]->value;
    }
    s->sum = p->sum;
    s->count = p->count;
    s->start_ns = p->start_time_unix_nano;
    s->time_ns = p->time_unix_nano;
    s->last_seen = c->now;
    return true;
}

static size_t take_metric(struct oca_prom_state *st, struct context *c, const metric_t *m)
{
    enum prom_type type;
    enum oca_naming_kind kind = OCA_NAMING_OTHER;
    int temporality = CUMULATIVE;
    bool accumulate = false;
    size_t n = oca_batch_metric_points(m);
    switch (m->data_case) {
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE:
        type = PROM_GAUGE;
        kind = OCA_NAMING_GAUGE;
        break;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM:
        temporality = m->sum->aggregation_temporality;
        if (temporality != DELTA && temporality != CUMULATIVE) {
            st->stats.dropped_temporality += n;
            return 0;
        }
        if (!m->sum->is_monotonic && temporality == DELTA) {
            st->stats.dropped_temporality += n;
            return 0;
        }
        type = m->sum->is_monotonic ? PROM_COUNTER : PROM_GAUGE;
        kind = m->sum->is_monotonic ? OCA_NAMING_COUNTER : OCA_NAMING_OTHER;
        accumulate = temporality == DELTA;
        break;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM:
        temporality = m->histogram->aggregation_temporality;
        if (temporality != DELTA && temporality != CUMULATIVE) {
            st->stats.dropped_temporality += n;
            return 0;
        }
        type = PROM_HISTOGRAM;
        accumulate = temporality == DELTA;
        break;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUMMARY:
        type = PROM_SUMMARY;
        break;
    default:
        st->stats.dropped_unsupported += n;
        return 0;
    }
    char *name = oca_naming_metric(m->name, m->unit, kind, st->opt.namespace_, st->opt.add_suffixes);
    struct family *f = get_family(st, name, type, m->description);
    free(name);
    if (!f) {
        st->stats.dropped_unsupported += n ? n - 1 : 0;   /* get_family counted one */
        return 0;
    }
    size_t taken = 0;
    for (size_t i = 0; i < n; i++) {
        bool ok;
        switch (type) {
        case PROM_HISTOGRAM: {
            const histo_t *p = m->histogram->data_points[i];
            if (p->flags & NO_RECORDED_VALUE)
                continue;
            ok = take_histogram(st, c, f, p, accumulate);
            break;
        }
        case PROM_SUMMARY: {
            const summary_t *p = m->summary->data_points[i];
            if (p->flags & NO_RECORDED_VALUE)
                continue;
            ok = take_summary(st, c, f, p);
            break;
        }
        default: {
            const number_t *p = m->data_case == OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE
                                    ? m->gauge->data_points[i] : m->sum->data_points[i];
            if (p->flags & NO_RECORDED_VALUE)
                continue;
            ok = take_number(st, c, f, p, accumulate);
            break;
        }
        }
        taken += ok;
    }
    if (f->n_series == 0)
        remove_family(st, f);
    return taken;
}

/* job and instance of a resource, as the compatibility spec derives them. */
static void add_job_instance(struct labels *l, kv_t *const *attrs, size_t n)
{
    char *name = attr_text(attrs, n, "service.name");
    char *ns = attr_text(attrs, n, "service.namespace");
    if (name) {
        if (ns && *ns) {
            char *job = oca_xmalloc(strlen(ns) + strlen(name) + 2);
            sprintf(job, "%s/%s", ns, name);
            add_label(l, "job", job);
            free(name);
        } else {
            add_label(l, "job", name);
        }
    }
    free(ns);
    char *inst = attr_text(attrs, n, "service.instance.id");
    if (inst)
        add_label(l, "instance", inst);
}

/* One target_info series per job/instance, with the resource's other attributes and the const labels. */
static void take_target_info(struct oca_prom_state *st, kv_t *const *attrs, size_t n, uint64_t now)
{
    bool other = false;
    for (size_t i = 0; i < n && !other; i++)
        other = attrs[i]->key && !is_service_key(attrs[i]->key);
    if (!other)
        return;
    struct family *f = get_family(st, "target_info", PROM_GAUGE, "Target metadata");
    if (!f)
        return;
    struct labels l = { 0 };
    add_job_instance(&l, attrs, n);
    add_attrs(&l, attrs, n, is_service_key);
    /* const_labels go on every series, target_info included (the Collector wraps its registry). */
    const struct oca_strmap *cl = st->opt.const_labels;
    for (size_t i = 0; cl && i < cl->n; i++)
        add_label(&l, cl->keys[i], oca_xstrdup(cl->values[i]));
    bool fresh;
    struct series *s = get_series(st, f, render_labels(&l, 0), &fresh);
    free(l.v);
    if (s) {
        s->value = 1;
        s->last_seen = now;
    } else if (f->n_series == 0) {
        remove_family(st, f);
    }
}

size_t oca_prom_state_add(struct oca_prom_state *st, const oca_metrics_req *req, uint64_t now_ns)
{
    size_t taken = 0;
    for (size_t r = 0; r < req->n_resource_metrics; r++) {
        const Opentelemetry__Proto__Metrics__V1__ResourceMetrics *rm = req->resource_metrics[r];
        kv_t *const *rattrs = rm->resource ? rm->resource->attributes : NULL;
        size_t n_rattrs = rm->resource ? rm->resource->n_attributes : 0;
        take_target_info(st, rattrs, n_rattrs, now_ns);
        for (size_t s = 0; s < rm->n_scope_metrics; s++) {
            const Opentelemetry__Proto__Metrics__V1__ScopeMetrics *sm = rm->scope_metrics[s];
            struct context c = { .now = now_ns };
            add_job_instance(&c.base, rattrs, n_rattrs);
            if (st->opt.resource_to_telemetry)
                add_attrs(&c.base, rattrs, n_rattrs, is_service_key);
            if (sm->scope && sm->scope->name)
                add_label(&c.base, "otel_scope_name", oca_xstrdup(sm->scope->name));
            if (sm->scope && sm->scope->version)
                add_label(&c.base, "otel_scope_version", oca_xstrdup(sm->scope->version));
            const struct oca_strmap *cl = st->opt.const_labels;
            for (size_t i = 0; cl && i < cl->n; i++)
                add_label(&c.base, cl->keys[i], oca_xstrdup(cl->values[i]));
            for (size_t i = 0; i < sm->n_metrics; i++)
                taken += take_metric(st, &c, sm->metrics[i]);
            for (size_t i = 0; i < c.base.n; i++) {
                free(c.base.v[i].name);
                free(c.base.v[i].value);
            }
            free(c.base.v);
        }
    }
    return taken;
}

size_t oca_prom_state_expire(struct oca_prom_state *st, uint64_t now_ns, int64_t ttl_ns)
{
    size_t removed = 0;
    for (size_t k = 0; k < st->series.cap; k++) {
        struct series **pp = (struct series **)&st->series.slots[k];
        while (*pp) {
            struct series *s = *pp;
            if (now_ns - s->last_seen < (uint64_t)ttl_ns) {
                pp = &s->next;
                continue;
            }
            *pp = s->next;
            st->series.n--;
            st->order_dirty = true;
            if (--s->fam->n_series == 0)
                remove_family(st, s->fam);
            free_series(s);
            removed++;
        }
    }
    st->stats.expired += removed;
    return removed;
}

static int family_cmp(const void *a, const void *b)
{
    return strcmp((*(const struct family *const *)a)->name, (*(const struct family *const *)b)->name);
}

/* Numbers the families in name order, so sorting series compares two integers, not two names. */
static void rank_families(struct oca_prom_state *st)
{
    struct family **all = oca_xmalloc((st->families.n + 1) * sizeof(*all));
    size_t n = 0;
    for (size_t k = 0; k < st->families.cap; k++)
        for (struct family *f = st->families.slots[k]; f; f = f->next)
            all[n++] = f;
    qsort(all, n, sizeof(*all), family_cmp);
    for (size_t i = 0; i < n; i++)
        all[i]->rank = i;
    free(all);
}

static int series_cmp(const void *a, const void *b)
{
    const struct series *x = *(const struct series *const *)a, *y = *(const struct series *const *)b;
    if (x->fam != y->fam)
        return x->fam->rank < y->fam->rank ? -1 : 1;
    return strcmp(x->labels, y->labels);
}

/* name{labels[,extra]} value[ timestamp] */
static void put_sample(struct oca_buf *out, const char *name, const char *suffix, const char *labels,
                       const char *extra, double v, const struct series *s, bool ts)
{
    char num[40];
    oca_buf_puts(out, name);
    oca_buf_puts(out, suffix);
    if (*labels || extra) {
        oca_buf_putc(out, '{');
        oca_buf_puts(out, labels);
        if (extra) {
            if (*labels)
                oca_buf_putc(out, ',');
            oca_buf_puts(out, extra);
        }
        oca_buf_putc(out, '}');
    }
    format_double(num, sizeof(num), v);
    oca_buf_putc(out, ' ');
    oca_buf_puts(out, num);
    /* target_info has no time of its own: Prometheus stamps it with the scrape time. */
    if (ts && s->time_ns)
        oca_buf_printf(out, " %" PRIu64, s->time_ns / 1000000);
    oca_buf_putc(out, '\n');
}

static void render_series(struct oca_buf *out, const struct series *s, bool ts)
{
    const char *name = s->fam->name;
    char num[40], extra[64];
    switch (s->fam->type) {
    case PROM_GAUGE:
    case PROM_COUNTER:
        put_sample(out, name, "", s->labels, NULL, s->value, s, ts);
        break;
    case PROM_HISTOGRAM: {
        uint64_t cum = 0;
        for (size_t i = 0; i < s->n_bounds; i++) {
            cum += s->counts[i];
            format_double(num, sizeof(num), s->bounds[i]);
            snprintf(extra, sizeof(extra), "le=\"%s\"", num);
            put_sample(out, name, "_bucket", s->labels, extra, (double)cum, s, ts);
        }
        /* +Inf is the count: buckets that do not add up to it are the sender's inconsistency. */
        put_sample(out, name, "_bucket", s->labels, "le=\"+Inf\"", (double)s->count, s, ts);
        put_sample(out, name, "_sum", s->labels, NULL, s->sum, s, ts);
        put_sample(out, name, "_count", s->labels, NULL, (double)s->count, s, ts);
        break;
    }
    case PROM_SUMMARY:
        for (size_t i = 0; i < s->n_bounds; i++) {
            format_double(num, sizeof(num), s->bounds[i]);
            snprintf(extra, sizeof(extra), "quantile=\"%s\"", num);
            put_sample(out, name, "", s->labels, extra, s->qvalues[i], s, ts);
        }
        put_sample(out, name, "_sum", s->labels, NULL, s->sum, s, ts);
        put_sample(out, name, "_count", s->labels, NULL, (double)s->count, s, ts);
        break;
    }
}

void oca_prom_state_render(struct oca_prom_state *st, struct oca_buf *out)
{
    if (st->order_dirty || !st->sorted) {
        st->sorted = oca_xrealloc(st->sorted, (st->series.n + 1) * sizeof(*st->sorted));
        size_t n = 0;
        for (size_t k = 0; k < st->series.cap; k++)
            for (struct series *s = st->series.slots[k]; s; s = s->next)
                st->sorted[n++] = s;
        rank_families(st);
        qsort(st->sorted, n, sizeof(*st->sorted), series_cmp);
        st->n_sorted = n;
        st->order_dirty = false;
    }
    if (st->n_sorted)
        oca_buf_reserve(out, st->n_sorted * 96);
    const struct family *cur = NULL;
    for (size_t i = 0; i < st->n_sorted; i++) {
        const struct family *f = st->sorted[i]->fam;
        if (f != cur) {
            if (*f->help) {
                oca_buf_printf(out, "# HELP %s ", f->name);
                put_escaped(out, f->help, false);
                oca_buf_putc(out, '\n');
            }
            oca_buf_printf(out, "# TYPE %s %s\n", f->name, type_names[f->type]);
            cur = f;
        }
        render_series(out, st->sorted[i], st->opt.send_timestamps);
    }
}

struct oca_prom_state *oca_prom_state_new(const struct oca_prom_state_options *opt)
{
    struct oca_prom_state *st = oca_xcalloc(1, sizeof(*st));
    st->opt = *opt;
    if (!st->opt.max_series)
        st->opt.max_series = 100000;
    return st;
}

void oca_prom_state_free(struct oca_prom_state *st)
{
    if (!st)
        return;
    for (size_t k = 0; k < st->series.cap; k++)
        for (struct series *s = st->series.slots[k], *next; s; s = next) {
            next = s->next;
            free_series(s);
        }
    for (size_t k = 0; k < st->families.cap; k++)
        for (struct family *f = st->families.slots[k], *next; f; f = next) {
            next = f->next;
            free(f->name);
            free(f->help);
            free(f);
        }
    free(st->series.slots);
    free(st->families.slots);
    free(st->sorted);
    free(st);
}

void oca_prom_state_get_stats(const struct oca_prom_state *st, struct oca_prom_state_stats *out)
{
    *out = st->stats;
    out->series = st->series.n;
    out->families = st->families.n;
}
