/* The prometheus exporter's series store; see state.h. Series live in one hash table keyed by
 * family name and rendered label set; families (name, type, help) in another, so a name keeps one
 * type: a point whose metric maps to a name already held with another type is dropped, counted and
 * logged once per name (the first type seen wins, as Prometheus would reject the scrape otherwise).
 * A scrape copies the values on the loop thread (a snapshot) and renders them anywhere; what the
 * snapshot borrows (names, labels) is parked, not freed, until it is released. */
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
typedef Opentelemetry__Proto__Metrics__V1__Exemplar exemplar_t;

#define DELTA OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_DELTA
#define CUMULATIVE OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE
#define NO_RECORDED_VALUE 1u

enum prom_type { PROM_GAUGE, PROM_COUNTER, PROM_HISTOGRAM, PROM_SUMMARY };
static const char *const type_names[] = { "gauge", "counter", "histogram", "summary" };

/* The family fields a snapshot reads (name, help, unit, type) never change after creation. */
struct family {
    struct family *next;            /* hash chain; the graveyard chain once removed */
    char *name;
    char *help;
    char *unit;                     /* Prometheus unit (seconds, bytes ...) for OpenMetrics; "" for none */
    enum prom_type type;
    size_t n_series;
    bool conflict_logged;
};

/* One exemplar of an OTLP point, as OpenMetrics writes it after a sample. */
struct exemplar {
    uint8_t trace_id[16], span_id[8];
    bool set, has_trace, has_span;
    double value;
    uint64_t time_ns;
};

/* fam and labels never change after creation, so a snapshot may read them off the loop thread. */
struct series {
    struct series *next;            /* hash chain; the graveyard chain once removed */
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
    struct exemplar *ex;            /* counter: 1, histogram: n_bounds + 1 (by bucket); NULL for none */
};

struct table {
    void **slots;
    size_t cap, n;
};

struct oca_prom_state {
    struct oca_prom_state_options opt;
    struct table series, families;
    struct oca_prom_state_stats stats;
    /* Every series in output order, kept between scrapes: valid while sorted_gen == gen (gen counts
     * every series that came or went), so a scrape of a steady set of series costs no sort. */
    struct series **sorted;
    size_t n_sorted, cap_sorted;
    uint64_t gen, sorted_gen;
    /* The arrays of the last snapshot released, reused by the next one: fresh multi-MiB arrays cost
     * the loop thread their page faults on every scrape. */
    struct snap_entry *spare_v;
    size_t cap_spare_v;
    double *spare_nums;
    size_t cap_spare_nums;
    /* While snapshots are out (pins), removed series and families are parked here, not freed: the
     * snapshots still point at their names and labels. Freed when the last snapshot is released. */
    size_t pins;
    struct series *dead_series;
    struct family *dead_families;
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

/* Decimal digits of v into out (at least 21 bytes), NUL-terminated; snprintf is most of a render. */
static void format_int(char *out, int64_t v)
{
    char tmp[24];
    size_t n = 0;
    uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;
    do
        tmp[n++] = (char)('0' + u % 10);
    while ((u /= 10) != 0);
    if (v < 0)
        *out++ = '-';
    while (n)
        *out++ = tmp[--n];
    *out = '\0';
}

static void format_double(char *out, size_t size, double d)
{
    if (isnan(d)) {
        snprintf(out, size, "NaN");
    } else if (isinf(d)) {
        snprintf(out, size, d > 0 ? "+Inf" : "-Inf");
    } else if (fabs(d) < 1e15 && d == (double)(int64_t)d) {
        /* Integral values (counts, most counters) skip the round-trip search below. */
        format_int(out, (int64_t)d);
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
    if (l->n > keep)
        qsort(l->v + keep, l->n - keep, sizeof(*l->v), label_cmp);
    struct oca_buf b = { 0 };
    oca_buf_reserve(&b, 64);
    oca_buf_reset(&b);     /* "" when there are no labels at all */
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
                                 const char *help, const char *unit)
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
    f->unit = oca_xstrdup(unit ? unit : "");
    f->type = type;
    size_t k = family_hash_of(f) & (st->families.cap - 1);
    f->next = st->families.slots[k];
    st->families.slots[k] = f;
    st->families.n++;
    return f;
}

static void free_family(struct family *f)
{
    free(f->name);
    free(f->help);
    free(f->unit);
    free(f);
}

static void remove_family(struct oca_prom_state *st, struct family *f)
{
    size_t k = family_hash_of(f) & (st->families.cap - 1);
    struct family **pp = (struct family **)&st->families.slots[k];
    while (*pp != f)
        pp = &(*pp)->next;
    *pp = f->next;
    st->families.n--;
    if (st->pins) {
        f->next = st->dead_families;
        st->dead_families = f;
    } else {
        free_family(f);
    }
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
    st->gen++;
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
    free(s->ex);
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

static bool nonzero_id(const ProtobufCBinaryData *id, size_t len)
{
    if (id->len != len)
        return false;
    for (size_t i = 0; i < len; i++)
        if (id->data[i])
            return true;
    return false;
}

static void copy_exemplar(struct exemplar *d, const exemplar_t *e)
{
    memset(d, 0, sizeof(*d));
    d->set = true;
    d->value = e->value_case == OPENTELEMETRY__PROTO__METRICS__V1__EXEMPLAR__VALUE_AS_INT ? (double)e->as_int
                                                                                          : e->as_double;
    d->time_ns = e->time_unix_nano;
    if ((d->has_trace = nonzero_id(&e->trace_id, sizeof(d->trace_id))))
        memcpy(d->trace_id, e->trace_id.data, sizeof(d->trace_id));
    if ((d->has_span = nonzero_id(&e->span_id, sizeof(d->span_id))))
        memcpy(d->span_id, e->span_id.data, sizeof(d->span_id));
}

/* The exemplars of the newest point taken replace the held ones (as the Collector shows those of the
 * point it holds): a counter keeps the last; a histogram the last one of each bucket, the first
 * whose bound is >= the value or else +Inf (where client_golang puts them). */
static void keep_exemplars(struct series *s, exemplar_t *const *ex, size_t n, bool by_bucket)
{
    free(s->ex);
    s->ex = NULL;
    if (!n)
        return;
    s->ex = oca_xcalloc(by_bucket ? s->n_bounds + 1 : 1, sizeof(*s->ex));
    for (size_t i = 0; i < n; i++) {
        size_t k = 0;
        if (by_bucket) {
            double v = ex[i]->value_case == OPENTELEMETRY__PROTO__METRICS__V1__EXEMPLAR__VALUE_AS_INT
                           ? (double)ex[i]->as_int : ex[i]->as_double;
            while (k < s->n_bounds && s->bounds[k] < v)
                k++;
        }
        copy_exemplar(&s->ex[k], ex[i]);
    }
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
    if (f->type == PROM_COUNTER)
        keep_exemplars(s, p->exemplars, p->n_exemplars, false);
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
    keep_exemplars(s, p->exemplars, p->n_exemplars, true);
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

/* The unit OpenMetrics' # UNIT line names: the suffixes the unit added to the name ("seconds",
 * "bytes_per_second", "ratio"), NULL when it added none. */
static char *prom_unit(const char *unit, enum oca_naming_kind kind, bool add_suffixes)
{
    if (!add_suffixes || !unit || !*unit)
        return NULL;
    char *u = oca_naming_metric("", unit, kind == OCA_NAMING_COUNTER ? OCA_NAMING_OTHER : kind, NULL, true);
    if (strcmp(u, "_") == 0) {
        free(u);
        return NULL;
    }
    return u;
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
    char *unit = prom_unit(m->unit, kind, st->opt.add_suffixes);
    struct family *f = get_family(st, name, type, m->description, unit);
    free(name);
    free(unit);
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
    struct family *f = get_family(st, "target_info", PROM_GAUGE, "Target metadata", NULL);
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

bool oca_prom_state_expire_step(struct oca_prom_state *st, uint64_t now_ns, int64_t ttl_ns, size_t *pos,
                                size_t max_series, size_t *removed)
{
    size_t seen = 0, gone = 0;
    for (; *pos < st->series.cap && seen < max_series; (*pos)++) {
        struct series **pp = (struct series **)&st->series.slots[*pos];
        while (*pp) {
            struct series *s = *pp;
            seen++;
            if (s->last_seen >= now_ns || now_ns - s->last_seen < (uint64_t)ttl_ns) {
                pp = &s->next;
                continue;
            }
            *pp = s->next;
            st->series.n--;
            st->gen++;
            if (--s->fam->n_series == 0)
                remove_family(st, s->fam);
            if (st->pins) {
                s->next = st->dead_series;
                st->dead_series = s;
            } else {
                free_series(s);
            }
            gone++;
        }
    }
    st->stats.expired += gone;
    if (removed)
        *removed += gone;
    if (*pos < st->series.cap)
        return false;
    *pos = 0;
    return true;
}

size_t oca_prom_state_expire(struct oca_prom_state *st, uint64_t now_ns, int64_t ttl_ns)
{
    size_t pos = 0, removed = 0;
    oca_prom_state_expire_step(st, now_ns, ttl_ns, &pos, SIZE_MAX, &removed);
    return removed;
}

/* A scrape's copy of the store. Values are copied (the loop thread keeps updating them); names and
 * labels are borrowed from the series and families, which the store keeps while the snapshot is out. */
struct snap_entry {
    struct series *s;       /* read only; not const so that release can keep the order */
    const struct family *fam;
    const char *labels;     /* s->fam and s->labels, so that sorting and rendering touch no series */
    size_t rank;            /* fam's position by name among the snapshot's families, while sorting */
    uint64_t key;           /* 8 bytes of labels, while sorting */
    double value, sum;
    uint64_t count, time_ns;
    size_t nums;            /* histogram: n_bounds bounds then n_bounds + 1 bucket counts in snap->nums;
                             * summary: n_bounds quantiles then their values */
    size_t ex;              /* first of its exemplars in snap->ex (1, or n_bounds + 1), or NO_EXEMPLARS */
    size_t n_bounds;
};

#define NO_EXEMPLARS SIZE_MAX

struct oca_prom_snapshot {
    enum oca_prom_format fmt;
    bool timestamps;
    bool needs_sort;        /* taken from the hash table: render sorts it */
    bool sorted;            /* render has sorted it: release may keep the order for the next scrape */
    bool complete;          /* every step done */
    size_t skipped;         /* series left out for age: the order is then not complete enough to keep */
    uint64_t gen;           /* the store's gen when begun */
    uint64_t now_ns;        /* series not updated for ttl_ns before now_ns are left out */
    int64_t ttl_ns;
    /* Where the next step goes on: an index into the store's sorted array (while its order is
     * valid), or a bucket of the series table, whose size must not change meanwhile. */
    size_t pos;
    size_t table_cap;
    struct snap_entry *v;
    size_t n, cap_v;
    double *nums;
    size_t n_nums, cap_nums;
    struct exemplar *ex;
    size_t n_ex, cap_ex;
};

static size_t push_nums(struct oca_prom_snapshot *snap, const double *v, size_t n)
{
    if (snap->n_nums + n > snap->cap_nums) {
        snap->cap_nums = (snap->n_nums + n) * 2;
        snap->nums = oca_xrealloc(snap->nums, snap->cap_nums * sizeof(double));
    }
    size_t at = snap->n_nums;
    if (v && n)     /* v NULL: room only, filled by the caller */
        memcpy(snap->nums + at, v, n * sizeof(double));
    snap->n_nums += n;
    return at;
}

static void copy_entry(struct oca_prom_snapshot *snap, struct series *s)
{
    if (snap->ttl_ns > 0 && s->last_seen < snap->now_ns && snap->now_ns - s->last_seen >= (uint64_t)snap->ttl_ns) {
        snap->skipped++;    /* expired: not shown, removed by the next oca_prom_state_expire */
        return;
    }
    if (snap->n == snap->cap_v) {
        snap->cap_v *= 2;
        snap->v = oca_xrealloc(snap->v, snap->cap_v * sizeof(*snap->v));
    }
    struct snap_entry *e = &snap->v[snap->n++];
    *e = (struct snap_entry){ .s = s, .fam = s->fam, .labels = s->labels,
                              .value = s->value, .sum = s->sum, .count = s->count, .time_ns = s->time_ns,
                              .ex = NO_EXEMPLARS };
    size_t n_ex = 1;
    if (s->fam->type == PROM_HISTOGRAM) {
        e->n_bounds = s->n_bounds;
        e->nums = push_nums(snap, s->bounds, s->n_bounds);
        push_nums(snap, NULL, s->n_bounds + 1);
        for (size_t i = 0; i <= s->n_bounds; i++)
            snap->nums[e->nums + s->n_bounds + i] = (double)s->counts[i];
        n_ex = s->n_bounds + 1;
    } else if (s->fam->type == PROM_SUMMARY) {
        e->n_bounds = s->n_bounds;
        e->nums = push_nums(snap, s->bounds, s->n_bounds);
        push_nums(snap, s->qvalues, s->n_bounds);
    }
    if (snap->fmt == OCA_PROM_OPENMETRICS && s->ex) {
        if (snap->n_ex + n_ex > snap->cap_ex) {
            snap->cap_ex = (snap->n_ex + n_ex) * 2;
            snap->ex = oca_xrealloc(snap->ex, snap->cap_ex * sizeof(*snap->ex));
        }
        e->ex = snap->n_ex;
        memcpy(snap->ex + snap->n_ex, s->ex, n_ex * sizeof(*s->ex));
        snap->n_ex += n_ex;
    }
}

struct oca_prom_snapshot *oca_prom_state_snapshot(struct oca_prom_state *st, enum oca_prom_format fmt,
                                                  uint64_t now_ns, int64_t ttl_ns)
{
    struct oca_prom_snapshot *snap = oca_xcalloc(1, sizeof(*snap));
    snap->fmt = fmt;
    snap->timestamps = st->opt.send_timestamps;
    snap->gen = st->gen;
    snap->now_ns = now_ns;
    snap->ttl_ns = ttl_ns;
    if (st->spare_v && st->cap_spare_v >= st->series.n + 1) {
        snap->v = st->spare_v;
        snap->cap_v = st->cap_spare_v;
        st->spare_v = NULL;
        st->cap_spare_v = 0;
    } else {
        snap->cap_v = st->series.n + 1;
        snap->v = oca_xmalloc(snap->cap_v * sizeof(*snap->v));
    }
    snap->nums = st->spare_nums;
    snap->cap_nums = st->cap_spare_nums;
    st->spare_nums = NULL;
    st->cap_spare_nums = 0;
    if (!st->sorted || st->sorted_gen != st->gen) {
        snap->table_cap = st->series.cap;
        snap->needs_sort = true;
    }
    st->pins++;
    return snap;
}

bool oca_prom_state_snapshot_step(struct oca_prom_state *st, struct oca_prom_snapshot *snap, size_t max_series)
{
    if (snap->complete)
        return true;
    size_t seen = 0;    /* visited, copied or not: a slice of stale series is a slice too */
    if (!snap->needs_sort) {
        /* The sorted array is replaced only by a release, and removed series are parked. */
        while (snap->pos < st->n_sorted && seen++ < max_series)
            copy_entry(snap, st->sorted[snap->pos++]);
        snap->complete = snap->pos == st->n_sorted;
        return snap->complete;
    }
    if (st->series.cap != snap->table_cap) {
        /* The table grew and its chains moved: start again (what was copied is still valid). */
        snap->n = snap->n_nums = snap->n_ex = snap->pos = snap->skipped = 0;
        snap->table_cap = st->series.cap;
    }
    for (; snap->pos < st->series.cap && seen < max_series; snap->pos++)
        for (struct series *s = st->series.slots[snap->pos]; s; s = s->next, seen++)
            copy_entry(snap, s);
    snap->complete = snap->pos == st->series.cap;
    return snap->complete;
}

/* Series sort by family rank, then labels, as a most-significant-digit radix sort on 8 bytes of
 * labels at a time: labels of one family share long prefixes (job, instance, label names), which
 * make strcmp slow and each of its calls two cache misses (a 100k-series qsort took 90 ms). Each
 * pass sorts integers; runs that agree on their 8 bytes go on with the next 8. */
static int entry_cmp(const void *a, const void *b)
{
    const struct snap_entry *x = a, *y = b;
    if (x->rank != y->rank)
        return x->rank < y->rank ? -1 : 1;
    return x->key < y->key ? -1 : x->key > y->key;
}

/* The 8 bytes at p (a string), big-endian so that integer order is byte order; bytes after the
 * end are 0. */
static uint64_t key_at(const char *p)
{
    uint64_t key = 0;
    for (int k = 0; k < 8; k++) {
        key = key << 8 | (unsigned char)*p;
        if (*p)
            p++;
    }
    return key;
}

/* Whether the string a key was read from ended within it. */
static bool key_ends(uint64_t key)
{
    for (int k = 0; k < 8; k++)
        if (!(key >> (8 * k) & 0xff))
            return true;
    return false;
}

/* v[0..n) all have one rank, and labels that agree on their first depth bytes, none ending there. */
static void sort_labels(struct snap_entry *v, size_t n, size_t depth)
{
    while (n > 1) {
        bool all_same = true;
        for (size_t i = 0; i < n; i++) {
            v[i].key = key_at(v[i].labels + depth);
            all_same = all_same && v[i].key == v[0].key;
        }
        if (!all_same)
            break;
        if (key_ends(v[0].key))
            return;     /* all equal */
        depth += 8;
    }
    if (n < 2)
        return;
    qsort(v, n, sizeof(*v), entry_cmp);
    for (size_t i = 0, j; i < n; i = j) {
        for (j = i + 1; j < n && v[j].key == v[i].key; j++)
            ;
        if (j - i > 1 && !key_ends(v[i].key))
            sort_labels(v + i, j - i, depth + 8);
    }
}

struct fam_rank {
    const struct family *fam;
    size_t rank;
};

static int by_address(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)((const struct fam_rank *)a)->fam, y = (uintptr_t)((const struct fam_rank *)b)->fam;
    return x < y ? -1 : x > y;
}

static int by_name(const void *a, const void *b)
{
    return strcmp((*(const struct fam_rank *const *)a)->fam->name, (*(const struct fam_rank *const *)b)->fam->name);
}

/* Numbers the snapshot's families in name order (here, off the loop thread: a store may hold
 * very many families), so that sorting series compares integers, not names. */
static void rank_entries(struct oca_prom_snapshot *snap)
{
    struct fam_rank *fr = oca_xmalloc((snap->n + 1) * sizeof(*fr));
    size_t nf = 0;
    for (size_t i = 0; i < snap->n; i++)
        if (i == 0 || snap->v[i].fam != snap->v[i - 1].fam)
            fr[nf++].fam = snap->v[i].fam;
    qsort(fr, nf, sizeof(*fr), by_address);
    size_t u = 0;
    for (size_t i = 0; i < nf; i++)
        if (u == 0 || fr[i].fam != fr[u - 1].fam)
            fr[u++] = fr[i];
    struct fam_rank **names = oca_xmalloc((u + 1) * sizeof(*names));
    for (size_t i = 0; i < u; i++)
        names[i] = &fr[i];
    qsort(names, u, sizeof(*names), by_name);
    for (size_t i = 0; i < u; i++)
        /* A family removed and made again between two steps is two objects of one name: one rank. */
        names[i]->rank = i > 0 && strcmp(names[i]->fam->name, names[i - 1]->fam->name) == 0 ? names[i - 1]->rank : i;
    for (size_t i = 0; i < snap->n; i++) {
        struct fam_rank key = { .fam = snap->v[i].fam };
        if (i > 0 && snap->v[i].fam == snap->v[i - 1].fam) {
            snap->v[i].rank = snap->v[i - 1].rank;
            continue;
        }
        const struct fam_rank *hit = bsearch(&key, fr, u, sizeof(*fr), by_address);
        snap->v[i].rank = hit->rank;
    }
    free(names);
    free(fr);
}

static void sort_entries(struct oca_prom_snapshot *snap)
{
    rank_entries(snap);
    for (size_t i = 0; i < snap->n; i++)
        snap->v[i].key = 0;
    qsort(snap->v, snap->n, sizeof(*snap->v), entry_cmp);   /* by rank */
    for (size_t i = 0, j; i < snap->n; i = j) {
        for (j = i + 1; j < snap->n && snap->v[j].rank == snap->v[i].rank; j++)
            ;
        sort_labels(snap->v + i, j - i, 0);
    }
}

struct out {
    struct oca_buf *b;
    bool om, ts;
};

static void put_number(struct oca_buf *b, double v)
{
    char num[40];
    format_double(num, sizeof(num), v);
    oca_buf_puts(b, num);
}

/* Text 0.0.4 timestamps are milliseconds; OpenMetrics ones seconds. */
static void put_time(const struct out *o, uint64_t ns)
{
    if (o->om)
        oca_buf_printf(o->b, " %" PRIu64 ".%03u", ns / 1000000000, (unsigned)(ns / 1000000 % 1000));
    else
        oca_buf_printf(o->b, " %" PRIu64, ns / 1000000);
}

static void put_hex(struct oca_buf *b, const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        oca_buf_putc(b, digits[p[i] >> 4]);
        oca_buf_putc(b, digits[p[i] & 15]);
    }
}

/* OpenMetrics: ` # {trace_id="...",span_id="..."} value timestamp`. */
static void put_exemplar(const struct out *o, const struct exemplar *x)
{
    if (!x || !x->set)
        return;
    oca_buf_puts(o->b, " # {");
    if (x->has_trace) {
        oca_buf_puts(o->b, "trace_id=\"");
        put_hex(o->b, x->trace_id, sizeof(x->trace_id));
        oca_buf_putc(o->b, '"');
    }
    if (x->has_span) {
        oca_buf_puts(o->b, x->has_trace ? ",span_id=\"" : "span_id=\"");
        put_hex(o->b, x->span_id, sizeof(x->span_id));
        oca_buf_putc(o->b, '"');
    }
    oca_buf_puts(o->b, "} ");
    put_number(o->b, x->value);
    if (x->time_ns)
        put_time(&(struct out){ .b = o->b, .om = true }, x->time_ns);
}

/* name{labels[,extra]} value[ timestamp][ exemplar] */
static void put_sample(const struct out *o, const char *name, size_t name_len, const char *suffix,
                       const struct snap_entry *e, const char *extra, double v, const struct exemplar *x)
{
    oca_buf_append(o->b, name, name_len);
    oca_buf_puts(o->b, suffix);
    const char *labels = e->labels;
    if (*labels || extra) {
        oca_buf_putc(o->b, '{');
        oca_buf_puts(o->b, labels);
        if (extra) {
            if (*labels)
                oca_buf_putc(o->b, ',');
            oca_buf_puts(o->b, extra);
        }
        oca_buf_putc(o->b, '}');
    }
    oca_buf_putc(o->b, ' ');
    put_number(o->b, v);
    /* target_info has no time of its own: Prometheus stamps it with the scrape time. */
    if (o->ts && e->time_ns)
        put_time(o, e->time_ns);
    if (o->om)
        put_exemplar(o, x);
    oca_buf_putc(o->b, '\n');
}

static void render_entry(const struct out *o, const struct oca_prom_snapshot *snap, const struct snap_entry *e,
                         size_t name_len)
{
    const char *name = e->fam->name;
    const struct exemplar *ex = e->ex == NO_EXEMPLARS ? NULL : snap->ex + e->ex;
    char num[40], extra[64];
    switch (e->fam->type) {
    case PROM_GAUGE:
        put_sample(o, name, name_len, "", e, NULL, e->value, NULL);
        break;
    case PROM_COUNTER:
        /* OpenMetrics names the family without _total and every counter sample with it. */
        put_sample(o, name, name_len, o->om ? "_total" : "", e, NULL, e->value, ex);
        break;
    case PROM_HISTOGRAM: {
        const double *bounds = snap->nums + e->nums, *counts = bounds + e->n_bounds;
        double cum = 0;
        for (size_t i = 0; i < e->n_bounds; i++) {
            cum += counts[i];
            format_double(num, sizeof(num), bounds[i]);
            snprintf(extra, sizeof(extra), "le=\"%s\"", num);
            put_sample(o, name, name_len, "_bucket", e, extra, cum, ex ? ex + i : NULL);
        }
        /* +Inf is the count: buckets that do not add up to it are the sender's inconsistency. */
        put_sample(o, name, name_len, "_bucket", e, "le=\"+Inf\"", (double)e->count, ex ? ex + e->n_bounds : NULL);
        put_sample(o, name, name_len, "_sum", e, NULL, e->sum, NULL);
        put_sample(o, name, name_len, "_count", e, NULL, (double)e->count, NULL);
        break;
    }
    case PROM_SUMMARY: {
        const double *q = snap->nums + e->nums, *values = q + e->n_bounds;
        for (size_t i = 0; i < e->n_bounds; i++) {
            format_double(num, sizeof(num), q[i]);
            snprintf(extra, sizeof(extra), "quantile=\"%s\"", num);
            put_sample(o, name, name_len, "", e, extra, values[i], NULL);
        }
        put_sample(o, name, name_len, "_sum", e, NULL, e->sum, NULL);
        put_sample(o, name, name_len, "_count", e, NULL, (double)e->count, NULL);
        break;
    }
    }
}

static bool ends_with(const char *s, size_t len, const char *suffix)
{
    size_t n = strlen(suffix);
    return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

/* # HELP, # TYPE (and in OpenMetrics # UNIT) of a family; returns the length of the name its
 * samples start with (OpenMetrics: a counter's family name is written without _total). */
static size_t put_family(const struct out *o, const struct family *f)
{
    size_t len = strlen(f->name);
    if (o->om && f->type == PROM_COUNTER && ends_with(f->name, len, "_total") && len > 6)
        len -= 6;
    if (*f->help) {
        oca_buf_puts(o->b, "# HELP ");
        oca_buf_append(o->b, f->name, len);
        oca_buf_putc(o->b, ' ');
        put_escaped(o->b, f->help, o->om);   /* OpenMetrics escapes '"' in HELP too */
        oca_buf_putc(o->b, '\n');
    }
    oca_buf_puts(o->b, "# TYPE ");
    oca_buf_append(o->b, f->name, len);
    oca_buf_printf(o->b, " %s\n", type_names[f->type]);
    /* OpenMetrics allows a unit only on a name that ends with it. */
    if (o->om && *f->unit && len > strlen(f->unit) && ends_with(f->name, len, f->unit) &&
        f->name[len - strlen(f->unit) - 1] == '_') {
        oca_buf_puts(o->b, "# UNIT ");
        oca_buf_append(o->b, f->name, len);
        oca_buf_printf(o->b, " %s\n", f->unit);
    }
    return len;
}

void oca_prom_snapshot_render(struct oca_prom_snapshot *snap, struct oca_buf *out)
{
    if (snap->needs_sort && !snap->sorted) {
        sort_entries(snap);
        snap->sorted = true;
    }
    struct out o = { .b = out, .om = snap->fmt == OCA_PROM_OPENMETRICS, .ts = snap->timestamps };
    if (snap->n)
        oca_buf_reserve(out, snap->n * 96);
    const struct family *cur = NULL;
    size_t name_len = 0;
    for (size_t i = 0; i < snap->n; i++) {
        const struct family *f = snap->v[i].fam;
        /* A series that expired and came back between two steps was copied twice (its family
         * perhaps too): show it once, under one header, of the type that header says. */
        if (snap->needs_sort && i > 0 && snap->v[i].rank == snap->v[i - 1].rank &&
            strcmp(snap->v[i].labels, snap->v[i - 1].labels) == 0)
            continue;
        if (f != cur && cur && strcmp(f->name, cur->name) == 0) {
            if (f->type != cur->type)
                continue;
        } else if (f != cur) {
            name_len = put_family(&o, f);
            cur = f;
        }
        render_entry(&o, snap, &snap->v[i], name_len);
    }
    if (o.om)
        oca_buf_puts(out, "# EOF\n");
}

static void free_dead(struct oca_prom_state *st)
{
    for (struct series *s = st->dead_series, *next; s; s = next) {
        next = s->next;
        free_series(s);
    }
    for (struct family *f = st->dead_families, *next; f; f = next) {
        next = f->next;
        free_family(f);
    }
    st->dead_series = NULL;
    st->dead_families = NULL;
}

void oca_prom_state_release(struct oca_prom_state *st, struct oca_prom_snapshot *snap)
{
    if (!snap)
        return;
    /* A snapshot sorted off the loop thread gives its order to the next scrape, if nothing came or went. */
    /* Only the last snapshot out may replace the array: another may be stepping through it. */
    if (snap->sorted && snap->complete && !snap->skipped && snap->gen == st->gen && st->pins == 1) {
        if (st->cap_sorted < snap->n + 1) {
            free(st->sorted);
            st->cap_sorted = snap->n + 1;
            st->sorted = oca_xmalloc(st->cap_sorted * sizeof(*st->sorted));
        }
        for (size_t i = 0; i < snap->n; i++)
            st->sorted[i] = snap->v[i].s;
        st->n_sorted = snap->n;
        st->sorted_gen = st->gen;
    }
    if (--st->pins == 0)
        free_dead(st);
    if (snap->cap_v > st->cap_spare_v) {
        free(st->spare_v);
        st->spare_v = snap->v;
        st->cap_spare_v = snap->cap_v;
    } else {
        free(snap->v);
    }
    if (snap->cap_nums > st->cap_spare_nums) {
        free(st->spare_nums);
        st->spare_nums = snap->nums;
        st->cap_spare_nums = snap->cap_nums;
    } else {
        free(snap->nums);
    }
    free(snap->ex);
    free(snap);
}

void oca_prom_state_render(struct oca_prom_state *st, enum oca_prom_format fmt, struct oca_buf *out)
{
    struct oca_prom_snapshot *snap = oca_prom_state_snapshot(st, fmt, 0, 0);
    oca_prom_state_snapshot_step(st, snap, SIZE_MAX);
    oca_prom_snapshot_render(snap, out);
    oca_prom_state_release(st, snap);
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
            free_family(f);
        }
    free_dead(st);
    free(st->series.slots);
    free(st->families.slots);
    free(st->sorted);
    free(st->spare_v);
    free(st->spare_nums);
    free(st);
}

void oca_prom_state_get_stats(const struct oca_prom_state *st, struct oca_prom_state_stats *out)
{
    *out = st->stats;
    out->series = st->series.n;
    out->families = st->families.n;
}
