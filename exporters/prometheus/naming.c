/* OTel -> Prometheus metric and label names for the prometheus exporter; see naming.h. The rules
 * are those of the Collector's pkg/translator/prometheus (BuildCompliantName, NormalizeLabel): the
 * name is split into tokens at every invalid character, unit suffixes are added unless a token
 * already says them, and the tokens are joined with '_'. */
#include "exporters/prometheus/naming.h"

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/mem.h"

struct unit_name {
    const char *ucum;
    const char *prom;
};

/* The Collector's unitMap; a unit not listed is used as written (sanitized). */
static const struct unit_name main_units[] = {
    { "d", "days" }, { "h", "hours" }, { "min", "minutes" }, { "s", "seconds" },
    { "ms", "milliseconds" }, { "us", "microseconds" }, { "ns", "nanoseconds" },
    { "By", "bytes" }, { "KiBy", "kibibytes" }, { "MiBy", "mebibytes" }, { "GiBy", "gibibytes" },
    { "TiBy", "tibibytes" }, { "KBy", "kilobytes" }, { "MBy", "megabytes" }, { "GBy", "gigabytes" },
    { "TBy", "terabytes" }, { "m", "meters" }, { "V", "volts" }, { "A", "amperes" },
    { "J", "joules" }, { "W", "watts" }, { "g", "grams" }, { "Cel", "celsius" }, { "Hz", "hertz" },
    { "1", "" }, { "%", "percent" }, { NULL, NULL },
};

/* The Collector's perUnitMap: the denominator of "a/b" in the singular. */
static const struct unit_name per_units[] = {
    { "s", "second" }, { "m", "minute" }, { "h", "hour" }, { "d", "day" }, { "w", "week" },
    { "mo", "month" }, { "y", "year" }, { NULL, NULL },
};

struct tokens {
    char **v;
    size_t n, cap;
};

static bool is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static void push_token(struct tokens *t, const char *s, size_t len)
{
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 8;
        t->v = oca_xrealloc(t->v, t->cap * sizeof(*t->v));
    }
    t->v[t->n++] = oca_xstrndup(s, len);
}

/* Splits s at every character that is not a letter, a digit or ':' (so '_' separates too). */
static void split(struct tokens *t, const char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        while (i < len && !is_alnum(s[i]) && s[i] != ':')
            i++;
        size_t start = i;
        while (i < len && (is_alnum(s[i]) || s[i] == ':'))
            i++;
        if (i > start)
            push_token(t, s + start, i - start);
    }
}

static void free_tokens(struct tokens *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->v[i]);
    free(t->v);
    memset(t, 0, sizeof(*t));
}

static void remove_token(struct tokens *t, const char *word)
{
    size_t k = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (strcmp(t->v[i], word) == 0)
            free(t->v[i]);
        else
            t->v[k++] = t->v[i];
    }
    t->n = k;
}

/* Whether the tokens of sub appear one after the other somewhere in t. */
static bool contains_run(const struct tokens *t, const struct tokens *sub)
{
    if (sub->n == 0)
        return true;
    for (size_t i = 0; i + sub->n <= t->n; i++) {
        size_t j = 0;
        while (j < sub->n && strcmp(t->v[i + j], sub->v[j]) == 0)
            j++;
        if (j == sub->n)
            return true;
    }
    return false;
}

/* Copies a unit part without its "{...}" annotations and surrounding blanks. */
static char *strip_braces(const char *s, size_t len)
{
    char *out = oca_xmalloc(len + 1);
    size_t n = 0;
    int depth = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '{')
            depth++;
        else if (s[i] == '}' && depth > 0)
            depth--;
        else if (depth == 0 && s[i] != ' ' && s[i] != '\t')
            out[n++] = s[i];
    }
    out[n] = '\0';
    return out;
}

static const char *map_unit(const struct unit_name *table, const char *u)
{
    for (const struct unit_name *e = table; e->ucum; e++)
        if (strcmp(e->ucum, u) == 0)
            return e->prom;
    return u;
}

/* Appends the unit's tokens (with "per" before a denominator) unless the name says them already. */
static void add_unit_suffixes(struct tokens *t, const char *unit)
{
    const char *slash = strchr(unit, '/');
    size_t main_len = slash ? (size_t)(slash - unit) : strlen(unit);
    char *main_unit = strip_braces(unit, main_len);
    struct tokens sub = { 0 };
    const char *mapped = map_unit(main_units, main_unit);
    split(&sub, mapped, strlen(mapped));
    if (!contains_run(t, &sub))
        for (size_t i = 0; i < sub.n; i++)
            push_token(t, sub.v[i], strlen(sub.v[i]));
    free_tokens(&sub);
    free(main_unit);

    if (!slash)
        return;
    char *per_unit = strip_braces(slash + 1, strlen(slash + 1));
    mapped = map_unit(per_units, per_unit);
    push_token(&sub, "per", 3);
    split(&sub, mapped, strlen(mapped));
    if (sub.n > 1 && !contains_run(t, &sub))
        for (size_t i = 0; i < sub.n; i++)
            push_token(t, sub.v[i], strlen(sub.v[i]));
    free_tokens(&sub);
    free(per_unit);
}

char *oca_naming_metric(const char *name, const char *unit, enum oca_naming_kind kind,
                        const char *namespace_, bool add_suffixes)
{
    struct tokens t = { 0 };
    split(&t, name ? name : "", name ? strlen(name) : 0);
    if (add_suffixes) {
        if (unit && *unit)
            add_unit_suffixes(&t, unit);
        if (kind == OCA_NAMING_COUNTER) {
            remove_token(&t, "total");
            push_token(&t, "total", 5);
        } else if (kind == OCA_NAMING_GAUGE && unit && strcmp(unit, "1") == 0) {
            remove_token(&t, "ratio");
            push_token(&t, "ratio", 5);
        }
    }
    struct tokens ns = { 0 };
    if (namespace_)
        split(&ns, namespace_, strlen(namespace_));

    struct oca_buf out = { 0 };
    for (size_t i = 0; i < ns.n + t.n; i++) {
        const char *tok = i < ns.n ? ns.v[i] : t.v[i - ns.n];
        if (i == 0 && is_digit(tok[0]))
            oca_buf_putc(&out, '_');
        if (i > 0)
            oca_buf_putc(&out, '_');
        oca_buf_puts(&out, tok);
    }
    if (out.len == 0)
        oca_buf_putc(&out, '_');
    free_tokens(&t);
    free_tokens(&ns);
    return out.data;
}

char *oca_naming_label(const char *key)
{
    if (!key || !*key)
        return NULL;
    struct oca_buf out = { 0 };
    if (is_digit(key[0]))
        oca_buf_puts(&out, "key_");
    else if (key[0] == '_' && key[1] != '_')
        oca_buf_puts(&out, "key");
    for (const char *p = key; *p; p++) {
        /* One '_' per invalid character, not per byte: UTF-8 continuation bytes add nothing. */
        if (((unsigned char)*p & 0xC0) == 0x80)
            continue;
        oca_buf_putc(&out, is_alnum(*p) || *p == '_' ? *p : '_');
    }
    return out.data;
}
